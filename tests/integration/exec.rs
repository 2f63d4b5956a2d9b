//! Faults drill does not do itself: `exec` faults whose commands act on the run's
//! containers (as a team's would act on its own infrastructure), their heals on Ctrl-C
//! and after a `kill -9`, and a fault something else injected, marked during a game day.

use crate::common::{self, ask, drill, game_day_up, leftovers, scenario, text, Kinds, StopOnDrop};
use registry_drill::docker::engine::Engine;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[test]
fn an_exec_fault_is_injected_healed_and_judged_like_a_built_one() {
    let run = common::run(&scenario("exec.yaml"), &[]);
    run.assert_code(0);
    let summary = run.summary();
    let fault = &summary["analysis"]["faults"][0];
    assert_eq!(fault["kind"], "exec");
    assert_eq!(fault["target"], "us-a-down");
    assert_eq!(fault["regions"], serde_json::json!(["us"]));
    assert_eq!(
        fault["members"],
        serde_json::json!([]),
        "it names no container"
    );
    let commands = fault["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(commands[0]["phase"], "inject");
    assert_eq!(commands[0]["exit"], 0);
    // The command saw its variables; its output is kept.
    assert!(
        commands[0]["stdout"]
            .as_str()
            .unwrap()
            .starts_with("inject 1 us-a-down\n"),
        "{}",
        commands[0]
    );
    assert_eq!(
        (&commands[1]["phase"], &commands[1]["exit"]),
        (&"heal".into(), &0.into())
    );
    assert!(
        fault["failed_probes"].as_u64().unwrap() > 0,
        "the outage was seen"
    );
    assert!(
        fault["recovered_us"].as_u64().is_some(),
        "and recovered from"
    );
    assert_eq!(fault["heal_ok"], true);
    let md = std::fs::read_to_string(run.dir.join("summary.md")).unwrap();
    assert!(md.contains("inject command exited 0"), "{md}");
    assert!(md.contains("recovery fault #1 exec us-a-down"), "{md}");
    assert!(!run.dir.join("pending-heals.json").exists());
    run.assert_nothing_left();
}

/// `exec-long.yaml` in a folder of its own, where its commands write `fault.log`.
fn long_fault() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exec-long.yaml");
    std::fs::copy(scenario("exec-long.yaml"), &file).unwrap();
    (dir, file)
}

