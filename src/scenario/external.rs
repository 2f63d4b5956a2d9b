//! A topology drill does not build: a registry the team runs, reached at the URLs the
//! scenario declares. drill starts only its fleets, probes and canaries against it; the
//! faults are the team's own commands (`exec`) or something else's (`external`).
//!
//! Its regions become the scenario's regions before validation (same names, same
//! zones), so hosts, mirrors and fault regions are checked as for a built topology;
//! what only a built topology has is refused here.

use super::{Problem, Replication, Scenario};
use crate::model::kinds::{FaultKind, HostKind};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct External {
    /// Each region's entry point, as its clients reach it.
    #[schemars(with = "Vec<ExternalRegion>")]
    pub regions: Vec<Spanned<ExternalRegion>>,
    /// How pushes (seeded images, canaries) reach the regions: `push-to-all` (the
    /// default), or `none` with a `primary` when the registry replicates by itself and
    /// the canaries measure its lag.
    #[serde(default)]
    pub replication: Option<Replication>,
    /// A PEM file of the CA the entry points' certificates chain to (for `https://`
    /// URLs signed by a private CA), found from the scenario's folder.
    #[serde(default)]
    pub ca: Option<String>,
    /// The environment variable that holds the user name drill pulls and pushes with.
    #[serde(default)]
    pub username_env: Option<String>,
    /// The environment variable that holds the password.
    #[serde(default)]
    pub password_env: Option<String>,
}

#[derive(Debug, Deserialize, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalRegion {
    pub name: String,
    /// The region's entry point: `http://host:port` or `https://host:port`.
    pub url: String,
    /// The zones its hosts are placed in (names only: drill reaches the region through
    /// its URL).
    pub zones: Vec<String>,
}

impl External {
    /// The environment variables the credentials are read from, when declared.
    pub fn credentials_env(&self) -> Option<(&str, &str)> {
        Some((self.username_env.as_deref()?, self.password_env.as_deref()?))
    }

    /// Each region's name and entry point.
    pub fn entry_points(&self) -> impl Iterator<Item = (&str, &str)> {
        self.regions
            .iter()
            .map(|r| (r.value.name.as_str(), r.value.url.as_str()))
    }
}

/// Gives an external topology's regions and replication to the scenario, as a built
/// topology declares them; what the file wrote for a built topology beside it is
/// refused.
pub(super) fn adopt(s: &mut Scenario) -> Vec<Problem> {
    let t = &mut s.topology.value;
    let Some(external) = &t.external else {
        return Vec::new();
    };
    let at = &s.topology.referenced;
    let mut p = Vec::new();
    let beside = [
        ("regions", !t.regions.is_empty()),
        ("load_balancer", t.load_balancer.is_some()),
        ("registry", t.registry.is_some()),
        ("replication", t.replication.is_some()),
        ("upstream", t.upstream),
        ("proxy", t.proxy.is_some()),
        ("tls", t.tls.is_some()),
        ("token_service", t.token_service.is_some()),
    ];
    for (key, written) in beside {
        if written {
            p.push(Problem::at(
                at,
                format!("topology.{key}"),
                format!("an external topology is not built, so it takes no `{key}`: remove it (what the topology is, is declared under topology.external)"),
            ));
        }
    }
    if t.auth != super::AuthKind::None {
        p.push(Problem::at(
            at,
            "topology.auth",
            "an external topology's authentication is its own: remove `auth`, and name the variables holding drill's credentials in topology.external.username_env and password_env",
        ));
    }
    let regions = external
        .regions
        .iter()
        .map(|r| Spanned {
            value: super::Region {
                name: r.value.name.clone(),
                zones: r.value.zones.clone(),
                nodes_per_zone: super::one(),
                auth: None,
                load_balancer: None,
                proxy: None,
                registry: None,
                storage_limit: None,
            },
            referenced: r.referenced,
            defined: r.defined,
        })
        .collect();
    let replication = external.replication.clone().map(|r| Spanned {
        value: r,
        referenced: *at,
        defined: *at,
    });
    t.regions = regions;
    t.replication = replication;
    p
}

