//! The scenario against drill's bounds ([`crate::model::limits`]): past one, a scenario
//! is a typo or hostile input, refused before anything starts with its file, line and
//! field.

use crate::model::limits::*;
use crate::model::units::{Size, Span};
use crate::scenario::{Problem, Scenario};
use serde_saphyr::Location;
use std::time::Duration;

/// Adds a problem for every bound the scenario exceeds. Problems about a section
/// without a location of its own are located by their field when rendered.
pub fn check(s: &Scenario, p: &mut Vec<Problem>) {
    topology(s, p);
    images(s, p);
    fleets(s, p);
    timeline(s, p);
    let unknown = Location::UNKNOWN;
    let probes = unknown;
    if let Some(w) = s.sla.availability.as_ref().and_then(|a| a.window) {
        // One window per `window` of the run is kept in summary.json.
        let windows = s.duration.value.0.as_micros() / w.0.as_micros().max(1);
        if windows > u128::from(MAX_WINDOWS) {
            p.push(Problem::at(
                &unknown,
                "sla.availability.window",
                format!(
                    "cuts the run into {windows} windows; at most {}: make it longer",
                    MAX_WINDOWS
                ),
            ));
        }
    }
    let mut over = |loc: &Location, field: &str, value: Span, max: Duration| {
        if value.0 > max {
            p.push(too_long(loc, field, value, max));
        }
    };
    over(
        &probes,
        "probes.interval",
        s.probes.interval,
        MAX_PROBE_INTERVAL,
    );
    over(&probes, "probes.timeout", s.probes.timeout, MAX_WAIT);
    if let Some(c) = &s.sla.cold_pull {
        let loc = unknown;
        for (name, v) in [("p50", c.p50), ("p95", c.p95), ("p99", c.p99)] {
            if let Some(v) = v {
                over(&loc, &format!("sla.cold_pull.{name}"), v, MAX_SPAN);
            }
        }
    }
    if let Some(r) = &s.sla.recovery {
        over(&unknown, "sla.recovery.max", r.max, MAX_SPAN);
    }
    if let Some(b) = &s.sla.error_budget {
        over(&unknown, "sla.error_budget.period", b.period, MAX_PERIOD);
    }
    if let Some(f) = s.guardrails.abort_if.and_then(|a| a.for_) {
        over(&s.name.referenced, "guardrails.abort_if.for", f, MAX_SPAN);
    }
}

fn too_long(loc: &Location, field: &str, value: Span, max: Duration) -> Problem {
    Problem::at(
        loc,
        field,
        format!(
            "{value} is too long: at most {}",
            humantime::format_duration(max)
        ),
    )
}

fn too_many(loc: &Location, field: &str, what: &str, count: usize, max: usize) -> Problem {
    Problem::at(
        loc,
        field,
        format!("{count} {what}; at most {max} per scenario"),
    )
}

fn topology(s: &Scenario, p: &mut Vec<Problem>) {
    let t = &s.topology;
    let regions = &t.value.regions;
    if regions.len() > MAX_REGIONS {
        let loc = regions[MAX_REGIONS].referenced;
        p.push(too_many(
            &loc,
            "topology.regions",
            "regions",
            regions.len(),
            MAX_REGIONS,
        ));
    }
    let mut nodes = 0usize;
    for (i, r) in regions.iter().enumerate() {
        let zones = r.value.zones.len();
        if zones > MAX_ZONES_PER_REGION {
            p.push(Problem::at(
                &r.referenced,
                format!("topology.regions[{i}].zones"),
                format!("{zones} zones; at most {MAX_ZONES_PER_REGION} per region"),
            ));
        }
        nodes = nodes.saturating_add(zones.saturating_mul(r.value.nodes_per_zone.get() as usize));
    }
    if nodes > MAX_NODES {
        p.push(Problem::at(
            &t.referenced,
            "topology",
            format!(
                "{nodes} registry nodes (zones × nodes_per_zone over every region), one \
                 container each; at most {MAX_NODES}"
            ),
        ));
    }
}

fn images(s: &Scenario, p: &mut Vec<Problem>) {
    let images = &s.images.value;
    if images.len() > MAX_IMAGES {
        p.push(too_many(
            &images[MAX_IMAGES].referenced,
            "images",
            "images",
            images.len(),
            MAX_IMAGES,
        ));
    }
    let total: u64 = images
        .iter()
        .flat_map(|i| &i.value.layers)
        .fold(0, |sum, l| sum.saturating_add(l.0));
    if total > MAX_IMAGE_BYTES {
        p.push(Problem::at(
            &s.images.referenced,
            "images",
            format!(
                "the layers add up to {}; every region stores them all: at most {} in all",
                Size(total),
                Size(MAX_IMAGE_BYTES)
            ),
        ));
    }
}

