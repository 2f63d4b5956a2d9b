//! Accuracy of the recovery time: a registry killed and started again at instants the
//! engine records, probed by drill's own probes into a journal that drill's own analysis
//! reads. drill's disruption (injection to first successful probe after the last
//! failure) minus the true outage is drill's error. The true outage runs from the
//! container's exit, as the engine stamps it, to the restarted registry's own
//! `listening on` log line, as the engine stamps its arrival.

use super::median;
use crate::analysis;
use crate::docker::engine::{free_loopback_port, ContainerSpec, Engine};
use crate::journal::{self, Event, Journal, Outcome, RunInfo};
use crate::model::error::DrillError;
use crate::model::units::Span;
use crate::plan::REGISTRY_PORT;
use crate::run::{hosts, topology};
use crate::scenario::{FaultKind, Probes};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Probes run this long before each outage and after each restart.
const SETTLE: Duration = Duration::from_millis(1500);

/// When (seconds after `wall0`, through `at`) the registry logged that it listens
/// again, after `after`; waits for the line up to 30 s.
async fn listening_since(
    engine: &Engine,
    name: &str,
    after: f64,
    at: &impl Fn(&str) -> Result<f64, DrillError>,
) -> Result<f64, DrillError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        for (stamp, line) in engine.log_lines(name).await?.iter().rev() {
            if line.contains("listening on") {
                let t = at(stamp)?;
                if t > after {
                    return Ok(t);
                }
                break;
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(DrillError::setup(format!(
                "the registry {name} logged no `listening on` within 30 s of its restart"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outage {
    pub true_s: f64,
    pub measured_s: f64,
    /// measured − true.
    pub error_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accuracy {
    pub probe_interval_s: f64,
    pub outage_s: f64,
    pub outages: Vec<Outage>,
    pub median_error_s: Option<f64>,
    pub max_abs_error_s: Option<f64>,
}

pub async fn run(
    engine: &Engine,
    run_id: &str,
    network: &str,
    registry_image: &str,
    outages: usize,
    outage: Duration,
    scratch: &Path,
) -> Result<Accuracy, DrillError> {
    let interval = Duration::from_millis(100);
    let name = format!("{network}-accuracy");
    let port = free_loopback_port()?;
    let spec = ContainerSpec {
        name: name.clone(),
        image: registry_image.to_string(),
        network: network.to_string(),
        publish: Some((REGISTRY_PORT, port)),
        labels: vec![("drill.role".into(), "registry".into())],
        // Its `listening on` line (info) marks the true end of each outage.
        env: vec!["REGISTRY_LOG_LEVEL=info".into()],
        ..Default::default()
    };
    engine.create_container(run_id, &spec).await?;
    engine.start(&name).await?;
    let base = format!("http://127.0.0.1:{port}");
    let client = crate::oci::client(
        Duration::from_secs(1),
        Duration::from_secs(2),
        &crate::oci::Access::default(),
    );
    topology::wait_ready(&client, "bench", &base).await?;

    let path = scratch.join("accuracy.jsonl");
    let wall0 = SystemTime::now();
    let (journal, writer) = Journal::create(&path, Vec::new(), Vec::new())?;
    journal.record(Event::RunStarted(Box::new(RunInfo {
        format: journal::FORMAT_VERSION,
        run_id: run_id.to_string(),
        scenario: "bench-accuracy".into(),
        description: String::new(),
        seed: 0,
        started_at: humantime::format_rfc3339_seconds(wall0).to_string(),
        duration_us: 0,
        probe_interval_us: interval.as_micros() as u64,
        regions: vec!["bench".into()],
        sla: Default::default(),
        replication: Default::default(),
        proxies: Default::default(),
        external: false,
    })));
    let stop = CancellationToken::new();
    let probes = Probes {
        interval: Span(interval),
        timeout: Span(Duration::from_secs(1)),
    };
    let entry = HashMap::from([("bench".to_string(), base)]);
    let mut probing = hosts::spawn_probes(
        &hosts::ProbeTarget::entry_points(&entry),
        &probes,
        &crate::oci::Access::default(),
        None,
        &journal,
        None,
        &stop,
    );
    journal.record(Event::TimelineStarted);
    let mut truth = Vec::new();
    let result = outages_loop(engine, &name, &journal, outages, outage, wall0, &mut truth).await;
    stop.cancel();
    while probing.join_next().await.is_some() {}
    journal.record(Event::RunFinished {
        outcome: Outcome::Completed,
    });
    drop(journal);
    writer.finish().await?;
    let _ = engine.remove_container(&name).await;
    result?;
    let loaded = journal::read(&path)?;
    let a = analysis::analyze(&loaded.records, loaded.truncated);
    let outages: Vec<Outage> = a
        .faults
        .iter()
        .zip(&truth)
        .map(|(f, true_s)| {
            let measured_s = f.disruption_us.unwrap_or(0) as f64 / 1e6;
            Outage {
                true_s: *true_s,
                measured_s,
                error_s: measured_s - true_s,
            }
        })
        .collect();
    let errors: Vec<f64> = outages.iter().map(|o| o.error_s).collect();
    Ok(Accuracy {
        probe_interval_s: interval.as_secs_f64(),
        outage_s: outage.as_secs_f64(),
        median_error_s: median(&errors),
        max_abs_error_s: errors.iter().map(|e| e.abs()).reduce(f64::max),
        outages,
    })
}

/// Kills and restarts the registry `outages` times; pushes each true outage (seconds,
/// from the engine's own exit and start stamps) onto `truth`.
async fn outages_loop(
    engine: &Engine,
    name: &str,
    journal: &Journal,
    outages: usize,
    outage: Duration,
    wall0: SystemTime,
    truth: &mut Vec<f64>,
) -> Result<(), DrillError> {
    for k in 1..=outages {
        tokio::time::sleep(SETTLE).await;
        journal.record(Event::FaultInjected {
            fault: k,
            kind: FaultKind::Kill,
            target: "registry".into(),
            members: vec![name.to_string()],
            regions: vec!["bench".into()],
            method: "SIGKILL through the engine API".into(),
            manual: false,
        });
        engine.kill(name).await?;
        tokio::time::sleep(outage).await;
        journal.record(Event::FaultHealed {
            fault: k,
            ok: true,
            error: None,
        });
        engine.start(name).await?;
        let finished = engine.finished_at(name).await?;
        let at = |stamp: &str| -> Result<f64, DrillError> {
            let t = humantime::parse_rfc3339(stamp).map_err(|e| {
                DrillError::setup_from(format!("the engine's time stamp {stamp:?}"), e)
            })?;
            Ok(t.duration_since(wall0).unwrap_or_default().as_secs_f64())
        };
        let died = at(&finished)?;
        let listening = listening_since(engine, name, died, &at).await?;
        truth.push(listening - died);
        tokio::time::sleep(SETTLE).await;
    }
    Ok(())
}
