//! Helpers shared by the integration tests: run the real `drill` binary and look at
//! what it left in its run folder and in the Docker engine.

use registry_drill::docker::engine::{Engine, Labelled};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod journal;
pub use journal::{Event, Kinds};

#[path = "../../../src/report/schema_check.rs"]
pub mod schema_check;

pub fn drill() -> Command {
    Command::new(env!("CARGO_BIN_EXE_drill"))
}

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A finished `drill run` and the folder it wrote.
pub struct Run {
    pub output: Output,
    pub dir: PathBuf,
    _out: tempfile::TempDir,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().expect("drill exited by itself")
    }
    /// What drill printed, for a failed assertion's message.
    pub fn show(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr())
    }
    /// Asserts the exit code, showing what drill printed when it is another.
    #[track_caller]
    pub fn assert_code(&self, expected: i32) {
        assert_eq!(self.code(), expected, "{}", self.show());
    }
    pub fn stdout(&self) -> String {
        text(&self.output.stdout)
    }
    pub fn stderr(&self) -> String {
        text(&self.output.stderr)
    }
    /// The run's summary.json, checked against its schema.
    pub fn summary(&self) -> serde_json::Value {
        summary(&self.dir)
    }
    pub fn journal(&self) -> Vec<Event> {
        journal::read(&self.dir)
    }
    pub fn run_id(&self) -> String {
        run_id(&self.dir)
    }
    /// Asserts that the run removed every Docker object it labelled.
    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let left = leftovers(&self.run_id());
        assert!(left.is_empty(), "the run left {left:?}");
    }
}

/// The verdict's check `name` in a summary.
pub fn check<'a>(summary: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    summary["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {:#}", summary["verdict"]))
}

/// A run folder's summary.json, checked against `schema/summary.schema.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    let raw = std::fs::read(dir.join("summary.json")).expect("summary.json written");
    let summary = serde_json::from_slice(&raw).expect("summary.json is JSON");
    assert_valid_summary(&summary);
    summary
}

pub fn assert_valid_summary(summary: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/summary.schema.json");
    let schema = serde_json::from_slice(&std::fs::read(path).expect("the schema exists"))
        .expect("the schema is JSON");
    let errors = schema_check::validate(&schema, summary);
    assert!(
        errors.is_empty(),
        "summary.json breaks its schema: {errors:#?}"
    );
}

pub fn run_id(dir: &Path) -> String {
    match journal::read(dir).into_iter().next() {
        Some(Event::RunStarted(started)) => started.run_id,
        first => panic!("run_started first, not {first:?}"),
    }
}

/// The single run folder drill created under `out`.
pub fn run_dir(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("out folder exists")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "one run folder in {}: {dirs:?}",
        out.display()
    );
    dirs[0].clone()
}

/// Runs `drill run <scenario file>` with its reports in a fresh folder.
pub fn run(scenario_file: &Path, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let output = drill()
        .arg("run")
        .arg(scenario_file)
        .arg("--out")
        .arg(out.path())
        .args(extra)
        .output()
        .expect("drill starts");
    let dir = run_dir(out.path());
    Run {
        output,
        dir,
        _out: out,
    }
}

/// Writes a variant of a bundled test scenario, for tests that change one field.
pub fn variant(name: &str, from: &str, to: &str) -> tempfile::NamedTempFile {
    let src = std::fs::read_to_string(scenario(name)).unwrap();
    assert!(src.contains(from), "{name} contains {from:?}");
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), src.replace(from, to)).unwrap();
    file
}