fn fleets(s: &Scenario, p: &mut Vec<Problem>) {
    if s.hosts.len() > MAX_FLEETS {
        p.push(too_many(
            &s.hosts[MAX_FLEETS].referenced,
            "hosts",
            "fleets",
            s.hosts.len(),
            MAX_FLEETS,
        ));
    }
    let mut hosts = 0usize;
    let mut reported = false;
    for (i, f) in s.hosts.iter().enumerate() {
        let fleet = &f.value;
        let field = format!("hosts[{i}]");
        hosts = hosts.saturating_add(
            (fleet.per_zone.get() as usize).saturating_mul(s.fleet_zones(fleet).len()),
        );
        if hosts > MAX_HOSTS && !reported {
            reported = true;
            p.push(Problem::at(
                &f.referenced,
                format!("{field}.per_zone"),
                format!(
                    "{hosts} hosts (per_zone × zones) counted up to this fleet; at most \
                     {MAX_HOSTS} per scenario"
                ),
            ));
        }
        for (name, len) in [("mirrors", fleet.mirrors.len()), ("pull", fleet.pull.len())] {
            if len > MAX_LIST {
                p.push(Problem::at(
                    &f.referenced,
                    format!("{field}.{name}"),
                    format!("{len} entries; at most {MAX_LIST}"),
                ));
            }
        }
        let loc = &f.referenced;
        let t = &fleet.timeouts;
        for (name, v) in [
            ("timeouts.connect", t.connect),
            ("timeouts.request", t.request),
            ("retry_backoff", fleet.retry_backoff),
        ] {
            if v.0 > MAX_WAIT {
                p.push(too_long(loc, &format!("{field}.{name}"), v, MAX_WAIT));
            }
        }
    }
}

