//! Brings a plan's topology up in Docker: the run's network, one storage volume per
//! region, registry nodes sharing it, and a load balancer in front of each region; with an
//! upstream, the upstream registry behind its fault point and a proxy per region.

use crate::docker::engine::{free_loopback_port, ContainerSpec, Engine};
use crate::docker::images::{Images, CONTAINERD_HOSTS_DIR};
use crate::faults::upstream::GateMode;
use crate::inject::gate::{self, GATE_LUA, GATE_LUA_PATH};
use crate::model::error::{DrillError, Refusal};
use crate::model::wire::TOKEN_PATH;
use crate::oci;
use crate::oci::token;
use crate::plan::balancer::{Balancer, HAPROXY_CONFIG_PATH, NGINX_CONFIG_PATH};
use crate::plan::launch::Launch;
use crate::plan::proxy::{self, CustomProxy, ProxyImpl};
use crate::plan::registry::CustomRegistry;
use crate::plan::{HostPlan, NodePlan, Plan, ProxyPlan, RegionPlan, UpstreamPlan, REGISTRY_PORT};
use crate::run::security::{self, Material};
use crate::run::token_service::{ServiceConfig, CONFIG_PATH};
use crate::scenario::balancer::TLS_PEM_PATH;
use crate::scenario::brought::{self, Variables};
use crate::scenario::registry::TemplateVars;
use crate::scenario::{AuthKind, LoadBalancerKind, ProxyKind, UPSTREAM};
use base64::Engine as _;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long drill waits for every entry point to answer `/v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Tries at publishing an entry point before giving up on free ports.
const PORT_ATTEMPTS: u32 = 5;

/// Creates `spec` with a port on 127.0.0.1 published to [`REGISTRY_PORT`], copies
/// `files` (path, contents) into it, starts it and returns the port. The free port is
/// picked before Docker binds it, so another run starting at the same moment may take
/// it in between: then another is picked.
async fn start_published(
    engine: &Engine,
    run: &str,
    spec: &mut ContainerSpec,
    files: &[(&str, &[u8])],
) -> Result<u16, DrillError> {
    start_published_from(engine, run, spec, REGISTRY_PORT, files).await
}

/// [`start_published`] for a container that listens on `inside`, not drill's 5000.
async fn start_published_from(
    engine: &Engine,
    run: &str,
    spec: &mut ContainerSpec,
    inside: u16,
    files: &[(&str, &[u8])],
) -> Result<u16, DrillError> {
    let mut attempt = 1;
    loop {
        let port = free_loopback_port()?;
        spec.publish = Some((inside, port));
        engine.create_container(run, spec).await?;
        for (path, contents) in files {
            engine.upload_file(&spec.name, path, contents).await?;
        }
        match engine.start(&spec.name).await {
            Ok(()) => return Ok(port),
            Err(DrillError::Engine(e))
                if attempt < PORT_ATTEMPTS && e.refusal == Refusal::PortTaken =>
            {
                engine.remove_container(&spec.name).await?;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The running topology's entry points, by region: `http(s)://127.0.0.1:<port>`, and
/// what a client needs to use them.
#[derive(Debug, Clone)]
pub struct Live {
    pub entry_points: HashMap<String, String>,
    /// With `auth: token`: each region's token service (`<region>-token`), by name.
    pub token_services: HashMap<String, String>,
    pub access: oci::Access,
}

/// An external topology as the run reaches it: its declared URLs, with the CA and the
/// credentials the scenario gave.
/// Each entry point is asked `/v2/` once first: nothing is seeded into a URL that does
/// not answer.
pub async fn external(
    e: &crate::plan::ExternalPlan,
    material: &Material,
) -> Result<Live, DrillError> {
    let access = oci::Access::new(material.ca_pem.as_deref(), material.credentials.clone())
        .map_err(DrillError::setup_of)?;
    let client = oci::client(Duration::from_secs(5), Duration::from_secs(10), &access);
    for (region, base) in &e.regions {
        if let Err(why) = oci::probe(&client, base).await {
            return Err(DrillError::setup_citing(
                format!(
                    "region {region}'s entry point {base} does not answer /v2/ ({why}): is the registry up at that URL (topology.external.regions)?"
                ),
                why,
            ));
        }
    }
    Ok(Live {
        entry_points: e.regions.iter().cloned().collect(),
        token_services: HashMap::new(),
        access,
    })
}

