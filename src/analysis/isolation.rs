//! Bulkheads and fallback from the journal: whether the regions a fault spared kept
//! their availability and latency while it lasted, and the pulls another region served.

use super::{FaultRecovery, Latency};
use crate::journal::{Event, PullRecord, Record};
use crate::model::names::{proxy_name, UPSTREAM};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Each region no fault touched, during the faults' spans against the rest of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct Isolation {
    /// Regions some fault touched: not judged.
    pub affected: Vec<String>,
    /// The spans compared with steady state: each fault from its injection to the
    /// later of its heal and its recovery.
    pub spans: Vec<FaultSpan>,
    pub regions: BTreeMap<String, RegionIsolation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct RegionIsolation {
    pub steady: Side,
    pub during: Side,
    /// `steady − during` probe success rate, as a fraction (0.01 is 1 pp); `None`
    /// without probes on either side.
    pub availability_drop: Option<f64>,
    /// `during / steady − 1` of the median probe latency.
    pub probe_latency_increase: Option<f64>,
    /// `during / steady − 1` of the median successful pull time of the region's hosts;
    /// `None` unless pulls ran on both sides.
    pub pull_latency_increase: Option<f64>,
    /// `steady − during` share of the region's hosts' pull attempts that succeeded (a
    /// steady side without pulls counts as all succeeded): a region whose registries
    /// answer probes can still turn every cold start away (a token service it shares
    /// with a lost region, say). `None` without pulls during the faults.
    #[serde(default)]
    pub pull_success_drop: Option<f64>,
}

/// `[start_us, end_us)`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct FaultSpan {
    pub start_us: u64,
    pub end_us: u64,
}

/// A region's probes and pulls on one side of the comparison.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct Side {
    pub probes: u64,
    pub failed_probes: u64,
    pub probe_latency: Option<Latency>,
    pub pulls: u64,
    pub failed_pulls: u64,
    pub pull_time: Option<Latency>,
}

impl Side {
    fn availability(&self) -> Option<f64> {
        (self.probes > 0).then(|| (self.probes - self.failed_probes) as f64 / self.probes as f64)
    }

    pub fn pull_success(&self) -> Option<f64> {
        (self.pulls > 0).then(|| (self.pulls - self.failed_pulls) as f64 / self.pulls as f64)
    }
}

/// Pulls served, in part or whole, by another region's entry point than the host's own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct Fallback {
    pub pulls: u64,
    pub ok: u64,
    pub failed: u64,
    /// Durations of the successful fallback pulls.
    pub duration: Option<Latency>,
    /// Host region → region that served → requests.
    pub by_region: BTreeMap<String, BTreeMap<String, u64>>,
}

pub fn isolation(records: &[Record], regions: &[&str], faults: &[FaultRecovery]) -> Isolation {
    let spans: Vec<FaultSpan> = faults
        .iter()
        .map(|f| {
            let end = f.active_until_us.max(f.healed_us.unwrap_or(0));
            FaultSpan {
                start_us: f.injected_us,
                end_us: end.max(f.injected_us + 1),
            }
        })
        .collect();
    let inside = |t: u64| spans.iter().any(|s| t >= s.start_us && t < s.end_us);
    let overlaps = |a: u64, b: u64| spans.iter().any(|s| a < s.end_us && b >= s.start_us);
    let mut affected: Vec<String> = faults.iter().flat_map(|f| f.regions.clone()).collect();
    affected.sort();
    affected.dedup();

    #[derive(Default)]
    struct Raw {
        probes: Vec<(bool, u64)>,
        pulls: Vec<(bool, u64)>,
    }
    let mut sides: BTreeMap<&str, [Raw; 2]> = regions
        .iter()
        .filter(|r| !affected.iter().any(|a| a == *r))
        .map(|r| (*r, Default::default()))
        .collect();
    for r in records {
        match &r.event {
            Event::Probe {
                region,
                ok,
                latency_us,
                ..
            } => {
                if let Some(s) = sides.get_mut(region.as_str()) {
                    s[usize::from(inside(r.t_us))]
                        .probes
                        .push((*ok, *latency_us));
                }
            }
            Event::Pull(p) => {
                if let Some(s) = sides.get_mut(p.host.region.as_str()) {
                    let during = overlaps(p.started_us, p.started_us + p.duration_us);
                    s[usize::from(during)].pulls.push((p.ok, p.duration_us));
                }
            }
            _ => {}
        }
    }
    let side = |raw: &Raw| Side {
        probes: raw.probes.len() as u64,
        failed_probes: raw.probes.iter().filter(|(ok, _)| !ok).count() as u64,
        probe_latency: Latency::of(raw.probes.iter().filter(|(ok, _)| *ok).map(|(_, l)| *l)),
        pulls: raw.pulls.len() as u64,
        failed_pulls: raw.pulls.iter().filter(|(ok, _)| !ok).count() as u64,
        pull_time: Latency::of(raw.pulls.iter().filter(|(ok, _)| *ok).map(|(_, d)| *d)),
    };
    let increase = |steady: Option<Latency>, during: Option<Latency>| {
        let (s, d) = (steady?.p50_us, during?.p50_us);
        (s > 0).then(|| d as f64 / s as f64 - 1.0)
    };
    let regions = sides
        .into_iter()
        .map(|(region, [steady, during])| {
            let (steady, during) = (side(&steady), side(&during));
            let stats = RegionIsolation {
                availability_drop: steady
                    .availability()
                    .zip(during.availability())
                    .map(|(s, d)| s - d),
                probe_latency_increase: increase(steady.probe_latency, during.probe_latency),
                pull_latency_increase: increase(steady.pull_time, during.pull_time),
                pull_success_drop: during
                    .pull_success()
                    .map(|d| steady.pull_success().unwrap_or(1.0) - d),
                steady,
                during,
            };
            (region.to_string(), stats)
        })
        .collect();
    Isolation {
        affected,
        spans,
        regions,
    }
}

