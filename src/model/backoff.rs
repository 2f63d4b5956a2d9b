//! How a host waits between failed pulls of one image: a fixed wait (`retry_backoff`),
//! or kubelet's image pull back-off (ImagePullBackOff), which starts at 10 s and doubles
//! up to 300 s, so a pod stays stuck for a while after the registry is back.

use crate::model::units::Span;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// kubelet's own numbers (pkg/kubelet/images: `backOffPeriod` and `MaxContainerBackOff`).
pub const KUBELET_INITIAL: Duration = Duration::from_secs(10);
pub const KUBELET_MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BackoffModel {
    /// `retry_backoff` after every failed pull.
    #[default]
    Fixed,
    /// kubelet's: `kubelet_backoff.initial` after the first failed pull of an image,
    /// doubling after each further one up to `kubelet_backoff.max`.
    Kubelet,
}

/// The kubelet model's first wait and cap; kubelet's defaults are 10s and 300s.
#[derive(Debug, Deserialize, Clone, Copy, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubeletBackoff {
    #[serde(default = "kubelet_initial")]
    pub initial: Span,
    #[serde(default = "kubelet_max")]
    pub max: Span,
}

fn kubelet_initial() -> Span {
    Span(KUBELET_INITIAL)
}

fn kubelet_max() -> Span {
    Span(KUBELET_MAX)
}

impl Default for KubeletBackoff {
    fn default() -> Self {
        KubeletBackoff {
            initial: kubelet_initial(),
            max: kubelet_max(),
        }
    }
}

/// A fleet's resolved back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    Fixed(Duration),
    Kubelet { initial: Duration, max: Duration },
}

impl Backoff {
    pub fn of(model: BackoffModel, fixed: Duration, kubelet: Option<KubeletBackoff>) -> Backoff {
        match model {
            BackoffModel::Fixed => Backoff::Fixed(fixed),
            BackoffModel::Kubelet => {
                let k = kubelet.unwrap_or_default();
                Backoff::Kubelet {
                    initial: k.initial.0,
                    max: k.max.0,
                }
            }
        }
    }

    /// In words, for `drill plan`.
    pub fn describe(&self) -> String {
        match *self {
            Backoff::Fixed(d) => format!("retry after {}", humantime::format_duration(d)),
            Backoff::Kubelet { initial, max } => format!(
                "kubelet back-off {} doubling to {}",
                humantime::format_duration(initial),
                humantime::format_duration(max)
            ),
        }
    }

    /// The wait after the `failures`-th failed pull in a row of one image (from 1).
    pub fn wait(&self, failures: u32) -> Duration {
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Kubelet { initial, max } => {
                let doublings = failures.saturating_sub(1).min(31);
                initial.saturating_mul(1 << doublings).min(max)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_doubles_from_ten_seconds_to_five_minutes() {
        let k = Backoff::of(BackoffModel::Kubelet, Duration::from_secs(1), None);
        let waits: Vec<u64> = (1..=7).map(|n| k.wait(n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(k.wait(1000), KUBELET_MAX);
        assert_eq!(k.describe(), "kubelet back-off 10s doubling to 5m");
        let fixed = Backoff::of(BackoffModel::Fixed, Duration::from_secs(2), None);
        assert_eq!(fixed.wait(5), Duration::from_secs(2));
    }
}
