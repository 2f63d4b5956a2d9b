//! Before the timeline: does each brought registry speak what the run relies on? Asked
//! with an image just seeded there; what is missing is said and journaled as a note, and
//! what a run cannot do without stops the setup (exit 4) instead of showing up as an
//! outage the registry never had.

use super::topology::Live;
use crate::fixtures::split_reference;
use crate::journal::{Event, Journal};
use crate::model::error::DrillError;
use crate::oci;
use crate::oci::conformance::{self, Finding};
use crate::plan::Plan;
use crate::ui::Console;
use std::time::Duration;

/// An image just seeded to every region: what the registries are asked for.
pub(super) struct Sample<'a> {
    pub reference: &'a str,
    pub manifest: &'a str,
    /// One of its blobs.
    pub blob: &'a str,
}

/// Checks every region of a brought registry with `image`.
pub(super) async fn check(
    plan: &Plan,
    live: &Live,
    image: Option<Sample<'_>>,
    journal: &Journal,
    console: &Console,
) -> Result<(), DrillError> {
    let client = oci::client(
        Duration::from_secs(5),
        Duration::from_secs(30),
        &live.access,
    );
    let Some(image) = image else {
        return Ok(());
    };
    let (repository, tag) = split_reference(image.reference);
    for region in &plan.regions {
        let Some(custom) = region.registry.custom() else {
            continue;
        };
        if !plan.replication.pushes_to(&region.name) {
            continue;
        }
        let base = &live.entry_points[&region.name];
        let found =
            conformance::check(&client, base, repository, tag, image.manifest, image.blob).await;
        let lacking = |f: &Finding| format!("{} ({})", f.lack.what(), f.answer);
        if found.is_empty() {
            console.say(format!(
                "registry {} in {}: speaks every request the run sends",
                custom.name, region.name
            ));
            continue;
        }
        for f in &found {
            journal.record(Event::Note {
                text: format!(
                    "registry {} in {} lacks {}{}",
                    custom.name,
                    region.name,
                    lacking(f),
                    if f.lack.needed() {
                        ""
                    } else {
                        "; the run does not need it"
                    }
                ),
            });
        }
        console.say(format!(
            "registry {} in {} lacks: {}",
            custom.name,
            region.name,
            found.iter().map(lacking).collect::<Vec<_>>().join(", ")
        ));
        let needed: Vec<String> = found
            .iter()
            .filter(|f| f.lack.needed())
            .map(lacking)
            .collect();
        if !needed.is_empty() {
            return Err(DrillError::setup(format!(
                "registry {} in {} does not answer what hosts send: {}. Check its spec \
                 (args, config, port) or the implementation's documentation",
                custom.name,
                region.name,
                needed.join("; ")
            )));
        }
    }
    Ok(())
}
