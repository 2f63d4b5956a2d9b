//! Brings a plan's topology up in Docker: the run's network, one storage volume per
//! region, registry nodes sharing it, and haproxy in front of each region.

use crate::engine::{free_loopback_port, ContainerSpec, Engine};
use crate::error::DrillError;
use crate::images::{Images, HAPROXY_CONFIG_PATH};
use crate::oci;
use crate::plan::{Plan, REGISTRY_PORT};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long drill waits for every entry point to answer `/v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The running topology's entry points, by region: `http://127.0.0.1:<port>`.
#[derive(Debug, Clone)]
pub struct Live {
    pub entry_points: HashMap<String, String>,
}

pub async fn up(engine: &Engine, plan: &Plan, images: &Images) -> Result<Live, DrillError> {
    let run = &plan.run_id;
    engine.create_network(&plan.network, run).await?;
    for r in &plan.regions {
        engine.create_volume(&r.volume, run).await?;
    }
    let nodes = plan.regions.iter().flat_map(|r| {
        r.nodes.iter().map(move |n| ContainerSpec {
            name: n.container.clone(),
            image: images.registry.clone(),
            network: plan.network.clone(),
            env: vec![format!("REGISTRY_HTTP_SECRET={}", r.http_secret)],
            volumes: vec![(r.volume.clone(), "/var/lib/registry".into())],
            publish: None,
            labels: vec![
                ("drill.role".into(), "registry".into()),
                ("drill.zone".into(), n.zone.clone()),
            ],
            ..Default::default()
        })
    });
    let node_starts = nodes.map(|spec| async move {
        engine.create_container(run, &spec).await?;
        engine.start(&spec.name).await
    });
    for r in futures_util::future::join_all(node_starts).await {
        r?;
    }

    let mut entry_points = HashMap::new();
    for r in &plan.regions {
        let port = free_loopback_port()?;
        let spec = ContainerSpec {
            name: r.load_balancer.clone(),
            image: images.haproxy.clone(),
            network: plan.network.clone(),
            publish: Some((REGISTRY_PORT, port)),
            labels: vec![
                ("drill.role".into(), "load-balancer".into()),
                ("drill.region".into(), r.name.clone()),
            ],
            ..Default::default()
        };
        engine.create_container(run, &spec).await?;
        engine
            .upload_file(&spec.name, HAPROXY_CONFIG_PATH, r.haproxy_cfg.as_bytes())
            .await?;
        engine.start(&spec.name).await?;
        entry_points.insert(r.name.clone(), format!("http://127.0.0.1:{port}"));
    }

    let client = oci::client(Duration::from_secs(1), Duration::from_secs(2));
    for (region, base) in &entry_points {
        wait_ready(&client, region, base).await?;
    }
    Ok(Live { entry_points })
}

/// Waits until an entry point answers `/v2/` through its load balancer.
pub async fn wait_ready(
    client: &reqwest::Client,
    region: &str,
    base: &str,
) -> Result<(), DrillError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let last = match oci::probe(client, base).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() > deadline {
            return Err(DrillError::Setup(format!(
                "region {region}'s entry point {base} did not answer /v2/ within {}s (last error: {last}); \
                 rerun with --keep and inspect the containers with `docker logs`",
                READY_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
