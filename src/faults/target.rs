//! A fault's target: resolved through the scenario's namespace to exactly one thing,
//! which must be something that kind of fault acts on; a `pick` no larger than what the
//! target holds.

use super::given::Given;
use super::{Cx, Report};
use crate::model::kinds::{FaultKind, HostKind};
use crate::scenario::names::{Member, Part, Target};
use crate::scenario::{Fleet, Pick, Scenario, UPSTREAM};

/// What a kind of fault is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aim {
    Zone,
    Region,
    /// A node, a zone, a region, a load balancer, a proxy, a token service, the upstream
    /// or a fleet (what the kind's fleet rule allows).
    Part,
}

/// The step's target as written and resolved, with the `pick` the family read checked
/// against what the target holds; None with the problem reported.
pub(crate) fn aimed(
    kind: FaultKind,
    aim: Aim,
    pick: Option<Pick>,
    given: &Given,
    cx: &Cx,
    r: &mut Report,
) -> Option<(String, Target)> {
    let Some(written) = given.target() else {
        r.problem("target", format!("{} needs a target", kind.name()));
        return None;
    };
    let target = match resolve(cx, kind, aim, written) {
        Ok(t) => t,
        Err(msg) => {
            r.problem("target", msg);
            return None;
        }
    };
    if let Some(n) = pick {
        let members = target.members(cx.s, false);
        if n.get() > members.len() as u64 {
            r.problem(
                "pick",
                format!(
                    "pick: {n}, but {written} holds {} ({}): pick at most {}",
                    count(members.len(), "container"),
                    shown(&members),
                    members.len()
                ),
            );
        }
    }
    Some((written.to_string(), target))
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The parts a fault acts on, as a user names them.
pub(crate) fn shown(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| part_name(&m.part))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A part as a user names it.
pub(crate) fn part_name(p: &Part) -> String {
    match p {
        Part::Node(n) | Part::Host(n) => n.clone(),
        Part::LoadBalancer(r) => format!("{r}-lb"),
        Part::Proxy(r) => crate::scenario::proxy_name(r),
        Part::TokenService(r) => crate::scenario::token_service_name(r),
        Part::UpstreamGate => UPSTREAM.into(),
    }
}

/// What a fault's target names, if it is something that kind of fault acts on.
pub(crate) fn resolve(cx: &Cx, kind: FaultKind, aim: Aim, name: &str) -> Result<Target, String> {
    let (s, names) = (cx.s, cx.names);
    let what = |name: &str| names.describe(name).map(|w| format!("'{name}' is {w}"));
    let Some(target) = names.target(name) else {
        let nothing = match aim {
            Aim::Zone => "is not a zone",
            Aim::Region => "is not a region",
            Aim::Part => "matches nothing",
        };
        return Err(match what(name) {
            Some(w) => format!("{w}, which no fault acts on"),
            None => format!("'{name}' {nothing}; {}", targets_of(s, aim)),
        });
    };
    let wrong = |expected: &str| {
        Err(format!(
            "{}, not {expected}; {}",
            what(name).unwrap_or_default(),
            targets_of(s, aim)
        ))
    };
    match (aim, target) {
        (Aim::Zone, Target::Zone { .. }) | (Aim::Region, Target::Region(_)) => Ok(target.clone()),
        (Aim::Zone, _) => wrong("a zone"),
        (Aim::Region, _) => wrong("a region"),
        (Aim::Part, Target::Upstream) if !s.topology.value.upstream => {
            Err("the topology has no upstream: set `topology.upstream: true` to have one".into())
        }
        // The upstream's gate takes the engine and network faults; wiping or
        // restarting it would only reset its fault point.
        (Aim::Part, Target::Upstream)
            if matches!(kind, FaultKind::CacheWipe | FaultKind::Restart) =>
        {
            Err(format!(
                "{} of the upstream would only reset its fault point; use upstream-outage, or \
                 kill, stop or pause it",
                kind.name()
            ))
        }
        (Aim::Part, Target::Fleet(_)) if kind == FaultKind::Partition => Err(format!(
            "{}: a partition cuts the registry's containers apart; to cut hosts off, \
             blackhole their fleet",
            what(name).unwrap_or_default()
        )),
        (Aim::Part, Target::Fleet(fleet)) => {
            let fleet = s
                .hosts
                .iter()
                .map(|f| &f.value)
                .find(|f| &f.name == fleet)
                .expect("a fleet of the namespace is declared");
            fleet_target(kind, fleet).map(|()| target.clone())
        }
        (Aim::Part, _) => Ok(target.clone()),
    }
}

/// What a kind of fault can be aimed at in this scenario, for a refusal.
fn targets_of(s: &Scenario, aim: Aim) -> String {
    let regions = s.region_names().join(", ");
    match aim {
        Aim::Zone => format!("zones: {}", s.zone_names().join(", ")),
        Aim::Region => format!("regions: {regions}"),
        Aim::Part => {
            let t = &s.topology.value;
            let lbs: Vec<String> = s.region_names().iter().map(|r| format!("{r}-lb")).collect();
            let mut tokens: Vec<String> = t
                .regions
                .iter()
                .filter_map(|r| t.token_home(&r.value))
                .map(crate::scenario::token_service_name)
                .collect();
            tokens.sort();
            tokens.dedup();
            format!(
                "name a node ({}), a load balancer ({}), a zone or a region{}{}",
                s.node_names().join(", "),
                lbs.join(", "),
                if s.any_proxy() {
                    ", or a proxy (<region>-proxy)"
                } else {
                    ""
                },
                if tokens.is_empty() {
                    String::new()
                } else {
                    format!(", or a token service ({})", tokens.join(", "))
                }
            )
        }
    }
}

/// Whether a fault can act on a fleet's hosts: network faults on containerd hosts,
/// which are containers with network namespaces of their own.
fn fleet_target(kind: FaultKind, fleet: &Fleet) -> Result<(), String> {
    let network = matches!(
        kind,
        FaultKind::Blackhole | FaultKind::PacketLoss | FaultKind::Latency
    );
    match (kind, fleet.kind) {
        (_, HostKind::Containerd) if network => Ok(()),
        (FaultKind::Bandwidth, _) => Err(format!(
            "bandwidth shapes its target's outgoing traffic, and a host's pulls come in: \
             limit the registry's side instead (e.g. target: {}-lb)",
            fleet.region
        )),
        (FaultKind::CacheWipe, _) => Err(format!(
            "hosts empty their cache at every cold start: restart fleet '{}' with a cold-start \
             step (hosts: {{ fleet: {} }}) instead",
            fleet.name, fleet.name
        )),
        _ if network => Err(format!(
            "fleet '{}' has {} hosts, which have no network of their own to fault (native hosts \
             run inside drill, the docker host is this machine's engine); network faults reach \
             containerd hosts only",
            fleet.name,
            fleet.kind.name()
        )),
        _ => Err(format!(
            "{} acts on the registry's containers, not on hosts; a fleet of containerd hosts \
             takes blackhole, packet-loss or latency",
            kind.name()
        )),
    }
}
