//! Container hosts. Native hosts are simulated in this process (a cold start gives one a
//! fresh connection pool and an empty cache); containerd hosts are real containerd
//! daemons in containers, driven with `ctr`; the docker host is the local Docker engine.
//! Every cold start empties the host's cache, then pulls its whole image list through its
//! mirrors, retrying a failed pull after a back-off until it succeeds or the run ends.

use crate::docker::engine::Engine;
use crate::docker::images::CONTAINERD_HOSTS_DIR;
use crate::journal::{
    Claim, ColdStartRecord, Event, HostId, Interruption, Journal, MirrorMove, MoveReason, Phase,
    PullRecord,
};
use crate::model::credentials::Credentials;
use crate::model::error::ExecError;
use crate::oci::{self, Access, Intrusion, Mirror};
use crate::plan::HostPlan;
use crate::run::guardrails::Guardrail;
use crate::scenario::{HostKind, Probes};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Every host of the run, of every kind, and the cold starts in flight.
pub struct Fleet {
    hosts: Vec<Arc<HostPlan>>,
    /// Per host, how it pulls.
    clients: Vec<Arc<HostClient>>,
    /// The CA and credentials native hosts pull with; docker hosts use the credentials.
    access: Arc<Access>,
    engine: Engine,
    journal: Journal,
    /// Cancelled when the run ends: unfinished cold starts are recorded as interrupted.
    run_end: CancellationToken,
    /// Per host, cancelled when a later wave restarts that host.
    restarts: Vec<Option<CancellationToken>>,
    tasks: JoinSet<()>,
}

/// How one host pulls, by kind.
enum HostClient {
    /// drill's client: the mirrors' entry points.
    Native(Vec<Mirror>),
    /// `ctr` in the host's container; images are named after the first mirror
    /// (`lb:port`), and `hosts.toml` lists the rest. `mirrors`: each mirror's name and
    /// `lb:port`, in order, to tell which one containerd moved away from.
    Containerd {
        container: String,
        registry: String,
        mirrors: Vec<(String, String)>,
    },
    /// The local engine: one pull per mirror (`127.0.0.1:port`), in order.
    Docker { mirrors: Vec<(String, String)> },
}

impl Fleet {
    /// `entry_points`: region → `http://127.0.0.1:<port>`; `mirror_hosts`: per host,
    /// its mirrors' load balancers as `name:port` (what containerd hosts use).
    pub fn new(
        hosts: &[HostPlan],
        entry_points: &HashMap<String, String>,
        mirror_hosts: Vec<Vec<String>>,
        access: &Access,
        engine: Engine,
        journal: Journal,
    ) -> Fleet {
        let clients = hosts
            .iter()
            .zip(mirror_hosts)
            .map(|(h, lbs)| {
                let regional = h
                    .mirrors
                    .iter()
                    .filter_map(|r| entry_points.get(r).map(|base| (r.clone(), base.clone())));
                Arc::new(match h.kind {
                    HostKind::Native => HostClient::Native(
                        regional
                            .map(|(region, base)| Mirror { region, base })
                            .collect(),
                    ),
                    HostKind::Containerd => HostClient::Containerd {
                        container: h.container.clone().unwrap_or_default(),
                        registry: lbs.first().cloned().unwrap_or_default(),
                        mirrors: h.mirrors.iter().cloned().zip(lbs).collect(),
                    },
                    HostKind::Docker => HostClient::Docker {
                        mirrors: regional
                            .map(|(region, base)| {
                                let authority = base
                                    .split_once("://")
                                    .map_or(base.as_str(), |(_, a)| a)
                                    .trim_end_matches('/')
                                    .to_string();
                                (region, authority)
                            })
                            .collect(),
                    },
                })
            })
            .collect();
        Fleet {
            hosts: hosts.iter().cloned().map(Arc::new).collect(),
            clients,
            access: Arc::new(access.clone()),
            engine,
            journal,
            run_end: CancellationToken::new(),
            restarts: vec![None; hosts.len()],
            tasks: JoinSet::new(),
        }
    }

