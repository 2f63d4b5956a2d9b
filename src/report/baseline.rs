//! `--baseline`: compare a run with an earlier run's `summary.json` and list the checks
//! whose measured value got worse by more than a tolerance, even when the SLA holds.
//!
//! A check is compared when both summaries have a check of that name with a measured
//! value. Lower is better for every check but availability; availability is compared
//! on its shortfall from 100 % (so 99.9 % → 99.8 % doubles the unavailability: a 100 %
//! regression). A value is a regression when it is worse than the baseline's by more
//! than `tolerance` of the baseline's (any worsening from a baseline of 0 is one).
//! Regressions are reported; with `fail_on_regression` each also becomes a failed
//! check `regression <name>`, which breaks the run (exit 1) like any SLA.

use super::Summary;
use crate::model::error::DrillError;
use crate::model::units::{format_percent, format_secs, Percent};
use crate::verdict::{self, Bound, Check, CheckKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const EPSILON: f64 = 1e-9;

/// An earlier run's measured values, ready to compare with.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// The file, as given.
    pub path: String,
    pub scenario: String,
    pub run_id: String,
    /// How much worse than the baseline a value may get (a fraction: 0.1 is 10 %).
    pub tolerance: f64,
    pub fail_on_regression: bool,
    /// Measured values by check name.
    pub values: BTreeMap<String, f64>,
}

impl Baseline {
    /// Reads an earlier `summary.json`. Only `run` and `verdict.checks[].name` and
    /// `measured_value` are read, so summaries of any format version compare.
    pub fn load(
        path: &Path,
        tolerance: Percent,
        fail_on_regression: bool,
    ) -> Result<Baseline, DrillError> {
        let shown = path.display();
        let bad = |why: String| DrillError::Usage(format!("{shown}: not a usable baseline: {why}"));
        let raw = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let json: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|e| bad(format!("not JSON ({e})")))?;
        let checks = json["verdict"]["checks"]
            .as_array()
            .ok_or_else(|| bad("no verdict.checks: is it a drill summary.json?".into()))?;
        let values = checks
            .iter()
            .filter_map(|c| {
                Some((
                    c["name"].as_str()?.to_string(),
                    c["measured_value"].as_f64()?,
                ))
            })
            .collect();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("unknown").to_string();
        Ok(Baseline {
            path: shown.to_string(),
            scenario: text(&json["run"]["scenario"]),
            run_id: text(&json["run"]["run_id"]),
            tolerance: tolerance.0,
            fail_on_regression,
            values,
        })
    }
}

/// What the comparison found, as `summary.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct BaselineComparison {
    /// The baseline file, as given on the command line.
    pub path: String,
    pub scenario: String,
    pub run_id: String,
    /// Fraction: 0.1 is 10 %.
    pub tolerance: f64,
    pub fail_on_regression: bool,
    /// Checks measured in both runs.
    pub compared: u64,
    /// Checks of this run the baseline has no measured value for (or that this run
    /// could not measure).
    pub not_compared: Vec<String>,
    pub regressions: Vec<Regression>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Regression {
    /// The check's name.
    pub check: String,
    pub bound: Bound,
    pub baseline: f64,
    pub measured: f64,
    /// How much worse, relative to the baseline (0.25 is 25 % worse; for availability,
    /// of its shortfall from 100 %). `None` when the baseline was 0.
    pub worse_by: Option<f64>,
    /// `cold_pull p99: 0.412s → 0.530s (28.6% worse)`.
    pub text: String,
}

/// Compares `s` with the baseline and records the result in `s.baseline`. With
/// `fail_on_regression`, regressions become failed checks and the status and exit code
/// are judged again.
pub fn compare(s: &mut Summary, b: &Baseline) {
    let mut compared = 0;
    let mut not_compared = Vec::new();
    let mut regressions = Vec::new();
    for c in s
        .verdict
        .checks
        .iter()
        .filter(|c| c.name.kind() != CheckKind::Regression)
    {
        let (Some(measured), Some(&base)) = (c.measured_value, b.values.get(c.name.as_str()))
        else {
            not_compared.push(c.name.to_string());
            continue;
        };
        compared += 1;
        if let Some(r) = regression(c, base, measured, b.tolerance) {
            regressions.push(r);
        }
    }
    if b.fail_on_regression && !regressions.is_empty() {
        let checks = regressions.iter().map(|r| regression_check(r, b.tolerance));
        s.verdict.checks.extend(checks);
        s.verdict.status = verdict::status(&s.analysis, &s.verdict.checks);
        s.run.exit_code = s.verdict.status.exit_code();
    }
    s.baseline = Some(BaselineComparison {
        path: b.path.clone(),
        scenario: b.scenario.clone(),
        run_id: b.run_id.clone(),
        tolerance: b.tolerance,
        fail_on_regression: b.fail_on_regression,
        compared,
        not_compared,
        regressions,
    });
}

