//! Faults refused rather than injected: each would have acted on containers an active
//! fault held, so nothing was done. Every report lists them with the reason, so the
//! record of a run or a game day says which fault did not happen and why.

use crate::journal::{origin, Event, Record};
use crate::model::kinds::FaultKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RefusedFault {
    pub id: usize,
    /// The fault's kind, e.g. `zone-outage`.
    #[schemars(with = "String")]
    pub kind: FaultKind,
    pub target: String,
    /// Asked for by hand during a game day (`drill inject`), not by the timeline.
    pub manual: bool,
    pub refused_us: u64,
    /// The active fault it overlapped.
    pub active: usize,
    /// The containers both would have acted on.
    pub shared: Vec<String>,
    /// Why, in words, as every report shows it.
    pub reason: String,
}

/// Every refused fault, in time order.
pub fn refused(records: &[Record]) -> Vec<RefusedFault> {
    // A fault is booked before its injection is recorded, so the fault a refusal names
    // may come later in the journal.
    let injected: HashMap<usize, (FaultKind, &str, bool)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::FaultInjected {
                fault,
                kind,
                target,
                manual,
                ..
            } => Some((*fault, (*kind, target.as_str(), *manual))),
            _ => None,
        })
        .collect();
    let mut out: Vec<RefusedFault> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::FaultRefused {
                fault,
                kind,
                target,
                manual,
                active,
                shared,
            } => {
                let held = match injected.get(active) {
                    Some((kind, target, manual)) => format!(
                        "fault #{active} ({} {target}, {})",
                        kind.name(),
                        origin(*manual)
                    ),
                    None => format!("fault #{active}"),
                };
                Some(RefusedFault {
                    id: *fault,
                    kind: *kind,
                    target: target.clone(),
                    manual: *manual,
                    refused_us: r.t_us,
                    active: *active,
                    shared: shared.clone(),
                    reason: format!(
                        "it would have acted on {}, which {held} held, and the heal of one would \
                         have undone the other; nothing was done",
                        shared.join(", ")
                    ),
                })
            }
            _ => None,
        })
        .collect();
    out.sort_by_key(|f| f.refused_us);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::{inject, rec};

    #[test]
    fn a_refusal_names_the_fault_that_held_its_containers() {
        let mut holder = inject(3_000_000, 2, "eu-a", &["eu"]);
        if let Event::FaultInjected { manual, .. } = &mut holder.event {
            *manual = true;
        }
        let records = vec![
            // Booked first, recorded once its sidecars were up: after the refusal.
            rec(
                2_000_000,
                Event::FaultRefused {
                    fault: 1,
                    kind: FaultKind::Kill,
                    target: "eu-a-1".into(),
                    manual: false,
                    active: 2,
                    shared: vec!["drill-0badcafe-eu-a-1".into()],
                },
            ),
            holder,
        ];
        let refused = refused(&records);
        assert_eq!(refused.len(), 1);
        let r = &refused[0];
        assert_eq!(
            (r.id, r.active, r.manual, r.refused_us),
            (1, 2, false, 2_000_000)
        );
        assert_eq!(
            r.reason,
            "it would have acted on drill-0badcafe-eu-a-1, which fault #2 (zone-outage eu-a, \
             manual) held, and the heal of one would have undone the other; nothing was done"
        );
    }
}
