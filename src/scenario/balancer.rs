//! What stands in front of a region's nodes: one of drill's built-in load balancers
//! (haproxy, nginx, Caddy), or one a team brings, as an image in the local engine or a
//! host binary drill packs, configured by a template that is given the region's
//! backends.

use super::brought::{self, check_launch, Choice, Spec, Templates, Variables};
use super::{LoadBalancerKind, Location, Problem, Region, Scenario, TlsMode};
use serde::Serialize;

/// `load_balancer:` in the topology or a region: haproxy (the default), nginx, caddy,
/// a name declared under `load_balancers:`, or a spec written in place.
pub type BalancerChoice = Choice<BalancerSpec>;

impl Spec for BalancerSpec {
    const EXPECTING: &'static str = "haproxy, nginx, caddy, the name of a load balancer under \
        `load_balancers:`, or a spec such as { image: team/edge:1, config: { template: \
        edge.conf.j2, path: /etc/edge.conf } }";
    const CHOICE: &'static str = "LoadBalancerChoice";
}

super::brought::brought_spec! {
    /// A load balancer drill did not configure: it is given the region's nodes through its
    /// templates, and must send clients' requests to them.
    pub struct BalancerSpec {}
}

/// The load balancer in front of a region's nodes, resolved.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    Builtin(LoadBalancerKind),
    Custom {
        /// Its name under `load_balancers:`, or `custom` for one written in place.
        name: &'a str,
        spec: &'a BalancerSpec,
    },
    /// A name neither built in nor declared (validation refuses it).
    Unknown(&'a str),
}

impl Scenario {
    /// The load balancer in front of `region`'s nodes: its own `load_balancer:`, else
    /// the topology's, else haproxy.
    pub fn balancer_of<'a>(&'a self, region: &'a Region) -> Resolved<'a> {
        let choice = region
            .load_balancer
            .as_ref()
            .or(self.topology.value.load_balancer.as_ref());
        match choice.map(|c| &c.value) {
            None => Resolved::Builtin(LoadBalancerKind::Haproxy),
            Some(Choice::Named(n)) => {
                match (LoadBalancerKind::named(n), self.load_balancers.get(n)) {
                    (Some(kind), _) => Resolved::Builtin(kind),
                    (None, Some(spec)) => Resolved::Custom {
                        name: n,
                        spec: &spec.value,
                    },
                    (None, None) => Resolved::Unknown(n),
                }
            }
            Some(Choice::Custom(spec)) => Resolved::Custom {
                name: brought::IN_PLACE,
                spec,
            },
        }
    }
}

/// A node behind the load balancer, as its templates see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Backend {
    /// The node's name in the scenario's words: `eu-a-1`.
    pub name: String,
    /// Its container's name, which Docker's DNS resolves on the run's network.
    pub address: String,
    pub port: u16,
}

/// The values a brought load balancer's templates (args, env, config file) may use.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BalancerVars {
    pub region: String,
    /// The port to listen on (the spec's `port`).
    pub port: u16,
    /// The region's nodes, in zone order.
    pub backends: Vec<Backend>,
    /// What tells a healthy node: the path, and the statuses it may answer.
    pub health_path: String,
    pub health_status: Vec<u16>,
    /// The DNS server that resolves container names on the run's network, for a load
    /// balancer that follows nodes whose address changes when they come back.
    pub resolver: String,
    /// With `tls:`, one PEM file holding the certificate and its key (the same path
    /// in both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<String>,
}

impl BalancerVars {
    /// What `spec`'s templates are given in `region`, in front of `backends` checked
    /// with `health` (path, statuses); with `tls`, the PEM's path.
    pub fn new(
        region: &str,
        spec: &BalancerSpec,
        backends: Vec<Backend>,
        health: (&str, &[u16]),
        tls: bool,
    ) -> BalancerVars {
        let pem = tls.then(|| TLS_PEM_PATH.to_string());
        BalancerVars {
            region: region.to_string(),
            port: spec.launch().port,
            backends,
            health_path: health.0.to_string(),
            health_status: health.1.to_vec(),
            resolver: DOCKER_DNS.into(),
            tls_certificate: pem.clone(),
            tls_key: pem,
        }
    }
}

