//! Game days: `drill up` keeps a scenario's topology running, with its fleets, probes and
//! timeline, until `drill down`; meanwhile `drill inject`, `heal`, `note` and `status`
//! talk to it over a Unix socket in `<out>/.up/<scenario>/`. One request per
//! connection, one JSON line each way.

use crate::inject::ActiveFault;
use crate::model::error::{exit, DrillError};
use crate::plan::{self, Plan};
use crate::run::runner::{self, RunOptions};
use crate::run::timeline::{Control, Status};
use crate::scenario::{self, FaultKind, Scenario};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// A fault as a timeline step's fields (`fault`, `target`, `for`, parameters), each
    /// a JSON value, read by the game day as the scenario file reads a step.
    Inject {
        step: serde_json::Value,
    },
    Heal {
        fault: Option<usize>,
    },
    /// Ends a fault `drill mark start` marked (and only such a fault).
    MarkEnd {
        fault: usize,
    },
    Note {
        text: String,
    },
    Status,
    Down,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Injected {
        fault: usize,
    },
    Healed {
        faults: Vec<usize>,
    },
    Noted,
    Status {
        #[serde(flatten)]
        now: Status,
        /// The timeline's faults not yet due, in time order.
        upcoming: Vec<Upcoming>,
        /// The number the next `drill inject` gets.
        next_fault: usize,
    },
    Stopping,
    Error {
        message: String,
    },
}

/// A fault of the timeline still to come: its number is fixed in advance.
#[derive(Debug, Serialize, Deserialize)]
pub struct Upcoming {
    pub id: usize,
    pub kind: FaultKind,
    pub target: String,
    /// When it is due, on the timeline's clock (the scenario's `at:`).
    pub at_s: f64,
}

/// What `drill down` reads once the game day has finished.
#[derive(Debug, Serialize, Deserialize)]
struct Outcome {
    exit_code: u8,
    run_folder: PathBuf,
}

fn session_dir(out: &Path, scenario: &str) -> PathBuf {
    out.join(".up").join(scenario)
}

/// `drill up`: runs the scenario until `drill down` (or Ctrl-C).
pub async fn up(path: &Path, opts: &RunOptions) -> Result<u8, DrillError> {
    let scenario = runner::load(path, &opts.console)?;
    let dir = session_dir(&opts.out, &scenario.name.value);
    let socket = dir.join("control.sock");
    if UnixStream::connect(&socket).await.is_ok() {
        return Err(DrillError::Usage(format!(
            "a game day of scenario {} is already up (socket {}); end it with `drill down --scenario {}` first",
            scenario.name.value,
            socket.display(),
            scenario.name.value
        )));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| DrillError::setup(format!("cannot create {}: {e}", dir.display())))?;
    // A socket file without a listener is what a killed `up` leaves behind.
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(dir.join("outcome.json"));
    let listener = UnixListener::bind(&socket)
        .map_err(|e| DrillError::setup(format!("cannot listen on {}: {e}", socket.display())))?;

    let seed = opts.seed.or(scenario.seed).unwrap_or_else(rand::random);
    let plan = plan::build(&scenario, &plan::new_run_id(), seed);
    let others = up_under(&opts.out)
        .into_iter()
        .any(|name| name != plan.scenario);
    let (tx, rx) = mpsc::unbounded_channel();
    let server = tokio::spawn(serve(listener, Arc::new(scenario), plan.clone(), tx));
    opts.console.say(banner(&plan, &opts.out, others));
    let result = runner::run_plan(plan, opts, Some(rx)).await;
    server.abort();
    let _ = std::fs::remove_file(&socket);
    let (code, run_folder) = match &result {
        // Absolute: `drill down` may run in another folder.
        Ok((code, folder)) => (*code, std::path::absolute(folder).unwrap_or(folder.clone())),
        Err(e) => (e.exit_code(), PathBuf::new()),
    };
    let outcome = serde_json::to_vec(&Outcome {
        exit_code: code,
        run_folder,
    })
    .expect("serializes");
    // `drill down` reads it: whole or absent, never half written.
    let _ = crate::model::atomic_file::write(&dir.join("outcome.json"), &outcome);
    result.map(|(code, _)| code)
}

