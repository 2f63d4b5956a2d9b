//! Every name a fault target, a partition group, a mirror or a host can be known by —
//! regions, zones, nodes, load balancers, proxies, token services, the upstream, fleets,
//! hosts, the keywords — in one namespace. A scenario where two of them are spelled the
//! same is refused, with both places: a name means one thing, so a fault acts on exactly
//! what was named. Targets are resolved here, once, into a [`Target`].

use super::{Problem, Scenario, UPSTREAM};
use std::collections::HashMap;

/// What a fault's target or a partition group's member designates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A registry node, `<zone>-<n>`.
    Node { region: String, name: String },
    /// Every node of a zone.
    Zone { region: String, zone: String },
    /// Every node of a region (its load balancer and token service too, for a region
    /// outage and in a partition).
    Region(String),
    /// `<region>-lb`.
    LoadBalancer(String),
    /// `<region>-proxy`, the region's pull-through cache.
    Proxy(String),
    /// `<region>-token`, named after the region it runs in.
    TokenService(String),
    /// The upstream's fault point.
    Upstream,
    /// The hosts of a fleet.
    Fleet(String),
}

/// A part of the topology a fault acts on: a container, in the scenario's terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// A registry node, by name.
    Node(String),
    /// A region's load balancer.
    LoadBalancer(String),
    /// A region's proxy.
    Proxy(String),
    /// The token service running in a region.
    TokenService(String),
    /// The upstream's fault point.
    UpstreamGate,
    /// A containerd host's container, by host name.
    Host(String),
}

/// A part, and the region whose service it belongs to (none for the upstream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub part: Part,
    pub region: Option<String>,
}

impl Target {
    /// What a fault on this target acts on. With `whole_region` (region outages and
    /// partitions), a region's load balancer and the token service running in it go
    /// down with its nodes; otherwise a region means its nodes.
    pub fn members(&self, s: &Scenario, whole_region: bool) -> Vec<Member> {
        let t = &s.topology.value;
        let of = |part, region: &str| Member {
            part,
            region: Some(region.to_string()),
        };
        let nodes = |region: &super::Region, zone: Option<&str>| -> Vec<Member> {
            region
                .zones
                .iter()
                .filter(|z| zone.is_none_or(|only| only == z.as_str()))
                .flat_map(|z| {
                    (1..=region.nodes_per_zone.get())
                        .map(move |n| of(Part::Node(format!("{z}-{n}")), &region.name))
                })
                .collect()
        };
        match self {
            Target::Node { region, name } => vec![of(Part::Node(name.clone()), region)],
            Target::Zone { region, zone } => s
                .region(region)
                .map_or_else(Vec::new, |r| nodes(r, Some(zone))),
            Target::Region(name) => {
                let Some(region) = s.region(name) else {
                    return Vec::new();
                };
                let mut out = nodes(region, None);
                if whole_region {
                    out.push(of(Part::LoadBalancer(name.clone()), name));
                    let hosts_token = t
                        .regions
                        .iter()
                        .any(|r| t.token_home(&r.value) == Some(name.as_str()));
                    if hosts_token {
                        out.push(of(Part::TokenService(name.clone()), name));
                    }
                }
                out
            }
            Target::LoadBalancer(r) => vec![of(Part::LoadBalancer(r.clone()), r)],
            Target::Proxy(r) => vec![of(Part::Proxy(r.clone()), r)],
            Target::TokenService(r) => vec![of(Part::TokenService(r.clone()), r)],
            Target::Upstream => vec![Member {
                part: Part::UpstreamGate,
                region: None,
            }],
            Target::Fleet(name) => s
                .hosts
                .iter()
                .map(|f| &f.value)
                .filter(|f| &f.name == name && f.kind == super::HostKind::Containerd)
                .flat_map(|f| {
                    s.fleet_zones(f).into_iter().flat_map(move |z| {
                        (1..=f.per_zone.get()).map(move |n| {
                            of(Part::Host(super::host_name(&f.name, z, n)), &f.region)
                        })
                    })
                })
                .collect(),
        }
    }
}

/// Words a mirror list, a host selector or `token_service` gives a meaning of its own.
pub const KEYWORDS: &[&str] = &["region", "other-regions", "proxy", "all", "per-region"];

#[derive(Debug, Clone, PartialEq)]
enum Meaning {
    Keyword,
    Target(Target),
    /// A name drill gives a container of its own, and what the container is.
    Internal(String),
}

#[derive(Debug, Clone)]
struct Entry {
    meaning: Meaning,
    /// Where the name comes from in the scenario: the field the user wrote.
    field: String,
}

impl Entry {
    fn describe(&self, name: &str) -> String {
        match &self.meaning {
            Meaning::Keyword => format!("the keyword `{name}` of mirror lists and host selectors"),
            Meaning::Internal(what) => what.clone(),
            Meaning::Target(t) => match t {
                Target::Node { region, .. } => format!("node {name} of region {region}"),
                Target::Zone { region, .. } => format!("zone {name} of region {region}"),
                Target::Region(_) => format!("region {name}"),
                Target::LoadBalancer(r) => format!("the load balancer of region {r}"),
                Target::Proxy(r) => format!("the proxy of region {r}"),
                Target::TokenService(r) => format!("the token service running in region {r}"),
                Target::Upstream => "the upstream".into(),
                Target::Fleet(_) => format!("fleet {name}"),
            },
        }
    }
}