    /// Restarts the given hosts: all at once (the thundering herd of a DR event), or
    /// spread evenly over `ramp`. A host still busy with an earlier cold start abandons
    /// it, and that one is recorded as interrupted.
    pub fn cold_start(&mut self, wave: usize, host_indexes: &[usize], ramp: Duration) {
        let n = host_indexes.len().max(1) as u32;
        for (k, &i) in host_indexes.iter().enumerate() {
            if let Some(previous) = self.restarts[i].take() {
                previous.cancel();
            }
            let restart = CancellationToken::new();
            self.restarts[i] = Some(restart.clone());
            let host = self.hosts[i].clone();
            let client = self.clients[i].clone();
            let engine = self.engine.clone();
            let journal = self.journal.clone();
            let access = self.access.clone();
            let run_end = self.run_end.clone();
            let delay = ramp * k as u32 / n;
            self.tasks.spawn(async move {
                let stop = Stop { restart, run_end };
                let ctx = Ctx {
                    host: &host,
                    wave,
                    journal: &journal,
                    stop: &stop,
                    engine: &engine,
                    access: &access,
                };
                let record = cold_start(&ctx, &client, delay).await;
                journal.record(Event::ColdStart(record));
            });
        }
    }

    /// Waits until every cold start started so far has finished (`drill bench`: the
    /// end of a wave).
    pub async fn settle(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }

    /// Ends the run for every host: cold starts still going are recorded as interrupted. The
    /// Docker host's engine is left without the images drill pulled into it.
    pub async fn stop(mut self) {
        self.run_end.cancel();
        while self.tasks.join_next().await.is_some() {}
        for (host, client) in self.hosts.iter().zip(&self.clients) {
            if let HostClient::Docker { mirrors } = client.as_ref() {
                remove_pulled(&self.engine, host, mirrors).await;
            }
        }
    }
}

struct Stop {
    restart: CancellationToken,
    run_end: CancellationToken,
}

impl Stop {
    /// Runs `work` unless the host is restarted or the run ends first.
    async fn guard<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, Interruption> {
        tokio::select! {
            v = work => Ok(v),
            _ = self.restart.cancelled() => Err(Interruption::Restarted),
            _ = self.run_end.cancelled() => Err(Interruption::RunEnded),
        }
    }
}

/// What one cold start works with.
struct Ctx<'a> {
    host: &'a HostPlan,
    wave: usize,
    journal: &'a Journal,
    stop: &'a Stop,
    engine: &'a Engine,
    access: &'a Access,
}

/// What one pull attempt gave, whatever the kind of host.
#[derive(Default)]
struct Attempt {
    error: Option<String>,
    moves: Vec<MirrorMove>,
    phases: Vec<Phase>,
    http_errors: BTreeMap<String, BTreeMap<String, u32>>,
}

