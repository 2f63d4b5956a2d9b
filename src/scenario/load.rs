//! Reading a scenario file: its bytes to text, the text to the model, every problem and
//! warning located by file, line, column and field and rendered like a compiler's.

use super::matrix::Combination;
use super::source::{self, Node};
use super::validate::{validate, validate_sla};
use super::{messages, warnings, Problem, Rules, Scenario, MAX_FILE_BYTES};
use crate::model::error::DrillError;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;
use std::sync::OnceLock;

/// Problems shown at most; the rest are counted.
pub(super) const MAX_SHOWN: usize = 20;
/// A source line longer than this is shown cut around the column.
const MAX_SNIPPET_CHARS: usize = 160;

/// A valid scenario, with what it should hear about what may not go as it expects.
#[derive(Debug)]
pub struct Loaded {
    pub scenario: Scenario,
    /// Rendered like problems, one per entry.
    pub warnings: Vec<String>,
}

/// Reads, parses and validates a scenario file. Every error is a usage error (exit 64)
/// whose message names the file, line, column and field.
pub fn load(path: &Path, rules: &Rules) -> Result<Loaded, DrillError> {
    load_as(path, rules, &Combination::default())
}

/// [`load`], with a matrix combination set before validation.
pub fn load_as(
    path: &Path,
    rules: &Rules,
    combination: &Combination,
) -> Result<Loaded, DrillError> {
    let shown = path.display().to_string();
    let cannot = |e: std::io::Error| {
        DrillError::Usage(format!("{shown}: cannot read the scenario file: {e}"))
    };
    // Opening a FIFO waits for a writer, and a device may never end: only a regular
    // file (or a link to one) is opened at all.
    if !std::fs::metadata(path).map_err(cannot)?.is_file() {
        return Err(DrillError::Usage(format!(
            "{shown}: not a regular file (a directory, a pipe or a device): give the path \
             of a scenario file"
        )));
    }
    // Read at most one byte past the limit, so that a file that grows while it is read
    // is never held in memory whole.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DrillError::Usage(format!(
            "{shown}: the scenario file is larger than {MAX_FILE_BYTES} bytes, the limit; \
             a scenario this large is not one a person wrote: check the path"
        )));
    }
    let source = String::from_utf8(bytes).map_err(|e| {
        DrillError::Usage(format!(
            "{shown}: the scenario file is not UTF-8 text (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    // Absolute, so that a missing file a spec names is reported where it was looked for;
    // known before validation, which reads the templates a spec names.
    let dir = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()));
    check_source_as(&shown, &source, rules, combination, dir)
}

/// Parses and validates scenario text read from `file`: what `drill validate` does
/// once the file is read. Problems are rendered with `file` and the offending line.
pub fn check_source(file: &str, source: &str, rules: &Rules) -> Result<Loaded, DrillError> {
    check_source_as(file, source, rules, &Combination::default(), None)
}

fn check_source_as(
    file: &str,
    source: &str,
    rules: &Rules,
    combination: &Combination,
    dir: Option<std::path::PathBuf>,
) -> Result<Loaded, DrillError> {
    match check_as(source, rules, combination, dir) {
        Ok((scenario, warnings)) => Ok(Loaded {
            scenario,
            warnings: warnings.iter().map(|w| render(file, source, w)).collect(),
        }),
        Err(problems) => Err(DrillError::Usage(render_problems(file, source, &problems))),
    }
}

/// Parses and validates scenario text.
pub fn parse(source: &str, rules: &Rules) -> Result<Scenario, Vec<Problem>> {
    check(source, rules).map(|(scenario, _)| scenario)
}

/// One timeline step given as fields (`drill inject` builds them from its arguments),
/// read as the scenario file reads a step, with the same words for a problem. JSON is
/// YAML, so the fields go through the file's own parser.
pub fn read_step(fields: &serde_json::Value) -> Result<super::Step, String> {
    serde_saphyr::from_str(&fields.to_string()).map_err(|e| messages::describe(&e))
}

/// Parses and validates scenario text; a valid scenario comes with its warnings.
pub fn check(source: &str, rules: &Rules) -> Result<(Scenario, Vec<Problem>), Vec<Problem>> {
    check_as(source, rules, &Combination::default(), None)
}

/// [`check`], with `combination` set in the model before it is validated.
fn check_as(
    source: &str,
    rules: &Rules,
    combination: &Combination,
    dir: Option<std::path::PathBuf>,
) -> Result<(Scenario, Vec<Problem>), Vec<Problem>> {
    let tabs = source::tabs(source);
    if !tabs.is_empty() {
        return Err(tabs);
    }
    let root = source::read(source).map_err(|p| vec![p])?;
    let root = root.as_ref();
    if let Some(root) = root {
        let mut problems = source::duplicate_keys(root);
        problems.extend(source::shapes(root, schema()));
        if !problems.is_empty() {
            return Err(problems);
        }
    }
    let located = |mut problems: Vec<Problem>| {
        for p in &mut problems {
            locate(root, p);
        }
        problems
    };
    // The parser's error says where; the path says which field, for errors that
    // name only the kind of value wanted.
    let mut field = String::new();
    let mut scenario: Scenario = serde_saphyr::with_deserializer_from_str(source, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            field = field_path(e.path());
            e.into_inner()
        })
    })
    .map_err(|e| vec![syntax_problem(&e, field, root)])?;
    combination.apply(&mut scenario);
    scenario.dir = dir;
    let adopted = super::external::adopt(&mut scenario);
    if !adopted.is_empty() {
        return Err(located(adopted));
    }
    // Bounds first: the cross-field checks below are quadratic in places, and a
    // scenario past its bounds is refused whatever else it says.
    let mut problems = Vec::new();
    super::bounds::check(&scenario, &mut problems);
    if scenario.topology.value.is_external() {
        super::external::relocate(&mut problems);
    }
    if !problems.is_empty() {
        return Err(located(problems));
    }
    let mut problems = validate(&scenario, rules);
    super::external::validate(&scenario, &mut problems);
    validate_sla(&scenario, &mut problems);
    if scenario.topology.value.is_external() {
        super::external::relocate(&mut problems);
    }
    if !problems.is_empty() {
        return Err(located(problems));
    }
    let warnings = located(warnings::check(&scenario, rules));
    Ok((scenario, warnings))
}

