//! Each fault kind against the real engine: its observable effect on probes or pulls,
//! its heal, and nothing left behind. Scenarios put each fault in its own single-node
//! region so effects do not mix; region `ok` is never touched.

use crate::common;
use crate::common::{drill, leftovers, run, scenario, Event, Kinds, Run};

/// Failed and total probes of a region within [from, to) µs.
pub(crate) fn probes(r: &Run, region: &str, from: u64, to: u64) -> (usize, usize) {
    let journal = r.journal();
    let in_window: Vec<_> = journal
        .probes()
        .into_iter()
        .filter(|e| e.region == region && (from..to).contains(&e.t_us))
        .collect();
    (in_window.iter().filter(|e| !e.ok).count(), in_window.len())
}

/// The failed probes of a region, in the journal's order.
fn failed_probes(r: &Run, region: &str) -> Vec<common::journal::Probe> {
    r.journal()
        .into_iter()
        .filter_map(|e| match e {
            Event::Probe(p) if p.region == region && !p.ok => Some(p),
            _ => None,
        })
        .collect()
}

fn probes_failed_last(r: &Run, region: &str) -> u64 {
    failed_probes(r, region)
        .iter()
        .map(|e| e.t_us)
        .max()
        .unwrap_or(0)
}

/// (injected, healed) instants of fault `id`, µs.
pub(crate) fn window(r: &Run, id: u64) -> (u64, u64) {
    let journal = r.journal();
    let injected = journal.injected().into_iter().find(|e| e.fault == id);
    let healed = journal.healed().into_iter().find(|e| e.fault == id);
    (
        injected
            .unwrap_or_else(|| panic!("fault {id}: fault_injected recorded"))
            .t_us,
        healed
            .unwrap_or_else(|| panic!("fault {id}: fault_healed recorded"))
            .t_us,
    )
}

