//! `report.html`: one self-contained page (inline CSS and SVG, no script, nothing
//! fetched) with the verdict, the seed's answer per fault, the SLA table and charts:
//! cold starts over time with the fault windows shaded, cold-start percentile curves
//! per region, availability per window per region, and each fault's recovery waterfall.
//! The charts are drawn by plotters' SVG backend, which needs no font files.

use super::{
    availability_rows, budget_line, cold_start_rows, cold_starts_during, disruption_text,
    fault_budget_text, fault_title, incomplete_warning, mirror_move_rows, no_heal_text,
    outcome_text, percent, phase_rows, pull_rows, pushes_text, reference_line, refused_text,
    regressions_heading, secs, settle_note, sla_rows, verdict_text, waterfall, Clock, Summary,
    COLD_START_COUNTS, MIRROR_MOVES,
};
use crate::analysis::{Analysis, FaultRecovery};
use crate::verdict::Status;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::error::Error;
use std::fmt::Write as _;
use std::io;
use std::time::Duration;

const WIDTH: u32 = 960;
const FONT: &str = "sans-serif";
/// Region colours, in region order; a palette readable on white.
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(188, 189, 34),
    RGBColor(127, 127, 127),
];
const FAILED: RGBColor = RGBColor(214, 39, 40);
const INTERRUPTED: RGBColor = RGBColor(150, 150, 150);
const LIGHT_GRID: RGBColor = RGBColor(242, 242, 242);

pub(super) const STYLE: &str =
    "body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222;\
padding:0 1em}h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ddd;\
padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}table{border-collapse:collapse;\
margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f3f3f3}td.num{text-align:right}.verdict{font-size:1.2em;padding:.6em 1em;\
border-radius:4px;font-weight:bold}.pass{background:#e3f4e1;color:#1d5c1a}\
.fail{background:#fbe3e3;color:#8a1616}.other{background:#fff3d6;color:#6b4b00}\
.answer{padding:.4em .8em;border-left:4px solid #888;background:#f7f7f7;margin:.4em 0}\
.meta{color:#555}.incomplete{background:#fff3d6;color:#6b4b00;border:2px solid #e0a800;\
padding:.6em 1em;font-weight:bold}svg{display:block;margin:.5em 0;max-width:100%;height:auto}";

type Drawn = Result<(), Box<dyn Error>>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

pub fn render(s: &Summary) -> io::Result<String> {
    let a = &s.analysis;
    let mut h = head(s);
    h.push_str(&answers(a));
    h.push_str(&slas(s));
    h.push_str(&cold_starts(a)?);
    h.push_str(&pulls(a));
    h.push_str(&availability(a)?);
    h.push_str(&faults(a)?);
    h.push_str(&refused(a));
    h.push_str(&notes(a));
    h.push_str(&proxies(a));
    h.push_str(&replication(a)?);
    h.push_str(&authentication(a));
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

/// A run's cold starts over time and its availability per window, drawn `width` wide
/// on `span`'s axes: what a comparison sets side by side.
pub(super) fn side_by_side_charts(a: &Analysis, width: u32, span: &Span) -> io::Result<String> {
    let mut h = String::new();
    if a.cold_starts.all.count > 0 {
        h.push_str(&chart(width, 300, |root| cold_start_chart(a, root, span))?);
    }
    if a.availability.total.probes > 0 {
        h.push_str(&chart(width, 260, |root| {
            availability_chart(a, root, span)
        })?);
    }
    Ok(h)
}

/// What the time charts' axes span: a run's own, or the union of the runs a comparison
/// sets side by side, so that the same place means the same time and the same height
/// the same cold start in every run's charts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Span {
    time: std::ops::Range<f64>,
    cold_start_top: f64,
}

impl Span {
    pub(super) fn of(a: &Analysis) -> Span {
        let top = a
            .cold_starts
            .points
            .iter()
            .map(|p| s_of(p.duration_us))
            .fold(0.001, f64::max)
            * 1.15;
        Span {
            time: time_axis(a),
            cold_start_top: top,
        }
    }

    /// Whether `other`'s axes lie within these.
    #[cfg(test)]
    pub(super) fn holds(&self, other: &Span) -> bool {
        self.time.start <= other.time.start
            && self.time.end >= other.time.end
            && self.cold_start_top >= other.cold_start_top
    }

