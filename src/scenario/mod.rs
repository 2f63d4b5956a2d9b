//! The scenario file: its types, parsing and validation.
//!
//! A scenario is parsed strictly (unknown keys are errors) and then validated as a
//! whole; every problem is reported with the file, line, column and field it concerns.

pub mod balancer;
mod bounds;
pub mod brought;
pub mod external;
mod load;
pub mod matrix;
mod messages;
pub mod names;
pub mod proxy;
pub mod registry;
pub mod source;
mod timeline;
mod validate;
mod warnings;

pub use load::{check_source, load, load_as, parse, read_step, render_problems, Loaded};

use crate::model::backoff::{BackoffModel, KubeletBackoff};
pub use crate::model::kinds::{FaultKind, HostKind, ProxyKind};
use crate::model::limits::*;
pub use crate::model::names::{host_name, proxy_name, token_service_name, PER_REGION, UPSTREAM};
pub use crate::model::replication::{Replication, ReplicationMode, DEFAULT_REPLICATION_INTERVAL};
pub use crate::model::sla::*;
use crate::model::units::{Count, Percent, Size, Span};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use std::collections::BTreeSet;

/// Registry nodes in one zone.
pub type NodesPerZone = Count<1, MAX_NODES_PER_ZONE>;
/// Hosts of a fleet in each of its zones.
pub type HostsPerZone = Count<1, MAX_HOSTS_PER_ZONE>;
pub type ParallelLayers = Count<1, MAX_PARALLEL_LAYERS>;
/// How many of a target's matches a fault or cold start acts on.
pub type Pick = Count<1, { MAX_HOSTS as u64 }>;
/// The HTTP status an `upstream-errors` fault answers with.
pub type ErrorStatus = Count<500, 599>;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// Seed for every random choice (layer contents, picks). `--seed` overrides it.
    #[serde(default)]
    pub seed: Option<u64>,
    #[schemars(with = "Span")]
    pub duration: Spanned<Span>,
    #[schemars(with = "Topology")]
    pub topology: Spanned<Topology>,
    #[schemars(with = "Vec<ImageSpec>")]
    pub images: Spanned<Vec<Spanned<ImageSpec>>>,
    #[serde(default)]
    #[schemars(with = "Vec<Fleet>")]
    pub hosts: Vec<Spanned<Fleet>>,
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub timeline: Vec<Spanned<Step>>,
    #[serde(default)]
    pub probes: Probes,
    #[serde(default)]
    pub sla: Sla,
    #[serde(default)]
    pub guardrails: Guardrails,
    /// Small images pushed during the run to measure replication lag.
    #[serde(default)]
    #[schemars(with = "Option<Canaries>")]
    pub canaries: Option<Spanned<Canaries>>,
    #[serde(default)]
    pub preconditions: Preconditions,
    /// Registries a team brings, by name, for `registry:` to choose.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, registry::RegistrySpec>")]
    pub registries: std::collections::BTreeMap<String, Spanned<registry::RegistrySpec>>,
    /// Load balancers a team brings, by name, for `load_balancer:` to choose.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, balancer::BalancerSpec>")]
    pub load_balancers: std::collections::BTreeMap<String, Spanned<balancer::BalancerSpec>>,
    /// Pull-through proxies a team brings, by name, for `topology.proxy` to choose.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, proxy::ProxySpec>")]
    pub proxies: std::collections::BTreeMap<String, Spanned<proxy::ProxySpec>>,
    /// The folder of the scenario file: brought binaries and templates are read from it.
    #[serde(skip)]
    #[schemars(skip)]
    pub dir: Option<std::path::PathBuf>,
}

/// The state the topology is put in before the timeline starts.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preconditions {
    /// `warm`: drill pulls every upstream image through every proxy before the timeline;
    /// `cold` (default): the proxies start empty.
    #[serde(default)]
    pub proxy_cache: CacheState,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CacheState {
    #[default]
    Cold,
    Warm,
}

/// Limits that abort the run (exit 3) when crossed; every fault is healed first.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    #[serde(default)]
    pub abort_if: Option<AbortIf>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AbortIf {
    /// Share of failed probes (all regions) over the trailing `for` window.
    #[serde(default)]
    pub error_rate: Option<Percent>,
    #[serde(default, rename = "for")]
    pub for_: Option<Span>,
    /// Failed probes in a row of one region's entry point.
    #[serde(default)]
    pub consecutive_failures: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// The regions drill builds (not with `external`).
    #[serde(default)]
    #[schemars(with = "Vec<Region>")]
    pub regions: Vec<Spanned<Region>>,
    /// A registry drill does not build, reached at the URLs declared here, instead of
    /// every other key of the topology.
    #[serde(default)]
    pub external: Option<external::External>,
    /// What stands in front of each region's nodes (regions may override it): haproxy
    /// (the default), nginx, caddy, a name under `load_balancers:`, or a spec written
    /// in place.
    #[serde(default)]
    #[schemars(with = "Option<balancer::BalancerChoice>")]
    pub load_balancer: Option<Spanned<balancer::BalancerChoice>>,
    /// What every region's nodes run (regions may override it): `distribution` (the
    /// default), a name under `registries:`, or a spec written in place.
    #[serde(default)]
    #[schemars(with = "Option<registry::RegistryChoice>")]
    pub registry: Option<Spanned<registry::RegistryChoice>>,
    /// How images pushed to one region reach the others.
    #[serde(default)]
    #[schemars(with = "Option<Replication>")]
    pub replication: Option<Spanned<Replication>>,
    /// A registry that plays the public registry, behind a fault point (`upstream-*`
    /// faults). Images with `source: upstream` are seeded there only.
    #[serde(default)]
    pub upstream: bool,
    /// A pull-through cache of the upstream in every region: `distribution` (or
    /// `per-region`, the same), `nginx`, a name under `proxies:`, or a spec written in
    /// place.
    #[serde(default)]
    #[schemars(with = "Option<proxy::ProxyChoice>")]
    pub proxy: Option<Spanned<proxy::ProxyChoice>>,
    /// TLS on every entry point, with a CA drill generates for the run.
    #[serde(default)]
    pub tls: Option<TlsMode>,
    /// Authentication every registry node demands (regions may override it).
    #[serde(default)]
    pub auth: AuthKind,
    /// With `auth: token`, where the token services run: `per-region` (the default), one
    /// in every region that demands tokens; or a region's name, one token service in
    /// that region that every region's registries send their clients to.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token_service: Option<Spanned<String>>,
}

