//! The only code that talks to the Docker engine: a thin layer over bollard that
//! labels everything it creates with `drill.run=<run-id>` and removes it by that label.

use crate::docker::host::EngineAddr;
use crate::model::credentials::Credentials;
use crate::model::error::{DrillError, EngineError, ExecError, Refusal, SetupContext};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkConnectRequest,
    NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig, PortBinding,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    RestartContainerOptionsBuilder, StatsOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// The label on every container, network and volume a run creates.
pub const RUN_LABEL: &str = "drill.run";
/// The label on the helper images drill builds (shared by runs, kept between them).
pub const IMAGE_LABEL: &str = "drill.image";

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
}

/// What a container needs; everything else is drill's fixed policy.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub network: String,
    pub env: Vec<String>,
    /// (volume name, path in the container)
    pub volumes: Vec<(String, String)>,
    /// Container port published on 127.0.0.1:<host port>.
    pub publish: Option<(u16, u16)>,
    pub labels: Vec<(String, String)>,
    /// Share this container's network namespace instead of joining `network`
    /// (fault sidecars: the target image needs no tools).
    pub netns_of: Option<String>,
    pub cap_add: Vec<String>,
    /// Arguments to the entrypoint (the image's own when `entrypoint` is empty).
    pub cmd: Vec<String>,
    /// Replaces the image's entrypoint when not empty.
    pub entrypoint: Vec<String>,
    /// e.g. `seccomp=unconfined` (containerd hosts unpack layers with mounts).
    pub security_opt: Vec<String>,
    /// Paths mounted as an empty tmpfs.
    pub tmpfs: Vec<String>,
}

/// What `remove_labelled` removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    pub errors: Vec<String>,
}

/// Adds what drill was doing to an engine error, and reads once what the refusal means.
trait EngineContext<T> {
    fn engine_context(self, what: impl FnOnce() -> String) -> Result<T, DrillError>;
}

impl<T> EngineContext<T> for Result<T, bollard::errors::Error> {
    fn engine_context(self, what: impl FnOnce() -> String) -> Result<T, DrillError> {
        self.map_err(|e| engine_error(e, what()).into())
    }
}

fn engine_error(e: bollard::errors::Error, what: String) -> EngineError {
    EngineError {
        what,
        refusal: refusal(&e),
        source: Box::new(e),
    }
}

/// Why the engine could not pull an image into its own store.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The request to the engine failed.
    #[error("{0}")]
    Engine(#[from] bollard::errors::Error),
    /// The engine tried and failed: its own words (a Go client's, naming the registry's
    /// answer).
    #[error("{0}")]
    Failed(String),
}

/// The engine says why it refused only in words: this is the one place drill reads
/// them, so that every caller matches a [`Refusal`] instead.
fn refusal(e: &bollard::errors::Error) -> Refusal {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.contains("port is already allocated")
                || message.contains("address already in use") =>
        {
            Refusal::PortTaken
        }
        _ => Refusal::Other,
    }
}

