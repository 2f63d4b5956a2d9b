//! drill: a chaos and disaster-recovery test harness for container registries.
//!
//! Data flows one way: scenario → plan → engine → runner → journal → analysis →
//! verdict → report. Everything after the journal is a pure function of it.

pub mod analysis;
pub mod error;
pub mod journal;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod units;
pub mod verdict;
