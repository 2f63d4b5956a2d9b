//! Upper bounds on what a scenario sizes and counts, and on what a journal holds. Each is far above what a useful
//! scenario on one machine needs and far below what would exhaust it: past them a
//! scenario is a typo (`10000000` hosts, `30d` for a timeout) or hostile input, and is
//! refused before anything starts, with the file, line and field.
//!
//! The bounds checked where their field is parsed or validated are listed here too:
//! the file size ([`MAX_FILE_BYTES`]), a layer's size ([`MAX_LAYER_BYTES`]), layers per
//! image, `nodes_per_zone`, hosts `per_zone`, containerd hosts, `parallel_layers` and
//! the run's `duration`.

pub use super::units::MAX_LAYER_BYTES;

use std::time::Duration;

/// Scenario files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
pub const MAX_NODES_PER_ZONE: u64 = 8;
pub const MAX_HOSTS_PER_ZONE: u64 = 10_000;
/// Layers one host fetches at once.
pub const MAX_PARALLEL_LAYERS: u64 = 16;
/// Each containerd host is a container: a few dozen is what a small machine runs.
pub const MAX_CONTAINERD_HOSTS: usize = 50;
pub const MAX_LAYERS: usize = 64;
pub const MAX_DURATION_SECS: u64 = 24 * 3600;
pub const MIN_STORAGE_LIMIT: u64 = 16 << 20;
pub const MAX_STORAGE_LIMIT: u64 = 4 << 30;
/// Largest canary layer: canaries measure replication lag, not bandwidth.
pub const MAX_CANARY_BYTES: u64 = 16 << 20;

pub const MAX_REGIONS: usize = 16;
pub const MAX_ZONES_PER_REGION: usize = 8;
/// Registry containers in all: regions × zones × nodes_per_zone.
pub const MAX_NODES: usize = 64;
pub const MAX_IMAGES: usize = 64;
/// Every image is generated, pushed to and stored by every region.
pub const MAX_IMAGE_BYTES: u64 = 16 << 30;
pub const MAX_FLEETS: usize = 64;
/// Hosts of every fleet together (native hosts are tasks of the drill process).
pub const MAX_HOSTS: usize = 10_000;
/// Entries of a fleet's `mirrors` and `pull` lists, and names in a partition.
pub const MAX_LIST: usize = 64;
/// An `exec` fault's command: its words, and the bytes of each.
pub const MAX_ARGS: usize = 256;
pub const MAX_ARG_BYTES: usize = 16 << 10;
pub const MAX_STEPS: usize = 1_000;
/// Timeouts, retry backoff and probe timeouts: waits longer than this are typos.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);
/// The probe interval: availability needs several probes per window.
pub const MAX_PROBE_INTERVAL: Duration = Duration::from_secs(60);
/// Latency `delay` and `jitter`, per direction.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// `for`, `ramp`, and the cold-pull and recovery limits: no longer than a run.
pub const MAX_SPAN: Duration = Duration::from_secs(MAX_DURATION_SECS);
/// The error budget's period: ten years of 365 days.
pub const MAX_PERIOD: Duration = Duration::from_secs(3650 * 86_400);

/// No time or duration drill records is longer: a run lasts at most a day, and a game
/// day is not kept up for more than a few.
pub const MAX_US: u64 = 10 * 86_400 * 1_000_000;
/// Availability windows per series (the chart's 1 s windows over ten days fit).
pub const MAX_WINDOWS: u64 = 1_000_000;
/// Window length of the availability chart when the SLA declares no window.
pub const CHART_WINDOW_US: u64 = 1_000_000;