impl Topology {
    /// Whether drill builds nothing and reaches a registry at declared URLs.
    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }

    /// The replication as declared, or the default (`push-to-all`).
    pub fn replication(&self) -> Replication {
        self.replication
            .as_ref()
            .map(|r| r.value.clone())
            .unwrap_or_default()
    }
}

/// Canary images pushed during the timeline, as the replication mode says; drill polls
/// every region until each is visible there.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Canaries {
    /// One canary push this often, from the start of the timeline.
    pub every: Span,
    /// Size of the canary's single layer (default 4KiB).
    #[serde(default = "canary_size")]
    pub size: Size,
}

fn canary_size() -> Size {
    Size(4096)
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyMode {
    /// One distribution registry in proxy mode per region, with its own storage (the
    /// same as `distribution`).
    PerRegion,
    /// One distribution registry in proxy mode per region, with its own storage.
    Distribution,
    /// One nginx caching reverse proxy per region in front of the upstream: blobs and
    /// manifests cached by URL, served stale while the upstream fails.
    Nginx,
}

impl ProxyMode {
    /// The built-in the scenario file calls `name`.
    pub fn named(name: &str) -> Option<ProxyMode> {
        [
            ProxyMode::PerRegion,
            ProxyMode::Distribution,
            ProxyMode::Nginx,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::PerRegion => "per-region",
            ProxyMode::Distribution => "distribution",
            ProxyMode::Nginx => "nginx",
        }
    }

    /// What runs as each region's proxy.
    pub fn kind(self) -> ProxyKind {
        match self {
            ProxyMode::PerRegion | ProxyMode::Distribution => ProxyKind::Distribution,
            ProxyMode::Nginx => ProxyKind::Nginx,
        }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// A CA generated per run signs one certificate per load balancer; every host is
    /// given the CA.
    SelfSigned,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    /// Anonymous pulls are served.
    #[default]
    None,
    /// HTTP basic authentication against a bcrypt htpasswd file generated per run.
    Htpasswd,
    /// Bearer tokens (distribution's `auth: token`): each such region gets a token
    /// service, `<region>-token`, that trades the run's credentials for a signed token.
    Token,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LoadBalancerKind {
    /// Active health checks: a dead node is taken out after two failed checks.
    #[default]
    Haproxy,
    /// The free build: passive health checks only (`max_fails`), so a dead node keeps
    /// getting requests until they fail there.
    Nginx,
    /// `reverse_proxy` with active and passive health checks.
    Caddy,
}

impl LoadBalancerKind {
    pub const ALL: [LoadBalancerKind; 3] = [
        LoadBalancerKind::Haproxy,
        LoadBalancerKind::Nginx,
        LoadBalancerKind::Caddy,
    ];

    /// The built-in the scenario file calls `name`.
    pub fn named(name: &str) -> Option<LoadBalancerKind> {
        LoadBalancerKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// The name the scenario file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadBalancerKind::Haproxy => "haproxy",
            LoadBalancerKind::Nginx => "nginx",
            LoadBalancerKind::Caddy => "caddy",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    pub zones: Vec<String>,
    #[serde(default = "one")]
    pub nodes_per_zone: NodesPerZone,
    /// Overrides `topology.auth` for this region, e.g. `none` for a region left open.
    #[serde(default)]
    pub auth: Option<AuthKind>,
    /// Overrides `topology.load_balancer` for this region.
    #[serde(default)]
    #[schemars(with = "Option<balancer::BalancerChoice>")]
    pub load_balancer: Option<Spanned<balancer::BalancerChoice>>,
    /// Overrides `topology.proxy` for this region, or gives it the only proxy (needs
    /// `topology.upstream: true`).
    #[serde(default)]
    #[schemars(with = "Option<proxy::ProxyChoice>")]
    pub proxy: Option<Spanned<proxy::ProxyChoice>>,
    /// Overrides `topology.registry` for this region.
    #[serde(default)]
    #[schemars(with = "Option<registry::RegistryChoice>")]
    pub registry: Option<Spanned<registry::RegistryChoice>>,
    /// Size of the region's storage: a tmpfs volume of this size instead of a volume
    /// on the engine's disk. Needed by `fill-disk`.
    #[serde(default)]
    pub storage_limit: Option<Size>,
}

fn one() -> NodesPerZone {
    NodesPerZone::new(1)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    #[serde(rename = "ref")]
    pub reference: String,
    /// The sizes of the layers drill generates (not with `existing`).
    #[serde(default)]
    pub layers: Vec<Size>,
    /// Already in an external topology's regions: drill pushes nothing, records the
    /// digest each region serves before the timeline, and holds them to it.
    #[serde(default)]
    pub existing: bool,
    /// Where the image is seeded: every region (default) or the upstream only.
    #[serde(default)]
    pub source: ImageSource,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ImageSource {
    #[default]
    Regions,
    Upstream,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    pub name: String,
    pub region: String,
    /// Zones of the region the fleet is placed in; all of them when omitted.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    pub per_zone: HostsPerZone,
    #[serde(default)]
    pub kind: HostKind,
    /// Ordered mirror list: `region` (the fleet's own region), `other-regions`
    /// (every other region in file order), a region's name, `proxy` (the region's
    /// pull-through cache), `<region>-proxy` or `upstream`.
    pub mirrors: Vec<String>,
    pub pull: Vec<String>,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Layers fetched at once per host (containerd's default is 3).
    #[serde(default = "three")]
    pub parallel_layers: ParallelLayers,
    /// Wait before a host retries a failed cold start.
    #[serde(default = "default_backoff")]
    pub retry_backoff: Span,
    /// `fixed` (default: `retry_backoff` each time) or `kubelet` (ImagePullBackOff:
    /// 10s doubling to 300s, see `kubelet_backoff`).
    #[serde(default)]
    pub backoff: BackoffModel,
    /// The kubelet model's first wait and cap (with `backoff: kubelet` only).
    #[serde(default)]
    pub kubelet_backoff: Option<KubeletBackoff>,
}

fn three() -> ParallelLayers {
    ParallelLayers::new(3)
}

fn default_backoff() -> Span {
    Span(std::time::Duration::from_secs(1))
}

#[derive(Debug, Deserialize, Clone, Copy, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Time allowed to open a connection to one mirror.
    #[serde(default = "default_connect")]
    pub connect: Span,
    /// Time allowed for one request to one mirror, body included.
    #[serde(default = "default_request")]
    pub request: Span,
}

fn default_connect() -> Span {
    Span(std::time::Duration::from_secs(1))
}

fn default_request() -> Span {
    Span(std::time::Duration::from_secs(10))
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: default_connect(),
            request: default_request(),
        }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    #[serde(default = "default_probe_interval")]
    pub interval: Span,
    #[serde(default = "default_probe_timeout")]
    pub timeout: Span,
}

fn default_probe_interval() -> Span {
    Span(std::time::Duration::from_millis(100))
}

fn default_probe_timeout() -> Span {
    // Two seconds: on a small machine a cold-start wave can hold a healthy entry point's
    // answer for over a second, which is load, not an outage.
    Span(std::time::Duration::from_secs(2))
}

impl Default for Probes {
    fn default() -> Self {
        Probes {
            interval: default_probe_interval(),
            timeout: default_probe_timeout(),
        }
    }
}

/// One timeline entry: either an action (`do:`) or a fault (`fault:`). Fault parameters
/// sit beside `fault:`; each kind takes only its own (see docs/faults.md).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: Span,
    #[serde(default, rename = "do")]
    pub action: Option<Action>,
    #[serde(default)]
    pub hosts: Option<HostSelector>,
    #[serde(default)]
    pub fault: Option<FaultKind>,
    /// A node (`eu-a-1`), a zone, a region, a load balancer (`<region>-lb`), a proxy
    /// (`<region>-proxy`) or `upstream` (its fault point).
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default, rename = "for")]
    pub duration: Option<Span>,
    /// Act on this many of the target's matches, picked with the seed.
    #[serde(default)]
    pub pick: Option<Pick>,
    /// How a zone or region is lost.
    #[serde(default)]
    pub mode: Option<OutageMode>,
    /// Which traffic a blackhole or packet loss drops.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Bandwidth limit, bytes per second.
    #[serde(default)]
    pub rate: Option<Size>,
    /// Share of packets dropped.
    #[serde(default)]
    pub loss: Option<Percent>,
    #[serde(default)]
    pub delay: Option<Span>,
    #[serde(default)]
    pub jitter: Option<Span>,
    /// How latency is added: `netem` (kernel qdisc) or `proxy` (drill's delaying proxy in
    /// front of an entry point). Default: netem where the kernel has it, else proxy.
    #[serde(default)]
    pub via: Option<LatencyVia>,
    /// Image whose blob a storage fault damages.
    #[serde(default)]
    pub image: Option<String>,
    /// Which blob of that image: a layer index (0 = first), or `config`.
    #[serde(default)]
    pub blob: Option<BlobRef>,
    /// Status an `upstream-errors` fault answers with (500-599).
    #[serde(default)]
    pub status: Option<ErrorStatus>,
    /// `Retry-After` an `upstream-rate-limit` fault sends with its 429s.
    #[serde(default)]
    pub retry_after: Option<Span>,
    /// Partition groups: zones, regions, nodes, load balancers, proxies (`<region>-proxy`)
    /// or `upstream`.
    #[serde(default)]
    pub groups: Option<Vec<Vec<String>>>,
    /// Spreads a cold start's hosts evenly over this time instead of starting them at once.
    #[serde(default)]
    pub ramp: Option<Span>,
    /// An `exec` or `external` fault's name, for the reports and its commands.
    #[serde(default)]
    pub name: Option<String>,
    /// The command that injects an `exec` fault: a program and its arguments, no shell.
    #[serde(default)]
    pub inject: Option<Vec<String>>,
    /// The command that heals an `exec` fault when it ends.
    #[serde(default)]
    pub heal: Option<Vec<String>>,
    /// How long each of an `exec` fault's commands may take before it is killed.
    #[serde(default)]
    pub timeout: Option<Span>,
    /// The regions an `exec` or `external` fault touches (default: every region).
    #[serde(default)]
    pub regions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OutageMode {
    /// SIGKILL; started again at heal.
    #[default]
    Kill,
    /// cgroup freeze: connections are accepted, nothing answers.
    Pause,
    /// Disconnected from the run's network.
    Isolate,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyVia {
    Netem,
    Proxy,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    In,
    Out,
    #[default]
    Both,
}

/// Which blob of an image a storage fault damages: a layer by index (0 = first), or
/// `config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobRef {
    Layer(usize),
    Config,
}

impl<'de> Deserialize<'de> for BlobRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = BlobRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a layer's index (0 for the first) or `config`")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<BlobRef, E> {
                usize::try_from(v)
                    .map(BlobRef::Layer)
                    .map_err(|_| E::custom(format!("layer {v} does not exist")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<BlobRef, E> {
                u64::try_from(v).map_or_else(
                    |_| Err(E::custom("a layer's index counts from 0")),
                    |v| self.visit_u64(v),
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BlobRef, E> {
                match v {
                    "config" => Ok(BlobRef::Config),
                    _ => Err(E::custom(format!(
                        "'{v}' is no blob: write a layer's index (0 for the first) or config"
                    ))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for BlobRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BlobRef::Layer(n) => s.serialize_u64(*n as u64),
            BlobRef::Config => s.serialize_str("config"),
        }
    }
}

impl JsonSchema for BlobRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BlobRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 0, "description": "A layer's index, 0 for the first." },
                { "const": "config" },
            ],
        })
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Every selected host forgets its cache and pulls its whole image list.
    #[default]
    ColdStart,
    /// drill pulls every upstream image through every proxy, by tag and by digest, and
    /// records what each proxy served.
    ProxyCheck,
}

/// The names of the fault kinds, as a scenario writes them.
pub fn fault_kinds() -> Vec<&'static str> {
    FaultKind::ALL.iter().map(|k| k.name()).collect()
}

