//! Each region's pull-through proxy of the upstream: distribution in proxy mode or nginx,
//! as drill configures them, or one a team brings, as an image in the local engine or a
//! host binary drill packs, configured by a template that is given the upstream's URL.

use super::brought::{self, check_launch, templated, Choice, ConfigFile, Launch, Spec, Variables};
use super::{Location, Problem, ProxyKind, ProxyMode, Scenario};
use crate::model::kinds::ProxyCaching;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `topology.proxy`: distribution (or per-region, the same), nginx, a name declared
/// under `proxies:`, or a spec written in place.
pub type ProxyChoice = Choice<ProxySpec>;

impl Spec for ProxySpec {
    const EXPECTING: &'static str = "distribution, nginx, the name of a proxy under `proxies:`, \
        or a spec such as { image: team/cache:1, storage: { path: /cache } }";
    const CHOICE: &'static str = "ProxyChoice";
}

/// A pull-through proxy drill did not configure: it is given the upstream's URL through
/// its templates and must serve the upstream's images, caching them on its volume.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxySpec {
    /// An image already in the local engine (drill never pulls it): `repo:tag`.
    #[serde(default)]
    pub image: Option<String>,
    /// A host binary drill packs into an image with the libraries `ldd` lists; a
    /// relative path is read from the scenario file's folder, `~/` from `$HOME`.
    #[serde(default)]
    pub binary: Option<String>,
    /// With `image:`, replaces its entrypoint.
    #[serde(default)]
    pub command: Vec<String>,
    /// Arguments (template variables allowed, e.g. `--upstream={{ upstream }}`).
    #[serde(default)]
    pub args: Vec<String>,
    /// The port it listens on inside its container (default 5000).
    #[serde(default = "default_port")]
    pub port: super::registry::Port,
    /// Environment variables; values may use template variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A configuration file rendered per region from a template.
    #[serde(default)]
    pub config: Option<ConfigFile>,
    /// Where the proxy's volume is mounted: what it caches lives there, and
    /// `cache-wipe` empties it.
    pub storage: CacheStorage,
    /// How it finds a cached manifest: `by-digest` (default: it stores manifests by
    /// digest, as distribution does, so an image pulled by tag is served by digest), or
    /// `by-url` (only by the reference it was fetched by, as nginx's cache does).
    #[serde(default)]
    pub caches: ProxyCaching,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheStorage {
    /// The cache folder inside the container.
    pub path: String,
}

fn default_port() -> super::registry::Port {
    super::registry::Port::new(5000)
}

impl ProxySpec {
    fn launch(&self) -> Launch<'_> {
        Launch {
            image: &self.image,
            binary: &self.binary,
            command: &self.command,
            config: &self.config,
        }
    }
}

/// The proxy of every region, resolved.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    Builtin(ProxyKind),
    Custom {
        /// Its name under `proxies:`, or `custom` for one written in place.
        name: &'a str,
        spec: &'a ProxySpec,
    },
    /// A name neither built in nor declared (validation refuses it).
    Unknown(&'a str),
}

impl Scenario {
    /// The proxy of every region; None without `topology.proxy`.
    pub fn proxy(&self) -> Option<Resolved<'_>> {
        let choice = &self.topology.value.proxy.as_ref()?.value;
        Some(match choice {
            Choice::Named(n) => match (ProxyMode::named(n), self.proxies.get(n)) {
                (Some(mode), _) => Resolved::Builtin(mode.kind()),
                (None, Some(spec)) => Resolved::Custom {
                    name: n,
                    spec: &spec.value,
                },
                (None, None) => Resolved::Unknown(n),
            },
            Choice::Custom(spec) => Resolved::Custom {
                name: "custom",
                spec,
            },
        })
    }
}

/// The values a brought proxy's templates (args, env, config file) may use.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProxyVars {
    pub region: String,
    /// The port to listen on (the spec's `port`).
    pub port: u16,
    /// The spec's `storage.path`: cache there.
    pub storage: String,
    /// The upstream registry's URL, through the fault point the `upstream-*` faults
    /// act on: `http://<gate>:5000`.
    pub upstream: String,
    /// The upstream's `host:port`, for a proxy configured by address.
    pub upstream_host: String,
    /// The DNS server that resolves container names on the run's network.
    pub resolver: String,
}

impl Variables for ProxyVars {
    const ALL: &'static [&'static str] = &[
        "region",
        "port",
        "storage",
        "upstream",
        "upstream_host",
        "resolver",
    ];

    fn why_absent(_: &str) -> &'static str {
        "every proxy has it"
    }
}

