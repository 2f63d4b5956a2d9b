//! The run's history: one JSON event per line in `journal.jsonl`, appended as the run
//! goes. Analysis and reports read only this file, so a crashed run keeps what it measured
//! and `drill report` can re-render any run.

pub mod bounds;

use crate::model::error::{DrillError, SetupContext};
use crate::model::kinds::{CommandPhase, FaultKind, HostKind, ProxyRecord};
use crate::model::replication::Replication;
use crate::model::sla::Sla;
use serde::{Deserialize, Serialize};
use serde_json::error::Category;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
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
    RunStarted(Box<RunInfo>),
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
    /// An attempt to fetch a manifest without the run's credentials: it must be refused
    /// (`served` false) wherever the registries demand them.
    AuthProbe {
        region: String,
        claim: Claim,
        /// The entry point's answer; absent when it did not answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Whether the manifest was served (a 2xx answer).
        served: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// One push probe: a small blob uploaded to a region whose storage has a size
    /// limit, so that a full disk shows.
    Push {
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
        /// Injected by hand during a game day (`drill inject`), not by the timeline.
        #[serde(default, skip_serializing_if = "is_false")]
        manual: bool,
    },
    /// A fault not injected: it would have acted on containers an active fault held,
    /// and the heal of one would have undone the other. Nothing was done.
    FaultRefused {
        fault: usize,
        kind: FaultKind,
        target: String,
        /// Asked for by hand (`drill inject`), not by the timeline.
        #[serde(default, skip_serializing_if = "is_false")]
        manual: bool,
        /// The active fault it overlapped.
        active: usize,
        /// The containers both would have acted on.
        shared: Vec<String>,
    },
    /// A fault whose injection failed (part-way or wholly); what it did is undone at
    /// its heal. The run did not test what its scenario says.
    FaultFailed {
        fault: usize,
        error: String,
    },
    /// One of an `exec` fault's commands, stamped when it started.
    FaultCommand(CommandRecord),
    /// Stamped when the heal began, as `fault_injected` is when the injection began.
    FaultHealed {
        fault: usize,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// One push of one image to one region during the run: a canary, or the
    /// replicator's copy. Stamped when the registry acknowledged it (or refused it).
    Pushed {
        image: String,
        digest: String,
        region: String,
        origin: PushOrigin,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A canary's tag first resolved to its pushed digest in a region.
    Visible {
        image: String,
        digest: String,
        region: String,
    },
    /// After the timeline: one image pulled back from one region that should hold it
    /// (a push or a copy to it succeeded) and verified, blob by blob.
    Verified {
        region: String,
        image: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The digest last pushed to the tag. Older journals lack it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// What kind of violation a failure is. Older journals lack it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        violation: Option<ViolationKind>,
    },
    /// A note written during a game day (`drill note`).
    Note {
        text: String,
    },
    /// Before the timeline (`proxy_cache: warm`): an upstream image pulled through a proxy.
    ProxyWarmed {
        proxy: String,
        image: String,
    },
    /// A `proxy-check`: one upstream image pulled through one proxy, by tag or by digest.
    ProxyCheck(ProxyCheckRecord),
    RunFinished {
        /// `completed`, or why the run stopped early.
        outcome: Outcome,
    },
}

/// What one of an `exec` fault's commands did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct CommandRecord {
    pub fault: usize,
    pub phase: CommandPhase,
    /// As a shell would read it.
    pub command: String,
    /// None when it did not start, timed out or was killed by a signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub timed_out: bool,
    pub took_us: u64,
    /// The first 4 KiB of each stream.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// Why it failed; absent when it exited 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// `manual` for a fault injected by hand during a game day, `scripted` for one of the
/// timeline.
pub fn origin(manual: bool) -> &'static str {
    if manual {
        "manual"
    } else {
        "scripted"
    }
}

/// Where a push during the run came from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushOrigin {
    /// A canary pushed by drill, as a pipeline would.
    Canary,
    /// The replicator's copy from the primary.
    Replica,
}

/// How a region fails the integrity check for one image.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The tag is not served at all: the image is gone from the region.
    Missing,
    /// The tag resolves to another manifest than the one last pushed (a rollback or
    /// an overwrite behind drill's back).
    TagMoved,
    /// The manifest is right but a blob is missing or does not match its digest.
    BadBlob,
}

