//! `drill clean` and `drill images`: what drill leaves on the Docker engine.

use crate::docker::engine::Engine;
use crate::docker::images;
use crate::model::error::{exit, DrillError};
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// Only the objects of this run id.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    pub run: Option<String>,
    /// Every object of every drill run on this engine.
    #[arg(long)]
    pub all: bool,
    /// The folder runs wrote their reports under: its run folders are searched for
    /// heals of `exec` faults a killed run left pending.
    #[arg(long, default_value = "reports", env = "DRILL_OUT")]
    pub out: std::path::PathBuf,
}

impl CleanArgs {
    pub async fn exec(self) -> Result<u8, DrillError> {
        let engine = Engine::connect().await?;
        let target = if self.all { None } else { self.run.as_deref() };
        let removed = engine.remove_labelled(target).await;
        println!(
            "removed {} containers, {} networks, {} volumes",
            removed.containers, removed.networks, removed.volumes
        );
        // Removing containers heals what drill did to them, not what a command did to
        // infrastructure drill does not own.
        for (dir, n) in crate::inject::pending::under(&self.out) {
            eprintln!(
                "warning: {} holds {n} heal command(s) of exec faults a killed run did not run: \
                 run `drill heal --pending {}`",
                dir.display(),
                dir.display()
            );
        }
        if removed.errors.is_empty() {
            Ok(exit::PASS)
        } else {
            Err(DrillError::Cleanup(removed.errors.join("\n")))
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ImagesAction {
    /// Build the helper images: registry, load balancers, fault toolbox, containerd, token
    /// service (done by `run` when needed).
    Build,
    /// Remove helper images the current recipes no longer build (older drill versions,
    /// upgraded host packages); the current ones and those in use stay.
    Prune,
}

impl ImagesAction {
    pub async fn exec(self) -> Result<u8, DrillError> {
        let engine = Engine::connect().await?;
        match self {
            ImagesAction::Build => {
                let built = images::ensure_all(&engine).await?;
                println!("{}\n{}\n{}", built.registry, built.haproxy, built.toolbox);
                // Only some runs need these; without the package, say so.
                let optional = [
                    (images::nginx_recipe(), "nginx load balancers"),
                    (images::caddy_recipe(), "Caddy load balancers"),
                    (images::containerd_recipe(), "containerd hosts"),
                ];
                for (recipe, needed_by) in optional {
                    match images::ensure(&engine, &recipe).await {
                        Ok(tag) => println!("{tag}"),
                        Err(e) => eprintln!("not built (needed only by {needed_by}): {e}"),
                    }
                }
                println!(
                    "{}",
                    images::ensure(&engine, &images::token_service_recipe()?).await?
                );
            }
            ImagesAction::Prune => {
                let pruned = images::prune(&engine).await?;
                for tag in &pruned.removed {
                    println!("removed {tag}");
                }
                for (tag, why) in &pruned.kept {
                    eprintln!("kept {tag}: {why}");
                }
                println!("removed {} outdated helper images", pruned.removed.len());
            }
        }
        Ok(exit::PASS)
    }
}
