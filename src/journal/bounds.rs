//! What a journal drill wrote can hold, checked when one is read back, so that a
//! damaged or hand-made journal gives `drill report` a clear error instead of an
//! arithmetic overflow or an allocation as large as its numbers.

use crate::journal::{Event, Record};
use crate::model::limits::{CHART_WINDOW_US, MAX_REGIONS, MAX_US, MAX_WINDOWS};
use std::collections::BTreeSet;

/// Why a record cannot be one drill wrote, or None.
pub fn check_record(r: &Record) -> Option<String> {
    let mut times = vec![("t_us", r.t_us)];
    match &r.event {
        Event::RunStarted(info) => {
            times.push(("duration_us", info.duration_us));
            times.push(("probe_interval_us", info.probe_interval_us));
        }
        Event::TopologyUp { took_us, .. } => times.push(("took_us", *took_us)),
        Event::Probe { latency_us, .. } => times.push(("latency_us", *latency_us)),
        Event::Pull(p) => {
            times.push(("started_us", p.started_us));
            times.push(("duration_us", p.duration_us));
            for ph in &p.phases {
                times.push(("ttfb_us", ph.ttfb_us));
                times.push(("duration_us", ph.duration_us));
            }
        }
        Event::ColdStart(c) => {
            times.push(("started_us", c.started_us));
            times.push(("duration_us", c.duration_us));
        }
        _ => {}
    }
    times
        .into_iter()
        .find(|(_, v)| *v > MAX_US)
        .map(|(name, v)| format!("{name} is {v}: drill records no time past {MAX_US} µs (10 days)"))
}

/// Why a whole journal cannot be one drill wrote, or None: more regions than a
/// scenario may declare, or more availability windows than [`MAX_WINDOWS`].
pub fn check_journal(records: &[Record]) -> Option<String> {
    let regions: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Probe { region, .. } => Some(region.as_str()),
            _ => None,
        })
        .collect();
    // Every region's entry point, its proxy, its token service, and the upstream are
    // probed.
    let entry_points = 3 * MAX_REGIONS + 1;
    if regions.len() > entry_points {
        return Some(format!(
            "probes of {} entry points; a scenario has at most {entry_points} \
             ({MAX_REGIONS} regions, their proxies and token services, and the upstream)",
            regions.len()
        ));
    }
    let window_us = records
        .iter()
        .find_map(|r| match &r.event {
            Event::RunStarted(info) => info.sla.availability.as_ref()?.window,
            _ => None,
        })
        .map_or(CHART_WINDOW_US, |w| (w.0.as_micros() as u64).max(1));
    let last = records.iter().map(|r| r.t_us).max().unwrap_or(0);
    (last / window_us > MAX_WINDOWS).then(|| {
        format!(
            "{} µs of probes in windows of {window_us} µs is over {MAX_WINDOWS} windows",
            last
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::journal::parse;

    const START: &str = r#"{"t_us":0,"type":"run_started","format":1,"run_id":"r","scenario":"s","description":"","seed":1,"started_at":"2025-01-01T00:00:00Z","duration_us":1000000,"probe_interval_us":100000,"regions":["eu"],"sla":{"availability":{"min":"99%","window":"10ms"}}}"#;

    fn probe(t: u64, region: &str) -> String {
        format!(r#"{{"t_us":{t},"type":"probe","region":"{region}","ok":true,"latency_us":5}}"#)
    }

    #[test]
    fn a_time_past_ten_days_is_damage_naming_its_line() {
        let text = format!("{START}\n{}\n{}\n", probe(u64::MAX, "eu"), probe(1, "eu"));
        let (line, e) = parse(text.as_bytes()).unwrap_err();
        assert_eq!(line, 2);
        // On the last line too: a complete line out of bounds is not a cut one.
        let last = format!("{START}\n{}\n", probe(u64::MAX, "eu"));
        assert_eq!(parse(last.as_bytes()).unwrap_err().0, 2);
        assert!(
            e.to_string().contains("t_us is 18446744073709551615"),
            "{e}"
        );
    }

    #[test]
    fn windows_and_regions_are_bounded() {
        // Two probes a day apart in 10 ms windows: 8.6 million windows.
        let text = format!(
            "{START}\n{}\n{}\n",
            probe(0, "eu"),
            probe(86_400_000_000, "eu")
        );
        let (_, e) = parse(text.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("over 1000000 windows"), "{e}");
        // 16 regions, their proxies and token services, and the upstream are fine; one
        // more is not.
        let names =
            |n: usize| -> Vec<String> { (0..n).map(|i| probe(1, &format!("r{i}"))).collect() };
        let text = format!("{START}\n{}\n", names(49).join("\n"));
        assert!(parse(text.as_bytes()).is_ok());
        let text = format!("{START}\n{}\n", names(50).join("\n"));
        let (_, e) = parse(text.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("probes of 50 entry points"), "{e}");
        let fine = format!("{START}\n{}\n{}\n", probe(0, "eu"), probe(5_000_000, "eu"));
        assert_eq!(parse(fine.as_bytes()).unwrap().records.len(), 3);
    }
}
