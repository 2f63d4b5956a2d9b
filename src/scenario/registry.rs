//! Which registry a region's nodes run: drill's built-in `distribution`, or one a team
//! brings, as an image in the local engine or a host binary drill packs. A brought
//! registry is described by what drill needs to run it and to aim faults at it: its
//! command, port, configuration template, health check, storage and capabilities.

use super::brought::{self, check_launch, Choice, Spec, Templates, Variables};
use super::{AuthKind, Location, Problem, Region, Scenario};
use crate::model::registry::{BlobLayout, Capability};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The built-in registry: distribution 2.8 from Debian's package.
pub const DISTRIBUTION: &str = "distribution";

/// `registry:` in the topology or a region: a name (`distribution`, or one declared under
/// `registries:`), or a spec written in place.
pub type RegistryChoice = Choice<RegistrySpec>;

impl Spec for RegistrySpec {
    const EXPECTING: &'static str = "distribution, the name of a registry under `registries:`, \
        or a spec such as { binary: /usr/local/bin/my-registry, storage: { path: /data } }";
    const CHOICE: &'static str = "RegistryChoice";
}

pub use super::brought::Port;

super::brought::brought_spec! {
    /// A registry implementation drill did not build.
    pub struct RegistrySpec {
        /// What the load balancers check a node with.
        #[serde(default)]
        pub health: Health,
        /// Where the region's storage volume is mounted, and how blobs lie in it.
        pub storage: Storage,
        /// What it can do (default: push and anonymous).
        #[serde(default = "default_capabilities")]
        pub capabilities: Vec<Capability>,
    }
}

fn default_capabilities() -> Vec<Capability> {
    vec![Capability::Push, Capability::Anonymous]
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// The path checked (default `/v2/`).
    #[serde(default = "default_health_path")]
    pub path: String,
    /// The statuses of a healthy node (default 200; e.g. [200, 401] for a registry that
    /// demands credentials even there). Caddy checks the first only.
    #[serde(default = "default_health_status")]
    pub status: Vec<u16>,
}

impl Default for Health {
    fn default() -> Health {
        Health {
            path: default_health_path(),
            status: default_health_status(),
        }
    }
}

fn default_health_path() -> String {
    "/v2/".into()
}

fn default_health_status() -> Vec<u16> {
    vec![200]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The data folder inside the container: the region's volume is mounted there.
    pub path: String,
    /// How blobs lie in it: `distribution`, `none` (blob faults are refused), or a
    /// path pattern such as `blobs/{hex}` (`{algorithm}`, `{hex}`, `{hex2}`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub layout: Layout,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Layout {
    #[default]
    None,
    Known(BlobLayout),
}

impl<'de> Deserialize<'de> for Layout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "none" => Ok(Layout::None),
            DISTRIBUTION => Ok(Layout::Known(BlobLayout::Distribution)),
            p if p.contains("{hex}") && !p.starts_with('/') && !p.contains("..") => {
                Ok(Layout::Known(BlobLayout::Pattern(p.to_string())))
            }
            _ => Err(serde::de::Error::custom(format!(
                "'{text}' is no layout: write distribution, none, or a path inside the storage \
                 with {{hex}} in it, e.g. blobs/{{hex}}"
            ))),
        }
    }
}

/// The registry a region's nodes run, resolved.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    Distribution,
    Custom {
        /// Its name under `registries:`, or `custom` for one written in place.
        name: &'a str,
        spec: &'a RegistrySpec,
    },
    /// A name neither built in nor declared (validation refuses it).
    Unknown(&'a str),
}

impl Scenario {
    /// The registry `region`'s nodes run: its own `registry:`, else the topology's,
    /// else distribution.
    pub fn registry_of<'a>(&'a self, region: &'a Region) -> Resolved<'a> {
        let choice = region
            .registry
            .as_ref()
            .or(self.topology.value.registry.as_ref());
        match choice.map(|c| &c.value) {
            None => Resolved::Distribution,
            Some(RegistryChoice::Named(n)) if n == DISTRIBUTION => Resolved::Distribution,
            Some(RegistryChoice::Named(n)) => match self.registries.get(n) {
                Some(spec) => Resolved::Custom {
                    name: n,
                    spec: &spec.value,
                },
                None => Resolved::Unknown(n),
            },
            Some(RegistryChoice::Custom(spec)) => Resolved::Custom {
                name: brought::IN_PLACE,
                spec,
            },
        }
    }
}

