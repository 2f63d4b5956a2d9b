//! Why one run of a peer tool (or of drill in its place) failed: what the benchmark
//! records as that tool's `failed: <error>`.

use crate::docker::engine::PullError;
use crate::model::error::{DrillError, ExecError};
use crate::oci::OciError;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool could not be started.
    #[error("{0}")]
    Start(#[source] std::io::Error),
    /// The task that ran it died.
    #[error("{0}")]
    Task(#[source] tokio::task::JoinError),
    /// It ran and did not succeed: what it wrote to stderr (after the command, when
    /// the tool runs more than one).
    #[error("{0}")]
    Failed(String),
    /// A plain GET of the raw pull got no answer.
    #[error("{0}")]
    Get(#[source] reqwest::Error),
    /// A plain GET of the raw pull was answered with an error status.
    #[error("{path}: HTTP {status}")]
    Status {
        path: String,
        status: reqwest::StatusCode,
    },
    /// drill's own client failed.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// The Docker engine could not pull.
    #[error(transparent)]
    EnginePull(#[from] PullError),
    /// A command in a container (`ctr`) failed.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// drill's own setup (a port, a file, an image removal, readiness) failed.
    #[error(transparent)]
    Drill(#[from] DrillError),
}
