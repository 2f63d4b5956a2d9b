//! The helper images drill runs (registry, haproxy), built locally from host binaries
//! because no registry is assumed reachable — and a registry tool must never pull its
//! own parts from the registry it is testing.
//!
//! An image is a root filesystem of the binary plus the shared libraries `ldd` lists,
//! imported through the engine API. Its tag is a hash of everything that goes in, so
//! it is rebuilt only when an input changes.

use crate::docker::engine::{Engine, IMAGE_LABEL};
use crate::model::error::{DrillError, SetupContext};
use crate::plan::balancer::Balancer;
use crate::plan::balancer::{CADDY_CONFIG_PATH, HAPROXY_CONFIG_PATH, NGINX_CONFIG_PATH};
use crate::plan::launch::Source;
use crate::plan::proxy::{CustomProxy, ProxyImpl};
use crate::plan::registry::RegistryPlan;
use crate::plan::Plan;
use crate::scenario::{HostKind, LoadBalancerKind, ProxyKind};
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Bumped when a recipe changes in a way its inputs do not show.
const RECIPE_VERSION: &str = "1";

/// One image to build from host files.
pub struct Recipe {
    pub name: String,
    /// (host binary, path in the image, the Debian package that provides it: none for a
    /// binary a scenario names)
    pub binaries: Vec<(String, String, Option<&'static str>)>,
    /// Host folders of plugins a binary loads at run time (invisible to `ldd`), copied
    /// whole with the libraries they need.
    pub plugin_dirs: &'static [&'static str],
    /// Extra files: (path in the image, contents).
    pub files: Vec<(&'static str, &'static [u8])>,
    /// Empty directories the program expects.
    pub dirs: &'static [&'static str],
    pub entrypoint: Vec<String>,
    /// Older tags of the recipe are removed once a new one is imported (those no
    /// container uses and not just imported): its input changes with every build of drill.
    pub replaces_older: bool,
}

/// The base configuration every registry node runs with. Per-run settings (the shared
/// `http.secret`) come as `REGISTRY_*` environment variables.
pub const REGISTRY_CONFIG: &str = "version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: :5000
health:
  storagedriver:
    enabled: true
    interval: 2s
    threshold: 3
";

pub fn registry_recipe() -> Recipe {
    Recipe {
        name: "registry".into(),
        binaries: vec![(
            "/usr/bin/docker-registry".into(),
            "/bin/registry".into(),
            Some("docker-registry"),
        )],
        plugin_dirs: &[],
        files: vec![("etc/docker/registry/config.yml", REGISTRY_CONFIG.as_bytes())],
        dirs: &["var/lib/registry", "tmp"],
        entrypoint: strings(&["/bin/registry", "serve", "/etc/docker/registry/config.yml"]),
        replaces_older: false,
    }
}

pub fn haproxy_recipe() -> Recipe {
    Recipe {
        name: "haproxy".into(),
        binaries: vec![(
            "/usr/sbin/haproxy".into(),
            "/usr/sbin/haproxy".into(),
            Some("haproxy"),
        )],
        plugin_dirs: &[],
        files: vec![],
        dirs: &["usr/local/etc/haproxy", "tmp", "run"],
        entrypoint: strings(&["/usr/sbin/haproxy", "-W", "-db", "-f", HAPROXY_CONFIG_PATH]),
        replaces_older: false,
    }
}

/// The users nginx's master looks up for its workers (`nobody`, `nogroup`), in a root
/// file system that has no others.
const PASSWD: &[u8] = b"root:x:0:0:root:/:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n";
const GROUP: &[u8] = b"root:x:0:\nnogroup:x:65534:\n";

/// nginx from Debian's package, as a load balancer (its configuration comes per run).
pub fn nginx_recipe() -> Recipe {
    Recipe {
        name: "nginx".into(),
        binaries: vec![(
            "/usr/sbin/nginx".into(),
            "/usr/sbin/nginx".into(),
            Some("nginx"),
        )],
        plugin_dirs: &[],
        files: vec![("etc/passwd", PASSWD), ("etc/group", GROUP)],
        dirs: &["etc/nginx", "var/lib/nginx", "var/log/nginx", "tmp", "run"],
        entrypoint: strings(&["/usr/sbin/nginx", "-c", NGINX_CONFIG_PATH]),
        replaces_older: false,
    }
}

