//! From a validated scenario to a plan: every container, volume and network named,
//! every configuration file rendered, every fault target resolved (seeded picks made).
//! Pure: no Docker, so `drill plan` and the tests can show exactly what a run will do.

pub mod balancer;
mod describe;
pub mod launch;
pub mod proxy;
pub mod registry;

use crate::faults::{Fault, Volume};
use crate::scenario::names::{Part, Target};
use crate::scenario::{
    host_name, proxy_name, token_service_name, Action, AuthKind, CacheState, Canaries, FaultKind,
    Guardrails, HostKind, HostSelector, ImageSource, Probes, Replication, Scenario, Sla, Timeouts,
    UPSTREAM,
};
use balancer::Balancer;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use registry::RegistryPlan;
use std::time::Duration;

pub use crate::model::wire::REGISTRY_PORT;

#[derive(Debug, Clone)]
pub struct Plan {
    pub run_id: String,
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub network: String,
    pub regions: Vec<RegionPlan>,
    pub images: Vec<ImagePlan>,
    pub hosts: Vec<HostPlan>,
    pub timeline: Vec<PlannedStep>,
    pub duration: Duration,
    pub probes: Probes,
    pub sla: Sla,
    pub guardrails: Guardrails,
    /// Entry points speak HTTPS with a certificate signed by the run's own CA.
    pub tls: bool,
    pub replication: Replication,
    pub canaries: Option<Canaries>,
    /// The registry that plays the public registry, and its fault point.
    pub upstream: Option<UpstreamPlan>,
    /// Whether the proxies are filled before the timeline.
    pub proxy_cache: CacheState,
    /// A topology drill does not build: `regions` is empty and this says where each
    /// region answers.
    pub external: Option<ExternalPlan>,
}

/// An external topology as a run reaches it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalPlan {
    /// Each region and its entry point, in the scenario's order.
    pub regions: Vec<(String, String)>,
    /// The CA file the entry points' certificates chain to.
    pub ca: Option<std::path::PathBuf>,
    /// The variables holding the user name and the password.
    pub credentials_env: Option<(String, String)>,
}