/// Brings the topology up with `material` (certificates, htpasswd) in its containers.
pub async fn up(
    engine: &Engine,
    plan: &Plan,
    images: &Images,
    material: &Material,
) -> Result<Live, DrillError> {
    let run = &plan.run_id;
    let mut access = oci::Access::new(material.ca_pem.as_deref(), material.credentials.clone())
        .map_err(DrillError::setup_of)?;
    engine.create_network(&plan.network, run).await?;
    for r in &plan.regions {
        let Some((bytes, keeper)) = &r.storage else {
            engine.create_volume(&r.volume, run).await?;
            continue;
        };
        engine.create_tmpfs_volume(&r.volume, run, *bytes).await?;
        // Mounted before the nodes and for the whole run, so the tmpfs (and the
        // images in it) outlives any outage of the region's nodes.
        let spec = ContainerSpec {
            name: keeper.clone(),
            image: images.toolbox.clone(),
            network: "none".into(),
            volumes: vec![(r.volume.clone(), "/storage".into())],
            labels: vec![
                ("drill.role".into(), "storage-keeper".into()),
                ("drill.region".into(), r.name.clone()),
            ],
            ..Default::default()
        };
        engine.create_container(run, &spec).await?;
        engine.start(&spec.name).await?;
    }
    let mut nodes = Vec::new();
    for r in &plan.regions {
        let part = format!("registry '{}'", r.registry.name());
        let template = read_template(r.registry.custom().map(|c| &c.launch), &part)?;
        for n in &r.nodes {
            nodes.push(node_spec(plan, r, n, images, material, template.as_ref())?);
        }
    }
    let node_starts = nodes.into_iter().map(|(spec, files)| async move {
        engine.create_container(run, &spec).await?;
        for (path, contents) in &files {
            engine.upload_file(&spec.name, path, contents).await?;
        }
        engine.start(&spec.name).await
    });
    for r in futures_util::future::join_all(node_starts).await {
        r?;
    }

    // Regions are independent: their load balancers start side by side.
    let balancers = plan.regions.iter().map(|r| async move {
        let (mut spec, files) = balancer_spec(plan, r, images, material)?;
        let files = borrowed(&files);
        let port = start_published_from(engine, run, &mut spec, r.balancer.port(), &files).await?;
        Ok::<_, DrillError>((
            r.name.clone(),
            format!("{}://127.0.0.1:{port}", scheme(plan)),
        ))
    });
    let mut entry_points = HashMap::new();
    for r in futures_util::future::join_all(balancers).await {
        let (region, base) = r?;
        entry_points.insert(region, base);
    }

    if let Some(u) = &plan.upstream {
        upstream_up(engine, plan, images, u, &mut entry_points).await?;
    }
    let mut token_services = HashMap::new();
    for (name, realm_authority, base) in token_services_up(engine, plan, images, material).await? {
        access.realms.insert(realm_authority, base.clone());
        token_services.insert(name, base);
    }

    let client = oci::client(Duration::from_secs(1), Duration::from_secs(2), &access);
    wait_entry_points(engine, plan, &client, &entry_points).await?;
    containerd_hosts_up(engine, plan, images, material).await?;
    Ok(Live {
        entry_points,
        token_services,
        access,
    })
}

/// A brought registry's configuration template, read once for its region.
fn read_template(
    launch: Option<&Launch>,
    part: &str,
) -> Result<Option<(String, String)>, DrillError> {
    let Some((path, _)) = launch.and_then(|l| l.config.as_ref()) else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        DrillError::setup_citing(
            format!(
                "{part}: cannot read its configuration template {shown}: {e}. Check the \
                 spec's `config.template` path (a relative one is read from the scenario \
                 file's folder)"
            ),
            e,
        )
    })?;
    Ok(Some((shown, text)))
}