/// Problems of a field path written for the regions a built topology declares, said
/// where an external topology declares them.
pub(super) fn relocate(problems: &mut [Problem]) {
    for p in problems {
        if let Some(rest) = p.field.strip_prefix("topology.regions") {
            p.field = format!("topology.external.regions{rest}");
        } else if let Some(rest) = p.field.strip_prefix("topology.replication") {
            p.field = format!("topology.external.replication{rest}");
        }
    }
}

/// What an external topology's scenario may not ask for, and its URLs, CA and
/// credentials' variables.
pub(super) fn validate(s: &Scenario, p: &mut Vec<Problem>) {
    let Some(external) = &s.topology.value.external else {
        for (i, image) in s.images.value.iter().enumerate() {
            if image.value.existing {
                p.push(Problem::at(
                    &image.referenced,
                    format!("images[{i}].existing"),
                    "drill builds this topology empty, so no image is already there: remove `existing`, or point the scenario at your registry with topology.external",
                ));
            }
        }
        return;
    };
    let mut urls = std::collections::BTreeMap::new();
    for (i, r) in external.regions.iter().enumerate() {
        let field = format!("topology.external.regions[{i}].url");
        if let Err(why) = check_url(&r.value.url) {
            p.push(Problem::at(&r.referenced, &field, why));
        } else if r.value.url.starts_with("https://") && external.ca.is_none() {
            p.push(Problem::at(
                &r.referenced,
                &field,
                "an https:// entry point needs topology.external.ca: drill trusts only the CAs it is given, never the system's; for a certificate from a public CA give the system's bundle, e.g. ca: /etc/ssl/certs/ca-certificates.crt",
            ));
        } else if let Some(other) = urls.insert(r.value.url.trim_end_matches('/'), &r.value.name) {
            p.push(Problem::at(
                &r.referenced,
                &field,
                format!("region {other} has the same URL: each region is its own entry point"),
            ));
        }
    }
    let at = &s.topology.referenced;
    match (&external.username_env, &external.password_env) {
        (Some(_), None) | (None, Some(_)) => p.push(Problem::at(
            at,
            "topology.external",
            "username_env and password_env go together: name both variables, or neither",
        )),
        _ => {}
    }
    for (key, name) in [
        ("username_env", &external.username_env),
        ("password_env", &external.password_env),
    ] {
        if let Some(name) = name.as_deref().filter(|n| !valid_variable(n)) {
            p.push(Problem::at(
                at,
                format!("topology.external.{key}"),
                format!("'{name}' is not an environment variable's name: the name of the variable that holds the secret, e.g. REGISTRY_PASSWORD, never the secret itself"),
            ));
        }
    }
    // The CA file is read by the run, before anything starts (exit 4 when it cannot be):
    // the machine that validates a scenario may not be the one that holds it.
    for (i, step) in s.timeline.iter().enumerate() {
        match step.value.fault {
            Some(FaultKind::Exec | FaultKind::External) | None => {}
            Some(kind) => p.push(Problem::at(
                &step.referenced,
                format!("timeline[{i}].fault"),
                format!("{} acts on a container of a topology drill built; against an external topology, inject with your own commands (`fault: exec`) or mark what something else injects (`fault: external`)", kind.name()),
            )),
        }
        if step.value.action == Some(super::Action::ProxyCheck) {
            p.push(Problem::at(
                &step.referenced,
                format!("timeline[{i}].do"),
                "proxy-check pulls through the proxies drill builds; an external topology has none",
            ));
        }
    }
    for (i, h) in s.hosts.iter().enumerate() {
        let why = match h.value.kind {
            HostKind::Native => None,
            HostKind::Containerd => Some("containerd hosts run on the network of a topology drill builds and cannot reach an external one yet: use native hosts"),
            // It would pull into, and wipe images from, this machine's engine under the
            // registry's own names, and trusts neither `ca` nor plain HTTP to a remote host.
            HostKind::Docker => Some("the docker host cannot pull from an external topology yet: use native hosts"),
        };
        if let Some(why) = why {
            p.push(Problem::at(&h.referenced, format!("hosts[{i}].kind"), why));
        }
        for (j, m) in h.value.mirrors.iter().enumerate() {
            if !matches!(m.as_str(), "region" | "other-regions")
                && !s.topology.value.regions.iter().any(|r| &r.value.name == m)
            {
                p.push(Problem::at(
                    &h.referenced,
                    format!("hosts[{i}].mirrors[{j}]"),
                    format!("an external topology has only its regions' entry points: `{m}` is none of them (write region, other-regions or a region's name)"),
                ));
            }
        }
    }
    for (i, image) in s.images.value.iter().enumerate() {
        if image.value.source == super::ImageSource::Upstream {
            p.push(Problem::at(
                &image.referenced,
                format!("images[{i}].source"),
                "an external topology has no upstream drill builds: remove `source`",
            ));
        }
    }
    if s.preconditions.proxy_cache == super::CacheState::Warm {
        p.push(Problem::at(
            at,
            "preconditions.proxy_cache",
            "an external topology has no proxies drill builds to warm: remove it",
        ));
    }
    if s.sla.auth.is_some() {
        p.push(Problem::at(
            at,
            "sla.auth",
            "the auth check tries intruders against drill's own registries; it is not available for an external topology yet: remove it",
        ));
    }
}