impl ExternalPlan {
    fn of(e: &crate::scenario::external::External, dir: Option<&std::path::Path>) -> ExternalPlan {
        ExternalPlan {
            regions: e
                .entry_points()
                .map(|(name, url)| (name.to_string(), url.trim_end_matches('/').to_string()))
                .collect(),
            ca: e
                .ca
                .as_deref()
                .map(|ca| crate::scenario::brought::resolve(dir, ca)),
            credentials_env: e
                .credentials_env()
                .map(|(u, p)| (u.to_string(), p.to_string())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamPlan {
    /// The registry holding the `source: upstream` images; reached only through the gate.
    pub container: String,
    pub volume: String,
    /// haproxy in front of it: the fault point, and the upstream's entry point; named
    /// `<container>-gate`.
    pub gate: String,
}

/// A region's pull-through cache of the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyPlan {
    /// `<region>-proxy`: its name in mirror lists, fault targets and reports.
    pub name: String,
    pub container: String,
    /// Its own storage: proxies never share one (their expiry state would race).
    pub volume: String,
    pub kind: proxy::ProxyImpl,
}

impl ProxyPlan {
    pub fn custom(&self) -> Option<&proxy::CustomProxy> {
        match &self.kind {
            proxy::ProxyImpl::Builtin(_) => None,
            proxy::ProxyImpl::Custom(c) => Some(c),
        }
    }

    /// What the journal says it is.
    pub fn record(&self) -> crate::model::kinds::ProxyRecord {
        use crate::model::kinds::ProxyRecord;
        match &self.kind {
            proxy::ProxyImpl::Builtin(kind) => ProxyRecord::Builtin(*kind),
            proxy::ProxyImpl::Custom(c) => ProxyRecord::Brought {
                brought: c.name.clone(),
                caches: c.caching,
            },
        }
    }

    /// The port it listens on inside its container.
    pub fn port(&self) -> u16 {
        self.custom().map_or(REGISTRY_PORT, |c| c.launch.port)
    }
}

/// A token service (`auth: token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenServicePlan {
    /// `<region>-token`: its name in fault targets and reports.
    pub name: String,
    pub container: String,
    /// The region it runs in (and goes down with).
    pub region: String,
}

impl TokenServicePlan {
    /// The realm the region's registries send clients to: the container's name on the
    /// run's network, which is what containerd hosts dial.
    pub fn realm(&self, tls: bool) -> String {
        let scheme = if tls { "https" } else { "http" };
        format!(
            "{scheme}://{}:{REGISTRY_PORT}{}",
            self.container,
            crate::model::wire::TOKEN_PATH
        )
    }
}

#[derive(Debug, Clone)]
pub struct RegionPlan {
    pub name: String,
    /// Storage shared by every node of the region.
    pub volume: String,
    /// `http.secret` shared by the region's nodes so uploads may span them.
    pub http_secret: String,
    /// The load balancer's container.
    pub load_balancer: String,
    pub balancer: Balancer,
    /// What the region's nodes run.
    pub registry: RegistryPlan,
    pub nodes: Vec<NodePlan>,
    pub proxy: Option<ProxyPlan>,
    /// What the region's nodes demand of a client.
    pub auth: AuthKind,
    /// Where the region's clients get tokens, with `auth: token`: its own token
    /// service, or the one of the region `topology.token_service` names.
    pub token_service: Option<TokenServicePlan>,
    /// With `storage_limit`: the volume is a tmpfs of this many bytes, and a container
    /// that only holds it mounted (the engine unmounts a tmpfs volume, losing its data,
    /// once no container uses it, e.g. during a region outage).
    pub storage: Option<(u64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlan {
    /// Scenario-level name, `<zone>-<n>`.
    pub name: String,
    pub zone: String,
    pub container: String,
    /// The port it listens on in its container: its registry's.
    pub port: u16,
}

#[derive(Debug, Clone)]
pub struct ImagePlan {
    pub reference: String,
    pub layers: Vec<u64>,
    pub source: ImageSource,
    /// Already in the regions: pulled, not generated and pushed.
    pub existing: bool,
}

impl ImagePlan {
    /// An image drill generates with these layer sizes and pushes to the regions.
    pub fn generated(reference: impl Into<String>, layers: Vec<u64>) -> ImagePlan {
        ImagePlan {
            reference: reference.into(),
            layers,
            source: ImageSource::Regions,
            existing: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HostPlan {
    pub name: String,
    pub fleet: String,
    pub region: String,
    pub zone: String,
    /// Entry points the host tries, in order: regions, proxies (`<region>-proxy`) and
    /// `upstream`.
    pub mirrors: Vec<String>,
    pub pull: Vec<String>,
    pub timeouts: Timeouts,
    pub parallel_layers: usize,
    /// The wait after each failed pull (fixed, or kubelet's doubling one).
    pub backoff: crate::model::backoff::Backoff,
    pub kind: HostKind,
    /// The host's container (containerd hosts only).
    pub container: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub at: Duration,
    pub what: StepPlan,
}

#[derive(Debug, Clone)]
pub enum StepPlan {
    /// Indexes into [`Plan::hosts`].
    ColdStart {
        hosts: Vec<usize>,
        /// Starts spread evenly over this time (zero: all at once).
        ramp: Duration,
    },
    Fault(Box<FaultPlan>),
    /// Every upstream image pulled through every proxy, by tag and by digest.
    ProxyCheck,
}

#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub id: usize,
    /// The fault, typed by its family; its kind is `fault.kind()`.
    pub fault: Fault,
    /// The target as written (`groups` for a partition).
    pub target: String,
    /// What the target names (none for a partition, whose groups name several).
    pub on: Option<Target>,
    /// Zero for instant faults.
    pub duration: Duration,
    /// Containers the fault acts on, registry nodes before load balancers.
    pub containers: Vec<String>,
    /// For a partition: the containers of each group.
    pub groups: Vec<Vec<String>>,
    /// For storage faults: the region's storage volume.
    pub volume: Option<String>,
    /// For blob faults: how blobs lie in that volume.
    pub layout: Option<crate::model::registry::BlobLayout>,
    /// Regions it touches (for recovery analysis).
    pub regions: Vec<String>,
    /// Injected by hand during a game day, not by the timeline.
    pub manual: bool,
}

impl FaultPlan {
    pub fn kind(&self) -> FaultKind {
        self.fault.kind()
    }
}

/// Makes a run id: short, random, safe in container names.
pub fn new_run_id() -> String {
    let n: u32 = rand::rng().random();
    format!("{n:08x}")
}

pub fn build(s: &Scenario, run_id: &str, seed: u64) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let topology = &s.topology.value;
    let tls = topology.tls.is_some();
    let prefix = format!("drill-{run_id}");
    let pfx = prefix.as_str();
    let upstream = s.topology.value.upstream.then(|| {
        let container = format!("{prefix}-{UPSTREAM}");
        UpstreamPlan {
            volume: format!("{container}-storage"),
            gate: format!("{container}-gate"),
            container,
        }
    });
    let external = topology
        .external
        .as_ref()
        .map(|e| ExternalPlan::of(e, s.dir.as_deref()));
    // An external topology's regions are not built: the plan holds their URLs only.
    let built = if external.is_some() {
        &[][..]
    } else {
        &s.topology.value.regions[..]
    };
    let regions: Vec<RegionPlan> = built
        .iter()
        .map(|r| {
            let r = &r.value;
            let auth = topology.auth_of(r);
            let registry = RegistryPlan::of(s.registry_of(r), s.dir.as_deref());
            let port = registry.port();
            let nodes: Vec<NodePlan> = r
                .zones
                .iter()
                .flat_map(|z| {
                    (1..=r.nodes_per_zone.get()).map(move |n| {
                        let name = format!("{z}-{n}");
                        NodePlan {
                            container: format!("{pfx}-{name}"),
                            zone: z.clone(),
                            name,
                            port,
                        }
                    })
                })
                .collect();
            let secret: u128 = rng.random();
            RegionPlan {
                name: r.name.clone(),
                volume: format!("{prefix}-{}-storage", r.name),
                http_secret: format!("{secret:032x}"),
                load_balancer: format!("{prefix}-{}-lb", r.name),
                balancer: Balancer::of(
                    s.balancer_of(r),
                    &nodes,
                    tls,
                    &registry.health(),
                    s.dir.as_deref(),
                    &r.name,
                ),
                registry,
                nodes,
                proxy: s.proxy_of(r).map(|resolved| {
                    let name = proxy_name(&r.name);
                    let gate = upstream.as_ref().map_or("", |u| u.gate.as_str());
                    ProxyPlan {
                        container: format!("{prefix}-{name}"),
                        volume: format!("{prefix}-{name}-storage"),
                        name,
                        kind: proxy::ProxyImpl::of(resolved, gate, s.dir.as_deref(), &r.name),
                    }
                }),
                auth,
                token_service: topology.token_home(r).map(|home| {
                    let name = token_service_name(home);
                    TokenServicePlan {
                        container: format!("{prefix}-{name}"),
                        name,
                        region: home.to_string(),
                    }
                }),
                storage: r
                    .storage_limit
                    .map(|l| (l.0, format!("{prefix}-{}-storage-keeper", r.name))),
            }
        })
        .collect();

    let names: Vec<String> = s
        .topology
        .value
        .regions
        .iter()
        .map(|r| r.value.name.clone())
        .collect();
    let hosts = plan_hosts(s, &names, &prefix);

    let mut plan = Plan {
        run_id: run_id.to_string(),
        scenario: s.name.value.clone(),
        description: s.description.clone(),
        seed,
        network: prefix,
        regions,
        images: s
            .images
            .value
            .iter()
            .map(|i| ImagePlan {
                reference: i.value.reference.clone(),
                layers: i.value.layers.iter().map(|l| l.0).collect(),
                source: i.value.source,
                existing: i.value.existing,
            })
            .collect(),
        hosts,
        duration: s.duration.value.0,
        probes: s.probes,
        sla: s.sla.clone(),
        tls,
        guardrails: s.guardrails,
        replication: s.topology.value.replication(),
        canaries: s.canaries.as_ref().map(|c| c.value),
        upstream,
        proxy_cache: s.preconditions.proxy_cache,
        external,
        timeline: Vec::new(),
    };
    plan.timeline = plan.steps(s, &mut rng);
    plan
}

/// Every host of every fleet, one per zone and index, with its mirrors named.
fn plan_hosts(s: &Scenario, regions: &[String], prefix: &str) -> Vec<HostPlan> {
    let mut hosts = Vec::new();
    for f in &s.hosts {
        let f = &f.value;
        let mut mirrors: Vec<String> = Vec::new();
        for m in &f.mirrors {
            let names: Vec<String> = match m.as_str() {
                "region" => vec![f.region.clone()],
                "other-regions" => regions
                    .iter()
                    .filter(|r| **r != f.region)
                    .cloned()
                    .collect(),
                "proxy" => vec![proxy_name(&f.region)],
                other => vec![other.to_string()],
            };
            for n in names {
                if !mirrors.contains(&n) {
                    mirrors.push(n);
                }
            }
        }
        for zone in s.fleet_zones(f) {
            for n in 1..=f.per_zone.get() {
                hosts.push(HostPlan {
                    name: host_name(&f.name, zone, n),
                    fleet: f.name.clone(),
                    region: f.region.clone(),
                    zone: zone.to_string(),
                    mirrors: mirrors.clone(),
                    pull: f.pull.clone(),
                    timeouts: f.timeouts,
                    parallel_layers: f.parallel_layers.get() as usize,
                    backoff: crate::model::backoff::Backoff::of(
                        f.backoff,
                        f.retry_backoff.0,
                        f.kubelet_backoff,
                    ),
                    kind: f.kind,
                    container: (f.kind == HostKind::Containerd)
                        .then(|| format!("{prefix}-host-{}", host_name(&f.name, zone, n))),
                });
            }
        }
    }
    hosts
}

fn select_hosts(hosts: &[HostPlan], sel: &HostSelector) -> Vec<usize> {
    hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| match sel {
            HostSelector::All => true,
            HostSelector::Filter(f) => {
                f.region.as_ref().is_none_or(|r| r == &h.region)
                    && f.zone.as_ref().is_none_or(|z| z == &h.zone)
                    && f.fleet.as_ref().is_none_or(|n| n == &h.fleet)
            }
        })
        .map(|(i, _)| i)
        .collect()
}

impl Plan {
    /// The timeline's steps, in time order, with hosts selected and faults resolved.
    fn steps(&self, s: &Scenario, rng: &mut StdRng) -> Vec<PlannedStep> {
        let mut timeline = Vec::new();
        let mut fault_id = 0;
        for (step, fault) in s.timeline.iter().zip(crate::faults::of(s)) {
            let step = &step.value;
            // Numbered by the file's fault steps, whatever the plan makes of them.
            if step.fault.is_some() {
                fault_id += 1;
            }
            let what = match (step.action, fault) {
                (Some(Action::ColdStart), _) => {
                    let sel = step.hosts.clone().unwrap_or(HostSelector::All);
                    let mut chosen = select_hosts(&self.hosts, &sel);
                    if let Some(n) = step.pick {
                        // Seeded: the same seed restarts the same hosts.
                        while chosen.len() > n.get() as usize {
                            chosen.remove(rng.random_range(0..chosen.len()));
                        }
                    }
                    StepPlan::ColdStart {
                        hosts: chosen,
                        ramp: step.ramp.map(|r| r.0).unwrap_or_default(),
                    }
                }
                (Some(Action::ProxyCheck), _) => StepPlan::ProxyCheck,
                (None, Some(fault)) => {
                    let lasts = step.duration.map(|d| d.0).unwrap_or_default();
                    StepPlan::Fault(Box::new(self.plan_fault(s, fault_id, fault, lasts, rng)))
                }
                (None, None) => continue, // refused by validation
            };
            timeline.push(PlannedStep {
                at: step.at.0,
                what,
            });
        }
        // Stable sort: steps at the same instant keep file order.
        timeline.sort_by_key(|s| s.at);
        timeline
    }

    /// A fault placed: every part it reaches named as a container, the volume it acts
    /// on; a `pick` made with `rng`.
    pub fn plan_fault(
        &self,
        s: &Scenario,
        id: usize,
        fault: Fault,
        duration: Duration,
        rng: &mut StdRng,
    ) -> FaultPlan {
        let reach = fault.reach(s);
        let mut placed = FaultPlan {
            id,
            target: fault.written(),
            on: fault.on(),
            fault,
            duration,
            containers: Vec::new(),
            groups: reach
                .groups
                .iter()
                .map(|g| g.iter().filter_map(|m| self.container(&m.part)).collect())
                .collect(),
            volume: None,
            layout: None,
            regions: reach.regions,
            manual: false,
        };
        let region = |name: &str| self.regions.iter().find(|r| r.name == name);
        match &reach.volume {
            None => {}
            Some(Volume::ProxyCache(r)) => {
                placed.volume = region(r)
                    .and_then(|r| r.proxy.as_ref())
                    .map(|p| p.volume.clone());
            }
            Some(Volume::Region(r)) => {
                placed.volume = region(r).map(|r| r.volume.clone());
                placed.layout = region(r).and_then(|r| r.registry.layout());
            }
            Some(Volume::Kept(r)) => {
                placed.volume = region(r).map(|r| r.volume.clone());
                // Done from the container that keeps the region's tmpfs mounted.
                placed.containers = region(r)
                    .and_then(|r| r.storage.as_ref())
                    .map(|(_, keeper)| keeper.clone())
                    .into_iter()
                    .collect();
            }
        }
        let mut members = reach.members;
        if let Some(n) = reach.pick {
            // Seeded: the same seed picks the same victims.
            while members.len() > n.get() as usize {
                members.remove(rng.random_range(0..members.len()));
            }
        }
        for m in members {
            if let Some(r) = m.region.filter(|r| !placed.regions.contains(r)) {
                placed.regions.push(r);
            }
            if let Some(c) = self
                .container(&m.part)
                .filter(|c| !placed.containers.contains(c))
            {
                placed.containers.push(c);
            }
        }
        // The upstream belongs to no region: a fault of it is felt where proxies cache it.
        if placed.on == Some(Target::Upstream) {
            placed.regions = self
                .regions
                .iter()
                .filter(|r| r.proxy.is_some())
                .map(|r| r.name.clone())
                .collect();
        }
        placed
    }

    /// The container a part of the topology runs in.
    pub fn container(&self, part: &Part) -> Option<String> {
        let regions = &self.regions;
        match part {
            Part::Node(n) => regions
                .iter()
                .flat_map(|r| &r.nodes)
                .find(|node| &node.name == n)
                .map(|node| node.container.clone()),
            Part::LoadBalancer(r) => regions
                .iter()
                .find(|region| &region.name == r)
                .map(|region| region.load_balancer.clone()),
            Part::Proxy(r) => regions
                .iter()
                .find(|region| &region.name == r)
                .and_then(|region| region.proxy.as_ref())
                .map(|p| p.container.clone()),
            Part::TokenService(home) => self
                .token_services()
                .into_iter()
                .find(|t| &t.region == home)
                .map(|t| t.container.clone()),
            Part::UpstreamGate => self.upstream.as_ref().map(|u| u.gate.clone()),
            Part::Host(h) => self
                .hosts
                .iter()
                .find(|host| &host.name == h)
                .and_then(|host| host.container.clone()),
        }
    }
}

impl Plan {
    /// Every token service of the run, once each (several regions may share one).
    pub fn token_services(&self) -> Vec<&TokenServicePlan> {
        let mut out: Vec<&TokenServicePlan> = Vec::new();
        for t in self.regions.iter().filter_map(|r| r.token_service.as_ref()) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// Every region's name, built or external, in the scenario's order.
    pub fn region_names(&self) -> Vec<String> {
        match &self.external {
            Some(e) => e.regions.iter().map(|(name, _)| name.clone()).collect(),
            None => self.regions.iter().map(|r| r.name.clone()).collect(),
        }
    }

    /// The timeline's faults, in time order.
    pub fn faults(&self) -> impl Iterator<Item = &FaultPlan> {
        self.timeline.iter().filter_map(|s| match &s.what {
            StepPlan::Fault(f) => Some(&**f),
            _ => None,
        })
    }

    pub fn container_count(&self) -> usize {
        self.regions
            .iter()
            .map(|r| {
                r.nodes.len()
                    + 1
                    + usize::from(r.proxy.is_some())
                    + usize::from(r.storage.is_some())
            })
            .sum::<usize>()
            + self.token_services().len()
            + if self.upstream.is_some() { 2 } else { 0 }
            + self.hosts.iter().filter(|h| h.container.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::parse;

    const SRC: &str = r#"
name: plan-test
duration: 40s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b], nodes_per_zone: 2 }
    - { name: us, zones: [us-a] }
images:
  - { ref: team/app:1, layers: [1MiB] }
hosts:
  - { name: eu-fleet, region: eu, per_zone: 2, mirrors: [region, other-regions], pull: [team/app:1] }
  - { name: us-fleet, region: us, per_zone: 1, mirrors: [us, eu, region], pull: [team/app:1] }
timeline:
  - { at: 10s, fault: kill, target: eu-b, pick: 1, for: 5s }
  - { at: 0s, do: cold-start }
  - { at: 20s, fault: region-outage, target: us, for: 5s }
  - { at: 21s, do: cold-start, hosts: { zone: eu-b } }
"#;

    fn plan(seed: u64) -> Plan {
        build(&parse(SRC).unwrap(), "abc12345", seed)
    }

    /// SRC with its faults aimed at eu's token service (a pause) and at eu (its loss).
    fn aimed_at_eu_token(src: String) -> String {
        src.replace(
            "fault: kill, target: eu-b, pick: 1,",
            "fault: pause, target: eu-token,",
        )
        .replace("region-outage, target: us", "region-outage, target: eu")
    }

    /// The faults of [`aimed_at_eu_token`]: the pause acts on eu's token service alone
    /// and belongs to eu; eu's loss takes the token service along.
    fn assert_faults_take_eu_token(p: &Plan) {
        let faults = faults_of(p);
        assert_eq!(faults[0].containers, ["drill-abc12345-eu-token"]);
        assert_eq!(faults[0].regions, ["eu"]);
        assert!(faults[1]
            .containers
            .contains(&"drill-abc12345-eu-token".to_string()));
        assert_eq!(faults[1].regions, ["eu"]);
    }

    fn faults_of(p: &Plan) -> Vec<&FaultPlan> {
        p.faults().collect()
    }

    /// Every form a target takes, on a topology whose names nearly collide (`eu-a` and
    /// `eu-ab`, nodes `eu-a-1` and zone `eu-ab`): each fault acts on exactly the parts
    /// docs/faults.md documents for that form, and on nothing else.
    #[test]
    fn every_target_form_acts_on_exactly_its_documented_parts() {
        let src = r#"
name: targets
duration: 60s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-ab], nodes_per_zone: 2 }
    - { name: us, zones: [us-a], storage_limit: 64MiB }
  upstream: true
  proxy: per-region
  auth: token
images:
  - { ref: team/app:1, layers: [1MiB] }
hosts:
  - { name: f, region: us, per_zone: 2, kind: containerd, mirrors: [region], pull: [team/app:1] }
timeline:
  - { at: 1s, fault: kill, target: eu-a-1, for: 1s }
  - { at: 2s, fault: kill, target: eu-a, for: 1s }
  - { at: 3s, fault: stop, target: eu, for: 1s }
  - { at: 4s, fault: zone-outage, target: eu-ab, for: 1s }
  - { at: 5s, fault: region-outage, target: eu, for: 1s }
  - { at: 6s, fault: pause, target: eu-lb, for: 1s }
  - { at: 7s, fault: kill, target: eu-proxy, for: 1s }
  - { at: 8s, fault: cache-wipe, target: eu-proxy }
  - { at: 9s, fault: pause, target: us-token, for: 1s }
  - { at: 10s, fault: kill, target: upstream, for: 1s }
  - { at: 11s, fault: upstream-outage, for: 1s }
  - { at: 12s, fault: blackhole, target: f, for: 1s }
  - { at: 13s, fault: partition, groups: [[eu-a], [eu-ab, us-lb]], for: 1s }
  - { at: 14s, fault: fill-disk, target: us, for: 1s }
  - { at: 15s, fault: corrupt-blob, target: eu, image: team/app:1 }
  - { at: 16s, fault: restart, target: eu-ab-2 }
  - { at: 17s, fault: region-outage, target: us, for: 1s }
"#;
        let p = build(&parse(src).unwrap(), "r", 1);
        let c = |names: &[&str]| -> Vec<String> {
            names.iter().map(|n| format!("drill-r-{n}")).collect()
        };
        let eu_nodes = ["eu-a-1", "eu-a-2", "eu-ab-1", "eu-ab-2"];
        let expected: Vec<(Vec<String>, Vec<&str>)> = vec![
            (c(&["eu-a-1"]), vec!["eu"]),
            (c(&["eu-a-1", "eu-a-2"]), vec!["eu"]),
            (c(&eu_nodes), vec!["eu"]),
            (c(&["eu-ab-1", "eu-ab-2"]), vec!["eu"]),
            (
                c(&[&eu_nodes[..], &["eu-lb", "eu-token"]].concat()),
                vec!["eu"],
            ),
            (c(&["eu-lb"]), vec!["eu"]),
            (c(&["eu-proxy"]), vec!["eu"]),
            (c(&["eu-proxy"]), vec!["eu"]),
            (c(&["us-token"]), vec!["us"]),
            // The upstream belongs to no region: it is felt where proxies cache it.
            (c(&["upstream-gate"]), vec!["eu", "us"]),
            (c(&["upstream-gate"]), vec!["eu", "us"]),
            (c(&["host-f-us-a-1", "host-f-us-a-2"]), vec!["us"]),
            (
                c(&["eu-a-1", "eu-a-2", "eu-ab-1", "eu-ab-2", "us-lb"]),
                vec!["eu", "us"],
            ),
            (c(&["us-storage-keeper"]), vec!["us"]),
            (Vec::new(), vec!["eu"]),
            (c(&["eu-ab-2"]), vec!["eu"]),
            (c(&["us-a-1", "us-lb", "us-token"]), vec!["us"]),
        ];
        let faults = faults_of(&p);
        assert_eq!(faults.len(), expected.len());
        for (f, (containers, regions)) in faults.iter().zip(&expected) {
            assert_eq!(&f.containers, containers, "fault #{} on {}", f.id, f.target);
            assert_eq!(&f.regions, regions, "fault #{} on {}", f.id, f.target);
        }
        assert_eq!(
            faults[12].groups,
            [
                c(&["eu-a-1", "eu-a-2"]),
                c(&["eu-ab-1", "eu-ab-2", "us-lb"])
            ]
        );
        assert_eq!(
            faults[7].volume.as_deref(),
            Some("drill-r-eu-proxy-storage")
        );
        assert_eq!(faults[14].volume.as_deref(), Some("drill-r-eu-storage"));
        // Every fault's typed target is what its name means.
        assert_eq!(
            faults[1].on,
            Some(Target::Zone {
                region: "eu".into(),
                zone: "eu-a".into()
            })
        );
        assert_eq!(faults[12].on, None);
    }

    #[test]
    fn tls_ends_at_haproxy_and_regions_keep_their_own_auth() {
        let src = SRC
            .replace(
                "{ name: us, zones: [us-a] }",
                "{ name: us, zones: [us-a], auth: none }",
            )
            .replace("images:", "  tls: self-signed\n  auth: htpasswd\nimages:");
        let p = build(&parse(&src).unwrap(), "abc12345", 1);
        assert!(p.tls);
        let auth: Vec<AuthKind> = p.regions.iter().map(|r| r.auth).collect();
        assert_eq!(auth, [AuthKind::Htpasswd, AuthKind::None]);
        let cfg = &p.regions[0].balancer.builtin().unwrap().config;
        assert!(cfg.contains(
            "bind :5000 ssl crt /usr/local/etc/haproxy/drill.pem\n    http-request set-header X-Forwarded-Proto https\n"
        ), "{cfg}");
        // Health checks still go to the nodes over plain HTTP.
        assert!(cfg.contains("option httpchk GET /"), "{cfg}");
        assert!(!plan(1).regions[0]
            .balancer
            .builtin()
            .unwrap()
            .config
            .contains("ssl"));
        assert!(
            p.describe(&[]).contains("(haproxy, TLS)"),
            "{}",
            p.describe(&[])
        );
    }

    #[test]
    fn clients_let_go_of_idle_connections_before_the_load_balancer_closes_them() {
        let cfg = plan(1).regions[0]
            .balancer
            .builtin()
            .unwrap()
            .config
            .clone();
        let keep_alive = format!(
            "timeout http-keep-alive {}s\n",
            balancer::LB_KEEP_ALIVE.as_secs()
        );
        assert!(cfg.contains(&keep_alive), "{cfg}");
    }

    #[test]
    fn token_regions_get_a_token_service_that_faults_can_aim_at() {
        let src = aimed_at_eu_token(
            SRC.replace(
                "{ name: us, zones: [us-a] }",
                "{ name: us, zones: [us-a], auth: htpasswd }",
            )
            .replace("images:", "  tls: self-signed\n  auth: token\nimages:"),
        );
        let p = build(&parse(&src).unwrap(), "abc12345", 1);
        let eu = &p.regions[0];
        let t = eu.token_service.as_ref().expect("eu demands tokens");
        assert_eq!(
            (t.name.as_str(), t.container.as_str()),
            ("eu-token", "drill-abc12345-eu-token")
        );
        assert_eq!(t.realm(p.tls), "https://drill-abc12345-eu-token:5000/token");
        assert_eq!(p.regions[1].token_service, None);
        assert_eq!(p.container_count(), 8);
        assert!(p.describe(&[]).contains(
            "token service eu-token: drill-abc12345-eu-token (realm https://drill-abc12345-eu-token:5000/token)"
        ), "{}", p.describe(&[]));
        assert_faults_take_eu_token(&p);
    }

    #[test]
    fn a_central_token_service_runs_once_and_belongs_to_its_region() {
        let src = aimed_at_eu_token(
            SRC.replace("images:", "  auth: token\n  token_service: eu\nimages:"),
        );
        let p = build(&parse(&src).unwrap(), "abc12345", 1);
        let services = p.token_services();
        assert_eq!(services.len(), 1);
        assert_eq!(
            (services[0].name.as_str(), services[0].region.as_str()),
            ("eu-token", "eu")
        );
        assert_eq!(p.regions[1].token_service.as_ref(), Some(services[0]));
        assert_eq!(p.container_count(), 7 + 1);
        assert!(
            p.describe(&[])
                .contains("tokens from eu-token, in region eu"),
            "{}",
            p.describe(&[])
        );
        // It belongs to eu: us, which it serves too, is a spared region isolation judges.
        assert_faults_take_eu_token(&p);

        // Run by a region that itself demands htpasswd: still one service, in eu.
        let elsewhere = src.replace("nodes_per_zone: 2 }", "nodes_per_zone: 2, auth: htpasswd }");
        let p = build(&parse(&elsewhere).unwrap(), "abc12345", 1);
        assert_eq!(p.regions[0].token_service, None);
        assert_eq!(p.token_services()[0].region, "eu");
        assert!(
            p.describe(&[])
                .contains("token service eu-token: drill-abc12345-eu-token"),
            "{}",
            p.describe(&[])
        );
        assert_eq!(faults_of(&p)[0].regions, ["eu"]);
    }

    #[test]
    fn names_and_layout() {
        let p = plan(1);
        assert_eq!(p.network, "drill-abc12345");
        assert_eq!(p.regions[0].nodes.len(), 4);
        assert_eq!(p.regions[0].nodes[3].container, "drill-abc12345-eu-b-2");
        assert_eq!(p.regions[1].load_balancer, "drill-abc12345-us-lb");
        assert_eq!(p.container_count(), 7);
        assert!(p.regions[0]
            .balancer
            .builtin()
            .unwrap()
            .config
            .contains("server eu-a-2 drill-abc12345-eu-a-2:5000"));
        assert_ne!(p.regions[0].http_secret, p.regions[1].http_secret);
    }

    #[test]
    fn hosts_and_mirror_order() {
        let p = plan(1);
        assert_eq!(p.hosts.len(), 5);
        assert_eq!(p.hosts[0].name, "eu-fleet-eu-a-1");
        assert_eq!(p.hosts[0].mirrors, ["eu", "us"]);
        // Duplicates in the mirror list are dropped, order kept.
        assert_eq!(p.hosts[4].mirrors, ["us", "eu"]);
    }

    #[test]
    fn timeline_sorted_and_targets_resolved() {
        let p = plan(1);
        let ats: Vec<u64> = p.timeline.iter().map(|s| s.at.as_secs()).collect();
        assert_eq!(ats, [0, 10, 20, 21]);
        let StepPlan::ColdStart { hosts, .. } = &p.timeline[0].what else {
            panic!()
        };
        assert_eq!(hosts.len(), 5);
        let StepPlan::Fault(kill) = &p.timeline[1].what else {
            panic!()
        };
        assert_eq!(kill.containers.len(), 1);
        assert!(kill.containers[0].starts_with("drill-abc12345-eu-b-"));
        assert_eq!(kill.regions, ["eu"]);
        let StepPlan::Fault(outage) = &p.timeline[2].what else {
            panic!()
        };
        assert_eq!(
            outage.containers,
            ["drill-abc12345-us-a-1", "drill-abc12345-us-lb"]
        );
        let StepPlan::ColdStart { hosts, .. } = &p.timeline[3].what else {
            panic!()
        };
        assert_eq!(hosts, &[2, 3]);
    }

    #[test]
    fn cold_start_pick_restarts_n_seeded_hosts() {
        let src = SRC.replace(
            "  - { at: 0s, do: cold-start }",
            "  - { at: 0s, do: cold-start, pick: 2 }",
        );
        let hosts = |seed| {
            let p = build(&parse(&src).unwrap(), "abc12345", seed);
            let StepPlan::ColdStart { hosts, .. } = &p.timeline[0].what else {
                panic!()
            };
            hosts.clone()
        };
        assert_eq!(hosts(3).len(), 2);
        assert_eq!(hosts(3), hosts(3));
        let all: std::collections::BTreeSet<Vec<usize>> = (0..20).map(hosts).collect();
        assert!(all.len() > 1, "other seeds pick other hosts");
    }

    #[test]
    fn picks_follow_the_seed() {
        let pick = |seed| {
            let p = plan(seed);
            let StepPlan::Fault(f) = &p.timeline[1].what else {
                panic!()
            };
            f.containers[0].clone()
        };
        assert_eq!(pick(5), pick(5));
        let all: std::collections::BTreeSet<String> = (0..32).map(pick).collect();
        assert_eq!(all.len(), 2, "both eu-b nodes get picked over 32 seeds");
    }

    #[test]
    fn upstream_proxies_mirrors_and_upstream_faults() {
        let src = r#"
name: proxied
duration: 30s
topology:
  regions:
    - { name: eu, zones: [eu-a] }
    - { name: us, zones: [us-a] }
  upstream: true
  proxy: per-region
images:
  - { ref: library/base:1, layers: [1MiB], source: upstream }
hosts:
  - { name: f, region: eu, per_zone: 1, mirrors: [proxy, upstream, us-proxy], pull: [library/base:1] }
timeline:
  - { at: 1s, fault: upstream-errors, for: 5s }
  - { at: 2s, fault: cache-wipe, target: us-proxy }
  - { at: 3s, fault: partition, groups: [[eu-proxy], [upstream]], for: 5s }
  - { at: 4s, fault: bandwidth, target: upstream, rate: 1MiB, for: 5s }
"#;
        let p = build(&parse(src).unwrap(), "abc12345", 1);
        assert_eq!(p.hosts[0].mirrors, ["eu-proxy", "upstream", "us-proxy"]);
        let u = p.upstream.as_ref().unwrap();
        assert_eq!(u.gate, "drill-abc12345-upstream-gate");
        assert_eq!(u.container, "drill-abc12345-upstream");
        assert_eq!(p.container_count(), 2 * 3 + 2);
        let faults = faults_of(&p);
        assert_eq!(faults[0].containers, [u.gate.as_str()]);
        assert_eq!(faults[0].regions, ["eu", "us"]);
        assert_eq!(
            faults[0].fault.actions(),
            [crate::faults::Action::Gate(
                crate::faults::upstream::GateMode::Error(503)
            )],
            "upstream-errors answers 503 unless told otherwise"
        );
        assert_eq!(faults[1].containers, ["drill-abc12345-us-proxy"]);
        assert_eq!(
            faults[1].volume.as_deref(),
            Some("drill-abc12345-us-proxy-storage")
        );
        assert_eq!(
            faults[2].groups,
            [
                vec!["drill-abc12345-eu-proxy".to_string()],
                vec![u.gate.clone()]
            ]
        );
        assert_eq!(faults[2].regions, ["eu"]);
        assert_eq!(faults[3].containers, [u.gate.as_str()]);
        assert_eq!(faults[3].regions, ["eu", "us"]);
    }
}
