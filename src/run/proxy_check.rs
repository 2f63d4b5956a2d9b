//! drill's own pulls through the proxies: filling them with the images fleets pull
//! through proxies before the timeline (`proxy_cache: warm`) and the `proxy-check` step, which pulls every upstream image
//! through every proxy by tag and by digest and records what each served, with the
//! requests that reached the upstream's fault point meanwhile.

use crate::inject::gate;
use crate::journal::{Event, Journal, ProxyCheckRecord, PullBy};
use crate::model::error::DrillError;
use crate::oci::{self, Mirror};
use crate::plan::{Plan, ProxyPlan};
use crate::scenario::{ImageSource, UPSTREAM};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn proxies(plan: &Plan) -> impl Iterator<Item = &ProxyPlan> {
    plan.regions.iter().filter_map(|r| r.proxy.as_ref())
}

fn upstream_images(plan: &Plan) -> impl Iterator<Item = &str> {
    plan.images
        .iter()
        .filter(|i| i.source == ImageSource::Upstream)
        .map(|i| i.reference.as_str())
}

fn through(proxy: &ProxyPlan, entry_points: &HashMap<String, String>) -> [Mirror; 1] {
    [Mirror {
        region: proxy.name.clone(),
        base: entry_points[&proxy.name].clone(),
    }]
}

/// Pulls every upstream image that a fleet with a proxy among its mirrors pulls through
/// every proxy, so each holds them (proxies and the upstream play a public registry:
/// plain HTTP, no credentials); other upstream images stay uncached (what a
/// proxy-check compares with).
pub async fn warm(
    plan: &Plan,
    entry_points: &HashMap<String, String>,
    journal: &Journal,
) -> Result<(), DrillError> {
    let client = oci::client(
        Duration::from_secs(2),
        Duration::from_secs(120),
        &oci::Access::default(),
    );
    let pulled = |image: &&str| {
        plan.hosts.iter().any(|h| {
            h.mirrors
                .iter()
                .any(|m| proxies(plan).any(|p| p.name == *m))
                && h.pull.iter().any(|p| p == image)
        })
    };
    for proxy in proxies(plan) {
        for image in upstream_images(plan).filter(pulled) {
            let outcome = oci::pull(&client, &through(proxy, entry_points), image, 3).await;
            if let Some(e) = outcome.error {
                return Err(DrillError::setup_citing(
                    format!(
                        "warming proxy {} with {image} failed: {e}; rerun with --keep and read `docker logs` of the proxy",
                        proxy.name
                    ),
                    e,
                ));
            }
            journal.record(Event::ProxyWarmed {
                proxy: proxy.name.clone(),
                image: image.to_string(),
            });
        }
    }
    Ok(())
}

/// Pulls every upstream image through every proxy, by tag, then by the digest drill
/// pushed (`digests`: reference → manifest digest), one pull at a time so the fault
/// point's request count during each belongs to it alone (hosts pulling meanwhile add
/// theirs).
pub async fn check(
    plan: &Plan,
    entry_points: &HashMap<String, String>,
    digests: &HashMap<String, String>,
    journal: &Journal,
) {
    let client = oci::client(
        Duration::from_secs(2),
        Duration::from_secs(30),
        &oci::Access::default(),
    );
    let stats = oci::client(
        Duration::from_secs(1),
        Duration::from_secs(2),
        &oci::Access::default(),
    );
    let gate = entry_points.get(UPSTREAM);
    for proxy in proxies(plan) {
        for image in upstream_images(plan) {
            let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
            let by_digest = digests.get(image).map(|d| format!("{repo}@{d}"));
            let pulls = [
                (PullBy::Tag, Some(image.to_string())),
                (PullBy::Digest, by_digest),
            ];
            for (by, reference) in pulls {
                let Some(reference) = reference else { continue };
                let before = match gate {
                    Some(g) => gate::requests(&stats, g).await,
                    None => None,
                };
                let started = Instant::now();
                let outcome =
                    oci::pull(&client, &through(proxy, entry_points), &reference, 3).await;
                let duration_us = started.elapsed().as_micros() as u64;
                let after = match gate {
                    Some(g) => gate::requests(&stats, g).await,
                    None => None,
                };
                journal.record(Event::ProxyCheck(ProxyCheckRecord {
                    proxy: proxy.name.clone(),
                    image: image.to_string(),
                    by,
                    ok: outcome.ok(),
                    duration_us,
                    error: outcome.error.map(|e| e.to_string()),
                    // The second statistics read counts itself.
                    upstream_requests: before
                        .zip(after)
                        .map(|(b, a)| a.saturating_sub(b).saturating_sub(1)),
                }));
            }
        }
    }
}
