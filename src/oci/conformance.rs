//! What a registry speaks of the distribution API a run relies on, asked with an image it
//! was just given: in the spirit of the OCI distribution-spec conformance tests, but only
//! the requests drill's hosts, probes and integrity check send.

use super::{Client, MANIFEST_ACCEPT};
use crate::fixtures::OCI_MANIFEST;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;

/// One request of the API a registry answered otherwise than the specification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lack {
    /// `HEAD` on a blob it holds: how a pusher learns a blob is there.
    BlobHead,
    /// `GET` of a blob by digest: every layer a host pulls.
    BlobGet,
    /// `GET` of a manifest by tag with an `Accept` list: every cold start.
    ManifestByTag,
    /// The manifest answered with another `Content-Type` than the one pushed.
    ManifestType,
    /// `GET` of a manifest by digest: a pinned pull, a platform manifest of an index.
    ManifestByDigest,
    /// No `Docker-Content-Digest` on a manifest: a client cannot learn a tag's digest
    /// from a `HEAD` (drill hashes what it gets instead).
    ContentDigest,
    /// `GET /v2/<name>/tags/list`: drill does not list tags; tools that mirror do.
    TagList,
}

impl Lack {
    /// Whether a run cannot measure what it claims without it.
    pub fn needed(self) -> bool {
        !matches!(self, Lack::ContentDigest | Lack::TagList)
    }

    /// What it is, in the API's words.
    pub fn what(self) -> &'static str {
        match self {
            Lack::BlobHead => "HEAD of a blob",
            Lack::BlobGet => "GET of a blob by digest",
            Lack::ManifestByTag => "GET of a manifest by tag with an Accept list",
            Lack::ManifestType => "the pushed Content-Type on a manifest",
            Lack::ManifestByDigest => "GET of a manifest by digest",
            Lack::ContentDigest => "Docker-Content-Digest on a manifest",
            Lack::TagList => "the tag listing",
        }
    }
}

/// What was found missing, with what the registry answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub lack: Lack,
    pub answer: String,
}

/// Asks `base` for `repository`'s manifest (by `tag` and by `digest`) and one of its
/// blobs, all pushed there before; returns what it lacks.
pub async fn check(
    client: &Client,
    base: &str,
    repository: &str,
    tag: &str,
    digest: &str,
    blob: &str,
) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut lacks = |lack: Lack, answer: String| found.push(Finding { lack, answer });
    let v2 = format!("{base}/v2/{repository}");

    let head = client.http.head(format!("{v2}/blobs/{blob}"));
    match client.send(head).await {
        Ok(r) if r.status() == StatusCode::OK => {}
        other => lacks(Lack::BlobHead, answer(other)),
    }
    match client.send(client.get(format!("{v2}/blobs/{blob}"))).await {
        Ok(r) if r.status() == StatusCode::OK => drain(r).await,
        other => lacks(Lack::BlobGet, answer(other)),
    }
    let by_tag = client
        .get(format!("{v2}/manifests/{tag}"))
        .header(ACCEPT, MANIFEST_ACCEPT);
    match client.send(by_tag).await {
        Ok(r) if r.status() == StatusCode::OK => {
            let kind = header(&r, CONTENT_TYPE.as_str());
            if kind.as_deref() != Some(OCI_MANIFEST) {
                lacks(
                    Lack::ManifestType,
                    format!("Content-Type {}", kind.as_deref().unwrap_or("missing")),
                );
            }
            if header(&r, "docker-content-digest").is_none() {
                lacks(Lack::ContentDigest, "no header".into());
            }
            drain(r).await;
        }
        other => lacks(Lack::ManifestByTag, answer(other)),
    }
    let by_digest = client
        .get(format!("{v2}/manifests/{digest}"))
        .header(ACCEPT, MANIFEST_ACCEPT);
    match client.send(by_digest).await {
        Ok(r) if r.status() == StatusCode::OK => drain(r).await,
        other => lacks(Lack::ManifestByDigest, answer(other)),
    }
    match client.send(client.get(format!("{v2}/tags/list"))).await {
        Ok(r) if r.status() == StatusCode::OK => drain(r).await,
        other => lacks(Lack::TagList, answer(other)),
    }
    found
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

/// Reads a body to its end, so the connection can be reused.
async fn drain(r: reqwest::Response) {
    let _ = r.bytes().await;
}

fn answer(r: Result<reqwest::Response, super::OciError>) -> String {
    match r {
        Ok(r) => format!("HTTP {}", r.status().as_u16()),
        Err(e) => e.to_string(),
    }
}
