//! Bring your own registry: nodes of an implementation drill did not build (the
//! container-registry crate's server, `scripts/install-byo.sh` installs it) run, take
//! faults and are judged with the same code as drill's own; given as a host binary and as
//! an image a user built; and a spec that cannot serve the scenario is refused.

use crate::common::{self, run, scenario, Kinds};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `scripts/install-byo.sh` puts the server; a test without it fails saying so.
fn container_registry() -> PathBuf {
    let path = Path::new(&std::env::var("HOME").expect("HOME is set"))
        .join(".cargo/bin/container-registry");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-byo.sh",
        path.display()
    );
    path
}

#[test]
fn container_registry_nodes_mask_a_lost_zone_and_their_storage_takes_blob_faults() {
    container_registry();
    let r = run(&scenario("byo.yaml"), &[]);
    // The corrupted layer in us is a broken data_loss SLA, and only that.
    r.assert_code(1);
    r.assert_nothing_left();
    let journal = r.journal();
    let pulls = journal.pulls();
    // eu's second wave cold-started while zone eu-a's node was dead: nginx sent every
    // pull to eu-b.
    let during: Vec<_> = pulls
        .iter()
        .filter(|p| p.region == "eu" && p.wave == 2)
        .collect();
    assert_eq!(during.len(), 4, "{during:?}");
    assert!(during.iter().all(|p| p.ok), "{during:?}");
    // us's hosts found the bad layer by its digest and took it from eu.
    let late: Vec<_> = pulls
        .iter()
        .filter(|p| p.region == "us" && p.wave == 3)
        .collect();
    assert_eq!(late.len(), 2, "{late:?}");
    assert!(late.iter().all(|p| p.ok && p.mirror_moves > 0), "{late:?}");

    let summary = r.summary();
    // Before the timeline, each region's nodes were asked what hosts send: they lack
    // only what the run does not need.
    let notes: Vec<&str> = summary["analysis"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["text"].as_str())
        .collect();
    for region in ["eu", "us"] {
        for lack in [
            "Docker-Content-Digest on a manifest",
            "the tag listing (HTTP 404)",
        ] {
            let said = format!("registry container-registry in {region} lacks {lack}");
            assert!(
                notes.iter().any(|n| n.starts_with(&said)),
                "{said}: {notes:?}"
            );
        }
    }
    assert_eq!(notes.len(), 4, "{notes:?}");
    let loss = &summary["analysis"]["data_loss"];
    assert_eq!(loss["checked"], 2, "{loss}");
    let failures = loss["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{loss}");
    assert_eq!(failures[0]["region"], "us", "{loss}");
    assert_eq!(failures[0]["violation"], "bad_blob", "{loss}");
    assert_eq!(common::check(&summary, "cold_pull failed")["passed"], true);
    assert_eq!(common::check(&summary, "data_loss")["passed"], false);
}

/// A user's image: the server and the libraries `ldd` lists, `FROM scratch`, under a
/// tag of the user's. Removed when dropped, as the test made it and drill must not.
pub(crate) struct UserImage(String);

impl UserImage {
    pub(crate) fn build(binary: &Path, tag: &str) -> UserImage {
        let context = tempfile::tempdir().unwrap();
        let ldd = Command::new("ldd").arg(binary).output().expect("ldd runs");
        let listed = common::text(&ldd.stdout);
        let libs = listed
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
            .map(PathBuf::from);
        for file in libs.chain(std::iter::once(binary.to_path_buf())) {
            let inside = context.path().join(file.strip_prefix("/").unwrap());
            std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
            std::fs::copy(&file, &inside).unwrap();
        }
        let entry = binary.display();
        std::fs::write(
            context.path().join("Dockerfile"),
            format!("FROM scratch\nCOPY . /\nENTRYPOINT [\"{entry}\"]\n"),
        )
        .unwrap();
        let built = Command::new("docker")
            .args(["build", "-q", "-t", tag])
            .arg(context.path())
            .output()
            .expect("docker runs");
        assert!(built.status.success(), "{}", common::text(&built.stderr));
        UserImage(tag.to_string())
    }

