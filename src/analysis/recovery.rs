//! Each fault's recovery waterfall from the signals of its regions, and the seed's
//! question: is its recovery short against a cold pull?

use super::{Latency, SETTLE_WINDOWS, SETTLE_WINDOW_US};
use crate::journal::{ColdStartOutcome, ColdStartRecord, CommandRecord};
use crate::model::kinds::FaultKind;
use crate::model::names::token_service_name;
use crate::model::units::format_secs;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// Cold starts that overlapped no fault: from their start to their end no fault was
/// between its injection and the later of its heal and its recovery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct ColdPullReference {
    /// Successful cold starts outside every fault window.
    pub count: u64,
    /// Their durations; its p50 is "a cold pull", its p99 the line above which a cold
    /// start during a fault counts as delayed.
    pub latency: Option<Latency>,
}

/// One fault and what it did. Its window runs from injection to the next fault that
/// watches one of the same probe series (or the end of the journal); the signals in it
/// are the probes it watches (its regions', or the proxy, upstream or token service it
/// targets alone), the pulls by hosts of its regions and the requests to what it
/// watches that failed and moved on to another mirror.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct FaultRecovery {
    pub id: usize,
    /// The fault's kind, e.g. `zone-outage`.
    #[schemars(with = "String")]
    pub kind: FaultKind,
    pub target: String,
    pub members: Vec<String>,
    pub regions: Vec<String>,
    pub method: String,
    /// Injected by hand during a game day (`drill inject`), not by the timeline.
    #[serde(default)]
    pub manual: bool,
    pub injected_us: u64,
    pub healed_us: Option<u64>,
    /// `None` when no `fault_healed` was recorded.
    pub heal_ok: Option<bool>,
    pub heal_error: Option<String>,
    /// Why its injection failed (part-way or wholly): the run did not test what its
    /// scenario says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_error: Option<String>,
    /// An `exec` fault's commands as they ran, output included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<RanCommand>,
    /// Exclusive end of the window; the end of the journal for the last fault.
    pub window_end_us: u64,
    pub first_failure_us: Option<u64>,
    pub last_failure_us: Option<u64>,
    /// First successful signal after the last failure.
    pub recovered_us: Option<u64>,
    /// "Registry recovered": the first successful probe after the last failed probe.
    /// `None` when no probe failed, or none succeeded after the last failure.
    #[serde(default)]
    pub registry_recovered_us: Option<u64>,
    /// "Client recovered": the first successful pull after the last failed pull.
    /// `None` when no pull failed, or none succeeded after the last failure.
    #[serde(default)]
    pub client_recovered_us: Option<u64>,
    /// The last step of the waterfall: the start of the first 3 consecutive 1 s
    /// windows, counted from the recovery (from the injection for a masked fault), in
    /// which no signal of the fault's regions failed and, when the SLA declares a
    /// cold-pull p99, no pull of those regions took longer than it. `None` when the
    /// fault never recovered or its window (or the journal) ended first.
    pub back_within_sla_us: Option<u64>,
    /// Injection to recovery; 0 when nothing failed; `None` when it never recovered.
    pub disruption_us: Option<u64>,
    /// Heal to recovery, 0 if the service recovered before the heal.
    pub after_heal_us: Option<u64>,
    /// End of the span in which the fault could touch a cold start: the later of its
    /// heal and its recovery (those recorded); the end of the journal while it has not
    /// recovered; its injection for a masked fault without a heal.
    pub active_until_us: u64,
    pub failed_probes: u64,
    pub failed_pulls: u64,
    /// Push probes of its regions that failed in its window (regions with a
    /// `storage_limit` only): what a full disk breaks while pulls still work.
    #[serde(default)]
    pub failed_pushes: u64,
    /// Requests to the entry points it touches that failed in its window and that
    /// the client moved on to its next mirror: a failure the client hid by falling back.
    #[serde(default)]
    pub moved_requests: u64,
    /// No probe, pull or request it touches failed: the fault was invisible to clients.
    pub masked: bool,
    /// The seed's question for this fault.
    pub cold_pull: ColdPullImpact,
}

