//! From a journal to numbers: availability per region (per probe and per time window),
//! cold-start and pull latency, a recovery waterfall per fault, the error budget each
//! fault consumes, the seed's question (is a fault's recovery short against a cold
//! pull?), steady state, data loss and whether authentication held (`auth`). A pure function of the recorded events, so any
//! run (a killed one too) can be analysed again.

mod cold_starts;
mod events;
mod isolation;
mod recovery;
mod replication;

use cold_starts::cold_start_stats;
#[cfg(test)]
pub(crate) use cold_starts::tests as cold_starts_tests;
pub use cold_starts::{ColdStartPoint, ColdStartStats, ColdStarts};
use events::Events;
use recovery::{cold_pull_impact, cold_pull_reference, fault_recoveries, Signal};
pub use recovery::{
    hidden_by_fallback, Answer, ColdPullImpact, ColdPullReference, FaultRecovery, MASKED,
};

pub use isolation::{Fallback, FaultSpan, Isolation, RegionIsolation, Side};
pub use replication::{
    LagPoint, PushFailure, RegionLag, RegionLoss, ReplicationAnalysis, UnreplicatedWrite,
};
mod proxy;
pub use proxy::{ProxyBehaviour, ProxyCheckRow};
mod refused;
pub use refused::RefusedFault;
pub mod auth;

pub use auth::AuthCheck;

use crate::journal::{
    ColdStartRecord, Outcome, Phase, PhaseKind, PullRecord, Record, RunInfo, ViolationKind,
};
use crate::model::kinds::FaultKind;
use crate::model::sla::{AvailabilityScope, AvailabilitySla, ErrorBudgetSla, Sla};
use crate::model::units::Percent;
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Length of the windows that decide when a fault's effect is over ("back within SLA").
pub const SETTLE_WINDOW_US: u64 = 1_000_000;
/// Consecutive clean windows needed to call a fault's effect over.
pub const SETTLE_WINDOWS: u64 = 3;
use crate::model::limits::CHART_WINDOW_US;
/// Ratios equal to a limit count as within it although percentages are floats.
const EPSILON: f64 = 1e-9;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
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
    /// When the timeline started, µs since the run started: the origin of the scenario's
    /// `at:` and of every `t+` in the reports. `None` when the run ended in setup.
    #[serde(default)]
    pub timeline_started_us: Option<u64>,
    pub availability: Availability,
    pub cold_starts: ColdStarts,
    pub pulls: Pulls,
    /// The cold starts no fault could have touched: the reference the faults' cold
    /// starts are compared with.
    pub cold_pull_reference: ColdPullReference,
    /// One entry per injected fault, in injection order.
    pub faults: Vec<FaultRecovery>,
    /// Faults not injected because they would have acted on containers an active fault
    /// held, in time order.
    #[serde(default)]
    pub refused: Vec<RefusedFault>,
    /// What each fault's disruption costs of the error budget; `None` unless the SLA
    /// declares `error_budget`.
    pub error_budget: Option<ErrorBudget>,
    pub steady_state: SteadyState,
    pub data_loss: DataLossCheck,
    pub seeded: Vec<Seeded>,
    /// Fault windows and cold-start waves in start order, for charts.
    pub timeline: Vec<TimelineEntry>,
    /// Notes written during a game day, in time order.
    #[serde(default)]
    pub notes: Vec<NoteEntry>,
    /// Replication lag per region, push failures and the recovery point of each
    /// region outage.
    #[serde(default)]
    pub replication: ReplicationAnalysis,
    /// The regions no fault touched, during the faults against their steady state.
    #[serde(default)]
    pub isolation: Isolation,
    /// Pulls another region served.
    #[serde(default)]
    pub fallback: Fallback,
    /// What the pull-through proxies served (proxy checks) and the HTTP errors hosts got.
    #[serde(default)]
    pub proxy: ProxyBehaviour,
    /// What entry points answered to pulls without valid credentials; `None` when the
    /// topology demands none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthCheck>,
    /// Push probes per region (regions with a `storage_limit` only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pushes: BTreeMap<String, PushCounts>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, JsonSchema)]
pub struct PushCounts {
    pub pushes: u64,
    pub failed: u64,
}

/// A game-day note (`drill note`), at its time in the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct NoteEntry {
    pub t_us: u64,
    pub text: String,
}

/// Latency distribution of a set of values in µs. Percentiles come from an HDR histogram
/// with 3 significant digits (each reported value is the top of its bucket, so at most
/// 0.1 % above the true one, and never above the max); `max_us` and `mean_us` are exact.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Availability {
    /// Every region of the run, and any other region that was probed.
    pub regions: BTreeMap<String, ProbeStats>,
    /// All probes of all regions; its longest outage is the longest of any region.
    pub total: ProbeStats,
    /// How the availability SLA counts, in words, to follow "availability is": the
    /// same sentence every report shows.
    pub rule: String,
    /// Probes counted per time window.
    pub windows: Windows,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
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

/// Availability counted per time window, the way cloud SLAs count it: a window is down
/// when the share of its probes that failed is above the error threshold. The windows
/// start at the first probe of the run; the last one may be shorter. A window without
/// a probe (probes hanging until their timeout leave such gaps) keeps the state of the
/// window before it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Windows {
    /// The availability SLA is judged on these windows (`sla.availability.window` is
    /// set). Otherwise they are 1 s windows with a 0 % threshold, for charts only.
    pub judged: bool,
    pub window_us: u64,
    /// Fraction of failed probes above which a window is down.
    pub error_threshold: f64,
    /// Start of the first window: the time of the run's first probe.
    pub origin_us: u64,
    pub regions: BTreeMap<String, WindowStats>,
    /// All regions' probes together.
    pub total: WindowStats,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct WindowStats {
    /// Windows counted: from the first holding a probe of this scope to the last
    /// window of the run.
    pub windows: u64,
    pub up: u64,
    pub down: u64,
    /// Counted windows without a probe, which took the state of the window before.
    pub empty: u64,
    /// `up / windows`; `None` without windows.
    pub ratio: Option<f64>,
    /// Probes per window; entry `i` covers `[origin + i·window, origin + (i+1)·window)`.
    pub series: Vec<WindowCount>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, JsonSchema)]
