//! `drill run`: brings the topology up, seeds it, runs the timeline (cold starts and
//! faults) while probes and hosts record into the journal, verifies every image at the
//! end, heals and tears down — on success, failure, Ctrl-C and SIGTERM alike — and
//! finally judges the journal.

use crate::docker::engine::Engine;
use crate::docker::images::{self, Images};
use crate::fixtures;
use crate::inject::pending::PendingHeals;
use crate::inject::{FaultBook, Injector};
use crate::journal::{
    self, EntryPoint, Event, Journal, Outcome, PhaseKind, RunInfo, ViolationKind,
};
use crate::model::error::{exit, DrillError};
use crate::oci::{self, Mirror};
use crate::plan::{self, Plan, StepPlan};
use crate::report;
use crate::run::conformance;
use crate::run::guardrails::Guardrail;
use crate::run::hosts;
use crate::run::proxy_check;
use crate::run::replication::{self, Ledger, Replicator};
use crate::run::security::Material;
use crate::run::timeline::Control;
use crate::run::topology::{self, Live};
use crate::scenario::{self, CacheState, ImageSource, ReplicationMode, UPSTREAM};
use crate::ui::live::LiveView;
use crate::ui::Console;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How often the live view prints a status line.
const LIVE_EVERY: Duration = Duration::from_secs(5);

/// Probes run this long before the timeline starts, to show the steady state.
const STEADY_STATE_WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where progress lines and bars go.
    pub console: Console,
    /// Set once Ctrl-C, SIGTERM or SIGHUP stopped a run: the scenarios after it are not
    /// started. Clones share it.
    pub interrupted: Interrupted,
    pub seed: Option<u64>,
    /// Leave the topology running after the run (remove it later with `drill clean`).
    pub keep: bool,
    /// Parent folder of the run folder.
    pub out: PathBuf,
    /// An earlier run's summary to compare with (`--baseline`).
    pub baseline: Option<report::Baseline>,
    /// The full-screen dashboard instead of the `live:` lines (stdout is a terminal).
    pub live: bool,
    /// The run folder's name under `out`; `<scenario>-<time>` without.
    pub folder: Option<String>,
}

/// Whether a signal stopped one of the runs these options started.
#[derive(Debug, Clone, Default)]
pub struct Interrupted(Arc<AtomicBool>);

impl Interrupted {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs scenarios one after the other (every file is validated before the first starts)
/// and returns the worst exit code, by [`exit::worst`]'s precedence.
pub async fn run_all(paths: &[PathBuf], opts: &RunOptions) -> Result<u8, DrillError> {
    if let [only] = paths {
        return run(only, opts).await;
    }
    let problems: Vec<String> = paths
        .iter()
        .filter_map(|p| crate::faults::load(p).err().map(|e| e.to_string()))
        .collect();
    if !problems.is_empty() {
        return Err(DrillError::Usage(problems.join("\n")));
    }
    let mut results = Vec::new();
    for path in paths {
        let code = match run(path, opts).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                e.exit_code()
            }
        };
        results.push((path.display().to_string(), code));
        if opts.interrupted.get() {
            break;
        }
    }
    let codes: Vec<u8> = results.iter().map(|(_, c)| *c).collect();
    println!("\n{} scenarios:", results.len());
    for (path, code) in &results {
        println!("  exit {code:<3} {path}");
    }
    for path in paths.iter().skip(results.len()) {
        println!("  not run  {} (interrupted)", path.display());
    }
    let code = exit::worst(&codes);
    println!("exit {code} (the worst: 1 SLA broken > 3 aborted > 4 setup > 5 cleanup > 2 inconclusive > 0 pass)");
    Ok(code)
}

/// Loads a scenario to run it, saying its warnings first.
pub fn load(path: &Path, console: &Console) -> Result<scenario::Scenario, DrillError> {
    let loaded = crate::faults::load(path)?;
    for w in &loaded.warnings {
        console.say(format!("warning: {w}"));
    }
    Ok(loaded.scenario)
}

/// Runs one scenario; returns the exit code its verdict calls for.
pub async fn run(path: &Path, opts: &RunOptions) -> Result<u8, DrillError> {
    let scenario = load(path, &opts.console)?;
    let seed = opts.seed.or(scenario.seed).unwrap_or_else(rand::random);
    let plan = plan::build(&scenario, &plan::new_run_id(), seed);
    run_plan(plan, opts, None).await.map(|(code, _)| code)
}