impl ViolationKind {
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::Missing => "missing",
            ViolationKind::TagMoved => "tag-moved",
            ViolationKind::BadBlob => "bad-blob",
        }
    }
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
    /// How pushes reached the regions. Older journals lack it (they pushed to all).
    #[serde(default)]
    pub replication: Replication,
    /// What each proxy is, by name (`eu-proxy`). Older journals lack it (their proxies
    /// were distribution's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proxies: BTreeMap<String, ProxyRecord>,
    /// The topology was not built by drill: its regions answer at declared URLs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
}

/// Who an auth probe claims to be.
#[derive(
    Debug,
    Clone,
    Copy,
    Serialize,
    Deserialize,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// No `Authorization` header at all.
    Anonymous,
    /// The run's user name with a password that is not theirs (under `auth: token`,
    /// given to the token service, and whatever it answers presented to the registry).
    WrongCredentials,
    /// A bearer token drill signs with a key of its own that no registry trusts
    /// (`auth: token` regions only).
    ForgedToken,
}

impl Claim {
    pub fn name(self) -> &'static str {
        match self {
            Claim::Anonymous => "anonymous",
            Claim::WrongCredentials => "wrong credentials",
            Claim::ForgedToken => "forged token",
        }
    }
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ProxyCheckRecord {
    /// `<region>-proxy`.
    pub proxy: String,
    /// `repository:tag`.
    pub image: String,
    pub by: PullBy,
    pub ok: bool,
    pub duration_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Requests that reached the upstream's fault point during this pull (none read when
    /// the fault point refused its statistics too, i.e. while the upstream is down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_requests: Option<u64>,
}

#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PullBy {
    Tag,
    Digest,
}

/// Which host a pull or a cold start is of, and the wave that started it: the keys both
/// records begin with, in this order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostId {
    /// The host's name (`<fleet>-<zone>-<n>`).
    #[serde(rename = "host")]
    pub name: String,
    pub fleet: String,
    /// Older journals lack it: their hosts were all native.
    #[serde(default)]
    pub kind: HostKind,
    pub region: String,
    pub zone: String,
    pub wave: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PullRecord {
    #[serde(flatten)]
    pub host: HostId,
    pub image: String,
    pub ok: bool,
    pub started_us: u64,
    pub duration_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// *Mirror moves*: requests that failed on one mirror and went on to the next in
    /// the host's list (older journals call it `fallbacks`).
    #[serde(alias = "fallbacks")]
    pub mirror_moves: u32,
    /// Each mirror move: the mirror the request failed on and why. Older journals lack it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<MirrorMove>,
    pub phases: Vec<Phase>,
    /// Requests answered with an HTTP error, by entry point and status (native hosts).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub http_errors: BTreeMap<String, BTreeMap<String, u32>>,
}

/// One request that failed on a mirror and went on to the next.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MirrorMove {
    /// The entry point it failed on: a region, `<region>-proxy` or `upstream`.
    pub mirror: String,
    /// Absent for containerd and docker hosts, which do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PhaseKind>,
    /// When it failed, µs after the pull started; absent when the client does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_us: Option<u64>,
    pub reason: MoveReason,
}

/// Why a request moved on to the next mirror.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum MoveReason {
    /// No answer within the connect or request timeout.
    Timeout,
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed before an answer.
    Reset,
    /// No connection for another reason: no route, no such host.
    Unreachable,
    /// An HTTP error status.
    Status(u16),
    /// The connection broke while the body was read.
    BodyLost,
    /// The bytes did not hash to their digest.
    DigestMismatch,
    /// The token service gave no token.
    NoToken,
    /// Anything else, in the client's words.
    Other(String),
}

