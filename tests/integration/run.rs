//! `drill run` against the real Docker engine: real registries, haproxy, real kills.
//! Each test checks that its run left nothing labelled behind.

use crate::common;
use crate::common::{drill, leftovers, run, scenario, variant, CleanRun, Event, Kinds};
use std::time::Duration;

/// A region lost while its hosts cold-start shows as failures, then recovery, and the
/// honest SLAs of the scenario hold.
#[test]
fn zone_outage_fails_then_recovers_and_slas_hold() {
    let r = run(&scenario("outage.yaml"), &[]);
    r.assert_code(0);
    assert!(r.stdout().contains("verdict: PASS"), "{}", r.stdout());

    let journal = r.journal();
    let injected = journal
        .injected()
        .first()
        .expect("fault_injected recorded")
        .t_us;
    let healed = journal
        .healed()
        .first()
        .expect("fault_healed recorded")
        .t_us;
    let us_probes: Vec<_> = journal
        .probes()
        .into_iter()
        .filter(|e| e.region == "us")
        .map(|e| (e.t_us, e.ok, e.answered_us()))
        .collect();
    // Stamped when sent: one sent just before the fault may fail because of it, but
    // none fails before the fault struck.
    assert!(
        us_probes.iter().filter(|p| p.2 < injected).all(|p| p.1),
        "us is up before the fault"
    );
    let failures: Vec<u64> = us_probes.iter().filter(|p| !p.1).map(|p| p.0).collect();
    assert!(
        failures.len() >= 10,
        "us probes fail during the outage: {failures:?}"
    );
    let last_failure = *failures.last().unwrap();
    assert!(
        us_probes
            .iter()
            .any(|p| p.1 && p.0 > last_failure && p.0 >= healed),
        "us answers again after the heal"
    );
    // us hosts restarted during the outage failed pulls, then succeeded.
    let us_pulls: Vec<_> = journal
        .pulls()
        .into_iter()
        .filter(|e| e.region == "us" && e.wave == 2)
        .collect();
    assert!(
        us_pulls.iter().any(|p| !p.ok),
        "pulls fail during the outage"
    );
    assert!(us_pulls.iter().any(|p| p.ok), "pulls succeed after it");

    let summary = r.summary();
    let fault = &summary["analysis"]["faults"][0];
    assert_eq!(fault["kind"], "zone-outage");
    assert_eq!(fault["masked"], false);
    let recovered = fault["recovered_us"].as_u64().expect("recovered");
    assert!(recovered >= healed, "recovery comes after the heal");
    assert!(
        // Restart, Docker's DNS (held 1 s) and haproxy's `rise 2` every 500 ms: 2-3 s
        // here, more on a busy machine.
        recovered - healed < 8_000_000,
        "the region is back within 8s of the heal: {}µs",
        recovered - healed
    );
    // eu was untouched: its availability stayed whole.
    assert_eq!(
        summary["analysis"]["availability"]["regions"]["eu"]["failed"],
        0
    );
    assert_eq!(summary["analysis"]["data_loss"]["checked"], 2);

    r.assert_nothing_left();
}