    /// The span that holds every one of `runs`; None without runs.
    pub(super) fn shared<'a>(runs: impl IntoIterator<Item = &'a Analysis>) -> Option<Span> {
        runs.into_iter().map(Span::of).reduce(|a, b| Span {
            time: a.time.start.min(b.time.start)..a.time.end.max(b.time.end),
            cold_start_top: a.cold_start_top.max(b.cold_start_top),
        })
    }
}

/// The document's head, then the title, the verdict and the run's facts.
fn head(s: &Summary) -> String {
    let a = &s.analysis;
    let mut h = String::new();
    let title = format!("drill {}: {}", s.run.scenario, s.verdict.status.label());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let class = match s.verdict.status {
        Status::Pass => "pass",
        Status::SlaBroken => "fail",
        Status::Inconclusive { .. } | Status::Aborted { .. } => "other",
    };
    let _ = writeln!(h, "<h1>drill — {}</h1>", esc(&s.run.scenario));
    if let Some(w) = incomplete_warning(a) {
        let _ = writeln!(h, "<p class=\"banner incomplete\">{}</p>", esc(&w));
    }
    let description = a.run.as_ref().map(|r| r.description.trim());
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        let _ = writeln!(h, "<p>{}</p>", esc(d));
    }
    let _ = writeln!(
        h,
        "<p class=\"verdict {class}\">verdict: {}</p>",
        esc(&verdict_text(&s.verdict))
    );
    let mut facts = vec![format!("run {}", s.run.run_id)];
    if let Some(seed) = s.run.seed {
        facts.push(format!("seed {seed}"));
    }
    if let Some(started) = &s.run.started_at {
        facts.push(format!("started {started}"));
    }
    facts.push(outcome_text(a));
    facts.extend(crate::report::external_text(a).map(str::to_string));
    facts.push(Clock::of(a).legend().to_string());
    let _ = writeln!(h, "<p class=\"meta\">{}</p>", esc(&facts.join(" · ")));
    h
}

/// The seed's question first: it is what the run is for.
fn answers(a: &Analysis) -> String {
    let mut h = String::from("<h2>Is the recovery short against a cold pull?</h2>\n");
    if a.faults.is_empty() {
        h.push_str("<p>No fault was injected.</p>\n");
        return h;
    }
    let _ = writeln!(h, "<p>{}.</p>", esc(&reference_line(a)));
    for f in &a.faults {
        let _ = writeln!(
            h,
            "<div class=\"answer\"><b>fault #{} {} {}</b>: {}. {}.</div>",
            f.id,
            esc(f.kind.name()),
            esc(&f.target),
            esc(&f.cold_pull.sentence),
            esc(&cold_starts_during(f))
        );
    }
    h
}

/// The SLA table, then the regressions against the baseline when there is one.
fn slas(s: &Summary) -> String {
    let mut h = String::from("<h2>SLAs</h2>\n");
    if s.verdict.checks.is_empty() {
        h.push_str("<p>No SLA declared.</p>\n");
    } else {
        h.push_str(&table(&sla_rows(&s.verdict), &[]));
    }
    if let Some(b) = &s.baseline {
        let _ = writeln!(
            h,
            "<h3>Regressions</h3>\n<p>{}</p>",
            esc(&regressions_heading(b))
        );
        if !b.regressions.is_empty() {
            h.push_str(&list(b.regressions.iter().map(|r| r.text.as_str())));
        }
    }
    h
}

fn cold_starts(a: &Analysis) -> io::Result<String> {
    let mut h = String::from("<h2>Cold starts over time</h2>\n");
    if a.cold_starts.all.count == 0 {
        h.push_str("<p>No cold start recorded.</p>\n");
        return Ok(h);
    }
    h.push_str(
        "<p>Each cold start at its start time; its height is how long it took to pull \
         every image. Crosses are cold starts that failed; open grey circles the \
         interrupted ones, at the time they ran. Shaded: each fault from injection to \
         heal.</p>\n",
    );
    let span = Span::of(a);
    h.push_str(&chart(WIDTH, 360, |root| cold_start_chart(a, root, &span))?);
    let rows = cold_start_rows(a);
    let numeric: Vec<usize> = (1..rows[0].len()).collect();
    h.push_str(&table(&rows, &numeric));
    let _ = writeln!(h, "<p>{}.</p>", esc(COLD_START_COUNTS));
    h.push_str("<h3>Cold-start latency percentiles per region</h3>\n");
    h.push_str(&chart(WIDTH, 320, |root| percentile_chart(a, root))?);
    Ok(h)
}

