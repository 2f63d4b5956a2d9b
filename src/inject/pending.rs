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

/// The heals a run folder holds, newest first, and the run they belong to; none when
/// it holds no file.
pub fn read(dir: &Path) -> Result<(String, Vec<PendingHeal>), DrillError> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((String::new(), Vec::new()))
        }
        Err(e) => {
            return Err(DrillError::Usage(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let file: File = serde_json::from_str(&text).map_err(|e| {
        DrillError::Usage(format!(
            "{} is not a pending-heals file drill wrote ({e})",
            path.display()
        ))
    })?;
    let mut heals = file.heals;
    heals.reverse();
    Ok((file.run_id, heals))
}

/// Runs a run folder's pending heals, newest first, each once, and forgets those that
/// succeeded. Reports each as it goes; returns how many failed.
pub async fn run_all(dir: &Path, say: impl Fn(String)) -> Result<usize, DrillError> {
    let (run_id, heals) = read(dir)?;
    let path = dir.join(FILE);
    let mut left = File {
        run_id,
        heals: Vec::new(),
    };
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
            None => say(format!("  healed in {}", took(&ran))),
            Some(why) => {
                say(format!("  heal failed: {why}"));
                left.heals.insert(0, h.clone());
            }
        }
    }
    save(&path, &left)?;
    Ok(left.heals.len())
}

fn took(ran: &Ran) -> String {
    format!("{:.1}s", ran.took.as_secs_f64())
}

/// Run folders under `out` that hold pending heals, with how many each holds.
pub fn under(out: &Path) -> Vec<(PathBuf, usize)> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, usize)> = entries
        .flatten()
        .map(|e| e.path())
        .filter_map(|dir| match read(&dir) {
            Ok((_, heals)) if !heals.is_empty() => Some((dir, heals.len())),
            _ => None,
        })
        .collect();
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
        assert_eq!(
            under(dir.path().parent().unwrap())
                .iter()
                .filter(|(d, _)| d == dir.path())
                .count(),
            1
        );

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