/// Cold starts a later wave restarts, one before its turn in a ramp, and cold starts
/// the end of the timeline cuts off are counted as interrupted, in the journal and every
/// table: started = ok + failed + interrupted, and none of them is a failure.
#[test]
fn restarted_and_cut_off_cold_starts_are_interrupted_and_counts_add_up() {
    let r = run(&scenario("overlap.yaml"), &[]);
    let journal = r.journal();
    let first_fault = journal
        .injected()
        .first()
        .expect("the throttle was injected")
        .t_us;
    let cold = journal.cold_starts();
    let first_wave = cold
        .iter()
        .filter(|e| e.wave == 1)
        .map(|e| e.started_us)
        .min()
        .expect("wave 1 was recorded");
    assert!(
        first_fault < first_wave,
        "the throttle landed at {first_fault} µs, after wave 1 began at {first_wave} µs"
    );
    r.assert_code(0);
    let of_wave = |w: u64| -> Vec<_> { cold.iter().filter(|c| c.wave == w).collect() };
    let (first, second, third) = (of_wave(1), of_wave(2), of_wave(3));
    assert_eq!(
        (first.len(), second.len(), third.len()),
        (3, 3, 3),
        "{cold:#?}"
    );
    assert!(
        first
            .iter()
            .all(|c| !c.ok && c.interrupted.as_deref() == Some("restarted")),
        "wave 2 restarted every host of wave 1 while throttled: {first:#?}"
    );
    assert_eq!(
        first.iter().filter(|c| c.attempts == 0).count(),
        1,
        "one host of wave 1 was restarted before its turn in the ramp: {first:#?}"
    );
    assert!(second.iter().all(|c| c.ok), "{second:#?}");
    assert!(
        third
            .iter()
            .all(|c| c.interrupted.as_deref() == Some("run_ended") && c.failed_attempts == 0),
        "the end of the timeline cut off wave 3 while it pulled: {third:#?}"
    );
    for c in first.iter().chain(&third) {
        assert!(c.duration_us < 4_000_000, "{c:?}");
    }

    let summary = r.summary();
    let counts = &summary["analysis"]["cold_starts"];
    let n = |group: &serde_json::Value| {
        let [count, ok, failed, interrupted] =
            ["count", "ok", "failed", "interrupted"].map(|k| group[k].as_u64().unwrap());
        assert_eq!(count, ok + failed + interrupted, "{group}");
        (count, ok, failed, interrupted)
    };
    assert_eq!(n(&counts["all"]), (9, 3, 0, 6));
    assert_eq!(n(&counts["by_region"]["eu"]), (9, 3, 0, 6));
    assert_eq!(n(&counts["by_wave"]["1"]), (3, 0, 0, 3));
    assert_eq!(n(&counts["by_wave"]["2"]), (3, 3, 0, 0));
    assert_eq!(n(&counts["by_wave"]["3"]), (3, 0, 0, 3));
    let failed = common::check(&summary, "cold_pull failed");
    assert_eq!(failed["measured"], "0 of 9 (6 interrupted)", "{failed}");
    let stdout = r.stdout();
    for row in [
        "  all           9   3       0            6",
        "  wave 1        3   0       0            3",
        "  wave 3        3   0       0            3",
    ] {
        assert!(stdout.contains(row), "missing {row:?} in\n{stdout}");
    }
    r.assert_nothing_left();
}

