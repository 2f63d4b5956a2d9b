//! The checks of the replication, isolation and fallback SLAs.

use super::{duration_check, signed_pp, unmeasured, Bound, Check, CheckKind};
use crate::analysis::Analysis;
use crate::model::sla::{FallbackSla, IsolationSla};
use crate::model::units::{format_percent, Span};

/// One check per region outage: the age of the oldest write only the lost region held.
pub fn rpo(limit: Span, a: &Analysis, checks: &mut Vec<Check>) {
    let losses = &a.replication.losses;
    if losses.is_empty() {
        checks.push(unmeasured(
            CheckKind::Rpo.alone(),
            "no region was lost",
            format!("≤ {limit}"),
            Some(limit.0.as_secs_f64()),
        ));
    }
    for l in losses {
        let mut c = duration_check(
            CheckKind::Rpo.about(format_args!("fault #{} region {}", l.fault, l.region)),
            Some(l.rpo_us),
            limit.0,
            "",
        );
        c.measured = format!(
            "{} ({} writes not yet in another region)",
            c.measured,
            l.unreplicated.len()
        );
        c.fault = Some(l.fault);
        checks.push(c);
    }
}

/// Per region no fault touched: its availability drop and latency rises while the
/// faults lasted, each against its margin.
pub fn isolation(sla: &IsolationSla, a: &Analysis, checks: &mut Vec<Check>) {
    let iso = &a.isolation;
    if iso.regions.is_empty() {
        checks.push(unmeasured(
            CheckKind::Isolation.alone(),
            "every region was touched by a fault: none to compare",
            format!("≤ {} drop", sla.max_availability_drop),
            Some(sla.max_availability_drop.0),
        ));
    }
    for (region, r) in &iso.regions {
        let max_drop = sla.max_availability_drop.0;
        let limit = format!("≤ {} pp drop", format_percent(max_drop));
        let drops = [
            ("availability", r.availability_drop, true),
            ("pull success", r.pull_success_drop, false),
        ];
        for (what, drop, required) in drops {
            let name = CheckKind::Isolation.about(format_args!("{region} {what}"));
            checks.push(match drop {
                None if required => unmeasured(
                    name,
                    "no probes during a fault or outside one",
                    limit.clone(),
                    Some(max_drop),
                ),
                None => continue,
                Some(drop) => Check {
                    name,
                    measured: format!("{} pp drop", format_percent(drop.max(0.0))),
                    limit: limit.clone(),
                    margin: signed_pp(max_drop - drop),
                    passed: drop <= max_drop + super::EPSILON,
                    measured_value: Some(drop),
                    limit_value: Some(max_drop),
                    bound: Bound::AtMost,
                    fault: None,
                },
            });
        }
        let max_rise = sla.max_latency_increase.0;
        let rises = [
            ("probe latency", r.probe_latency_increase, true),
            ("pull time", r.pull_latency_increase, false),
        ];
        for (what, rise, required) in rises {
            let name = CheckKind::Isolation.about(format_args!("{region} {what}"));
            let limit = format!("≤ +{}% p50", format_percent(max_rise));
            match rise {
                None if required => checks.push(unmeasured(
                    name,
                    "no probes during a fault or outside one",
                    limit,
                    Some(max_rise),
                )),
                None => {}
                Some(rise) => checks.push(Check {
                    name,
                    measured: format!("{}% p50", signed_percent(rise)),
                    limit,
                    margin: signed_pp(max_rise - rise),
                    passed: rise <= max_rise + super::EPSILON,
                    measured_value: Some(rise),
                    limit_value: Some(max_rise),
                    bound: Bound::AtMost,
                    fault: None,
                }),
            }
        }
    }
}

/// The slowest fallback pull against its limit (`max_pull`, else the pull-time SLA
/// `cold_pull.p99`), and, when asked, that fallback happened.
pub fn fallback(sla: &FallbackSla, pull_sla: Option<Span>, a: &Analysis, checks: &mut Vec<Check>) {
    let f = &a.fallback;
    // Validation refuses a fallback SLA with neither.
    if let Some(limit) = sla.max_pull.or(pull_sla) {
        checks.push(duration_check(
            CheckKind::Fallback.about("max pull"),
            f.duration.map(|d| d.max_us),
            limit.0,
            "no successful pull served by another region",
        ));
    }
    if sla.min_pulls > 0 {
        checks.push(Check {
            name: CheckKind::Fallback.about("pulls"),
            measured: format!("{} ({} failed)", f.pulls, f.failed),
            limit: format!("≥ {}", sla.min_pulls),
            margin: format!("{:+}", i128::from(f.pulls) - i128::from(sla.min_pulls)),
            passed: f.pulls >= sla.min_pulls,
            measured_value: Some(f.pulls as f64),
            limit_value: Some(sla.min_pulls as f64),
            bound: Bound::AtLeast,
            fault: None,
        });
    }
}

/// `+12.5`, `-3`: a relative change in percent, signed.
fn signed_percent(change: f64) -> String {
    let sign = if change < 0.0 { '-' } else { '+' };
    format!("{sign}{}", format_percent(change.abs()))
}

