//! Cold starts counted in total, per region, per wave and per host kind.

use super::Latency;
use crate::journal::{ColdStartOutcome, ColdStartRecord};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct ColdStarts {
    pub all: ColdStartStats,
    /// By the region of the host.
    pub by_region: BTreeMap<String, ColdStartStats>,
    pub by_wave: BTreeMap<usize, ColdStartStats>,
    /// By host kind: `native`, `containerd`, `docker`.
    pub by_kind: BTreeMap<String, ColdStartStats>,
    /// Every cold start, in start order: the points of the latency-over-time chart.
    pub points: Vec<ColdStartPoint>,
}

/// Cold starts of one group: `count` = `ok` + `failed` + `interrupted`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct ColdStartStats {
    /// Every cold start a wave asked for.
    pub count: u64,
    pub ok: u64,
    /// Cut off by the run's end after one of its pulls had failed (older journals:
    /// every cold start the run's end cut off).
    pub failed: u64,
    /// Restarted by a later wave, or cut off by the run's end while none of its pulls
    /// had failed.
    #[serde(default)]
    pub interrupted: u64,
    /// Durations of the successful cold starts only.
    pub latency: Option<Latency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct ColdStartPoint {
    pub host: String,
    pub region: String,
    pub wave: usize,
    pub started_us: u64,
    /// To its end, or to its interruption.
    pub duration_us: u64,
    pub ok: bool,
    #[serde(default)]
    pub interrupted: bool,
}

