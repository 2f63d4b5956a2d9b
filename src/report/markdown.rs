//! `summary.md`: the run for a CI job summary (`cat summary.md >> $GITHUB_STEP_SUMMARY`).
//! The verdict comes first, then the SLA table, the regressions, each fault's waterfall
//! with the seed's answer, the refused faults, notes, availability and latency.

use super::{
    availability_rows, budget_line, cold_start_rows, cold_starts_during, disruption_text,
    fault_budget_text, fault_title, incomplete_warning, mirror_move_rows, outcome_text, phase_rows,
    pull_rows, pushes_text, reference_line, refused_text, regressions_heading, secs, settle_note,
    sla_rows, verdict_text, waterfall, Clock, Summary, COLD_START_COUNTS, MIRROR_MOVES,
};
use crate::analysis::Analysis;
use crate::verdict::Status;

pub fn render(s: &Summary) -> String {
    let a = &s.analysis;
    let mut out = Vec::new();
    let mark = match s.verdict.status {
        Status::Pass => "✅",
        Status::SlaBroken => "❌",
        Status::Inconclusive { .. } | Status::Aborted { .. } => "⚠️",
    };
    out.push(format!(
        "## {mark} drill {}: {}",
        esc(&s.run.scenario),
        esc(&verdict_text(&s.verdict))
    ));
    out.push(String::new());
    // Run ids are hex digits: nothing to escape inside the code span.
    let mut facts = vec![format!("run `{}`", s.run.run_id)];
    if let Some(seed) = s.run.seed {
        facts.push(format!("seed {seed}"));
    }
    if let Some(started) = &s.run.started_at {
        facts.push(format!("started {}", esc(started)));
    }
    facts.push(esc(&outcome_text(a)));
    out.push(facts.join(" · "));
    out.push(String::new());
    out.push(esc(Clock::of(a).legend()));
    if let Some(w) = incomplete_warning(a) {
        out.push(String::new());
        out.push(format!("> ⚠️ **{}**", esc(&w)));
    }

    out.push(String::new());
    out.push("### SLAs".into());
    out.push(String::new());
    if s.verdict.checks.is_empty() {
        out.push("No SLA declared.".into());
    } else {
        let mut rows = sla_rows(&s.verdict);
        for row in rows.iter_mut().skip(1) {
            if let Some(result) = row.last_mut() {
                *result = if result == "PASS" {
                    "✅ PASS"
                } else {
                    "❌ FAIL"
                }
                .into();
            }
        }
        out.extend(table(&rows));
    }

    if let Some(b) = &s.baseline {
        out.push(String::new());
        out.push("### Regressions".into());
        out.push(String::new());
        out.push(esc(&regressions_heading(b)));
        if !b.regressions.is_empty() {
            out.push(String::new());
            out.extend(b.regressions.iter().map(|r| format!("- {}", esc(&r.text))));
        }
    }

    out.push(String::new());
    out.push("### Faults".into());
    out.push(String::new());
    if a.faults.is_empty() {
        out.push("No fault was injected.".into());
    } else {
        out.push(esc(&reference_line(a)));
        if let Some(b) = &a.error_budget {
            out.push(String::new());
            out.push(esc(&budget_line(b)));
        }
    }
    for f in &a.faults {
        out.push(String::new());
        out.push(format!("#### {}", esc(&fault_title(f))));
        out.push(String::new());
        let mut rows = vec![vec![
            "step".to_string(),
            "at".to_string(),
            "after injection".to_string(),
        ]];
        for (t, what) in waterfall(f) {
            rows.push(vec![
                what,
                Clock::of(a).at(t),
                secs(t.saturating_sub(f.injected_us)),
            ]);
        }
        out.extend(table(&rows));
        out.push(String::new());
        let mut notes = vec![disruption_text(f)];
        notes.extend(pushes_text(f));
        notes.extend(settle_note(f));
        if f.healed_us.is_none() {
            notes.push("no heal recorded".into());
        }
        out.extend(notes.iter().map(|n| format!("- {}", esc(n))));
        out.push(format!(
            "- **The seed's question:** {}",
            esc(&f.cold_pull.sentence)
        ));
        out.push(format!("- {}", esc(&cold_starts_during(f))));
        if let Some(b) = fault_budget_text(f, a) {
            out.push(format!("- {}", esc(&b)));
        }
    }

    out.extend(refused(a));
    if !a.notes.is_empty() {
        out.push(String::new());
        out.push("### Notes".into());
        out.push(String::new());
        for n in &a.notes {
            out.push(format!("- {} {}", Clock::of(a).at(n.t_us), esc(&n.text)));
        }
    }

    if let Some((head, details)) = super::auth::lines(a).split_first() {
        out.push(String::new());
        out.push("### Authentication".into());
        out.push(String::new());
        out.push(esc(head));
        out.push(String::new());
        out.extend(details.iter().map(|d| format!("- {}", esc(d.trim()))));
    }

    out.push(String::new());
    out.push("### Availability".into());
    out.push(String::new());
    if a.availability.total.probes == 0 {
        out.push("No probe recorded.".into());
    } else {
        out.push(format!("Availability is {}.", esc(&a.availability.rule)));
        out.push(String::new());
        out.extend(table(&availability_rows(a)));
    }

    out.push(String::new());
    out.push("### Cold starts".into());
    out.push(String::new());
    if a.cold_starts.all.count == 0 {
        out.push("No cold start recorded.".into());
    } else {
        out.push("Latency of the successful cold starts:".into());
        out.push(String::new());
        out.extend(table(&cold_start_rows(a)));
        out.push(String::new());
        out.push(format!("{}.", esc(COLD_START_COUNTS)));
    }
    if a.pulls.attempts > 0 {
        out.push(String::new());
        out.push("Pull latency (successful pulls) and requests per phase:".into());
        out.push(String::new());
        out.extend(table(&pull_rows(a)));
        out.push(String::new());
        out.extend(table(&phase_rows(a)));
        let moves = mirror_move_rows(a);
        if !moves.is_empty() {
            out.push(String::new());
            out.push(format!("{}:", esc(MIRROR_MOVES)));
            out.push(String::new());
            out.extend(table(&moves));
        }
    }
    for section in super::replication::sections(a, true) {
        out.push(String::new());
        out.push(format!("### {}", section.title));
        out.push(String::new());
        out.extend(section.lines.iter().map(|l| esc(l)));
        if let Some(rows) = &section.table {
            out.push(String::new());
            out.extend(table(rows));
        }
        if !section.items.is_empty() {
            out.push(String::new());
            out.extend(section.items.iter().map(|i| format!("- {}", esc(i))));
        }
    }
    let errors = super::proxy::http_error_rows(a);
    if let Some(intro) = super::proxy::intro(a).or((!errors.is_empty()).then_some("")) {
        out.push(String::new());
        out.push(format!("### {}", super::proxy::HEADING));
        if !intro.is_empty() {
            out.push(String::new());
            out.push(esc(intro));
            out.push(String::new());
            out.extend(table(&super::proxy::check_rows(a)));
        }
        if !errors.is_empty() {
            out.push(String::new());
            out.push("HTTP errors answered to hosts' requests (native hosts):".into());
            out.push(String::new());
            out.extend(table(&errors));
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Escapes what Markdown or GitHub would otherwise interpret in free text and cells.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '|' | '\\' | '*' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A GitHub table; the first row is the header.
fn table(rows: &[Vec<String>]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
        out.push(format!("| {} |", cells.join(" | ")));
        if i == 0 {
            out.push(format!("|{}", "---|".repeat(row.len())));
        }
    }
    out
}

/// The refused faults' section, if any fault was refused.
fn refused(a: &Analysis) -> Vec<String> {
    if a.refused.is_empty() {
        return Vec::new();
    }
    let mut out = vec![String::new(), "### Refused faults".into(), String::new()];
    out.extend(
        a.refused
            .iter()
            .map(|r| format!("- {}", esc(&refused_text(r, Clock::of(a))))),
    );
    out
}
