//! `drill bench --size tiny` against the real engine, registry, skopeo, containerd and
//! docker-compose, and `drill plan --compose`.

use crate::common;
use crate::common::{drill, leftovers, scenario, text};
use serde_json::Value;
use std::path::Path;

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {v}"))
}

#[test]
fn tiny_bench_measures_every_part_and_leaves_nothing() {
    let out = tempfile::tempdir().unwrap();
    let output = drill()
        .args(["bench", "--size", "tiny", "--out"])
        .arg(out.path())
        .output()
        .expect("drill starts");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let dir = common::run_dir(out.path());
    let r: Value = serde_json::from_slice(&std::fs::read(dir.join("bench.json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(dir.join("bench.md")).unwrap();
    assert!(stdout.contains(&md), "the table is printed too");
    for section in [
        "### Pull path",
        "### Bring-up",
        "### Fleet",
        "### Analysis",
        "### Accuracy",
        "### Targets",
    ] {
        assert!(md.contains(section), "{section} in {md}");
    }
    assert!(!dir.join("scratch").exists(), "scratch files removed");

    // Pull path: every tool on both images; drill and the floor always run.
    let images = r["pull"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    for img in images {
        let tools = img["tools"].as_array().unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t["tool"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["raw GET", "drill", "skopeo copy", "docker pull", "ctr pull"]
        );
        for t in tools {
            let status = t["status"].as_str().unwrap();
            assert!(
                status == "ok" || status.starts_with("not installed"),
                "{}: {status}",
                t["tool"]
            );
            if status == "ok" {
                let m = num(&t["median_s"], "median");
                assert!(m > 0.0 && m < 60.0, "{t}");
                assert!(num(&t["ratio_to_raw"], "ratio") > 0.0, "{t}");
            }
        }
        assert_eq!(tools[0]["status"], "ok");
        assert_eq!(tools[1]["status"], "ok");
        assert_eq!(num(&tools[0]["ratio_to_raw"], "raw ratio"), 1.0);
    }

    // Bring-up: drill measured; docker-compose measured when installed.
    let b = &r["bringup"];
    assert_eq!(b["containers"], 2);
    assert!(num(&b["drill"]["up_s"], "up") > 0.0);
    assert!(num(&b["drill"]["down_s"], "down") > 0.0);
    if b["compose_status"] == "ok" {
        assert!(num(&b["compose"]["total_s"], "compose") > 0.0);
        assert!(num(&b["ratio"], "ratio") > 0.0);
    } else {
        assert!(
            b["compose_status"]
                .as_str()
                .unwrap()
                .starts_with("not installed"),
            "{b}"
        );
    }

    // Fleet: every host pulled; drill's own CPU and memory, and the registry's CPU.
    let f = &r["fleet"][0];
    assert_eq!(f["hosts"], 20);
    assert_eq!(f["cold_starts_ok"], 20, "{f}");
    assert_eq!(f["cold_starts_failed"], 0, "{f}");
    assert!(num(&f["pulls_per_s"], "pulls/s") > 0.0);
    assert!(num(&f["drill_cpu_s"], "drill cpu") > 0.0);
    let rss = num(&f["drill_peak_rss_mib"], "rss");
    assert!(rss > 1.0 && rss < 1024.0, "{f}");
    assert!(num(&f["registry_cpu_s"], "registry cpu") > 0.0, "{f}");
    assert!(["drill", "registry"].contains(&f["saturated_first"].as_str().unwrap()));

    // Analysis: every report of 20,000 events, in the child's own memory.
    let a = &r["analysis"];
    assert_eq!(a["events"], 20_000);
    assert_eq!(a["reports"].as_array().unwrap().len(), 4);
    assert!(num(&a["seconds"], "seconds") > 0.0);
    let rss = num(&a["peak_rss_mib"], "rss");
    assert!(rss > 1.0 && rss < 1024.0, "{a}");

    // Accuracy: a 1 s kill is measured as an outage of about that length.
    let o = &r["accuracy"]["outages"][0];
    let truth = num(&o["true_s"], "true");
    assert!((1.0..10.0).contains(&truth), "{o}");
    assert!(num(&o["measured_s"], "measured") >= 1.0, "{o}");
    assert!(num(&o["error_s"], "error").abs() < 2.0, "{o}");

    assert!(r["targets"].as_array().unwrap().len() >= 7);
    for id in r["run_ids"].as_array().unwrap() {
        let left = leftovers(id.as_str().unwrap());
        assert!(left.is_empty(), "run {id} left {left:?}");
    }
    let images = std::process::Command::new("docker")
        .args(["image", "ls", "--format", "{{.Repository}}"])
        .output()
        .unwrap();
    assert!(
        !text(&images.stdout).contains("/bench/"),
        "the images docker pulled are removed"
    );
}

#[test]
fn plan_compose_writes_a_project_docker_compose_accepts() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("project");
    let output = drill()
        .arg("plan")
        .arg(scenario("tiny.yaml"))
        .arg("--compose")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("region eu answers at http://127.0.0.1:"),
        "{stdout}"
    );
    let compose: Value =
        serde_json::from_slice(&std::fs::read(dir.join("docker-compose.yml")).unwrap()).unwrap();
    let services = compose["services"].as_object().unwrap();
    assert_eq!(services.len(), 2, "a node and a load balancer: {compose}");
    assert!(Path::new(&dir.join("eu-lb.cfg")).exists());
    let check = std::process::Command::new("docker-compose")
        .arg("-f")
        .arg(dir.join("docker-compose.yml"))
        .args(["config", "-q"])
        .output()
        .expect("docker-compose is installed (scripts/install-deps.sh)");
    assert!(check.status.success(), "{}", text(&check.stderr));
}