impl Step {
    /// Every fault parameter a step can carry (`given` lists those set). The test
    /// `the_parameters_are_the_steps_own_fields` holds this to the struct's fields.
    pub const PARAMETERS: [&'static str; 18] = [
        "pick",
        "mode",
        "direction",
        "rate",
        "loss",
        "delay",
        "jitter",
        "via",
        "image",
        "blob",
        "groups",
        "status",
        "retry_after",
        "name",
        "inject",
        "heal",
        "timeout",
        "regions",
    ];

    /// The names of the fault parameters that are set.
    pub fn given(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                out.push(name)
            }
        };
        add(self.pick.is_some(), "pick");
        add(self.mode.is_some(), "mode");
        add(self.direction.is_some(), "direction");
        add(self.rate.is_some(), "rate");
        add(self.loss.is_some(), "loss");
        add(self.delay.is_some(), "delay");
        add(self.jitter.is_some(), "jitter");
        add(self.via.is_some(), "via");
        add(self.image.is_some(), "image");
        add(self.blob.is_some(), "blob");
        add(self.groups.is_some(), "groups");
        add(self.status.is_some(), "status");
        add(self.retry_after.is_some(), "retry_after");
        add(self.name.is_some(), "name");
        add(self.inject.is_some(), "inject");
        add(self.heal.is_some(), "heal");
        add(self.timeout.is_some(), "timeout");
        add(self.regions.is_some(), "regions");
        out
    }
}