/// The pulls' and their requests' durations, and the requests moved to another mirror.
fn pulls(a: &Analysis) -> String {
    if a.pulls.attempts == 0 {
        return String::new();
    }
    let mut h = String::from(
        "<h3>Pulls</h3>\n<p>Duration of the successful pulls, and of each request by \
         phase.</p>\n",
    );
    h.push_str(&table(&pull_rows(a), &[1, 2, 3, 4, 5, 6, 7]));
    h.push_str(&table(&phase_rows(a), &[1, 2, 3, 4, 5, 6, 7]));
    let moves = mirror_move_rows(a);
    if !moves.is_empty() {
        let _ = writeln!(h, "<p>{}.</p>", esc(MIRROR_MOVES));
        h.push_str(&table(&moves, &[2]));
    }
    h
}

fn availability(a: &Analysis) -> io::Result<String> {
    let mut h = String::from("<h2>Availability</h2>\n");
    if a.availability.total.probes == 0 {
        h.push_str("<p>No probe recorded.</p>\n");
        return Ok(h);
    }
    let w = &a.availability.windows;
    let _ = writeln!(h, "<p>Availability is {}.</p>", esc(&a.availability.rule));
    let _ = writeln!(
        h,
        "<p>The chart shows the share of successful probes in each {} window per \
         region{}.</p>",
        humantime::format_duration(Duration::from_micros(w.window_us)),
        if w.judged {
            "; below the dashed line a window is down"
        } else {
            " (for the chart only: the SLA counts probes, not windows)"
        }
    );
    let span = Span::of(a);
    h.push_str(&chart(WIDTH, 320, |root| {
        availability_chart(a, root, &span)
    })?);
    h.push_str(&table(&availability_rows(a), &[1, 2]));
    Ok(h)
}

/// The error budget, then each fault's recovery.
fn faults(a: &Analysis) -> io::Result<String> {
    let mut h = String::from("<h2>Faults</h2>\n");
    if a.faults.is_empty() {
        h.push_str("<p>No fault was injected.</p>\n");
    }
    if let Some(b) = &a.error_budget {
        let _ = writeln!(h, "<p>{}.</p>", esc(&budget_line(b)));
    }
    for f in &a.faults {
        h.push_str(&fault(f, a)?);
    }
    Ok(h)
}

/// One fault: its waterfall as a chart and a table, then what it did.
fn fault(f: &FaultRecovery, a: &Analysis) -> io::Result<String> {
    let steps = waterfall(f);
    let mut h = format!("<h3>{}</h3>\n", esc(&fault_title(f)));
    let height = 70 + 34 * steps.len() as u32;
    h.push_str(&chart(WIDTH, height, |root| waterfall_chart(f, root))?);
    let mut rows = vec![vec![
        "step".to_string(),
        "at".to_string(),
        "after injection".to_string(),
    ]];
    for (t, what) in steps {
        rows.push(vec![
            what,
            Clock::of(a).at(t),
            secs(t.saturating_sub(f.injected_us)),
        ]);
    }
    h.push_str(&table(&rows, &[2]));
    let mut notes = vec![disruption_text(f)];
    notes.extend(pushes_text(f));
    notes.extend(settle_note(f));
    if f.healed_us.is_none() {
        notes.push(no_heal_text(f).into());
    }
    notes.push(format!("the seed's question: {}", f.cold_pull.sentence));
    notes.push(cold_starts_during(f));
    notes.extend(fault_budget_text(f, a));
    h.push_str(&list(&notes));
    Ok(h)
}

/// The refused faults' section, if any fault was refused.
fn refused(a: &Analysis) -> String {
    if a.refused.is_empty() {
        return String::new();
    }
    let items = a.refused.iter().map(|r| refused_text(r, Clock::of(a)));
    "<h2>Refused faults</h2>\n".to_string() + &list(items)
}

