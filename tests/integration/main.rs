//! Every integration test, in one binary: one link of the crate and its dependencies
//! instead of one per file. Each module is one area; `common` holds what they share.
//! `cargo test --test integration <module>::` runs one area.

mod common;

mod balancers;
mod bench;
mod byo;
mod cli;
mod docs;
mod exec;
mod external;
mod faults;
mod gameday;
mod harden;
mod hosts;
mod matrix;
mod proxy;
mod replication;
mod reports;
mod run;
mod secure;
