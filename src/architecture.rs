//! The rule of docs/architecture.md, checked: each stage folder imports only the
//! stages below it, and the journal and everything judged from it stay pure.

/// The stages, lowest first: each may import only those before it.
const LAYERS: &[&str] = &[
    "model", "scenario", "faults", "plan", "fixtures", "journal", "oci", "docker", "inject", "ui",
    "analysis", "verdict", "report", "run", "bench", "cli",
];

/// Stages held to less than the order allows.
const ONLY: &[(&str, &[&str])] = &[
    ("journal", &["model"]),
    ("analysis", &["journal", "model"]),
    ("verdict", &["analysis", "journal", "model"]),
    ("report", &["verdict", "analysis", "journal", "model"]),
];

/// Every `crate::<stage>` (and each stage of a `crate::{a, b}`) a source file names
/// outside its tests and comments.
fn stages_named(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect()
    };
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .flat_map(|l| l.match_indices("crate::").map(move |(i, _)| &l[i + 7..]))
        .flat_map(|rest| match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(ident)
                .filter(|s| !s.is_empty())
                .collect(),
            None => vec![ident(rest)],
        })
        .collect()
}

#[test]
fn every_stage_imports_only_the_stages_below_it() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut broken = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let stage = rel.split(['/', '.']).next().unwrap().to_string();
        let Some(rank) = LAYERS.iter().position(|l| *l == stage) else {
            continue; // lib.rs, main.rs, this file
        };
        let only = ONLY.iter().find(|(s, _)| *s == stage).map(|(_, o)| *o);
        for named in stages_named(&std::fs::read_to_string(&path).unwrap()) {
            let Some(other) = LAYERS.iter().position(|l| *l == named) else {
                broken.push(format!(
                    "{rel}: crate::{named} is no stage of docs/architecture.md"
                ));
                continue;
            };
            let allowed = match only {
                Some(only) => named == stage || only.contains(&named.as_str()),
                None => other <= rank,
            };
            if !allowed {
                broken.push(format!("{rel} ({stage}) imports {named}"));
            }
        }
    }
    broken.sort();
    broken.dedup();
    assert!(
        broken.is_empty(),
        "imports against the layers:\n{}",
        broken.join("\n")
    );
}
