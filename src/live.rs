//! The live view: a status line every few seconds while a run or game day goes on,
//! built from the same events the journal records. Plain lines, so CI logs read well.

use crate::journal::Event;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

#[derive(Debug, Default)]
pub struct LiveStats {
    /// Region → (probes, failed) since the last line.
    probes: BTreeMap<String, (u64, u64)>,
    cold_starts_ok: u64,
    cold_starts_failed: u64,
    /// Durations (µs) of the cold starts finished since the last line.
    recent_cold_us: Vec<u64>,
    /// Fault id → "kind target".
    active: BTreeMap<usize, String>,
    last_error: Option<String>,
    /// Regions whose entry point served a pull without valid credentials since the
    /// last line: a game day must see that at once, not in the report.
    open: BTreeSet<String>,
}

impl LiveStats {
    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::Probe {
                region, ok, error, ..
            } => {
                let entry = self.probes.entry(region.clone()).or_default();
                entry.0 += 1;
                if !ok {
                    entry.1 += 1;
                    if let Some(e) = error {
                        self.last_error = Some(format!("probe {region}: {e}"));
                    }
                }
            }
            Event::Pull(p) if !p.ok => {
                if let Some(e) = &p.error {
                    self.last_error = Some(format!("pull by {}: {e}", p.host));
                }
            }
            Event::ColdStart(c) if c.ok => {
                self.cold_starts_ok += 1;
                self.recent_cold_us.push(c.duration_us);
            }
            Event::ColdStart(_) => self.cold_starts_failed += 1,
            Event::FaultInjected {
                fault,
                kind,
                target,
                ..
            } => {
                self.active
                    .insert(*fault, format!("{} {target}", kind.name()));
            }
            Event::FaultHealed { fault, .. } => {
                self.active.remove(fault);
            }
            Event::AuthProbe {
                region,
                served: true,
                ..
            } => {
                self.open.insert(region.clone());
            }
            _ => {}
        }
    }

    /// One line on what happened since the previous line, then starts a new interval.
    pub fn line(&mut self) -> String {
        let mut out = String::from("live:");
        for (region, (probes, failed)) in &self.probes {
            let share = 100.0 * (probes - failed) as f64 / (*probes).max(1) as f64;
            let _ = write!(out, " {region} {share:.1}%");
        }
        let _ = write!(
            out,
            " | cold starts {} ok, {} failed",
            self.cold_starts_ok, self.cold_starts_failed
        );
        if !self.recent_cold_us.is_empty() {
            self.recent_cold_us.sort_unstable();
            let p50 = self.recent_cold_us[self.recent_cold_us.len() / 2];
            let max = self.recent_cold_us[self.recent_cold_us.len() - 1];
            let _ = write!(
                out,
                " (recent p50 {:.3}s, max {:.3}s)",
                p50 as f64 / 1e6,
                max as f64 / 1e6
            );
        }
        if !self.active.is_empty() {
            let faults: Vec<String> = self
                .active
                .iter()
                .map(|(id, f)| format!("#{id} {f}"))
                .collect();
            let _ = write!(out, " | active: {}", faults.join(", "));
        }
        if !self.open.is_empty() {
            let regions: Vec<&str> = self.open.iter().map(String::as_str).collect();
            let _ = write!(
                out,
                " | OPEN without valid credentials: {}",
                regions.join(", ")
            );
        }
        if let Some(e) = self.last_error.take() {
            let _ = write!(out, " | last error: {e}");
        }
        self.probes.clear();
        self.open.clear();
        self.recent_cold_us.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ColdStartRecord;
    use crate::scenario::FaultKind;

    fn probe(region: &str, ok: bool) -> Event {
        Event::Probe {
            region: region.into(),
            ok,
            latency_us: 10,
            error: (!ok).then(|| "timed out".into()),
        }
    }

    fn cold(ok: bool, duration_us: u64) -> Event {
        Event::ColdStart(ColdStartRecord {
            host: "h".into(),
            kind: crate::scenario::HostKind::Native,
            fleet: "f".into(),
            region: "eu".into(),
            zone: "eu-a".into(),
            wave: 1,
            ok,
            started_us: 0,
            duration_us,
            attempts: 1,
        })
    }

    #[test]
    fn line_summarises_the_interval_and_resets() {
        let mut live = LiveStats::default();
        for ok in [true, true, true, false] {
            live.observe(&probe("eu", ok));
        }
        live.observe(&probe("us", true));
        live.observe(&cold(true, 1_000_000));
        live.observe(&cold(true, 3_000_000));
        live.observe(&cold(false, 9_000_000));
        live.observe(&Event::FaultInjected {
            fault: 1,
            kind: FaultKind::Kill,
            target: "eu-a-1".into(),
            members: vec![],
            regions: vec!["eu".into()],
            method: String::new(),
        });
        assert_eq!(
            live.line(),
            "live: eu 75.0% us 100.0% | cold starts 2 ok, 1 failed (recent p50 3.000s, max 3.000s) \
             | active: #1 kill eu-a-1 | last error: probe eu: timed out"
        );
        live.observe(&Event::FaultHealed {
            fault: 1,
            ok: true,
            error: None,
        });
        assert_eq!(live.line(), "live: | cold starts 2 ok, 1 failed");
    }

    #[test]
    fn an_entry_point_serving_without_credentials_is_flagged_for_its_interval() {
        let mut live = LiveStats::default();
        let auth = |region: &str, status: u16| Event::AuthProbe {
            region: region.into(),
            claim: crate::journal::Claim::Anonymous,
            status: Some(status),
            served: (200..300).contains(&status),
            error: None,
        };
        live.observe(&auth("eu", 401));
        live.observe(&auth("us", 200));
        assert_eq!(
            live.line(),
            "live: | cold starts 0 ok, 0 failed | OPEN without valid credentials: us"
        );
        live.observe(&auth("us", 401));
        assert_eq!(live.line(), "live: | cold starts 0 ok, 0 failed");
    }
}
