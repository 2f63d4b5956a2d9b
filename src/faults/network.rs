//! Network faults, done with `iptables` or `tc` from a toolbox sidecar in each target's
//! network namespace (so target images need no tools), or, for latency where the kernel
//! has no netem, by drill's delaying proxy in front of an entry point.

use super::given::Given;
use super::target::{aimed, resolve, shown, Aim};
use super::{Action, Cx, Heal, Reach, Report};
use crate::model::kinds::FaultKind;
use crate::model::toolbox::{IPTABLES, TC};
use crate::scenario::names::{Member, Target};
use crate::scenario::{Direction, LatencyVia, Pick, Scenario};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum NetworkFault {
    /// Each group drops the others' packets.
    Partition {
        /// The names of each group, as written, with what they name.
        groups: Vec<Vec<(String, Target)>>,
    },
    Aimed {
        /// The target as written.
        written: String,
        target: Target,
        pick: Option<Pick>,
        how: Shaping,
    },
}

/// What a network fault aimed at one target does to its traffic.
#[derive(Debug, Clone, PartialEq)]
pub enum Shaping {
    /// Packets dropped, not refused: peers hang until their timeouts.
    Blackhole { direction: Direction },
    PacketLoss {
        direction: Direction,
        /// Fraction of packets dropped.
        loss: f64,
    },
    /// Egress limited, bytes per second.
    Bandwidth { rate: u64 },
    Latency {
        delay: Duration,
        jitter: Duration,
        /// Chosen by the scenario, or at run time from what the kernel has.
        via: Option<LatencyVia>,
    },
}

/// The network faults aimed at one target (a partition has groups: [`partition`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    Blackhole,
    Bandwidth,
    PacketLoss,
    Latency,
}

pub(super) fn check(
    kind: NetworkKind,
    given: &Given,
    cx: &Cx,
    r: &mut Report,
) -> Option<NetworkFault> {
    let fault_kind = match kind {
        NetworkKind::Blackhole => FaultKind::Blackhole,
        NetworkKind::Bandwidth => FaultKind::Bandwidth,
        NetworkKind::PacketLoss => FaultKind::PacketLoss,
        NetworkKind::Latency => FaultKind::Latency,
    };
    let pick = given.pick();
    let before = r.count();
    // Every parameter is read, and checked, whatever the target: one pass shows them all.
    let (via, how) = match kind {
        NetworkKind::Blackhole => (
            None,
            Some(Shaping::Blackhole {
                direction: given.direction().unwrap_or_default(),
            }),
        ),
        NetworkKind::PacketLoss => {
            let direction = given.direction().unwrap_or_default();
            let loss = given.loss();
            if loss.is_none() {
                r.problem(
                    "loss",
                    "packet-loss needs the share of packets dropped, e.g. loss: 20%",
                );
            }
            (
                None,
                loss.map(|l| Shaping::PacketLoss {
                    direction,
                    loss: l.0,
                }),
            )
        }
        NetworkKind::Bandwidth => match given.rate() {
            None => {
                r.problem(
                    "rate",
                    "bandwidth needs a rate in bytes per second, e.g. rate: 1MiB",
                );
                (None, None)
            }
            Some(rate) if rate.0 < 1024 => {
                r.problem("rate", "must be at least 1KiB (per second)");
                (None, None)
            }
            Some(rate) => (None, Some(Shaping::Bandwidth { rate: rate.0 })),
        },
        NetworkKind::Latency => {
            let delay = given.delay();
            let jitter = given.jitter().map(|j| j.0).unwrap_or_default();
            let via = given.via();
            if delay.is_none() {
                r.problem("delay", "latency needs a delay, e.g. delay: 200ms");
            }
            (
                via,
                delay.map(|d| Shaping::Latency {
                    delay: d.0,
                    jitter,
                    via,
                }),
            )
        }
    };
    let aimed = aimed(fault_kind, Aim::Part, pick, given, cx, r);
    let on_lb = matches!(aimed, Some((_, Target::LoadBalancer(_))));
    if via == Some(LatencyVia::Proxy) && !on_lb {
        r.problem(
            "via",
            "via: proxy sits in front of an entry point: target a load balancer (<region>-lb)",
        );
    }
    let (written, target) = aimed?;
    (r.count() == before).then_some(())?;
    Some(NetworkFault::Aimed {
        written,
        target,
        pick,
        how: how?,
    })
}

