//! How pushed images reach the regions, as a scenario declares it.

use super::units::Span;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How pushed images reach the regions: pushed to every region by the pipeline, pushed
/// to a primary and copied by drill's replicator, or left where pushed.
#[derive(Debug, Deserialize, Default, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    #[serde(default)]
    pub mode: ReplicationMode,
    /// The region every push goes to with `async` and `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// With `async`: how often the replicator looks for images the other regions lack
    /// (default 2s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Span>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicationMode {
    /// Every image is pushed to every region, as a CI pipeline that knows them all does.
    #[default]
    PushToAll,
    /// Pushed to the primary; a replicator copies it to the other regions, with a lag.
    Async,
    /// Pushed to the primary only; nothing copies it.
    None,
}

impl Replication {
    /// Whether a push (a seeded image, a canary) goes to `region`: every region, or
    /// the primary only.
    pub fn pushes_to(&self, region: &str) -> bool {
        match (&self.primary, self.mode) {
            (Some(p), ReplicationMode::Async | ReplicationMode::None) => p == region,
            _ => true,
        }
    }

    /// One line for `drill plan` and the reports.
    pub fn describe(&self) -> String {
        match (self.mode, &self.primary) {
            (ReplicationMode::Async, Some(p)) => format!(
                "async: pushes go to {p}; drill's replicator copies them to the other regions every {}",
                Span(self.interval.map_or(DEFAULT_REPLICATION_INTERVAL, |i| i.0))
            ),
            (ReplicationMode::None, Some(p)) => {
                format!("none: pushes go to {p} only; nothing copies them")
            }
            _ => "push-to-all: every image is pushed to every region".to_string(),
        }
    }
}

impl ReplicationMode {
    pub fn name(self) -> &'static str {
        match self {
            ReplicationMode::PushToAll => "push-to-all",
            ReplicationMode::Async => "async",
            ReplicationMode::None => "none",
        }
    }
}

/// Replication's default pass interval.
pub const DEFAULT_REPLICATION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
