//! Helpers shared by the integration tests: run the real `drill` binary and look at
//! what it left in its run folder and in the Docker engine.
#![allow(dead_code)] // each test binary uses a different subset

use registry_drill::engine::{Engine, Labelled};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../src/report/schema_check.rs"]
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
    pub fn journal(&self) -> Vec<serde_json::Value> {
        journal(&self.dir)
    }
    pub fn run_id(&self) -> String {
        run_id(&self.dir)
    }
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

pub fn journal(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .expect("journal.jsonl written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each journal line is JSON"))
        .collect()
}

pub fn run_id(dir: &Path) -> String {
    journal(dir)[0]["run_id"]
        .as_str()
        .expect("run_started first")
        .to_string()
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

/// Runs `drill <args> --out <out>`: a game-day command. Returns code, stdout, stderr.
pub fn ask(out: &Path, args: &[&str]) -> (i32, String, String) {
    let o = drill().args(args).arg("--out").arg(out).output().unwrap();
    (o.status.code().unwrap(), text(&o.stdout), text(&o.stderr))
}

/// Starts `drill up <scenario file>` and waits until `drill status` answers; returns
/// the running `up` and the status it printed.
#[allow(clippy::zombie_processes)] // the caller waits for the returned child
pub fn game_day_up(scenario_file: &Path, out: &Path) -> (std::process::Child, String) {
    let mut up = drill()
        .arg("up")
        .arg(scenario_file)
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
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
