//! Warnings about faults that may meet: one that lasts past the end of the run, and one
//! that may act on a part another fault holds at the time (it would be refused then).

use super::target::part_name;
use crate::model::kinds::FaultKind;
use crate::model::units::Span;
use crate::scenario::names::{Names, Part};
use crate::scenario::{Problem, Scenario};
use std::collections::BTreeSet;
use std::time::Duration;

/// A fault's window, its parts and how to name it.
struct Window {
    from: Duration,
    until: Duration,
    parts: BTreeSet<Part>,
    what: String,
}

pub(super) fn warnings(s: &Scenario, names: &Names, w: &mut Vec<Problem>) {
    let end = s.duration.value.0;
    let mut windows: Vec<Window> = Vec::new();
    for (i, (st, fault)) in s.timeline.iter().zip(super::of_with(s, names)).enumerate() {
        let step = &st.value;
        let Some(fault) = fault else { continue };
        let lasts = step.duration.map_or(Duration::ZERO, |d| d.0);
        let until = step.at.0.saturating_add(lasts);
        if until > end {
            w.push(Problem::new(
                0,
                0,
                format!("timeline[{i}].for"),
                format!(
                    "the fault lasts past the end of the run ({} + {} > duration {}): it is \
                     healed when the run ends, at {}",
                    step.at,
                    Span(lasts),
                    s.duration.value,
                    s.duration.value
                ),
            ));
        }
        // Everything it may act on: every match of a `pick`.
        let parts: BTreeSet<Part> = fault.reach(s).members.into_iter().map(|m| m.part).collect();
        let what = format!(
            "timeline[{i}] ({} {}, {}–{})",
            fault.kind().name(),
            match (&step.target, fault.kind()) {
                (Some(t), _) => t.clone(),
                (None, FaultKind::Partition) => "groups".into(),
                (None, FaultKind::Exec | FaultKind::External) => fault.written(),
                (None, _) => "upstream".into(),
            },
            step.at,
            Span(until)
        );
        if let Some(other) = windows
            .iter()
            .find(|o| step.at.0 <= o.until && o.from <= until && !o.parts.is_disjoint(&parts))
        {
            let shared: Vec<String> = other.parts.intersection(&parts).map(part_name).collect();
            w.push(Problem::new(
                0,
                0,
                format!("timeline[{i}]"),
                format!(
                    "may act on {} while {} holds {}: a part one fault holds is not \
                     faulted again, so this fault would be refused when its time comes",
                    shared.join(", "),
                    other.what,
                    if shared.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
        windows.push(Window {
            from: step.at.0,
            until,
            parts,
            what,
        });
    }
}