pub fn fallback(pulls: &[&PullRecord]) -> Fallback {
    let mut out = Fallback::default();
    let mut durations = Vec::new();
    for p in pulls {
        // The host's own region's proxy and the upstream are no other region.
        let own_proxy = proxy_name(&p.host.region);
        let distant: Vec<&str> = p
            .phases
            .iter()
            .map(|ph| ph.endpoint.as_str())
            .filter(|e| *e != p.host.region && *e != own_proxy && *e != UPSTREAM)
            .collect();
        if distant.is_empty() {
            continue;
        }
        out.pulls += 1;
        if p.ok {
            out.ok += 1;
            durations.push(p.duration_us);
        } else {
            out.failed += 1;
        }
        let served = out.by_region.entry(p.host.region.clone()).or_default();
        for e in distant {
            *served.entry(e.to_string()).or_default() += 1;
        }
    }
    out.duration = Latency::of(durations);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::host;
    use crate::journal::{Phase, PhaseKind};

    fn probe(t_us: u64, region: &str, ok: bool, latency_us: u64) -> Record {
        Record {
            t_us,
            event: Event::Probe {
                region: region.into(),
                ok,
                latency_us,
                error: None,
            },
        }
    }

    fn pull(
        region: &str,
        started_us: u64,
        duration_us: u64,
        served: &[&str],
        ok: bool,
    ) -> PullRecord {
        PullRecord {
            host: host(&format!("{region}-h"), region, &format!("{region}-a"), 1),
            image: "team/app:1".into(),
            ok,
            started_us,
            duration_us,
            error: None,
            mirror_moves: 0,
            moves: Vec::new(),
            http_errors: Default::default(),
            phases: served
                .iter()
                .map(|e| Phase {
                    phase: PhaseKind::Layer,
                    digest: "sha256:x".into(),
                    endpoint: e.to_string(),
                    ttfb_us: 1,
                    duration_us: 1,
                    bytes: 1,
                })
                .collect(),
        }
    }

    fn region_fault(injected_us: u64, healed_us: u64, region: &str) -> FaultRecovery {
        let json = serde_json::json!({
            "id": 1, "kind": "region-outage", "target": region, "members": [],
            "regions": [region], "method": "kill", "injected_us": injected_us,
            "healed_us": healed_us, "heal_ok": true, "heal_error": null,
            "window_end_us": healed_us, "first_failure_us": null, "last_failure_us": null,
            "recovered_us": null, "back_within_sla_us": null, "disruption_us": 0,
            "after_heal_us": 0, "active_until_us": healed_us, "failed_probes": 0,
            "failed_pulls": 0, "masked": true,
            "cold_pull": { "answer": "masked", "sentence": "", "cold_pull_p50_us": null,
                           "overlapping": 0, "failed": 0, "delayed": 0,
                           "median_extra_delay_us": null }
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn spared_region_is_compared_with_its_own_steady_state() {
        let mut records = Vec::new();
        for i in 0..20u64 {
            let t = i * 1_000_000;
            let during = (5_000_000..15_000_000).contains(&t);
            records.push(probe(t, "eu", !during, 1_000));
            // us: one failure and double latency inside the fault's span.
            let us_ok = !(during && i == 10);
            records.push(probe(t, "us", us_ok, if during { 2_000 } else { 1_000 }));
        }
        let iso = isolation(
            &records,
            &["eu", "us"],
            &[region_fault(5_000_000, 15_000_000, "eu")],
        );
        assert_eq!(iso.affected, ["eu"]);
        assert!(
            !iso.regions.contains_key("eu"),
            "the faulted region is not judged"
        );
        let us = &iso.regions["us"];
        assert_eq!((us.steady.probes, us.during.probes), (10, 10));
        assert!((us.availability_drop.unwrap() - 0.1).abs() < 1e-9);
        assert!((us.probe_latency_increase.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(us.pull_latency_increase, None);
        assert_eq!(us.pull_success_drop, None, "no pulls at all");
    }

    #[test]
    fn a_spared_region_turning_its_pulls_away_shows_in_pull_success() {
        let mut records: Vec<Record> = (0..20u64)
            .map(|i| probe(i * 1_000_000, "us", true, 1_000))
            .collect();
        // us's registries answer every probe, and refuse every pull during the fault:
        // three attempts fail inside its span, one succeeds after.
        let pulls = [
            pull("us", 1_000_000, 500_000, &["us"], true),
            pull("us", 6_000_000, 100, &[], false),
            pull("us", 8_000_000, 100, &[], false),
            pull("us", 10_000_000, 100, &[], false),
            pull("us", 16_000_000, 500_000, &["us"], true),
        ];
        records.extend(pulls.into_iter().map(|p| Record {
            t_us: p.started_us + p.duration_us,
            event: Event::Pull(p),
        }));
        let iso = isolation(
            &records,
            &["eu", "us"],
            &[region_fault(5_000_000, 15_000_000, "eu")],
        );
        let us = &iso.regions["us"];
        assert_eq!(us.availability_drop, Some(0.0));
        assert_eq!((us.steady.failed_pulls, us.steady.pulls), (0, 2));
        assert_eq!((us.during.failed_pulls, us.during.pulls), (3, 3));
        assert_eq!(us.pull_success_drop, Some(1.0));
        assert_eq!(
            us.pull_latency_increase, None,
            "no pull succeeded during it"
        );

        // Hosts that pulled only during the fault are held to every pull succeeding.
        let during_only: Vec<Record> = records
            .into_iter()
            .filter(|r| match &r.event {
                Event::Pull(p) => (5_000_000..15_000_000).contains(&p.started_us),
                _ => true,
            })
            .collect();
        let iso = isolation(
            &during_only,
            &["eu", "us"],
            &[region_fault(5_000_000, 15_000_000, "eu")],
        );
        assert_eq!(iso.regions["us"].steady.pulls, 0);
        assert_eq!(iso.regions["us"].pull_success_drop, Some(1.0));
    }

    #[test]
    fn fallback_counts_pulls_another_region_served() {
        let local = pull("us", 0, 100, &["us", "us"], true);
        let distant = pull("eu", 0, 300, &["us", "us"], true);
        let mixed = pull("eu", 0, 500, &["eu", "us"], true);
        let failed = pull("eu", 0, 900, &["us"], false);
        let f = fallback(&[&local, &distant, &mixed, &failed]);
        assert_eq!((f.pulls, f.ok, f.failed), (3, 2, 1));
        assert_eq!(f.duration.unwrap().max_us, 500);
        assert_eq!(f.by_region["eu"]["us"], 4);
        assert!(!f.by_region.contains_key("us"));
    }

    #[test]
    fn the_hosts_own_proxy_and_the_upstream_are_no_fallback() {
        let own = pull("eu", 0, 100, &["eu", "eu-proxy", "upstream"], true);
        let other = pull("eu", 0, 200, &["us-proxy"], true);
        let f = fallback(&[&own, &other]);
        assert_eq!(f.pulls, 1);
        assert_eq!(f.by_region["eu"].keys().collect::<Vec<_>>(), ["us-proxy"]);
    }
}
