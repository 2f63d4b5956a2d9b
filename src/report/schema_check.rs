//! A checker for the part of JSON Schema (draft 2020-12) that schemars generates for
//! drill's types: enough to validate `summary.json` against
//! `schema/summary.schema.json` in tests without a full validator, whose build costs
//! as much as the rest of drill. A keyword it does not know is an error, so the schema
//! cannot quietly outgrow it. Shared by unit and integration tests; it depends on
//! nothing but serde_json.

use serde_json::{Map, Value};

/// Keywords that describe and do not constrain.
const ANNOTATIONS: [&str; 8] = [
    "$schema",
    "$defs",
    "title",
    "description",
    "format",
    "default",
    "examples",
    "deprecated",
];

/// Every way `value` breaks `schema`, as `path: problem`; empty when it conforms.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "$", &mut errors);
    errors
}

fn check(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return errors.push(format!("{path}: no value is allowed here")),
        Value::Object(o) => o,
        other => return errors.push(format!("{path}: the schema {other} is not a schema")),
    };
    for (keyword, arg) in schema {
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$ref" => match resolve(root, arg) {
                Some(target) => check(root, target, value, path, errors),
                None => errors.push(format!("{path}: cannot resolve {arg}")),
            },
            "type" => {
                let allowed: Vec<&str> = match arg {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !allowed.iter().any(|t| is_type(value, t)) {
                    errors.push(format!(
                        "{path}: {value} is not of type {}",
                        allowed.join(" or ")
                    ));
                }
            }
            "properties" => {
                if let (Some(props), Some(obj)) = (arg.as_object(), value.as_object()) {
                    for (name, sub) in props {
                        if let Some(v) = obj.get(name) {
                            check(root, sub, v, &format!("{path}.{name}"), errors);
                        }
                    }
                }
            }
            "required" => {
                if let Some(obj) = value.as_object() {
                    for name in arg
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if !obj.contains_key(name) {
                            errors.push(format!("{path}: `{name}` is missing"));
                        }
                    }
                }
            }
            "patternProperties" => {
                let (Some(patterns), Some(obj)) = (arg.as_object(), value.as_object()) else {
                    continue;
                };
                for (pattern, sub) in patterns {
                    for (name, v) in obj {
                        match matches(pattern, name) {
                            Some(true) => check(root, sub, v, &format!("{path}.{name}"), errors),
                            Some(false) => {}
                            None => errors.push(format!("{path}: unsupported pattern {pattern}")),
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    let patterns = schema.get("patternProperties").and_then(Value::as_object);
                    for (name, v) in obj {
                        let named =
                            known.is_some_and(|k: &Map<String, Value>| k.contains_key(name));
                        let patterned = patterns
                            .is_some_and(|p| p.keys().any(|pat| matches(pat, name) == Some(true)));
                        if !named && !patterned {
                            check(root, arg, v, &format!("{path}.{name}"), errors);
                        }
                    }
                }
            }
            "items" => {
                for (i, v) in value.as_array().into_iter().flatten().enumerate() {
                    check(root, arg, v, &format!("{path}[{i}]"), errors);
                }
            }
            "anyOf" | "oneOf" => {
                let passing = arg
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|sub| validate_at(root, sub, value, path).is_empty())
                    .count();
                let ok = if keyword == "anyOf" {
                    passing >= 1
                } else {
                    passing == 1
                };
                if !ok {
                    errors.push(format!(
                        "{path}: {passing} of the {keyword} schemas match {value}"
                    ));
                }
            }
            "allOf" => {
                for sub in arg.as_array().into_iter().flatten() {
                    check(root, sub, value, path, errors);
                }
            }
            "enum" => {
                if !arg.as_array().is_some_and(|vs| vs.contains(value)) {
                    errors.push(format!("{path}: {value} is not one of {arg}"));
                }
            }
            "const" => {
                if arg != value {
                    errors.push(format!("{path}: {value} is not {arg}"));
                }
            }
            "minimum" | "maximum" => {
                if let (Some(limit), Some(v)) = (arg.as_f64(), value.as_f64()) {
                    let ok = if keyword == "minimum" {
                        v >= limit
                    } else {
                        v <= limit
                    };
                    if !ok {
                        errors.push(format!("{path}: {v} is beyond the {keyword} {limit}"));
                    }
                }
            }
            other => errors.push(format!(
                "{path}: the schema uses `{other}`, which this checker does not know"
            )),
        }
    }
}

fn validate_at(root: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    check(root, schema, value, path, &mut errors);
    errors
}

/// Whether `name` matches `pattern`, for the only pattern schemars writes for drill's
/// types (the keys of maps keyed by numbers); `None` for any other.
fn matches(pattern: &str, name: &str) -> Option<bool> {
    (pattern == "^\\d+$").then(|| !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()))
}

/// `#/$defs/Name` in the root schema.
fn resolve<'a>(root: &'a Value, reference: &Value) -> Option<&'a Value> {
    let name = reference.as_str()?.strip_prefix("#/$defs/")?;
    root.get("$defs")?.get(name)
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}
