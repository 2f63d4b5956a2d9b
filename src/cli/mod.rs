//! The command line: every command and flag is defined and documented here.

use crate::docker::engine::Engine;
use crate::docker::images;
use crate::model::error::{exit, DrillError};
use crate::model::units::Percent;
use crate::plan::compose;
use crate::run::gameday;
use crate::run::runner::{self, RunOptions};
use crate::{bench, fixtures, plan, report, scenario};
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
        /// Full-screen dashboard (availability per region, pull latency percentiles,
        /// active faults, recent errors, timeline position) while the timeline runs;
        /// plain lines when stdout is not a terminal.
        #[arg(long)]
        live: bool,
        /// Folder the run folder is written under.
        #[arg(long, default_value = "reports", env = "DRILL_OUT")]
        out: PathBuf,
        #[command(flatten)]
        baseline: BaselineArgs,
    },
    /// Game day: bring the scenario up and keep it running (fleets, probes, timeline)
    /// until `drill down`.
    Up {
        scenario: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
        /// Full-screen dashboard (availability per region, pull latency percentiles,
        /// active faults, recent errors, timeline position) while the timeline runs;
        /// plain lines when stdout is not a terminal.
        #[arg(long)]
        live: bool,
        /// Folder the run folder is written under; the other game-day commands need
        /// the same one.
        #[arg(long, default_value = gameday::DEFAULT_OUT, env = "DRILL_OUT")]
        out: PathBuf,
    },
    /// Game day: inject a fault by hand, e.g. `drill inject kill eu-a-1 --for 30s`.
    Inject {
        /// Fault kind (see docs/faults.md).
        kind: String,
        /// Target: a node, zone, region, `<region>-lb`, `<region>-proxy` or `upstream` (none for a partition or an `upstream-*` fault).
        target: Option<String>,
        /// Heal it after this long; without it, it stays until `drill heal`.
        #[arg(long = "for")]
        duration: Option<String>,
        /// A fault parameter, e.g. `--set rate=1MiB`, `--set groups=[[eu-a],[eu-lb]]`.
        #[arg(long = "set")]
        params: Vec<String>,
        #[command(flatten)]
        session: Session,
    },
    /// Game day: heal one fault by its number, or every active fault.
    Heal {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        fault: Option<usize>,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        session: Session,
    },
    /// Game day: write a timestamped note into the journal and the reports.
    Note {
        text: String,
        #[command(flatten)]
        session: Session,
    },
    /// Game day: entry points and active faults.
    Status {
        #[command(flatten)]
        session: Session,
    },
    /// Game day: heal everything, verify, tear down and write the reports.
    Down {
        #[command(flatten)]
        session: Session,
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
        /// Instead, write the topology as a docker-compose project into this folder
        /// (`docker-compose.yml` and each region's haproxy configuration), with the same
        /// images, names, secrets and labels as `drill run`; builds the helper images
        /// if the engine lacks them. Entry-point ports on 127.0.0.1 are picked now.
        #[arg(long, value_name = "DIR")]
        compose: Option<PathBuf>,
    },
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
    Schema {
        #[arg(value_enum, default_value = "scenario")]
        of: SchemaOf,
    },
    /// Re-render a run's reports (summary.json, junit.xml, summary.md, report.html)
    /// and its summary from its journal. Exits with the run's verdict code; a journal
    /// that ends before the run finished (kill -9, crash) is rendered marked incomplete
    /// and exits 3, unless an SLA was already broken (1).
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

/// Which game day a command talks to.
#[derive(clap::Args, Debug)]
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
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SchemaOf {
    /// Scenario files (YAML), for editor completion and CI checks.
    Scenario,
    /// The summary.json a run writes.
    Summary,
}

