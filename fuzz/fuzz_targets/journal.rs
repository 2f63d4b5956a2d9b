//! A journal through what `drill report` does: parse, analyse, judge, render every
//! report in memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_drill::{journal, report};

fuzz_target!(|data: &[u8]| {
    if let Ok(loaded) = journal::parse(data) {
        let summary = report::summarize(&loaded.records, loaded.truncated);
        let _ = report::render_files(&summary);
        let _ = report::terminal(&summary);
    }
});
