//! drill's own OCI distribution client: pushes the generated images, and pulls the way a
//! cold-started host does — manifest, config, layers — with every request timed, every
//! digest verified and each request falling back through the host's mirrors in order
//! (containerd hosts.toml semantics: any error or status above 399 moves on to the next).

pub mod conformance;
mod error;
pub mod token;

use crate::fixtures::{split_reference, Blob, TestImage, OCI_MANIFEST};
use crate::journal::{MirrorMove, Phase, PhaseKind};
use crate::model::credentials::Credentials;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, Request, RequestBuilder, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};
use token::Challenge;

use error::closed_before_answer;
pub use error::{MirrorsFailed, OciError};

/// Everything a pull accepts, as containerd sends it. distribution 2.8 answers
/// MANIFEST_UNKNOWN for an OCI manifest unless the OCI type is listed.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// One entry point a host may pull from.
#[derive(Debug, Clone)]
pub struct Mirror {
    pub region: String,
    /// `http://127.0.0.1:<port>`
    pub base: String,
}

/// What a client needs to reach a secure topology: the CA its entry points' certificates
/// chain to, the credentials its registries demand, and where the token services the
/// registries name are reached from this machine.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The CAs trusted, and no other (a bundle may hold several).
    pub ca: Vec<reqwest::Certificate>,
    pub credentials: Option<Credentials>,
    /// Realm authority as registries name it (`<container>:5000`, reachable only on the
    /// run's network) → `http(s)://127.0.0.1:<port>` (its published port).
    pub realms: HashMap<String, String>,
}

impl Access {
    pub fn new(ca_pem: Option<&str>, credentials: Option<Credentials>) -> Result<Access, OciError> {
        let ca = ca_pem
            .map(|pem| reqwest::Certificate::from_pem_bundle(pem.as_bytes()))
            .transpose()
            .map_err(OciError::Ca)?
            .unwrap_or_default();
        Ok(Access {
            ca,
            credentials,
            realms: HashMap::new(),
        })
    }

    /// The same trust, no credentials: what an anonymous client has.
    pub fn anonymous(&self) -> Access {
        Access {
            ca: self.ca.clone(),
            credentials: None,
            realms: self.realms.clone(),
        }
    }
}

/// An HTTP client as a registry client uses it. It answers a `401` with a basic
/// `WWW-Authenticate` challenge by sending its credentials, and, like containerd and
/// Docker, sends them at once on later requests instead of being challenged again. It
/// answers a bearer challenge by trading its credentials for a token at the realm the
/// registry names, and keeps the token for later requests on the same repository.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    credentials: Option<Arc<Credentials>>,
    challenged: Arc<AtomicBool>,
    /// Bearer tokens held, by entry point and scope ([`token_key`]).
    tokens: Arc<Mutex<HashMap<String, String>>>,
    realms: Arc<HashMap<String, String>>,
    /// Each request's whole time, a replay included.
    request_timeout: Duration,
}

/// Without the tokens it holds: they are as good as the credentials while they last.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("credentials", &self.credentials)
            .field("tokens held", &self.tokens.lock().map_or(0, |t| t.len()))
            .finish()
    }
}

/// How long a client keeps an idle connection for reuse: less than the load balancers'
/// keep-alive ([`crate::plan::balancer::LB_KEEP_ALIVE`]). A connection the server closes just as
/// the client reuses it fails its request ("connection closed before message
/// completed"), which a probe would record as the entry point failing.
pub const POOL_IDLE: Duration = Duration::from_secs(5);
const _: () = assert!(POOL_IDLE.as_millis() < crate::plan::balancer::LB_KEEP_ALIVE.as_millis());

/// A fresh HTTP client: its own connection pool, as a cold-started host has. It trusts
/// the CA in `access` and no other.
pub fn client(connect: Duration, request: Duration, access: &Access) -> Client {
    static PROVIDER: Once = Once::new();
    // reqwest is built without a default TLS provider; ring is the one drill ships.
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    // Only the run's own CA, never the system's: drill talks to nothing but its own
    // registries, and without a CA (plain HTTP) building a client then reads no system
    // certificates, which a cold start of thousands of hosts would pay for each.
    let builder = reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(request)
        .pool_max_idle_per_host(8)
        .pool_idle_timeout(POOL_IDLE)
        .tls_certs_only(access.ca.iter().cloned());
    Client {
        http: builder
            .build()
            .expect("an HTTP client with a parsed CA always builds"),
        credentials: access.credentials.clone().map(Arc::new),
        challenged: Arc::new(AtomicBool::new(false)),
        tokens: Arc::default(),
        realms: Arc::new(access.realms.clone()),
        request_timeout: request,
    }
}

impl Client {
    pub fn get(&self, url: String) -> RequestBuilder {
        self.http.get(url)
    }

