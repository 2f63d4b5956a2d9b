//! The checks of the replication, isolation and fallback SLAs.

use super::{duration_check, signed_pp, unmeasured, Bound, Check};
use crate::analysis::Analysis;
use crate::scenario::{FallbackSla, IsolationSla};
use crate::units::{format_percent, Span};

/// One check per region outage: the age of the oldest write only the lost region held.
pub fn rpo(limit: Span, a: &Analysis, checks: &mut Vec<Check>) {
    let losses = &a.replication.losses;
    if losses.is_empty() {
        checks.push(unmeasured(
            "rpo".into(),
            "no region was lost",
            format!("≤ {limit}"),
            Some(limit.0.as_secs_f64()),
        ));
    }
    for l in losses {
        let mut c = duration_check(
            format!("rpo fault #{} region {}", l.fault, l.region),
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
            "isolation".into(),
            "every region was touched by a fault: none to compare",
            format!("≤ {} drop", sla.max_availability_drop),
            Some(sla.max_availability_drop.0),
        ));
    }
    for (region, r) in &iso.regions {
        let max_drop = sla.max_availability_drop.0;
        let limit = format!("≤ {} pp drop", format_percent(max_drop));
        checks.push(match r.availability_drop {
            None => unmeasured(
                format!("isolation {region} availability"),
                "no probes during a fault or outside one",
                limit,
                Some(max_drop),
            ),
            Some(drop) => Check {
                name: format!("isolation {region} availability"),
                measured: format!("{} pp drop", format_percent(drop.max(0.0))),
                limit,
                margin: signed_pp(max_drop - drop),
                passed: drop <= max_drop + super::EPSILON,
                measured_value: Some(drop),
                limit_value: Some(max_drop),
                bound: Bound::AtMost,
                fault: None,
            },
        });
        let max_rise = sla.max_latency_increase.0;
        let rises = [
            ("probe latency", r.probe_latency_increase, true),
            ("pull time", r.pull_latency_increase, false),
        ];
        for (what, rise, required) in rises {
            let name = format!("isolation {region} {what}");
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

/// The slowest fallback pull against the limit, and, when asked, that fallback happened.
pub fn fallback(sla: &FallbackSla, a: &Analysis, checks: &mut Vec<Check>) {
    let f = &a.fallback;
    checks.push(duration_check(
        "fallback max pull".into(),
        f.duration.map(|d| d.max_us),
        sla.max_pull.0,
        "no successful pull served by another region",
    ));
    if sla.min_pulls > 0 {
        checks.push(Check {
            name: "fallback pulls".into(),
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
