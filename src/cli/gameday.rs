//! The game-day commands that talk to a running `drill up`: inject, heal, note, status
//! and down.

use crate::model::error::DrillError;
use crate::run::gameday::{self, Request};
use clap::Args;
use std::path::PathBuf;

/// Which game day a command talks to.
#[derive(Args, Debug)]
pub struct Session {
    /// The scenario's name; needed only when several game days are up.
    #[arg(long)]
    pub scenario: Option<String>,
    /// The `--out` folder `drill up` was given.
    #[arg(long, default_value = gameday::DEFAULT_OUT, env = "DRILL_OUT")]
    pub out: PathBuf,
}

impl Session {
    /// The scenario name of the game day meant: the one given, or the only one up.
    fn name(&self) -> Result<String, DrillError> {
        gameday::find(&self.out, self.scenario.as_deref())
    }

    /// Sends one request to the game day and prints its reply; the reply's exit code.
    async fn ask(&self, request: &Request) -> Result<u8, DrillError> {
        let reply = gameday::ask(&self.out, &self.name()?, request).await?;
        Ok(gameday::print_reply(&reply))
    }
}

#[derive(Args, Debug)]
pub struct InjectArgs {
    /// Fault kind (see docs/faults.md).
    pub kind: String,
    /// Target: a node, zone, region, `<region>-lb`, `<region>-proxy` or `upstream` (none for a partition or an `upstream-*` fault).
    pub target: Option<String>,
    /// Heal it after this long; without it, it stays until `drill heal`.
    #[arg(long = "for")]
    pub duration: Option<String>,
    /// A fault parameter, e.g. `--set rate=1MiB`, `--set groups=[[eu-a],[eu-lb]]`.
    #[arg(long = "set")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub session: Session,
}

impl InjectArgs {
    pub async fn exec(self) -> Result<u8, DrillError> {
        let step = gameday::inject_step(
            &self.kind,
            self.target.as_deref(),
            self.duration.as_deref(),
            &self.params,
        )?;
        self.session.ask(&Request::Inject { step }).await
    }
}

#[derive(Args, Debug)]
pub struct HealArgs {
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub fault: Option<usize>,
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub session: Session,
}

impl HealArgs {
    pub async fn exec(self) -> Result<u8, DrillError> {
        // `--all` is `fault: None`.
        self.session.ask(&Request::Heal { fault: self.fault }).await
    }
}

#[derive(Args, Debug)]
pub struct NoteArgs {
    pub text: String,
    #[command(flatten)]
    pub session: Session,
}

impl NoteArgs {
    pub async fn exec(self) -> Result<u8, DrillError> {
        self.session.ask(&Request::Note { text: self.text }).await
    }
}

#[derive(Args, Debug)]
pub struct SessionArgs {
    #[command(flatten)]
    pub session: Session,
}

impl SessionArgs {
    pub async fn status(self) -> Result<u8, DrillError> {
        self.session.ask(&Request::Status).await
    }

    pub async fn down(self) -> Result<u8, DrillError> {
        gameday::down(&self.session.out, &self.session.name()?).await
    }
}