impl MoveReason {
    /// The reason as reports show it: `timeout`, `HTTP 503`...
    pub fn name(&self) -> String {
        match self {
            MoveReason::Timeout => "timeout".into(),
            MoveReason::Refused => "refused".into(),
            MoveReason::Reset => "reset".into(),
            MoveReason::Unreachable => "unreachable".into(),
            MoveReason::Status(code) => format!("HTTP {code}"),
            MoveReason::BodyLost => "connection lost in the body".into(),
            MoveReason::DigestMismatch => "digest mismatch".into(),
            MoveReason::NoToken => "no token".into(),
            MoveReason::Other(_) => "other".into(),
        }
    }
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
    #[serde(flatten)]
    pub host: HostId,
    /// Whether every image was pulled.
    pub ok: bool,
    pub started_us: u64,
    /// To its last image pulled, or, when it was interrupted, to the interruption.
    pub duration_us: u64,
    /// Pull attempts it made, failed ones and one cut short included.
    pub attempts: u32,
    /// Pull attempts that failed. Older journals lack it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_attempts: u32,
    /// What stopped it before it finished, if anything did. Older journals lack it: they
    /// recorded a cold start the run's end cut off as failed, and none a wave restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interruption>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What stopped a cold start before it finished.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interruption {
    /// A later wave restarted the host: the new cold start is the one measured.
    Restarted,
    /// The run (or the game day) ended.
    RunEnded,
}

/// How a cold start ended, as every count reports it: started = ok + failed + interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColdStartOutcome {
    Ok,
    Failed,
    Interrupted,
}

impl ColdStartRecord {
    /// A cold start a later wave restarted is *interrupted*; so is one the run's end cut
    /// off while none of its pulls had failed. One the run's end cut off after a failed
    /// pull *failed*: it could not pull its images while it ran.
    pub fn outcome(&self) -> ColdStartOutcome {
        match (self.ok, self.interrupted) {
            (true, _) => ColdStartOutcome::Ok,
            (false, Some(Interruption::Restarted)) => ColdStartOutcome::Interrupted,
            (false, Some(Interruption::RunEnded)) if self.failed_attempts == 0 => {
                ColdStartOutcome::Interrupted
            }
            (false, _) => ColdStartOutcome::Failed,
        }
    }
}

/// Appends events to the journal file from any task; a background task writes them.
#[derive(Clone)]
pub struct Journal {
    start: Instant,
    tx: mpsc::UnboundedSender<Record>,
    /// Every event also goes to these, as it is recorded.
    observers: Arc<[Arc<dyn Observer>]>,
}

/// What watches a run's events as they are recorded (the live lines, the dashboard).
/// The journal is the one sink every event goes through: it writes each to the file and
/// hands it to every observer, so what a person watches is what the reports will say.
pub trait Observer: Send + Sync {
    fn observe(&self, t_us: u64, event: &Event);
}

