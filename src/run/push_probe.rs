//! Push probes: a region whose storage has a size limit (`storage_limit`, the only
//! storage `fill-disk` can fill) also gets one small upload every second, so that a
//! full disk shows as failed pushes while pulls and `GET /v2/` probes still succeed.

use crate::fixtures::Blob;
use crate::journal::{Event, Journal};
use crate::oci;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub const EVERY: Duration = Duration::from_secs(1);
/// The repository push probes upload to.
pub const REPOSITORY: &str = "drill/push-probe";

/// Pushes one 1 KiB blob to `base` every [`EVERY`] until `stop`; each result is a `push`
/// event. The same blob each time (the registry writes every upload to storage before
/// it finds it has the blob), so the probes do not fill the disk themselves.
pub fn spawn(
    set: &mut JoinSet<()>,
    region: String,
    base: String,
    journal: Journal,
    stop: CancellationToken,
    client: oci::Client,
) {
    let blob = Blob::new(format!("drill push probe of region {region}\n").repeat(40));
    set.spawn(crate::run::hosts::every(EVERY, stop, move || {
        let (client, base, blob, journal, region) = (
            client.clone(),
            base.clone(),
            blob.clone(),
            journal.clone(),
            region.clone(),
        );
        async move {
            let started = Instant::now();
            let result = oci::upload(&client, &base, REPOSITORY, &blob).await;
            journal.record_at(
                journal.offset_us(started),
                Event::Push {
                    region,
                    ok: result.is_ok(),
                    latency_us: started.elapsed().as_micros() as u64,
                    error: result.err().map(|e| e.to_string()),
                },
            );
        }
    }));
}
