//! A game day as a team runs it: `up`, then `status`, `inject`, `note`, `heal` and `down`
//! from another terminal, against the real engine.

use crate::common;
use crate::common::{
    ask, drill, game_day_up, leftovers, scenario, text, until_up, Kinds, StopOnDrop,
};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn up_inject_note_heal_down_and_a_second_up_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let (up, status) = game_day_up(&scenario("tiny.yaml"), out.path());
    let mut stop = StopOnDrop(Some(up.id()));
    assert!(status.contains("region eu: http://127.0.0.1:"), "{status}");

    let second = drill()
        .arg("up")
        .arg(scenario("tiny.yaml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(64));
    assert!(
        text(&second.stderr).contains("is already up"),
        "{}",
        text(&second.stderr)
    );

    let (code, stdout, stderr) = ask(
        out.path(),
        &["inject", "blackhole", "eu-lb", "--set", "direction=in"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "fault #1 injected; heal it with `drill heal 1`"
    );
    let (code, _, stderr) = ask(out.path(), &["inject", "kill", "eu-z-9"]);
    assert_eq!(code, 64);
    assert!(stderr.contains("'eu-z-9' matches nothing"), "{stderr}");
    let (code, _, _) = ask(out.path(), &["note", "eu entry point blackholed by hand"]);
    assert_eq!(code, 0);
    std::thread::sleep(Duration::from_secs(3));
    let (_, stdout, _) = ask(out.path(), &["status"]);
    assert!(
        stdout.contains("fault #1 blackhole eu-lb (manual): active"),
        "{stdout}"
    );
    let (code, stdout, _) = ask(out.path(), &["heal", "1"]);
    assert_eq!((code, stdout.trim()), (0, "healed #1"));
    std::thread::sleep(Duration::from_secs(2));

    let (code, stdout, stderr) = ask(out.path(), &["down"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let folder = stdout.trim().rsplit(' ').next().unwrap().to_string();
    let up = up.wait_with_output().unwrap();
    stop.0 = None;
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));

    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(std::path::Path::new(&folder).join("summary.json")).unwrap(),
    )
    .unwrap();
    let fault = &summary["analysis"]["faults"][0];
    assert_eq!(fault["kind"], "blackhole");
    assert_eq!(fault["masked"], false, "the blackhole failed probes");
    assert_eq!(
        summary["analysis"]["notes"][0]["text"],
        "eu entry point blackholed by hand"
    );
    let report =
        std::fs::read_to_string(std::path::Path::new(&folder).join("report.html")).unwrap();
    assert!(report.contains("eu entry point blackholed by hand"));
    assert!(leftovers(&common::run_id(std::path::Path::new(&folder))).is_empty());
    let (code, _, stderr) = ask(out.path(), &["status"]);
    assert_eq!(code, 64, "nothing is up any more");
    assert!(stderr.contains("no game day is up"), "{stderr}");
}

/// The timeline's clock of a game day, from `drill status`.
fn elapsed_s(out: &Path) -> f64 {
    let (code, stdout, stderr) = ask(out, &["status"]);
    assert_eq!(code, 0, "{stderr}");
    stdout
        .strip_prefix("up for ")
        .and_then(|s| s.split('s').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no time in {stdout}"))
}

/// Waits until the game day's timeline is past `t` seconds.
fn until_timeline_at(out: &Path, t: f64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while elapsed_s(out) <= t {
        assert!(Instant::now() < deadline, "the timeline never reached {t}s");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Runs a line the `up` banner printed, in a shell, as a user pasting it would.
fn run_printed(banner: &str, starts: &str) -> (i32, String, String) {
    let line = banner
        .lines()
        .find(|l| l.trim_start().starts_with(starts))
        .unwrap_or_else(|| panic!("the banner prints no `{starts}`:\n{banner}"));
    // The binary under test stands for the `drill` on a user's PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_drill")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = std::process::Command::new("sh")
        .args(["-c", line])
        .env("PATH", path)
        .output()
        .unwrap();
    (o.status.code().unwrap(), text(&o.stdout), text(&o.stderr))
}

/// Faults on one target never stack: a timeline fault that comes due on containers a
/// manual one holds is skipped, a manual one on containers a timeline fault holds is
/// refused, each recorded with the reason; the numbers shown are the ones to use, the
/// banner's commands work as printed, and every report marks the manual faults.
#[test]
fn overlapping_faults_are_refused_and_the_numbers_shown_are_the_ones_to_use() {
    let out = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("up.stderr");
    let up = drill()
        .arg("up")
        .arg(scenario("gameday-overlap.yaml"))
        .arg("--out")
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let (up, status) = until_up(up, out.path());
    let mut stop = StopOnDrop(Some(up.id()));
    let banner = std::fs::read_to_string(&log).unwrap();
    assert!(
        banner.contains(
            "the timeline's faults are #1 to #2 (`drill status` lists them); faults you \
             inject are numbered from #3"
        ),
        "{banner}"
    );
    for expected in [
        "fault #1 zone-outage eu-a (scripted): due at 8s",
        "fault #2 kill eu-b-1 (scripted): due at 14s",
        "the next fault you inject is #3",
    ] {
        assert!(status.contains(expected), "no {expected:?} in\n{status}");
    }
    let (code, printed, stderr) = run_printed(&banner, "drill status");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        printed.contains("region eu: http://127.0.0.1:"),
        "{printed}"
    );

    // Before #1 is due, a manual kill of its zone's node.
    assert!(elapsed_s(out.path()) < 7.0, "the test came too late for #1");
    let (code, stdout, stderr) = ask(out.path(), &["inject", "kill", "eu-a-1"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "fault #3 injected; heal it with `drill heal 3`"
    );
    until_timeline_at(out.path(), 9.0);
    let (_, stdout, _) = ask(out.path(), &["status"]);
    assert!(
        stdout.contains("fault #3 kill eu-a-1 (manual): active"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("fault #1"),
        "#1 was refused, not injected:\n{stdout}"
    );

    let (code, _, stderr) = ask(out.path(), &["heal", "99"]);
    assert_eq!(code, 64, "{stderr}");
    assert!(
        stderr.contains("fault #99 is not active") && stderr.contains("#3 kill eu-a-1 (manual)"),
        "{stderr}"
    );
    let (code, stdout, _) = ask(out.path(), &["heal", "3"]);
    assert_eq!((code, stdout.trim()), (0, "healed #3"));

    // While #2 holds eu-b-1, a manual outage of its zone.
    until_timeline_at(out.path(), 15.0);
    let (code, _, stderr) = ask(out.path(), &["inject", "zone-outage", "eu-b"]);
    assert_eq!(code, 64, "{stderr}");
    assert!(
        stderr.contains("fault #4 zone-outage eu-b: refused, nothing was done")
            && stderr.contains("which fault #2 kill eu-b-1 (scripted) holds"),
        "{stderr}"
    );

    // The rest as the banner printed it: a note, its example fault (#5), heal, down.
    for command in ["drill note", "drill inject", "drill heal"] {
        let (code, stdout, stderr) = run_printed(&banner, command);
        assert_eq!(code, 0, "{command}: {stdout}{stderr}");
        if command == "drill heal" {
            assert_eq!(stdout.trim(), "healed #5, #2");
        }
    }
    let (code, stdout, stderr) = run_printed(&banner, "drill down");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("verdict: PASS (exit 0)\n"), "{stdout}");
    let folder = stdout.trim().rsplit(' ').next().unwrap().to_string();
    let folder = Path::new(&folder);
    let up = up.wait_with_output().unwrap();
    stop.0 = None;
    assert_eq!(up.status.code(), Some(0));
    let terminal = std::fs::read_to_string(&log).unwrap();
    for expected in [
        "fault #1 zone-outage eu-a refused: it would act on",
        "which fault #3 kill eu-a-1 (manual) holds",
        "fault #4 zone-outage eu-b (manual) refused",
        "healing fault #3 by hand",
    ] {
        assert!(
            terminal.contains(expected),
            "no {expected:?} in\n{terminal}"
        );
    }
    // Healed once, by hand: its end of game day finds nothing left to heal.
    assert_eq!(
        terminal.matches("healing fault #3").count(),
        1,
        "{terminal}"
    );
    let summary_text = text(&up.stdout);
    assert!(summary_text.contains("refused faults"), "{summary_text}");
    assert!(
        summary_text.contains("fault #3 kill eu-a-1 (manual) on"),
        "{summary_text}"
    );

    let journal = common::journal::read(folder);
    let refused: Vec<(u64, u64, bool)> = journal
        .refused()
        .iter()
        .map(|e| (e.fault, e.active, e.manual))
        .collect();
    assert_eq!(refused, [(1, 3, false), (4, 2, true)]);
    let injected: Vec<(u64, bool)> = journal
        .injected()
        .iter()
        .map(|e| (e.fault, e.manual))
        .collect();
    assert_eq!(injected, [(3, true), (2, false), (5, true)]);

    let summary = common::summary(folder);
    let faults: Vec<(u64, bool)> = summary["analysis"]["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_u64().unwrap(), f["manual"] == true))
        .collect();
    assert_eq!(faults, [(3, true), (2, false), (5, true)]);
    let refused_ids: Vec<u64> = summary["analysis"]["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    assert_eq!(refused_ids, [1, 4]);
    let read = |name: &str| std::fs::read_to_string(folder.join(name)).unwrap();
    let junit = read("junit.xml");
    for expected in [
        "refused fault #1 zone-outage eu-a",
        "(manual)",
        "paging the on-call",
    ] {
        assert!(junit.contains(expected), "no {expected:?} in junit.xml");
    }
    for name in ["summary.md", "report.html"] {
        let report = read(name);
        assert!(report.contains("Refused faults"), "{name}");
        assert!(report.contains("(manual)"), "{name}");
    }
    // Readable by whoever may read the journal: a CI uploader of another user.
    let mode = |name: &str| {
        let meta = std::fs::metadata(folder.join(name)).unwrap();
        meta.permissions().mode() & 0o777
    };
    for name in ["summary.json", "junit.xml", "summary.md", "report.html"] {
        assert_eq!(mode(name), mode("journal.jsonl"), "{name}");
    }
    assert!(leftovers(&common::run_id(folder)).is_empty());
}