    pub(crate) fn exists(&self) -> bool {
        Command::new("docker")
            .args(["image", "inspect", &self.0])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for UserImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

/// A small scenario on `registry`'s nodes behind haproxy, one of them killed while the
/// hosts cold-start.
fn killed_node_scenario(registry: &str) -> tempfile::NamedTempFile {
    let text = format!(
        r#"
name: test-byo-image
seed: 3
duration: 5s
registries:
  mine:
    {registry}
    args: [--bind, "0.0.0.0:{{{{ port }}}}", --storage, "{{{{ storage }}}}", --password, "{{{{ password }}}}"]
    port: 3000
    health: {{ path: /v2/, status: [401] }}
    storage: {{ path: /data, layout: "blobs/{{hex}}" }}
    capabilities: [push, htpasswd]
topology:
  registry: mine
  auth: htpasswd
  regions:
    - {{ name: eu, zones: [eu-a, eu-b] }}
images:
  - {{ ref: team/app:1, layers: [64KiB] }}
hosts:
  - {{ name: fleet, region: eu, per_zone: 2, mirrors: [region], pull: [team/app:1] }}
timeline:
  - {{ at: 1s, fault: kill, target: eu-a-1, for: 3s }}
  - {{ at: 2s, do: cold-start }}
sla:
  availability: {{ min: 99% }}
  cold_pull: {{ max_failed: 0 }}
"#
    );
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn an_image_the_user_built_runs_as_the_nodes_and_is_left_in_place() {
    let tag = format!("drill-test/my-registry:{}", std::process::id());
    let image = UserImage::build(&container_registry(), &tag);
    let file = killed_node_scenario(&format!("image: {tag}"));

    let plan = common::drill()
        .arg("plan")
        .arg(file.path())
        .output()
        .unwrap();
    let words = common::text(&plan.stdout);
    assert!(
        words.contains(&format!("registry mine: image {tag}, port 3000")),
        "{words}"
    );
    let r = run(file.path(), &[]);
    // haproxy checks the nodes with the spec's health (401 on /v2/) and takes the killed
    // one out: every pull succeeds.
    r.assert_code(0);
    r.assert_nothing_left();
    let journal = r.journal();
    let pulls = journal.pulls();
    assert_eq!(pulls.len(), 4, "{pulls:?}");
    assert!(pulls.iter().all(|p| p.ok), "{pulls:?}");
    assert!(image.exists(), "drill removed the user's image {tag}");
}

/// `drill run` on a scenario that stops before a run folder is made: (code, stderr).
pub(crate) fn run_refused(file: &Path) -> (Option<i32>, String) {
    let out = tempfile::tempdir().unwrap();
    let done = common::drill()
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("drill starts");
    (done.status.code(), common::text(&done.stderr))
}

#[test]
fn a_missing_image_binary_or_template_is_a_setup_error_naming_it() {
    let missing_image = killed_node_scenario("image: drill-test/never-built:1");
    let (code, said) = run_refused(missing_image.path());
    assert_eq!(code, Some(4), "{said}");
    assert!(said.contains("drill-test/never-built:1"), "{said}");
    assert!(said.contains("docker load"), "{said}");

    let missing_binary = killed_node_scenario("binary: /nonexistent/registry");
    let (code, said) = run_refused(missing_binary.path());
    assert_eq!(code, Some(4), "{said}");
    assert!(said.contains("/nonexistent/registry is missing"), "{said}");

    // A template is read when the region's nodes are made, and named as resolved: from
    // the scenario file's folder.
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "binary: {}\n    config: {{ template: gone.yml, path: /etc/r.yml }}",
        container_registry().display()
    );
    let file = dir.path().join("s.yaml");
    std::fs::copy(killed_node_scenario(&spec).path(), &file).unwrap();
    let r = run(&file, &[]);
    r.assert_code(4);
    let gone = dir.path().join("gone.yml");
    assert!(
        r.stderr().contains(&format!("template {}", gone.display())),
        "{}",
        r.show()
    );
    r.assert_nothing_left();
}

#[test]
fn what_a_spec_cannot_serve_is_refused_where_it_is_written() {
    let cases = [
        // A registry that demands credentials, with a region that gives none: refused
        // where the regions choose it.
        (
            "auth: htpasswd",
            "auth: none",
            "registry: container-registry",
        ),
        // Token auth on a registry without token support.
        (
            "auth: htpasswd",
            "auth: token",
            "registry: container-registry",
        ),
        // A blob fault where blobs cannot be found.
        (
            "layout: \"blobs/{hex}\"",
            "layout: none",
            "fault: corrupt-blob",
        ),
        // Seeding needs push.
        (
            "capabilities: [push, htpasswd]",
            "capabilities: [htpasswd]",
            "capabilities:",
        ),
    ];
    for (from, to, at) in cases {
        let file = common::variant("byo.yaml", from, to);
        let out = common::drill()
            .arg("validate")
            .arg(file.path())
            .output()
            .unwrap();
        let said = common::text(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{to}: {said}");
        assert!(said.contains("container-registry"), "{to}: {said}");
        let line = common::line_of(file.path(), at);
        assert!(
            said.contains(&format!("{}:{line}", file.path().display())),
            "{to}: refused at line {line}: {said}"
        );
    }
}

#[test]
fn distribution_brought_with_its_own_config_template_runs_and_enforces_it() {
    let r = run(&scenario("byo-distribution.yaml"), &[]);
    // The deleted config blob is the one broken SLA.
    r.assert_code(1);
    r.assert_nothing_left();
    assert!(
        r.stderr()
            .contains("registry own-distribution in eu: speaks every request the run sends"),
        "{}",
        r.show()
    );
    let journal = r.journal();
    let pulls = journal.pulls();
    assert_eq!(pulls.len(), 4, "{pulls:?}");
    assert!(pulls.iter().all(|p| p.ok), "{pulls:?}");
    let summary = r.summary();
    // The rendered config.yml turned htpasswd on: every pull without the run's
    // credentials was refused with 401.
    for entry in summary["analysis"]["auth"]["entry_points"]
        .as_array()
        .unwrap()
    {
        assert_eq!(entry["served"], 0, "{entry}");
        assert!(entry["statuses"]["401"].as_u64().unwrap() > 0, "{entry}");
    }
    let failures = summary["analysis"]["data_loss"]["failures"]
        .as_array()
        .unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0]["error"]
            .as_str()
            .unwrap()
            .contains("BLOB_UNKNOWN"),
        "{failures:?}"
    );
}
