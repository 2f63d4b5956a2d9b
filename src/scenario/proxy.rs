//! Each region's pull-through proxy of the upstream: distribution in proxy mode or nginx,
//! as drill configures them, or one a team brings, as an image in the local engine or a
//! host binary drill packs, configured by a template that is given the upstream's URL.

use super::brought::{self, check_launch, Choice, Spec, Templates, Variables};
use super::{Location, Problem, ProxyKind, ProxyMode, Scenario};
use crate::model::kinds::ProxyCaching;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `topology.proxy`: distribution (or per-region, the same), nginx, a name declared
/// under `proxies:`, or a spec written in place.
pub type ProxyChoice = Choice<ProxySpec>;

impl Spec for ProxySpec {
    const EXPECTING: &'static str = "distribution, nginx, the name of a proxy under `proxies:`, \
        or a spec such as { image: team/cache:1, storage: { path: /cache } }";
    const CHOICE: &'static str = "ProxyChoice";
}

super::brought::brought_spec! {
    /// A pull-through proxy drill did not configure: it is given the upstream's URL through
    /// its templates and must serve the upstream's images, caching them on its volume.
    pub struct ProxySpec {
        /// Where the proxy's volume is mounted: what it caches lives there, and
        /// `cache-wipe` empties it.
        pub storage: CacheStorage,
        /// How it finds a cached manifest: `by-digest` (default: it stores manifests by
        /// digest, as distribution does, so an image pulled by tag is served by digest), or
        /// `by-url` (only by the reference it was fetched by, as nginx's cache does).
        #[serde(default)]
        pub caches: ProxyCaching,
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheStorage {
    /// The cache folder inside the container.
    pub path: String,
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
    /// `region`'s pull-through proxy: its own `proxy:`, else the topology's; None when
    /// neither gives it one.
    pub fn proxy_of<'a>(&'a self, region: &'a super::Region) -> Option<Resolved<'a>> {
        let choice = &region
            .proxy
            .as_ref()
            .or(self.topology.value.proxy.as_ref())?
            .value;
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
                name: brought::IN_PLACE,
                spec,
            },
        })
    }

    /// Whether `region` has a pull-through proxy.
    pub fn has_proxy(&self, region: &str) -> bool {
        self.region(region)
            .is_some_and(|r| self.proxy_of(r).is_some())
    }

    /// Whether any region has a pull-through proxy.
    pub fn any_proxy(&self) -> bool {
        self.topology
            .value
            .regions
            .iter()
            .any(|r| self.proxy_of(&r.value).is_some())
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

impl ProxyVars {
    /// What `spec`'s templates are given in `region`, in front of the upstream's fault
    /// point `gate`.
    pub fn new(region: &str, spec: &ProxySpec, gate: &str) -> ProxyVars {
        let upstream_host = format!("{gate}:{}", crate::model::wire::REGISTRY_PORT);
        ProxyVars {
            region: region.to_string(),
            port: spec.launch().port,
            storage: spec.storage.path.clone(),
            upstream: format!("http://{upstream_host}"),
            upstream_host,
            resolver: super::balancer::DOCKER_DNS.into(),
        }
    }
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

const KIND: brought::Kind<ProxySpec> = brought::Kind {
    part: "proxy",
    key: "proxy",
    declared_under: "proxies",
    builtins: "distribution, nginx",
    is_builtin: |n| ProxyMode::named(n).is_some(),
    declared: |s| &s.proxies,
    topology: |s| s.topology.value.proxy.as_ref(),
    own: |r| r.proxy.as_ref(),
    check: check_spec,
};

/// The proxies declared and chosen: names, sources, paths and templates.
pub(super) fn validate(s: &Scenario, p: &mut Vec<Problem>) {
    KIND.validate(s, p, |region, loc, field, p| match s.proxy_of(region) {
        None | Some(Resolved::Builtin(_)) => {}
        Some(Resolved::Unknown(n)) => p.push(Problem::at(loc, &field, KIND.unknown(s, n))),
        Some(Resolved::Custom { name, spec }) => {
            let (loc, field) = KIND.written_at(s, name, (loc, field));
            let vars = ProxyVars::new(&region.name, spec, "upstream-gate");
            let templates = Templates::of(&spec.args, &spec.env, &spec.config, s.dir.as_deref());
            templates.check(&vars, &region.name, loc, &field, p);
            if !templates.may_use(&["upstream", "upstream_host"]) {
                p.push(Problem::at(
                    loc,
                    &field,
                    "a brought proxy learns the upstream from its templates, and none of its \
                     config template, args or env uses {{ upstream }} or {{ upstream_host }}",
                ));
            }
        }
    });
}

/// What a spec must hold by itself, wherever it is chosen.
fn check_spec(spec: &ProxySpec, loc: &Location, field: &str, p: &mut Vec<Problem>) {
    let mut problem = |key: &str, msg: String| {
        p.push(Problem::at(loc, format!("{field}.{key}"), msg));
    };
    check_launch(&spec.launch(), &mut problem);
    brought::check_storage(&spec.storage.path, "/cache", &mut problem);
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
        assert!(!proxy.record().caching().by_url());
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
        let p = only(&blind);
        assert_eq!(p.field, "proxies.team-cache");
        assert!(p.message.contains("uses {{ upstream }}"), "{}", p.message);
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

    #[test]
    fn a_region_may_have_its_own_proxy_or_none() {
        let src = r#"
name: unit
duration: 30s
topology:
  upstream: true
  regions:
    - { name: eu, zones: [eu-a], proxy: nginx }
    - { name: us, zones: [us-a] }
images:
  - { ref: library/base:1, layers: [1KiB], source: upstream }
hosts:
  - { name: e, region: eu, per_zone: 1, mirrors: [proxy], pull: [library/base:1] }
  - { name: u, region: us, per_zone: 1, mirrors: [eu-proxy], pull: [library/base:1] }
"#;
        let plan = crate::plan::build(&parse(src).unwrap(), "abc12345", 1);
        assert_eq!(plan.regions[0].proxy.as_ref().unwrap().kind.name(), "nginx");
        assert!(plan.regions[1].proxy.is_none());
        let p = only(&src.replace("mirrors: [eu-proxy]", "mirrors: [proxy]"));
        assert_eq!(p.field, "hosts[1].mirrors");
        assert!(p.message.contains("region us has none"), "{}", p.message);
        let over = src.replace(
            "  upstream: true\n",
            "  upstream: true\n  proxy: distribution\n",
        );
        let plan = crate::plan::build(&parse(&over).unwrap(), "abc12345", 1);
        let kinds: Vec<&str> = plan
            .regions
            .iter()
            .map(|r| r.proxy.as_ref().unwrap().kind.name())
            .collect();
        assert_eq!(kinds, ["nginx", "distribution"]);
    }

    #[test]
    fn a_matrix_sets_the_proxy_where_the_file_has_one_and_only_there() {
        use crate::scenario::matrix::{Combination, Setting};
        let src = "name: unit\nduration: 30s\ntopology:\n  upstream: true\n  regions:\n    - { name: eu, zones: [eu-a], proxy: nginx }\n    - { name: us, zones: [us-a] }\nimages:\n  - { ref: library/base:1, layers: [1KiB], source: upstream }\n";
        let mut s = parse(src).unwrap();
        Combination(vec![Setting::Proxy("distribution".into())]).apply(&mut s);
        let plan = crate::plan::build(&s, "abc12345", 1);
        assert_eq!(
            plan.regions[0].proxy.as_ref().unwrap().kind.name(),
            "distribution"
        );
        assert!(plan.regions[1].proxy.is_none(), "us stays without a proxy");
        // Without upstream, the refusal points at the region that asks for a proxy.
        let p = parse(&src.replace("  upstream: true\n", "")).unwrap_err();
        assert_eq!(
            (p[0].line, p[0].field.as_str()),
            (5, "topology.regions[0].proxy")
        );
    }
}
