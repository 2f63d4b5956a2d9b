//! The timeline played on a topology that is up: cold-start waves, faults injected and
//! healed at their times (never two on the same containers), proxy checks, and a game
//! day's commands.

use super::proxy_check;
use super::replication::Replicator;
use super::topology::{self, Live};
use crate::inject::{ActiveFault, FaultBook, InjectError, Injector};
use crate::journal::{Event, Journal};
use crate::plan::{FaultPlan, Plan, StepPlan};
use crate::run::hosts::Fleet;
use crate::ui::Console;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

/// The timeline played: the fleet's cold starts, the faults and proxy checks at their
/// times, the replicator and canaries meanwhile, and a game day's commands.
pub(super) struct Timeline<'a> {
    pub(super) plan: &'a Plan,
    pub(super) live: &'a Live,
    pub(super) injector: &'a Injector,
    pub(super) faults: &'a FaultBook,
    pub(super) journal: &'a Journal,
    pub(super) console: &'a Console,
    /// Seeded image → its manifest digest, for the proxy checks.
    pub(super) digests: HashMap<String, String>,
}

impl Timeline<'_> {
    /// Plays the timeline to its end (a run) or until `drill down` (a game day), then
    /// stops the hosts and waits for every fault and check it started.
    pub(super) async fn play(
        &self,
        replication: Replicator,
        mut control: Option<mpsc::UnboundedReceiver<Control>>,
    ) {
        let (plan, journal, console) = (self.plan, self.journal, self.console);
        let t0 = tokio::time::Instant::now();
        let mirror_hosts = plan
            .hosts
            .iter()
            .map(|h| topology::mirror_hosts(plan, h))
            .collect();
        let mut fleet = Fleet::new(
            &plan.hosts,
            &self.live.entry_points,
            mirror_hosts,
            &self.live.access,
            self.injector.engine.clone(),
            journal.clone(),
        );
        let mut tasks = JoinSet::new();
        let run_over = CancellationToken::new();
        replication.spawn(
            &mut tasks,
            plan.canaries.map(|c| (c.every.0, c.size.0)),
            &run_over,
        );
        let mut wave = 0;
        let mut steps = plan.timeline.iter().peekable();
        // A run ends with its timeline; a game day when `drill down` says so.
        let end = if control.is_some() {
            None
        } else {
            Some(t0 + plan.duration)
        };
        let never = t0 + Duration::from_secs(365 * 24 * 3600);
        let ctx = || FaultContext {
            injector: self.injector,
            faults: self.faults,
            journal,
            console,
            run_over: &run_over,
        };
        loop {
            let next_at = steps.peek().map(|s| t0 + s.at);
            tokio::select! {
                _ = sleep_until(next_at.unwrap_or(never)), if next_at.is_some() => {
                    let step = steps.next().expect("peeked");
                    match &step.what {
                        StepPlan::ColdStart { hosts, ramp } => {
                            wave += 1;
                            console.say(format!("cold start wave {wave}: {} hosts", hosts.len()));
                            fleet.cold_start(wave, hosts, *ramp);
                        }
                        StepPlan::Fault(f) => {
                            spawn_fault(&mut tasks, ctx(), f, Some(t0 + step.at + f.duration), None);
                        }
                        StepPlan::ProxyCheck => {
                            console.say("proxy check: every upstream image through every proxy, by tag and by digest");
                            let (plan, entry_points, digests, journal) = (plan.clone(), self.live.entry_points.clone(), self.digests.clone(), journal.clone());
                            tasks.spawn(async move {
                                proxy_check::check(&plan, &entry_points, &digests, &journal).await;
                            });
                        }
                    }
                }
                _ = sleep_until(end.unwrap_or(never)), if end.is_some() => break,
                command = next_command(&mut control) => {
                    let Some(command) = command else { break };
                    if !obey(command, ctx(), &mut tasks, t0, &self.live.entry_points).await {
                        break;
                    }
                }
            }
        }
        console.say("timeline over: stopping hosts");
        fleet.stop().await;
        run_over.cancel();
        while tasks.join_next().await.is_some() {}
    }
}