/// Which hosts a cold start applies to: `all`, or `{ region: eu }`, `{ zone: eu-a }`,
/// `{ fleet: eu-fleet }` (keys may be combined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSelector {
    All,
    Filter(HostFilter),
}

impl<'de> Deserialize<'de> for HostSelector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const FORMS: &str =
            "write all, or a mapping such as { region: eu }, { zone: eu-a } or { fleet: eu-fleet }";
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = HostSelector;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(FORMS)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HostSelector, E> {
                match v {
                    "all" => Ok(HostSelector::All),
                    _ => Err(E::custom(format!("'{v}' selects no hosts: {FORMS}"))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<HostSelector, A::Error> {
                HostFilter::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(HostSelector::Filter)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                _: A,
            ) -> Result<HostSelector, A::Error> {
                Err(serde::de::Error::custom(format!(
                    "a list selects no hosts: {FORMS}"
                )))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl JsonSchema for HostSelector {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HostSelector".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let filter = g.subschema_for::<HostFilter>();
        schemars::json_schema!({
            "anyOf": [{ "const": "all" }, filter],
        })
    }
}

#[derive(Debug, Deserialize, Clone, PartialEq, Eq, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostFilter {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub fleet: Option<String>,
}

/// A problem found in a scenario, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
    /// The field of another place the problem concerns (the first of two things
    /// named the same), shown under the first.
    pub also: Option<String>,
    /// Where `also` is written, once located.
    pub also_at: Option<(usize, usize)>,
}

impl Problem {
    pub(crate) fn new(
        line: usize,
        column: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            line,
            column,
            field: field.into(),
            message: message.into(),
            ..Problem::default()
        }
    }

    pub(crate) fn at(
        loc: &Location,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem::new(loc.line() as usize, loc.column() as usize, field, message)
    }
}

/// The rules of a later stage the format runs as its own: the fault families' (the
/// `faults` stage), which the format knows by kind name only. Handed in, so that the
/// file is read, located and reported in one pass while the format imports nothing
/// above it.
pub struct Rules {
    /// Checks one fault step (its field path is `field`, e.g. `timeline[3]`).
    pub fault: fn(&Scenario, &names::Names, FaultKind, &Step, &Location, &str, &mut Vec<Problem>),
    /// Warns about the timeline's faults.
    pub warnings: fn(&Scenario, &names::Names, &mut Vec<Problem>),
}

/// The JSON Schema of the scenario format (draft 2020-12), for editors and CI; the same
/// document as `schema/scenario.schema.json`. Rules that span fields (targets that must
/// exist, parameters per fault kind) are checked by `drill validate`, not by the schema.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).expect("a schema is JSON")
}

impl Scenario {
    /// Node names in scenario order: `<zone>-<n>`, n counted from 1.
    pub fn node_names(&self) -> Vec<String> {
        self.topology
            .value
            .regions
            .iter()
            .flat_map(|r| {
                r.value.zones.iter().flat_map(move |z| {
                    (1..=r.value.nodes_per_zone.get()).map(move |n| format!("{z}-{n}"))
                })
            })
            .collect()
    }

    pub fn region_of_zone(&self, zone: &str) -> Option<&Region> {
        self.topology
            .value
            .regions
            .iter()
            .map(|r| &r.value)
            .find(|r| r.zones.iter().any(|z| z == zone))
    }

    pub fn region(&self, name: &str) -> Option<&Region> {
        self.topology
            .value
            .regions
            .iter()
            .map(|r| &r.value)
            .find(|r| r.name == name)
    }

    /// Region names in file order.
    pub fn region_names(&self) -> Vec<&str> {
        self.topology
            .value
            .regions
            .iter()
            .map(|r| r.value.name.as_str())
            .collect()
    }

    /// Zone names in file order.
    pub fn zone_names(&self) -> Vec<&str> {
        self.topology
            .value
            .regions
            .iter()
            .flat_map(|r| r.value.zones.iter().map(String::as_str))
            .collect()
    }

    /// Images seeded to the upstream only.
    pub fn upstream_images(&self) -> impl Iterator<Item = &ImageSpec> {
        self.images
            .value
            .iter()
            .map(|i| &i.value)
            .filter(|i| i.source == ImageSource::Upstream)
    }

    /// The zones a fleet is placed in.
    pub fn fleet_zones<'a>(&'a self, fleet: &'a Fleet) -> Vec<&'a str> {
        match &fleet.zones {
            Some(z) => z.iter().map(String::as_str).collect(),
            None => self
                .region(&fleet.region)
                .map(|r| r.zones.iter().map(String::as_str).collect())
                .unwrap_or_default(),
        }
    }
}

impl Topology {
    /// The authentication a region's nodes demand: its own setting, else the topology's.
    pub fn auth_of(&self, region: &Region) -> AuthKind {
        region.auth.unwrap_or(self.auth)
    }