/// One host's cold start, after `delay` (its turn in a ramp): empty its cache, then pull
/// every image in order, retrying a failed pull after the back-off. A cold start stopped
/// by a restart or the run's end is recorded too, as interrupted, even one stopped before
/// its turn came: the wave asked for it, and every count must add up.
async fn cold_start(ctx: &Ctx<'_>, client: &HostClient, delay: Duration) -> ColdStartRecord {
    let host = ctx.host;
    let waited = ctx.stop.guard(tokio::time::sleep(delay)).await;
    let started = Instant::now();
    let mut record = ColdStartRecord {
        host: HostId {
            name: host.name.clone(),
            fleet: host.fleet.clone(),
            kind: host.kind,
            region: host.region.clone(),
            zone: host.zone.clone(),
            wave: ctx.wave,
        },
        ok: false,
        started_us: ctx.journal.offset_us(started),
        duration_us: 0,
        attempts: 0,
        failed_attempts: 0,
        interrupted: None,
    };
    let stopped = |mut record: ColdStartRecord, why: Interruption| {
        record.interrupted = Some(why);
        record.duration_us = started.elapsed().as_micros() as u64;
        record
    };
    if let Err(why) = waited {
        return stopped(record, why);
    }
    // A native host gets a fresh pool: a restarted host has no warm connections.
    let native = oci::client(host.timeouts.connect.0, host.timeouts.request.0, ctx.access);
    if let Err(why) = ctx.stop.guard(wipe(ctx, client)).await {
        return stopped(record, why);
    }
    for image in &host.pull {
        // Failed pulls of this image in a row: kubelet's back-off grows with them.
        let mut failures = 0;
        loop {
            record.attempts += 1;
            let pull_started = Instant::now();
            let attempt = match ctx.stop.guard(pull(ctx, client, &native, image)).await {
                Ok(a) => a,
                Err(why) => return stopped(record, why),
            };
            let ok = attempt.error.is_none();
            ctx.journal.record(Event::Pull(PullRecord {
                host: record.host.clone(),
                image: image.clone(),
                ok,
                started_us: ctx.journal.offset_us(pull_started),
                duration_us: pull_started.elapsed().as_micros() as u64,
                error: attempt.error,
                mirror_moves: attempt.moves.len() as u32,
                moves: attempt.moves,
                phases: attempt.phases,
                http_errors: attempt.http_errors,
            }));
            if ok {
                break;
            }
            failures += 1;
            record.failed_attempts += 1;
            let wait = host.backoff.wait(failures);
            if let Err(why) = ctx.stop.guard(tokio::time::sleep(wait)).await {
                return stopped(record, why);
            }
        }
    }
    record.ok = true;
    record.duration_us = started.elapsed().as_micros() as u64;
    record
}

/// Empties a host's image cache. A native host has none to empty. A containerd host
/// removes the images drill pulls and, synchronously, the content and snapshots only
/// they held. The Docker host removes exactly the references drill pulled, through
/// every mirror, and nothing else.
async fn wipe(ctx: &Ctx<'_>, client: &HostClient) {
    match client {
        HostClient::Native(_) => {}
        HostClient::Containerd {
            container,
            registry,
            ..
        } => {
            let mut cmd: Vec<String> = ["ctr", "images", "rm", "--sync"].map(String::from).to_vec();
            cmd.extend(ctx.host.pull.iter().map(|i| format!("{registry}/{i}")));
            // Absent images (the first cold start) make ctr complain: nothing to remove.
            let _ = ctx.engine.exec(container, &cmd).await;
        }
        HostClient::Docker { mirrors } => remove_pulled(ctx.engine, ctx.host, mirrors).await,
    }
}

/// Removes from the engine exactly the references the Docker host pulls (each image
/// through each mirror), and nothing else.
async fn remove_pulled(engine: &Engine, host: &HostPlan, mirrors: &[(String, String)]) {
    for (_, authority) in mirrors {
        for image in &host.pull {
            let reference = format!("{authority}/{image}");
            if let Err(e) = engine.remove_image(&reference).await {
                eprintln!("warning: host {}: {e}", host.name);
            }
        }
    }
}

