//! `drill validate` and `drill schema`: the scenario format, checked and described,
//! without Docker.

use crate::model::error::{exit, DrillError};
use crate::scenario::matrix::{self, Axis};
use crate::{report, scenario};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Check each file once per combination, as `drill run --matrix` would run it:
    /// `--matrix registry=distribution,container-registry`.
    #[arg(long, value_name = "KEY=VALUE,…", value_parser = Axis::parse)]
    pub matrix: Vec<Axis>,
}

impl ValidateArgs {
    pub fn exec(self) -> Result<u8, DrillError> {
        let combinations = matrix::combinations(&self.matrix).map_err(DrillError::Usage)?;
        let mut failed = Vec::new();
        for path in &self.scenarios {
            match crate::faults::load_matrix(path, &combinations) {
                Ok(loaded) => {
                    // A warning of the file as written is one of every combination.
                    let mut warnings: Vec<&String> =
                        loaded.iter().flat_map(|l| &l.warnings).collect();
                    warnings.sort();
                    warnings.dedup();
                    for w in &warnings {
                        eprintln!("warning: {w}");
                    }
                    let checked = match loaded.len() {
                        _ if self.matrix.is_empty() => String::new(),
                        1 => " (1 combination of --matrix)".to_string(),
                        n => format!(" ({n} combinations of --matrix)"),
                    };
                    match warnings.len() {
                        0 => println!("{}: ok{checked}", path.display()),
                        1 => println!("{}: ok{checked}, with 1 warning", path.display()),
                        n => println!("{}: ok{checked}, with {n} warnings", path.display()),
                    }
                }
                Err(e) => failed.push(e.to_string()),
            }
        }
        if failed.is_empty() {
            Ok(exit::PASS)
        } else {
            Err(DrillError::Usage(failed.join("\n")))
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SchemaOf {
    /// Scenario files (YAML), for editor completion and CI checks.
    Scenario,
    /// The summary.json a run writes.
    Summary,
}

#[derive(Args, Debug)]
pub struct SchemaArgs {
    #[arg(value_enum, default_value = "scenario")]
    pub of: SchemaOf,
}

impl SchemaArgs {
    pub fn exec(self) -> Result<u8, DrillError> {
        let schema = match self.of {
            SchemaOf::Scenario => scenario::schema(),
            SchemaOf::Summary => report::summary_schema(),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&schema).expect("a schema is JSON")
        );
        Ok(exit::PASS)
    }
}
