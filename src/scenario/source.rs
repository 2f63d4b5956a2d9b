//! The scenario's YAML as written: a tree of its nodes with their lines and columns, read
//! with the YAML event parser before serde sees the file. It tells what serde cannot tell
//! well: where a field is (for problems found after parsing), both lines of a key set
//! twice, a tab in an indentation, and a list, a mapping or one value where the format
//! wants another shape (serde reads a list into a mapping's fields by position, so
//! `hosts: [eu]` would silently mean `{ region: eu }`).

use super::Problem;
use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

/// Deeper nesting than this is refused: no scenario needs it, and the checks recurse.
pub const MAX_DEPTH: usize = 64;
/// Problems of one kind collected at most: a list of a million wrong values is refused
/// without a million messages.
pub const MAX_PROBLEMS: usize = 1000;

#[derive(Debug)]
pub struct Node {
    pub line: usize,
    pub column: usize,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    /// Keys with their own line and column, in file order (duplicates kept).
    Map(Vec<(Key, Node)>),
    Seq(Vec<Node>),
    Scalar(String),
    /// An empty value (`key:`), `~` or `null`: what an optional field takes for none.
    Null,
    /// A reference to an anchored node (`*name`): its shape is that node's, not checked.
    Alias,
}

#[derive(Debug)]
pub struct Key {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

/// The document's root node; `None` when the text is not YAML the event parser reads
/// (the strict parse then says why) or holds no document.
pub fn read(text: &str) -> Result<Option<Node>, Problem> {
    // A collection being filled, with the key waiting for its value in a mapping.
    enum Open {
        Map(usize, usize, Vec<(Key, Node)>, Option<Key>),
        Seq(usize, usize, Vec<Node>),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    for next in Parser::new_from_str(text) {
        let Ok((event, span)) = next else {
            return Ok(None);
        };
        let (line, column) = (span.start.line(), span.start.col() + 1);
        let node = match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Problem::new(
                        line,
                        column,
                        "",
                        format!("nested more than {MAX_DEPTH} levels deep: no scenario needs that"),
                    ));
                }
                stack.push(match event {
                    Event::MappingStart(..) => Open::Map(line, column, Vec::new(), None),
                    _ => Open::Seq(line, column, Vec::new()),
                });
                continue;
            }
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(line, column, entries, _)) => Node {
                    line,
                    column,
                    kind: Kind::Map(entries),
                },
                _ => return Ok(None),
            },
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(line, column, items)) => Node {
                    line,
                    column,
                    kind: Kind::Seq(items),
                },
                _ => return Ok(None),
            },
            Event::Scalar(value, style, ..) => {
                let null = style == ScalarStyle::Plain
                    && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                Node {
                    line,
                    column,
                    kind: if null {
                        Kind::Null
                    } else {
                        Kind::Scalar(value.into_owned())
                    },
                }
            }
            Event::Alias(_) => Node {
                line,
                column,
                kind: Kind::Alias,
            },
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::Seq(_, _, items)) => items.push(node),
            Some(Open::Map(_, _, entries, pending)) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    let name = match &node.kind {
                        Kind::Scalar(s) => s.clone(),
                        // A mapping or list as a key: no field is named so; serde says so.
                        _ => String::new(),
                    };
                    *pending = Some(Key {
                        name,
                        line: node.line,
                        column: node.column,
                    });
                }
            },
        }
    }
    Ok(root)
}

/// Every line whose indentation holds a tab: YAML indents with spaces only, and the
/// parser's own complaint may point at another line.
pub fn tabs(text: &str) -> Vec<Problem> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            let tab = line[..indent].find('\t')?;
            Some(Problem::new(
                i + 1,
                line[..tab].chars().count() + 1,
                "",
                "a tab in the indentation: YAML indents with spaces only; replace it with spaces",
            ))
        })
        .collect()
}

