//! The full-screen live dashboard (`drill run --live`, `drill up --live`): per-region
//! availability, pull latency percentiles, active faults, recent errors and the position
//! in the timeline, redrawn once a second from the journal's live numbers
//! ([`crate::ui::live`]). Drawing is a pure function of a [`Snapshot`], so it is tested on a
//! ratatui `TestBackend`. The terminal is restored on exit, on Ctrl-C and on panic
//! ([`Console::restore`]).

use super::console::Console;
use super::live::LiveView;
use crate::journal::Journal;
use crate::model::ticker::Ticker;
use crate::plan::{Plan, StepPlan};
use crate::ui::live::{Percentiles, Snapshot, RECENT_US};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, List, ListItem, Paragraph, Row, Table};
use ratatui::{Frame, Terminal};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the dashboard is redrawn.
const REDRAW_EVERY: Duration = Duration::from_secs(1);

/// What the dashboard knows of the run besides its live numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// "scenario (run id, seed)".
    pub title: String,
    /// The timeline's length; None for a game day, which lasts until `drill down`.
    pub duration: Option<Duration>,
    /// Every step: when, and what.
    pub steps: Vec<(Duration, String)>,
}

impl Timeline {
    pub fn of(plan: &Plan, game_day: bool) -> Timeline {
        let steps = plan
            .timeline
            .iter()
            .map(|s| {
                let what = match &s.what {
                    StepPlan::ColdStart { hosts, .. } => {
                        format!("cold start of {} hosts", hosts.len())
                    }
                    StepPlan::ProxyCheck => "proxy check".to_string(),
                    StepPlan::Fault(f) if f.duration.is_zero() => {
                        format!("fault #{} {} {}", f.id, f.kind().name(), f.target)
                    }
                    StepPlan::Fault(f) => format!(
                        "fault #{} {} {} for {}",
                        f.id,
                        f.kind().name(),
                        f.target,
                        humantime::format_duration(f.duration)
                    ),
                };
                (s.at, what)
            })
            .collect();
        Timeline {
            title: format!(
                "{} (run {}, seed {})",
                plan.scenario, plan.run_id, plan.seed
            ),
            duration: (!game_day).then_some(plan.duration),
            steps,
        }
    }
}

fn secs(us: u64) -> String {
    format!("{:.1}s", us as f64 / 1e6)
}

fn latency(p: Option<Percentiles>) -> [String; 5] {
    match p {
        Some(p) => [
            p.count.to_string(),
            format!("{:.3}s", p.p50_us as f64 / 1e6),
            format!("{:.3}s", p.p90_us as f64 / 1e6),
            format!("{:.3}s", p.p99_us as f64 / 1e6),
            format!("{:.3}s", p.max_us as f64 / 1e6),
        ],
        None => ["0".into(), "-".into(), "-".into(), "-".into(), "-".into()],
    }
}

