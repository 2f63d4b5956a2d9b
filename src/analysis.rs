//! From a journal to numbers: availability per region, cold-start and pull latency,
//! a recovery waterfall per fault, steady state and data loss. A pure function of the
//! recorded events, so any run (a killed one too) can be analysed again.

use crate::journal::{
    ColdStartRecord, Event, Outcome, Phase, PhaseKind, PullRecord, Record, RunInfo,
};
use crate::scenario::FaultKind;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    /// From `run_started`; `None` when the journal lacks it.
    pub run: Option<RunInfo>,
    /// From `run_finished`; `None` when the run never finished (killed or crashed).
    pub outcome: Option<Outcome>,
    /// Events are missing: no `run_started`, no `run_finished`, or a cut last line.
    pub incomplete: bool,
    /// The journal's last line was cut short.
    pub truncated: bool,
    /// Time of the last recorded event, µs since the run started.
    pub end_us: u64,
    pub availability: Availability,
    pub cold_starts: ColdStarts,
    pub pulls: Pulls,
    /// One entry per injected fault, in injection order.
    pub faults: Vec<FaultRecovery>,
    pub steady_state: SteadyState,
    pub data_loss: DataLossCheck,
    pub seeded: Vec<Seeded>,
    /// Fault windows and cold-start waves in start order, for charts.
    pub timeline: Vec<TimelineEntry>,
}

/// Latency distribution of a set of values in µs. Percentiles come from an HDR histogram
/// with 3 significant digits (each reported value is the top of its bucket, so at most
/// 0.1 % above the true one, and never above the max); `max_us` and `mean_us` are exact.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Latency {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: u64,
}

