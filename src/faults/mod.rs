//! The fault families. A family file owns, for its kinds of fault: the typed fault read
//! from a timeline step, the rules that step must meet, what the fault acts on, and what
//! injects and heals it, as [`Action`]s and a [`Heal`] that the engine side (`inject`)
//! carries out. Nothing here touches the engine: until `inject` does it, a fault is
//! data, which `drill plan` describes and unit tests check without Docker.
//!
//! Adding a kind: name it in `model::kinds::FaultKind`, give it a variant in its
//! family's enum, and follow the compiler through that family's exhaustive matches (a
//! new family is one more file and one arm in each match of this module).

pub mod command;
mod engine;
mod given;
mod network;
mod outage;
mod overlap;
mod storage;
mod target;
pub mod upstream;

pub use network::{partition_rules, tc};
pub use storage::{blob_command, df_available_kib, fill_command, unfill_command, WIPE};

use crate::model::error::DrillError;
use crate::model::kinds::FaultKind;
use crate::scenario::matrix::{self, Combination};
use crate::scenario::names::{Member, Names, Target};
use crate::scenario::{Loaded, Pick, Problem, Rules, Scenario, Step};
use given::Given;
use serde_saphyr::Location;
use std::path::Path;
use std::time::Duration;

/// A fault of the timeline (or asked for by hand), typed by its family.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    Engine(engine::EngineFault),
    Outage(outage::Outage),
    Network(network::NetworkFault),
    Storage(storage::StorageFault),
    Upstream(upstream::Upstream),
    Command(command::CommandFault),
}

/// What a fault reaches, in the scenario's terms; the plan names the containers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reach {
    /// The parts it acts on, before a `pick`.
    pub members: Vec<Member>,
    /// For a partition: the members of each group.
    pub groups: Vec<Vec<Member>>,
    /// The storage volume it acts on.
    pub volume: Option<Volume>,
    /// Regions it touches besides its members' (for the recovery analysis).
    pub regions: Vec<String>,
    /// Act on this many of the members, picked with the seed.
    pub pick: Option<Pick>,
}

/// A storage volume of the topology, by its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volume {
    /// A region's registry storage.
    Region(String),
    /// A region's proxy cache.
    ProxyCache(String),
    /// A region's size-limited registry storage, acted on from the container that keeps
    /// it mounted.
    Kept(String),
}

/// A step of injecting a fault, done by `inject` on the fault's containers.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// An engine verb on every container at once.
    Engine(Verb),
    /// Commands run in a toolbox sidecar in each container's network namespace.
    Sidecars(Vec<Vec<String>>),
    /// The partition's drop rules: each group drops the others' addresses, known only
    /// once the containers run ([`partition_rules`]).
    Partition,
    /// drill's delaying proxy in front of each entry point holds every chunk this long.
    Delay { delay: Duration, jitter: Duration },
    /// The upstream's fault point switched to a mode.
    Gate(upstream::GateMode),
    /// The proxy killed, its cache volume emptied, the proxy started again.
    WipeProxy,
    /// A seeded blob of an image damaged in the storage volume ([`blob_command`]), known
    /// by its digest once the image is seeded.
    Blob {
        image: String,
        blob: Option<crate::scenario::BlobRef>,
        corrupt: bool,
    },
    /// The kept storage filled until no space is left ([`fill_command`]).
    Fill,
    /// The scenario's own command, run on drill's machine.
    Run(command::Command),
}

/// An engine verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Kill,
    Stop,
    Restart,
    Pause,
    /// Disconnected from the run's network.
    Detach,
}

