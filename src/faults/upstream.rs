//! Faults of the upstream, done at its fault point (an haproxy in front of it, "the
//! gate", switched at run time by `inject::gate`): the upstream down, rate limiting,
//! failing or slow.

use super::given::Given;
use super::{Cx, Reach, Report};
use crate::model::kinds::FaultKind;
use crate::scenario::names::Target;
use crate::scenario::{Scenario, UPSTREAM};
use std::time::Duration;

/// Defaults of the upstream faults' parameters.
pub const DEFAULT_ERROR_STATUS: u16 = 503;
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// An upstream fault, and its target as written (none, or `upstream`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub how: UpstreamFault,
    pub written: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFault {
    Outage,
    /// Every request answered 429 with this `Retry-After`.
    RateLimit(Duration),
    /// Every request answered with this 5xx status.
    Errors(u16),
    /// Every request held this long, then passed.
    Slow(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamKind {
    Outage,
    RateLimit,
    Errors,
    Slow,
}

/// How the gate treats requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// Everything passes to the upstream.
    Pass,
    /// Every connection is closed as soon as it is accepted.
    Down,
    /// Every request is held this long, then passed.
    Slow(Duration),
    /// Every request answered 429 with this `Retry-After`.
    RateLimit(Duration),
    /// Every request answered with this 5xx status.
    Error(u16),
}

pub(super) fn check(
    kind: UpstreamKind,
    given: &Given,
    cx: &Cx,
    r: &mut Report,
) -> Option<Upstream> {
    let before = r.count();
    let fault = match kind {
        UpstreamKind::Outage => Some(UpstreamFault::Outage),
        UpstreamKind::RateLimit => Some(UpstreamFault::RateLimit(
            given.retry_after().map_or(DEFAULT_RETRY_AFTER, |s| s.0),
        )),
        UpstreamKind::Errors => Some(UpstreamFault::Errors(
            given
                .status()
                .map_or(DEFAULT_ERROR_STATUS, |s| s.get() as u16),
        )),
        UpstreamKind::Slow => given.delay().map(|d| UpstreamFault::Slow(d.0)),
    };
    let name = kind_of(kind).name();
    if !cx.s.topology.value.upstream {
        r.problem(
            "fault",
            format!("{name} acts on the upstream: set `topology.upstream: true`"),
        );
    }
    if given.target().is_some_and(|t| t != UPSTREAM) {
        r.problem(
            "target",
            format!("{name} acts on the upstream's fault point: omit `target` or write `target: upstream`; to cut one region off the upstream use a partition, e.g. groups: [[eu-proxy], [upstream]]"),
        );
    }
    if kind == UpstreamKind::Slow && fault.is_none() {
        r.problem(
            "delay",
            "upstream-slow needs the delay added to each request, e.g. delay: 2s",
        );
    }
    let how = fault.filter(|_| r.count() == before)?;
    Some(Upstream {
        how,
        written: given.target().unwrap_or_default().to_string(),
    })
}

fn kind_of(kind: UpstreamKind) -> FaultKind {
    match kind {
        UpstreamKind::Outage => FaultKind::UpstreamOutage,
        UpstreamKind::RateLimit => FaultKind::UpstreamRateLimit,
        UpstreamKind::Errors => FaultKind::UpstreamErrors,
        UpstreamKind::Slow => FaultKind::UpstreamSlow,
    }
}

/// The gate (the plan counts it where proxies cache the upstream).
pub(super) fn reach(s: &Scenario) -> Reach {
    Reach {
        members: Target::Upstream.members(s, false),
        ..Reach::default()
    }
}

impl UpstreamFault {
    pub fn kind(&self) -> FaultKind {
        kind_of(match self {
            UpstreamFault::Outage => UpstreamKind::Outage,
            UpstreamFault::RateLimit(_) => UpstreamKind::RateLimit,
            UpstreamFault::Errors(_) => UpstreamKind::Errors,
            UpstreamFault::Slow(_) => UpstreamKind::Slow,
        })
    }

    /// The mode the fault puts the gate in.
    pub fn gate(&self) -> GateMode {
        match *self {
            UpstreamFault::Outage => GateMode::Down,
            UpstreamFault::Slow(d) => GateMode::Slow(d),
            UpstreamFault::RateLimit(r) => GateMode::RateLimit(r),
            UpstreamFault::Errors(s) => GateMode::Error(s),
        }
    }

    pub(super) fn method(&self) -> String {
        let how = match self.gate() {
            GateMode::Down | GateMode::Pass => {
                "closes every connection as soon as it is accepted (tcp-request connection reject): the upstream is down".to_string()
            }
            GateMode::Slow(d) => format!(
                "holds every request {}ms before passing it to the upstream",
                d.as_millis()
            ),
            GateMode::RateLimit(r) => format!(
                "answers every request HTTP 429 TOOMANYREQUESTS with Retry-After: {}",
                r.as_secs().max(1)
            ),
            GateMode::Error(s) => format!("answers every request HTTP {s}"),
        };
        format!(
            "the upstream's fault point (haproxy in front of it, configuration swapped and reloaded with SIGUSR2) {how}; passes everything again at heal"
        )
    }
}
