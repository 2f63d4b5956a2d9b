//! Faults done for real to the run's containers, networks and storage, and their heals:
//! the [`Action`]s and [`Heal`]s each fault family (`faults`) describes, carried out
//! through the engine. Engine verbs go through the engine API; commands for a network
//! namespace run in a toolbox sidecar that shares it; storage commands run in a toolbox
//! container with the volume mounted.
//!
//! Every fault is booked in the [`FaultBook`] *before* it acts, so one that half
//! succeeded is still healed; heals run at the fault's end, on abort and on Ctrl-C,
//! newest first. Faults never stack: one that would act on a container an active fault
//! holds is refused before it does anything (the heal of one would undo the other, and
//! the report would charge one's disruption to the other).

pub mod command;
pub mod delay_proxy;
pub mod gate;
pub mod pending;

use crate::docker::engine::{ContainerSpec, Engine};
use crate::faults::command::Command;
use crate::faults::upstream::GateMode;
use crate::faults::{self, Action, Heal, Verb, STOP_GRACE};
use crate::inject::delay_proxy::DelayProxy;
use crate::journal::{Event, Journal};
use crate::model::error::DrillError;
use crate::model::kinds::CommandPhase;
use crate::plan::{FaultPlan, Plan, StepPlan, UpstreamPlan};
use crate::scenario::names::Target;
use crate::scenario::{BlobRef, FaultKind, LatencyVia};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything fault injection needs to know about the live run.
#[derive(Clone)]
pub struct Injector {
    pub engine: Engine,
    pub run_id: String,
    pub network: String,
    pub toolbox: String,
    /// Image reference → (config digest, layer digests), from seeding.
    pub blobs: HashMap<String, (String, Vec<String>)>,
    /// Delaying proxies in front of entry points, by load balancer container.
    pub proxies: Arc<Mutex<HashMap<String, Arc<DelayProxy>>>>,
    /// The upstream and its gate, the fault point of `upstream-*` faults.
    pub upstream: Option<UpstreamPlan>,
    /// The heals of `exec` faults not yet run, kept in the run folder.
    pub pending: pending::PendingHeals,
}

/// What a heal must undo.
#[derive(Debug, Clone)]
enum Undo {
    Start(Vec<String>),
    Unpause(Vec<String>),
    Reattach(Vec<String>),
    /// (sidecar, target, commands that remove the fault)
    Sidecars(Vec<(String, String, Vec<Vec<String>>)>),
    /// Load balancers whose delaying proxy goes back to pass-through.
    Proxy(Vec<String>),
    /// The upstream's gate, back to passing everything.
    Gate,
    /// (container holding the storage, command that deletes the filler file)
    Unfill(String, Vec<String>),
    /// The scenario's heal command.
    Run(Command),
    /// The fault's span ends; nothing is done.
    Nothing,
}

struct Active {
    fault: FaultPlan,
    /// None for an instant fault, booked only while it acts.
    undo: Option<Undo>,
    /// From booking until its injection ends or is dropped: a heal waits for it, so it
    /// never runs beside (or before) what it undoes.
    injecting: bool,
    /// While its heal runs: a second heal does nothing; a heal cancelled part-way (a
    /// run interrupted) leaves it to be healed again.
    healing: bool,
}

/// How long a heal waits for the injection it undoes to end: every injection is
/// bounded (engine calls, commands' timeouts) and one dropped ends at once; past this,
/// something is wrong and healing matters more.
const INJECTION_WAIT: Duration = Duration::from_secs(300);

/// Clears a fault's flag when the step that set it ends, also when it is dropped.
struct Flag<'a> {
    book: &'a FaultBook,
    id: usize,
    clear: fn(&mut Active),
}

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        let mut book = self.book.active.lock().expect("fault book lock");
        if let Some(a) = book.iter_mut().find(|a| a.fault.id == self.id) {
            (self.clear)(a);
        }
    }
}