/// The scenario format's JSON Schema, made once.
fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(super::schema)
}

/// Points a problem at its field when the field is written and the problem's own place
/// is an enclosing one (a fleet's mapping for its `mirrors`); a problem found without a
/// location gets the nearest written part of its field. A place inside the field (the
/// 17th of 16 regions) is kept.
fn locate(root: Option<&Node>, p: &mut Problem) {
    let Some(root) = root else {
        return;
    };
    let (node, written) = source::locate(root, &p.field);
    let encloses = (p.line, p.column) <= (node.line, node.column);
    if (written && encloses) || p.line == 0 {
        p.line = node.line;
        p.column = node.column;
    }
    if let Some(also) = &p.also {
        let (node, _) = source::locate(root, also);
        p.also_at = Some((node.line, node.column));
    }
}

/// A field's path as the scenario spells it (`topology.regions[0].nodes_per_zone`):
/// the `value` a [`serde_saphyr::Spanned`] field is read through is not the user's.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } if key == "value" => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// A parse error as a problem: where the parser stopped and, as `field`, the path of
/// the field it was reading (empty outside any field).
fn syntax_problem(e: &serde_saphyr::Error, field: String, root: Option<&Node>) -> Problem {
    let (line, column) = e
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((0, 0));
    let mut p = Problem::new(line, column, field, messages::describe(e));
    // The parser notices a missing field where its mapping ends, which may be another
    // key's line: point at the mapping instead.
    let missing = matches!(
        e.without_snippet(),
        serde_saphyr::Error::SerdeMissingField { .. }
    );
    if let Some(root) = root.filter(|_| missing || line == 0) {
        let (node, _) = source::locate(root, &p.field);
        (p.line, p.column) = (node.line, node.column);
    }
    p
}

