//! The scenario's own commands (`exec` faults), run on drill's machine: no shell, from
//! the scenario's folder, with drill's environment and the fault's `DRILL_*` variables,
//! in a process group of their own so that a terminal's Ctrl-C reaches drill (which
//! then runs the heal) rather than a half-done injection, and so that a command past
//! its timeout is killed with everything it started.

use crate::faults::command::Command;
use crate::model::kinds::CommandPhase;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Output kept of each stream of each command, in the journal and the reports; the
/// rest is counted, not kept.
pub const OUTPUT_LIMIT: usize = 4096;
/// How long output is still read once the command has exited: a process it left in
/// the background may hold its pipes open for ever.
const DRAIN: Duration = Duration::from_millis(500);

/// What one run of a command did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    /// Its exit status; None when it did not start, was killed by a signal or timed out.
    pub exit: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub took: Duration,
    pub stdout: String,
    pub stderr: String,
    /// Why it could not be started.
    pub error: Option<String>,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.exit == Some(0)
    }

    /// Why it failed, in a line: "exited 3: <last line of stderr>".
    pub fn failure(&self, c: &Command) -> Option<String> {
        if self.ok() {
            return None;
        }
        let why = match (&self.error, self.timed_out, self.exit) {
            (Some(e), _, _) => e.clone(),
            (None, true, _) => format!(
                "timed out after {} and was killed",
                humantime::format_duration(c.timeout)
            ),
            (None, false, Some(code)) => format!("exited {code}"),
            (None, false, None) => match self.signal {
                Some(n) => format!("was killed by signal {n}"),
                None => "was killed by a signal".into(),
            },
        };
        let last = |text: &'_ str| {
            text.lines()
                .rfind(|l| !l.trim().is_empty())
                .map(str::to_owned)
        };
        let said = last(&self.stderr).or_else(|| last(&self.stdout));
        Some(match said {
            Some(line) => format!("`{}` {why}: {}", c.line(), line.trim()),
            None => format!("`{}` {why}", c.line()),
        })
    }
}

/// The variables a fault's commands get, besides drill's own environment.
pub fn environment(run_id: &str, fault: usize, name: &str, regions: &[String]) -> Environment {
    Environment::from([
        ("DRILL_RUN_ID".into(), run_id.into()),
        ("DRILL_FAULT".into(), fault.to_string()),
        ("DRILL_FAULT_NAME".into(), name.into()),
        ("DRILL_REGIONS".into(), regions.join(",")),
    ])
}

/// Variables a command gets besides drill's own environment.
pub type Environment = std::collections::BTreeMap<String, String>;

/// Why a command's program cannot be run from here, if it cannot: checked before a run
/// starts anything, so a missing `kubectl` is found before the first fault, not at it.
pub fn unrunnable(c: &Command) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let program = c.argv.first()?;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = match &c.dir {
            Some(dir) => dir.join(program),
            None => program.into(),
        };
        return (!executable(&path))
            .then(|| format!("`{program}` ({}) is not an executable file", path.display()));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|d| executable(&d.join(program)));
    (!found).then(|| format!("`{program}` is not found on PATH; install it, or give its path"))
}

/// Kills a command's process group unless it exited first.
struct Group {
    pid: Option<u32>,
}

impl Group {
    fn signal(&self, signal: libc::c_int) {
        if let Some(pid) = self.pid {
            // SAFETY: kill(2) takes no pointers; a negative pid names the group the
            // command leads (it was started as its own group's leader).
            unsafe {
                libc::kill(-(pid as libc::pid_t), signal);
            }
        }
    }

    /// Whether any process of the group is left (a zombie leader not yet waited for
    /// counts until it is).
    fn alive(&self) -> bool {
        // SAFETY: as in `signal`; signal 0 only checks.
        self.pid
            .is_some_and(|pid| unsafe { libc::kill(-(pid as libc::pid_t), 0) } == 0)
    }

    fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        self.pid = None;
    }
}

impl Drop for Group {
    /// A run aborted mid-command (Ctrl-C) stops it before the heal runs.
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs one command to its end or its timeout.
pub async fn run(c: &Command, phase: CommandPhase, env: &Environment) -> Ran {
    let began = Instant::now();
    let (program, args) = c
        .argv
        .split_first()
        .expect("validation refuses an empty command");
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(env)
        .env("DRILL_PHASE", phase.name())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &c.dir {
        cmd.current_dir(dir);
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Ran {
                exit: None,
                signal: None,
                timed_out: false,
                took: began.elapsed(),
                stdout: String::new(),
                stderr: String::new(),
                error: Some(format!("could not be started ({e})")),
            }
        }
    };
    let mut group = Group { pid: child.id() };
    let (out, err) = (Output::default(), Output::default());
    let stdout = tokio::spawn(out.clone().read(child.stdout.take()));
    let stderr = tokio::spawn(err.clone().read(child.stderr.take()));
    let (status, timed_out) = match tokio::time::timeout(c.timeout, child.wait()).await {
        Ok(status) => {
            group.pid = None;
            (status.ok(), false)
        }
        Err(_) => {
            // SIGTERM first, so a command can undo what it half did; then SIGKILL for
            // whatever of the group is left.
            group.signal(libc::SIGTERM);
            let grace = tokio::time::Instant::now() + TERM_GRACE;
            while group.alive() && tokio::time::Instant::now() < grace {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = child.try_wait();
            }
            group.kill();
            (child.wait().await.ok(), true)
        }
    };
    let took = began.elapsed();
    for reader in [stdout, stderr] {
        // What was read is kept even when a process left behind holds the pipe open.
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN, reader).await.is_err() {
            abort.abort();
        }
    }
    use std::os::unix::process::ExitStatusExt;
    Ran {
        exit: status.and_then(|s| s.code()).filter(|_| !timed_out),
        signal: status.and_then(|s| s.signal()),
        timed_out,
        took,
        stdout: out.text(),
        stderr: err.text(),
        error: None,
    }
}

