//! A scenario file through what `drill validate` does (parse, validate, render the
//! errors) and, when it is valid, what `drill plan` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_drill::{faults, plan};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = faults::check_source("fuzz.yaml", source) {
        let _ = plan::build(&s.scenario, "fuzz", 0).describe();
    }
});