/// The seed's question: is the fault's recovery short against the time a cold start
/// takes to pull its images, so that the outage is masked, or does it break start-up?
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ColdPullImpact {
    pub answer: Answer,
    /// The answer in words, as every report shows it.
    pub sentence: String,
    /// A cold pull: the p50 of the cold starts outside every fault window.
    pub cold_pull_p50_us: Option<u64>,
    /// Cold starts of hosts in the fault's regions that overlapped its span
    /// (injection to `active_until_us`).
    pub overlapping: u64,
    /// Of those, the ones that failed.
    pub failed: u64,
    /// Of those, the ones interrupted (restarted by a later wave or cut off by the end).
    #[serde(default)]
    pub interrupted: u64,
    /// Of those, the successful ones slower than the p99 of the cold starts outside
    /// every fault window.
    pub delayed: u64,
    /// Median over the delayed cold starts of their duration minus a cold pull (the
    /// reference p50); the lower middle value for an even count.
    pub median_extra_delay_us: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// No probe, pull or request failed.
    Masked,
    /// No probe or pull failed, but requests to it did and clients hid them by moving
    /// on to another mirror.
    HiddenByClientFallback,
    /// The disruption was shorter than a cold pull: hidden by the pull itself.
    ShorterThanColdPull,
    /// The disruption was as long as a cold pull or longer: cold starts fail or wait.
    LongerThanColdPull,
    /// The fault never recovered before the run ended.
    NotRecovered,
    /// No cold start outside the fault windows to compare with.
    NoReference,
}

/// A probe or a pull: something a client saw succeed or fail at a time.
pub(super) struct Signal<'a> {
    pub(super) t_us: u64,
    pub(super) region: &'a str,
    pub(super) ok: bool,
    pub(super) probe: bool,
    /// How long the pull took, or the probe waited for its answer.
    pub(super) duration_us: u64,
}

pub(super) struct Injected<'a> {
    pub(super) t_us: u64,
    pub(super) id: usize,
    pub(super) kind: FaultKind,
    pub(super) target: &'a str,
    pub(super) members: &'a [String],
    pub(super) regions: &'a [String],
    pub(super) method: &'a str,
    pub(super) manual: bool,
    /// Why its injection failed, when it did.
    pub(super) failed: Option<&'a str>,
    /// Its `exec` commands, in the order they ran.
    pub(super) commands: Vec<RanCommand>,
}

/// A request that failed on an entry point and moved on to the client's next mirror.
pub(super) struct Moved<'a> {
    pub(super) t_us: u64,
    /// The entry point it failed on: a region, `<region>-proxy` or `upstream`.
    pub(super) mirror: &'a str,
}

impl Injected<'_> {
    /// Whether a probe series or an entry point is this fault's to watch. A fault on a
    /// component probed on its own (`<region>-proxy`, `upstream`, `<region>-token`:
    /// its target is one of `probed`) watches that component alone: a region outage at
    /// the same time is another fault's. Any other fault watches its regions and the
    /// token services running there (probed apart, they belong to the region for
    /// outages and partitions). Names are unique across the scenario, so a target
    /// matches no other series.
    fn watches(&self, probed: &BTreeSet<&str>, series: &str) -> bool {
        if self.targets_series(probed) {
            return series == self.target;
        }
        self.regions
            .iter()
            .any(|r| r == series || token_service_name(r) == series)
    }

    /// Whether its target is a probe series of its own (a proxy, the upstream, a token
    /// service). An `exec` or `external` fault's target is its name, which may read as
    /// one but names no part.
    fn targets_series(&self, probed: &BTreeSet<&str>) -> bool {
        !matches!(self.kind, FaultKind::Exec | FaultKind::External) && probed.contains(self.target)
    }
}

/// One of an `exec` fault's commands, and when it started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RanCommand {
    pub started_us: u64,
    #[serde(flatten)]
    pub ran: CommandRecord,
}

pub(super) struct Healed<'a> {
    pub(super) t_us: u64,
    pub(super) ok: bool,
    pub(super) error: Option<&'a str>,
}

