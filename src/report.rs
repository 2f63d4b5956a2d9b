//! What a run leaves behind for people and machines: `summary.json` (the analysis and the
//! verdict, complete) and the end-of-run summary printed on the terminal.

use crate::analysis::{analyze, Analysis, FaultRecovery};
use crate::journal::{Outcome, Record};
use crate::units::{format_percent, format_secs};
use crate::verdict::{judge, Status, Verdict};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Version of the `summary.json` format.
pub const SUMMARY_FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub format: u32,
    pub run: RunHeader,
    pub analysis: Analysis,
    pub verdict: Verdict,
}

/// The facts a report shows first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    }
}

/// Writes `summary.json` in `dir`, whole or not at all: a reader never sees half a file.
pub fn write_summary_json(dir: &Path, s: &Summary) -> std::io::Result<PathBuf> {
    let path = dir.join("summary.json");
    let tmp = dir.join("summary.json.tmp");
    let mut json = serde_json::to_vec_pretty(s)?;
    json.push(b'\n');
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&json)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
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
    for f in &a.faults {
        out.push(String::new());
        out.extend(fault(f));
    }
    out.push(String::new());
    out.push(data_loss(a));
    out.push(String::new());
    out.extend(sla_table(&s.verdict));
    out.push(String::new());
    out.push(verdict_line(&s.verdict));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// `t+12.345s`: a time relative to the start of the run.
fn at(us: u64) -> String {
    format!("t+{:.3}s", us as f64 / 1e6)
}

fn secs(us: u64) -> String {
    format_secs(Duration::from_micros(us))
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
    let mut outcome = match &a.outcome {
        Some(Outcome::Completed) => format!("outcome  completed at {}", at(a.end_us)),
        Some(Outcome::Aborted { reason }) => {
            format!("outcome  aborted at {}: {reason}", at(a.end_us))
        }
        None => format!("outcome  unfinished: the journal ends at {}", at(a.end_us)),
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
    vec![first, outcome]
}

fn availability(a: &Analysis) -> Vec<String> {
    if a.availability.total.probes == 0 {
        return vec!["availability: no probe recorded".into()];
    }
    let mut rows = vec![cells([
        "region",
        "probes",
        "failed",
        "available",
        "longest outage",
    ])];
    let total = ("total".to_string(), &a.availability.total);
    let regions = a.availability.regions.iter().map(|(r, p)| (r.clone(), p));
    for (name, p) in regions.chain([total]) {
        rows.push(vec![
            name,
            p.probes.to_string(),
            p.failed.to_string(),
            p.ratio
                .map_or("—".into(), |r| format!("{}%", format_percent(r))),
            secs(p.longest_outage_us),
        ]);
    }
    let mut out = vec!["availability".to_string()];
    out.extend(table(&rows, &[false, true, true, false, false]));
    out
}

fn cold_starts(a: &Analysis) -> Vec<String> {
    let c = &a.cold_starts;
    if c.all.count == 0 {
        return vec!["cold starts: none recorded".into()];
    }
    let mut rows = vec![cells([
        "group", "count", "failed", "p50", "p90", "p95", "p99", "max", "mean",
    ])];
    let groups = std::iter::once(("all".to_string(), &c.all))
        .chain(c.by_region.iter().map(|(r, s)| (r.clone(), s)))
        .chain(c.by_wave.iter().map(|(w, s)| (format!("wave {w}"), s)));
    for (name, s) in groups {
        let mut row = vec![name, s.count.to_string(), s.failed.to_string()];
        let values = s
            .latency
            .map(|l| [l.p50_us, l.p90_us, l.p95_us, l.p99_us, l.max_us, l.mean_us]);
        row.extend(match values {
            Some(v) => v.iter().map(|us| secs(*us)).collect(),
            None => vec!["—".to_string(); 6],
        });
        rows.push(row);
    }
    let mut out = vec!["cold starts (latency of the successful ones)".to_string()];
    out.extend(table(
        &rows,
        &[false, true, true, true, true, true, true, true, true],
    ));
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
        plural(p.fallbacks, "fallback", "fallbacks"),
        if served.is_empty() {
            "none".to_string()
        } else {
            served.join(", ")
        }
    )
}

