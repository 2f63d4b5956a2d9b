//! Faults done through the engine API to the named containers: kill, stop, restart,
//! pause.

use super::given::Given;
use super::target::{aimed, Aim};
use super::{Cx, Heal, Reach, Report, Verb, STOP_GRACE};
use crate::model::kinds::FaultKind;
use crate::scenario::names::Target;
use crate::scenario::{Pick, Scenario};

#[derive(Debug, Clone, PartialEq)]
pub struct EngineFault {
    pub verb: EngineVerb,
    /// The target as written.
    pub written: String,
    pub target: Target,
    pub pick: Option<Pick>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineVerb {
    Kill,
    Stop,
    Restart,
    Pause,
}

impl EngineVerb {
    pub fn kind(self) -> FaultKind {
        match self {
            EngineVerb::Kill => FaultKind::Kill,
            EngineVerb::Stop => FaultKind::Stop,
            EngineVerb::Restart => FaultKind::Restart,
            EngineVerb::Pause => FaultKind::Pause,
        }
    }
}

pub(super) fn check(
    verb: EngineVerb,
    given: &Given,
    cx: &Cx,
    r: &mut Report,
) -> Option<EngineFault> {
    let kind = verb.kind();
    let pick = given.pick();
    let (written, target) = aimed(kind, Aim::Part, pick, given, cx, r)?;
    Some(EngineFault {
        verb,
        written,
        target,
        pick,
    })
}

impl EngineFault {
    pub fn kind(&self) -> FaultKind {
        self.verb.kind()
    }

    pub(super) fn reach(&self, s: &Scenario) -> Reach {
        Reach {
            members: self.target.members(s, false),
            pick: self.pick,
            ..Reach::default()
        }
    }

    pub(super) fn verb(&self) -> Verb {
        match self.verb {
            EngineVerb::Kill => Verb::Kill,
            EngineVerb::Stop => Verb::Stop,
            EngineVerb::Restart => Verb::Restart,
            EngineVerb::Pause => Verb::Pause,
        }
    }

    pub(super) fn heal(&self) -> Option<Heal> {
        match self.verb {
            EngineVerb::Kill | EngineVerb::Stop => Some(Heal::Start),
            EngineVerb::Pause => Some(Heal::Unpause),
            EngineVerb::Restart => None,
        }
    }

    pub(super) fn method(&self) -> String {
        match self.verb {
            EngineVerb::Kill => {
                "SIGKILL through the engine API (docker kill); started again at heal".into()
            }
            EngineVerb::Stop => format!(
                "graceful stop through the engine API (SIGTERM, SIGKILL after {}s); started again at heal",
                STOP_GRACE.as_secs()
            ),
            EngineVerb::Restart => {
                "restart through the engine API (SIGKILL and start at once)".into()
            }
            EngineVerb::Pause => "cgroup freeze through the engine API (docker pause): connections are accepted, nothing answers; unpaused at heal".into(),
        }
    }
}
