//! Replication from the journal: how long canaries took to appear in each region (lag),
//! which writes a lost region held alone when it was lost (the recovery point), and the
//! pushes that failed along the way.

use super::Latency;
use crate::journal::{Event, PushOrigin, Record};
use crate::model::kinds::FaultKind;
use crate::model::replication::Replication;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct ReplicationAnalysis {
    /// `push-to-all`, `async` or `none`.
    pub mode: String,
    pub primary: Option<String>,
    /// Canary images with at least one acknowledged push.
    pub canaries: u64,
    /// Pushes during the run (canaries and the replicator's copies), one per region.
    pub pushes: u64,
    /// Every push that failed, in time order.
    pub push_failures: Vec<PushFailure>,
    /// Per region: from a canary's first acknowledged push to its first appearance
    /// in the region (its tag resolving to the pushed digest).
    pub lag: BTreeMap<String, RegionLag>,
    /// Every canary's arrival in every region it reached, in write order: the points of
    /// the lag chart.
    #[serde(default)]
    pub points: Vec<LagPoint>,
    /// One entry per region outage: what the lost region held that no other region
    /// had yet.
    pub losses: Vec<RegionLoss>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct PushFailure {
    pub t_us: u64,
    pub image: String,
    pub region: String,
    /// `canary` or `replica`.
    pub origin: PushOrigin,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct RegionLag {
    /// Canaries seen in the region.
    pub visible: u64,
    /// Canaries written but never seen in the region before the run ended.
    pub never: u64,
    /// Lag of the canaries seen.
    pub lag: Option<Latency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct LagPoint {
    pub image: String,
    pub region: String,
    /// The canary's first acknowledged push.
    pub written_us: u64,
    pub lag_us: u64,
}

/// The recovery point of one region outage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RegionLoss {
    pub fault: usize,
    pub region: String,
    pub lost_us: u64,
    /// Writes the region had acknowledged and no other region had when it was lost,
    /// oldest first.
    pub unreplicated: Vec<UnreplicatedWrite>,
    /// The age of the oldest unreplicated write when the region was lost: the data
    /// a permanent loss of the region would take with it. 0 when there is none.
    pub rpo_us: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct UnreplicatedWrite {
    pub image: String,
    pub digest: String,
    /// When the lost region acknowledged it.
    pub written_us: u64,
    /// `lost_us - written_us`.
    pub age_us: u64,
}

/// A write (tag and digest) and when each region first had it.
#[derive(Default)]
struct Arrivals {
    /// First acknowledgement anywhere, and whether the write is a canary.
    first_us: Option<u64>,
    canary: bool,
    by_region: HashMap<String, u64>,
}

pub fn analyze(
    records: &[Record],
    regions: &[&str],
    replication: &Replication,
) -> ReplicationAnalysis {
    let mut writes: BTreeMap<(String, String), Arrivals> = BTreeMap::new();
    let mut pushes = 0;
    let mut push_failures = Vec::new();
    let mut outages = Vec::new();
    let mut arrive = |image: &str, digest: &str, region: &str, t: u64, canary: bool| {
        let w = writes
            .entry((image.to_string(), digest.to_string()))
            .or_default();
        w.canary |= canary;
        let at = w.by_region.entry(region.to_string()).or_insert(t);
        *at = (*at).min(t);
        w.first_us = Some(w.first_us.map_or(t, |f| f.min(t)));
    };
    for r in records {
        match &r.event {
            Event::ImageSeeded {
                image,
                region,
                digest,
                ..
            } => arrive(image, digest, region, r.t_us, false),
            Event::Pushed {
                image,
                digest,
                region,
                origin,
                ok,
                error,
            } => {
                pushes += 1;
                if *ok {
                    arrive(image, digest, region, r.t_us, *origin == PushOrigin::Canary);
                } else {
                    push_failures.push(PushFailure {
                        t_us: r.t_us,
                        image: image.clone(),
                        region: region.clone(),
                        origin: *origin,
                        error: error.clone(),
                    });
                }
            }
            // Seen there: a region holds what it serves, however it got there.
            Event::Visible {
                image,
                digest,
                region,
            } => arrive(image, digest, region, r.t_us, false),
            Event::FaultInjected {
                fault,
                kind: FaultKind::RegionOutage,
                regions,
                ..
            } => {
                for region in regions {
                    outages.push((*fault, region.clone(), r.t_us));
                }
            }
            _ => {}
        }
    }
    push_failures.sort_by_key(|f| f.t_us);

    let canaries: Vec<(&String, &Arrivals)> = writes
        .iter()
        .filter(|(_, w)| w.canary)
        .map(|((image, _), w)| (image, w))
        .collect();
    let mut points: Vec<LagPoint> = canaries
        .iter()
        .filter_map(|(image, w)| Some((image, w, w.first_us?)))
        .flat_map(|(image, w, first)| {
            w.by_region.iter().map(move |(region, at)| LagPoint {
                image: image.to_string(),
                region: region.clone(),
                written_us: first,
                lag_us: at.saturating_sub(first),
            })
        })
        .collect();
    points.sort_by(|a, b| (a.written_us, &a.region).cmp(&(b.written_us, &b.region)));
    let lag = regions
        .iter()
        .map(|region| {
            let seen: Vec<u64> = points
                .iter()
                .filter(|p| p.region == *region)
                .map(|p| p.lag_us)
                .collect();
            let stats = RegionLag {
                visible: seen.len() as u64,
                never: canaries.len() as u64 - seen.len() as u64,
                lag: Latency::of(seen),
            };
            (region.to_string(), stats)
        })
        .collect();

    let losses = outages
        .into_iter()
        .map(|(fault, region, lost_us)| {
            let mut unreplicated: Vec<UnreplicatedWrite> = writes
                .iter()
                .filter_map(|((image, digest), w)| {
                    let written_us = *w.by_region.get(&region).filter(|t| **t <= lost_us)?;
                    let elsewhere = w
                        .by_region
                        .iter()
                        .any(|(other, t)| *other != region && *t <= lost_us);
                    (!elsewhere).then(|| UnreplicatedWrite {
                        image: image.clone(),
                        digest: digest.clone(),
                        written_us,
                        age_us: lost_us - written_us,
                    })
                })
                .collect();
            unreplicated.sort_by_key(|u| u.written_us);
            RegionLoss {
                fault,
                region,
                lost_us,
                rpo_us: unreplicated.first().map_or(0, |u| u.age_us),
                unreplicated,
            }
        })
        .collect();

    ReplicationAnalysis {
        mode: replication.mode.name().to_string(),
        primary: replication.primary.clone(),
        canaries: canaries.len() as u64,
        pushes,
        push_failures,
        lag,
        points,
        losses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::region_outage;
    use crate::model::replication::ReplicationMode;

    fn at(t_us: u64, event: Event) -> Record {
        Record { t_us, event }
    }

    fn pushed(t: u64, image: &str, region: &str, origin: PushOrigin, ok: bool) -> Record {
        at(
            t,
            Event::Pushed {
                image: image.into(),
                digest: format!("sha256:{image}"),
                region: region.into(),
                origin,
                ok,
                error: (!ok).then(|| "cannot connect: connection refused".into()),
            },
        )
    }

    fn visible(t: u64, image: &str, region: &str) -> Record {
        at(
            t,
            Event::Visible {
                image: image.into(),
                digest: format!("sha256:{image}"),
                region: region.into(),
            },
        )
    }

    fn async_eu() -> Replication {
        Replication {
            mode: ReplicationMode::Async,
            primary: Some("eu".into()),
            interval: None,
        }
    }

    #[test]
    fn lag_runs_from_the_first_acknowledged_push_to_first_sight() {
        use PushOrigin::*;
        let records = vec![
            pushed(1_000_000, "c1", "eu", Canary, true),
            visible(1_050_000, "c1", "eu"),
            pushed(2_900_000, "c1", "us", Replica, true),
            visible(3_000_000, "c1", "us"),
            pushed(3_000_000, "c2", "eu", Canary, true),
            visible(3_020_000, "c2", "eu"),
            // c2 never reaches us.
        ];
        let a = analyze(&records, &["eu", "us"], &async_eu());
        assert_eq!(a.canaries, 2);
        let us = &a.lag["us"];
        assert_eq!((us.visible, us.never), (1, 1));
        // The replica's acknowledgement at 2.9s counts, before it was seen at 3.0s.
        assert_eq!(us.lag.unwrap().max_us, 1_900_000);
        let eu = &a.lag["eu"];
        assert_eq!((eu.visible, eu.never), (2, 0));
        assert_eq!(eu.lag.unwrap().max_us, 0);
        let us_points: Vec<(u64, u64)> = a
            .points
            .iter()
            .filter(|p| p.region == "us")
            .map(|p| (p.written_us, p.lag_us))
            .collect();
        assert_eq!(us_points, [(1_000_000, 1_900_000)]);
    }

    #[test]
    fn rpo_is_the_age_of_the_oldest_write_only_the_lost_region_held() {
        use PushOrigin::*;
        let records = vec![
            pushed(1_000_000, "c1", "eu", Canary, true),
            pushed(2_000_000, "c1", "us", Replica, true),
            pushed(3_000_000, "c2", "eu", Canary, true),
            pushed(4_000_000, "c3", "eu", Canary, true),
            region_outage(5_000_000, 1, "eu"),
            // Copied after the loss: too late to count.
            pushed(6_000_000, "c3", "us", Replica, true),
            pushed(6_500_000, "c4", "eu", Canary, false),
        ];
        let a = analyze(&records, &["eu", "us"], &async_eu());
        let loss = &a.losses[0];
        assert_eq!((loss.fault, loss.region.as_str()), (1, "eu"));
        let lost: Vec<&str> = loss.unreplicated.iter().map(|u| u.image.as_str()).collect();
        assert_eq!(lost, ["c2", "c3"]);
        assert_eq!(loss.rpo_us, 2_000_000);
        assert_eq!(a.push_failures.len(), 1);
        assert_eq!(a.push_failures[0].image, "c4");
        assert_eq!(a.pushes, 6);
    }

    #[test]
    fn losing_a_replica_region_loses_nothing() {
        use PushOrigin::*;
        let records = vec![
            pushed(1_000_000, "c1", "eu", Canary, true),
            pushed(1_500_000, "c1", "us", Replica, true),
            region_outage(2_000_000, 1, "us"),
        ];
        let a = analyze(&records, &["eu", "us"], &async_eu());
        assert!(a.losses[0].unreplicated.is_empty());
        assert_eq!(a.losses[0].rpo_us, 0);
    }
}
