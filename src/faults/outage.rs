//! A zone or a region lost at one instant: every member killed, frozen or cut off the
//! run's network.

use super::given::Given;
use super::target::{aimed, Aim};
use super::{Cx, Heal, Reach, Report, Verb};
use crate::model::kinds::FaultKind;
use crate::scenario::names::Target;
use crate::scenario::{OutageMode, Scenario};

#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    pub scope: Scope,
    /// The zone or region as written.
    pub written: String,
    pub target: Target,
    pub mode: OutageMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Zone,
    /// A region's nodes, its load balancer and the token service running in it.
    Region,
}

pub(super) fn check(scope: Scope, given: &Given, cx: &Cx, r: &mut Report) -> Option<Outage> {
    let mode = given.mode().unwrap_or_default();
    let (kind, aim) = match scope {
        Scope::Zone => (FaultKind::ZoneOutage, Aim::Zone),
        Scope::Region => (FaultKind::RegionOutage, Aim::Region),
    };
    let (written, target) = aimed(kind, aim, None, given, cx, r)?;
    Some(Outage {
        scope,
        written,
        target,
        mode,
    })
}

impl Outage {
    pub fn kind(&self) -> FaultKind {
        match self.scope {
            Scope::Zone => FaultKind::ZoneOutage,
            Scope::Region => FaultKind::RegionOutage,
        }
    }

    pub(super) fn reach(&self, s: &Scenario) -> Reach {
        Reach {
            members: self.target.members(s, self.scope == Scope::Region),
            ..Reach::default()
        }
    }

    pub(super) fn verb(&self) -> Verb {
        match self.mode {
            OutageMode::Kill => Verb::Kill,
            OutageMode::Pause => Verb::Pause,
            OutageMode::Isolate => Verb::Detach,
        }
    }

    pub(super) fn heal(&self) -> Heal {
        match self.mode {
            OutageMode::Kill => Heal::Start,
            OutageMode::Pause => Heal::Unpause,
            OutageMode::Isolate => Heal::Reattach,
        }
    }

    pub(super) fn method(&self) -> String {
        match self.mode {
            OutageMode::Kill => "every member killed with SIGKILL through the engine API; started again at heal (nodes before load balancers)".into(),
            OutageMode::Pause => "every member frozen (docker pause); unpaused at heal".into(),
            OutageMode::Isolate => "every member disconnected from the run's network (docker network disconnect); reconnected at heal".into(),
        }
    }
}
