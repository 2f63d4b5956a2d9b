//! `drill run` and `drill up`: a scenario run to its end, or kept up as a game day.

use super::BaselineArgs;
use crate::model::error::DrillError;
use crate::run::gameday;
use crate::run::runner::{self, RunOptions};
use crate::scenario::matrix::{self, Axis};
use crate::ui::Console;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files (YAML), run one after the other; the exit code is the worst.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Seed for every random choice; overrides the scenario's `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Leave the topology running afterwards (remove it with `drill clean`).
    #[arg(long)]
    pub keep: bool,
    /// Full-screen dashboard (availability per region, pull latency percentiles,
    /// active faults, recent errors, timeline position) while the timeline runs;
    /// plain lines when stdout is not a terminal.
    #[arg(long)]
    pub live: bool,
    /// Folder the run folder is written under.
    #[arg(long, default_value = "reports", env = "DRILL_OUT")]
    pub out: PathBuf,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    /// Run the scenario once per combination of designs, with the same seed and
    /// timeline, and compare them: `--matrix registry=distribution,container-registry
    /// --matrix load_balancer=haproxy,nginx,caddy` (keys: registry, load_balancer,
    /// proxy). Each key is set for every region.
    /// Writes comparison.md, .json and .html beside the run folders.
    #[arg(long, value_name = "KEY=VALUE,…", value_parser = Axis::parse)]
    pub matrix: Vec<Axis>,
}

impl RunArgs {
    pub async fn exec(self, console: Console) -> Result<u8, DrillError> {
        // Read before the run, so a bad baseline fails in a second, not at the end.
        let baseline = self.baseline.load()?;
        let opts = RunOptions {
            console,
            interrupted: Default::default(),
            seed: self.seed,
            keep: self.keep,
            out: self.out,
            baseline,
            live: live_view(self.live),
            folder: None,
        };
        if opts.baseline.is_some() && self.scenarios.len() > 1 {
            return Err(DrillError::Usage(
                "--baseline compares one run with an earlier run of the same scenario: give one scenario file".into(),
            ));
        }
        if self.matrix.is_empty() {
            return runner::run_all(&self.scenarios, &opts).await;
        }
        let [scenario] = &self.scenarios[..] else {
            return Err(DrillError::Usage(
                "--matrix runs one scenario once per combination: give one scenario file".into(),
            ));
        };
        if opts.baseline.is_some() || opts.keep {
            return Err(DrillError::Usage(
                "--matrix runs several topologies one after the other: it takes neither \
                 --baseline nor --keep (run the combination alone for those)"
                    .into(),
            ));
        }
        let combinations = matrix::combinations(&self.matrix).map_err(DrillError::Usage)?;
        crate::run::matrix::run(scenario, &combinations, &opts).await
    }
}

#[derive(Args, Debug)]
pub struct UpArgs {
    pub scenario: PathBuf,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Full-screen dashboard (availability per region, pull latency percentiles,
    /// active faults, recent errors, timeline position) while the timeline runs;
    /// plain lines when stdout is not a terminal.
    #[arg(long)]
    pub live: bool,
    /// Folder the run folder is written under; the other game-day commands need
    /// the same one.
    #[arg(long, default_value = gameday::DEFAULT_OUT, env = "DRILL_OUT")]
    pub out: PathBuf,
}

impl UpArgs {
    pub async fn exec(self, console: Console) -> Result<u8, DrillError> {
        let opts = RunOptions {
            console,
            interrupted: Default::default(),
            seed: self.seed,
            keep: false,
            out: self.out,
            baseline: None,
            live: live_view(self.live),
            folder: None,
        };
        gameday::up(&self.scenario, &opts).await
    }
}

/// `--live` draws on stdout: only when it is a terminal; otherwise says so and keeps
/// the plain lines.
fn live_view(asked: bool) -> bool {
    use std::io::IsTerminal;
    if asked && !std::io::stdout().is_terminal() {
        eprintln!("note: --live: stdout is not a terminal; printing plain progress lines instead");
        return false;
    }
    asked
}
