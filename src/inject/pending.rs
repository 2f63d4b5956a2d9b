//! The heals of `exec` faults not yet run, kept in the run folder's
//! `pending-heals.json` from before the fault acts until its heal succeeds. drill heals
//! its own containers' faults by removing the containers, but a command's fault on
//! infrastructure drill does not own outlives a `kill -9`: then `drill heal --pending
//! <run-folder>` runs what is left, as the run would have.

use super::command::{self, Environment, Ran};
use crate::faults::command::Command;
use crate::model::error::DrillError;
use crate::model::kinds::CommandPhase;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const FILE: &str = "pending-heals.json";

/// One heal to run: the command and the variables it would have had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingHeal {
    pub fault: usize,
    pub name: String,
    #[serde(with = "written")]
    pub command: Command,
    pub env: Environment,
}

/// A command as a user reads it in the file: its words, folder and timeout in seconds.
mod written {
    use super::Command;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::path::PathBuf;
    use std::time::Duration;

    #[derive(Serialize, Deserialize)]
    struct Written {
        argv: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dir: Option<PathBuf>,
        timeout_s: f64,
    }

    pub fn serialize<S: Serializer>(c: &Command, s: S) -> Result<S::Ok, S::Error> {
        Written {
            argv: c.argv.clone(),
            dir: c.dir.clone(),
            timeout_s: c.timeout.as_secs_f64(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Command, D::Error> {
        let w = Written::deserialize(d)?;
        if w.argv.is_empty() {
            return Err(serde::de::Error::custom("a heal without a command"));
        }
        Ok(Command {
            argv: w.argv,
            dir: w.dir,
            timeout: Duration::try_from_secs_f64(w.timeout_s).map_err(serde::de::Error::custom)?,
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    run_id: String,
    /// The run's process: while it lives, it heals its own faults.
    #[serde(default)]
    pid: u32,
    /// Oldest first; heals run newest first.
    heals: Vec<PendingHeal>,
}

/// The run folder's pending heals, written whole at every change.
#[derive(Clone, Default)]
pub struct PendingHeals {
    inner: Arc<Mutex<Option<(PathBuf, File)>>>,
}

impl PendingHeals {
    pub fn in_folder(dir: &Path, run_id: &str) -> PendingHeals {
        let file = File {
            run_id: run_id.into(),
            pid: std::process::id(),
            heals: Vec::new(),
        };
        PendingHeals {
            inner: Arc::new(Mutex::new(Some((dir.join(FILE), file)))),
        }
    }

    /// Kept before the fault acts.
    pub fn add(&self, heal: PendingHeal) -> Result<(), DrillError> {
        self.change(|f| f.heals.push(heal))
    }

    /// Forgotten once it succeeded.
    pub fn remove(&self, fault: usize) -> Result<(), DrillError> {
        self.change(|f| f.heals.retain(|h| h.fault != fault))
    }

    fn change(&self, edit: impl FnOnce(&mut File)) -> Result<(), DrillError> {
        let mut inner = self.inner.lock().expect("pending heals lock");
        let Some((path, file)) = inner.as_mut() else {
            return Ok(());
        };
        edit(file);
        save(path, file)
    }
}

fn save(path: &Path, file: &File) -> Result<(), DrillError> {
    let written = if file.heals.is_empty() {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    } else {
        let bytes = serde_json::to_vec_pretty(file).expect("pending heals serialize");
        crate::model::atomic_file::write(path, &bytes)
    };
    written.map_err(|e| {
        DrillError::setup(format!(
            "cannot keep the pending heals in {}: {e}",
            path.display()
        ))
    })
}

/// A run folder's pending heals, as the run left them; none when it holds no file.
fn read_file(dir: &Path) -> Result<File, DrillError> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
        Err(e) => {
            return Err(DrillError::Usage(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        DrillError::Usage(format!(
            "{} is not a pending-heals file drill wrote ({e})",
            path.display()
        ))
    })
}

/// The heals a run folder holds, newest first, and the run they belong to.
pub fn read(dir: &Path) -> Result<(String, Vec<PendingHeal>), DrillError> {
    let file = read_file(dir)?;
    let mut heals = file.heals;
    heals.reverse();
    Ok((file.run_id, heals))
}

/// Whether the run that wrote the file is still running (and so heals its own).
fn alive(file: &File) -> bool {
    if file.pid == 0 || file.pid == std::process::id() {
        return false;
    }
    std::fs::read(format!("/proc/{}/cmdline", file.pid))
        .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains("drill"))
}

/// The commands in the file run as this user: it must be this user's and writable by
/// no one else (run folders are often shared, as CI artifacts).
fn trusted(path: &Path) -> Result<(), DrillError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    // SAFETY: geteuid takes nothing and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(DrillError::Usage(format!(
            "{} is not yours alone (owner {}, mode {:o}): its commands would run as you, so drill does not run them; read them, then `chmod go-w` it or copy it into a folder of your own",
            path.display(),
            meta.uid(),
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

/// Runs a run folder's pending heals, newest first, each once, and forgets each that
/// succeeds as soon as it has (an interrupted `drill heal --pending` repeats none).
/// Refused while the run that left them still runs. Returns how many failed.
pub async fn run_all(dir: &Path, say: impl Fn(String)) -> Result<usize, DrillError> {
    let path = dir.join(FILE);
    trusted(&path)?;
    let mut file = read_file(dir)?;
    if alive(&file) {
        return Err(DrillError::Usage(format!(
            "run {} (process {}) is still running and heals its own faults when it ends; stop it with Ctrl-C (it heals them), or after a kill -9 run this again",
            file.run_id, file.pid
        )));
    }
    let mut failed = 0;
    let heals: Vec<PendingHeal> = file.heals.iter().rev().cloned().collect();
    for h in &heals {
        say(format!(
            "healing fault #{} {}: {}",
            h.fault,
            h.name,
            h.command.line()
        ));
        let ran = command::run(&h.command, CommandPhase::Heal, &h.env).await;
        for line in ran.stdout.lines().chain(ran.stderr.lines()) {
            say(format!("  | {line}"));
        }
        match ran.failure(&h.command) {
            None => {
                say(format!("  healed in {}", took(&ran)));
                file.heals.retain(|kept| kept.fault != h.fault);
                save(&path, &file)?;
            }
            Some(why) => {
                say(format!("  heal failed: {why}"));
                failed += 1;
            }
        }
    }
    Ok(failed)
}

fn took(ran: &Ran) -> String {
    format!("{:.1}s", ran.took.as_secs_f64())
}

/// Run folders under `out` (a matrix's included) whose run is over and left heals
/// pending, with how many each holds.
pub fn under(out: &Path) -> Vec<(PathBuf, usize)> {
    let mut found = Vec::new();
    let mut folders = vec![(out.to_path_buf(), 0)];
    while let Some((dir, depth)) = folders.pop() {
        match read_file(&dir) {
            Ok(f) if !f.heals.is_empty() && !alive(&f) => found.push((dir.clone(), f.heals.len())),
            _ => {}
        }
        // A run folder, or a matrix's folder of run folders.
        if depth < 2 {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                folders.extend(
                    entries
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| (e.path(), depth + 1)),
                );
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn heal(fault: usize, script: &str) -> PendingHeal {
        PendingHeal {
            fault,
            name: format!("f{fault}"),
            command: Command {
                argv: vec!["sh".into(), "-c".into(), script.into()],
                timeout: Duration::from_secs(10),
                dir: None,
            },
            env: command::environment("r1", fault, "f", &[]),
        }
    }

    #[tokio::test]
    async fn pending_heals_run_newest_first_and_only_the_failed_stay() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let log = log.display();
        let pending = PendingHeals::in_folder(dir.path(), "r1");
        pending.add(heal(1, &format!("echo 1 >> {log}"))).unwrap();
        pending
            .add(heal(2, &format!("echo 2 >> {log}; exit 7")))
            .unwrap();
        pending
            .add(heal(3, &format!("echo $DRILL_FAULT $DRILL_PHASE >> {log}")))
            .unwrap();
        pending.add(heal(4, "true")).unwrap();
        pending.remove(4).unwrap();
        assert_eq!(under(dir.path()), [(dir.path().to_path_buf(), 3)]);

        let said = Mutex::new(Vec::new());
        let failed = run_all(dir.path(), |l| said.lock().unwrap().push(l))
            .await
            .unwrap();
        assert_eq!(failed, 1);
        let ran = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert_eq!(ran, "3 heal\n2\n1\n");
        let (run, left) = read(dir.path()).unwrap();
        assert_eq!((run.as_str(), left.len(), left[0].fault), ("r1", 1, 2));
        assert!(said
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("heal failed") && l.contains("exited 7")));

        // The failed one is run again, and once it succeeds the file goes.
        std::fs::write(
            dir.path().join(FILE),
            std::fs::read_to_string(dir.path().join(FILE))
                .unwrap()
                .replace("exit 7", "exit 0"),
        )
        .unwrap();
        assert_eq!(run_all(dir.path(), |_| {}).await.unwrap(), 0);
        assert!(!dir.path().join(FILE).exists());
    }

    #[tokio::test]
    async fn heals_in_a_file_others_may_write_are_not_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pending = PendingHeals::in_folder(dir.path(), "r1");
        pending.add(heal(1, "touch ran")).unwrap();
        let file = dir.path().join(FILE);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = run_all(dir.path(), |_| {}).await.unwrap_err().to_string();
        assert!(
            e.contains("is not yours alone") && e.contains("mode 666"),
            "{e}"
        );
        assert!(!dir.path().join("ran").exists());
    }

    #[test]
    fn a_folder_without_pending_heals_has_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap().1, Vec::new());
        std::fs::write(dir.path().join(FILE), "not json").unwrap();
        assert!(read(dir.path())
            .unwrap_err()
            .to_string()
            .contains("not a pending-heals file"));
    }
}
