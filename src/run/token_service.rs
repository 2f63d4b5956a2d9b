//! The run's token service: what a registry with `auth: token` sends clients to for a
//! bearer token (the Docker token protocol: `GET /token` with basic credentials, or
//! the OAuth2 password grant as `POST /token`). drill runs it as a container of its own
//! binary (`drill token-service`), one per region, so it can be killed, paused and cut
//! off like any other part of the topology.
//!
//! The decisions are [`TokenService::answer`], a pure function of the request; the rest
//! is the HTTP(S) server around it.

use crate::model::error::{DrillError, SetupContext};
use crate::oci::token::{self, Access, Claims, SigningError, SigningKey};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::sync::Arc;

/// Where the service reads its configuration inside its container.
pub const CONFIG_PATH: &str = "/etc/drill/token-service.json";
use crate::model::wire::TOKEN_PATH;
/// Largest request body read: a password grant is a few hundred bytes.
const MAX_BODY: usize = 16 * 1024;
/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the service is given, written by drill into its container only.
#[derive(Serialize, Deserialize)]
pub struct ServiceConfig {
    /// `0.0.0.0:5000`: inside the container, on the run's private network.
    pub listen: String,
    /// The token signing key, PKCS#8 DER in base64.
    pub signing_key: String,
    /// The one user, and the bcrypt hash of its password (the htpasswd line's).
    pub user: String,
    pub password_hash: String,
    /// Its certificate, then its key (PEM), when the run's entry points speak TLS.
    pub tls: Option<String>,
}

/// One request, as far as the service looks at it.
#[derive(Debug, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub authorization: Option<&'a str>,
    /// An `application/x-www-form-urlencoded` body (`POST`).
    pub form: &'a [u8],
}

/// The service's answer: a status and a JSON body; a 401 also asks for basic
/// credentials.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

/// Why a token service's configuration does not load.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("signing_key is not base64: {0}")]
    NotBase64(#[source] base64::DecodeError),
    #[error(transparent)]
    Key(#[from] SigningError),
}

pub struct TokenService {
    key: SigningKey,
    user: String,
    password_hash: String,
}

impl TokenService {
    pub fn new(config: &ServiceConfig) -> Result<TokenService, ConfigError> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(&config.signing_key)
            .map_err(ConfigError::NotBase64)?;
        Ok(TokenService {
            key: SigningKey::from_pkcs8(&der)?,
            user: config.user.clone(),
            password_hash: config.password_hash.clone(),
        })
    }

    /// A service with a fresh signing key that knows the user `drill` with `password`
    /// (bcrypt at the lowest cost): for tests and the fuzzer, never for a run.
    pub fn throwaway(password: &str) -> TokenService {
        let pair = rcgen::KeyPair::generate().expect("a P-256 key pair generates");
        TokenService::new(&ServiceConfig {
            listen: String::new(),
            signing_key: base64::engine::general_purpose::STANDARD.encode(pair.serialize_der()),
            user: "drill".into(),
            password_hash: bcrypt::hash(password, 4).expect("bcrypt hashes"),
            tls: None,
        })
        .expect("a generated key loads")
    }

    /// Decides a request packed as the fuzzer and its corpus pack one: a method byte
    /// (GET, POST or PUT by its value modulo 3), then path, query, authorization and
    /// form separated by NUL bytes. `None` for empty input.
    pub fn answer_packed(&self, data: &[u8]) -> Option<Reply> {
        let (&method, rest) = data.split_first()?;
        let mut parts = rest.splitn(4, |b| *b == 0);
        let path = String::from_utf8_lossy(parts.next().unwrap_or_default());
        let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
        let authorization = parts.next().map(String::from_utf8_lossy);
        let form = parts.next().unwrap_or_default();
        let request = Request {
            method: ["GET", "POST", "PUT"][usize::from(method % 3)],
            path: &path,
            query: &query,
            authorization: authorization.as_deref(),
            form,
        };
        Some(self.answer(&request, 1_800_000_000))
    }

    /// Decides a request at `now` (Unix seconds). Only the run's user with its password
    /// gets a token; it is granted every action it asks for on repositories and the
    /// catalog. Nobody else gets one, not even an empty one: an anonymous token would let
    /// `GET /v2/` through, and the registries are meant to be closed.
    pub fn answer(&self, req: &Request, now: u64) -> Reply {
        if req.path != TOKEN_PATH {
            return error(404, "not_found", "the token endpoint is /token");
        }
        let (params, credentials) = match req.method {
            "GET" => {
                let params = pairs(req.query.as_bytes());
                (params, req.authorization.and_then(basic_credentials))
            }
            "POST" => {
                let params = pairs(req.form);
                let grant = param(&params, "grant_type").unwrap_or_default();
                if grant != "password" {
                    // containerd falls back to GET on a 400.
                    return error(
                        400,
                        "unsupported_grant_type",
                        "only the password grant is supported",
                    );
                }
                let creds = param(&params, "username").zip(param(&params, "password"));
                (params, creds)
            }
            _ => return error(405, "method_not_allowed", "use GET or POST"),
        };
        if let Some(service) = param(&params, "service") {
            if service != token::SERVICE {
                return error(
                    400,
                    "invalid_request",
                    &format!("this service issues tokens for '{}'", token::SERVICE),
                );
            }
        }
        let Some((user, password)) = credentials else {
            return error(401, "unauthorized", "credentials are required");
        };
        let valid =
            user == self.user && bcrypt::verify(&password, &self.password_hash).unwrap_or(false);
        if !valid {
            return error(401, "unauthorized", "invalid credentials");
        }
        let access: Vec<Access> = params
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| {
                v.split(' ')
                    .filter_map(token::parse_scope)
                    .collect::<Vec<_>>()
            })
            .filter(|a| a.kind == "repository" || (a.kind == "registry" && a.name == "catalog"))
            .collect();
        let claims = Claims::new(&user, access, now);
        match self.key.sign(&claims) {
            Ok(t) => Reply {
                status: 200,
                body: serde_json::json!({
                    "token": t,
                    "access_token": t,
                    "expires_in": token::LIFETIME_S,
                    "issued_at": humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH + std::time::Duration::from_secs(now)
                    ).to_string(),
                }),
            },
            Err(e) => error(500, "server_error", &e.to_string()),
        }
    }
}