    /// Sends a request once more if its connection closed before any response came and
    /// it is a `GET` or `HEAD`. A pooled connection the server closed while idle fails
    /// that way; Go's HTTP transport (containerd, the Docker engine) replays an
    /// idempotent request in that case, so the race is not a registry failure for real
    /// hosts and must not be one here. Any other failure (a timeout, a refused
    /// connection, a malformed answer) is the entry point's answer. The replay gets what
    /// is left of the request timeout, so a request never takes longer than that.
    async fn execute(&self, req: Request) -> Result<Response, reqwest::Error> {
        let started = Instant::now();
        let again = matches!(*req.method(), Method::GET | Method::HEAD)
            .then(|| req.try_clone())
            .flatten();
        match (self.http.execute(req).await, again) {
            (Err(e), Some(mut again)) if closed_before_answer(&e) => {
                let left = self.request_timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(e);
                }
                *again.timeout_mut() = Some(left);
                self.http.execute(again).await
            }
            (result, _) => result,
        }
    }

    /// Sends a request as it is built, answering no challenge: what probes and token
    /// fetches send. Returns why nothing answered, if so.
    async fn send_as_is(&self, req: RequestBuilder) -> Result<Response, OciError> {
        let req = req.build().map_err(OciError::Request)?;
        self.execute(req).await.map_err(OciError::Request)
    }

    /// Sends a request, answering one authentication challenge with the credentials.
    /// Fails with [`OciError::Request`] or, when a token was wanted and none came,
    /// [`OciError::NoToken`].
    async fn send(&self, req: RequestBuilder) -> Result<Response, OciError> {
        let mut req = req.build().map_err(OciError::Request)?;
        let Some(creds) = &self.credentials else {
            return self.execute(req).await.map_err(OciError::Request);
        };
        let key = token_key(&req);
        let held = self.tokens.lock().expect("not poisoned").get(&key).cloned();
        if let Some(token) = &held {
            set_authorization(&mut req, &format!("Bearer {token}"));
        } else if self.challenged.load(Ordering::Relaxed) {
            set_authorization(&mut req, &creds.basic_header());
        }
        // Whether this request carried the credentials, not whether another did: requests
        // sent side by side before the first challenge all go without them.
        let sent_basic = held.is_none() && req.headers().contains_key(AUTHORIZATION);
        let again = req.try_clone();
        let resp = self.execute(req).await.map_err(OciError::Request)?;
        let Some(mut again) = again.filter(|_| resp.status() == StatusCode::UNAUTHORIZED) else {
            return Ok(resp);
        };
        let challenge = bearer_challenge(&resp);
        // A 401 without a challenge still asks for credentials: some registries
        // (container-registry) challenge only at `/v2/`, where a client pings first.
        let basic = challenge.is_none() && !sent_basic;
        if challenge.is_none() && !basic {
            // Credentials already sent and refused: that is the answer.
            return Ok(resp);
        }
        // Read to its end, the refusal leaves its connection for the retry to reuse.
        let _ = resp.bytes().await;
        // A held token that is refused has expired: ask for a new one.
        if let Some(challenge) = challenge {
            let token = self
                .fetch_token(&challenge, creds)
                .await
                .map_err(|e| OciError::NoToken(Box::new(e)))?;
            self.tokens
                .lock()
                .expect("not poisoned")
                .insert(key, token.clone());
            set_authorization(&mut again, &format!("Bearer {token}"));
            return self.execute(again).await.map_err(OciError::Request);
        }
        self.challenged.store(true, Ordering::Relaxed);
        set_authorization(&mut again, &creds.basic_header());
        self.execute(again).await.map_err(OciError::Request)
    }

    /// Trades `creds` for a token at the challenge's realm (`GET` with basic
    /// credentials, as the Docker engine does), reached through its published port.
    /// Fails with why no token came.
    async fn fetch_token(
        &self,
        challenge: &Challenge,
        creds: &Credentials,
    ) -> Result<String, OciError> {
        let (url, status, body) = self.ask_token(challenge, creds).await?;
        if !status.is_success() {
            return Err(OciError::Status {
                url,
                status,
                code: None,
            });
        }
        token_from(&body).ok_or(OciError::TokenMissing)
    }

    /// Asks the challenge's realm for a token with `creds`: the URL asked, the status
    /// and the body.
    async fn ask_token(
        &self,
        challenge: &Challenge,
        creds: &Credentials,
    ) -> Result<(String, StatusCode, Bytes), OciError> {
        let mut url =
            reqwest::Url::parse(&reachable(&challenge.realm, &self.realms)).map_err(|source| {
                OciError::Realm {
                    realm: challenge.realm.clone(),
                    source,
                }
            })?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in [("service", &challenge.service), ("scope", &challenge.scope)] {
                if let Some(v) = value {
                    query.append_pair(name, v);
                }
            }
        }
        let asked = url.to_string();
        let req = self
            .http
            .get(url)
            .header(AUTHORIZATION, creds.basic_header());
        let resp = self.send_as_is(req).await?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(OciError::Request)?;
        Ok((asked, status, body))
    }
}

/// The token in a token service's JSON answer (`token`, or OAuth2's `access_token`).
fn token_from(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["token"]
        .as_str()
        .or(v["access_token"].as_str())
        .map(String::from)
}

fn set_authorization(req: &mut reqwest::Request, value: &str) {
    if let Ok(v) = reqwest::header::HeaderValue::from_str(value) {
        req.headers_mut().insert(AUTHORIZATION, v);
    }
}