/// Does what a game-day command asks; false when it asks the game day to end.
async fn obey(
    command: Control,
    ctx: FaultContext<'_>,
    tasks: &mut JoinSet<()>,
    t0: tokio::time::Instant,
    entry_points: &HashMap<String, String>,
) -> bool {
    match command {
        Control::Down => return false,
        Control::Inject(f, reply) => {
            let heal_at = (!f.duration.is_zero()).then(|| tokio::time::Instant::now() + f.duration);
            spawn_fault(tasks, ctx, &f, heal_at, Some(reply));
        }
        Control::Heal(id, reply) => {
            let active = ctx.faults.active();
            let ids: Vec<usize> = match id {
                Some(id) if !active.iter().any(|a| a.id == id) => {
                    let _ = reply.send(Err(active));
                    return true;
                }
                Some(id) => vec![id],
                None => active.iter().map(|a| a.id).collect(),
            };
            let mut healed = Vec::new();
            for id in ids.into_iter().rev() {
                ctx.console.say(format!("healing fault #{id} by hand"));
                if ctx.faults.heal(ctx.injector, id, ctx.journal).await {
                    healed.push(id);
                }
            }
            let _ = reply.send(Ok(healed));
        }
        Control::Note(text) => {
            ctx.console.say(format!("note: {text}"));
            ctx.journal.record(Event::Note { text });
        }
        Control::Status(reply) => {
            let _ = reply.send(Status {
                elapsed_s: t0.elapsed().as_secs_f64(),
                entry_points: entry_points.clone(),
                active_faults: ctx.faults.active(),
            });
        }
    }
    true
}

/// What a game day (`drill inject`, `heal`, `note`, `status`, `down`) asks of the
/// running session.
pub enum Control {
    Inject(Box<FaultPlan>, oneshot::Sender<Result<(), InjectError>>),
    /// Heal one fault, or every active one (None); replies with the ids healed, or,
    /// when the fault named is not active, with the faults that are.
    Heal(
        Option<usize>,
        oneshot::Sender<Result<Vec<usize>, Vec<ActiveFault>>>,
    ),
    Note(String),
    Status(oneshot::Sender<Status>),
    Down,
}

/// A running session's state, for `drill status`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Status {
    pub elapsed_s: f64,
    pub entry_points: std::collections::HashMap<String, String>,
    /// Every fault not yet healed, oldest first.
    pub active_faults: Vec<ActiveFault>,
}

async fn next_command(control: &mut Option<mpsc::UnboundedReceiver<Control>>) -> Option<Control> {
    match control {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

struct FaultContext<'a> {
    injector: &'a Injector,
    faults: &'a FaultBook,
    journal: &'a Journal,
    console: &'a Console,
    run_over: &'a CancellationToken,
}

/// Injects a fault in a task of its own, so faults at the same instant start together and
/// a slow injection never delays the rest of the timeline; heals it at `heal_at`, or when
/// the run ends (a fault longer than the run, or a game-day fault without `for`). A fault
/// that would act on containers an active one holds is refused, at once and in timeline
/// order, and does nothing.
fn spawn_fault(
    tasks: &mut JoinSet<()>,
    ctx: FaultContext<'_>,
    f: &FaultPlan,
    heal_at: Option<tokio::time::Instant>,
    reply: Option<oneshot::Sender<Result<(), InjectError>>>,
) {
    let acts_on = match (&f.volume, f.containers.is_empty()) {
        (_, false) => f.containers.join(", "),
        (Some(volume), true) => volume.clone(),
        (None, true) => format!("regions {}", f.regions.join(", ")),
    };
    let name = format!(
        "fault #{} {} {}{}",
        f.id,
        f.kind().name(),
        f.target,
        if f.manual { " (manual)" } else { "" }
    );
    if let Err(overlap) = ctx.faults.book(f, ctx.journal) {
        ctx.console.say(format!("{name} refused: {overlap}"));
        if let Some(reply) = reply {
            let _ = reply.send(Err(InjectError::Refused(overlap)));
        }
        return;
    }
    ctx.console.say(format!("{name}: {acts_on}"));
    let (injector, faults, journal, console, run_over) = (
        ctx.injector.clone(),
        ctx.faults.clone(),
        ctx.journal.clone(),
        ctx.console.clone(),
        ctx.run_over.clone(),
    );
    let f = f.clone();
    tasks.spawn(async move {
        let injected = faults.inject(&injector, &f, &journal).await;
        if let Err(InjectError::Partly(e)) = &injected {
            console.say(format!("warning: fault #{} was not wholly injected: {e}", f.id));
        }
        if let Some(reply) = reply {
            let _ = reply.send(injected);
        }
        if f.kind().is_instant() {
            return;
        }
        let heal_at = heal_at.map(sleep_until);
        tokio::select! {
            _ = async { match heal_at { Some(s) => s.await, None => std::future::pending().await } } => {}
            _ = run_over.cancelled() => {}
        }
        // Unless it was healed by hand meanwhile.
        if faults.active().iter().any(|a| a.id == f.id) {
            console.say(format!("healing fault #{}", f.id));
            faults.heal(&injector, f.id, &journal).await;
        }
    });
}