/// What `up` prints first: the commands that talk to it, each to be pasted as it is,
/// and the numbers its faults take.
fn banner(plan: &Plan, out: &Path, others_up: bool) -> String {
    let mut flags = String::new();
    if others_up {
        flags.push_str(&format!(" --scenario {}", plan.scenario));
    }
    if out != Path::new(DEFAULT_OUT) {
        flags.push_str(&format!(
            " --out {}",
            crate::faults::command::quoted(&out.display().to_string())
        ));
    }
    let here = if out.is_relative() {
        std::env::current_dir()
            .map(|d| format!(", in {}", d.display()))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let victim = plan
        .regions
        .first()
        .and_then(|r| r.nodes.first())
        .map_or("upstream", |n| n.name.as_str());
    let scripted = scripted_faults(plan);
    let numbers = match scripted.len() {
        0 => "faults you inject are numbered from #1".to_string(),
        1 => "the timeline's fault is #1 (`drill status` lists it); faults you inject are numbered from #2".to_string(),
        n => format!(
            "the timeline's faults are #1 to #{n} (`drill status` lists them); faults you inject are numbered from #{}",
            n + 1
        ),
    };
    [
        format!("game day of {}; from another terminal{here}:", plan.scenario),
        format!("  drill status{flags}    # entry points, faults and their numbers"),
        match &plan.external {
            // Its faults are done by something else than drill.
            Some(_) => format!("  drill mark start \"what was done\"{flags}    # a fault drill does not inject; end it with drill mark end <number>"),
            None => format!("  drill inject kill {victim} --for 30s{flags}    # any fault of the catalogue"),
        },
        format!("  drill note \"paging the on-call\"{flags}    # a note in the journal and every report"),
        format!("  drill heal --all{flags}    # or one: drill heal <number>"),
        format!("  drill down{flags}    # heal, verify, tear down, write the reports"),
        numbers,
    ]
    .join("\n")
}

/// The timeline's faults, in timeline order (the order of their numbers).
fn scripted_faults(plan: &Plan) -> Vec<(Duration, &plan::FaultPlan)> {
    plan.timeline
        .iter()
        .filter_map(|s| match &s.what {
            plan::StepPlan::Fault(f) => Some((s.at, &**f)),
            _ => None,
        })
        .collect()
}

async fn serve(
    listener: UnixListener,
    scenario: Arc<Scenario>,
    plan: Plan,
    tx: mpsc::UnboundedSender<Control>,
) {
    let next_id = Arc::new(AtomicUsize::new(scripted_faults(&plan).len() + 1));
    while let Ok((stream, _)) = listener.accept().await {
        let (scenario, plan, tx, next_id) =
            (scenario.clone(), plan.clone(), tx.clone(), next_id.clone());
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(read).read_line(&mut line).await.is_err() {
                return;
            }
            let reply = match serde_json::from_str::<Request>(&line) {
                Ok(request) => handle(request, &scenario, &plan, &tx, &next_id).await,
                Err(e) => Reply::Error {
                    message: format!("bad request: {e}"),
                },
            };
            let mut out = serde_json::to_vec(&reply).expect("serializes");
            out.push(b'\n');
            let _ = write.write_all(&out).await;
        });
    }
}

