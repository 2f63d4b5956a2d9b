//! Replication between regions while a run goes: the ledger of every write and the
//! regions that acknowledged it (what the integrity check holds each region to), the
//! async replicator that copies from the primary, and the canaries whose first
//! appearance in each region measures the replication lag.

use crate::fixtures::{self, TestImage};
use crate::journal::{Event, Journal, PushOrigin};
use crate::oci::{self, OciError};
use crate::plan::{ImagePlan, Plan};
use crate::scenario::{Replication, ReplicationMode, DEFAULT_REPLICATION_INTERVAL};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Repository of the canary images; each canary has its own tag.
pub const CANARY_REPOSITORY: &str = "drill/canary";
/// How often a region is first asked whether a canary has reached it: the resolution
/// of a short lag. The wait grows by a quarter each time, up to [`VISIBILITY_POLL_MAX`],
/// so canaries a region never gets do not flood it.
const VISIBILITY_POLL: Duration = Duration::from_millis(100);
const VISIBILITY_POLL_MAX: Duration = Duration::from_secs(1);

/// Why the replicator did not copy a write to a region.
#[derive(Debug, thiserror::Error)]
enum CopyError {
    /// The primary's tag resolves to another digest than the one last pushed.
    #[error("{primary} serves {served} for the tag, not the {pushed} pushed")]
    TagMoved {
        primary: String,
        served: String,
        pushed: String,
    },
    /// The image could not be read from the primary (once for every region lacking it).
    #[error("reading from {primary}: {source}")]
    Read {
        primary: String,
        #[source]
        source: Arc<OciError>,
    },
    #[error(transparent)]
    Push(OciError),
}

/// One write: the digest last pushed to a tag, and the regions that acknowledged it.
#[derive(Debug, Clone)]
pub struct Write {
    pub reference: String,
    pub digest: String,
    pub regions: BTreeSet<String>,
}

/// Every write of the run, in order. Shared by the seeding, the canaries and the
/// replicator; read by the integrity check at the end.
#[derive(Clone, Default)]
pub struct Ledger(Arc<Mutex<Vec<Write>>>);

impl Ledger {
    /// `region` acknowledged `digest` for `reference`. A new digest for a known tag
    /// replaces the old one: from then on the tag must resolve to the new one.
    pub fn acknowledged(&self, reference: &str, digest: &str, region: &str) {
        let mut writes = self.0.lock().expect("ledger lock");
        match writes.iter_mut().find(|w| w.reference == reference) {
            Some(w) if w.digest == digest => {
                w.regions.insert(region.to_string());
            }
            Some(w) => {
                w.digest = digest.to_string();
                w.regions = BTreeSet::from([region.to_string()]);
            }
            None => writes.push(Write {
                reference: reference.to_string(),
                digest: digest.to_string(),
                regions: BTreeSet::from([region.to_string()]),
            }),
        }
    }

    pub fn writes(&self) -> Vec<Write> {
        self.0.lock().expect("ledger lock").clone()
    }
}

/// The replicator and the canaries, and where they reach the regions.
#[derive(Clone)]
pub struct Replicator {
    pub replication: Replication,
    pub interval: Duration,
    pub regions: Vec<String>,
    pub entry_points: HashMap<String, String>,
    /// The run's CA and credentials, for secure topologies.
    pub access: oci::Access,
    pub journal: Journal,
    pub ledger: Ledger,
    pub seed: u64,
}

impl Replicator {
    pub fn new(
        plan: &Plan,
        entry_points: &HashMap<String, String>,
        access: &oci::Access,
        journal: &Journal,
        ledger: &Ledger,
    ) -> Replicator {
        Replicator {
            replication: plan.replication.clone(),
            interval: plan
                .replication
                .interval
                .map_or(DEFAULT_REPLICATION_INTERVAL, |i| i.0),
            regions: plan.region_names(),
            entry_points: entry_points.clone(),
            access: access.clone(),
            journal: journal.clone(),
            ledger: ledger.clone(),
            // An external registry keeps the canaries of earlier runs: each run's own
            // content, so none is already there when it is pushed.
            seed: match &plan.external {
                Some(_) => plan.seed ^ u64::from_str_radix(&plan.run_id, 16).unwrap_or_default(),
                None => plan.seed,
            },
        }
    }

    /// The regions a canary is pushed to: the primary, or every region.
    fn push_targets(&self) -> Vec<String> {
        self.regions
            .iter()
            .filter(|r| self.replication.pushes_to(r))
            .cloned()
            .collect()
    }