    /// The region whose token service `region`'s registries send clients to: its own,
    /// or the one `token_service` names; `None` when it demands no tokens.
    pub fn token_home<'a>(&'a self, region: &'a Region) -> Option<&'a str> {
        (self.auth_of(region) == AuthKind::Token).then(|| {
            match self.token_service.as_ref().map(|t| t.value.as_str()) {
                None | Some(PER_REGION) => region.name.as_str(),
                Some(home) => home,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::parse;

    /// The scenario example in docs/scenario.md says which host settings are the defaults; they
    /// must be the values a fleet gets when it leaves them out.
    #[test]
    fn the_scenario_docs_show_the_host_defaults_they_claim() {
        let docs = include_str!("../../docs/scenario.md");
        let line = |key: &str| {
            docs.lines()
                .find(|l| l.trim_start().starts_with(key))
                .unwrap_or_else(|| panic!("no `{key}` line in the example of docs/scenario.md"))
        };
        let timeouts = line("timeouts:");
        assert!(timeouts.contains("(defaults shown)"), "{timeouts}");
        let value = timeouts.trim_start().trim_start_matches("timeouts:");
        let value = value.split('#').next().unwrap();
        let shown: Timeouts = serde_saphyr::from_str(value).unwrap();
        let default = Timeouts::default();
        assert_eq!(
            (shown.connect.0, shown.request.0),
            (default.connect.0, default.request.0)
        );
        assert!(line("retry_backoff:").contains("(default 1s)"));
        assert_eq!(default_backoff().0, std::time::Duration::from_secs(1));
        assert!(line("parallel_layers:").contains("(default 3"));
        assert_eq!(three().get(), 3);
    }

    const GOOD: &str = r#"
name: unit
seed: 7
duration: 30s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
    - { name: us, zones: [us-a], nodes_per_zone: 2 }
images:
  - { ref: team/app:1, layers: [1MiB, 512KiB] }
hosts:
  - { name: eu-fleet, region: eu, per_zone: 3, mirrors: [region, other-regions], pull: [team/app:1] }
timeline:
  - { at: 0s, do: cold-start, hosts: all }
  - { at: 5s, fault: zone-outage, target: eu-a, for: 10s }
  - { at: 6s, do: cold-start, hosts: { zone: eu-b } }
sla:
  availability: { min: 99.5% }
  cold_pull: { p50: 2s, p99: 5s }
  recovery: { max: 10s }
  data_loss: none
"#;

    fn problems(src: &str) -> Vec<Problem> {
        parse(src).err().unwrap_or_default()
    }

    fn is_token(s: &Scenario, name: &str) -> bool {
        matches!(
            names::Names::new(s).target(name),
            Some(names::Target::TokenService(_))
        )
    }

    #[test]
    fn parses_a_good_scenario() {
        let s = parse(GOOD).expect("valid");
        assert_eq!(s.name.value, "unit");
        assert_eq!(s.node_names(), ["eu-a-1", "eu-b-1", "us-a-1", "us-a-2"]);
        assert_eq!(s.hosts[0].value.timeouts.connect.0.as_secs(), 1);
        assert_eq!(s.probes.interval.0.as_millis(), 100);
        assert_eq!(
            s.sla.availability.as_ref().unwrap().per,
            AvailabilityScope::Region
        );
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let src = GOOD.replace("nodes_per_zone: 2", "nodes_per_zon: 2");
        let p = problems(&src);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 8);
        assert_eq!(p[0].field, "topology.regions[1].nodes_per_zon");
        assert!(
            p[0].message.contains("unknown key `nodes_per_zon`"),
            "{:?}",
            p[0]
        );
    }

    #[test]
    fn secure_topology_parses_with_a_region_override() {
        let src = GOOD
            .replace(
                "nodes_per_zone: 2 }",
                "nodes_per_zone: 2, auth: none }\n  tls: self-signed\n  auth: htpasswd",
            )
            .replace("data_loss: none", "data_loss: none\n  auth: enforced");
        let s = parse(&src).expect("valid");
        let t = &s.topology.value;
        assert_eq!(t.tls, Some(TlsMode::SelfSigned));
        assert_eq!(t.auth_of(&t.regions[0].value), AuthKind::Htpasswd);
        assert_eq!(t.auth_of(&t.regions[1].value), AuthKind::None);
        assert_eq!(s.sla.auth, Some(AuthSla::Enforced));
    }

    #[test]
    fn auth_sla_without_credentials_is_refused_at_its_line() {
        let src = GOOD.replace("data_loss: none", "data_loss: none\n  auth: enforced");
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].line, p[0].field.as_str()), (22, "sla.auth"));
        assert!(
            p[0].message.contains("topology.auth: htpasswd"),
            "{:?}",
            p[0]
        );
    }

    #[test]
    fn unsupported_auth_kind_names_the_supported_ones() {
        let src = GOOD.replace(
            "nodes_per_zone: 2 }",
            "nodes_per_zone: 2 }\n  auth: kerberos",
        );
        let p = problems(&src);
        assert_eq!(p[0].line, 9, "{p:?}");
        assert!(
            p[0].message.contains("htpasswd") && p[0].message.contains("token"),
            "{:?}",
            p[0]
        );
    }