/// Files copied into a container before it starts: (path inside, contents).
type Files = Vec<(String, Vec<u8>)>;

/// `files` as [`start_published`] takes them.
fn borrowed(files: &Files) -> Vec<(&str, &[u8])> {
    files
        .iter()
        .map(|(path, contents)| (path.as_str(), contents.as_slice()))
        .collect()
}

/// A registry node's container and the files it needs before it starts: distribution
/// configured through `REGISTRY_*` variables, a brought registry through its templates.
fn node_spec(
    plan: &Plan,
    r: &RegionPlan,
    n: &NodePlan,
    images: &Images,
    material: &Material,
    template: Option<&(String, String)>,
) -> Result<(ContainerSpec, Files), DrillError> {
    let mut files: Files = Vec::new();
    if r.auth == AuthKind::Htpasswd {
        let htpasswd = material.htpasswd.clone().unwrap_or_default();
        files.push((security::HTPASSWD_PATH.into(), htpasswd.into_bytes()));
    }
    if let Some(t) = material
        .token
        .as_ref()
        .filter(|_| r.auth == AuthKind::Token)
    {
        let bundle = t.certificate_pem.clone().into_bytes();
        files.push((security::TOKEN_BUNDLE_PATH.into(), bundle));
    }
    let mut spec = ContainerSpec {
        name: n.container.clone(),
        image: images.registry_of(&r.registry)?,
        network: plan.network.clone(),
        volumes: vec![(r.volume.clone(), r.registry.storage().to_string())],
        labels: vec![
            ("drill.role".into(), "registry".into()),
            ("drill.zone".into(), n.zone.clone()),
            ("drill.registry".into(), r.registry.name().to_string()),
        ],
        ..Default::default()
    };
    let Some(custom) = r.registry.custom() else {
        spec.env = distribution_env(plan, r);
        return Ok((spec, files));
    };
    let vars = template_vars(plan, r, n, custom, material);
    let part = format!("registry '{}'", custom.name);
    launch_as(
        &custom.launch,
        &vars,
        template,
        &part,
        &mut spec,
        &mut files,
    )?;
    Ok((spec, files))
}

/// A brought part's command, arguments, environment and configuration file, its
/// templates rendered with `vars`.
fn launch_as<V: Variables>(
    launch: &Launch,
    vars: &V,
    template: Option<&(String, String)>,
    part: &str,
    spec: &mut ContainerSpec,
    files: &mut Files,
) -> Result<(), DrillError> {
    let rendered = |what: &str, text: &str| {
        brought::render(text, vars)
            .map_err(|e| DrillError::setup_from(format!("{part}: its {what}"), e))
    };
    spec.entrypoint = launch.command.clone();
    spec.cmd = launch
        .args
        .iter()
        .map(|a| rendered("args", a))
        .collect::<Result<_, _>>()?;
    for (k, v) in &launch.env {
        spec.env.push(format!("{k}={}", rendered("env", v)?));
    }
    if let (Some((_, inside)), Some((shown, text))) = (&launch.config, template) {
        let what = format!("configuration template {shown}");
        files.push((inside.clone(), rendered(&what, text)?.into_bytes()));
    }
    Ok(())
}

/// [`launch_as`] for a part made once per region: its template read for it.
fn launch_once<V: Variables>(
    launch: &Launch,
    vars: &V,
    part: &str,
    spec: &mut ContainerSpec,
    files: &mut Files,
) -> Result<(), DrillError> {
    let template = read_template(Some(launch), part)?;
    launch_as(launch, vars, template.as_ref(), part, spec, files)
}

