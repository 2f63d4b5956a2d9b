//! The security SLA's evidence: what every entry point answered to pulls made without
//! valid credentials (`auth_probe` events), and every window in which one served them.

use crate::analysis::FaultRecovery;
use crate::journal::{Claim, Event, Record};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct AuthCheck {
    /// Per entry point and claim, in region order.
    pub entry_points: Vec<AuthEntryPoint>,
    /// Every run of consecutive probes that were served, in time order.
    pub breaches: Vec<AuthBreach>,
    /// Per injected fault: the auth probes made while it was active.
    pub faults: Vec<AuthDuringFault>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct AuthEntryPoint {
    pub region: String,
    pub claim: Claim,
    pub probes: u64,
    /// Refused for want of valid credentials: 401 or 403.
    pub refused: u64,
    /// Neither served nor refused: another status (503 while the entry point had no
    /// node) or no answer at all. Nothing was served, but authentication was not shown.
    pub unavailable: u64,
    pub served: u64,
    /// Each status answered, with how many times.
    pub statuses: BTreeMap<u16, u64>,
}

/// A window in which an entry point served a manifest without valid credentials: from
/// the first served probe to the last of the run of served probes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct AuthBreach {
    pub region: String,
    pub claim: Claim,
    pub start_us: u64,
    pub end_us: u64,
    pub probes: u64,
    /// Faults active at some point of the window.
    pub faults: Vec<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct AuthDuringFault {
    pub fault: usize,
    pub probes: u64,
    pub served: u64,
}

/// `None` when the journal holds no auth probe (an open topology).
pub fn auth_check(records: &[Record], faults: &[FaultRecovery]) -> Option<AuthCheck> {
    let mut probes: Vec<(u64, &str, Claim, Option<u16>, bool)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::AuthProbe {
                region,
                claim,
                status,
                served,
                ..
            } => Some((r.t_us, region.as_str(), *claim, *status, *served)),
            _ => None,
        })
        .collect();
    if probes.is_empty() {
        return None;
    }
    probes.sort_by_key(|p| p.0);
    let active = |f: &FaultRecovery, t: u64| t >= f.injected_us && t <= f.active_until_us;

    let mut per: BTreeMap<(&str, Claim), AuthEntryPoint> = BTreeMap::new();
    let mut open: BTreeMap<(&str, Claim), AuthBreach> = BTreeMap::new();
    let mut breaches = Vec::new();
    for &(t, region, claim, status, served) in &probes {
        let e = per
            .entry((region, claim))
            .or_insert_with(|| AuthEntryPoint {
                region: region.to_string(),
                claim,
                probes: 0,
                refused: 0,
                unavailable: 0,
                served: 0,
                statuses: BTreeMap::new(),
            });
        e.probes += 1;
        match (served, status) {
            (true, _) => e.served += 1,
            (false, Some(401 | 403)) => e.refused += 1,
            (false, _) => e.unavailable += 1,
        }
        if let Some(s) = status {
            *e.statuses.entry(s).or_default() += 1;
        }
        if served {
            let b = open.entry((region, claim)).or_insert_with(|| AuthBreach {
                region: region.to_string(),
                claim,
                start_us: t,
                end_us: t,
                probes: 0,
                faults: Vec::new(),
            });
            b.end_us = t;
            b.probes += 1;
        } else if let Some(b) = open.remove(&(region, claim)) {
            breaches.push(b);
        }
    }
    breaches.extend(open.into_values());
    for b in &mut breaches {
        b.faults = faults
            .iter()
            .filter(|f| f.injected_us <= b.end_us && f.active_until_us >= b.start_us)
            .map(|f| f.id)
            .collect();
    }
    breaches.sort_by_key(|b| (b.start_us, b.region.clone(), b.claim));
    let during = faults
        .iter()
        .map(|f| {
            let inside = probes.iter().filter(|p| active(f, p.0));
            AuthDuringFault {
                fault: f.id,
                probes: inside.clone().count() as u64,
                served: inside.filter(|p| p.4).count() as u64,
            }
        })
        .collect();
    Some(AuthCheck {
        entry_points: per.into_values().collect(),
        breaches,
        faults: during,
    })
}

impl AuthCheck {
    /// Probes of `region`, all claims together: (made, served).
    pub fn region_totals(&self, region: &str) -> (u64, u64) {
        self.entry_points
            .iter()
            .filter(|e| e.region == region)
            .fold((0, 0), |(n, s), e| (n + e.probes, s + e.served))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(t_us: u64, region: &str, claim: Claim, status: Option<u16>) -> Record {
        Record {
            t_us,
            event: Event::AuthProbe {
                region: region.into(),
                claim,
                status,
                served: matches!(status, Some(200..=299)),
                error: status.is_none().then(|| "cannot connect".into()),
            },
        }
    }

    #[test]
    fn no_auth_probes_no_check() {
        assert_eq!(auth_check(&[], &[]), None);
    }

    #[test]
    fn every_run_of_served_probes_is_one_window() {
        use Claim::*;
        let records = vec![
            probe(1, "eu", Anonymous, Some(401)),
            probe(2, "eu", Anonymous, Some(200)),
            probe(3, "eu", WrongCredentials, Some(401)),
            probe(4, "eu", Anonymous, Some(200)),
            probe(5, "eu", Anonymous, None),
            probe(6, "eu", Anonymous, Some(200)),
            probe(7, "us", Anonymous, Some(503)),
            probe(8, "us", Anonymous, Some(403)),
        ];
        let a = auth_check(&records, &[]).unwrap();
        let spans: Vec<(u64, u64, u64)> = a
            .breaches
            .iter()
            .map(|b| (b.start_us, b.end_us, b.probes))
            .collect();
        // A refusal by another claim does not close eu/anonymous's window; an
        // unanswered probe does (nothing was served), and the run's end closes the last.
        assert_eq!(spans, vec![(2, 4, 2), (6, 6, 1)]);
        let eu = &a.entry_points[0];
        assert_eq!((eu.region.as_str(), eu.claim), ("eu", Anonymous));
        assert_eq!(
            (eu.probes, eu.served, eu.refused, eu.unavailable),
            (5, 3, 1, 1)
        );
        // A 503 is no refusal, but it serves nothing either.
        let us = &a.entry_points[2];
        assert_eq!((us.refused, us.unavailable, us.served), (1, 1, 0));
        assert_eq!(a.region_totals("eu"), (6, 3));
        assert_eq!(a.region_totals("us"), (2, 0));
    }
}