/// The game day's notes, if any, each at its time.
fn notes(a: &Analysis) -> String {
    if a.notes.is_empty() {
        return String::new();
    }
    let items = a
        .notes
        .iter()
        .map(|n| format!("{} {}", Clock::of(a).at(n.t_us), n.text));
    "<h2>Notes</h2>\n".to_string() + &list(items)
}

/// What the pull-through proxies served and the HTTP errors hosts got, if either.
fn proxies(a: &Analysis) -> String {
    let errors = super::proxy::http_error_rows(a);
    let intro = super::proxy::intro(a);
    if intro.is_none() && errors.is_empty() {
        return String::new();
    }
    let mut h = format!("<h2>{}</h2>\n", super::proxy::HEADING);
    if let Some(intro) = intro {
        let _ = writeln!(h, "<p>{}</p>", esc(intro));
        h.push_str(&table(&super::proxy::check_rows(a), &[6, 7]));
    }
    if !errors.is_empty() {
        h.push_str("<p>HTTP errors answered to hosts' requests (native hosts):</p>\n");
        h.push_str(&table(&errors, &[2]));
    }
    h
}

/// Integrity and replication: data loss, the lag chart and the replication sections.
fn replication(a: &Analysis) -> io::Result<String> {
    let mut h = String::new();
    if a.data_loss.checked == 0 {
        h.push_str("<h2>Integrity</h2>\n<p>Data loss: not checked.</p>\n");
    }
    for section in super::replication::sections(a, true) {
        let _ = writeln!(h, "<h2>{}</h2>", esc(section.title));
        if section.title == "Replication" && !a.replication.points.is_empty() {
            h.push_str(&chart(WIDTH, 320, |root| lag_chart(a, root))?);
        }
        for l in &section.lines {
            let _ = writeln!(h, "<p>{}</p>", esc(l));
        }
        if let Some(rows) = &section.table {
            let numeric: Vec<usize> = (1..rows[0].len()).collect();
            h.push_str(&table(rows, &numeric));
        }
        if !section.items.is_empty() {
            h.push_str(&list(&section.items));
        }
    }
    Ok(h)
}

/// What entry points answered without valid credentials, if the topology demands them.
fn authentication(a: &Analysis) -> String {
    let lines = super::auth::lines(a);
    let Some((head, details)) = lines.split_first() else {
        return String::new();
    };
    let mut h = format!("<h2>Authentication</h2>\n<p>{}</p>\n", esc(head));
    h.push_str(&list(details.iter().map(|d| d.trim())));
    h
}

/// A bulleted list of text items.
fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut h = String::from("<ul>\n");
    for i in items {
        let _ = writeln!(h, "<li>{}</li>", esc(i.as_ref()));
    }
    h + "</ul>\n"
}

/// Escapes text for HTML content and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An HTML table; the first row is the header; `numeric` columns are right-aligned.
pub(super) fn table(rows: &[Vec<String>], numeric: &[usize]) -> String {
    let mut t = String::from("<table>\n");
    for (i, row) in rows.iter().enumerate() {
        t.push_str("<tr>");
        for (j, cell) in row.iter().enumerate() {
            let (open, close) = match (i, numeric.contains(&j)) {
                (0, _) => ("<th>", "</th>"),
                (_, true) => ("<td class=\"num\">", "</td>"),
                _ => ("<td>", "</td>"),
            };
            let _ = write!(t, "{open}{}{close}", esc(cell));
        }
        t.push_str("</tr>\n");
    }
    t.push_str("</table>\n");
    t
}

/// Draws one chart into an SVG string.
fn chart(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Drawn,
) -> io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        draw(&root)
            .and_then(|()| root.present().map_err(Into::into))
            .map_err(|e| io::Error::other(format!("cannot draw a chart: {e}")))?;
    }
    svg.push('\n');
    Ok(svg)
}

fn s_of(us: u64) -> f64 {
    us as f64 / 1e6
}

/// A region's colour: its rank among the regions of the run.
fn color_of(a: &Analysis, region: &str) -> RGBColor {
    let i = a
        .availability
        .regions
        .keys()
        .chain(a.cold_starts.by_region.keys())
        .position(|r| r == region)
        .unwrap_or(0);
    COLORS[i % COLORS.len()]
}

/// A journal time on the timeline's clock, in seconds: what the scenario's `at:` and
/// the reports' `t+` say; setup is negative.
fn t_of(a: &Analysis, us: u64) -> f64 {
    (us as f64 - a.timeline_started_us.unwrap_or(0) as f64) / 1e6
}

