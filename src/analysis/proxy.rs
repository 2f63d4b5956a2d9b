//! What the pull-through proxies served, from the journal: every `proxy-check` pull
//! with whether the proxy held the image at that moment, and the HTTP errors hosts got
//! per entry point (a rate-limited upstream shows as 429s).

use crate::journal::{Event, ProxyCheckRecord, PullBy, Record};
use crate::model::kinds::FaultKind;
use crate::model::names::proxy_name;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct ProxyBehaviour {
    /// Every proxy-check pull, in time order.
    pub checks: Vec<ProxyCheckRow>,
    /// HTTP errors answered to native hosts' requests, by entry point and status.
    pub http_errors: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ProxyCheckRow {
    pub t_us: u64,
    /// Whether the proxy held the image when it was asked, as far as the journal shows:
    /// warmed before the timeline, or served through it to a native host or a check,
    /// and not wiped since.
    pub cached: bool,
    #[serde(flatten)]
    pub check: ProxyCheckRecord,
}

impl ProxyBehaviour {
    pub fn by_word(by: PullBy) -> &'static str {
        match by {
            PullBy::Tag => "tag",
            PullBy::Digest => "digest",
        }
    }
}

pub fn analyze(records: &[Record]) -> ProxyBehaviour {
    let mut out = ProxyBehaviour::default();
    let mut held: BTreeSet<(String, String)> = BTreeSet::new();
    // The proxies are the regions' `<region>-proxy` entry points.
    let mut proxies: BTreeSet<String> = BTreeSet::new();
    let mut ordered: Vec<&Record> = records.iter().collect();
    ordered.sort_by_key(|r| r.t_us);
    for r in ordered {
        match &r.event {
            Event::RunStarted(info) => {
                proxies.extend(info.regions.iter().map(|r| proxy_name(r)));
            }
            Event::ProxyWarmed { proxy, image } => {
                held.insert((proxy.clone(), image.clone()));
            }
            Event::Pull(p) => {
                for (endpoint, statuses) in &p.http_errors {
                    let counts = out.http_errors.entry(endpoint.clone()).or_default();
                    for (status, n) in statuses {
                        *counts.entry(status.clone()).or_default() += u64::from(*n);
                    }
                }
                // The manifest came through the proxy: it now holds the image.
                if let Some(m) = p.phases.first().filter(|_| p.ok) {
                    if proxies.contains(&m.endpoint) {
                        held.insert((m.endpoint.clone(), p.image.clone()));
                    }
                }
            }
            Event::ProxyCheck(c) => {
                let key = (c.proxy.clone(), c.image.clone());
                out.checks.push(ProxyCheckRow {
                    t_us: r.t_us,
                    cached: held.contains(&key),
                    check: c.clone(),
                });
                if c.ok {
                    held.insert(key);
                }
            }
            Event::FaultInjected {
                kind: FaultKind::CacheWipe,
                target,
                ..
            } => held.retain(|(proxy, _)| proxy != target),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::{phase, pull, rec, run_started};
    use crate::journal::PhaseKind;

    fn check(t_us: u64, proxy: &str, by: PullBy, ok: bool) -> Record {
        rec(
            t_us,
            Event::ProxyCheck(ProxyCheckRecord {
                proxy: proxy.into(),
                image: "team/app:1".into(),
                by,
                ok,
                duration_us: 1000,
                error: (!ok).then(|| "manifest: HTTP 500".into()),
                upstream_requests: None,
            }),
        )
    }

    fn wipe(t_us: u64, proxy: &str) -> Record {
        rec(
            t_us,
            Event::FaultInjected {
                fault: 1,
                kind: FaultKind::CacheWipe,
                target: proxy.into(),
                members: vec![],
                regions: vec![],
                method: String::new(),
                manual: false,
            },
        )
    }

    #[test]
    fn cached_follows_warming_serving_and_wipes() {
        let records = vec![
            run_started(&["eu", "us"], Default::default()),
            rec(
                1,
                Event::ProxyWarmed {
                    proxy: "eu-proxy".into(),
                    image: "team/app:1".into(),
                },
            ),
            check(10, "eu-proxy", PullBy::Tag, true),
            check(11, "us-proxy", PullBy::Tag, false),
            wipe(20, "eu-proxy"),
            check(30, "eu-proxy", PullBy::Digest, false),
            pull(
                400_000,
                "us",
                true,
                vec![phase(PhaseKind::Manifest, "us-proxy", 10, 10)],
            ),
            check(500_000, "us-proxy", PullBy::Digest, true),
        ];
        let cached: Vec<(String, bool, bool)> = analyze(&records)
            .checks
            .iter()
            .map(|c| (c.check.proxy.clone(), c.cached, c.check.ok))
            .collect();
        assert_eq!(
            cached,
            [
                ("eu-proxy".into(), true, true),
                ("us-proxy".into(), false, false),
                ("eu-proxy".into(), false, false),
                ("us-proxy".into(), true, true),
            ]
        );
    }

    #[test]
    fn http_errors_are_summed_per_entry_point_and_status() {
        let mut a = pull(300_000, "eu", false, vec![]);
        let mut b = pull(400_000, "eu", false, vec![]);
        for (r, n) in [(&mut a, 2), (&mut b, 3)] {
            if let Event::Pull(p) = &mut r.event {
                p.http_errors
                    .entry("upstream".into())
                    .or_default()
                    .insert("429".into(), n);
            }
        }
        let h = analyze(&[a, b]).http_errors;
        assert_eq!(h["upstream"]["429"], 5);
    }
}