fn error(status: u16, code: &str, description: &str) -> Reply {
    Reply {
        status,
        body: serde_json::json!({"error": code, "error_description": description}),
    }
}

fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded).into_owned().collect()
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// `Basic base64(user:password)` → (user, password).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// `drill token-service CONFIG`: serves tokens until SIGTERM or SIGINT.
pub async fn serve(config_path: &std::path::Path) -> Result<u8, DrillError> {
    let text = std::fs::read_to_string(config_path)
        .setup_context(|| format!("cannot read {}", config_path.display()))?;
    let config: ServiceConfig = serde_json::from_str(&text)
        .map_err(|e| DrillError::setup_from(config_path.display(), e))?;
    let service = Arc::new(TokenService::new(&config).map_err(DrillError::setup_of)?);
    let tls = config.tls.as_deref().map(acceptor).transpose()?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .setup_context(|| format!("cannot listen on {}", config.listen))?;
    eprintln!(
        "drill token service: {} on {} (key ID {})",
        if tls.is_some() { "https" } else { "http" },
        config.listen,
        service.key.key_id
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .setup_context(|| "cannot handle SIGTERM".to_string())?;
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    // Out of descriptors, say: give connections time to close.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            // PID 1 in its container: without a handler SIGTERM would be ignored and
            // every `stop` would wait for the engine's kill.
            _ = term.recv() => return Ok(0),
            _ = tokio::signal::ctrl_c() => return Ok(0),
        };
        let (service, tls) = (service.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                Some(tls) => {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        connection(stream, service).await;
                    }
                }
                None => connection(stream, service).await,
            }
        });
    }
}