#[derive(Subcommand, Debug)]
pub enum ImagesAction {
    /// Build the registry and haproxy images (done by `run` when needed).
    Build,
    /// Remove helper images the current recipes no longer build (older drill versions,
    /// upgraded host packages); the current ones and those in use stay.
    Prune,
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
        crate::run::docker_host::allow_remote();
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
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
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

async fn dispatch(command: Command) -> Result<u8, DrillError> {
    match command {
        Command::Run {
            scenarios,
            seed,
            keep,
            live,
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
                live: live_view(live),
            };
            if opts.baseline.is_some() && scenarios.len() > 1 {
                return Err(DrillError::Usage(
                    "--baseline compares one run with an earlier run of the same scenario: give one scenario file".into(),
                ));
            }
            runner::run_all(&scenarios, &opts).await
        }
        Command::Up {
            scenario,
            seed,
            live,
            out,
        } => {
            let opts = RunOptions {
                seed,
                keep: false,
                out,
                baseline: None,
                live: live_view(live),
            };
            gameday::up(&scenario, &opts).await
        }
        Command::Inject {
            kind,
            target,
            duration,
            params,
            session,
        } => {
            let step = gameday::step_yaml(&kind, target.as_deref(), duration.as_deref(), &params)?;
            let reply = gameday::ask(
                &session.out,
                &session.name()?,
                &gameday::Request::Inject { step },
            )
            .await?;
            Ok(gameday::print_reply(&reply))
        }
        Command::Heal {
            fault,
            all: _,
            session,
        } => {
            let reply = gameday::ask(
                &session.out,
                &session.name()?,
                &gameday::Request::Heal { fault },
            )
            .await?;
            Ok(gameday::print_reply(&reply))
        }
        Command::Note { text, session } => {
            let reply = gameday::ask(
                &session.out,
                &session.name()?,
                &gameday::Request::Note { text },
            )
            .await?;
            Ok(gameday::print_reply(&reply))
        }
        Command::Status { session } => {
            let reply =
                gameday::ask(&session.out, &session.name()?, &gameday::Request::Status).await?;
            Ok(gameday::print_reply(&reply))
        }
        Command::Down { session } => gameday::down(&session.out, &session.name()?).await,
        Command::Schema { of } => {
            let schema = match of {
                SchemaOf::Scenario => scenario::schema(),
                SchemaOf::Summary => report::summary_schema(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("a schema is JSON")
            );
            Ok(exit::PASS)
        }
        Command::Validate { scenarios } => {
            let mut failed = Vec::new();
            for path in &scenarios {
                match scenario::load(path) {
                    Ok(loaded) => {
                        for w in &loaded.warnings {
                            eprintln!("warning: {w}");
                        }
                        match loaded.warnings.len() {
                            0 => println!("{}: ok", path.display()),
                            1 => println!("{}: ok, with 1 warning", path.display()),
                            n => println!("{}: ok, with {n} warnings", path.display()),
                        }
                    }
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
            compose: None,
        } => {
            let s = runner::load(&path)?;
            let seed = seed.or(s.seed).unwrap_or(0);
            let plan = plan::build(&s, "<run-id>", seed);
            print!(
                "{}",
                plan.describe(&fixtures::pushed_bytes(&plan.images, seed))
            );
            Ok(exit::PASS)
        }
        Command::Plan {
            scenario: path,
            seed,
            compose: Some(dir),
        } => {
            let s = runner::load(&path)?;
            let seed = seed.or(s.seed).unwrap_or(0);
            let plan = plan::build(&s, &plan::new_run_id(), seed);
            let missing = compose::unsupported(&plan);
            if !missing.is_empty() {
                return Err(DrillError::Usage(format!(
                    "{}: --compose renders plain, open topologies of registry nodes and load \
                     balancers; this scenario has {}, which only `drill run` and `drill up` build",
                    path.display(),
                    missing.join(", ")
                )));
            }
            let engine = Engine::connect().await?;
            let images = images::ensure_all(&engine).await?;
            let mut ports = std::collections::HashMap::new();
            for r in &plan.regions {
                ports.insert(r.name.clone(), crate::docker::engine::free_loopback_port()?);
            }
            let project = compose::render(&plan, &images, &ports);
            compose::write(&dir, &project)?;
            let file = dir.join(compose::COMPOSE_FILE);
            println!(
                "wrote {} (run id {}); start it with `docker-compose -p {} -f {} up -d`, \
                 remove it with `docker-compose -p {} -f {} down -v` or `drill clean --run {}`",
                file.display(),
                plan.run_id,
                plan.network,
                file.display(),
                plan.network,
                file.display(),
                plan.run_id
            );
            let mut regions: Vec<_> = project.entry_points.iter().collect();
            regions.sort();
            for (region, url) in regions {
                println!("  region {region} answers at {url}");
            }
            Ok(exit::PASS)
        }
        Command::Bench { size, out } => bench::run(size, &out).await,
        Command::BenchFleet { base, image, hosts } => {
            bench::fleet_child(&base, &image, hosts).await
        }
        Command::BenchReport { run } => bench::report_child(&run),
        Command::TokenService { config } => crate::run::token_service::serve(&config).await,
        Command::Report { run, baseline } => {
            let baseline = baseline.load()?;
            let path = if run.is_dir() {
                run.join("journal.jsonl")
            } else {
                run.clone()
            };
            let dir = path.parent().unwrap_or(&run);
            let summary = report::render(&path, dir, baseline.as_ref())?;
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
            println!(
                "{}",
                images::ensure(&engine, &images::token_service_recipe()?).await?
            );
            Ok(exit::PASS)
        }
        Command::Images {
            action: ImagesAction::Prune,
        } => {
            let engine = Engine::connect().await?;
            let pruned = images::prune(&engine).await?;
            for tag in &pruned.removed {
                println!("removed {tag}");
            }
            for (tag, why) in &pruned.kept {
                eprintln!("kept {tag}: {why}");
            }
            println!("removed {} outdated helper images", pruned.removed.len());
            Ok(exit::PASS)
        }
    }
}