/// Caddy from Debian's package, as a load balancer. Its data and autosaved
/// configuration go to `$HOME`, which the load balancer's container sets to `/tmp`.
pub fn caddy_recipe() -> Recipe {
    Recipe {
        name: "caddy".into(),
        binaries: vec![(
            "/usr/bin/caddy".into(),
            "/usr/bin/caddy".into(),
            Some("caddy"),
        )],
        plugin_dirs: &[],
        files: vec![],
        dirs: &["etc/caddy", "tmp"],
        entrypoint: strings(&[
            "/usr/bin/caddy",
            "run",
            "--adapter",
            "caddyfile",
            "--config",
            CADDY_CONFIG_PATH,
        ]),
        replaces_older: false,
    }
}

use crate::model::toolbox::{BUSYBOX, IPTABLES, TC};

/// The fault toolbox: `tc`, `iptables` and busybox. It runs as a sidecar in a target's
/// network namespace (network faults) or with a region's storage mounted (storage faults).
pub fn toolbox_recipe() -> Recipe {
    Recipe {
        name: "toolbox".into(),
        binaries: vec![
            (
                "/bin/busybox".into(),
                BUSYBOX.into(),
                Some("busybox-static"),
            ),
            ("/usr/sbin/tc".into(), TC.into(), Some("iproute2")),
            (
                "/usr/sbin/xtables-legacy-multi".into(),
                IPTABLES.into(),
                Some("iptables"),
            ),
        ],
        plugin_dirs: &["/usr/lib/x86_64-linux-gnu/xtables"],
        files: vec![],
        dirs: &["tmp", "run"],
        entrypoint: strings(&[BUSYBOX, "sleep", "2147483647"]),
        replaces_older: false,
    }
}

/// Where containerd hosts read their registry configuration (`ctr --hosts-dir`).
pub const CONTAINERD_HOSTS_DIR: &str = "/etc/containerd/certs.d";

/// A real container host: containerd and its client `ctr`. It runs with `SYS_ADMIN`,
/// unconfined seccomp and AppArmor (to unpack layers) and a tmpfs at
/// `/var/lib/containerd`.
pub fn containerd_recipe() -> Recipe {
    Recipe {
        name: "containerd".into(),
        binaries: vec![
            (
                "/usr/bin/containerd".into(),
                "/usr/bin/containerd".into(),
                Some("containerd"),
            ),
            (
                "/usr/bin/ctr".into(),
                "/usr/bin/ctr".into(),
                Some("containerd"),
            ),
        ],
        plugin_dirs: &[],
        files: vec![],
        dirs: &["tmp", "run", "var/lib/containerd", "etc/containerd/certs.d"],
        entrypoint: strings(&["/usr/bin/containerd"]),
        replaces_older: false,
    }
}

/// The token service of `auth: token` regions: drill's own binary, run as
/// `drill token-service` (see the token service in run/token_service.rs). Its tag follows the binary,
/// so a rebuilt drill builds a new one.
pub fn token_service_recipe() -> Result<Recipe, DrillError> {
    let exe = std::env::current_exe()
        .setup_context(|| "cannot find drill's own binary for the token service image".into())?;
    let shown = exe.display().to_string();
    if shown.ends_with(" (deleted)") {
        return Err(DrillError::setup(format!(
            "drill's own binary ({shown}) was replaced while this drill ran; run the new one"
        )));
    }
    Ok(Recipe {
        name: "token-service".into(),
        binaries: vec![(
            exe.display().to_string(),
            "/usr/bin/drill".into(),
            Some("registry-drill"),
        )],
        plugin_dirs: &[],
        files: vec![],
        dirs: &["etc/drill", "tmp"],
        entrypoint: strings(&["/usr/bin/drill", "token-service"]),
        replaces_older: true,
    })
}