/// The quantity compared: the value itself, or the shortfall from 1 for availability.
fn badness(bound: Bound, v: f64) -> f64 {
    match bound {
        Bound::AtMost => v,
        Bound::AtLeast => 1.0 - v,
    }
}

fn regression(c: &Check, base: f64, measured: f64, tolerance: f64) -> Option<Regression> {
    let (was, now) = (badness(c.bound, base), badness(c.bound, measured));
    if now <= was * (1.0 + tolerance) + EPSILON {
        return None;
    }
    let worse_by = (was > EPSILON).then(|| (now - was) / was);
    let how = match worse_by {
        Some(w) => format!("{}% worse", format_percent(w)),
        None => "worse than 0".to_string(),
    };
    Some(Regression {
        check: c.name.to_string(),
        bound: c.bound,
        baseline: base,
        measured,
        worse_by,
        text: format!(
            "{}: {} → {} ({how})",
            c.name,
            value(c.name.as_str(), c.bound, base),
            value(c.name.as_str(), c.bound, measured)
        ),
    })
}

/// A check's value in its unit: a percentage for availability, a count for failures
/// and losses, seconds otherwise.
fn value(name: &str, bound: Bound, v: f64) -> String {
    if bound == Bound::AtLeast {
        format!("{}%", format_percent(v))
    } else if name == "cold_pull failed" || name == "data_loss" {
        format!("{v}")
    } else {
        format_secs(Duration::from_secs_f64(v.max(0.0)))
    }
}