/// A fault injected and not yet healed (or an instant one still acting), as `drill
/// status` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActiveFault {
    pub id: usize,
    pub kind: FaultKind,
    pub target: String,
    /// Injected by hand (`drill inject`), not by the timeline.
    pub manual: bool,
}

impl ActiveFault {
    fn of(f: &FaultPlan) -> ActiveFault {
        ActiveFault {
            id: f.id,
            kind: f.kind(),
            target: f.target.clone(),
            manual: f.manual,
        }
    }
}

impl std::fmt::Display for ActiveFault {
    /// `#3 kill eu-a-1 (manual)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (id, kind, target) = (self.id, self.kind.name(), &self.target);
        write!(
            f,
            "#{id} {kind} {target} ({})",
            crate::journal::origin(self.manual)
        )
    }
}

/// A fault refused because it would act on containers an active fault holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    pub active: ActiveFault,
    /// The containers both would act on.
    pub shared: Vec<String>,
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "it would act on {}, which fault {} holds, and the heal of one would undo the other",
            self.shared.join(", "),
            self.active
        )
    }
}

/// Why a fault asked for was not wholly injected.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// Nothing was done: it overlaps an active fault.
    #[error(
        "refused, nothing was done: {0}. Heal #{id} first (`drill heal {id}`) or wait until it ends",
        id = .0.active.id
    )]
    Refused(Overlap),
    /// Acting failed part-way (the engine refused, a command failed); what was done is
    /// undone at its heal.
    #[error("not wholly injected ({0}); what was done is undone when it is healed")]
    Partly(#[source] DrillError),
}

/// The containers two faults both act on, in `new`'s order.
fn shared_containers(new: &FaultPlan, held: &FaultPlan) -> Vec<String> {
    new.containers
        .iter()
        .filter(|c| held.containers.contains(c))
        .cloned()
        .collect()
}

/// Faults injected and not yet healed.
#[derive(Clone, Default)]
pub struct FaultBook {
    active: Arc<Mutex<Vec<Active>>>,
}

impl FaultBook {
    /// Books a fault before it acts, or refuses it when it would act on a container an
    /// active fault holds: then nothing is done, and the refusal is recorded with the
    /// fault it overlapped. Checked and booked at once, so of two overlapping faults
    /// exactly the first is injected.
    pub fn book(&self, fault: &FaultPlan, journal: &Journal) -> Result<(), Overlap> {
        let mut book = self.active.lock().expect("fault book lock");
        let overlap = book.iter().find_map(|a| {
            let shared = shared_containers(fault, &a.fault);
            (!shared.is_empty()).then(|| Overlap {
                active: ActiveFault::of(&a.fault),
                shared,
            })
        });
        if let Some(o) = overlap {
            journal.record(Event::FaultRefused {
                fault: fault.id,
                kind: fault.kind(),
                target: fault.target.clone(),
                manual: fault.manual,
                active: o.active.id,
                shared: o.shared.clone(),
            });
            return Err(o);
        }
        book.push(Active {
            fault: fault.clone(),
            undo: undo_for(fault),
            injecting: true,
            healing: false,
        });
        Ok(())
    }

