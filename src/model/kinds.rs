//! The kinds a scenario names and every later stage speaks of: faults and hosts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Kill,
    Stop,
    Restart,
    Pause,
    ZoneOutage,
    RegionOutage,
    Partition,
    Blackhole,
    Bandwidth,
    PacketLoss,
    Latency,
    CacheWipe,
    CorruptBlob,
    DeleteBlob,
    UpstreamOutage,
    UpstreamRateLimit,
    UpstreamErrors,
    UpstreamSlow,
    FillDisk,
    // The scenario's own commands inject and heal it.
    Exec,
    // Injected by something else; drill only marks when.
    External,
}

impl FaultKind {
    /// Every kind (the test `all_lists_every_kind` holds it to the enum).
    pub const ALL: [FaultKind; 21] = [
        FaultKind::Kill,
        FaultKind::Stop,
        FaultKind::Restart,
        FaultKind::Pause,
        FaultKind::ZoneOutage,
        FaultKind::RegionOutage,
        FaultKind::Partition,
        FaultKind::Blackhole,
        FaultKind::Bandwidth,
        FaultKind::PacketLoss,
        FaultKind::Latency,
        FaultKind::CacheWipe,
        FaultKind::CorruptBlob,
        FaultKind::DeleteBlob,
        FaultKind::UpstreamOutage,
        FaultKind::UpstreamRateLimit,
        FaultKind::UpstreamErrors,
        FaultKind::UpstreamSlow,
        FaultKind::FillDisk,
        FaultKind::Exec,
        FaultKind::External,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Stop => "stop",
            FaultKind::Restart => "restart",
            FaultKind::Pause => "pause",
            FaultKind::ZoneOutage => "zone-outage",
            FaultKind::RegionOutage => "region-outage",
            FaultKind::Partition => "partition",
            FaultKind::Blackhole => "blackhole",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::PacketLoss => "packet-loss",
            FaultKind::Latency => "latency",
            FaultKind::CacheWipe => "cache-wipe",
            FaultKind::CorruptBlob => "corrupt-blob",
            FaultKind::DeleteBlob => "delete-blob",
            FaultKind::UpstreamOutage => "upstream-outage",
            FaultKind::UpstreamRateLimit => "upstream-rate-limit",
            FaultKind::UpstreamErrors => "upstream-errors",
            FaultKind::UpstreamSlow => "upstream-slow",
            FaultKind::FillDisk => "fill-disk",
            FaultKind::Exec => "exec",
            FaultKind::External => "external",
        }
    }

    /// Instant faults happen once and have nothing to heal: no `for`.
    pub fn is_instant(self) -> bool {
        matches!(
            self,
            FaultKind::Restart
                | FaultKind::CacheWipe
                | FaultKind::CorruptBlob
                | FaultKind::DeleteBlob
        )
    }
}

/// Which of an `exec` fault's commands ran.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandPhase {
    Inject,
    Heal,
}

impl CommandPhase {
    pub fn name(self) -> &'static str {
        match self {
            CommandPhase::Inject => "inject",
            CommandPhase::Heal => "heal",
        }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HostKind {
    /// drill's own OCI client, many hosts per process.
    #[default]
    Native,
    /// A real containerd in a container per host, pulling with `ctr` through a
    /// `hosts.toml` made from the fleet's mirrors.
    Containerd,
    /// The local Docker engine itself, as one host (at most one per scenario).
    Docker,
}

impl HostKind {
    pub fn name(self) -> &'static str {
        match self {
            HostKind::Native => "native",
            HostKind::Containerd => "containerd",
            HostKind::Docker => "docker",
        }
    }
}

/// The implementation of a region's pull-through proxy.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyKind {
    /// distribution in proxy mode: it stores what it fetched by digest, so an image
    /// pulled by tag is also served by digest.
    Distribution,
    /// nginx's cache: responses stored by the URL they were asked by, so a manifest
    /// pulled by tag is not served by digest until that digest was asked for.
    Nginx,
}

impl ProxyKind {
    /// How it finds a cached manifest.
    pub fn caching(self) -> ProxyCaching {
        match self {
            ProxyKind::Distribution => ProxyCaching::ByDigest,
            ProxyKind::Nginx => ProxyCaching::ByUrl,
        }
    }
}

/// How a proxy finds a cached manifest.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyCaching {
    /// Stored by digest: an image pulled by tag is also served by digest.
    #[default]
    ByDigest,
    /// Stored by the URL it was asked by: a manifest pulled by tag is not served by
    /// digest until that digest was asked for.
    ByUrl,
}

impl ProxyCaching {
    pub fn by_url(self) -> bool {
        self == ProxyCaching::ByUrl
    }
}

/// What the journal says a region's proxy is: a built-in by its kind (`"nginx"`), or
/// one a team brought, by its name and how it caches.
#[derive(Debug, Deserialize, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ProxyRecord {
    Builtin(ProxyKind),
    Brought {
        brought: String,
        caches: ProxyCaching,
    },
}

impl ProxyRecord {
    pub fn caching(&self) -> ProxyCaching {
        match self {
            ProxyRecord::Builtin(kind) => kind.caching(),
            ProxyRecord::Brought { caches, .. } => *caches,
        }
    }
}
