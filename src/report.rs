//! What a run leaves behind for people and machines, all computed from the journal:
//!
//! - `summary.json`: the analysis and the verdict, complete and versioned
//!   ([`SUMMARY_FORMAT`], schema in `schema/summary.schema.json`);
//! - `junit.xml`: one test case per SLA check and one per fault's recovery, for CI;
//! - `summary.md`: the verdict first, then the SLA table, the faults and availability,
//!   for a CI job summary;
//! - `report.html`: one self-contained page with charts;
//! - the end-of-run summary printed on the terminal.

mod auth;
mod baseline;
pub mod comparison;
mod html;
mod junit;
mod markdown;
mod proxy;
mod replication;
#[cfg(test)]
pub(crate) mod schema_check;

pub use baseline::{compare, Baseline, BaselineComparison, Regression};

use crate::analysis::{analyze, Analysis, FaultRecovery, Latency, RefusedFault, SETTLE_WINDOWS};
use crate::journal::{Outcome, Record};
use crate::model::kinds::CommandPhase;
pub(crate) use crate::model::units::plural;
use crate::model::units::{format_percent, format_secs};
use crate::verdict::{judge, Status, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Version of the `summary.json` format. 2 added per-window availability, the last
/// waterfall step, the seed's question, the error budget, latency by region, image and
/// host kind, every cold start, check bounds and the baseline comparison. 3 renamed
/// `pulls.fallbacks` `pulls.mirror_moves` (with `pulls.moves`, where and why) and counts
/// interrupted cold starts.
pub const SUMMARY_FORMAT: u32 = 3;

/// The files [`write_all`] writes in a run folder, in order.
pub const REPORT_FILES: [&str; 4] = ["summary.json", "junit.xml", "summary.md", "report.html"];

/// Everything known about a run: the content of `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[schemars(title = "drill summary.json")]
pub struct Summary {
    /// Version of this format ([`SUMMARY_FORMAT`]).
    pub format: u32,
    pub run: RunHeader,
    pub analysis: Analysis,
    pub verdict: Verdict,
    /// The comparison with an earlier run's `summary.json` (`--baseline`); null without.
    pub baseline: Option<BaselineComparison>,
}

/// The facts a report shows first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RunHeader {
    /// `unknown` when the journal has no `run_started` event (`analysis.run` is then null).
    pub scenario: String,
    pub run_id: String,
    pub seed: Option<u64>,
    pub started_at: Option<String>,
    /// `completed`, `aborted: <reason>`, or `unfinished` when the journal ends early.
    pub outcome: String,
    pub exit_code: u8,
}

/// The JSON Schema of `summary.json` (draft 2020-12), generated from the types; the
/// same document as `schema/summary.schema.json`.
pub fn summary_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Summary)).expect("a schema is JSON")
}

/// Reads a journal, writes every report into `dir`, prints the terminal summary and the
/// files written: the last step of `drill run`, and all of `drill report`.
pub fn render(
    journal_path: &std::path::Path,
    dir: &std::path::Path,
    baseline: Option<&Baseline>,
) -> Result<Summary, crate::model::error::DrillError> {
    let loaded = crate::journal::read(journal_path)?;
    let summary = summarize_against(&loaded.records, loaded.truncated, baseline);
    let files = write_all(dir, &summary).map_err(|e| {
        crate::model::error::DrillError::setup_from(
            format!("cannot write the reports in {}", dir.display()),
            e,
        )
    })?;
    println!("{}", terminal(&summary));
    println!("{}", written(&files));
    Ok(summary)
}

/// Analyses a journal and judges it against the SLA it recorded in `run_started`.
pub fn summarize(records: &[Record], truncated: bool) -> Summary {
    let analysis = analyze(records, truncated);
    let sla = analysis
        .run
        .as_ref()
        .map(|r| r.sla.clone())
        .unwrap_or_default();
    let verdict = judge(&sla, &analysis);
    let info = analysis.run.as_ref();
    let run = RunHeader {
        scenario: info.map_or("unknown", |r| &r.scenario).to_string(),
        run_id: info.map_or("unknown", |r| &r.run_id).to_string(),
        seed: info.map(|r| r.seed),
        started_at: info.map(|r| r.started_at.clone()),
        outcome: match &analysis.outcome {
            Some(Outcome::Completed) => "completed".into(),
            Some(Outcome::Aborted { reason }) => format!("aborted: {reason}"),
            None => "unfinished".into(),
        },
        exit_code: verdict.status.exit_code(),
    };
    Summary {
        format: SUMMARY_FORMAT,
        run,
        analysis,
        verdict,
        baseline: None,
    }
}

/// [`summarize`], then [`compare`] with a baseline when there is one.
pub fn summarize_against(
    records: &[Record],
    truncated: bool,
    baseline: Option<&Baseline>,
) -> Summary {
    let mut s = summarize(records, truncated);
    if let Some(b) = baseline {
        compare(&mut s, b);
    }
    s
}

/// Every report file's name ([`REPORT_FILES`]) and content.
pub fn render_files(s: &Summary) -> std::io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut json = serde_json::to_vec_pretty(s)?;
    json.push(b'\n');
    let contents = [
        json,
        junit::render(s)?.into_bytes(),
        markdown::render(s).into_bytes(),
        html::render(s)?.into_bytes(),
    ];
    Ok(REPORT_FILES.into_iter().zip(contents).collect())
}

/// Writes every report file ([`REPORT_FILES`]) in `dir` and returns their paths. Each
/// file is written whole or not at all ([`atomic_file`](crate::model::atomic_file)), so a
/// reader never sees half a file, not even after a crash or a full disk.
pub fn write_all(dir: &Path, s: &Summary) -> std::io::Result<Vec<PathBuf>> {
    render_files(s)?
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            crate::model::atomic_file::write(&path, &bytes).map(|()| path)
        })
        .collect()
}

/// The line printed after the files are written: `wrote summary.json, junit.xml, ...`.
pub fn written(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
        })
        .collect();
    format!("wrote {}", names.join(", "))
}

/// The end-of-run summary: what happened, how each fault was felt, and the verdict.
pub fn terminal(s: &Summary) -> String {
    let a = &s.analysis;
    let mut out = header(s);
    out.push(String::new());
    out.extend(availability(a));
    out.push(String::new());
    out.extend(cold_starts(a));
    out.push(pulls(a));
    out.extend(pull_latency(a));
    if !a.pushes.is_empty() {
        let regions: Vec<String> = a
            .pushes
            .iter()
            .map(|(r, c)| format!("{r} {} ok, {} failed", c.pushes - c.failed, c.failed))
            .collect();
        out.push(format!("push probes: {}", regions.join("; ")));
    }
    if !a.faults.is_empty() {
        out.push(String::new());
        out.push(reference_line(a));
    }
    if let Some(b) = &a.error_budget {
        out.push(budget_line(b));
    }
    for f in &a.faults {
        out.push(String::new());
        out.extend(fault(f, a));
    }
    if !a.refused.is_empty() {
        out.push(String::new());
        out.push("refused faults".into());
        out.extend(
            a.refused
                .iter()
                .map(|r| format!("  {}", refused_text(r, Clock::of(a)))),
        );
    }
    if !a.notes.is_empty() {
        out.push(String::new());
        out.push("notes".into());
        out.extend(note_lines(a));
    }
    for section in replication::sections(a, false) {
        out.push(String::new());
        out.push(section.title.to_lowercase());
        out.extend(section.lines.iter().map(|l| format!("  {l}")));
        if let Some(rows) = &section.table {
            let right: Vec<bool> = (0..rows[0].len()).map(|i| i > 0).collect();
            out.extend(table(rows, &right).into_iter().map(|l| format!("  {l}")));
        }
        out.extend(section.items.iter().map(|i| format!("  - {i}")));
    }
    if proxy::intro(a).is_some() {
        out.push(String::new());
        out.push(proxy::HEADING.to_lowercase());
        out.extend(table(
            &proxy::check_rows(a),
            &[false, false, false, false, false, false, true, true, false],
        ));
    }
    let errors = proxy::http_error_rows(a);
    if !errors.is_empty() {
        out.push("HTTP errors answered to hosts' requests:".into());
        out.extend(table(&errors, &[false, false, true]));
    }
    out.push(String::new());
    out.push(data_loss(a));
    let auth = auth::lines(a);
    if !auth.is_empty() {
        out.push(String::new());
        out.extend(auth);
    }
    out.push(String::new());
    out.extend(sla_table(&s.verdict));
    if let Some(b) = &s.baseline {
        out.push(String::new());
        out.extend(regressions(b));
    }
    out.push(String::new());
    out.push(verdict_line(&s.verdict));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Game-day notes, one per line: `t+12.345s  text`.
pub(crate) fn note_lines(a: &Analysis) -> Vec<String> {
    a.notes
        .iter()
        .map(|n| format!("  {:<11} {}", Clock::of(a).at(n.t_us), n.text))
        .collect()
}

/// The clock every time in a report is read on: the timeline's, whose zero is the
/// scenario's `at: 0s`, so a report's `t+` compares with the scenario's `at:`. Setup,
/// before the timeline, reads negative. A run that ended in setup has no timeline: its
/// times count from the run's start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// The timeline's start, µs after the run's start (the journal's `t_us`).
    origin_us: u64,
    timeline: bool,
}