/// Formats problems like a compiler: `file:line:col: field: message`, then the line;
/// the first [`MAX_SHOWN`] of them, and how many more there are.
pub fn render_problems(file: &str, source: &str, problems: &[Problem]) -> String {
    let mut out: Vec<String> = problems
        .iter()
        .take(MAX_SHOWN)
        .map(|p| render(file, source, p))
        .collect();
    if problems.len() > MAX_SHOWN {
        let more = problems.len() - MAX_SHOWN;
        // Past the collection limit the count is a floor.
        let floor = if problems.len() >= source::MAX_PROBLEMS {
            " at least"
        } else {
            ""
        };
        out.push(format!("… and{floor} {more} more problems in {file}"));
    }
    out.join("\n")
}

fn render(file: &str, source: &str, p: &Problem) -> String {
    let mut out = String::new();
    let field = if p.field.is_empty() {
        String::new()
    } else {
        format!("{}: ", p.field)
    };
    let _ = write!(out, "{file}:{}:{}: {field}{}", p.line, p.column, p.message);
    if let Some(text) = source
        .lines()
        .nth(p.line.saturating_sub(1))
        .filter(|_| p.line > 0)
    {
        let (shown, caret) = snippet(text, p.column.saturating_sub(1));
        let _ = write!(out, "\n  {:>4} | {shown}", p.line);
        let _ = write!(out, "\n       | {}^", " ".repeat(caret));
    }
    if let Some((line, column)) = p.also_at {
        if let Some(text) = source
            .lines()
            .nth(line.saturating_sub(1))
            .filter(|_| line > 0)
        {
            let (shown, caret) = snippet(text, column.saturating_sub(1));
            let _ = write!(out, "\n  {line:>4} | {shown}");
            let _ = write!(out, "\n       | {}^ the other is here", " ".repeat(caret));
        }
    }
    out
}