/// The values a brought registry's templates (args, env, config file) may use. Those a
/// region does not have (credentials without auth, token settings without tokens) are
/// absent, and a template that uses one is refused.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TemplateVars {
    pub node: String,
    pub zone: String,
    pub region: String,
    pub port: u16,
    pub storage: String,
    /// Shared by a region's nodes (distribution's `http.secret`), so uploads may span them.
    pub secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub htpasswd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_realm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_certificate: Option<String>,
}

impl Variables for TemplateVars {
    const ALL: &'static [&'static str] = &[
        "node",
        "zone",
        "region",
        "port",
        "storage",
        "secret",
        "upstream",
        "username",
        "password",
        "htpasswd",
        "token_realm",
        "token_issuer",
        "token_service",
        "token_certificate",
    ];

    fn why_absent(name: &str) -> &'static str {
        match name {
            "username" | "password" => "credentials exist only with auth: htpasswd or token",
            "htpasswd" => "the htpasswd file exists only with auth: htpasswd",
            "upstream" => "only a topology with upstream: true has one",
            _ => "token settings exist only with auth: token",
        }
    }
}

/// Where a region's template variables come from, as validation sees them (the run's
/// secrets replaced by samples).
pub fn sample_vars(s: &Scenario, region: &Region, spec: &RegistrySpec) -> TemplateVars {
    let auth = s.topology.value.auth_of(region);
    let sample = |on: bool, v: &str| on.then(|| v.to_string());
    let token = auth == AuthKind::Token;
    let creds = auth != AuthKind::None;
    TemplateVars {
        node: format!("{}-1", region.zones.first().map_or("zone", |z| z.as_str())),
        zone: region.zones.first().cloned().unwrap_or_default(),
        region: region.name.clone(),
        port: spec.port.get() as u16,
        storage: spec.storage.path.clone(),
        secret: "0".repeat(32),
        upstream: sample(s.topology.value.upstream, "http://upstream:5000"),
        username: sample(creds, "drill"),
        password: sample(creds, "secret"),
        htpasswd: sample(auth == AuthKind::Htpasswd, "/etc/drill/htpasswd"),
        token_realm: sample(token, "http://token:5000/token"),
        token_issuer: sample(token, "drill"),
        token_service: sample(token, "drill"),
        token_certificate: sample(token, "/etc/drill/token.crt"),
    }
}

const KIND: brought::Kind<RegistrySpec> = brought::Kind {
    part: "registry",
    key: "registry",
    declared_under: "registries",
    builtins: DISTRIBUTION,
    is_builtin: |n| n == DISTRIBUTION,
    declared: |s| &s.registries,
    topology: |s| s.topology.value.registry.as_ref(),
    own: |r| r.registry.as_ref(),
    check: check_spec,
};

/// The registries declared and chosen: names, sources, paths, templates and the
/// capabilities each region asks of its registry.
pub(super) fn validate(s: &Scenario, p: &mut Vec<Problem>) {
    KIND.validate(s, p, |region, loc, field, p| match s.registry_of(region) {
        Resolved::Distribution => {}
        Resolved::Unknown(n) => p.push(Problem::at(loc, &field, KIND.unknown(s, n))),
        Resolved::Custom { name, spec } => {
            check_capabilities(s, region, name, spec, loc, &field, p);
            let (loc, field) = KIND.written_at(s, name, (loc, field));
            check_templates(s, region, spec, loc, &field, p);
        }
    });
}

/// What a spec must hold by itself, wherever it is chosen.
fn check_spec(spec: &RegistrySpec, loc: &Location, field: &str, p: &mut Vec<Problem>) {
    let mut problem = |key: &str, msg: String| {
        p.push(Problem::at(loc, format!("{field}.{key}"), msg));
    };
    check_launch(&spec.launch(), &mut problem);
    brought::check_storage(&spec.storage.path, "/data", &mut problem);
    if !spec.health.path.starts_with('/') || spec.health.path.contains(char::is_whitespace) {
        problem(
            "health.path",
            format!("'{}' must be a path such as /v2/", spec.health.path),
        );
    }
    if spec.health.status.is_empty() {
        problem(
            "health.status",
            "name at least one status, e.g. [200, 401]".into(),
        );
    }
    for s in &spec.health.status {
        if !(100..=599).contains(s) {
            problem(
                "health.status",
                format!("{s} is no HTTP status: use 100 to 599"),
            );
        }
    }
    if !spec.capabilities.contains(&Capability::Push) {
        problem(
            "capabilities",
            "drill seeds every image by pushing it to each region: a registry without push \
             cannot be seeded"
                .into(),
        );
    }
}

