//! A region's registry as the plan resolves it: drill's built-in distribution, or one a
//! team brings, with its files found and everything a node's container needs named.
//! Its templates are kept as written: they are rendered at bring-up, once the run's
//! secrets exist.

use super::balancer::HealthCheck;
use crate::model::registry::{BlobLayout, Capability};
use crate::scenario::registry::{Layout, RegistrySpec, Resolved};
use std::path::{Path, PathBuf};

/// Where the built-in registry keeps its data.
pub const DISTRIBUTION_STORAGE: &str = "/var/lib/registry";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryPlan {
    Distribution,
    Custom(Box<CustomRegistry>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An image already in the local engine, never pulled.
    Image(String),
    /// A host binary, packed into an image with its libraries.
    Binary(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRegistry {
    /// Its name under `registries:` (`custom` for one written in place).
    pub name: String,
    pub source: Source,
    /// Replaces an image's entrypoint when not empty.
    pub command: Vec<String>,
    /// Templates, rendered per node.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub port: u16,
    /// (template file on this machine, path inside the container).
    pub config: Option<(PathBuf, String)>,
    pub health: HealthCheck,
    pub storage: String,
    pub layout: Option<BlobLayout>,
    pub capabilities: Vec<Capability>,
}

impl RegistryPlan {
    /// The registry `resolved` names, its files found from `dir` (the scenario's folder).
    pub fn of(resolved: Resolved, dir: Option<&Path>) -> RegistryPlan {
        match resolved {
            Resolved::Distribution | Resolved::Unknown(_) => RegistryPlan::Distribution,
            Resolved::Custom { name, spec } => {
                RegistryPlan::Custom(Box::new(CustomRegistry::of(name, spec, dir)))
            }
        }
    }

    /// Its name in the plan's words and reports.
    pub fn name(&self) -> &str {
        match self {
            RegistryPlan::Distribution => crate::scenario::registry::DISTRIBUTION,
            RegistryPlan::Custom(c) => &c.name,
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            RegistryPlan::Distribution => super::REGISTRY_PORT,
            RegistryPlan::Custom(c) => c.port,
        }
    }

    /// What the load balancers check a node with: distribution answers `/` with 200.
    pub fn health(&self) -> HealthCheck {
        match self {
            RegistryPlan::Distribution => HealthCheck::distribution(),
            RegistryPlan::Custom(c) => c.health.clone(),
        }
    }

    /// Where the region's storage volume is mounted in a node.
    pub fn storage(&self) -> &str {
        match self {
            RegistryPlan::Distribution => DISTRIBUTION_STORAGE,
            RegistryPlan::Custom(c) => &c.storage,
        }
    }

    /// How blobs lie in the storage; `None` when drill cannot know.
    pub fn layout(&self) -> Option<BlobLayout> {
        match self {
            RegistryPlan::Distribution => Some(BlobLayout::Distribution),
            RegistryPlan::Custom(c) => c.layout.clone(),
        }
    }

    pub fn custom(&self) -> Option<&CustomRegistry> {
        match self {
            RegistryPlan::Distribution => None,
            RegistryPlan::Custom(c) => Some(c),
        }
    }
}

impl CustomRegistry {
    fn of(name: &str, spec: &RegistrySpec, dir: Option<&Path>) -> CustomRegistry {
        let source = match (&spec.image, &spec.binary) {
            (Some(image), _) => Source::Image(image.clone()),
            (None, Some(binary)) => Source::Binary(resolve(dir, binary)),
            (None, None) => Source::Image(String::new()),
        };
        CustomRegistry {
            name: name.to_string(),
            source,
            command: spec.command.clone(),
            args: spec.args.clone(),
            env: spec
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            port: spec.port.get() as u16,
            config: spec
                .config
                .as_ref()
                .map(|c| (resolve(dir, &c.template), c.path.clone())),
            health: HealthCheck {
                path: spec.health.path.clone(),
                status: spec.health.status.clone(),
            },
            storage: spec.storage.path.clone(),
            layout: match &spec.storage.layout {
                Layout::None => None,
                Layout::Known(l) => Some(l.clone()),
            },
            capabilities: spec.capabilities.clone(),
        }
    }
}

/// A path as a scenario writes it: `~/` is the user's home, a relative path is read
/// from the scenario file's folder.
fn resolve(dir: Option<&Path>, written: &str) -> PathBuf {
    if let Some(rest) = written.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let path = PathBuf::from(written);
    match dir {
        Some(d) if path.is_relative() => d.join(path),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_the_scenario_folder_or_home() {
        let dir = Path::new("/srv/scenarios");
        assert_eq!(
            resolve(Some(dir), "bin/reg"),
            PathBuf::from("/srv/scenarios/bin/reg")
        );
        assert_eq!(resolve(Some(dir), "/opt/reg"), PathBuf::from("/opt/reg"));
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            resolve(Some(dir), "~/.cargo/bin/reg"),
            Path::new(&home).join(".cargo/bin/reg")
        );
    }
}
