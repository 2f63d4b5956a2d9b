//! What the YAML parser's errors mean, in the scenario's words: the parser's own messages
//! name Rust types and its options ("use Option<String>", "set DuplicateKeyPolicy").

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Error, MessageFormatter, UserMessageFormatter};

/// The message for a parse error, without its location.
pub fn describe(e: &Error) -> String {
    match e {
        Error::WithSnippet { error, .. } => describe(error),
        Error::AliasError { error, .. } => describe(error),
        Error::NullIntoString { .. } => {
            "has no value: write one after the colon, or remove the key".into()
        }
        Error::SerdeUnknownField {
            field, expected, ..
        } => format!(
            "unknown key `{field}`; this mapping takes: {}",
            expected.join(", ")
        ),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "unknown value `{variant}`; write one of: {}",
            expected.join(", ")
        ),
        Error::SerdeMissingField { field, .. } => format!("`{field}` is missing: add it"),
        Error::InvalidScalar { ty, .. } => expected_scalar(ty).into(),
        Error::ExternallyTaggedEnumExpectedScalarOrMapping { .. }
        | Error::UnexpectedValueForUnitEnumVariant { .. } => {
            "expected one value here, not a list or a mapping".into()
        }
        Error::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("`{k}` is set twice in this mapping: keep one"),
            None => "a key is set twice in this mapping: keep one".into(),
        },
        Error::Budget { breach, .. } => too_complex(breach),
        Error::AliasReplayLimitExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasReplayCounterOverflow { .. } => {
            "its anchors and aliases (`&a`, `*a`) expand to more than a scenario holds: \
             write the values out"
                .into()
        }
        Error::Eof { .. } => "the file ends in the middle of a value".into(),
        Error::MultipleDocuments { .. } => {
            "holds more than one YAML document (`---`): a scenario file holds one".into()
        }
        other => UserMessageFormatter.format_message(other).into_owned(),
    }
}

/// A scalar that does not read as the value its field takes (the parser names the Rust
/// type it wanted).
fn expected_scalar(ty: &str) -> &'static str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => "expected a whole number",
        "f32" | "f64" => "expected a number",
        "bool" => "expected true or false",
        "char" => "expected one character",
        _ => "expected another kind of value here",
    }
}

fn too_complex(breach: &BudgetBreach) -> String {
    let what = match breach {
        BudgetBreach::Events { events } => format!("{events} YAML events"),
        BudgetBreach::Aliases { aliases } => format!("{aliases} aliases"),
        BudgetBreach::Anchors { anchors } => format!("{anchors} anchors"),
        BudgetBreach::Depth { depth } => format!("nesting {depth} levels deep"),
        BudgetBreach::Nodes { nodes } => format!("{nodes} values"),
        BudgetBreach::ScalarBytes { total_scalar_bytes } => {
            format!("{total_scalar_bytes} bytes of values")
        }
        BudgetBreach::Documents { documents } => format!("{documents} documents"),
        _ => "more than the parser's limits allow".into(),
    };
    format!("the file is larger or more complex than any scenario ({what}): check that it is the scenario you meant")
}