/// What a token is held for: the entry point, and the repository and whether it is
/// read (`GET`, `HEAD`) or written, as registries scope their challenges.
fn token_key(req: &reqwest::Request) -> String {
    let url = req.url();
    let entry = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    );
    let repo = url.path().strip_prefix("/v2/").and_then(|rest| {
        ["/manifests/", "/blobs/", "/tags/"]
            .iter()
            .find_map(|part| rest.find(part).map(|at| &rest[..at]))
    });
    let write = !matches!(*req.method(), reqwest::Method::GET | reqwest::Method::HEAD);
    match repo {
        Some(repo) => format!("{entry} {repo} {}", if write { "push" } else { "pull" }),
        None => entry,
    }
}

/// The realm as drill reaches it: its authority swapped for the published address
/// when it names a container of the run.
fn reachable(realm: &str, realms: &HashMap<String, String>) -> String {
    let Some((_, rest)) = realm.split_once("://") else {
        return realm.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match realms.get(authority) {
        Some(base) => format!("{base}{path}"),
        None => realm.to_string(),
    }
}

/// The bearer challenge of a 401, if it made one.
pub fn bearer_challenge(resp: &Response) -> Option<Challenge> {
    challenges(resp).find_map(token::parse_challenge)
}

fn challenges(resp: &Response) -> impl Iterator<Item = &str> {
    resp.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
}

/// What one pull did.
#[derive(Debug, Default)]
pub struct PullOutcome {
    pub error: Option<OciError>,
    pub phases: Vec<Phase>,
    /// Requests that failed on one mirror and moved on to the next, with why.
    pub moves: Vec<MirrorMove>,
    /// Requests answered with an HTTP error, by mirror and status (`"429"`: JSON keys).
    pub http_errors: BTreeMap<String, BTreeMap<String, u32>>,
}

impl PullOutcome {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Pulls `reference` (repository:tag or repository@digest) through `mirrors`, fetching up to `parallel`
/// layers at once. Layer bytes are verified and dropped: the host's cache is not kept.
pub async fn pull(
    client: &Client,
    mirrors: &[Mirror],
    reference: &str,
    parallel: usize,
) -> PullOutcome {
    let mut out = PullOutcome::default();
    let started = Instant::now();
    let pull = Pull {
        client,
        mirrors,
        started,
    };
    if let Err(e) = pull_into(&pull, reference, parallel, &mut out).await {
        out.error = Some(e);
    }
    out
}

/// What every request of one pull shares: the client, the mirrors, and when it began.
#[derive(Clone, Copy)]
struct Pull<'a> {
    client: &'a Client,
    mirrors: &'a [Mirror],
    started: Instant,
}

async fn pull_into(
    pull: &Pull<'_>,
    reference: &str,
    parallel: usize,
    out: &mut PullOutcome,
) -> Result<(), OciError> {
    // `repository@sha256:...` pulls by digest: the manifest must hash to it.
    let (repo, tag, expect) = match reference.split_once('@') {
        Some((repo, digest)) => (repo, digest, Expect::Digest(digest)),
        None => {
            let (repo, tag) = split_reference(reference);
            (repo, tag, Expect::Tag)
        }
    };
    let manifest = fetch(
        pull,
        &format!("/v2/{repo}/manifests/{tag}"),
        expect,
        PhaseKind::Manifest,
        out,
    )
    .await?;
    let mut doc: serde_json::Value =
        serde_json::from_slice(&manifest).map_err(|source| OciError::NotJson {
            what: format!("manifest of {reference}"),
            source,
        })?;
    if doc.get("manifests").is_some() {
        // An index: take the linux/amd64 entry, as a host on this machine would.
        let digest =
            platform_manifest(&doc).ok_or_else(|| OciError::NoPlatform(reference.to_string()))?;
        let m = fetch(
            pull,
            &format!("/v2/{repo}/manifests/{digest}"),
            Expect::Digest(&digest),
            PhaseKind::Manifest,
            out,
        )
        .await?;
        doc = serde_json::from_slice(&m).map_err(|source| OciError::NotJson {
            what: format!("manifest {digest}"),
            source,
        })?;
    }
    let config = doc["config"]["digest"]
        .as_str()
        .ok_or_else(|| OciError::NoConfig(reference.to_string()))?;
    fetch(
        pull,
        &format!("/v2/{repo}/blobs/{config}"),
        Expect::Digest(config),
        PhaseKind::Config,
        out,
    )
    .await?;
    let layers: Vec<String> = doc["layers"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l["digest"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // Named futures, not closures over borrows: the stream must be `Send` for spawn.
    let fetches: Vec<_> = layers
        .iter()
        .map(|digest| fetch_layer(*pull, format!("/v2/{repo}/blobs/{digest}"), digest.clone()))
        .collect();
    let results: Vec<Result<PullOutcome, OciError>> = futures_util::stream::iter(fetches)
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    for r in results {
        let part = r?;
        out.phases.extend(part.phases);
        out.moves.extend(part.moves);
        for (mirror, statuses) in part.http_errors {
            let of_mirror = out.http_errors.entry(mirror).or_default();
            for (status, n) in statuses {
                *of_mirror.entry(status).or_default() += n;
            }
        }
    }
    Ok(())
}

async fn fetch_layer(
    pull: Pull<'_>,
    path: String,
    digest: String,
) -> Result<PullOutcome, OciError> {
    let mut part = PullOutcome::default();
    fetch(
        &pull,
        &path,
        Expect::Digest(&digest),
        PhaseKind::Layer,
        &mut part,
    )
    .await?;
    Ok(part)
}

fn platform_manifest(index: &serde_json::Value) -> Option<String> {
    let entries = index["manifests"].as_array()?;
    entries
        .iter()
        .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
        .or_else(|| entries.first())
        .and_then(|m| m["digest"].as_str())
        .map(String::from)
}

#[derive(Clone, Copy)]
enum Expect<'a> {
    /// Fetched by tag: verified against the registry's Docker-Content-Digest header.
    Tag,
    /// Fetched by digest: the bytes must hash to it.
    Digest(&'a str),
}

/// One request, tried on each mirror in order until one serves verified bytes; each
/// failure but the last (there is no mirror left to move to) is a mirror move.
/// Manifests and configs are returned; layer bodies are hashed as they stream and dropped.
async fn fetch(
    pull: &Pull<'_>,
    path: &str,
    expect: Expect<'_>,
    kind: PhaseKind,
    out: &mut PullOutcome,
) -> Result<Bytes, OciError> {
    let mut failures = Vec::new();
    for (i, mirror) in pull.mirrors.iter().enumerate() {
        let failure = match fetch_one(pull.client, mirror, path, expect, kind).await {
            Ok((phase, body)) => {
                out.phases.push(phase);
                return Ok(body);
            }
            Err(failure) => failure,
        };
        if let OciError::Status { status, .. } = &failure {
            *out.http_errors
                .entry(mirror.region.clone())
                .or_default()
                .entry(status.as_u16().to_string())
                .or_default() += 1;
        }
        if i + 1 < pull.mirrors.len() {
            out.moves.push(MirrorMove {
                mirror: mirror.region.clone(),
                phase: Some(kind),
                after_us: Some(pull.started.elapsed().as_micros() as u64),
                reason: failure.move_reason(),
            });
        }
        failures.push((mirror.region.clone(), failure));
    }
    Err(OciError::Mirrors(MirrorsFailed {
        kind,
        path: path.to_string(),
        failures,
    }))
}

async fn fetch_one(
    client: &Client,
    mirror: &Mirror,
    path: &str,
    expect: Expect<'_>,
    kind: PhaseKind,
) -> Result<(Phase, Bytes), OciError> {
    let started = Instant::now();
    let url = format!("{}{path}", mirror.base);
    let resp = send_get(client, &url, kind).await?;
    let ttfb = started.elapsed();
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(OciError::Status {
            url,
            status,
            code: registry_error(&body),
        });
    }
    let header_digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let keep = kind != PhaseKind::Layer;
    let mut hasher = Sha256::new();
    let mut body = BytesMut::new();
    let mut bytes = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.try_next().await.map_err(OciError::Request)? {
        hasher.update(&chunk);
        bytes += chunk.len() as u64;
        if keep {
            body.extend_from_slice(&chunk);
        }
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    let wanted = match expect {
        Expect::Digest(d) => Some(d.to_string()),
        Expect::Tag => header_digest,
    };
    if let Some(expected) = wanted {
        if expected != actual {
            return Err(OciError::DigestMismatch { expected, actual });
        }
    }
    Ok((
        Phase {
            phase: kind,
            digest: actual,
            endpoint: mirror.region.clone(),
            ttfb_us: ttfb.as_micros() as u64,
            duration_us: started.elapsed().as_micros() as u64,
            bytes,
        },
        body.freeze(),
    ))
}

/// Sends a GET for one phase of a pull.
async fn send_get(client: &Client, url: &str, kind: PhaseKind) -> Result<Response, OciError> {
    let mut req = client.get(url.to_string());
    if kind == PhaseKind::Manifest {
        req = req.header(ACCEPT, MANIFEST_ACCEPT);
    }
    client.send(req).await
}

/// The first `errors[].code` of a registry error body, if any.
fn registry_error(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errors"][0]["code"].as_str().map(String::from))
}

/// Pushes an image to one registry: blobs (skipping those it has), then the manifest.
pub async fn push(client: &Client, base: &str, image: &TestImage) -> Result<(), OciError> {
    let repo = &image.repository;
    for blob in std::iter::once(&image.config).chain(&image.layers) {
        let head = client
            .send(
                client
                    .http
                    .head(format!("{base}/v2/{repo}/blobs/{}", blob.digest)),
            )
            .await?;
        if head.status() != StatusCode::OK {
            upload(client, base, repo, blob).await?;
        }
    }
    let put = client
        .http
        .put(format!("{base}/v2/{repo}/manifests/{}", image.tag))
        .header(CONTENT_TYPE, OCI_MANIFEST)
        .body(image.manifest.data.clone());
    let put = client.send(put).await?;
    expect(put, StatusCode::CREATED, || {
        format!("manifest of {repo}:{} refused", image.tag)
    })
    .await?;
    Ok(())
}

/// Uploads one blob: `POST` an upload, `PATCH` the bytes into it as one chunk, `PUT`
/// it closed with its digest. Three requests rather than the monolithic two, because
/// registries differ on a `PUT` that carries the body (container-registry answers it
/// with 500) while every registry drill has met takes a one-chunk `PATCH`.
/// The registry writes the blob to storage even when it holds it already.
pub async fn upload(client: &Client, base: &str, repo: &str, blob: &Blob) -> Result<(), OciError> {
    let refused = || format!("upload of {} refused", blob.digest);
    let start = client
        .send(client.http.post(format!("{base}/v2/{repo}/blobs/uploads/")))
        .await?;
    let start = expect(start, StatusCode::ACCEPTED, refused).await?;
    let mut url = upload_url(base, &start)?;
    if !blob.data.is_empty() {
        let patch = client
            .http
            .patch(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_RANGE, format!("0-{}", blob.data.len() - 1))
            .body(blob.data.clone());
        let patch = expect(client.send(patch).await?, StatusCode::ACCEPTED, || {
            format!("upload of {} failed", blob.digest)
        })
        .await?;
        url = upload_url(base, &patch)?;
    }
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&format!("digest={}", blob.digest));
    let put = client
        .http
        .put(url)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_LENGTH, 0);
    let put = client.send(put).await?;
    expect(put, StatusCode::CREATED, || {
        format!("upload of {} failed", blob.digest)
    })
    .await?;
    Ok(())
}

/// Where an upload goes on: the `Location` of the registry's last answer, made absolute.
fn upload_url(base: &str, resp: &Response) -> Result<String, OciError> {
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(OciError::NoLocation)?;
    Ok(if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_string()
    })
}

