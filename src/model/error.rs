//! User-facing errors and the exit codes they map to.
//!
//! Every failure that reaches `main` is a [`DrillError`]; its variant decides the
//! exit code, its message tells the user what went wrong and what to do.

use std::fmt;
use std::process::ExitCode;

/// Documented exit codes (see "Exit codes" in README.md).
pub mod exit {
    pub const PASS: u8 = 0;
    pub const SLA_BROKEN: u8 = 1;
    pub const INCONCLUSIVE: u8 = 2;
    pub const ABORTED: u8 = 3;
    pub const SETUP: u8 = 4;
    pub const CLEANUP: u8 = 5;
    pub const USAGE: u8 = 64;
}

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The scenario file or the command line is wrong (exit 64).
    #[error("{0}")]
    Usage(String),
    /// Docker, a host package, an image build or the topology failed (exit 4).
    #[error("{0}")]
    Setup(String),
    /// The Docker engine refused a request or could not answer it (exit 4).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The run was stopped by a signal or a guardrail (exit 3).
    #[error("{0}")]
    Aborted(String),
    /// Removing what drill created (or healing a fault) failed (exit 5).
    #[error("{0}")]
    Cleanup(String),
}

/// A request the Docker engine refused or could not answer: what drill was doing, what
/// the refusal means to drill, and the engine's own error as the source.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct EngineError {
    pub what: String,
    pub refusal: Refusal,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// What an engine's refusal means to drill, decided once where its answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A port to publish was bound by something else meanwhile: pick another.
    PortTaken,
    /// Anything else: reported as it is.
    Other,
}

impl DrillError {
    /// The one place a failure becomes an exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            DrillError::Usage(_) => exit::USAGE,
            DrillError::Setup(_) | DrillError::Engine(_) => exit::SETUP,
            DrillError::Aborted(_) => exit::ABORTED,
            DrillError::Cleanup(_) => exit::CLEANUP,
        }
    }

    pub fn setup(msg: impl fmt::Display) -> Self {
        DrillError::Setup(msg.to_string())
    }
}

impl From<DrillError> for ExitCode {
    fn from(e: DrillError) -> Self {
        ExitCode::from(e.exit_code())
    }
}

/// Adds context to Docker engine errors so the user learns which step failed.
pub trait SetupContext<T> {
    fn setup_context(self, what: impl FnOnce() -> String) -> Result<T, DrillError>;
}

impl<T, E: fmt::Display> SetupContext<T> for Result<T, E> {
    fn setup_context(self, what: impl FnOnce() -> String) -> Result<T, DrillError> {
        self.map_err(|e| DrillError::Setup(format!("{}: {e}", what())))
    }
}

pub type Result<T, E = DrillError> = std::result::Result<T, E>;