/// The scenario's namespace.
#[derive(Debug, Default)]
pub struct Names {
    entries: HashMap<String, Entry>,
    clashes: Vec<Problem>,
}

impl Names {
    pub fn new(s: &Scenario) -> Names {
        let mut names = Names::default();
        let builtin = |meaning| Entry {
            meaning,
            field: String::new(),
        };
        for k in KEYWORDS {
            names.claim(k.to_string(), builtin(Meaning::Keyword));
        }
        // `upstream` is a keyword of mirror lists and targets even without an upstream.
        names.claim(UPSTREAM.into(), builtin(Meaning::Target(Target::Upstream)));
        let t = &s.topology.value;
        for (i, r) in t.regions.iter().enumerate() {
            let region = &r.value;
            let field = format!("topology.regions[{i}].name");
            let of = |meaning| Entry {
                meaning,
                field: field.clone(),
            };
            let name = region.name.clone();
            names.claim(
                name.clone(),
                of(Meaning::Target(Target::Region(name.clone()))),
            );
            names.claim(
                format!("{name}-lb"),
                of(Meaning::Target(Target::LoadBalancer(name.clone()))),
            );
            if s.proxy_of(region).is_some() {
                names.claim(
                    super::proxy_name(&name),
                    of(Meaning::Target(Target::Proxy(name.clone()))),
                );
            }
            if region.storage_limit.is_some() {
                names.claim(
                    format!("{name}-storage-keeper"),
                    of(Meaning::Internal(format!(
                        "the container that holds region {name}'s storage"
                    ))),
                );
            }
            for (j, zone) in region.zones.iter().enumerate() {
                let field = format!("topology.regions[{i}].zones[{j}]");
                names.claim(
                    zone.clone(),
                    Entry {
                        meaning: Meaning::Target(Target::Zone {
                            region: name.clone(),
                            zone: zone.clone(),
                        }),
                        field: field.clone(),
                    },
                );
                for n in 1..=region.nodes_per_zone.get() {
                    names.claim(
                        format!("{zone}-{n}"),
                        Entry {
                            meaning: Meaning::Target(Target::Node {
                                region: name.clone(),
                                name: format!("{zone}-{n}"),
                            }),
                            field: field.clone(),
                        },
                    );
                }
            }
        }
        let mut homes: Vec<(usize, &str)> = t
            .regions
            .iter()
            .enumerate()
            .filter_map(|(i, r)| t.token_home(&r.value).map(|h| (i, h)))
            .filter(|(_, h)| s.region(h).is_some())
            .collect();
        homes.sort_by_key(|(_, h)| *h);
        homes.dedup_by_key(|(_, h)| *h);
        for (i, home) in homes {
            names.claim(
                super::token_service_name(home),
                Entry {
                    meaning: Meaning::Target(Target::TokenService(home.to_string())),
                    field: format!("topology.regions[{i}].name"),
                },
            );
        }
        if t.upstream {
            names.claim(
                format!("{UPSTREAM}-gate"),
                Entry {
                    meaning: Meaning::Internal("the upstream's fault point".into()),
                    field: "topology.upstream".into(),
                },
            );
        }
        names.fleets(s);
        names
    }

    /// Fleets are fault targets; their hosts' names are shown in reports and name
    /// containers, so they must not stand for anything else either.
    fn fleets(&mut self, s: &Scenario) {
        for (k, f) in s.hosts.iter().enumerate() {
            let fleet = &f.value;
            let field = format!("hosts[{k}].name");
            self.claim(
                fleet.name.clone(),
                Entry {
                    meaning: Meaning::Target(Target::Fleet(fleet.name.clone())),
                    field: field.clone(),
                },
            );
            for zone in s.fleet_zones(fleet) {
                for n in 1..=fleet.per_zone.get() {
                    let host = super::host_name(&fleet.name, zone, n);
                    let what = format!("host {host} of fleet {}", fleet.name);
                    self.claim(
                        format!("host-{host}"),
                        Entry {
                            meaning: Meaning::Internal(format!("the container of {what}")),
                            field: field.clone(),
                        },
                    );
                    self.claim(
                        host,
                        Entry {
                            meaning: Meaning::Internal(what),
                            field: field.clone(),
                        },
                    );
                }
            }
        }
    }

    fn claim(&mut self, name: String, entry: Entry) {
        let Some(first) = self.entries.get(&name) else {
            self.entries.insert(name, entry);
            return;
        };
        // A region, zone or fleet declared twice is reported as such where it is
        // declared, with everything named after it.
        if first.meaning == entry.meaning || self.clashes.len() >= super::load::MAX_SHOWN {
            return;
        }
        let message = format!(
            "'{name}' would be both {} and {}: rename one of them",
            first.describe(&name),
            entry.describe(&name),
        );
        let also = (!first.field.is_empty()).then(|| first.field.clone());
        let message = match &first.meaning {
            Meaning::Keyword | Meaning::Target(Target::Upstream) if first.field.is_empty() => {
                format!(
                    "'{name}' is a word drill reads on its own ({}): {} cannot be named so; rename it",
                    first.describe(&name),
                    entry.describe(&name)
                )
            }
            _ => message,
        };
        let mut problem = Problem::new(0, 0, entry.field, message);
        problem.also = also;
        self.clashes.push(problem);
    }