async fn handle(
    request: Request,
    scenario: &Scenario,
    plan: &Plan,
    tx: &mpsc::UnboundedSender<Control>,
    next_id: &AtomicUsize,
) -> Reply {
    let gone = || Reply::Error {
        message: "the game day is ending".into(),
    };
    match request {
        Request::Inject { step } => {
            let typed = match scenario::read_step(&step)
                .and_then(|step| crate::faults::by_hand(scenario, &step).map(|f| (step, f)))
            {
                Ok(typed) => typed,
                Err(message) => return Reply::Error { message },
            };
            let (step, typed) = typed;
            let id = next_id.fetch_add(1, Ordering::SeqCst);
            // Seeded per fault, so the same seed picks the same victims.
            let mut rng = StdRng::seed_from_u64(plan.seed ^ id as u64);
            let lasts = step.duration.map(|d| d.0).unwrap_or_default();
            let mut fault = plan.plan_fault(scenario, id, typed, lasts, &mut rng);
            fault.manual = true;
            let words = fault_words(fault.kind(), &step);
            let (reply, answer) = oneshot::channel();
            if tx.send(Control::Inject(Box::new(fault), reply)).is_err() {
                return gone();
            }
            match answer.await {
                Ok(Ok(())) => Reply::Injected { fault: id },
                Ok(Err(e)) => Reply::Error {
                    message: format!("fault #{id} {words}: {e}"),
                },
                Err(_) => gone(),
            }
        }
        Request::Heal { fault } => {
            let (reply, answer) = oneshot::channel();
            if tx.send(Control::Heal(fault, reply)).is_err() {
                return gone();
            }
            match answer.await {
                Ok(Ok(faults)) => Reply::Healed { faults },
                Ok(Err(active)) => Reply::Error {
                    message: not_active(plan, fault.unwrap_or_default(), &active),
                },
                Err(_) => gone(),
            }
        }
        Request::MarkEnd { fault } => {
            let (reply, answer) = oneshot::channel();
            if tx.send(Control::Status(reply)).is_err() {
                return gone();
            }
            let Ok(now) = answer.await else {
                return gone();
            };
            match now.active_faults.iter().find(|a| a.id == fault) {
                Some(a) if a.kind != FaultKind::External => {
                    return Reply::Error {
                        message: format!(
                            "fault #{fault} is a {} fault drill injected, not one marked: heal it with `drill heal {fault}`",
                            a.kind.name()
                        ),
                    }
                }
                Some(_) => {}
                None => {
                    return Reply::Error {
                        message: not_active(plan, fault, &now.active_faults),
                    }
                }
            }
            Box::pin(handle(
                Request::Heal { fault: Some(fault) },
                scenario,
                plan,
                tx,
                next_id,
            ))
            .await
        }
        Request::Note { text } => match tx.send(Control::Note(text)) {
            Ok(()) => Reply::Noted,
            Err(_) => gone(),
        },
        Request::Status => {
            let (reply, answer) = oneshot::channel();
            if tx.send(Control::Status(reply)).is_err() {
                return gone();
            }
            let Ok(now) = answer.await else {
                return gone();
            };
            let upcoming = scripted_faults(plan)
                .into_iter()
                .filter(|(at, f)| {
                    at.as_secs_f64() > now.elapsed_s
                        && !now.active_faults.iter().any(|a| a.id == f.id)
                })
                .map(|(at, f)| Upcoming {
                    id: f.id,
                    kind: f.kind(),
                    target: f.target.clone(),
                    at_s: at.as_secs_f64(),
                })
                .collect();
            Reply::Status {
                now,
                upcoming,
                next_fault: next_id.load(Ordering::SeqCst),
            }
        }
        Request::Down => match tx.send(Control::Down) {
            Ok(()) => Reply::Stopping,
            Err(_) => gone(),
        },
    }
}

/// `kill eu-a-1`: a fault asked for, as the user wrote it.
fn fault_words(kind: FaultKind, step: &scenario::Step) -> String {
    match &step.target {
        Some(target) => format!("{} {target}", kind.name()),
        None => kind.name().to_string(),
    }
}

