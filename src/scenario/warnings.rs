//! What a valid scenario should hear before it runs: things that can only go wrong at
//! run time, or that are certainly not what was meant. Warnings never stop a run.

use super::names::Names;
use super::{FaultKind, ImageSource, Problem, Rules, Scenario};
use crate::model::units::Size;

pub(super) fn check(s: &Scenario, rules: &Rules) -> Vec<Problem> {
    let mut w = Vec::new();
    let names = Names::new(s);
    if s.timeline.is_empty() {
        w.push(Problem::new(
            0,
            0,
            "timeline",
            "no timeline: nothing cold-starts and no fault is injected; only the probes run",
        ));
    }
    (rules.warnings)(s, &names, &mut w);
    storage(s, &mut w);
    mirrors(s, &mut w);
    let region_outage = s
        .timeline
        .iter()
        .any(|st| st.value.fault == Some(FaultKind::RegionOutage));
    if s.sla.rpo.is_some() && !region_outage {
        w.push(Problem::new(
            0,
            0,
            "sla.rpo",
            "the recovery point is measured when a region is lost, and the timeline has no \
             region-outage: the check will say it was not measured",
        ));
    }
    w
}

/// Seeding more than a size-limited storage holds fills it before the timeline.
fn storage(s: &Scenario, w: &mut Vec<Problem>) {
    let replication = s.topology.value.replication();
    for (i, r) in s.topology.value.regions.iter().enumerate() {
        let Some(limit) = r.value.storage_limit else {
            continue;
        };
        // Async replication copies every image to every region in the end.
        let stored = replication.pushes_to(&r.value.name)
            || replication.mode == super::ReplicationMode::Async;
        if !stored {
            continue;
        }
        let bytes: u64 = s
            .images
            .value
            .iter()
            .map(|i| &i.value)
            .filter(|i| i.source == ImageSource::Regions)
            .flat_map(|i| i.layers.iter().map(|l| l.0))
            .sum();
        if bytes > limit.0 {
            w.push(Problem::new(
                0,
                0,
                format!("topology.regions[{i}].storage_limit"),
                format!(
                    "the images seeded to region {} take {}, more than its storage_limit of \
                     {limit}: seeding will fill its storage before the timeline starts",
                    r.value.name,
                    Size(bytes)
                ),
            ));
        }
    }
}

/// A mirror listed twice (also through `region` or `other-regions`) is tried once.
fn mirrors(s: &Scenario, w: &mut Vec<Problem>) {
    for (i, f) in s.hosts.iter().enumerate() {
        let fleet = &f.value;
        let mut seen: Vec<(String, &str)> = Vec::new();
        for m in &fleet.mirrors {
            let expanded: Vec<String> = match m.as_str() {
                "region" => vec![fleet.region.clone()],
                "other-regions" => s
                    .region_names()
                    .into_iter()
                    .filter(|r| *r != fleet.region)
                    .map(str::to_string)
                    .collect(),
                "proxy" => vec![super::proxy_name(&fleet.region)],
                other => vec![other.to_string()],
            };
            for e in expanded {
                match seen.iter().find(|(name, _)| *name == e) {
                    Some((_, first)) => w.push(Problem::new(
                        0,
                        0,
                        format!("hosts[{i}].mirrors"),
                        format!(
                            "'{e}' is listed twice ({first} and {m}): a host tries each mirror once, at its first place"
                        ),
                    )),
                    None => seen.push((e, m)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::load::check;
    use crate::faults::RULES;

    const BASE: &str = "\
name: warned
duration: 30s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b], storage_limit: 16MiB }
    - { name: us, zones: [us-a] }
images:
  - { ref: team/app:1, layers: [1MiB] }
hosts:
  - { name: f, region: eu, per_zone: 1, mirrors: [region, other-regions], pull: [team/app:1] }
timeline:
  - { at: 0s, do: cold-start, hosts: all }
";

    /// The warnings of BASE with `from` replaced, as `field: message`.
    fn warnings(from: &str, to: &str) -> Vec<String> {
        assert!(BASE.contains(from), "{from}");
        let (_, w) = check(&BASE.replacen(from, to, 1), &RULES).expect("valid");
        w.iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn a_plain_scenario_has_none() {
        assert_eq!(warnings("", ""), Vec::<String>::new());
    }

    #[test]
    fn each_thing_that_can_only_fail_at_run_time_is_said() {
        let step = |s: &str| format!("  - {{ at: 0s, do: cold-start, hosts: all }}\n  - {s}\n");
        let cases = [
            (
                step("{ at: 20s, fault: kill, target: eu-a, for: 20s }"),
                "timeline[1].for: the fault lasts past the end of the run (20s + 20s > duration 30s)",
            ),
            (
                format!(
                    "{}  - {{ at: 5s, fault: kill, target: eu-a-1, for: 5s }}\n",
                    step("{ at: 1s, fault: zone-outage, target: eu-a, for: 10s }")
                ),
                "timeline[2]: may act on eu-a-1 while timeline[1] (zone-outage eu-a, 1s–11s) holds it",
            ),
            (
                format!(
                    "{}  - {{ at: 5s, fault: partition, groups: [[eu], [us]], for: 5s }}\n",
                    step("{ at: 1s, fault: pause, target: us-lb, for: 10s }")
                ),
                "timeline[2]: may act on us-lb while timeline[1]",
            ),
        ];
        for (timeline, says) in cases {
            let got = warnings("  - { at: 0s, do: cold-start, hosts: all }\n", &timeline);
            assert!(got.iter().any(|w| w.starts_with(says)), "{says}: {got:#?}");
        }
        let got = warnings("layers: [1MiB]", "layers: [12MiB, 8MiB]");
        assert!(
            got.iter().any(|w| w.starts_with(
                "topology.regions[0].storage_limit: the images seeded to region eu take 20MiB"
            )),
            "{got:#?}"
        );
        let got = warnings("timeline:\n", "sla:\n  rpo: 5s\ntimeline:\n");
        assert!(
            got.iter()
                .any(|w| w.starts_with("sla.rpo: the recovery point")),
            "{got:#?}"
        );
        let got = warnings(
            "timeline:\n  - { at: 0s, do: cold-start, hosts: all }\n",
            "",
        );
        assert!(
            got.iter().any(|w| w.starts_with("timeline: no timeline")),
            "{got:#?}"
        );
        let got = warnings("[region, other-regions]", "[region, us, eu]");
        assert!(
            got.iter().any(|w| w == "hosts[0].mirrors: 'eu' is listed twice (region and eu): a host tries each mirror once, at its first place"),
            "{got:#?}"
        );
        // Faults one after the other on the same part are fine.
        let got = warnings(
            "  - { at: 0s, do: cold-start, hosts: all }\n",
            "  - { at: 1s, fault: kill, target: eu-a, for: 2s }\n  - { at: 4s, fault: kill, target: eu-a-1, for: 2s }\n",
        );
        assert_eq!(got, Vec::<String>::new());
    }
}
