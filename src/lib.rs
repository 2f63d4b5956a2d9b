//! drill: a chaos and disaster-recovery test harness for container registries.
//!
//! Data flows one way: scenario → plan → engine → runner → journal → analysis →
//! verdict → report. Everything after the journal is a pure function of it.

pub mod analysis;
pub mod atomic_file;
pub mod backoff;
pub mod bench;
pub mod cli;
pub mod compose;
pub mod dashboard;
pub mod delay_proxy;
pub mod docker_host;
pub mod engine;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod gameday;
pub mod guardrails;
pub mod hosts;
pub mod images;
pub mod journal;
pub mod journal_bounds;
pub mod limits;
pub mod live;
pub mod oci;
pub mod plan;
pub mod progress;
pub mod proxy_check;
pub mod push_probe;
pub mod replication;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod security;
pub mod token;
pub mod token_service;
pub mod topology;
pub mod units;
pub mod upstream;
pub mod verdict;