/// What ends a fault that lasts.
#[derive(Debug, Clone, PartialEq)]
pub enum Heal {
    /// Started again, in plan order (a region's nodes before its load balancer).
    Start,
    Unpause,
    /// Connected to the run's network again.
    Reattach,
    /// These commands run in each sidecar, then the sidecars go.
    Sidecars(Vec<Vec<String>>),
    /// The delaying proxies pass everything again.
    PassThrough,
    /// The upstream's fault point passes everything again.
    Gate,
    /// The filler file deleted from the kept storage ([`unfill_command`]).
    Unfill,
    /// The scenario's own heal command.
    Run(command::Command),
    /// Nothing to undo: the fault's span ends (an `external` fault, or an `exec` one
    /// without a heal command).
    Nothing,
}

/// Time a stopped registry gets to exit after SIGTERM.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Engine(f) => f.kind(),
            Fault::Outage(f) => f.kind(),
            Fault::Network(f) => f.kind(),
            Fault::Storage(f) => f.kind(),
            Fault::Upstream(f) => f.how.kind(),
            Fault::Command(f) => f.kind(),
        }
    }

    /// What it reaches in the scenario.
    pub fn reach(&self, s: &Scenario) -> Reach {
        match self {
            Fault::Engine(f) => f.reach(s),
            Fault::Outage(f) => f.reach(s),
            Fault::Network(f) => f.reach(s),
            Fault::Storage(f) => f.reach(s),
            Fault::Upstream(_) => upstream::reach(s),
            Fault::Command(f) => f.reach(),
        }
    }

    /// The steps that inject it.
    pub fn actions(&self) -> Vec<Action> {
        match self {
            Fault::Engine(f) => vec![Action::Engine(f.verb())],
            Fault::Outage(f) => vec![Action::Engine(f.verb())],
            Fault::Network(f) => f.actions(),
            Fault::Storage(f) => f.actions(),
            Fault::Upstream(f) => vec![Action::Gate(f.how.gate())],
            Fault::Command(f) => match &f.how {
                command::How::Exec { inject, .. } => vec![Action::Run(inject.clone())],
                command::How::External => Vec::new(),
            },
        }
    }

    /// What heals it; None for an instant fault, which has nothing to heal.
    pub fn heal(&self) -> Option<Heal> {
        match self {
            Fault::Engine(f) => f.heal(),
            Fault::Outage(f) => Some(f.heal()),
            Fault::Network(f) => Some(f.heal()),
            Fault::Storage(f) => f.heal(),
            Fault::Upstream(_) => Some(Heal::Gate),
            Fault::Command(f) => Some(f.heal()),
        }
    }

    /// How it is injected, for the reports: a refused connection and a dropped packet
    /// give very different recovery numbers, so the method is always stated.
    pub fn method(&self) -> String {
        match self {
            Fault::Engine(f) => f.method(),
            Fault::Outage(f) => f.method(),
            Fault::Network(f) => f.method(),
            Fault::Storage(f) => f.method(),
            Fault::Upstream(f) => f.how.method(),
            Fault::Command(f) => f.method(),
        }
    }

    /// The target as written (the groups, for a partition; none may be written for the
    /// upstream's faults).
    pub fn written(&self) -> String {
        match self {
            Fault::Engine(f) => f.written.clone(),
            Fault::Outage(f) => f.written.clone(),
            Fault::Network(f) => f.written(),
            Fault::Storage(f) => f.written(),
            Fault::Upstream(f) => f.written.clone(),
            Fault::Command(f) => f.name.clone(),
        }
    }

    /// What its target names; none for a partition, whose groups name several.
    pub fn on(&self) -> Option<Target> {
        match self {
            Fault::Engine(f) => Some(f.target.clone()),
            Fault::Outage(f) => Some(f.target.clone()),
            Fault::Network(f) => f.on(),
            Fault::Storage(f) => Some(f.on()),
            Fault::Upstream(_) => Some(Target::Upstream),
            Fault::Command(_) => None,
        }
    }

    /// For a latency fault: sets how it is added, once the run knows what the kernel
    /// has. None for other faults.
    pub fn latency_via(&mut self) -> Option<&mut Option<crate::scenario::LatencyVia>> {
        match self {
            Fault::Network(f) => f.latency_via(),
            _ => None,
        }
    }
}