fn timeline(s: &Scenario, p: &mut Vec<Problem>) {
    if s.timeline.len() > MAX_STEPS {
        p.push(too_many(
            &s.timeline[MAX_STEPS].referenced,
            "timeline",
            "steps",
            s.timeline.len(),
            MAX_STEPS,
        ));
    }
    for (i, st) in s.timeline.iter().enumerate() {
        let step = &st.value;
        let loc = &st.referenced;
        let field = |name: &str| format!("timeline[{i}].{name}");
        for (name, v, max) in [
            ("for", step.duration, MAX_SPAN),
            ("delay", step.delay, MAX_DELAY),
            ("jitter", step.jitter, MAX_DELAY),
        ] {
            if let Some(v) = v.filter(|v| v.0 > max) {
                p.push(too_long(loc, &field(name), v, max));
            }
        }
        let members = step.groups.iter().flatten().map(Vec::len).sum::<usize>();
        if members > MAX_LIST {
            p.push(Problem::at(
                loc,
                field("groups"),
                format!("{members} names; at most {MAX_LIST}"),
            ));
        }
        if step.regions.as_ref().is_some_and(|r| r.len() > MAX_REGIONS) {
            p.push(Problem::at(
                loc,
                field("regions"),
                format!("at most {MAX_REGIONS} regions"),
            ));
        }
        for (name, argv) in [("inject", &step.inject), ("heal", &step.heal)] {
            let Some(argv) = argv else { continue };
            if argv.len() > MAX_ARGS || argv.iter().any(|w| w.len() > MAX_ARG_BYTES) {
                p.push(Problem::at(
                    loc,
                    field(name),
                    format!("at most {MAX_ARGS} words of at most {MAX_ARG_BYTES} bytes each: put a longer script in a file and run it"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::faults::parse;

    const BASE: &str = "\
name: bounds
duration: 30s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
images:
  - { ref: team/app:1, layers: [1MiB] }
hosts:
  - { name: f, region: eu, per_zone: 2, mirrors: [region], pull: [team/app:1] }
timeline:
  - { at: 1s, fault: kill, target: eu-a, for: 5s }
";

    /// Parses BASE with `from` replaced by `to` (or `to` appended when `from` is
    /// empty) and returns `line: field: message` of each problem.
    fn problems(from: &str, to: &str) -> Vec<String> {
        let source = if from.is_empty() {
            format!("{BASE}{to}")
        } else {
            assert!(BASE.contains(from), "{from}");
            BASE.replace(from, to)
        };
        match parse(&source) {
            Ok(_) => vec![],
            Err(ps) => ps
                .iter()
                .map(|p| format!("{}: {}: {}", p.line, p.field, p.message))
                .collect(),
        }
    }

    /// Exactly one problem, on `line`, naming `field`, whose message has `says`.
    fn refused(from: &str, to: &str, line: usize, field: &str, says: &str) {
        let got = problems(from, to);
        assert_eq!(got.len(), 1, "{to}: {got:#?}");
        let want = format!("{line}: {field}: ");
        assert!(
            got[0].starts_with(&want) && got[0].contains(says),
            "{to}: want {want}…{says}, got {}",
            got[0]
        );
    }

    #[test]
    fn the_base_scenario_is_within_every_bound() {
        assert_eq!(problems("", ""), Vec::<String>::new());
    }

    #[test]
    fn a_billion_hosts_are_refused_on_their_fleet() {
        refused(
            "per_zone: 2",
            "per_zone: 500000000",
            9,
            "hosts[0].per_zone",
            "from 1 to 10000",
        );
        let many: String = (0..3)
            .map(|i| format!("  - {{ name: g{i}, region: eu, per_zone: 2000, mirrors: [region], pull: [team/app:1] }}\n"))
            .collect();
        refused(
            "timeline:",
            &format!("{many}timeline:"),
            12,
            "hosts[3].per_zone",
            "12004 hosts",
        );
    }

    #[test]
    fn counts_of_regions_zones_nodes_images_fleets_and_steps_are_bounded() {
        let regions: String = (0..17)
            .map(|i| format!("    - {{ name: r{i}, zones: [z{i}] }}\n"))
            .collect();
        refused(
            "    - { name: eu, zones: [eu-a, eu-b] }\n",
            &regions,
            21,
            "topology.regions",
            "17 regions; at most 16",
        );
        refused(
            "zones: [eu-a, eu-b] }",
            "zones: [a, b, c, d, e, f, g, h, i] }",
            5,
            "topology.regions[0].zones",
            "9 zones; at most 8",
        );
        let wide: String = (0..5)
            .map(|i| format!("    - {{ name: r{i}, zones: [a{i}, b{i}], nodes_per_zone: 8 }}\n"))
            .collect();
        refused(
            "    - { name: eu, zones: [eu-a, eu-b] }\n",
            &format!("    - {{ name: eu, zones: [eu-a, eu-b] }}\n{wide}"),
            4,
            "topology",
            "82 registry nodes",
        );
        let images: String = (0..65)
            .map(|i| format!("  - {{ ref: team/x:{i}, layers: [1KiB] }}\n"))
            .collect();
        refused(
            "hosts:",
            &format!("{images}hosts:"),
            71,
            "images",
            "66 images; at most 64",
        );
        let fleets: String = (0..65)
            .map(|i| format!("  - {{ name: g{i}, region: eu, per_zone: 1, mirrors: [region], pull: [team/app:1] }}\n"))
            .collect();
        refused(
            "timeline:",
            &format!("{fleets}timeline:"),
            73,
            "hosts",
            "66 fleets; at most 64",
        );
        let steps: String = (0..1001)
            .map(|_| "  - { at: 1s, do: cold-start }\n".to_string())
            .collect();
        refused("", &steps, 1011, "timeline", "1002 steps; at most 1000");
    }

    #[test]
    fn the_images_size_in_all_is_bounded() {
        refused(
            "layers: [1MiB]",
            "layers: [4GiB, 4GiB, 4GiB, 4GiB, 1MiB]",
            7,
            "images",
            "at most 16GiB",
        );
    }

    #[test]
    fn absurd_durations_are_refused_with_their_field() {
        let fleet =
            "  - { name: f, region: eu, per_zone: 2, mirrors: [region], pull: [team/app:1] }";
        for (key, value, field, max) in [
            (
                "timeouts",
                "{ connect: 2h }",
                "hosts[0].timeouts.connect",
                "at most 1h",
            ),
            (
                "timeouts",
                "{ request: 30d }",
                "hosts[0].timeouts.request",
                "at most 1h",
            ),
            (
                "retry_backoff",
                "2h",
                "hosts[0].retry_backoff",
                "at most 1h",
            ),
        ] {
            let edited = fleet.replace(" }", &format!(", {key}: {value} }}"));
            refused(fleet, &edited, 9, field, max);
        }
        refused(
            "for: 5s",
            "for: 100000d",
            11,
            "timeline[0].for",
            "at most 1day",
        );
        refused(
            "  - { at: 1s, fault: kill, target: eu-a, for: 5s }",
            "  - { at: 1s, fault: latency, target: eu-lb, for: 5s, delay: 2m }",
            11,
            "timeline[0].delay",
            "at most 1m",
        );
        refused(
            "",
            "probes: { interval: 2m }\n",
            12,
            "probes.interval",
            "at most 1m",
        );
        refused(
            "",
            "probes: { timeout: 1d }\n",
            12,
            "probes.timeout",
            "at most 1h",
        );
        refused(
            "",
            "sla:\n  cold_pull: { p99: 1000d }\n",
            13,
            "sla.cold_pull.p99",
            "at most 1day",
        );
        refused(
            "",
            "sla:\n  recovery: { max: 1000d }\n",
            13,
            "sla.recovery.max",
            "at most 1day",
        );
        refused(
            "",
            "sla:\n  error_budget: { slo: 99.9%, period: 100years }\n",
            13,
            "sla.error_budget.period",
            "at most",
        );
    }

    #[test]
    fn availability_windows_per_run_are_bounded() {
        refused(
            "duration: 30s",
            "duration: 24h\nprobes: { interval: 10ms }\nsla:\n  availability: { min: 99%, window: 50ms }",
            5,
            "sla.availability.window",
            "1728000 windows; at most 1000000",
        );
    }

    #[test]
    fn a_ramp_and_start_near_the_largest_duration_do_not_overflow() {
        let got = problems(
            "",
            "  - { at: 18446744073709551615s, do: cold-start, ramp: 18446744073709551615s }\n",
        );
        assert!(
            got.iter().any(|p| p.contains("timeline[1].ramp")),
            "{got:#?}"
        );
    }
}