/// Starts the long fault's run and waits until its inject command has acted.
fn run_until_injected(file: &Path, out: &Path) -> (std::process::Child, PathBuf) {
    let (child, dir) = common::run_until(file, out, "fault_injected", 1, Duration::from_secs(90));
    let log = file.with_file_name("fault.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("inject")) {
        assert!(Instant::now() < deadline, "the inject command never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, dir)
}

fn log(file: &Path) -> String {
    std::fs::read_to_string(file.with_file_name("fault.log")).unwrap_or_default()
}

#[test]
fn sigint_during_an_exec_fault_runs_its_heal_command() {
    let (_folder, file) = long_fault();
    let out = tempfile::tempdir().unwrap();
    let (child, dir) = run_until_injected(&file, out.path());
    let _clean = common::CleanRun(common::run_id(&dir));
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert_eq!(log(&file), "inject\nheal eu-a-down\n");
    assert!(
        !dir.join("pending-heals.json").exists(),
        "nothing left to heal"
    );
    assert!(leftovers(&common::run_id(&dir)).is_empty());
}

#[test]
fn sigint_while_the_inject_command_runs_stops_it_then_heals_once() {
    let (_folder, file) = long_fault();
    let src = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        src.replace("inject: [sh, -c, '", "inject: [sh, -c, 'sleep 20 && "),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (child, dir) = common::run_until(
        &file,
        out.path(),
        "fault_injected",
        1,
        Duration::from_secs(90),
    );
    let _clean = common::CleanRun(common::run_id(&dir));
    std::thread::sleep(Duration::from_millis(500));
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the inject command was not waited for"
    );
    assert_eq!(
        log(&file),
        "heal eu-a-down\n",
        "the inject never finished; the heal ran once"
    );
    assert!(!dir.join("pending-heals.json").exists());
}

#[test]
fn after_kill_9_drill_heal_pending_runs_the_heal_the_run_did_not() {
    let (_folder, file) = long_fault();
    let out = tempfile::tempdir().unwrap();
    let (mut child, dir) = run_until_injected(&file, out.path());
    let run_id = common::run_id(&dir);
    let _clean = common::CleanRun(run_id.clone());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(dir.join("pending-heals.json").exists());
    let node = format!("drill-{run_id}-eu-a-1");
    let running =
        || common::block_on(async { Engine::connect().await.unwrap().is_running(&node).await });
    assert!(!running(), "the kill -9 left the node killed");

    // `drill clean` says what it cannot undo, and where.
    let clean = drill()
        .args(["clean", "--run", "00000000", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let said = text(&clean.stderr);
    assert!(
        said.contains(&format!("{} holds 1 heal command(s)", dir.display()))
            && said.contains(&format!("drill heal --pending {}", dir.display())),
        "{said}"
    );

    let heal = drill()
        .arg("heal")
        .arg("--pending")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(heal.status.code(), Some(0), "{}", text(&heal.stderr));
    assert!(
        text(&heal.stdout).contains("healed 1 pending heal"),
        "{}",
        text(&heal.stdout)
    );
    assert_eq!(
        log(&file),
        "inject\nheal eu-a-down\n",
        "the heal had its variables"
    );
    assert!(running(), "the heal started the node again");
    assert!(!dir.join("pending-heals.json").exists());
    let again = drill()
        .arg("heal")
        .arg("--pending")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("no pending heals"));
}

#[test]
fn a_fault_marked_during_a_game_day_is_attributed_like_an_injected_one() {
    let out = tempfile::tempdir().unwrap();
    let (up, _) = game_day_up(&scenario("tiny.yaml"), out.path());
    let mut stop = StopOnDrop(Some(up.id()));
    let folder = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap();
    let lb = format!("drill-{}-eu-lb", common::run_id(&folder));

    // Commands are taken only from the scenario file.
    let (code, _, stderr) = ask(
        out.path(),
        &[
            "inject",
            "exec",
            "--set",
            "name=x",
            "--set",
            "inject=[true]",
        ],
    );
    assert_eq!(code, 64);
    assert!(
        stderr.contains("taken only from the scenario file"),
        "{stderr}"
    );

    let (code, stdout, stderr) = ask(
        out.path(),
        &[
            "mark",
            "start",
            "eu's entry point pulled by the cloud",
            "--regions",
            "eu",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "fault #1 marked; end it with `drill mark end 1`"
    );
    // Something else than drill injects it.
    common::kill_then_start(&lb, Duration::from_secs(2), Duration::from_secs(2));
    let (code, stdout, stderr) = ask(out.path(), &["mark", "end", "1"]);
    assert_eq!((code, stdout.trim()), (0, "healed #1"), "{stderr}");
    // `mark end` ends only what `mark start` marked.
    let (code, _, stderr) = ask(out.path(), &["inject", "pause", "eu-a-1"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = ask(out.path(), &["mark", "end", "2"]);
    assert_eq!(code, 64);
    assert!(
        stderr.contains(
            "fault #2 is a pause fault drill injected, not one marked: heal it with `drill heal 2`"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = ask(out.path(), &["heal", "2"]);
    assert_eq!(code, 0, "{stderr}");

    let (code, stdout, stderr) = ask(out.path(), &["down"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let up = up.wait_with_output().unwrap();
    stop.0 = None;
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    let summary = common::summary(&folder);
    let fault = &summary["analysis"]["faults"][0];
    assert_eq!(fault["kind"], "external");
    assert_eq!(fault["target"], "eu's entry point pulled by the cloud");
    assert_eq!(fault["manual"], true);
    assert_eq!(fault["regions"], serde_json::json!(["eu"]));
    assert!(fault["failed_probes"].as_u64().unwrap() > 0, "{fault}");
    assert!(fault["recovered_us"].as_u64().is_some(), "{fault}");
    let journal = common::journal::read(&folder);
    assert_eq!(journal.injected()[0].kind, "external");
    assert!(leftovers(&common::run_id(&folder)).is_empty());
}