impl Variables for BalancerVars {
    const ALL: &'static [&'static str] = &[
        "region",
        "port",
        "backends",
        "health_path",
        "health_status",
        "resolver",
        "tls_certificate",
        "tls_key",
    ];

    fn why_absent(_: &str) -> &'static str {
        "the certificate exists only with tls: self-signed"
    }
}

/// Where a brought load balancer finds the region's certificate and key with TLS.
pub const TLS_PEM_PATH: &str = "/etc/drill/tls.pem";

/// Docker's embedded DNS server, on every user-defined network.
pub const DOCKER_DNS: &str = "127.0.0.11";

/// The variables of `region`'s load balancer as validation sees them: the backends a
/// one-node-per-zone region would have, on the region's registry's port and health.
fn sample_vars(s: &Scenario, region: &Region, spec: &BalancerSpec) -> BalancerVars {
    let tls = s.topology.value.tls == Some(TlsMode::SelfSigned);
    let (port, health) = match s.registry_of(region) {
        super::registry::Resolved::Custom { spec, .. } => (
            spec.launch().port,
            (spec.health.path.as_str(), spec.health.status.as_slice()),
        ),
        // distribution's: `/` answered with 200 once it serves.
        _ => (crate::model::wire::REGISTRY_PORT, ("/", &[200][..])),
    };
    let backends = region
        .zones
        .iter()
        .map(|z| Backend {
            name: format!("{z}-1"),
            address: format!("drill-run-{z}-1"),
            port,
        })
        .collect();
    BalancerVars::new(&region.name, spec, backends, health, tls)
}

const KIND: brought::Kind<BalancerSpec> = brought::Kind {
    part: "load balancer",
    key: "load_balancer",
    declared_under: "load_balancers",
    builtins: "haproxy, nginx, caddy",
    is_builtin: |n| LoadBalancerKind::named(n).is_some(),
    declared: |s| &s.load_balancers,
    topology: |s| s.topology.value.load_balancer.as_ref(),
    own: |r| r.load_balancer.as_ref(),
    check: check_spec,
};

/// The load balancers declared and chosen: names, sources, paths and templates.
pub(super) fn validate(s: &Scenario, p: &mut Vec<Problem>) {
    KIND.validate(s, p, |region, loc, field, p| match s.balancer_of(region) {
        Resolved::Builtin(_) => {}
        Resolved::Unknown(n) => p.push(Problem::at(loc, &field, KIND.unknown(s, n))),
        Resolved::Custom { name, spec } => {
            let (loc, field) = KIND.written_at(s, name, (loc, field));
            let vars = sample_vars(s, region, spec);
            let templates = Templates::of(&spec.args, &spec.env, &spec.config, s.dir.as_deref());
            templates.check(&vars, &region.name, loc, &field, p);
            if !templates.may_use(&["backends"]) {
                p.push(Problem::at(
                    loc,
                    &field,
                    "a brought load balancer learns the region's nodes from its templates, \
                     and none of its config template, args or env uses {{ backends }}",
                ));
            }
            if vars.tls_certificate.is_some() && !templates.may_use(&["tls_certificate", "tls_key"])
            {
                p.push(Problem::at(
                    loc,
                    &field,
                    "topology.tls is self-signed, but none of its templates uses \
                     {{ tls_certificate }}: it would answer plain HTTP where hosts speak \
                     TLS. End TLS there with the PEM at {{ tls_certificate }}",
                ));
            }
        }
    });
}

/// What a spec must hold by itself, wherever it is chosen.
fn check_spec(spec: &BalancerSpec, loc: &Location, field: &str, p: &mut Vec<Problem>) {
    check_launch(&spec.launch(), |key, msg| {
        p.push(Problem::at(loc, format!("{field}.{key}"), msg));
    });
}

#[cfg(test)]
mod tests {
    use crate::faults::parse;
    use crate::scenario::Problem;

