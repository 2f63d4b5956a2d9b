//! `summary.md`: the run for a CI job summary (`cat summary.md >> $GITHUB_STEP_SUMMARY`).
//! The verdict comes first, then the SLA table, the regressions, each fault's waterfall
//! with the seed's answer, the refused faults, notes, availability and latency.

use super::{
    availability_rows, budget_line, cold_start_rows, cold_starts_during, disruption_text,
    fault_budget_text, fault_title, incomplete_warning, mirror_move_rows, outcome_text, phase_rows,
    pull_rows, pushes_text, reference_line, refused_text, regressions_heading, secs, settle_note,
    sla_rows, verdict_text, waterfall, Clock, Summary, COLD_START_COUNTS, MIRROR_MOVES,
};
use crate::analysis::{Analysis, FaultRecovery};
use crate::verdict::Status;

pub fn render(s: &Summary) -> String {
    let a = &s.analysis;
    let mut out = header(s);
    out.extend(slas(s));
    out.extend(regressions(s));
    out.extend(faults(a));
    out.extend(refused(a));
    out.extend(notes(a));
    out.extend(authentication(a));
    out.extend(availability(a));
    out.extend(cold_starts(a));
    out.extend(pulls(a));
    out.extend(replication(a));
    out.extend(proxies(a));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The verdict as the heading, the run's facts and the clock its times are on.
fn header(s: &Summary) -> Vec<String> {
    let a = &s.analysis;
    let mark = match s.verdict.status {
        Status::Pass => "✅",
        Status::SlaBroken => "❌",
        Status::Inconclusive { .. } | Status::Aborted { .. } => "⚠️",
    };
    let mut out = vec![format!(
        "## {mark} drill {}: {}",
        esc(&s.run.scenario),
        esc(&verdict_text(&s.verdict))
    )];
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
    if let Some(external) = crate::report::external_text(a) {
        out.push(String::new());
        out.push(esc(external));
    }
    out.push(String::new());
    out.push(esc(Clock::of(a).legend()));
    if let Some(w) = incomplete_warning(a) {
        out.push(String::new());
        out.push(format!("> ⚠️ **{}**", esc(&w)));
    }
    out
}

/// The SLA table, each result marked.
fn slas(s: &Summary) -> Vec<String> {
    let mut out = section("SLAs");
    if s.verdict.checks.is_empty() {
        out.push("No SLA declared.".into());
        return out;
    }
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
    out
}

/// The regressions against the baseline, when there is one.
fn regressions(s: &Summary) -> Vec<String> {
    let Some(b) = &s.baseline else {
        return Vec::new();
    };
    let mut out = section("Regressions");
    out.push(esc(&regressions_heading(b)));
    if !b.regressions.is_empty() {
        out.push(String::new());
        out.extend(b.regressions.iter().map(|r| format!("- {}", esc(&r.text))));
    }
    out
}

/// The cold-pull reference and the error budget, then each fault's recovery.
fn faults(a: &Analysis) -> Vec<String> {
    let mut out = section("Faults");
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
        out.extend(fault(f, a));
    }
    out
}

/// One fault: its waterfall, what it did and the seed's answer.
fn fault(f: &FaultRecovery, a: &Analysis) -> Vec<String> {
    let mut out = vec![String::new(), format!("#### {}", esc(&fault_title(f)))];
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
    out
}

/// The refused faults' section, if any fault was refused.
fn refused(a: &Analysis) -> Vec<String> {
    if a.refused.is_empty() {
        return Vec::new();
    }
    let mut out = section("Refused faults");
    out.extend(
        a.refused
            .iter()
            .map(|r| format!("- {}", esc(&refused_text(r, Clock::of(a))))),
    );
    out
}

/// The game day's notes, if any, each at its time.
fn notes(a: &Analysis) -> Vec<String> {
    if a.notes.is_empty() {
        return Vec::new();
    }
    let mut out = section("Notes");
    for n in &a.notes {
        out.push(format!("- {} {}", Clock::of(a).at(n.t_us), esc(&n.text)));
    }
    out
}

/// What entry points answered without valid credentials, if the topology demands them.
fn authentication(a: &Analysis) -> Vec<String> {
    let lines = super::auth::lines(a);
    let Some((head, details)) = lines.split_first() else {
        return Vec::new();
    };
    let mut out = section("Authentication");
    out.push(esc(head));
    out.push(String::new());
    out.extend(details.iter().map(|d| format!("- {}", esc(d.trim()))));
    out
}

fn availability(a: &Analysis) -> Vec<String> {
    let mut out = section("Availability");
    if a.availability.total.probes == 0 {
        out.push("No probe recorded.".into());
        return out;
    }
    out.push(format!("Availability is {}.", esc(&a.availability.rule)));
    out.push(String::new());
    out.extend(table(&availability_rows(a)));
    out
}

fn cold_starts(a: &Analysis) -> Vec<String> {
    let mut out = section("Cold starts");
    if a.cold_starts.all.count == 0 {
        out.push("No cold start recorded.".into());
        return out;
    }
    out.push("Latency of the successful cold starts:".into());
    out.push(String::new());
    out.extend(table(&cold_start_rows(a)));
    out.push(String::new());
    out.push(format!("{}.", esc(COLD_START_COUNTS)));
    out
}

/// The pulls' and their requests' latency, and the requests moved to another mirror;
/// under the cold starts' heading.
fn pulls(a: &Analysis) -> Vec<String> {
    if a.pulls.attempts == 0 {
        return Vec::new();
    }
    let mut out = vec![String::new()];
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
    out
}

/// The replication sections: lag, push failures, recovery points, integrity.
fn replication(a: &Analysis) -> Vec<String> {
    let mut out = Vec::new();
    for s in super::replication::sections(a, true) {
        out.extend(section(s.title));
        out.extend(s.lines.iter().map(|l| esc(l)));
        if let Some(rows) = &s.table {
            out.push(String::new());
            out.extend(table(rows));
        }
        if !s.items.is_empty() {
            out.push(String::new());
            out.extend(s.items.iter().map(|i| format!("- {}", esc(i))));
        }
    }
    out
}

/// What the pull-through proxies served and the HTTP errors hosts got, if either.
fn proxies(a: &Analysis) -> Vec<String> {
    let errors = super::proxy::http_error_rows(a);
    let Some(intro) = super::proxy::intro(a).or((!errors.is_empty()).then_some("")) else {
        return Vec::new();
    };
    let mut out = vec![String::new(), format!("### {}", super::proxy::HEADING)];
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
    out
}

/// A section's heading, apart from what comes before and after it.
fn section(title: &str) -> Vec<String> {
    vec![String::new(), format!("### {title}"), String::new()]
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
