//! `drill run --matrix`: one scenario run once per combination of designs, with the same
//! seed and timeline, each in a run folder of its own under one comparison folder, which
//! then gets the comparison of their summaries.

use crate::model::error::{exit, DrillError};
use crate::plan;
use crate::report::comparison::{self, Ran};
use crate::report::Summary;
use crate::run::runner::{self, RunOptions};
use crate::scenario::matrix::Combination;
use std::path::{Path, PathBuf};

/// Runs `path` once per combination and writes the comparison; returns the worst exit
/// code. Every combination is validated before the first starts.
pub async fn run(
    path: &Path,
    combinations: &[Combination],
    opts: &RunOptions,
) -> Result<u8, DrillError> {
    let scenarios = crate::faults::load_matrix(path, combinations)?;
    let name = scenarios[0].scenario.name.value.clone();
    let seed = opts
        .seed
        .or(scenarios[0].scenario.seed)
        .unwrap_or_else(rand::random);
    let dir = folder(&opts.out, &name)?;
    let console = &opts.console;
    console.say(format!(
        "matrix: {} combinations of {name}, seed {seed}, under {}",
        combinations.len(),
        dir.display()
    ));
    let mut runs = Vec::new();
    for (i, (c, loaded)) in combinations.iter().zip(scenarios).enumerate() {
        console.setup_starts();
        console.say(format!("matrix {}/{}: {c}", i + 1, combinations.len()));
        for w in &loaded.warnings {
            console.say(format!("warning: {w}"));
        }
        let mut plan = plan::build(&loaded.scenario, &plan::new_run_id(), seed);
        plan.description = match plan.description.trim() {
            "" => format!("--matrix {c}"),
            d => format!("{d} (--matrix {c})"),
        };
        let sub = RunOptions {
            out: dir.clone(),
            folder: Some(c.slug()),
            ..opts.clone()
        };
        runs.push(match runner::run_plan(plan, &sub, None).await {
            Ok((code, folder)) => ran(c, &dir, code, &folder),
            Err(e) => {
                eprintln!("error: {e}");
                Ran {
                    combination: c.to_string(),
                    folder: None,
                    exit_code: e.exit_code(),
                    outcome: Err(e.to_string()),
                }
            }
        });
        if opts.interrupted.get() {
            break;
        }
    }
    let compared = comparison::compare(&name, seed, &runs);
    let files = comparison::render_files(&compared, &runs).map_err(|e| {
        DrillError::setup_from(
            format!("cannot render the comparison in {}", dir.display()),
            e,
        )
    })?;
    for (file, bytes) in files {
        crate::model::atomic_file::write(&dir.join(file), &bytes).map_err(|e| {
            DrillError::setup_from(format!("cannot write {file} in {}", dir.display()), e)
        })?;
    }
    println!("\n{}", comparison::terminal(&compared));
    for c in combinations.iter().skip(runs.len()) {
        println!("  not run: {c} (interrupted)");
    }
    println!("comparison: {}", dir.display());
    let mut code = compared.exit_code;
    if runs.len() < combinations.len() {
        code = exit::worst(&[code, exit::ABORTED]);
    }
    Ok(code)
}

/// A finished run, with its summary as written in its folder.
fn ran(c: &Combination, dir: &Path, code: u8, folder: &Path) -> Ran {
    let read = std::fs::read(folder.join("summary.json"))
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Summary>(&b).map_err(|e| e.to_string()));
    Ran {
        combination: c.to_string(),
        folder: Some(
            folder
                .strip_prefix(dir)
                .unwrap_or(folder)
                .display()
                .to_string(),
        ),
        exit_code: code,
        outcome: read.map_err(|e| format!("cannot read its summary.json: {e}")),
    }
}

/// `<out>/<scenario>-matrix-<time>`, made new.
fn folder(out: &Path, name: &str) -> Result<PathBuf, DrillError> {
    let dir = out.join(format!("{name}-matrix-{}", runner::stamp()));
    std::fs::create_dir_all(&dir).map_err(|e| {
        DrillError::setup_from(
            format!("cannot create the comparison folder {}", dir.display()),
            e,
        )
    })?;
    Ok(dir)
}
