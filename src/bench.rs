//! `drill bench`: shows, on this machine, that drill is not the bottleneck of what it
//! measures. One invocation runs five parts against real parts (the distribution
//! registry, haproxy, containerd, the Docker engine, docker-compose, skopeo):
//!
//! 1. the pull path, drill's client against the tools a user would otherwise use;
//! 2. bring-up and teardown, drill against docker-compose;
//! 3. fleet scale: native fleets cold-pulling, drill's CPU and memory against the registry's;
//! 4. analysis: a synthetic journal rendered to every report;
//! 5. accuracy: measured recovery against a known outage.
//!
//! Everything it creates carries `drill.run=<id>` and is removed at the end, on failure
//! and on Ctrl-C. It writes `bench.json` and `bench.md` into its folder and prints the
//! table.

mod accuracy;
mod bringup;
mod fleet;
mod pull;
mod synthetic;
mod tool;
mod usage;

pub use fleet::child as fleet_child;

use crate::docker::engine::{free_loopback_port, ContainerSpec, Engine};
use crate::docker::images;
use crate::fixtures::{self, TestImage};
use crate::model::error::{exit, DrillError};
use crate::oci;
use crate::plan::{self, ImagePlan, REGISTRY_PORT};
use crate::run::runner::{shutdown_signal, teardown};
use crate::run::topology;
use crate::ui::Console;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Version of `bench.json`.
pub const BENCH_FORMAT: u32 = 1;

const MIB: u64 = 1 << 20;

/// How much `drill bench` does.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// About half a minute: small images, one run each, 20 hosts, 20,000 events (CI).
    Tiny,
    /// A few minutes: 32 MiB images, 3 runs, fleets of 100 and 1,000, 200,000 events.
    Small,
    /// The numbers: 100 MiB and 20 × 5 MiB images, 5 runs, fleets of 100, 1,000
    /// and 5,000, 1,000,000 events, 5 outages.
    Full,
}

struct Params {
    pull_runs: usize,
    /// Layer sizes of the two pull images.
    big: Vec<u64>,
    many: Vec<u64>,
    bringup_runs: usize,
    /// The bring-up topology (a scenario's `topology:` regions).
    bringup_regions: &'static str,
    fleets: Vec<usize>,
    small_image: Vec<u64>,
    events: usize,
    outages: usize,
    outage: Duration,
}

impl Size {
    fn params(self) -> Params {
        // 2 regions × 2 zones × 2 nodes + 2 load balancers: 10 containers.
        const TEN: &str = "
    - { name: eu, zones: [eu-a, eu-b], nodes_per_zone: 2 }
    - { name: us, zones: [us-a, us-b], nodes_per_zone: 2 }";
        match self {
            Size::Tiny => Params {
                pull_runs: 1,
                big: vec![8 * MIB],
                many: vec![MIB / 2; 4],
                bringup_runs: 1,
                bringup_regions: "
    - { name: eu, zones: [eu-a] }",
                fleets: vec![20],
                small_image: vec![256 << 10],
                events: 20_000,
                outages: 1,
                outage: Duration::from_secs(1),
            },
            Size::Small => Params {
                pull_runs: 3,
                big: vec![32 * MIB],
                many: vec![2 * MIB; 10],
                bringup_runs: 1,
                bringup_regions: TEN,
                fleets: vec![100, 1000],
                small_image: vec![256 << 10],
                events: 200_000,
                outages: 3,
                outage: Duration::from_secs(2),
            },
            Size::Full => Params {
                pull_runs: 5,
                big: vec![100 * MIB],
                many: vec![5 * MIB; 20],
                bringup_runs: 3,
                bringup_regions: TEN,
                fleets: vec![100, 1000, 5000],
                small_image: vec![256 << 10],
                events: 1_000_000,
                outages: 5,
                outage: Duration::from_secs(3),
            },
        }
    }
}