/// One pull attempt of `image` by a host of any kind.
async fn pull(ctx: &Ctx<'_>, client: &HostClient, native: &oci::Client, image: &str) -> Attempt {
    match client {
        HostClient::Native(mirrors) => {
            let outcome = oci::pull(native, mirrors, image, ctx.host.parallel_layers).await;
            Attempt {
                error: outcome.error.map(|e| e.to_string()),
                moves: outcome.moves,
                phases: outcome.phases,
                http_errors: outcome.http_errors,
            }
        }
        HostClient::Containerd {
            container,
            registry,
            mirrors,
        } => {
            // With TLS, hosts.toml names the run's CA; without, plain HTTP must be allowed.
            let plain = ctx
                .access
                .ca
                .is_empty()
                .then_some("--plain-http".to_string());
            // Token services trade credentials for tokens: containerd must hold them
            // itself, as the CRI gives them to it (hosts.toml can only add headers).
            let creds = ctx
                .access
                .credentials
                .as_ref()
                .filter(|_| !ctx.access.realms.is_empty());
            let user = creds.map(|c| format!("{}:{}", c.user, c.password()));
            let cmd: Vec<String> = ["ctr", "images", "pull"]
                .into_iter()
                .map(String::from)
                .chain(plain)
                .chain(user.into_iter().flat_map(|u| ["--user".to_string(), u]))
                .chain(["--hosts-dir".to_string(), CONTAINERD_HOSTS_DIR.to_string()])
                .chain([format!("{registry}/{image}")])
                .collect();
            let (output, error) = match ctx.engine.exec(container, &cmd).await {
                Ok(out) => (out, None),
                // What ctr wrote says why, and which mirrors it moved on from.
                Err(ExecError::Failed { output, .. }) => {
                    let output = ctr_failure(&output, creds);
                    let last = ctr_error(&output);
                    (output, Some(last))
                }
                Err(e) => (String::new(), Some(ctr_failure(&e.to_string(), creds))),
            };
            Attempt {
                error,
                moves: containerd_moves(&output, mirrors),
                ..Default::default()
            }
        }
        HostClient::Docker { mirrors } => {
            let started = Instant::now();
            let (mut errors, mut moves) = (Vec::new(), Vec::new());
            for (region, authority) in mirrors {
                let credentials = ctx.access.credentials.as_ref();
                match ctx
                    .engine
                    .pull_image(&format!("{authority}/{image}"), credentials)
                    .await
                {
                    Ok(()) => {
                        return Attempt {
                            moves,
                            ..Default::default()
                        }
                    }
                    Err(e) => {
                        moves.push(MirrorMove {
                            mirror: region.clone(),
                            phase: None,
                            after_us: Some(started.elapsed().as_micros() as u64),
                            // Both the engine's refusal and bollard's error are
                            // the engine's words on the registry's answer.
                            reason: client_reason(&e.to_string()),
                        });
                        errors.push(format!("{region}: {e}"));
                    }
                }
            }
            // The last mirror's failure moved nowhere: it is the pull's.
            moves.pop();
            Attempt {
                error: Some(errors.join("; ")),
                moves,
                ..Default::default()
            }
        }
    }
}

/// The requests containerd moved to the next host, from its log: each `trying next
/// host` line, with the host it left and its error (containerd says no more: these are
/// the moves while it resolved the tag).
fn containerd_moves(output: &str, mirrors: &[(String, String)]) -> Vec<MirrorMove> {
    output
        .lines()
        .filter(|l| l.contains("trying next host"))
        .map(|l| {
            let host = logfmt_value(l, "host").unwrap_or_default();
            let mirror = mirrors
                .iter()
                .find(|(_, authority)| *authority == host)
                .map_or(host, |(name, _)| name.clone());
            // A 404 is logged without an error: "trying next host - response was
            // http.StatusNotFound".
            let reason = match logfmt_value(l, "error") {
                Some(e) => client_reason(&e),
                None if l.contains("StatusNotFound") => MoveReason::Status(404),
                None => MoveReason::Other(l.trim().to_string()),
            };
            MirrorMove {
                mirror,
                phase: None,
                after_us: None,
                reason,
            }
        })
        .collect()
}

/// The value of `key=` in a logfmt line (quoted, with `\"` escapes, or bare).
fn logfmt_value(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    let Some(quoted) = rest.strip_prefix('"') else {
        return Some(rest.split_whitespace().next().unwrap_or("").to_string());
    };
    let mut value = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            '"' => break,
            c => value.push(c),
        }
    }
    Some(value)
}

/// Why a request failed, from the words of a Go client (containerd, the Docker engine):
/// they give nothing but text.
fn client_reason(error: &str) -> MoveReason {
    let lower = error.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if let Some(status) = http_status_in(error) {
        MoveReason::Status(status)
    } else if has(&["toomanyrequests"]) {
        MoveReason::Status(429)
    } else if has(&["timeout", "deadline exceeded"]) {
        MoveReason::Timeout
    } else if has(&["connection refused"]) {
        MoveReason::Refused
    } else if has(&["connection reset", "broken pipe", "eof"]) {
        MoveReason::Reset
    } else if has(&["no route to host", "no such host", "network is unreachable"]) {
        MoveReason::Unreachable
    } else {
        MoveReason::Other(error.to_string())
    }
}

