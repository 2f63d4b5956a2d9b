//! Replication, bulkheads, fallback and integrity against the real engine: a region is
//! lost, canaries measure the lag, and storage and tags are tampered with behind drill's
//! back to prove the integrity check fails when it should and passes when it should.

use crate::common;
use crate::common::{ask, check, game_day_up, leftovers, run, scenario, text};
use registry_drill::fixtures;
use registry_drill::oci;
use registry_drill::plan::ImagePlan;
use std::time::Duration;

#[test]
fn bulkhead_holds_and_fallback_is_counted_when_a_region_is_lost() {
    let r = run(&scenario("bulkhead.yaml"), &[]);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let s = r.summary();
    let iso = &s["analysis"]["isolation"];
    assert_eq!(iso["affected"], serde_json::json!(["eu"]));
    let us = &iso["regions"]["us"];
    assert!(
        iso["regions"].get("eu").is_none(),
        "eu was faulted: {iso:#}"
    );
    // us was probed on both sides of the comparison and never failed while eu was down.
    assert!(us["steady"]["probes"].as_u64().unwrap() >= 20, "{us:#}");
    assert!(us["during"]["probes"].as_u64().unwrap() >= 20, "{us:#}");
    assert_eq!(us["during"]["failed_probes"], 0, "{us:#}");
    assert_eq!(us["availability_drop"].as_f64(), Some(0.0));
    assert!(
        us["during"]["pulls"].as_u64().unwrap() >= 1,
        "us hosts pulled during the outage"
    );
    for name in [
        "isolation us availability",
        "isolation us probe latency",
        "isolation us pull time",
        "isolation us pull success",
    ] {
        assert_eq!(check(&s, name)["passed"], true, "{name}");
    }

    // eu hosts restarted during the outage were served by us, and counted.
    let fallback = &s["analysis"]["fallback"];
    assert!(fallback["pulls"].as_u64().unwrap() >= 3, "{fallback:#}");
    assert_eq!(fallback["failed"], 0);
    assert!(fallback["by_region"]["eu"]["us"].as_u64().unwrap() >= 3 * 4);
    assert!(
        fallback["by_region"].get("us").is_none(),
        "us hosts list only us"
    );
    let slowest = fallback["duration"]["max_us"].as_u64().unwrap();
    assert!(slowest > 0 && slowest < 10_000_000, "{slowest}");
    assert_eq!(check(&s, "fallback pulls")["passed"], true);
    let md = std::fs::read_to_string(r.dir.join("summary.md")).unwrap();
    assert!(md.contains("### Bulkhead isolation"), "{md}");
    assert!(md.contains("### Fallback"), "{md}");
    r.assert_nothing_left();
}

