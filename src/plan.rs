//! From a validated scenario to a plan: every container, volume and network named,
//! every configuration file rendered, every fault target resolved (seeded picks made).
//! Pure: no Docker, so `drill plan` and the tests can show exactly what a run will do.

use crate::scenario::{
    Action, AllHosts, BlobRef, Canaries, Direction, FaultKind, Guardrails, HostKind, HostSelector,
    LatencyVia, OutageMode, Probes, Replication, ReplicationMode, Scenario, Sla, Step, Timeouts,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::fmt::Write as _;
use std::time::Duration;

/// The port every registry and load balancer listens on inside its container.
pub const REGISTRY_PORT: u16 = 5000;

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
    pub replication: Replication,
    pub canaries: Option<Canaries>,
}

#[derive(Debug, Clone)]
pub struct RegionPlan {
    pub name: String,
    /// Storage shared by every node of the region.
    pub volume: String,
    /// `http.secret` shared by the region's nodes so uploads may span them.
    pub http_secret: String,
    pub load_balancer: String,
    pub haproxy_cfg: String,
    pub nodes: Vec<NodePlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlan {
    /// Scenario-level name, `<zone>-<n>`.
    pub name: String,
    pub zone: String,
    pub container: String,
}

#[derive(Debug, Clone)]
pub struct ImagePlan {
    pub reference: String,
    pub layers: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct HostPlan {
    pub name: String,
    pub fleet: String,
    pub region: String,
    pub zone: String,
    /// Regions whose entry points the host tries, in order.
    pub mirrors: Vec<String>,
    pub pull: Vec<String>,
    pub timeouts: Timeouts,
    pub parallel_layers: usize,
    pub retry_backoff: Duration,
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
}

#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub id: usize,
    pub kind: FaultKind,
    /// The target as written (`groups` for a partition).
    pub target: String,
    /// Zero for instant faults.
    pub duration: Duration,
    /// Containers the fault acts on, registry nodes before load balancers.
    pub containers: Vec<String>,
    /// For a partition: the containers of each group.
    pub groups: Vec<Vec<String>>,
    /// For storage faults: the region's storage volume.
    pub volume: Option<String>,
    /// Regions it touches (for recovery analysis).
    pub regions: Vec<String>,
    pub params: FaultParams,
}

/// The kind-specific settings of a fault, defaults applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultParams {
    pub mode: OutageMode,
    pub direction: Direction,
    /// Bytes per second.
    pub rate: u64,
    /// Fraction of packets dropped.
    pub loss: f64,
    pub delay: Duration,
    pub jitter: Duration,
    pub image: String,
    pub blob: Option<BlobRef>,
    /// For latency: chosen by the scenario, or at run time from what the kernel has.
    pub via: Option<LatencyVia>,
}

/// Makes a run id: short, random, safe in container names.
pub fn new_run_id() -> String {
    let n: u32 = rand::rng().random();
    format!("{n:08x}")
}