/// An HTTP status as Go's clients print one, `503 Service Unavailable`: three digits
/// from 100 to 599 standing alone, then a capitalised word.
fn http_status_in(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(4)).find_map(|i| {
        let alone = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let digits = bytes[i..i + 3].iter().all(u8::is_ascii_digit);
        let then = bytes[i + 3] == b' ' && bytes.get(i + 4).is_some_and(u8::is_ascii_uppercase);
        let code: u16 = text.get(i..i + 3)?.parse().ok()?;
        (alone && digits && then && (100..600).contains(&code)).then_some(code)
    })
}

/// A failed `ctr` exec's text without the password: the engine's error repeats the
/// command line, `--user` included, and ctr may echo what it was given.
fn ctr_failure(text: &str, creds: Option<&Credentials>) -> String {
    let secrets: Vec<String> = creds.iter().map(|c| c.password().to_string()).collect();
    crate::journal::redact(text, &secrets)
}

/// The line of ctr's output that says why a pull failed: its own `ctr: ...` line, or
/// the last line when there is none.
fn ctr_error(output: &str) -> String {
    output
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("ctr: ").map(str::to_string))
        .or_else(|| {
            output
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "ctr failed without output".to_string())
}

/// What the auth probes try on every entry point at each tick: a seeded image's
/// manifest, anonymously, with the run's user name and a wrong password, and, on
/// `auth: token` regions, with a forged token.
#[derive(Debug, Clone)]
pub struct AuthProbes {
    pub reference: String,
    pub wrong: Credentials,
    /// The entry points whose registries demand credentials: the regions'. The
    /// upstream and its proxies play a public registry and are open by design.
    pub entry_points: Vec<String>,
    /// A token signed by a key nobody trusts, and the regions it is tried on.
    pub forged: Option<(String, Vec<String>)>,
}

/// Something the availability probes ask at every tick.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// A region, proxy or `upstream` (an entry point), or `<region>-token`.
    pub name: String,
    /// `http(s)://127.0.0.1:<port>`
    pub base: String,
    pub token_service: bool,
}

impl ProbeTarget {
    /// The entry points: `GET /v2/`.
    pub fn entry_points(entry_points: &HashMap<String, String>) -> Vec<ProbeTarget> {
        entry_points
            .iter()
            .map(|(name, base)| ProbeTarget {
                name: name.clone(),
                base: base.clone(),
                token_service: false,
            })
            .collect()
    }
}