    #[test]
    fn docker_hosts_refuse_tls() {
        let src = GOOD
            .replace(
                "nodes_per_zone: 2 }",
                "nodes_per_zone: 2 }\n  tls: self-signed",
            )
            .replace(
                "per_zone: 3, mirrors",
                "per_zone: 1, kind: docker, zones: [eu-b], mirrors",
            );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "hosts[0].kind");
        assert_eq!(p[0].line, 13);
        assert!(p[0].message.contains("/etc/docker/certs.d"), "{:?}", p[0]);
    }

    #[test]
    fn docker_hosts_refuse_token_auth_and_token_services_are_targets_only_there() {
        let token = GOOD.replace(
            "nodes_per_zone: 2 }",
            "nodes_per_zone: 2, auth: none }\n  auth: token",
        );
        let docker = token.replace(
            "per_zone: 3, mirrors",
            "per_zone: 1, kind: docker, zones: [eu-b], mirrors",
        );
        let p = problems(&docker);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].field.as_str(), p[0].line), ("hosts[0].kind", 13));
        assert!(p[0].message.contains("token service"), "{:?}", p[0]);

        let aim = |target: &str| {
            token.replace(
                "fault: zone-outage, target: eu-a,",
                &format!("fault: pause, target: {target},"),
            )
        };
        let s = parse(&aim("eu-token")).expect("valid");
        assert!(is_token(&s, "eu-token"));
        // us is left open: it has no token service to aim at.
        assert!(!is_token(&s, "us-token"));
        let p = problems(&aim("us-token"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("or a token service (eu-token)"),
            "{:?}",
            p[0]
        );
    }

    #[test]
    fn a_central_token_service_is_named_after_its_region_and_checked() {
        let central = GOOD.replace(
            "nodes_per_zone: 2 }",
            "nodes_per_zone: 2 }\n  auth: token\n  token_service: us",
        );
        let s = parse(&central).expect("valid");
        let t = &s.topology.value;
        for r in &t.regions {
            assert_eq!(t.token_home(&r.value), Some("us"), "{}", r.value.name);
        }
        assert!(is_token(&s, "us-token") && !is_token(&s, "eu-token"));
        let p = problems(&central.replace("token_service: us", "token_service: ap"));
        assert_eq!(
            (p.len(), p[0].line, p[0].field.as_str()),
            (1, 10, "topology.token_service")
        );
        assert!(p[0].message.contains("regions: eu, us"), "{:?}", p[0]);
        let p = problems(&central.replace("auth: token", "auth: htpasswd"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("set topology.auth: token"),
            "{:?}",
            p[0]
        );
        let per_region = parse(&central.replace("token_service: us", "token_service: per-region"))
            .expect("valid");
        assert!(is_token(&per_region, "eu-token") && is_token(&per_region, "us-token"));
    }

    #[test]
    fn containerd_hosts_under_tls_list_regions_only() {
        let src = GOOD
            .replace(
                "nodes_per_zone: 2 }",
                "nodes_per_zone: 2 }\n  tls: self-signed\n  upstream: true\n  proxy: per-region",
            )
            .replace(
                "per_zone: 3, mirrors: [region",
                "per_zone: 1, kind: containerd, mirrors: [proxy, region",
            );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "hosts[0].mirrors");
        assert!(p[0].message.contains("plain HTTP"), "{:?}", p[0]);
    }

    #[test]
    fn malformed_yaml_names_its_line() {
        let p = problems("name: x\nduration: 10s\ntopology: [\n");
        assert_eq!(p[0].line, 3);
    }

    #[test]
    fn bad_duration_is_located() {
        let src = GOOD.replace("duration: 30s", "duration: thirty");
        let p = problems(&src);
        assert_eq!(p[0].line, 4);
        assert!(p[0].message.contains("invalid duration"), "{:?}", p[0]);
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_field() {
        let src = GOOD.replace("nodes_per_zone: 2", "nodes_per_zone: two");
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 8);
        assert_eq!(p[0].field, "topology.regions[1].nodes_per_zone");
        assert_eq!(
            p[0].message,
            "'two' is not a whole number: expected a whole number from 1 to 8"
        );
        let shown = render_problems("s.yaml", &src, &p);
        assert!(
            shown.starts_with("s.yaml:8:")
                && shown.contains(": topology.regions[1].nodes_per_zone: "),
            "{shown}"
        );
        // A document that is no mapping has no field to name.
        assert_eq!(problems("[1, 2]\n")[0].field, "");
        assert_eq!(problems("topology: [\n")[0].field, "topology");
        let list = problems("name: x\nduration: 10s\ntopology: { regions: eu }\n");
        assert_eq!(list[0].field, "topology.regions");
        assert!(list[0].message.starts_with("expected a list"), "{list:?}");
    }

    #[test]
    fn unknown_region_in_fleet() {
        let src = GOOD.replace("region: eu, per_zone", "region: asia, per_zone");
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 12);
        assert_eq!(p[0].field, "hosts[0].region");
        assert!(p[0].message.contains("unknown region 'asia'"));
    }

    #[test]
    fn fault_target_that_matches_nothing_is_refused() {
        let src = GOOD.replace("target: eu-a", "target: eu-z");
        let p = problems(&src);
        assert_eq!(p[0].field, "timeline[1].target");
        assert_eq!(p[0].line, 15);
        assert!(p[0].message.contains("'eu-z' is not a zone"));
    }

    #[test]
    fn fault_without_duration_and_empty_cold_start() {
        let src = GOOD
            .replace(", for: 10s", "")
            .replace("hosts: { zone: eu-b }", "hosts: { zone: us-a }");
        let fields: Vec<_> = problems(&src).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["timeline[1].for", "timeline[2].hosts"]);
    }

    #[test]
    fn step_after_the_end_and_pull_of_undeclared_image() {
        let src = GOOD
            .replace("at: 6s", "at: 45s")
            .replace("pull: [team/app:1]", "pull: [team/other:1]");
        let fields: Vec<_> = problems(&src).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["hosts[0].pull", "timeline[2].at"]);
    }

    #[test]
    fn docker_hosts_are_one_engine_and_ramps_belong_to_cold_starts() {
        let one = GOOD.replace(
            "  - { name: eu-fleet, region: eu, per_zone: 3,",
            "  - { name: engine, region: eu, zones: [eu-a], per_zone: 1, kind: docker, mirrors: [region], pull: [team/app:1] }\n  - { name: eu-fleet, region: eu, per_zone: 3,",
        );
        assert!(problems(&one).is_empty(), "{:?}", problems(&one));
        let many = GOOD.replace("per_zone: 3,", "per_zone: 3, kind: docker,");
        let fields: Vec<_> = problems(&many).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["hosts[0].kind"]);
        let ramped = GOOD.replace("for: 10s }", "for: 10s, ramp: 1s }").replace(
            "hosts: { zone: eu-b } }",
            "hosts: { zone: eu-b }, ramp: 30s }",
        );
        let fields: Vec<_> = problems(&ramped).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["timeline[1].ramp", "timeline[2].ramp"]);
        let ok = GOOD.replace("hosts: all }", "hosts: all, ramp: 5s }");
        assert!(problems(&ok).is_empty());
        let containerd = GOOD.replace("per_zone: 3,", "per_zone: 3, kind: containerd,");
        let s = parse(&containerd).expect("valid");
        assert_eq!(s.hosts[0].value.kind, HostKind::Containerd);
    }

    #[test]
    fn kubelet_backoff_parses_and_its_limits_are_located() {
        let kubelet = GOOD.replace(
            "pull: [team/app:1] }",
            "pull: [team/app:1], backoff: kubelet, kubelet_backoff: { initial: 1s, max: 4s } }",
        );
        let s = parse(&kubelet).expect("valid");
        assert_eq!(s.hosts[0].value.backoff, BackoffModel::Kubelet);
        let without_model = GOOD.replace(
            "pull: [team/app:1] }",
            "pull: [team/app:1], kubelet_backoff: { initial: 1s } }",
        );
        let inverted = kubelet.replace("max: 4s", "max: 500ms");
        for src in [without_model, inverted] {
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(
                (p[0].field.as_str(), p[0].line),
                ("hosts[0].kubelet_backoff", 12)
            );
        }
    }

    #[test]
    fn network_faults_take_a_containerd_fleet_and_nothing_else_does() {
        let on_fleet = |fault: &str| {
            GOOD.replace(
                "fault: zone-outage, target: eu-a, for: 10s",
                &format!("fault: {fault}, target: eu-fleet, for: 10s"),
            )
        };
        let containerd =
            |src: String| src.replace("per_zone: 3,", "per_zone: 3, kind: containerd,");
        assert!(problems(&containerd(on_fleet("blackhole"))).is_empty());
        let s = parse(&containerd(on_fleet("blackhole"))).unwrap();
        let plan = crate::plan::build(&s, "r", 1);
        let crate::plan::StepPlan::Fault(f) = &plan.timeline[1].what else {
            panic!("the second step is the fault")
        };
        assert_eq!(f.containers.len(), 6, "{:?}", f.containers);
        assert_eq!(f.regions, ["eu"]);
        for (src, says) in [
            (on_fleet("blackhole"), "has native hosts"),
            (
                containerd(on_fleet("kill")),
                "acts on the registry's containers",
            ),
            (
                containerd(on_fleet("bandwidth")).replace(", for: 10s", ", for: 10s, rate: 1MiB"),
                "limit the registry's side instead (e.g. target: eu-lb)",
            ),
            (
                on_fleet("cache-wipe").replace(", for: 10s", ""),
                "empty their cache at every cold start",
            ),
        ] {
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].field, "timeline[1].target");
            assert!(p[0].message.contains(says), "{:?}", p[0]);
        }
    }

    #[test]
    fn fill_disk_needs_a_size_limited_region() {
        let fill = GOOD.replace(
            "fault: zone-outage, target: eu-a, for: 10s",
            "fault: fill-disk, target: eu, for: 10s",
        );
        let p = problems(&fill);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "timeline[1].target");
        assert!(p[0].message.contains("storage_limit"), "{:?}", p[0]);
        let limited = fill.replace(
            "zones: [eu-a, eu-b] }",
            "zones: [eu-a, eu-b], storage_limit: 64MiB }",
        );
        assert!(problems(&limited).is_empty(), "{:?}", problems(&limited));
        let plan = crate::plan::build(&parse(&limited).unwrap(), "r", 1);
        let keeper = "drill-r-eu-storage-keeper";
        assert_eq!(
            plan.regions[0].storage,
            Some((64 << 20, keeper.to_string()))
        );
        assert_eq!(
            plan.container_count(),
            4 + 2 + 1,
            "nodes, load balancers, keeper"
        );
        let crate::plan::StepPlan::Fault(f) = &plan.timeline[1].what else {
            panic!("the second step is the fault")
        };
        assert_eq!(f.containers, [keeper]);
        assert!(plan
            .describe(&[])
            .contains(&format!("kept mounted by {keeper}")));
        let tiny = limited.replace("64MiB", "1MiB");
        let p = problems(&tiny);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "topology.regions[0].storage_limit");
    }

    #[test]
    fn empty_lists_point_at_their_own_key() {
        let p = problems("name: x\nduration: 10s\ntopology:\n  regions: []\nimages: []\n");
        let at: Vec<(&str, usize)> = p.iter().map(|p| (p.field.as_str(), p.line)).collect();
        assert_eq!(at, [("topology.regions", 4), ("images", 5)]);
    }

    #[test]
    fn a_cold_start_refuses_fault_parameters() {
        let src = GOOD.replace(
            "  - { at: 0s, do: cold-start, hosts: all }",
            "  - { at: 0s, do: cold-start, hosts: all, rate: 1MiB, pick: 2 }",
        );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "timeline[0].rate");
        assert!(p[0].message.contains("takes: hosts, pick, ramp"));
    }

    #[test]
    fn percent_without_sign_is_refused() {
        let src = GOOD.replace("min: 99.5%", "min: 0.995");
        assert!(problems(&src)[0].message.contains("percent sign"));
    }

    #[test]
    fn render_shows_file_line_and_caret() {
        let src = GOOD.replace("region: eu, per_zone", "region: asia, per_zone");
        let out = render_problems("x.yaml", &src, &problems(&src));
        assert!(
            out.starts_with("x.yaml:12:31: hosts[0].region: unknown region 'asia'"),
            "{out}"
        );
        assert!(out.contains("    ^"), "{out}");
    }

    #[test]
    fn availability_windows_and_error_budget_parse() {
        let src = GOOD.replace(
            "availability: { min: 99.5% }",
            "availability: { min: 99.9%, per: region, window: 10s, error_threshold: 5% }\n  \
             error_budget: { slo: 99.99%, period: 30d, events_per_period: 2 }",
        );
        let s = parse(&src).expect("valid");
        let av = s.sla.availability.unwrap();
        assert_eq!(av.window.unwrap().0.as_secs(), 10);
        assert!((av.error_threshold.unwrap().0 - 0.05).abs() < 1e-12);
        let b = s.sla.error_budget.unwrap();
        assert_eq!(b.period.0.as_secs(), 30 * 86_400);
        assert_eq!(b.events_per_period, Some(2));
    }

    #[test]
    fn availability_window_rules_are_located() {
        // Shorter than the probe interval (100ms by default).
        let src = GOOD.replace(
            "availability: { min: 99.5% }",
            "availability: { min: 99.5%, window: 50ms }",
        );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            (p[0].line, p[0].field.as_str()),
            (18, "sla.availability.window")
        );
        assert!(
            p[0].message
                .contains("shorter than the probe interval (100ms)"),
            "{:?}",
            p[0]
        );
        // Longer than the run.
        let src = GOOD.replace(
            "availability: { min: 99.5% }",
            "availability: { min: 99.5%, window: 1m }",
        );
        assert!(problems(&src)[0]
            .message
            .contains("longer than the run (30s)"));
        // A threshold without windows.
        let src = GOOD.replace(
            "availability: { min: 99.5% }",
            "availability: { min: 99.5%, error_threshold: 5% }",
        );
        let p = problems(&src);
        assert_eq!(
            (p[0].line, p[0].field.as_str()),
            (18, "sla.availability.error_threshold")
        );
        // A threshold above 100 % is refused while parsing, with its location.
        let src = GOOD.replace(
            "availability: { min: 99.5% }",
            "availability: { min: 99.5%, window: 1s, error_threshold: 105% }",
        );
        let p = problems(&src);
        assert_eq!(p[0].line, 18);
        assert!(p[0].message.contains("between 0% and 100%"), "{:?}", p[0]);
    }

    #[test]
    fn error_budget_rules_are_located() {
        let src = GOOD.replace(
            "  data_loss: none",
            "  data_loss: none\n  error_budget:\n    slo: 99.9%\n    period: 0s\n    events_per_period: 0",
        );
        let p = problems(&src);
        let fields: Vec<_> = p.iter().map(|p| (p.line, p.field.as_str())).collect();
        assert_eq!(
            fields,
            [
                (24, "sla.error_budget.period"),
                (25, "sla.error_budget.events_per_period")
            ]
        );
        let src = GOOD.replace(
            "  data_loss: none",
            "  data_loss: none\n  error_budget: { slo: 99.9% }",
        );
        let p = problems(&src);
        assert_eq!(p[0].message, "`period` is missing: add it");
        // Pointed at the mapping that lacks it, not where the parser noticed.
        assert_eq!((p[0].line, p[0].column), (22, 17), "{p:?}");
    }

    const PROXIED: &str = r#"