pub(super) fn fault_recoveries(
    injected: &[Injected],
    healed: &HashMap<usize, Healed>,
    signals: &[Signal],
    moved: &[Moved],
    end_us: u64,
    p99_limit_us: Option<u64>,
) -> Vec<FaultRecovery> {
    let probed: BTreeSet<&str> = signals
        .iter()
        .filter(|s| s.probe)
        .map(|s| s.region)
        .collect();
    injected
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let watches = |series: &str| f.watches(&probed, series);
            // The next fault that watches one of the same series ends the window: its
            // failures are its own. Pulls are not series: a pull by a host of the region
            // counts for every fault of the region it overlaps.
            let window_end_us = injected[i + 1..]
                .iter()
                .find(|next| {
                    probed
                        .iter()
                        .any(|s| watches(s) && next.watches(&probed, s))
                        || (!f.targets_series(&probed)
                            && !next.targets_series(&probed)
                            && next.regions.iter().any(|r| f.regions.contains(r)))
                })
                .map_or(end_us.saturating_add(1), |next| next.t_us);
            let in_window = |t: u64| t >= f.t_us && t < window_end_us;
            let window: Vec<&Signal> = signals
                .iter()
                .filter(|s| {
                    in_window(s.t_us)
                        && if s.probe {
                            watches(s.region)
                        } else {
                            f.regions.iter().any(|r| r == s.region)
                        }
                })
                .collect();
            let moved_requests = moved
                .iter()
                .filter(|m| in_window(m.t_us) && watches(m.mirror))
                .count() as u64;
            let failed = || window.iter().filter(|s| !s.ok);
            let last_failure = window.iter().rposition(|s| !s.ok);
            // Searched by position, not time, so a success recorded at the same
            // microsecond after the last failure still counts.
            let recovered_us = last_failure
                .and_then(|last| window[last + 1..].iter().find(|s| s.ok))
                .map(|s| s.t_us);
            let recovered_of = |probe: bool| {
                let of: Vec<&&Signal> = window.iter().filter(|s| s.probe == probe).collect();
                let last = of.iter().rposition(|s| !s.ok)?;
                of[last + 1..].iter().find(|s| s.ok).map(|s| s.t_us)
            };
            let heal = healed.get(&f.id);
            let healed_us = heal.map(|h| h.t_us);
            // No probe or pull failed (requests may have, hidden by fallback): the
            // waterfall settles from the injection.
            let unseen = last_failure.is_none();
            let settle_from = if unseen { Some(f.t_us) } else { recovered_us };
            let back_within_sla_us = settle_from.and_then(|from| {
                back_within_sla(&window, from, window_end_us.min(end_us), p99_limit_us)
            });
            let active_until_us = match (unseen, recovered_us) {
                // Still failing when the journal ends.
                (false, None) => end_us,
                // The later of heal and recovery; a masked fault with no heal (one
                // that happens at once and has nothing to heal) spans its injection only.
                (_, recovered) => recovered.max(healed_us).unwrap_or(f.t_us),
            };
            FaultRecovery {
                id: f.id,
                kind: f.kind,
                target: f.target.to_string(),
                members: f.members.to_vec(),
                regions: f.regions.to_vec(),
                method: f.method.to_string(),
                manual: f.manual,
                injected_us: f.t_us,
                healed_us,
                heal_ok: heal.map(|h| h.ok),
                heal_error: heal.and_then(|h| h.error.map(str::to_string)),
                inject_error: f.failed.map(str::to_string),
                commands: f.commands.clone(),
                window_end_us,
                first_failure_us: failed().next().map(|s| s.t_us),
                last_failure_us: last_failure.map(|i| window[i].t_us),
                recovered_us,
                registry_recovered_us: recovered_of(true),
                client_recovered_us: recovered_of(false),
                back_within_sla_us,
                disruption_us: match (last_failure, recovered_us) {
                    (None, _) => Some(0),
                    (Some(_), Some(r)) => Some(r - f.t_us),
                    (Some(_), None) => None,
                },
                after_heal_us: recovered_us
                    .zip(healed_us)
                    .map(|(r, h)| r.saturating_sub(h)),
                active_until_us,
                failed_probes: failed().filter(|s| s.probe).count() as u64,
                failed_pulls: failed().filter(|s| !s.probe).count() as u64,
                failed_pushes: 0,
                moved_requests,
                masked: unseen && moved_requests == 0,
                // Filled in once the reference cold pull is known.
                cold_pull: ColdPullImpact {
                    answer: Answer::NoReference,
                    sentence: String::new(),
                    cold_pull_p50_us: None,
                    overlapping: 0,
                    failed: 0,
                    interrupted: 0,
                    delayed: 0,
                    median_extra_delay_us: None,
                },
            }
        })
        .collect()
}

