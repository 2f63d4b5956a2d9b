//! The command line: every command is declared here, with its help; its arguments and
//! what it does are in its own module (raw flags in, validated work out).

mod engine;
mod gameday;
mod plan;
mod report;
mod run;
mod validate;

use crate::bench;
use crate::model::error::{exit, DrillError};
use crate::model::units::Percent;
use crate::ui::Console;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Chaos and disaster-recovery test harness for container registries.
///
/// Exit codes: 0 every SLA met · 1 an SLA broken · 2 inconclusive (no steady state
/// before the first fault) · 3 aborted (signal or guardrail) · 4 setup or engine error ·
/// 5 cleanup or heal failed · 64 invalid scenario or usage (a remote Docker engine
/// without --allow-remote too).
#[derive(Parser, Debug)]
#[command(name = "drill", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Act on the Docker engine DOCKER_HOST names even when it is not a local Unix
    /// socket (tcp://, ssh://, …). Without it drill refuses (exit 64): it kills
    /// containers and cuts networks, which belongs on an engine you mean to break.
    #[arg(long, global = true, env = "DRILL_ALLOW_REMOTE",
          value_parser = clap::builder::FalseyValueParser::new())]
    pub allow_remote: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build the topology, run the scenario's timeline, judge the SLAs, tear down.
    Run(run::RunArgs),
    /// Game day: bring the scenario up and keep it running (fleets, probes, timeline)
    /// until `drill down`.
    Up(run::UpArgs),
    /// Game day: inject a fault by hand, e.g. `drill inject kill eu-a-1 --for 30s`.
    Inject(gameday::InjectArgs),
    /// Game day: heal one fault by its number, or every active fault; or run the heals a
    /// killed run left pending (`--pending <run-folder>`).
    Heal(gameday::HealArgs),
    /// Game day: write a timestamped note into the journal and the reports.
    Note(gameday::NoteArgs),
    /// Game day: record a fault something else injects (`mark start`) and its end
    /// (`mark end`), attributed in the reports as an injected one.
    Mark {
        #[command(subcommand)]
        action: gameday::MarkAction,
    },
    /// Game day: entry points and active faults.
    Status(gameday::SessionArgs),
    /// Game day: heal everything, verify, tear down and write the reports.
    Down(gameday::SessionArgs),
    /// Parse and check scenario files without touching Docker.
    Validate(validate::ValidateArgs),
    /// Show the resolved topology, hosts and timeline without touching Docker.
    Plan(plan::PlanArgs),
    /// Measure drill against the tools a user would otherwise use (skopeo, docker
    /// pull, ctr, docker-compose) and against what the machine allows: the pull path,
    /// bring-up and teardown, fleets of native hosts, analysis of a large journal and
    /// the accuracy of recovery times. Writes bench.json and bench.md under --out.
    Bench {
        /// How much to run: `tiny` for CI (about half a minute), `full` for the numbers in
        /// docs/performance.md (build with --release).
        #[arg(long, value_enum, default_value = "full")]
        size: bench::Size,
        /// Folder the bench folder is written under.
        #[arg(long, default_value = "reports", env = "DRILL_OUT")]
        out: PathBuf,
    },
    /// Internal to `drill bench`: one wave of native hosts, measured in a process of
    /// its own; prints its outcome as JSON.
    #[command(hide = true)]
    BenchFleet {
        /// The registry, `http://127.0.0.1:<port>`.
        #[arg(long)]
        base: String,
        /// The image every host pulls (repository:tag).
        #[arg(long)]
        image: String,
        #[arg(long)]
        hosts: usize,
    },
    /// Internal to `drill bench`: `drill report` on a folder, then this process's peak
    /// memory as JSON on stderr.
    #[command(hide = true)]
    BenchReport { run: PathBuf },
    /// Internal to `auth: token` topologies: the run's token service, as it runs in its
    /// own container (it reads the configuration drill wrote there).
    #[command(hide = true)]
    TokenService {
        #[arg(long, default_value = crate::run::token_service::CONFIG_PATH)]
        config: PathBuf,
    },
    /// Print the JSON Schema of the scenario format (or of summary.json).
    Schema(validate::SchemaArgs),
    /// Re-render a run's reports (summary.json, junit.xml, summary.md, report.html)
    /// and its summary from its journal. Exits with the run's verdict code; a journal
    /// that ends before the run finished (kill -9, crash) is rendered marked incomplete
    /// and exits 3, unless an SLA was already broken (1).
    Report(report::ReportArgs),
    /// Remove containers, networks and volumes drill created (label drill.run).
    Clean(engine::CleanArgs),
    /// Manage the helper images drill builds from host binaries.
    Images {
        #[command(subcommand)]
        action: engine::ImagesAction,
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
    fn load(&self) -> Result<Option<crate::report::Baseline>, DrillError> {
        self.baseline
            .as_deref()
            .map(|p| crate::report::Baseline::load(p, self.tolerance, self.fail_on_regression))
            .transpose()
    }
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
    if cli.allow_remote {
        crate::docker::host::allow_remote();
    }
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
    let console = Console::stderr();
    console.restore_on_panic();
    match runtime.block_on(dispatch(cli.command, console)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs one command: each is its own module's, with its arguments.
async fn dispatch(command: Command, console: Console) -> Result<u8, DrillError> {
    match command {
        Command::Run(args) => args.exec(console).await,
        Command::Up(args) => args.exec(console).await,
        Command::Inject(args) => args.exec().await,
        Command::Heal(args) => args.exec().await,
        Command::Note(args) => args.exec().await,
        Command::Mark { action } => action.exec().await,
        Command::Status(args) => args.status().await,
        Command::Down(args) => args.down().await,
        Command::Schema(args) => args.exec(),
        Command::Validate(args) => args.exec(),
        Command::Plan(args) => args.exec(console).await,
        Command::Bench { size, out } => bench::run(size, &out, &console).await,
        Command::BenchFleet { base, image, hosts } => {
            bench::fleet_child(&base, &image, hosts).await
        }
        Command::BenchReport { run } => bench::report_child(&run),
        Command::TokenService { config } => crate::run::token_service::serve(&config).await,
        Command::Report(args) => args.exec(),
        Command::Clean(args) => args.exec().await,
        Command::Images { action } => action.exec().await,
    }
}
