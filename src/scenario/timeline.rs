//! Validation of the timeline: each step's shape, and what a cold start's hosts select.
//! A fault step is checked by its family's rules (the `faults` stage, handed in as
//! [`Rules`]): the format knows the fault kinds by name only.

use super::names::{Names, Target};
use super::{Action, HostSelector, Problem, Rules, Scenario, Step};
use serde_saphyr::Location;

pub(super) fn validate(
    s: &Scenario,
    names: &Names,
    rules: &Rules,
    fleets_ok: bool,
    p: &mut Vec<Problem>,
) {
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
                (rules.fault)(s, names, kind, step, loc, &field, p)
            }
        }
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
    if !s.any_proxy() || s.upstream_images().next().is_none() {
        p.push(Problem::at(
            loc,
            format!("{field}.do"),
            "proxy-check needs a proxy (`topology.proxy` or a region's `proxy:`, e.g. distribution) and at least one image with `source: upstream`",
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

#[cfg(test)]
mod tests {
    use super::super::Problem;
    use crate::faults::parse;

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
