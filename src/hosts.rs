//! Native container hosts: many simulated hosts in one process. A cold start gives a host
//! a fresh connection pool and an empty cache, then pulls its whole image list through
//! its mirrors, retrying a failed pull after a back-off until it succeeds or the run ends.

use crate::guardrails::Guardrail;
use crate::journal::{ColdStartRecord, Event, Journal, PullRecord};
use crate::oci::{self, Mirror};
use crate::plan::HostPlan;
use crate::scenario::Probes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Every native host of the run, and the cold starts in flight.
pub struct Fleet {
    hosts: Vec<Arc<HostPlan>>,
    /// Region name → entry point.
    entry_points: HashMap<String, String>,
    journal: Journal,
    /// Cancelled when the run ends: unfinished cold starts are recorded as failed.
    run_end: CancellationToken,
    /// Per host, cancelled when a later wave restarts that host.
    restarts: Vec<Option<CancellationToken>>,
    tasks: JoinSet<()>,
}

impl Fleet {
    pub fn new(
        hosts: &[HostPlan],
        entry_points: HashMap<String, String>,
        journal: Journal,
    ) -> Fleet {
        Fleet {
            hosts: hosts.iter().cloned().map(Arc::new).collect(),
            entry_points,
            journal,
            run_end: CancellationToken::new(),
            restarts: vec![None; hosts.len()],
            tasks: JoinSet::new(),
        }
    }

    /// Restarts the given hosts at once (the thundering herd of a DR event). A host still
    /// busy with an earlier cold start abandons it.
    pub fn cold_start(&mut self, wave: usize, host_indexes: &[usize]) {
        for &i in host_indexes {
            if let Some(previous) = self.restarts[i].take() {
                previous.cancel();
            }
            let restart = CancellationToken::new();
            self.restarts[i] = Some(restart.clone());
            let host = self.hosts[i].clone();
            let mirrors: Vec<Mirror> = host
                .mirrors
                .iter()
                .filter_map(|r| {
                    self.entry_points.get(r).map(|base| Mirror {
                        region: r.clone(),
                        base: base.clone(),
                    })
                })
                .collect();
            let journal = self.journal.clone();
            let run_end = self.run_end.clone();
            self.tasks.spawn(async move {
                let stop = Stop { restart, run_end };
                if let Some(record) = cold_start(&host, &mirrors, wave, &journal, &stop).await {
                    journal.record(Event::ColdStart(record));
                }
            });
        }
    }

    /// Ends the run for every host: cold starts still going are recorded as failed.
    pub async fn stop(mut self) {
        self.run_end.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

struct Stop {
    restart: CancellationToken,
    run_end: CancellationToken,
}

enum Interrupted {
    /// A later wave restarted the host: its new cold start is the one measured.
    Restarted,
    /// The run ended first: the cold start failed.
    RunEnded,
}

impl Stop {
    /// Runs `work` unless the host is restarted or the run ends first.
    async fn guard<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T, Interrupted> {
        tokio::select! {
            v = work => Ok(v),
            _ = self.restart.cancelled() => Err(Interrupted::Restarted),
            _ = self.run_end.cancelled() => Err(Interrupted::RunEnded),
        }
    }
}

/// One host's cold start. Returns None when a later wave superseded it.
async fn cold_start(
    host: &HostPlan,
    mirrors: &[Mirror],
    wave: usize,
    journal: &Journal,
    stop: &Stop,
) -> Option<ColdStartRecord> {
    let started = Instant::now();
    let mut record = ColdStartRecord {
        host: host.name.clone(),
        fleet: host.fleet.clone(),
        region: host.region.clone(),
        zone: host.zone.clone(),
        wave,
        ok: false,
        started_us: journal.offset_us(started),
        duration_us: 0,
        attempts: 0,
    };
    // A fresh pool: a restarted host has no warm connections.
    let client = oci::client(host.timeouts.connect.0, host.timeouts.request.0);
    for image in &host.pull {
        loop {
            record.attempts += 1;
            let pull_started = Instant::now();
            let outcome = match stop
                .guard(oci::pull(&client, mirrors, image, host.parallel_layers))
                .await
            {
                Ok(o) => o,
                Err(Interrupted::Restarted) => return None,
                Err(Interrupted::RunEnded) => {
                    record.duration_us = started.elapsed().as_micros() as u64;
                    return Some(record);
                }
            };
            let ok = outcome.ok();
            journal.record(Event::Pull(PullRecord {
                host: host.name.clone(),
                fleet: host.fleet.clone(),
                region: host.region.clone(),
                zone: host.zone.clone(),
                wave,
                image: image.clone(),
                ok,
                started_us: journal.offset_us(pull_started),
                duration_us: pull_started.elapsed().as_micros() as u64,
                error: outcome.error,
                fallbacks: outcome.fallbacks,
                phases: outcome.phases,
            }));
            if ok {
                break;
            }
            match stop.guard(tokio::time::sleep(host.retry_backoff)).await {
                Ok(()) => {}
                Err(Interrupted::Restarted) => return None,
                Err(Interrupted::RunEnded) => {
                    record.duration_us = started.elapsed().as_micros() as u64;
                    return Some(record);
                }
            }
        }
    }
    record.ok = true;
    record.duration_us = started.elapsed().as_micros() as u64;
    Some(record)
}

/// Probes every region's entry point with `GET /v2/` until `stop` is cancelled; each
/// result goes to the journal and to the guardrail, if any.
pub fn spawn_probes(
    entry_points: &HashMap<String, String>,
    probes: &Probes,
    journal: &Journal,
    guard: Option<Guardrail>,
    stop: &CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for (region, base) in entry_points {
        let (region, base, journal, stop, guard) = (
            region.clone(),
            base.clone(),
            journal.clone(),
            stop.clone(),
            guard.clone(),
        );
        let (interval, timeout) = (probes.interval.0, probes.timeout.0);
        set.spawn(async move {
            let client = oci::client(timeout, timeout);
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => return,
                }
                let started = Instant::now();
                let result = oci::probe(&client, &base).await;
                if let Some(g) = &guard {
                    g.observe(&region, result.is_ok(), Instant::now());
                }
                journal.record(Event::Probe {
                    region: region.clone(),
                    ok: result.is_ok(),
                    latency_us: started.elapsed().as_micros() as u64,
                    error: result.err(),
                });
            }
        });
    }
    set
}
