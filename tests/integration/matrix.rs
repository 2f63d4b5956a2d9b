//! `drill run --matrix`: one scenario run once per combination of registry and load
//! balancer, with the same seed, and a comparison whose numbers are the runs' own.

use crate::common::{self, drill, run, scenario};

#[test]
fn a_two_by_two_matrix_runs_every_combination_and_compares_their_own_numbers() {
    let r = run(
        &scenario("matrix.yaml"),
        &[
            "--matrix",
            "registry=distribution,container-registry",
            "--matrix",
            "load_balancer=haproxy,nginx",
        ],
    );
    r.assert_code(0);
    let dir = &r.dir;
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("test-matrix-matrix-"), "{name}");
    let compared: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("comparison.json")).unwrap()).unwrap();
    assert_eq!(compared["seed"], 11);
    assert_eq!(compared["exit_code"], 0);
    let runs = compared["runs"].as_array().unwrap();
    let combinations: Vec<&str> = runs
        .iter()
        .map(|c| c["combination"].as_str().unwrap())
        .collect();
    assert_eq!(
        combinations,
        [
            "registry=distribution, load_balancer=haproxy",
            "registry=distribution, load_balancer=nginx",
            "registry=container-registry, load_balancer=haproxy",
            "registry=container-registry, load_balancer=nginx",
        ]
    );
    let mut run_ids = Vec::new();
    for column in runs {
        let folder = dir.join(column["folder"].as_str().unwrap());
        let summary = common::summary(&folder);
        run_ids.push(common::run_id(&folder));
        // The comparison's figures are the run's own, as its summary.json has them.
        assert_eq!(column["exit_code"], summary["run"]["exit_code"]);
        assert_eq!(summary["run"]["seed"], 11);
        let checks = summary["verdict"]["checks"].as_array().unwrap();
        assert_eq!(column["checks"].as_array().unwrap().len(), checks.len());
        for (figure, check) in column["checks"].as_array().unwrap().iter().zip(checks) {
            assert_eq!(figure["name"], check["name"]);
            assert_eq!(figure["measured_value"], check["measured_value"]);
            assert_eq!(figure["passed"], check["passed"]);
        }
        let a = &summary["analysis"];
        assert_eq!(
            column["availability"][0],
            serde_json::json!(["eu", a["availability"]["regions"]["eu"]["ratio"]])
        );
        let latency = &a["cold_starts"]["all"]["latency"];
        assert_eq!(column["cold_starts"]["p50_us"], latency["p50_us"]);
        assert_eq!(column["cold_starts"]["p99_us"], latency["p99_us"]);
        assert_eq!(column["cold_starts"]["count"], 8);
        let faults = a["faults"].as_array().unwrap();
        assert_eq!(faults.len(), 1);
        assert_eq!(
            column["recoveries"][0]["disruption_us"],
            faults[0]["disruption_us"]
        );
        assert_eq!(column["integrity"]["checked"], a["data_loss"]["checked"]);
        // The combination's registry is the one that ran: only container-registry
        // lacks a tag listing, as the check before the timeline found.
        let lacks = a["notes"].as_array().unwrap().iter().any(|n| {
            n["text"]
                .as_str()
                .unwrap()
                .contains("lacks the tag listing")
        });
        let brought = column["combination"]
            .as_str()
            .unwrap()
            .contains("container-registry");
        assert_eq!(lacks, brought, "{}: {}", column["combination"], a["notes"]);
        assert!(
            a["run"]["description"]
                .as_str()
                .unwrap()
                .ends_with(&format!(
                    "--matrix {}",
                    column["combination"].as_str().unwrap()
                )),
            "{}",
            a["run"]["description"]
        );
    }
    for id in &run_ids {
        let left = common::leftovers(id);
        assert!(left.is_empty(), "run {id} left {left:?}");
    }
    let md = std::fs::read_to_string(dir.join("comparison.md")).unwrap();
    let html = std::fs::read_to_string(dir.join("comparison.html")).unwrap();
    for c in &combinations {
        assert!(md.contains(c) && html.contains(c), "{c} in {md}");
    }
    assert!(
        md.contains("| recovery fault #1 zone-outage eu-a |"),
        "{md}"
    );
    let out = r.stdout();
    assert!(
        out.contains("comparison of 4 combinations of test-matrix (seed 11)"),
        "{out}"
    );
    assert!(
        out.contains("exit 0 (the worst of the combinations)"),
        "{out}"
    );
}

fn refused(args: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let o = drill()
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(64), "{}", common::text(&o.stderr));
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing written"
    );
    common::text(&o.stderr)
}

#[test]
fn a_matrix_that_cannot_run_is_refused_before_anything_starts() {
    let file = scenario("matrix.yaml");
    let file = file.to_str().unwrap();
    let e = refused(&[file, "--matrix", "colour=red"]);
    assert!(
        e.contains(
            "`colour` is no key a matrix can vary: use one of registry, load_balancer, proxy"
        ),
        "{e}"
    );
    let e = refused(&[file, "--matrix", "proxy=distribution,nginx"]);
    assert!(
        e.contains("--matrix proxy:")
            && e.contains("has no proxy (`topology.proxy` or a region's `proxy:`)"),
        "{e}"
    );
    let e = refused(&[file, "--matrix", "load_balancer=haproxy,envoy"]);
    assert!(e.contains("with --matrix load_balancer=envoy:\n"), "{e}");
    assert!(
        e.contains(
            "topology.load_balancer: 'envoy' is no load balancer: write haproxy, nginx, caddy, \
             or declare it under `load_balancers:`"
        ),
        "{e}"
    );
    // A name neither built in nor declared: said for the combination that has it, and
    // only for it, in the file's words.
    let e = refused(&[file, "--matrix", "registry=distribution,zot"]);
    assert!(e.contains("with --matrix registry=zot:\n"), "{e}");
    assert!(!e.contains("with --matrix registry=distribution"), "{e}");
    assert!(
        e.contains("matrix.yaml:") && e.contains("topology.registry: 'zot' is no registry"),
        "{e}"
    );
    let e = refused(&[file, file, "--matrix", "registry=distribution"]);
    assert!(e.contains("give one scenario file"), "{e}");
    let e = refused(&[file, "--keep", "--matrix", "registry=distribution"]);
    assert!(e.contains("neither --baseline nor --keep"), "{e}");
}
