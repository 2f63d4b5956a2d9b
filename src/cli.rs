//! The command line: every command and flag is defined and documented here.

use crate::engine::Engine;
use crate::error::{exit, DrillError};
use crate::runner::{self, RunOptions};
use crate::units::Percent;
use crate::{images, journal, plan, report, scenario};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Chaos and disaster-recovery test harness for container registries.
///
/// Exit codes: 0 every SLA met · 1 an SLA broken · 2 inconclusive (no steady state
/// before the first fault) · 3 aborted (signal or guardrail) · 4 setup or engine error ·
/// 5 cleanup or heal failed · 64 invalid scenario or usage.
#[derive(Parser, Debug)]
#[command(name = "drill", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build the topology, run the scenario's timeline, judge the SLAs, tear down.
    Run {
        /// Scenario files (YAML), run one after the other; the exit code is the worst.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Seed for every random choice; overrides the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// Leave the topology running afterwards (remove it with `drill clean`).
        #[arg(long)]
        keep: bool,
        /// Folder the run folder is written under.
        #[arg(long, default_value = "reports", env = "DRILL_OUT")]
        out: PathBuf,
        #[command(flatten)]
        baseline: BaselineArgs,
    },
    /// Parse and check scenario files without touching Docker.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Show the resolved topology, hosts and timeline without touching Docker.
    Plan {
        scenario: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Re-render a run's reports (summary.json, junit.xml, summary.md, report.html)
    /// and its summary from its journal.
    Report {
        /// A run folder (holding journal.jsonl) or the journal itself.
        run: PathBuf,
        #[command(flatten)]
        baseline: BaselineArgs,
    },
    /// Remove containers, networks and volumes drill created (label drill.run).
    Clean {
        /// Only the objects of this run id.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        run: Option<String>,
        /// Every object of every drill run on this engine.
        #[arg(long)]
        all: bool,
    },
    /// Manage the helper images drill builds from host binaries.
    Images {
        #[command(subcommand)]
        action: ImagesAction,
    },
}

/// Comparison with an earlier run.
#[derive(Args, Debug)]
pub struct BaselineArgs {
    /// An earlier run's summary.json: every check measured in both runs is compared,
    /// and one worse than the baseline's by more than --tolerance is listed as a
    /// regression, even when its SLA holds. Regressions do not change the exit code
    /// unless --fail-on-regression is given.
    #[arg(long, value_name = "SUMMARY_JSON")]
    pub baseline: Option<PathBuf>,
    /// How much worse than the baseline a value may get before it is a regression,
    /// relative to the baseline's value (for availability, to its shortfall from 100%).
    #[arg(long, default_value = "10%", value_parser = Percent::parse, requires = "baseline")]
    pub tolerance: Percent,
    /// Count regressions as broken SLAs: the run then exits 1.
    #[arg(long, requires = "baseline")]
    pub fail_on_regression: bool,
}

impl BaselineArgs {
    /// Reads the baseline file, if one was given; a bad file is a usage error (64).
    fn load(&self) -> Result<Option<report::Baseline>, DrillError> {
        self.baseline
            .as_deref()
            .map(|p| report::Baseline::load(p, self.tolerance, self.fail_on_regression))
            .transpose()
    }
}

#[derive(Subcommand, Debug)]
pub enum ImagesAction {
    /// Build the registry and haproxy images (done by `run` when needed).
    Build,
}

/// Parses the command line, runs the command, and maps every outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(exit::USAGE),
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::SETUP);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn dispatch(command: Command) -> Result<u8, DrillError> {
    match command {
        Command::Run {
            scenarios,
            seed,
            keep,
            out,
            baseline,
        } => {
            // Read before the run, so a bad baseline fails in a second, not at the end.
            let baseline = baseline.load()?;
            let opts = RunOptions {
                seed,
                keep,
                out,
                baseline,
            };
            if opts.baseline.is_some() && scenarios.len() > 1 {
                return Err(DrillError::Usage(
                    "--baseline compares one run with an earlier run of the same scenario: give one scenario file".into(),
                ));
            }
            runner::run_all(&scenarios, &opts).await
        }
        Command::Validate { scenarios } => {
            let mut failed = Vec::new();
            for path in &scenarios {
                match scenario::load(path) {
                    Ok(_) => println!("{}: ok", path.display()),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            if failed.is_empty() {
                Ok(exit::PASS)
            } else {
                Err(DrillError::Usage(failed.join("\n")))
            }
        }
        Command::Plan {
            scenario: path,
            seed,
        } => {
            let s = scenario::load(&path)?;
            let seed = seed.or(s.seed).unwrap_or(0);
            print!("{}", plan::build(&s, "<run-id>", seed).describe());
            Ok(exit::PASS)
        }
        Command::Report { run, baseline } => {
            let baseline = baseline.load()?;
            let path = if run.is_dir() {
                run.join("journal.jsonl")
            } else {
                run.clone()
            };
            let loaded = journal::read(&path)?;
            let summary =
                report::summarize_against(&loaded.records, loaded.truncated, baseline.as_ref());
            let dir = path.parent().unwrap_or(&run);
            let written = report::write_all(dir, &summary).map_err(|e| {
                DrillError::setup(format!(
                    "cannot write the reports in {}: {e}",
                    dir.display()
                ))
            })?;
            println!("{}", report::terminal(&summary));
            println!("{}", report::written(&written));
            Ok(summary.verdict.status.exit_code())
        }
        Command::Clean { run, all } => {
            let engine = Engine::connect().await?;
            let target = if all { None } else { run.as_deref() };
            let removed = engine.remove_labelled(target).await;
            println!(
                "removed {} containers, {} networks, {} volumes",
                removed.containers, removed.networks, removed.volumes
            );
            if removed.errors.is_empty() {
                Ok(exit::PASS)
            } else {
                Err(DrillError::Cleanup(removed.errors.join("\n")))
            }
        }
        Command::Images {
            action: ImagesAction::Build,
        } => {
            let engine = Engine::connect().await?;
            let built = images::ensure_all(&engine).await?;
            println!("{}\n{}\n{}", built.registry, built.haproxy, built.toolbox);
            // Only runs with containerd hosts need it; without the package, say so.
            match images::ensure(&engine, &images::containerd_recipe()).await {
                Ok(tag) => println!("{tag}"),
                Err(e) => eprintln!("not built (needed only by containerd hosts): {e}"),
            }
            Ok(exit::PASS)
        }
    }
}
