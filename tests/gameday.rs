//! A game day as a team runs it: `up`, then `status`, `inject`, `note`, `heal` and `down`
//! from another terminal, against the real engine.

mod common;
use common::{ask, drill, game_day_up, leftovers, scenario, text};
use std::time::Duration;

#[test]
fn up_inject_note_heal_down_and_a_second_up_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let (up, status) = game_day_up(&scenario("tiny.yaml"), out.path());
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