/// The start of the first [`SETTLE_WINDOWS`] consecutive windows of
/// [`SETTLE_WINDOW_US`], counted from `from`, without a bad signal: a failure, or a
/// pull slower than the cold-pull p99 limit. The windows must end by `until`.
fn back_within_sla(
    window: &[&Signal],
    from: u64,
    until: u64,
    p99_limit_us: Option<u64>,
) -> Option<u64> {
    let bad = |s: &&&Signal| {
        !s.ok || (!s.probe && p99_limit_us.is_some_and(|limit| s.duration_us > limit))
    };
    let mut first_clean = 0;
    for s in window.iter().filter(|s| s.t_us >= from).filter(bad) {
        let index = (s.t_us - from) / SETTLE_WINDOW_US;
        if index >= first_clean + SETTLE_WINDOWS {
            break;
        }
        first_clean = first_clean.max(index + 1);
    }
    let start = from + first_clean * SETTLE_WINDOW_US;
    (start + SETTLE_WINDOWS * SETTLE_WINDOW_US <= until).then_some(start)
}

/// The outcome of a fault nobody saw, as every report words it.
pub const MASKED: &str = "masked: no probe, pull or request of its regions failed";

/// The outcome of a fault whose failures clients hid by moving on to another mirror.
pub fn hidden_by_fallback(f: &FaultRecovery) -> String {
    format!(
        "hidden by client fallback: {} moved to another mirror; no probe or pull failed",
        crate::model::units::plural(f.moved_requests, "request", "requests")
    )
}

/// Whether a cold start ran while the fault could touch it.
fn overlaps(c: &ColdStartRecord, f: &FaultRecovery) -> bool {
    c.started_us < f.active_until_us && c.started_us + c.duration_us > f.injected_us
}

pub(super) fn cold_pull_reference(
    cold_starts: &[&ColdStartRecord],
    faults: &[FaultRecovery],
) -> ColdPullReference {
    let clean: Vec<u64> = cold_starts
        .iter()
        .filter(|c| c.ok && !faults.iter().any(|f| overlaps(c, f)))
        .map(|c| c.duration_us)
        .collect();
    ColdPullReference {
        count: clean.len() as u64,
        latency: Latency::of(clean),
    }
}

pub(super) fn cold_pull_impact(
    f: &FaultRecovery,
    cold_starts: &[&ColdStartRecord],
    reference: &ColdPullReference,
) -> ColdPullImpact {
    let during: Vec<&&ColdStartRecord> = cold_starts
        .iter()
        .filter(|c| f.regions.contains(&c.host.region) && overlaps(c, f))
        .collect();
    let p50 = reference.latency.map(|l| l.p50_us);
    let p99 = reference.latency.map(|l| l.p99_us);
    let mut extra: Vec<u64> = match (p50, p99) {
        (Some(p50), Some(p99)) => during
            .iter()
            .filter(|c| c.ok && c.duration_us > p99)
            .map(|c| c.duration_us.saturating_sub(p50))
            .collect(),
        _ => Vec::new(),
    };
    extra.sort_unstable();
    let of = |outcome| during.iter().filter(|c| c.outcome() == outcome).count() as u64;
    let secs = |us: u64| format_secs(Duration::from_micros(us));
    let (answer, sentence) = match (f.masked, f.disruption_us, p50) {
        (true, _, _) => (Answer::Masked, MASKED.to_string()),
        (false, Some(0), _) => (Answer::HiddenByClientFallback, hidden_by_fallback(f)),
        (false, None, _) => (
            Answer::NotRecovered,
            "not recovered before the run ended: cold starts during it fail or wait".to_string(),
        ),
        (false, Some(d), None) => (
            Answer::NoReference,
            format!(
                "disruption {}, but no cold start outside the fault windows to compare it with",
                secs(d)
            ),
        ),
        (false, Some(d), Some(p50)) if d < p50 => (
            Answer::ShorterThanColdPull,
            format!(
                "shorter than a cold pull ({} against {}): an outage this short is hidden \
                 by the pull itself",
                secs(d),
                secs(p50)
            ),
        ),
        (false, Some(d), Some(p50)) => (
            Answer::LongerThanColdPull,
            format!(
                "longer than a cold pull ({} against {}): cold starts during it fail or wait",
                secs(d),
                secs(p50)
            ),
        ),
    };
    ColdPullImpact {
        answer,
        sentence,
        cold_pull_p50_us: p50,
        overlapping: during.len() as u64,
        failed: of(ColdStartOutcome::Failed),
        interrupted: of(ColdStartOutcome::Interrupted),
        delayed: extra.len() as u64,
        median_extra_delay_us: (!extra.is_empty()).then(|| extra[(extra.len() - 1) / 2]),
    }
}
