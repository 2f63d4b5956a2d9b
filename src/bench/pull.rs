//! The pull path: the same images from the same registry, cold each time, by drill's
//! native client (the one its hosts use, digests verified), `skopeo copy`, the Docker
//! engine, containerd's `ctr`, and a raw streamed GET of the blobs (the floor). Runs are
//! interleaved, the tools' order rotating, so that a busy moment of the machine is
//! shared by all.

use super::median;
use super::tool::ToolError;
use crate::docker::engine::{ContainerSpec, Engine};
use crate::docker::images;
use crate::fixtures::TestImage;
use crate::model::error::DrillError;
use crate::oci::{self, Mirror, MANIFEST_ACCEPT};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::ACCEPT;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Layers fetched at once by drill and by the raw GET (containerd's default).
const PARALLEL: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Raw,
    Drill,
    Skopeo,
    Docker,
    Ctr,
}

impl Tool {
    pub const ALL: [Tool; 5] = [
        Tool::Raw,
        Tool::Drill,
        Tool::Skopeo,
        Tool::Docker,
        Tool::Ctr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Raw => "raw GET",
            Tool::Drill => "drill",
            Tool::Skopeo => "skopeo copy",
            Tool::Docker => "docker pull",
            Tool::Ctr => "ctr pull",
        }
    }
}

/// One tool's timings on one image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolTimes {
    pub tool: String,
    /// `ok`, `not installed: <why>` or `failed: <error>`.
    pub status: String,
    pub samples_s: Vec<f64>,
    pub median_s: Option<f64>,
    /// This tool's median over the raw GET's.
    pub ratio_to_raw: Option<f64>,
}

/// One image, every tool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageTimes {
    pub image: String,
    pub layers: usize,
    pub bytes: u64,
    pub tools: Vec<ToolTimes>,
}

impl ImageTimes {
    pub fn median(&self, tool: Tool) -> Option<f64> {
        self.tools
            .iter()
            .find(|t| t.tool == tool.name())
            .and_then(|t| t.median_s)
    }
}

/// Where the tools pull from, and what they need.
pub struct Setup<'a> {
    pub engine: &'a Engine,
    pub run_id: &'a str,
    pub network: &'a str,
    /// `127.0.0.1:<port>`, published by the registry container.
    pub authority: String,
    /// The registry container's name on the run's network (what containerd uses).
    pub registry: &'a str,
    pub scratch: &'a Path,
}

/// Times every tool on every image, `runs` times each, interleaved.
pub async fn run(setup: &Setup<'_>, images: &[TestImage], runs: usize) -> Vec<ImageTimes> {
    let mut status: Vec<(Tool, Option<String>)> = Vec::new();
    for tool in Tool::ALL {
        status.push((tool, missing(setup, tool).await));
    }
    let mut results: Vec<ImageTimes> = images
        .iter()
        .map(|img| ImageTimes {
            image: format!("{}:{}", img.repository, img.tag),
            layers: img.layers.len(),
            bytes: img.total_bytes(),
            tools: status
                .iter()
                .map(|(t, why)| ToolTimes {
                    tool: t.name().into(),
                    status: why.clone().unwrap_or_else(|| "ok".into()),
                    samples_s: Vec::new(),
                    median_s: None,
                    ratio_to_raw: None,
                })
                .collect(),
        })
        .collect();
    for run in 0..runs {
        for (img, result) in images.iter().zip(results.iter_mut()) {
            let mut order: Vec<usize> = (0..Tool::ALL.len()).collect();
            order.rotate_left(run % Tool::ALL.len());
            for k in order {
                let times = &mut result.tools[k];
                if times.status != "ok" {
                    continue;
                }
                match once(setup, Tool::ALL[k], img, run).await {
                    Ok(took) => times.samples_s.push(took.as_secs_f64()),
                    Err(e) => times.status = format!("failed: {e}"),
                }
            }
        }
    }
    for result in &mut results {
        for t in &mut result.tools {
            t.median_s = median(&t.samples_s);
        }
        let raw = result.median(Tool::Raw);
        for t in &mut result.tools {
            t.ratio_to_raw = t.median_s.zip(raw).map(|(m, r)| m / r);
        }
    }
    // Gone with the run's objects anyway; removed now so that later parts run alone.
    let _ = setup.engine.remove_container(&containerd(setup)).await;
    results
}

/// The containerd host's container name.
fn containerd(setup: &Setup<'_>) -> String {
    format!("{}-containerd", setup.network)
}

/// Why a tool cannot run here, if it cannot; starts the containerd host ctr needs.
async fn missing(setup: &Setup<'_>, tool: Tool) -> Option<String> {
    match tool {
        Tool::Raw | Tool::Drill => None,
        Tool::Skopeo => match Command::new("skopeo").arg("--version").output() {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "not installed: skopeo --version failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(format!("not installed: skopeo: {e}")),
        },
        Tool::Docker => match setup.engine.insecure_registry_cidrs().await {
            Ok(cidrs) if cidrs.iter().any(|c| c == "127.0.0.0/8") => None,
            Ok(cidrs) => Some(format!(
                "not installed: the engine does not allow plain HTTP to 127.0.0.0/8 (insecure registries: {})",
                cidrs.join(", ")
            )),
            Err(e) => Some(format!("not installed: {e}")),
        },
        Tool::Ctr => start_containerd(setup)
            .await
            .err()
            .map(|e| format!("not installed: {e}")),
    }
}