/// The line number (from 1) of the first line of `file` containing `needle`: tests name
/// a line by what it holds, so that editing a scenario moves no other test's line.
pub fn line_of(file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line of {} contains {needle:?}", file.display()))
        + 1
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// What the engine still holds with this run's label.
pub fn leftovers(run_id: &str) -> Labelled {
    block_on(async {
        let engine = Engine::connect().await.expect("Docker engine reachable");
        engine
            .labelled(Some(run_id))
            .await
            .expect("engine lists objects")
    })
}

/// Starts `drill <command> <scenario file> --out <out>` in the background, its output
/// captured.
pub fn spawn_drill(command: &str, scenario_file: &Path, out: &Path) -> std::process::Child {
    drill()
        .arg(command)
        .arg(scenario_file)
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("drill starts")
}

/// Starts `drill run <scenario file> --out <out>` in the background and waits (at most
/// `within`) until its journal holds `count` events of type `event`. Returns the
/// running drill and its run folder.
#[allow(clippy::zombie_processes)] // the caller waits for the child it is given
pub fn run_until(
    scenario_file: &Path,
    out: &Path,
    event: &str,
    count: usize,
    within: std::time::Duration,
) -> (std::process::Child, PathBuf) {
    let mut child = spawn_drill("run", scenario_file, out);
    let deadline = std::time::Instant::now() + within;
    let needle = format!("\"type\":\"{event}\"");
    loop {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no {count} {event} events in the journal within {within:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let Some(dir) = std::fs::read_dir(out)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path())
        else {
            continue;
        };
        let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default();
        if journal.matches(&needle).count() >= count {
            return (child, dir);
        }
    }
}

/// The names of the containers labelled with this run id.
pub fn container_names(run_id: &str) -> Vec<String> {
    let left = leftovers(run_id);
    block_on(async {
        let engine = Engine::connect().await.expect("Docker engine reachable");
        let mut names = Vec::new();
        for id in &left.containers {
            let info = engine.docker().inspect_container(id, None).await.unwrap();
            names.push(info.name.unwrap().trim_start_matches('/').to_string());
        }
        names
    })
}

/// Removes a run's objects when the test ends, passed or not.
pub struct CleanRun(pub String);

impl Drop for CleanRun {
    fn drop(&mut self) {
        let _ = drill().args(["clean", "--run", &self.0]).output();
    }
}

/// Ends a `drill up` the test started if the test ends first (a failed assertion):
/// SIGTERM, so that it heals and removes what it created. Disarm it once `up` exited.
pub struct StopOnDrop(pub Option<u32>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            // Time to heal and tear down before the test's folders go.
            std::thread::sleep(std::time::Duration::from_secs(10));
        }
    }
}

/// Runs `drill <args> --out <out>`: a game-day command. Returns code, stdout, stderr.
pub fn ask(out: &Path, args: &[&str]) -> (i32, String, String) {
    let o = drill().args(args).arg("--out").arg(out).output().unwrap();
    (o.status.code().unwrap(), text(&o.stdout), text(&o.stderr))
}

/// Starts `drill up <scenario file>` and waits until `drill status` answers; returns
/// the running `up` and the status it printed.
#[allow(clippy::zombie_processes)] // the caller waits for the returned child
pub fn game_day_up(scenario_file: &Path, out: &Path) -> (std::process::Child, String) {
    until_up(spawn_drill("up", scenario_file, out), out)
}

/// Waits (at most 2 minutes) until the started `drill up` answers `drill status`;
/// returns it and what status printed.
#[allow(clippy::zombie_processes)] // the caller waits for the returned child
pub fn until_up(mut up: std::process::Child, out: &Path) -> (std::process::Child, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if std::time::Instant::now() > deadline {
            // SIGTERM, not SIGKILL: drill heals and removes what it created.
            let _ = Command::new("kill")
                .args(["-TERM", &up.id().to_string()])
                .status();
            let _ = up.wait();
            panic!("the game day never came up");
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (code, stdout, _) = ask(out, &["status"]);
        if code == 0 {
            return (up, stdout);
        }
    }
}

/// What something else than drill does to a container (a cloud's fault injector, a
/// person): `docker kill`, `down` later `docker start`, then `settle` for the recovery.
pub fn kill_then_start(container: &str, down: std::time::Duration, settle: std::time::Duration) {
    let docker = |verb: &str| {
        let o = Command::new("docker")
            .args([verb, container])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "docker {verb} {container}: {}",
            text(&o.stderr)
        );
    };
    docker("kill");
    std::thread::sleep(down);
    docker("start");
    std::thread::sleep(settle);
}