/// A key set twice in one mapping, with both lines: serde would name only the second.
pub fn duplicate_keys(root: &Node) -> Vec<Problem> {
    let mut out = Vec::new();
    walk(root, &mut String::new(), &mut |node, path| {
        let Kind::Map(entries) = &node.kind else {
            return;
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            if out.len() >= MAX_PROBLEMS {
                return;
            }
            if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.name == key.name) {
                out.push(Problem::new(
                    key.line,
                    key.column,
                    join(path, &key.name),
                    format!(
                        "`{}` is set twice, on line {} and on line {}: keep one",
                        key.name, first.line, key.line
                    ),
                ));
            }
        }
    });
    out.sort_by_key(|p| (p.line, p.column));
    out
}

/// Calls `visit` on every node with its field path (`topology.regions[0].zones`).
fn walk(node: &Node, path: &mut String, visit: &mut impl FnMut(&Node, &str)) {
    visit(node, path);
    let len = path.len();
    match &node.kind {
        Kind::Map(entries) => {
            for (key, child) in entries {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.name);
                walk(child, path, visit);
                path.truncate(len);
            }
        }
        Kind::Seq(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(child, path, visit);
                path.truncate(len);
            }
        }
        Kind::Scalar(_) | Kind::Null | Kind::Alias => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The node a field path (`hosts[0].mirrors`) names, and whether it is written; when
/// it is not (a default, a missing field), the deepest node on the way to it.
pub fn locate<'a>(root: &'a Node, path: &str) -> (&'a Node, bool) {
    let mut node = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            let Kind::Map(entries) = &node.kind else {
                return (node, false);
            };
            match entries.iter().find(|(k, _)| k.name == key) {
                Some((_, child)) => node = child,
                None => return (node, false),
            }
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            let (Kind::Seq(items), Ok(i)) = (&node.kind, index.trim_end_matches(']').parse())
            else {
                return (node, false);
            };
            match items.get::<usize>(i) {
                Some(child) => node = child,
                None => return (node, false),
            }
        }
    }
    (node, true)
}

/// The shapes a part of the JSON Schema admits.
#[derive(Default, Clone, Copy)]
struct Shapes {
    map: bool,
    list: bool,
    value: bool,
}

impl Shapes {
    fn any() -> Shapes {
        Shapes {
            map: true,
            list: true,
            value: true,
        }
    }

    /// What to write instead, e.g. "a mapping (`{ key: value }`)".
    fn expected(self) -> String {
        let mut parts = Vec::new();
        if self.value {
            parts.push("one value");
        }
        if self.list {
            parts.push("a list (`[a, b]`)");
        }
        if self.map {
            parts.push("a mapping (`{ key: value }`)");
        }
        parts.join(" or ")
    }
}

/// Every list, mapping or single value written where the scenario format (its JSON
/// Schema, [`super::schema`]) wants another shape.
pub fn shapes(root: &Node, schema: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    check_shape(root, schema, schema, "", &mut out);
    out
}

fn check_shape(node: &Node, schema: &Value, doc: &Value, path: &str, out: &mut Vec<Problem>) {
    if out.len() >= MAX_PROBLEMS {
        return;
    }
    let alternatives = alternatives(schema, doc, 0);
    let mut admits = Shapes::default();
    for alt in &alternatives {
        let s = shapes_of(alt);
        admits.map |= s.map;
        admits.list |= s.list;
        admits.value |= s.value;
    }
    if alternatives.is_empty() {
        admits = Shapes::any();
    }
    let wrong = match &node.kind {
        Kind::Map(_) if !admits.map => Some("a mapping"),
        Kind::Seq(_) if !admits.list => Some("a list"),
        Kind::Scalar(_) if !admits.value => Some("one value"),
        _ => None,
    };
    if let Some(wrong) = wrong {
        out.push(Problem::new(
            node.line,
            node.column,
            path,
            format!("expected {}, not {wrong}", admits.expected()),
        ));
        return;
    }
    match &node.kind {
        Kind::Map(entries) => {
            for (key, child) in entries {
                let field = alternatives.iter().find_map(|alt| {
                    alt.get("properties")
                        .and_then(|p| p.get(&key.name))
                        .or_else(|| alt.get("additionalProperties").filter(|a| a.is_object()))
                });
                if let Some(field) = field {
                    check_shape(child, field, doc, &join(path, &key.name), out);
                }
            }
        }
        Kind::Seq(items) => {
            if let Some(item) = alternatives.iter().find_map(|alt| alt.get("items")) {
                for (i, child) in items.iter().enumerate() {
                    check_shape(child, item, doc, &format!("{path}[{i}]"), out);
                }
            }
        }
        Kind::Scalar(_) | Kind::Null | Kind::Alias => {}
    }
}