/// A containerd host on the run's network, as drill runs containerd hosts.
async fn start_containerd(setup: &Setup<'_>) -> Result<(), DrillError> {
    let image = images::ensure(setup.engine, &images::containerd_recipe()).await?;
    let name = containerd(setup);
    let spec = ContainerSpec {
        name: name.clone(),
        image,
        network: setup.network.to_string(),
        labels: vec![("drill.role".into(), "host".into())],
        cap_add: vec!["SYS_ADMIN".into()],
        security_opt: vec!["seccomp=unconfined".into(), "apparmor=unconfined".into()],
        tmpfs: vec!["/var/lib/containerd".into()],
        ..Default::default()
    };
    setup.engine.create_container(setup.run_id, &spec).await?;
    setup.engine.start(&name).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match setup
            .engine
            .exec(&name, &["ctr".into(), "version".into()])
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(e.into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One cold pull by one tool; whatever it left (files, images) is removed afterwards,
/// outside the time measured.
async fn once(
    setup: &Setup<'_>,
    tool: Tool,
    img: &TestImage,
    run: usize,
) -> Result<Duration, ToolError> {
    let reference = format!("{}:{}", img.repository, img.tag);
    let base = format!("http://{}", setup.authority);
    let started = Instant::now();
    match tool {
        Tool::Raw => raw_get(&base, img).await?,
        Tool::Drill => {
            // A fresh client: no warm connections, as a cold-started host.
            let client = oci::client(
                Duration::from_secs(5),
                Duration::from_secs(300),
                &crate::oci::Access::default(),
            );
            let mirrors = [Mirror {
                region: "bench".into(),
                base,
            }];
            if let Some(e) = oci::pull(&client, &mirrors, &reference, PARALLEL)
                .await
                .error
            {
                return Err(e.into());
            }
        }
        Tool::Skopeo => {
            let dir: PathBuf = setup.scratch.join(format!("skopeo-{run}"));
            let src = format!("docker://{}/{reference}", setup.authority);
            let dst = format!("dir:{}", dir.display());
            let out = tokio::task::spawn_blocking(move || {
                Command::new("skopeo")
                    .args(["copy", "--quiet", "--src-tls-verify=false", &src, &dst])
                    .output()
            })
            .await
            .map_err(ToolError::Task)?
            .map_err(ToolError::Start)?;
            let took = started.elapsed();
            let _ = std::fs::remove_dir_all(&dir);
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Err(ToolError::Failed(stderr));
            }
            return Ok(took);
        }
        Tool::Docker => {
            let local = format!("{}/{reference}", setup.authority);
            let pulled = setup.engine.pull_image(&local, None).await;
            let took = started.elapsed();
            setup.engine.remove_image(&local).await?;
            return Ok(pulled.map(|()| took)?);
        }
        Tool::Ctr => {
            let name = containerd(setup);
            let remote = format!(
                "{}:{}/{reference}",
                setup.registry,
                crate::plan::REGISTRY_PORT
            );
            let cmd = |args: &[&str]| -> Vec<String> {
                args.iter()
                    .map(|s| s.to_string())
                    .chain([remote.clone()])
                    .collect()
            };
            let pulled = setup
                .engine
                .exec(&name, &cmd(&["ctr", "images", "pull", "--plain-http"]))
                .await;
            let took = started.elapsed();
            let _ = setup
                .engine
                .exec(&name, &cmd(&["ctr", "images", "rm", "--sync"]))
                .await;
            return Ok(pulled.map(|_| took)?);
        }
    }
    Ok(started.elapsed())
}

/// The floor: the manifest, the config and every layer streamed and dropped, layers
/// `PARALLEL` at a time, with no digest checked and nothing recorded.
async fn raw_get(base: &str, img: &TestImage) -> Result<(), ToolError> {
    let client = oci::client(
        Duration::from_secs(5),
        Duration::from_secs(300),
        &crate::oci::Access::default(),
    );
    let repo = &img.repository;
    let get = |path: String| {
        let client = client.clone();
        async move {
            let resp = client
                .get(format!("{base}{path}"))
                .header(ACCEPT, MANIFEST_ACCEPT)
                .send()
                .await
                .map_err(ToolError::Get)?;
            let status = resp.status();
            if !status.is_success() {
                return Err(ToolError::Status { path, status });
            }
            let mut body = resp.bytes_stream();
            while body.try_next().await.map_err(ToolError::Get)?.is_some() {}
            Ok::<(), ToolError>(())
        }
    };
    get(format!("/v2/{repo}/manifests/{}", img.tag)).await?;
    get(format!("/v2/{repo}/blobs/{}", img.config.digest)).await?;
    let layers: Vec<_> = img
        .layers
        .iter()
        .map(|l| get(format!("/v2/{repo}/blobs/{}", l.digest)))
        .collect();
    let results: Vec<Result<(), ToolError>> = futures_util::stream::iter(layers)
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    results.into_iter().collect()
}
