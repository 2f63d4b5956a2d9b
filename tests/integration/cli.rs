//! The command line without Docker: validation, planning, usage errors, exit codes.

use crate::common;
use crate::common::{drill, scenario, text, variant};

#[test]
fn bundled_scenarios_validate() {
    let mut files = bundled_scenarios();
    files.sort();
    assert!(!files.is_empty());
    let out = drill().arg("validate").args(&files).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), files.len());
}

/// The bundled scenario files (the templates beside them are not scenarios).
fn bundled_scenarios() -> Vec<std::path::PathBuf> {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect()
}

/// Every host kind docs/scenario.md documents is shown by a bundled scenario.
#[test]
fn bundled_scenarios_use_every_host_kind() {
    let mut kinds = std::collections::BTreeSet::new();
    for file in bundled_scenarios() {
        let source = std::fs::read_to_string(file).unwrap();
        let value: serde_json::Value = serde_saphyr::from_str(&source).unwrap();
        for fleet in value["hosts"].as_array().into_iter().flatten() {
            kinds.insert(fleet["kind"].as_str().unwrap_or("native").to_string());
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["containerd", "docker", "native"]
    );
}

/// `--live` draws on a terminal only; piped (a CI log), drill says so and keeps its
/// plain lines. (The dashboard itself is tested as rendering in src/dashboard.rs.)
#[test]
fn live_without_a_terminal_falls_back_to_plain_lines() {
    let out = drill()
        .args(["run", "--live", "/nonexistent/scenario.yaml"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(
        err.contains("--live: stdout is not a terminal; printing plain progress lines instead"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(64), "{err}");
}

#[test]
fn malformed_scenario_exits_64_with_file_line_and_field() {
    let bad = variant("outage.yaml", "per_zone: 2, mirrors", "per_zone: 2, mirror");
    let out = drill().arg("validate").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = text(&out.stderr);
    let line = common::line_of(bad.path(), "per_zone: 2, mirror");
    let expected = format!("{}:{line}:", bad.path().display());
    assert!(err.contains(&expected), "names file and line: {err}");
    assert!(err.contains("unknown key `mirror`"), "{err}");

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
    let line = common::line_of(bad.path(), "target: us-z");
    assert!(
        err.contains(&format!(":{line}:"))
            && err.contains("timeline[1].target: 'us-z' is not a zone"),
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

/// A game-day command that finds no game day says where it looked and how to look
/// elsewhere, whether it was told the scenario or not.
#[test]
fn game_day_commands_without_a_game_day_name_the_folder_they_looked_in() {
    let out = tempfile::tempdir().unwrap();
    for args in [&["status"][..], &["heal", "1", "--scenario", "quickstart"]] {
        let o = drill()
            .args(args)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(64));
        let err = text(&o.stderr);
        let looked = format!("looked in {}", out.path().join(".up").display());
        assert!(err.contains("no game day"), "{err}");
        assert!(err.contains(&looked), "{err}");
        assert!(err.contains("the same --out DIR"), "{err}");
    }
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

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/journals/zone-outage.jsonl"
);

const REPORTS: [&str; 4] = ["summary.json", "junit.xml", "summary.md", "report.html"];

/// A run folder holding the recorded journal, its first line edited by `edit`.
fn run_folder(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let journal = std::fs::read_to_string(FIXTURE).unwrap();
    let (first, rest) = journal.split_once('\n').unwrap();
    std::fs::write(
        dir.path().join("journal.jsonl"),
        format!("{}\n{rest}", edit(first)),
    )
    .unwrap();
    dir
}

fn files(dir: &std::path::Path) -> Vec<Vec<u8>> {
    REPORTS
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect()
}

#[test]
fn report_rerenders_a_recorded_journal() {
    let dir = run_folder(str::to_string);
    let out = drill().arg("report").arg(dir.path()).output().unwrap();
    let summary = common::summary(dir.path());
    assert_eq!(
        out.status.code().map(i64::from),
        summary["run"]["exit_code"].as_i64(),
        "exit code follows the verdict"
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("fault #1 zone-outage eu-a on drill-5e1f0a2c-eu-a-1"));
    assert!(stdout.contains("wrote summary.json, junit.xml, summary.md, report.html\n"));
    assert_eq!(files(dir.path()).len(), 4);
    assert_eq!(summary["format"], 3);
}

/// `drill report` twice gives the same bytes, and the same bytes as the run itself
/// writes: both go through `summarize_against` and `write_all`.
#[test]
fn report_is_reproducible_and_matches_what_a_run_writes() {
    let dir = run_folder(str::to_string);
    drill().arg("report").arg(dir.path()).output().unwrap();
    let first = files(dir.path());
    drill().arg("report").arg(dir.path()).output().unwrap();
    assert!(
        first == files(dir.path()),
        "drill report is not reproducible"
    );

    let loaded = registry_drill::journal::read(&dir.path().join("journal.jsonl")).unwrap();
    let summary =
        registry_drill::report::summarize_against(&loaded.records, loaded.truncated, None);
    let as_run = tempfile::tempdir().unwrap();
    registry_drill::report::write_all(as_run.path(), &summary).unwrap();
    for (name, (a, b)) in REPORTS.iter().zip(first.iter().zip(files(as_run.path()))) {
        assert!(*a == b, "{name} differs from what a run writes");
    }
}

/// The recorded run judged against SLAs it meets (availability 80 %), so only a
/// regression can fail it.
fn passing_run() -> tempfile::TempDir {
    run_folder(|first| first.replace(r#""min":"99%""#, r#""min":"80%""#))
}

#[test]
fn baseline_regressions_are_reported_and_fail_only_on_request() {
    let base = passing_run();
    let out = drill().arg("report").arg(base.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // The baseline recovered in 2 s; this run takes 2.501 s, 25 % more.
    let path = base.path().join("summary.json");
    let mut summary = common::summary(base.path());
    for c in summary["verdict"]["checks"].as_array_mut().unwrap() {
        if c["name"] == "recovery fault #1 zone-outage eu-a" {
            c["measured_value"] = 2.0.into();
        }
    }
    std::fs::write(&path, serde_json::to_vec(&summary).unwrap()).unwrap();

    let run = passing_run();
    let out = drill()
        .arg("report")
        .arg(run.path())
        .arg("--baseline")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "reported only");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  recovery fault #1 zone-outage eu-a: 2.000s → 2.501s (25.044% worse)"),
        "{stdout}"
    );
    let written = common::summary(run.path());
    assert_eq!(
        written["baseline"]["regressions"].as_array().unwrap().len(),
        1
    );
    assert!(
        text(&std::fs::read(run.path().join("summary.md")).unwrap()).contains("### Regressions")
    );

    // A looser tolerance hides it; --fail-on-regression makes it a broken SLA.
    let out = drill()
        .arg("report")
        .arg(run.path())
        .args(["--tolerance", "30%", "--baseline"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains("no regression against"));
    let out = drill()
        .arg("report")
        .arg(run.path())
        .args(["--fail-on-regression", "--baseline"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout)
        .contains("1 SLA broken: regression recovery fault #1 zone-outage eu-a (exit 1)"));
    let junit = text(&std::fs::read(run.path().join("junit.xml")).unwrap());
    assert!(junit.contains("name=\"regression recovery fault #1 zone-outage eu-a\""));
}

#[test]
fn bad_baseline_and_flags_without_a_baseline_exit_64() {
    let run = passing_run();
    let out = drill()
        .arg("report")
        .arg(run.path())
        .args(["--baseline", "/nonexistent/summary.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("/nonexistent/summary.json: not a usable baseline"));
    let out = drill()
        .arg("report")
        .arg(run.path())
        .args(["--tolerance", "5%"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "--tolerance needs --baseline");
    // A run refuses a bad baseline before touching Docker.
    let out = drill()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .arg("run")
        .arg(scenario("tiny.yaml"))
        .args(["--baseline", "/nonexistent/summary.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
}

/// The HTML report renders in a real browser: headless Chromium takes a screenshot
/// that holds far more than an empty page's. Without Chromium it fails, saying what to
/// install: a test that passes by not looking checks nothing.
#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        panic!(
            "no chromium, chromium-browser or google-chrome on PATH: this test renders the \
             HTML report in one. Install what the tests need with `scripts/install-deps.sh \
             --tests` (Debian: apt-get install chromium)"
        );
    };
    let dir = run_folder(str::to_string);
    drill().arg("report").arg(dir.path()).output().unwrap();
    std::fs::write(
        dir.path().join("blank.html"),
        "<!DOCTYPE html><html><body></body></html>",
    )
    .unwrap();
    let shoot = |page: &str, png: &str| {
        let png = dir.path().join(png);
        let mut child = std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1100,3000",
            ])
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", dir.path().join(page).display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{browser} did not finish the screenshot in 90 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::fs::read(&png).unwrap_or_else(|e| panic!("{browser} wrote no screenshot: {e}"))
    };
    let report = shoot("report.html", "report.png");
    let blank = shoot("blank.html", "blank.png");
    assert_eq!(&report[..8], b"\x89PNG\r\n\x1a\n");
    // Width and height from the IHDR chunk.
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    assert_eq!((be(&report[16..20]), be(&report[20..24])), (1100, 3000));
    assert!(
        report.len() > 10 * blank.len(),
        "the report's screenshot ({} bytes) is hardly more than a blank page's ({} bytes)",
        report.len(),
        blank.len()
    );
}

/// `drill schema` prints the committed scenario schema, and every bundled scenario
/// conforms to it; a misspelt key does not.
#[test]
fn scenario_schema_is_current_and_accepts_every_bundled_scenario() {
    let out = drill().arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/scenario.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        printed, committed,
        "regenerate with: drill schema > schema/scenario.schema.json"
    );

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["scenarios", "tests/scenarios"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            // Beside the scenarios lie the config templates they render, which are no scenarios.
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let value: serde_json::Value =
                serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let errors = common::schema_check::validate(&committed, &value);
            assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 10);

    let typo: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(scenario("tiny.yaml"))
            .unwrap()
            .replace("per_zone", "per_zon"),
    )
    .unwrap();
    assert!(!common::schema_check::validate(&committed, &typo).is_empty());
}

#[test]
fn bad_replication_and_canaries_exit_64_naming_line_and_field() {
    let bad = variant(
        "async.yaml",
        "primary: eu, interval: 3s",
        "primary: asia, interval: 3s",
    );
    let out = drill().arg("validate").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = text(&out.stderr);
    let line = common::line_of(bad.path(), "primary: asia");
    assert!(
        err.contains(&format!("{}:{line}:", bad.path().display())),
        "names the replication line: {err}"
    );
    assert!(
        err.contains("topology.replication.primary: 'asia' is not a region of this scenario"),
        "{err}"
    );

    let bad = variant(
        "async.yaml",
        "mode: async, primary: eu, interval: 3s",
        "mode: none, interval: 3s",
    );
    let err = text(
        &drill()
            .arg("validate")
            .arg(bad.path())
            .output()
            .unwrap()
            .stderr,
    );
    assert!(
        err.contains("topology.replication.primary: mode none pushes to one region"),
        "{err}"
    );
    assert!(
        err.contains("topology.replication.interval: only mode async"),
        "{err}"
    );

    let bad = variant("async.yaml", "every: 500ms", "every: 10ms, size: 1GiB");
    let out = drill().arg("validate").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = text(&out.stderr);
    let line = common::line_of(bad.path(), "every: 10ms");
    assert!(
        err.contains(&format!("{}:{line}:", bad.path().display())),
        "{err}"
    );
    assert!(
        err.contains("canaries.every: must be at least 100ms"),
        "{err}"
    );
    assert!(
        err.contains("canaries.size: must be between 1B and 16MiB"),
        "{err}"
    );
}

#[test]
fn fallback_sla_needs_a_limit() {
    let bad = variant(
        "bulkhead.yaml",
        "fallback: { max_pull: 10s, min_pulls: 1 }",
        "fallback: { min_pulls: 1 }",
    );
    let out = drill().arg("validate").arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = text(&out.stderr);
    let line = common::line_of(bad.path(), "fallback: { min_pulls: 1 }");
    assert!(
        err.contains(&format!("{}:{line}:", bad.path().display())),
        "{err}"
    );
    assert!(
        err.contains("sla.fallback.max_pull: set it, or declare cold_pull.p99"),
        "{err}"
    );
}

fn docker(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

fn image_exists(reference: &str) -> bool {
    docker(&["image", "inspect", reference]).status.success()
}

/// Imports a one-file image, labelled as a helper image or not.
fn import_image(reference: &str, label: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("marker"), reference).unwrap();
    let tar = dir.path().join("rootfs.tar");
    let packed = std::process::Command::new("tar")
        .args([
            "-cf",
            tar.to_str().unwrap(),
            "-C",
            dir.path().to_str().unwrap(),
            "marker",
        ])
        .status()
        .unwrap();
    assert!(packed.success());
    let mut args = vec!["import".to_string()];
    if let Some(label) = label {
        args.extend(["--change".to_string(), format!("LABEL {label}")]);
    }
    args.extend([tar.display().to_string(), reference.to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = docker(&args);
    assert!(out.status.success(), "docker import: {}", text(&out.stderr));
}

/// Loads a one-file image whose creation time is `created` (RFC 3339), labelled as a
/// helper image of `recipe`: `docker import` can only stamp the present.
fn load_image_created(reference: &str, recipe: &str, created: &str) {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let layer = tar_of(&[("marker", reference.as_bytes())]);
    let diff_id = hex::encode(Sha256::digest(&layer));
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": { "Labels": { "drill.image": recipe } },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
    })
    .to_string();
    let manifest = serde_json::json!([
        { "Config": "config.json", "RepoTags": [reference], "Layers": ["layer.tar"] }
    ])
    .to_string();
    let archive = tar_of(&[
        ("layer.tar", &layer),
        ("config.json", config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ]);
    let path = dir.path().join("image.tar");
    std::fs::write(&path, archive).unwrap();
    let out = docker(&["load", "-i", path.to_str().unwrap()]);
    assert!(out.status.success(), "docker load: {}", text(&out.stderr));
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

/// Held by tests that add or remove helper images: `drill images prune` in one would
/// remove the images another just set up.
static HELPER_IMAGES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `drill images build` and returns the tag it prints for helper image `name`.
fn images_build(name: &str) -> String {
    let built = drill().args(["images", "build"]).output().unwrap();
    assert_eq!(built.status.code(), Some(0), "{}", text(&built.stderr));
    let prefix = format!("drill/{name}:");
    text(&built.stdout)
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("images build prints the {name} tag"))
        .to_string()
}

/// `drill/token-service` is rebuilt with every build of drill; importing a new one
/// removes the older tags, except one imported moments ago, which a drill of another
/// build running beside this one may be about to use.
#[test]
fn a_new_token_service_image_replaces_old_ones_but_not_just_imported_ones() {
    let _images = HELPER_IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    let current = images_build("token-service");
    let (stale, fresh) = (
        "drill/token-service:stale-replace-test",
        "drill/token-service:fresh-replace-test",
    );
    load_image_created(stale, "token-service", "2020-01-01T00:00:00Z");
    import_image(fresh, Some("drill.image=token-service"));
    // Without its current tag, the next build imports it again.
    docker(&["rmi", &current]);

    let rebuilt = drill().args(["images", "build"]).output().unwrap();
    let (stale_left, fresh_left) = (image_exists(stale), image_exists(fresh));
    docker(&["rmi", stale, fresh]);

    assert_eq!(rebuilt.status.code(), Some(0), "{}", text(&rebuilt.stderr));
    assert!(image_exists(&current), "{current} imported again");
    assert!(
        !stale_left,
        "an old token service image outlived a new build"
    );
    assert!(fresh_left, "an image imported moments ago was removed");
}

#[test]
fn images_prune_removes_only_outdated_helper_images() {
    let _images = HELPER_IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    let current = images_build("toolbox");
    let outdated = "drill/toolbox:outdated-prune-test";
    let unlabelled = "drill/toolbox:unlabelled-prune-test";
    import_image(outdated, Some("drill.image=toolbox"));
    import_image(unlabelled, None);

    let out = drill().args(["images", "prune"]).output().unwrap();
    let removed_unlabelled = !image_exists(unlabelled);
    docker(&["rmi", unlabelled, outdated]);

    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("removed {outdated}")),
        "{}",
        text(&out.stdout)
    );
    assert!(!image_exists(outdated));
    assert!(
        !removed_unlabelled,
        "an image without the drill.image label was removed"
    );
    assert!(image_exists(&current), "the current {current} was removed");
}

/// Each way two names of a scenario can be the same is refused by `drill validate`, with
/// the place of both: a fault must never act on what its name did not mean.
#[test]
fn name_clashes_are_refused_with_both_places() {
    let regions = "    - { name: eu, zones: [eu-a, eu-b] }\n    - { name: us, zones: [us-a] }";
    for (to, clash) in [
        (
            "    - { name: eu, zones: [eu-a, eu-b] }\n    - { name: us, zones: [us-a, eu-lb] }",
            "'eu-lb' would be both the load balancer of region eu and zone eu-lb",
        ),
        (
            "    - { name: eu, zones: [eu-a, eu-b] }\n    - { name: us, zones: [us-a, us-lb] }",
            "'us-lb' would be both the load balancer of region us and zone us-lb",
        ),
        (
            "    - { name: eu, zones: [eu-a, eu-b] }\n    - { name: eu-a-1, zones: [us-a] }",
            "'eu-a-1' would be both node eu-a-1 of region eu and region eu-a-1",
        ),
        (
            "    - { name: eu, zones: [eu-a, eu-a-1] }\n    - { name: us, zones: [us-a] }",
            "'eu-a-1' would be both node eu-a-1 of region eu and zone eu-a-1",
        ),
        (
            "    - { name: eu, zones: [eu-a, eu-b] }\n    - { name: upstream, zones: [us-a] }",
            "'upstream' is a word drill reads on its own",
        ),
    ] {
        let bad = variant("outage.yaml", regions, to);
        let out = drill().arg("validate").arg(bad.path()).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{err}");
        assert!(err.contains(clash), "{to}: {err}");
        // Both places: the one named in the header, and the other shown under it
        // (a keyword has no place in the file).
        if !clash.contains("word drill reads") {
            assert!(err.contains("^ the other is here"), "{err}");
        }
    }
}

/// `--live` on a terminal (a pseudo-terminal that answers the cursor query, as a
/// terminal emulator does): the dashboard takes the alternate screen and draws the run;
/// the progress lines it held meanwhile are printed, in order, once it gives the
/// terminal back; the run ends as without it.
#[test]
fn the_dashboard_holds_progress_lines_and_gives_them_back_with_the_terminal() {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use std::io::{Read, Write};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    rustix::termios::tcsetwinsize(
        &slave,
        rustix::termios::Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut child = drill()
        .args(["run", "--live"])
        .arg(common::scenario("tiny.yaml"))
        .arg("--out")
        .arg(out.path())
        .env("TERM", "xterm")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let mut terminal = std::fs::File::from(master);
    let mut screen = Vec::new();
    let mut buf = [0u8; 65536];
    // Read until the run has closed its side (EIO); answer each cursor query.
    while let Ok(n) = terminal.read(&mut buf) {
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        for _ in 0..chunk.windows(4).filter(|w| w == b"\x1b[6n").count() {
            terminal.write_all(b"\x1b[1;1R").unwrap();
        }
        screen.extend_from_slice(chunk);
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let screen = text(&screen);
    let enter = screen
        .find("\x1b[?1049h")
        .expect("the dashboard took the screen");
    let leave = screen.find("\x1b[?1049l").expect("and gave it back");
    // ratatui places each word of a cell, so a panel's title is found word by word.
    for drawn in ["availability", "latency", "faults", "test-tiny"] {
        assert!(
            screen[enter..leave].contains(drawn),
            "the dashboard drew {drawn}: {screen:?}"
        );
    }
    let after = &screen[leave..];
    let held = [
        "cold start wave 1: 2 hosts",
        "timeline over: stopping hosts",
        "removed 2 containers",
    ];
    let at: Vec<usize> = held
        .iter()
        .map(|line| {
            after
                .find(line)
                .unwrap_or_else(|| panic!("{line:?} printed after the dashboard: {after:?}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "in order: {at:?}");
    assert!(
        !screen[enter..leave].contains("cold start wave 1: 2 hosts\r\n"),
        "held, not printed over the dashboard"
    );
    assert!(
        !screen.contains("cannot take over the terminal"),
        "{screen:?}"
    );
}
