//! Validation of the timeline: each step's kind and parameters, and what its hosts or
//! its target select. A target resolves through the scenario's namespace to exactly one
//! thing; a step that would act on more than its target names, or that picks more than
//! its target holds, is refused.

use super::names::{Member, Names, Target};
use super::{
    Action, BlobRef, FaultKind, Fleet, HostKind, HostSelector, LatencyVia, Problem, Scenario, Step,
    UPSTREAM,
};
use serde_saphyr::Location;

pub(super) fn validate(s: &Scenario, names: &Names, fleets_ok: bool, p: &mut Vec<Problem>) {
    let duration = s.duration.value.0;
    for (i, st) in s.timeline.iter().enumerate() {
        let loc = &st.referenced;
        let step = &st.value;
        let field = format!("timeline[{i}]");
        if step.at.0 >= duration {
            p.push(Problem::at(
                loc,
                format!("{field}.at"),
                format!(
                    "{} is not before the end of the run ({})",
                    step.at, s.duration.value
                ),
            ));
        }
        match (step.action, step.fault) {
            (Some(_), Some(_)) => p.push(Problem::at(
                loc,
                &field,
                "a step has either `do:` or `fault:`, not both",
            )),
            (None, None) => p.push(Problem::at(
                loc,
                &field,
                "a step needs `do: cold-start` or `fault: <kind>`",
            )),
            (Some(Action::ProxyCheck), None) => proxy_check(s, step, loc, &field, p),
            (Some(Action::ColdStart), None) => {
                cold_start(s, names, step, fleets_ok, loc, &field, p)
            }
            (None, Some(kind)) => {
                if step.ramp.is_some() {
                    p.push(Problem::at(
                        loc,
                        format!("{field}.ramp"),
                        "`ramp` belongs to cold starts",
                    ));
                }
                fault(s, names, kind, step, loc, &field, p)
            }
        }
    }
}