pub struct WindowCount {
    pub probes: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct Pulls {
    pub attempts: u64,
    pub ok: u64,
    pub failed: u64,
    /// *Mirror moves*: requests that failed on a mirror and went on to the next in the
    /// host's list, over all pulls (a pull another region served is a *fallback pull*,
    /// counted in `fallback`).
    pub mirror_moves: u64,
    /// Mirror moves by the mirror they left and why (`timeout`, `HTTP 503`...). Older
    /// journals counted moves without saying where or why: those are only in
    /// `mirror_moves`.
    #[serde(default)]
    pub moves: BTreeMap<String, BTreeMap<String, u64>>,
    pub manifest: PhaseStats,
    pub config: PhaseStats,
    pub layer: PhaseStats,
    /// Requests served per region entry point: a region serving another region's hosts
    /// shows a fallback to a distant region.
    pub served_by: BTreeMap<String, u64>,
    /// By the region of the pulling host.
    pub by_region: BTreeMap<String, PullGroup>,
    /// By image reference.
    pub by_image: BTreeMap<String, PullGroup>,
    /// By host kind: `native`, `containerd`, `docker`.
    pub by_kind: BTreeMap<String, PullGroup>,
}

/// The pulls of one region, image or host kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct PullGroup {
    pub attempts: u64,
    pub ok: u64,
    pub failed: u64,
    /// Durations of the successful pulls.
    pub duration: Option<Latency>,
    pub manifest: PhaseStats,
    pub config: PhaseStats,
    pub layer: PhaseStats,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct PhaseStats {
    pub count: u64,
    pub bytes: u64,
    pub ttfb: Option<Latency>,
    pub duration: Option<Latency>,
}

/// The downtime the SLO allows per period, and what each fault's disruption costs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ErrorBudget {
    /// The objective, as a fraction (0.9999).
    pub slo: f64,
    pub period_us: u64,
    /// `(1 − slo) × period`.
    pub allowed_downtime_us: u64,
    /// As declared; when set, the verdict checks that many events per fault.
    pub events_per_period: Option<u64>,
    /// One entry per fault, in the order of `faults`.
    pub faults: Vec<FaultBudget>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct FaultBudget {
    pub fault: usize,
    /// The fault's disruption: the downtime one such event costs. `None` when it
    /// never recovered.
    pub downtime_us: Option<u64>,
    /// `downtime / allowed`: the share of a period's budget one event uses. `None`
    /// when unknown or when the budget is 0.
    pub budget_share: Option<f64>,
    /// How many such events fit in one period's budget (`⌊allowed / downtime⌋`).
    /// `None` when the downtime is 0 (any number fits) or unknown.
    pub events_allowed: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct SteadyState {
    /// Probes were seen before the first fault and none failed. Always true without
    /// faults: there is nothing to be steady before.
    pub reached: bool,
    /// Probes before the first fault (all probes when there is none).
    pub probes_before_first_fault: u64,
    pub failed_probes_before_first_fault: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct DataLossCheck {
    /// 0 means the check did not run.
    pub checked: u64,
    pub ok: u64,
    pub failures: Vec<LostImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct LostImage {
    pub region: String,
    pub image: String,
    pub error: Option<String>,
    /// The digest last pushed to the tag; `None` in older journals.
    #[serde(default)]
    pub digest: Option<String>,
    /// `missing`, `tag_moved` or `bad_blob`; `None` in older journals.
    #[serde(default)]
    pub violation: Option<ViolationKind>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Seeded {
    pub image: String,
    pub region: String,
    pub digest: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEntry {
    Fault {
        fault: usize,
        #[schemars(with = "String")]
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

pub fn analyze(records: &[Record], truncated: bool) -> Analysis {
    let e = Events::from_records(records);
    let end_us = records.iter().map(|r| r.t_us).max().unwrap_or(0);
    let regions: Vec<&str> = e
        .run
        .as_ref()
        .map(|r: &RunInfo| r.regions.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let no_sla = Sla::default();
    let sla = e.run.as_ref().map_or(&no_sla, |r| &r.sla);
    let (faults, cold_pull_reference) = faults(&e, end_us, sla);
    let timeline = timeline(&faults, &e.cold_starts);
    let auth = auth::auth_check(records, &faults);
    let replication = replication::analyze(
        records,
        &regions,
        &e.run
            .as_ref()
            .map(|r| r.replication.clone())
            .unwrap_or_default(),
    );
    let isolation = isolation::isolation(records, &regions, &faults);

    Analysis {
        incomplete: e.run.is_none() || e.outcome.is_none() || truncated,
        availability: availability(&regions, &e.signals, end_us, sla.availability.as_ref()),
        cold_starts: cold_start_stats(&e.cold_starts),
        pulls: pull_stats(&e.pulls),
        fallback: isolation::fallback(&e.pulls),
        replication,
        isolation,
        steady_state: steady_state(&e.signals, e.injected.first().map(|f| f.t_us)),
        error_budget: sla.error_budget.as_ref().map(|b| error_budget(b, &faults)),
        cold_pull_reference,
        run: e.run,
        outcome: e.outcome,
        truncated,
        end_us,
        timeline_started_us: e.timeline_started_us,
        faults,
        refused: refused::refused(records),
        data_loss: e.data_loss,
        seeded: e.seeded,
        timeline,
        notes: e.notes,
        proxy: proxy::analyze(records),
        auth,
        pushes: e.pushes,
    }
}

/// Each fault's recovery, its cold starts against the reference the faults leave, and
/// the push probes it failed; then that reference.
fn faults(e: &Events, end_us: u64, sla: &Sla) -> (Vec<FaultRecovery>, ColdPullReference) {
    let p99_limit_us = sla
        .cold_pull
        .as_ref()
        .and_then(|c| c.p99)
        .map(|p| p.0.as_micros() as u64);
    let mut faults = fault_recoveries(
        &e.injected,
        &e.healed,
        &e.signals,
        &e.moved,
        end_us,
        p99_limit_us,
    );
    let reference = cold_pull_reference(&e.cold_starts, &faults);
    for f in &mut faults {
        f.cold_pull = cold_pull_impact(f, &e.cold_starts, &reference);
        f.failed_pushes = e
            .push_events
            .iter()
            .filter(|(t, region, ok)| {
                !ok && (f.injected_us..f.window_end_us).contains(t)
                    && f.regions.iter().any(|r| r == region)
            })
            .count() as u64;
    }
    (faults, reference)
}

fn availability(
    regions: &[&str],
    signals: &[Signal],
    end_us: u64,
    sla: Option<&AvailabilitySla>,
) -> Availability {
    let mut probes: BTreeMap<&str, Vec<(u64, bool)>> =
        regions.iter().map(|r| (*r, Vec::new())).collect();
    for s in signals.iter().filter(|s| s.probe) {
        probes.entry(s.region).or_default().push((s.t_us, s.ok));
    }
    let windows = windows(&probes, sla);
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
    Availability {
        regions,
        total,
        rule: availability_rule(sla),
        windows,
    }
}

/// The availability rule in words.
pub fn availability_rule(sla: Option<&AvailabilitySla>) -> String {
    let scope = match sla.map(|s| s.per) {
        Some(AvailabilityScope::Total) => "over all regions' probes together",
        Some(AvailabilityScope::Region) => "per region",
        None => "per region and over all regions",
    };
    match sla.and_then(|s| s.window.map(|w| (w, s.error_threshold))) {
        Some((window, threshold)) => format!(
            "the share of {window} windows that were up, {scope}; a window \
             is down when more than {} of its probes failed (windows start at the first \
             probe, the last may be shorter, and a window without a probe keeps the state \
             of the one before)",
            threshold.unwrap_or(Percent(0.0))
        ),
        None => format!(
            "the share of probes that succeeded, {scope}; every probe \
             counts the same"
        ),
    }
}

fn windows(probes: &BTreeMap<&str, Vec<(u64, bool)>>, sla: Option<&AvailabilitySla>) -> Windows {
    let declared = sla.and_then(|s| s.window.map(|w| (w, s.error_threshold)));
    let (window_us, error_threshold) = match declared {
        Some((w, t)) => ((w.0.as_micros() as u64).max(1), t.map_or(0.0, |t| t.0)),
        None => (CHART_WINDOW_US, 0.0),
    };
    let times = probes.values().flatten().map(|(t, _)| *t);
    let (origin_us, last_us) = (times.clone().min(), times.max());
    let count = match (origin_us, last_us) {
        (Some(first), Some(last)) => ((last - first) / window_us + 1) as usize,
        _ => 0,
    };
    let origin_us = origin_us.unwrap_or(0);
    let mut total = vec![WindowCount::default(); count];
    let mut regions = BTreeMap::new();
    for (region, list) in probes {
        let mut series = vec![WindowCount::default(); count];
        for &(t, ok) in list {
            let i = ((t - origin_us) / window_us) as usize;
            for w in [&mut series[i], &mut total[i]] {
                w.probes += 1;
                w.failed += u64::from(!ok);
            }
        }
        regions.insert(region.to_string(), window_stats(series, error_threshold));
    }
    Windows {
        judged: declared.is_some(),
        window_us,
        error_threshold,
        origin_us,
        regions,
        total: window_stats(total, error_threshold),
    }
}

fn window_stats(series: Vec<WindowCount>, threshold: f64) -> WindowStats {
    let (mut up, mut down, mut empty) = (0, 0, 0);
    let mut state = None;
    for w in &series {
        let is_up = if w.probes == 0 {
            // Before the first probe of this scope nothing is counted.
            let Some(previous) = state else { continue };
            empty += 1;
            previous
        } else {
            w.failed as f64 / w.probes as f64 <= threshold + EPSILON
        };
        state = Some(is_up);
        if is_up {
            up += 1;
        } else {
            down += 1;
        }
    }
    let windows = up + down;
    WindowStats {
        windows,
        up,
        down,
        empty,
        ratio: (windows > 0).then(|| up as f64 / windows as f64),
        series,
    }
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

fn phase_stats(phases: &[&Phase], kind: PhaseKind) -> PhaseStats {
    // One pass over the phases: a long run has millions of them.
    let of_kind: Vec<&Phase> = phases.iter().copied().filter(|p| p.phase == kind).collect();
    PhaseStats {
        count: of_kind.len() as u64,
        bytes: of_kind.iter().map(|p| p.bytes).sum(),
        ttfb: Latency::of(of_kind.iter().map(|p| p.ttfb_us)),
        duration: Latency::of(of_kind.iter().map(|p| p.duration_us)),
    }
}

fn pull_group(pulls: &[&PullRecord]) -> PullGroup {
    let phases: Vec<&Phase> = pulls.iter().flat_map(|p| &p.phases).collect();
    let ok = pulls.iter().filter(|p| p.ok).count() as u64;
    PullGroup {
        attempts: pulls.len() as u64,
        ok,
        failed: pulls.len() as u64 - ok,
        duration: Latency::of(pulls.iter().filter(|p| p.ok).map(|p| p.duration_us)),
        manifest: phase_stats(&phases, PhaseKind::Manifest),
        config: phase_stats(&phases, PhaseKind::Config),
        layer: phase_stats(&phases, PhaseKind::Layer),
    }
}

/// Mirror move → reason → requests.
fn moves_by_mirror(pulls: &[&PullRecord]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for m in pulls.iter().flat_map(|p| &p.moves) {
        *out.entry(m.mirror.clone())
            .or_default()
            .entry(m.reason.name())
            .or_default() += 1;
    }
    out
}

fn pull_stats(pulls: &[&PullRecord]) -> Pulls {
    let phases: Vec<&Phase> = pulls.iter().flat_map(|p| &p.phases).collect();
    let mut served_by = BTreeMap::new();
    for p in &phases {
        *served_by.entry(p.endpoint.clone()).or_default() += 1;
    }
    let grouped = |key: fn(&PullRecord) -> String| {
        let mut groups: BTreeMap<String, Vec<&PullRecord>> = BTreeMap::new();
        for p in pulls {
            groups.entry(key(p)).or_default().push(p);
        }
        groups
            .into_iter()
            .map(|(k, v)| (k, pull_group(&v)))
            .collect()
    };
    let ok = pulls.iter().filter(|p| p.ok).count() as u64;
    Pulls {
        attempts: pulls.len() as u64,
        ok,
        failed: pulls.len() as u64 - ok,
        mirror_moves: pulls.iter().map(|p| u64::from(p.mirror_moves)).sum(),
        moves: moves_by_mirror(pulls),
        manifest: phase_stats(&phases, PhaseKind::Manifest),
        config: phase_stats(&phases, PhaseKind::Config),
        layer: phase_stats(&phases, PhaseKind::Layer),
        served_by,
        by_region: grouped(|p| p.host.region.clone()),
        by_image: grouped(|p| p.image.clone()),
        by_kind: grouped(|p| p.host.kind.name().to_string()),
    }
}

fn error_budget(sla: &ErrorBudgetSla, faults: &[FaultRecovery]) -> ErrorBudget {
    let period_us = sla.period.0.as_micros() as u64;
    let allowed = ((1.0 - sla.slo.0) * period_us as f64).round().max(0.0) as u64;
    ErrorBudget {
        slo: sla.slo.0,
        period_us,
        allowed_downtime_us: allowed,
        events_per_period: sla.events_per_period,
        faults: faults
            .iter()
            .map(|f| {
                let downtime = f.disruption_us;
                FaultBudget {
                    fault: f.id,
                    downtime_us: downtime,
                    budget_share: downtime
                        .filter(|_| allowed > 0)
                        .map(|d| d as f64 / allowed as f64),
                    events_allowed: downtime.filter(|d| *d > 0).map(|d| allowed / d),
                }
            })
            .collect(),
    }
}

/// Probes are stamped when sent: one still waiting for its answer when the first fault
/// struck (a frozen token service answers no probe in flight) says nothing of the steady
/// state, so only probes answered before it count.
fn steady_state(signals: &[Signal], first_fault_us: Option<u64>) -> SteadyState {
    let before: Vec<&Signal> = signals
        .iter()
        .filter(|s| s.probe && first_fault_us.is_none_or(|t| s.t_us + s.duration_us < t))
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
        let w = waves.entry(c.host.wave).or_insert((0, c.started_us, end));
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
    use crate::journal::{Event, HostId};
    use crate::model::units::Span;
    use std::time::Duration;

    pub(crate) const S: u64 = 1_000_000;
    pub(crate) const MS: u64 = 1_000;

    pub(crate) fn rec(t_us: u64, event: Event) -> Record {
        Record { t_us, event }
    }

    /// Host `name` of `region`'s fleet (native), in zone `zone`, started by wave `wave`.
    pub(crate) fn host(name: &str, region: &str, zone: &str, wave: usize) -> HostId {
        HostId {
            name: name.into(),
            fleet: format!("{region}-fleet"),
            kind: Default::default(),
            region: region.into(),
            zone: zone.into(),
            wave,
        }
    }

    pub(crate) fn run_started(regions: &[&str], sla: Sla) -> Record {
        rec(
            0,
            Event::RunStarted(Box::new(RunInfo {
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
                replication: Default::default(),
                proxies: Default::default(),
                external: false,
            })),
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
                host: host(
                    &format!("{region}-fleet-1"),
                    region,
                    &format!("{region}-a"),
                    wave,
                ),
                ok,
                started_us: 0,
                duration_us,
                attempts: 1,
                // A failed one is cut off by the run's end while it retried.
                failed_attempts: u32::from(!ok),
                interrupted: (!ok).then_some(crate::journal::Interruption::RunEnded),
            }),
        )
    }

    /// A cold start of `region` from `started_us`, lasting `duration_us`.
    pub(crate) fn cold_start_at(
        region: &str,
        started_us: u64,
        duration_us: u64,
        ok: bool,
    ) -> Record {
        rec(
            started_us + duration_us,
            Event::ColdStart(ColdStartRecord {
                host: host(
                    &format!("{region}-fleet-{started_us}"),
                    region,
                    &format!("{region}-a"),
                    1,
                ),
                ok,
                started_us,
                duration_us,
                attempts: 1,
                failed_attempts: u32::from(!ok),
                interrupted: (!ok).then_some(crate::journal::Interruption::RunEnded),
            }),
        )
    }

    pub(crate) fn pull(t_us: u64, region: &str, ok: bool, phases: Vec<Phase>) -> Record {
        rec(
            t_us,
            Event::Pull(PullRecord {
                host: host(
                    &format!("{region}-fleet-1"),
                    region,
                    &format!("{region}-b"),
                    0,
                ),
                image: "team/app:1".into(),
                ok,
                started_us: t_us - 100 * MS,
                duration_us: 100 * MS,
                error: (!ok).then(|| "manifest: 503".into()),
                mirror_moves: u32::from(!ok),
                moves: (!ok)
                    .then(|| crate::journal::MirrorMove {
                        mirror: region.into(),
                        phase: Some(PhaseKind::Manifest),
                        after_us: Some(50 * MS),
                        reason: crate::journal::MoveReason::Status(503),
                    })
                    .into_iter()
                    .collect(),
                phases,
                http_errors: Default::default(),
            }),
        )
    }

    /// A successful pull of `region` whose manifest request failed on `mirror` first.
    fn pull_moved(t_us: u64, region: &str, mirror: &str) -> Record {
        let mut r = pull(t_us, region, true, vec![]);
        if let Event::Pull(p) = &mut r.event {
            p.mirror_moves = 1;
            p.moves = vec![crate::journal::MirrorMove {
                mirror: mirror.into(),
                phase: Some(PhaseKind::Manifest),
                after_us: Some(10 * MS),
                reason: crate::journal::MoveReason::Timeout,
            }];
        }
        r
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
                manual: false,
            },
        )
    }

    /// Region `region` lost whole (fault `fault`) at `t_us`.
    pub(crate) fn region_outage(t_us: u64, fault: usize, region: &str) -> Record {
        rec(
            t_us,
            Event::FaultInjected {
                fault,
                kind: FaultKind::RegionOutage,
                target: region.into(),
                members: vec![],
                regions: vec![region.into()],
                method: "docker kill".into(),
                manual: false,
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
                digest: Some("sha256:pushed".into()),
                violation: (!ok).then_some(ViolationKind::Missing),
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
        assert_eq!((p.attempts, p.ok, p.failed, p.mirror_moves), (2, 1, 1, 1));
        assert_eq!(p.moves["eu"]["HTTP 503"], 1);
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
    fn a_fault_whose_requests_failed_over_to_another_mirror_is_not_masked() {
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("eu", 0, 10 * S, 0, 0));
        j.push(inject(5 * S, 1, "eu-a", &["eu"]));
        j.push(heal(8 * S, 1));
        // Four eu pulls succeed, each after a request to eu failed and moved on to us;
        // a move away from us is not this fault's.
        for t in [6, 7, 8, 9] {
            j.push(pull_moved(t * S, "eu", "eu"));
        }
        j.push(pull_moved(6 * S, "eu", "us"));
        let a = analyze(&j, false);
        let f = &a.faults[0];
        assert!(!f.masked);
        assert_eq!(
            (f.moved_requests, f.failed_probes, f.failed_pulls),
            (4, 0, 0)
        );
        assert_eq!(f.disruption_us, Some(0));
        assert_eq!(f.cold_pull.answer, Answer::HiddenByClientFallback);
        assert_eq!(
            f.cold_pull.sentence,
            "hidden by client fallback: 4 requests moved to another mirror; no probe or pull \
             failed"
        );
    }

    #[test]
    fn a_fault_on_a_proxy_or_the_upstream_is_judged_by_its_own_probes() {
        for target in ["eu-proxy", "upstream"] {
            let regions: &[&str] = if target == "upstream" { &[] } else { &["eu"] };
            let mut j = vec![run_started(&["eu", "us"], Sla::default())];
            j.extend(probes("eu", 0, 20 * S, 0, 0));
            j.extend(probes(target, 0, 20 * S, 5 * S, 9 * S));
            // Another component failing at the same time is not this fault's.
            j.extend(probes("us-proxy", 0, 20 * S, 5 * S, 12 * S));
            j.push(inject(5 * S, 1, target, regions));
            j.push(heal(8 * S, 1));
            let f = &analyze(&j, false).faults[0];
            assert!(!f.masked, "{target}");
            assert_eq!(
                (f.first_failure_us, f.recovered_us, f.failed_probes),
                (Some(5 * S), Some(9 * S), 40),
                "{target}"
            );
        }
    }

    #[test]
    fn a_proxy_killed_with_its_region_is_judged_apart_from_the_region_outage() {
        // As in scenarios/dr-cold-start.yaml: eu-proxy killed 2 ms before eu's region
        // outage. Each fault is judged by the series it acts on, and the outage does not
        // end the proxy's window.
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("eu", 0, 30 * S, 6 * S, 20 * S));
        j.extend(probes("eu-proxy", 0, 30 * S, 6 * S, 12 * S));
        j.push(inject(6 * S - 2 * MS, 1, "eu-proxy", &["eu"]));
        j.push(inject(6 * S, 2, "eu", &["eu"]));
        j.push(heal(11 * S, 1));
        j.push(heal(19 * S, 2));
        let a = analyze(&j, false);
        let (proxy, region) = (&a.faults[0], &a.faults[1]);
        assert!(!proxy.masked);
        assert_eq!(proxy.window_end_us, 30 * S - 100 * MS + 1);
        assert_eq!(
            (proxy.recovered_us, proxy.failed_probes),
            (Some(12 * S), 60)
        );
        assert_eq!(
            (region.recovered_us, region.failed_probes),
            (Some(20 * S), 140)
        );
    }

    #[test]
    fn a_region_token_service_failing_is_its_region_failing() {
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("eu", 0, 10 * S, 0, 0));
        j.extend(probes("eu-token", 0, 10 * S, 5 * S, 8 * S));
        // us's token service fails inside the fault's span too, but is not eu's.
        j.extend(probes("us-token", 0, 10 * S, 6 * S, 9 * S));
        j.push(inject(5 * S, 1, "eu-token", &["eu"]));
        j.push(heal(8 * S, 1));
        let f = &analyze(&j, false).faults[0];
        assert!(!f.masked);
        assert_eq!(
            (f.first_failure_us, f.recovered_us, f.failed_probes),
            (Some(5 * S), Some(8 * S), 30)
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

        // A probe sent before the fault and cut by it is not held against the steady
        // state; one that failed before the fault is.
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 5 * S, 0, 0));
        j.push(rec(
            4_950 * MS,
            Event::Probe {
                region: "eu-token".into(),
                ok: false,
                latency_us: S,
                error: Some("timed out".into()),
            },
        ));
        j.push(inject(5 * S, 1, "eu-token", &["eu"]));
        let s = analyze(&j, false).steady_state;
        assert!(s.reached, "{s:?}");
        assert_eq!(s.probes_before_first_fault, 50);
        j.push(probe(4_900 * MS, "eu", false));
        assert!(!analyze(&j, false).steady_state.reached);

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
                digest: Some("sha256:pushed".into()),
                violation: Some(ViolationKind::Missing),
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

    fn window_sla(window_ms: u64, threshold: Option<&str>, per: AvailabilityScope) -> Sla {
        Sla {
            availability: Some(AvailabilitySla {
                min: Percent::parse("99%").unwrap(),
                per,
                window: Some(Span(Duration::from_millis(window_ms))),
                error_threshold: threshold.map(|t| Percent::parse(t).unwrap()),
            }),
            ..Sla::default()
        }
    }

    fn with_sla(mut j: Vec<Record>, sla: Sla) -> Vec<Record> {
        j[0] = run_started(&["eu", "us"], sla);
        j
    }

    #[test]
    fn availability_per_window_counts_windows_above_the_threshold_as_down() {
        // eu fails from 10.1 s to 14.9 s: 1 s windows 10 (9 of 10 probes failed) and
        // 11 to 14 (all failed) of 20 windows.
        let j = with_sla(
            outage_journal(),
            window_sla(1_000, Some("5%"), AvailabilityScope::Region),
        );
        let a = analyze(&j, false);
        let w = &a.availability.windows;
        assert!(w.judged);
        assert_eq!((w.window_us, w.origin_us), (S, 0));
        let eu = &w.regions["eu"];
        assert_eq!((eu.windows, eu.up, eu.down, eu.empty), (20, 15, 5, 0));
        assert_eq!(eu.ratio, Some(0.75));
        assert_eq!(
            eu.series[10],
            WindowCount {
                probes: 10,
                failed: 9
            }
        );
        assert_eq!(w.regions["us"].ratio, Some(1.0));
        // Together: window 10 has 9 of 20 failed (45 %), windows 11-14 half.
        assert_eq!((w.total.up, w.total.down), (15, 5));
        assert!(a.availability.rule.starts_with("the share of 1s windows that were up, per region; a window is down when more than 5% of its probes failed"), "{}", a.availability.rule);

        // 90 % failed is within a 95 % threshold: only windows 11-14 are down.
        let j = with_sla(
            outage_journal(),
            window_sla(1_000, Some("95%"), AvailabilityScope::Region),
        );
        assert_eq!(
            analyze(&j, false).availability.windows.regions["eu"].ratio,
            Some(0.8)
        );
        // 45 % is exactly at a 45 % threshold: up.
        let j = with_sla(
            outage_journal(),
            window_sla(1_000, Some("45%"), AvailabilityScope::Total),
        );
        let t = &analyze(&j, false).availability.windows.total;
        assert_eq!((t.up, t.down), (16, 4));
        // Without a threshold any failed probe makes its window down.
        let j = with_sla(
            outage_journal(),
            window_sla(2_000, None, AvailabilityScope::Region),
        );
        let eu = &analyze(&j, false).availability.windows.regions["eu"];
        // 2 s windows 5, 6, 7 (10-16 s) hold failures: 7 of 10 up.
        assert_eq!((eu.windows, eu.up), (10, 7));
    }

    #[test]
    fn a_window_without_probe_keeps_the_state_of_the_window_before() {
        let mut j = vec![run_started(
            &["eu"],
            window_sla(1_000, None, AvailabilityScope::Region),
        )];
        j.push(probe(0, "eu", true));
        j.push(probe(2_500 * MS, "eu", false));
        j.push(probe(5 * S, "eu", true));
        let w = &analyze(&j, false).availability.windows.regions["eu"];
        // [0,1) up, [1,2) empty: up, [2,3) down, [3,4) and [4,5) empty: down, [5,6) up.
        assert_eq!((w.windows, w.up, w.down, w.empty), (6, 3, 3, 3));
    }

    #[test]
    fn without_a_declared_window_the_windows_are_for_charts_only() {
        let a = analyze(&outage_journal(), false);
        let w = &a.availability.windows;
        assert!(!w.judged);
        assert_eq!((w.window_us, w.error_threshold), (CHART_WINDOW_US, 0.0));
        assert_eq!(w.regions["eu"].series.len(), 20);
        assert_eq!(
            a.availability.rule,
            "the share of probes that succeeded, per region and over all regions; every \
             probe counts the same"
        );
    }

    fn cold_pull_p99(ms: u64) -> Sla {
        Sla {
            cold_pull: Some(crate::model::sla::ColdPullSla {
                p99: Some(Span(Duration::from_millis(ms))),
                ..Default::default()
            }),
            ..Sla::default()
        }
    }

    #[test]
    fn back_within_sla_needs_three_clean_seconds_after_recovery() {
        // Recovered at 15 s; nothing slow after it: back within SLA at once.
        let f = &analyze(&outage_journal(), false).faults[0];
        assert_eq!(f.back_within_sla_us, Some(15 * S));

        // A 100 ms pull at 15.5 s is slower than a 50 ms p99: the 1 s window from 15 s
        // is not clean, the next three (16-19 s) are.
        let mut j = with_sla(outage_journal(), cold_pull_p99(50));
        j.push(pull(15_500 * MS, "eu", true, vec![]));
        let f = &analyze(&j, false).faults[0];
        assert_eq!(f.back_within_sla_us, Some(16 * S));
        // Another at 18.2 s leaves 19-22 s, past the end of the journal (20 s).
        j.push(pull(18_200 * MS, "eu", true, vec![]));
        let f = &analyze(&j, false).faults[0];
        assert_eq!(f.back_within_sla_us, None);
        // Without a cold-pull SLA slow pulls do not count.
        let mut j = outage_journal();
        j.push(pull(15_500 * MS, "eu", true, vec![]));
        assert_eq!(
            analyze(&j, false).faults[0].back_within_sla_us,
            Some(15 * S)
        );
    }

    #[test]
    fn the_seed_question_compares_the_disruption_with_a_cold_pull() {
        let mut j = outage_journal();
        // Outside the fault (10 s to 15 s, the later of heal and recovery): 1.0, 1.2,
        // 1.5 and 2.0 ms. Below 2048 µs HDR buckets are exact: p50 1.2 ms, p99 2.0 ms.
        j.push(cold_start_at("us", 0, 1_000, true));
        j.push(cold_start_at("eu", S, 1_200, true));
        j.push(cold_start_at("eu", 2 * S, 1_500, true));
        j.push(cold_start_at("us", 16 * S, 2_000, true));
        // During it, in eu: delayed by 1.4988 s, delayed by 1.3 ms, failed, on time.
        j.push(cold_start_at("eu", 9 * S, 1_500 * MS, true));
        j.push(cold_start_at("eu", 12 * S, 2_500, true));
        j.push(cold_start_at("eu", 13 * S, 20 * S, false));
        j.push(cold_start_at("eu", 14 * S, 1_800, true));
        // In us during it: neither counted for the fault nor clean.
        j.push(cold_start_at("us", 12 * S, 3 * S, true));
        let a = analyze(&j, false);
        assert_eq!(a.cold_pull_reference.count, 4);
        let l = a.cold_pull_reference.latency.unwrap();
        assert_eq!((l.p50_us, l.p99_us), (1_200, 2_000));
        let f = &a.faults[0];
        assert_eq!(f.active_until_us, 15 * S);
        let c = &f.cold_pull;
        assert_eq!(c.answer, Answer::LongerThanColdPull);
        assert_eq!(
            c.sentence,
            "longer than a cold pull (5.000s against 0.001s): cold starts during it fail or wait"
        );
        assert_eq!((c.overlapping, c.failed, c.delayed), (4, 1, 2));
        // Extra delays 1_498_800 and 1_300 µs: the lower middle of two is 1.3 ms.
        assert_eq!(c.median_extra_delay_us, Some(1_300));
        assert_eq!(c.cold_pull_p50_us, Some(1_200));
    }

    #[test]
    fn the_seed_question_for_short_masked_unrecovered_and_unreferenced_faults() {
        // eu fails once, at 5.0 s, after an injection at 4.95 s: 150 ms of disruption
        // against 1 s cold pulls (HDR reports 1 s as its bucket's top, 1.000447 s).
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 10 * S, 5 * S, 5_100 * MS));
        j.push(inject(4_950 * MS, 1, "eu-a", &["eu"]));
        j.push(heal(6 * S, 1));
        j.push(cold_start_at("eu", 0, S, true));
        j.push(cold_start_at("eu", 7 * S, 2 * S, true));
        let f = &analyze(&j, false).faults[0];
        assert_eq!(f.disruption_us, Some(150 * MS));
        assert_eq!(f.cold_pull.answer, Answer::ShorterThanColdPull);
        assert_eq!(
            f.cold_pull.sentence,
            "shorter than a cold pull (0.150s against 1.000s): an outage this short is \
             hidden by the pull itself"
        );
        assert_eq!(f.cold_pull.cold_pull_p50_us, Some(1_000_447));

        // The same without any cold start: nothing to compare with.
        j.truncate(j.len() - 2);
        let f = &analyze(&j, false).faults[0];
        assert_eq!(f.cold_pull.answer, Answer::NoReference);
        assert_eq!(f.cold_pull.overlapping, 0);

        // Masked, and never recovered.
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        j.extend(probes("us", 0, 20 * S, 0, 0));
        j.extend(probes("eu", 0, 20 * S, 12 * S, 20 * S));
        j.push(inject(5 * S, 1, "us-a", &["us"]));
        j.push(inject(10 * S, 2, "eu-a", &["eu"]));
        let a = analyze(&j, false);
        assert_eq!(a.faults[0].cold_pull.answer, Answer::Masked);
        assert_eq!(a.faults[0].back_within_sla_us, Some(5 * S));
        // Masked and never healed (a fault with nothing to heal): it spans its injection.
        assert_eq!(a.faults[0].active_until_us, 5 * S);
        assert_eq!(a.faults[1].cold_pull.answer, Answer::NotRecovered);
        assert_eq!(a.faults[1].back_within_sla_us, None);
        // Never healed nor recovered: it could touch cold starts to the end.
        assert_eq!(a.faults[1].active_until_us, a.end_us);
    }

    fn budget(slo: &str, events: Option<u64>) -> Sla {
        Sla {
            error_budget: Some(ErrorBudgetSla {
                slo: Percent::parse(slo).unwrap(),
                period: Span::parse("30d").unwrap(),
                events_per_period: events,
            }),
            ..Sla::default()
        }
    }

    #[test]
    fn error_budget_per_fault() {
        let a = analyze(
            &with_sla(outage_journal(), budget("99.99%", Some(2))),
            false,
        );
        let b = a.error_budget.as_ref().unwrap();
        // 0.01 % of 30 days = 2_592_000 s / 10_000 = 259.2 s = 4 min 19.2 s.
        assert_eq!(b.period_us, 2_592_000 * S);
        assert_eq!(b.allowed_downtime_us, 259_200 * MS);
        assert_eq!(b.events_per_period, Some(2));
        let f = &b.faults[0];
        assert_eq!((f.fault, f.downtime_us), (1, Some(5 * S)));
        // 259.2 s / 5 s = 51.84: 51 such outages fit in a month.
        assert_eq!(f.events_allowed, Some(51));
        assert!((f.budget_share.unwrap() - 5.0 / 259.2).abs() < 1e-12);
        assert!(analyze(&outage_journal(), false).error_budget.is_none());
    }

    #[test]
    fn latency_by_region_image_and_host_kind() {
        let mut j = outage_journal();
        let mut other = pull(
            3 * S,
            "us",
            true,
            vec![phase(PhaseKind::Layer, "us", 7 * MS, 100)],
        );
        if let Event::Pull(p) = &mut other.event {
            p.image = "library/base:1".into();
        }
        j.push(other);
        j.push(pull(
            2 * S,
            "eu",
            true,
            vec![phase(PhaseKind::Manifest, "eu", 3 * MS, 500)],
        ));
        j.push(pull(4 * S, "eu", false, vec![]));
        j.push(cold_start("eu", 0, true, 4 * MS));
        let a = analyze(&j, false);
        let p = &a.pulls;
        let eu = &p.by_region["eu"];
        assert_eq!((eu.attempts, eu.failed), (2, 1));
        assert_eq!(eu.duration.unwrap().max_us, 100 * MS);
        assert_eq!(eu.manifest.ttfb.unwrap().p99_us, 3 * MS);
        assert_eq!(p.by_region["us"].layer.ttfb.unwrap().p50_us, 7 * MS);
        assert_eq!(p.by_image["library/base:1"].attempts, 1);
        assert_eq!(p.by_image["team/app:1"].attempts, 2);
        // Every host is native until the journal records a kind.
        assert_eq!(p.by_kind.keys().collect::<Vec<_>>(), ["native"]);
        assert_eq!(p.by_kind["native"].attempts, 3);
        assert_eq!(a.cold_starts.by_kind["native"].count, 1);
        assert_eq!(
            a.cold_starts.points,
            vec![ColdStartPoint {
                host: "eu-fleet-1".into(),
                region: "eu".into(),
                wave: 0,
                started_us: 0,
                duration_us: 4 * MS,
                ok: true,
                interrupted: false,
            }]
        );
    }

    /// The recorded zone outage (see `report::tests::recorded_zone_outage_journal`)
    /// judged with 2 s windows and an error budget, every number worked out by hand.
    #[test]
    fn recorded_outage_windows_budget_and_seed_question() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/journals/zone-outage.jsonl");
        let mut records = crate::journal::read(&path).unwrap().records;
        let Event::RunStarted(info) = &mut records[0].event else {
            panic!("run_started first")
        };
        info.sla.availability =
            window_sla(2_000, Some("5%"), AvailabilityScope::Region).availability;
        info.sla.error_budget = budget("99.99%", None).error_budget;
        let a = analyze(&records, false);

        // 2 s windows from the first probe (eu, 1.500812 s). eu probes per window:
        // 1.50/2.50 | 3.50/4.50 | 5.50 ✗ 6.50 ✗ | 7.50/8.50/9.500733 | 10.50 | 11.50/12.50.
        let w = &a.availability.windows;
        assert_eq!((w.origin_us, w.window_us), (1_500_812, 2 * S));
        let eu = &w.regions["eu"];
        let counts: Vec<(u64, u64)> = eu.series.iter().map(|c| (c.probes, c.failed)).collect();
        assert_eq!(counts, [(2, 0), (2, 0), (2, 2), (3, 0), (1, 0), (2, 0)]);
        assert_eq!((eu.windows, eu.up, eu.down), (6, 5, 1));
        assert_eq!(w.regions["us"].up, 6);
        // Both regions together: window 2 has 2 of 4 probes failed, above 5 %.
        assert_eq!((w.total.up, w.total.down), (5, 1));

        let f = &a.faults[0];
        // Recovered at 7.501007 s; no pull after it is slower than the 10 s p99.
        assert_eq!(f.back_within_sla_us, Some(7_501_007));
        // The heal (11.000480 s) comes after the recovery.
        assert_eq!(f.active_until_us, 11_000_480);

        // Outside the fault: the two wave-0 cold starts, 0.402441 s and 0.448030 s.
        // HDR reports 402441 as the top of its 256 µs bucket, 402687; the p99 is the
        // max, 448030, exact.
        let r = &a.cold_pull_reference;
        assert_eq!(r.count, 2);
        let l = r.latency.unwrap();
        assert_eq!((l.p50_us, l.p99_us), (402_687, 448_030));
        // The wave-1 cold start (6.000310 s, 1.650012 s) ran during the fault: delayed
        // by 1.650012 - 0.402687 = 1.247325 s.
        let c = &f.cold_pull;
        assert_eq!(c.answer, Answer::LongerThanColdPull);
        assert_eq!((c.overlapping, c.failed, c.delayed), (1, 0, 1));
        assert_eq!(c.median_extra_delay_us, Some(1_247_325));
        assert_eq!(
            c.sentence,
            "longer than a cold pull (2.501s against 0.403s): cold starts during it fail or wait"
        );

        // 259.2 s allowed; 2.500887 s per event: 103 fit (103.64).
        let b = a.error_budget.as_ref().unwrap();
        assert_eq!(b.allowed_downtime_us, 259_200_000);
        assert_eq!(b.faults[0].downtime_us, Some(2_500_887));
        assert_eq!(b.faults[0].events_allowed, Some(103));

        // Pulls of eu: 3 of 4 succeeded (0.402318, 0.447902, 0.746215 s); the p50 is
        // 447902 reported as the top of its 256 µs bucket.
        let eu_pulls = &a.pulls.by_region["eu"];
        assert_eq!((eu_pulls.attempts, eu_pulls.failed), (4, 1));
        let d = eu_pulls.duration.unwrap();
        assert_eq!((d.p50_us, d.max_us), (447_999, 746_215));
        assert_eq!(a.pulls.by_image["team/app:1"].layer.count, 3);
    }
}
