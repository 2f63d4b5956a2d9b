//! The live view's numbers, built from the same events the journal records: a status
//! line every few seconds (plain, so CI logs read well) and the snapshot the full-screen
//! dashboard (`--live`, see [`crate::ui::dashboard`]) draws once a second.

use crate::journal::{ColdStartOutcome, Event};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

/// How far back the dashboard's "recent" numbers look, in µs.
pub const RECENT_US: u64 = 10_000_000;
/// Errors the dashboard lists.
const ERRORS_KEPT: usize = 6;

#[derive(Debug)]
pub struct LiveStats {
    /// Region → (probes, failed) since the last line.
    probes: BTreeMap<String, (u64, u64)>,
    cold_starts_ok: u64,
    cold_starts_failed: u64,
    cold_starts_interrupted: u64,
    /// Durations (µs) of the cold starts finished since the last line.
    recent_cold_us: Vec<u64>,
    /// Fault id → ("kind target", injected at).
    active: BTreeMap<usize, (String, u64)>,
    last_error: Option<String>,
    /// Regions whose entry point served a pull without valid credentials since the
    /// last line: a game day must see that at once, not in the report.
    open: BTreeSet<String>,
    /// When the timeline started, if it has.
    timeline_us: Option<u64>,
    /// Region → (probes, failed) since the start.
    probe_totals: BTreeMap<String, (u64, u64)>,
    /// (time, region, ok) of the probes of the last [`RECENT_US`].
    recent_probes: VecDeque<(u64, String, bool)>,
    pulls_ok: u64,
    pulls_failed: u64,
    /// Durations of every successful pull.
    pull_totals: Histogram<u64>,
    /// (time, duration) of the successful pulls of the last [`RECENT_US`].
    recent_pulls: VecDeque<(u64, u64)>,
    /// (latest time, text, times seen) of the latest distinct errors, oldest first.
    errors: VecDeque<(u64, String, u64)>,
}

impl Default for LiveStats {
    fn default() -> Self {
        LiveStats {
            probes: BTreeMap::new(),
            cold_starts_ok: 0,
            cold_starts_failed: 0,
            cold_starts_interrupted: 0,
            recent_cold_us: Vec::new(),
            active: BTreeMap::new(),
            last_error: None,
            open: BTreeSet::new(),
            timeline_us: None,
            probe_totals: BTreeMap::new(),
            recent_probes: VecDeque::new(),
            pulls_ok: 0,
            pulls_failed: 0,
            pull_totals: Histogram::new(3).expect("3 significant digits is valid"),
            recent_pulls: VecDeque::new(),
            errors: VecDeque::new(),
        }
    }
}