/// Downloads a whole image (manifest by tag, config, layers) from one registry, every
/// blob verified against its digest: the read half of a replicator's copy.
pub async fn fetch_image(
    client: &Client,
    base: &str,
    reference: &str,
) -> Result<TestImage, OciError> {
    let (repo, tag) = split_reference(reference);
    let get = |path: String, accept: bool| async move {
        let mut req = client.get(format!("{base}{path}"));
        if accept {
            req = req.header(ACCEPT, MANIFEST_ACCEPT);
        }
        let resp = expect(client.send(req).await?, StatusCode::OK, || {
            format!("GET {path}")
        })
        .await?;
        resp.bytes().await.map_err(OciError::Request)
    };
    let manifest = Blob::new(get(format!("/v2/{repo}/manifests/{tag}"), true).await?);
    let doc: serde_json::Value =
        serde_json::from_slice(&manifest.data).map_err(|source| OciError::NotJson {
            what: format!("manifest of {reference}"),
            source,
        })?;
    let wanted: Vec<&str> = std::iter::once(&doc["config"])
        .chain(doc["layers"].as_array().into_iter().flatten())
        .filter_map(|d| d["digest"].as_str())
        .collect();
    let mut blobs = Vec::new();
    for digest in wanted {
        let blob = Blob::new(get(format!("/v2/{repo}/blobs/{digest}"), false).await?);
        if blob.digest != digest {
            return Err(OciError::BlobMismatch {
                digest: digest.to_string(),
                reference: reference.to_string(),
                actual: blob.digest,
            });
        }
        blobs.push(blob);
    }
    if blobs.is_empty() {
        return Err(OciError::NoConfig(reference.to_string()));
    }
    let config = blobs.remove(0);
    Ok(TestImage {
        repository: repo.to_string(),
        tag: tag.to_string(),
        manifest,
        config,
        layers: blobs,
    })
}

