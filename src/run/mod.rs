//! A run: the topology brought up, seeded and probed, fleets of hosts cold-starting,
//! the timeline's faults injected, every event recorded in the journal; and a game day,
//! the same run driven by hand.

mod conformance;
pub mod gameday;
pub mod guardrails;
pub mod hosts;
pub mod matrix;
pub mod proxy_check;
pub mod push_probe;
pub mod replication;
pub mod runner;
pub mod security;
pub mod timeline;
pub mod token_service;
pub mod topology;