#[cfg(test)]
mod tests {
    use crate::analysis::analyze;
    use crate::analysis::tests::*;
    use crate::journal::{Event, PhaseKind};
    use crate::model::sla::{FallbackSla, IsolationSla, Sla};
    use crate::model::units::{Growth, Percent, Span};
    use crate::verdict::{judge, Check, Status, Verdict};
    use std::time::Duration;

    const S: u64 = 1_000_000;

    fn find<'a>(v: &'a Verdict, name: &str) -> &'a Check {
        v.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {:?}", v.checks))
    }

    fn isolation_sla() -> Sla {
        Sla {
            isolation: Some(IsolationSla {
                max_availability_drop: Percent(0.01),
                max_latency_increase: Growth(0.5),
            }),
            ..Sla::default()
        }
    }

    #[test]
    fn isolation_holds_for_a_spared_region_and_breaks_when_it_fails_too() {
        let mut j = outage_journal();
        let sla = isolation_sla();
        let v = judge(&sla, &analyze(&j, false));
        let c = find(&v, "isolation us availability");
        assert!(c.passed, "{c:?}");
        assert_eq!(c.measured_value, Some(0.0));
        assert!(find(&v, "isolation us probe latency").passed);
        assert!(!v
            .checks
            .iter()
            .any(|c| c.name.as_str().starts_with("isolation eu")));

        // us fails a tenth of its probes while eu's fault lasts: the bulkhead leaked.
        for r in &mut j {
            if let Event::Probe { region, ok, .. } = &mut r.event {
                if region == "us" && (10 * S..15 * S).contains(&r.t_us) && r.t_us % S == 0 {
                    *ok = false;
                }
            }
        }
        let v = judge(&sla, &analyze(&j, false));
        let c = find(&v, "isolation us availability");
        assert!(!c.passed, "{c:?}");
        assert!(c.measured_value.unwrap() > 0.01);
        assert_eq!(v.status, Status::SlaBroken);
    }

    #[test]
    fn rpo_is_judged_per_region_outage() {
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("eu", 0, 10 * S, 0, 0));
        j.push(rec(
            2 * S,
            Event::ImageSeeded {
                image: "team/app:1".into(),
                region: "eu".into(),
                digest: "sha256:a".into(),
                bytes: 10,
            },
        ));
        j.push(region_outage(8 * S, 1, "eu"));
        let sla = |secs| Sla {
            rpo: Some(Span(Duration::from_secs(secs))),
            ..Sla::default()
        };
        let a = analyze(&j, false);
        let broken = judge(&sla(5), &a);
        let c = find(&broken, "rpo fault #1 region eu");
        assert!(!c.passed);
        assert_eq!(c.measured_value, Some(6.0));
        assert_eq!(c.fault, Some(1));
        assert!(find(&judge(&sla(6), &a), "rpo fault #1 region eu").passed);

        // Without a region outage there is nothing to judge: not measured.
        let none = judge(&sla(5), &analyze(&j[..j.len() - 1], false));
        let c = find(&none, "rpo");
        assert!(!c.passed && c.measured_value.is_none(), "{c:?}");
    }

    #[test]
    fn fallback_pulls_are_judged_against_max_pull_and_min_pulls() {
        let mut j = outage_journal();
        j.push(pull(
            12 * S,
            "eu",
            true,
            vec![phase(PhaseKind::Manifest, "us", 1000, 10)],
        ));
        j.push(pull(
            13 * S,
            "eu",
            true,
            vec![phase(PhaseKind::Manifest, "eu", 1000, 10)],
        ));
        let sla = |max_ms, min_pulls| Sla {
            fallback: Some(FallbackSla {
                max_pull: Some(Span(Duration::from_millis(max_ms))),
                min_pulls,
            }),
            ..Sla::default()
        };
        let a = analyze(&j, false);
        assert_eq!(a.fallback.pulls, 1);
        let v = judge(&sla(100, 1), &a);
        assert!(find(&v, "fallback max pull").passed);
        assert!(find(&v, "fallback pulls").passed);
        let v = judge(&sla(99, 2), &a);
        assert!(!find(&v, "fallback max pull").passed);
        assert!(!find(&v, "fallback pulls").passed);

        // Without max_pull, fallback pulls are held to the pull-time SLA.
        let held_to_p99 = |p99_ms| Sla {
            fallback: Some(FallbackSla {
                max_pull: None,
                min_pulls: 0,
            }),
            cold_pull: Some(crate::model::sla::ColdPullSla {
                p99: Some(Span(Duration::from_millis(p99_ms))),
                ..Default::default()
            }),
            ..Sla::default()
        };
        let c = judge(&held_to_p99(99), &a);
        let c = find(&c, "fallback max pull");
        assert!(!c.passed);
        assert_eq!(c.limit_value, Some(0.099));
        assert!(find(&judge(&held_to_p99(100), &a), "fallback max pull").passed);
    }
}