    /// Does a fault [`FaultBook::book`] accepted, and records it. Members are acted on
    /// together, so a zone or region goes down at one instant. Whatever part of the fault
    /// gets done is undone at heal, since it was booked first.
    pub async fn inject(
        &self,
        inj: &Injector,
        fault: &FaultPlan,
        journal: &Journal,
    ) -> Result<(), InjectError> {
        let _injecting = Flag {
            book: self,
            id: fault.id,
            clear: |a| a.injecting = false,
        };
        // Kept before the fault acts, so that a kill -9 during its command leaves its heal.
        let kept = match undo_for(fault) {
            Some(Undo::Run(heal)) => inj.pending.add(inj.pending_heal(fault, heal)),
            _ => Ok(()),
        };
        // Sidecars are started before the instant is recorded, so it marks the moment the
        // fault is done to the target, not drill's preparation.
        let prepared = match kept {
            Ok(()) => inj.prepare(fault).await,
            Err(e) => Err(e),
        };
        // Recorded also when preparing failed, so that the reports show the fault.
        journal.record(Event::FaultInjected {
            fault: fault.id,
            kind: fault.kind(),
            target: fault.target.clone(),
            members: fault.containers.clone(),
            regions: fault.regions.clone(),
            method: fault.fault.method(),
            manual: fault.manual,
        });
        let done = match prepared {
            Ok(()) => inj.apply(fault, journal).await,
            Err(e) => Err(e),
        };
        if let Err(e) = &done {
            journal.record(Event::FaultFailed {
                fault: fault.id,
                error: e.to_string(),
            });
        }
        if fault.kind().is_instant() {
            // Over once it has acted: nothing holds its containers any more.
            let mut book = self.active.lock().expect("fault book lock");
            book.retain(|a| a.fault.id != fault.id);
        }
        done.map_err(InjectError::Partly)
    }