/// Why `drill heal N` heals nothing, with what can be healed.
fn not_active(plan: &Plan, id: usize, active: &[ActiveFault]) -> String {
    let why = match scripted_faults(plan).into_iter().find(|(_, f)| f.id == id) {
        Some((at, f)) => format!(
            "fault #{id} ({} {}) is the timeline's, due at {}: it is not active (not due yet, refused, or healed)",
            f.kind().name(),
            f.target,
            humantime::format_duration(at)
        ),
        None => format!("fault #{id} is not active (never injected, refused, or healed)"),
    };
    if active.is_empty() {
        return format!("{why}; no fault is active");
    }
    let listed: Vec<String> = active.iter().map(ActiveFault::to_string).collect();
    format!(
        "{why}; active faults: {}. Heal one with `drill heal <number>`, all with `drill heal --all`",
        listed.join(", ")
    )
}

/// The folder game-day commands look in when `--out` is not given.
pub const DEFAULT_OUT: &str = "reports";

/// Scenario names of the game days up under `out`.
fn up_under(out: &Path) -> Vec<String> {
    let mut up: Vec<String> = std::fs::read_dir(out.join(".up"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("control.sock").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    up.sort();
    up
}

/// Where a command looked for game days, and how to point it at another folder.
fn looked_in(out: &Path) -> String {
    let shown = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    format!(
        "looked in {}; a game day started with `drill up --out DIR` (or DRILL_OUT) is found with the same --out DIR",
        shown.join(".up").display()
    )
}

/// The scenario name of the game day meant: the one given, or the only one up.
pub fn find(out: &Path, scenario: Option<&str>) -> Result<String, DrillError> {
    if let Some(name) = scenario {
        return Ok(name.to_string());
    }
    match up_under(out).as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(DrillError::Usage(format!(
            "no game day is up ({}); start one with `drill up <scenario file>`",
            looked_in(out)
        ))),
        many => Err(DrillError::Usage(format!(
            "several game days are up ({}); say which with --scenario NAME",
            many.join(", ")
        ))),
    }
}

/// Sends one request to the game day of `scenario` under `out`.
pub async fn ask(out: &Path, scenario: &str, request: &Request) -> Result<Reply, DrillError> {
    let socket = session_dir(out, scenario).join("control.sock");
    let stream = UnixStream::connect(&socket).await.map_err(|e| {
        DrillError::Usage(format!(
            "no game day of scenario {scenario} is up ({}: {e}); start one with `drill up <scenario file>`",
            looked_in(out)
        ))
    })?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(request).expect("serializes");
    line.push(b'\n');
    write
        .write_all(&line)
        .await
        .map_err(|e| DrillError::setup(format!("cannot talk to the game day: {e}")))?;
    let mut answer = String::new();
    BufReader::new(read)
        .read_line(&mut answer)
        .await
        .map_err(|e| DrillError::setup(format!("no answer from the game day: {e}")))?;
    match serde_json::from_str(&answer) {
        Ok(Reply::Error { message }) => Err(DrillError::Usage(message)),
        Ok(reply) => Ok(reply),
        Err(e) => Err(DrillError::setup(format!(
            "unreadable answer from the game day: {e}"
        ))),
    }
}

/// `drill down`: asks the game day to stop, waits until its reports are written, prints
/// where they are and returns its exit code.
pub async fn down(out: &Path, scenario: &str) -> Result<u8, DrillError> {
    ask(out, scenario, &Request::Down).await?;
    let outcome_file = session_dir(out, scenario).join("outcome.json");
    // Healing, verification and teardown take seconds; give them a generous bound.
    for _ in 0..600 {
        if let Ok(raw) = std::fs::read(&outcome_file) {
            if let Ok(o) = serde_json::from_slice::<Outcome>(&raw) {
                print_outcome(scenario, &o);
                return Ok(o.exit_code);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(DrillError::setup(format!(
        "the game day of {scenario} did not finish within 120s; see its terminal, or `drill clean --all`"
    )))
}

/// The verdict line and where the reports are, as `drill run` ends.
fn print_outcome(scenario: &str, o: &Outcome) {
    if o.run_folder.as_os_str().is_empty() {
        println!(
            "game day of {scenario} is down (exit {}): it failed before its reports were written; see its terminal",
            o.exit_code
        );
        return;
    }
    let summary = std::fs::read(o.run_folder.join("summary.json"))
        .ok()
        .and_then(|raw| serde_json::from_slice::<crate::report::Summary>(&raw).ok());
    if let Some(s) = &summary {
        println!("{}", crate::report::verdict_line(&s.verdict));
        if s.verdict.status.exit_code() != o.exit_code {
            println!(
                "exit {}: healing or cleanup failed; see the game day's terminal",
                o.exit_code
            );
        }
    }
    println!(
        "game day of {scenario} is down: reports in {}",
        o.run_folder.display()
    );
}

/// `drill inject <kind> [target] [--for 30s] [--set key=value]...` as a timeline step's
/// fields: each value read as YAML reads it (`[[eu-a], [eu-lb]]` is a list), the whole
/// checked here as the scenario file's step would be, so a mistake is told in the
/// file's words before anything is sent. Fields, not text: no value can add a key.
pub fn inject_step(
    kind: &str,
    target: Option<&str>,
    duration: Option<&str>,
    params: &[String],
) -> Result<serde_json::Value, DrillError> {
    use serde_json::Value;
    let usage = |m: String| DrillError::Usage(m);
    let mut fields = serde_json::Map::new();
    fields.insert("at".into(), Value::from("0s"));
    fields.insert("fault".into(), Value::from(kind));
    if let Some(t) = target {
        fields.insert("target".into(), Value::from(t));
    }
    if let Some(d) = duration {
        fields.insert("for".into(), Value::from(d));
    }
    for p in params {
        let shown = format!("--set {p}");
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| usage(format!("{shown}: write key=value, e.g. --set rate=1MiB")))?;
        if fields.contains_key(k) {
            return Err(usage(format!("{shown}: `{k}` is given twice")));
        }
        let value: Value = serde_saphyr::from_str(v).map_err(|e| usage(format!("{shown}: {e}")))?;
        fields.insert(k.into(), value);
    }
    let fields = Value::Object(fields);
    scenario::read_step(&fields).map_err(|m| usage(format!("drill inject {kind}: {m}")))?;
    Ok(fields)
}

/// What `drill status` prints: entry points, then every fault with its number.
fn status_text(now: &Status, upcoming: &[Upcoming], next_fault: usize) -> String {
    let mut out = vec![format!(
        "up for {:.1}s on the timeline's clock (the scenario's `at:` times)",
        now.elapsed_s
    )];
    let mut regions: Vec<_> = now.entry_points.iter().collect();
    regions.sort();
    for (region, url) in regions {
        out.push(format!("  region {region}: {url}"));
    }
    if now.active_faults.is_empty() {
        out.push("  no active fault".into());
    }
    for a in &now.active_faults {
        out.push(format!("  fault {a}: active"));
    }
    for u in upcoming {
        out.push(format!(
            "  fault #{} {} {} (scripted): due at {}",
            u.id,
            u.kind.name(),
            u.target,
            humantime::format_duration(Duration::from_secs_f64(u.at_s))
        ));
    }
    out.push(format!("  the next fault you inject is #{next_fault}"));
    out.join("\n") + "\n"
}

/// Prints a reply for a person; returns the exit code.
pub fn print_reply(reply: &Reply) -> u8 {
    match reply {
        Reply::Injected { fault } => {
            println!("fault #{fault} injected; heal it with `drill heal {fault}`")
        }
        Reply::Healed { faults } if faults.is_empty() => println!("nothing to heal"),
        Reply::Healed { faults } => {
            let ids: Vec<String> = faults.iter().map(|f| format!("#{f}")).collect();
            println!("healed {}", ids.join(", "))
        }
        Reply::Noted => println!("noted"),
        Reply::Stopping => println!("stopping"),
        Reply::Status {
            now,
            upcoming,
            next_fault,
        } => print!("{}", status_text(now, upcoming, *next_fault)),
        Reply::Error { message } => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    }
    exit::PASS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    const SCENARIO: &str = r#"
name: gameday-test
duration: 60s
topology:
  regions:
    - { name: eu, zones: [eu-a, eu-b] }
images:
  - { ref: team/app:1, layers: [1KiB] }
hosts:
  - { name: fleet, region: eu, per_zone: 1, mirrors: [region], pull: [team/app:1] }
timeline:
  - { at: 0s, do: cold-start }
  - { at: 8s, fault: zone-outage, target: eu-a, for: 4s }
  - { at: 12s, fault: kill, target: eu-b-1, for: 60s }
"#;

    fn plan() -> Plan {
        plan::build(&crate::faults::parse(SCENARIO).unwrap(), "0badcafe", 1)
    }

    /// Splits a line as a shell does: words, 'single' and "double" quotes, a backslash
    /// outside quotes, `#` comments.
    fn shell_words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut quote, mut started) =
            (Vec::new(), String::new(), None, false);
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, '#') if !started => break,
                (None, '\\') => (word, started) = (word + &chars.next().unwrap().to_string(), true),
                (None, '\'' | '"') => (quote, started) = (Some(c), true),
                (Some(q), c) if c == q => quote = None,
                (None, c) if c.is_whitespace() => {
                    if started {
                        words.push(std::mem::take(&mut word));
                    }
                    started = false;
                }
                (_, c) => (word, started) = (word + &c.to_string(), true),
            }
        }
        if started {
            words.push(word);
        }
        words
    }

    /// The commands the banner prints, as a shell would run them.
    fn banner_commands(out: &Path, others_up: bool) -> Vec<Cli> {
        banner(&plan(), out, others_up)
            .lines()
            .filter(|l| l.starts_with("  drill "))
            .map(|l| {
                Cli::try_parse_from(shell_words(l))
                    .unwrap_or_else(|e| panic!("`{l}` does not run as printed: {e}"))
            })
            .collect()
    }

    #[test]
    fn every_command_the_banner_prints_runs_as_printed() {
        let odd = Path::new("/tmp/game day's reports");
        for (out, others) in [(Path::new(DEFAULT_OUT), false), (odd, true)] {
            let commands = banner_commands(out, others);
            let mut names = Vec::new();
            for cli in &commands {
                let (name, session) = match &cli.command {
                    Command::Status(a) => ("status", &a.session),
                    Command::Inject(a) => ("inject", &a.session),
                    Command::Note(a) => ("note", &a.session),
                    Command::Heal(a) => ("heal", &a.session),
                    Command::Down(a) => ("down", &a.session),
                    other => panic!("the banner prints {other:?}"),
                };
                names.push(name);
                // They reach this game day: its folder, and its name when others are up.
                assert_eq!(session.out, out, "{name}");
                let named = others.then(|| "gameday-test".to_string());
                assert_eq!(session.scenario, named, "{name}");
            }
            assert_eq!(names, ["status", "inject", "note", "heal", "down"]);
        }
        let inject = banner_commands(Path::new(DEFAULT_OUT), false).remove(1);
        let Command::Inject(inject) = inject.command else {
            unreachable!()
        };
        let (kind, target) = (inject.kind, inject.target.unwrap());
        let step = inject_step(&kind, Some(&target), Some("30s"), &[]).unwrap();
        let step = scenario::read_step(&step).unwrap();
        crate::faults::by_hand(&crate::faults::parse(SCENARIO).unwrap(), &step)
            .expect("the banner's example fault is one of the scenario's targets");
    }

    #[test]
    fn inject_reads_each_value_as_the_scenario_file_would() {
        let groups = ["groups=[[eu-a], [eu-lb]]".to_string(), "pick=1".into()];
        let fields = inject_step("partition", None, Some("30s"), &groups).unwrap();
        let step = scenario::read_step(&fields).unwrap();
        assert_eq!(
            step.groups,
            Some(vec![vec!["eu-a".into()], vec!["eu-lb".into()]])
        );
        assert_eq!(step.duration.map(|d| d.0.as_secs()), Some(30));
        // What crosses the socket reads back the same: a share is not rounded on the way.
        let loss = inject_step(
            "packet-loss",
            Some("eu-lb"),
            None,
            &["loss=12.34499%".into()],
        )
        .unwrap();
        let request: Request =
            serde_json::from_str(&serde_json::to_string(&Request::Inject { step: loss }).unwrap())
                .unwrap();
        let Request::Inject { step } = request else {
            unreachable!()
        };
        let loss = scenario::read_step(&step).unwrap().loss.unwrap().0;
        assert!((loss - 0.1234499).abs() < 1e-12, "{loss}");
        let refused = |kind: &str, set: &str| {
            inject_step(kind, Some("eu-a-1"), None, &[set.to_string()])
                .unwrap_err()
                .to_string()
        };
        let e = refused("kil", "pick=1");
        assert!(e.contains("unknown value `kil`; write one of:"), "{e}");
        let e = refused("kill", "colour=red");
        assert!(e.contains("unknown key `colour`"), "{e}");
        let e = refused("latency", "delay=1");
        assert!(e.contains("invalid duration '1'"), "{e}");
        let e = refused("kill", "pick");
        assert!(e.contains("write key=value"), "{e}");
        let e = inject_step("kill", None, Some("1s"), &["for=2s".into()]).unwrap_err();
        assert!(e.to_string().contains("`for` is given twice"), "{e}");
    }

    #[test]
    fn the_banner_gives_the_numbers_faults_take() {
        let one = SCENARIO.replace(
            "  - { at: 12s, fault: kill, target: eu-b-1, for: 60s }\n",
            "",
        );
        let one = plan::build(&crate::faults::parse(&one).unwrap(), "0badcafe", 1);
        let text = banner(&one, Path::new(DEFAULT_OUT), false);
        assert!(
            text.contains(
                "the timeline's fault is #1 (`drill status` lists it); faults you inject are \
                 numbered from #2"
            ),
            "{text}"
        );
        let text = banner(&plan(), Path::new(DEFAULT_OUT), false);
        assert!(
            text.contains(
                "the timeline's faults are #1 to #2 (`drill status` lists them); \
                 faults you inject are numbered from #3"
            ),
            "{text}"
        );
    }

    fn active(id: usize, kind: FaultKind, target: &str, manual: bool) -> ActiveFault {
        ActiveFault {
            id,
            kind,
            target: target.into(),
            manual,
        }
    }

    #[test]
    fn healing_a_fault_that_is_not_active_lists_those_that_are() {
        let plan = plan();
        let held = [
            active(1, FaultKind::ZoneOutage, "eu-a", false),
            active(3, FaultKind::Blackhole, "eu-lb", true),
        ];
        assert_eq!(
            not_active(&plan, 99, &held),
            "fault #99 is not active (never injected, refused, or healed); active faults: \
             #1 zone-outage eu-a (scripted), #3 blackhole eu-lb (manual). Heal one with \
             `drill heal <number>`, all with `drill heal --all`"
        );
        assert_eq!(
            not_active(&plan, 2, &[]),
            "fault #2 (kill eu-b-1) is the timeline's, due at 12s: it is not active (not due \
             yet, refused, or healed); no fault is active"
        );
    }

    #[test]
    fn status_lists_every_fault_with_its_number() {
        let now = Status {
            elapsed_s: 9.25,
            entry_points: [("eu".to_string(), "http://127.0.0.1:5000".to_string())].into(),
            active_faults: vec![active(3, FaultKind::Kill, "eu-a-1", true)],
        };
        let upcoming = [Upcoming {
            id: 2,
            kind: FaultKind::Kill,
            target: "eu-b-1".into(),
            at_s: 12.0,
        }];
        assert_eq!(
            status_text(&now, &upcoming, 4),
            "up for 9.2s on the timeline's clock (the scenario's `at:` times)\n  \
             region eu: http://127.0.0.1:5000\n  \
             fault #3 kill eu-a-1 (manual): active\n  \
             fault #2 kill eu-b-1 (scripted): due at 12s\n  \
             the next fault you inject is #4\n"
        );
    }
}