pub fn build(s: &Scenario, run_id: &str, seed: u64) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let prefix = format!("drill-{run_id}");
    let pfx = prefix.as_str();
    let regions: Vec<RegionPlan> = s
        .topology
        .value
        .regions
        .iter()
        .map(|r| {
            let r = &r.value;
            let nodes: Vec<NodePlan> = r
                .zones
                .iter()
                .flat_map(|z| {
                    (1..=r.nodes_per_zone).map(move |n| {
                        let name = format!("{z}-{n}");
                        NodePlan {
                            container: format!("{pfx}-{name}"),
                            zone: z.clone(),
                            name,
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
                haproxy_cfg: haproxy_config(&nodes),
                nodes,
            }
        })
        .collect();

    let mut hosts = Vec::new();
    for f in &s.hosts {
        let f = &f.value;
        let mut mirrors: Vec<String> = Vec::new();
        for m in &f.mirrors {
            let names: Vec<String> = match m.as_str() {
                "region" => vec![f.region.clone()],
                "other-regions" => regions
                    .iter()
                    .filter(|r| r.name != f.region)
                    .map(|r| r.name.clone())
                    .collect(),
                other => vec![other.to_string()],
            };
            for n in names {
                if !mirrors.contains(&n) {
                    mirrors.push(n);
                }
            }
        }
        for zone in s.fleet_zones(f) {
            for n in 1..=f.per_zone {
                hosts.push(HostPlan {
                    name: format!("{}-{zone}-{n}", f.name),
                    fleet: f.name.clone(),
                    region: f.region.clone(),
                    zone: zone.to_string(),
                    mirrors: mirrors.clone(),
                    pull: f.pull.clone(),
                    timeouts: f.timeouts,
                    parallel_layers: f.parallel_layers as usize,
                    retry_backoff: f.retry_backoff.0,
                    kind: f.kind,
                    container: (f.kind == HostKind::Containerd)
                        .then(|| format!("{prefix}-host-{}-{zone}-{n}", f.name)),
                });
            }
        }
    }

    let mut timeline = Vec::new();
    let mut fault_id = 0;
    for step in &s.timeline {
        let step = &step.value;
        let what = match (step.action, step.fault) {
            (Some(Action::ColdStart), _) => {
                let sel = step
                    .hosts
                    .clone()
                    .unwrap_or(HostSelector::All(AllHosts::All));
                let mut chosen = select_hosts(&hosts, &sel);
                if let Some(n) = step.pick {
                    // Seeded: the same seed restarts the same hosts.
                    while chosen.len() > n as usize {
                        chosen.remove(rng.random_range(0..chosen.len()));
                    }
                }
                StepPlan::ColdStart {
                    hosts: chosen,
                    ramp: step.ramp.map(|r| r.0).unwrap_or_default(),
                }
            }
            (None, Some(kind)) => {
                fault_id += 1;
                StepPlan::Fault(Box::new(plan_fault(
                    &regions, fault_id, kind, step, &mut rng,
                )))
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

    Plan {
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
            })
            .collect(),
        hosts,
        timeline,
        duration: s.duration.value.0,
        probes: s.probes,
        sla: s.sla.clone(),
        guardrails: s.guardrails,
        replication: s.topology.value.replication(),
        canaries: s.canaries.as_ref().map(|c| c.value),
    }
}

fn select_hosts(hosts: &[HostPlan], sel: &HostSelector) -> Vec<usize> {
    hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| match sel {
            HostSelector::All(_) => true,
            HostSelector::Filter(f) => {
                f.region.as_ref().is_none_or(|r| r == &h.region)
                    && f.zone.as_ref().is_none_or(|z| z == &h.zone)
                    && f.fleet.as_ref().is_none_or(|n| n == &h.fleet)
            }
        })
        .map(|(i, _)| i)
        .collect()
}

pub fn plan_fault(
    regions: &[RegionPlan],
    id: usize,
    kind: FaultKind,
    step: &Step,
    rng: &mut StdRng,
) -> FaultPlan {
    let target = step.target.clone().unwrap_or_default();
    let mut fault = FaultPlan {
        id,
        kind,
        target: target.clone(),
        duration: step.duration.map(|d| d.0).unwrap_or_default(),
        containers: Vec::new(),
        groups: Vec::new(),
        volume: None,
        regions: Vec::new(),
        params: FaultParams {
            mode: step.mode.unwrap_or_default(),
            direction: step.direction.unwrap_or_default(),
            rate: step.rate.map(|r| r.0).unwrap_or_default(),
            loss: step.loss.map(|l| l.0).unwrap_or_default(),
            delay: step.delay.map(|d| d.0).unwrap_or_default(),
            jitter: step.jitter.map(|d| d.0).unwrap_or_default(),
            image: step.image.clone().unwrap_or_default(),
            blob: step.blob,
            via: step.via,
        },
    };
    let members: Vec<Member> = match kind {
        FaultKind::ZoneOutage => members_of(regions, &target, false),
        FaultKind::RegionOutage => members_of(regions, &target, true),
        FaultKind::Partition => {
            let groups: Vec<Vec<Member>> = step
                .groups
                .iter()
                .flatten()
                .map(|g| {
                    g.iter()
                        .flat_map(|name| members_of(regions, name, true))
                        .collect()
                })
                .collect();
            fault.target = step
                .groups
                .iter()
                .flatten()
                .map(|g| format!("[{}]", g.join(", ")))
                .collect::<Vec<_>>()
                .join(" | ");
            fault.groups = groups
                .iter()
                .map(|g| g.iter().map(|m| m.container.clone()).collect())
                .collect();
            groups.into_iter().flatten().collect()
        }
        FaultKind::CorruptBlob | FaultKind::DeleteBlob => {
            if let Some(r) = regions.iter().find(|r| r.name == target) {
                fault.volume = Some(r.volume.clone());
                fault.regions = vec![r.name.clone()];
            }
            Vec::new()
        }
        _ => {
            let mut matches = members_of(regions, &target, false);
            if let Some(n) = step.pick {
                // Seeded: the same seed picks the same victims.
                while matches.len() > n as usize {
                    matches.remove(rng.random_range(0..matches.len()));
                }
            }
            matches
        }
    };
    for m in &members {
        if !fault.regions.contains(&m.region) {
            fault.regions.push(m.region.clone());
        }
    }
    fault.containers = members.into_iter().map(|m| m.container).collect();
    fault
}

struct Member {
    container: String,
    region: String,
}

/// What a name designates: a load balancer (`<region>-lb`), a node, a zone's nodes, or
/// a region's nodes (and its load balancer when `whole_region`).
fn members_of(regions: &[RegionPlan], name: &str, whole_region: bool) -> Vec<Member> {
    let mut out = Vec::new();
    for r in regions {
        let member = |container: &str| Member {
            container: container.to_string(),
            region: r.name.clone(),
        };
        if name == format!("{}-lb", r.name) {
            out.push(member(&r.load_balancer));
            continue;
        }
        out.extend(
            r.nodes
                .iter()
                .filter(|n| n.name == name || n.zone == name || r.name == name)
                .map(|n| member(&n.container)),
        );
        if whole_region && r.name == name {
            out.push(member(&r.load_balancer));
        }
    }
    out
}

/// haproxy in front of a region's nodes. Server names are resolved through Docker's DNS
/// at run time (`resolvers`), so a node that dies or comes back with a new address is
/// followed; failed connections are redispatched to another node.
pub fn haproxy_config(nodes: &[NodePlan]) -> String {
    let mut cfg = String::from(
        "global
    maxconn 4096

resolvers docker
    nameserver dns 127.0.0.11:53
    resolve_retries 2
    timeout resolve 500ms
    timeout retry 500ms
    hold valid 1s
    hold nx 1s
    hold other 1s
    hold refused 1s
    hold timeout 1s
    hold obsolete 1s

defaults
    mode http
    timeout connect 500ms
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    default-server init-addr last,libc,none resolvers docker check inter 500ms fall 2 rise 2

frontend registry
    bind :5000
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /
    http-check expect status 200
",
    );
    for n in nodes {
        let _ = writeln!(cfg, "    server {} {}:{REGISTRY_PORT}", n.name, n.container);
    }
    cfg
}

impl Plan {
    pub fn container_count(&self) -> usize {
        self.regions
            .iter()
            .map(|r| r.nodes.len() + 1)
            .sum::<usize>()
            + self.hosts.iter().filter(|h| h.container.is_some()).count()
    }

    /// Human-readable plan for `drill plan`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "scenario {} (seed {})", self.scenario, self.seed);
        if !self.description.is_empty() {
            let _ = writeln!(out, "  {}", self.description.trim());
        }
        let _ = writeln!(out, "\ntopology (network {}):", self.network);
        for r in &self.regions {
            let _ = writeln!(
                out,
                "  region {}: load balancer {} (haproxy), storage volume {}",
                r.name, r.load_balancer, r.volume
            );
            for n in &r.nodes {
                let _ = writeln!(
                    out,
                    "    node {} in zone {}: {}",
                    n.name, n.zone, n.container
                );
            }
        }
        let _ = writeln!(out, "\nreplication: {}", self.replication.describe());
        let seeded_to = match &self.replication.primary {
            Some(p) if self.replication.mode != ReplicationMode::PushToAll => {
                format!("pushed to {p}")
            }
            _ => "pushed to every region".to_string(),
        };
        let _ = writeln!(out, "\nimages:");
        for i in &self.images {
            let total: u64 = i.layers.iter().sum();
            let _ = writeln!(
                out,
                "  {} ({} layers, {} bytes), {seeded_to}",
                i.reference,
                i.layers.len(),
                total
            );
        }
        if let Some(c) = &self.canaries {
            let _ = writeln!(
                out,
                "  canaries: one {} image every {}, {seeded_to}; each region polled until it has it",
                c.size, c.every
            );
        }
        let _ = writeln!(out, "\nhosts: {}", self.hosts.len());
        let mut fleets: Vec<&str> = self.hosts.iter().map(|h| h.fleet.as_str()).collect();
        fleets.dedup();
        for f in fleets {
            let members: Vec<&HostPlan> = self.hosts.iter().filter(|h| h.fleet == f).collect();
            let _ = writeln!(
                out,
                "  fleet {f}: {} {} hosts in region {}, mirrors {}, pulls {}",
                members.len(),
                members[0].kind.name(),
                members[0].region,
                members[0].mirrors.join(" → "),
                members[0].pull.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\ntimeline ({} run):",
            humantime::format_duration(self.duration)
        );
        for s in &self.timeline {
            let at = humantime::format_duration(s.at).to_string();
            match &s.what {
                StepPlan::ColdStart { hosts, ramp } => {
                    let spread = if ramp.is_zero() {
                        String::new()
                    } else {
                        format!(" spread over {}", humantime::format_duration(*ramp))
                    };
                    let _ = writeln!(
                        out,
                        "  {at:>6}  cold start of {} hosts{spread}",
                        hosts.len()
                    );
                }
                StepPlan::Fault(f) => {
                    let _ = writeln!(
                        out,
                        "  {at:>6}  fault #{} {} {} for {}: {}",
                        f.id,
                        f.kind.name(),
                        f.target,
                        humantime::format_duration(f.duration),
                        f.containers.join(", ")
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

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

    #[test]
    fn names_and_layout() {
        let p = plan(1);
        assert_eq!(p.network, "drill-abc12345");
        assert_eq!(p.regions[0].nodes.len(), 4);
        assert_eq!(p.regions[0].nodes[3].container, "drill-abc12345-eu-b-2");
        assert_eq!(p.regions[1].load_balancer, "drill-abc12345-us-lb");
        assert_eq!(p.container_count(), 7);
        assert!(p.regions[0]
            .haproxy_cfg
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
}
