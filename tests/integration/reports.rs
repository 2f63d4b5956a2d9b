//! Every report format, rendered by `drill report` from each recorded journal in
//! fixtures/journals/, against its snapshot in snapshots/: any change to what a report
//! says, or how, fails here.
//!
//! To accept an intended change, rewrite the snapshots and review the diff:
//!   INSTA_UPDATE=always cargo test --test integration reports::
//!   git diff tests/integration/snapshots/
//! (`cargo insta review` does the same interactively, where cargo-insta is installed.)
//! A new journal in fixtures/journals/ needs its snapshots written the same way; under
//! CI a missing snapshot fails.

use crate::common::{drill, text};
use std::path::Path;

/// insta trims trailing whitespace before comparing: a last line after the content
/// keeps a report's final newlines part of the check.
const END: &str = "<end of file>";

#[test]
fn reports_of_recorded_journals_match_their_snapshots() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/journals");
    let mut journals: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    journals.sort();
    assert!(journals.len() >= 3, "{journals:?}");
    for journal in journals {
        let name = journal.file_stem().unwrap().to_str().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&journal, dir.path().join("journal.jsonl")).unwrap();
        let out = drill().arg("report").arg(dir.path()).output().unwrap();
        let code = out.status.code().expect("drill exited by itself");
        assert!(
            (0..=3).contains(&code),
            "{name}: exit {code}: {}",
            text(&out.stderr)
        );
        let terminal = format!("exit {code}\n{}", text(&out.stdout));
        insta::assert_snapshot!(format!("{name}.terminal"), format!("{terminal}{END}"));
        for file in ["summary.md", "junit.xml", "summary.json"] {
            let written = std::fs::read_to_string(dir.path().join(file))
                .unwrap_or_else(|e| panic!("{name}: {file}: {e}"));
            insta::assert_snapshot!(format!("{name}.{file}"), format!("{written}{END}"));
        }
    }
}