    const BROUGHT: &str = r#"
name: unit
duration: 30s
load_balancers:
  edge:
    image: team/edge:1
    args: [-c, /etc/edge.conf]
    port: 8080
    config: { template: edge.conf.j2, path: /etc/edge.conf }
topology:
  load_balancer: edge
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
images:
  - { ref: team/app:1, layers: [1KiB] }
timeline:
  - { at: 1s, fault: kill, target: eu-lb, for: 5s }
"#;

    fn only(src: &str) -> Problem {
        let p = parse(src).expect_err("the scenario is refused");
        assert_eq!(p.len(), 1, "{p:#?}");
        p.into_iter().next().unwrap()
    }

    #[test]
    fn a_brought_load_balancer_is_planned_with_its_port_and_backends() {
        let s = parse(BROUGHT).unwrap();
        let plan = crate::plan::build(&s, "abc12345", 1);
        let b = plan.regions[0]
            .balancer
            .custom()
            .expect("a brought balancer");
        assert_eq!((b.name.as_str(), b.launch.port), ("edge", 8080));
        let names: Vec<(&str, &str, u16)> = b
            .vars
            .backends
            .iter()
            .map(|n| (n.name.as_str(), n.address.as_str(), n.port))
            .collect();
        assert_eq!(
            names,
            [
                ("eu-a-1", "drill-abc12345-eu-a-1", 5000),
                ("eu-b-1", "drill-abc12345-eu-b-1", 5000)
            ]
        );
        assert_eq!(b.vars.health_path, "/");
        assert_eq!(b.vars.tls_certificate, None);
    }

    #[test]
    fn a_built_in_name_may_not_be_declared_again() {
        let p = only(
            &BROUGHT
                .replace("  edge:\n", "  nginx:\n")
                .replace("  load_balancer: edge", "  load_balancer: nginx"),
        );
        assert_eq!(p.field, "load_balancers.nginx");
        assert!(
            p.message.contains("is a built-in load balancer"),
            "{}",
            p.message
        );
    }

    #[test]
    fn an_unknown_name_lists_the_built_ins_and_the_declared_ones() {
        let p = only(&BROUGHT.replace("  load_balancer: edge", "  load_balancer: envoy"));
        assert_eq!((p.line, p.field.as_str()), (11, "topology.load_balancer"));
        assert!(
            p.message.contains(
                "'envoy' is no load balancer: write haproxy, nginx, caddy or one of edge"
            ),
            "{}",
            p.message
        );
    }

    #[test]
    fn a_spec_that_cannot_learn_the_nodes_or_has_no_source_is_refused() {
        let blind = BROUGHT
            .replace("    args: [-c, /etc/edge.conf]\n", "")
            .replace(
                "    config: { template: edge.conf.j2, path: /etc/edge.conf }\n",
                "",
            );
        assert!(only(&blind).message.contains("learns the region's nodes"));
        let none = BROUGHT.replace("    image: team/edge:1\n", "");
        assert_eq!(only(&none).field, "load_balancers.edge.image");
    }

    #[test]
    fn the_certificate_is_a_variable_only_with_tls() {
        let src = BROUGHT.replace(
            "args: [-c, /etc/edge.conf]",
            "args: [-c, /etc/edge.conf, \"--cert={{ tls_certificate }}\"]",
        );
        let p = only(&src);
        assert_eq!(p.field, "load_balancers.edge.args[2]");
        assert!(
            p.message.contains("only with tls: self-signed"),
            "{}",
            p.message
        );
        let tls = src.replace(
            "  load_balancer: edge\n",
            "  load_balancer: edge\n  tls: self-signed\n",
        );
        let plan = crate::plan::build(&parse(&tls).unwrap(), "abc12345", 1);
        let b = plan.regions[0].balancer.custom().unwrap();
        assert_eq!(b.vars.tls_certificate.as_deref(), Some(super::TLS_PEM_PATH));
    }