/// A brought part's binary, packed as drill packs its own: the binary at
/// `/usr/local/bin/`, its libraries, and `/tmp`. Its arguments come per container.
/// The image is named after the binary and its path (`drill/brought-haproxy-1a2b3c4d`),
/// not after the part, so that rebuilding one binary replaces only its own older image.
pub fn brought_recipe(binary: &Path) -> Recipe {
    let file = binary
        .file_name()
        .map_or_else(|| "binary".into(), |f| f.to_string_lossy().to_string());
    let in_image = format!("/usr/local/bin/{file}");
    let word: String = file
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = hex::encode(&Sha256::digest(binary.as_os_str().as_encoded_bytes())[..4]);
    Recipe {
        name: format!("brought-{word}-{path}"),
        binaries: vec![(binary.display().to_string(), in_image.clone(), None)],
        plugin_dirs: &[],
        files: vec![("etc/passwd", PASSWD), ("etc/group", GROUP)],
        dirs: &["tmp", "run"],
        entrypoint: vec![in_image],
        // A rebuilt binary makes a new tag: the old one is of no use.
        replaces_older: true,
    }
}

/// The images a run uses, by role.
#[derive(Debug, Clone, Default)]
pub struct Images {
    pub registry: String,
    /// The default load balancer, and the upstream's fault point in every run.
    pub haproxy: String,
    pub toolbox: String,
    /// Built only for runs with nginx or Caddy load balancers (nginx also for nginx
    /// proxies).
    pub nginx: Option<String>,
    pub caddy: Option<String>,
    /// Built only for runs with containerd hosts.
    pub containerd: Option<String>,
    /// Built only for runs with `auth: token` regions.
    pub token_service: Option<String>,
    /// What brought parts (registries, load balancers, proxies) run, by their source:
    /// the user's image as given, or the one drill packed from their binary.
    pub brought: std::collections::BTreeMap<Source, String>,
}

/// Builds (or finds already built) every helper image.
pub async fn ensure_all(engine: &Engine) -> Result<Images, DrillError> {
    Ok(Images {
        registry: ensure(engine, &registry_recipe()).await?,
        haproxy: ensure(engine, &haproxy_recipe()).await?,
        toolbox: ensure(engine, &toolbox_recipe()).await?,
        nginx: None,
        caddy: None,
        containerd: None,
        token_service: None,
        brought: Default::default(),
    })
}

/// Builds (or finds already built) every image `plan` uses, and only those.
pub async fn ensure_for(engine: &Engine, plan: &Plan) -> Result<Images, DrillError> {
    let mut images = ensure_all(engine).await?;
    let uses = |kind| {
        plan.regions
            .iter()
            .any(|r| r.balancer.builtin().is_some_and(|b| b.kind == kind))
    };
    let nginx_proxy = plan
        .regions
        .iter()
        .filter_map(|r| r.proxy.as_ref())
        .any(|p| p.kind == ProxyImpl::Builtin(ProxyKind::Nginx));
    if uses(LoadBalancerKind::Nginx) || nginx_proxy {
        images.nginx = Some(ensure(engine, &nginx_recipe()).await?);
    }
    if uses(LoadBalancerKind::Caddy) {
        images.caddy = Some(ensure(engine, &caddy_recipe()).await?);
    }
    if plan.hosts.iter().any(|h| h.kind == HostKind::Containerd) {
        images.containerd = Some(ensure(engine, &containerd_recipe()).await?);
    }
    if plan.regions.iter().any(|r| r.token_service.is_some()) {
        images.token_service = Some(ensure(engine, &token_service_recipe()?).await?);
    }
    for (role, name, source) in brought_parts(plan) {
        if !images.brought.contains_key(source) {
            let image = brought(engine, role, name, source).await?;
            images.brought.insert(source.clone(), image);
        }
    }
    Ok(images)
}

/// Every brought part of `plan`: its role, its name and what it runs.
fn brought_parts(plan: &Plan) -> Vec<(&'static str, &str, &Source)> {
    let mut parts = Vec::new();
    for r in &plan.regions {
        if let Some(c) = r.registry.custom() {
            parts.push(("registry", c.name.as_str(), &c.launch.source));
        }
        if let Some(c) = r.balancer.custom() {
            parts.push(("load-balancer", c.name.as_str(), &c.launch.source));
        }
        if let Some(c) = r.proxy.as_ref().and_then(|p| p.custom()) {
            parts.push(("proxy", c.name.as_str(), &c.launch.source));
        }
    }
    parts
}

