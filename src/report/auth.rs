//! The authentication section of every report: what each entry point answered to
//! pulls without valid credentials, how that held during each fault, and every window
//! in which it did not.

use super::{plural, secs, Clock};
use crate::analysis::Analysis;
use crate::journal::Claim;

/// The section as plain lines: a headline, then one line per entry point, per fault and
/// per breach. Empty when the run made no auth probe.
pub(crate) fn lines(a: &Analysis) -> Vec<String> {
    let at = |us| Clock::of(a).at(us);
    let Some(c) = &a.auth else {
        return Vec::new();
    };
    let probes: u64 = c.entry_points.iter().map(|e| e.probes).sum();
    let served: u64 = c.entry_points.iter().map(|e| e.served).sum();
    let mut regions: Vec<&str> = c.entry_points.iter().map(|e| e.region.as_str()).collect();
    regions.dedup();
    let held = if served == 0 {
        "none served".to_string()
    } else {
        format!(
            "{served} served in {}",
            plural(c.breaches.len() as u64, "window", "windows")
        )
    };
    let mut out = vec![format!(
        "authentication: {} without valid credentials on {}: {held}",
        plural(probes, "pull attempt", "pull attempts"),
        plural(regions.len() as u64, "entry point", "entry points"),
    )];
    for e in &c.entry_points {
        let statuses: Vec<String> = e
            .statuses
            .iter()
            .map(|(s, n)| format!("HTTP {s} ×{n}"))
            .collect();
        let mut parts = vec![format!("{} refused", e.refused)];
        if e.unavailable > 0 {
            parts.push(format!("{} unavailable", e.unavailable));
        }
        parts.push(format!("{} served", e.served));
        out.push(format!(
            "  {} {}: {} ({})",
            e.region,
            e.claim.name(),
            parts.join(", "),
            if statuses.is_empty() {
                "no answer".to_string()
            } else {
                statuses.join(", ")
            }
        ));
    }
    for f in &c.faults {
        out.push(format!(
            "  during fault #{}: {}, {} served",
            f.fault,
            plural(f.probes, "attempt", "attempts"),
            f.served
        ));
    }
    for b in &c.breaches {
        let during = if b.faults.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = b.faults.iter().map(|f| format!("#{f}")).collect();
            format!(", during fault {}", ids.join(", "))
        };
        out.push(format!(
            "  OPEN: {} served {} from {} to {} ({}, {}){during}",
            b.region,
            match b.claim {
                Claim::Anonymous => "anonymous pulls",
                Claim::WrongCredentials => "pulls with a wrong password",
                Claim::ForgedToken => "pulls with a forged token",
            },
            at(b.start_us),
            at(b.end_us),
            secs(b.end_us - b.start_us),
            plural(b.probes, "probe", "probes"),
        ));
    }
    out
}