/// Where a step's problems go: its place in the file, and its field's path.
pub(crate) struct Report<'a> {
    loc: &'a Location,
    field: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl Report<'_> {
    /// Problems reported so far.
    pub(crate) fn count(&self) -> usize {
        self.problems.len()
    }

    pub(crate) fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem::at(
            self.loc,
            format!("{}.{key}", self.field),
            message,
        ));
    }
}

/// What a family reads a step against.
pub(crate) struct Cx<'a> {
    pub s: &'a Scenario,
    pub names: &'a Names,
}

/// The fault of a step, typed by its family, or None with its problems reported.
fn check(kind: FaultKind, step: &Step, cx: &Cx, r: &mut Report) -> Option<Fault> {
    if step.hosts.is_some() {
        r.problem("hosts", "faults take `target`, not `hosts`");
    }
    let given = Given::new(step);
    // The family's own problems follow those of parameters it does not read.
    let mut own = Vec::new();
    let mut fr = Report {
        loc: r.loc,
        field: r.field,
        problems: &mut own,
    };
    use engine::EngineVerb as E;
    use network::NetworkKind as N;
    use outage::Scope as O;
    use storage::StorageKind as S;
    use upstream::UpstreamKind as U;
    let fr = &mut fr;
    let fault = match kind {
        FaultKind::Kill => engine::check(E::Kill, &given, cx, fr).map(Fault::Engine),
        FaultKind::Stop => engine::check(E::Stop, &given, cx, fr).map(Fault::Engine),
        FaultKind::Restart => engine::check(E::Restart, &given, cx, fr).map(Fault::Engine),
        FaultKind::Pause => engine::check(E::Pause, &given, cx, fr).map(Fault::Engine),
        FaultKind::ZoneOutage => outage::check(O::Zone, &given, cx, fr).map(Fault::Outage),
        FaultKind::RegionOutage => outage::check(O::Region, &given, cx, fr).map(Fault::Outage),
        FaultKind::Partition => network::partition(&given, cx, fr).map(Fault::Network),
        FaultKind::Blackhole => network::check(N::Blackhole, &given, cx, fr).map(Fault::Network),
        FaultKind::Bandwidth => network::check(N::Bandwidth, &given, cx, fr).map(Fault::Network),
        FaultKind::PacketLoss => network::check(N::PacketLoss, &given, cx, fr).map(Fault::Network),
        FaultKind::Latency => network::check(N::Latency, &given, cx, fr).map(Fault::Network),
        FaultKind::CacheWipe => storage::check(S::CacheWipe, &given, cx, fr).map(Fault::Storage),
        FaultKind::CorruptBlob => {
            storage::check(S::CorruptBlob, &given, cx, fr).map(Fault::Storage)
        }
        FaultKind::DeleteBlob => storage::check(S::DeleteBlob, &given, cx, fr).map(Fault::Storage),
        FaultKind::FillDisk => storage::check(S::FillDisk, &given, cx, fr).map(Fault::Storage),
        FaultKind::UpstreamOutage => {
            upstream::check(U::Outage, &given, cx, fr).map(Fault::Upstream)
        }
        FaultKind::UpstreamRateLimit => {
            upstream::check(U::RateLimit, &given, cx, fr).map(Fault::Upstream)
        }
        FaultKind::UpstreamErrors => {
            upstream::check(U::Errors, &given, cx, fr).map(Fault::Upstream)
        }
        FaultKind::UpstreamSlow => upstream::check(U::Slow, &given, cx, fr).map(Fault::Upstream),
        FaultKind::Exec | FaultKind::External => {
            command::check(kind, &given, cx, fr).map(Fault::Command)
        }
    };
    given.refuse_unread(kind, r);
    // In the order a user fixes a step: what it acts on, how many, how long, how.
    let aims = |p: &Problem| {
        let key = p.field.rsplit('.').next().unwrap_or_default();
        matches!(key, "fault" | "target" | "groups" | "pick")
    };
    own.sort_by_key(|p| !aims(p));
    let how = own.iter().position(|p| !aims(p)).unwrap_or(own.len());
    let mut how = own.split_off(how);
    r.problems.append(&mut own);
    duration(kind, step, r);
    r.problems.append(&mut how);
    fault
}

