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

/// (proxy, image, the form it was asked by for a proxy that caches by URL).
type Held = (String, String, Option<PullBy>);

pub fn analyze(records: &[Record]) -> ProxyBehaviour {
    let mut out = ProxyBehaviour::default();
    let mut held: BTreeSet<Held> = BTreeSet::new();
    // The proxies are the regions' `<region>-proxy` entry points.
    let mut proxies: BTreeSet<String> = BTreeSet::new();
    let mut by_url: BTreeSet<String> = BTreeSet::new();
    // What a proxy holds: an image, and for one that caches by URL, the form it was
    // asked by (warming pulls by tag).
    let key = |by_url: &BTreeSet<String>, proxy: &str, image: &str, by: PullBy| -> Held {
        let form = by_url.contains(proxy).then_some(by);
        (proxy.to_string(), image.to_string(), form)
    };
    let mut ordered: Vec<&Record> = records.iter().collect();
    ordered.sort_by_key(|r| r.t_us);
    for r in ordered {
        match &r.event {
            Event::RunStarted(info) => {
                proxies.extend(info.regions.iter().map(|r| proxy_name(r)));
                by_url.extend(
                    info.proxies
                        .iter()
                        .filter(|(_, proxy)| proxy.caching().by_url())
                        .map(|(name, _)| name.clone()),
                );
            }
            Event::ProxyWarmed { proxy, image } => {
                held.insert(key(&by_url, proxy, image, PullBy::Tag));
            }
            Event::Pull(p) => {
                for (endpoint, statuses) in &p.http_errors {
                    let counts = out.http_errors.entry(endpoint.clone()).or_default();
                    for (status, n) in statuses {
                        *counts.entry(status.clone()).or_default() += u64::from(*n);
                    }
                }
                // The manifest came through the proxy: it now holds the image, in the
                // form the host named it.
                if let Some(m) = p.phases.first().filter(|_| p.ok) {
                    if proxies.contains(&m.endpoint) {
                        let by = if p.image.contains('@') {
                            PullBy::Digest
                        } else {
                            PullBy::Tag
                        };
                        held.insert(key(&by_url, &m.endpoint, &p.image, by));
                    }
                }
            }
            Event::ProxyCheck(c) => {
                let key = key(&by_url, &c.proxy, &c.image, c.by);
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
            } => held.retain(|(proxy, _, _)| proxy != target),
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
    use crate::model::kinds::{ProxyKind, ProxyRecord};

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
    fn a_proxy_caching_by_url_holds_only_the_form_it_was_asked_by() {
        let mut started = run_started(&["eu", "us"], Default::default());
        if let Event::RunStarted(info) = &mut started.event {
            info.proxies = [
                (
                    "eu-proxy".to_string(),
                    ProxyRecord::Builtin(ProxyKind::Nginx),
                ),
                (
                    "us-proxy".to_string(),
                    ProxyRecord::Builtin(ProxyKind::Distribution),
                ),
            ]
            .into();
        }
        let warmed = |proxy: &str| {
            rec(
                1,
                Event::ProxyWarmed {
                    proxy: proxy.into(),
                    image: "team/app:1".into(),
                },
            )
        };
        let records = vec![
            started,
            warmed("eu-proxy"),
            warmed("us-proxy"),
            check(10, "eu-proxy", PullBy::Digest, false),
            check(11, "us-proxy", PullBy::Digest, true),
            check(12, "eu-proxy", PullBy::Tag, true),
            check(20, "eu-proxy", PullBy::Digest, true),
            check(30, "eu-proxy", PullBy::Digest, true),
        ];
        let cached: Vec<bool> = analyze(&records).checks.iter().map(|c| c.cached).collect();
        assert_eq!(cached, [false, true, true, false, true]);
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
