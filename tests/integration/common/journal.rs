//! The journal as the tests read it: typed events holding only the fields tests look at
//! (serde skips the rest). A field renamed or retyped in the journal fails to parse here
//! instead of quietly comparing `null` with what a test expected.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RunStarted(RunStarted),
    TopologyUp(TopologyUp),
    ImageSeeded(ImageSeeded),
    TimelineStarted(TimelineStarted),
    Probe(Probe),
    AuthProbe(AuthProbe),
    Push(Push),
    Pull(Pull),
    ColdStart(ColdStart),
    FaultInjected(FaultInjected),
    FaultRefused(FaultRefused),
    FaultHealed(FaultHealed),
    RunFinished(RunFinished),
    /// A kind no test reads.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct RunStarted {
    pub run_id: String,
}

#[derive(Debug, Deserialize)]
pub struct TopologyUp {
    pub entry_points: Vec<EntryPoint>,
}

#[derive(Debug, Deserialize)]
pub struct EntryPoint {
    pub url: String,
}

#[derive(Debug, Deserialize)]
pub struct ImageSeeded {
    pub bytes: u64,
}

#[derive(Debug, Deserialize)]
pub struct TimelineStarted {
    pub t_us: u64,
}

#[derive(Debug, Deserialize)]
pub struct Probe {
    pub t_us: u64,
    pub region: String,
    pub ok: bool,
    pub latency_us: u64,
    pub error: Option<String>,
}

impl Probe {
    /// When the probe got its answer (or gave up), µs into the run: probes are stamped
    /// when sent, so one sent just before a fault may fail because of it.
    pub fn answered_us(&self) -> u64 {
        self.t_us + self.latency_us
    }
}

#[derive(Debug, Deserialize)]
pub struct AuthProbe {
    pub t_us: u64,
    pub region: String,
    pub claim: String,
    /// Absent when the entry point did not answer.
    pub status: Option<u16>,
    pub served: bool,
}

/// A push probe, stamped when the push ended.
#[derive(Debug, Deserialize)]
pub struct Push {
    pub t_us: u64,
    pub region: String,
    pub ok: bool,
    pub latency_us: u64,
}

#[derive(Debug, Deserialize)]
pub struct Pull {
    pub kind: String,
    pub fleet: String,
    pub region: String,
    pub wave: u64,
    pub ok: bool,
    pub started_us: u64,
    pub duration_us: u64,
    pub error: Option<String>,
    pub mirror_moves: u64,
    #[serde(default)]
    pub moves: Vec<MirrorMove>,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Deserialize)]
pub struct MirrorMove {
    pub mirror: String,
    /// `timeout`, `digest_mismatch`… or `{"status": 503}`.
    pub reason: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub struct Phase {
    pub endpoint: String,
    pub ttfb_us: u64,
}

#[derive(Debug, Deserialize)]
pub struct ColdStart {
    pub kind: String,
    pub fleet: String,
    pub wave: u64,
    pub ok: bool,
    pub started_us: u64,
    pub duration_us: u64,
    pub attempts: u64,
    /// Absent when none failed.
    #[serde(default)]
    pub failed_attempts: u64,
    /// `restarted` or `run_ended`; absent when nothing interrupted it.
    pub interrupted: Option<String>,
}

impl ColdStart {
    pub fn ended_us(&self) -> u64 {
        self.started_us + self.duration_us
    }
}

#[derive(Debug, Deserialize)]
pub struct FaultInjected {
    pub t_us: u64,
    pub fault: u64,
    pub kind: String,
    pub target: String,
    pub members: Vec<String>,
    pub method: String,
    /// Absent for the timeline's faults.
    #[serde(default)]
    pub manual: bool,
}

#[derive(Debug, Deserialize)]
pub struct FaultRefused {
    pub fault: u64,
    pub active: u64,
    #[serde(default)]
    pub manual: bool,
}

#[derive(Debug, Deserialize)]
pub struct FaultHealed {
    pub t_us: u64,
    pub fault: u64,
    pub ok: bool,
}

#[derive(Debug, Deserialize)]
pub struct RunFinished {
    pub outcome: Outcome,
}

#[derive(Debug, Deserialize)]
pub struct Outcome {
    /// `completed` or `aborted`.
    pub status: String,
}

/// One accessor per kind, each giving that kind's events in the journal's order.
macro_rules! kinds {
    ($($name:ident: $variant:ident,)*) => {
        pub trait Kinds {
            $(fn $name(&self) -> Vec<&$variant>;)*
        }
        impl Kinds for [Event] {
            $(fn $name(&self) -> Vec<&$variant> {
                self.iter()
                    .filter_map(|e| match e {
                        Event::$variant(x) => Some(x),
                        _ => None,
                    })
                    .collect()
            })*
        }
    };
}

kinds! {
    topology_up: TopologyUp,
    image_seeded: ImageSeeded,
    timeline_started: TimelineStarted,
    probes: Probe,
    auth_probes: AuthProbe,
    pushes: Push,
    pulls: Pull,
    cold_starts: ColdStart,
    injected: FaultInjected,
    refused: FaultRefused,
    healed: FaultHealed,
}

/// A run folder's journal, every line parsed.
pub fn read(dir: &std::path::Path) -> Vec<Event> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .expect("journal.jsonl written")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("journal line {l}: {e}")))
        .collect()
}
