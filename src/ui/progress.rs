//! Progress bars for the slow steps before a run's timeline (building images, bringing
//! the topology up, seeding) when stderr is a terminal. Elsewhere (CI logs) the bars are
//! hidden and the plain progress lines are all there is.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::LazyLock;
use std::time::Duration;

static BARS: LazyLock<MultiProgress> =
    LazyLock::new(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));

fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner with the time spent, for a step of unknown length.
pub fn spinner(what: &str) -> ProgressBar {
    if !on_terminal() {
        return ProgressBar::hidden();
    }
    let bar = BARS.add(ProgressBar::new_spinner());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar of `len` steps.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    if !on_terminal() {
        return ProgressBar::hidden();
    }
    let bar = BARS.add(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Prints a line on stderr above any bar on screen. A failed write (the terminal was
/// closed) is dropped: it must not stop a run from healing and cleaning up.
pub fn println(line: &str) {
    BARS.suspend(|| {
        let _ = writeln!(std::io::stderr(), "{line}");
    });
}
