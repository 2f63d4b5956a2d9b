//! The upstream, its fault point and the pull-through proxies, against the real engine:
//! what a warm and a wiped proxy serve while the upstream is down, that a wiped proxy's
//! next pull goes upstream, and that hosts see the upstream's rate limiting.

use crate::common::*;
use serde_json::Value;

/// (proxy, image, by) → (cached, ok, upstream requests) of the proxy checks after `from_s`
/// and before `to_s` seconds into the run.
fn checks(
    summary: &Value,
    from_s: u64,
    to_s: u64,
) -> Vec<(String, String, String, bool, bool, Option<u64>)> {
    summary["analysis"]["proxy"]["checks"]
        .as_array()
        .expect("proxy checks in summary.json")
        .iter()
        .filter(|c| {
            let t = c["t_us"].as_u64().unwrap() / 1_000_000;
            t >= from_s && t < to_s
        })
        .map(|c| {
            (
                c["proxy"].as_str().unwrap().to_string(),
                c["image"].as_str().unwrap().to_string(),
                c["by"].as_str().unwrap().to_string(),
                c["cached"].as_bool().unwrap(),
                c["ok"].as_bool().unwrap(),
                c["upstream_requests"].as_u64(),
            )
        })
        .collect()
}

/// When the timeline started, in seconds since the run started (checks are stamped
/// from the run's start, the scenario's `at` from the timeline's).
fn timeline_start_s(r: &Run) -> u64 {
    r.journal()
        .timeline_started()
        .first()
        .expect("timeline started")
        .t_us
        / 1_000_000
}

#[test]
fn warm_and_wiped_proxies_under_an_upstream_outage_and_a_rate_limit() {
    let distribution = serde_json::json!("distribution");
    proxies_under_an_upstream_outage_and_a_rate_limit(&scenario("proxy.yaml"), &distribution);
}

/// nginx caches by URL: warmed by tag, it serves the image by tag during the outage but
/// not by its digest, which nobody asked it for.
#[test]
fn nginx_caching_proxies_serve_what_they_were_asked_for_during_an_upstream_outage() {
    let file = variant("proxy.yaml", "proxy: per-region", "proxy: nginx");
    proxies_under_an_upstream_outage_and_a_rate_limit(file.path(), &serde_json::json!("nginx"));
}

/// A team's own proxy: the host's distribution binary with the team's config.yml
/// (scenarios/team-cache.yml.j2), on another port and cache path than drill's, packed
/// by drill. It stores by digest, as it declares.
#[test]
fn a_brought_proxy_serves_what_it_cached_during_an_upstream_outage_and_takes_a_wipe() {
    let template =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/team-cache.yml.j2");
    let spec = format!(
        "proxy: team-cache\nproxies:\n  team-cache:\n    binary: /usr/bin/docker-registry\n    \
         args: [serve, /etc/team/cache.yml]\n    port: 6000\n    env: {{ OTEL_TRACES_EXPORTER: none }}\n    \
         config: {{ template: {}, path: /etc/team/cache.yml }}\n    storage: {{ path: /var/cache/team }}\n",
        template.display()
    );
    let file = variant("proxy.yaml", "proxy: per-region\n", &spec);
    let record = serde_json::json!({ "brought": "team-cache", "caches": "by-digest" });
    proxies_under_an_upstream_outage_and_a_rate_limit(file.path(), &record);
}

