//! Faults done for real to the run's containers, and their heals. Every injected fault
//! is kept in a [`FaultBook`] until healed, so an abort or Ctrl-C heals what is left,
//! newest first.

use crate::engine::Engine;
use crate::journal::{Event, Journal};
use crate::plan::FaultPlan;
use crate::scenario::FaultKind;
use std::sync::{Arc, Mutex};

/// How each fault is injected, for the report: a refused connection and a dropped
/// packet give very different recovery numbers, so the method is always stated.
pub fn method(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::NodeKill | FaultKind::ZoneOutage => {
            "SIGKILL of the registry containers through the engine API; clients of the dead node see refused or unanswered connections; the containers are started again at heal"
        }
        FaultKind::RegionOutage => {
            "SIGKILL of the region's registry containers and its load balancer through the engine API; its entry point refuses connections; all are started again at heal (nodes first)"
        }
    }
}

/// Faults injected and not yet healed.
#[derive(Clone, Default)]
pub struct FaultBook {
    active: Arc<Mutex<Vec<FaultPlan>>>,
}

impl FaultBook {
    /// Injects a fault and records it. Containers are killed together so a zone or region
    /// goes down at one instant.
    pub async fn inject(
        &self,
        engine: &Engine,
        fault: &FaultPlan,
        journal: &Journal,
    ) -> Result<(), String> {
        // Booked before acting: if the kill half-succeeds, the heal still runs.
        self.active
            .lock()
            .expect("fault book lock")
            .push(fault.clone());
        // Recorded before acting: the kills take a moment and their effects start at once.
        journal.record(Event::FaultInjected {
            fault: fault.id,
            kind: fault.kind,
            target: fault.target.clone(),
            members: fault.containers.clone(),
            regions: fault.regions.clone(),
            method: method(fault.kind).to_string(),
        });
        let kills = fault.containers.iter().map(|c| engine.kill(c));
        let errors: Vec<String> = futures_util::future::join_all(kills)
            .await
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.to_string()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Heals one fault if it is still active. Returns false when the heal failed.
    pub async fn heal(&self, engine: &Engine, id: usize, journal: &Journal) -> bool {
        let fault = {
            let mut active = self.active.lock().expect("fault book lock");
            match active.iter().position(|f| f.id == id) {
                Some(i) => active.remove(i),
                None => return true,
            }
        };
        // In plan order: a region's nodes come back before its load balancer.
        let mut errors = Vec::new();
        for c in &fault.containers {
            if let Err(e) = engine.start(c).await {
                errors.push(e.to_string());
            }
        }
        let ok = errors.is_empty();
        journal.record(Event::FaultHealed {
            fault: fault.id,
            ok,
            error: (!ok).then(|| errors.join("; ")),
        });
        ok
    }

    /// Heals every active fault, newest first. Returns false if any heal failed.
    pub async fn heal_all(&self, engine: &Engine, journal: &Journal) -> bool {
        let ids: Vec<usize> = self
            .active
            .lock()
            .expect("fault book lock")
            .iter()
            .rev()
            .map(|f| f.id)
            .collect();
        let mut ok = true;
        for id in ids {
            ok &= self.heal(engine, id, journal).await;
        }
        ok
    }
}