impl Clock {
    pub(crate) fn of(a: &Analysis) -> Clock {
        Clock {
            origin_us: a.timeline_started_us.unwrap_or(0),
            timeline: a.timeline_started_us.is_some(),
        }
    }

    /// `t+12.345s` on the timeline, `t-2.100s` in setup, for a journal time.
    pub(crate) fn at(self, us: u64) -> String {
        match us.checked_sub(self.origin_us) {
            Some(after) => format!("t+{:.3}s", after as f64 / 1e6),
            None => format!("t-{:.3}s", (self.origin_us - us) as f64 / 1e6),
        }
    }

    /// Which clock the report's times are on, said once in every report.
    pub(crate) fn legend(self) -> &'static str {
        if self.timeline {
            "times: t+ counts from the timeline's start, as the scenario's `at:` does; \
             setup reads t-"
        } else {
            "times: t+ counts from the run's start; the timeline never started"
        }
    }
}

pub(crate) fn secs(us: u64) -> String {
    format_secs(Duration::from_micros(us))
}

/// A duration for budgets: `4m 19.2s`, `1h 2m 3.0s`, or seconds below a minute.
pub(crate) fn long_secs(us: u64) -> String {
    let total = us as f64 / 1e6;
    if total < 60.0 {
        return secs(us);
    }
    let hours = (total / 3600.0).floor();
    let minutes = ((total - hours * 3600.0) / 60.0).floor();
    let rest = total - hours * 3600.0 - minutes * 60.0;
    if hours > 0.0 {
        format!("{hours}h {minutes}m {rest:.1}s")
    } else {
        format!("{minutes}m {rest:.1}s")
    }
}

fn header(s: &Summary) -> Vec<String> {
    let a = &s.analysis;
    let r = &s.run;
    let mut first = format!("scenario {}   run {}", r.scenario, r.run_id);
    if let Some(seed) = r.seed {
        first.push_str(&format!("   seed {seed}"));
    }
    if let Some(started) = &r.started_at {
        first.push_str(&format!("   started {started}"));
    }
    let mut lines = vec![first];
    lines.extend(external_text(a).map(str::to_string));
    lines.push(format!("outcome  {}", outcome_text(a)));
    lines.push(Clock::of(a).legend().to_string());
    lines.extend(incomplete_warning(a));
    lines
}

/// What every report says of a run on a topology drill did not build.
pub(crate) fn external_text(a: &Analysis) -> Option<&'static str> {
    a.run.as_ref().filter(|r| r.external).map(|_| {
        "topology: external (drill built nothing: it reached the registry at the URLs the scenario declares, and what the faults did is the scenario's commands' or something else's)"
    })
}

/// `completed at t+13.100s`, `aborted at t+5.000s: <reason>`, with what is missing.
pub(crate) fn outcome_text(a: &Analysis) -> String {
    let at = |us| Clock::of(a).at(us);
    let mut outcome = match &a.outcome {
        Some(Outcome::Completed) => format!("completed at {}", at(a.end_us)),
        Some(Outcome::Aborted { reason }) => format!("aborted at {}: {reason}", at(a.end_us)),
        None => format!("unfinished: the journal ends at {}", at(a.end_us)),
    };
    if a.incomplete {
        let missing: Vec<&str> = [
            (a.run.is_none(), "no run_started"),
            (a.outcome.is_none(), "no run_finished"),
            (a.truncated, "last line cut"),
        ]
        .into_iter()
        .filter_map(|(yes, what)| yes.then_some(what))
        .collect();
        outcome.push_str(&format!(" (journal incomplete: {})", missing.join(", ")));
    }
    outcome
}

/// The warning every report opens with when the journal is incomplete (the run was
/// killed or crashed, or the file was cut): its numbers cover only what was recorded.
pub(crate) fn incomplete_warning(a: &Analysis) -> Option<String> {
    a.incomplete.then(|| {
        format!(
            "INCOMPLETE RUN: {}. The numbers below cover only what was recorded.",
            outcome_text(a)
        )
    })
}

/// Rows of the availability table: region (and total), probes, failed, available,
/// longest outage, and with judged windows: windows up and window availability.
pub(crate) fn availability_rows(a: &Analysis) -> Vec<Vec<String>> {
    let w = &a.availability.windows;
    let mut head = cells(["region", "probes", "failed", "available", "longest outage"]);
    if w.judged {
        head[3] = "probes ok".into();
        head.extend(cells(["windows up", "available"]));
    }
    let mut rows = vec![head];
    let total = ("total".to_string(), &a.availability.total, &w.total);
    let regions = a
        .availability
        .regions
        .iter()
        .map(|(r, p)| (r.clone(), p, w.regions.get(r).unwrap_or(&w.total)));
    for (name, p, ws) in regions.chain([total]) {
        let mut row = vec![
            name,
            p.probes.to_string(),
            p.failed.to_string(),
            percent(p.ratio),
            secs(p.longest_outage_us),
        ];
        if w.judged {
            row.push(format!("{} of {}", ws.up, ws.windows));
            row.push(percent(ws.ratio));
        }
        rows.push(row);
    }
    rows
}

pub(crate) fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("—".into(), |r| format!("{}%", format_percent(r)))
}

fn availability(a: &Analysis) -> Vec<String> {
    if a.availability.total.probes == 0 {
        return vec!["availability: no probe recorded".into()];
    }
    let rows = availability_rows(a);
    let right: Vec<bool> = (0..rows[0].len()).map(|i| i == 1 || i == 2).collect();
    let mut out = vec![format!("availability: {}", a.availability.rule)];
    out.extend(table(&rows, &right));
    out
}

/// Rows of the cold-start table: all, per region, per wave, per host kind when there is
/// more than one.
pub(crate) fn cold_start_rows(a: &Analysis) -> Vec<Vec<String>> {
    let c = &a.cold_starts;
    let mut rows = vec![cells([
        "group",
        "started",
        "ok",
        "failed",
        "interrupted",
        "p50",
        "p90",
        "p95",
        "p99",
        "max",
        "mean",
    ])];
    let kinds = (c.by_kind.len() > 1).then_some(&c.by_kind).into_iter();
    let groups = std::iter::once(("all".to_string(), &c.all))
        .chain(c.by_region.iter().map(|(r, s)| (r.clone(), s)))
        .chain(c.by_wave.iter().map(|(w, s)| (format!("wave {w}"), s)))
        .chain(kinds.flatten().map(|(k, s)| (k.clone(), s)));
    for (name, s) in groups {
        let mut row = vec![name];
        row.extend([s.count, s.ok, s.failed, s.interrupted].map(|n| n.to_string()));
        row.extend(latency_cells(s.latency.as_ref(), true));
        rows.push(row);
    }
    rows
}

/// p50, p90, p95, p99, max (and mean) of a latency, or dashes.
pub(crate) fn latency_cells(l: Option<&Latency>, mean: bool) -> Vec<String> {
    let n = if mean { 6 } else { 5 };
    match l {
        Some(l) => [l.p50_us, l.p90_us, l.p95_us, l.p99_us, l.max_us, l.mean_us][..n]
            .iter()
            .map(|us| secs(*us))
            .collect(),
        None => vec!["—".to_string(); n],
    }
}

