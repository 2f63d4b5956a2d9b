//! The run's history: one JSON event per line in `journal.jsonl`, appended as the run
//! goes. Analysis and reports read only this file, so a crashed run keeps what it measured
//! and `drill report` can re-render any run.

use crate::error::{DrillError, SetupContext};
use crate::live::LiveStats;
use crate::scenario::{FaultKind, HostKind, Sla};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;

/// Version of the journal format, written in `run_started`.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Microseconds since the run started.
    pub t_us: u64,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RunStarted(RunInfo),
    TopologyUp {
        containers: usize,
        entry_points: Vec<EntryPoint>,
        took_us: u64,
    },
    ImageSeeded {
        image: String,
        region: String,
        digest: String,
        bytes: u64,
    },
    /// The first fault, if any, may be injected: probes have been recorded until now.
    TimelineStarted,
    Probe {
        region: String,
        ok: bool,
        latency_us: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// One attempt by one host to pull one image.
    Pull(PullRecord),
    /// One host's cold start: every image of its list pulled, retrying failed pulls.
    ColdStart(ColdStartRecord),
    FaultInjected {
        fault: usize,
        kind: FaultKind,
        target: String,
        /// The containers the fault acted on.
        members: Vec<String>,
        /// Regions whose entry points or nodes the fault touches.
        regions: Vec<String>,
        /// How the fault was injected, for the report.
        method: String,
    },
    /// Stamped when the heal began, as `fault_injected` is when the injection began.
    FaultHealed {
        fault: usize,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// After the timeline: one seeded image pulled back from one region and verified.
    Verified {
        region: String,
        image: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A note written during a game day (`drill note`).
    Note {
        text: String,
    },
    RunFinished {
        /// `completed`, or why the run stopped early.
        outcome: Outcome,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RunInfo {
    pub format: u32,
    pub run_id: String,
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    /// Wall-clock start, RFC 3339.
    pub started_at: String,
    pub duration_us: u64,
    pub probe_interval_us: u64,
    pub regions: Vec<String>,
    pub sla: Sla,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EntryPoint {
    pub region: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Aborted { reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PullRecord {
    pub host: String,
    pub fleet: String,
    /// Older journals lack it: their hosts were all native.
    #[serde(default)]
    pub kind: HostKind,
    pub region: String,
    pub zone: String,
    pub wave: usize,
    pub image: String,
    pub ok: bool,
    pub started_us: u64,
    pub duration_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Requests that failed on one mirror and were retried on the next.
    pub fallbacks: u32,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Phase {
    pub phase: PhaseKind,
    pub digest: String,
    /// Region whose entry point served the request.
    pub endpoint: String,
    pub ttfb_us: u64,
    pub duration_us: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    Manifest,
    Config,
    Layer,
}

impl PhaseKind {
    pub fn name(self) -> &'static str {
        match self {
            PhaseKind::Manifest => "manifest",
            PhaseKind::Config => "config",
            PhaseKind::Layer => "layer",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColdStartRecord {
    pub host: String,
    pub fleet: String,
    /// Older journals lack it: their hosts were all native.
    #[serde(default)]
    pub kind: HostKind,
    pub region: String,
    pub zone: String,
    pub wave: usize,
    /// Whether every image was pulled before the run ended.
    pub ok: bool,
    pub started_us: u64,
    pub duration_us: u64,
    /// Pull attempts it took, failed ones included.
    pub attempts: u32,
}

/// Appends events to the journal file from any task; a background task writes them.
#[derive(Clone)]
pub struct Journal {
    start: Instant,
    tx: mpsc::UnboundedSender<Record>,
    /// Every event also feeds the live view.
    live: Arc<Mutex<LiveStats>>,
}

/// Finishes writing when dropped after every [`Journal`] handle is gone.
pub struct JournalWriter {
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Journal {
    /// Creates the journal file and the task that writes it.
    pub fn create(path: &Path) -> Result<(Journal, JournalWriter), DrillError> {
        let file = std::fs::File::create(path)
            .setup_context(|| format!("cannot create the journal {}", path.display()))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
        let task = tokio::task::spawn_blocking(move || {
            let mut out = std::io::BufWriter::new(file);
            while let Some(first) = rx.blocking_recv() {
                write_line(&mut out, &first)?;
                while let Ok(more) = rx.try_recv() {
                    write_line(&mut out, &more)?;
                }
                // Flushed after each burst so a crash loses at most the events in flight.
                out.flush()?;
            }
            out.flush()
        });
        Ok((
            Journal {
                start: Instant::now(),
                tx,
                live: Arc::default(),
            },
            JournalWriter { task },
        ))
    }

    /// Microseconds from the start of the run to `at`.
    pub fn offset_us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_micros() as u64
    }

    pub fn now_us(&self) -> u64 {
        self.offset_us(Instant::now())
    }

    pub fn record(&self, event: Event) {
        self.record_at(self.now_us(), event);
    }

    /// Records an event that happened at `t_us` (e.g. a heal, stamped when it began).
    /// The live view's line for the interval since the previous call.
    pub fn live_line(&self) -> String {
        self.live.lock().expect("live view lock").line()
    }

    pub fn record_at(&self, t_us: u64, event: Event) {
        self.live.lock().expect("live view lock").observe(&event);
        // The writer only stops once every handle is dropped, so a send cannot fail
        // while `self` exists; ignoring the result is safe.
        let _ = self.tx.send(Record { t_us, event });
    }
}

fn write_line(out: &mut impl Write, r: &Record) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, r)?;
    out.write_all(b"\n")
}

impl JournalWriter {
    /// Waits until every recorded event is on disk. Call after the last handle is dropped.
    pub async fn finish(self) -> Result<(), DrillError> {
        match self.task.await {
            Ok(r) => r.setup_context(|| "cannot write the journal".to_string()),
            Err(e) => Err(DrillError::setup(format!("the journal writer failed: {e}"))),
        }
    }
}

/// A journal read back from disk.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub records: Vec<Record>,
    /// The last line was cut short (the run was killed while writing it).
    pub truncated: bool,
}

/// Reads a journal. A damaged last line is dropped (a killed run may leave one);
/// damage anywhere else is an error naming the line.
pub fn read(path: &Path) -> Result<Loaded, DrillError> {
    let bytes = std::fs::read(path).map_err(|e| {
        DrillError::Usage(format!("{}: cannot read the journal: {e}", path.display()))
    })?;
    parse(&bytes).map_err(|(line, e)| {
        DrillError::Usage(format!(
            "{}:{line}: not a journal event: {e}",
            path.display()
        ))
    })
}

/// Parses journal bytes; on damage before the last line, its number (from 1) and why.
/// Bytes, not text: a run killed mid-write can cut a character in two, and that must
/// cost the last line only.
pub fn parse(bytes: &[u8]) -> Result<Loaded, (usize, serde_json::Error)> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let mut records = Vec::with_capacity(lines.len());
    let mut truncated = false;
    for (i, line) in lines.iter().enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let parsed = serde_json::from_slice::<Record>(line).and_then(|r| {
            match crate::journal_bounds::check_record(&r) {
                Some(why) => Err(serde::de::Error::custom(why)),
                None => Ok(r),
            }
        });
        match parsed {
            Ok(r) => records.push(r),
            Err(_) if i + 1 == lines.len() => truncated = true,
            Err(e) => return Err((i + 1, e)),
        }
    }
    if let Some(why) = crate::journal_bounds::check_journal(&records) {
        return Err((lines.len(), serde::de::Error::custom(why)));
    }
    Ok(Loaded { records, truncated })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_round_trips_as_one_flat_line() {
        let r = Record {
            t_us: 1500,
            event: Event::Probe {
                region: "eu".into(),
                ok: false,
                latency_us: 20,
                error: Some("connection refused".into()),
            },
        };
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(
            line,
            r#"{"t_us":1500,"type":"probe","region":"eu","ok":false,"latency_us":20,"error":"connection refused"}"#
        );
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
    }

    #[test]
    fn truncated_last_line_is_dropped_but_inner_damage_is_an_error() {
        let good = r#"{"t_us":1,"type":"timeline_started"}"#;
        let cut = r#"{"t_us":2,"type":"pro"#;
        let loaded = parse(format!("{good}\n{cut}").as_bytes()).unwrap();
        assert_eq!(loaded.records.len(), 1);
        assert!(loaded.truncated);
        let (line, _) = parse(format!("{good}\n{cut}\n{good}\n").as_bytes()).unwrap_err();
        assert_eq!(line, 2);
        let whole = parse(format!("{good}\n{good}\n").as_bytes()).unwrap();
        assert_eq!((whole.records.len(), whole.truncated), (2, false));
    }

    #[test]
    fn a_character_cut_in_two_costs_the_last_line_only() {
        let good = r#"{"t_us":1,"type":"note","text":"eu → us"}"#;
        let arrow = good.find('→').unwrap();
        // Killed after the first byte of the three-byte arrow.
        let bytes = format!("{good}\n{good}");
        let cut = &bytes.as_bytes()[..good.len() + 1 + arrow + 1];
        let loaded = parse(cut).unwrap();
        assert_eq!(loaded.records.len(), 1);
        assert!(loaded.truncated);
    }
}