/// Draws the whole dashboard for one instant. `log` holds drill's latest progress lines.
pub fn draw(frame: &mut Frame, snap: &Snapshot, timeline: &Timeline, log: &[String]) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let recent = secs(RECENT_US);
    let [head, middle, faults_area, errors_area, log_area, foot] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    // Where the timeline is, and what comes next.
    let elapsed = snap.elapsed_us.unwrap_or(0);
    let next = timeline
        .steps
        .iter()
        .find(|(at, _)| at.as_micros() as u64 > elapsed)
        .map(|(at, what)| format!(" · next at {}: {what}", secs(at.as_micros() as u64)))
        .unwrap_or_default();
    let (ratio, position) = match (snap.elapsed_us, timeline.duration) {
        (None, _) => (0.0, "timeline not started".to_string()),
        (Some(t), Some(d)) => (
            (t as f64 / d.as_micros().max(1) as f64).min(1.0),
            format!("t+{} of {}{next}", secs(t), secs(d.as_micros() as u64)),
        ),
        (Some(t), None) => (
            0.0,
            format!("t+{} (game day, until `drill down`){next}", secs(t)),
        ),
    };
    frame.render_widget(
        Gauge::default()
            .block(Block::bordered().title(format!(" drill · {} ", timeline.title)))
            .gauge_style(Style::default().fg(Color::Cyan))
            .ratio(ratio)
            .label(position),
        head,
    );

    let [avail_area, pulls_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(middle);
    let rows = snap.regions.iter().map(|r| {
        let style = match r.recent {
            Some(v) if v < 100.0 => Style::default().fg(Color::Red),
            _ => Style::default(),
        };
        Row::new([
            r.name.clone(),
            r.recent.map_or("-".into(), |v| format!("{v:.1}%")),
            format!("{:.2}%", r.total),
        ])
        .style(style)
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(10),
            ],
        )
        .header(Row::new(["region", format!("last {recent}").as_str(), "so far"]).style(bold))
        .block(Block::bordered().title(" availability (probes) ")),
        avail_area,
    );
    frame.render_widget(pulls_panel(snap), pulls_area);

    let faults: Vec<ListItem> = if snap.faults.is_empty() {
        vec![ListItem::new("none")]
    } else {
        snap.faults
            .iter()
            .map(|f| {
                ListItem::new(format!(
                    "#{} {} · since t+{} ({} ago)",
                    f.id,
                    f.what,
                    secs(f.since_us),
                    secs(elapsed.saturating_sub(f.since_us))
                ))
                .style(Style::default().fg(Color::Yellow))
            })
            .collect()
    };
    frame.render_widget(
        List::new(faults).block(Block::bordered().title(" active faults ")),
        faults_area,
    );

    let errors: Vec<ListItem> = if snap.errors.is_empty() {
        vec![ListItem::new("none")]
    } else {
        snap.errors
            .iter()
            .map(|(t, e)| ListItem::new(format!("t+{} {e}", secs(*t))))
            .collect()
    };
    frame.render_widget(
        List::new(errors).block(Block::bordered().title(" recent errors (newest first) ")),
        errors_area,
    );

    let shown = log_area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = log[log.len().saturating_sub(shown)..]
        .iter()
        .map(|l| Line::from(l.as_str()))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" drill ")),
        log_area,
    );
    let how_to_stop = if timeline.duration.is_some() {
        "Ctrl-C stops the run: faults are healed and the topology removed"
    } else {
        "`drill down` ends the game day with its reports; Ctrl-C stops it (exit 3)"
    };
    frame.render_widget(Paragraph::new(how_to_stop), foot);
}

/// Pull latency over the recent window and so far, with the pull and cold-start counts.
fn pulls_panel(snap: &Snapshot) -> Table<'static> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let recent = secs(RECENT_US);
    let pull_rows = [
        (format!("last {recent}"), snap.pull_recent),
        ("so far".to_string(), snap.pull_total),
    ]
    .map(|(label, p)| {
        let [n, p50, p90, p99, max] = latency(p);
        Row::new([label, n, p50, p90, p99, max])
    });
    Table::new(
        pull_rows,
        [
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
        ],
    )
    .header(Row::new(["window", "count", "p50", "p90", "p99", "max"]).style(bold))
    .block(
        Block::bordered()
            .title(format!(
                " pull latency · {} ok, {} failed ",
                snap.pulls_ok, snap.pulls_failed
            ))
            .title_bottom(format!(
                " cold starts {} ok, {} failed, {} interrupted ",
                snap.cold_starts_ok, snap.cold_starts_failed, snap.cold_starts_interrupted
            )),
    )
}

/// The dashboard on the terminal; dropping it (the run ended, was aborted or panicked)
/// restores the terminal and prints the lines held meanwhile.
struct Screen {
    terminal: Terminal<CrosstermBackend<std::io::Stdout>>,
    console: Console,
}

impl Screen {
    fn enter(console: &Console) -> std::io::Result<Screen> {
        console.take_screen()?;
        let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        terminal.clear()?;
        Ok(Screen {
            terminal,
            console: console.clone(),
        })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.console.restore();
    }
}