/// An SLA nobody can meet exits 1 and names the broken SLA; run after a passing
/// scenario in one invocation, the worst code wins and both runs are listed.
#[test]
fn impossible_sla_exits_1_names_it_and_wins_over_a_pass() {
    let file = variant("tiny.yaml", "p99: 10s", "p99: 1us");
    let out = tempfile::tempdir().unwrap();
    let output = drill()
        .arg("run")
        .arg(scenario("tiny.yaml"))
        .arg(file.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = common::text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{}",
        common::text(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("cold_pull p99") && l.ends_with("FAIL"))
        .unwrap_or_else(|| panic!("SLA table names cold_pull p99 as failed:\n{stdout}"));
    assert!(line.contains("≤ 0.000s"), "{line}");
    assert!(stdout.contains("1 SLA broken: cold_pull p99"), "{stdout}");
    assert!(stdout.contains("2 scenarios:"), "{stdout}");
    assert!(
        stdout.contains(&format!("exit 0   {}", scenario("tiny.yaml").display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("exit 1   {}", file.path().display())),
        "{stdout}"
    );

    let mut dirs: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in &dirs {
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        let failed: Vec<_> = summary["verdict"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["name"].clone())
            .collect();
        assert!(
            failed.is_empty() || failed == ["cold_pull p99"],
            "{failed:?}"
        );
        assert!(leftovers(&common::run_id(dir)).is_empty());
    }
}

/// Ctrl-C in the middle of a fault: the fault is healed, everything is removed, and the
/// run reports itself aborted with exit 3.
#[test]
fn sigint_mid_fault_heals_cleans_up_and_exits_3() {
    interrupted_mid_fault("INT");
}

/// The terminal closed in the middle of a fault (SIGHUP): the same as Ctrl-C.
#[test]
fn sighup_mid_fault_heals_cleans_up_and_exits_3() {
    interrupted_mid_fault("HUP");
}

fn interrupted_mid_fault(signal: &str) {
    let out = tempfile::tempdir().unwrap();
    let (child, dir) = common::run_until(
        &scenario("long-fault.yaml"),
        out.path(),
        "fault_injected",
        1,
        Duration::from_secs(90),
    );
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap()
        .success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        common::text(&output.stderr)
    );
    let stdout = common::text(&output.stdout);
    assert!(
        stdout.contains("aborted") && stdout.contains(&format!("interrupted by SIG{signal}")),
        "{stdout}"
    );

    let journal = common::journal::read(&dir);
    assert!(journal.healed().iter().any(|e| e.ok), "fault healed");
    assert!(
        matches!(journal.last(), Some(Event::RunFinished(_))),
        "{:?}",
        journal.last()
    );
    assert!(
        leftovers(&common::run_id(&dir)).is_empty(),
        "nothing left after SIG{signal}"
    );
}

/// `drill clean --run` removes that run's objects and nothing else: not another run's,
/// not an unlabelled container.
#[test]
fn clean_removes_only_labelled_objects_of_that_run() {
    use bollard::models::ContainerCreateBody;
    use bollard::query_parameters::CreateContainerOptionsBuilder;
    use registry_drill::docker::engine::{ContainerSpec, Engine};

    let suffix = format!("{:08x}", rand::random::<u32>());
    let (doomed, other) = (
        format!("test-clean-{suffix}"),
        format!("test-keep-{suffix}"),
    );
    let plain = format!("drill-test-unlabelled-{suffix}");
    let _cleanup = Cleanup {
        runs: vec![doomed.clone(), other.clone()],
        container: plain.clone(),
    };
    common::block_on(async {
        let engine = Engine::connect().await.unwrap();
        let images = registry_drill::docker::images::ensure_all(&engine)
            .await
            .unwrap();
        for run_id in [&doomed, &other] {
            let net = format!("drill-{run_id}");
            engine.create_network(&net, run_id).await.unwrap();
            engine
                .create_volume(&format!("drill-{run_id}-v"), run_id)
                .await
                .unwrap();
            let spec = ContainerSpec {
                name: format!("drill-{run_id}-c"),
                image: images.registry.clone(),
                network: net,
                ..Default::default()
            };
            engine.create_container(run_id, &spec).await.unwrap();
        }
        let options = CreateContainerOptionsBuilder::default()
            .name(&plain)
            .build();
        let body = ContainerCreateBody {
            image: Some(images.registry.clone()),
            ..Default::default()
        };
        engine
            .docker()
            .create_container(Some(options), body)
            .await
            .unwrap();
    });

    let out = drill().args(["clean", "--run", &doomed]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    assert_eq!(
        common::text(&out.stdout).trim(),
        "removed 1 containers, 1 networks, 1 volumes"
    );
    assert!(leftovers(&doomed).is_empty());
    let kept = leftovers(&other);
    assert_eq!(
        (
            kept.containers.len(),
            kept.networks.len(),
            kept.volumes.len()
        ),
        (1, 1, 1)
    );

    let survived = common::block_on(async {
        let engine = Engine::connect().await.unwrap();
        engine
            .docker()
            .inspect_container(&plain, None)
            .await
            .is_ok()
    });
    assert!(survived, "the unlabelled container survived drill clean");
}

/// Removes what the clean test created, whether it passed or not.
struct Cleanup {
    runs: Vec<String>,
    container: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        use bollard::query_parameters::RemoveContainerOptionsBuilder;
        common::block_on(async {
            let engine = registry_drill::docker::engine::Engine::connect()
                .await
                .unwrap();
            let options = RemoveContainerOptionsBuilder::default().force(true).build();
            let _ = engine
                .docker()
                .remove_container(&self.container, Some(options))
                .await;
            for run in &self.runs {
                engine.remove_labelled(Some(run)).await;
            }
        });
    }
}

/// What `drill plan` shows is what `drill run` creates: the same containers, and the same
/// seeded pick of victim.
#[test]
fn plan_matches_what_run_creates() {
    let file = variant(
        "outage.yaml",
        "  - { at: 5s, do: cold-start, hosts: { region: us } }",
        "  - { at: 5s, do: cold-start, hosts: { region: us } }\n  - { at: 1s, fault: kill, target: eu, pick: 1, for: 1s }",
    );
    let plan = drill()
        .args(["plan", "--seed", "99"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0));
    let plan = common::text(&plan.stdout);
    let r = run(file.path(), &["--seed", "99", "--keep"]);
    let run_id = r.run_id();
    let planned = plan.replace("<run-id>", &run_id);
    let _cleanup = CleanRun(run_id.clone());
    assert_eq!(r.code(), 0, "{}", r.stderr());

    let names = common::container_names(&run_id);
    assert_eq!(names.len(), 5, "{names:?}");
    for name in &names {
        assert!(
            planned.contains(name.as_str()),
            "{name} is in the plan:\n{planned}"
        );
    }
    let journal = r.journal();
    let killed = &journal
        .injected()
        .into_iter()
        .find(|e| e.kind == "kill")
        .unwrap()
        .members[0];
    assert!(
        planned.contains(&format!("kill eu for 1s: {killed}")),
        "{killed} as planned:\n{planned}"
    );
    // The plan gives both the layers' content and what a push sends, and the latter is
    // what seeding pushed.
    let seeded = journal.image_seeded().first().unwrap().bytes;
    assert!(
        planned.contains(&format!("bytes of content; a push sends {seeded} bytes")),
        "{seeded} bytes seeded, as planned:\n{planned}"
    );
}
