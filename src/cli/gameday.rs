//! The game-day commands that talk to a running `drill up`: inject, heal, note, status
//! and down.

use crate::inject::pending;
use crate::model::error::{exit, DrillError};
use crate::run::gameday::{self, Request};
use clap::Args;
use std::path::{Path, PathBuf};

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
    #[arg(required_unless_present_any = ["all", "pending"], conflicts_with_all = ["all", "pending"])]
    pub fault: Option<usize>,
    #[arg(long, conflicts_with = "pending")]
    pub all: bool,
    /// Run the heal commands of `exec` faults a killed run left in its run folder (its
    /// `pending-heals.json`), newest first; those that succeed are forgotten.
    #[arg(long, value_name = "RUN_FOLDER")]
    pub pending: Option<PathBuf>,
    #[command(flatten)]
    pub session: Session,
}

impl HealArgs {
    pub async fn exec(self) -> Result<u8, DrillError> {
        if let Some(dir) = &self.pending {
            return heal_pending(dir).await;
        }
        // `--all` is `fault: None`.
        self.session.ask(&Request::Heal { fault: self.fault }).await
    }
}

/// `drill heal --pending`: exit 0 when every heal ran and succeeded (or none was left),
/// 5 when one failed (it stays pending).
async fn heal_pending(dir: &Path) -> Result<u8, DrillError> {
    if !dir.is_dir() {
        return Err(DrillError::Usage(format!(
            "{} is not a run folder: give the folder a run wrote its reports in",
            dir.display()
        )));
    }
    let (_, heals) = pending::read(dir)?;
    if heals.is_empty() {
        println!("{}: no pending heals", dir.display());
        return Ok(exit::PASS);
    }
    let failed = pending::run_all(dir, |line| println!("{line}")).await?;
    if failed == 0 {
        println!("healed {}", plural(heals.len()));
        Ok(exit::PASS)
    } else {
        Err(DrillError::Cleanup(format!(
            "{failed} of {} failed and stay pending in {}; fix what stops them and run `drill heal --pending {}` again",
            plural(heals.len()),
            dir.join(pending::FILE).display(),
            dir.display()
        )))
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 pending heal".into()
    } else {
        format!("{n} pending heals")
    }
}

/// `drill mark start|end`: a fault something else injects, recorded so that the
/// reports attribute recovery to it as to one drill injected.
#[derive(clap::Subcommand, Debug)]
pub enum MarkAction {
    /// Record that a fault began now (it gets a number, as `drill inject` gives).
    Start {
        /// What was done, e.g. "AZ-a pulled by the cloud's fault injector".
        text: String,
        /// The regions it touches, comma-separated (default: every region).
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// End it after this long; without it, it lasts until `drill mark end`.
        #[arg(long = "for")]
        duration: Option<String>,
        #[command(flatten)]
        session: Session,
    },
    /// Record that a marked fault ended now.
    End {
        fault: usize,
        #[command(flatten)]
        session: Session,
    },
}

impl MarkAction {
    pub async fn exec(self) -> Result<u8, DrillError> {
        match self {
            MarkAction::Start {
                text,
                regions,
                duration,
                session,
            } => {
                let mut step = serde_json::json!({ "at": "0s", "fault": "external", "name": text });
                if !regions.is_empty() {
                    step["regions"] = regions.into();
                }
                if let Some(d) = duration {
                    step["for"] = d.into();
                }
                crate::scenario::read_step(&step)
                    .map_err(|m| DrillError::Usage(format!("drill mark start: {m}")))?;
                let request = Request::Inject { step };
                match gameday::ask(&session.out, &session.name()?, &request).await? {
                    gameday::Reply::Injected { fault } => {
                        println!("fault #{fault} marked; end it with `drill mark end {fault}`");
                        Ok(exit::PASS)
                    }
                    other => Ok(gameday::print_reply(&other)),
                }
            }
            MarkAction::End { fault, session } => session.ask(&Request::MarkEnd { fault }).await,
        }
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