fn cold_starts(a: &Analysis) -> Vec<String> {
    if a.cold_starts.all.count == 0 {
        return vec!["cold starts: none recorded".into()];
    }
    let mut out = vec!["cold starts (latency of the successful ones)".to_string()];
    let rows = cold_start_rows(a);
    let right: Vec<bool> = (0..rows[0].len()).map(|i| i > 0).collect();
    out.extend(table(&rows, &right));
    out.push(format!("  {COLD_START_COUNTS}"));
    out
}

fn pulls(a: &Analysis) -> String {
    let p = &a.pulls;
    if p.attempts == 0 {
        return "pulls: none recorded".into();
    }
    let served: Vec<String> = p
        .served_by
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    format!(
        "pulls: {}, {} failed, {}; requests served by {}",
        plural(p.attempts, "attempt", "attempts"),
        p.failed,
        plural(p.mirror_moves, "mirror move", "mirror moves"),
        if served.is_empty() {
            "none".to_string()
        } else {
            served.join(", ")
        }
    )
}

/// What a mirror move is, above the table of them.
pub(crate) const MIRROR_MOVES: &str = "mirror moves: requests that failed on a mirror and \
    went on to the next in the host's list (a pull served in part by another region is a \
    fallback pull)";

/// What a fallback pull is, in the fallback section.
pub(crate) const FALLBACK_PULLS: &str = "fallback pulls: pulls of which another region's \
    entry point than the host's served a request (each request that failed on a mirror \
    and went on to the next is a mirror move)";

/// Rows of the mirror-move table: mirror left, reason, requests; a last row for moves
/// older journals recorded without where or why. Empty without moves.
pub(crate) fn mirror_move_rows(a: &Analysis) -> Vec<Vec<String>> {
    let p = &a.pulls;
    if p.mirror_moves == 0 {
        return Vec::new();
    }
    let mut rows = vec![cells(["mirror", "reason", "requests"])];
    for (mirror, reasons) in &p.moves {
        for (reason, n) in reasons {
            rows.push(vec![mirror.clone(), reason.clone(), n.to_string()]);
        }
    }
    let typed: u64 = p.moves.values().flat_map(|r| r.values()).sum();
    if p.mirror_moves > typed {
        let untyped = (p.mirror_moves - typed).to_string();
        rows.push(vec![
            "—".into(),
            "not recorded (older journal)".into(),
            untyped,
        ]);
    }
    rows
}

/// Rows of the pull-latency table: the successful pulls' duration per host region,
/// image and host kind.
pub(crate) fn pull_rows(a: &Analysis) -> Vec<Vec<String>> {
    let p = &a.pulls;
    let mut rows = vec![cells([
        "pulls of", "attempts", "failed", "p50", "p90", "p95", "p99", "max",
    ])];
    let groups = p
        .by_region
        .iter()
        .map(|(k, g)| (format!("region {k}"), g))
        .chain(p.by_image.iter().map(|(k, g)| (format!("image {k}"), g)))
        .chain(p.by_kind.iter().map(|(k, g)| (format!("{k} hosts"), g)));
    for (name, g) in groups {
        let mut row = vec![name, g.attempts.to_string(), g.failed.to_string()];
        row.extend(latency_cells(g.duration.as_ref(), false));
        rows.push(row);
    }
    rows
}

/// Rows of the per-phase table: time to first byte and duration of each request kind.
pub(crate) fn phase_rows(a: &Analysis) -> Vec<Vec<String>> {
    let p = &a.pulls;
    let mut rows = vec![cells([
        "phase",
        "requests",
        "bytes",
        "ttfb p50",
        "ttfb p99",
        "duration p50",
        "duration p99",
        "duration max",
    ])];
    for (name, s) in [
        ("manifest", &p.manifest),
        ("config", &p.config),
        ("layer", &p.layer),
    ] {
        let t = s.ttfb.as_ref();
        let d = s.duration.as_ref();
        let v =
            |l: Option<&Latency>, f: fn(&Latency) -> u64| l.map_or("—".into(), |l| secs(f(l)));
        rows.push(vec![
            name.into(),
            s.count.to_string(),
            s.bytes.to_string(),
            v(t, |l| l.p50_us),
            v(t, |l| l.p99_us),
            v(d, |l| l.p50_us),
            v(d, |l| l.p99_us),
            v(d, |l| l.max_us),
        ]);
    }
    rows
}

fn pull_latency(a: &Analysis) -> Vec<String> {
    if a.pulls.attempts == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let moves = mirror_move_rows(a);
    if !moves.is_empty() {
        out.push(format!("{MIRROR_MOVES}:"));
        out.extend(table(&moves, &[false, false, true]));
    }
    out.push("pull latency (successful pulls)".to_string());
    out.extend(table(
        &pull_rows(a),
        &[false, true, true, true, true, true, true, true],
    ));
    out.push("request phases (all requests)".to_string());
    out.extend(table(
        &phase_rows(a),
        &[false, true, true, true, true, true, true, true],
    ));
    out
}

/// What a cold pull takes when no fault is around: the reference of the seed's question.
pub(crate) fn reference_line(a: &Analysis) -> String {
    let r = &a.cold_pull_reference;
    match r.latency {
        Some(l) => format!(
            "a cold pull without faults: p50 {}, p99 {} ({} outside every fault window)",
            secs(l.p50_us),
            secs(l.p99_us),
            plural(r.count, "cold start", "cold starts")
        ),
        None => "a cold pull without faults: unknown (no successful cold start outside the \
                 fault windows)"
            .into(),
    }
}

pub(crate) fn budget_line(b: &crate::analysis::ErrorBudget) -> String {
    format!(
        "error budget: an SLO of {}% over {} allows {} of downtime",
        format_percent(b.slo),
        humantime::format_duration(Duration::from_micros(b.period_us)),
        long_secs(b.allowed_downtime_us)
    )
}

/// The steps of a fault's waterfall in time order (ties keep this order: injected,
/// first failure, last failure, recovered, back within SLA, healed).
pub(crate) fn waterfall(f: &FaultRecovery) -> Vec<(u64, String)> {
    let mut events: Vec<(u64, String)> = vec![(f.injected_us, "injected".into())];
    if let Some(t) = f.first_failure_us {
        events.push((t, "first failure".into()));
    }
    if let Some(t) = f.last_failure_us {
        events.push((t, "last failure".into()));
    }
    if let Some(t) = f.recovered_us {
        events.push((t, "recovered".into()));
    }
    if let Some(t) = f.back_within_sla_us {
        events.push((t, "back within SLA".into()));
    }
    for c in &f.commands {
        let ran = &c.ran;
        let outcome = match &ran.error {
            Some(e) => format!("failed: {e}"),
            None => format!("exited 0 after {}", secs(ran.took_us)),
        };
        events.push((
            c.started_us,
            format!("{} command {outcome}", ran.phase.name()),
        ));
    }
    // A failed inject command has said why already.
    let said = f
        .commands
        .iter()
        .any(|c| c.ran.phase == CommandPhase::Inject && c.ran.error.is_some());
    if let (Some(e), false) = (&f.inject_error, said) {
        events.push((f.injected_us, format!("injection failed: {e}")));
    }
    if let Some(t) = f.healed_us {
        let what = match (&f.heal_ok, &f.heal_error) {
            (Some(false), Some(e)) => format!("heal failed: {e}"),
            (Some(false), None) => "heal failed".into(),
            _ => "healed".into(),
        };
        events.push((t, what));
    }
    // Stable: the order above breaks ties.
    events.sort_by_key(|(t, _)| *t);
    events
}

/// `fault #1 zone-outage eu-a on drill-x-eu-a-1 (regions eu; docker kill (SIGKILL))`;
/// one injected by hand during a game day says `manual` after its target.
pub(crate) fn fault_title(f: &FaultRecovery) -> String {
    let on = if f.members.is_empty() {
        String::new()
    } else {
        format!(" on {}", f.members.join(", "))
    };
    format!(
        "fault #{} {} {}{}{on} (regions {}; {})",
        f.id,
        f.kind.name(),
        f.target,
        if f.manual { " (manual)" } else { "" },
        f.regions.join(", "),
        f.method
    )
}

