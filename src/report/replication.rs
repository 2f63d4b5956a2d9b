//! The replication, bulkhead, fallback and integrity sections, as format-neutral
//! sections each report (terminal, Markdown, HTML) renders its own way.

use super::{plural, secs, Clock};
use crate::analysis::{Analysis, LostImage};

/// Items listed one by one before the rest is summed up in one line.
const MAX_ITEMS: usize = 25;

/// A heading, sentences, an optional table (first row the header) and a list.
pub struct Section {
    pub title: &'static str,
    pub lines: Vec<String>,
    pub table: Option<Vec<Vec<String>>>,
    pub items: Vec<String>,
}

/// The sections that have something to show, in report order. `integrity` adds the
/// integrity section (the terminal lists violations in its data-loss line instead).
pub fn sections(a: &Analysis, integrity: bool) -> Vec<Section> {
    let mut out = Vec::new();
    out.extend(replication(a));
    out.extend(recovery_point(a));
    out.extend(isolation(a));
    out.extend(fallback(a));
    if integrity {
        out.extend(integrity_section(a));
    }
    out
}

fn capped(mut items: Vec<String>) -> Vec<String> {
    if items.len() > MAX_ITEMS {
        let more = items.len() - MAX_ITEMS;
        items.truncate(MAX_ITEMS);
        items.push(format!("… and {more} more (all in summary.json)"));
    }
    items
}

fn replication(a: &Analysis) -> Option<Section> {
    let at = |us| Clock::of(a).at(us);
    let r = &a.replication;
    if r.pushes == 0 && r.canaries == 0 && r.mode == "push-to-all" {
        return None;
    }
    let mode = match &r.primary {
        Some(p) if r.mode != "push-to-all" => format!("mode {} from {p}", r.mode),
        _ => format!("mode {}", r.mode),
    };
    let mut lines = vec![format!(
        "Replication {mode}: {}, {} during the run, {} failed.",
        plural(r.canaries, "canary", "canaries"),
        plural(r.pushes, "push", "pushes"),
        r.push_failures.len()
    )];
    let table = (r.canaries > 0).then(|| {
        lines.push(
            "Lag: from a canary's first acknowledged push to its arrival in each region.".into(),
        );
        let mut rows = vec![vec![
            "region".to_string(),
            "arrived".into(),
            "never".into(),
            "p50".into(),
            "p99".into(),
            "max".into(),
        ]];
        for (region, l) in &r.lag {
            let mut row = vec![region.clone(), l.visible.to_string(), l.never.to_string()];
            row.extend(match l.lag {
                Some(lat) => [lat.p50_us, lat.p99_us, lat.max_us].map(secs).to_vec(),
                None => vec!["—".into(); 3],
            });
            rows.push(row);
        }
        rows
    });
    let items = capped(
        r.push_failures
            .iter()
            .map(|f| {
                format!(
                    "push failed {} {} to {} ({}): {}",
                    at(f.t_us),
                    f.image,
                    f.region,
                    if f.origin == crate::journal::PushOrigin::Canary {
                        "canary"
                    } else {
                        "replica"
                    },
                    f.error.as_deref().unwrap_or("no detail")
                )
            })
            .collect(),
    );
    Some(Section {
        title: "Replication",
        lines,
        table,
        items,
    })
}

fn recovery_point(a: &Analysis) -> Option<Section> {
    let at = |us| Clock::of(a).at(us);
    let losses = &a.replication.losses;
    if losses.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    let mut items = Vec::new();
    for l in losses {
        lines.push(format!(
            "Region {} lost at {} (fault #{}): recovery point {}, {} it alone held.",
            l.region,
            at(l.lost_us),
            l.fault,
            secs(l.rpo_us),
            plural(l.unreplicated.len() as u64, "write", "writes")
        ));
        items.extend(l.unreplicated.iter().map(|u| {
            format!(
                "{} {} written {} ({} old) only in {}",
                u.image,
                u.digest,
                at(u.written_us),
                secs(u.age_us),
                l.region
            )
        }));
    }
    Some(Section {
        title: "Recovery point",
        lines,
        table: None,
        items: capped(items),
    })
}

fn isolation(a: &Analysis) -> Option<Section> {
    let iso = &a.isolation;
    let probed = iso
        .regions
        .values()
        .any(|r| r.steady.probes + r.during.probes > 0);
    if a.faults.is_empty() || !probed {
        return None;
    }
    let lines = vec![format!(
        "Each region no fault touched (faults touched {}), while faults lasted against the rest of the run.",
        iso.affected.join(", ")
    )];
    let mut rows = vec![vec![
        "region".to_string(),
        "availability steady".into(),
        "during faults".into(),
        "probe p50 steady".into(),
        "during faults".into(),
        "pull p50 steady".into(),
        "during faults".into(),
        "pulls failed steady".into(),
        "during faults".into(),
    ]];
    let ratio = |s: &crate::analysis::Side| {
        if s.probes == 0 {
            "—".to_string()
        } else {
            super::percent(Some((s.probes - s.failed_probes) as f64 / s.probes as f64))
        }
    };
    let p50 = |l: Option<crate::analysis::Latency>| l.map_or("—".into(), |l| secs(l.p50_us));
    for (region, r) in &iso.regions {
        rows.push(vec![
            region.clone(),
            ratio(&r.steady),
            ratio(&r.during),
            p50(r.steady.probe_latency),
            p50(r.during.probe_latency),
            p50(r.steady.pull_time),
            p50(r.during.pull_time),
            format!("{} of {}", r.steady.failed_pulls, r.steady.pulls),
            format!("{} of {}", r.during.failed_pulls, r.during.pulls),
        ]);
    }
    Some(Section {
        title: "Bulkhead isolation",
        lines,
        table: Some(rows),
        items: Vec::new(),
    })
}