pub(super) fn cold_start_stats(all: &[&ColdStartRecord]) -> ColdStarts {
    fn stats<'a>(group: impl Iterator<Item = &'a ColdStartRecord> + Clone) -> ColdStartStats {
        let of = |outcome| group.clone().filter(|c| c.outcome() == outcome).count() as u64;
        ColdStartStats {
            count: group.clone().count() as u64,
            ok: of(ColdStartOutcome::Ok),
            failed: of(ColdStartOutcome::Failed),
            interrupted: of(ColdStartOutcome::Interrupted),
            latency: Latency::of(group.filter(|c| c.ok).map(|c| c.duration_us)),
        }
    }
    let mut by_region: BTreeMap<String, Vec<&ColdStartRecord>> = BTreeMap::new();
    let mut by_wave: BTreeMap<usize, Vec<&ColdStartRecord>> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, Vec<&ColdStartRecord>> = BTreeMap::new();
    for c in all {
        by_region.entry(c.host.region.clone()).or_default().push(c);
        by_wave.entry(c.host.wave).or_default().push(c);
        by_kind
            .entry(c.host.kind.name().to_string())
            .or_default()
            .push(c);
    }
    fn each<K: Ord>(groups: BTreeMap<K, Vec<&ColdStartRecord>>) -> BTreeMap<K, ColdStartStats> {
        groups
            .into_iter()
            .map(|(k, v)| (k, stats(v.into_iter())))
            .collect()
    }
    ColdStarts {
        all: stats(all.iter().copied()),
        by_region: each(by_region),
        by_wave: each(by_wave),
        by_kind: each(by_kind),
        points: all
            .iter()
            .map(|c| ColdStartPoint {
                host: c.host.name.clone(),
                region: c.host.region.clone(),
                wave: c.host.wave,
                started_us: c.started_us,
                duration_us: c.duration_us,
                ok: c.ok,
                interrupted: c.outcome() == ColdStartOutcome::Interrupted,
            })
            .collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::analysis::tests::*;
    use crate::journal::{Event, Interruption, Record};
    use crate::model::sla::Sla;

    /// started = ok + failed + interrupted in every group, each grouping holds every cold
    /// start once, and so do the chart's points.
    #[track_caller]
    pub(crate) fn assert_counts_add_up(c: &ColdStarts) {
        let groups = std::iter::once(("all".to_string(), &c.all))
            .chain(c.by_region.iter().map(|(k, s)| (format!("region {k}"), s)))
            .chain(c.by_wave.iter().map(|(k, s)| (format!("wave {k}"), s)))
            .chain(c.by_kind.iter().map(|(k, s)| (format!("kind {k}"), s)));
        for (name, s) in groups {
            assert_eq!(s.count, s.ok + s.failed + s.interrupted, "{name}: {s:?}");
        }
        let total = |groups: Vec<&ColdStartStats>| {
            groups.iter().fold((0, 0, 0, 0), |t, s| {
                (
                    t.0 + s.count,
                    t.1 + s.ok,
                    t.2 + s.failed,
                    t.3 + s.interrupted,
                )
            })
        };
        let all = (c.all.count, c.all.ok, c.all.failed, c.all.interrupted);
        assert_eq!(total(c.by_region.values().collect()), all, "regions");
        assert_eq!(total(c.by_wave.values().collect()), all, "waves");
        assert_eq!(total(c.by_kind.values().collect()), all, "kinds");
        assert_eq!(c.points.len() as u64, c.all.count, "points");
        let interrupted = c.points.iter().filter(|p| p.interrupted).count() as u64;
        assert_eq!(interrupted, c.all.interrupted, "interrupted points");
        assert_eq!(
            c.all.latency.map_or(0, |l| l.count),
            c.all.ok,
            "latency of the successful ones only"
        );
    }

    /// Host `name` of eu, wave `wave`, from `started_us` for `duration_us`.
    fn cold(
        name: &str,
        wave: usize,
        started_us: u64,
        duration_us: u64,
        end: Option<(Interruption, u32)>,
    ) -> Record {
        rec(
            started_us + duration_us,
            Event::ColdStart(ColdStartRecord {
                host: host(name, "eu", "eu-a", wave),
                ok: end.is_none(),
                started_us,
                duration_us,
                attempts: 1 + end.map_or(0, |e| e.1),
                failed_attempts: end.map_or(0, |e| e.1),
                interrupted: end.map(|e| e.0),
            }),
        )
    }

    #[test]
    fn cold_starts_restarted_or_cut_off_count_as_interrupted_or_failed() {
        let (restarted, ended) = (Interruption::Restarted, Interruption::RunEnded);
        let mut j = vec![run_started(&["eu"], Sla::default())];
        // Wave 1 restarted by wave 2 at 3 s, one host after a failed pull; one host had
        // not had its turn in the ramp.
        j.push(cold("h1", 1, S, 2 * S, Some((restarted, 0))));
        j.push(cold("h2", 1, S, 2 * S, Some((restarted, 1))));
        j.push(cold("h3", 1, 3 * S, 0, Some((restarted, 0))));
        // Wave 2: one done, one still pulling when the run ended at 10 s, one still
        // retrying a failed pull then.
        j.push(cold("h1", 2, 3 * S, S, None));
        j.push(cold("h2", 2, 3 * S, 7 * S, Some((ended, 0))));
        j.push(cold("h3", 2, 3 * S, 7 * S, Some((ended, 2))));
        j.push(finished(10 * S, crate::journal::Outcome::Completed));
        let c = analyze(&j, false).cold_starts;
        assert_counts_add_up(&c);
        let counts = |s: &ColdStartStats| (s.count, s.ok, s.failed, s.interrupted);
        assert_eq!(counts(&c.all), (6, 1, 1, 4));
        assert_eq!(counts(&c.by_wave[&1]), (3, 0, 0, 3));
        assert_eq!(counts(&c.by_wave[&2]), (3, 1, 1, 1));
        assert_eq!(c.all.latency.unwrap().max_us, S);
        let h3 = c
            .points
            .iter()
            .find(|p| p.host == "h3" && p.wave == 1)
            .unwrap();
        assert!(h3.interrupted && !h3.ok);
    }

    #[test]
    fn cold_starts_during_a_fault_count_the_interrupted_apart() {
        let mut j = outage_journal();
        let end = j.pop().unwrap();
        // A reference outside the fault, then three during it: restarted, cut off after
        // a failed pull, and done.
        j.push(cold("h0", 1, 0, S, None));
        j.push(cold("h1", 1, 11 * S, S, Some((Interruption::Restarted, 0))));
        j.push(cold(
            "h2",
            1,
            11 * S,
            9 * S,
            Some((Interruption::RunEnded, 1)),
        ));
        j.push(cold("h3", 2, 12 * S, S / 2, None));
        j.push(end);
        let a = analyze(&j, false);
        let during = &a.faults[0].cold_pull;
        assert_eq!(
            (during.overlapping, during.failed, during.interrupted),
            (3, 1, 1)
        );
        assert_eq!(a.cold_pull_reference.count, 1);
    }
}
