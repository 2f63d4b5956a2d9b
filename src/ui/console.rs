//! Where a run's progress goes: lines on stderr stamped with the clock a person compares
//! them with, bars for the slow steps before the timeline, and, while the dashboard
//! covers the terminal, a log that holds the lines until it gives the terminal back.
//!
//! One [`Console`] is made per command and handed down to whatever reports progress:
//! no global holds output state, and each run of a matrix restarts its clock.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ratatui::crossterm::{cursor, execute, terminal};
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Progress lines kept while the dashboard covers the terminal.
const HELD_KEPT: usize = 500;

/// The clock of the progress lines: setup counts from the scenario's start, the rest
/// from its timeline's start, as the scenario's `at:` and the reports' `t+` do.
#[derive(Clone, Copy)]
enum Clock {
    Setup(Instant),
    Timeline(Instant),
}

/// A handle on the terminal's stderr (and, with the dashboard, its stdout); clones
/// share it.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

struct Inner {
    clock: Mutex<Clock>,
    bars: MultiProgress,
    /// Whether bars are drawn: only when stderr is a terminal (CI logs get the lines).
    bars_shown: bool,
    /// Progress lines held while the dashboard is up (None when it is not).
    held: Mutex<Option<VecDeque<String>>>,
    /// Whether the terminal is in the dashboard's state and needs restoring.
    on_screen: AtomicBool,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("bars_shown", &self.0.bars_shown)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not silence the lines that tell how the run is cleaned up.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Console {
    /// The process's stderr, with bars when it is a terminal.
    pub fn stderr() -> Console {
        Console::new(std::io::stderr().is_terminal())
    }

    fn new(bars_shown: bool) -> Console {
        let target = if bars_shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Console(Arc::new(Inner {
            clock: Mutex::new(Clock::Setup(Instant::now())),
            bars: MultiProgress::with_draw_target(target),
            bars_shown,
            held: Mutex::new(None),
            on_screen: AtomicBool::new(false),
        }))
    }

    /// Gives the terminal back when a panic ends the process, before the panic's
    /// message is printed (which would land on the dashboard's screen and vanish).
    pub fn restore_on_panic(&self) {
        let console = self.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            console.restore();
            previous(info);
        }));
    }

    /// Prints a progress line to stderr (above any bar): `[setup   3.2s]` before the
    /// timeline, `[t+      5.0s]` on it; while the dashboard is up, it holds the line.
    pub fn say(&self, msg: impl AsRef<str>) {
        let line = match *lock(&self.0.clock) {
            Clock::Setup(t0) => format!(
                "[setup {:6.1}s] {}",
                t0.elapsed().as_secs_f64(),
                msg.as_ref()
            ),
            Clock::Timeline(t0) => {
                format!("[t+ {:9.1}s] {}", t0.elapsed().as_secs_f64(), msg.as_ref())
            }
        };
        if let Some(held) = lock(&self.0.held).as_mut() {
            if held.len() == HELD_KEPT {
                held.pop_front();
            }
            held.push_back(line);
            return;
        }
        self.println(&line);
    }

    /// A scenario starts: lines count its setup from now.
    pub fn setup_starts(&self) {
        *lock(&self.0.clock) = Clock::Setup(Instant::now());
    }

    /// The timeline starts: lines count from now, as its `at:` and the reports' `t+` do.
    pub fn timeline_starts(&self) {
        *lock(&self.0.clock) = Clock::Timeline(Instant::now());
    }

    /// A spinner with the time spent, for a step of unknown length.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        if !self.0.bars_shown {
            return ProgressBar::hidden();
        }
        let bar = self.0.bars.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
        );
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A bar of `len` steps.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.0.bars_shown {
            return ProgressBar::hidden();
        }
        let bar = self.0.bars.add(ProgressBar::new(len));
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
    fn println(&self, line: &str) {
        self.0.bars.suspend(|| {
            let _ = writeln!(std::io::stderr(), "{line}");
        });
    }

    /// The dashboard takes the terminal: the alternate screen, cursor hidden; lines are
    /// held from now on. Raw mode stays off, so Ctrl-C remains a SIGINT and stops the
    /// run the usual way.
    pub(super) fn take_screen(&self) -> std::io::Result<()> {
        self.hold();
        self.0.on_screen.store(true, Ordering::SeqCst);
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )
    }

    fn hold(&self) {
        *lock(&self.0.held) = Some(VecDeque::new());
    }

    /// Whether the dashboard still has the terminal (a panic gives it back).
    pub(super) fn on_screen(&self) -> bool {
        self.0.on_screen.load(Ordering::SeqCst)
    }

    /// The lines held so far, oldest first.
    pub(super) fn held(&self) -> Vec<String> {
        lock(&self.0.held).iter().flatten().cloned().collect()
    }

    /// Gives the terminal back (main screen, cursor shown), then prints the lines the
    /// dashboard held, so the run's story stays in the scrollback. Safe to call twice,
    /// and when no dashboard is up.
    pub fn restore(&self) {
        if self.0.on_screen.swap(false, Ordering::SeqCst) {
            let _ = execute!(
                std::io::stdout(),
                terminal::LeaveAlternateScreen,
                cursor::Show
            );
        }
        let held = lock(&self.0.held).take();
        for line in held.into_iter().flatten() {
            self.println(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_the_dashboard_held_are_kept_in_order_and_bounded() {
        let console = Console::new(false);
        console.hold();
        for i in 0..HELD_KEPT + 3 {
            console.say(format!("line {i}"));
        }
        let held = console.held();
        assert_eq!(held.len(), HELD_KEPT);
        assert!(held[0].ends_with("line 3"), "{}", held[0]);
        assert!(held
            .last()
            .unwrap()
            .ends_with(&format!("line {}", HELD_KEPT + 2)));
        console.restore();
        assert!(console.held().is_empty(), "restore prints and forgets them");
    }

    #[test]
    fn each_console_keeps_its_own_clock() {
        let setup = Console::new(false);
        let timeline = Console::new(false);
        setup.hold();
        timeline.hold();
        timeline.timeline_starts();
        setup.say("a");
        timeline.say("b");
        assert!(setup.held()[0].starts_with("[setup "), "{:?}", setup.held());
        assert!(
            timeline.held()[0].starts_with("[t+ "),
            "{:?}",
            timeline.held()
        );
    }
}
