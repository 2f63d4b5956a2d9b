//! `drill plan`'s words: the plan as a person checks it before a run.

use super::proxy::ProxyImpl;
use super::{HostPlan, Plan, StepPlan};
use crate::faults::Fault;
use crate::model::registry::BlobLayout;
use crate::model::replication::ReplicationMode;
use crate::scenario::{AuthKind, CacheState, ImageSource, ProxyKind};
use std::fmt::Write as _;

impl Plan {
    /// The plan in words. `pushed` gives, per image in order, the bytes its push sends
    /// (gzip tar layers, config and manifest), when they were computed.
    pub fn describe(&self, pushed: &[Option<u64>]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "scenario {} (seed {})", self.scenario, self.seed);
        if !self.description.is_empty() {
            let _ = writeln!(out, "  {}", self.description.trim());
        }
        self.describe_topology(&mut out);
        self.describe_images(&mut out, pushed);
        self.describe_hosts(&mut out);
        self.describe_timeline(&mut out);
        out
    }

    /// Regions with their load balancer, token services, storage, nodes and proxy;
    /// the upstream.
    fn describe_topology(&self, out: &mut String) {
        if let Some(e) = &self.external {
            let _ = writeln!(out, "\ntopology: external (drill builds nothing):");
            for (name, url) in &e.regions {
                let _ = writeln!(out, "  region {name}: {url}");
            }
            if let Some(ca) = &e.ca {
                let _ = writeln!(out, "  trusting the CA in {}", ca.display());
            }
            if let Some((user, password)) = &e.credentials_env {
                let _ = writeln!(out, "  credentials from ${user} and ${password}");
            }
            return;
        }
        let _ = writeln!(out, "\ntopology (network {}):", self.network);
        for r in &self.regions {
            let _ = writeln!(
                out,
                "  region {}: load balancer {} ({}{}), storage volume {}{}",
                r.name,
                r.load_balancer,
                r.balancer.name(),
                if self.tls { ", TLS" } else { "" },
                r.volume,
                match r.auth {
                    AuthKind::None => "",
                    AuthKind::Htpasswd => ", nodes demand htpasswd credentials",
                    AuthKind::Token => ", nodes demand bearer tokens",
                }
            );
            for t in self
                .token_services()
                .into_iter()
                .filter(|t| t.region == r.name)
            {
                let _ = writeln!(
                    out,
                    "    token service {}: {} (realm {})",
                    t.name,
                    t.container,
                    t.realm(self.tls)
                );
            }
            if let Some(t) = r.token_service.as_ref().filter(|t| t.region != r.name) {
                let _ = writeln!(out, "    tokens from {}, in region {}", t.name, t.region);
            }
            if let Some((bytes, keeper)) = &r.storage {
                let _ = writeln!(
                    out,
                    "    storage: a tmpfs of {bytes} bytes, kept mounted by {keeper}"
                );
            }
            if let Some(c) = r.balancer.custom() {
                let _ = writeln!(
                    out,
                    "    load balancer {}: {}, port {}, {} backends",
                    c.name,
                    c.launch.source,
                    c.launch.port,
                    c.vars.backends.len()
                );
            }
            if let Some(c) = r.registry.custom() {
                let source = &c.launch.source;
                let layout = match &c.layout {
                    None => "no declared blob layout".to_string(),
                    Some(BlobLayout::Distribution) => "distribution's blob layout".to_string(),
                    Some(BlobLayout::Pattern(p)) => format!("blobs at {p}"),
                };
                let _ = writeln!(
                    out,
                    "    registry {}: {source}, port {}, storage at {} ({layout})",
                    c.name, c.launch.port, c.storage
                );
            }
            for n in &r.nodes {
                let _ = writeln!(
                    out,
                    "    node {} in zone {}: {}",
                    n.name, n.zone, n.container
                );
            }
            if let Some(p) = &r.proxy {
                let _ = writeln!(
                    out,
                    "    proxy {}: {} ({}pull-through cache of the upstream), storage volume {}",
                    p.name,
                    p.container,
                    match &p.kind {
                        ProxyImpl::Builtin(ProxyKind::Distribution) => String::new(),
                        ProxyImpl::Builtin(ProxyKind::Nginx) => "nginx, ".into(),
                        ProxyImpl::Custom(c) => format!(
                            "{}: {}, port {}, cache at {}, ",
                            c.name, c.launch.source, c.launch.port, c.vars.storage
                        ),
                    },
                    p.volume
                );
            }
        }
        if let Some(u) = &self.upstream {
            let cache = match self.proxy_cache {
                CacheState::Warm => {
                    "warm: every upstream image pulled through every proxy before the timeline"
                }
                CacheState::Cold => "cold: proxies start empty",
            };
            let _ = writeln!(
                out,
                "  upstream: {} (storage volume {}) behind the fault point {} (haproxy); proxy cache {cache}",
                u.container, u.volume, u.gate
            );
        }
    }

    /// Replication, then each image with its content and push sizes, and the canaries.
    fn describe_images(&self, out: &mut String, pushed: &[Option<u64>]) {
        let _ = writeln!(out, "\nreplication: {}", self.replication.describe());
        let pushed_to = match &self.replication.primary {
            Some(p) if self.replication.mode != ReplicationMode::PushToAll => p.clone(),
            _ => "every region".to_string(),
        };
        let _ = writeln!(out, "\nimages:");
        for (n, i) in self.images.iter().enumerate() {
            if i.existing {
                let _ = writeln!(
                    out,
                    "  {} (existing: pulled whole from {pushed_to} before the timeline, its digest recorded and held to)",
                    i.reference
                );
                continue;
            }
            let content: u64 = i.layers.iter().sum();
            // Layers are packed as gzip tars of their content, with a config and a
            // manifest: what a push sends is not the content size.
            let sent = match pushed.get(n).copied().flatten() {
                Some(b) => {
                    format!("; a push sends {b} bytes: gzip tar layers, config and manifest")
                }
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "  {} ({}, {content} bytes of content{sent}), pushed to {}",
                i.reference,
                crate::model::units::plural(i.layers.len() as u64, "layer", "layers"),
                match i.source {
                    ImageSource::Regions => pushed_to.as_str(),
                    ImageSource::Upstream => "the upstream only",
                }
            );
        }
        if let Some(c) = &self.canaries {
            let _ = writeln!(
                out,
                "  canaries: one {} image every {}, pushed to {pushed_to}; each region polled until it has it",
                c.size, c.every
            );
        }
    }

    /// Each fleet: its hosts, kind, region, mirrors, pulls and back-off.
    fn describe_hosts(&self, out: &mut String) {
        let _ = writeln!(out, "\nhosts: {}", self.hosts.len());
        let mut fleets: Vec<&str> = self.hosts.iter().map(|h| h.fleet.as_str()).collect();
        fleets.dedup();
        for f in fleets {
            let members: Vec<&HostPlan> = self.hosts.iter().filter(|h| h.fleet == f).collect();
            let _ = writeln!(
                out,
                "  fleet {f}: {} {} hosts in region {}, mirrors {}, pulls {}, {}",
                members.len(),
                members[0].kind.name(),
                members[0].region,
                members[0].mirrors.join(" → "),
                members[0].pull.join(", "),
                members[0].backoff.describe()
            );
        }
    }

    /// Each step at its time; a fault with the containers it acts on.
    fn describe_timeline(&self, out: &mut String) {
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
                StepPlan::ProxyCheck => {
                    let _ = writeln!(
                        out,
                        "  {at:>6}  proxy check: every upstream image through every proxy, by tag and by digest"
                    );
                }
                StepPlan::Fault(f) => {
                    // An instant fault lasts nothing; a storage fault acts on a volume,
                    // not on containers.
                    let lasting = if f.duration.is_zero() {
                        String::new()
                    } else {
                        format!(" for {}", humantime::format_duration(f.duration))
                    };
                    let on = match (&f.volume, f.containers.is_empty(), &f.fault) {
                        (Some(volume), true, _) => format!("volume {volume}"),
                        (_, true, Fault::Command(_)) => format!("regions {}", f.regions.join(", ")),
                        _ => f.containers.join(", "),
                    };
                    let _ = writeln!(
                        out,
                        "  {at:>6}  fault #{} {} {}{lasting}: {on}",
                        f.id,
                        f.kind().name(),
                        f.target,
                    );
                    // Every command a run will run, before anything runs.
                    if let Fault::Command(c) = &f.fault {
                        let commands = c.commands();
                        if commands.is_empty() {
                            let _ = writeln!(
                                out,
                                "{:10}drill runs nothing: something else injects it",
                                ""
                            );
                        }
                        for (phase, command) in commands {
                            let _ = writeln!(
                                out,
                                "{:10}{} runs: {} (timeout {})",
                                "",
                                phase.name(),
                                command.line(),
                                humantime::format_duration(command.timeout)
                            );
                        }
                    }
                }
            }
        }
    }
}