/// The schema's alternatives with `$ref`, `anyOf` and `oneOf` followed.
fn alternatives<'a>(schema: &'a Value, doc: &'a Value, depth: usize) -> Vec<&'a Value> {
    if depth > MAX_DEPTH {
        return Vec::new();
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference
            .strip_prefix("#/$defs/")
            .and_then(|name| doc.get("$defs")?.get(name));
        return target.map_or_else(Vec::new, |t| alternatives(t, doc, depth + 1));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            return list
                .iter()
                .flat_map(|s| alternatives(s, doc, depth + 1))
                .collect();
        }
    }
    vec![schema]
}

fn shapes_of(schema: &Value) -> Shapes {
    let mut s = Shapes::default();
    let mut mark = |ty: &str| match ty {
        "object" => s.map = true,
        "array" => s.list = true,
        _ => s.value = true,
    };
    match schema.get("type") {
        Some(Value::String(ty)) => mark(ty),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).for_each(&mut mark),
        _ if schema.get("properties").is_some() => s.map = true,
        _ if schema.get("enum").is_some() || schema.get("const").is_some() => s.value = true,
        // No constraint on the shape.
        _ => return Shapes::any(),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        read(text).expect("not too deep").expect("a document")
    }

    #[test]
    fn locates_fields_and_falls_back_to_the_nearest_written_one() {
        let root = tree("a:\n  b: [x, { c: 1 }]\n  d: 2\n");
        let at = |p: &str| {
            let (n, written) = locate(&root, p);
            (n.line, n.column, written)
        };
        assert_eq!(at("a.b[1].c"), (2, 15, true));
        assert_eq!(at("a.d"), (3, 6, true));
        // Not written: the mapping that would hold it.
        assert_eq!(at("a.b[1].e"), (2, 10, false));
        assert_eq!(at("a.b[7]"), (2, 6, false));
    }

    #[test]
    fn a_key_set_twice_names_both_lines() {
        let p = duplicate_keys(&tree("x: 1\ny:\n  z: 1\n  z: 2\nx: 3\n"));
        let got: Vec<_> = p.iter().map(|p| (p.line, p.field.as_str())).collect();
        assert_eq!(got, [(4, "y.z"), (5, "x")]);
        assert!(p[1].message.contains("on line 1 and on line 5"), "{p:?}");
    }

    #[test]
    fn tabs_in_indentation_are_found_where_they_are() {
        let p = tabs("a:\n  b: 1\n \tc: 2\nd: \"\tin a value\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].line, p[0].column), (3, 2));
    }

    #[test]
    fn nesting_past_the_limit_is_refused() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(read(&deep).is_err());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(read(&ok).unwrap().is_some());
    }

    #[test]
    fn shapes_follow_refs_and_alternatives() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "sel": { "anyOf": [{ "$ref": "#/$defs/All" }, { "$ref": "#/$defs/Filter" }] },
                "list": { "type": "array", "items": { "type": "string" } },
            },
            "$defs": {
                "All": { "type": "string", "enum": ["all"] },
                "Filter": { "type": "object", "properties": { "region": { "type": "string" } } },
            },
        });
        let p = shapes(&tree("sel: [eu]\nlist: [a, [b]]\n"), &schema);
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.field.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "sel",
                    "expected one value or a mapping (`{ key: value }`), not a list"
                ),
                ("list[1]", "expected one value, not a list"),
            ]
        );
        assert!(shapes(&tree("sel: { region: eu }\nlist: [a]\n"), &schema).is_empty());
        let p = shapes(&tree("sel: all\nlist:\n"), &schema);
        assert!(p.is_empty(), "{p:?}");
    }
}