/// An entry point's URL: `http(s)://host[:port]`, without a path, a query or a user.
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            format!(
                "'{url}' is not an entry point's URL: write http://host:port or https://host:port"
            )
        })?;
    let authority = rest.trim_end_matches('/');
    if authority.contains('@') {
        return Err("a URL holds no credentials: name the variables that hold them in username_env and password_env".into());
    }
    if authority.is_empty()
        || authority
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
    {
        return Err(format!("'{url}' is not an entry point's URL: write http://host:port or https://host:port, without a path (drill adds /v2/)"));
    }
    Ok(())
}

fn valid_variable(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXTERNAL: &str = r#"
name: ext
duration: 30s
topology:
  external:
    regions:
      - { name: eu, url: "http://127.0.0.1:5001", zones: [eu-a] }
      - { name: us, url: "https://registry.us.example", zones: [us-a] }
    ca: ca.pem
    username_env: REG_USER
    password_env: REG_PASSWORD
images:
  - { ref: team/app:1, existing: true }
  - { ref: team/new:1, layers: [1KiB] }
hosts:
  - { name: f, region: eu, per_zone: 2, mirrors: [region, other-regions], pull: [team/app:1] }
timeline:
  - { at: 0s, do: cold-start }
  - { at: 5s, fault: exec, name: eu-down, regions: [eu], for: 5s, inject: [kubectl, cordon, x], heal: [kubectl, uncordon, x] }
  - { at: 5s, fault: external, name: cloud, for: 5s }
"#;

    /// Each problem of the scenario with `from` replaced.
    fn problems(from: &str, to: &str) -> Vec<String> {
        assert!(EXTERNAL.contains(from), "{from}");
        crate::faults::problem_lines(&EXTERNAL.replace(from, to))
    }

    #[test]
    fn an_external_topology_gives_its_regions_and_builds_nothing() {
        let s = crate::faults::parse(EXTERNAL).unwrap();
        let regions: Vec<&str> = s
            .topology
            .value
            .regions
            .iter()
            .map(|r| r.value.name.as_str())
            .collect();
        assert_eq!(regions, ["eu", "us"]);
        let plan = crate::plan::build(&s, "r", 1);
        assert!(plan.regions.is_empty());
        assert_eq!(plan.container_count(), 0);
        assert_eq!(plan.region_names(), ["eu", "us"]);
        let e = plan.external.as_ref().unwrap();
        assert_eq!(
            e.regions[1],
            ("us".to_string(), "https://registry.us.example".to_string())
        );
        assert_eq!(
            e.credentials_env,
            Some(("REG_USER".into(), "REG_PASSWORD".into()))
        );
        assert_eq!(plan.hosts[0].mirrors, ["eu", "us"]);
        assert!(plan.images[0].existing && !plan.images[1].existing);
    }

    #[test]
    fn what_only_a_built_topology_has_is_refused_where_it_is_written() {
        let cases = [
            ("  external:\n", "  tls: self-signed\n  external:\n", "topology.tls: an external topology is not built"),
            ("  external:\n", "  proxy: distribution\n  external:\n", "topology.proxy: an external topology is not built"),
            ("    ca: ca.pem\n", "", "topology.external.regions[1].url: an https:// entry point needs topology.external.ca"),
            ("per_zone: 2,", "per_zone: 2, kind: docker,", "hosts[0].kind: the docker host cannot pull from an external topology yet"),
            ("mirrors: [region, other-regions]", "mirrors: [region, proxy]", "hosts[0].mirrors[1]: an external topology has only its regions' entry points"),
            ("layers: [1KiB] }", "layers: [1KiB], source: upstream }", "images[1].source: an external topology has no upstream"),
            (
                "  external:\n",
                "  upstream: true\n  external:\n",
                "topology.upstream: an external topology is not built",
            ),
            (
                "  external:\n",
                "  regions: [{ name: eu, zones: [eu-a] }]\n  external:\n",
                "topology.regions: an external topology is not built",
            ),
            (
                "  external:\n",
                "  auth: htpasswd\n  external:\n",
                "topology.auth: an external topology's authentication is its own",
            ),
            (
                "fault: external, name: cloud, for: 5s",
                "fault: kill, target: eu-a-1, for: 5s",
                "timeline[2].fault: kill acts on a container of a topology drill built",
            ),
            (
                "per_zone: 2,",
                "per_zone: 2, kind: containerd,",
                "hosts[0].kind: containerd hosts",
            ),
            (
                "existing: true }",
                "existing: true, layers: [1KiB] }",
                "images[0].layers: an existing image is pulled as the registry holds it",
            ),
            (
                "layers: [1KiB] }",
                "}",
                "images[1].layers: declare between 1 and",
            ),
            (
                "http://127.0.0.1:5001",
                "http://u:secret@127.0.0.1:5001",
                "topology.external.regions[0].url: a URL holds no credentials",
            ),
            (
                "https://registry.us.example",
                "http://127.0.0.1:5001",
                "topology.external.regions[1].url: region eu has the same URL",
            ),
            (
                "    password_env: REG_PASSWORD\n",
                "",
                "topology.external: username_env and password_env go together",
            ),
            (
                "password_env: REG_PASSWORD",
                "password_env: hunter2!",
                "topology.external.password_env: 'hunter2!' is not an environment variable's name",
            ),
            (
                "zones: [eu-a] }",
                "zones: [Eu_A] }",
                "7 topology.external.regions[0].zones: 'Eu_A' is not a valid zone name",
            ),
            (
                "regions: [eu], for: 5s, inject",
                "regions: [ap], for: 5s, inject",
                "timeline[1].regions: `ap` is not a region of the topology (its regions: eu, us)",
            ),
        ];
        for (from, to, expected) in cases {
            let said = problems(from, to);
            assert!(
                said.iter().any(|p| p.contains(expected)),
                "{to}: expected {expected:?} in {said:#?}"
            );
        }
        // On a built topology, nothing is there already.
        let built = EXTERNAL
            .replace("  external:\n    regions:\n      - { name: eu, url: \"http://127.0.0.1:5001\", zones: [eu-a] }\n      - { name: us, url: \"https://registry.us.example\", zones: [us-a] }\n    ca: ca.pem\n    username_env: REG_USER\n    password_env: REG_PASSWORD\n", "  regions: [{ name: eu, zones: [eu-a] }, { name: us, zones: [us-a] }]\n");
        let said = match crate::faults::parse(&built) {
            Ok(_) => vec![],
            Err(ps) => ps
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect(),
        };
        assert!(
            said.iter()
                .any(|p| p.starts_with("images[0].existing: drill builds this topology empty")),
            "{said:#?}"
        );
    }

    #[test]
    fn an_entry_point_is_a_scheme_a_host_and_a_port_and_nothing_else() {
        for ok in [
            "http://127.0.0.1:5000",
            "https://registry.eu.example:443/",
            "http://[::1]:5000",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("127.0.0.1:5000", "write http://host:port"),
            ("ftp://x", "write http://host:port"),
            ("http://u:p@x:5000", "holds no credentials"),
            ("http://x:5000/v2/", "without a path"),
            ("http://", "without a path"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(valid_variable("REGISTRY_PASSWORD") && valid_variable("_x1"));
        assert!(!valid_variable("1X") && !valid_variable("hunter2!") && !valid_variable(""));
    }
}