/// Parses and validates one fault given by hand during a game day (`drill inject`),
/// written as a timeline step, against the scenario's topology.
pub fn parse_fault(s: &Scenario, step_yaml: &str) -> Result<(FaultKind, Step), String> {
    let step: Step =
        serde_saphyr::from_str(step_yaml).map_err(|e| super::messages::describe(&e))?;
    let Some(kind) = step.fault else {
        return Err("name a fault kind".into());
    };
    let mut problems = Vec::new();
    let names = Names::new(s);
    fault(
        s,
        &names,
        kind,
        &step,
        &Location::UNKNOWN,
        "fault",
        &mut problems,
    );
    // By hand a fault may stay until `drill heal`: no `for` needed.
    problems.retain(|p| !(step.duration.is_none() && p.field == "fault.for"));
    match problems.first() {
        None => Ok((kind, step)),
        Some(_) => Err(problems
            .iter()
            .map(|p| format!("{}: {}", p.field.trim_start_matches("fault."), p.message))
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

fn proxy_check(s: &Scenario, step: &Step, loc: &Location, field: &str, p: &mut Vec<Problem>) {
    if step.hosts.is_some()
        || step.target.is_some()
        || step.duration.is_some()
        || step.ramp.is_some()
        || !step.given().is_empty()
    {
        p.push(Problem::at(
            loc,
            field,
            "proxy-check takes no parameters: it pulls every upstream image through every proxy",
        ));
    }
    if s.topology.value.proxy.is_none() || s.upstream_images().next().is_none() {
        p.push(Problem::at(
            loc,
            format!("{field}.do"),
            "proxy-check needs `topology.proxy: per-region` and at least one image with `source: upstream`",
        ));
    }
}

fn cold_start(
    s: &Scenario,
    names: &Names,
    step: &Step,
    fleets_ok: bool,
    loc: &Location,
    field: &str,
    p: &mut Vec<Problem>,
) {
    if step.target.is_some() || step.duration.is_some() {
        p.push(Problem::at(
            loc,
            field,
            "`target` and `for` belong to faults; a cold start takes `hosts`",
        ));
    }
    // Of the fault parameters, a cold start takes only `pick` (N of the hosts).
    for given in step.given().into_iter().filter(|g| *g != "pick") {
        p.push(Problem::at(
            loc,
            format!("{field}.{given}"),
            format!("a cold start does not take `{given}` (it takes: hosts, pick, ramp)"),
        ));
    }
    if let Some(ramp) = step.ramp {
        if step.at.0.saturating_add(ramp.0) > s.duration.value.0 {
            p.push(Problem::at(
                loc,
                format!("{field}.ramp"),
                "the ramp ends after the run: shorten it or start it earlier",
            ));
        }
    }
    let sel = step.hosts.clone().unwrap_or(HostSelector::All);
    if let Err(msg) = selector_names(names, &sel) {
        p.push(Problem::at(loc, format!("{field}.hosts"), msg));
        return;
    }
    if !fleets_ok {
        return;
    }
    let selected = selected_hosts(s, &sel);
    if selected == 0 {
        p.push(Problem::at(
            loc,
            format!("{field}.hosts"),
            "selects no host: no fleet has hosts where it points",
        ));
    } else if let Some(n) = step.pick.filter(|n| n.get() > selected) {
        p.push(Problem::at(
            loc,
            format!("{field}.pick"),
            format!(
                "pick: {n}, but the cold start selects {selected} hosts: pick at most {selected}"
            ),
        ));
    }
}

/// Every name a host selector uses must be what its key says.
fn selector_names(names: &Names, sel: &HostSelector) -> Result<(), String> {
    let HostSelector::Filter(f) = sel else {
        return Ok(());
    };
    if f.region.is_none() && f.zone.is_none() && f.fleet.is_none() {
        return Err(
            "name a region, a zone or a fleet, e.g. { region: eu }, or write hosts: all".into(),
        );
    }
    type Is = fn(&Target) -> bool;
    let wanted: [(&str, &Option<String>, Is); 3] = [
        ("region", &f.region, |t| matches!(t, Target::Region(_))),
        ("zone", &f.zone, |t| matches!(t, Target::Zone { .. })),
        ("fleet", &f.fleet, |t| matches!(t, Target::Fleet(_))),
    ];
    for (key, name, is) in wanted {
        let Some(name) = name else { continue };
        if !names.target(name).is_some_and(is) {
            return Err(match names.describe(name) {
                Some(what) => format!("{key}: '{name}' is {what}, not a {key}"),
                None => format!("{key}: '{name}' is not a {key} of this scenario"),
            });
        }
    }
    Ok(())
}

/// How many hosts a selector matches.
fn selected_hosts(s: &Scenario, sel: &HostSelector) -> u64 {
    s.hosts
        .iter()
        .map(|f| &f.value)
        .flat_map(|f| s.fleet_zones(f).into_iter().map(move |z| (f, z)))
        .filter(|(f, z)| match sel {
            HostSelector::All => true,
            HostSelector::Filter(flt) => {
                flt.region.as_ref().is_none_or(|r| r == &f.region)
                    && flt.zone.as_ref().is_none_or(|zz| zz == z)
                    && flt.fleet.as_ref().is_none_or(|n| n == &f.name)
            }
        })
        .map(|(f, _)| f.per_zone.get())
        .sum()
}

fn fault(
    s: &Scenario,
    names: &Names,
    kind: FaultKind,
    step: &Step,
    loc: &Location,
    field: &str,
    p: &mut Vec<Problem>,
) {
    let mut problem =
        |key: &str, msg: String| p.push(Problem::at(loc, format!("{field}.{key}"), msg));
    if step.hosts.is_some() {
        problem("hosts", "faults take `target`, not `hosts`".into());
    }
    for given in step.given() {
        if !kind.accepts().contains(&given) {
            let takes = match kind.accepts() {
                [] => "no parameters".to_string(),
                list => list.join(", "),
            };
            problem(
                given,
                format!(
                    "{} does not take `{given}` (it takes: {takes})",
                    kind.name()
                ),
            );
        }
    }
    let target = if kind == FaultKind::Partition {
        if step.target.is_some() {
            problem("target", "a partition takes `groups`, not `target`".into());
        }
        if let Err((key, msg)) = partition(s, names, step) {
            problem(key, msg);
        }
        None
    } else if kind.is_upstream() {
        if !s.topology.value.upstream {
            problem(
                "fault",
                format!(
                    "{} acts on the upstream: set `topology.upstream: true`",
                    kind.name()
                ),
            );
        }
        if step.target.as_deref().is_some_and(|t| t != UPSTREAM) {
            problem(
                "target",
                format!("{} acts on the upstream's fault point: omit `target` or write `target: upstream`; to cut one region off the upstream use a partition, e.g. groups: [[eu-proxy], [upstream]]", kind.name()),
            );
        }
        None
    } else {
        match &step.target {
            None => {
                problem("target", format!("{} needs a target", kind.name()));
                None
            }
            Some(t) => match resolve(s, names, kind, t) {
                Ok(target) => Some(target),
                Err(msg) => {
                    problem("target", msg);
                    None
                }
            },
        }
    };
    if let (Some(target), Some(n)) = (&target, step.pick) {
        let members = target.members(s, false);
        if n.get() > members.len() as u64 {
            problem(
                "pick",
                format!(
                    "pick: {n}, but {} holds {} ({}): pick at most {}",
                    step.target.as_deref().unwrap_or_default(),
                    count(members.len(), "container"),
                    shown(&members),
                    members.len()
                ),
            );
        }
    }
    duration(kind, step, &mut problem);
    parameters(s, kind, step, target.as_ref(), &mut problem);
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The parts a fault acts on, as a user names them.
fn shown(members: &[Member]) -> String {
    use super::names::Part;
    members
        .iter()
        .map(|m| match &m.part {
            Part::Node(n) | Part::Host(n) => n.clone(),
            Part::LoadBalancer(r) => format!("{r}-lb"),
            Part::Proxy(r) => super::proxy_name(r),
            Part::TokenService(r) => super::token_service_name(r),
            Part::UpstreamGate => UPSTREAM.into(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn duration(kind: FaultKind, step: &Step, problem: &mut impl FnMut(&str, String)) {
    if kind.is_instant() {
        if step.duration.is_some() {
            problem(
                "for",
                format!(
                    "{} happens once and has nothing to heal: remove `for`",
                    kind.name()
                ),
            );
        }
        return;
    }
    match step.duration {
        None => problem(
            "for",
            "a fault needs a duration (`for: 10s`); it is healed when it ends".into(),
        ),
        Some(d) if d.0.is_zero() => problem("for", "must be more than 0s".into()),
        Some(_) => {}
    }
}

fn parameters(
    s: &Scenario,
    kind: FaultKind,
    step: &Step,
    target: Option<&Target>,
    problem: &mut impl FnMut(&str, String),
) {
    match kind {
        FaultKind::Bandwidth => match step.rate {
            None => problem(
                "rate",
                "bandwidth needs a rate in bytes per second, e.g. rate: 1MiB".into(),
            ),
            Some(r) if r.0 < 1024 => problem("rate", "must be at least 1KiB (per second)".into()),
            Some(_) => {}
        },
        FaultKind::UpstreamSlow if step.delay.is_none() => problem(
            "delay",
            "upstream-slow needs the delay added to each request, e.g. delay: 2s".into(),
        ),
        FaultKind::PacketLoss if step.loss.is_none() => problem(
            "loss",
            "packet-loss needs the share of packets dropped, e.g. loss: 20%".into(),
        ),
        FaultKind::Latency => {
            if step.delay.is_none() {
                problem("delay", "latency needs a delay, e.g. delay: 200ms".into());
            }
            let on_lb = matches!(target, Some(Target::LoadBalancer(_)));
            if step.via == Some(LatencyVia::Proxy) && !on_lb {
                problem("via", "via: proxy sits in front of an entry point: target a load balancer (<region>-lb)".into());
            }
        }
        FaultKind::CorruptBlob | FaultKind::DeleteBlob => match &step.image {
            None => problem(
                "image",
                format!("{} needs the image whose blob it damages", kind.name()),
            ),
            Some(i) => match s.images.value.iter().find(|d| &d.value.reference == i) {
                None => problem("image", format!("image '{i}' is not declared under images")),
                Some(d) => {
                    if let Some(BlobRef::Layer(n)) = step.blob {
                        if n >= d.value.layers.len() {
                            problem("blob", format!("image '{i}' has {} layers; layer {n} does not exist (count from 0)", d.value.layers.len()));
                        }
                    }
                }
            },
        },
        _ => {}
    }
}

/// A partition's groups: each name a part of the topology, no part in two groups
/// (also not through a zone and its region). Fails with the key and the reason.
fn partition(s: &Scenario, names: &Names, step: &Step) -> Result<(), (&'static str, String)> {
    let groups = match &step.groups {
        Some(groups) if groups.len() >= 2 && groups.iter().all(|g| !g.is_empty()) => groups,
        _ => return Err((
            "groups",
            "a partition needs at least two non-empty groups, e.g. groups: [[eu-a], [eu-b, eu-lb]]"
                .into(),
        )),
    };
    let mut owner: Vec<(Member, &str, usize)> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for name in group {
            let target =
                resolve(s, names, FaultKind::Partition, name).map_err(|m| ("groups", m))?;
            for m in target.members(s, true) {
                match owner.iter().find(|(o, _, _)| o.part == m.part) {
                    Some((_, other, og)) if *og != g => {
                        return Err((
                            "groups",
                            format!("'{name}' and '{other}' are in different groups, but share {}: a part can be in one group only", shown(std::slice::from_ref(&m))),
                        ))
                    }
                    Some((_, other, _)) if *other == name.as_str() => {
                        return Err(("groups", format!("'{name}' is listed twice")))
                    }
                    _ => owner.push((m, name, g)),
                }
            }
        }
    }
    Ok(())
}

/// What a fault's target names, if it is something that kind of fault acts on.
pub(super) fn resolve(
    s: &Scenario,
    names: &Names,
    kind: FaultKind,
    name: &str,
) -> Result<Target, String> {
    let what = |name: &str| names.describe(name).map(|w| format!("'{name}' is {w}"));
    let Some(target) = names.target(name) else {
        let nothing = match kind {
            FaultKind::ZoneOutage => "is not a zone",
            FaultKind::RegionOutage
            | FaultKind::CorruptBlob
            | FaultKind::DeleteBlob
            | FaultKind::FillDisk => "is not a region",
            _ => "matches nothing",
        };
        return Err(match what(name) {
            Some(w) => format!("{w}, which no fault acts on"),
            None => format!("'{name}' {nothing}; {}", targets_of(s, kind)),
        });
    };
    let wrong = |expected: &str| {
        Err(format!(
            "{}, not {expected}; {}",
            what(name).unwrap_or_default(),
            targets_of(s, kind)
        ))
    };
    match (kind, target) {
        (FaultKind::ZoneOutage, Target::Zone { .. }) => Ok(target.clone()),
        (FaultKind::ZoneOutage, _) => wrong("a zone"),
        (FaultKind::FillDisk, Target::Region(r)) => match s.region(r) {
            // Filling a volume on the engine's own disk would fill the machine.
            Some(region) if region.storage_limit.is_none() => Err(format!(
                "fill-disk fills a size-limited storage volume: give region '{r}' a \
                 storage_limit (e.g. storage_limit: 64MiB) under topology.regions"
            )),
            _ => Ok(target.clone()),
        },
        (
            FaultKind::RegionOutage | FaultKind::CorruptBlob | FaultKind::DeleteBlob,
            Target::Region(_),
        ) => Ok(target.clone()),
        (
            FaultKind::RegionOutage
            | FaultKind::CorruptBlob
            | FaultKind::DeleteBlob
            | FaultKind::FillDisk,
            _,
        ) => wrong("a region"),
        (_, Target::Upstream) if !s.topology.value.upstream => {
            Err("the topology has no upstream: set `topology.upstream: true` to have one".into())
        }
        // The upstream's gate takes the engine and network faults; wiping or
        // restarting it would only reset its fault point.
        (FaultKind::CacheWipe | FaultKind::Restart, Target::Upstream) => Err(format!(
            "{} of the upstream would only reset its fault point; use upstream-outage, or \
             kill, stop or pause it",
            kind.name()
        )),
        (FaultKind::Partition, Target::Fleet(_)) => Err(format!(
            "{}: a partition cuts the registry's containers apart; to cut hosts off, \
             blackhole their fleet",
            what(name).unwrap_or_default()
        )),
        (_, Target::Fleet(fleet)) => {
            let fleet = s
                .hosts
                .iter()
                .map(|f| &f.value)
                .find(|f| &f.name == fleet)
                .expect("a fleet of the namespace is declared");
            fleet_target(kind, fleet).map(|()| target.clone())
        }
        _ => Ok(target.clone()),
    }
}

/// What a kind of fault can be aimed at in this scenario, for a refusal.
fn targets_of(s: &Scenario, kind: FaultKind) -> String {
    let regions = s.region_names().join(", ");
    match kind {
        FaultKind::ZoneOutage => format!("zones: {}", s.zone_names().join(", ")),
        FaultKind::RegionOutage
        | FaultKind::CorruptBlob
        | FaultKind::DeleteBlob
        | FaultKind::FillDisk => format!("regions: {regions}"),
        _ => {
            let t = &s.topology.value;
            let lbs: Vec<String> = s.region_names().iter().map(|r| format!("{r}-lb")).collect();
            let mut tokens: Vec<String> = t
                .regions
                .iter()
                .filter_map(|r| t.token_home(&r.value))
                .map(super::token_service_name)
                .collect();
            tokens.sort();
            tokens.dedup();
            format!(
                "name a node ({}), a load balancer ({}), a zone or a region{}{}",
                s.node_names().join(", "),
                lbs.join(", "),
                if t.proxy.is_some() {
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

#[cfg(test)]
mod tests {
    use super::super::{parse, Problem};

    const BASE: &str = "\
name: steps
duration: 30s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
    - { name: us, zones: [us-a], nodes_per_zone: 2 }
images:
  - { ref: team/app:1, layers: [1MiB] }
hosts:
  - { name: f, region: eu, per_zone: 2, mirrors: [region, other-regions], pull: [team/app:1] }
  - { name: g, region: us, per_zone: 3, kind: containerd, mirrors: [region], pull: [team/app:1] }
timeline:
  - { at: 0s, do: cold-start, hosts: all }
";

    fn refused(step: &str) -> Problem {
        let src = format!("{BASE}  - {step}\n");
        let p = parse(&src).expect_err(step);
        assert_eq!(p.len(), 1, "{step}: {p:?}");
        p.into_iter().next().unwrap()
    }

    #[test]
    fn a_pick_larger_than_its_target_is_refused_with_the_numbers() {
        let p = refused("{ at: 1s, fault: kill, target: us, pick: 3, for: 1s }");
        assert_eq!(p.field, "timeline[1].pick");
        assert!(
            p.message
                .contains("pick: 3, but us holds 2 containers (us-a-1, us-a-2)"),
            "{p:?}"
        );
        let p = refused("{ at: 1s, do: cold-start, hosts: { region: eu }, pick: 5 }");
        assert!(
            p.message.contains("selects 4 hosts: pick at most 4"),
            "{p:?}"
        );
        // As many as there are is fine.
        parse(&format!(
            "{BASE}  - {{ at: 1s, fault: kill, target: us, pick: 2, for: 1s }}\n"
        ))
        .unwrap();
    }

    #[test]
    fn a_selector_names_what_its_key_says() {
        let p = refused("{ at: 1s, do: cold-start, hosts: { region: eu-a } }");
        assert_eq!(
            p.message,
            "region: 'eu-a' is zone eu-a of region eu, not a region"
        );
        let p = refused("{ at: 1s, do: cold-start, hosts: { fleet: asia } }");
        assert_eq!(p.message, "fleet: 'asia' is not a fleet of this scenario");
        let p = refused("{ at: 1s, do: cold-start, hosts: {} }");
        assert!(p.message.contains("or write hosts: all"), "{p:?}");
        let p = refused("{ at: 1s, do: cold-start, hosts: { region: us, fleet: f } }");
        assert!(p.message.contains("selects no host"), "{p:?}");
    }

    #[test]
    fn a_target_of_the_wrong_kind_says_what_it_is() {
        let p = refused("{ at: 1s, fault: zone-outage, target: eu-lb, for: 1s }");
        assert!(
            p.message.starts_with(
                "'eu-lb' is the load balancer of region eu, not a zone; zones: eu-a, eu-b, us-a"
            ),
            "{p:?}"
        );
        let p = refused("{ at: 1s, fault: kill, target: f-eu-a-1, for: 1s }");
        assert!(
            p.message
                .contains("host f-eu-a-1 of fleet f, which no fault acts on"),
            "{p:?}"
        );
    }

    #[test]
    fn partition_groups_may_not_share_a_part() {
        let p = refused("{ at: 1s, fault: partition, groups: [[eu], [eu-a]], for: 1s }");
        assert!(
            p.message
                .contains("'eu-a' and 'eu' are in different groups, but share eu-a-1"),
            "{p:?}"
        );
        let p = refused("{ at: 1s, fault: partition, groups: [[eu-a, eu-a], [eu-b]], for: 1s }");
        assert!(p.message.contains("listed twice"), "{p:?}");
        let p = refused("{ at: 1s, fault: partition, groups: [[eu-lb], [eu]], for: 1s }");
        assert!(p.message.contains("share eu-lb"), "{p:?}");
    }

    #[test]
    fn containerd_hosts_are_bounded_per_scenario() {
        let many = BASE.replace(
            "  - { name: g, region: us, per_zone: 3",
            "  - { name: h, region: eu, per_zone: 24, kind: containerd, mirrors: [region], pull: [team/app:1] }\n  - { name: g, region: us, per_zone: 3",
        );
        let p = parse(&many).unwrap_err();
        assert_eq!(p[0].field, "hosts[2].per_zone", "{p:?}");
        assert!(
            p[0].message
                .contains("at most 50 in a scenario, and this fleet brings them to 51"),
            "{p:?}"
        );
    }

    #[test]
    fn percentiles_references_and_the_day_bound_are_checked() {
        let with = |from: &str, to: &str| parse(&BASE.replace(from, to)).unwrap_err();
        let p = with(
            "timeline:",
            "sla:\n  cold_pull: { p50: 2s, p95: 9s, p99: 4s }\ntimeline:",
        );
        assert_eq!(p[0].field, "sla.cold_pull.p99");
        assert!(p[0].message.contains("p99 (4s) is below p95 (9s)"), "{p:?}");
        for bad in [
            "../../etc/passwd:1",
            "team/./app:1",
            "_/app:1",
            "team//app:1",
            "Team/app:1",
            "team/app:.1",
        ] {
            let p = with("ref: team/app:1", &format!("ref: '{bad}'"));
            assert_eq!(p[0].field, "images[0].ref", "{bad}: {p:?}");
        }
        let long = format!("ref: {}:1", "a".repeat(256));
        assert_eq!(with("ref: team/app:1", &long)[0].field, "images[0].ref");
        for good in ["a__b/c-----d/e.f:x", "a/b_c:V1.0-rc_1"] {
            let src = BASE.replace("team/app:1", good);
            parse(&src).unwrap_or_else(|p| panic!("{good}: {p:?}"));
        }
        let p = with("duration: 30s", "duration: 86400999ms");
        assert_eq!(p[0].field, "duration", "{p:?}");
    }
}