/// The proxies declared and chosen: names, sources, paths and templates.
pub(super) fn validate(s: &Scenario, p: &mut Vec<Problem>) {
    for (name, spec) in &s.proxies {
        let field = format!("proxies.{name}");
        if ProxyMode::named(name).is_some() {
            p.push(Problem::at(
                &spec.referenced,
                &field,
                format!("{name} is a built-in proxy: give a brought one another name"),
            ));
        } else if !super::validate::valid_name(name) {
            p.push(Problem::at(
                &spec.referenced,
                &field,
                format!(
                    "'{name}' is not a valid proxy name; {}",
                    super::validate::NAME_RULE
                ),
            ));
        }
        check_spec(&spec.value, &spec.referenced, &field, p);
    }
    let Some(chosen) = &s.topology.value.proxy else {
        return;
    };
    let (loc, field) = (&chosen.referenced, "topology.proxy");
    if let Choice::Custom(spec) = &chosen.value {
        check_spec(spec, loc, field, p);
    }
    match s.proxy() {
        None | Some(Resolved::Builtin(_)) => {}
        Some(Resolved::Unknown(n)) => {
            let declared: Vec<&str> = s.proxies.keys().map(|k| k.as_str()).collect();
            p.push(Problem::at(
                loc,
                field,
                format!(
                    "'{n}' is no proxy: write distribution, nginx{}",
                    if declared.is_empty() {
                        ", or declare it under `proxies:`".to_string()
                    } else {
                        format!(" or one of {}", declared.join(", "))
                    }
                ),
            ));
        }
        Some(Resolved::Custom { name, spec }) => {
            let (loc, field) = match s.proxies.get(name) {
                Some(declared) => (&declared.referenced, format!("proxies.{name}")),
                None => (loc, field.to_string()),
            };
            for r in &s.topology.value.regions {
                let vars = ProxyVars {
                    region: r.value.name.clone(),
                    port: spec.port.get() as u16,
                    storage: spec.storage.path.clone(),
                    upstream: "http://upstream-gate:5000".into(),
                    upstream_host: "upstream-gate:5000".into(),
                    resolver: super::balancer::DOCKER_DNS.into(),
                };
                let texts = templated(&spec.args, &spec.env);
                brought::check_templates(texts, &vars, &r.value.name, loc, &field, p);
            }
        }
    }
}

/// What a spec must hold by itself, wherever it is chosen.
fn check_spec(spec: &ProxySpec, loc: &Location, field: &str, p: &mut Vec<Problem>) {
    let mut problem = |key: &str, msg: String| {
        p.push(Problem::at(loc, format!("{field}.{key}"), msg));
    };
    check_launch(&spec.launch(), &mut problem);
    if !spec.storage.path.starts_with('/') {
        problem(
            "storage.path",
            format!(
                "'{}' must be an absolute path inside the container, e.g. /cache",
                spec.storage.path
            ),
        );
    }
    if spec.config.is_none() && spec.args.is_empty() && spec.env.is_empty() {
        problem(
            "config",
            "a brought proxy learns the upstream from its templates: give it config: { \
             template: FILE, path: PATH }, or args or env that use {{ upstream }}"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::faults::parse;
    use crate::scenario::Problem;

    const BROUGHT: &str = r#"
name: unit
duration: 30s
proxies:
  team-cache:
    binary: /usr/bin/docker-registry
    args: [serve, /etc/cache.yml]
    port: 6000
    config: { template: cache.yml.j2, path: /etc/cache.yml }
    storage: { path: /cache }
topology:
  upstream: true
  proxy: team-cache
  regions:
    - { name: eu, zones: [eu-a] }
images:
  - { ref: library/base:1, layers: [1KiB], source: upstream }
hosts:
  - { name: f, region: eu, per_zone: 1, mirrors: [proxy], pull: [library/base:1] }
timeline:
  - { at: 1s, fault: cache-wipe, target: eu-proxy }
"#;

    fn only(src: &str) -> Problem {
        let p = parse(src).expect_err("the scenario is refused");
        assert_eq!(p.len(), 1, "{p:#?}");
        p.into_iter().next().unwrap()
    }

    #[test]
    fn a_brought_proxy_is_planned_with_its_port_storage_and_the_upstream() {
        let plan = crate::plan::build(&parse(BROUGHT).unwrap(), "abc12345", 1);
        let proxy = plan.regions[0].proxy.as_ref().unwrap();
        let c = proxy.custom().expect("a brought proxy");
        assert_eq!((c.name.as_str(), c.launch.port), ("team-cache", 6000));
        assert_eq!(c.vars.upstream, "http://drill-abc12345-upstream-gate:5000");
        assert_eq!(c.vars.storage, "/cache");
        assert!(!proxy.caching().by_url());
    }

    #[test]
    fn an_unknown_or_built_in_name_is_refused_where_it_is_written() {
        let p = only(&BROUGHT.replace("  proxy: team-cache", "  proxy: squid"));
        assert_eq!((p.line, p.field.as_str()), (13, "topology.proxy"));
        assert!(
            p.message
                .contains("'squid' is no proxy: write distribution, nginx or one of team-cache"),
            "{}",
            p.message
        );
        let p = only(
            &BROUGHT
                .replace("  team-cache:", "  nginx:")
                .replace("proxy: team-cache", "proxy: nginx"),
        );
        assert!(p.message.contains("is a built-in proxy"), "{}", p.message);
    }

    #[test]
    fn a_proxy_that_cannot_learn_the_upstream_or_has_a_relative_cache_is_refused() {
        let blind = BROUGHT
            .replace("    args: [serve, /etc/cache.yml]\n", "")
            .replace(
                "    config: { template: cache.yml.j2, path: /etc/cache.yml }\n",
                "",
            );
        assert_eq!(only(&blind).field, "proxies.team-cache.config");
        let relative = BROUGHT.replace("path: /cache", "path: cache");
        assert_eq!(only(&relative).field, "proxies.team-cache.storage.path");
        let typo = BROUGHT.replace("[serve, /etc/cache.yml]", "[serve, \"{{ upstrem }}\"]");
        let p = only(&typo);
        assert_eq!(p.field, "proxies.team-cache.args[1]");
        assert!(
            p.message.contains("upstrem, which is no template variable"),
            "{}",
            p.message
        );
    }
}
