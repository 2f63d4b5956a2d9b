//! The plan's topology as a docker-compose project (`drill plan --compose DIR`): the same
//! locally built images, names, storage volumes, shared secrets and haproxy
//! configurations as `drill run` brings up, so the two can be compared (`drill bench`) or
//! the topology run by hand. Pure: the caller picks the images and the entry-point ports.

use crate::docker::engine::RUN_LABEL;
use crate::docker::images::Images;
use crate::model::error::{DrillError, SetupContext};
use crate::plan::{Plan, REGISTRY_PORT};
use serde_json::{json, Map};
use std::collections::HashMap;
use std::path::Path;

/// The compose file's name in the project folder.
pub const COMPOSE_FILE: &str = "docker-compose.yml";

/// A compose project: files to write into one folder, and where each region answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// (file name, contents): the compose file and one haproxy configuration per region.
    pub files: Vec<(String, String)>,
    /// Region → `http://127.0.0.1:<port>`.
    pub entry_points: HashMap<String, String>,
}

/// What a compose project cannot reproduce of this plan: the parts a run makes at run
/// time (certificates, credentials, the upstream and its gate, size-limited storage).
/// Rendering them without those would give another topology than the run's.
pub fn unsupported(plan: &Plan) -> Vec<&'static str> {
    let mut parts = Vec::new();
    if plan.external.is_some() {
        parts.push("an external topology (nothing to build)");
    }
    if plan.tls {
        parts.push("tls");
    }
    if plan
        .regions
        .iter()
        .any(|r| r.auth != crate::scenario::AuthKind::None)
    {
        parts.push("auth");
    }
    if plan.upstream.is_some() {
        parts.push("upstream and proxies");
    }
    if plan.regions.iter().any(|r| r.storage.is_some()) {
        parts.push("storage_limit");
    }
    if plan.regions.iter().any(|r| r.registry.custom().is_some()) {
        parts.push("brought registries");
    }
    if plan.regions.iter().any(|r| r.balancer.custom().is_some()) {
        parts.push("brought load balancers");
    }
    parts
}

/// Renders the plan's registry nodes and load balancers; `ports` gives each region's
/// entry-point port on 127.0.0.1. The compose file is JSON, which every YAML parser
/// (docker-compose's included) reads as YAML.
pub fn render(
    plan: &Plan,
    images: &Images,
    ports: &HashMap<String, u16>,
) -> Result<Project, DrillError> {
    let labels = json!({ RUN_LABEL: plan.run_id });
    let mut services = Map::new();
    let mut volumes = Map::new();
    let mut files = Vec::new();
    let mut entry_points = HashMap::new();
    for r in &plan.regions {
        volumes.insert(
            r.volume.clone(),
            json!({ "name": r.volume, "labels": labels }),
        );
        for n in &r.nodes {
            services.insert(
                n.name.clone(),
                json!({
                    "image": images.registry,
                    "container_name": n.container,
                    "init": true,
                    "environment": { "REGISTRY_HTTP_SECRET": r.http_secret },
                    "volumes": [format!("{}:/var/lib/registry", r.volume)],
                    "labels": labels,
                    "networks": ["drill"],
                }),
            );
        }
        // `unsupported` refused brought ones.
        let Some(b) = r.balancer.builtin() else {
            return Err(DrillError::Usage(format!(
                "region {}'s load balancer is brought: a compose project cannot render it",
                r.name
            )));
        };
        let cfg = format!("{}-lb.cfg", r.name);
        let port = ports[&r.name];
        let mut lb = json!({
                "image": images.builtin_balancer(b.kind)?,
                "container_name": r.load_balancer,
                "init": true,
                "ports": [format!("127.0.0.1:{port}:{REGISTRY_PORT}")],
                "volumes": [format!("./{cfg}:{}:ro", b.config_path())],
                "labels": labels,
                "networks": ["drill"],
                "depends_on": r.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
        });
        let env = b.env();
        if !env.is_empty() {
            lb["environment"] = json!(env);
        }
        services.insert(format!("{}-lb", r.name), lb);
        files.push((cfg, b.config.clone()));
        entry_points.insert(r.name.clone(), format!("http://127.0.0.1:{port}"));
    }
    let compose = json!({
        // 2.4: the newest format docker-compose 1.x reads with `init`.
        "version": "2.4",
        "services": services,
        "networks": { "drill": { "name": plan.network, "labels": labels } },
        "volumes": volumes,
    });
    let mut text = serde_json::to_string_pretty(&compose).expect("JSON values serialize");
    text.push('\n');
    files.insert(0, (COMPOSE_FILE.to_string(), text));
    Ok(Project {
        files,
        entry_points,
    })
}