fn duration(kind: FaultKind, step: &Step, r: &mut Report) {
    if kind.is_instant() {
        if step.duration.is_some() {
            r.problem(
                "for",
                format!(
                    "{} happens once and has nothing to heal: remove `for`",
                    kind.name()
                ),
            );
        }
        return;
    }
    match step.duration {
        None => r.problem(
            "for",
            "a fault needs a duration (`for: 10s`); it is healed when it ends",
        ),
        Some(d) if d.0.is_zero() => r.problem("for", "must be more than 0s"),
        Some(_) => {}
    }
}

/// The fault families' rules, as the scenario format runs them: on each fault step,
/// and the warnings about faults that would meet.
pub const RULES: Rules = Rules {
    fault: |s, names, kind, step, loc, field, problems| {
        let mut r = Report {
            loc,
            field,
            problems,
        };
        check(kind, step, &Cx { s, names }, &mut r);
    },
    warnings: overlap::warnings,
};

/// Reads, parses and validates a scenario file, its faults by their families: see
/// [`crate::scenario::load`].
pub fn load(path: &Path) -> Result<Loaded, DrillError> {
    crate::scenario::load(path, &RULES)
}

/// [`load`], with a matrix combination set before validation.
pub fn load_as(path: &Path, combination: &Combination) -> Result<Loaded, DrillError> {
    crate::scenario::load_as(path, &RULES, combination)
}

/// The file as written, then once per combination; every combination's problems are
/// said together, each under the combination that has them, and what is wrong in all
/// of them (the file as written) only once.
pub fn load_matrix(path: &Path, combinations: &[Combination]) -> Result<Vec<Loaded>, DrillError> {
    let written = load(path)?;
    matrix::refuse_idle_keys(combinations, &path.display().to_string(), &written.scenario)
        .map_err(DrillError::Usage)?;
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for c in combinations {
        match load_as(path, c) {
            Ok(l) => loaded.push(l),
            Err(e) => problems.push(format!("with --matrix {c}:\n{e}")),
        }
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(DrillError::Usage(problems.join("\n\n")))
    }
}

/// Parses and validates scenario text read from `file`, as `drill validate` does.
pub fn check_source(file: &str, source: &str) -> Result<Loaded, DrillError> {
    crate::scenario::check_source(file, source, &RULES)
}

/// Parses and validates scenario text.
pub fn parse(source: &str) -> Result<Scenario, Vec<Problem>> {
    crate::scenario::parse(source, &RULES)
}

/// Each problem of scenario text as `line field: message`, for tests.
#[cfg(test)]
pub(crate) fn problem_lines(source: &str) -> Vec<String> {
    match parse(source) {
        Ok(_) => Vec::new(),
        Err(ps) => ps
            .iter()
            .map(|p| format!("{} {}: {}", p.line, p.field, p.message))
            .collect(),
    }
}

/// The typed fault of each step of a valid scenario's timeline, by step index (None for
/// the steps that are not faults).
pub fn of(s: &Scenario) -> Vec<Option<Fault>> {
    of_with(s, &Names::new(s))
}

fn of_with(s: &Scenario, names: &Names) -> Vec<Option<Fault>> {
    let cx = Cx { s, names };
    s.timeline
        .iter()
        .map(|st| {
            let kind = st.value.fault?;
            let mut problems = Vec::new();
            let mut r = Report {
                loc: &st.referenced,
                field: "",
                problems: &mut problems,
            };
            check(kind, &st.value, &cx, &mut r)
        })
        .collect()
}

