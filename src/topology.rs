//! Brings a plan's topology up in Docker: the run's network, one storage volume per
//! region, registry nodes sharing it, and haproxy in front of each region.

use crate::engine::{free_loopback_port, ContainerSpec, Engine};
use crate::error::DrillError;
use crate::images::{Images, CONTAINERD_HOSTS_DIR, HAPROXY_CONFIG_PATH};
use crate::oci;
use crate::plan::{HostPlan, Plan, REGISTRY_PORT};
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
    let volumes = plan
        .regions
        .iter()
        .map(|r| engine.create_volume(&r.volume, run));
    for r in futures_util::future::join_all(volumes).await {
        r?;
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
    // Load balancers are created and configured while the nodes start; each starts
    // once every node runs, so that haproxy finds them at once.
    let balancers = plan.regions.iter().map(|r| async move {
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
        Ok::<_, DrillError>((r, port))
    });
    let (started, created) = tokio::join!(
        futures_util::future::join_all(node_starts),
        futures_util::future::join_all(balancers)
    );
    for r in started {
        r?;
    }
    let created = created.into_iter().collect::<Result<Vec<_>, _>>()?;
    // Regions are independent: their load balancers start, and answer, side by side.
    let ready = created.into_iter().map(|(r, port)| async move {
        engine.start(&r.load_balancer).await?;
        let base = format!("http://127.0.0.1:{port}");
        let client = oci::client(Duration::from_secs(1), Duration::from_secs(2));
        wait_ready(&client, &r.name, &base).await?;
        Ok::<_, DrillError>((r.name.clone(), base))
    });
    let mut entry_points = HashMap::new();
    for r in futures_util::future::join_all(ready).await {
        let (region, base) = r?;
        entry_points.insert(region, base);
    }
    containerd_hosts_up(engine, plan, images).await?;
    Ok(Live { entry_points })
}

/// The load balancer containers of a host's mirrors, in order, as `name:5000`.
pub fn mirror_hosts(plan: &Plan, host: &HostPlan) -> Vec<String> {
    host.mirrors
        .iter()
        .filter_map(|m| plan.regions.iter().find(|r| &r.name == m))
        .map(|r| format!("{}:{REGISTRY_PORT}", r.load_balancer))
        .collect()
}

/// containerd's `hosts.toml` for a host whose mirrors are `mirrors` (`lb:5000`, in
/// order): the first is the registry images are named after and the `server`; every
/// mirror is a `[host]` tried in file order.
pub fn hosts_toml(mirrors: &[String]) -> String {
    let mut out = format!("server = \"http://{}\"\n", mirrors[0]);
    for m in mirrors {
        out.push_str(&format!(
            "\n[host.\"http://{m}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ));
    }
    out
}

/// Starts one containerd container per containerd host, on the run's network, with its
/// `hosts.toml`, and waits until each answers `ctr version`.
async fn containerd_hosts_up(
    engine: &Engine,
    plan: &Plan,
    images: &Images,
) -> Result<(), DrillError> {
    let hosts: Vec<&HostPlan> = plan
        .hosts
        .iter()
        .filter(|h| h.container.is_some())
        .collect();
    if hosts.is_empty() {
        return Ok(());
    }
    let image = images
        .containerd
        .clone()
        .ok_or_else(|| DrillError::setup("the containerd image was not built"))?;
    let starts = hosts.iter().map(|h| {
        let image = image.clone();
        async move {
            let name = h.container.clone().expect("filtered");
            let spec = ContainerSpec {
                name: name.clone(),
                image,
                network: plan.network.clone(),
                labels: vec![
                    ("drill.role".into(), "host".into()),
                    ("drill.fleet".into(), h.fleet.clone()),
                ],
                cap_add: vec!["SYS_ADMIN".into()],
                security_opt: vec!["seccomp=unconfined".into(), "apparmor=unconfined".into()],
                tmpfs: vec!["/var/lib/containerd".into()],
                ..Default::default()
            };
            engine.create_container(&plan.run_id, &spec).await?;
            let mirrors = mirror_hosts(plan, h);
            engine
                .upload_file_in(
                    &name,
                    CONTAINERD_HOSTS_DIR,
                    &format!("{}/hosts.toml", mirrors[0]),
                    hosts_toml(&mirrors).as_bytes(),
                )
                .await?;
            engine.start(&name).await?;
            let deadline = Instant::now() + READY_TIMEOUT;
            loop {
                let cmd = ["ctr".to_string(), "version".to_string()];
                match engine.exec(&name, &cmd).await {
                    Ok(_) => return Ok(()),
                    Err(e) if Instant::now() > deadline => {
                        return Err(DrillError::Setup(format!(
                            "containerd host {name} did not answer within {}s: {e}",
                            READY_TIMEOUT.as_secs()
                        )))
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
    });
    for r in futures_util::future::join_all(starts).await {
        r?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_toml_lists_every_mirror_in_order() {
        let toml = hosts_toml(&["drill-x-eu-lb:5000".into(), "drill-x-us-lb:5000".into()]);
        assert_eq!(
            toml,
            "server = \"http://drill-x-eu-lb:5000\"\n\
             \n[host.\"http://drill-x-eu-lb:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n\
             \n[host.\"http://drill-x-us-lb:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        );
    }
}