impl Engine {
    /// Connects to the engine `DOCKER_HOST` names (a remote one only with
    /// `--allow-remote`, see [`docker_host`](crate::docker::host)) and checks that it answers.
    pub async fn connect() -> Result<Engine, DrillError> {
        let hint =
            "start the Docker engine (e.g. `systemctl start docker`) or point DOCKER_HOST at it";
        let docker = match crate::docker::host::current()? {
            EngineAddr::Local(_) => Docker::connect_with_local_defaults(),
            EngineAddr::Remote(host) => Docker::connect_with_host(&host),
        };
        let docker = docker
            .map_err(|e| {
                let message = format!("cannot connect to the Docker engine: {e}; {hint}");
                DrillError::setup_citing(message, e)
            })?
            .with_timeout(Duration::from_secs(120));
        match tokio::time::timeout(Duration::from_secs(10), docker.ping()).await {
            Ok(Ok(_)) => Ok(Engine { docker }),
            Ok(Err(e)) => Err(DrillError::setup_citing(
                format!("the Docker engine does not answer: {e}; {hint}"),
                e,
            )),
            Err(_) => Err(DrillError::setup(format!(
                "the Docker engine did not answer within 10s; {hint}"
            ))),
        }
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub async fn create_network(&self, name: &str, run_id: &str) -> Result<(), DrillError> {
        self.docker
            .create_network(NetworkCreateRequest {
                name: name.to_string(),
                driver: Some("bridge".into()),
                labels: Some(run_labels(run_id, &[])),
                ..Default::default()
            })
            .await
            .engine_context(|| format!("cannot create network {name}"))?;
        Ok(())
    }

    pub async fn create_volume(&self, name: &str, run_id: &str) -> Result<(), DrillError> {
        self.create_volume_with(name, run_id, None).await
    }

    /// A volume that is a tmpfs of `bytes`: writes past its size fail with ENOSPC.
    pub async fn create_tmpfs_volume(
        &self,
        name: &str,
        run_id: &str,
        bytes: u64,
    ) -> Result<(), DrillError> {
        let opts = HashMap::from([
            ("type".to_string(), "tmpfs".to_string()),
            ("device".to_string(), "tmpfs".to_string()),
            ("o".to_string(), format!("size={bytes}")),
        ]);
        self.create_volume_with(name, run_id, Some(opts)).await
    }

    async fn create_volume_with(
        &self,
        name: &str,
        run_id: &str,
        driver_opts: Option<HashMap<String, String>>,
    ) -> Result<(), DrillError> {
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.to_string()),
                labels: Some(run_labels(run_id, &[])),
                driver_opts,
                ..Default::default()
            })
            .await
            .engine_context(|| format!("cannot create volume {name}"))?;
        Ok(())
    }

    /// Creates a container (not started) labelled for the run.
    pub async fn create_container(
        &self,
        run_id: &str,
        spec: &ContainerSpec,
    ) -> Result<(), DrillError> {
        let port_bindings = spec.publish.map(|(inside, host)| {
            HashMap::from([(
                format!("{inside}/tcp"),
                Some(vec![PortBinding {
                    // Loopback only: nothing drill runs is reachable from outside the machine.
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(host.to_string()),
                }]),
            )])
        });
        let mounts = spec
            .volumes
            .iter()
            .map(|(vol, path)| Mount {
                source: Some(vol.clone()),
                target: Some(path.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            })
            .collect();
        let labels: Vec<(&str, &str)> = spec
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (network_mode, networking_config) = match &spec.netns_of {
            Some(target) => (format!("container:{target}"), None),
            None if spec.network == "none" => ("none".to_string(), None),
            None => (
                spec.network.clone(),
                Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(
                        spec.network.clone(),
                        EndpointSettings::default(),
                    )])),
                }),
            ),
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
            entrypoint: (!spec.entrypoint.is_empty()).then(|| spec.entrypoint.clone()),
            env: Some(spec.env.clone()),
            labels: Some(run_labels(run_id, &labels)),
            exposed_ports: spec
                .publish
                .map(|(inside, _)| vec![format!("{inside}/tcp")]),
            host_config: Some(HostConfig {
                // A bare binary as PID 1 ignores SIGTERM; tini forwards it.
                init: Some(true),
                port_bindings,
                mounts: Some(mounts),
                network_mode: Some(network_mode),
                cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
                security_opt: (!spec.security_opt.is_empty()).then(|| spec.security_opt.clone()),
                tmpfs: (!spec.tmpfs.is_empty()).then(|| {
                    spec.tmpfs
                        .iter()
                        .map(|p| (p.clone(), String::new()))
                        .collect()
                }),
                ..Default::default()
            }),
            networking_config,
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        self.docker
            .create_container(Some(options), body)
            .await
            .engine_context(|| format!("cannot create container {}", spec.name))?;
        Ok(())
    }

    /// Writes one file at the absolute `path` of a created container (before it
    /// starts), making the folders it lacks: a brought part's configuration may go where
    /// its image has no folder yet.
    pub async fn upload_file(
        &self,
        container: &str,
        path: &str,
        contents: &[u8],
    ) -> Result<(), DrillError> {
        self.upload_file_in(container, "/", path.trim_start_matches('/'), contents)
            .await
    }

    /// Writes `file` (a path relative to `dir`, whose missing folders are created) under
    /// the existing folder `dir` of a created container.
    pub async fn upload_file_in(
        &self,
        container: &str,
        dir: &str,
        file: &str,
        contents: &[u8],
    ) -> Result<(), DrillError> {
        let path = format!("{}/{file}", dir.trim_end_matches('/'));
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, file, contents)
            .setup_context(|| format!("cannot pack {path}"))?;
        let tar = builder
            .into_inner()
            .setup_context(|| format!("cannot pack {path}"))?;
        let dir = if dir.is_empty() { "/" } else { dir };
        let options = UploadToContainerOptionsBuilder::default().path(dir).build();
        self.docker
            .upload_to_container(container, Some(options), bollard::body_full(tar.into()))
            .await
            .engine_context(|| format!("cannot write {path} into {container}"))
    }

    pub async fn start(&self, container: &str) -> Result<(), DrillError> {
        self.docker
            .start_container(container, None)
            .await
            .engine_context(|| format!("cannot start container {container}"))
    }

    /// SIGKILL, as a crashed machine would.
    pub async fn kill(&self, container: &str) -> Result<(), DrillError> {
        self.signal(container, "SIGKILL").await
    }

    /// Sends a signal to the container's main process (e.g. SIGUSR2: haproxy reloads).
    pub async fn signal(&self, container: &str, signal: &str) -> Result<(), DrillError> {
        let options = KillContainerOptionsBuilder::default()
            .signal(signal)
            .build();
        self.docker
            .kill_container(container, Some(options))
            .await
            .engine_context(|| format!("cannot send {signal} to container {container}"))
    }

    /// Graceful stop: SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&self, container: &str, grace: Duration) -> Result<(), DrillError> {
        let options = StopContainerOptionsBuilder::default()
            .t(grace.as_secs() as i32)
            .build();
        self.docker
            .stop_container(container, Some(options))
            .await
            .engine_context(|| format!("cannot stop container {container}"))
    }

    pub async fn restart(&self, container: &str) -> Result<(), DrillError> {
        let options = RestartContainerOptionsBuilder::default().t(0).build();
        self.docker
            .restart_container(container, Some(options))
            .await
            .engine_context(|| format!("cannot restart container {container}"))
    }

    pub async fn pause(&self, container: &str) -> Result<(), DrillError> {
        self.docker
            .pause_container(container)
            .await
            .engine_context(|| format!("cannot pause container {container}"))
    }

    pub async fn unpause(&self, container: &str) -> Result<(), DrillError> {
        self.docker
            .unpause_container(container)
            .await
            .engine_context(|| format!("cannot unpause container {container}"))
    }

    pub async fn detach(&self, network: &str, container: &str) -> Result<(), DrillError> {
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(true),
        };
        self.docker
            .disconnect_network(network, request)
            .await
            .engine_context(|| format!("cannot disconnect {container} from {network}"))
    }

    pub async fn attach(&self, network: &str, container: &str) -> Result<(), DrillError> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings::default()),
        };
        self.docker
            .connect_network(network, request)
            .await
            .engine_context(|| format!("cannot connect {container} to {network}"))
    }

    /// The container's address on `network`, if it has one.
    pub async fn address(
        &self,
        container: &str,
        network: &str,
    ) -> Result<Option<String>, DrillError> {
        let info = self
            .docker
            .inspect_container(container, None)
            .await
            .engine_context(|| format!("cannot inspect container {container}"))?;
        Ok(info
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut n| n.remove(network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty()))
    }

    /// Runs a command in a container; fails with its output unless it exits 0.
    pub async fn exec(&self, container: &str, cmd: &[String]) -> Result<String, ExecError> {
        let what = || format!("`{}` in {container}", cmd.join(" "));
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions::<String> {
                    cmd: Some(cmd.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| engine_error(e, format!("cannot run {}", what())))?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| engine_error(e, format!("cannot run {}", what())))?
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let code = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|e| engine_error(e, format!("cannot inspect {}", what())))?
            .exit_code;
        if code == Some(0) {
            Ok(output)
        } else {
            Err(ExecError::Failed {
                command: what(),
                code,
                output,
            })
        }
    }

    /// Pulls `reference` (`host:port/repo:tag`) into the engine's own image store, as a
    /// `docker pull` would. `credentials` travel in this request's `X-Registry-Auth`
    /// header only: the engine does not store them.
    pub async fn pull_image(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
    ) -> Result<(), PullError> {
        let options = CreateImageOptionsBuilder::default()
            .from_image(reference)
            .build();
        let auth = credentials.map(|c| bollard::auth::DockerCredentials {
            username: Some(c.user.clone()),
            password: Some(c.password().to_string()),
            serveraddress: reference.split('/').next().map(String::from),
            ..Default::default()
        });
        let mut stream = self.docker.create_image(Some(options), None, auth);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(e) = info.error_detail.and_then(|d| d.message) {
                        return Err(PullError::Failed(e));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Removes exactly the image reference given (untagging it; its layers go when no
    /// other tag holds them). A reference the engine does not have is not an error.
    pub async fn remove_image(&self, reference: &str) -> Result<(), DrillError> {
        match self
            .docker
            .remove_image(
                reference,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
        {
            Err(e) if !is_not_found(&e) => Err(DrillError::setup_from(
                format!("cannot remove image {reference}"),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// CPU time the container has used since it started (cgroup `total_usage`), from
    /// one sample of the engine's stats API.
    pub async fn cpu_time(&self, container: &str) -> Result<Duration, DrillError> {
        let options = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        let mut stream = self.docker.stats(container, Some(options));
        let stats = stream
            .next()
            .await
            .ok_or_else(|| DrillError::setup(format!("no stats for container {container}")))?
            .engine_context(|| format!("cannot read the stats of container {container}"))?;
        let ns = stats
            .cpu_stats
            .and_then(|c| c.cpu_usage)
            .and_then(|u| u.total_usage)
            .unwrap_or(0);
        Ok(Duration::from_nanos(ns))
    }

    /// Every line the container logged so far, each with the time the engine received
    /// it (RFC 3339, nanoseconds).
    pub async fn log_lines(&self, container: &str) -> Result<Vec<(String, String)>, DrillError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .build();
        let mut stream = self.docker.logs(container, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .engine_context(|| format!("cannot read the logs of container {container}"))?;
            text.push_str(&chunk.to_string());
        }
        Ok(text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect())
    }

    /// When the container's process last exited (RFC 3339, nanoseconds).
    pub async fn finished_at(&self, container: &str) -> Result<String, DrillError> {
        Ok(self
            .docker
            .inspect_container(container, None)
            .await
            .engine_context(|| format!("cannot inspect container {container}"))?
            .state
            .and_then(|s| s.finished_at)
            .unwrap_or_default())
    }

    /// The networks the engine pulls from over plain HTTP (`insecure-registries`).
    pub async fn insecure_registry_cidrs(&self) -> Result<Vec<String>, DrillError> {
        let info = self
            .docker
            .info()
            .await
            .engine_context(|| "cannot read the engine's configuration".to_string())?;
        Ok(info
            .registry_config
            .and_then(|r| r.insecure_registry_cidrs)
            .unwrap_or_default())
    }

    pub async fn is_running(&self, container: &str) -> bool {
        self.docker
            .inspect_container(container, None)
            .await
            .ok()
            .and_then(|i| i.state)
            .and_then(|s| s.running)
            .unwrap_or(false)
    }

    pub async fn remove_container(&self, container: &str) -> Result<(), DrillError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(container, Some(options)).await {
            Err(e) if !is_not_found(&e) => Err(DrillError::setup_from(
                format!("cannot remove container {container}"),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// Lists every container, network and volume labelled with this run id, or with any
    /// run id when `run_id` is None.
    pub async fn labelled(&self, run_id: Option<&str>) -> Result<Labelled, DrillError> {
        let filter = match run_id {
            Some(id) => format!("{RUN_LABEL}={id}"),
            None => RUN_LABEL.to_string(),
        };
        let filters = HashMap::from([("label".to_string(), vec![filter])]);
        let containers = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .engine_context(|| "cannot list containers".to_string())?;
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .engine_context(|| "cannot list networks".to_string())?;
        let volumes = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .engine_context(|| "cannot list volumes".to_string())?;
        Ok(Labelled {
            containers: containers.into_iter().filter_map(|c| c.id).collect(),
            networks: networks.into_iter().filter_map(|n| n.name).collect(),
            volumes: volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.name)
                .collect(),
        })
    }

    /// Removes every container, network and volume labelled with this run id, or with
    /// any run id when `run_id` is None. Touches nothing without the label.
    pub async fn remove_labelled(&self, run_id: Option<&str>) -> Removed {
        let mut removed = Removed::default();
        let found = match self.labelled(run_id).await {
            Ok(found) => found,
            Err(e) => {
                removed.errors.push(e.to_string());
                return removed;
            }
        };
        // Containers first: networks and volumes in use cannot be removed.
        let removals = found.containers.iter().map(|id| async move {
            let options = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            (self.docker.remove_container(id, Some(options)).await, id)
        });
        for (result, id) in futures_util::future::join_all(removals).await {
            match result {
                Ok(()) => removed.containers += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => removed.errors.push(format!("container {id}: {e}")),
            }
        }
        for name in &found.networks {
            match self.docker.remove_network(name).await {
                Ok(()) => removed.networks += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => removed.errors.push(format!("network {name}: {e}")),
            }
        }
        for name in &found.volumes {
            let options = RemoveVolumeOptionsBuilder::default().force(true).build();
            match self.docker.remove_volume(name, Some(options)).await {
                Ok(()) => removed.volumes += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => removed.errors.push(format!("volume {name}: {e}")),
            }
        }
        removed
    }
}

/// Objects carrying the run label.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Labelled {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Labelled {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn run_labels(run_id: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut labels = HashMap::from([(RUN_LABEL.to_string(), run_id.to_string())]);
    for (k, v) in extra {
        labels.insert(k.to_string(), v.to_string());
    }
    labels
}

/// Finds a free TCP port on 127.0.0.1. drill picks host ports itself (rather than
/// letting Docker choose) so a killed and restarted container keeps its entry point.
pub fn free_loopback_port() -> Result<u16, DrillError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .setup_context(|| "cannot find a free port on 127.0.0.1".to_string())
}