fn assert_region_down_then_back(r: &Run, region: &str, fault: u64, what: &str) {
    let (injected, healed) = window(r, fault);
    let (failed, total) = probes(r, region, injected, healed);
    // Hanging faults (pause, blackhole) hold each probe for its whole timeout, so a
    // 5 s fault yields only a handful of probes.
    assert!(
        failed >= 3,
        "{what}: probes of {region} fail while it lasts ({failed} of {total})"
    );
    let failed_before = failed_probes(r, region)
        .iter()
        .filter(|e| e.answered_us() < injected)
        .count();
    assert_eq!(failed_before, 0, "{what}: {region} was healthy before");
    let recovered = r.summary()["analysis"]["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == fault)
        .unwrap()["recovered_us"]
        .as_u64();
    // `fault_healed` is written once the heal has finished, so service may return a
    // moment before it; never before the fault's last failed probe.
    let last_failure = probes_failed_last(r, region);
    assert!(
        recovered.is_some_and(|t| t > last_failure && t + 2_000_000 > healed),
        "{what}: {region} recovered at the heal ({recovered:?}, healed {healed})"
    );
}

#[test]
fn pause_stop_blackhole_and_isolation() {
    let r = run(&scenario("faults-a.yaml"), &[]);
    r.assert_code(0);
    assert_region_down_then_back(&r, "pa", 1, "pause");
    assert_region_down_then_back(&r, "st", 2, "stop");
    assert_region_down_then_back(&r, "bh", 3, "blackhole");
    assert_region_down_then_back(&r, "is", 4, "isolate");
    // A blackholed entry point makes requests hang until the client gives up. A paused
    // node hangs the requests in flight, until haproxy's health check takes it out and
    // answers 503 instead.
    let errors = |region: &str, fault: u64| -> Vec<String> {
        let (from, to) = window(&r, fault);
        failed_probes(&r, region)
            .into_iter()
            .filter(|e| (from..to).contains(&e.t_us))
            .map(|e| e.error.expect("a failed probe says why"))
            .collect()
    };
    let bh = errors("bh", 3);
    assert!(
        bh.iter().all(|e| e == "timed out"),
        "bh probes time out: {bh:?}"
    );
    let pa = errors("pa", 1);
    assert_eq!(pa[0], "timed out", "{pa:?}");
    assert!(pa.iter().any(|e| e == "HTTP 503"), "{pa:?}");
    assert_eq!(
        r.summary()["analysis"]["availability"]["regions"]["ok"]["failed"],
        0
    );
    let journal = r.journal();
    let methods: Vec<&str> = journal
        .injected()
        .iter()
        .map(|e| e.method.as_str())
        .collect();
    assert!(
        methods
            .iter()
            .any(|m| m.contains("iptables DROP of incoming packets")),
        "{methods:?}"
    );
    r.assert_nothing_left();
}

#[test]
fn bandwidth_loss_partition_and_restart() {
    let r = run(&scenario("faults-b.yaml"), &[]);
    r.assert_code(0);
    // 1 MiB through a 256 KiB/s limit takes at least 4 s.
    let journal = r.journal();
    let pull = *journal.pulls().first().expect("bw host pulled");
    assert!(pull.ok);
    assert!(pull.duration_us >= 3_900_000, "throttled pull: {pull:?}");
    assert_region_down_then_back(&r, "pt", 3, "partition");
    // Lost packets are retransmitted (200 ms at least) or the probe times out.
    let (injected, healed) = window(&r, 2);
    let probes = journal.probes();
    let hit: Vec<(bool, u64)> = probes
        .iter()
        .filter(|e| e.region == "pl" && (injected + 300_000..healed).contains(&e.t_us))
        .map(|e| (e.ok, e.latency_us))
        .collect();
    let affected = hit.iter().filter(|(ok, l)| !ok || *l >= 200_000).count();
    assert!(
        affected * 2 >= hit.len() && !hit.is_empty(),
        "70% packet loss slows or fails most probes ({affected} of {}): {hit:?}",
        hit.len()
    );
    // An instant restart: a short gap, nothing to heal. haproxy retries a request while
    // its only node is down, so the gap shows as failed probes or as probes held for
    // its retries (0.5 s here, against a few ms otherwise).
    let restarted = journal
        .injected()
        .into_iter()
        .find(|e| e.fault == 4)
        .expect("the restart was recorded")
        .t_us;
    let hit = probes
        .iter()
        .filter(|e| e.region == "rs" && (restarted..restarted + 3_000_000).contains(&e.t_us))
        .filter(|e| !e.ok || e.latency_us >= 300_000)
        .count();
    assert!(
        hit >= 1,
        "probes of rs fail or wait while its node restarts"
    );
    assert!(!journal.healed().iter().any(|e| e.fault == 4));
    assert_eq!(
        r.summary()["analysis"]["availability"]["regions"]["ok"]["failed"],
        0
    );
    r.assert_nothing_left();
}

#[test]
fn corrupted_and_deleted_blobs_are_data_loss() {
    let r = run(&scenario("storage.yaml"), &[]);
    r.assert_code(1);
    let loss = &r.summary()["analysis"]["data_loss"];
    let lost: Vec<(String, String)> = loss["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["region"].as_str().unwrap().into(),
                f["error"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert_eq!(lost[0].0, "cb");
    assert!(
        lost[0].1.contains("digest mismatch"),
        "corruption caught by digest verification: {}",
        lost[0].1
    );
    assert_eq!(lost[1].0, "db");
    assert!(
        r.stdout().contains("1 SLA broken: data_loss"),
        "{}",
        r.stdout()
    );
    // The host in cb fell back to region ok for the corrupted layer and still started.
    let journal = r.journal();
    let pull = journal.pulls()[0];
    assert!(pull.ok);
    assert_eq!(pull.mirror_moves, 1);
    assert_eq!(pull.moves[0].mirror, "cb", "{pull:?}");
    assert_eq!(pull.moves[0].reason, "digest_mismatch", "{pull:?}");
    r.assert_nothing_left();
}

#[test]
fn guardrail_aborts_heals_and_exits_3() {
    let r = run(&scenario("guardrail.yaml"), &[]);
    r.assert_code(3);
    assert!(
        r.stdout()
            .contains("10 consecutive failed probes of region gr"),
        "{}",
        r.stdout()
    );
    let journal = r.journal();
    assert!(journal.healed().iter().any(|e| e.ok));
    match journal.last() {
        Some(Event::RunFinished(finished)) => assert_eq!(finished.outcome.status, "aborted"),
        last => panic!("run_finished last, not {last:?}"),
    }
    r.assert_nothing_left();
}

/// Latency on an entry point: through netem where the kernel has it, otherwise through
/// drill's delaying proxy. Either way requests during the fault are slower by the delay.
#[test]
fn latency_slows_requests_while_it_lasts() {
    let r = run(&scenario("latency.yaml"), &[]);
    r.assert_code(0);
    let journal = r.journal();
    let method = &journal.injected()[0].method;
    assert!(
        method.contains("netem") || method.contains("delaying TCP proxy"),
        "{method}"
    );
    let (injected, healed) = window(&r, 1);
    // (sent, latency) of each successful probe, in the order sent.
    let mut answered: Vec<(u64, u64)> = journal
        .probes()
        .iter()
        .filter(|e| e.ok)
        .map(|e| (e.t_us, e.latency_us))
        .collect();
    answered.sort();
    let latencies = |from: u64, to: u64| -> Vec<u64> {
        answered
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .map(|(_, l)| *l)
            .collect()
    };
    // `fault_injected` is stamped as the delay is being set (netem through an exec can
    // take a moment): from the first slowed probe on, every one is slowed.
    let slowed_from = answered
        .iter()
        .find(|(t, l)| *t >= injected && *l >= 150_000)
        .map(|(t, _)| *t)
        .expect("a probe slowed by the delay");
    assert!(
        slowed_from < injected + 2_000_000,
        "the delay took hold within 2 s: {slowed_from} vs injected {injected}"
    );
    // `fault_healed` is stamped once the heal has finished: the last probes before it
    // may already be fast.
    let during = latencies(slowed_from, healed - 1_000_000);
    assert!(
        during.len() >= 3 && during.iter().all(|&l| l >= 150_000),
        "slowed by at least one delay: {during:?}"
    );
    let before = latencies(0, injected);
    let median = |mut v: Vec<u64>| {
        v.sort();
        v[v.len() / 2]
    };
    assert!(median(before) < 100_000, "fast before the fault");
    assert!(
        journal
            .pulls()
            .iter()
            .all(|p| p.phases[0].ttfb_us >= 150_000),
        "manifest TTFB carries the delay"
    );
    r.assert_nothing_left();
}

/// Latency on a registry node needs netem; where the kernel lacks it the run is refused
/// before anything starts, with the reason.
#[test]
fn latency_that_cannot_be_injected_is_refused_before_the_run() {
    let file = common::variant("latency.yaml", "target: eu-lb", "target: eu-a-1");
    let r = run(file.path(), &[]);
    match r.code() {
        4 => {
            assert!(
                r.stderr().contains("the netem qdisc is missing"),
                "{}",
                r.stderr()
            );
            assert!(
                r.journal().topology_up().is_empty(),
                "refused before bring-up"
            );
        }
        0 => assert!(r.journal().injected().iter().any(|e| e.kind == "latency")),
        other => panic!("exit {other}: {}", r.stderr()),
    }
    r.assert_nothing_left();
}

/// After `kill -9` of drill nothing heals or cleans up by itself: `drill clean --run`
/// must remove every container (sidecars included), network and volume. An unlabelled
/// container beside the run is never touched.
#[test]
fn clean_after_kill_9_removes_everything_of_the_run_only() {
    let plain = format!("drill-test-bystander-{:08x}", rand::random::<u32>());
    let images = drill().args(["images", "build"]).output().unwrap();
    let toolbox = common::text(&images.stdout)
        .lines()
        .find(|l| l.starts_with("drill/toolbox:"))
        .unwrap()
        .to_string();
    let made = std::process::Command::new("docker")
        .args(["create", "--name", &plain, &toolbox])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", common::text(&made.stderr));

    let out = tempfile::tempdir().unwrap();
    let (mut child, dir) = common::run_until(
        &scenario("faults-a.yaml"),
        out.path(),
        "fault_injected",
        4,
        std::time::Duration::from_secs(90),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    let run_id = common::run_id(&dir);
    let left = leftovers(&run_id);
    assert!(
        left.containers.len() > 10,
        "the killed run left its topology and sidecars: {left:?}"
    );

    let cleaned = drill().args(["clean", "--run", &run_id]).output().unwrap();
    assert_eq!(
        cleaned.status.code(),
        Some(0),
        "{}",
        common::text(&cleaned.stderr)
    );
    assert!(
        leftovers(&run_id).is_empty(),
        "drill clean removed everything of the run"
    );
    // A journal cut by kill -9 still renders.
    let report = drill().arg("report").arg(&dir).output().unwrap();
    assert!(common::text(&report.stdout).contains("pause pa-z-1"));

    let inspect = std::process::Command::new("docker")
        .args(["inspect", &plain])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f", &plain])
        .output();
    assert!(
        inspect.status.success(),
        "the unlabelled container survived"
    );
}

/// fill-disk: pushes to the region fail while its size-limited storage is full and
/// succeed again once the filler is deleted; pulls and stored images are untouched.
#[test]
fn fill_disk_fails_pushes_until_healed() {
    let r = run(&scenario("fill-disk.yaml"), &[]);
    r.assert_code(0);
    let (injected, healed) = window(&r, 1);
    // (start, end, ok) of each push probe; the event is written when the push ends.
    let journal = r.journal();
    let pushes: Vec<(u64, u64, bool)> = journal
        .pushes()
        .iter()
        .filter(|e| e.region == "eu")
        .map(|e| (e.t_us - e.latency_us, e.t_us, e.ok))
        .collect();
    let during: Vec<bool> = pushes
        .iter()
        .filter(|(t, _, _)| *t > injected + 1_000_000 && *t < healed)
        .map(|p| p.2)
        .collect();
    let after: Vec<bool> = pushes
        .iter()
        .filter(|(t, _, _)| *t > healed + 1_000_000)
        .map(|p| p.2)
        .collect();
    // Ended before the fault: one still writing when the disk filled may fail.
    let before: Vec<bool> = pushes
        .iter()
        .filter(|(_, end, _)| *end < injected)
        .map(|p| p.2)
        .collect();
    assert!(
        !before.is_empty() && before.iter().all(|ok| *ok),
        "pushes worked before: {pushes:?}"
    );
    assert!(
        !during.is_empty() && during.iter().all(|ok| !ok),
        "pushes fail on a full disk: {pushes:?} (fault {injected}..{healed})"
    );
    assert!(
        !after.is_empty() && after.iter().all(|ok| *ok),
        "pushes work after the heal: {pushes:?}"
    );
    let fault = journal.injected()[0];
    assert!(fault.method.contains("ENOSPC"), "{fault:?}");
    assert!(r.stdout().contains("push probes: eu"), "{}", r.stdout());
    let failed_pushes = r.summary()["analysis"]["faults"][0]["failed_pushes"].as_u64();
    assert!(
        failed_pushes >= Some(during.len() as u64),
        "{failed_pushes:?}"
    );
    assert!(
        r.stdout().contains("failed while it lasted"),
        "{}",
        r.stdout()
    );
    let data_loss = &r.summary()["analysis"]["data_loss"];
    assert_eq!(data_loss["checked"], data_loss["ok"], "{data_loss}");
    r.assert_nothing_left();
}

/// A fault on the client side: a containerd fleet's own network blackholed. The
/// registry never notices (no probe fails); the host's cold start during it cannot
/// finish before the heal.
#[test]
fn blackholed_containerd_fleet_waits_for_the_heal() {
    let r = run(&scenario("fleet-blackhole.yaml"), &[]);
    r.assert_code(0);
    let (injected, healed) = window(&r, 1);
    let journal = r.journal();
    let fault = journal.injected()[0];
    assert_eq!(fault.members.len(), 1, "{fault:?}");
    assert!(fault.members[0].ends_with("-host-ctr-eu-a-1"), "{fault:?}");
    let (failed, total) = probes(&r, "eu", injected, healed);
    assert_eq!(
        failed, 0,
        "the registry is untouched ({failed} of {total} probes failed)"
    );
    let cold = journal.cold_starts();
    assert_eq!(cold.len(), 2, "{cold:?}");
    let during = cold.iter().find(|c| c.wave == 2).unwrap();
    assert!(during.ok, "{during:?}");
    assert!(
        during.ended_us() >= healed,
        "the pull finished only after the heal: ended {} µs, healed {healed} µs",
        during.ended_us()
    );
    eprintln!(
        "containerd cold start before the fault {} µs, during it {} µs (heal {} µs after its start)",
        cold.iter().find(|c| c.wave == 1).unwrap().duration_us,
        during.duration_us,
        healed - during.started_us
    );
    r.assert_nothing_left();
}