fn fallback(a: &Analysis) -> Option<Section> {
    let f = &a.fallback;
    if f.pulls == 0 {
        return None;
    }
    let timing = f.duration.map_or(String::new(), |d| {
        format!(
            "; successful ones took p50 {}, max {}",
            secs(d.p50_us),
            secs(d.max_us)
        )
    });
    let mut rows = vec![vec![
        "host region".to_string(),
        "served by".into(),
        "requests".into(),
    ]];
    for (host, served) in &f.by_region {
        for (by, n) in served {
            rows.push(vec![host.clone(), by.clone(), n.to_string()]);
        }
    }
    Some(Section {
        title: "Fallback",
        lines: vec![
            format!(
                "{} ({} failed){timing}.",
                plural(f.pulls, "fallback pull", "fallback pulls"),
                f.failed
            ),
            format!("{}.", super::FALLBACK_PULLS),
        ],
        table: Some(rows),
        items: Vec::new(),
    })
}

/// One violation in words: `tag-moved: team/app:1 in us (tag now points to …)`.
pub fn violation_text(l: &LostImage) -> String {
    let kind = l.violation.map_or("lost", |v| v.name());
    match &l.error {
        Some(e) => format!("{kind}: {} in {} ({e})", l.image, l.region),
        None => format!("{kind}: {} in {}", l.image, l.region),
    }
}

fn integrity_section(a: &Analysis) -> Option<Section> {
    let d = &a.data_loss;
    if d.checked == 0 {
        return None;
    }
    Some(Section {
        title: "Integrity",
        lines: vec![format!(
            "Every image pulled back from every region that acknowledged it, each blob verified and each tag checked against the digest last pushed: {} checked, {}.",
            d.checked,
            plural(d.failures.len() as u64, "violation", "violations")
        )],
        table: None,
        items: capped(d.failures.iter().map(violation_text).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::analysis::tests::*;
    use crate::journal::{Event, PushOrigin, ViolationKind};
    use crate::model::sla::Sla;

    const S: u64 = 1_000_000;

    fn titles(a: &Analysis, integrity: bool) -> Vec<&'static str> {
        sections(a, integrity).iter().map(|s| s.title).collect()
    }

    #[test]
    fn a_plain_run_shows_only_what_applies() {
        let a = analyze(&outage_journal(), false);
        // A fault spared us: isolation applies; nothing was pushed, lost or verified.
        assert_eq!(titles(&a, true), ["Bulkhead isolation"]);
    }

    #[test]
    fn a_lost_region_lists_each_unreplicated_write_and_each_violation() {
        let mut j = vec![run_started(&["eu", "us"], Sla::default())];
        let pushed = |t, image: &str, region: &str, ok| {
            rec(
                t,
                Event::Pushed {
                    image: image.into(),
                    digest: format!("sha256:{image}"),
                    region: region.into(),
                    origin: PushOrigin::Canary,
                    ok,
                    error: (!ok).then(|| "cannot connect: connection refused".into()),
                },
            )
        };
        j.push(pushed(S, "drill/canary:c0001", "eu", true));
        j.push(region_outage(2 * S, 1, "eu"));
        j.push(pushed(3 * S, "drill/canary:c0002", "eu", false));
        j.push(rec(
            4 * S,
            Event::Verified {
                region: "us".into(),
                image: "team/app:1".into(),
                ok: false,
                error: Some("tag now points to sha256:b, pushed sha256:a".into()),
                digest: Some("sha256:a".into()),
                violation: Some(ViolationKind::TagMoved),
            },
        ));
        let a = analyze(&j, false);
        let all = sections(&a, true);
        let titles: Vec<&str> = all.iter().map(|s| s.title).collect();
        assert_eq!(titles, ["Replication", "Recovery point", "Integrity"]);
        assert!(all[0].items[0].contains("drill/canary:c0002 to eu (canary)"));
        assert!(all[1].lines[0].contains("Region eu lost at t+2.000s (fault #1): recovery point 1.000s, 1 write it alone held."), "{:?}", all[1].lines);
        assert!(all[1].items[0]
            .starts_with("drill/canary:c0001 sha256:drill/canary:c0001 written t+1.000s"));
        assert_eq!(
            all[2].items,
            ["tag-moved: team/app:1 in us (tag now points to sha256:b, pushed sha256:a)"]
        );
        // The terminal lists violations in its data-loss line instead.
        assert!(!sections(&a, false).iter().any(|s| s.title == "Integrity"));
    }
}