/// `fault #1 zone-outage eu-a (scripted) refused at t+8.003s: it would have acted on …`.
pub(crate) fn refused_text(r: &RefusedFault, clock: Clock) -> String {
    format!(
        "fault #{} {} {} ({}) refused at {}: {}",
        r.id,
        r.kind.name(),
        r.target,
        crate::journal::origin(r.manual),
        clock.at(r.refused_us),
        r.reason
    )
}

/// Why a fault has no heal in its waterfall.
pub(crate) fn no_heal_text(f: &FaultRecovery) -> &'static str {
    if f.kind.is_instant() {
        "instant: nothing to heal"
    } else {
        "no heal recorded"
    }
}

/// The outcome line under a waterfall.
pub(crate) fn disruption_text(f: &FaultRecovery) -> String {
    match (f.masked, f.disruption_us) {
        (true, _) => crate::analysis::MASKED.into(),
        (false, Some(0)) => crate::analysis::hidden_by_fallback(f),
        (false, None) => format!(
            "not recovered: {} and {} failed",
            plural(f.failed_probes, "probe", "probes"),
            plural(f.failed_pulls, "pull", "pulls"),
        ),
        (false, Some(d)) => {
            let moved = match f.moved_requests {
                0 => String::new(),
                n => format!(
                    "; {} moved to another mirror",
                    plural(n, "request", "requests")
                ),
            };
            let after_heal = match (f.recovered_us, f.healed_us) {
                (Some(r), Some(h)) if r < h => ", before the heal".to_string(),
                (Some(r), Some(h)) => format!(", {} after heal", secs(r - h)),
                _ => String::new(),
            };
            format!(
                "disruption {}{after_heal}; {} and {} failed{moved}",
                secs(d),
                plural(f.failed_probes, "probe", "probes"),
                plural(f.failed_pulls, "pull", "pulls"),
            )
        }
    }
}

/// The push probes that failed in a fault's window, if any did.
pub(crate) fn pushes_text(f: &FaultRecovery) -> Option<String> {
    (f.failed_pushes > 0).then(|| {
        format!(
            "{} failed while it lasted",
            plural(f.failed_pushes, "push probe", "push probes")
        )
    })
}

/// "Registry recovered" (probes) against "client recovered" (pulls), when either failed.
pub(crate) fn recovered_by_side(f: &FaultRecovery, clock: Clock) -> Option<String> {
    if f.registry_recovered_us.is_none() && f.client_recovered_us.is_none() {
        return None;
    }
    let side = |t: Option<u64>, failed: u64, what: &str| match t {
        Some(t) => clock.at(t),
        None if failed == 0 => format!("(no {what} failed)"),
        None => "never".to_string(),
    };
    // What a pod lives through: clients still stuck (back-off, timeouts) after the
    // registry answers again.
    let lag = match (f.registry_recovered_us, f.client_recovered_us) {
        (Some(r), Some(c)) if c > r => format!(" ({} after the registry)", secs(c - r)),
        _ => String::new(),
    };
    Some(format!(
        "registry recovered {}, clients recovered {}{lag}",
        side(f.registry_recovered_us, f.failed_probes, "probe"),
        side(f.client_recovered_us, f.failed_pulls, "pull"),
    ))
}

/// Why a waterfall has no "back within SLA" step, if it has none.
pub(crate) fn settle_note(f: &FaultRecovery) -> Option<String> {
    if f.back_within_sla_us.is_some() || (!f.masked && f.recovered_us.is_none()) {
        return None;
    }
    Some(format!(
        "not back within SLA: no {SETTLE_WINDOWS} clean 1 s windows in a row before its \
         window ended"
    ))
}

/// What the cold-start counts mean, under every cold-start table.
pub(crate) const COLD_START_COUNTS: &str = "started = ok + failed + interrupted: a cold start \
    a later wave restarted, or one the run's end cut off before any of its pulls failed, is \
    interrupted; one the run's end cut off after a failed pull failed";

/// The cold starts a fault overlapped: `1 cold start during it: 0 failed, 0 interrupted,
/// 1 delayed (median +1.247s)`.
pub(crate) fn cold_starts_during(f: &FaultRecovery) -> String {
    let c = &f.cold_pull;
    let mut text = format!(
        "{} during it: {} failed, {} interrupted, {} delayed",
        plural(c.overlapping, "cold start", "cold starts"),
        c.failed,
        c.interrupted,
        c.delayed
    );
    if let Some(extra) = c.median_extra_delay_us {
        text.push_str(&format!(" (median +{} over a cold pull)", secs(extra)));
    }
    text
}

/// A fault's share of the error budget, when the SLA declares one.
pub(crate) fn fault_budget_text(f: &FaultRecovery, a: &Analysis) -> Option<String> {
    let b = a.error_budget.as_ref()?;
    let fb = b.faults.iter().find(|x| x.fault == f.id)?;
    let per = humantime::format_duration(Duration::from_micros(b.period_us));
    Some(match (fb.downtime_us, fb.events_allowed) {
        (None, _) => "error budget: unknown, the fault never recovered".into(),
        (Some(0), _) => format!("error budget: none used; any number of such events fit in {per}"),
        (Some(d), Some(n)) => format!(
            "error budget: {} per event, {} of the budget; {} per {per}",
            secs(d),
            percent(fb.budget_share),
            plural(n, "such event fits", "such events fit"),
        ),
        (Some(d), None) => format!("error budget: {} per event", secs(d)),
    })
}

fn fault(f: &FaultRecovery, a: &Analysis) -> Vec<String> {
    let mut out = vec![fault_title(f)];
    out.extend(
        waterfall(f)
            .into_iter()
            .map(|(t, what)| format!("  {:<11} {what}", Clock::of(a).at(t))),
    );
    if f.healed_us.is_none() {
        out.push(format!("  {}", no_heal_text(f)));
    }
    out.push(format!("  {}", disruption_text(f)));
    if let Some(line) = pushes_text(f) {
        out.push(format!("  {line}"));
    }
    if let Some(line) = recovered_by_side(f, Clock::of(a)) {
        out.push(format!("  {line}"));
    }
    if let Some(note) = settle_note(f) {
        out.push(format!("  {note}"));
    }
    out.push(format!("  seed's question: {}", f.cold_pull.sentence));
    out.push(format!("  {}", cold_starts_during(f)));
    if let Some(b) = fault_budget_text(f, a) {
        out.push(format!("  {b}"));
    }
    out
}

fn data_loss(a: &Analysis) -> String {
    let d = &a.data_loss;
    if d.checked == 0 {
        return "data loss: not checked".into();
    }
    if d.failures.is_empty() {
        return format!(
            "data loss: none ({} verified)",
            plural(d.checked, "image", "images")
        );
    }
    let lost: Vec<String> = d.failures.iter().map(replication::violation_text).collect();
    format!(
        "data loss: {} of {} lost: {}",
        d.failures.len(),
        d.checked,
        lost.join("; ")
    )
}

/// Rows of the SLA table.
pub(crate) fn sla_rows(v: &Verdict) -> Vec<Vec<String>> {
    let mut rows = vec![cells(["SLA", "measured", "limit", "margin", "result"])];
    for c in &v.checks {
        rows.push(vec![
            c.name.to_string(),
            c.measured.clone(),
            c.limit.clone(),
            c.margin.clone(),
            if c.passed { "PASS" } else { "FAIL" }.into(),
        ]);
    }
    rows
}

fn sla_table(v: &Verdict) -> Vec<String> {
    if v.checks.is_empty() {
        return vec!["no SLA declared".into()];
    }
    table(&sla_rows(v), &[false; 5])
        .into_iter()
        .map(|l| l.trim_start().to_string())
        .collect()
}

/// The heading of the regression list.
pub(crate) fn regressions_heading(b: &BaselineComparison) -> String {
    let consequence = if b.fail_on_regression {
        "they fail the run"
    } else {
        "reported only; --fail-on-regression makes them fail the run"
    };
    let found = match b.regressions.len() {
        0 => "no regression".to_string(),
        n => plural(n as u64, "regression", "regressions"),
    };
    format!(
        "{found} against {} (run {}; {} compared, tolerance {}%; {consequence})",
        b.path,
        b.run_id,
        plural(b.compared, "check", "checks"),
        format_percent(b.tolerance),
    )
}