    /// Names that stand for two things, each with both places.
    pub fn clashes(&self) -> &[Problem] {
        &self.clashes
    }

    /// What a target names, if anything.
    pub fn target(&self, name: &str) -> Option<&Target> {
        match &self.entries.get(name)?.meaning {
            Meaning::Target(t) => Some(t),
            Meaning::Keyword | Meaning::Internal(_) => None,
        }
    }

    /// What a name that is no target stands for, to say so in a refusal.
    pub fn describe(&self, name: &str) -> Option<String> {
        self.entries.get(name).map(|e| e.describe(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clashes(topology: &str, extra: &str) -> Vec<Problem> {
        let src = format!(
            "name: n\nduration: 10s\ntopology:\n{topology}\nimages:\n  - {{ ref: a/b:1, layers: [1KiB] }}\n{extra}"
        );
        match crate::faults::parse(&src) {
            Ok(_) => Vec::new(),
            Err(p) => p,
        }
    }

    #[test]
    fn every_clash_the_namespace_allows_is_refused_with_both_places() {
        let regions = |r: &str| format!("  regions:\n{r}");
        let cases = [
            // A zone named like another region's load balancer.
            (
                regions("    - { name: eu, zones: [eu-a] }\n    - { name: us, zones: [eu-lb] }"),
                "zone eu-lb of region us",
                "the load balancer of region eu",
            ),
            // A zone named like its own region's load balancer.
            (
                regions("    - { name: us, zones: [us-lb] }"),
                "the load balancer of region us",
                "zone us-lb",
            ),
            // A region named like a node.
            (
                regions("    - { name: eu, zones: [eu-a] }\n    - { name: eu-a-1, zones: [x] }"),
                "node eu-a-1",
                "region eu-a-1",
            ),
            // A zone named like another zone's node.
            (
                regions("    - { name: eu, zones: [eu-a, eu-a-1] }"),
                "node eu-a-1",
                "zone eu-a-1",
            ),
            // Keywords.
            (
                regions("    - { name: upstream, zones: [u] }"),
                "the upstream",
                "region upstream",
            ),
            (
                regions("    - { name: all, zones: [u] }"),
                "keyword `all`",
                "region all",
            ),
            (
                regions("    - { name: eu, zones: [region] }"),
                "keyword `region`",
                "zone region",
            ),
            (
                regions("    - { name: other-regions, zones: [o] }"),
                "keyword `other-regions`",
                "region other-regions",
            ),
            (
                regions("    - { name: proxy, zones: [p] }"),
                "keyword `proxy`",
                "region proxy",
            ),
        ];
        for (topology, first, second) in cases {
            let p = clashes(&topology, "");
            assert_eq!(p.len(), 1, "{topology}: {p:?}");
            let m = &p[0].message;
            assert!(m.contains(first) && m.contains(second), "{topology}: {m}");
            assert!(p[0].line > 0, "{p:?}");
        }
    }

    #[test]
    fn the_other_place_of_a_clash_is_located_too() {
        let p = clashes(
            "  regions:\n    - { name: eu, zones: [eu-a] }\n    - { name: us, zones: [eu-lb] }",
            "",
        );
        assert_eq!(p[0].field, "topology.regions[1].zones[0]");
        assert_eq!((p[0].line, p[0].column), (6, 27));
        let also = p[0].also_at.expect("the load balancer's region is located");
        assert_eq!(also, (5, 15));
    }

    #[test]
    fn fleets_and_hosts_share_the_namespace() {
        let topology = "  regions:\n    - { name: eu, zones: [eu-a, a-b] }";
        // A fleet named like a zone: `kill eu-a` would mean both.
        let p = clashes(
            topology,
            "hosts:\n  - { name: eu-a, region: eu, per_zone: 1, mirrors: [region], pull: [a/b:1] }",
        );
        assert!(p.iter().any(|p| p.message.contains("fleet eu-a")), "{p:?}");
        // Hosts are `<fleet>-<zone>-<n>`: fleet `f` in zone `a-b` and fleet `f-a` in
        // zone `b` would both have a host `f-a-b-1`.
        let topology = "  regions:\n    - { name: eu, zones: [b, a-b] }";
        let p = clashes(
            topology,
            "hosts:\n  - { name: f, region: eu, zones: [a-b], per_zone: 1, mirrors: [region], pull: [a/b:1] }\n  - { name: f-a, region: eu, zones: [b], per_zone: 1, mirrors: [region], pull: [a/b:1] }",
        );
        assert!(
            p.iter().any(|p| p.message.contains("host f-a-b-1")),
            "{p:?}"
        );
    }
}