/// A partition's groups: each name a part of the topology, no part in two groups
/// (also not through a zone and its region).
pub(super) fn partition(given: &Given, cx: &Cx, r: &mut Report) -> Option<NetworkFault> {
    let groups = given.groups();
    if given.target().is_some() {
        r.problem("target", "a partition takes `groups`, not `target`");
    }
    let groups = match groups {
        Some(groups) if groups.len() >= 2 && groups.iter().all(|g| !g.is_empty()) => groups,
        _ => {
            r.problem(
                "groups",
                "a partition needs at least two non-empty groups, e.g. groups: [[eu-a], [eu-b, eu-lb]]",
            );
            return None;
        }
    };
    let mut owner: Vec<(Member, &str, usize)> = Vec::new();
    let mut typed = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let mut named = Vec::new();
        for name in group {
            let target = match resolve(cx, FaultKind::Partition, Aim::Part, name) {
                Ok(t) => t,
                Err(m) => {
                    r.problem("groups", m);
                    return None;
                }
            };
            for m in target.members(cx.s, true) {
                match owner.iter().find(|(o, _, _)| o.part == m.part) {
                    Some((_, other, og)) if *og != g => {
                        r.problem(
                            "groups",
                            format!("'{name}' and '{other}' are in different groups, but share {}: a part can be in one group only", shown(std::slice::from_ref(&m))),
                        );
                        return None;
                    }
                    Some((_, other, _)) if *other == name.as_str() => {
                        r.problem("groups", format!("'{name}' is listed twice"));
                        return None;
                    }
                    _ => owner.push((m, name, g)),
                }
            }
            named.push((name.clone(), target));
        }
        typed.push(named);
    }
    Some(NetworkFault::Partition { groups: typed })
}

impl NetworkFault {
    pub fn kind(&self) -> FaultKind {
        match self {
            NetworkFault::Partition { .. } => FaultKind::Partition,
            NetworkFault::Aimed { how, .. } => match how {
                Shaping::Blackhole { .. } => FaultKind::Blackhole,
                Shaping::PacketLoss { .. } => FaultKind::PacketLoss,
                Shaping::Bandwidth { .. } => FaultKind::Bandwidth,
                Shaping::Latency { .. } => FaultKind::Latency,
            },
        }
    }

    pub(super) fn written(&self) -> String {
        match self {
            NetworkFault::Partition { groups } => groups
                .iter()
                .map(|g| {
                    let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
                    format!("[{}]", names.join(", "))
                })
                .collect::<Vec<_>>()
                .join(" | "),
            NetworkFault::Aimed { written, .. } => written.clone(),
        }
    }

    pub(super) fn on(&self) -> Option<Target> {
        match self {
            NetworkFault::Partition { .. } => None,
            NetworkFault::Aimed { target, .. } => Some(target.clone()),
        }
    }

    pub(super) fn latency_via(&mut self) -> Option<&mut Option<LatencyVia>> {
        match self {
            NetworkFault::Aimed {
                how: Shaping::Latency { via, .. },
                ..
            } => Some(via),
            _ => None,
        }
    }

    fn by_proxy(&self) -> bool {
        matches!(
            self,
            NetworkFault::Aimed {
                how: Shaping::Latency {
                    via: Some(LatencyVia::Proxy),
                    ..
                },
                ..
            }
        )
    }

    pub(super) fn reach(&self, s: &Scenario) -> Reach {
        match self {
            NetworkFault::Partition { groups } => {
                let groups: Vec<Vec<Member>> = groups
                    .iter()
                    .map(|g| g.iter().flat_map(|(_, t)| t.members(s, true)).collect())
                    .collect();
                Reach {
                    members: groups.iter().flatten().cloned().collect(),
                    groups,
                    ..Reach::default()
                }
            }
            NetworkFault::Aimed { target, pick, .. } => Reach {
                members: target.members(s, false),
                pick: *pick,
                ..Reach::default()
            },
        }
    }

    pub(super) fn actions(&self) -> Vec<Action> {
        let NetworkFault::Aimed { how, .. } = self else {
            return vec![Action::Partition];
        };
        let action = match *how {
            Shaping::Blackhole { direction } => Action::Sidecars(drops(direction, None)),
            Shaping::PacketLoss { direction, loss } => {
                Action::Sidecars(drops(direction, Some(loss)))
            }
            Shaping::Bandwidth { rate } => {
                // tbf needs a bucket of at least rate/HZ; a tenth of a second is ample.
                let burst = (rate / 10).max(32 * 1024).to_string();
                let bits = format!("{}bit", rate.saturating_mul(8));
                Action::Sidecars(vec![root_qdisc(&[
                    "tbf", "rate", &bits, "burst", &burst, "latency", "1s",
                ])])
            }
            Shaping::Latency { delay, jitter, .. } if self.by_proxy() => {
                Action::Delay { delay, jitter }
            }
            Shaping::Latency { delay, jitter, .. } => {
                let delay = format!("{}ms", delay.as_millis());
                let jitter = format!("{}ms", jitter.as_millis());
                Action::Sidecars(vec![root_qdisc(&["netem", "delay", &delay, &jitter])])
            }
        };
        vec![action]
    }