/// Parses and validates one fault asked for by hand during a game day (`drill
/// inject`), against the scenario's topology. By hand a fault may stay until `drill
/// heal`: no `for` needed.
pub fn by_hand(s: &Scenario, step: &Step) -> Result<Fault, String> {
    let Some(kind) = step.fault else {
        return Err("name a fault kind".into());
    };
    if kind == FaultKind::Exec {
        // Commands run only from a file the user passed, read as code like a Makefile,
        // never from a request to a running game day.
        return Err(
            "exec faults run commands and are taken only from the scenario file; \
                    put the step on its timeline, or inject by your own means and record it \
                    with `drill mark start`"
                .into(),
        );
    }
    if s.topology.value.is_external() && kind != FaultKind::External {
        return Err(format!(
            "{} acts on a container of a topology drill built, and this one is external: inject by your own means and record it with `drill mark start`",
            kind.name()
        ));
    }
    let names = Names::new(s);
    let mut problems = Vec::new();
    let mut r = Report {
        loc: &Location::UNKNOWN,
        field: "fault",
        problems: &mut problems,
    };
    let fault = check(kind, step, &Cx { s, names: &names }, &mut r);
    problems.retain(|p| !(step.duration.is_none() && p.field == "fault.for"));
    match (fault, problems.is_empty()) {
        (Some(fault), true) => Ok(fault),
        _ => Err(problems
            .iter()
            .map(|p| format!("{}: {}", p.field.trim_start_matches("fault."), p.message))
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A topology every kind of fault has something to act on in.
    const ALL_KINDS: &str = r#"
name: every-kind
duration: 60s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b], storage_limit: 64MiB }
  upstream: true
  proxy: per-region
images:
  - { ref: team/app:1, layers: [1MiB] }
  - { ref: library/base:1, layers: [1MiB], source: upstream }
hosts:
  - { name: f, region: eu, per_zone: 1, mirrors: [region, proxy], pull: [team/app:1] }
"#;

    /// A step each kind takes, with its parameters.
    fn step_of(kind: FaultKind) -> String {
        let lasts = if kind.is_instant() { "" } else { ", for: 5s" };
        let rest = match kind {
            FaultKind::ZoneOutage => "target: eu-a",
            FaultKind::RegionOutage | FaultKind::FillDisk => "target: eu",
            FaultKind::CorruptBlob | FaultKind::DeleteBlob => "target: eu, image: team/app:1",
            FaultKind::Partition => "groups: [[eu-a], [eu-b]]",
            FaultKind::Bandwidth => "target: eu-lb, rate: 1MiB",
            FaultKind::PacketLoss => "target: eu-lb, loss: 10%",
            FaultKind::Latency => "target: eu-lb, delay: 100ms",
            FaultKind::CacheWipe => "target: eu-proxy",
            FaultKind::UpstreamSlow => "delay: 1s",
            FaultKind::Exec => "name: x, inject: [docker, kill, x], heal: [docker, start, x]",
            FaultKind::External => "name: by-the-cloud, regions: [eu]",
            FaultKind::UpstreamOutage
            | FaultKind::UpstreamRateLimit
            | FaultKind::UpstreamErrors => "",
            _ => "target: eu-a-1",
        };
        let sep = if rest.is_empty() { "" } else { ", " };
        format!(
            "  - {{ at: 1s, fault: {}{sep}{rest}{lasts} }}\n",
            kind.name()
        )
    }

    #[test]
    fn all_lists_every_kind() {
        let schema = schemars::schema_for!(FaultKind);
        let named: Vec<&str> = schema
            .get("enum")
            .and_then(|e| e.as_array())
            .expect("FaultKind's schema lists its names")
            .iter()
            .filter_map(|n| n.as_str())
            .collect();
        let all: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(all, named);
    }

    #[test]
    fn every_kind_is_typed_by_its_family_and_heals_unless_instant() {
        for kind in FaultKind::ALL {
            let src = format!("{ALL_KINDS}timeline:\n{}", step_of(kind));
            let s = parse(&src).unwrap_or_else(|p| panic!("{kind:?}: {p:?}"));
            let fault = of(&s).remove(0).expect("a fault step");
            assert_eq!(fault.kind(), kind);
            assert_eq!(
                fault.heal().is_none(),
                kind.is_instant(),
                "{kind:?}: an instant fault has nothing to heal, a lasting one does"
            );
            // An external fault is done by something else: drill only marks it.
            assert_eq!(
                fault.actions().is_empty(),
                kind == FaultKind::External,
                "{kind:?} does something"
            );
            assert!(!fault.method().is_empty());
        }
    }

    #[test]
    fn a_parameter_the_family_does_not_read_is_refused_with_what_it_reads() {
        let refused = |step: &str| {
            let p = parse(&format!("{ALL_KINDS}timeline:\n  - {step}\n")).unwrap_err();
            (p[0].field.clone(), p[0].message.clone())
        };
        assert_eq!(
            refused("{ at: 1s, fault: kill, target: eu-a-1, rate: 1MiB, for: 1s }"),
            (
                "timeline[0].rate".into(),
                "kill does not take `rate` (it takes: pick)".into()
            )
        );
        let (_, m) =
            refused("{ at: 1s, fault: latency, target: eu-lb, delay: 1s, loss: 1%, for: 1s }");
        assert_eq!(
            m,
            "latency does not take `loss` (it takes: pick, delay, jitter, via)"
        );
        // What a family reads does not depend on whether the rest of the step holds.
        let (_, m) = refused("{ at: 1s, fault: latency, target: nowhere, loss: 1% }");
        assert_eq!(
            m,
            "latency does not take `loss` (it takes: pick, delay, jitter, via)"
        );
        let (_, m) = refused("{ at: 1s, fault: upstream-outage, pick: 1, for: 1s }");
        assert_eq!(
            m,
            "upstream-outage does not take `pick` (it takes: no parameters)"
        );
    }

    #[test]
    fn a_steps_problems_come_in_the_order_a_user_fixes_them() {
        let src =
            format!("{ALL_KINDS}timeline:\n  - {{ at: 1s, fault: bandwidth, target: nowhere }}\n");
        let fields: Vec<String> = parse(&src)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            ["timeline[0].target", "timeline[0].for", "timeline[0].rate"]
        );
    }

    #[test]
    fn an_upstream_fault_keeps_its_target_as_written() {
        let src = format!(
            "{ALL_KINDS}timeline:\n  - {{ at: 1s, fault: upstream-outage, for: 1s }}\n  - {{ at: 3s, fault: upstream-outage, target: upstream, for: 1s }}\n"
        );
        let faults = of(&parse(&src).unwrap());
        let written: Vec<String> = faults.iter().flatten().map(Fault::written).collect();
        assert_eq!(written, ["", "upstream"]);
    }

    #[test]
    fn a_blackhole_drops_only_the_direction_named_and_is_flushed_at_heal() {
        let src = format!(
            "{ALL_KINDS}timeline:\n  - {{ at: 1s, fault: blackhole, target: eu-lb, direction: in, for: 1s }}\n"
        );
        let fault = of(&parse(&src).unwrap()).remove(0).unwrap();
        let actions = fault.actions();
        let [Action::Sidecars(rules)] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        assert_eq!(rules.len(), 1);
        assert!(rules[0].join(" ").contains("-I INPUT ! -i lo -j DROP"));
        let Some(Heal::Sidecars(flush)) = fault.heal() else {
            panic!("flushed at heal");
        };
        assert!(flush.iter().all(|c| c.contains(&"-F".to_string())));
    }
}