/// The image a brought part runs: the user's, which must be there, or one packed from
/// their binary.
async fn brought(
    engine: &Engine,
    role: &str,
    name: &str,
    source: &Source,
) -> Result<String, DrillError> {
    match source {
        Source::Binary(binary) => ensure(engine, &brought_recipe(binary)).await,
        Source::Image(image) => {
            present(
                engine,
                &format!("{} '{name}'", role.replace('-', " ")),
                image,
            )
            .await?;
            Ok(image.clone())
        }
    }
}

/// A brought image must be in the local engine already: drill pulls nothing, least of
/// all the registry it tests. `part` names it: `registry 'cr'`.
async fn present(engine: &Engine, part: &str, image: &str) -> Result<(), DrillError> {
    match engine.docker().inspect_image(image).await {
        Ok(_) => Ok(()),
        Err(
            e @ bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            },
        ) => Err(DrillError::setup_citing(
            format!(
                "{part}: the image {image} is not in the local Docker engine, and \
                 drill never pulls one. Load it (docker load -i FILE.tar) or build it, then run \
                 again"
            ),
            e,
        )),
        Err(e) => Err(e).setup_context(|| format!("cannot look up the image {image} of {part}")),
    }
}

impl Images {
    /// The image a region's nodes run.
    pub fn registry_of(&self, registry: &RegistryPlan) -> Result<String, DrillError> {
        match registry {
            RegistryPlan::Distribution => Ok(self.registry.clone()),
            RegistryPlan::Custom(c) => self.of_brought(&c.launch.source),
        }
    }

    /// The image of a region's load balancer, which [`ensure_for`] made for a plan that
    /// uses it.
    pub fn balancer(&self, balancer: &Balancer) -> Result<String, DrillError> {
        match balancer {
            Balancer::Builtin(b) => self.builtin_balancer(b.kind),
            Balancer::Custom(c) => self.of_brought(&c.launch.source),
        }
    }

    /// The image of a brought proxy.
    pub fn proxy(&self, proxy: &CustomProxy) -> Result<String, DrillError> {
        self.of_brought(&proxy.launch.source)
    }

    /// The image a brought part runs, which [`ensure_for`] made for a plan that has it.
    fn of_brought(&self, source: &Source) -> Result<String, DrillError> {
        self.brought
            .get(source)
            .cloned()
            .ok_or_else(|| DrillError::setup(format!("the image of {source} was not made")))
    }

    /// The image of a built-in load balancer of `kind`.
    pub fn builtin_balancer(&self, kind: LoadBalancerKind) -> Result<String, DrillError> {
        let built = match kind {
            LoadBalancerKind::Haproxy => Some(&self.haproxy),
            LoadBalancerKind::Nginx => self.nginx.as_ref(),
            LoadBalancerKind::Caddy => self.caddy.as_ref(),
        };
        built
            .cloned()
            .ok_or_else(|| DrillError::setup(format!("the {} image was not built", kind.as_str())))
    }
}

/// Returns the image tag for a recipe, building the image if the engine lacks it.
pub async fn ensure(engine: &Engine, recipe: &Recipe) -> Result<String, DrillError> {
    let rootfs = collect(recipe)?;
    let tag = format!("drill/{}:{}", recipe.name, rootfs.hash);
    if engine.docker().inspect_image(&tag).await.is_ok() {
        return Ok(tag);
    }
    let tar = rootfs
        .to_tar()
        .setup_context(|| format!("cannot pack the {} image", recipe.name))?;
    let entrypoint = serde_json::to_string(&recipe.entrypoint).expect("strings serialize");
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(&format!("drill/{}", recipe.name))
        .tag(&rootfs.hash)
        .changes(vec![
            format!("ENTRYPOINT {entrypoint}"),
            format!("LABEL {IMAGE_LABEL}={}", recipe.name),
        ])
        .build();
    let mut stream =
        engine
            .docker()
            .create_image(Some(options), Some(bollard::body_full(tar.into())), None);
    while let Some(item) = stream.next().await {
        item.setup_context(|| format!("cannot import the {} image into the engine", recipe.name))?;
    }
    remove_untagged(engine, &recipe.name).await;
    if recipe.replaces_older {
        remove_other_tags(engine, &recipe.name, &tag).await;
    }
    Ok(tag)
}

