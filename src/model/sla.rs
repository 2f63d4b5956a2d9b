//! The service levels a run is judged against, as a scenario declares them.

use super::units::{Growth, Percent, Span};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The service levels the run is judged against. Each is optional.
#[derive(Debug, Deserialize, Default, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<AvailabilitySla>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_pull: Option<ColdPullSla>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoverySla>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_loss: Option<DataLoss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_budget: Option<ErrorBudgetSla>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSla>,
    /// Recovery point: when a region is lost, the age of its oldest write that had not
    /// reached another region must stay at or below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<Span>,
    /// Bulkhead isolation: regions no fault touches keep their availability and latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<IsolationSla>,
    /// Pulls served by another region than the host's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackSla>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthSla {
    /// Anonymous and wrong-credential pulls fail on every entry point for the whole
    /// run, faults and failovers included.
    Enforced,
}

/// Each region no fault touches, during the fault windows, against its own steady state
/// (the rest of the run).
#[derive(Debug, Deserialize, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IsolationSla {
    /// Largest drop of the probe success rate allowed, in percentage points.
    pub max_availability_drop: Percent,
    /// Largest rise allowed of the median probe latency and of the median pull time of
    /// the region's hosts, relative to steady state (may exceed 100%).
    pub max_latency_increase: Growth,
}

#[derive(Debug, Deserialize, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackSla {
    /// Every successful pull served (in part) by another region must take at most this;
    /// default `cold_pull.p99`, the pull-time SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pull: Option<Span>,
    /// Fallback pulls that must be seen (default 0): proves the fallback path was used.
    #[serde(default)]
    pub min_pulls: u64,
}

#[derive(Debug, Deserialize, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilitySla {
    /// Minimum availability: the share of successful probes, or of windows that were
    /// up when `window` is set.
    pub min: Percent,
    #[serde(default)]
    pub per: AvailabilityScope,
    /// Count availability per time window, the way cloud SLAs do: a window is down
    /// when its probe error rate is above `error_threshold`, and availability is the
    /// share of windows that were up. Without it every probe counts the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Span>,
    /// Share of failed probes a window may have and still be up (default 0%: any
    /// failed probe makes its window down). Needs `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_threshold: Option<Percent>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AvailabilityScope {
    /// Every region's entry point must meet the minimum on its own.
    #[default]
    Region,
    /// All probes of all regions together.
    Total,
}

#[derive(Debug, Deserialize, Clone, Default, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColdPullSla {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Span>,
    /// Cold starts allowed to end without their images (default 0).
    #[serde(default)]
    pub max_failed: u64,
}

#[derive(Debug, Deserialize, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverySla {
    /// Longest disruption allowed per fault: from injection to the first success after
    /// the last failure it caused.
    pub max: Span,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DataLoss {
    /// Every image pushed (seeded, canaries, the replicator's copies) must still be
    /// served, byte for byte and under the tag last pushed, by every region that
    /// acknowledged it.
    None,
}

/// The downtime an SLO allows per period, and what each fault's disruption costs of it.
#[derive(Debug, Deserialize, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBudgetSla {
    /// The service level objective, e.g. 99.99%: the budget is the rest of the period.
    pub slo: Percent,
    /// The period the budget is counted over, e.g. 30d.
    pub period: Span,
    /// How many events like each fault are expected per period. When set, each fault
    /// is a check: that many of its disruptions must fit in the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_per_period: Option<u64>,
}