/// `record`: what the journal says each proxy is; one that caches by URL, warmed by
/// tag, does not serve the image by digest.
fn proxies_under_an_upstream_outage_and_a_rate_limit(file: &std::path::Path, record: &Value) {
    let r = run(file, &[]);
    r.assert_code(0);
    let journal = std::fs::read_to_string(r.dir.join("journal.jsonl")).unwrap();
    let started: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(
        started["proxies"],
        serde_json::json!({ "eu-proxy": record, "us-proxy": record }),
        "the journal says what ran as each proxy"
    );
    let by_digest = record != "nginx";
    let s = r.summary();
    let t0 = timeline_start_s(&r);

    // During the outage (the check at 5s; the outage runs 3s-9s).
    let during = checks(&s, t0 + 4, t0 + 9);
    let outcome = |proxy: &str, image: &str, by: &str| {
        during
            .iter()
            .find(|c| c.0 == proxy && c.1 == image && c.2 == by)
            .map(|c| (c.3, c.4))
            .unwrap_or_else(|| panic!("no check of {image} by {by} through {proxy}: {during:?}"))
    };
    // The warm proxy serves what it holds, by tag (and by digest if it stores by
    // content), and fails the rest.
    assert_eq!(outcome("eu-proxy", "library/base:1", "tag"), (true, true));
    assert_eq!(
        outcome("eu-proxy", "library/base:1", "digest"),
        (by_digest, by_digest)
    );
    assert_eq!(outcome("eu-proxy", "library/tool:1", "tag"), (false, false));
    assert_eq!(
        outcome("eu-proxy", "library/tool:1", "digest"),
        (false, false)
    );
    // The wiped proxy is cold: nothing is served.
    assert_eq!(outcome("us-proxy", "library/base:1", "tag"), (false, false));
    assert_eq!(
        outcome("us-proxy", "library/base:1", "digest"),
        (false, false)
    );

    // After the heal (the check at 12s: 3 s after it, so that a heal slowed by a loaded
    // machine is over), the wiped proxy's next pull goes upstream.
    let after = checks(&s, t0 + 10, t0 + 14);
    let refetch = after
        .iter()
        .find(|c| c.0 == "us-proxy" && c.1 == "library/base:1" && c.2 == "tag")
        .expect("a check of the wiped proxy after the heal");
    assert!(
        !refetch.3 && refetch.4,
        "not cached, yet served: {refetch:?}"
    );
    assert!(
        refetch.5.is_some_and(|n| n >= 3),
        "the pull reached the upstream (manifest, config, layer at least): {refetch:?}"
    );

    // Hosts pulling from the rate-limited upstream got 429s, and recovered after it.
    let limited = s["analysis"]["proxy"]["http_errors"]["upstream"]["429"]
        .as_u64()
        .unwrap_or(0);
    assert!(limited > 0, "429s counted: {}", s["analysis"]["proxy"]);
    let journal = r.journal();
    let direct: Vec<_> = journal
        .cold_starts()
        .into_iter()
        .filter(|e| e.fleet == "direct")
        .collect();
    assert!(
        !direct.is_empty() && direct.iter().all(|c| c.ok),
        "{direct:?}"
    );
    let md = std::fs::read_to_string(r.dir.join("summary.md")).unwrap();
    assert!(md.contains("### Proxies and the upstream"), "{md}");
    let html = std::fs::read_to_string(r.dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Proxies and the upstream</h2>"));
    r.assert_nothing_left();
}

#[test]
fn cold_proxies_cannot_serve_during_an_upstream_outage() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/upstream-outage-cold.yaml");
    let r = run(&file, &[]);
    // The bundled scenario fails by design: its cold starts wait out the outage.
    r.assert_code(1);
    let s = r.summary();
    let all = checks(&s, 0, u64::MAX);
    assert!(!all.is_empty());
    assert!(
        all.iter().all(|c| !c.3 && !c.4),
        "nothing cached, nothing served during the outage: {all:?}"
    );
    let journal = r.journal();
    let healed_us = journal
        .healed()
        .first()
        .expect("the outage was healed")
        .t_us;
    let starts = journal.cold_starts();
    assert_eq!(starts.len(), 9);
    for c in &starts {
        assert!(
            c.ok && c.ended_us() >= healed_us && c.attempts > 2,
            "each cold start got its upstream image only after the heal: {c:?}"
        );
    }
    let proxy_404s = &s["analysis"]["proxy"]["http_errors"]["eu-proxy"]["404"];
    assert!(
        proxy_404s.as_u64().unwrap_or(0) > 0,
        "{}",
        s["analysis"]["proxy"]
    );
    r.assert_nothing_left();
}

#[test]
fn upstream_errors_are_answered_and_a_slow_upstream_slows_uncached_pulls() {
    let r = run(&scenario("upstream-errors-slow.yaml"), &[]);
    r.assert_code(0);
    let s = r.summary();
    let t0 = timeline_start_s(&r);
    // Hosts pulling from the upstream got its 502s, then their image once it healed.
    let errors = s["analysis"]["proxy"]["http_errors"]["upstream"]["502"]
        .as_u64()
        .unwrap_or(0);
    assert!(errors > 0, "{}", s["analysis"]["proxy"]);
    let during_errors = checks(&s, t0 + 2, t0 + 5);
    assert!(
        !during_errors.is_empty() && during_errors.iter().all(|c| !c.4),
        "an empty proxy serves nothing while the upstream fails: {during_errors:?}"
    );
    // The first uncached pull during the slow upstream makes several upstream requests,
    // each held 1.5s.
    let rows = s["analysis"]["proxy"]["checks"].as_array().unwrap();
    let slow = rows
        .iter()
        .find(|c| c["t_us"].as_u64().unwrap() / 1_000_000 >= t0 + 8 && c["by"] == "tag")
        .expect("a check during the slow upstream");
    assert_eq!(slow["ok"], true, "{slow}");
    assert!(
        slow["duration_us"].as_u64().unwrap() >= 3_000_000,
        "at least two requests held 1.5s: {slow}"
    );
    r.assert_nothing_left();
}

#[test]
fn a_region_cut_off_the_upstream_waits_while_the_other_pulls() {
    let r = run(&scenario("upstream-cut.yaml"), &[]);
    r.assert_code(0);
    let journal = r.journal();
    let healed_us = journal
        .healed()
        .first()
        .expect("the partition was healed")
        .t_us;
    let cold = journal.cold_starts();
    let start = |fleet: &str| {
        *cold
            .iter()
            .find(|e| e.fleet == fleet)
            .unwrap_or_else(|| panic!("{fleet} cold-started"))
    };
    let (eu, us) = (start("eu-fleet"), start("us-fleet"));
    assert!(
        us.ok && us.ended_us() < healed_us,
        "us pulled during the cut: {us:?}"
    );
    assert!(
        eu.ok && eu.ended_us() > healed_us,
        "eu waited for the heal: {eu:?}"
    );
    assert!(journal
        .pulls()
        .iter()
        .any(|e| e.fleet == "eu-fleet" && !e.ok));
    r.assert_nothing_left();
}