/// What the dashboard shows at one instant: a pure value, so drawing it is testable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Time since the timeline started (None before it starts).
    pub elapsed_us: Option<u64>,
    pub regions: Vec<RegionView>,
    pub pulls_ok: u64,
    pub pulls_failed: u64,
    /// Successful pulls of the last [`RECENT_US`], and since the start.
    pub pull_recent: Option<Percentiles>,
    pub pull_total: Option<Percentiles>,
    pub cold_starts_ok: u64,
    pub cold_starts_failed: u64,
    pub cold_starts_interrupted: u64,
    pub faults: Vec<FaultView>,
    /// (time since the timeline started, text), newest first; a repeated error once,
    /// at its latest time, with how often it happened.
    pub errors: Vec<(u64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionView {
    pub name: String,
    /// Share of the last [`RECENT_US`]'s probes that succeeded (None: no probe then).
    pub recent: Option<f64>,
    /// Share of every probe so far that succeeded.
    pub total: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultView {
    pub id: usize,
    /// "kind target".
    pub what: String,
    /// Time since the timeline started at its injection.
    pub since_us: u64,
}

fn percent(probes: u64, failed: u64) -> f64 {
    100.0 * (probes - failed) as f64 / probes.max(1) as f64
}

/// The live view as the journal's observer: its stats, behind a lock, fed every event.
#[derive(Default)]
pub struct LiveView(std::sync::Mutex<LiveStats>);

impl LiveView {
    fn stats(&self) -> std::sync::MutexGuard<'_, LiveStats> {
        // A panic elsewhere while the lock was held leaves the stats usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `live:` line for the interval since the previous call.
    pub fn line(&self) -> String {
        self.stats().line()
    }

    /// What the dashboard draws at `now_us` (µs since the run started).
    pub fn snapshot(&self, now_us: u64) -> Snapshot {
        self.stats().snapshot(now_us)
    }
}

impl crate::journal::Observer for LiveView {
    fn observe(&self, t_us: u64, event: &Event) {
        self.stats().observe(t_us, event);
    }
}

impl LiveStats {
    /// Takes in one event that happened at `t_us` (µs since the run started).
    pub fn observe(&mut self, t_us: u64, event: &Event) {
        match event {
            Event::TimelineStarted => self.timeline_us = Some(t_us),
            Event::Probe {
                region, ok, error, ..
            } => {
                for counts in [
                    self.probes.entry(region.clone()).or_default(),
                    self.probe_totals.entry(region.clone()).or_default(),
                ] {
                    counts.0 += 1;
                    counts.1 += u64::from(!ok);
                }
                self.recent_probes.push_back((t_us, region.clone(), *ok));
                if let (false, Some(e)) = (ok, error) {
                    self.error(t_us, format!("probe {region}: {e}"));
                }
            }
            Event::Push {
                region,
                ok: false,
                error,
                ..
            } => {
                let e = error.as_deref().unwrap_or("failed");
                self.error(t_us, format!("push to {region}: {e}"));
            }
            Event::Pull(p) if p.ok => {
                self.pulls_ok += 1;
                let _ = self.pull_totals.record(p.duration_us.max(1));
                self.recent_pulls.push_back((t_us, p.duration_us));
            }
            Event::Pull(p) => {
                self.pulls_failed += 1;
                if let Some(e) = &p.error {
                    self.error(t_us, format!("pull by {}: {e}", p.host.name));
                }
            }
            Event::ColdStart(c) => match c.outcome() {
                ColdStartOutcome::Ok => {
                    self.cold_starts_ok += 1;
                    self.recent_cold_us.push(c.duration_us);
                }
                ColdStartOutcome::Failed => self.cold_starts_failed += 1,
                ColdStartOutcome::Interrupted => self.cold_starts_interrupted += 1,
            },
            Event::FaultInjected {
                fault,
                kind,
                target,
                ..
            } => {
                self.active
                    .insert(*fault, (format!("{} {target}", kind.name()), t_us));
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
                self.error(
                    t_us,
                    format!("{region} served a pull without valid credentials"),
                );
            }
            _ => {}
        }
        let horizon = t_us.saturating_sub(RECENT_US);
        while self.recent_probes.front().is_some_and(|p| p.0 < horizon) {
            self.recent_probes.pop_front();
        }
        while self.recent_pulls.front().is_some_and(|p| p.0 < horizon) {
            self.recent_pulls.pop_front();
        }
    }

    fn error(&mut self, t_us: u64, text: String) {
        self.last_error = Some(text.clone());
        // A repeated error moves to the front with a count, so ten failed probes a
        // second do not push every other error off the list.
        let seen = match self.errors.iter().position(|e| e.1 == text) {
            Some(i) => self.errors.remove(i).map_or(0, |e| e.2),
            None => 0,
        };
        self.errors.push_back((t_us, text, seen + 1));
        if self.errors.len() > ERRORS_KEPT {
            self.errors.pop_front();
        }
    }

    /// What the dashboard draws at `now_us` (µs since the run started).
    pub fn snapshot(&self, now_us: u64) -> Snapshot {
        let start = self.timeline_us.unwrap_or(0);
        let horizon = now_us.saturating_sub(RECENT_US);
        let regions = self
            .probe_totals
            .iter()
            .map(|(name, (probes, failed))| {
                let (n, bad) = self
                    .recent_probes
                    .iter()
                    .filter(|(t, r, _)| *t >= horizon && r == name)
                    .fold((0, 0), |(n, bad), (_, _, ok)| (n + 1, bad + u64::from(!ok)));
                RegionView {
                    name: name.clone(),
                    recent: (n > 0).then(|| percent(n, bad)),
                    total: percent(*probes, *failed),
                }
            })
            .collect();
        let mut recent = Histogram::<u64>::new(3).expect("3 significant digits is valid");
        for (_, d) in self.recent_pulls.iter().filter(|(t, _)| *t >= horizon) {
            let _ = recent.record((*d).max(1));
        }
        Snapshot {
            elapsed_us: self.timeline_us.map(|t| now_us.saturating_sub(t)),
            regions,
            pulls_ok: self.pulls_ok,
            pulls_failed: self.pulls_failed,
            pull_recent: percentiles(&recent),
            pull_total: percentiles(&self.pull_totals),
            cold_starts_ok: self.cold_starts_ok,
            cold_starts_failed: self.cold_starts_failed,
            cold_starts_interrupted: self.cold_starts_interrupted,
            faults: self
                .active
                .iter()
                .map(|(id, (what, t))| FaultView {
                    id: *id,
                    what: what.clone(),
                    since_us: t.saturating_sub(start),
                })
                .collect(),
            errors: self
                .errors
                .iter()
                .rev()
                .map(|(t, e, n)| {
                    let text = match n {
                        1 => e.clone(),
                        n => format!("{e} (×{n})"),
                    };
                    (t.saturating_sub(start), text)
                })
                .collect(),
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
            " | cold starts {} ok, {} failed, {} interrupted",
            self.cold_starts_ok, self.cold_starts_failed, self.cold_starts_interrupted
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
                .map(|(id, (f, _))| format!("#{id} {f}"))
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

fn percentiles(h: &Histogram<u64>) -> Option<Percentiles> {
    (!h.is_empty()).then(|| Percentiles {
        count: h.len(),
        p50_us: h.value_at_quantile(0.5),
        p90_us: h.value_at_quantile(0.9),
        p99_us: h.value_at_quantile(0.99),
        max_us: h.max(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{ColdStartRecord, HostId};
    use crate::model::kinds::FaultKind;

    fn probe(region: &str, ok: bool) -> Event {
        Event::Probe {
            region: region.into(),
            ok,
            latency_us: 10,
            error: (!ok).then(|| "timed out".into()),
        }
    }

    fn cold(ok: bool, duration_us: u64) -> Event {
        cold_start(ok, duration_us, None)
    }

    fn cold_start(
        ok: bool,
        duration_us: u64,
        interrupted: Option<crate::journal::Interruption>,
    ) -> Event {
        Event::ColdStart(ColdStartRecord {
            host: HostId {
                name: "h".into(),
                fleet: "f".into(),
                kind: crate::model::kinds::HostKind::Native,
                region: "eu".into(),
                zone: "eu-a".into(),
                wave: 1,
            },
            ok,
            started_us: 0,
            duration_us,
            attempts: 1,
            failed_attempts: 0,
            interrupted,
        })
    }

    #[test]
    fn line_summarises_the_interval_and_resets() {
        let mut live = LiveStats::default();
        for ok in [true, true, true, false] {
            live.observe(0, &probe("eu", ok));
        }
        live.observe(0, &probe("us", true));
        live.observe(0, &cold(true, 1_000_000));
        live.observe(0, &cold(true, 3_000_000));
        live.observe(0, &cold(false, 9_000_000));
        let restarted = Some(crate::journal::Interruption::Restarted);
        live.observe(0, &cold_start(false, 500_000, restarted));
        live.observe(
            0,
            &Event::FaultInjected {
                fault: 1,
                kind: FaultKind::Kill,
                target: "eu-a-1".into(),
                members: vec![],
                regions: vec!["eu".into()],
                method: String::new(),
                manual: false,
            },
        );
        assert_eq!(
            live.line(),
            "live: eu 75.0% us 100.0% | cold starts 2 ok, 1 failed, 1 interrupted \
             (recent p50 3.000s, max 3.000s) \
             | active: #1 kill eu-a-1 | last error: probe eu: timed out"
        );
        live.observe(
            0,
            &Event::FaultHealed {
                fault: 1,
                ok: true,
                error: None,
            },
        );
        assert_eq!(
            live.line(),
            "live: | cold starts 2 ok, 1 failed, 1 interrupted"
        );
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
        live.observe(0, &auth("eu", 401));
        live.observe(0, &auth("us", 200));
        assert_eq!(
            live.line(),
            "live: | cold starts 0 ok, 0 failed, 0 interrupted | OPEN without valid credentials: us \
             | last error: us served a pull without valid credentials"
        );
        live.observe(0, &auth("us", 401));
        assert_eq!(
            live.line(),
            "live: | cold starts 0 ok, 0 failed, 0 interrupted"
        );
    }

    #[test]
    fn snapshot_keeps_totals_and_the_recent_window() {
        let mut live = LiveStats::default();
        live.observe(1_000_000, &Event::TimelineStarted);
        // eu fails early, then answers for longer than the recent window.
        live.observe(2_000_000, &probe("eu", false));
        for s in 3..=20 {
            live.observe(s * 1_000_000, &probe("eu", true));
        }
        live.observe(20_000_000, &cold(true, 2_000_000));
        live.observe(
            21_000_000,
            &Event::FaultInjected {
                fault: 2,
                kind: FaultKind::Pause,
                target: "eu-a".into(),
                members: vec![],
                regions: vec!["eu".into()],
                method: String::new(),
                manual: false,
            },
        );
        let snap = live.snapshot(22_000_000);
        assert_eq!(snap.elapsed_us, Some(21_000_000));
        assert_eq!(snap.regions.len(), 1);
        assert_eq!(snap.regions[0].recent, Some(100.0));
        assert!((snap.regions[0].total - 100.0 * 18.0 / 19.0).abs() < 1e-9);
        assert_eq!(snap.cold_starts_ok, 1);
        assert_eq!(
            snap.faults,
            vec![FaultView {
                id: 2,
                what: "pause eu-a".into(),
                since_us: 20_000_000
            }]
        );
        assert_eq!(snap.errors, vec![(1_000_000, "probe eu: timed out".into())]);
        live.observe(23_000_000, &probe("eu", false));
        live.observe(24_000_000, &probe("eu", false));
        assert_eq!(
            live.snapshot(24_000_000).errors,
            vec![(23_000_000, "probe eu: timed out (×3)".into())]
        );
    }
}
