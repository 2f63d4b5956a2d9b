//! The one pass over a journal that sorts its events into what the analysis computes
//! from: the run's start and end, the signals faults are judged by, the pulls and cold
//! starts, the faults' injections and heals, the integrity checks, notes and pushes.

use super::recovery::{Healed, Injected, Moved, RanCommand, Signal};
use super::{DataLossCheck, LostImage, NoteEntry, PushCounts, Seeded};
use crate::journal::{ColdStartRecord, Event, Outcome, PullRecord, Record, RunInfo};
use std::collections::{BTreeMap, HashMap};

/// A journal's events by kind, borrowing from its records; every list in time order.
#[derive(Default)]
pub(super) struct Events<'a> {
    pub(super) run: Option<RunInfo>,
    pub(super) outcome: Option<Outcome>,
    /// Probes and pulls.
    pub(super) signals: Vec<Signal<'a>>,
    /// Requests that moved to another mirror, in the order of their pulls.
    pub(super) moved: Vec<Moved<'a>>,
    pub(super) timeline_started_us: Option<u64>,
    /// In the order they were recorded.
    pub(super) pulls: Vec<&'a PullRecord>,
    /// In start order, then by host.
    pub(super) cold_starts: Vec<&'a ColdStartRecord>,
    pub(super) injected: Vec<Injected<'a>>,
    /// Each fault's first heal.
    pub(super) healed: HashMap<usize, Healed<'a>>,
    pub(super) data_loss: DataLossCheck,
    pub(super) seeded: Vec<Seeded>,
    pub(super) notes: Vec<NoteEntry>,
    pub(super) pushes: BTreeMap<String, PushCounts>,
    /// Each push probe: when, to which region, whether it succeeded.
    pub(super) push_events: Vec<(u64, &'a str, bool)>,
}

impl<'a> Events<'a> {
    pub(super) fn from_records(records: &'a [Record]) -> Self {
        let mut events = Events::default();
        for r in records {
            events.add(r);
        }
        // Events are written in the order they were recorded, which concurrent tasks may
        // leave slightly out of time order; the windows the analysis computes need time
        // order.
        events.signals.sort_by_key(|s| s.t_us);
        events.injected.sort_by_key(|f| f.t_us);
        events
            .cold_starts
            .sort_by(|a, b| (a.started_us, &a.host.name).cmp(&(b.started_us, &b.host.name)));
        events
    }

    fn add(&mut self, r: &'a Record) {
        match &r.event {
            Event::RunStarted(info) => self.run = Some((**info).clone()),
            Event::RunFinished { outcome: o } => self.outcome = Some(o.clone()),
            Event::Probe {
                region,
                ok,
                latency_us,
                ..
            } => self.signals.push(Signal {
                t_us: r.t_us,
                region,
                ok: *ok,
                probe: true,
                duration_us: *latency_us,
            }),
            Event::Pull(p) => self.add_pull(r.t_us, p),
            Event::ColdStart(c) => self.cold_starts.push(c),
            Event::FaultInjected {
                fault,
                kind,
                target,
                members,
                regions,
                method,
                manual,
            } => self.injected.push(Injected {
                t_us: r.t_us,
                id: *fault,
                kind: *kind,
                target,
                members,
                regions,
                method,
                manual: *manual,
                failed: None,
                commands: Vec::new(),
            }),
            Event::FaultFailed { fault, error } => {
                if let Some(f) = self.injected.iter_mut().rev().find(|f| f.id == *fault) {
                    f.failed.get_or_insert(error);
                }
            }
            Event::FaultCommand(c) => {
                if let Some(f) = self.injected.iter_mut().rev().find(|f| f.id == c.fault) {
                    f.commands.push(RanCommand {
                        started_us: r.t_us,
                        ran: c.clone(),
                    });
                }
            }
            Event::FaultHealed { fault, ok, error } => {
                self.healed.entry(*fault).or_insert(Healed {
                    t_us: r.t_us,
                    ok: *ok,
                    error: error.as_deref(),
                });
            }
            Event::Verified {
                region,
                image,
                ok,
                error,
                digest,
                violation,
            } => {
                self.data_loss.checked += 1;
                if *ok {
                    self.data_loss.ok += 1;
                } else {
                    self.data_loss.failures.push(LostImage {
                        region: region.clone(),
                        image: image.clone(),
                        error: error.clone(),
                        digest: digest.clone(),
                        violation: *violation,
                    });
                }
            }
            Event::ImageSeeded {
                image,
                region,
                digest,
                bytes,
            } => self.seeded.push(Seeded {
                image: image.clone(),
                region: region.clone(),
                digest: digest.clone(),
                bytes: *bytes,
            }),
            Event::Note { text } => self.notes.push(NoteEntry {
                t_us: r.t_us,
                text: text.clone(),
            }),
            Event::TimelineStarted => {
                self.timeline_started_us.get_or_insert(r.t_us);
            }
            // The modules they are for (refused, replication, proxy, auth) read these from
            // the records themselves; the topology's start is in no analysis.
            Event::TopologyUp { .. }
            | Event::FaultRefused { .. }
            | Event::Pushed { .. }
            | Event::Visible { .. }
            | Event::ProxyWarmed { .. }
            | Event::ProxyCheck(_)
            | Event::AuthProbe { .. } => {}
            Event::Push { region, ok, .. } => {
                self.push_events.push((r.t_us, region.as_str(), *ok));
                let counts = self.pushes.entry(region.clone()).or_default();
                counts.pushes += 1;
                counts.failed += u64::from(!ok);
            }
        }
    }

    /// A pull is a signal too, and each request it moved to another mirror a move.
    fn add_pull(&mut self, t_us: u64, p: &'a PullRecord) {
        self.signals.push(Signal {
            t_us,
            region: &p.host.region,
            ok: p.ok,
            probe: false,
            duration_us: p.duration_us,
        });
        // When the client does not say when a request failed, the pull's end is the
        // latest it can have been.
        self.moved.extend(p.moves.iter().map(|m| Moved {
            t_us: m.after_us.map_or(t_us, |after| p.started_us + after),
            mirror: &m.mirror,
        }));
        self.pulls.push(p);
    }
}
