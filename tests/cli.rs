//! The command line without Docker: validation, planning, usage errors, exit codes.

mod common;
use common::{drill, scenario, text, variant};

#[test]
fn bundled_scenarios_validate() {
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let out = drill().arg("validate").args(&files).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), files.len());
}

#[test]
fn malformed_scenario_exits_64_with_file_line_and_field() {
    let bad = variant("outage.yaml", "per_zone: 2, mirrors", "per_zone: 2, mirror");
    let out = drill().arg("validate").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = text(&out.stderr);
    let expected = format!("{}:14:", bad.path().display());
    assert!(err.contains(&expected), "names file and line: {err}");
    assert!(err.contains("unknown field `mirror`"), "{err}");

    // `run` refuses it the same way, before touching Docker.
    let out = drill().arg("run").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn semantic_error_names_the_field() {
    let bad = variant("outage.yaml", "target: us-a", "target: us-z");
    let out = drill().arg("validate").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = text(&out.stderr);
    assert!(
        err.contains(":19:") && err.contains("timeline[1].target: 'us-z' is not a zone"),
        "{err}"
    );
}

#[test]
fn missing_file_and_bad_flags_exit_64() {
    let out = drill()
        .args(["validate", "/nonexistent/scenario.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("/nonexistent/scenario.yaml: cannot read the scenario file"));

    let out = drill()
        .args(["run", "--seed", "many", "x.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    let out = drill().arg("clean").output().unwrap();
    assert_eq!(out.status.code(), Some(64), "clean needs --run or --all");
}

#[test]
fn plan_shows_resolved_targets_and_timeline() {
    let out = drill()
        .args(["plan"])
        .arg(scenario("outage.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let plan = text(&out.stdout);
    assert!(plan.contains("node us-a-1 in zone us-a"), "{plan}");
    assert!(
        plan.contains("fault #1 zone-outage us-a for 4s: drill-<run-id>-us-a-1"),
        "{plan}"
    );
    assert!(
        plan.contains("fleet us-fleet: 3 native hosts in region us, mirrors us,"),
        "{plan}"
    );
}

#[test]
fn unreachable_engine_exits_4_with_a_hint() {
    let out = drill()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .arg("run")
        .arg(scenario("tiny.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("Docker engine") && err.contains("DOCKER_HOST"),
        "{err}"
    );
}

#[test]
fn report_rerenders_a_recorded_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/journals/zone-outage.jsonl"
    );
    std::fs::copy(journal, dir.path().join("journal.jsonl")).unwrap();
    let out = drill().arg("report").arg(dir.path()).output().unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        out.status.code().map(i64::from),
        summary["run"]["exit_code"].as_i64(),
        "exit code follows the verdict"
    );
    assert!(text(&out.stdout).contains("fault #1"));
}