/// The run's time axis on the timeline's clock: from the run's start (setup, negative)
/// to the end of the journal, at least 1 s long.
fn time_axis(a: &Analysis) -> std::ops::Range<f64> {
    let start = t_of(a, 0);
    let end = t_of(a, a.end_us).max(start + 1.0);
    start..end + (end - start) * 0.02
}

/// The time axis' label.
const TIME_AXIS: &str = "s on the timeline's clock (setup is negative)";

/// Axes with readable labels and a light grid.
fn axes(chart: &mut Chart, x: &str, y: &str) -> Drawn {
    chart
        .configure_mesh()
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .light_line_style(LIGHT_GRID)
        .x_desc(x)
        .y_desc(y)
        .draw()?;
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Shades each fault from injection to heal (or to the end), labelled with its id.
fn shade_faults(a: &Analysis, chart: &mut Chart, top: f64) -> Drawn {
    for f in &a.faults {
        let (x0, x1) = (
            t_of(a, f.injected_us),
            t_of(a, f.healed_us.unwrap_or(a.end_us)),
        );
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x0, 0.0), (x1.max(x0), top)],
            FAILED.mix(0.12).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("#{} {}", f.id, f.kind.name()),
            (x0, top),
            (FONT, 12).into_font().color(&FAILED),
        )))?;
    }
    Ok(())
}