/// How long a command past its timeout has, after SIGTERM, before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// The first [`OUTPUT_LIMIT`] bytes of a stream as they are read, and how many more
/// came.
#[derive(Clone, Default)]
struct Output(std::sync::Arc<std::sync::Mutex<(Vec<u8>, usize)>>);

impl Output {
    async fn read(self, stream: Option<impl AsyncRead + Unpin>) {
        let Some(mut stream) = stream else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            let mut kept = self.0.lock().expect("output lock");
            let room = OUTPUT_LIMIT.saturating_sub(kept.0.len()).min(n);
            kept.0.extend_from_slice(&buf[..room]);
            kept.1 += n - room;
        }
    }

    fn text(&self) -> String {
        let kept = self.0.lock().expect("output lock");
        let mut text = String::from_utf8_lossy(&kept.0).into_owned();
        if kept.1 > 0 {
            text.push_str(&format!("\n… ({} more bytes not kept)", kept.1));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Command {
        Command {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            timeout,
            dir: None,
        }
    }

    #[tokio::test]
    async fn a_command_gets_the_faults_variables_and_its_output_is_kept() {
        let env = environment("r1", 3, "az-a down", &["eu".into(), "us".into()]);
        let c = sh(
            "echo $DRILL_RUN_ID $DRILL_FAULT \"$DRILL_FAULT_NAME\" $DRILL_REGIONS $DRILL_PHASE; echo oops >&2; exit 3",
            Duration::from_secs(10),
        );
        let ran = run(&c, CommandPhase::Heal, &env).await;
        assert_eq!(ran.stdout, "r1 3 az-a down eu,us heal\n");
        assert_eq!(ran.exit, Some(3));
        assert!(!ran.ok());
        assert_eq!(
            ran.failure(&c).unwrap(),
            format!("`{}` exited 3: oops", c.line())
        );
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_stopped_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("pid");
        // The background child ignores SIGTERM: only the group's SIGKILL ends it.
        let script = format!(
            "sh -c 'trap \"\" TERM; echo $$ > {}; exec sleep 30' & echo started; wait",
            pid.display()
        );
        let c = sh(&script, Duration::from_millis(500));
        let ran = run(&c, CommandPhase::Inject, &Environment::new()).await;
        assert!(ran.timed_out);
        assert!(ran.took < Duration::from_secs(6), "{:?}", ran.took);
        assert!(ran.failure(&c).unwrap().contains("timed out after 500ms"));
        assert_eq!(ran.stdout, "started\n", "what it said before is kept");
        let child = std::fs::read_to_string(&pid).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let state = std::fs::read_to_string(format!("/proc/{}/stat", child.trim()));
        assert!(
            state.is_err() || state.unwrap().contains(") Z "),
            "the background child was killed with the group"
        );
    }

    #[tokio::test]
    async fn output_past_the_limit_is_counted_not_kept() {
        let c = sh(
            "head -c 10000 /dev/zero | tr '\\0' x",
            Duration::from_secs(10),
        );
        let ran = run(&c, CommandPhase::Inject, &Environment::new()).await;
        assert!(ran.ok());
        assert!(ran.stdout.starts_with(&"x".repeat(OUTPUT_LIMIT)));
        assert!(ran
            .stdout
            .ends_with(&format!("({} more bytes not kept)", 10000 - OUTPUT_LIMIT)));
    }

    #[test]
    fn a_program_is_looked_up_as_it_will_be_run() {
        let dir = tempfile::tempdir().unwrap();
        let c = |p: &str| Command {
            argv: vec![p.into()],
            timeout: Duration::from_secs(1),
            dir: Some(dir.path().into()),
        };
        assert_eq!(unrunnable(&c("sh")), None);
        let e = unrunnable(&c("drill-no-such-program")).unwrap();
        assert!(e.contains("not found on PATH"), "{e}");
        std::fs::write(dir.path().join("down.sh"), "#!/bin/sh\n").unwrap();
        let e = unrunnable(&c("./down.sh")).unwrap();
        assert!(e.contains("is not an executable file"), "{e}");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("down.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert_eq!(unrunnable(&c("./down.sh")), None);
    }

    #[tokio::test]
    async fn a_program_that_is_not_there_fails_without_running() {
        let c = Command {
            argv: vec!["drill-no-such-program".into()],
            timeout: Duration::from_secs(1),
            dir: None,
        };
        let ran = run(&c, CommandPhase::Inject, &Environment::new()).await;
        assert_eq!(ran.exit, None);
        assert!(ran.failure(&c).unwrap().contains("could not be started"));
    }
}