/// Finishes writing when dropped after every [`Journal`] handle is gone.
pub struct JournalWriter {
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Journal {
    /// Creates the journal file and the task that writes it. Every string of `secrets`
    /// is replaced in each line before it is written, whatever event carries it. Each
    /// event also goes to the `observers`.
    pub fn create(
        path: &Path,
        secrets: Vec<String>,
        observers: Vec<Arc<dyn Observer>>,
    ) -> Result<(Journal, JournalWriter), DrillError> {
        let file = std::fs::File::create(path)
            .setup_context(|| format!("cannot create the journal {}", path.display()))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
        let task = tokio::task::spawn_blocking(move || {
            let mut out = std::io::BufWriter::new(file);
            while let Some(first) = rx.blocking_recv() {
                write_line(&mut out, &first, &secrets)?;
                while let Ok(more) = rx.try_recv() {
                    write_line(&mut out, &more, &secrets)?;
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
                observers: observers.into(),
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
    pub fn record_at(&self, t_us: u64, event: Event) {
        for o in self.observers.iter() {
            o.observe(t_us, &event);
        }
        // The writer only stops once every handle is dropped, so a send cannot fail
        // while `self` exists; ignoring the result is safe.
        let _ = self.tx.send(Record { t_us, event });
    }
}

pub use crate::model::credentials::REDACTED;

/// Replaces every secret in `text` with [`REDACTED`].
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), REDACTED))
}

fn write_line(out: &mut impl Write, r: &Record, secrets: &[String]) -> std::io::Result<()> {
    let line = serde_json::to_string(r)?;
    out.write_all(redact(&line, secrets).as_bytes())?;
    out.write_all(b"\n")
}

impl JournalWriter {
    /// Waits until every recorded event is on disk. Call after the last handle is dropped.
    pub async fn finish(self) -> Result<(), DrillError> {
        match self.task.await {
            Ok(r) => r.setup_context(|| "cannot write the journal".to_string()),
            Err(e) => Err(DrillError::setup_from("the journal writer failed", e)),
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

/// What one slice of a journal held.
struct Slice {
    records: Vec<Record>,
    lines: usize,
    /// The first line (1-based, within the slice) that is not an event.
    error: Option<(usize, serde_json::Error)>,
}

/// Parses journal bytes; on damage before the last line, its number (from 1) and why.
/// Bytes, not text: a run killed mid-write can cut a character in two, and that must
/// cost the last line only. One slice per core: parsing dominates the time a long
/// run's reports take.
pub fn parse(text: &[u8]) -> Result<Loaded, (usize, serde_json::Error)> {
    let slices = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut bounds = vec![0];
    for k in 1..slices {
        let at = (text.len() * k / slices).max(*bounds.last().expect("starts with 0"));
        match text[at..].iter().position(|&b| b == b'\n') {
            Some(p) => bounds.push(at + p + 1),
            None => break,
        }
    }
    bounds.push(text.len());
    bounds.dedup();
    let parsed: Vec<Slice> = std::thread::scope(|scope| {
        let workers: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let slice = &text[w[0]..w[1]];
                scope.spawn(move || parse_slice(slice))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("parsing a journal does not panic"))
            .collect()
    });
    let total: usize = parsed.iter().map(|s| s.lines).sum();
    let mut records: Vec<Record> = Vec::new();
    let (mut offset, mut truncated) = (0, false);
    for slice in parsed {
        if let Some((line, e)) = slice.error {
            // Only a last line cut short (not valid JSON) is a kill's mark; a complete
            // line that breaks the journal's bounds is damage wherever it stands.
            let cut = matches!(e.classify(), Category::Eof | Category::Syntax);
            if offset + line != total || !cut {
                return Err((offset + line, e));
            }
            truncated = true;
        }
        offset += slice.lines;
        // The first slice's records are kept as they are: no second copy of them all.
        if records.is_empty() {
            records = slice.records;
        } else {
            records.extend(slice.records);
        }
    }
    if let Some(why) = crate::journal::bounds::check_journal(&records) {
        return Err((total, serde::de::Error::custom(why)));
    }
    Ok(Loaded { records, truncated })
}

/// One journal line as a record. The same as deserializing a [`Record`], but faster: a
/// flattened, internally tagged event is buffered twice by serde, once for the flatten
/// and once for the tag. Here the time is read by a scan that skips everything else, and
/// the event straight from the line (it ignores the `t_us` key), buffered once.
///
/// Every `#[serde(flatten)]` in an event buffers it once more: pulls' and cold starts'
/// [`HostId`] does, and costs 6 % of the time (9 % of the CPU) to decode `drill bench`'s
/// synthetic journal. Kept, as the plainest way under 10 %; past that, read those
/// records through flat structs of their keys, converted to the records after decoding.
fn record(line: &[u8]) -> Result<Record, serde_json::Error> {
    #[derive(Deserialize)]
    struct Stamp {
        t_us: u64,
    }
    let Stamp { t_us } = serde_json::from_slice(line)?;
    let event = serde_json::from_slice(line)?;
    Ok(Record { t_us, event })
}

fn parse_slice(text: &[u8]) -> Slice {
    let mut out = Slice {
        // A first guess at the event count (lines are a few hundred bytes).
        records: Vec::with_capacity(text.len() / 256),
        lines: 0,
        error: None,
    };
    for line in text.split_inclusive(|&b| b == b'\n') {
        out.lines += 1;
        if out.error.is_some() || line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = record(line).and_then(|r| match crate::journal::bounds::check_record(&r) {
            Some(why) => Err(serde::de::Error::custom(why)),
            None => Ok(r),
        });
        match parsed {
            Ok(r) => out.records.push(r),
            Err(e) => out.error = Some((out.lines, e)),
        }
    }
    out
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
    fn a_cold_start_is_ok_failed_or_interrupted() {
        let line = |extra: &str| {
            format!(
                r#"{{"t_us":9,"type":"cold_start","host":"h","fleet":"f","region":"eu","zone":"eu-a","wave":1,"ok":false,"started_us":1,"duration_us":8,"attempts":2{extra}}}"#
            )
        };
        let outcome = |extra: &str| match serde_json::from_str::<Record>(&line(extra)) {
            Ok(Record {
                event: Event::ColdStart(c),
                ..
            }) => c.outcome(),
            other => panic!("not a cold start: {other:?}"),
        };
        // An older journal's unfinished cold start is failed, as it was then.
        assert_eq!(outcome(""), ColdStartOutcome::Failed);
        assert_eq!(
            outcome(r#","interrupted":"restarted","failed_attempts":1"#),
            ColdStartOutcome::Interrupted
        );
        assert_eq!(
            outcome(r#","interrupted":"run_ended""#),
            ColdStartOutcome::Interrupted
        );
        assert_eq!(
            outcome(r#","interrupted":"run_ended","failed_attempts":1"#),
            ColdStartOutcome::Failed
        );
        let done = line("").replace(r#""ok":false"#, r#""ok":true"#);
        let Event::ColdStart(c) = serde_json::from_str::<Record>(&done).unwrap().event else {
            unreachable!()
        };
        assert_eq!(c.outcome(), ColdStartOutcome::Ok);
        // Written back without the fields it does not need.
        let back = serde_json::to_string(&Record {
            t_us: 9,
            event: Event::ColdStart(c),
        })
        .unwrap();
        assert!(!back.contains("interrupted") && !back.contains("failed_attempts"));
        // Written as read, the host's keys first.
        let full = line(r#","failed_attempts":1,"interrupted":"restarted""#)
            .replace(r#""fleet":"f","#, r#""fleet":"f","kind":"docker","#);
        let r: Record = serde_json::from_str(&full).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), full);
    }

    #[test]
    fn a_pull_reads_back_as_written_with_its_host_first() {
        let line = r#"{"t_us":9,"type":"pull","host":"eu-fleet-eu-a-1","fleet":"eu-fleet","kind":"containerd","region":"eu","zone":"eu-a","wave":2,"image":"team/app:1","ok":false,"started_us":1,"duration_us":8,"error":"timeout","mirror_moves":1,"moves":[{"mirror":"eu","reason":"timeout"}],"phases":[],"http_errors":{"eu":{"503":2}}}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        let Event::Pull(p) = &r.event else {
            panic!("not a pull: {r:?}")
        };
        assert_eq!(
            (p.host.name.as_str(), p.host.kind, p.host.wave),
            ("eu-fleet-eu-a-1", HostKind::Containerd, 2)
        );
        assert_eq!(serde_json::to_string(&r).unwrap(), line);
        // An older journal: no kind (native) and `fallbacks` for the mirror moves.
        let old = r#"{"t_us":9,"type":"pull","host":"h","fleet":"f","region":"eu","zone":"eu-a","wave":1,"image":"a:1","ok":true,"started_us":1,"duration_us":8,"fallbacks":3,"phases":[]}"#;
        let Event::Pull(p) = serde_json::from_str::<Record>(old).unwrap().event else {
            unreachable!()
        };
        assert_eq!((p.host.kind, p.mirror_moves), (HostKind::Native, 3));
    }

    #[tokio::test]
    async fn secrets_are_scrubbed_from_every_line_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let (journal, writer) = Journal::create(&path, vec!["s3cret".into()], Vec::new()).unwrap();
        journal.record(Event::Probe {
            region: "eu".into(),
            ok: false,
            latency_us: 1,
            error: Some("denied for drill:s3cret".into()),
        });
        drop(journal);
        writer.finish().await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("denied for drill:[redacted]"), "{text}");
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

    #[test]
    fn a_long_journal_parses_in_slices_in_order_with_its_line_numbers() {
        let line = |t: u64| format!("{{\"t_us\":{t},\"type\":\"timeline_started\"}}\n");
        let mut text: String = (0..5000).map(line).collect();
        text.push_str("\n  \n");
        let loaded = parse(text.as_bytes()).unwrap();
        let times: Vec<u64> = loaded.records.iter().map(|r| r.t_us).collect();
        assert_eq!(times, (0..5000).collect::<Vec<_>>());
        assert!(!loaded.truncated);
        let mut damaged: String = (0..5000).map(line).collect();
        damaged.replace_range(
            damaged.find("\"t_us\":3000").unwrap()..damaged.find("\"t_us\":3000").unwrap() + 1,
            "x",
        );
        assert_eq!(parse(damaged.as_bytes()).unwrap_err().0, 3001);
    }
}
