//! drill: a chaos and disaster-recovery test harness for container registries.
//!
//! Data flows one way: scenario → plan → run (on the Docker engine) → journal → analysis
//! → verdict → report. Everything after the journal is a pure function of it. Each stage
//! is a folder; `model` is the vocabulary they share and imports nothing else of the
//! crate. docs/architecture.md gives the rule for what may import what.

pub mod analysis;
#[cfg(test)]
mod architecture;
pub mod bench;
pub mod cli;
pub mod docker;
pub mod faults;
pub mod fixtures;
pub mod inject;
pub mod journal;
pub mod model;
pub mod oci;
pub mod plan;
pub mod report;
pub mod run;
pub mod scenario;
pub mod ui;
pub mod verdict;