/// The digest `reference`'s tag resolves to in one registry (`HEAD` on the manifest);
/// `None` when it is not there or the registry does not answer. A registry that leaves
/// `Docker-Content-Digest` out (container-registry does) is asked for the manifest,
/// whose digest is then its hash.
pub async fn resolve(client: &Client, base: &str, reference: &str) -> Option<String> {
    let (repo, tag) = split_reference(reference);
    let url = format!("{base}/v2/{repo}/manifests/{tag}");
    let head = client.http.head(&url).header(ACCEPT, MANIFEST_ACCEPT);
    let resp = client.send(head).await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    if let Some(digest) = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    {
        return Some(digest.to_string());
    }
    let get = client.get(url).header(ACCEPT, MANIFEST_ACCEPT);
    let resp = client.send(get).await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body = resp.bytes().await.ok()?;
    Some(Blob::new(body).digest)
}

/// Passes a response on if it has the wanted status; otherwise says what failed.
async fn expect(
    resp: reqwest::Response,
    wanted: StatusCode,
    what: impl FnOnce() -> String,
) -> Result<reqwest::Response, OciError> {
    if resp.status() == wanted {
        return Ok(resp);
    }
    let status = resp.status();
    let code = registry_error(&resp.text().await.unwrap_or_default());
    Err(OciError::Refused {
        what: what(),
        status,
        code,
    })
}

/// `GET /v2/` on an entry point: the availability probe. Returns the error, if any.
pub async fn probe(client: &Client, base: &str) -> Result<(), OciError> {
    let url = format!("{base}/v2/");
    let resp = client.send(client.get(url.clone())).await?;
    let status = resp.status();
    if status.is_success() {
        // Drain the tiny body so the connection can be reused.
        let _ = resp.bytes().await;
        Ok(())
    } else {
        Err(OciError::Status {
            url,
            status,
            code: None,
        })
    }
}