/// What `drill images prune` did.
#[derive(Debug, Default)]
pub struct Pruned {
    pub removed: Vec<String>,
    /// Outdated tags the engine would not remove (a container still uses them), with why.
    pub kept: Vec<(String, String)>,
}

/// Removes helper images that the current recipes no longer build: tags left by an
/// older drill or by host binaries since upgraded. Images of a recipe this drill does
/// not know (another drill version's), or whose inputs are missing here, are left.
pub async fn prune(engine: &Engine) -> Result<Pruned, DrillError> {
    let current: Vec<(String, String)> = [
        registry_recipe(),
        haproxy_recipe(),
        nginx_recipe(),
        caddy_recipe(),
        toolbox_recipe(),
        containerd_recipe(),
    ]
    .into_iter()
    .chain(token_service_recipe().ok())
    .collect::<Vec<_>>()
    .iter()
    .filter_map(|r| {
        collect(r)
            .ok()
            .map(|fs| (r.name.clone(), format!("drill/{}:{}", r.name, fs.hash)))
    })
    .collect();
    let filters =
        std::collections::HashMap::from([("label".to_string(), vec![IMAGE_LABEL.to_string()])]);
    let options = bollard::query_parameters::ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let images = engine
        .docker()
        .list_images(Some(options))
        .await
        .setup_context(|| "cannot list the helper images".to_string())?;
    let mut pruned = Pruned::default();
    for tag in images.iter().flat_map(|i| &i.repo_tags) {
        let Some(name) = tag.strip_prefix("drill/").and_then(|t| t.split(':').next()) else {
            continue;
        };
        let outdated = current.iter().any(|(n, cur)| n == name && cur != tag);
        if !outdated {
            continue;
        }
        match engine.remove_image(tag).await {
            Ok(()) => pruned.removed.push(tag.clone()),
            Err(e) => pruned.kept.push((tag.clone(), e.to_string())),
        }
    }
    Ok(pruned)
}

/// Two drills importing the same image at once leave the first import untagged; such
/// leftovers of this recipe are removed (one still used by a container stays).
async fn remove_untagged(engine: &Engine, name: &str) {
    for image in images_of(engine, name, true).await {
        let _ = engine
            .docker()
            .remove_image(
                &image.id,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
    }
}

/// How long after its import an image may still be waiting for the drill that imported
/// it to start a container on it: another drill's cleanup leaves it alone that long.
const JUST_IMPORTED_SECS: i64 = 600;

/// Removes the recipe's tags other than `keep`; one a container uses stays, and so does
/// one imported in the last [`JUST_IMPORTED_SECS`] (another build of drill, running
/// beside this one, may be about to use it).
async fn remove_other_tags(engine: &Engine, name: &str, keep: &str) {
    let now = crate::oci::token::unix_now() as i64;
    for image in images_of(engine, name, false).await {
        if image.created > now - JUST_IMPORTED_SECS {
            continue;
        }
        for tag in image.repo_tags.iter().filter(|t| *t != keep) {
            let _ = engine.remove_image(tag).await;
        }
    }
}

/// The engine's images of a recipe (only the untagged ones with `dangling`); none when
/// the engine cannot list them.
async fn images_of(
    engine: &Engine,
    name: &str,
    dangling: bool,
) -> Vec<bollard::models::ImageSummary> {
    let mut filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("{IMAGE_LABEL}={name}")],
    )]);
    if dangling {
        filters.insert("dangling".to_string(), vec!["true".to_string()]);
    }
    let options = bollard::query_parameters::ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    engine
        .docker()
        .list_images(Some(options))
        .await
        .unwrap_or_default()
}

/// The files of an image and the hash of all of them.
struct RootFs {
    /// (path in the image, host file to copy)
    files: Vec<(String, FileSource)>,
    dirs: Vec<String>,
    hash: String,
}

