//! The proxy section of every report: what each proxy served when drill asked it for an
//! upstream image by tag and by digest, and the HTTP errors hosts were answered.

use super::{secs, Clock};
use crate::analysis::{Analysis, ProxyBehaviour};

pub(crate) const HEADING: &str = "Proxies and the upstream";

/// One sentence on what the table shows, or None when the run has nothing to show.
pub(crate) fn intro(a: &Analysis) -> Option<&'static str> {
    (!a.proxy.checks.is_empty()).then_some(
        "Each proxy-check pulled every upstream image through every proxy, by tag and by digest. \
         Cached: the proxy held the image as far as the journal shows (warmed, or served through it, and not wiped since). \
         Upstream requests: requests that reached the upstream's fault point during that pull (none when it refused them).",
    )
}

/// Header first: at, proxy, image, by, cached?, outcome, time, upstream requests, error.
pub(crate) fn check_rows(a: &Analysis) -> Vec<Vec<String>> {
    let at = |us| Clock::of(a).at(us);
    let mut rows = vec![[
        "at",
        "proxy",
        "image",
        "by",
        "cached?",
        "outcome",
        "took",
        "upstream requests",
        "error",
    ]
    .map(String::from)
    .to_vec()];
    for c in &a.proxy.checks {
        let k = &c.check;
        rows.push(vec![
            at(c.t_us),
            k.proxy.clone(),
            k.image.clone(),
            ProxyBehaviour::by_word(k.by).into(),
            if c.cached { "cached" } else { "not cached" }.into(),
            if k.ok { "served" } else { "failed" }.into(),
            secs(k.duration_us),
            k.upstream_requests
                .map_or_else(|| "-".into(), |n| n.to_string()),
            k.error.clone().unwrap_or_default(),
        ]);
    }
    rows
}

/// Header first: entry point, status, requests. Empty when no host got an HTTP error.
pub(crate) fn http_error_rows(a: &Analysis) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (endpoint, statuses) in &a.proxy.http_errors {
        for (status, n) in statuses {
            rows.push(vec![endpoint.clone(), status.clone(), n.to_string()]);
        }
    }
    if !rows.is_empty() {
        rows.insert(
            0,
            ["entry point", "HTTP status", "requests"]
                .map(String::from)
                .to_vec(),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ProxyCheckRow;
    use crate::journal::{ProxyCheckRecord, PullBy};

    #[test]
    fn rows_say_what_each_proxy_served() {
        let mut a = crate::analysis::analyze(&[], false);
        assert!(intro(&a).is_none() && http_error_rows(&a).is_empty());
        a.proxy.checks.push(ProxyCheckRow {
            t_us: 2_500_000,
            cached: false,
            check: ProxyCheckRecord {
                proxy: "eu-proxy".into(),
                image: "library/base:1".into(),
                by: PullBy::Digest,
                ok: false,
                duration_us: 3_000,
                error: Some("HTTP 500 UNKNOWN".into()),
                upstream_requests: None,
            },
        });
        a.proxy
            .http_errors
            .entry("upstream".into())
            .or_default()
            .insert("429".into(), 7);
        assert!(intro(&a).is_some());
        let rows = check_rows(&a);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1][1..6],
            [
                "eu-proxy",
                "library/base:1",
                "digest",
                "not cached",
                "failed"
            ]
        );
        assert_eq!(rows[1][7], "-");
        assert_eq!(rows[1][8], "HTTP 500 UNKNOWN");
        assert_eq!(http_error_rows(&a)[1], ["upstream", "429", "7"]);
    }
}