/// Probes every target until `stop` is cancelled: an entry point with `GET /v2/`, a
/// token service by asking it for a token, both with the run's CA and credentials. Each
/// result goes to the journal, and to the guardrail, if any, when the target is one it
/// watches. With `auth`, a second task per region's entry point tries, at the same
/// interval, to pull without valid credentials and records what it answered; it runs
/// apart so that its requests, hanging on a dead entry point, never space out the
/// availability probes.
pub fn spawn_probes(
    targets: &[ProbeTarget],
    probes: &Probes,
    access: &Access,
    auth: Option<AuthProbes>,
    journal: &Journal,
    guard: Option<(Guardrail, Vec<String>)>,
    stop: &CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let (interval, timeout) = (probes.interval.0, probes.timeout.0);
    for target in targets {
        let (region, base, token_service) = (&target.name, &target.base, target.token_service);
        let client = oci::client(timeout, timeout, access);
        let guard = guard
            .as_ref()
            .filter(|(_, watched)| watched.contains(region))
            .map(|(g, _)| g.clone());
        let (probe_region, probe_base, probe_journal) =
            (region.clone(), base.clone(), journal.clone());
        set.spawn(every(interval, stop.clone(), move || {
            let (client, region, base, journal, guard) = (
                client.clone(),
                probe_region.clone(),
                probe_base.clone(),
                probe_journal.clone(),
                guard.clone(),
            );
            async move {
                let started = Instant::now();
                let result = if token_service {
                    oci::token_probe(&client, &base).await
                } else {
                    oci::probe(&client, &base).await
                };
                if let Some(g) = &guard {
                    g.observe(&region, result.is_ok(), Instant::now());
                }
                // Stamped when sent: the entry point served (or failed) a request made
                // at that instant.
                journal.record_at(
                    journal.offset_us(started),
                    Event::Probe {
                        region,
                        ok: result.is_ok(),
                        latency_us: started.elapsed().as_micros() as u64,
                        error: result.err().map(|e| e.to_string()),
                    },
                );
            }
        }));
        let Some(auth) = auth.clone().filter(|a| a.entry_points.contains(region)) else {
            continue;
        };
        let intruder = oci::client(timeout, timeout, &access.anonymous());
        let (region, base, journal) = (region.clone(), base.clone(), journal.clone());
        set.spawn(every(interval, stop.clone(), move || {
            let (intruder, region, base, journal, auth) = (
                intruder.clone(),
                region.clone(),
                base.clone(),
                journal.clone(),
                auth.clone(),
            );
            async move {
                let forged = auth
                    .forged
                    .as_ref()
                    .filter(|(_, regions)| regions.contains(&region))
                    .map(|(token, _)| (Claim::ForgedToken, Intrusion::ForgedToken(token)));
                let tries = [
                    (Claim::Anonymous, Intrusion::Anonymous),
                    (
                        Claim::WrongCredentials,
                        Intrusion::WrongPassword(&auth.wrong),
                    ),
                ]
                .into_iter()
                .chain(forged);
                for (claim, intrusion) in tries {
                    let sent = Instant::now();
                    let answer =
                        oci::auth_probe(&intruder, &base, &auth.reference, intrusion).await;
                    // Stamped when sent, as availability probes are.
                    journal.record_at(
                        journal.offset_us(sent),
                        Event::AuthProbe {
                            region: region.clone(),
                            claim,
                            status: answer.as_ref().ok().copied(),
                            served: matches!(answer, Ok(200..=299)),
                            error: answer.err().map(|e| e.to_string()),
                        },
                    );
                }
            }
        }));
    }
    set
}

/// Runs `probe` every `interval` until `stop` is cancelled. Each probe is sent on time,
/// whatever the ones before it are doing: one hanging until its timeout must not hide a
/// recovery (or an open entry point) for that long.
pub(crate) async fn every<F, Fut>(interval: Duration, stop: CancellationToken, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut ticker = crate::model::ticker::Ticker::new(interval, stop);
    let mut in_flight = JoinSet::new();
    while ticker.next().await {
        in_flight.spawn(probe());
        // Reap the finished ones as we go, so a long run holds only those in flight.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_pull_with_credentials_does_not_repeat_the_password() {
        let c = Credentials::generate("drill");
        let text = format!(
            "`ctr images pull --user drill:{} x` in h failed (exit code 1): time=\"x\" level=info\nctr: not found",
            c.password()
        );
        let clean = ctr_failure(&text, Some(&c));
        assert!(!clean.contains(c.password()), "{clean}");
        assert!(clean.contains("--user drill:[redacted]"), "{clean}");
        assert_eq!(ctr_error(&clean), "not found");
        assert_eq!(ctr_failure("plain", None), "plain");
    }

    #[test]
    fn ctr_error_is_its_own_line() {
        let out = "time=\"x\" level=info msg=\"trying next host\" host=\"a:5000\"\n\
                   ctr: failed to resolve reference \"a:5000/team/app:1\": not found\n";
        assert_eq!(
            ctr_error(out),
            "failed to resolve reference \"a:5000/team/app:1\": not found"
        );
        assert_eq!(ctr_error("boom\n\n"), "boom");
        assert_eq!(ctr_error(""), "ctr failed without output");
    }
}
