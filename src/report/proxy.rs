//! The proxy section of every report: what each proxy served when drill asked it for an
//! upstream image by tag and by digest, and the HTTP errors hosts were answered.

use super::{at, secs};
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
