//! `junit.xml`: the verdict as a JUnit report CI systems display.
//!
//! One test suite per run, named after the scenario, holding:
//!
//! - one test case per SLA check (class `<scenario>.<kind>`, the first word of the
//!   check's name: `availability`, `cold_pull`, `data_loss`, `error_budget`,
//!   `regression`, `rpo`, `isolation`, `fallback`), failed when the check failed; the
//!   failure message carries the measured value, the limit and the margin; the
//!   `data_loss` case lists every integrity violation in its output;
//! - one test case per fault's recovery (class `<scenario>.recovery`): the recovery
//!   check when the SLA declares one, otherwise a passing case (recovered) or a skipped
//!   one (never recovered: there was no limit to judge it against), with the waterfall
//!   and the seed's answer as its output;
//! - one skipped test case per refused fault (class `<scenario>.refused`), its message
//!   the reason: the run did not do what its timeline (or a game day) asked;
//! - one test case `run`, failed when the run was aborted or inconclusive, so that the
//!   report fails whenever the exit code is not 0 for a reason other than a check.
//!
//! The suite's output holds the game day's notes, and the regressions that do not fail
//! the run (no `--fail-on-regression`).

use super::replication::violation_text;
use super::{
    cold_starts_during, disruption_text, fault_title, incomplete_warning, note_lines, refused_text,
    regressions_heading, waterfall, Clock, Summary,
};
use crate::verdict::{Check, CheckKind, Status};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub fn render(s: &Summary) -> std::io::Result<String> {
    let scenario = &s.run.scenario;
    let class = |kind: &str| format!("{scenario}.{kind}");
    let mut suite = TestSuite::new(scenario.as_str());
    suite.set_time(Duration::from_micros(s.analysis.end_us));
    suite.add_property(("run_id", s.run.run_id.as_str()));
    if let Some(seed) = s.run.seed {
        suite.add_property(("seed", seed.to_string().as_str()));
    }
    if let Some(started) = &s.run.started_at {
        suite.add_property(("started_at", started.as_str()));
    }
    suite.add_property(("outcome", s.run.outcome.as_str()));
    let incomplete = s.analysis.incomplete.to_string();
    suite.add_property(("incomplete", incomplete.as_str()));
    suite.add_property(("verdict", s.verdict.status.label()));
    suite.add_property(("exit_code", s.run.exit_code.to_string().as_str()));

    for c in s.verdict.checks.iter().filter(|c| !is_recovery(c)) {
        let kind = c.name.kind().word();
        let mut case = check_case(c, &class(kind));
        let failures = &s.analysis.data_loss.failures;
        if kind == "data_loss" && !failures.is_empty() {
            // Each integrity violation on its own line, for whoever opens the failure.
            let mut out = vec![format!("measured {}; limit {}", c.measured, c.limit)];
            out.extend(failures.iter().map(|l| format!("  {}", violation_text(l))));
            case.set_system_out(out.join("\n"));
        }
        suite.add_test_case(case);
    }
    for f in &s.analysis.faults {
        let recovery = s
            .verdict
            .checks
            .iter()
            .find(|c| c.fault == Some(f.id) && is_recovery(c));
        let mut case = match recovery {
            Some(c) => check_case(c, &class("recovery")),
            None => {
                let name = format!("recovery fault #{} {} {}", f.id, f.kind.name(), f.target);
                let status = if f.disruption_us.is_some() {
                    TestCaseStatus::success()
                } else {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message(
                        "not recovered before the run ended; no recovery SLA declared to judge it",
                    );
                    st
                };
                let mut case = TestCase::new(name, status);
                case.set_classname(class("recovery"));
                case
            }
        };
        let mut out = vec![fault_title(f)];
        out.extend(
            waterfall(f)
                .into_iter()
                .map(|(t, what)| format!("  {:<11} {what}", Clock::of(&s.analysis).at(t))),
        );
        out.push(disruption_text(f));
        out.push(format!("seed's question: {}", f.cold_pull.sentence));
        out.push(cold_starts_during(f));
        case.set_system_out(out.join("\n"));
        suite.add_test_case(case);
    }

    for r in &s.analysis.refused {
        let mut status = TestCaseStatus::skipped();
        status.set_message(refused_text(r, Clock::of(&s.analysis)));
        let name = format!("refused fault #{} {} {}", r.id, r.kind.name(), r.target);
        let mut case = TestCase::new(name, status);
        case.set_classname(class("refused"));
        suite.add_test_case(case);
    }

    // The run case fails when the exit code is not 0 for a reason other than a check,
    // and when the journal is incomplete, whatever the checks said.
    let failure = match &s.verdict.status {
        Status::Aborted { reason } | Status::Inconclusive { reason } => Some((
            s.verdict.status.label(),
            format!("{}: {reason}", s.verdict.status.label()),
        )),
        Status::Pass | Status::SlaBroken => None,
    }
    .or_else(|| incomplete_warning(&s.analysis).map(|w| ("INCOMPLETE", w)));
    let mut run = match failure {
        Some((kind, message)) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(message);
            st.set_type(kind);
            TestCase::new("run", st)
        }
        None => TestCase::new("run", TestCaseStatus::success()),
    };
    run.set_classname(class("run"));
    run.set_system_out(match incomplete_warning(&s.analysis) {
        Some(w) => format!("outcome: {}\n{w}", s.run.outcome),
        None => format!("outcome: {}", s.run.outcome),
    });
    suite.add_test_case(run);

    let mut out = vec![Clock::of(&s.analysis).legend().to_string()];
    if !s.analysis.notes.is_empty() {
        out.push("notes".to_string());
        out.extend(note_lines(&s.analysis));
    }
    if let Some(b) = &s.baseline {
        out.push(regressions_heading(b));
        out.extend(b.regressions.iter().map(|r| format!("  {}", r.text)));
    }
    suite.set_system_out(out.join("\n"));

    let mut report = Report::new("drill");
    report.set_time(Duration::from_micros(s.analysis.end_us));
    report.add_test_suite(suite);
    report.to_string().map_err(std::io::Error::other)
}

fn is_recovery(c: &Check) -> bool {
    c.name.kind() == CheckKind::Recovery
}

fn check_case(c: &Check, classname: &str) -> TestCase {
    let status = if c.passed {
        TestCaseStatus::success()
    } else {
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        st.set_message(format!(
            "measured {}, limit {}, margin {}",
            c.measured, c.limit, c.margin
        ));
        st.set_type(if c.measured_value.is_some() {
            "sla-broken"
        } else {
            "not-measured"
        });
        st
    };
    let mut case = TestCase::new(c.name.as_str(), status);
    case.set_classname(classname);
    case.set_system_out(format!(
        "measured {}; limit {}; margin {}; {}",
        c.measured,
        c.limit,
        c.margin,
        if c.passed { "PASS" } else { "FAIL" }
    ));
    case
}