/// A brought proxy's container, its volume at the spec's cache path, and its files
/// rendered from its templates.
fn brought_proxy(
    plan: &Plan,
    p: &ProxyPlan,
    c: &CustomProxy,
    images: &Images,
) -> Result<(ContainerSpec, Files), DrillError> {
    let mut spec = ContainerSpec {
        name: p.container.clone(),
        image: images.proxy(c)?,
        network: plan.network.clone(),
        volumes: vec![(p.volume.clone(), c.vars.storage.clone())],
        labels: vec![
            ("drill.role".into(), "proxy".into()),
            ("drill.proxy".into(), c.name.clone()),
        ],
        ..Default::default()
    };
    let mut files = Vec::new();
    let part = format!("proxy '{}'", c.name);
    launch_once(&c.launch, &c.vars, &part, &mut spec, &mut files)?;
    Ok((spec, files))
}

/// A region's load balancer's container and the files it needs before it starts: the
/// configuration drill wrote for a built-in, a brought one's rendered from its
/// templates; with TLS, the certificate and key.
fn balancer_spec(
    plan: &Plan,
    r: &RegionPlan,
    images: &Images,
    material: &Material,
) -> Result<(ContainerSpec, Files), DrillError> {
    let mut spec = ContainerSpec {
        name: r.load_balancer.clone(),
        image: images.balancer(&r.balancer)?,
        network: plan.network.clone(),
        labels: vec![
            ("drill.role".into(), "load-balancer".into()),
            ("drill.region".into(), r.name.clone()),
            ("drill.load-balancer".into(), r.balancer.name().into()),
        ],
        ..Default::default()
    };
    let mut files: Files = Vec::new();
    let pem = material.server_pem.get(&r.load_balancer);
    match &r.balancer {
        Balancer::Builtin(b) => {
            spec.env = b.env();
            files.push((b.config_path().into(), b.config.clone().into_bytes()));
            if let Some(pem) = pem {
                files.push((b.cert_path().into(), pem.clone().into_bytes()));
            }
        }
        Balancer::Custom(c) => {
            let part = format!("load balancer '{}'", c.name);
            launch_once(&c.launch, &c.vars, &part, &mut spec, &mut files)?;
            if let Some(pem) = pem {
                files.push((TLS_PEM_PATH.into(), pem.clone().into_bytes()));
            }
        }
    }
    Ok((spec, files))
}

/// distribution's settings for a region: the shared secret, and its authentication.
fn distribution_env(plan: &Plan, r: &RegionPlan) -> Vec<String> {
    let mut env = vec![format!("REGISTRY_HTTP_SECRET={}", r.http_secret)];
    match (r.auth, &r.token_service) {
        (AuthKind::Htpasswd, _) => env.extend([
            "REGISTRY_AUTH=htpasswd".to_string(),
            format!("REGISTRY_AUTH_HTPASSWD_REALM={}", security::REALM),
            format!("REGISTRY_AUTH_HTPASSWD_PATH={}", security::HTPASSWD_PATH),
        ]),
        // The nodes verify tokens with the bundle alone: they never call the token
        // service, so it can fail without them noticing.
        (AuthKind::Token, Some(t)) => env.extend([
            "REGISTRY_AUTH=token".to_string(),
            format!("REGISTRY_AUTH_TOKEN_REALM={}", t.realm(plan.tls)),
            format!("REGISTRY_AUTH_TOKEN_SERVICE={}", token::SERVICE),
            format!("REGISTRY_AUTH_TOKEN_ISSUER={}", token::ISSUER),
            format!(
                "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE={}",
                security::TOKEN_BUNDLE_PATH
            ),
        ]),
        (AuthKind::Token, None) | (AuthKind::None, _) => {}
    }
    env
}