/// The authentication a region demands, against what its registry can do.
fn check_capabilities(
    s: &Scenario,
    region: &Region,
    name: &str,
    spec: &RegistrySpec,
    loc: &Location,
    field: &str,
    p: &mut Vec<Problem>,
) {
    let auth = s.topology.value.auth_of(region);
    let (needed, why) = match auth {
        AuthKind::None => (
            Capability::Anonymous,
            "serves clients without credentials (its capabilities lack anonymous); give the \
             region auth: htpasswd",
        ),
        AuthKind::Htpasswd => (
            Capability::Htpasswd,
            "checks the run's credentials (its capabilities lack htpasswd)",
        ),
        AuthKind::Token => (
            Capability::Token,
            "trusts the run's bearer tokens (its capabilities lack token)",
        ),
    };
    if !spec.capabilities.contains(&needed) {
        p.push(Problem::at(
            loc,
            field,
            format!(
                "region '{}' demands auth: {}, but nothing says registry '{name}' {why}",
                region.name,
                auth_words(auth)
            ),
        ));
    }
}

fn auth_words(auth: AuthKind) -> &'static str {
    match auth {
        AuthKind::None => "none",
        AuthKind::Htpasswd => "htpasswd",
        AuthKind::Token => "token",
    }
}

/// Every template a region's nodes are rendered from, with sample values: a variable
/// the region does not have, or a broken template, is found before the run.
fn check_templates(
    s: &Scenario,
    region: &Region,
    spec: &RegistrySpec,
    loc: &Location,
    field: &str,
    p: &mut Vec<Problem>,
) {
    let vars = sample_vars(s, region, spec);
    Templates::of(&spec.args, &spec.env, &spec.config, s.dir.as_deref()).check(
        &vars,
        &region.name,
        loc,
        field,
        p,
    );
}

#[cfg(test)]
mod tests {
    use crate::faults::parse;
    use crate::scenario::Problem;

    const BROUGHT: &str = r#"
name: unit
duration: 30s
registries:
  cr:
    binary: ~/.cargo/bin/container-registry
    args: [--bind, "0.0.0.0:{{ port }}", --storage, "{{ storage }}", --password, "{{ password }}"]
    port: 3000
    health: { path: /v2/, status: [401] }
    storage: { path: /data, layout: "blobs/{hex}" }
    capabilities: [push, htpasswd]
topology:
  registry: cr
  auth: htpasswd
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
images:
  - { ref: team/app:1, layers: [1KiB] }
timeline:
  - { at: 1s, fault: corrupt-blob, target: eu, image: team/app:1 }
"#;

    fn problems(src: &str) -> Vec<Problem> {
        parse(src).expect_err("the scenario is refused")
    }

    fn only(src: &str) -> Problem {
        let p = problems(src);
        assert_eq!(p.len(), 1, "{p:#?}");
        p.into_iter().next().unwrap()
    }

