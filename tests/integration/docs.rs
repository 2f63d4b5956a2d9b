//! The documentation's complete scenarios are scenarios drill accepts: every fenced
//! `yaml` block of README.md and docs/*.md that declares a top-level `name:` passes
//! `drill validate`. Snippets without a `name:` are parts of a scenario and are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How many complete scenarios the documentation shows today, so that the test cannot
/// pass by finding none: README.md's example, docs/scenario.md's full example,
/// docs/external.md's and the three of docs/kubernetes.md.
const COMPLETE_SCENARIOS: usize = 6;

/// A fenced `yaml` block: the line its first line of text is on (1-based) and its text.
struct Block {
    line: usize,
    text: String,
}

fn yaml_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    let mut in_other_fence = false;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.starts_with("```");
        match open.as_mut() {
            Some(_) if fence => blocks.extend(open.take()),
            Some(block) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            None if fence && in_other_fence => in_other_fence = false,
            None if fence && line.trim_end() == "```yaml" => {
                open = Some(Block {
                    line: i + 2,
                    text: String::new(),
                })
            }
            None if fence => in_other_fence = true,
            None => {}
        }
    }
    blocks
}

/// A complete scenario declares its `name:` at the top level. A CI workflow does too
/// (GitHub Actions'), but its `jobs:` could never be a scenario key: unknown keys are
/// errors.
fn is_complete_scenario(yaml: &str) -> bool {
    let top_level = |key: &str| yaml.lines().any(|l| l.starts_with(key));
    top_level("name:") && !top_level("jobs:")
}

fn documentation() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages.insert(0, root.join("README.md"));
    pages
}

#[test]
fn every_complete_scenario_in_the_documentation_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut validated = 0;
    let mut failures = Vec::new();
    for page in documentation() {
        let doc = page.strip_prefix(root).unwrap().display().to_string();
        let markdown = std::fs::read_to_string(&page).unwrap();
        for block in yaml_blocks(&markdown) {
            if !is_complete_scenario(&block.text) {
                continue;
            }
            let file = std::env::temp_dir().join(format!(
                "drill-docs-{}-{}.yaml",
                std::process::id(),
                validated
            ));
            std::fs::write(&file, &block.text).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_drill"))
                .arg("validate")
                .arg(&file)
                .output()
                .unwrap();
            std::fs::remove_file(&file).unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "{doc}:{}: the scenario block starting here fails `drill validate` ({}):\n{}",
                    block.line,
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            validated += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        validated >= COMPLETE_SCENARIOS,
        "found {validated} complete scenario blocks in README.md and docs/, expected at least {COMPLETE_SCENARIOS}"
    );
}
