//! Secure topologies against the real Docker engine: TLS at haproxy, htpasswd on real
//! distribution nodes, native and containerd hosts pulling with the run's credentials,
//! and the auth probes that must keep failing through a zone outage.

use crate::common::journal::{Event, FaultInjected, Probe, Pull};
use crate::common::{check, drill, leftovers, run, scenario, text, Kinds};
use base64::Engine as _;
use serde_json::Value;
use std::process::Command;

/// The default `probes.timeout`.
const PROBE_TIMEOUT_US: u64 = 2_000_000;

/// The run's first fault: its injection event, the containers it acted on, and when it
/// was injected and healed.
fn first_fault(journal: &[Event]) -> (&FaultInjected, Vec<&str>, u64, u64) {
    let injected = journal.injected()[0];
    let members = injected.members.iter().map(String::as_str).collect();
    let healed = journal.healed()[0].t_us;
    (injected, members, injected.t_us, healed)
}

/// The `Authorization` value drill wrote into a containerd host's `hosts.toml`: the
/// only place outside drill's memory where the run's password can be read back.
fn containerd_authorization(run_id: &str) -> String {
    let ps = Command::new("docker")
        .args(["ps", "--format", "{{.Names}}"])
        .args(["--filter", &format!("label=drill.run={run_id}")])
        .args(["--filter", "label=drill.role=host"])
        .output()
        .expect("docker ps runs");
    let name = text(&ps.stdout).trim().to_string();
    assert!(!name.is_empty(), "the kept containerd host is running");
    let lb = format!("drill-{run_id}-eu-lb:5000");
    let cp = Command::new("docker")
        .arg("cp")
        .arg(format!("{name}:/etc/containerd/certs.d/{lb}/hosts.toml"))
        .arg("-")
        .output()
        .expect("docker cp runs");
    // `docker cp ... -` writes an uncompressed tar: the file's text is in it verbatim.
    let archive = text(&cp.stdout);
    let start = archive
        .find("Authorization = [\"Basic ")
        .unwrap_or_else(|| panic!("hosts.toml carries the credentials: {archive}"))
        + "Authorization = [\"".len();
    let end = start + archive[start..].find('"').expect("closing quote");
    archive[start..end].to_string()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// TLS + htpasswd through a zone outage (and latency on the other region's entry point,
/// added by a proxy TLS passes through): hosts of both kinds pull with the run's
/// credentials, no anonymous or wrong-credential pull is served on any entry point and
/// every one answered is refused with a 401, the auth SLA holds and the reports say so; the run's password appears
/// nowhere in the run folder or in drill's output.
#[test]
fn secure_topology_holds_auth_through_a_zone_outage() {
    let r = run(&scenario("secure.yaml"), &["--keep"]);
    let run_id = r.run_id();
    // Read the credentials back before anything can fail, then remove the kept topology.
    let authorization = containerd_authorization(&run_id);
    let clean = drill()
        .args(["clean", "--run", &run_id])
        .output()
        .expect("drill clean runs");
    assert!(clean.status.success(), "{}", text(&clean.stderr));
    assert!(leftovers(&run_id).is_empty(), "drill clean left objects");

    r.assert_code(0);
    let journal = r.journal();
    for e in &journal.topology_up()[0].entry_points {
        assert!(e.url.starts_with("https://127.0.0.1:"), "{}", e.url);
    }

    // Hosts of both kinds pulled with the credentials, before and during the outage.
    let pulls = journal.pulls();
    for kind in ["native", "containerd"] {
        for wave in [1, 2] {
            assert!(
                pulls
                    .iter()
                    .any(|p| p.kind == kind && p.wave == wave && p.ok),
                "a {kind} host pulled in wave {wave}: {}",
                r.show()
            );
        }
    }

    // Anonymous and wrong-credential attempts, on both entry points, before, during and
    // after the outage: none served, every answer a 401. While a node is down, haproxy
    // may hold an attempt past the probe's 1 s timeout: no answer then is no breach.
    let (_, _, injected, healed) = first_fault(&journal);
    let last_heal = journal.healed().iter().map(|h| h.t_us).max().unwrap();
    let faulty = |t: u64| t + 1_000_000 > injected && t < last_heal;
    let probes = journal.auth_probes();
    for region in ["eu", "us"] {
        for claim in ["anonymous", "wrong_credentials"] {
            let mine: Vec<_> = probes
                .iter()
                .filter(|p| p.region == region && p.claim == claim)
                .collect();
            let during = mine.iter().filter(|p| p.t_us > injected && p.t_us < healed);
            assert!(
                during.count() >= 5,
                "{region} {claim} probed during the outage"
            );
            for p in &mine {
                assert!(!p.served, "{p:?}");
                if !(p.status.is_none() && faulty(p.t_us)) {
                    assert_eq!(p.status, Some(401), "{p:?}");
                }
            }
        }
    }

    let summary = r.summary();
    let auth = &summary["analysis"]["auth"];
    assert_eq!(auth["breaches"].as_array().unwrap().len(), 0, "{auth}");
    let faults = auth["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "the outage and the latency: {auth}");
    for f in faults {
        assert!(f["probes"].as_u64().unwrap() >= 20, "{auth}");
        assert_eq!(f["served"], 0, "{auth}");
    }
    for region in ["eu", "us"] {
        let c = check(&summary, &format!("auth {region}"));
        assert_eq!(c["passed"], true, "{c}");
    }
    assert!(
        r.stdout().contains("authentication: ") && r.stdout().contains(": none served"),
        "{}",
        r.stdout()
    );
    let md = std::fs::read_to_string(r.dir.join("summary.md")).unwrap();
    assert!(md.contains("### Authentication"), "{md}");

    // The secret, in every form drill handles it, is nowhere to be read.
    let token = authorization.trim_start_matches("Basic ");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .expect("a basic token is base64");
    let decoded = String::from_utf8(decoded).unwrap();
    let password = decoded.strip_prefix("drill:").expect("the user is drill");
    assert_eq!(password.len(), 32);
    for (what, haystack) in [("stdout", r.stdout()), ("stderr", r.stderr())] {
        assert!(!haystack.contains(password), "password in drill's {what}");
        assert!(!haystack.contains(token), "basic token in drill's {what}");
    }
    let files = files_under(&r.dir);
    assert!(
        files.len() >= 5,
        "the run folder has its reports: {files:?}"
    );
    for f in files {
        let content = text(&std::fs::read(&f).unwrap());
        assert!(!content.contains(password), "password in {}", f.display());
        assert!(!content.contains(token), "basic token in {}", f.display());
    }
}

/// The checker itself: a region left open (`auth: none`) behind the same fallback is
/// caught — its entry point serves anonymous pulls, every window is reported, the auth
/// SLA fails for that region only and drill exits 1.
#[test]
fn an_open_entry_point_breaks_the_auth_sla() {
    let r = run(&scenario("secure-open.yaml"), &[]);
    r.assert_code(1);
    r.assert_nothing_left();

    let summary = r.summary();
    let passed = |name: &str| check(&summary, name)["passed"].clone();
    assert_eq!(passed("auth eu"), true);
    assert_eq!(passed("auth us"), false);
    let breaches = summary["analysis"]["auth"]["breaches"].as_array().unwrap();
    assert!(!breaches.is_empty());
    assert!(breaches.iter().all(|b| b["region"] == "us"), "{breaches:?}");
    assert!(
        breaches.iter().any(|b| b["claim"] == "anonymous")
            && breaches.iter().any(|b| b["claim"] == "wrong_credentials"),
        "{breaches:?}"
    );
    // The open region was open through the outage of eu's zone as well.
    assert!(
        breaches
            .iter()
            .any(|b| b["faults"].as_array().unwrap().contains(&Value::from(1))),
        "{breaches:?}"
    );
    assert!(
        r.stdout().contains("OPEN: us served anonymous pulls"),
        "{}",
        r.stdout()
    );
    // A game day sees it as it happens, in the live view.
    assert!(
        r.stderr().contains("OPEN without valid credentials: us"),
        "{}",
        r.stderr()
    );
}

/// The Docker engine as a host of a registry demanding credentials: both cold starts
/// pull with the credentials drill passes per request, while anonymous pulls are refused.
#[test]
fn docker_host_pulls_with_credentials_per_request() {
    let r = run(&scenario("secure-docker.yaml"), &[]);
    r.assert_code(0);
    r.assert_nothing_left();
    let journal = r.journal();
    let pulls = journal.pulls();
    for wave in [1, 2] {
        assert!(
            pulls
                .iter()
                .any(|p| p.kind == "docker" && p.wave == wave && p.ok),
            "the docker host pulled in wave {wave}: {}",
            r.show()
        );
    }
    let probes = journal.auth_probes();
    assert!(probes.len() >= 10, "auth probes recorded: {}", probes.len());
    assert!(probes.iter().all(|p| p.status == Some(401)), "{probes:?}");
}

/// `auth: token` over TLS: each region's registries send clients to the region's own
/// token service, a container of drill's own binary. With eu's token service frozen,
/// eu's registries stay up but grant nothing: native hosts of eu fall back to us and
/// its token service, containerd hosts get their pull through, and every intrusion
/// (anonymous, a token asked for with a wrong password, a token signed by a key nobody
/// trusts) is refused on both entry points throughout; the auth SLA holds.
#[test]
fn token_auth_survives_a_token_service_outage_by_falling_back() {
    let r = run(&scenario("token.yaml"), &[]);
    r.assert_code(0);
    r.assert_nothing_left();
    let journal = r.journal();

    let (injected, members, start, end) = first_fault(&journal);
    assert_eq!(injected.target, "eu-token", "{injected:?}");
    assert!(members[0].ends_with("-eu-token"), "{injected:?}");

    // Every host kind pulled in every wave, with tokens.
    let pulls = journal.pulls();
    for kind in ["native", "containerd"] {
        for wave in [1, 2, 3] {
            assert!(
                pulls
                    .iter()
                    .any(|p| p.kind == kind && p.wave == wave && p.ok),
                "a {kind} host pulled in wave {wave}: {}",
                r.show()
            );
        }
    }
    // eu's native hosts that cold-started while its token service was frozen were
    // served by us; before the outage they were served by eu.
    let served_by_only = |p: &Pull, region: &str| p.phases.iter().all(|ph| ph.endpoint == region);
    let eu_native = |wave: u64| {
        pulls
            .iter()
            .filter(move |p| p.kind == "native" && p.region == "eu" && p.wave == wave)
    };
    assert!(eu_native(1).all(|p| served_by_only(p, "eu")));
    let during: Vec<_> = eu_native(2).filter(|p| p.started_us > start).collect();
    assert!(during.len() >= 10, "{}", r.show());
    for p in during {
        assert!(p.ok, "{p:?}");
        assert!(served_by_only(p, "us"), "{p:?}");
    }

    // Intruders, every probe tick, on both entry points: nothing served. A wrong
    // password is refused by the token service (401), or finds it frozen.
    let probes = journal.auth_probes();
    for region in ["eu", "us"] {
        for claim in ["anonymous", "wrong_credentials", "forged_token"] {
            let mine: Vec<_> = probes
                .iter()
                .filter(|p| p.region == region && p.claim == claim)
                .collect();
            assert!(mine.len() >= 100, "{region} {claim}: {} probes", mine.len());
            for p in &mine {
                assert!(!p.served, "{p:?}");
                // Stamped when sent: one sent up to a probe timeout (2 s) before the
                // freeze may be waiting for the token service when it freezes.
                let frozen = region == "eu"
                    && claim == "wrong_credentials"
                    && p.t_us + PROBE_TIMEOUT_US > start;
                if !frozen {
                    assert_eq!(p.status, Some(401), "{p:?}");
                }
            }
        }
    }
    let unanswered = probes
        .iter()
        .filter(|p| p.region == "eu" && p.claim == "wrong_credentials")
        .filter(|p| p.status.is_none() && (start..end).contains(&p.t_us))
        .count();
    assert!(unanswered >= 5, "eu's frozen token service answered no one");

    // The token services are probed as well: eu's failed while frozen, and the fault
    // is no longer "masked" because its region's token service failed.
    let all_probes = journal.probes();
    let token_probes =
        |name: &str| -> Vec<_> { all_probes.iter().filter(|e| e.region == name).collect() };
    let eu_token = token_probes("eu-token");
    assert!(eu_token.len() >= 100, "eu-token probed: {}", eu_token.len());
    let (down, up): (Vec<&Probe>, Vec<&Probe>) = eu_token.into_iter().partition(|p| !p.ok);
    assert!(down.len() >= 5, "eu-token failed while frozen");
    assert!(!up.is_empty());
    for p in &down {
        assert!(
            p.answered_us() >= start && p.t_us <= end,
            "eu-token failed outside the freeze: {p:?}"
        );
    }
    assert!(token_probes("us-token").iter().all(|p| p.ok));

    let summary = r.summary();
    assert_eq!(
        summary["analysis"]["faults"][0]["masked"],
        false,
        "{}",
        r.show()
    );
    let auth = &summary["analysis"]["auth"];
    assert_eq!(auth["breaches"].as_array().unwrap().len(), 0, "{auth}");
    let checks = summary["verdict"]["checks"].as_array().unwrap();
    // Token services are reported, not judged: the SLA is the regions'.
    assert!(
        !checks.iter().any(|c| c["name"] == "availability eu-token"),
        "{checks:?}"
    );
    for name in ["auth eu", "auth us", "fallback pulls", "availability eu"] {
        let c = check(&summary, name);
        assert_eq!(c["passed"], true, "{c}");
    }
    assert!(
        r.stdout().contains("eu forged token: ") && r.stdout().contains(": none served"),
        "{}",
        r.stdout()
    );
}

/// `token_service: eu`: one token service for both regions, placed in eu. Losing eu
/// takes it along; us's registries keep answering every probe, yet none of us's hosts
/// can cold-start until eu is back: the shared token service breaks the bulkhead, and
/// `isolation us pull success` says so (exit 1), while `isolation us availability`,
/// which probes alone would judge, passes.
#[test]
fn a_central_token_service_breaks_the_bulkhead_when_its_region_is_lost() {
    let r = run(&scenario("token-central.yaml"), &[]);
    r.assert_code(1);
    r.assert_nothing_left();
    let journal = r.journal();
    let (_, members, start, end) = first_fault(&journal);
    assert!(
        members.iter().any(|m| m.ends_with("-eu-token")),
        "eu's loss takes its token service: {members:?}"
    );
    // us's pulls during the outage were refused for want of a token, and the second
    // wave's cold starts finished only after the heal.
    let pulls = journal.pulls();
    let refused: Vec<_> = pulls
        .iter()
        .filter(|p| !p.ok && (start..end).contains(&p.started_us))
        .collect();
    assert!(refused.len() >= 3, "{}", r.show());
    for p in &refused {
        let error = p.error.as_deref().unwrap();
        assert!(error.contains("no token from the token service"), "{error}");
    }
    for c in journal.cold_starts().iter().filter(|c| c.wave == 2) {
        assert!(c.ok, "{c:?}");
        assert!(
            c.ended_us() > end,
            "a wave-2 cold start ended before the heal: {c:?}"
        );
    }
    let summary = r.summary();
    let passed = |name: &str| check(&summary, name)["passed"].clone();
    assert_eq!(passed("isolation us availability"), true);
    assert_eq!(passed("isolation us pull success"), false);
    assert_eq!(
        passed("cold_pull failed"),
        true,
        "the cold starts got through in the end"
    );
}