impl Latency {
    /// `None` when there is no value.
    pub fn of(values: impl IntoIterator<Item = u64>) -> Option<Latency> {
        let mut h = Histogram::<u64>::new(3).expect("3 significant digits is a valid precision");
        let (mut sum, mut max) = (0u128, 0u64);
        for v in values {
            // Auto-resizing: fails only where usize cannot index the counts (not on 64 bits).
            h.record(v)
                .expect("an auto-resizing histogram records any value");
            sum += u128::from(v);
            max = max.max(v);
        }
        let count = h.len();
        // A bucket's top may lie above the largest value: no percentile exceeds the max.
        let at = |q: f64| h.value_at_quantile(q).min(max);
        (count > 0).then(|| Latency {
            count,
            p50_us: at(0.50),
            p90_us: at(0.90),
            p95_us: at(0.95),
            p99_us: at(0.99),
            max_us: max,
            mean_us: (sum / u128::from(count)) as u64,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Availability {
    /// Every region of the run, and any other region that was probed.
    pub regions: BTreeMap<String, ProbeStats>,
    /// All probes of all regions; its longest outage is the longest of any region.
    pub total: ProbeStats,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ProbeStats {
    pub probes: u64,
    pub ok: u64,
    pub failed: u64,
    /// `ok / probes`, between 0 and 1; `None` without probes.
    pub ratio: Option<f64>,
    /// Longest run of failed probes, from the first failed probe to the first OK probe
    /// after it (or to the end of the journal if none came).
    pub longest_outage_us: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ColdStarts {
    pub all: ColdStartStats,
    /// By the region of the host.
    pub by_region: BTreeMap<String, ColdStartStats>,
    pub by_wave: BTreeMap<usize, ColdStartStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ColdStartStats {
    pub count: u64,
    pub ok: u64,
    pub failed: u64,
    /// Durations of the successful cold starts only.
    pub latency: Option<Latency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Pulls {
    pub attempts: u64,
    pub ok: u64,
    pub failed: u64,
    /// Requests retried on the next mirror, over all pulls.
    pub fallbacks: u64,
    pub manifest: PhaseStats,
    pub config: PhaseStats,
    pub layer: PhaseStats,
    /// Requests served per region entry point: a region serving another region's hosts
    /// shows a fallback to a distant region.
    pub served_by: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PhaseStats {
    pub count: u64,
    pub bytes: u64,
    pub ttfb: Option<Latency>,
    pub duration: Option<Latency>,
}

/// One fault and what it did. Its window runs from injection to the next fault that
/// touches one of the same regions (or the end of the journal); the signals in it are
/// the probes of its regions and the pulls by hosts of its regions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRecovery {
    pub id: usize,
    pub kind: FaultKind,
    pub target: String,
    pub members: Vec<String>,
    pub regions: Vec<String>,
    pub method: String,
    pub injected_us: u64,
    pub healed_us: Option<u64>,
    /// `None` when no `fault_healed` was recorded.
    pub heal_ok: Option<bool>,
    pub heal_error: Option<String>,
    /// Exclusive end of the window; the end of the journal for the last fault.
    pub window_end_us: u64,
    pub first_failure_us: Option<u64>,
    pub last_failure_us: Option<u64>,
    /// First successful signal after the last failure.
    pub recovered_us: Option<u64>,
    /// Injection to recovery; 0 when nothing failed; `None` when it never recovered.
    pub disruption_us: Option<u64>,
    /// Heal to recovery, 0 if the service recovered before the heal.
    pub after_heal_us: Option<u64>,
    pub failed_probes: u64,
    pub failed_pulls: u64,
    /// No signal failed: the fault was invisible to clients.
    pub masked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SteadyState {
    /// Probes were seen before the first fault and none failed. Always true without
    /// faults: there is nothing to be steady before.
    pub reached: bool,
    /// Probes before the first fault (all probes when there is none).
    pub probes_before_first_fault: u64,
    pub failed_probes_before_first_fault: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct DataLossCheck {
    /// 0 means the check did not run.
    pub checked: u64,
    pub ok: u64,
    pub failures: Vec<LostImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LostImage {
    pub region: String,
    pub image: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Seeded {
    pub image: String,
    pub region: String,
    pub digest: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEntry {
    Fault {
        fault: usize,
        kind: FaultKind,
        target: String,
        injected_us: u64,
        healed_us: Option<u64>,
    },
    /// Hosts that cold-started in one wave: from the first start to the last end.
    Wave {
        wave: usize,
        hosts: u64,
        started_us: u64,
        ended_us: u64,
    },
}

impl TimelineEntry {
    fn start_us(&self) -> u64 {
        match self {
            TimelineEntry::Fault { injected_us, .. } => *injected_us,
            TimelineEntry::Wave { started_us, .. } => *started_us,
        }
    }
}

/// A probe or a pull: something a client saw succeed or fail at a time.
struct Signal<'a> {
    t_us: u64,
    region: &'a str,
    ok: bool,
    probe: bool,
}

struct Injected<'a> {
    t_us: u64,
    id: usize,
    kind: FaultKind,
    target: &'a str,
    members: &'a [String],
    regions: &'a [String],
    method: &'a str,
}

struct Healed<'a> {
    t_us: u64,
    ok: bool,
    error: Option<&'a str>,
}

pub fn analyze(records: &[Record], truncated: bool) -> Analysis {
    let mut run = None;
    let mut outcome = None;
    let mut signals = Vec::new();
    let mut pulls = Vec::new();
    let mut cold_starts = Vec::new();
    let mut injected = Vec::new();
    let mut healed: HashMap<usize, Healed> = HashMap::new();
    let mut data_loss = DataLossCheck::default();
    let mut seeded = Vec::new();

    for r in records {
        match &r.event {
            Event::RunStarted(info) => run = Some(info.clone()),
            Event::RunFinished { outcome: o } => outcome = Some(o.clone()),
            Event::Probe { region, ok, .. } => signals.push(Signal {
                t_us: r.t_us,
                region,
                ok: *ok,
                probe: true,
            }),
            Event::Pull(p) => {
                signals.push(Signal {
                    t_us: r.t_us,
                    region: &p.region,
                    ok: p.ok,
                    probe: false,
                });
                pulls.push(p);
            }
            Event::ColdStart(c) => cold_starts.push(c),
            Event::FaultInjected {
                fault,
                kind,
                target,
                members,
                regions,
                method,
            } => injected.push(Injected {
                t_us: r.t_us,
                id: *fault,
                kind: *kind,
                target,
                members,
                regions,
                method,
            }),
            Event::FaultHealed { fault, ok, error } => {
                healed.entry(*fault).or_insert(Healed {
                    t_us: r.t_us,
                    ok: *ok,
                    error: error.as_deref(),
                });
            }
            Event::Verified {
                region,
                image,
                ok,
                error,
            } => {
                data_loss.checked += 1;
                if *ok {
                    data_loss.ok += 1;
                } else {
                    data_loss.failures.push(LostImage {
                        region: region.clone(),
                        image: image.clone(),
                        error: error.clone(),
                    });
                }
            }
            Event::ImageSeeded {
                image,
                region,
                digest,
                bytes,
            } => seeded.push(Seeded {
                image: image.clone(),
                region: region.clone(),
                digest: digest.clone(),
                bytes: *bytes,
            }),
            Event::TopologyUp { .. } | Event::TimelineStarted => {}
        }
    }
    // Events are written in the order they were recorded, which concurrent tasks may
    // leave slightly out of time order; the windows below need time order.
    signals.sort_by_key(|s| s.t_us);
    injected.sort_by_key(|f| f.t_us);

    let end_us = records.iter().map(|r| r.t_us).max().unwrap_or(0);
    let regions: Vec<&str> = run
        .as_ref()
        .map(|r: &RunInfo| r.regions.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let faults = fault_recoveries(&injected, &healed, &signals, end_us);
    let timeline = timeline(&faults, &cold_starts);

    Analysis {
        incomplete: run.is_none() || outcome.is_none() || truncated,
        availability: availability(&regions, &signals, end_us),
        cold_starts: cold_start_stats(&cold_starts),
        pulls: pull_stats(&pulls),
        steady_state: steady_state(&signals, injected.first().map(|f| f.t_us)),
        run,
        outcome,
        truncated,
        end_us,
        faults,
        data_loss,
        seeded,
        timeline,
    }
}

fn availability(regions: &[&str], signals: &[Signal], end_us: u64) -> Availability {
    let mut probes: BTreeMap<&str, Vec<(u64, bool)>> =
        regions.iter().map(|r| (*r, Vec::new())).collect();
    for s in signals.iter().filter(|s| s.probe) {
        probes.entry(s.region).or_default().push((s.t_us, s.ok));
    }
    let regions: BTreeMap<String, ProbeStats> = probes
        .iter()
        .map(|(region, p)| (region.to_string(), probe_stats(p, end_us)))
        .collect();
    let sum = |field: fn(&ProbeStats) -> u64| regions.values().map(field).sum::<u64>();
    let (all, ok) = (sum(|s| s.probes), sum(|s| s.ok));
    let total = ProbeStats {
        probes: all,
        ok,
        failed: all - ok,
        ratio: (all > 0).then(|| ok as f64 / all as f64),
        longest_outage_us: regions
            .values()
            .map(|s| s.longest_outage_us)
            .max()
            .unwrap_or(0),
    };
    Availability { regions, total }
}

/// Statistics of one region's probes, `(time, ok)` in time order.
fn probe_stats(probes: &[(u64, bool)], end_us: u64) -> ProbeStats {
    let all = probes.len() as u64;
    let ok = probes.iter().filter(|(_, ok)| *ok).count() as u64;
    let mut longest = 0;
    let mut down_since = None;
    for &(t, ok) in probes {
        match (ok, down_since) {
            (false, None) => down_since = Some(t),
            (true, Some(since)) => {
                longest = longest.max(t - since);
                down_since = None;
            }
            _ => {}
        }
    }
    if let Some(since) = down_since {
        longest = longest.max(end_us - since);
    }
    ProbeStats {
        probes: all,
        ok,
        failed: all - ok,
        ratio: (all > 0).then(|| ok as f64 / all as f64),
        longest_outage_us: longest,
    }
}

fn cold_start_stats(all: &[&ColdStartRecord]) -> ColdStarts {
    fn stats<'a>(group: impl Iterator<Item = &'a ColdStartRecord> + Clone) -> ColdStartStats {
        let count = group.clone().count() as u64;
        let ok = group.clone().filter(|c| c.ok).count() as u64;
        ColdStartStats {
            count,
            ok,
            failed: count - ok,
            latency: Latency::of(group.filter(|c| c.ok).map(|c| c.duration_us)),
        }
    }
    let mut by_region: BTreeMap<String, Vec<&ColdStartRecord>> = BTreeMap::new();
    let mut by_wave: BTreeMap<usize, Vec<&ColdStartRecord>> = BTreeMap::new();
    for c in all {
        by_region.entry(c.region.clone()).or_default().push(c);
        by_wave.entry(c.wave).or_default().push(c);
    }
    ColdStarts {
        all: stats(all.iter().copied()),
        by_region: by_region
            .into_iter()
            .map(|(k, v)| (k, stats(v.into_iter())))
            .collect(),
        by_wave: by_wave
            .into_iter()
            .map(|(k, v)| (k, stats(v.into_iter())))
            .collect(),
    }
}

fn pull_stats(pulls: &[&PullRecord]) -> Pulls {
    let phases: Vec<&Phase> = pulls.iter().flat_map(|p| &p.phases).collect();
    let phase = |kind: PhaseKind| {
        let of_kind = phases.iter().filter(|p| p.phase == kind);
        PhaseStats {
            count: of_kind.clone().count() as u64,
            bytes: of_kind.clone().map(|p| p.bytes).sum(),
            ttfb: Latency::of(of_kind.clone().map(|p| p.ttfb_us)),
            duration: Latency::of(of_kind.map(|p| p.duration_us)),
        }
    };
    let mut served_by = BTreeMap::new();
    for p in &phases {
        *served_by.entry(p.endpoint.clone()).or_default() += 1;
    }
    let ok = pulls.iter().filter(|p| p.ok).count() as u64;
    Pulls {
        attempts: pulls.len() as u64,
        ok,
        failed: pulls.len() as u64 - ok,
        fallbacks: pulls.iter().map(|p| u64::from(p.fallbacks)).sum(),
        manifest: phase(PhaseKind::Manifest),
        config: phase(PhaseKind::Config),
        layer: phase(PhaseKind::Layer),
        served_by,
    }
}

fn fault_recoveries(
    injected: &[Injected],
    healed: &HashMap<usize, Healed>,
    signals: &[Signal],
    end_us: u64,
) -> Vec<FaultRecovery> {
    injected
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let touches = |region: &str| f.regions.iter().any(|r| r == region);
            let window_end_us = injected[i + 1..]
                .iter()
                .find(|next| next.regions.iter().any(|r| touches(r)))
                .map_or(end_us.saturating_add(1), |next| next.t_us);
            let window: Vec<&Signal> = signals
                .iter()
                .filter(|s| s.t_us >= f.t_us && s.t_us < window_end_us && touches(s.region))
                .collect();
            let failed = || window.iter().filter(|s| !s.ok);
            let last_failure = window.iter().rposition(|s| !s.ok);
            // Searched by position, not time, so a success recorded at the same
            // microsecond after the last failure still counts.
            let recovered_us = last_failure
                .and_then(|last| window[last + 1..].iter().find(|s| s.ok))
                .map(|s| s.t_us);
            let heal = healed.get(&f.id);
            let healed_us = heal.map(|h| h.t_us);
            FaultRecovery {
                id: f.id,
                kind: f.kind,
                target: f.target.to_string(),
                members: f.members.to_vec(),
                regions: f.regions.to_vec(),
                method: f.method.to_string(),
                injected_us: f.t_us,
                healed_us,
                heal_ok: heal.map(|h| h.ok),
                heal_error: heal.and_then(|h| h.error.map(str::to_string)),
                window_end_us,
                first_failure_us: failed().next().map(|s| s.t_us),
                last_failure_us: last_failure.map(|i| window[i].t_us),
                recovered_us,
                disruption_us: match (last_failure, recovered_us) {
                    (None, _) => Some(0),
                    (Some(_), Some(r)) => Some(r - f.t_us),
                    (Some(_), None) => None,
                },
                after_heal_us: recovered_us
                    .zip(healed_us)
                    .map(|(r, h)| r.saturating_sub(h)),
                failed_probes: failed().filter(|s| s.probe).count() as u64,
                failed_pulls: failed().filter(|s| !s.probe).count() as u64,
                masked: last_failure.is_none(),
            }
        })
        .collect()
}

fn steady_state(signals: &[Signal], first_fault_us: Option<u64>) -> SteadyState {
    let before: Vec<&Signal> = signals
        .iter()
        .filter(|s| s.probe && first_fault_us.is_none_or(|t| s.t_us < t))
        .collect();
    let failed = before.iter().filter(|s| !s.ok).count() as u64;
    SteadyState {
        reached: first_fault_us.is_none() || (!before.is_empty() && failed == 0),
        probes_before_first_fault: before.len() as u64,
        failed_probes_before_first_fault: failed,
    }
}

fn timeline(faults: &[FaultRecovery], cold_starts: &[&ColdStartRecord]) -> Vec<TimelineEntry> {
    let mut waves: BTreeMap<usize, (u64, u64, u64)> = BTreeMap::new();
    for c in cold_starts {
        let end = c.started_us + c.duration_us;
        let w = waves.entry(c.wave).or_insert((0, c.started_us, end));
        w.0 += 1;
        w.1 = w.1.min(c.started_us);
        w.2 = w.2.max(end);
    }
    let mut entries: Vec<TimelineEntry> = faults
        .iter()
        .map(|f| TimelineEntry::Fault {
            fault: f.id,
            kind: f.kind,
            target: f.target.clone(),
            injected_us: f.injected_us,
            healed_us: f.healed_us,
        })
        .chain(waves.into_iter().map(
            |(wave, (hosts, started_us, ended_us))| TimelineEntry::Wave {
                wave,
                hosts,
                started_us,
                ended_us,
            },
        ))
        .collect();
    entries.sort_by_key(TimelineEntry::start_us);
    entries
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scenario::Sla;

    pub(crate) const S: u64 = 1_000_000;
    pub(crate) const MS: u64 = 1_000;

    pub(crate) fn rec(t_us: u64, event: Event) -> Record {
        Record { t_us, event }
    }

    pub(crate) fn run_started(regions: &[&str], sla: Sla) -> Record {
        rec(
            0,
            Event::RunStarted(RunInfo {
                format: 1,
                run_id: "0badcafe".into(),
                scenario: "zone-outage".into(),
                description: "Zone eu-a is lost.".into(),
                seed: 42,
                started_at: "2025-01-01T00:00:00Z".into(),
                duration_us: 60 * S,
                probe_interval_us: S,
                regions: regions.iter().map(|r| r.to_string()).collect(),
                sla,
            }),
        )
    }

    pub(crate) fn finished(t_us: u64, outcome: Outcome) -> Record {
        rec(t_us, Event::RunFinished { outcome })
    }

    pub(crate) fn probe(t_us: u64, region: &str, ok: bool) -> Record {
        rec(
            t_us,
            Event::Probe {
                region: region.into(),
                ok,
                latency_us: 2 * MS,
                error: (!ok).then(|| "connection refused".into()),
            },
        )
    }

    pub(crate) fn cold_start(region: &str, wave: usize, ok: bool, duration_us: u64) -> Record {
        rec(
            duration_us,
            Event::ColdStart(ColdStartRecord {
                host: format!("{region}-fleet-1"),
                fleet: format!("{region}-fleet"),
                region: region.into(),
                zone: format!("{region}-a"),
                wave,
                ok,
                started_us: 0,
                duration_us,
                attempts: 1,
            }),
        )
    }

    pub(crate) fn pull(t_us: u64, region: &str, ok: bool, phases: Vec<Phase>) -> Record {
        rec(
            t_us,
            Event::Pull(PullRecord {
                host: format!("{region}-fleet-1"),
                fleet: format!("{region}-fleet"),
                region: region.into(),
                zone: format!("{region}-b"),
                wave: 0,
                image: "team/app:1".into(),
                ok,
                started_us: t_us - 100 * MS,
                duration_us: 100 * MS,
                error: (!ok).then(|| "manifest: 503".into()),
                fallbacks: if ok { 0 } else { 1 },
                phases,
            }),
        )
    }

    pub(crate) fn phase(phase: PhaseKind, endpoint: &str, ttfb_us: u64, bytes: u64) -> Phase {
        Phase {
            phase,
            digest: "sha256:00".into(),
            endpoint: endpoint.into(),
            ttfb_us,
            duration_us: 2 * ttfb_us,
            bytes,
        }
    }

    pub(crate) fn inject(t_us: u64, fault: usize, target: &str, regions: &[&str]) -> Record {
        rec(
            t_us,
            Event::FaultInjected {
                fault,
                kind: FaultKind::ZoneOutage,
                target: target.into(),
                members: vec![format!("drill-0badcafe-{target}-1")],
                regions: regions.iter().map(|r| r.to_string()).collect(),
                method: "docker kill (SIGKILL)".into(),
            },
        )
    }

    pub(crate) fn heal(t_us: u64, fault: usize) -> Record {
        rec(
            t_us,
            Event::FaultHealed {
                fault,
                ok: true,
                error: None,
            },
        )
    }

    pub(crate) fn verified(region: &str, image: &str, ok: bool) -> Record {
        rec(
            90 * S,
            Event::Verified {
                region: region.into(),
                image: image.into(),
                ok,
                error: (!ok).then(|| "manifest unknown".into()),
            },
        )
    }

    /// Probes every 100 ms in `region` over `[from, to)`, failing inside `[down, up)`.
    pub(crate) fn probes(region: &str, from: u64, to: u64, down: u64, up: u64) -> Vec<Record> {
        (from..to)
            .step_by((100 * MS) as usize)
            .map(|t| probe(t, region, !(down..up).contains(&t)))
            .collect()
    }

    /// The outage of the brief: zone eu-a lost at 10 s, healed at 14.5 s; eu probes fail
    /// from 10.1 s to 14.9 s and succeed again at 15.0 s. us never fails.
    pub(crate) fn outage_journal() -> Vec<Record> {
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("eu", 0, 10 * S, 0, 0));
        j.extend(probes("us", 0, 20 * S, 0, 0));
        j.push(inject(10 * S, 1, "eu-a", &["eu"]));
        j.extend(probes("eu", 10 * S, 20 * S, 10_100 * MS, 15 * S));
        j.push(heal(14_500 * MS, 1));
        j.push(finished(20 * S, Outcome::Completed));
        j
    }

    #[test]
    fn availability_counts_probes_per_region_and_in_total() {
        let a = analyze(&outcome_with_regions(), false);
        let eu = &a.availability.regions["eu"];
        // eu: 200 probes, 49 failed (10.1 s .. 14.9 s inclusive).
        assert_eq!((eu.probes, eu.ok, eu.failed), (200, 151, 49));
        assert!((eu.ratio.unwrap() - 0.755).abs() < 1e-12);
        assert_eq!(eu.longest_outage_us, 4_900 * MS);
        let us = &a.availability.regions["us"];
        assert_eq!((us.probes, us.failed, us.ratio), (200, 0, Some(1.0)));
        assert_eq!(us.longest_outage_us, 0);
        // "ap" is declared but never probed.
        assert_eq!(a.availability.regions["ap"].ratio, None);
        let t = &a.availability.total;
        assert_eq!((t.probes, t.ok, t.failed), (400, 351, 49));
        assert_eq!(t.longest_outage_us, 4_900 * MS);
        assert!(!a.incomplete);
    }

    fn outcome_with_regions() -> Vec<Record> {
        let mut j = outage_journal();
        j[0] = run_started(&["eu", "us", "ap"], Sla::default());
        j
    }

    #[test]
    fn an_outage_lasting_to_the_end_counts_until_the_last_event() {
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 2 * S, S, 2 * S));
        j.push(finished(3 * S, Outcome::Completed));
        let a = analyze(&j, false);
        assert_eq!(a.availability.regions["eu"].longest_outage_us, 2 * S);
    }

    #[test]
    fn cold_start_percentiles_within_hdr_precision() {
        let mut j: Vec<Record> = (1..=100)
            .map(|ms| cold_start("eu", (ms % 2) as usize, true, ms * MS))
            .collect();
        j.push(cold_start("us", 0, false, 500 * MS));
        let a = analyze(&j, false);
        let all = &a.cold_starts.all;
        assert_eq!((all.count, all.ok, all.failed), (101, 100, 1));
        let l = all.latency.unwrap();
        assert_eq!(l.count, 100);
        let near = |got: u64, want: u64| got >= want && got <= want + want / 1000;
        assert!(near(l.p50_us, 50 * MS), "p50 {}", l.p50_us);
        assert!(near(l.p90_us, 90 * MS), "p90 {}", l.p90_us);
        assert!(near(l.p95_us, 95 * MS), "p95 {}", l.p95_us);
        assert!(near(l.p99_us, 99 * MS), "p99 {}", l.p99_us);
        // The failed 500 ms cold start is not a latency; max and mean are exact.
        assert_eq!(l.max_us, 100 * MS);
        assert_eq!(l.mean_us, 50_500);

        let us = &a.cold_starts.by_region["us"];
        assert_eq!((us.count, us.failed, us.latency), (1, 1, None));
        // Wave 1 holds the odd milliseconds 1, 3 .. 99.
        let w1 = &a.cold_starts.by_wave[&1];
        assert_eq!((w1.count, w1.latency.unwrap().max_us), (50, 99 * MS));
        assert_eq!(a.cold_starts.by_wave[&0].count, 51);
        assert!(a.incomplete, "no run_started nor run_finished");
    }

    #[test]
    fn pulls_per_phase_and_endpoint() {
        let j = vec![
            pull(
                S,
                "eu",
                true,
                vec![
                    phase(PhaseKind::Manifest, "eu", 4 * MS, 500),
                    phase(PhaseKind::Config, "eu", 2 * MS, 300),
                    phase(PhaseKind::Layer, "eu", 10 * MS, 2 << 20),
                    phase(PhaseKind::Layer, "us", 30 * MS, 8 << 20),
                ],
            ),
            pull(2 * S, "eu", false, vec![]),
        ];
        let p = analyze(&j, false).pulls;
        assert_eq!((p.attempts, p.ok, p.failed, p.fallbacks), (2, 1, 1, 1));
        assert_eq!((p.layer.count, p.layer.bytes), (2, 10 << 20));
        assert_eq!(p.layer.ttfb.unwrap().max_us, 30 * MS);
        assert_eq!(p.layer.duration.unwrap().max_us, 60 * MS);
        assert_eq!((p.manifest.count, p.manifest.bytes), (1, 500));
        assert_eq!(p.config.ttfb.unwrap().p50_us, 2 * MS);
        assert_eq!(p.served_by["eu"], 3);
        assert_eq!(p.served_by["us"], 1);
    }

    #[test]
    fn fault_waterfall_of_a_known_outage() {
        let a = analyze(&outage_journal(), false);
        assert_eq!(a.faults.len(), 1);
        let f = &a.faults[0];
        assert_eq!((f.id, f.target.as_str()), (1, "eu-a"));
        assert_eq!(f.injected_us, 10 * S);
        assert_eq!(f.healed_us, Some(14_500 * MS));
        assert_eq!(f.heal_ok, Some(true));
        assert_eq!(f.first_failure_us, Some(10_100 * MS));
        assert_eq!(f.last_failure_us, Some(14_900 * MS));
        assert_eq!(f.recovered_us, Some(15 * S));
        assert_eq!(f.disruption_us, Some(5 * S));
        assert_eq!(f.after_heal_us, Some(500 * MS));
        assert_eq!((f.failed_probes, f.failed_pulls), (49, 0));
        assert!(!f.masked);
        assert_eq!(f.window_end_us, 20 * S + 1);
        assert!(a.steady_state.reached);
        assert_eq!(a.steady_state.probes_before_first_fault, 200);
        assert_eq!(
            a.timeline,
            vec![TimelineEntry::Fault {
                fault: 1,
                kind: FaultKind::ZoneOutage,
                target: "eu-a".into(),
                injected_us: 10 * S,
                healed_us: Some(14_500 * MS),
            }]
        );
    }

    #[test]
    fn failed_pulls_of_the_region_count_in_the_window_and_others_do_not() {
        let mut j = outage_journal();
        // A pull from eu failing after the last failed probe moves the last failure;
        // a us pull failing is outside the fault's regions.
        j.push(pull(14_950 * MS, "eu", false, vec![]));
        j.push(pull(16 * S, "us", false, vec![]));
        let f = &analyze(&j, false).faults[0];
        assert_eq!(f.last_failure_us, Some(14_950 * MS));
        assert_eq!(f.recovered_us, Some(15 * S));
        assert_eq!((f.failed_probes, f.failed_pulls), (49, 1));
    }

    #[test]
    fn a_masked_fault_has_no_disruption() {
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("eu", 0, 10 * S, 0, 0));
        j.push(inject(5 * S, 1, "us-a", &["us"]));
        j.push(heal(8 * S, 1));
        // eu fails, but eu is not touched by the fault.
        j.push(probe(6 * S, "eu", false));
        j.extend(probes("us", 5 * S, 10 * S, 0, 0));
        let f = &analyze(&j, false).faults[0];
        assert!(f.masked);
        assert_eq!(f.disruption_us, Some(0));
        assert_eq!(
            (f.first_failure_us, f.recovered_us, f.after_heal_us),
            (None, None, None)
        );
    }

    #[test]
    fn a_fault_never_recovered_has_no_disruption_value() {
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 10 * S, 3 * S, 10 * S));
        j.push(inject(3 * S, 1, "eu-a", &["eu"]));
        let a = analyze(&j, true);
        let f = &a.faults[0];
        assert_eq!(f.first_failure_us, Some(3 * S));
        assert_eq!(f.last_failure_us, Some(9_900 * MS));
        assert_eq!((f.recovered_us, f.disruption_us), (None, None));
        assert_eq!((f.healed_us, f.heal_ok), (None, None));
        assert!(!f.masked);
        assert!(a.incomplete);
    }

    #[test]
    fn the_window_ends_at_the_next_fault_sharing_a_region() {
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("eu", 0, 30 * S, 11 * S, 12 * S));
        j.push(inject(10 * S, 1, "eu-a", &["eu"]));
        j.push(inject(15 * S, 2, "us", &["us"]));
        j.push(inject(20 * S, 3, "eu-b", &["eu"]));
        j.push(probe(21 * S, "eu", false));
        let a = analyze(&j, false);
        // Fault 2 touches another region: fault 1's window runs to fault 3.
        assert_eq!(a.faults[0].window_end_us, 20 * S);
        assert_eq!(a.faults[0].last_failure_us, Some(11_900 * MS));
        assert_eq!(a.faults[0].disruption_us, Some(2 * S));
        // The eu failure at 21 s belongs to fault 3 only.
        assert_eq!(a.faults[2].first_failure_us, Some(21 * S));
        assert_eq!(a.faults[2].disruption_us, Some(21_100 * MS - 20 * S));
    }

    #[test]
    fn steady_state_needs_clean_probes_before_the_first_fault() {
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 5 * S, 2 * S, 2_300 * MS));
        j.push(inject(5 * S, 1, "eu-a", &["eu"]));
        let s = analyze(&j, false).steady_state;
        assert!(!s.reached);
        assert_eq!(
            (
                s.probes_before_first_fault,
                s.failed_probes_before_first_fault
            ),
            (50, 3)
        );

