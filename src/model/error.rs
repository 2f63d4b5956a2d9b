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

    /// The exit code of several runs: a usage error first, then a broken SLA, an abort,
    /// a setup error, a cleanup failure, an inconclusive run; 0 only when every run
    /// passed.
    pub fn worst(codes: &[u8]) -> u8 {
        const ORDER: [u8; 7] = [
            USAGE,
            SLA_BROKEN,
            ABORTED,
            SETUP,
            CLEANUP,
            INCONCLUSIVE,
            PASS,
        ];
        let rank = |c: &u8| ORDER.iter().position(|o| o == c).unwrap_or(0);
        codes.iter().copied().min_by_key(rank).unwrap_or(PASS)
    }

    #[cfg(test)]
    mod tests {
        use super::worst;

        #[test]
        fn worst_follows_precedence() {
            assert_eq!(worst(&[0, 0]), 0);
            assert_eq!(worst(&[0, 2, 5]), 5);
            assert_eq!(worst(&[2, 4, 0]), 4);
            assert_eq!(worst(&[4, 3, 5]), 3);
            assert_eq!(worst(&[3, 1, 0]), 1);
            assert_eq!(worst(&[]), 0);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The scenario file or the command line is wrong (exit 64).
    #[error("{0}")]
    Usage(String),
    /// Docker, a host package, an image build or the topology failed (exit 4). The
    /// message is the whole text the user reads; the error it comes from, if any, is
    /// kept as the source.
    #[error("{message}")]
    Setup {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
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

/// A command run in a container (`docker exec`) that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The engine could not run it or read its end.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// It ran and did not exit 0: its exit code (none if the engine gave none) and
    /// what it wrote to stdout and stderr.
    #[error("{command} failed ({}): {}", exit_words(*code), output.trim())]
    Failed {
        /// `` `cmd args` in container ``
        command: String,
        code: Option<i64>,
        output: String,
    },
}

fn exit_words(code: Option<i64>) -> String {
    code.map_or("no exit code".to_string(), |c| format!("exit code {c}"))
}

/// A failed command is a setup failure, whatever ran it.
impl From<ExecError> for DrillError {
    fn from(e: ExecError) -> Self {
        DrillError::setup_of(e)
    }
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
            DrillError::Setup { .. } | DrillError::Engine(_) => exit::SETUP,
            DrillError::Aborted(_) => exit::ABORTED,
            DrillError::Cleanup(_) => exit::CLEANUP,
        }
    }

    pub fn setup(msg: impl fmt::Display) -> Self {
        DrillError::Setup {
            message: msg.to_string(),
            source: None,
        }
    }

    /// A setup failure that is `source`, worded as it is.
    pub fn setup_of(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        DrillError::setup_citing(source.to_string(), source)
    }

    /// A setup failure caused by `source`: `<what>: <source>`, the source kept.
    pub fn setup_from(
        what: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DrillError::setup_citing(format!("{what}: {source}"), source)
    }

    /// A setup failure worded `message`, which cites `source` in its own place (a hint
    /// after it, say); the source is kept.
    pub fn setup_citing(
        message: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DrillError::Setup {
            message: message.to_string(),
            source: Some(Box::new(source)),
        }
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

impl<T, E: std::error::Error + Send + Sync + 'static> SetupContext<T> for Result<T, E> {
    fn setup_context(self, what: impl FnOnce() -> String) -> Result<T, DrillError> {
        self.map_err(|e| DrillError::setup_from(what(), e))
    }
}

pub type Result<T, E = DrillError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_setup_failure_reads_as_before_and_keeps_its_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e: Result<(), _> = Err(io);
        let e = e.setup_context(|| "cannot read x.yaml".into()).unwrap_err();
        assert_eq!(e.to_string(), "cannot read x.yaml: no such file");
        assert_eq!(e.exit_code(), exit::SETUP);
        let cause = e.source().expect("the cause is kept");
        assert!(cause.downcast_ref::<std::io::Error>().is_some());
        assert!(DrillError::setup("plain").source().is_none());
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let cited = DrillError::setup_citing(format!("cannot run ldd: {io}; install libc-bin"), io);
        assert_eq!(
            cited.to_string(),
            "cannot run ldd: no such file; install libc-bin"
        );
        assert!(cited.source().is_some());
    }

    #[test]
    fn a_failed_command_says_what_ran_where_how_it_ended_and_what_it_wrote() {
        let failed = |code| ExecError::Failed {
            command: "`ctr version` in drill-x-host".into(),
            code,
            output: "ctr: not ready\n".into(),
        };
        assert_eq!(
            failed(Some(1)).to_string(),
            "`ctr version` in drill-x-host failed (exit code 1): ctr: not ready"
        );
        assert_eq!(
            failed(None).to_string(),
            "`ctr version` in drill-x-host failed (no exit code): ctr: not ready"
        );
        let e = DrillError::from(failed(Some(1)));
        assert_eq!(e.exit_code(), exit::SETUP);
        assert_eq!(e.to_string(), failed(Some(1)).to_string());
        assert!(e.source().unwrap().downcast_ref::<ExecError>().is_some());
    }
}
