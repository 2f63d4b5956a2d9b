//! Guardrails: stop a run that is doing more harm than the scenario meant, e.g. when
//! probes keep failing long after a fault should have been masked.

use crate::scenario::AbortIf;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Watches probe results; trips once, with the reason, when a limit is crossed.
#[derive(Clone)]
pub struct Guardrail {
    state: Arc<Mutex<State>>,
    tripped: CancellationToken,
}

struct State {
    limits: AbortIf,
    started: Option<Instant>,
    recent: VecDeque<(Instant, bool)>,
    consecutive: HashMap<String, u64>,
    reason: Option<String>,
}

impl Guardrail {
    pub fn new(limits: AbortIf) -> Guardrail {
        Guardrail {
            state: Arc::new(Mutex::new(State {
                limits,
                started: None,
                recent: VecDeque::new(),
                consecutive: HashMap::new(),
                reason: None,
            })),
            tripped: CancellationToken::new(),
        }
    }

    /// Records one probe result.
    pub fn observe(&self, region: &str, ok: bool, at: Instant) {
        let mut s = self.state.lock().expect("guardrail lock");
        if s.reason.is_some() {
            return;
        }
        if let Some(reason) = s.check(region, ok, at) {
            s.reason = Some(reason);
            self.tripped.cancel();
        }
    }

    /// Resolves with the reason once a limit is crossed.
    pub async fn tripped(&self) -> String {
        self.tripped.cancelled().await;
        self.state
            .lock()
            .expect("guardrail lock")
            .reason
            .clone()
            .unwrap_or_default()
    }
}

impl State {
    fn check(&mut self, region: &str, ok: bool, at: Instant) -> Option<String> {
        let run = self.consecutive.entry(region.to_string()).or_default();
        *run = if ok { 0 } else { *run + 1 };
        let run = *run;
        if let Some(max) = self.limits.consecutive_failures {
            if run >= max {
                return Some(format!(
                    "guardrail: {run} consecutive failed probes of region {region} (abort_if.consecutive_failures: {max})"
                ));
            }
        }
        let (Some(rate), Some(window)) = (self.limits.error_rate, self.limits.for_) else {
            return None;
        };
        let window: Duration = window.0;
        let started = *self.started.get_or_insert(at);
        self.recent.push_back((at, ok));
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| at.duration_since(*t) > window)
        {
            self.recent.pop_front();
        }
        // Judge only a full window: one failed first probe is not a 100 % error rate.
        if at.duration_since(started) < window {
            return None;
        }
        let failed = self.recent.iter().filter(|(_, ok)| !ok).count();
        let observed = failed as f64 / self.recent.len() as f64;
        (observed > rate.0).then(|| {
            format!(
                "guardrail: {:.1}% of probes failed over the last {} (abort_if.error_rate: {rate})",
                observed * 100.0,
                humantime::format_duration(window)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::units::{Percent, Span};

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn error_rate_trips_only_over_a_full_window() {
        let g = Guardrail::new(AbortIf {
            error_rate: Some(Percent(0.5)),
            for_: Some(Span(Duration::from_secs(2))),
            consecutive_failures: None,
        });
        let t0 = Instant::now();
        // 1.9 s of pure failure: the window is not full yet.
        for ms in (0..1900).step_by(100) {
            g.observe("eu", false, at(t0, ms));
        }
        assert!(!g.tripped.is_cancelled());
        g.observe("eu", false, at(t0, 2000));
        assert!(g.tripped.is_cancelled());
        let reason = g.state.lock().unwrap().reason.clone().unwrap();
        assert!(
            reason.contains("100.0% of probes failed over the last 2s"),
            "{reason}"
        );
    }

    #[test]
    fn error_rate_below_the_limit_does_not_trip() {
        let g = Guardrail::new(AbortIf {
            error_rate: Some(Percent(0.5)),
            for_: Some(Span(Duration::from_secs(1))),
            consecutive_failures: None,
        });
        let t0 = Instant::now();
        for i in 0..100u64 {
            g.observe("eu", i % 3 != 0, at(t0, i * 100));
        }
        assert!(
            !g.tripped.is_cancelled(),
            "a third of failures is below 50 %"
        );
    }

    #[test]
    fn consecutive_failures_count_per_region() {
        let g = Guardrail::new(AbortIf {
            error_rate: None,
            for_: None,
            consecutive_failures: Some(3),
        });
        let t0 = Instant::now();
        for (i, region) in ["eu", "us", "eu", "us", "us"].iter().enumerate() {
            g.observe(region, false, at(t0, i as u64));
            g.observe("eu", i != 1, at(t0, i as u64));
        }
        assert!(g.tripped.is_cancelled());
        assert!(g
            .state
            .lock()
            .unwrap()
            .reason
            .as_ref()
            .unwrap()
            .contains("region us"));
    }
}