/// The part of a line shown under a problem, and the caret's place in it: the whole
/// line, or [`MAX_SNIPPET_CHARS`] around the column with `…` where it is cut.
fn snippet(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SNIPPET_CHARS {
        return (line.to_string(), column);
    }
    let start = column
        .saturating_sub(MAX_SNIPPET_CHARS / 2)
        .min(chars.len() - MAX_SNIPPET_CHARS);
    let end = start + MAX_SNIPPET_CHARS;
    let mut shown: String = chars[start..end].iter().collect();
    let mut caret = column - start;
    if start > 0 {
        shown.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, caret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::RULES;

    const BASE: &str = "\
name: words
duration: 20s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
images:
  - { ref: team/app:1, layers: [1MiB] }
hosts:
  - { name: f, region: eu, per_zone: 1, mirrors: [region], pull: [team/app:1] }
timeline:
  - { at: 0s, do: cold-start, hosts: all }
  - { at: 1s, fault: bandwidth, target: eu-lb, rate: 1MiB, for: 2s }
";

    /// Words that belong to the parser or to Rust, never to a scenario's author.
    const NOT_THEIRS: &[&str] = &[
        "Option<",
        "DuplicateKeyPolicy",
        "Options",
        "untagged",
        "enum",
        "variant",
        "u32",
        "u64",
        "4294967295",
        "Nodes {",
        "serde",
        "struct",
    ];

    #[test]
    fn parse_errors_are_in_the_scenarios_words_at_the_right_place() {
        let cases = [
            // (replace, with, line, field, what the message says)
            ("name: words", "name:", 1, "name", "has no value"),
            (
                "duration: 20s\n",
                "duration: 20s\nduration: 30s\n",
                3,
                "duration",
                "on line 2 and on line 3",
            ),
            (
                "    - { name: eu",
                "\t- { name: eu",
                5,
                "",
                "YAML indents with spaces only",
            ),
            (
                "hosts: all",
                "hosts: { regoin: eu }",
                11,
                "timeline[0].hosts.regoin",
                "unknown key `regoin`; this mapping takes: region, zone, fleet",
            ),
            (
                "hosts: all",
                "hosts: [eu]",
                11,
                "timeline[0].hosts",
                "not a list",
            ),
            (
                "topology:\n",
                "topology:\n  load_balancer: [haproxy]\n",
                4,
                "topology.load_balancer",
                "expected one value or a mapping (`{ key: value }`), not a list",
            ),
            (
                "per_zone: 1",
                "per_zone: 99999999999",
                9,
                "hosts[0].per_zone",
                "from 1 to 10000",
            ),
            (
                "per_zone: 1",
                "per_zone: -3",
                9,
                "hosts[0].per_zone",
                "from 1 to 10000",
            ),
            (
                "rate: 1MiB",
                "rate: 0",
                12,
                "timeline[1].rate",
                "at least 1KiB",
            ),
            (
                "- { name: f, region",
                "- { region",
                9,
                "hosts[0]",
                "`name` is missing",
            ),
        ];
        for (from, to, line, field, says) in cases {
            assert!(BASE.contains(from), "{from}");
            let p = check(&BASE.replacen(from, to, 1), &RULES).expect_err(to);
            assert_eq!(p.len(), 1, "{to}: {p:?}");
            assert_eq!(
                (p[0].line, p[0].field.as_str()),
                (line, field),
                "{to}: {p:?}"
            );
            assert!(p[0].message.contains(says), "{to}: {}", p[0].message);
            for word in NOT_THEIRS {
                assert!(!p[0].message.contains(word), "{to}: {}", p[0].message);
            }
        }
    }

    #[test]
    fn a_missing_field_points_at_its_mapping_not_the_next_key() {
        let src = BASE.replace(
            "  - { name: f, region: eu, per_zone: 1, mirrors: [region], pull: [team/app:1] }",
            "  - region: eu\n    per_zone: 1\n    mirrors: [region]\n    pull: [team/app:1]",
        );
        let p = check(&src, &RULES).unwrap_err();
        assert_eq!((p[0].line, p[0].column), (9, 5), "{p:?}");
    }

    #[test]
    fn the_parsers_limits_are_explained_without_its_types() {
        use serde_saphyr::budget::BudgetBreach;
        let e = serde_saphyr::Error::Budget {
            breach: BudgetBreach::Nodes { nodes: 250_001 },
            location: serde_saphyr::Location::UNKNOWN,
        };
        let m = messages::describe(&e);
        assert!(
            m.contains("250001 values") && m.contains("larger or more complex"),
            "{m}"
        );
        assert!(!m.contains("Nodes {"), "{m}");
    }

    #[test]
    fn a_long_line_is_cut_around_the_column() {
        let line = format!("{}X{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, caret) = snippet(&line, 5000);
        assert!(shown.chars().count() <= MAX_SNIPPET_CHARS + 2, "{shown}");
        assert_eq!(shown.chars().nth(caret), Some('X'));
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        // Short lines are shown whole.
        assert_eq!(snippet("name: x", 6), ("name: x".to_string(), 6));
    }

    #[test]
    fn at_most_twenty_problems_are_shown_then_counted() {
        let problems: Vec<Problem> = (1..=25)
            .map(|i| Problem::new(i, 1, "f", format!("problem {i}")))
            .collect();
        let out = render_problems("x.yaml", "", &problems);
        assert!(
            out.contains("problem 20") && !out.contains("problem 21"),
            "{out}"
        );
        assert!(out.ends_with("… and 5 more problems in x.yaml"), "{out}");
    }
}