/// A fault's waterfall, in time order.
fn fault(f: &FaultRecovery) -> Vec<String> {
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

    let mut out = vec![format!(
        "fault #{} {} {} (regions {}; {})",
        f.id,
        f.kind.name(),
        f.target,
        f.regions.join(", "),
        f.method
    )];
    out.extend(
        events
            .into_iter()
            .map(|(t, what)| format!("  {:<11} {what}", at(t))),
    );
    if f.healed_us.is_none() {
        out.push(if f.kind.is_instant() {
            "  instant: nothing to heal".into()
        } else {
            "  no heal recorded".into()
        });
    }
    out.push(match (f.masked, f.disruption_us) {
        (true, _) => "  masked: no probe or pull of its regions failed".into(),
        (false, None) => format!(
            "  not recovered: {} and {} failed",
            plural(f.failed_probes, "probe", "probes"),
            plural(f.failed_pulls, "pull", "pulls"),
        ),
        (false, Some(d)) => {
            let after_heal = match (f.recovered_us, f.healed_us) {
                (Some(r), Some(h)) if r < h => ", before the heal".to_string(),
                (Some(r), Some(h)) => format!(", {} after heal", secs(r - h)),
                _ => String::new(),
            };
            format!(
                "  disruption {}{after_heal}; {} and {} failed",
                secs(d),
                plural(f.failed_probes, "probe", "probes"),
                plural(f.failed_pulls, "pull", "pulls"),
            )
        }
    });
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
    let lost: Vec<String> = d
        .failures
        .iter()
        .map(|f| match &f.error {
            Some(e) => format!("{} in {} ({e})", f.image, f.region),
            None => format!("{} in {}", f.image, f.region),
        })
        .collect();
    format!(
        "data loss: {} of {} lost: {}",
        d.failures.len(),
        d.checked,
        lost.join("; ")
    )
}

fn sla_table(v: &Verdict) -> Vec<String> {
    if v.checks.is_empty() {
        return vec!["no SLA declared".into()];
    }
    let mut rows = vec![cells(["SLA", "measured", "limit", "margin", "result"])];
    for c in &v.checks {
        rows.push(vec![
            c.name.clone(),
            c.measured.clone(),
            c.limit.clone(),
            c.margin.clone(),
            if c.passed { "PASS" } else { "FAIL" }.into(),
        ]);
    }
    table(&rows, &[false; 5])
        .into_iter()
        .map(|l| l.trim_start().to_string())
        .collect()
}

fn verdict_line(v: &Verdict) -> String {
    let code = v.status.exit_code();
    match &v.status {
        Status::Pass => format!("verdict: PASS (exit {code})"),
        Status::SlaBroken => {
            let broken: Vec<&str> = v
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.as_str())
                .collect();
            format!(
                "verdict: FAIL — {} broken: {} (exit {code})",
                plural(broken.len() as u64, "SLA", "SLAs"),
                broken.join(", ")
            )
        }
        Status::Inconclusive { reason } | Status::Aborted { reason } => {
            format!("verdict: {} — {reason} (exit {code})", v.status.label())
        }
    }
}

fn cells<const N: usize>(c: [&str; N]) -> Vec<String> {
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
    use crate::scenario::{ColdPullSla, DataLoss, RecoverySla, Sla};
    use crate::units::Span;

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

    #[test]
    fn terminal_summary_shows_waterfall_table_and_verdict() {
        let s = summarize(&journal(), false);
        assert_eq!(s.run.exit_code, 1);
        let text = terminal(&s);
        for expected in [
            "scenario zone-outage   run 0badcafe   seed 42",
            "outcome  completed at t+90.000s",
            "  eu         200      49  75.5%      4.900s",
            "fault #1 zone-outage eu-a (regions eu; docker kill (SIGKILL))",
            "  t+10.000s   injected\n  t+10.100s   first failure\n  t+14.500s   healed\n  \
             t+14.900s   last failure\n  t+15.000s   recovered\n  \
             disruption 5.000s, 0.500s after heal; 49 probes and 0 pulls failed",
            "pulls: 1 attempt, 0 failed, 0 fallbacks; requests served by eu 1",
            "data loss: 1 of 2 lost: team/app:1 in us (manifest unknown)",
            "  group   count  failed     p50     p90     p95     p99     max    mean\n  \
             all        11       1  0.050s  0.090s  0.100s  0.100s  0.100s  0.055s",
            "  us          1       1       —       —       —       —       —       —",
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
        assert!(text.contains("  masked: no probe or pull of its regions failed"));
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
    fn summary_json_is_written_whole_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = summarize(&journal(), false);
        let path = write_summary_json(dir.path(), &s).unwrap();
        assert_eq!(path, dir.path().join("summary.json"));
        assert!(!dir.path().join("summary.json.tmp").exists());
        let back: Summary = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.format, 1);
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
        assert_eq!(a.pulls.fallbacks, 1);
        assert_eq!(a.pulls.served_by["us"], 3);
        assert_eq!((a.cold_starts.all.count, a.cold_starts.all.failed), (3, 0));
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
        assert!(terminal(&s)
            .contains("  disruption 2.501s, before the heal; 2 probes and 1 pull failed\n"));
    }
}