/// Shows the dashboard until `stop` is cancelled (or the task is dropped).
/// Takes the terminal at once, so that every line said from now on is held rather than
/// printed under the dashboard, and returns the task that draws it until `stop`; None
/// (with a warning) when the terminal cannot be taken.
pub fn show(
    console: Console,
    journal: Journal,
    live: Arc<LiveView>,
    timeline: Timeline,
    stop: CancellationToken,
) -> Option<impl std::future::Future<Output = ()> + Send> {
    let mut screen = match Screen::enter(&console) {
        Ok(s) => s,
        Err(e) => {
            console.restore();
            eprintln!("warning: --live: cannot take over the terminal ({e}); no dashboard");
            return None;
        }
    };
    Some(async move {
        let mut ticker = Ticker::new(REDRAW_EVERY, stop);
        while ticker.next().await {
            let snap = live.snapshot(journal.now_us());
            // A panic elsewhere gave the terminal back: drawing now would scribble on it.
            if !console.on_screen() {
                return;
            }
            let log = console.held();
            if let Err(e) = screen.terminal.draw(|f| draw(f, &snap, &timeline, &log)) {
                drop(screen);
                eprintln!("warning: --live: drawing failed ({e}); no dashboard");
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::live::{FaultView, RegionView};
    use ratatui::backend::TestBackend;

    fn screen_text(snap: &Snapshot, timeline: &Timeline, log: &[String]) -> String {
        let mut terminal = Terminal::new(TestBackend::new(110, 40)).unwrap();
        terminal.draw(|f| draw(f, snap, timeline, log)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        buffer
            .content()
            .chunks(buffer.area.width as usize)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn timeline() -> Timeline {
        Timeline {
            title: "quickstart (run r1, seed 42)".into(),
            duration: Some(Duration::from_secs(40)),
            steps: vec![
                (Duration::ZERO, "cold start of 20 hosts".into()),
                (
                    Duration::from_secs(10),
                    "fault #1 zone-outage eu-a for 15s".into(),
                ),
                (Duration::from_secs(30), "cold start of 10 hosts".into()),
            ],
        }
    }

    #[test]
    fn dashboard_shows_what_a_user_watches() {
        let snap = Snapshot {
            elapsed_us: Some(12_500_000),
            regions: vec![
                RegionView {
                    name: "eu".into(),
                    recent: Some(75.0),
                    total: 93.25,
                },
                RegionView {
                    name: "us".into(),
                    recent: Some(100.0),
                    total: 100.0,
                },
            ],
            pulls_ok: 31,
            pulls_failed: 2,
            pull_recent: Some(Percentiles {
                count: 4,
                p50_us: 1_200_000,
                p90_us: 2_000_000,
                p99_us: 2_500_000,
                max_us: 2_500_000,
            }),
            pull_total: None,
            cold_starts_ok: 19,
            cold_starts_failed: 1,
            cold_starts_interrupted: 4,
            faults: vec![FaultView {
                id: 1,
                what: "zone-outage eu-a".into(),
                since_us: 10_000_000,
            }],
            errors: vec![(12_000_000, "probe eu: connection refused".into())],
        };
        let text = screen_text(&snap, &timeline(), &["[   3.0s] timeline started".into()]);
        for expected in [
            "drill · quickstart (run r1, seed 42)",
            "t+12.5s of 40.0s · next at 30.0s: cold start of 10 hosts",
            "eu         75.0%      93.25%",
            "us         100.0%     100.00%",
            "pull latency · 31 ok, 2 failed",
            "cold starts 19 ok, 1 failed, 4 interrupted",
            "window      count   p50      p90      p99      max",
            "last 10.0s  4       1.200s   2.000s   2.500s   2.500s",
            "so far      0       -        -        -        -",
            "#1 zone-outage eu-a · since t+10.0s (2.5s ago)",
            "t+12.0s probe eu: connection refused",
            "[   3.0s] timeline started",
            "Ctrl-C stops the run",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn before_the_timeline_and_in_a_game_day() {
        let quiet = screen_text(&Snapshot::default(), &timeline(), &[]);
        assert!(quiet.contains("timeline not started"), "{quiet}");
        assert!(quiet.contains("active faults"), "{quiet}");
        assert!(quiet.contains("none"), "{quiet}");
        let game_day = Timeline {
            duration: None,
            ..timeline()
        };
        let snap = Snapshot {
            elapsed_us: Some(95_000_000),
            ..Snapshot::default()
        };
        let text = screen_text(&snap, &game_day, &[]);
        assert!(
            text.contains("t+95.0s (game day, until `drill down`)"),
            "{text}"
        );
        assert!(!text.contains("next at"), "{text}");
        assert!(text.contains("`drill down` ends the game day"), "{text}");
    }
}