    /// One replicator pass: every write the primary acknowledged is copied, from the
    /// primary, to each region that lacks it. Returns the copies that failed. A copy
    /// reads the primary through the registry API, as a real replicator does: while
    /// the primary is down nothing is copied.
    pub async fn replicate_once(&self) -> Vec<String> {
        let Some(primary) = &self.replication.primary else {
            return Vec::new();
        };
        let client = oci::client(
            Duration::from_secs(1),
            Duration::from_secs(10),
            &self.access,
        );
        let source = &self.entry_points[primary];
        let mut failures = Vec::new();
        for w in self.ledger.writes() {
            if !w.regions.contains(primary) {
                continue;
            }
            let lacking: Vec<&String> = self
                .regions
                .iter()
                .filter(|r| !w.regions.contains(*r))
                .collect();
            if lacking.is_empty() {
                continue;
            }
            let image = oci::fetch_image(&client, source, &w.reference)
                .await
                .map_err(Arc::new);
            for region in lacking {
                let result = match &image {
                    Ok(img) if img.manifest.digest != w.digest => Err(CopyError::TagMoved {
                        primary: primary.clone(),
                        served: img.manifest.digest.clone(),
                        pushed: w.digest.clone(),
                    }),
                    Ok(img) => oci::push(&client, &self.entry_points[region], img)
                        .await
                        .map_err(CopyError::Push),
                    Err(e) => Err(CopyError::Read {
                        primary: primary.clone(),
                        source: e.clone(),
                    }),
                };
                self.record_push(
                    &w.reference,
                    &w.digest,
                    region,
                    PushOrigin::Replica,
                    &result,
                );
                if let Err(e) = result {
                    failures.push(format!("{} to {region}: {e}", w.reference));
                }
            }
        }
        failures
    }

    fn record_push(
        &self,
        reference: &str,
        digest: &str,
        region: &str,
        origin: PushOrigin,
        result: &Result<(), impl std::fmt::Display>,
    ) {
        if result.is_ok() {
            self.ledger.acknowledged(reference, digest, region);
        }
        self.journal.record(Event::Pushed {
            image: reference.to_string(),
            digest: digest.to_string(),
            region: region.to_string(),
            origin,
            ok: result.is_ok(),
            error: result.as_ref().err().map(ToString::to_string),
        });
    }

    /// Starts the replicator (mode `async`) and the canaries (when declared) in `tasks`;
    /// both stop when `stop` is cancelled.
    pub fn spawn(
        &self,
        tasks: &mut JoinSet<()>,
        canaries: Option<(Duration, u64)>,
        stop: &CancellationToken,
    ) {
        if self.replication.mode == ReplicationMode::Async {
            let (me, stop) = (self.clone(), stop.clone());
            tasks.spawn(async move {
                let mut tick = tokio::time::interval(me.interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => { me.replicate_once().await; }
                        _ = stop.cancelled() => return,
                    }
                }
            });
        }
        if let Some((every, size)) = canaries {
            let (me, stop) = (self.clone(), stop.clone());
            tasks.spawn(async move { me.canaries(every, size, stop).await });
        }
    }

    /// Pushes one canary every `every` and watches every region for each.
    async fn canaries(self, every: Duration, size: u64, stop: CancellationToken) {
        let mut inflight = JoinSet::new();
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        for n in 1.. {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => break,
            }
            let canary = fixtures::generate(
                &ImagePlan::generated(format!("{CANARY_REPOSITORY}:c{n:04}"), vec![size]),
                self.seed,
            );
            let (me, stop) = (self.clone(), stop.clone());
            inflight.spawn(async move { me.canary(canary, stop).await });
        }
        inflight.shutdown().await;
    }

    async fn canary(self, image: TestImage, stop: CancellationToken) {
        let reference = format!("{}:{}", image.repository, image.tag);
        let digest = image.manifest.digest.clone();
        let client = oci::client(Duration::from_secs(1), Duration::from_secs(5), &self.access);
        let pushes = self.push_targets().into_iter().map(|region| {
            let (client, image) = (&client, &image);
            let base = self.entry_points[&region].clone();
            async move { (region, oci::push(client, &base, image).await) }
        });
        for (region, result) in futures_util::future::join_all(pushes).await {
            self.record_push(&reference, &digest, &region, PushOrigin::Canary, &result);
        }
        let watches = self.regions.iter().map(|region| {
            let (client, reference, digest, journal) =
                (&client, &reference, &digest, &self.journal);
            let base = &self.entry_points[region];
            async move {
                let mut wait = VISIBILITY_POLL;
                while oci::resolve(client, base, reference).await.as_deref() != Some(digest) {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 5 / 4).min(VISIBILITY_POLL_MAX);
                }
                journal.record(Event::Visible {
                    image: reference.clone(),
                    digest: digest.clone(),
                    region: region.clone(),
                });
            }
        });
        tokio::select! {
            _ = futures_util::future::join_all(watches) => {}
            _ = stop.cancelled() => {}
        }
    }
}

/// Each write and the regions expected to hold it, as the integrity check walks them:
/// region → writes, in region order.
pub fn expected_holdings(writes: &[Write]) -> BTreeMap<String, Vec<&Write>> {
    let mut by_region: BTreeMap<String, Vec<&Write>> = BTreeMap::new();
    for w in writes {
        for r in &w.regions {
            by_region.entry(r.clone()).or_default().push(w);
        }
    }
    by_region
}