fn acceptor(pem: &str) -> Result<tokio_rustls::TlsAcceptor, DrillError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    fn bad(e: impl std::error::Error + Send + Sync + 'static) -> DrillError {
        DrillError::setup_from("the token service's TLS certificate or key", e)
    }
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(bad)?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(bad)?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(bad)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn connection<S>(stream: S, service: Arc<TokenService>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let handler = hyper::service::service_fn(move |req| {
        let service = service.clone();
        async move { Ok::<_, Infallible>(respond(service, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), handler)
        .await;
}

async fn respond(
    service: Arc<TokenService>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let form = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => bytes::Bytes::new(),
    };
    // bcrypt is deliberately slow: off the threads that serve connections.
    let reply = tokio::task::spawn_blocking(move || {
        let authorization = parts
            .headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        service.answer(
            &Request {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or_default(),
                authorization,
                form: &form,
            },
            token::unix_now(),
        )
    })
    .await
    .unwrap_or_else(|_| error(500, "server_error", "the request's handler failed"));
    let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(
        reply.body.to_string(),
    )));
    *resp.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if reply.status == 401 {
        headers.insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Basic realm=\"drill-token-service\""),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::token::{claims_of, SERVICE};

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_configuration_that_does_not_load_says_which_part() {
        let config = |signing_key: &str| ServiceConfig {
            listen: String::new(),
            signing_key: signing_key.into(),
            user: "drill".into(),
            password_hash: String::new(),
            tls: None,
        };
        let not_base64 = TokenService::new(&config("!")).err().unwrap();
        assert!(matches!(not_base64, ConfigError::NotBase64(_)));
        assert_eq!(
            not_base64.to_string(),
            "signing_key is not base64: Invalid symbol 33, offset 0."
        );
        let not_a_key = TokenService::new(&config("AAAA")).err().unwrap();
        assert!(matches!(not_a_key, ConfigError::Key(SigningError::Key(_))));
        assert_eq!(
            not_a_key.to_string(),
            "the signing key is not a PKCS#8 P-256 key: InvalidEncoding"
        );
    }

    fn service() -> (TokenService, String) {
        let password = "correct horse".to_string();
        (TokenService::throwaway(&password), password)
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn the_run_user_gets_a_token_for_the_scopes_it_asks() {
        let (s, password) = service();
        let auth = basic("drill", &password);
        let query = format!(
            "service={SERVICE}&scope=repository%3Ateam%2Fapp%3Apull&scope=repository%3Ateam%2Fdb%3Apull%2Cpush"
        );
        let reply = s.answer(
            &Request {
                method: "GET",
                path: TOKEN_PATH,
                query: &query,
                authorization: Some(&auth),
                ..Default::default()
            },
            NOW,
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let token = reply.body["token"].as_str().unwrap();
        assert_eq!(reply.body["access_token"], token);
        assert_eq!(reply.body["expires_in"], token::LIFETIME_S);
        assert_eq!(reply.body["issued_at"], "2027-01-15T08:00:00Z");
        let claims = claims_of(token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.aud.as_str()),
            ("drill", SERVICE)
        );
        let granted: Vec<(String, Vec<String>)> = claims
            .access
            .iter()
            .map(|a| (a.name.clone(), a.actions.clone()))
            .collect();
        assert_eq!(
            granted,
            [
                ("team/app".to_string(), vec!["pull".to_string()]),
                (
                    "team/db".to_string(),
                    vec!["pull".to_string(), "push".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn the_password_grant_is_served_and_other_grants_are_refused_with_400() {
        let (s, password) = service();
        let form = format!(
            "grant_type=password&username=drill&password={}&service={SERVICE}&scope=repository%3Aa%3Apull&client_id=containerd-client",
            password.replace(' ', "+")
        );
        let post = |form: &str| {
            s.answer(
                &Request {
                    method: "POST",
                    path: TOKEN_PATH,
                    form: form.as_bytes(),
                    ..Default::default()
                },
                NOW,
            )
        };
        let ok = post(&form);
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(
            claims_of(ok.body["access_token"].as_str().unwrap())
                .unwrap()
                .access[0]
                .name,
            "a"
        );
        assert_eq!(post("grant_type=refresh_token&refresh_token=x").status, 400);
        assert_eq!(
            post(&form.replace("username=drill", "username=eve")).status,
            401
        );
    }

    #[test]
    fn no_token_without_the_right_credentials_or_for_another_service() {
        let (s, password) = service();
        let get = |auth: Option<&str>, query: &str| {
            s.answer(
                &Request {
                    method: "GET",
                    path: TOKEN_PATH,
                    query,
                    authorization: auth,
                    ..Default::default()
                },
                NOW,
            )
            .status
        };
        let scope = "scope=repository%3Aa%3Apull";
        assert_eq!(get(None, scope), 401, "anonymous");
        assert_eq!(get(Some(&basic("drill", "wrong")), scope), 401);
        assert_eq!(get(Some(&basic("eve", &password)), scope), 401);
        assert_eq!(get(Some("Bearer abc"), scope), 401);
        assert_eq!(get(Some("Basic !!!"), scope), 401);
        assert_eq!(get(Some(&basic("drill", &password)), "service=other"), 400);
        assert_eq!(
            get(Some(&basic("drill", &password)), ""),
            200,
            "no scope: empty access"
        );
        let elsewhere = s.answer(
            &Request {
                method: "GET",
                path: "/v2/",
                ..Default::default()
            },
            NOW,
        );
        assert_eq!(elsewhere.status, 404);
    }

    /// Every input the fuzzer kept (`tests/fuzz-corpus/token`, see "Fuzzing" in
    /// docs/performance.md) is decided without a panic, and so is every prefix of each.
    #[test]
    fn token_fuzz_corpus_is_decided_cleanly() {
        // The corpus's credentials are the fuzzer's: its valid requests get tokens.
        let s = TokenService::throwaway("fuzz");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/token");
        let (mut files, mut issued) = (0, 0);
        for entry in std::fs::read_dir(&dir).expect("the token corpus is kept") {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            for end in 0..=data.len().min(64) {
                let _ = s.answer_packed(&data[..end]);
            }
            if let Some(reply) = s.answer_packed(&data) {
                let shown = path.display();
                assert!((200..600).contains(&reply.status), "{shown}: {reply:?}");
                issued += usize::from(reply.status == 200);
            }
            let text = String::from_utf8_lossy(&data);
            let _ = (token::parse_challenge(&text), token::parse_scope(&text));
            files += 1;
        }
        assert!(files >= 3, "{} holds the token corpus", dir.display());
        assert!(
            issued >= 2,
            "the corpus's valid GET and password grant get tokens"
        );
    }

    #[tokio::test]
    async fn the_server_answers_over_http() {
        let (s, password) = service();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = Arc::new(s);
        let server = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(connection(stream, s.clone()));
            }
        });
        let http = crate::oci::client(
            std::time::Duration::from_secs(2),
            std::time::Duration::from_secs(5),
            &crate::oci::Access::default(),
        );
        let url = format!("http://{addr}/token?service={SERVICE}&scope=repository:a:pull");
        let anonymous = http.get(url.clone()).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        assert!(anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        let ok = http
            .get(url)
            .basic_auth("drill", Some(&password))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(&ok.bytes().await.unwrap()).unwrap();
        assert!(claims_of(body["token"].as_str().unwrap()).is_some());
        server.abort();
    }
}
