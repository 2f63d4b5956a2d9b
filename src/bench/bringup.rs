//! Bring-up and teardown: drill bringing a topology up (until every entry point answers
//! `/v2/`) and removing it, against `docker-compose up -d` / `down -v` of the same
//! topology written by `drill plan --compose` (same images, names and configurations),
//! timed to the same readiness.

use super::median;
use super::tool::ToolError;
use crate::docker::compose::{self, COMPOSE_FILE};
use crate::docker::engine::{free_loopback_port, Engine};
use crate::docker::images::Images;
use crate::model::error::DrillError;
use crate::oci;
use crate::plan::Plan;
use crate::run::{runner, topology};
use crate::ui::Console;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Medians over the runs, seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpDown {
    pub up_s: f64,
    pub down_s: f64,
    pub total_s: f64,
    pub samples_total_s: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BringUp {
    pub containers: usize,
    pub runs: usize,
    pub drill: Option<UpDown>,
    /// `ok`, `not installed: <why>` or `failed: <error>`.
    pub compose_status: String,
    pub compose: Option<UpDown>,
    /// drill's total over docker-compose's.
    pub ratio: Option<f64>,
}

/// Runs both, interleaved; `plan_for` gives a fresh plan (its own run id) per run.
pub async fn run(
    engine: &Engine,
    images: &Images,
    mut plan_for: impl FnMut() -> Plan,
    runs: usize,
    scratch: &Path,
    console: &Console,
) -> Result<BringUp, DrillError> {
    let mut compose_status = match Command::new("docker-compose").arg("version").output() {
        Ok(o) if o.status.success() => "ok".to_string(),
        Ok(o) => format!(
            "not installed: docker-compose version failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("not installed: docker-compose: {e}"),
    };
    let (mut drill, mut comp) = (Vec::new(), Vec::new());
    let mut containers = 0;
    for i in 0..runs {
        let plan = plan_for();
        containers = plan.container_count();
        let t = Instant::now();
        let up = topology::up(
            engine,
            &plan,
            images,
            &crate::run::security::Material::default(),
        )
        .await;
        let up_took = t.elapsed();
        let t = Instant::now();
        let cleaned = runner::teardown(engine, &plan.run_id, console).await;
        let down_took = t.elapsed();
        up?;
        if !cleaned {
            return Err(DrillError::Cleanup(format!(
                "the bring-up benchmark could not remove run {}; run `drill clean --run {}`",
                plan.run_id, plan.run_id
            )));
        }
        drill.push((up_took, down_took));
        if compose_status == "ok" {
            let plan = plan_for();
            let dir = scratch.join(format!("compose-{i}"));
            match compose_once(images, &plan, &dir).await {
                Ok(times) => comp.push(times),
                Err(e) => compose_status = format!("failed: {e}"),
            }
            // Whatever compose left behind carries the plan's run label.
            let _ = engine.remove_labelled(Some(&plan.run_id)).await;
        }
    }
    let drill = summarize(&drill);
    let compose = summarize(&comp);
    let ratio = drill
        .as_ref()
        .zip(compose.as_ref())
        .map(|(d, c)| d.total_s / c.total_s);
    Ok(BringUp {
        containers,
        runs,
        drill,
        compose_status,
        compose,
        ratio,
    })
}

fn summarize(times: &[(Duration, Duration)]) -> Option<UpDown> {
    let up: Vec<f64> = times.iter().map(|t| t.0.as_secs_f64()).collect();
    let down: Vec<f64> = times.iter().map(|t| t.1.as_secs_f64()).collect();
    let total: Vec<f64> = times.iter().map(|t| (t.0 + t.1).as_secs_f64()).collect();
    Some(UpDown {
        up_s: median(&up)?,
        down_s: median(&down)?,
        total_s: median(&total)?,
        samples_total_s: total,
    })
}

async fn compose_once(
    images: &Images,
    plan: &Plan,
    dir: &Path,
) -> Result<(Duration, Duration), ToolError> {
    let mut ports = HashMap::new();
    for r in &plan.regions {
        ports.insert(r.name.clone(), free_loopback_port()?);
    }
    let project = compose::render(plan, images, &ports)?;
    compose::write(dir, &project)?;
    let file = dir.join(COMPOSE_FILE);
    let compose = |args: &'static [&'static str]| {
        let file = file.clone();
        let name = plan.network.clone();
        async move {
            let out = tokio::task::spawn_blocking(move || {
                Command::new("docker-compose")
                    .arg("-p")
                    .arg(&name)
                    .arg("-f")
                    .arg(&file)
                    .args(args)
                    .output()
            })
            .await
            .map_err(ToolError::Task)?
            .map_err(ToolError::Start)?;
            if out.status.success() {
                Ok(())
            } else {
                Err(ToolError::Failed(format!(
                    "docker-compose {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        }
    };
    let t = Instant::now();
    let up = compose(&["up", "-d"]).await;
    let ready = async {
        let client = oci::client(
            Duration::from_secs(1),
            Duration::from_secs(2),
            &crate::oci::Access::default(),
        );
        for (region, base) in &project.entry_points {
            topology::wait_ready(&client, region, base).await?;
        }
        Ok::<(), ToolError>(())
    };
    let up = match up {
        Ok(()) => ready.await,
        Err(e) => Err(e),
    };
    let up_took = t.elapsed();
    let t = Instant::now();
    let down = compose(&["down", "-v"]).await;
    let down_took = t.elapsed();
    let _ = std::fs::remove_dir_all(dir);
    up?;
    down?;
    Ok((up_took, down_took))
}