fn regressions(b: &BaselineComparison) -> Vec<String> {
    let mut out = vec![regressions_heading(b)];
    out.extend(b.regressions.iter().map(|r| format!("  {}", r.text)));
    out
}

/// `verdict: FAIL — 1 SLA broken: availability eu (exit 1)`.
pub fn verdict_line(v: &Verdict) -> String {
    format!("verdict: {}", verdict_text(v))
}

/// The verdict without its `verdict: ` prefix.
pub(crate) fn verdict_text(v: &Verdict) -> String {
    let code = v.status.exit_code();
    match &v.status {
        Status::Pass => format!("PASS (exit {code})"),
        Status::SlaBroken => {
            let broken: Vec<&str> = v
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.as_str())
                .collect();
            format!(
                "FAIL — {} broken: {} (exit {code})",
                plural(broken.len() as u64, "SLA", "SLAs"),
                broken.join(", ")
            )
        }
        Status::Inconclusive { reason } | Status::Aborted { reason } => {
            format!("{} — {reason} (exit {code})", v.status.label())
        }
    }
}

pub(crate) fn cells<const N: usize>(c: [&str; N]) -> Vec<String> {
    c.iter().map(|s| s.to_string()).collect()
}

/// Rows as columns two spaces apart, indented by two; `right[i]` right-aligns column `i`.
fn table(rows: &[Vec<String>], right: &[bool]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let w = widths[i];
                    if right.get(i).copied().unwrap_or(false) {
                        format!("{c:>w$}")
                    } else {
                        format!("{c:<w$}")
                    }
                })
                .collect();
            format!("  {}", line.join("  ")).trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::*;
    use crate::journal::{self, Event, PhaseKind};
    use crate::model::sla::{ColdPullSla, DataLoss, RecoverySla, Sla};
    use crate::model::units::Span;

    fn sla() -> Sla {
        Sla {
            cold_pull: Some(ColdPullSla {
                p99: Some(Span(Duration::from_millis(50))),
                ..ColdPullSla::default()
            }),
            recovery: Some(RecoverySla {
                max: Span(Duration::from_secs(3)),
            }),
            data_loss: Some(DataLoss::None),
            ..Sla::default()
        }
    }

    fn journal() -> Vec<Record> {
        let mut j = outage_journal();
        j[0] = run_started(&["eu", "us"], sla());
        let end = j.pop().unwrap();
        j.extend((1..=10).map(|n| cold_start("eu", 0, true, n * 10 * MS)));
        j.push(cold_start("us", 0, false, 20 * S));
        j.push(pull(
            2 * S,
            "eu",
            true,
            vec![phase(PhaseKind::Manifest, "eu", 3 * MS, 500)],
        ));
        j.push(verified("eu", "team/app:1", true));
        j.push(verified("us", "team/app:1", false));
        j.push(end);
        j
    }

    /// The outage journal with auth probes: eu refuses throughout (503 while its zone is
    /// down), us serves anonymous pulls from 12 s to 13 s, during the fault.
    fn auth_journal() -> Vec<Record> {
        let mut j = outage_journal();
        j[0] = run_started(
            &["eu", "us"],
            Sla {
                auth: Some(crate::model::sla::AuthSla::Enforced),
                ..Sla::default()
            },
        );
        let end = j.pop().unwrap();
        for t in (0..20).map(|k| k * S) {
            let eu_status = if (11 * S..14 * S).contains(&t) {
                503
            } else {
                401
            };
            let us_status = if (12 * S..=13 * S).contains(&t) {
                200
            } else {
                401
            };
            for (region, status) in [("eu", eu_status), ("us", us_status)] {
                j.push(Record {
                    t_us: t,
                    event: Event::AuthProbe {
                        region: region.into(),
                        claim: journal::Claim::Anonymous,
                        status: Some(status),
                        served: status == 200,
                        error: None,
                    },
                });
            }
        }
        j.push(end);
        j
    }

    #[test]
    fn auth_section_shows_every_entry_point_fault_and_open_window() {
        let s = summarize(&auth_journal(), false);
        assert_eq!(s.run.exit_code, 1);
        let text = terminal(&s);
        for expected in [
            "authentication: 40 pull attempts without valid credentials on 2 entry points: \
             2 served in 1 window",
            "  eu anonymous: 17 refused, 3 unavailable, 0 served (HTTP 401 ×17, HTTP 503 ×3)",
            "  us anonymous: 18 refused, 2 served (HTTP 200 ×2, HTTP 401 ×18)",
            "  OPEN: us served anonymous pulls from t+12.000s to t+13.000s (1.000s, 2 probes), \
             during fault #1",
            "auth eu  0 of 20 served  none served  +0      PASS",
            "auth us  2 of 20 served  none served  -2      FAIL",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let md = markdown::render(&s);
        assert!(md.contains("### Authentication"), "{md}");
        let html = html::render(&s).unwrap();
        assert!(html.contains("<h2>Authentication</h2>"), "{html}");
    }

    #[test]
    fn terminal_summary_shows_waterfall_table_and_verdict() {
        let s = summarize(&journal(), false);
        assert_eq!(s.run.exit_code, 1);
        let text = terminal(&s);
        for expected in [
            "scenario zone-outage   run 0badcafe   seed 42",
            "outcome  completed at t+90.000s",
            "  eu         200      49  75.5%      4.900s",
            "fault #1 zone-outage eu-a on drill-0badcafe-eu-a-1 (regions eu; docker kill (SIGKILL))",
            "  t+10.000s   injected\n  t+10.100s   first failure\n  t+14.500s   healed\n  \
             t+14.900s   last failure\n  t+15.000s   recovered\n  t+15.000s   back within SLA\n  \
             disruption 5.000s, 0.500s after heal; 49 probes and 0 pulls failed",
            "a cold pull without faults: p50 0.050s, p99 0.100s (10 cold starts outside every fault window)",
            "  seed's question: longer than a cold pull (5.000s against 0.050s): cold starts during it fail or wait\n  \
             0 cold starts during it: 0 failed, 0 interrupted, 0 delayed",
            "pulls: 1 attempt, 0 failed, 0 mirror moves; requests served by eu 1",
            "data loss: 1 of 2 lost: missing: team/app:1 in us (manifest unknown)",
            "  group   started  ok  failed  interrupted     p50     p90     p95     p99     max    mean\n  \
             all          11  10       1            0  0.050s  0.090s  0.100s  0.100s  0.100s  0.055s",
            "  us            1   0       1            0       —       —       —       —       —       —",
            "SLA                                 measured     limit     margin   result\n\
             cold_pull p99                       0.100s       ≤ 0.050s  -0.050s  FAIL\n\
             cold_pull failed                    1 of 11      ≤ 0       -1       FAIL\n\
             recovery fault #1 zone-outage eu-a  5.000s       ≤ 3.000s  -2.000s  FAIL\n\
             data_loss                           1 of 2 lost  none      -1       FAIL",
            "verdict: FAIL — 4 SLAs broken: cold_pull p99, cold_pull failed, \
             recovery fault #1 zone-outage eu-a, data_loss (exit 1)",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn terminal_verdict_for_pass_aborted_and_masked() {
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 2 * S, 0, 0));
        j.push(inject(S, 1, "eu-a", &["eu"]));
        j.push(finished(
            2 * S,
            Outcome::Aborted {
                reason: "interrupted by SIGINT".into(),
            },
        ));
        let text = terminal(&summarize(&j, false));
        assert!(text.contains("  masked: no probe, pull or request of its regions failed"));
        assert!(text.contains("  no heal recorded"));
        assert!(text.contains("no SLA declared"));
        assert!(text.ends_with("verdict: ABORTED — interrupted by SIGINT (exit 3)\n"));

        j.pop();
        j.push(finished(2 * S, Outcome::Completed));
        let text = terminal(&summarize(&j, false));
        assert!(text.ends_with("verdict: PASS (exit 0)\n"), "{text}");
    }

    #[test]
    fn terminal_shows_an_unrecovered_fault() {
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 3 * S, 2 * S, 3 * S));
        j.push(inject(2 * S, 1, "eu-a", &["eu"]));
        j.push(heal(2_500 * MS, 1));
        let text = terminal(&summarize(&j, false));
        assert!(
            text.contains(
                "  t+2.900s    last failure\n  not recovered: 10 probes and 0 pulls failed\n"
            ),
            "{text}"
        );
        assert!(text.contains("(journal incomplete: no run_finished)"));
    }

    #[test]
    fn failed_push_probes_are_counted_per_fault_and_region() {
        let push = |t_us: u64, ok: bool| {
            rec(
                t_us,
                Event::Push {
                    region: "eu".into(),
                    ok,
                    latency_us: 5_000,
                    error: (!ok).then(|| "HTTP 500".into()),
                },
            )
        };
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 6 * S, 0, 0));
        j.push(push(S, true));
        j.push(inject(2 * S, 1, "eu", &["eu"]));
        j.extend([push(3 * S, false), push(4 * S, false)]);
        j.push(heal(4_500 * MS, 1));
        j.push(push(5 * S, true));
        j.push(finished(6 * S, Outcome::Completed));
        let s = summarize(&j, false);
        assert_eq!(s.analysis.faults[0].failed_pushes, 2);
        let text = terminal(&s);
        assert!(text.contains("push probes: eu 2 ok, 2 failed"), "{text}");
        assert!(
            text.contains("  2 push probes failed while it lasted\n"),
            "{text}"
        );
        let md = markdown::render(&s);
        assert!(
            md.contains("- 2 push probes failed while it lasted"),
            "{md}"
        );
    }

    #[test]
    fn summary_of_an_empty_journal_is_unknown_and_aborted() {
        let s = summarize(&[], true);
        assert_eq!(
            (s.run.scenario.as_str(), s.run.outcome.as_str()),
            ("unknown", "unfinished")
        );
        assert_eq!(s.run.exit_code, 3);
        let text = terminal(&s);
        assert!(text.contains("journal incomplete: no run_started, no run_finished"));
        assert!(text.contains("availability: no probe recorded"));
    }

    #[test]
    fn write_all_writes_every_report_whole() {
        let dir = tempfile::tempdir().unwrap();
        let s = summarize(&journal(), false);
        let written = write_all(dir.path(), &s).unwrap();
        let names: Vec<PathBuf> = REPORT_FILES.iter().map(|n| dir.path().join(n)).collect();
        assert_eq!(written, names);
        assert_eq!(
            super::written(&written),
            "wrote summary.json, junit.xml, summary.md, report.html"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
        let back: Summary = serde_json::from_slice(&std::fs::read(&written[0]).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.format, 3);
        // Written twice, byte for byte the same.
        let first: Vec<Vec<u8>> = written.iter().map(|p| std::fs::read(p).unwrap()).collect();
        write_all(dir.path(), &s).unwrap();
        let second: Vec<Vec<u8>> = written.iter().map(|p| std::fs::read(p).unwrap()).collect();
        assert_eq!(first, second);
    }

    /// The recorded journal of a zone outage: zone eu-a (one of eu's two nodes) is
    /// killed at 5 s and started again at 11 s. haproxy needs about a second to take
    /// the dead node out: eu probes fail at 5.5 s and 6.5 s, a pull from eu fails at
    /// 6.8 s, and the next eu probe succeeds at 7.5 s. us is never touched.
    #[test]
    fn recorded_zone_outage_journal() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/journals/zone-outage.jsonl");
        let loaded = journal::read(&path).unwrap();
        assert!(!loaded.truncated);
        assert!(loaded
            .records
            .iter()
            .any(|r| matches!(r.event, Event::TopologyUp { .. })));
        let s = summarize(&loaded.records, loaded.truncated);
        let a = &s.analysis;
        assert!(!a.incomplete);
        assert!(a.steady_state.reached);

        let f = &a.faults[0];
        assert_eq!(f.injected_us, 5_000_120);
        assert_eq!(f.first_failure_us, Some(5_502_311));
        assert_eq!(f.last_failure_us, Some(6_803_950));
        assert_eq!(f.recovered_us, Some(7_501_007));
        assert_eq!(f.healed_us, Some(11_000_480));
        // 7.501007 s - 5.000120 s; recovered before the heal.
        assert_eq!(f.disruption_us, Some(2_500_887));
        assert_eq!(f.after_heal_us, Some(0));
        assert_eq!((f.failed_probes, f.failed_pulls), (2, 1));

        let eu = &a.availability.regions["eu"];
        assert_eq!((eu.probes, eu.failed), (12, 2));
        // From the first failed probe (5.502311 s) to the next OK one (7.501007 s).
        assert_eq!(eu.longest_outage_us, 1_998_696);
        assert_eq!(a.availability.regions["us"].failed, 0);
        // An older journal: the move is counted, without where or why.
        assert_eq!((a.pulls.mirror_moves, a.pulls.moves.len()), (1, 0));
        assert_eq!(a.pulls.served_by["us"], 3);
        assert_eq!((a.cold_starts.all.count, a.cold_starts.all.failed), (3, 0));
        crate::analysis::cold_starts_tests::assert_counts_add_up(&a.cold_starts);
        // The slowest of 3 cold starts is the p99, reported as is, not as its bucket top.
        let l = a.cold_starts.all.latency.unwrap();
        assert_eq!((l.p99_us, l.max_us), (1_650_012, 1_650_012));
        assert_eq!(a.data_loss.checked, 2);

        // availability 99% per region breaks in eu (10 of 12); recovery 5 s is met.
        let broken: Vec<&str> = s
            .verdict
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(broken, ["availability eu"]);
        assert_eq!(s.run.exit_code, 1);
        let text = terminal(&s);
        assert!(text.contains("  disruption 2.501s, before the heal; 2 probes and 1 pull failed\n"));
        assert!(
            text.contains("  —       not recorded (older journal)         1\n"),
            "{text}"
        );
        assert!(text.contains(
            "fault #1 zone-outage eu-a on drill-5e1f0a2c-eu-a-1 (regions eu; docker kill (SIGKILL), \
             started again on heal)"
        ));
    }

    /// The recorded journal of `tests/scenarios/overlap.yaml`: wave 1 (three hosts, over
    /// a 3 s ramp, through a throttled load balancer) is restarted by wave 2 1.5 s after
    /// it began, its third host before its turn; wave 2 finishes after the throttle; the
    /// end of the timeline cuts off wave 3 while it pulls.
    #[test]
    fn recorded_overlapping_waves_journal() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/journals/overlapping-waves.jsonl");
        let loaded = journal::read(&path).unwrap();
        let s = summarize(&loaded.records, loaded.truncated);
        let c = &s.analysis.cold_starts;
        crate::analysis::cold_starts_tests::assert_counts_add_up(c);
        let counts = |s: &crate::analysis::ColdStartStats| (s.count, s.ok, s.failed, s.interrupted);
        assert_eq!(counts(&c.all), (9, 3, 0, 6));
        assert_eq!(counts(&c.by_wave[&1]), (3, 0, 0, 3));
        assert_eq!(counts(&c.by_wave[&2]), (3, 3, 0, 0));
        assert_eq!(counts(&c.by_wave[&3]), (3, 0, 0, 3));
        let waves: Vec<(usize, u64)> = s
            .analysis
            .timeline
            .iter()
            .filter_map(|e| match e {
                crate::analysis::TimelineEntry::Wave { wave, hosts, .. } => Some((*wave, *hosts)),
                _ => None,
            })
            .collect();
        assert_eq!(waves, [(1, 3), (2, 3), (3, 3)]);
        assert_eq!(s.run.exit_code, 0);
        let failed = s
            .verdict
            .checks
            .iter()
            .find(|c| c.name == "cold_pull failed")
            .unwrap();
        assert_eq!(failed.measured, "0 of 9 (6 interrupted)");
        let text = terminal(&s);
        for row in [
            "  group   started  ok  failed  interrupted",
            "  wave 1        3   0       0            3       —",
            "  wave 2        3   3       0            0  3.955s",
            "  wave 3        3   0       0            3       —",
        ] {
            assert!(text.contains(row), "missing {row:?} in\n{text}");
        }
        assert!(markdown::render(&s).contains("| wave 1 | 3 | 0 | 0 | 3 |"));
        assert!(html::render(&s).unwrap().contains(
            "<tr><td>wave 3</td><td class=\"num\">3</td><td class=\"num\">0</td>\
                       <td class=\"num\">0</td><td class=\"num\">3</td>"
        ));
    }

    fn case<'a>(suite: &'a quick_junit::TestSuite, name: &str) -> &'a quick_junit::TestCase {
        suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no test case {name}"))
    }

    fn failure_message(c: &quick_junit::TestCase) -> Option<&str> {
        match &c.status {
            quick_junit::TestCaseStatus::NonSuccess { message, .. } => {
                Some(message.as_ref().map_or("", |m| m.as_str()))
            }
            _ => None,
        }
    }

    #[test]
    fn junit_has_a_case_per_check_per_fault_and_for_the_run() {
        let s = summarize(&journal(), false);
        let xml = junit::render(&s).unwrap();
        let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(report.test_suites.len(), 1);
        let suite = &report.test_suites[0];
        assert_eq!(suite.name.as_str(), "zone-outage");
        // cold_pull p99, cold_pull failed, data_loss; the fault's recovery; the run.
        assert_eq!((suite.tests, suite.failures, suite.errors), (5, 4, 0));
        let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cold_pull p99",
                "cold_pull failed",
                "data_loss",
                "recovery fault #1 zone-outage eu-a",
                "run"
            ]
        );
        let recovery = case(suite, "recovery fault #1 zone-outage eu-a");
        assert_eq!(
            recovery.classname.as_ref().unwrap().as_str(),
            "zone-outage.recovery"
        );
        assert_eq!(
            failure_message(recovery),
            Some("measured 5.000s, limit ≤ 3.000s, margin -2.000s")
        );
        let out = recovery.system_out.as_ref().unwrap().as_str();
        assert!(out.contains("t+15.000s   recovered"), "{out}");
        assert!(
            out.contains("seed's question: longer than a cold pull"),
            "{out}"
        );
        assert_eq!(
            case(suite, "cold_pull p99")
                .classname
                .as_ref()
                .unwrap()
                .as_str(),
            "zone-outage.cold_pull"
        );
        assert_eq!(failure_message(case(suite, "run")), None);
        let prop = |name: &str| {
            suite
                .properties
                .iter()
                .find(|p| p.name.as_str() == name)
                .map(|p| p.value.as_str().to_string())
        };
        assert_eq!(prop("exit_code").as_deref(), Some("1"));
        assert_eq!(prop("run_id").as_deref(), Some("0badcafe"));
    }

    #[test]
    fn junit_without_a_recovery_sla_and_for_an_aborted_run() {
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, 3 * S, 2 * S, 3 * S));
        j.push(inject(2 * S, 1, "eu-a", &["eu"]));
        j.push(finished(
            3 * S,
            Outcome::Aborted {
                reason: "interrupted by SIGINT".into(),
            },
        ));
        let xml = junit::render(&summarize(&j, false)).unwrap();
        let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let suite = &report.test_suites[0];
        assert_eq!((suite.tests, suite.failures, suite.skipped), (2, 1, 1));
        // Never recovered, and nothing to judge it against: skipped, with the reason.
        let fault = case(suite, "recovery fault #1 zone-outage eu-a");
        assert!(matches!(
            &fault.status,
            quick_junit::TestCaseStatus::Skipped { message: Some(m), .. }
                if m.as_str().starts_with("not recovered before the run ended")
        ));
        assert_eq!(
            failure_message(case(suite, "run")),
            Some("ABORTED: interrupted by SIGINT")
        );
    }

    #[test]
    fn markdown_starts_with_the_verdict_then_the_sla_table() {
        let md = markdown::render(&summarize(&journal(), false));
        let first = md.lines().next().unwrap();
        assert_eq!(
            first,
            "## ❌ drill zone-outage: FAIL — 4 SLAs broken: cold_pull p99, cold_pull failed, \
             recovery fault #1 zone-outage eu-a, data_loss (exit 1)"
        );
        for expected in [
            "### SLAs\n\n| SLA | measured | limit | margin | result |\n|---|---|---|---|---|\n\
             | cold_pull p99 | 0.100s | ≤ 0.050s | -0.050s | ❌ FAIL |",
            "#### fault #1 zone-outage eu-a on drill-0badcafe-eu-a-1 (regions eu; docker kill (SIGKILL))",
            "| back within SLA | t+15.000s | 5.000s |",
            "- **The seed's question:** longer than a cold pull (5.000s against 0.050s)",
            "### Availability\n\nAvailability is the share of probes that succeeded",
            "| eu | 200 | 49 | 75.5% | 4.900s |",
            "### Cold starts",
        ] {
            assert!(md.contains(expected), "missing {expected:?} in\n{md}");
        }
        let sla = md.find("### SLAs").unwrap();
        assert!(sla < md.find("### Faults").unwrap());
        assert!(md.find("### Faults").unwrap() < md.find("### Availability").unwrap());
    }

    /// Every `http` in the page is the SVG namespace, which is a name, not a fetch.
    fn assert_self_contained(html: &str) {
        for banned in [
            "<script", "src=", "href=", "url(", "@import", "<link", "<iframe",
        ] {
            assert!(!html.contains(banned), "the page holds {banned}");
        }
        let namespace = "xmlns=\"http://www.w3.org/2000/svg\"";
        let rest = html.replace(namespace, "");
        assert!(!rest.contains("http://") && !rest.contains("https://"));
    }

    #[test]
    fn html_holds_its_charts_faults_and_sla_rows() {
        let s = summarize(&journal(), false);
        let html = html::render(&s).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        // Cold starts over time, percentiles, availability, and one waterfall per fault.
        assert_eq!(html.matches("<svg").count(), 4);
        assert_eq!(html.matches("</svg>").count(), 4);
        for expected in [
            "verdict: FAIL — 4 SLAs broken",
            "<b>fault #1 zone-outage eu-a</b>: longer than a cold pull (5.000s against 0.050s)",
            "<td>cold_pull p99</td><td>0.100s</td><td>≤ 0.050s</td><td>-0.050s</td><td>FAIL</td>",
            "<td>data_loss</td>",
            "Cold starts over time",
            "fault #1: time from injection to each step",
            "back within SLA +5.000s",
        ] {
            assert!(html.contains(expected), "missing {expected:?}");
        }
        assert_self_contained(&html);

        // Without faults, cold starts or probes the page still stands, with no chart
        // that would be empty but availability's.
        let mut j = vec![run_started(&["eu"], Sla::default())];
        j.extend(probes("eu", 0, S, 0, 0));
        j.push(finished(S, Outcome::Completed));
        let html = html::render(&summarize(&j, false)).unwrap();
        assert_eq!(html.matches("<svg").count(), 1);
        assert!(html.contains("No cold start recorded."));
        assert!(html.contains("No fault was injected."));
        assert_self_contained(&html);
        let html = html::render(&summarize(&[], true)).unwrap();
        assert_eq!(html.matches("<svg").count(), 0);
    }

    #[test]
    fn names_are_escaped_in_html_and_markdown() {
        let mut j = journal();
        if let Event::RunStarted(info) = &mut j[0].event {
            info.scenario = "a<b>|c".into();
        }
        let s = summarize(&j, false);
        let html = html::render(&s).unwrap();
        assert!(html.contains("<h1>drill — a&lt;b&gt;|c</h1>"));
        assert!(!html.contains("a<b>"));
        let md = markdown::render(&s);
        assert!(md.starts_with("## ❌ drill a\\<b\\>\\|c: FAIL"), "{md}");
    }

    /// A game day's journal: fault #1 injected by hand, and a note.
    fn game_day_journal() -> Vec<Record> {
        let mut j = journal();
        for r in &mut j {
            if let Event::FaultInjected { manual, .. } = &mut r.event {
                *manual = true;
            }
        }
        let end = j.pop().unwrap();
        j.push(rec(
            12 * S,
            Event::Note {
                text: "eu-a down by hand".into(),
            },
        ));
        j.push(end);
        j
    }

    #[test]
    fn every_report_reads_times_on_the_timeline_clock_and_says_so() {
        // The timeline started 2 s into the run: the fault injected at 10 s of the
        // journal is the scenario's `at: 8s`, and a note taken in setup is negative.
        let mut j = game_day_journal();
        j.insert(1, rec(2 * S, Event::TimelineStarted));
        j.insert(
            2,
            rec(
                S / 2,
                Event::Note {
                    text: "still seeding".into(),
                },
            ),
        );
        let s = summarize(&j, false);
        assert_eq!(s.analysis.timeline_started_us, Some(2 * S));
        let files = render_files(&s).unwrap();
        let text = |name: &str| {
            let (_, bytes) = files.iter().find(|(n, _)| *n == name).unwrap();
            String::from_utf8(bytes.clone()).unwrap()
        };
        for shown in [
            terminal(&s),
            text("summary.md"),
            text("report.html"),
            text("junit.xml"),
        ] {
            assert!(
                shown.contains("t+8.000s"),
                "no injection at t+8 in\n{shown}"
            );
            // The note at 12 s of the journal.
            assert!(shown.contains("t+10.000s"), "no note at t+10 in\n{shown}");
            assert!(!shown.contains("t+12.000s"), "a run-clock time in\n{shown}");
            assert!(
                shown.contains("t-1.500s"),
                "no setup note at t-1.5 in\n{shown}"
            );
            assert!(
                shown.contains("t+ counts from the timeline"),
                "no clock legend in\n{shown}"
            );
        }
        // Without a timeline, times count from the run's start, and the legend says so.
        let shown = terminal(&summarize(&game_day_journal(), false));
        assert!(shown.contains("t+10.000s"), "{shown}");
        assert!(shown.contains("the timeline never started"), "{shown}");
    }

    #[test]
    fn a_manual_fault_is_marked_and_notes_are_shown_in_every_report() {
        let s = summarize(&game_day_journal(), false);
        assert!(s.analysis.faults[0].manual);
        let title = "fault #1 zone-outage eu-a (manual) on drill-0badcafe-eu-a-1";
        let files = render_files(&s).unwrap();
        let text = |name: &str| {
            let (_, bytes) = files.iter().find(|(n, _)| *n == name).unwrap();
            String::from_utf8(bytes.clone()).unwrap()
        };
        assert!(text("summary.json").contains("\"manual\": true"));
        for shown in [
            terminal(&s),
            text("summary.md"),
            text("report.html"),
            text("junit.xml"),
        ] {
            assert!(shown.contains(title), "no {title:?} in\n{shown}");
            assert!(shown.contains("t+12.000s"), "no note time in\n{shown}");
            assert!(shown.contains("eu-a down by hand"), "no note in\n{shown}");
        }
        // A fault of the timeline is not marked.
        let scripted = terminal(&summarize(&journal(), false));
        assert!(!scripted.contains("(manual)"), "{scripted}");
    }

    #[test]
    fn a_refused_fault_is_listed_with_its_reason_in_every_report() {
        let mut j = game_day_journal();
        let end = j.pop().unwrap();
        j.push(rec(
            11 * S,
            Event::FaultRefused {
                fault: 2,
                kind: crate::model::kinds::FaultKind::Kill,
                target: "eu-a-1".into(),
                manual: false,
                active: 1,
                shared: vec!["drill-0badcafe-eu-a-1".into()],
            },
        ));
        j.push(end);
        let s = summarize(&j, false);
        assert_eq!(s.analysis.refused.len(), 1);
        let line = "fault #2 kill eu-a-1 (scripted) refused at t+11.000s: it would have acted \
                    on drill-0badcafe-eu-a-1, which fault #1 (zone-outage eu-a, manual) held";
        let files = render_files(&s).unwrap();
        let text = |name: &str| {
            let (_, bytes) = files.iter().find(|(n, _)| *n == name).unwrap();
            String::from_utf8(bytes.clone()).unwrap()
        };
        let shown = [
            terminal(&s),
            text("summary.md"),
            text("report.html").replace("&#39;", "'"),
            text("junit.xml"),
        ];
        for shown in shown {
            assert!(shown.contains(line), "no {line:?} in\n{shown}");
        }
        assert!(text("summary.json").contains("\"refused\": ["));
        let report = quick_junit::Report::deserialize_from_str(&text("junit.xml")).unwrap();
        let refused = case(&report.test_suites[0], "refused fault #2 kill eu-a-1");
        assert!(matches!(
            refused.status,
            quick_junit::TestCaseStatus::Skipped { .. }
        ));
        // Refusing changes no number: the fault that acted is judged as before.
        assert_eq!(s.verdict, summarize(&game_day_journal(), false).verdict);
    }

    fn schema_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/summary.schema.json")
    }

    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let mut generated = serde_json::to_string_pretty(&summary_schema()).unwrap();
        generated.push('\n');
        if std::env::var_os("DRILL_WRITE_SCHEMA").is_some() {
            std::fs::write(schema_path(), &generated).unwrap();
        }
        let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
        assert!(
            committed == generated,
            "schema/summary.schema.json is not the schema of the summary types: regenerate \
             it with `DRILL_WRITE_SCHEMA=1 cargo test --lib committed_schema` and commit it"
        );
    }

    /// Summaries of every shape the analysis makes: failed and passed checks, faults
    /// masked and unrecovered, windows and a budget, a baseline, an empty journal.
    fn all_kinds_of_summaries() -> Vec<(&'static str, Summary)> {
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/journals/zone-outage.jsonl");
        let mut recorded = journal::read(&fixture).unwrap().records;
        if let Event::RunStarted(info) = &mut recorded[0].event {
            info.sla.availability = Some(crate::model::sla::AvailabilitySla {
                min: crate::model::units::Percent(0.9),
                per: crate::model::sla::AvailabilityScope::Total,
                window: Some(Span(Duration::from_secs(2))),
                error_threshold: Some(crate::model::units::Percent(0.05)),
            });
            info.sla.error_budget = Some(crate::model::sla::ErrorBudgetSla {
                slo: crate::model::units::Percent(0.9999),
                period: Span(Duration::from_secs(30 * 86_400)),
                events_per_period: Some(3),
            });
        }
        let mut compared = summarize(&recorded, false);
        let mut base = Baseline::load(
            &{
                let dir = tempfile::tempdir().unwrap().keep();
                write_all(&dir, &summarize(&journal(), false)).unwrap();
                dir.join("summary.json")
            },
            crate::model::units::Percent(0.1),
            true,
        )
        .unwrap();
        base.values.insert("cold_pull p99".into(), 0.5);
        compare(&mut compared, &base);

        let mut unrecovered = vec![run_started(&["eu", "us"], sla())];
        unrecovered.extend(probes("us", 0, 20 * S, 0, 0));
        unrecovered.extend(probes("eu", 0, 20 * S, 12 * S, 20 * S));
        unrecovered.push(inject(5 * S, 1, "us-a", &["us"]));
        unrecovered.push(inject(10 * S, 2, "eu-a", &["eu"]));
        vec![
            ("outage", summarize(&journal(), false)),
            ("recorded with windows, budget and baseline", compared),
            (
                "masked and unrecovered faults",
                summarize(&unrecovered, true),
            ),
            ("empty journal", summarize(&[], true)),
        ]
    }

    #[test]
    fn every_summary_validates_against_the_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap();
        for (name, s) in all_kinds_of_summaries() {
            let value = serde_json::to_value(&s).unwrap();
            let errors = schema_check::validate(&schema, &value);
            assert!(errors.is_empty(), "{name}: {errors:#?}");
        }
        // The checker does see a broken summary.
        let mut value = serde_json::to_value(summarize(&journal(), false)).unwrap();
        value["verdict"]["checks"][0]["passed"] = "yes".into();
        value["run"].as_object_mut().unwrap().remove("exit_code");
        value["analysis"]["faults"][0]["cold_pull"]["answer"] = "maybe".into();
        let errors = schema_check::validate(&schema, &value);
        for expected in [
            "$.run: `exit_code` is missing",
            "$.verdict.checks[0].passed: \"yes\" is not of type boolean",
            "$.analysis.faults[0].cold_pull.answer: 0 of the oneOf schemas match \"maybe\"",
        ] {
            assert!(
                errors.iter().any(|e| e == expected),
                "{expected:?} not in {errors:#?}"
            );
        }
    }
}
