//! nginx and Caddy as load balancers: the configurations drill renders are the ones
//! their real binaries accept, and a run through both, with TLS ending at them, routes
//! around a lost zone.

use crate::common::{self, run, scenario, text, Kinds};
use registry_drill::plan::balancer::{Builtin, HealthCheck};
use registry_drill::plan::NodePlan;
use registry_drill::scenario::LoadBalancerKind;
use std::process::Command;

/// Renders `kind`'s configuration for two nodes named so that nginx, which resolves
/// its upstreams while it checks a configuration, can resolve them here.
fn rendered(kind: LoadBalancerKind) -> tempfile::NamedTempFile {
    let nodes: Vec<NodePlan> = ["eu-a-1", "eu-b-1"]
        .iter()
        .map(|n| NodePlan {
            name: n.to_string(),
            zone: n[..4].to_string(),
            container: "localhost".into(),
            port: 5000,
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        Builtin::new(kind, &nodes, false, &HealthCheck::distribution()).config,
    )
    .unwrap();
    file
}

#[test]
fn nginx_and_caddy_accept_the_configurations_drill_renders() {
    let nginx = rendered(LoadBalancerKind::Nginx);
    let out = Command::new("/usr/sbin/nginx")
        .args(["-t", "-c"])
        .arg(nginx.path())
        .output()
        .expect("nginx is installed (scripts/install-deps.sh)");
    assert!(out.status.success(), "{}", text(&out.stderr));

    let caddy = rendered(LoadBalancerKind::Caddy);
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("/usr/bin/caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(caddy.path())
        .env("HOME", home.path())
        .output()
        .expect("caddy is installed (scripts/install-deps.sh)");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The second wave cold-started while a zone of each region was lost: its four hosts
/// per region pulled, every one through the region's load balancer.
fn every_pull_of_the_second_wave_succeeded(r: &common::Run) {
    let journal = r.journal();
    let pulls = journal.pulls();
    for region in ["eu", "us"] {
        let during: Vec<_> = pulls
            .iter()
            .filter(|p| p.region == region && p.wave == 2)
            .collect();
        assert_eq!(during.len(), 4, "{region}: {during:?}");
        assert!(during.iter().all(|p| p.ok), "{region}: {during:?}");
    }
}

#[test]
fn nginx_and_caddy_route_around_a_lost_zone_with_tls_ending_at_them() {
    let file = scenario("balancers.yaml");
    let plan = common::drill().arg("plan").arg(&file).output().unwrap();
    let words = text(&plan.stdout);
    assert!(
        words.contains("load balancer drill-<run-id>-eu-lb (nginx, TLS)"),
        "{words}"
    );
    assert!(
        words.contains("load balancer drill-<run-id>-us-lb (caddy, TLS)"),
        "{words}"
    );

    let r = run(&file, &[]);
    r.assert_code(0);
    r.assert_nothing_left();
    // Both waves pulled through the load balancers over TLS with credentials, the
    // second while a zone of each region was lost.
    every_pull_of_the_second_wave_succeeded(&r);
    let summary = r.summary();
    for region in ["eu", "us"] {
        let c = common::check(&summary, &format!("availability {region}"));
        assert_eq!(c["passed"], true, "{c}");
    }
}

/// A team's own load balancer, from its own configuration template: the host's haproxy
/// binary packed by drill (eu) and an image the test built (us), both on port 8080 with
/// TLS ending at them, route around a lost zone; eu's, killed, is down until it comes
/// back; drill leaves the user's image in place.
#[test]
fn brought_load_balancers_route_around_a_lost_zone_and_take_faults() {
    let image = crate::byo::UserImage::build(
        std::path::Path::new("/usr/sbin/haproxy"),
        "drill-test/team-haproxy:1",
    );
    let file = scenario("byo-balancer.yaml");
    let plan = common::drill().arg("plan").arg(&file).output().unwrap();
    let words = text(&plan.stdout);
    for said in [
        "load balancer drill-<run-id>-eu-lb (team-haproxy, TLS)",
        "load balancer team-haproxy: binary /usr/sbin/haproxy, port 8080, 2 backends",
        "load balancer drill-<run-id>-us-lb (custom, TLS)",
        "load balancer custom: image drill-test/team-haproxy:1, port 8080, 2 backends",
    ] {
        assert!(words.contains(said), "{said}: {words}");
    }

    let r = run(&file, &[]);
    r.assert_code(0);
    r.assert_nothing_left();
    every_pull_of_the_second_wave_succeeded(&r);
    // The kill of eu's load balancer (fault #3) took eu down, and only eu.
    let (injected, healed) = crate::faults::window(&r, 3);
    let (failed, _) = crate::faults::probes(&r, "eu", injected, healed);
    assert!(
        failed >= 3,
        "eu's probes fail while its load balancer is dead"
    );
    let (failed_us, _) = crate::faults::probes(&r, "us", injected, healed);
    assert_eq!(failed_us, 0, "us is untouched by eu's load balancer");
    let summary = r.summary();
    let recovered = summary["analysis"]["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == 3)
        .unwrap()["recovered_us"]
        .as_u64();
    // Back within a few seconds of the heal: haproxy starts in well under a second.
    assert!(
        recovered.is_some_and(|t| t + 2_000_000 > healed && t < healed + 3_000_000),
        "eu recovered once its load balancer came back: {recovered:?}, healed {healed}"
    );
    assert!(image.exists(), "drill removed the user's image");
}

/// A brought load balancer whose image is not in the engine, or whose template is
/// gone, stops the run at setup (exit 4) naming what is missing; nothing is left.
#[test]
fn a_brought_load_balancer_that_cannot_be_made_is_a_setup_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let write = |lb: &str| {
        let file = dir.path().join("s.yaml");
        std::fs::write(
            &file,
            format!(
                "name: missing-lb\nduration: 2s\ntopology:\n  load_balancer: {lb}\n  regions:\n    \
                 - {{ name: eu, zones: [eu-a] }}\nimages:\n  - {{ ref: team/app:1, layers: [1KiB] }}\n"
            ),
        )
        .unwrap();
        file
    };
    let file = write(
        "{ image: drill-test/never-built-lb:1, args: [\"{% for b in backends %}{{ b.address }} {% endfor %}\"] }",
    );
    let (code, said) = crate::byo::run_refused(&file);
    assert_eq!(code, Some(4), "{said}");
    assert!(
        said.contains(
            "load balancer 'custom': the image drill-test/never-built-lb:1 is not in the local \
             Docker engine"
        ) && said.contains("docker load"),
        "{said}"
    );
    let file =
        write("{ binary: /usr/sbin/haproxy, config: { template: gone.cfg, path: /etc/lb.cfg } }");
    let r = run(&file, &[]);
    r.assert_code(4);
    let gone = dir.path().join("gone.cfg");
    assert!(
        r.stderr().contains(&format!(
            "load balancer 'custom': cannot read its configuration template {}",
            gone.display()
        )),
        "{}",
        r.show()
    );
    r.assert_nothing_left();
}