    #[test]
    fn a_brought_registry_is_planned_with_its_port_storage_and_layout() {
        let s = parse(BROUGHT).unwrap();
        let plan = crate::plan::build(&s, "abc12345", 1);
        let r = &plan.regions[0];
        let c = r.registry.custom().expect("a brought registry");
        assert_eq!(
            (c.name.as_str(), c.launch.port, r.registry.storage()),
            ("cr", 3000, "/data")
        );
        assert!(r
            .balancer
            .builtin()
            .unwrap()
            .config
            .contains("server eu-a-1 drill-abc12345-eu-a-1:3000"));
        assert!(r
            .balancer
            .builtin()
            .unwrap()
            .config
            .contains("http-check expect status 401"));
        let fault = plan
            .timeline
            .iter()
            .find_map(|s| match &s.what {
                crate::plan::StepPlan::Fault(f) => Some(f),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            fault.layout.as_ref().unwrap().path_of("sha256:abcd"),
            "blobs/abcd"
        );
    }

    #[test]
    fn auth_none_on_a_registry_that_demands_credentials_is_refused_where_it_is_chosen() {
        let src = BROUGHT
            .replace("  auth: htpasswd\n", "")
            .replace(", --password, \"{{ password }}\"", "");
        let p = only(&src);
        assert_eq!((p.line, p.field.as_str()), (13, "topology.registry"));
        assert!(
            p.message.contains("region 'eu' demands auth: none"),
            "{}",
            p.message
        );
        assert!(p.message.contains("lack anonymous"), "{}", p.message);
    }

    #[test]
    fn token_auth_without_token_support_is_refused() {
        let src = BROUGHT.replace("  auth: htpasswd\n", "  auth: token\n");
        let p = only(&src);
        assert!(p.message.contains("demands auth: token"), "{}", p.message);
    }

    #[test]
    fn a_blob_fault_on_a_storage_without_layout_is_refused_at_its_step() {
        let src = BROUGHT.replace(", layout: \"blobs/{hex}\"", "");
        let p = only(&src);
        assert_eq!((p.line, p.field.as_str()), (20, "timeline[0].target"));
        assert!(
            p.message.contains("declares no storage layout"),
            "{}",
            p.message
        );
    }

    #[test]
    fn a_template_variable_the_region_lacks_is_refused_naming_the_argument() {
        let src = BROUGHT.replace("  auth: htpasswd\n", "").replace(
            "capabilities: [push, htpasswd]",
            "capabilities: [push, anonymous]",
        );
        let p = only(&src);
        assert_eq!(p.field, "registries.cr.args[5]");
        assert!(
            p.message
                .contains("uses password, which this region does not have"),
            "{}",
            p.message
        );
        let typo = BROUGHT.replace("{{ storage }}", "{{ storgae }}");
        let p = only(&typo);
        assert_eq!(p.field, "registries.cr.args[3]");
        assert!(
            p.message.contains("storgae, which is no template variable"),
            "{}",
            p.message
        );
    }

    #[test]
    fn a_spec_without_push_or_source_or_with_both_sources_is_refused() {
        let no_push = BROUGHT.replace("[push, htpasswd]", "[htpasswd]");
        assert_eq!(only(&no_push).field, "registries.cr.capabilities");
        let none = BROUGHT.replace("    binary: ~/.cargo/bin/container-registry\n", "");
        assert!(only(&none).message.contains("say what to run"));
        let both = BROUGHT.replace(
            "    binary: ~/.cargo/bin/container-registry\n",
            "    binary: ~/.cargo/bin/container-registry\n    image: me/cr:1\n",
        );
        assert!(only(&both).message.contains("not both"));
    }

    #[test]
    fn an_unknown_registry_name_lists_the_declared_ones() {
        let p = only(&BROUGHT.replace("  registry: cr", "  registry: zot"));
        assert!(
            p.message
                .contains("'zot' is no registry: write distribution or one of cr"),
            "{}",
            p.message
        );
    }

    #[test]
    fn a_layout_that_cannot_name_a_blob_is_refused_by_the_parser() {
        let p = problems(&BROUGHT.replace("\"blobs/{hex}\"", "/abs/{hex}"));
        assert!(p[0].message.contains("is no layout"), "{p:#?}");
    }

    #[test]
    fn a_region_may_run_another_registry_than_the_topology() {
        let src = BROUGHT.replace(
            "    - { name: eu, zones: [eu-a, eu-b] }",
            "    - { name: eu, zones: [eu-a, eu-b] }\n    - { name: us, zones: [us-a], registry: distribution }",
        );
        let plan = crate::plan::build(&parse(&src).unwrap(), "abc12345", 1);
        assert_eq!(plan.regions[0].registry.name(), "cr");
        assert_eq!(plan.regions[1].registry.name(), "distribution");
        assert!(plan.regions[1]
            .balancer
            .builtin()
            .unwrap()
            .config
            .contains("drill-abc12345-us-a-1:5000"));
    }

    #[test]
    fn templates_render_with_the_regions_values_and_keep_the_last_newline() {
        let vars = super::TemplateVars {
            node: "eu-a-1".into(),
            port: 3000,
            ..Default::default()
        };
        assert_eq!(
            super::super::brought::render("listen: {{ port }} # {{ node }}\n", &vars).unwrap(),
            "listen: 3000 # eu-a-1\n"
        );
        // An absent variable may be tested, not used.
        let render = super::super::brought::render::<super::TemplateVars>;
        assert_eq!(render("{% if password %}x{% endif %}", &vars).unwrap(), "");
        let used = render("{% if not password %}{{ password }}{% endif %}", &vars);
        assert!(
            matches!(&used, Err(super::super::brought::TemplateError::Absent { name, .. }) if name == "password"),
            "{used:?}"
        );
    }
}
