//! A matrix's comparison (`drill run --matrix`): each combination's run side by side,
//! computed from the runs' summaries alone, so its numbers are the ones each run's own
//! reports show. Written as `comparison.json` (for machines), `comparison.md` (for a CI
//! job summary) and `comparison.html` (the table and each run's charts side by side),
//! and printed on the terminal.

use super::html;
use super::{percent, secs, Summary};
use crate::model::error::exit;
use crate::verdict::Status;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io;

/// Version of the `comparison.json` format.
pub const COMPARISON_FORMAT: u32 = 1;

/// The files [`write_all`] writes in the comparison folder, in order.
pub const COMPARISON_FILES: [&str; 3] = ["comparison.json", "comparison.md", "comparison.html"];

/// How one combination's run ended: its summary, or why there is none.
#[derive(Debug)]
pub struct Ran {
    /// `registry=distribution, load_balancer=nginx`.
    pub combination: String,
    /// The run folder, relative to the comparison folder; `None` when setup failed
    /// before it was made.
    pub folder: Option<String>,
    pub exit_code: u8,
    pub outcome: Result<Summary, String>,
}

/// The content of `comparison.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub format: u32,
    pub scenario: String,
    /// The seed every combination ran with.
    pub seed: u64,
    /// The worst of the runs' exit codes.
    pub exit_code: u8,
    pub runs: Vec<Column>,
}