fn regression_check(r: &Regression, tolerance: f64) -> Check {
    let was = badness(r.bound, r.baseline);
    let allowed = badness(r.bound, was * (1.0 + tolerance));
    let tol = format_percent(tolerance);
    let (limit, margin) = match r.bound {
        Bound::AtMost => (
            format!(
                "≤ {} (baseline + {tol}%)",
                value(&r.check, r.bound, allowed)
            ),
            format!("-{}", value(&r.check, r.bound, r.measured - allowed)),
        ),
        Bound::AtLeast => (
            format!(
                "≥ {} (baseline shortfall + {tol}%)",
                value(&r.check, r.bound, allowed)
            ),
            verdict::signed_pp(r.measured - allowed),
        ),
    };
    Check {
        name: CheckKind::Regression.about(&r.check),
        measured: value(&r.check, r.bound, r.measured),
        limit,
        margin,
        passed: false,
        measured_value: Some(r.measured),
        limit_value: Some(allowed),
        bound: r.bound,
        fault: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{summarize, terminal, write_all};
    use super::*;
    use crate::analysis::tests::*;
    use crate::model::sla::{RecoverySla, Sla};
    use crate::model::units::Span;
    use crate::verdict::Status;

    fn recovery_sla() -> Sla {
        Sla {
            recovery: Some(RecoverySla {
                max: Span(Duration::from_secs(10)),
            }),
            ..Sla::default()
        }
    }

    /// The outage journal (5 s of disruption) judged against a 10 s recovery SLA.
    fn passing() -> Summary {
        let mut j = outage_journal();
        j[0] = run_started(&["eu", "us"], recovery_sla());
        summarize(&j, false)
    }

    fn baseline(values: &[(&str, f64)], fail: bool) -> Baseline {
        Baseline {
            path: "base/summary.json".into(),
            scenario: "zone-outage".into(),
            run_id: "0ldrun00".into(),
            tolerance: 0.1,
            fail_on_regression: fail,
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    const RECOVERY: &str = "recovery fault #1 zone-outage eu-a";

    #[test]
    fn a_regression_is_reported_without_changing_the_exit_code() {
        let mut s = passing();
        compare(&mut s, &baseline(&[(RECOVERY, 4.0)], false));
        assert_eq!(
            (s.verdict.status.clone(), s.run.exit_code),
            (Status::Pass, 0)
        );
        let b = s.baseline.as_ref().unwrap();
        assert_eq!((b.compared, b.not_compared.len()), (1, 0));
        let r = &b.regressions[0];
        assert_eq!((r.baseline, r.measured, r.worse_by), (4.0, 5.0, Some(0.25)));
        assert_eq!(r.text, format!("{RECOVERY}: 4.000s → 5.000s (25% worse)"));
        let text = terminal(&s);
        assert!(
            text.contains(&format!(
                "1 regression against base/summary.json (run 0ldrun00; 1 check compared, \
                 tolerance 10%; reported only; --fail-on-regression makes them fail the run)\n  \
                 {RECOVERY}: 4.000s → 5.000s (25% worse)"
            )),
            "{text}"
        );
        assert!(text.ends_with("verdict: PASS (exit 0)\n"));
    }

    #[test]
    fn within_the_tolerance_or_better_is_no_regression() {
        for base in [4.6, 5.0, 6.0] {
            let mut s = passing();
            compare(&mut s, &baseline(&[(RECOVERY, base)], true));
            assert!(
                s.baseline.unwrap().regressions.is_empty(),
                "baseline {base}"
            );
            assert_eq!(s.run.exit_code, 0);
        }
        // A check the baseline lacks is listed, not compared.
        let mut s = passing();
        compare(&mut s, &baseline(&[], true));
        assert_eq!(s.baseline.unwrap().not_compared, [RECOVERY]);
    }

    #[test]
    fn fail_on_regression_adds_a_failed_check_and_exits_1() {
        let mut s = passing();
        compare(&mut s, &baseline(&[(RECOVERY, 4.0)], true));
        assert_eq!(
            (s.verdict.status.clone(), s.run.exit_code),
            (Status::SlaBroken, 1)
        );
        let c = s.verdict.checks.last().unwrap();
        assert_eq!(c.name.as_str(), format!("regression {RECOVERY}"));
        assert_eq!(c.name.kind(), CheckKind::Regression);
        assert_eq!(
            (c.measured.as_str(), c.limit.as_str(), c.margin.as_str()),
            ("5.000s", "≤ 4.400s (baseline + 10%)", "-0.600s")
        );
        assert_eq!((c.passed, c.measured_value), (false, Some(5.0)));
        // Comparing again does not compare the regression checks themselves.
        compare(&mut s, &baseline(&[(RECOVERY, 4.0)], false));
        assert_eq!(s.baseline.unwrap().compared, 1);
    }

    #[test]
    fn availability_is_compared_on_its_shortfall() {
        let check = |v: f64| Check {
            name: CheckKind::Availability.about("eu"),
            measured: String::new(),
            limit: String::new(),
            margin: String::new(),
            passed: true,
            measured_value: Some(v),
            limit_value: Some(0.99),
            bound: Bound::AtLeast,
            fault: None,
        };
        // 0.1 % unavailable → 0.15 %: 50 % worse.
        let r = regression(&check(0.9985), 0.999, 0.9985, 0.1).unwrap();
        assert!((r.worse_by.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(r.text, "availability eu: 99.9% → 99.85% (50% worse)");
        let c = regression_check(&r, 0.1);
        assert_eq!(c.limit, "≥ 99.89% (baseline shortfall + 10%)");
        assert_eq!(c.margin, "-0.04 pp");
        // 0.105 % is within 10 % of 0.1 %; from 100 % any loss is a regression.
        assert!(regression(&check(0.99895), 0.999, 0.99895, 0.1).is_none());
        let r = regression(&check(0.9999), 1.0, 0.9999, 0.1).unwrap();
        assert_eq!(
            (r.worse_by, r.text.as_str()),
            (None, "availability eu: 100% → 99.99% (worse than 0)")
        );
    }

    #[test]
    fn a_written_summary_loads_as_a_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let s = passing();
        write_all(dir.path(), &s).unwrap();
        let path = dir.path().join("summary.json");
        let b = Baseline::load(&path, Percent(0.2), false).unwrap();
        assert_eq!(
            (b.scenario.as_str(), b.run_id.as_str()),
            ("zone-outage", "0badcafe")
        );
        assert_eq!(b.values.get(RECOVERY), Some(&5.0));
        assert_eq!(b.tolerance, 0.2);

        std::fs::write(&path, "{\"format\": 2}").unwrap();
        let e = Baseline::load(&path, Percent(0.1), false).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().contains("no verdict.checks"), "{e}");
        std::fs::write(&path, "not json").unwrap();
        assert!(Baseline::load(&path, Percent(0.1), false)
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
    }
}
