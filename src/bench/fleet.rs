//! Fleet scale: one wave of native hosts cold-pulling a small image, run by a child
//! `drill` process (`drill bench-fleet`) so that its CPU time and peak memory are the
//! fleet's alone, while the registry's CPU time is read from the engine.

use super::usage;
use crate::docker::engine::Engine;
use crate::journal::{self, Event, Journal};
use crate::model::error::DrillError;
use crate::model::units::Span;
use crate::plan::HostPlan;
use crate::run::hosts::Fleet;
use crate::scenario::{HostKind, Timeouts};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A wave that has not finished by then is stopped and its unfinished cold starts
/// counted as failed.
const WAVE_LIMIT: Duration = Duration::from_secs(300);

/// What the child reports on stdout (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaveOutcome {
    pub hosts: usize,
    pub cold_starts_ok: usize,
    pub cold_starts_failed: usize,
    pub pulls_ok: usize,
    pub pulls_failed: usize,
    /// From the wave's start to the end of its last cold start.
    pub wall_s: f64,
    /// The cold starts' p50 and max, seconds.
    pub cold_start_p50_s: f64,
    pub cold_start_max_s: f64,
    /// The child's own peak resident memory.
    pub peak_rss_bytes: u64,
}

/// `drill bench-fleet`: `hosts` native hosts, each with its own connection pool and
/// empty cache, cold-start at once and pull `image` from `base`, as in a run (the same
/// fleet code, the same journal). Prints a [`WaveOutcome`] as JSON.
pub async fn child(base: &str, image: &str, hosts: usize) -> Result<u8, DrillError> {
    usage::raise_fd_limit();
    let engine = Engine::connect().await?;
    let dir = tempfile_dir()?;
    let path = dir.join("journal.jsonl");
    let (journal, writer) = Journal::create(&path, Vec::new(), Vec::new())?;
    let plans: Vec<HostPlan> = (0..hosts)
        .map(|i| HostPlan {
            name: format!("bench-{i}"),
            fleet: "bench".into(),
            region: "bench".into(),
            zone: "bench-a".into(),
            mirrors: vec!["bench".into()],
            pull: vec![image.to_string()],
            timeouts: Timeouts {
                connect: Span(Duration::from_secs(10)),
                request: Span(Duration::from_secs(120)),
            },
            parallel_layers: 3,
            backoff: crate::model::backoff::Backoff::Fixed(Duration::from_secs(1)),
            kind: HostKind::Native,
            container: None,
        })
        .collect();
    let entry_points = HashMap::from([("bench".to_string(), base.to_string())]);
    let mut fleet = Fleet::new(
        &plans,
        &entry_points,
        vec![Vec::new(); hosts],
        &crate::oci::Access::default(),
        engine,
        journal.clone(),
    );
    let started = Instant::now();
    fleet.cold_start(1, &(0..hosts).collect::<Vec<_>>(), Duration::ZERO);
    let _ = tokio::time::timeout(WAVE_LIMIT, fleet.settle()).await;
    let wall = started.elapsed();
    fleet.stop().await;
    drop(journal);
    writer.finish().await?;
    // The wave's own peak, before the journal is read back to count its outcomes.
    let peak_rss_bytes = usage::peak_rss_bytes();
    let loaded = journal::read(&path)?;
    let _ = std::fs::remove_dir_all(&dir);
    let mut out = WaveOutcome {
        hosts,
        cold_starts_ok: 0,
        cold_starts_failed: 0,
        pulls_ok: 0,
        pulls_failed: 0,
        wall_s: wall.as_secs_f64(),
        cold_start_p50_s: 0.0,
        cold_start_max_s: 0.0,
        peak_rss_bytes,
    };
    let mut durations = Vec::new();
    for r in &loaded.records {
        match &r.event {
            Event::Pull(p) if p.ok => out.pulls_ok += 1,
            Event::Pull(_) => out.pulls_failed += 1,
            Event::ColdStart(c) if c.ok => {
                out.cold_starts_ok += 1;
                durations.push(c.duration_us);
            }
            Event::ColdStart(_) => out.cold_starts_failed += 1,
            _ => {}
        }
    }
    durations.sort_unstable();
    if let Some(max) = durations.last() {
        out.cold_start_p50_s = durations[durations.len() / 2] as f64 / 1e6;
        out.cold_start_max_s = *max as f64 / 1e6;
    }
    println!(
        "{}",
        serde_json::to_string(&out).expect("plain data serializes")
    );
    Ok(crate::model::error::exit::PASS)
}