/// Runs a plan; with `control`, as a game day that lasts until it receives
/// [`Control::Down`]. Returns the exit code and the run folder.
pub async fn run_plan(
    plan: Plan,
    opts: &RunOptions,
    control: Option<mpsc::UnboundedReceiver<Control>>,
) -> Result<(u8, PathBuf), DrillError> {
    let seed = plan.seed;
    let console = &opts.console;
    console.setup_starts();
    console.say(format!(
        "scenario {} (run {}, seed {}): {} containers, {} hosts, {} steps over {}",
        plan.scenario,
        plan.run_id,
        seed,
        plan.container_count(),
        plan.hosts.len(),
        plan.timeline.len(),
        humantime::format_duration(plan.duration)
    ));
    refuse_unrunnable(&plan)?;
    let material = Material::generate(&plan)?;
    let engine = Engine::connect().await?;
    let images = if plan.external.is_some() {
        // Nothing of the topology is built; containerd hosts are refused at validation.
        Images::default()
    } else {
        let building = console.spinner("helper images");
        let images = images::ensure_for(&engine, &plan).await?;
        building.finish_and_clear();
        images
    };
    let dir = run_folder(opts, &plan)?;
    let journal_path = dir.join("journal.jsonl");
    let view = Arc::new(LiveView::default());
    let (journal, writer) = Journal::create(&journal_path, material.secrets(), vec![view.clone()])?;
    journal.record(Event::RunStarted(Box::new(run_info(&plan))));

    let faults = FaultBook::default();
    let injector = Injector {
        engine: engine.clone(),
        run_id: plan.run_id.clone(),
        network: plan.network.clone(),
        toolbox: images.toolbox.clone(),
        blobs: Default::default(),
        proxies: Default::default(),
        upstream: plan.upstream.clone(),
        pending: PendingHeals::in_folder(&dir, &plan.run_id),
    };
    let guard = plan.guardrails.abort_if.map(Guardrail::new);
    let guard_tripped = {
        let guard = guard.clone();
        async move {
            match guard {
                Some(g) => g.tripped().await,
                None => std::future::pending().await,
            }
        }
    };
    // Spawned so that a panic inside becomes an error here and teardown still runs.
    let body = tokio::spawn(execute(
        plan.clone(),
        Parts { images, material },
        injector.clone(),
        journal.clone(),
        faults.clone(),
        guard,
        Driver {
            control,
            dashboard: opts.live,
            view,
            console: console.clone(),
        },
    ));
    let abort = body.abort_handle();
    let result = tokio::select! {
        joined = body => joined.unwrap_or_else(|e| Err(DrillError::setup(format!("internal error: {e}")))),
        reason = shutdown_signal() => {
            opts.interrupted.set();
            abort.abort();
            console.say(format!("{reason}: healing faults and removing the topology"));
            Err(DrillError::Aborted(format!("interrupted by {reason}")))
        }
        reason = guard_tripped => {
            abort.abort();
            console.say(format!("{reason}: healing faults and removing the topology"));
            Err(DrillError::Aborted(reason))
        }
    };

    // The dashboard task may only be dropped later (an abort is asynchronous): give the
    // terminal back before healing and teardown print.
    console.restore();
    faults.heal_all(&injector, &journal).await;
    journal.record(Event::RunFinished {
        outcome: match &result {
            Ok(()) => Outcome::Completed,
            Err(e) => Outcome::Aborted {
                reason: e.to_string(),
            },
        },
    });
    drop(journal);
    writer.finish().await?;

    let cleaned = if opts.keep {
        console.say(format!(
            "--keep: the topology stays up; remove it with `drill clean --run {}`",
            plan.run_id
        ));
        true
    } else {
        teardown(&engine, &plan.run_id, console).await
    };
    if let Err(DrillError::Setup { message, source }) = result {
        return Err(DrillError::Setup {
            message: format!("{message}\n(what was recorded is in {})", dir.display()),
            source,
        });
    }

    let summary = report::render(&journal_path, &dir, opts.baseline.as_ref())?;
    println!("reports: {}", dir.display());
    let code = summary.verdict.status.exit_code();
    let healed = summary
        .analysis
        .faults
        .iter()
        .all(|f| f.heal_ok != Some(false));
    if code == exit::PASS && !(healed && cleaned) {
        // A clean verdict does not hide a fault left unhealed or containers left behind.
        eprintln!("error: the run passed but healing or cleanup failed; see above and run `drill clean --run {}`", plan.run_id);
        return Ok((exit::CLEANUP, dir));
    }
    Ok((code, dir))
}

