//! A region's registry as the plan resolves it: drill's built-in distribution, or one a
//! team brings, with its files found and everything a node's container needs named.

use super::balancer::HealthCheck;
use super::launch::Launch;
use crate::model::registry::{BlobLayout, Capability};
use crate::scenario::registry::{Layout, RegistrySpec, Resolved};
use std::path::Path;

/// Where the built-in registry keeps its data.
pub const DISTRIBUTION_STORAGE: &str = "/var/lib/registry";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryPlan {
    Distribution,
    Custom(Box<CustomRegistry>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRegistry {
    /// Its name under `registries:` (`custom` for one written in place).
    pub name: String,
    pub launch: Launch,
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
            RegistryPlan::Custom(c) => c.launch.port,
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
        CustomRegistry {
            name: name.to_string(),
            launch: Launch::of(&spec.launch(), dir),
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
