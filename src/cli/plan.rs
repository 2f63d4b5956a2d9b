//! `drill plan`: the resolved plan in words, or written as a docker-compose project.

use crate::docker::compose;
use crate::docker::engine::{self, Engine};
use crate::docker::images;
use crate::fixtures;
use crate::model::error::{exit, DrillError};
use crate::plan::{self, Plan};
use crate::run::runner;
use crate::ui::Console;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct PlanArgs {
    pub scenario: PathBuf,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Instead, write the topology as a docker-compose project into this folder
    /// (`docker-compose.yml` and each region's haproxy configuration), with the same
    /// images, names, secrets and labels as `drill run`; builds the helper images
    /// if the engine lacks them. Entry-point ports on 127.0.0.1 are picked now.
    #[arg(long, value_name = "DIR")]
    pub compose: Option<PathBuf>,
}

impl PlanArgs {
    pub async fn exec(self, console: Console) -> Result<u8, DrillError> {
        let s = runner::load(&self.scenario, &console)?;
        let seed = self.seed.or(s.seed).unwrap_or(0);
        match &self.compose {
            None => {
                let plan = plan::build(&s, "<run-id>", seed);
                print!(
                    "{}",
                    plan.describe(&fixtures::pushed_bytes(&plan.images, seed))
                );
                Ok(exit::PASS)
            }
            Some(dir) => {
                write_compose(
                    &self.scenario,
                    plan::build(&s, &plan::new_run_id(), seed),
                    dir,
                )
                .await
            }
        }
    }
}

/// Writes the plan as a docker-compose project into `dir` and says how to start it.
async fn write_compose(path: &Path, plan: Plan, dir: &Path) -> Result<u8, DrillError> {
    let missing = compose::unsupported(&plan);
    if !missing.is_empty() {
        return Err(DrillError::Usage(format!(
            "{}: --compose renders plain, open topologies of registry nodes and load \
             balancers; this scenario has {}, which only `drill run` and `drill up` build",
            path.display(),
            missing.join(", ")
        )));
    }
    let engine = Engine::connect().await?;
    let images = images::ensure_for(&engine, &plan).await?;
    let mut ports = std::collections::HashMap::new();
    for r in &plan.regions {
        ports.insert(r.name.clone(), engine::free_loopback_port()?);
    }
    let project = compose::render(&plan, &images, &ports)?;
    compose::write(dir, &project)?;
    let file = dir.join(compose::COMPOSE_FILE);
    println!(
        "wrote {} (run id {}); start it with `docker-compose -p {} -f {} up -d`, \
         remove it with `docker-compose -p {} -f {} down -v` or `drill clean --run {}`",
        file.display(),
        plan.run_id,
        plan.network,
        file.display(),
        plan.network,
        file.display(),
        plan.run_id
    );
    let mut regions: Vec<_> = project.entry_points.iter().collect();
    regions.sort();
    for (region, url) in regions {
        println!("  region {region} answers at {url}");
    }
    Ok(exit::PASS)
}
