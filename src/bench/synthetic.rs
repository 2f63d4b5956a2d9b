//! A synthetic journal of a given number of events, shaped like a long run: probes of
//! two regions, cold starts and their pulls (every phase recorded), and faults during
//! which probes and pulls fail. `drill bench` times `drill report` on it.

use crate::journal::{
    ColdStartRecord, EntryPoint, Event, HostId, MirrorMove, MoveReason, Outcome, Phase, PhaseKind,
    PullRecord, Record, RunInfo,
};
use crate::scenario::{FaultKind, HostKind, Sla};
use std::io::Write;
use std::path::Path;

const REGIONS: [&str; 2] = ["eu", "us"];
const HOSTS_PER_REGION: usize = 500;
/// Time between two events: 1,000,000 events cover about 17 minutes.
const STEP_US: u64 = 1_000;
const FAULTS: u64 = 4;

/// Writes `events` events (plus the run's first and last) as `journal.jsonl` lines to
/// `path`; returns the bytes written.
pub fn write(path: &Path, events: usize, sla: Sla) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut bytes = 0u64;
    let end_us = events as u64 * STEP_US;
    // Faults at 1/5, 2/5, ... of the run, each lasting 1/100 of it.
    let fault_at = |k: u64| end_us * (k + 1) / (FAULTS + 1);
    let fault_len = end_us / 100;
    let in_fault = |t: u64| (0..FAULTS).find(|&k| t >= fault_at(k) && t < fault_at(k) + fault_len);
    let mut line = |t_us: u64, event: Event| -> std::io::Result<()> {
        let s = serde_json::to_string(&Record { t_us, event })?;
        bytes += s.len() as u64 + 1;
        out.write_all(s.as_bytes())?;
        out.write_all(b"\n")
    };
    for event in start(end_us, sla) {
        line(0, event)?;
    }
    let mut faults_done = 0;
    for i in 0..events as u64 {
        let t = i * STEP_US;
        while faults_done < FAULTS && t >= fault_at(faults_done) {
            line(t, injected(faults_done))?;
            faults_done += 1;
        }
        line(t, step(i, in_fault(t).is_some()))?;
        if let Some(k) = in_fault(t) {
            if in_fault(t + STEP_US) != Some(k) {
                line(
                    t,
                    Event::FaultHealed {
                        fault: k as usize + 1,
                        ok: true,
                        error: None,
                    },
                )?;
            }
        }
    }
    line(
        end_us,
        Event::RunFinished {
            outcome: Outcome::Completed,
        },
    )?;
    out.flush()?;
    Ok(bytes)
}

/// The run's start: its facts and SLA, the topology up and the timeline started.
fn start(end_us: u64, sla: Sla) -> [Event; 3] {
    [
        Event::RunStarted(Box::new(RunInfo {
            format: crate::journal::FORMAT_VERSION,
            run_id: "synthetic".into(),
            scenario: "bench-analysis".into(),
            description: "synthetic journal written by drill bench".into(),
            seed: 1,
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_us: end_us,
            probe_interval_us: 100_000,
            regions: REGIONS.map(String::from).to_vec(),
            sla,
            replication: Default::default(),
            proxies: Default::default(),
            external: false,
        })),
        Event::TopologyUp {
            containers: 6,
            entry_points: REGIONS
                .iter()
                .map(|r| EntryPoint {
                    region: r.to_string(),
                    url: "http://127.0.0.1:5000".into(),
                })
                .collect(),
            took_us: 1_000_000,
        },
        Event::TimelineStarted,
    ]
}

/// The `k`-th fault (from 0): always the same zone outage.
fn injected(k: u64) -> Event {
    Event::FaultInjected {
        fault: k as usize + 1,
        kind: FaultKind::ZoneOutage,
        target: "eu-a".into(),
        members: vec!["drill-synthetic-eu-a-1".into()],
        regions: vec!["eu".into()],
        method: "SIGKILL".into(),
        manual: false,
    }
}

/// The `i`-th event, `faulty` while a fault lasts: mostly probes, as in a real run, then
/// pulls and cold starts. The regions take turns.
fn step(i: u64, faulty: bool) -> Event {
    let region = REGIONS[(i % 2) as usize];
    match i % 10 {
        0..=6 => probe(i, region, faulty),
        7 | 8 => pull(i, host(i, region), faulty),
        _ => cold_start(i, host(i, region), faulty),
    }
}

/// The host of region `region` the `i`-th event is of.
fn host(i: u64, region: &str) -> HostId {
    HostId {
        name: format!(
            "fleet-{region}-{region}-a-{}",
            (i / 2) % HOSTS_PER_REGION as u64
        ),
        fleet: format!("fleet-{region}"),
        kind: HostKind::Native,
        region: region.into(),
        zone: format!("{region}-a"),
        wave: 1 + (i / 10_000) as usize,
    }
}

/// A probe; eu's fail while a fault lasts.
fn probe(i: u64, region: &str, faulty: bool) -> Event {
    Event::Probe {
        region: region.into(),
        ok: !(faulty && region == "eu"),
        latency_us: 800 + i % 700,
        error: (faulty && region == "eu").then(|| "cannot connect: connection refused".into()),
    }
}

/// A pull with every phase recorded; while a fault lasts it fails after a mirror move.
fn pull(i: u64, host: HostId, faulty: bool) -> Event {
    let t = i * STEP_US;
    let region = host.region.clone();
    Event::Pull(PullRecord {
        host,
        image: "team/app:1".into(),
        ok: !faulty,
        started_us: t.saturating_sub(400_000),
        duration_us: 400_000 + (i * 7919) % 300_000,
        error: faulty.then(|| "manifest /v2/team/app/manifests/1: eu: HTTP 503".into()),
        mirror_moves: u32::from(faulty),
        moves: faulty
            .then(|| MirrorMove {
                mirror: region.clone(),
                phase: Some(PhaseKind::Manifest),
                after_us: Some(1_000),
                reason: MoveReason::Status(503),
            })
            .into_iter()
            .collect(),
        http_errors: Default::default(),
        phases: [PhaseKind::Manifest, PhaseKind::Config, PhaseKind::Layer]
            .into_iter()
            .map(|phase| Phase {
                phase,
                digest: format!("sha256:{:064x}", i % 3),
                endpoint: region.clone(),
                ttfb_us: 1_000 + i % 500,
                duration_us: 20_000 + (i * 31) % 100_000,
                bytes: 1 << 20,
            })
            .collect(),
    })
}

/// A cold start that succeeds, on a second attempt while a fault lasts.
fn cold_start(i: u64, host: HostId, faulty: bool) -> Event {
    let t = i * STEP_US;
    Event::ColdStart(ColdStartRecord {
        host,
        ok: true,
        started_us: t.saturating_sub(900_000),
        duration_us: 900_000 + (i * 104_729) % 600_000,
        attempts: 1 + u32::from(faulty),
        failed_attempts: u32::from(faulty),
        interrupted: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_reads_back_with_every_event_and_its_faults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let bytes = write(&path, 20_000, Sla::default()).unwrap();
        assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
        let loaded = crate::journal::read(&path).unwrap();
        assert!(!loaded.truncated);
        // 20,000 events, 3 at the start, 4 faults injected and healed, the end.
        assert_eq!(loaded.records.len(), 20_000 + 3 + 8 + 1);
        let s = crate::report::summarize(&loaded.records, false);
        assert_eq!(s.analysis.faults.len(), 4);
        assert!(s
            .analysis
            .faults
            .iter()
            .all(|f| f.disruption_us.unwrap() > 0));
        assert_eq!(s.analysis.cold_starts.points.len(), 2_000);
    }
}
