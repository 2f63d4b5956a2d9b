//! Host kinds against the real Docker engine: a containerd host falling back through its
//! mirrors, the local engine as a host, and a wave of 500 native hosts.

use crate::common;
use crate::common::{run, scenario, Kinds};

/// containerd 1.6's dial timeout: what each request pays on a blackholed mirror
/// before containerd tries the next host (it has no setting for it before 2.1).
const CONTAINERD_DIAL_TIMEOUT_US: i64 = 30_000_000;

/// A containerd host pulls through hosts.toml; with its first mirror blackholed, the
/// cold start during the fault falls back to the second mirror, and its pull takes
/// longer than the one before the fault by containerd's 30 s dial timeout for each
/// request that tried the dead mirror first (measured: 0.27 s before, 90.3 s during:
/// three requests, 3 × 30 s).
#[test]
fn containerd_host_falls_back_to_its_second_mirror() {
    let r = run(&scenario("hosts-containerd.yaml"), &[]);
    r.assert_code(0);
    let journal = r.journal();
    let pulls = journal.pulls();
    assert!(pulls.iter().all(|p| p.kind == "containerd"), "{pulls:?}");
    let wave = |w: u64| -> Vec<_> { pulls.iter().filter(|p| p.wave == w).collect() };
    let (first, second) = (wave(1), wave(2));
    assert_eq!(first.len(), 1, "one pull before the fault: {first:?}");
    assert!(first[0].ok, "{first:?}");
    assert_eq!(first[0].mirror_moves, 0, "{first:?}");
    assert_eq!(
        second.len(),
        1,
        "the pull during the fault succeeds without a retry: {second:?}"
    );
    assert!(second[0].ok, "{second:?}");
    assert!(
        second[0].mirror_moves >= 1,
        "containerd moved to the next host: {second:?}"
    );
    let first_move = &second[0].moves[0];
    assert_eq!(first_move.mirror, "eu", "{first_move:?}");
    assert_eq!(first_move.reason, "timeout", "{first_move:?}");
    let before = first[0].duration_us as i64;
    let during = second[0].duration_us as i64;
    let extra = during - before;
    let timeouts = (extra as f64 / CONTAINERD_DIAL_TIMEOUT_US as f64).round() as i64;
    eprintln!(
        "containerd pull before the fault {before} µs, during it (with fallback) {during} µs: \
         {extra} µs more, {timeouts} dial timeouts"
    );
    assert!(
        timeouts >= 1 && (extra - timeouts * CONTAINERD_DIAL_TIMEOUT_US).abs() < 5_000_000,
        "the fallback costs whole 30 s dial timeouts: {extra} µs more than before the fault"
    );
    let cold = journal.cold_starts();
    assert_eq!(cold.len(), 2, "{cold:?}");
    assert!(cold.iter().all(|c| c.ok && c.kind == "containerd"));
    let summary = r.summary();
    assert_eq!(
        summary["analysis"]["cold_starts"]["by_kind"]["containerd"]["ok"], 2,
        "{}",
        summary["analysis"]["cold_starts"]
    );
    r.assert_nothing_left();
}