        // No probe at all before the fault: not reached either.
        let j = vec![inject(S, 1, "eu-a", &["eu"]), probe(2 * S, "eu", true)];
        assert!(!analyze(&j, false).steady_state.reached);
        // Without a fault there is nothing to be steady before.
        assert!(
            analyze(&[probe(S, "eu", false)], false)
                .steady_state
                .reached
        );
    }

    #[test]
    fn data_loss_lists_failed_verifications() {
        let j = vec![
            verified("eu", "team/app:1", true),
            verified("us", "team/app:1", false),
            verified("eu", "library/base:1", true),
        ];
        let d = analyze(&j, false).data_loss;
        assert_eq!((d.checked, d.ok), (3, 2));
        assert_eq!(
            d.failures,
            vec![LostImage {
                region: "us".into(),
                image: "team/app:1".into(),
                error: Some("manifest unknown".into()),
            }]
        );
    }

    #[test]
    fn waves_and_faults_form_the_timeline_and_json_round_trips() {
        let mut j = outage_journal();
        j.push(cold_start("eu", 0, true, 3 * S));
        j.push(cold_start("us", 0, true, 4 * S));
        j.push(rec(
            6 * S,
            Event::ImageSeeded {
                image: "team/app:1".into(),
                region: "eu".into(),
                digest: "sha256:ab".into(),
                bytes: 1234,
            },
        ));
        let a = analyze(&j, false);
        assert_eq!(
            a.timeline[0],
            TimelineEntry::Wave {
                wave: 0,
                hosts: 2,
                started_us: 0,
                ended_us: 4 * S,
            }
        );
        assert!(matches!(
            a.timeline[1],
            TimelineEntry::Fault { fault: 1, .. }
        ));
        assert_eq!(a.seeded[0].bytes, 1234);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Analysis>(&json).unwrap(), a);
    }
}