    /// Heals one fault if it is still active. Returns false when the heal failed.
    pub async fn heal(&self, inj: &Injector, id: usize, journal: &Journal) -> bool {
        let waited = tokio::time::Instant::now();
        let (fault, undo) = loop {
            {
                let mut book = self.active.lock().expect("fault book lock");
                let Some(a) = book
                    .iter_mut()
                    .find(|a| a.fault.id == id && a.undo.is_some())
                else {
                    return true;
                };
                // A heal under way ends (the fault leaves the book) or is cancelled
                // (the flag clears): either way this one then knows what to do.
                if !a.healing && (!a.injecting || waited.elapsed() > INJECTION_WAIT) {
                    a.healing = true;
                    break (a.fault.clone(), a.undo.clone().expect("found with an undo"));
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let healing = Flag {
            book: self,
            id,
            clear: |a| a.healing = false,
        };
        let began = journal.now_us();
        let errors = inj.undo(&fault, &undo, journal).await;
        // Done, whatever it did: the fault leaves the book.
        std::mem::forget(healing);
        self.active
            .lock()
            .expect("fault book lock")
            .retain(|a| a.fault.id != id);
        let ok = errors.is_empty();
        if ok && matches!(undo, Undo::Run(_)) {
            if let Err(e) = inj.pending.remove(fault.id) {
                eprintln!("warning: fault #{} is healed, but {e}", fault.id);
            }
        }
        journal.record_at(
            began,
            Event::FaultHealed {
                fault: fault.id,
                ok,
                error: (!ok).then(|| errors.join("; ")),
            },
        );
        ok
    }

    /// Every fault not yet healed, oldest first.
    pub fn active(&self) -> Vec<ActiveFault> {
        self.active
            .lock()
            .expect("fault book lock")
            .iter()
            .map(|a| ActiveFault::of(&a.fault))
            .collect()
    }

    /// Heals every active fault, newest first. Returns false if any heal failed.
    pub async fn heal_all(&self, inj: &Injector, journal: &Journal) -> bool {
        let ids: Vec<usize> = self
            .active
            .lock()
            .expect("fault book lock")
            .iter()
            .rev()
            .filter(|a| a.undo.is_some())
            .map(|a| a.fault.id)
            .collect();
        let mut ok = true;
        for id in ids {
            ok &= self.heal(inj, id, journal).await;
        }
        ok
    }
}

fn sidecar_name(container: &str, fault: usize) -> String {
    format!("{container}-fault{fault}")
}

/// The heal of a fault, known before it acts; None for instant faults.
fn undo_for(f: &FaultPlan) -> Option<Undo> {
    let all = f.containers.clone();
    Some(match f.fault.heal()? {
        Heal::Start => Undo::Start(all),
        Heal::Unpause => Undo::Unpause(all),
        Heal::Reattach => Undo::Reattach(all),
        Heal::Sidecars(commands) => Undo::Sidecars(
            f.containers
                .iter()
                .map(|c| (sidecar_name(c, f.id), c.clone(), commands.clone()))
                .collect(),
        ),
        Heal::PassThrough => Undo::Proxy(all),
        Heal::Gate => Undo::Gate,
        Heal::Unfill => Undo::Unfill(all.first()?.clone(), faults::unfill_command(f.id)),
        Heal::Run(command) => Undo::Run(command),
        Heal::Nothing => Undo::Nothing,
    })
}

/// Runs the same engine action on every container at once; collects the errors.
async fn on_all<'a, F, Fut>(containers: &'a [String], action: F) -> Result<(), DrillError>
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = Result<(), DrillError>>,
{
    all_of(containers.iter().map(|c| action(c))).await
}

/// Awaits every action together; fails with all their errors.
async fn all_of<Fut>(actions: impl Iterator<Item = Fut>) -> Result<(), DrillError>
where
    Fut: std::future::Future<Output = Result<(), DrillError>>,
{
    let errors: Vec<String> = futures_util::future::join_all(actions)
        .await
        .into_iter()
        .filter_map(|r| r.err().map(|e| e.to_string()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DrillError::setup(errors.join("; ")))
    }
}

impl Injector {
    async fn apply(&self, f: &FaultPlan, journal: &Journal) -> Result<(), DrillError> {
        for action in f.fault.actions() {
            self.act(f, action, journal).await?;
        }
        Ok(())
    }

    async fn act(
        &self,
        f: &FaultPlan,
        action: Action,
        journal: &Journal,
    ) -> Result<(), DrillError> {
        let e = &self.engine;
        let members = &f.containers;
        match action {
            Action::Engine(Verb::Kill) => on_all(members, |c| e.kill(c)).await,
            Action::Engine(Verb::Stop) => on_all(members, |c| e.stop(c, STOP_GRACE)).await,
            Action::Engine(Verb::Restart) => on_all(members, |c| e.restart(c)).await,
            Action::Engine(Verb::Pause) => on_all(members, |c| e.pause(c)).await,
            Action::Engine(Verb::Detach) => on_all(members, |c| e.detach(&self.network, c)).await,
            Action::Sidecars(commands) => {
                let per_member = members
                    .iter()
                    .map(|c| (c.clone(), commands.clone()))
                    .collect();
                self.run_in_sidecars(f.id, per_member).await
            }
            Action::Partition => self.partition(f).await,
            Action::Delay { delay, jitter } => self.set_proxies(members, delay, jitter),
            Action::Gate(mode) => {
                let upstream = self
                    .upstream
                    .as_ref()
                    .ok_or_else(|| DrillError::setup("the scenario has no upstream to act on"))?;
                gate::switch(e, upstream, mode).await
            }
            Action::WipeProxy => self.wipe_proxy(f).await,
            Action::Run(c) => self.run_command(f, CommandPhase::Inject, &c, journal).await,
            Action::Blob {
                image,
                blob,
                corrupt,
            } => self.damage_blob(f, &image, blob, corrupt).await,
            Action::Fill => {
                let keeper = members.first().ok_or_else(|| {
                    DrillError::setup("fill-disk: the region has no size-limited storage")
                })?;
                let df = e.exec(keeper, &faults::fill_command(f.id)).await?;
                match faults::df_available_kib(&df) {
                    Some(0) => Ok(()),
                    left => Err(DrillError::setup(format!(
                        "fill-disk: the storage volume still has room after filling ({left:?} KiB free): {df}"
                    ))),
                }
            }
        }
    }

    /// Each group's members drop the other groups' addresses, as the engine gives them.
    async fn partition(&self, f: &FaultPlan) -> Result<(), DrillError> {
        let mut addresses: HashMap<&str, String> = HashMap::new();
        for c in &f.containers {
            if let Some(ip) = self.engine.address(c, &self.network).await? {
                addresses.insert(c, ip);
            }
        }
        let mut per_member = Vec::new();
        for (gi, group) in f.groups.iter().enumerate() {
            let others: Vec<&String> = f
                .groups
                .iter()
                .enumerate()
                .filter(|(gj, _)| *gj != gi)
                .flat_map(|(_, g)| g.iter())
                .filter_map(|c| addresses.get(c.as_str()))
                .collect();
            for c in group {
                per_member.push((c.clone(), faults::partition_rules(&others)));
            }
        }
        self.run_in_sidecars(f.id, per_member).await
    }

    /// Empties a proxy's storage while it is down, so it starts again with nothing cached
    /// (and no in-memory descriptor cache remembering what was there).
    async fn wipe_proxy(&self, f: &FaultPlan) -> Result<(), DrillError> {
        let proxy = f
            .containers
            .first()
            .ok_or_else(|| DrillError::setup("cache-wipe: no proxy to wipe"))?;
        self.engine.kill(proxy).await?;
        let wiped = self
            .in_storage(f, faults::WIPE.map(String::from).to_vec())
            .await;
        let started = self.engine.start(proxy).await;
        wiped.and(started)
    }

    /// Starts a toolbox sidecar in each member's network namespace, for the faults
    /// that act from one.
    async fn prepare(&self, f: &FaultPlan) -> Result<(), DrillError> {
        let Some(Undo::Sidecars(sidecars)) = undo_for(f) else {
            return Ok(());
        };
        let starts = sidecars.into_iter().map(|(name, target, _)| async move {
            let spec = ContainerSpec {
                name: name.clone(),
                image: self.toolbox.clone(),
                netns_of: Some(target),
                cap_add: vec!["NET_ADMIN".into()],
                labels: vec![("drill.role".into(), "fault-sidecar".into())],
                ..Default::default()
            };
            self.engine.create_container(&self.run_id, &spec).await?;
            self.engine.start(&name).await
        });
        all_of(starts).await
    }

    /// Runs each member's commands in its sidecar (started by [`Injector::prepare`]).
    async fn run_in_sidecars(
        &self,
        fault: usize,
        per_member: Vec<(String, Vec<Vec<String>>)>,
    ) -> Result<(), DrillError> {
        let runs = per_member.into_iter().map(|(target, commands)| async move {
            let name = sidecar_name(&target, fault);
            for cmd in &commands {
                self.engine.exec(&name, cmd).await?;
            }
            Ok::<(), DrillError>(())
        });
        all_of(runs).await
    }

    async fn damage_blob(
        &self,
        f: &FaultPlan,
        image: &str,
        blob: Option<BlobRef>,
        corrupt: bool,
    ) -> Result<(), DrillError> {
        let (config, layers) = self
            .blobs
            .get(image)
            .ok_or_else(|| DrillError::setup(format!("image {image} was not seeded")))?;
        let digest = match blob {
            Some(BlobRef::Config) => Some(config),
            Some(BlobRef::Layer(n)) => layers.get(n),
            None => layers.first(),
        }
        .ok_or_else(|| DrillError::setup(format!("image {image} has no such blob")))?;
        // Validation refuses blob faults on a storage whose layout nobody declared.
        let layout = f.layout.as_ref().ok_or_else(|| {
            DrillError::setup(format!(
                "{}: the storage of the region it damages has no declared layout",
                f.kind().name()
            ))
        })?;
        self.in_storage(f, faults::blob_command(corrupt, digest, layout))
            .await
    }

    /// Runs one command in a throwaway toolbox container with the fault's storage volume
    /// mounted at `/storage`.
    async fn in_storage(&self, f: &FaultPlan, cmd: Vec<String>) -> Result<(), DrillError> {
        let volume = f.volume.clone().unwrap_or_default();
        let name = format!("drill-{}-storage-fault{}", self.run_id, f.id);
        let spec = ContainerSpec {
            name: name.clone(),
            image: self.toolbox.clone(),
            network: "none".into(),
            volumes: vec![(volume, "/storage".into())],
            labels: vec![("drill.role".into(), "storage-fault".into())],
            ..Default::default()
        };
        self.engine.create_container(&self.run_id, &spec).await?;
        self.engine.start(&name).await?;
        let result = self.engine.exec(&name, &cmd).await;
        self.engine.remove_container(&name).await?;
        result?;
        Ok(())
    }

    /// The variables and heal command `drill heal --pending` needs to heal it later.
    fn pending_heal(&self, f: &FaultPlan, heal: Command) -> pending::PendingHeal {
        pending::PendingHeal {
            fault: f.id,
            name: f.target.clone(),
            command: heal,
            env: command::environment(&self.run_id, f.id, &f.target, &f.regions),
        }
    }

    /// Runs one of the scenario's commands for a fault and records what it did.
    async fn run_command(
        &self,
        f: &FaultPlan,
        phase: CommandPhase,
        c: &Command,
        journal: &Journal,
    ) -> Result<(), DrillError> {
        let env = command::environment(&self.run_id, f.id, &f.target, &f.regions);
        let began = journal.now_us();
        let ran = command::run(c, phase, &env).await;
        let failure = ran.failure(c);
        journal.record_at(
            began,
            Event::FaultCommand(crate::journal::CommandRecord {
                fault: f.id,
                phase,
                command: c.line(),
                exit: ran.exit,
                timed_out: ran.timed_out,
                took_us: ran.took.as_micros() as u64,
                stdout: ran.stdout,
                stderr: ran.stderr,
                error: failure.clone(),
            }),
        );
        match failure {
            None => Ok(()),
            Some(why) => Err(DrillError::setup(why)),
        }
    }

    async fn undo(&self, f: &FaultPlan, undo: &Undo, journal: &Journal) -> Vec<String> {
        let e = &self.engine;
        let result = match undo {
            Undo::Run(c) => self.run_command(f, CommandPhase::Heal, c, journal).await,
            Undo::Nothing => Ok(()),
            // In plan order: a region's nodes come back before its load balancer.
            Undo::Start(cs) => {
                let mut errors = Vec::new();
                for c in cs {
                    if let Err(err) = e.start(c).await {
                        errors.push(err.to_string());
                    }
                }
                return errors;
            }
            Undo::Unpause(cs) => on_all(cs, |c| e.unpause(c)).await,
            Undo::Proxy(lbs) => self.set_proxies(lbs, Duration::ZERO, Duration::ZERO),
            Undo::Gate => match &self.upstream {
                Some(upstream) => gate::switch(e, upstream, GateMode::Pass).await,
                None => Ok(()),
            },
            Undo::Unfill(keeper, rm) => e.exec(keeper, rm).await.map(|_| ()).map_err(Into::into),
            Undo::Reattach(cs) => on_all(cs, |c| e.attach(&self.network, c)).await,
            Undo::Sidecars(list) => {
                let mut errors = Vec::new();
                for (sidecar, target, commands) in list {
                    // A target restarted meanwhile has a new network namespace: the rules
                    // died with the old one and there is nothing to remove.
                    if e.is_running(target).await && e.is_running(sidecar).await {
                        for cmd in commands {
                            if let Err(err) = e.exec(sidecar, cmd).await {
                                errors.push(err.to_string());
                            }
                        }
                    }
                    if let Err(err) = e.remove_container(sidecar).await {
                        errors.push(err.to_string());
                    }
                }
                return errors;
            }
        };
        result
            .err()
            .map(|e| vec![e.to_string()])
            .unwrap_or_default()
    }

    fn set_proxies(
        &self,
        lbs: &[String],
        delay: Duration,
        jitter: Duration,
    ) -> Result<(), DrillError> {
        let proxies = self.proxies.lock().expect("proxy lock");
        for lb in lbs {
            let proxy = proxies.get(lb).ok_or_else(|| {
                DrillError::setup(format!("no delaying proxy runs in front of {lb}"))
            })?;
            proxy.set(delay, jitter);
        }
        Ok(())
    }

    /// Decides how each latency fault is injected, before anything starts: netem where
    /// the kernel has it, otherwise drill's delaying proxy in front of an entry point.
    /// A latency fault that neither can inject is refused with the reason.
    pub async fn resolve_latency(&self, plan: &mut Plan) -> Result<(), DrillError> {
        let mut latency: Vec<&mut FaultPlan> = plan
            .timeline
            .iter_mut()
            .filter_map(|s| match &mut s.what {
                StepPlan::Fault(f) if f.kind() == FaultKind::Latency => Some(&mut **f),
                _ => None,
            })
            .collect();
        if latency.iter_mut().all(|f| {
            f.fault
                .latency_via()
                .is_some_and(|v| *v == Some(LatencyVia::Proxy))
        }) {
            return Ok(());
        }
        let netem = self.netem_missing().await?;
        for f in &mut latency {
            let on_lb = matches!(f.on, Some(Target::LoadBalancer(_)));
            let Some(via) = f.fault.latency_via() else {
                continue;
            };
            *via = match (*via, &netem) {
                (Some(via), None) => Some(via),
                (Some(LatencyVia::Proxy), Some(_)) => Some(LatencyVia::Proxy),
                (None, None) => Some(LatencyVia::Netem),
                (None, Some(_)) if on_lb => Some(LatencyVia::Proxy),
                (_, Some(why)) => {
                    return Err(DrillError::setup(format!(
                        "fault #{} (latency on {}) needs netem, but this kernel cannot add latency: the netem qdisc is missing ({why}). \
                         Target a load balancer (<region>-lb) so drill can use its delaying proxy, or run on a kernel with sch_netem",
                        f.id, f.target
                    )))
                }
            };
        }
        Ok(())
    }

    /// Why netem cannot be used here, or None when it can; tried in a throwaway container.
    async fn netem_missing(&self) -> Result<Option<String>, DrillError> {
        let name = format!("drill-{}-netem-check", self.run_id);
        let spec = ContainerSpec {
            name: name.clone(),
            image: self.toolbox.clone(),
            network: "none".into(),
            cap_add: vec!["NET_ADMIN".into()],
            ..Default::default()
        };
        self.engine.create_container(&self.run_id, &spec).await?;
        self.engine.start(&name).await?;
        let probe = self
            .engine
            .exec(
                &name,
                &faults::tc(&["qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]),
            )
            .await;
        self.engine.remove_container(&name).await?;
        Ok(probe.err().map(|e| e.to_string()))
    }

    /// Starts a delaying proxy in front of each entry point a proxied latency fault
    /// targets; hosts and probes then reach that region through it.
    pub async fn start_proxies(
        &self,
        plan: &Plan,
        entry_points: &mut HashMap<String, String>,
    ) -> Result<(), DrillError> {
        for step in &plan.timeline {
            let StepPlan::Fault(f) = &step.what else {
                continue;
            };
            if !matches!(f.fault.actions().as_slice(), [Action::Delay { .. }]) {
                continue;
            }
            for region in plan
                .regions
                .iter()
                .filter(|r| f.containers.contains(&r.load_balancer))
            {
                if self
                    .proxies
                    .lock()
                    .expect("proxy lock")
                    .contains_key(&region.load_balancer)
                {
                    continue;
                }
                let direct = &entry_points[&region.name];
                // The proxy relays bytes, so TLS passes through it end to end.
                let (scheme, authority) = direct.split_once("://").unwrap_or(("http", direct));
                let upstream: std::net::SocketAddr = authority
                    .parse()
                    .map_err(|e| DrillError::setup_from(format!("entry point {direct}"), e))?;
                let proxy = DelayProxy::start(upstream).await.map_err(|e| {
                    DrillError::setup_from(
                        format!("cannot start the delaying proxy for {}", region.name),
                        e,
                    )
                })?;
                entry_points.insert(region.name.clone(), format!("{scheme}://{}", proxy.addr));
                self.proxies
                    .lock()
                    .expect("proxy lock")
                    .insert(region.load_balancer.clone(), Arc::new(proxy));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zone outage and a kill of the zone's node overlap (one set of containers holds
    /// the other); the load balancer and the other zone do not.
    const OVERLAPPING: &str = r#"
name: overlap-test
duration: 60s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
images:
  - { ref: team/app:1, layers: [1KiB] }
hosts:
  - { name: fleet, region: eu, per_zone: 1, mirrors: [region], pull: [team/app:1] }
timeline:
  - { at: 1s, fault: kill, target: eu-a-1, for: 10s }
  - { at: 2s, fault: zone-outage, target: eu-a, for: 5s }
  - { at: 3s, fault: blackhole, target: eu-lb, for: 5s }
  - { at: 4s, fault: restart, target: eu-a-1 }
  - { at: 5s, fault: zone-outage, target: eu-b, for: 5s }
"#;

    #[test]
    fn why_a_fault_was_not_injected_reads_as_the_game_day_shows_it() {
        use std::error::Error;
        let refused = InjectError::Refused(Overlap {
            active: ActiveFault {
                id: 2,
                kind: FaultKind::ZoneOutage,
                target: "eu-a".into(),
                manual: true,
            },
            shared: vec!["drill-x-eu-a-1".into()],
        });
        assert_eq!(
            refused.to_string(),
            "refused, nothing was done: it would act on drill-x-eu-a-1, which fault #2 zone-outage eu-a (manual) holds, \
             and the heal of one would undo the other. Heal #2 first (`drill heal 2`) or wait until it ends"
        );
        let partly = InjectError::Partly(DrillError::setup(
            "no delaying proxy runs in front of eu-lb",
        ));
        assert_eq!(
            partly.to_string(),
            "not wholly injected (no delaying proxy runs in front of eu-lb); what was done is undone when it is healed"
        );
        assert!(partly.source().is_some());
    }

    #[tokio::test]
    async fn a_fault_on_containers_an_active_fault_holds_is_refused_and_recorded() {
        let scenario = crate::faults::parse(OVERLAPPING).unwrap();
        let plan = crate::plan::build(&scenario, "0badcafe", 1);
        let faults: Vec<&FaultPlan> = plan
            .timeline
            .iter()
            .filter_map(|s| match &s.what {
                StepPlan::Fault(f) => Some(&**f),
                _ => None,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let (journal, writer) = Journal::create(&path, Vec::new(), Vec::new()).unwrap();
        let book = FaultBook::default();
        let outcomes: Vec<Result<(), Overlap>> =
            faults.iter().map(|f| book.book(f, &journal)).collect();
        let node = "drill-0badcafe-eu-a-1".to_string();
        let by_kill = Err(Overlap {
            active: ActiveFault {
                id: 1,
                kind: FaultKind::Kill,
                target: "eu-a-1".into(),
                manual: false,
            },
            shared: vec![node.clone()],
        });
        assert_eq!(outcomes, [Ok(()), by_kill.clone(), Ok(()), by_kill, Ok(())]);
        let active: Vec<usize> = book.active().iter().map(|a| a.id).collect();
        assert_eq!(active, [1, 3, 5]);
        drop(journal);
        writer.finish().await.unwrap();
        let refused: Vec<(usize, usize, Vec<String>)> = crate::journal::read(&path)
            .unwrap()
            .records
            .into_iter()
            .filter_map(|r| match r.event {
                Event::FaultRefused {
                    fault,
                    active,
                    shared,
                    ..
                } => Some((fault, active, shared)),
                _ => None,
            })
            .collect();
        assert_eq!(
            refused,
            [(2, 1, vec![node.clone()]), (4, 1, vec![node])],
            "each refusal recorded with the fault it met"
        );
    }
}