name: proxied
duration: 30s
topology:
  regions:
    - { name: eu, zones: [eu-a] }
  upstream: true
  proxy: per-region
preconditions: { proxy_cache: warm }
images:
  - { ref: team/app:1, layers: [1MiB] }
  - { ref: library/base:1, layers: [1MiB], source: upstream }
hosts:
  - { name: f, region: eu, per_zone: 1, mirrors: [region, proxy, upstream], pull: [team/app:1, library/base:1] }
timeline:
  - { at: 1s, fault: upstream-rate-limit, retry_after: 3s, for: 5s }
  - { at: 2s, do: proxy-check }
  - { at: 3s, fault: cache-wipe, target: eu-proxy }
  - { at: 4s, fault: partition, groups: [[eu-proxy], [upstream]], for: 5s }
"#;

    #[test]
    fn the_parameters_are_the_steps_own_fields() {
        const NOT_PARAMETERS: [&str; 7] = ["at", "do", "hosts", "fault", "target", "for", "ramp"];
        let schema = schemars::schema_for!(Step);
        let mut fields: Vec<&str> = schema
            .get("properties")
            .and_then(|p| p.as_object())
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !NOT_PARAMETERS.contains(k))
            .collect();
        let mut listed = Step::PARAMETERS.to_vec();
        fields.sort();
        listed.sort();
        assert_eq!(
            fields, listed,
            "a field of Step missing from Step::PARAMETERS"
        );
        let every = "{ at: 0s, pick: 1, mode: kill, direction: in, rate: 1MiB, loss: 1%, \
                     delay: 1s, jitter: 1s, via: proxy, image: a/b:1, blob: 0, \
                     groups: [[a], [b]], status: 500, retry_after: 1s, name: n, \
                     inject: [a], heal: [b], timeout: 1s, regions: [eu] }";
        let every: Step = serde_saphyr::from_str(every).unwrap();
        assert_eq!(every.given(), Step::PARAMETERS, "given() misses a field");
    }

    #[test]
    fn upstream_proxies_and_their_faults_parse() {
        let s = parse(PROXIED).expect("valid");
        assert_eq!(s.preconditions.proxy_cache, CacheState::Warm);
        assert_eq!(s.upstream_images().count(), 1);
        let n = names::Names::new(&s);
        assert!(matches!(
            n.target("eu-proxy"),
            Some(names::Target::Proxy(_))
        ));
        assert!(n.target("us-proxy").is_none());
    }

    #[test]
    fn upstream_faults_can_be_injected_by_hand() {
        use crate::faults::upstream::{Upstream, UpstreamFault};
        use crate::faults::{by_hand, Fault};
        let s = parse(PROXIED).unwrap();
        let step = |yaml: &str| serde_saphyr::from_str::<Step>(yaml).unwrap();
        let fault = by_hand(
            &s,
            &step("{ at: 0s, fault: upstream-rate-limit, retry_after: 2s }"),
        )
        .expect("no target, no `for` needed by hand");
        assert_eq!(
            fault,
            Fault::Upstream(Upstream {
                how: UpstreamFault::RateLimit(std::time::Duration::from_secs(2)),
                written: String::new(),
            })
        );
        let err = by_hand(&s, &step("{ at: 0s, fault: upstream-outage, target: eu }")).unwrap_err();
        assert!(err.contains("partition"), "{err}");
    }

    #[test]
    fn upstream_mistakes_are_located_and_explained() {
        let cases = [
            (
                "  upstream: true\n",
                "",
                "topology.proxy",
                "set `upstream: true`",
            ),
            (
                "[region, proxy, upstream], pull",
                "[region], pull",
                "hosts[0].pull",
                "seeded to the upstream only",
            ),
            (
                "mirrors: [region, proxy,",
                "mirrors: [region, cache,",
                "hosts[0].mirrors",
                "unknown mirror 'cache'",
            ),
            (
                "retry_after: 3s",
                "status: 503",
                "timeline[0].status",
                "does not take `status`",
            ),
            (
                "upstream-rate-limit, retry_after: 3s,",
                "upstream-errors, status: 404,",
                "timeline[0].status",
                "from 500 to 599",
            ),
            (
                "upstream-rate-limit,",
                "upstream-outage, target: eu,",
                "timeline[0].target",
                "groups: [[eu-proxy], [upstream]]",
            ),
            (
                "target: eu-proxy",
                "target: us-proxy",
                "timeline[2].target",
                "matches nothing",
            ),
            (
                "target: eu-proxy",
                "target: upstream",
                "timeline[2].target",
                "would only reset its fault point",
            ),
            (
                "  proxy: per-region\n",
                "",
                "timeline[1].do",
                "proxy-check needs",
            ),
        ];
        for (from, to, field, words) in cases {
            assert!(PROXIED.contains(from), "{from}");
            let p = problems(&PROXIED.replace(from, to));
            assert!(
                p.iter()
                    .any(|p| p.field == field && p.message.contains(words) && p.line > 0),
                "{from} → {to}: expected {field}: {words}, got {p:?}"
            );
        }
    }
}
