//! drill's progress lines on stderr, each stamped with the clock a person compares it
//! with: the setup's, then the timeline's.

use std::sync::Mutex;
use std::time::Instant;

/// The clock of the progress lines: setup counts from the scenario's start, the rest
/// from its timeline's start, as the scenario's `at:` and the reports' `t+` do.
#[derive(Clone, Copy)]
enum SayClock {
    Setup(Instant),
    Timeline(Instant),
}

static SAY_CLOCK: Mutex<Option<SayClock>> = Mutex::new(None);

fn set_clock(clock: SayClock) {
    *SAY_CLOCK.lock().unwrap_or_else(|e| e.into_inner()) = Some(clock);
}

/// Prints a progress line to stderr (above any progress bar): `[setup   3.2s]` before
/// the timeline, `[t+      5.0s]` on it; while the dashboard covers the terminal, it
/// holds the line instead.
pub fn say(msg: impl AsRef<str>) {
    let clock = *SAY_CLOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert(SayClock::Setup(Instant::now()));
    let line = match clock {
        SayClock::Setup(t0) => format!(
            "[setup {:6.1}s] {}",
            t0.elapsed().as_secs_f64(),
            msg.as_ref()
        ),
        SayClock::Timeline(t0) => {
            format!("[t+ {:9.1}s] {}", t0.elapsed().as_secs_f64(), msg.as_ref())
        }
    };
    if !crate::ui::dashboard::capture(&line) {
        crate::ui::progress::println(&line);
    }
}

/// A scenario starts: lines count its setup from now.
pub fn setup_starts() {
    set_clock(SayClock::Setup(Instant::now()));
}

/// The timeline starts: lines count from now, as its `at:` and the reports' `t+` do.
pub fn timeline_starts() {
    set_clock(SayClock::Timeline(Instant::now()));
}