    pub(super) fn heal(&self) -> Heal {
        let flush = || {
            Heal::Sidecars(vec![
                iptables(&["-F", "INPUT"]),
                iptables(&["-F", "OUTPUT"]),
            ])
        };
        match self {
            NetworkFault::Partition { .. } => flush(),
            NetworkFault::Aimed { how, .. } => match how {
                Shaping::Blackhole { .. } | Shaping::PacketLoss { .. } => flush(),
                Shaping::Latency { .. } if self.by_proxy() => Heal::PassThrough,
                Shaping::Bandwidth { .. } | Shaping::Latency { .. } => {
                    Heal::Sidecars(vec![tc(&["qdisc", "del", "dev", "eth0", "root"])])
                }
            },
        }
    }

    pub(super) fn method(&self) -> String {
        let NetworkFault::Aimed { how, .. } = self else {
            return "iptables DROP, in both directions, of the other groups' addresses, from a sidecar in each member's network namespace; rules flushed at heal".into();
        };
        match *how {
            Shaping::Blackhole { direction } => format!(
                "iptables DROP of {} packets (dropped, not refused: peers hang until their timeouts) from a sidecar in the target's network namespace; flushed at heal",
                direction_words(direction)
            ),
            Shaping::PacketLoss { direction, loss } => format!(
                "iptables statistic match dropping {:.1}% of {} packets at random, from a sidecar in the target's network namespace; flushed at heal",
                loss * 100.0,
                direction_words(direction)
            ),
            Shaping::Bandwidth { rate } => format!(
                "tc tbf qdisc limiting the target's egress to {rate} bytes/s, from a sidecar in its network namespace; removed at heal"
            ),
            Shaping::Latency { delay, jitter, .. } if self.by_proxy() => format!(
                "drill's delaying TCP proxy in front of the entry point holds every chunk {}ms ± {}ms in each direction (netem was not used); pass-through again at heal",
                delay.as_millis(),
                jitter.as_millis()
            ),
            Shaping::Latency { delay, jitter, .. } => format!(
                "tc netem delay {}ms ± {}ms on the target's egress, from a sidecar in its network namespace; removed at heal",
                delay.as_millis(),
                jitter.as_millis()
            ),
        }
    }
}

/// The drop rules of a blackhole (every packet) or a packet loss (a random share).
fn drops(direction: Direction, loss: Option<f64>) -> Vec<Vec<String>> {
    let probability = loss.map(|l| format!("{l:.4}"));
    let mut matching: Vec<&str> = Vec::new();
    if let Some(p) = &probability {
        matching = vec!["-m", "statistic", "--mode", "random", "--probability", p];
    }
    let mut rules = Vec::new();
    if direction != Direction::Out {
        let mut r = vec!["-I", "INPUT", "!", "-i", "lo"];
        r.extend(&matching);
        r.extend(["-j", "DROP"]);
        rules.push(iptables(&r));
    }
    if direction != Direction::In {
        let mut r = vec!["-I", "OUTPUT", "!", "-o", "lo"];
        r.extend(&matching);
        r.extend(["-j", "DROP"]);
        rules.push(iptables(&r));
    }
    rules
}

/// A partition member's rules: drop what comes from, and goes to, the other groups.
pub fn partition_rules(others: &[&String]) -> Vec<Vec<String>> {
    others
        .iter()
        .flat_map(|ip| {
            [
                iptables(&["-I", "INPUT", "-s", ip, "-j", "DROP"]),
                iptables(&["-I", "OUTPUT", "-d", ip, "-j", "DROP"]),
            ]
        })
        .collect()
}

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::In => "incoming",
        Direction::Out => "outgoing",
        Direction::Both => "incoming and outgoing",
    }
}

fn iptables(args: &[&str]) -> Vec<String> {
    std::iter::once(IPTABLES)
        .chain(["iptables", "-w"])
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

pub fn tc(args: &[&str]) -> Vec<String> {
    std::iter::once(TC)
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

/// `tc` replacing the root qdisc of the container's interface.
fn root_qdisc(qdisc: &[&str]) -> Vec<String> {
    let mut args = vec!["qdisc", "replace", "dev", "eth0", "root"];
    args.extend(qdisc);
    tc(&args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_name_each_direction_and_the_share() {
        let both = drops(Direction::Both, None);
        assert_eq!(both.len(), 2);
        assert!(both[0].ends_with(&["-i".into(), "lo".into(), "-j".into(), "DROP".into()]));
        let incoming = drops(Direction::In, Some(0.2));
        assert_eq!(incoming.len(), 1);
        let rule = incoming[0].join(" ");
        assert!(
            rule.contains(
                "-I INPUT ! -i lo -m statistic --mode random --probability 0.2000 -j DROP"
            ),
            "{rule}"
        );
    }
}