fn cold_start_chart(a: &Analysis, root: &DrawingArea<SVGBackend, Shift>, span: &Span) -> Drawn {
    root.fill(&WHITE)?;
    let points = &a.cold_starts.points;
    let top = span.cold_start_top;
    let mut chart = ChartBuilder::on(root)
        .caption("Cold starts over time", (FONT, 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(span.time.clone(), 0f64..top)?;
    axes(&mut chart, TIME_AXIS, "cold start (s)")?;
    shade_faults(a, &mut chart, top)?;
    let interrupted = points.iter().filter(|p| p.interrupted);
    if interrupted.clone().next().is_some() {
        let circles = interrupted.map(|p| {
            Circle::new(
                (t_of(a, p.started_us), s_of(p.duration_us)),
                4,
                INTERRUPTED.stroke_width(1),
            )
        });
        chart
            .draw_series(circles)?
            .label("interrupted")
            .legend(|(x, y)| Circle::new((x + 8, y), 4, INTERRUPTED.stroke_width(1)));
    }
    for region in a.cold_starts.by_region.keys() {
        let color = color_of(a, region);
        let ok = points.iter().filter(|p| p.ok && &p.region == region);
        let dots = ok.map(|p| {
            Circle::new(
                (t_of(a, p.started_us), s_of(p.duration_us)),
                3,
                color.filled(),
            )
        });
        chart
            .draw_series(dots)?
            .label(region.as_str())
            .legend(move |(x, y)| Circle::new((x + 8, y), 3, color.filled()));
    }
    let failed = points.iter().filter(|p| !p.ok && !p.interrupted);
    if failed.clone().next().is_some() {
        let crosses = failed.map(|p| {
            Cross::new(
                (t_of(a, p.started_us), s_of(p.duration_us)),
                5,
                FAILED.stroke_width(2),
            )
        });
        chart
            .draw_series(crosses)?
            .label("failed")
            .legend(|(x, y)| Cross::new((x + 8, y), 5, FAILED.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Each canary's arrival in each region: at its write time, its height its lag.
fn lag_chart(a: &Analysis, root: &DrawingArea<SVGBackend, Shift>) -> Drawn {
    root.fill(&WHITE)?;
    let points = &a.replication.points;
    let top = points.iter().map(|p| s_of(p.lag_us)).fold(0.001, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption("Replication lag of the canaries", (FONT, 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(time_axis(a), 0f64..top)?;
    axes(&mut chart, TIME_AXIS, "lag (s)")?;
    shade_faults(a, &mut chart, top)?;
    for region in a.replication.lag.keys() {
        let color = color_of(a, region);
        let dots = points
            .iter()
            .filter(|p| &p.region == region)
            .map(|p| Circle::new((t_of(a, p.written_us), s_of(p.lag_us)), 3, color.filled()));
        chart
            .draw_series(dots)?
            .label(region.as_str())
            .legend(move |(x, y)| Circle::new((x + 8, y), 3, color.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn percentile_chart(a: &Analysis, root: &DrawingArea<SVGBackend, Shift>) -> Drawn {
    root.fill(&WHITE)?;
    let mut curves = Vec::new();
    for region in a.cold_starts.by_region.keys() {
        let mut d: Vec<f64> = a
            .cold_starts
            .points
            .iter()
            .filter(|p| p.ok && &p.region == region)
            .map(|p| s_of(p.duration_us))
            .collect();
        d.sort_by(f64::total_cmp);
        let n = d.len() as f64;
        // The i-th fastest of n is at the percentile of the values it is above or equal to.
        let curve: Vec<(f64, f64)> = d
            .iter()
            .enumerate()
            .map(|(i, v)| (100.0 * (i as f64 + 1.0) / n, *v))
            .collect();
        curves.push((region, curve));
    }
    let top = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.1))
        .fold(0.001, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Cold-start latency by percentile (successful cold starts)",
            (FONT, 16),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..100f64, 0f64..top)?;
    axes(&mut chart, "percentile", "cold start (s)")?;
    for (region, curve) in curves {
        let color = color_of(a, region);
        chart
            .draw_series(LineSeries::new(curve.clone(), color.stroke_width(2)))?
            .label(region.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        chart.draw_series(curve.into_iter().map(|p| Circle::new(p, 2, color.filled())))?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn availability_chart(a: &Analysis, root: &DrawingArea<SVGBackend, Shift>, span: &Span) -> Drawn {
    root.fill(&WHITE)?;
    let w = &a.availability.windows;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Availability per window (share of probes that succeeded)",
            (FONT, 16),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(span.time.clone(), 0f64..105f64)?;
    axes(&mut chart, TIME_AXIS, "probes OK (%)")?;
    shade_faults(a, &mut chart, 105.0)?;
    for (region, stats) in &w.regions {
        let color = color_of(a, region);
        // A point in the middle of each window that holds a probe; the line joins
        // them across windows without one.
        let points: Vec<(f64, f64)> = stats
            .series
            .iter()
            .enumerate()
            .filter(|(_, c)| c.probes > 0)
            .map(|(i, c)| {
                let middle = w.origin_us + i as u64 * w.window_us + w.window_us / 2;
                let ok = 100.0 * (c.probes - c.failed) as f64 / c.probes as f64;
                (t_of(a, middle), ok)
            })
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(region.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 2, color.filled())),
        )?;
    }
    if w.judged {
        let line = 100.0 * (1.0 - w.error_threshold);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(span.time.start, line), (span.time.end, line)],
                6,
                4,
                BLACK.stroke_width(1),
            ))?
            .label(format!(
                "up when at least {} OK",
                percent(Some(1.0 - w.error_threshold))
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
    }
    legend(&mut chart, SeriesLabelPosition::LowerLeft)
}

/// One bar per waterfall step after the injection, from the injection to the step.
fn waterfall_chart(f: &FaultRecovery, root: &DrawingArea<SVGBackend, Shift>) -> Drawn {
    root.fill(&WHITE)?;
    let steps: Vec<(f64, String)> = waterfall(f)
        .into_iter()
        .skip(1)
        .map(|(t, what)| (s_of(t.saturating_sub(f.injected_us)), what))
        .collect();
    let rows = steps.len().max(1) as f64;
    let right = steps.iter().map(|s| s.0).fold(0.001, f64::max) * 1.45;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("fault #{}: time from injection to each step", f.id),
            (FONT, 15),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(10)
        .build_cartesian_2d(0f64..right, 0f64..rows)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .light_line_style(LIGHT_GRID)
        .x_desc("seconds after injection")
        .draw()?;
    for (i, (dt, what)) in steps.iter().enumerate() {
        // First step on top.
        let y = rows - i as f64 - 0.5;
        let color = match what.as_str() {
            "first failure" | "last failure" => FAILED,
            "recovered" | "back within SLA" => COLORS[1],
            _ => COLORS[0],
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, y - 0.3), (*dt, y + 0.3)],
            color.mix(0.8).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{what} +{}", secs((dt * 1e6).round() as u64)),
            (*dt + right * 0.01, y + 0.15),
            (FONT, 13).into_font(),
        )))?;
    }
    Ok(())
}