enum FileSource {
    Host(PathBuf),
    Bytes(&'static [u8]),
}

fn collect(recipe: &Recipe) -> Result<RootFs, DrillError> {
    let mut files = Vec::new();
    let mut libraries = std::collections::BTreeSet::new();
    for (host_bin, image_bin, package) in &recipe.binaries {
        if !Path::new(host_bin).exists() {
            let what = match package {
                Some(package) => format!("Install the Debian package: apt-get install {package}"),
                None => "Check the scenario's `binary:` path (a relative one is read from the \
                         scenario file's folder)"
                    .to_string(),
            };
            return Err(DrillError::setup(format!(
                "{host_bin} is missing: drill builds its {} image from it. {what}",
                recipe.name
            )));
        }
        files.push((
            image_bin.trim_start_matches('/').to_string(),
            FileSource::Host(host_bin.into()),
        ));
        libraries.extend(shared_libraries(host_bin)?);
    }
    for dir in recipe.plugin_dirs {
        let mut plugins: Vec<PathBuf> = std::fs::read_dir(dir)
            .setup_context(|| format!("cannot read {dir}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "so"))
            .collect();
        plugins.sort();
        for plugin in plugins {
            let shown = plugin.display().to_string();
            libraries.extend(shared_libraries(&shown)?);
            files.push((
                shown.trim_start_matches('/').to_string(),
                FileSource::Host(plugin),
            ));
        }
    }
    for lib in libraries {
        files.push((
            lib.trim_start_matches('/').to_string(),
            FileSource::Host(lib.into()),
        ));
    }
    for (path, contents) in &recipe.files {
        files.push((path.to_string(), FileSource::Bytes(contents)));
    }
    let mut hasher = Sha256::new();
    hasher.update(RECIPE_VERSION);
    hasher.update(recipe.entrypoint.join(" "));
    for (path, source) in &files {
        hasher.update(path);
        match source {
            FileSource::Host(p) => {
                let bytes =
                    std::fs::read(p).setup_context(|| format!("cannot read {}", p.display()))?;
                hasher.update(&bytes);
            }
            FileSource::Bytes(b) => hasher.update(b),
        }
    }
    for d in recipe.dirs {
        hasher.update(d);
    }
    let digest = hasher.finalize();
    Ok(RootFs {
        files,
        dirs: recipe.dirs.iter().map(|d| d.to_string()).collect(),
        hash: hex::encode(&digest[..6]),
    })
}

impl RootFs {
    fn to_tar(&self) -> std::io::Result<Vec<u8>> {
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(true);
        // The engine's importer refuses GNU sparse entries, which a linker's output
        // (drill's own binary) may be written as.
        b.sparse(false);
        for d in &self.dirs {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o1777);
            h.set_size(0);
            h.set_cksum();
            b.append_data(&mut h, d, std::io::empty())?;
        }
        for (path, source) in &self.files {
            match source {
                FileSource::Host(p) => b.append_path_with_name(p, path)?,
                FileSource::Bytes(bytes) => {
                    let mut h = tar::Header::new_gnu();
                    h.set_size(bytes.len() as u64);
                    h.set_mode(0o644);
                    h.set_cksum();
                    b.append_data(&mut h, path, *bytes)?;
                }
            }
        }
        b.into_inner()
    }
}

/// The shared libraries a binary loads, as `ldd` resolves them on this host.
fn shared_libraries(binary: &str) -> Result<Vec<String>, DrillError> {
    let out = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| {
            let message =
                format!("cannot run ldd on {binary}: {e}; install the Debian package libc-bin");
            DrillError::setup_citing(message, e)
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let static_binary = String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
        || text.contains("not a dynamic executable");
    if static_binary {
        return Ok(Vec::new());
    }
    if !out.status.success() {
        return Err(DrillError::setup(format!(
            "ldd {binary} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_ldd(&text))
}

fn parse_ldd(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| path.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_is_parsed() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(out),
            [
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
    }

    #[test]
    fn missing_binary_names_the_package() {
        let recipe = Recipe {
            name: "nothing".into(),
            binaries: vec![(
                "/usr/bin/drill-no-such-binary".into(),
                "/bin/x".into(),
                Some("drill-no-such-package"),
            )],
            plugin_dirs: &[],
            files: vec![],
            dirs: &[],
            entrypoint: strings(&["/bin/x"]),
            replaces_older: false,
        };
        let err = collect(&recipe).err().expect("missing binary is an error");
        assert_eq!(err.exit_code(), crate::model::error::exit::SETUP);
        assert!(
            err.to_string()
                .contains("apt-get install drill-no-such-package"),
            "{err}"
        );
    }
}