/// What the journal's first event says of the run.
fn run_info(plan: &Plan) -> RunInfo {
    RunInfo {
        format: journal::FORMAT_VERSION,
        run_id: plan.run_id.clone(),
        scenario: plan.scenario.clone(),
        description: plan.description.clone(),
        seed: plan.seed,
        started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        duration_us: plan.duration.as_micros() as u64,
        probe_interval_us: plan.probes.interval.0.as_micros() as u64,
        regions: plan.region_names(),
        sla: plan.sla.clone(),
        replication: plan.replication.clone(),
        proxies: plan
            .regions
            .iter()
            .filter_map(|r| r.proxy.as_ref())
            .map(|p| (p.name.clone(), p.record()))
            .collect(),
        external: plan.external.is_some(),
    }
}

/// Every command of the timeline's `exec` faults must be runnable before anything starts.
fn refuse_unrunnable(plan: &Plan) -> Result<(), DrillError> {
    let problems: Vec<String> = plan
        .faults()
        .filter_map(|f| match &f.fault {
            crate::faults::Fault::Command(c) => Some((f, c)),
            _ => None,
        })
        .flat_map(|(f, c)| {
            c.commands()
                .into_iter()
                .filter_map(move |(phase, command)| {
                    crate::inject::command::unrunnable(command).map(|why| {
                        format!(
                            "fault #{} {} ({} command): {why}",
                            f.id,
                            f.target,
                            phase.name()
                        )
                    })
                })
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DrillError::setup(format!(
            "the scenario's commands cannot all be run here, so nothing was started:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// Resolves on Ctrl-C or SIGTERM with the signal's name.
/// A closed terminal (SIGHUP) counts too: a run under `--live` cleans up as on Ctrl-C,
/// and progress lines written to the dead terminal are dropped, not fatal.
pub async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let received = |kind: SignalKind| {
        let mut stream = signal(kind).ok();
        async move {
            match stream.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = received(SignalKind::terminate()) => "SIGTERM",
        _ = received(SignalKind::hangup()) => "SIGHUP",
    }
}

/// Removes everything labelled with the run id. Returns false if anything remained.
pub async fn teardown(engine: &Engine, run_id: &str, console: &Console) -> bool {
    let removed = engine.remove_labelled(Some(run_id)).await;
    for e in &removed.errors {
        eprintln!("error: cleanup: {e}");
    }
    console.say(format!(
        "removed {} containers, {} networks, {} volumes",
        removed.containers, removed.networks, removed.volumes
    ));
    removed.errors.is_empty()
}

fn run_folder(opts: &RunOptions, plan: &Plan) -> Result<PathBuf, DrillError> {
    let name = opts
        .folder
        .clone()
        .unwrap_or_else(|| format!("{}-{}", plan.scenario, stamp()));
    let mut dir = opts.out.join(&name);
    if dir.exists() {
        dir = opts.out.join(format!("{name}-{}", plan.run_id));
    }
    std::fs::create_dir_all(&dir).map_err(|e| {
        DrillError::setup(format!(
            "cannot create the run folder {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir)
}

/// The time now for a folder's name: `20261204T131500Z`.
pub fn stamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// What the topology is built from: the helper images, and the certificates and
/// credentials of a secure topology.
struct Parts {
    images: Images,
    material: Material,
}

/// Everything between bring-up and verification. Dropping it (on abort) stops every
/// host and probe it started, since they live in its JoinSets.
async fn execute(
    mut plan: Plan,
    Parts { images, material }: Parts,
    mut injector: Injector,
    journal: Journal,
    faults: FaultBook,
    guard: Option<Guardrail>,
    driver: Driver,
) -> Result<(), DrillError> {
    let console = &driver.console;
    injector.resolve_latency(&mut plan).await?;
    let (mut live, token_services) = bring_up(
        &plan,
        &injector.engine,
        &images,
        &material,
        &journal,
        console,
    )
    .await?;
    let ledger = Ledger::default();
    let seeded = seed(&plan, &live, &journal, &ledger, console).await?;
    let in_regions = seeded
        .iter()
        .zip(&plan.images)
        .find(|(_, spec)| spec.source == ImageSource::Regions)
        .map(|(image, _)| conformance::Sample {
            reference: &image.reference,
            manifest: &image.manifest,
            blob: &image.config,
        });
    conformance::check(&plan, &live, in_regions, &journal, console).await?;
    if plan.proxy_cache == CacheState::Warm {
        console.say("warming the proxies with the upstream images fleets pull through them");
        proxy_check::warm(&plan, &live.entry_points, &journal).await?;
    }
    injector
        .start_proxies(&plan, &mut live.entry_points)
        .await?;
    let replication = Replicator::new(&plan, &live.entry_points, &live.access, &journal, &ledger);
    if plan.replication.mode == ReplicationMode::Async {
        // The run starts from a replicated state; the canaries measure the lag after.
        let failed = replication.replicate_once().await;
        if !failed.is_empty() {
            return Err(DrillError::setup(format!(
                "replicating the seeded images failed: {}",
                failed.join("; ")
            )));
        }
    }
    for step in &plan.timeline {
        if let StepPlan::Fault(f) = &step.what {
            if matches!(
                f.fault.actions().as_slice(),
                [crate::faults::Action::Delay { .. }]
            ) {
                console.say(format!("fault #{}: latency through drill's delaying proxy (no netem here); hosts and probes of {} go through it", f.id, f.regions.join(", ")));
            }
        }
    }
    injector.blobs = seeded
        .iter()
        .map(|s| (s.reference.clone(), (s.config.clone(), s.layers.clone())))
        .collect();

    let stop_probes = CancellationToken::new();
    let auth_probes = auth_probes(&plan, &material, seeded.first().map(|s| &*s.reference))?;
    let watch = Watch {
        live: &live,
        token_services: &token_services,
        auth_probes,
        guard,
        stop: &stop_probes,
    };
    let mut probes = watch.start(&plan, &journal);
    tokio::time::sleep(STEADY_STATE_WINDOW).await;
    journal.record(Event::TimelineStarted);
    console.timeline_starts();
    console.say("timeline started");
    // In the probes' set, so it stops with them, also when the run is aborted.
    show_progress(&mut probes, &plan, &journal, &driver, &stop_probes);
    let digests: HashMap<String, String> = seeded
        .iter()
        .map(|s| (s.reference.clone(), s.manifest.clone()))
        .collect();
    let run = super::timeline::Timeline {
        plan: &plan,
        live: &live,
        injector: &injector,
        faults: &faults,
        journal: &journal,
        console,
        digests,
    };
    run.play(replication, driver.control).await;

    verify(&live, &ledger, &journal, console).await;
    stop_probes.cancel();
    while probes.join_next().await.is_some() {}
    Ok(())
}

/// Brings the topology up and says where each entry point and token service answers;
/// the token services, by name, sorted.
async fn bring_up(
    plan: &Plan,
    engine: &Engine,
    images: &Images,
    material: &Material,
    journal: &Journal,
    console: &Console,
) -> Result<(Live, Vec<(String, String)>), DrillError> {
    let started = Instant::now();
    let live = match &plan.external {
        Some(external) => {
            console.say("the topology is external: drill builds nothing and reaches it at the URLs the scenario declares");
            topology::external(external, material).await?
        }
        None => {
            console.say(format!("bringing up {} containers", plan.container_count()));
            let bringing_up = console.spinner(&format!("{} containers", plan.container_count()));
            let live = topology::up(engine, plan, images, material).await?;
            bringing_up.finish_and_clear();
            live
        }
    };
    journal.record(Event::TopologyUp {
        containers: plan.container_count(),
        entry_points: entry_point_names(plan)
            .into_iter()
            .map(|name| EntryPoint {
                url: live.entry_points[&name].clone(),
                region: name,
            })
            .collect(),
        took_us: started.elapsed().as_micros() as u64,
    });
    for name in entry_point_names(plan) {
        console.say(format!("{name} answers at {}", live.entry_points[&name]));
    }
    let mut token_services: Vec<(String, String)> =
        live.token_services.clone().into_iter().collect();
    token_services.sort();
    for (name, base) in &token_services {
        console.say(format!("token service {name} answers at {base}"));
    }
    Ok((live, token_services))
}

/// What the probes watch, from before the timeline to after verification.
struct Watch<'a> {
    live: &'a Live,
    token_services: &'a [(String, String)],
    auth_probes: Option<hosts::AuthProbes>,
    guard: Option<Guardrail>,
    stop: &'a CancellationToken,
}

impl Watch<'_> {
    /// Starts the availability probes of every entry point and token service, the auth
    /// probes and, for regions with a storage limit, the push probes.
    fn start(self, plan: &Plan, journal: &Journal) -> JoinSet<()> {
        // Guardrails watch the regions' entry points, as the SLA does: an upstream
        // outage is a fault under test, not a reason to abort.
        let regions = plan.region_names();
        // Token services are probed too: a registry with no one to issue its tokens is
        // up and of no use to a host that cold-starts.
        let targets: Vec<hosts::ProbeTarget> =
            hosts::ProbeTarget::entry_points(&self.live.entry_points)
                .into_iter()
                .chain(
                    self.token_services
                        .iter()
                        .map(|(name, base)| hosts::ProbeTarget {
                            name: name.to_string(),
                            base: base.to_string(),
                            token_service: true,
                        }),
                )
                .collect();
        let mut probes = hosts::spawn_probes(
            &targets,
            &plan.probes,
            &self.live.access,
            self.auth_probes,
            journal,
            self.guard.map(|g| (g, regions)),
            self.stop,
        );
        for r in plan.regions.iter().filter(|r| r.storage.is_some()) {
            crate::run::push_probe::spawn(
                &mut probes,
                r.name.clone(),
                self.live.entry_points[&r.name].clone(),
                journal.clone(),
                self.stop.clone(),
                // An upload takes two requests and a write: more than a probe's short
                // timeout.
                {
                    let timeout = plan.probes.timeout.0.max(Duration::from_secs(2));
                    oci::client(timeout, timeout, &self.live.access)
                },
            );
        }
        probes
    }
}

/// The dashboard, or a `live:` line every [`LIVE_EVERY`], until `stop`.
fn show_progress(
    tasks: &mut JoinSet<()>,
    plan: &Plan,
    journal: &Journal,
    driver: &Driver,
    stop: &CancellationToken,
) {
    if driver.dashboard {
        let timeline = crate::ui::dashboard::Timeline::of(plan, driver.control.is_some());
        if let Some(draw) = crate::ui::dashboard::show(
            driver.console.clone(),
            journal.clone(),
            driver.view.clone(),
            timeline,
            stop.clone(),
        ) {
            tasks.spawn(draw);
        }
    } else {
        let stop = stop.clone();
        let view = driver.view.clone();
        let console = driver.console.clone();
        tasks.spawn(async move {
            let mut ticker = crate::model::ticker::Ticker::new(LIVE_EVERY, stop);
            // The first tick is at once: nothing to say yet.
            ticker.next().await;
            while ticker.next().await {
                console.say(view.line());
            }
        });
    }
}

/// How a run is driven and watched.
struct Driver {
    /// Game-day commands; None for a run, which ends with its timeline.
    control: Option<mpsc::UnboundedReceiver<Control>>,
    /// The full-screen dashboard instead of `live:` lines.
    dashboard: bool,
    /// What the live lines or the dashboard show: the journal's observer.
    view: Arc<LiveView>,
    console: Console,
}

/// An image as pushed: what storage faults need.
struct SeededImage {
    reference: String,
    manifest: String,
    config: String,
    layers: Vec<String>,
}

/// Every entry point of the topology: the regions', then the proxies' and the upstream's.
/// What the intruders try, in a secure topology: the first seeded image (the content
/// the credentials protect) on every region's entry point, anonymously and with a wrong
/// password; on token regions with a forged token too.
fn auth_probes(
    plan: &Plan,
    material: &Material,
    reference: Option<&str>,
) -> Result<Option<hosts::AuthProbes>, DrillError> {
    let (Some(credentials), Some(reference)) = (material.credentials.as_ref(), reference) else {
        return Ok(None);
    };
    // An external registry may serve anonymous pulls by design: its intruders are
    // tried only when the SLA asks to judge them.
    if plan.external.is_some() && plan.sla.auth.is_none() {
        return Ok(None);
    }
    let token_regions: Vec<String> = plan
        .regions
        .iter()
        .filter(|r| r.token_service.is_some())
        .map(|r| r.name.clone())
        .collect();
    let forged = if token_regions.is_empty() {
        None
    } else {
        let repository = fixtures::split_reference(reference).0;
        // Valid longer than any run or game day can last (the journal's bound): refused
        // for its signature, never its age.
        let valid = crate::model::limits::MAX_US / 1_000_000;
        let token = crate::oci::token::forge(repository, crate::oci::token::unix_now(), valid)
            .map_err(|e| DrillError::setup_from("cannot forge the intruder's token", e))?;
        Some((token, token_regions))
    };
    Ok(Some(hosts::AuthProbes {
        reference: reference.to_string(),
        wrong: credentials.wrong(),
        entry_points: plan.region_names(),
        forged,
    }))
}

fn entry_point_names(plan: &Plan) -> Vec<String> {
    let regions = plan.region_names().into_iter();
    let proxies = plan
        .regions
        .iter()
        .filter_map(|r| r.proxy.as_ref().map(|p| p.name.clone()));
    let upstream = plan.upstream.as_ref().map(|_| UPSTREAM.to_string());
    regions.chain(proxies).chain(upstream).collect()
}

/// Where images of a source are seeded: the regions the replication mode pushes to
/// (every region, or the primary), or the upstream.
fn homes(plan: &Plan, source: ImageSource) -> Vec<String> {
    match source {
        ImageSource::Regions => plan
            .region_names()
            .into_iter()
            .filter(|r| plan.replication.pushes_to(r))
            .collect(),
        ImageSource::Upstream => vec![UPSTREAM.to_string()],
    }
}

/// Generates the scenario's images and pushes each to its homes: every region (or the
/// primary when the replication mode says so), or, for `source: upstream`, the upstream
/// only (through its fault point, which passes everything until a fault says otherwise).
async fn seed(
    plan: &Plan,
    live: &Live,
    journal: &Journal,
    ledger: &Ledger,
    console: &Console,
) -> Result<Vec<SeededImage>, DrillError> {
    let (images, seed) = (plan.images.clone(), plan.seed);
    let made = tokio::task::spawn_blocking(move || {
        images
            .iter()
            .filter(|i| !i.existing)
            .map(|i| fixtures::generate(i, seed))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| DrillError::setup(format!("generating images failed: {e}")))?;
    let client = &oci::client(
        Duration::from_secs(5),
        Duration::from_secs(120),
        &live.access,
    );
    let mut made = made.into_iter();
    let mut generated = Vec::new();
    for spec in &plan.images {
        generated.push(if spec.existing {
            existing(client, plan, live, &spec.reference, console).await?
        } else {
            made.next()
                .expect("one generated image per image not existing")
        });
    }
    let total: u64 = generated
        .iter()
        .zip(&plan.images)
        .filter(|(_, spec)| !spec.existing)
        .map(|(g, _)| g.total_bytes())
        .sum();
    console.say(format!(
        "seeding {} images ({:.1} MiB) into {}{}",
        generated.len(),
        total as f64 / 1048576.0,
        homes(plan, ImageSource::Regions).join(", "),
        if plan.upstream.is_some() {
            " and the upstream"
        } else {
            ""
        }
    ));
    let seeds: usize = plan
        .images
        .iter()
        .map(|spec| homes(plan, spec.source).len())
        .sum();
    let bar = &console.bar(seeds as u64, "seeding");
    let pushes = generated.iter().zip(&plan.images).flat_map(|(img, spec)| {
        homes(plan, spec.source)
            .into_iter()
            .map(move |home| async move {
                let base = &live.entry_points[&home];
                let reference = format!("{}:{}", img.repository, img.tag);
                // A registry drill did not build holds a team's images: a tag there that
                // resolves to something else is theirs, never overwritten.
                if plan.external.is_some() && !spec.existing {
                    if let Some(there) = oci::resolve(client, base, &reference).await {
                        if there != img.manifest.digest {
                            return Err(DrillError::setup(format!(
                                "{reference} already exists in region {home} as {there}, which drill would overwrite with generated content: mark it `existing: true`, or give drill a reference of its own"
                            )));
                        }
                    }
                }
                if !spec.existing {
                    oci::push(client, base, img).await.map_err(|e| {
                        DrillError::setup_from(
                            format!("seeding {}:{} into {home} failed", img.repository, img.tag),
                            e,
                        )
                    })?;
                }
                ledger.acknowledged(&reference, &img.manifest.digest, &home);
                journal.record(Event::ImageSeeded {
                    image: reference,
                    region: home,
                    digest: img.manifest.digest.clone(),
                    bytes: img.total_bytes(),
                });
                bar.inc(1);
                Ok::<(), DrillError>(())
            })
    });
    for r in futures_util::future::join_all(pushes).await {
        r?;
    }
    bar.finish_and_clear();
    Ok(generated
        .iter()
        .map(|g| SeededImage {
            reference: format!("{}:{}", g.repository, g.tag),
            manifest: g.manifest.digest.clone(),
            config: g.config.digest.clone(),
            layers: g.layers.iter().map(|l| l.digest.clone()).collect(),
        })
        .collect())
}

/// An image already in an external topology, pulled whole (every blob checked against
/// its digest) from each region that should hold it; the regions must serve the same
/// manifest, which the run then holds them to.
async fn existing(
    client: &oci::Client,
    plan: &Plan,
    live: &Live,
    reference: &str,
    console: &Console,
) -> Result<fixtures::TestImage, DrillError> {
    let mut found: Option<(String, fixtures::TestImage)> = None;
    for home in homes(plan, ImageSource::Regions) {
        let image = oci::fetch_image(client, &live.entry_points[&home], reference)
            .await
            .map_err(|e| {
                DrillError::setup_from(
                    format!("existing image {reference} cannot be pulled whole from region {home}; push it there first, or remove `existing`"),
                    e,
                )
            })?;
        match &found {
            Some((first, seen)) if seen.manifest.digest != image.manifest.digest => {
                return Err(DrillError::setup(format!(
                    "existing image {reference} is {} in region {first} but {} in region {home}: the regions do not hold the same image, so the run would have nothing to hold them to",
                    seen.manifest.digest, image.manifest.digest
                )));
            }
            Some(_) => {}
            None => {
                console.say(format!(
                    "existing image {reference}: {} ({:.1} MiB)",
                    image.manifest.digest,
                    image.total_bytes() as f64 / 1048576.0
                ));
                found = Some((home, image));
            }
        }
    }
    found.map(|(_, image)| image).ok_or_else(|| {
        DrillError::setup(format!(
            "existing image {reference}: no region is pushed to"
        ))
    })
}

/// Pulls every image of the run back from every region that acknowledged it (seeded,
/// canary or copied), verifying each blob and that the tag still resolves to the
/// digest last pushed: the integrity check the data-loss SLA judges.
async fn verify(live: &Live, ledger: &Ledger, journal: &Journal, console: &Console) {
    console.say("verifying every image in every region that should hold it");
    let client = oci::client(
        Duration::from_secs(2),
        Duration::from_secs(60),
        &live.access,
    );
    let writes = ledger.writes();
    for (region, writes) in replication::expected_holdings(&writes) {
        let Some(base) = live.entry_points.get(&region) else {
            continue;
        };
        let mirror = [Mirror {
            region: region.clone(),
            base: base.clone(),
        }];
        // A region healed at the very end may need a moment to answer again.
        let _ = topology::wait_ready(&client, &region, base).await;
        for w in writes {
            let outcome = oci::pull(&client, &mirror, &w.reference, 3).await;
            let served = outcome
                .phases
                .iter()
                .find(|p| p.phase == PhaseKind::Manifest)
                .map(|p| p.digest.as_str());
            // The tag must still resolve to the manifest drill pushed, not just to a valid one.
            let (violation, error) = match (served, outcome.error.map(|e| e.to_string())) {
                (Some(d), _) if d != w.digest => (
                    Some(ViolationKind::TagMoved),
                    Some(format!("tag now points to {d}, pushed {}", w.digest)),
                ),
                (None, Some(e)) => (Some(ViolationKind::Missing), Some(e)),
                (Some(_), Some(e)) => (Some(ViolationKind::BadBlob), Some(e)),
                (_, None) => (None, None),
            };
            journal.record(Event::Verified {
                region: region.clone(),
                image: w.reference.clone(),
                ok: error.is_none(),
                error,
                digest: Some(w.digest.clone()),
                violation,
            });
        }
    }
}