/// The whole result: `bench.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    pub format: u32,
    pub size: Size,
    /// Every run id the benchmark labelled objects with (`drill clean --run ID`).
    pub run_ids: Vec<String>,
    pub machine: Machine,
    pub pull: Vec<pull::ImageTimes>,
    pub bringup: bringup::BringUp,
    pub fleet: Vec<fleet::FleetRun>,
    pub analysis: AnalysisRun,
    pub accuracy: accuracy::Accuracy,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    /// `release` or `debug`: how this drill was built.
    pub build: String,
    pub started_at: String,
}

/// `drill report` on a synthetic journal, in a child process of its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalysisRun {
    pub events: usize,
    pub journal_mib: f64,
    pub seconds: f64,
    pub cpu_s: f64,
    pub peak_rss_mib: f64,
    /// The report files `drill report` wrote.
    pub reports: Vec<String>,
}

/// One of the targets and whether this run met it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    /// None when it could not be measured here (a tool missing, a smaller size).
    pub met: Option<bool>,
}

/// Runs the benchmark and writes its results under `out/bench-<timestamp>/`.
pub async fn run(size: Size, out: &Path, console: &Console) -> Result<u8, DrillError> {
    let engine = Engine::connect().await?;
    let images = images::ensure_all(&engine).await?;
    let run_id = plan::new_run_id();
    let stamp: String = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let dir = out.join(format!("bench-{stamp}-{run_id}"));
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).map_err(|e| {
        DrillError::setup(format!(
            "cannot create the folder {}: {e}",
            scratch.display()
        ))
    })?;
    console.say(format!(
        "drill bench, size {size:?} (run {run_id}): results in {}",
        dir.display()
    ));
    // Every run id the benchmark labels objects with: removed at the end, whatever happens.
    let ids = Arc::new(Mutex::new(vec![run_id.clone()]));
    let docker_refs = Arc::new(Mutex::new(Vec::new()));
    let ctx = Ctx {
        docker_refs: docker_refs.clone(),
        engine: engine.clone(),
        images,
        run_id: run_id.clone(),
        network: format!("drill-{run_id}"),
        scratch: scratch.clone(),
        ids: ids.clone(),
        console: console.clone(),
    };
    let body = ctx.all(size);
    let result = tokio::select! {
        r = body => r,
        reason = shutdown_signal() => Err(DrillError::Aborted(format!("interrupted by {reason}"))),
    };
    let mut cleaned = true;
    let all_ids = ids.lock().expect("ids lock").clone();
    for id in all_ids.iter().rev() {
        cleaned &= teardown(&engine, id, console).await;
    }
    // The only images the benchmark puts in the engine's store: gone whatever happened.
    let refs = docker_refs.lock().expect("refs lock").clone();
    for reference in refs {
        if let Err(e) = engine.remove_image(&reference).await {
            eprintln!("warning: {e}");
            cleaned = false;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let mut result = result?;
    result.run_ids = all_ids.clone();
    let json = serde_json::to_string_pretty(&result).expect("plain data serializes") + "\n";
    let md = markdown(&result);
    for (name, text) in [("bench.json", &json), ("bench.md", &md)] {
        std::fs::write(dir.join(name), text).map_err(|e| {
            DrillError::setup(format!("cannot write {}: {e}", dir.join(name).display()))
        })?;
    }
    println!("{md}");
    println!("wrote {}", dir.display());
    if !cleaned {
        return Err(DrillError::Cleanup(format!(
            "some of the benchmark's objects could not be removed; run `drill clean --run ID` for each of: {}",
            all_ids.join(", ")
        )));
    }
    Ok(exit::PASS)
}

/// The two images of the pull path: one big layer, many small ones.
fn pull_images(size: Size, seed: u64) -> Vec<TestImage> {
    let p = size.params();
    [
        ("bench/one-layer:1", p.big),
        ("bench/many-layers:1", p.many),
    ]
    .into_iter()
    .map(|(reference, layers)| fixtures::generate(&ImagePlan::generated(reference, layers), seed))
    .collect()
}

struct Ctx {
    engine: Engine,
    images: images::Images,
    run_id: String,
    network: String,
    scratch: PathBuf,
    ids: Arc<Mutex<Vec<String>>>,
    /// What `docker pull` may leave in the engine's image store.
    docker_refs: Arc<Mutex<Vec<String>>>,
    console: Console,
}

impl Ctx {
    async fn all(&self, size: Size) -> Result<BenchResult, DrillError> {
        let p = size.params();
        let engine = &self.engine;
        engine.create_network(&self.network, &self.run_id).await?;
        let registry = format!("{}-registry", self.network);
        let port = free_loopback_port()?;
        let spec = ContainerSpec {
            name: registry.clone(),
            image: self.images.registry.clone(),
            network: self.network.clone(),
            publish: Some((REGISTRY_PORT, port)),
            labels: vec![("drill.role".into(), "registry".into())],
            ..Default::default()
        };
        engine.create_container(&self.run_id, &spec).await?;
        engine.start(&registry).await?;
        let base = format!("http://127.0.0.1:{port}");
        let client = oci::client(
            Duration::from_secs(5),
            Duration::from_secs(300),
            &crate::oci::Access::default(),
        );
        topology::wait_ready(&client, "bench", &base).await?;

        self.console
            .say("generating and pushing the pull-path images");
        let pulled = tokio::task::spawn_blocking(move || pull_images(size, 1))
            .await
            .map_err(|e| DrillError::setup(format!("generating images failed: {e}")))?;
        let small = fixtures::generate(
            &ImagePlan::generated("bench/small:1", p.small_image.clone()),
            1,
        );
        self.docker_refs.lock().expect("refs lock").extend(
            pulled
                .iter()
                .map(|i| format!("127.0.0.1:{port}/{}:{}", i.repository, i.tag)),
        );
        for img in pulled.iter().chain([&small]) {
            oci::push(&client, &base, img)
                .await
                .map_err(|e| DrillError::setup(format!("pushing {}: {e}", img.repository)))?;
        }

        self.console.say(format!(
            "1/5 pull path: {} runs of each tool on each image, interleaved",
            p.pull_runs
        ));
        let setup = pull::Setup {
            engine,
            run_id: &self.run_id,
            network: &self.network,
            authority: format!("127.0.0.1:{port}"),
            registry: &registry,
            scratch: &self.scratch,
        };
        let pull = pull::run(&setup, &pulled, p.pull_runs).await;
        drop(pulled);

        self.console
            .say("2/5 bring-up and teardown: drill against docker-compose");
        let topo = crate::faults::parse(&format!(
            "name: bench-bringup\nduration: 1s\ntopology:\n  regions:{}\nimages:\n  - {{ ref: bench/app:1, layers: [1KiB] }}\n",
            p.bringup_regions
        ))
        .map_err(|problems| {
            DrillError::setup(format!("the bring-up scenario is invalid: {problems:?}"))
        })?;
        let plan_for = || {
            let id = plan::new_run_id();
            self.ids.lock().expect("ids lock").push(id.clone());
            plan::build(&topo, &id, 1)
        };
        let bringup = bringup::run(
            engine,
            &self.images,
            plan_for,
            p.bringup_runs,
            &self.scratch,
            &self.console,
        )
        .await?;

        // Straight to the registry's address on the benchmark's own network: with
        // thousands of connections at once, the engine's userland proxy behind a
        // 127.0.0.1 port gives out before drill or the registry (it stopped listening
        // at 5,000 hosts here), and the point is which of those two saturates first.
        let direct = engine
            .address(&registry, &self.network)
            .await?
            .map(|ip| format!("http://{ip}:{REGISTRY_PORT}"))
            .ok_or_else(|| DrillError::setup("the registry has no address on its network"))?;
        let mut fleets = Vec::new();
        for &hosts in &p.fleets {
            let what = format!("3/5 fleet scale: {hosts} native hosts cold-pull bench/small:1");
            self.console.say(what);
            fleets.push(
                fleet::measure(
                    engine,
                    &registry,
                    &direct,
                    "bench/small:1",
                    small.total_bytes(),
                    hosts,
                )
                .await?,
            );
        }

        self.console.say(format!(
            "4/5 analysis: {} journal events to every report",
            p.events
        ));
        let analysis = analysis_run(p.events, &self.scratch).await?;

        self.console.say(format!(
            "5/5 accuracy: {} outages of {}s",
            p.outages,
            p.outage.as_secs()
        ));
        let accuracy = accuracy::run(
            engine,
            &self.run_id,
            &self.network,
            &self.images.registry,
            p.outages,
            p.outage,
            &self.scratch,
        )
        .await?;

        let mut result = BenchResult {
            format: BENCH_FORMAT,
            size,
            run_ids: Vec::new(),
            machine: machine(),
            pull,
            bringup,
            fleet: fleets,
            analysis,
            accuracy,
            targets: Vec::new(),
        };
        result.targets = targets(&result);
        Ok(result)
    }
}

/// `drill bench-report`: what `drill report <dir>` does, then this process's peak memory
/// as the last line on stderr (JSON), for [`analysis_run`].
pub fn report_child(dir: &Path) -> Result<u8, DrillError> {
    let summary = crate::report::render(&dir.join("journal.jsonl"), dir, None)?;
    eprintln!(
        "{}",
        serde_json::json!({ "peak_rss_bytes": usage::peak_rss_bytes() })
    );
    Ok(summary.verdict.status.exit_code())
}

/// Writes a synthetic journal and times `drill report` on it in a child process.
async fn analysis_run(events: usize, scratch: &Path) -> Result<AnalysisRun, DrillError> {
    let dir = scratch.join("analysis");
    std::fs::create_dir_all(&dir)
        .map_err(|e| DrillError::setup(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("journal.jsonl");
    let sla = crate::faults::parse(SYNTHETIC_SLA)
        .map_err(|p| DrillError::setup(format!("the synthetic SLA is invalid: {p:?}")))?
        .sla;
    let journal = path.clone();
    let bytes = tokio::task::spawn_blocking(move || synthetic::write(&journal, events, sla))
        .await
        .map_err(|e| DrillError::setup(format!("writing the synthetic journal failed: {e}")))?
        .map_err(|e| DrillError::setup(format!("cannot write {}: {e}", path.display())))?;
    let exe = std::env::current_exe()
        .map_err(|e| DrillError::setup(format!("cannot find drill's own binary: {e}")))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("bench-report").arg(&dir);
    let m = tokio::task::spawn_blocking(move || usage::measure(cmd))
        .await
        .map_err(|e| DrillError::setup(format!("drill report failed: {e}")))?
        .map_err(|e| DrillError::setup(format!("cannot start drill report: {e}")))?;
    let reports: Vec<String> = crate::report::REPORT_FILES
        .iter()
        .filter(|f| dir.join(f).exists())
        .map(|f| f.to_string())
        .collect();
    if reports.len() != crate::report::REPORT_FILES.len() {
        return Err(DrillError::setup(format!(
            "drill report on the synthetic journal wrote only {reports:?} (exit {:?}): {}",
            m.code,
            String::from_utf8_lossy(&m.stderr).trim()
        )));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let peak = String::from_utf8_lossy(&m.stderr)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["peak_rss_bytes"].as_u64())
        .ok_or_else(|| DrillError::setup("drill bench-report did not report its peak memory"))?;
    Ok(AnalysisRun {
        events,
        journal_mib: bytes as f64 / MIB as f64,
        seconds: m.wall.as_secs_f64(),
        cpu_s: m.cpu.as_secs_f64(),
        peak_rss_mib: peak as f64 / MIB as f64,
        reports,
    })
}

/// The SLA the synthetic journal declares, so that every check is judged and rendered.
const SYNTHETIC_SLA: &str = "
name: synthetic
duration: 1h
topology: { regions: [{ name: eu, zones: [eu-a] }] }
images: [{ ref: a/b:1, layers: [1KiB] }]
sla:
  availability: { min: 99%, per: region, window: 10s }
  cold_pull: { p50: 2s, p99: 5s }
  recovery: { max: 30s }
";

fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1048576.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Machine {
        cores,
        memory_gib: (memory_gib * 10.0).round() / 10.0,
        kernel,
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
        started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    }
}

/// The median of some samples; None without any.
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// The targets, judged on this run's numbers.
fn targets(r: &BenchResult) -> Vec<Target> {
    let mut out = Vec::new();
    for img in &r.pull {
        let drill = img.median(pull::Tool::Drill);
        let skopeo = img.median(pull::Tool::Skopeo);
        let raw = img.median(pull::Tool::Raw);
        out.push(Target {
            name: format!("{}: drill vs skopeo copy", img.image),
            goal: "≥ 2× faster".into(),
            measured: ratio_text(skopeo.zip(drill).map(|(s, d)| s / d), "× faster"),
            met: skopeo.zip(drill).map(|(s, d)| s / d >= 2.0),
        });
        out.push(Target {
            name: format!("{}: drill vs raw GET", img.image),
            goal: "within 1.5×".into(),
            measured: ratio_text(drill.zip(raw).map(|(d, w)| d / w), "× the raw GET"),
            met: drill.zip(raw).map(|(d, w)| d / w <= 1.5),
        });
    }
    out.push(Target {
        name: format!(
            "bring-up + teardown of {} containers vs docker-compose",
            r.bringup.containers
        ),
        goal: "≤ 0.5×".into(),
        measured: ratio_text(r.bringup.ratio, "×"),
        met: r.bringup.ratio.map(|x| x <= 0.5),
    });
    if let Some(f) = r.fleet.iter().max_by_key(|f| f.hosts) {
        out.push(Target {
            name: format!("{} hosts in one process: peak memory", f.hosts),
            goal: "< 1 GiB".into(),
            measured: format!("{:.0} MiB", f.drill_peak_rss_mib),
            met: (f.hosts >= 5000).then_some(f.drill_peak_rss_mib < 1024.0),
        });
    }
    let drill_first: Vec<usize> = r
        .fleet
        .iter()
        .filter(|f| f.saturated_first == "drill")
        .map(|f| f.hosts)
        .collect();
    out.push(Target {
        name: "fleets: the first to saturate".into(),
        goal: "never drill".into(),
        measured: if drill_first.is_empty() {
            "the registry, at every size".into()
        } else {
            format!("drill, at {drill_first:?} hosts")
        },
        met: (!r.fleet.is_empty()).then_some(drill_first.is_empty()),
    });
    out.push(Target {
        name: format!("{} journal events to every report", r.analysis.events),
        goal: "< 3 s for 1,000,000".into(),
        measured: format!("{:.2} s", r.analysis.seconds),
        met: (r.analysis.events >= 1_000_000).then_some(r.analysis.seconds < 3.0),
    });
    let limit = 2.0 * r.accuracy.probe_interval_s;
    out.push(Target {
        name: "recovery time vs the true outage".into(),
        goal: format!("within {limit:.1} s (twice the probe interval)"),
        measured: r
            .accuracy
            .max_abs_error_s
            .map_or("not measured".into(), |e| format!("at most {e:.3} s off")),
        met: r.accuracy.max_abs_error_s.map(|e| e <= limit),
    });
    out
}

fn ratio_text(x: Option<f64>, unit: &str) -> String {
    x.map_or("not measured".into(), |x| format!("{x:.2}{unit}"))
}

fn secs(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.3} s"))
}

/// The Markdown tables printed and written to `bench.md`.
pub fn markdown(r: &BenchResult) -> String {
    let m = &r.machine;
    let mut out = format!(
        "## drill bench ({:?} size, {} build)\n\n{} cores, {} GiB, Linux {}, {}\n\n",
        r.size, m.build, m.cores, m.memory_gib, m.kernel, m.started_at
    );
    out.push_str("### Pull path (cold, median of the runs, interleaved; ratio to the raw GET)\n\n");
    out.push_str("| image | runs |");
    for t in pull::Tool::ALL {
        let _ = write!(out, " {} |", t.name());
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(pull::Tool::ALL.len()));
    out.push('\n');
    for img in &r.pull {
        let runs = img
            .tools
            .iter()
            .map(|t| t.samples_s.len())
            .max()
            .unwrap_or(0);
        let _ = write!(
            out,
            "| {} ({} layers, {:.1} MiB) | {runs} |",
            img.image,
            img.layers,
            img.bytes as f64 / MIB as f64
        );
        for t in &img.tools {
            let cell = match (t.median_s, t.ratio_to_raw) {
                (Some(m), Some(x)) if t.status == "ok" => format!("{m:.3} s ({x:.2}×)"),
                _ => t.status.clone(),
            };
            let _ = write!(out, " {} |", cell.replace('|', "/"));
        }
        out.push('\n');
    }
    let b = &r.bringup;
    let _ = write!(
        out,
        "\n### Bring-up and teardown ({} containers, until every entry point answers; median of {})\n\n| | up | down | total |\n|---|---|---|---|\n",
        b.containers, b.runs
    );
    for (who, t, status) in [
        ("drill", &b.drill, "ok"),
        ("docker-compose", &b.compose, b.compose_status.as_str()),
    ] {
        match t {
            Some(t) => {
                let _ = writeln!(
                    out,
                    "| {who} | {} | {} | {} |",
                    secs(Some(t.up_s)),
                    secs(Some(t.down_s)),
                    secs(Some(t.total_s))
                );
            }
            None => {
                let _ = writeln!(out, "| {who} | {status} | | |");
            }
        }
    }
    let _ = writeln!(
        out,
        "\ndrill / docker-compose: {}",
        ratio_text(b.ratio, "×")
    );
    out.push_str("\n### Fleet scale (native hosts, one wave, one small image)\n\n| hosts | image | pulls/s | wave | cold start p50 / max | failed | drill CPU | drill cores | drill peak memory | registry CPU | registry cores | saturated first |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for f in &r.fleet {
        let _ = writeln!(
            out,
            "| {} | {:.0} KiB | {:.0} | {:.2} s | {:.2} s / {:.2} s | {} | {:.2} s | {:.2} | {:.0} MiB | {:.2} s | {:.2} | {} |",
            f.hosts,
            f.image_bytes as f64 / 1024.0,
            f.pulls_per_s,
            f.wall_s,
            f.cold_start_p50_s,
            f.cold_start_max_s,
            f.cold_starts_failed,
            f.drill_cpu_s,
            f.drill_cores,
            f.drill_peak_rss_mib,
            f.registry_cpu_s,
            f.registry_cores,
            f.saturated_first
        );
    }
    let a = &r.analysis;
    let _ = write!(
        out,
        "\n### Analysis (`drill report` in a child process)\n\n| events | journal | wall | CPU | peak memory |\n|---|---|---|---|---|\n| {} | {:.0} MiB | {:.2} s | {:.2} s | {:.0} MiB |\n",
        a.events, a.journal_mib, a.seconds, a.cpu_s, a.peak_rss_mib
    );
    let c = &r.accuracy;
    let _ = write!(
        out,
        "\n### Accuracy (registry killed for {:.0} s, probes every {:.0} ms)\n\n| outage | true | drill measured | error |\n|---|---|---|---|\n",
        c.outage_s,
        c.probe_interval_s * 1000.0
    );
    for (i, o) in c.outages.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {:.3} s | {:.3} s | {:+.3} s |",
            i + 1,
            o.true_s,
            o.measured_s,
            o.error_s
        );
    }
    out.push_str("\n### Targets\n\n| target | goal | measured | met |\n|---|---|---|---|\n");
    for t in &r.targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not at this size",
        };
        let _ = writeln!(out, "| {} | {} | {} | {met} |", t.name, t.goal, t.measured);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