/// The local engine as a host: it pulls through 127.0.0.1, and its cache wipe (the second
/// cold start) removes the reference drill pulled and nothing else.
#[test]
fn docker_host_pulls_and_wipes_only_its_own_images() {
    use bollard::query_parameters::{EventsOptionsBuilder, TagImageOptionsBuilder};
    use futures_util::StreamExt;
    use registry_drill::docker::engine::Engine;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    let suffix = format!("{:08x}", rand::random::<u32>());
    // Same repository and tag as drill's image, another registry: it must survive.
    let decoy_repo = "127.0.0.2:5999/team/tiny".to_string();
    let decoy_tag = suffix.clone();
    let helper = common::block_on(async {
        let engine = Engine::connect().await.unwrap();
        let images = registry_drill::docker::images::ensure_all(&engine)
            .await
            .unwrap();
        let options = TagImageOptionsBuilder::default()
            .repo(&decoy_repo)
            .tag(&decoy_tag)
            .build();
        engine
            .docker()
            .tag_image(&images.registry, Some(options))
            .await
            .unwrap();
        images.registry
    });
    let decoy = format!("{decoy_repo}:{decoy_tag}");

    // Every image untag the engine reports while drill runs.
    // (image id, name) of every untag: engine 20.10 names the image by its id.
    let untagged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = {
        let (untagged, stop) = (untagged.clone(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            common::block_on(async move {
                let engine = Engine::connect().await.unwrap();
                let filters = HashMap::from([("type".to_string(), vec!["image".to_string()])]);
                let options = EventsOptionsBuilder::default().filters(&filters).build();
                let mut events = engine.docker().events(Some(options));
                ready_tx.send(()).unwrap();
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        e = events.next() => match e {
                            Some(Ok(e)) if e.action.as_deref() == Some("untag") => {
                                let actor = e.actor.unwrap_or_default();
                                let name = actor
                                    .attributes
                                    .and_then(|mut a| a.remove("name"))
                                    .unwrap_or_default();
                                untagged
                                    .lock()
                                    .unwrap()
                                    .push((actor.id.unwrap_or_default(), name));
                            }
                            Some(_) => {}
                            None => return,
                        }
                    }
                }
            })
        });
        ready_rx.recv().unwrap();
        handle
    };
    let r = run(&scenario("hosts-docker.yaml"), &[]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    stop.cancel();
    watcher.join().unwrap();

    let (survivors, helper_id) = common::block_on(async {
        let engine = Engine::connect().await.unwrap();
        let exists = |r: String| {
            let engine = engine.clone();
            async move { engine.docker().inspect_image(&r).await.is_ok() }
        };
        let out = (exists(decoy.clone()).await, exists(helper.clone()).await);
        let id = engine
            .docker()
            .inspect_image(&helper)
            .await
            .unwrap()
            .id
            .unwrap();
        let _ = engine
            .docker()
            .remove_image(
                &decoy,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
        (out, id)
    });
    r.assert_code(0);
    let journal = r.journal();
    let port = journal
        .topology_up()
        .first()
        .and_then(|e| e.entry_points.first())
        .and_then(|e| e.url.rsplit(':').next())
        .expect("entry point recorded")
        .to_string();
    let reference = format!("127.0.0.1:{port}/team/tiny:1");
    let pulls = journal.pulls();
    assert_eq!(pulls.len(), 2, "one pull per cold start: {pulls:?}");
    assert!(pulls.iter().all(|p| p.ok && p.kind == "docker"));
    let untagged = untagged.lock().unwrap().clone();
    // The image id is the config's digest, which the scenario's seed decides.
    let image = registry_drill::plan::ImagePlan::generated("team/tiny:1", vec![64 * 1024]);
    let our_id = registry_drill::fixtures::generate(&image, 6).config.digest;
    // The image drill pulled is untagged twice: by the second cold start's wipe, and at
    // the end of the run (the first cold start found nothing to remove).
    let ours: Vec<_> = untagged
        .iter()
        .filter(|(id, name)| name == &reference || id == &our_id)
        .collect();
    assert_eq!(ours.len(), 2, "{reference} untagged twice: {untagged:?}");
    assert!(
        untagged
            .iter()
            .all(|(id, name)| id != &helper_id && name != &decoy),
        "the helper image and the decoy were never untagged: {untagged:?}"
    );
    let gone = common::block_on(async {
        let engine = Engine::connect().await.unwrap();
        engine.docker().inspect_image(&reference).await.is_err()
    });
    assert!(gone, "{reference} removed at the end of the run");
    assert_eq!(survivors, (true, true), "decoy and helper image survive");
    r.assert_nothing_left();
}

/// A wave of 500 native hosts completes in CI time, every cold start ok.
#[test]
fn five_hundred_native_hosts_cold_start() {
    let r = run(&scenario("hosts-500.yaml"), &[]);
    r.assert_code(0);
    let journal = r.journal();
    let cold = journal.cold_starts();
    assert_eq!(cold.len(), 500);
    assert!(cold.iter().all(|c| c.ok));
    let starts: Vec<u64> = cold.iter().map(|c| c.started_us).collect();
    let spread = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    assert!(
        (4_000_000..6_000_000).contains(&spread),
        "ramp: 5s spreads the starts over about 5 s: {spread} µs"
    );
    r.assert_nothing_left();
}

/// kubelet's image pull back-off (here 1 s doubling to 4 s): a pod's pulls during an
/// outage are retried 1 s, 2 s, then 4 s apart, so when the registry comes back the pod
/// is still waiting out its back-off, and its client recovers later than the registry
/// by (at most) the back-off it was in.
#[test]
fn kubelet_backoff_keeps_a_pod_stuck_after_the_registry_recovered() {
    let r = run(&scenario("kubelet-backoff.yaml"), &[]);
    r.assert_code(0);
    let journal = r.journal();
    let pulls = journal.pulls();
    let failed: Vec<_> = pulls.iter().filter(|p| !p.ok).collect();
    let ok: Vec<_> = pulls.iter().filter(|p| p.ok).collect();
    assert_eq!(ok.len(), 1, "one successful pull at the end: {pulls:?}");
    assert!(
        failed.len() >= 3,
        "the outage fails several pulls: {pulls:?}"
    );
    // Each wait, from the end of a failed pull to the start of the next attempt.
    let waits: Vec<u64> = pulls
        .windows(2)
        .map(|w| w[1].started_us - (w[0].started_us + w[0].duration_us))
        .collect();
    eprintln!("waits between attempts (µs): {waits:?}");
    for (n, wait) in waits.iter().enumerate() {
        let expected = (1_000_000u64 << n.min(2)) as f64;
        assert!(
            *wait as f64 >= expected * 0.99 && (*wait as f64) < expected + 1_500_000.0,
            "wait {} is kubelet's {expected} µs: {waits:?}",
            n + 1
        );
    }
    let summary = r.summary();
    let fault = &summary["analysis"]["faults"][0];
    let registry = fault["registry_recovered_us"]
        .as_u64()
        .expect("probes failed, then recovered");
    let client = fault["client_recovered_us"]
        .as_u64()
        .expect("pulls failed, then recovered");
    let last_failed = failed[failed.len() - 1];
    let last_failed_end = last_failed.started_us + last_failed.duration_us;
    let last_wait = *waits.last().unwrap();
    eprintln!(
        "registry recovered {registry} µs, client recovered {client} µs: {} ms later; last back-off {} ms",
        (client - registry) / 1000,
        last_wait / 1000
    );
    assert!(
        last_failed_end < registry && registry < ok[0].started_us,
        "the registry came back while the pod was in its back-off: {pulls:?} registry {registry}"
    );
    assert!(
        client > registry,
        "the pod recovered after the registry: {client} vs {registry}"
    );
    assert!(
        client - registry <= last_wait + 1_000_000,
        "by no more than the back-off it was in ({last_wait} µs): {client} vs {registry}"
    );
    assert!(
        r.stdout().contains("after the registry"),
        "the summary says how long clients lagged: {}",
        r.stdout()
    );
    r.assert_nothing_left();
}