/// One combination's figures, taken from its run's summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Column {
    pub combination: String,
    pub folder: Option<String>,
    pub exit_code: u8,
    /// `PASS`, `FAIL`, `INCONCLUSIVE`, `ABORTED`, or `SETUP FAILED` without a summary.
    pub verdict: String,
    /// Why the run has no summary.
    pub error: Option<String>,
    pub checks: Vec<CheckFigure>,
    /// Share of successful probes per region, then `total`.
    pub availability: Vec<(String, Option<f64>)>,
    pub cold_starts: ColdStartFigures,
    pub recoveries: Vec<RecoveryFigure>,
    pub integrity: IntegrityFigure,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckFigure {
    pub name: String,
    pub limit: String,
    pub measured: String,
    pub measured_value: Option<f64>,
    pub passed: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ColdStartFigures {
    pub count: u64,
    pub ok: u64,
    pub failed: u64,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecoveryFigure {
    /// `fault #1 zone-outage eu-a`.
    pub fault: String,
    /// Nothing failed: the design hid the fault.
    pub masked: bool,
    /// Injection to recovery; `None` when it never recovered.
    pub disruption_us: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IntegrityFigure {
    /// Images verified at the end; 0 when the check did not run.
    pub checked: u64,
    pub ok: u64,
}

/// Sets the runs side by side. `runs` are in matrix order.
pub fn compare(scenario: &str, seed: u64, runs: &[Ran]) -> Comparison {
    let codes: Vec<u8> = runs.iter().map(|r| r.exit_code).collect();
    Comparison {
        format: COMPARISON_FORMAT,
        scenario: scenario.to_string(),
        seed,
        exit_code: exit::worst(&codes),
        runs: runs.iter().map(column).collect(),
    }
}

fn column(r: &Ran) -> Column {
    let mut c = Column {
        combination: r.combination.clone(),
        folder: r.folder.clone(),
        exit_code: r.exit_code,
        verdict: "SETUP FAILED".into(),
        error: None,
        checks: Vec::new(),
        availability: Vec::new(),
        cold_starts: ColdStartFigures::default(),
        recoveries: Vec::new(),
        integrity: IntegrityFigure::default(),
    };
    let s = match &r.outcome {
        Ok(s) => s,
        Err(e) => {
            c.error = Some(e.clone());
            return c;
        }
    };
    let a = &s.analysis;
    c.verdict = s.verdict.status.label().into();
    if let Status::Aborted { reason } | Status::Inconclusive { reason } = &s.verdict.status {
        c.error = Some(reason.clone());
    }
    c.checks = s
        .verdict
        .checks
        .iter()
        .map(|k| CheckFigure {
            name: k.name.as_str().to_string(),
            limit: k.limit.clone(),
            measured: k.measured.clone(),
            measured_value: k.measured_value,
            passed: k.passed,
        })
        .collect();
    c.availability = a
        .availability
        .regions
        .iter()
        .map(|(region, p)| (region.clone(), p.ratio))
        .chain(std::iter::once((
            "total".into(),
            a.availability.total.ratio,
        )))
        .collect();
    let all = &a.cold_starts.all;
    c.cold_starts = ColdStartFigures {
        count: all.count,
        ok: all.ok,
        failed: all.failed,
        p50_us: all.latency.as_ref().map(|l| l.p50_us),
        p99_us: all.latency.as_ref().map(|l| l.p99_us),
    };
    c.recoveries = a
        .faults
        .iter()
        .map(|f| RecoveryFigure {
            fault: format!("fault #{} {} {}", f.id, f.kind.name(), f.target),
            masked: f.masked,
            disruption_us: f.disruption_us,
        })
        .collect();
    c.integrity = IntegrityFigure {
        checked: a.data_loss.checked,
        ok: a.data_loss.ok,
    };
    c
}

/// The comparison as rows: a label, then one cell per combination. `header` heads the
/// combinations' columns.
fn grid(c: &Comparison, header: &[String]) -> Vec<Vec<String>> {
    let mut rows = vec![std::iter::once(String::new())
        .chain(header.iter().cloned())
        .collect::<Vec<_>>()];
    // A figure an SLA judged is shown once, in its SLA's row.
    let judged: Vec<String> = c
        .runs
        .iter()
        .flat_map(|r| r.checks.iter().map(|k| k.name.clone()))
        .collect();
    let mut row = |label: String, sla: bool, cell: &dyn Fn(&Column) -> String| {
        if !sla && judged.contains(&label) {
            return;
        }
        rows.push(
            std::iter::once(label)
                .chain(c.runs.iter().map(cell))
                .collect(),
        );
    };
    row("verdict".into(), false, &|r| {
        format!("{} (exit {})", r.verdict, r.exit_code)
    });
    // Every check, recovery and region any run has, in the order the runs show them.
    let mut checks: Vec<(String, String)> = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    let mut faults: Vec<String> = Vec::new();
    for r in &c.runs {
        for k in &r.checks {
            if !checks.iter().any(|(n, _)| n == &k.name) {
                checks.push((k.name.clone(), k.limit.clone()));
            }
        }
        for (region, _) in &r.availability {
            if !regions.contains(region) {
                regions.push(region.clone());
            }
        }
        for f in &r.recoveries {
            if !faults.contains(&f.fault) {
                faults.push(f.fault.clone());
            }
        }
    }
    for (name, limit) in &checks {
        let cell = |r: &Column| {
            r.checks
                .iter()
                .find(|k| &k.name == name)
                .map_or("—".into(), |k| {
                    format!("{} {}", k.measured, if k.passed { "✓" } else { "✗" })
                })
        };
        row(format!("{name} ({limit})"), true, &cell);
    }
    for region in &regions {
        row(format!("availability {region}"), false, &|r| {
            r.availability
                .iter()
                .find(|(n, _)| n == region)
                .map_or("—".into(), |(_, ratio)| percent(*ratio))
        });
    }
    row(
        "cold starts ok".into(),
        false,
        &|r| match r.cold_starts.count {
            0 => "—".into(),
            n => format!("{} of {n}", r.cold_starts.ok),
        },
    );
    row("cold_pull p50".into(), false, &|r| {
        r.cold_starts.p50_us.map_or("—".into(), secs)
    });
    row("cold_pull p99".into(), false, &|r| {
        r.cold_starts.p99_us.map_or("—".into(), secs)
    });
    for fault in &faults {
        row(format!("recovery {fault}"), false, &|r| {
            r.recoveries
                .iter()
                .find(|f| &f.fault == fault)
                .map_or("—".into(), |f| match (f.masked, f.disruption_us) {
                    (true, _) => "masked".into(),
                    (false, Some(d)) => secs(d),
                    (false, None) => "not recovered".into(),
                })
        });
    }
    row("integrity".into(), false, &|r| match r.integrity.checked {
        0 => "—".into(),
        n => format!("{} of {n} intact", r.integrity.ok),
    });
    rows
}

/// `#1`, `#2`, … for the terminal, where the combinations are listed above the table.
fn numbers(c: &Comparison) -> Vec<String> {
    (1..=c.runs.len()).map(|i| format!("#{i}")).collect()
}

/// The comparison printed at the end of a matrix run.
pub fn terminal(c: &Comparison) -> String {
    let mut out = vec![format!(
        "comparison of {} combinations of {} (seed {}):",
        c.runs.len(),
        c.scenario,
        c.seed
    )];
    for (i, r) in c.runs.iter().enumerate() {
        let mut line = format!("  #{} {}", i + 1, r.combination);
        if let Some(e) = &r.error {
            let _ = write!(line, ": {e}");
        }
        out.push(line);
    }
    out.push(String::new());
    let rows = grid(c, &numbers(c));
    let right: Vec<bool> = (0..rows[0].len()).map(|i| i > 0).collect();
    out.extend(super::table(&rows, &right));
    out.push(String::new());
    out.push(format!(
        "exit {} (the worst of the combinations)",
        c.exit_code
    ));
    out.join("\n")
}

/// `comparison.md`: the table with the combinations as column heads.
pub fn markdown(c: &Comparison) -> String {
    let md = |s: &str| s.replace('|', "\\|");
    let mut out = vec![
        format!("## drill comparison: {}", md(&c.scenario)),
        String::new(),
        format!(
            "{} combinations, seed {}, exit {} (the worst).",
            c.runs.len(),
            c.seed,
            c.exit_code
        ),
        String::new(),
    ];
    let header: Vec<String> = c.runs.iter().map(|r| r.combination.clone()).collect();
    let rows = grid(c, &header);
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|s| md(s)).collect();
        out.push(format!("| {} |", cells.join(" | ")));
        if i == 0 {
            out.push(format!("|{}", "---|".repeat(row.len())));
        }
    }
    out.push(String::new());
    for r in &c.runs {
        let mut line = format!("- {}", md(&r.combination));
        match &r.folder {
            Some(f) => {
                let _ = write!(line, ": [{f}]({f}/summary.md)");
            }
            None => line.push_str(": no run folder"),
        }
        if let Some(e) = &r.error {
            let _ = write!(line, " — {}", md(e));
        }
        out.push(line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Width of one run's charts; the page sets up to three runs in a row.
const CHART_WIDTH: u32 = 560;

/// `comparison.html`: the table, then each run's charts side by side.
pub fn html(c: &Comparison, runs: &[Ran]) -> io::Result<String> {
    let esc = html::esc;
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>drill comparison: {}</title>\n<style>{}body{{max-width:none}}\
         .runs{{display:grid;grid-template-columns:repeat({},minmax(0,1fr));gap:1em}}\
         </style>\n</head>\n<body>\n<h1>drill comparison: {}</h1>\n",
        esc(&c.scenario),
        html::STYLE,
        c.runs.len().clamp(1, 3),
        esc(&c.scenario)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} combinations, seed {}, exit {} (the worst).</p>",
        c.runs.len(),
        c.seed,
        c.exit_code
    );
    let header: Vec<String> = c.runs.iter().map(|r| r.combination.clone()).collect();
    let rows = grid(c, &header);
    let numeric: Vec<usize> = (1..rows[0].len()).collect();
    h.push_str(&html::table(&rows, &numeric));
    h.push_str(
        "<h2>Each run</h2>\n<p>Every run's charts share their axes.</p>\n<div class=\"runs\">\n",
    );
    let span = html::Span::shared(
        runs.iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .map(|s| &s.analysis),
    );
    for (col, ran) in c.runs.iter().zip(runs) {
        h.push_str("<div>\n");
        let _ = writeln!(h, "<h3>{}</h3>", esc(&col.combination));
        if let Some(f) = &col.folder {
            let _ = writeln!(
                h,
                "<p><a href=\"{0}/report.html\">{0}/report.html</a></p>",
                esc(f)
            );
        }
        match &ran.outcome {
            Ok(s) => {
                let span = span.clone().unwrap_or_else(|| html::Span::of(&s.analysis));
                h.push_str(&html::side_by_side_charts(&s.analysis, CHART_WIDTH, &span)?);
            }
            Err(e) => {
                let _ = writeln!(h, "<p class=\"fail\">{}</p>", esc(e));
            }
        }
        h.push_str("</div>\n");
    }
    h.push_str("</div>\n</body>\n</html>\n");
    Ok(h)
}

/// Every comparison file's name ([`COMPARISON_FILES`]) and content.
pub fn render_files(c: &Comparison, runs: &[Ran]) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut json = serde_json::to_vec_pretty(c)?;
    json.push(b'\n');
    let contents = [json, markdown(c).into_bytes(), html(c, runs)?.into_bytes()];
    Ok(COMPARISON_FILES.into_iter().zip(contents).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal;
    use std::path::Path;

    fn recorded(name: &str) -> Summary {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/journals")
            .join(name);
        let loaded = journal::read(&path).unwrap();
        super::super::summarize(&loaded.records, loaded.truncated)
    }

    fn ran(combination: &str, journal: &str) -> Ran {
        let s = recorded(journal);
        Ran {
            combination: combination.into(),
            folder: Some(combination.replace([' ', ',', '='], "-")),
            exit_code: s.verdict.status.exit_code(),
            outcome: Ok(s),
        }
    }

    #[test]
    fn columns_carry_each_runs_own_figures_and_the_worst_exit() {
        let runs = [
            ran("load_balancer=haproxy", "zone-outage.jsonl"),
            ran("load_balancer=nginx", "dr-cold-start.jsonl"),
            Ran {
                combination: "load_balancer=caddy".into(),
                folder: None,
                exit_code: exit::SETUP,
                outcome: Err("the nodes never answered".into()),
            },
        ];
        let c = compare("zone-outage", 7, &runs);
        assert_eq!(
            c.exit_code,
            exit::worst(&[runs[0].exit_code, runs[1].exit_code, 4])
        );
        for (col, r) in c.runs.iter().zip(&runs) {
            let Ok(s) = &r.outcome else {
                assert_eq!(col.verdict, "SETUP FAILED");
                assert_eq!(col.error.as_deref(), Some("the nodes never answered"));
                continue;
            };
            let a = &s.analysis;
            assert_eq!(col.checks.len(), s.verdict.checks.len());
            for (fig, check) in col.checks.iter().zip(&s.verdict.checks) {
                assert_eq!(fig.measured_value, check.measured_value);
                assert_eq!(fig.passed, check.passed);
            }
            assert_eq!(
                col.availability.last().unwrap().1,
                a.availability.total.ratio
            );
            assert_eq!(
                col.cold_starts.p99_us,
                a.cold_starts.all.latency.as_ref().map(|l| l.p99_us)
            );
            assert_eq!(col.recoveries.len(), a.faults.len());
            for (fig, f) in col.recoveries.iter().zip(&a.faults) {
                assert_eq!(fig.disruption_us, f.disruption_us);
            }
        }
        let text = terminal(&c);
        assert!(
            text.contains("#3 load_balancer=caddy: the nodes never answered"),
            "{text}"
        );
        assert!(text.contains("verdict"), "{text}");
        let md = markdown(&c);
        assert!(
            md.contains("|  | load_balancer=haproxy | load_balancer=nginx | load_balancer=caddy |"),
            "{md}"
        );
        assert!(md.contains("| verdict | "), "{md}");
        let page = html(&c, &runs).unwrap();
        // Two runs with cold starts and probes: two charts each, the setup failure none.
        assert_eq!(page.matches("<svg").count(), 4, "{page}");
        assert!(
            page.contains("<a href=\"load_balancer-haproxy/report.html\">"),
            "{page}"
        );
        assert!(
            page.contains("<p class=\"fail\">the nodes never answered</p>"),
            "{page}"
        );
    }

    #[test]
    fn runs_side_by_side_share_the_axes_that_hold_them_all() {
        let (a, b) = (
            recorded("zone-outage.jsonl").analysis,
            recorded("dr-cold-start.jsonl").analysis,
        );
        let (own_a, own_b) = (html::Span::of(&a), html::Span::of(&b));
        assert_ne!(
            own_a, own_b,
            "the fixtures differ in length and cold starts"
        );
        let shared = html::Span::shared([&a, &b]).unwrap();
        for own in [own_a, own_b] {
            assert!(shared.holds(&own), "{shared:?} holds {own:?}");
        }
        assert_eq!(html::Span::shared([&a]), Some(html::Span::of(&a)));
    }
}