/// Writes the project's files into `dir` (created if missing).
pub fn write(dir: &Path, project: &Project) -> Result<(), DrillError> {
    std::fs::create_dir_all(dir)
        .setup_context(|| format!("cannot create the folder {}", dir.display()))?;
    for (name, contents) in &project.files {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .setup_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::parse;
    use serde_json::Value;

    const SRC: &str = "
name: compose-test
duration: 1s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
images:
  - { ref: team/app:1, layers: [1KiB] }
";

    #[test]
    fn parts_made_at_run_time_are_named_as_unsupported() {
        let plain = crate::plan::build(&parse(SRC).unwrap(), "abc12345", 1);
        assert!(unsupported(&plain).is_empty());
        let secure = SRC.replace(
            "    - { name: eu, zones: [eu-a, eu-b] }",
            "    - { name: eu, zones: [eu-a, eu-b] }\n  tls: self-signed\n  auth: htpasswd",
        );
        let plan = crate::plan::build(&parse(&secure).unwrap(), "abc12345", 1);
        assert_eq!(unsupported(&plan), ["tls", "auth"]);
    }

    #[test]
    fn every_container_of_the_plan_is_a_labelled_service() {
        let plan = crate::plan::build(&parse(SRC).unwrap(), "abc12345", 1);
        let images = Images {
            registry: "drill/registry:r".into(),
            haproxy: "drill/haproxy:h".into(),
            toolbox: "drill/toolbox:t".into(),
            nginx: None,
            caddy: Some("drill/caddy:c".into()),
            containerd: None,
            token_service: None,
            brought: Default::default(),
        };
        let project = render(&plan, &images, &HashMap::from([("eu".to_string(), 4321)])).unwrap();
        let names: Vec<&str> = project.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [COMPOSE_FILE, "eu-lb.cfg"]);
        assert_eq!(
            project.files[1].1,
            plan.regions[0].balancer.builtin().unwrap().config
        );
        let c: Value = serde_json::from_str(&project.files[0].1).unwrap();
        let services = c["services"].as_object().unwrap();
        assert_eq!(services.len(), plan.container_count());
        let lb = &c["services"]["eu-lb"];
        assert_eq!(lb["container_name"], "drill-abc12345-eu-lb");
        assert_eq!(lb["ports"][0], "127.0.0.1:4321:5000");
        assert_eq!(lb["depends_on"], json!(["eu-a-1", "eu-b-1"]));
        let node = &c["services"]["eu-b-1"];
        assert_eq!(node["image"], "drill/registry:r");
        assert_eq!(node["labels"][RUN_LABEL], "abc12345");
        assert_eq!(
            node["environment"]["REGISTRY_HTTP_SECRET"],
            plan.regions[0].http_secret.as_str()
        );
        assert_eq!(c["networks"]["drill"]["name"], "drill-abc12345");
        assert_eq!(
            c["volumes"]["drill-abc12345-eu-storage"]["labels"][RUN_LABEL],
            "abc12345"
        );
        assert_eq!(project.entry_points["eu"], "http://127.0.0.1:4321");
    }
}