    #[test]
    fn regions_may_bring_their_own_in_place_and_each_runs_its_own() {
        let in_place = |image: &str| {
            format!(
                "{{ image: {image}, port: 8080, args: [\"{{% for b in backends %}}{{{{ b.address }}}}:{{{{ b.port }}}} {{% endfor %}}\"] }}"
            )
        };
        let src = BROUGHT.replace(
            "    - { name: eu, zones: [eu-a, eu-b] }",
            &format!(
                "    - {{ name: eu, zones: [eu-a, eu-b], load_balancer: caddy }}\n    - name: us\n      zones: [us-a]\n      load_balancer: {}\n    - name: ap\n      zones: [ap-a]\n      load_balancer: {}",
                in_place("team/other:2"),
                in_place("team/third:3")
            ),
        )
        .replace(
            "images:",
            "hosts:\n  - { name: f, region: us, per_zone: 1, mirrors: [us, eu], pull: [team/app:1] }\nimages:",
        );
        let plan = crate::plan::build(&parse(&src).unwrap(), "abc12345", 1);
        assert_eq!(plan.regions[0].balancer.name(), "caddy");
        let (us, ap) = (
            plan.regions[1].balancer.custom().unwrap(),
            plan.regions[2].balancer.custom().unwrap(),
        );
        assert_eq!((us.name.as_str(), ap.name.as_str()), ("custom", "custom"));
        // Both are called `custom`; each runs what it names.
        let images = crate::docker::images::Images {
            brought: [
                (us.launch.source.clone(), "team/other:2".to_string()),
                (ap.launch.source.clone(), "team/third:3".to_string()),
            ]
            .into(),
            ..crate::docker::images::Images::default()
        };
        assert_eq!(
            images.balancer(&plan.regions[1].balancer).unwrap(),
            "team/other:2"
        );
        assert_eq!(
            images.balancer(&plan.regions[2].balancer).unwrap(),
            "team/third:3"
        );
        // Hosts (containerd's hosts.toml) reach each on its own port.
        assert_eq!(
            crate::run::topology::mirror_hosts(&plan, &plan.hosts[0]),
            ["drill-abc12345-us-lb:8080", "drill-abc12345-eu-lb:5000"]
        );
    }

    #[test]
    fn custom_is_the_name_of_a_spec_in_place_not_a_declared_one() {
        let p = only(
            &BROUGHT
                .replace("  edge:\n", "  custom:\n")
                .replace("  load_balancer: edge", "  load_balancer: custom"),
        );
        assert_eq!(p.field, "load_balancers.custom");
        assert!(
            p.message
                .contains("custom names a load balancer written in place"),
            "{}",
            p.message
        );
    }

    /// The config template is read from the scenario's folder when it is there: a typo
    /// in it, a template that never uses the backends, or TLS it does not end are found
    /// before the run.
    #[test]
    fn a_config_template_beside_the_scenario_is_checked_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let refused = |template: &str, extra: &str| {
            std::fs::write(dir.path().join("edge.conf.j2"), template).unwrap();
            let file = dir.path().join("s.yaml");
            let src = BROUGHT.replace(
                "  load_balancer: edge\n",
                &format!("  load_balancer: edge\n{extra}"),
            );
            std::fs::write(&file, src).unwrap();
            match crate::faults::load(&file) {
                Ok(_) => String::new(),
                Err(e) => e.to_string(),
            }
        };
        let good = "listen {{ port }}\n{% for b in backends %}server {{ b.address }}:{{ b.port }}\n{% endfor %}";
        assert_eq!(refused(good, ""), "");
        let e = refused(&good.replace("backends", "backend"), "");
        assert!(
            e.contains("load_balancers.edge.config.template: in region 'eu': it uses backend, which is no template variable"),
            "{e}"
        );
        let e = refused("listen {{ port }}\n", "");
        assert!(
            e.contains("none of its config template, args or env uses {{ backends }}"),
            "{e}"
        );
        let e = refused(good, "  tls: self-signed\n");
        assert!(
            e.contains("topology.tls is self-signed, but none of its templates uses"),
            "{e}"
        );
        let tls = format!(
            "{good}\n{{% if tls_certificate %}}ssl {{{{ tls_certificate }}}}{{% endif %}}\n"
        );
        assert_eq!(refused(&tls, "  tls: self-signed\n"), "");
    }
}