/// Asks a token service for a token with the client's credentials (no scope): the
/// availability probe of a token service. Returns the error, if any.
pub async fn token_probe(client: &Client, base: &str) -> Result<(), OciError> {
    let url = format!(
        "{base}{}?service={}",
        crate::model::wire::TOKEN_PATH,
        token::SERVICE
    );
    let mut req = client.http.get(&url);
    if let Some(c) = &client.credentials {
        req = req.header(AUTHORIZATION, c.basic_header());
    }
    let resp = client.send_as_is(req).await?;
    let status = resp.status();
    let _ = resp.bytes().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(OciError::Status {
            url,
            status,
            code: None,
        })
    }
}

/// How an auth probe tries to get in.
#[derive(Debug, Clone, Copy)]
pub enum Intrusion<'a> {
    Anonymous,
    /// The run's user with a password that is not theirs.
    WrongPassword(&'a Credentials),
    /// A signed token no registry of the run should trust ([`token::forge`]).
    ForgedToken(&'a str),
}

/// Tries to fetch a manifest the way an intruder would, never with the run's real
/// credentials: the status that refused or served it, or why nothing answered.
pub async fn auth_probe(
    client: &Client,
    base: &str,
    reference: &str,
    intrusion: Intrusion<'_>,
) -> Result<u16, OciError> {
    let (repo, tag) = split_reference(reference);
    let url = format!("{base}/v2/{repo}/manifests/{tag}");
    let attempt = |authorization: Option<String>| {
        let mut req = client.http.get(&url).header(ACCEPT, MANIFEST_ACCEPT);
        if let Some(a) = authorization {
            req = req.header(AUTHORIZATION, a);
        }
        async move {
            let resp = client.send_as_is(req).await?;
            let status = resp.status().as_u16();
            let challenge = bearer_challenge(&resp);
            let _ = resp.bytes().await;
            Ok::<_, OciError>((status, challenge))
        }
    };
    let (status, challenge) = match intrusion {
        Intrusion::Anonymous => attempt(None).await?,
        Intrusion::ForgedToken(token) => attempt(Some(format!("Bearer {token}"))).await?,
        Intrusion::WrongPassword(wrong) => attempt(Some(wrong.basic_header())).await?,
    };
    // A token registry ignores basic credentials and names its token service: the
    // intruder asks it with the wrong password and presents whatever it is given.
    let (Intrusion::WrongPassword(wrong), 401, Some(challenge)) = (intrusion, status, challenge)
    else {
        return Ok(status);
    };
    let token_service = |e| OciError::TokenService(Box::new(e));
    let (url, token_status, body) = client
        .ask_token(&challenge, wrong)
        .await
        .map_err(token_service)?;
    match (token_status.as_u16(), token_from(&body)) {
        (200..=299, Some(token)) => Ok(attempt(Some(format!("Bearer {token}"))).await?.0),
        // The token service's refusal is the entry point's.
        (401 | 403, _) => Ok(token_status.as_u16()),
        (200..=299, None) => Err(token_service(OciError::TokenlessAnswer(token_status))),
        _ => Err(token_service(OciError::Status {
            url,
            status: token_status,
            code: None,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::MoveReason;
    use std::sync::atomic::AtomicUsize;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Reads one request head.
    async fn read_request(conn: &mut tokio::net::TcpStream) -> bool {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut byte).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&byte[..n]),
            }
        }
        true
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    /// A plain-HTTP client, and the server at `addr` as its only mirror.
    fn client_of(addr: std::net::SocketAddr) -> (Client, Mirror) {
        let http = client(
            Duration::from_secs(1),
            Duration::from_secs(5),
            &Access::default(),
        );
        let mirror = Mirror {
            region: "eu".into(),
            base: format!("http://{addr}"),
        };
        (http, mirror)
    }

    /// A server whose first connection answers one request, then reads the next and
    /// closes without an answer, as an idle-timeout race does; later connections answer
    /// every request. Returns its address and how many requests reached it.
    async fn closing_after_one() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        slow_closing_after_one(Duration::ZERO).await
    }

    /// [`closing_after_one`], taking `slow` to close and, later, to answer.
    async fn slow_closing_after_one(slow: Duration) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = requests.clone();
        tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            assert!(read_request(&mut first).await);
            seen.fetch_add(1, Ordering::SeqCst);
            first.write_all(OK).await.unwrap();
            if read_request(&mut first).await {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(slow).await;
            drop(first);
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                while read_request(&mut conn).await {
                    seen.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(slow).await;
                    if conn.write_all(OK).await.is_err() {
                        break;
                    }
                }
            }
        });
        (addr, requests)
    }

    #[tokio::test]
    async fn a_request_on_a_connection_closed_by_the_server_is_replayed_once() {
        let (addr, requests) = closing_after_one().await;
        let (client, mirror) = client_of(addr);
        for round in 0..2 {
            let got = fetch_one(&client, &mirror, "/v2/", Expect::Tag, PhaseKind::Config).await;
            let (phase, body) = got.unwrap_or_else(|e| panic!("request {round}: {e}"));
            assert_eq!(&body[..], b"ok");
            assert_eq!(phase.endpoint, "eu");
        }
        assert_eq!(requests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn probes_replay_too_so_the_race_is_no_outage() {
        let (addr, _) = closing_after_one().await;
        let (client, mirror) = client_of(addr);
        for round in 0..2 {
            let got = probe(&client, &mirror.base).await;
            assert!(got.is_ok(), "availability probe {round}: {got:?}");
        }
        let (addr, _) = closing_after_one().await;
        let (client, mirror) = client_of(addr);
        for round in 0..2 {
            let got = auth_probe(&client, &mirror.base, "team/app:1", Intrusion::Anonymous).await;
            assert_eq!(got.ok(), Some(200), "auth probe {round}");
        }
        let (addr, _) = closing_after_one().await;
        let (client, mirror) = client_of(addr);
        for round in 0..2 {
            let got = token_probe(&client, &mirror.base).await;
            assert!(got.is_ok(), "token service probe {round}: {got:?}");
        }
    }

    #[tokio::test]
    async fn a_replay_gets_only_what_is_left_of_the_request_timeout() {
        // The connection closes 700 ms into a 1 s request; the replay would be
        // answered after another 700 ms, past the request's time.
        let (addr, requests) = slow_closing_after_one(Duration::from_millis(700)).await;
        let client = client(
            Duration::from_secs(1),
            Duration::from_secs(1),
            &Access::default(),
        );
        let base = format!("http://{addr}");
        probe(&client, &base).await.unwrap();
        let started = Instant::now();
        let err = probe(&client, &base).await.unwrap_err();
        assert_eq!(err.move_reason(), MoveReason::Timeout);
        assert_eq!(err.to_string(), "timed out");
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1300), "{took:?}");
        assert_eq!(requests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_malformed_answer_is_not_replayed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                if read_request(&mut conn).await {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let _ = conn.write_all(b"NOT HTTP\r\n\r\n").await;
                }
            }
        });
        let (client, mirror) = client_of(addr);
        assert!(probe(&client, &mirror.base).await.is_err());
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_write_is_never_replayed() {
        let (addr, requests) = closing_after_one().await;
        let (client, mirror) = client_of(addr);
        let put = || {
            client
                .http
                .put(format!("{}/v2/team/app/manifests/1", mirror.base))
        };
        assert!(client.send(put()).await.is_ok());
        assert!(client.send(put()).await.is_err());
        assert_eq!(requests.load(Ordering::SeqCst), 2);
    }

    /// Reads one request head, lower-cased.
    async fn head_of(conn: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut byte).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&byte[..n]),
            }
        }
        String::from_utf8_lossy(&buf).to_ascii_lowercase()
    }

    #[test]
    fn tokens_are_held_per_entry_point_repository_and_access() {
        let http = reqwest::Client::new();
        let key = |method: reqwest::Method, url: &str| {
            token_key(&http.request(method, url).build().unwrap())
        };
        use reqwest::Method;
        let pull = key(Method::GET, "http://127.0.0.1:9/v2/team/app/manifests/1");
        assert_eq!(pull, "127.0.0.1:9 team/app pull");
        assert_eq!(
            key(
                Method::HEAD,
                "http://127.0.0.1:9/v2/team/app/blobs/sha256:ab"
            ),
            pull
        );
        assert_eq!(
            key(
                Method::PUT,
                "http://127.0.0.1:9/v2/team/app/blobs/uploads/u?digest=x"
            ),
            "127.0.0.1:9 team/app push"
        );
        assert_eq!(key(Method::GET, "https://h/v2/"), "h:443");
        assert_ne!(
            key(Method::GET, "http://127.0.0.1:8/v2/team/app/manifests/1"),
            pull
        );
    }

    #[test]
    fn realms_on_the_run_network_are_reached_through_their_published_port() {
        let realms = HashMap::from([(
            "drill-x-eu-token:5000".to_string(),
            "https://127.0.0.1:4444".to_string(),
        )]);
        assert_eq!(
            reachable("https://drill-x-eu-token:5000/token", &realms),
            "https://127.0.0.1:4444/token"
        );
        assert_eq!(
            reachable("https://auth.example/token", &realms),
            "https://auth.example/token"
        );
    }

    /// The bearer flow against a registry stand-in that demands a token: the client
    /// asks the realm (through the published address it was given) with basic
    /// credentials and the challenge's service and scope, retries with the token,
    /// keeps it for the next request, and asks again once it is refused.
    #[tokio::test]
    async fn a_bearer_challenge_is_answered_with_a_token_from_the_realm() {
        use std::sync::atomic::AtomicUsize;
        let tokens = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let token_addr = tokens.local_addr().unwrap();
        let asked = Arc::new(AtomicUsize::new(0));
        let creds = Credentials::generate("drill");
        let (counter, basic) = (asked.clone(), creds.basic_header().to_ascii_lowercase());
        let token_server = tokio::spawn(async move {
            loop {
                let (mut conn, _) = tokens.accept().await.unwrap();
                let head = head_of(&mut conn).await;
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(
                    head.starts_with("get /token?service=svc&scope=repository%3aa%3apull "),
                    "{head}"
                );
                assert!(head.contains(&format!("authorization: {basic}")), "{head}");
                let body = format!("{{\"token\":\"t{n}\"}}");
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(resp.as_bytes()).await.unwrap();
            }
        });
        let registry = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let registry_addr = registry.local_addr().unwrap();
        // t1 is accepted for two requests, then refused as expired; t2 from then on.
        let registry_server = tokio::spawn(async move {
            let mut served_with_t1 = 0;
            loop {
                let (mut conn, _) = registry.accept().await.unwrap();
                let head = head_of(&mut conn).await;
                let ok = (head.contains("authorization: bearer t1") && served_with_t1 < 2)
                    || head.contains("authorization: bearer t2");
                served_with_t1 += usize::from(head.contains("bearer t1") && ok);
                let resp = if ok {
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                        .to_string()
                } else {
                    "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm=\"http://tokens.internal:5000/token\",service=\"svc\",scope=\"repository:a:pull\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
                };
                conn.write_all(resp.as_bytes()).await.unwrap();
            }
        });
        let access = Access {
            credentials: Some(creds),
            realms: HashMap::from([(
                "tokens.internal:5000".to_string(),
                format!("http://{token_addr}"),
            )]),
            ..Default::default()
        };
        let client = client(Duration::from_secs(1), Duration::from_secs(5), &access);
        let mirror = Mirror {
            region: "eu".into(),
            base: format!("http://{registry_addr}"),
        };
        for (round, tokens_asked) in [(1, 1), (2, 1), (3, 2), (4, 2)] {
            let got = fetch_one(
                &client,
                &mirror,
                "/v2/a/manifests/1",
                Expect::Tag,
                PhaseKind::Config,
            )
            .await;
            assert_eq!(
                &got.unwrap_or_else(|e| panic!("request {round}: {e}")).1[..],
                b"ok"
            );
            assert_eq!(
                asked.load(Ordering::SeqCst),
                tokens_asked,
                "after request {round}"
            );
        }
        token_server.abort();
        registry_server.abort();
    }

    #[tokio::test]
    async fn a_token_service_that_does_not_answer_fails_the_request_with_that_reason() {
        let registry = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let registry_addr = registry.local_addr().unwrap();
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let server = tokio::spawn(async move {
            loop {
                let (mut conn, _) = registry.accept().await.unwrap();
                head_of(&mut conn).await;
                conn.write_all(b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm=\"http://t:5000/token\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await.unwrap();
            }
        });
        let access = Access {
            credentials: Some(Credentials::generate("drill")),
            realms: HashMap::from([("t:5000".to_string(), format!("http://{closed_addr}"))]),
            ..Default::default()
        };
        let client = client(Duration::from_secs(1), Duration::from_secs(5), &access);
        let mirror = Mirror {
            region: "eu".into(),
            base: format!("http://{registry_addr}"),
        };
        let err = fetch_one(
            &client,
            &mirror,
            "/v2/a/manifests/1",
            Expect::Tag,
            PhaseKind::Manifest,
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no token from the token service: cannot connect"),
            "{err:?}"
        );
        assert_eq!(err.move_reason(), MoveReason::NoToken);
        server.abort();
    }

    #[tokio::test]
    async fn a_refused_connection_is_not_replayed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let (client, mirror) = client_of(addr);
        let err = fetch_one(&client, &mirror, "/v2/", Expect::Tag, PhaseKind::Config)
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("cannot connect"), "{err:?}");
        assert_eq!(err.move_reason(), MoveReason::Refused);
    }

    /// A server answering every request with `answer`, and the mirror named `name` it is.
    async fn answering(name: &str, answer: &'static [u8]) -> Mirror {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    while read_request(&mut conn).await {
                        if conn.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Mirror {
            region: name.into(),
            base,
        }
    }

    #[tokio::test]
    async fn each_request_moving_to_the_next_mirror_is_recorded_with_why() {
        let refused = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            Mirror {
                region: "eu".into(),
                base: format!("http://{addr}"),
            }
        };
        let unavailable = answering(
            "eu-proxy",
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let served = answering("us", OK).await;
        let mirrors = [refused, unavailable, served];
        let (client, _) = client_of("127.0.0.1:9".parse().unwrap());
        let pull = Pull {
            client: &client,
            mirrors: &mirrors,
            started: Instant::now(),
        };
        let mut out = PullOutcome::default();
        let body = fetch(&pull, "/v2/", Expect::Tag, PhaseKind::Config, &mut out)
            .await
            .unwrap();
        assert_eq!(&body[..], b"ok");
        let moves: Vec<(&str, Option<PhaseKind>, &MoveReason)> = out
            .moves
            .iter()
            .map(|m| (m.mirror.as_str(), m.phase, &m.reason))
            .collect();
        assert_eq!(
            moves,
            [
                ("eu", Some(PhaseKind::Config), &MoveReason::Refused),
                (
                    "eu-proxy",
                    Some(PhaseKind::Config),
                    &MoveReason::Status(503)
                ),
            ]
        );
        assert!(out.moves.iter().all(|m| m.after_us.is_some()));
        assert_eq!(out.http_errors["eu-proxy"]["503"], 1);
        assert_eq!(out.phases[0].endpoint, "us");

        // With no mirror left to move to, the last failure is the pull's, not a move.
        let mut out = PullOutcome::default();
        let pull = Pull {
            mirrors: &mirrors[..2],
            ..pull
        };
        let err = fetch(&pull, "/v2/", Expect::Tag, PhaseKind::Layer, &mut out)
            .await
            .unwrap_err();
        assert_eq!(out.moves.len(), 1, "{err}");
        assert!(err.to_string().contains("eu-proxy: HTTP 503"), "{err}");
    }
}