/// What a brought registry's templates see for node `n`, the run's secrets included.
fn template_vars(
    plan: &Plan,
    r: &RegionPlan,
    n: &NodePlan,
    custom: &CustomRegistry,
    material: &Material,
) -> TemplateVars {
    let creds = material
        .credentials
        .as_ref()
        .filter(|_| r.auth != AuthKind::None);
    let token = r
        .token_service
        .as_ref()
        .filter(|_| r.auth == AuthKind::Token);
    TemplateVars {
        node: n.name.clone(),
        zone: n.zone.clone(),
        region: r.name.clone(),
        port: custom.launch.port,
        storage: custom.storage.clone(),
        secret: r.http_secret.clone(),
        upstream: plan
            .upstream
            .as_ref()
            .map(|u| format!("http://{}:{REGISTRY_PORT}", u.gate)),
        username: creds.map(|c| c.user.clone()),
        password: creds.map(|c| c.password().to_string()),
        htpasswd: (r.auth == AuthKind::Htpasswd).then(|| security::HTPASSWD_PATH.to_string()),
        token_realm: token.map(|t| t.realm(plan.tls)),
        token_issuer: token.map(|_| token::ISSUER.to_string()),
        token_service: token.map(|_| token::SERVICE.to_string()),
        token_certificate: token.map(|_| security::TOKEN_BUNDLE_PATH.to_string()),
    }
}

/// Starts the token service of every `auth: token` region, each published on
/// 127.0.0.1, and returns where drill's own clients reach them: per service its name,
/// the realm authority the registries name (`<container>:5000`) and its
/// `http(s)://127.0.0.1:<port>`.
async fn token_services_up(
    engine: &Engine,
    plan: &Plan,
    images: &Images,
    material: &Material,
) -> Result<Vec<(String, String, String)>, DrillError> {
    let services = plan.token_services();
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let missing = |what: &str| DrillError::setup(format!("auth: token without {what}"));
    let image = images
        .token_service
        .clone()
        .ok_or_else(|| missing("the token service image"))?;
    let key = material
        .token
        .as_ref()
        .ok_or_else(|| missing("a signing key"))?;
    let user = material
        .credentials
        .as_ref()
        .ok_or_else(|| missing("credentials"))?;
    let hash = material
        .password_hash()
        .ok_or_else(|| missing("a password hash"))?;
    let starts = services.into_iter().map(|t| {
        let image = image.clone();
        async move {
            let config = ServiceConfig {
                listen: format!("0.0.0.0:{REGISTRY_PORT}"),
                signing_key: base64::engine::general_purpose::STANDARD.encode(&key.pkcs8),
                user: user.user.clone(),
                password_hash: hash.to_string(),
                tls: material.server_pem.get(&t.container).cloned(),
            };
            let json = serde_json::to_vec(&config).expect("the configuration serializes");
            let mut spec = ContainerSpec {
                name: t.container.clone(),
                image,
                network: plan.network.clone(),
                labels: vec![
                    ("drill.role".into(), "token-service".into()),
                    ("drill.region".into(), t.region.clone()),
                ],
                ..Default::default()
            };
            let port =
                start_published(engine, &plan.run_id, &mut spec, &[(CONFIG_PATH, &json)]).await?;
            let base = format!("{}://127.0.0.1:{port}", scheme(plan));
            wait_token_service(
                &t.name,
                &base,
                &oci::client(
                    Duration::from_secs(1),
                    Duration::from_secs(2),
                    &oci::Access::new(material.ca_pem.as_deref(), None)
                        .map_err(DrillError::setup_of)?,
                ),
            )
            .await?;
            Ok::<_, DrillError>((
                t.name.clone(),
                format!("{}:{REGISTRY_PORT}", t.container),
                base,
            ))
        }
    });
    futures_util::future::join_all(starts)
        .await
        .into_iter()
        .collect()
}