#[test]
fn async_replication_has_a_measured_lag_and_breaks_the_rpo_when_the_primary_is_lost() {
    let r = run(&scenario("async.yaml"), &[]);
    assert_eq!(r.code(), 1, "{}\n{}", r.stdout(), r.stderr());
    let s = r.summary();
    let rep = &s["analysis"]["replication"];
    assert_eq!(rep["mode"], "async");
    assert_eq!(rep["primary"], "eu");
    // The replicator runs every 3s: canaries reach us late, never instantly, and
    // those caught by the 3s outage of eu arrive after it, or not at all.
    let us = &rep["lag"]["us"];
    assert!(us["visible"].as_u64().unwrap() >= 2, "{rep:#}");
    let lag = &us["lag"];
    assert!(lag["p50_us"].as_u64().unwrap() >= 100_000, "{lag:#}");
    assert!(
        lag["max_us"].as_u64().unwrap() >= 3_000_000 || us["never"].as_u64().unwrap() > 0,
        "{us:#}"
    );
    // eu, the primary, acknowledged every canary itself.
    assert_eq!(rep["lag"]["eu"]["lag"]["max_us"], 0);

    let loss = &rep["losses"][0];
    assert_eq!(loss["region"], "eu");
    let unreplicated = loss["unreplicated"].as_array().unwrap();
    assert!(!unreplicated.is_empty(), "{loss:#}");
    assert!(unreplicated
        .iter()
        .all(|u| u["image"].as_str().unwrap().starts_with("drill/canary:")));
    let rpo = loss["rpo_us"].as_u64().unwrap();
    assert!(rpo > 500_000 && rpo <= 3_500_000, "{rpo}");
    let c = check(&s, "rpo fault #1 region eu");
    assert_eq!(c["passed"], false);
    assert_eq!(c["measured_value"].as_f64(), Some(rpo as f64 / 1e6));

    // Canary pushes to the lost primary failed, and so did the copies from it.
    let failures = rep["push_failures"].as_array().unwrap();
    assert!(failures
        .iter()
        .any(|f| f["origin"] == "canary" && f["region"] == "eu"));
    assert!(failures
        .iter()
        .any(|f| f["origin"] == "replica" && f["region"] == "us"));
    // Every region still serves what it acknowledged, the canaries included.
    let d = &s["analysis"]["data_loss"];
    assert!(d["checked"].as_u64().unwrap() > 4, "{d:#}");
    assert_eq!(d["failures"], serde_json::json!([]));
    r.assert_nothing_left();
}

#[test]
fn integrity_check_catches_a_deleted_blob_and_a_tag_moved_behind_drills_back() {
    let out = tempfile::tempdir().unwrap();
    let (up, status) = game_day_up(&scenario("integrity.yaml"), out.path());
    let us = status
        .lines()
        .find_map(|l| l.trim().strip_prefix("region us: "))
        .expect("status names us's entry point")
        .to_string();
    // Another image pushed to team/base:1 in us, straight through the registry API.
    let other = fixtures::generate(&ImagePlan::generated("team/base:1", vec![1000]), 999);
    common::block_on(async {
        let client = oci::client(
            Duration::from_secs(2),
            Duration::from_secs(10),
            &oci::Access::default(),
        );
        oci::push(&client, &us, &other).await.unwrap();
    });
    // The timeline deletes a layer of team/app:1 in eu at 1s.
    std::thread::sleep(Duration::from_secs(3));
    // `down` exits with the run's code: 1, the data-loss SLA is broken.
    let (code, stdout, _) = ask(out.path(), &["down"]);
    assert_eq!(code, 1, "{stdout}");
    let folder = std::path::PathBuf::from(stdout.trim().rsplit(' ').next().unwrap());
    let up = up.wait_with_output().unwrap();
    assert_eq!(up.status.code(), Some(1), "{}", text(&up.stderr));

    let s = common::summary(&folder);
    let d = &s["analysis"]["data_loss"];
    // Two images in two regions: four copies checked, exactly the two tampered fail.
    assert_eq!(d["checked"], 4, "{d:#}");
    let mut found: Vec<(String, String, String)> = d["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["region"].as_str().unwrap().to_string(),
                f["image"].as_str().unwrap().to_string(),
                f["violation"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (
                "eu".to_string(),
                "team/app:1".to_string(),
                "bad_blob".to_string()
            ),
            ("us".into(), "team/base:1".into(), "tag_moved".into()),
        ]
    );
    let moved = d["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["violation"] == "tag_moved")
        .unwrap();
    assert!(moved["error"]
        .as_str()
        .unwrap()
        .contains(&other.manifest.digest));
    assert_eq!(check(&s, "data_loss")["passed"], false);
    for file in ["summary.md", "report.html", "junit.xml"] {
        let body = std::fs::read_to_string(folder.join(file)).unwrap();
        assert!(
            body.contains("tag-moved: team/base:1 in us"),
            "{file}: {body}"
        );
        assert!(
            body.contains("bad-blob: team/app:1 in eu"),
            "{file}: {body}"
        );
    }
    assert!(leftovers(&common::run_id(&folder)).is_empty());
}