fn tempfile_dir() -> Result<std::path::PathBuf, DrillError> {
    let dir = std::env::temp_dir().join(format!("drill-bench-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| DrillError::setup_from(format!("cannot create {}", dir.display()), e))?;
    Ok(dir)
}

/// One fleet size, measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetRun {
    pub hosts: usize,
    pub image_bytes: u64,
    pub cold_starts_ok: usize,
    pub cold_starts_failed: usize,
    pub pulls_failed: usize,
    pub wall_s: f64,
    pub pulls_per_s: f64,
    pub cold_start_p50_s: f64,
    pub cold_start_max_s: f64,
    /// drill's CPU time (user + system) for the whole child process.
    pub drill_cpu_s: f64,
    /// drill's CPU time over the wave's wall time: cores kept busy.
    pub drill_cores: f64,
    pub drill_peak_rss_mib: f64,
    /// The registry container's CPU time over the same span (engine stats API).
    pub registry_cpu_s: f64,
    pub registry_cores: f64,
    /// `registry` or `drill`: the one that kept more cores busy, i.e. the one that
    /// reaches the machine's limit first as the fleet grows.
    pub saturated_first: String,
}

/// Runs one wave of `hosts` in a child process against the registry container.
pub async fn measure(
    engine: &Engine,
    registry: &str,
    base: &str,
    image: &str,
    image_bytes: u64,
    hosts: usize,
) -> Result<FleetRun, DrillError> {
    let exe = std::env::current_exe()
        .map_err(|e| DrillError::setup_from("cannot find drill's own binary", e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench-fleet", "--base", base, "--image", image, "--hosts"])
        .arg(hosts.to_string());
    let before = engine.cpu_time(registry).await?;
    let m = tokio::task::spawn_blocking(move || usage::measure(cmd))
        .await
        .map_err(|e| DrillError::setup_from("the fleet child failed", e))?
        .map_err(|e| DrillError::setup_from("cannot start the fleet child", e))?;
    let after = engine.cpu_time(registry).await?;
    let outcome: WaveOutcome = serde_json::from_slice(&m.stdout).map_err(|e| {
        let message = format!(
            "the fleet child of {hosts} hosts gave no result ({e}; exit {:?}): {}",
            m.code,
            String::from_utf8_lossy(&m.stderr).trim()
        );
        DrillError::setup_citing(message, e)
    })?;
    let wall = outcome.wall_s.max(1e-6);
    let drill_cores = m.cpu.as_secs_f64() / wall;
    let registry_cpu = after.saturating_sub(before).as_secs_f64();
    let registry_cores = registry_cpu / wall;
    Ok(FleetRun {
        hosts,
        image_bytes,
        cold_starts_ok: outcome.cold_starts_ok,
        cold_starts_failed: outcome.cold_starts_failed,
        pulls_failed: outcome.pulls_failed,
        wall_s: outcome.wall_s,
        pulls_per_s: outcome.pulls_ok as f64 / wall,
        cold_start_p50_s: outcome.cold_start_p50_s,
        cold_start_max_s: outcome.cold_start_max_s,
        drill_cpu_s: m.cpu.as_secs_f64(),
        drill_cores,
        drill_peak_rss_mib: outcome.peak_rss_bytes as f64 / 1048576.0,
        registry_cpu_s: registry_cpu,
        registry_cores,
        saturated_first: if drill_cores > registry_cores {
            "drill"
        } else {
            "registry"
        }
        .into(),
    })
}