/// Waits until a token service answers (anything: without credentials it says 401).
async fn wait_token_service(
    name: &str,
    base: &str,
    client: &oci::Client,
) -> Result<(), DrillError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let last = match client.get(format!("{base}{TOKEN_PATH}")).send().await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() > deadline {
            return Err(DrillError::setup_citing(
                format!(
                    "token service {name} ({base}) did not answer within {}s (last error: {last}); \
                     rerun with --keep and inspect it with `docker logs`",
                    READY_TIMEOUT.as_secs()
                ),
                last,
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn scheme(plan: &Plan) -> &'static str {
    if plan.tls {
        "https"
    } else {
        "http"
    }
}

/// The upstream registry, its gate (the fault point, published as the `upstream` entry
/// point) and one pull-through proxy per region, each with its own storage volume.
async fn upstream_up(
    engine: &Engine,
    plan: &Plan,
    images: &Images,
    u: &UpstreamPlan,
    entry_points: &mut HashMap<String, String>,
) -> Result<(), DrillError> {
    let run = &plan.run_id;
    let registry = |name: &str, volume: &str, role: &str, env: Vec<String>| ContainerSpec {
        name: name.to_string(),
        image: images.registry.clone(),
        network: plan.network.clone(),
        env,
        volumes: vec![(volume.to_string(), "/var/lib/registry".into())],
        labels: vec![("drill.role".into(), role.into())],
        ..Default::default()
    };
    engine.create_volume(&u.volume, run).await?;
    let spec = registry(&u.container, &u.volume, "upstream", Vec::new());
    engine.create_container(run, &spec).await?;
    engine.start(&spec.name).await?;

    let mut gate = ContainerSpec {
        name: u.gate.clone(),
        image: images.haproxy.clone(),
        network: plan.network.clone(),
        labels: vec![("drill.role".into(), "upstream-gate".into())],
        ..Default::default()
    };
    let config = gate::config(&u.container, GateMode::Pass);
    let files = [
        (GATE_LUA_PATH, GATE_LUA.as_bytes()),
        (HAPROXY_CONFIG_PATH, config.as_bytes()),
    ];
    let port = start_published(engine, run, &mut gate, &files).await?;
    entry_points.insert(UPSTREAM.into(), format!("http://127.0.0.1:{port}"));

    for p in plan.regions.iter().filter_map(|r| r.proxy.as_ref()) {
        engine.create_volume(&p.volume, run).await?;
        let port = match &p.kind {
            ProxyImpl::Builtin(ProxyKind::Nginx) => {
                let mut spec = ContainerSpec {
                    name: p.container.clone(),
                    image: images.builtin_balancer(LoadBalancerKind::Nginx)?,
                    network: plan.network.clone(),
                    volumes: vec![(p.volume.clone(), proxy::NGINX_CACHE_DIR.into())],
                    labels: vec![("drill.role".into(), "proxy".into())],
                    ..Default::default()
                };
                let config = proxy::nginx_config(&u.gate);
                let files = [(NGINX_CONFIG_PATH, config.as_bytes())];
                start_published(engine, run, &mut spec, &files).await?
            }
            // Configured by its environment.
            ProxyImpl::Builtin(ProxyKind::Distribution) => {
                let env = vec![format!(
                    "REGISTRY_PROXY_REMOTEURL=http://{}:{REGISTRY_PORT}",
                    u.gate
                )];
                let mut spec = registry(&p.container, &p.volume, "proxy", env);
                start_published(engine, run, &mut spec, &[]).await?
            }
            ProxyImpl::Custom(c) => {
                let (mut spec, files) = brought_proxy(plan, p, c, images)?;
                let files = borrowed(&files);
                start_published_from(engine, run, &mut spec, c.launch.port, &files).await?
            }
        };
        entry_points.insert(p.name.clone(), format!("http://127.0.0.1:{port}"));
    }
    Ok(())
}

/// The containers of a host's mirrors, in order, as `name:port`: a region's load
/// balancer, a proxy, or the upstream's gate.
pub fn mirror_hosts(plan: &Plan, host: &HostPlan) -> Vec<String> {
    host.mirrors
        .iter()
        .filter_map(|m| {
            let region = plan.regions.iter().find(|r| &r.name == m);
            let proxy = plan
                .regions
                .iter()
                .filter_map(|r| r.proxy.as_ref())
                .find(|p| &p.name == m);
            let gate = plan.upstream.as_ref().filter(|_| m == UPSTREAM);
            region
                .map(|r| format!("{}:{}", r.load_balancer, r.balancer.port()))
                .or_else(|| proxy.map(|p| format!("{}:{}", p.container, p.port())))
                .or_else(|| gate.map(|u| format!("{}:{REGISTRY_PORT}", u.gate)))
        })
        .collect()
}

/// What containerd is told about a secure topology, beyond its mirrors.
#[derive(Debug, Default)]
pub struct HostsSecurity<'a> {
    /// Where the run's CA sits inside the host's container, when entry points speak TLS.
    pub ca_path: Option<&'a str>,
    /// The `Authorization` header value each mirror is sent.
    pub authorization: Option<String>,
}

/// containerd's `hosts.toml` for a host whose mirrors are `mirrors` (`lb:port`, in
/// order): the first is the registry images are named after and the `server`; every
/// mirror is a `[host]` tried in file order. containerd 1.6 reads no credentials from
/// hosts.toml, but sends a `[host.header]` with every request: basic credentials go there.
pub fn hosts_toml(mirrors: &[String], sec: &HostsSecurity) -> String {
    let scheme = if sec.ca_path.is_some() {
        "https"
    } else {
        "http"
    };
    let mut out = format!("server = \"{scheme}://{}\"\n", mirrors[0]);
    for m in mirrors {
        out.push_str(&format!(
            "\n[host.\"{scheme}://{m}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ));
        if let Some(ca) = sec.ca_path {
            out.push_str(&format!("  ca = \"{ca}\"\n"));
        }
        if let Some(auth) = &sec.authorization {
            out.push_str(&format!(
                "  [host.\"{scheme}://{m}\".header]\n    Authorization = [\"{auth}\"]\n"
            ));
        }
    }
    out
}

/// Starts one containerd container per containerd host, on the run's network, with its
/// `hosts.toml`, and waits until each answers `ctr version`.
async fn containerd_hosts_up(
    engine: &Engine,
    plan: &Plan,
    images: &Images,
    material: &Material,
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
            let ca_path = format!("{CONTAINERD_HOSTS_DIR}/{}/ca.crt", mirrors[0]);
            if let Some(ca) = &material.ca_pem {
                engine
                    .upload_file_in(
                        &name,
                        CONTAINERD_HOSTS_DIR,
                        &format!("{}/ca.crt", mirrors[0]),
                        ca.as_bytes(),
                    )
                    .await?;
            }
            let sec = HostsSecurity {
                ca_path: material.ca_pem.as_ref().map(|_| ca_path.as_str()),
                // Only htpasswd regions read it; token regions challenge for a bearer.
                authorization: material
                    .credentials
                    .as_ref()
                    .filter(|_| plan.regions.iter().any(|r| r.auth == AuthKind::Htpasswd))
                    .map(|c| c.basic_header()),
            };
            engine
                .upload_file_in(
                    &name,
                    CONTAINERD_HOSTS_DIR,
                    &format!("{}/hosts.toml", mirrors[0]),
                    hosts_toml(&mirrors, &sec).as_bytes(),
                )
                .await?;
            engine.start(&name).await?;
            let deadline = Instant::now() + READY_TIMEOUT;
            loop {
                let cmd = ["ctr".to_string(), "version".to_string()];
                match engine.exec(&name, &cmd).await {
                    Ok(_) => return Ok(()),
                    Err(e) if Instant::now() > deadline => {
                        return Err(DrillError::setup_from(
                            format!(
                                "containerd host {name} did not answer within {}s",
                                READY_TIMEOUT.as_secs()
                            ),
                            e,
                        ))
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

/// Waits until every entry point answers; a load balancer or proxy that exits while
/// drill waits ends the wait with what it logged.
async fn wait_entry_points(
    engine: &Engine,
    plan: &Plan,
    client: &oci::Client,
    entry_points: &HashMap<String, String>,
) -> Result<(), DrillError> {
    for (name, base) in entry_points {
        let Some(watched) = answering_container(plan, name) else {
            wait_ready(client, name, base).await?;
            continue;
        };
        tokio::select! {
            ready = wait_ready(client, name, base) => ready?,
            exited = exited(engine, watched) => return Err(exited),
        }
    }
    Ok(())
}

/// The container that answers at the entry point `name` (a region's load balancer, a
/// region's proxy), with what it is in words and where its configuration can be seen.
struct Answering<'a> {
    container: &'a str,
    what: String,
    look: &'static str,
}

const LOOK_COMPOSE: &str = "`drill plan --compose DIR` writes its configuration for a look";
const LOOK_KEPT: &str = "rerun with --keep to look inside the container (docker cp, docker logs)";
const LOOK_TEMPLATE: &str = "its configuration is rendered from your template: check it against \
                             these lines, or rerun with --keep to look inside the container";

fn answering_container<'a>(plan: &'a Plan, name: &str) -> Option<Answering<'a>> {
    plan.regions.iter().find_map(|r| {
        if r.name == name {
            return Some(Answering {
                container: &r.load_balancer,
                what: format!("load balancer {} ({})", r.load_balancer, r.balancer.name()),
                look: match r.balancer.builtin() {
                    Some(_) => LOOK_COMPOSE,
                    None => LOOK_TEMPLATE,
                },
            });
        }
        let p = r.proxy.as_ref().filter(|p| p.name == name)?;
        Some(Answering {
            container: &p.container,
            what: format!("proxy {} ({})", p.container, p.kind.name()),
            look: match p.custom() {
                Some(_) => LOOK_TEMPLATE,
                None => LOOK_KEPT,
            },
        })
    })
}

/// Returns once `watched` is no longer running, with what it logged last: a
/// configuration it refused ends it at once, and waiting for it to answer would only
/// hide why.
async fn exited(engine: &Engine, watched: Answering<'_>) -> DrillError {
    while engine.is_running(watched.container).await {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lines = engine
        .log_lines(watched.container)
        .await
        .unwrap_or_default();
    let last: Vec<&str> = lines
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(|(_, l)| l.as_str())
        .collect();
    DrillError::setup(format!(
        "{} exited as it started; it logged:\n  {}\n{}",
        watched.what,
        last.join("\n  "),
        watched.look
    ))
}

/// Waits until an entry point answers `/v2/` through its load balancer.
pub async fn wait_ready(client: &oci::Client, region: &str, base: &str) -> Result<(), DrillError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let last = match oci::probe(client, base).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() > deadline {
            return Err(DrillError::setup_citing(
                format!(
                    "region {region}'s entry point {base} did not answer /v2/ within {}s (last error: {last}); \
                     rerun with --keep and inspect the containers with `docker logs`",
                    READY_TIMEOUT.as_secs()
                ),
                last,
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_toml_lists_every_mirror_in_order() {
        let toml = hosts_toml(
            &["drill-x-eu-lb:5000".into(), "drill-x-us-lb:5000".into()],
            &HostsSecurity::default(),
        );
        assert_eq!(
            toml,
            "server = \"http://drill-x-eu-lb:5000\"\n\
             \n[host.\"http://drill-x-eu-lb:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n\
             \n[host.\"http://drill-x-us-lb:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        );
    }

    #[test]
    fn hosts_toml_gives_every_mirror_the_ca_and_the_header() {
        let sec = HostsSecurity {
            ca_path: Some("/etc/containerd/certs.d/eu:5000/ca.crt"),
            authorization: Some("Basic abc".into()),
        };
        let toml = hosts_toml(&["eu:5000".into(), "us:5000".into()], &sec);
        assert!(toml.starts_with("server = \"https://eu:5000\"\n"), "{toml}");
        for m in ["eu", "us"] {
            assert!(
                toml.contains(&format!(
                    "[host.\"https://{m}:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n  \
                 ca = \"/etc/containerd/certs.d/eu:5000/ca.crt\"\n  \
                 [host.\"https://{m}:5000\".header]\n    Authorization = [\"Basic abc\"]\n"
                )),
                "{toml}"
            );
        }
    }
}
