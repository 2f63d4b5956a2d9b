//! `drill report`: a run's reports re-rendered from its journal.

use super::BaselineArgs;
use crate::model::error::DrillError;
use crate::report;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run folder (holding journal.jsonl) or the journal itself.
    pub run: PathBuf,
    #[command(flatten)]
    pub baseline: BaselineArgs,
}

impl ReportArgs {
    pub fn exec(self) -> Result<u8, DrillError> {
        let baseline = self.baseline.load()?;
        let path = if self.run.is_dir() {
            self.run.join("journal.jsonl")
        } else {
            self.run.clone()
        };
        let dir = path.parent().unwrap_or(&self.run);
        let summary = report::render(&path, dir, baseline.as_ref())?;
        Ok(summary.verdict.status.exit_code())
    }
}
