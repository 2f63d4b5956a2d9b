//! Why a request, a pull, a push or a probe failed. Callers decide by the variant (a
//! mirror move's reason, whether a status was an HTTP error); the words are what the
//! journal records and the user reads.

use crate::journal::{MoveReason, PhaseKind};
use reqwest::StatusCode;

/// Why a URL does not parse, as reqwest's `Url` names it.
pub type UrlError = <reqwest::Url as std::str::FromStr>::Err;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The run's CA certificate does not parse.
    #[error("the run's CA certificate does not parse: {0}")]
    Ca(#[source] reqwest::Error),
    /// A request got no answer, or its answer was cut off: in short words, without
    /// reqwest's nested detail.
    #[error("{}", describe(.0))]
    Request(#[source] reqwest::Error),
    /// The realm a registry named for its tokens is not a URL.
    #[error("realm {realm}: {source}")]
    Realm {
        realm: String,
        #[source]
        source: UrlError,
    },
    /// A request answered with a bearer challenge, and the token service gave no token.
    #[error("no token from the token service: {0}")]
    NoToken(#[source] Box<OciError>),
    /// A token service said yes without a token.
    #[error("its answer holds no token")]
    TokenMissing,
    /// An auth probe's trip to the token service failed.
    #[error("token service: {0}")]
    TokenService(#[source] Box<OciError>),
    /// A token service answered an intruder with a success but no token.
    #[error("HTTP {} without a token", .0.as_u16())]
    TokenlessAnswer(StatusCode),
    /// A request answered with an error status; `code` is the registry's first error
    /// code in the body, when read.
    #[error("HTTP {}{}", status.as_u16(), code_words(code))]
    Status {
        url: String,
        status: StatusCode,
        code: Option<String>,
    },
    /// A step of a push or a copy answered with another status than the one it wants.
    #[error("{what}: HTTP {status}{}", code_words(code))]
    Refused {
        what: String,
        status: StatusCode,
        code: Option<String>,
    },
    /// The bytes served do not hash to the digest asked for (or the one the registry
    /// named).
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    /// A blob of an image copied hashes to another digest than its manifest names.
    #[error("blob {digest} of {reference} hashes to {actual}")]
    BlobMismatch {
        digest: String,
        reference: String,
        actual: String,
    },
    /// A manifest (`what` names it) that is not JSON.
    #[error("{what} is not JSON: {source}")]
    NotJson {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// An index without a manifest to pull.
    #[error("index of {0} has no linux/amd64 manifest")]
    NoPlatform(String),
    /// A manifest without a config.
    #[error("manifest of {0} has no config")]
    NoConfig(String),
    /// A registry accepted an upload without saying where to send it.
    #[error("the registry gave no upload location")]
    NoLocation,
    /// One request of a pull failed on every mirror.
    #[error(transparent)]
    Mirrors(MirrorsFailed),
}

/// One request of a pull, failed on every mirror: each mirror's failure, in order.
#[derive(Debug)]
pub struct MirrorsFailed {
    pub kind: PhaseKind,
    pub path: String,
    /// (mirror, its failure)
    pub failures: Vec<(String, OciError)>,
}

impl std::fmt::Display for MirrorsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: ", self.kind.name(), self.path)?;
        for (i, (mirror, e)) in self.failures.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            write!(f, "{sep}{mirror}: {e}")?;
        }
        Ok(())
    }
}

/// The last mirror's failure: the one the pull ended on.
impl std::error::Error for MirrorsFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures
            .last()
            .map(|(_, e)| e as &(dyn std::error::Error + 'static))
    }
}

impl OciError {
    /// Why a request moved on from a mirror, as the journal types it.
    pub fn move_reason(&self) -> MoveReason {
        match self {
            OciError::Request(e) => request_reason(e),
            OciError::NoToken(_) => MoveReason::NoToken,
            OciError::Status { status, .. } => MoveReason::Status(status.as_u16()),
            OciError::DigestMismatch { .. } => MoveReason::DigestMismatch,
            other => MoveReason::Other(other.to_string()),
        }
    }
}

/// ` CODE`, or nothing.
fn code_words(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
}

/// Why a request got no answer, as the journal types it.
fn request_reason(e: &reqwest::Error) -> MoveReason {
    if e.is_timeout() {
        MoveReason::Timeout
    } else if e.is_connect() {
        match io_error(e).map(std::io::Error::kind) {
            Some(std::io::ErrorKind::ConnectionRefused) => MoveReason::Refused,
            _ => MoveReason::Unreachable,
        }
    } else if e.is_body() || e.is_decode() {
        MoveReason::BodyLost
    } else if closed_before_answer(e) {
        MoveReason::Reset
    } else {
        MoveReason::Other(root_cause(e))
    }
}

/// A short reason for a failed request, without reqwest's nested detail.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        match io_error(e) {
            Some(io) => format!(
                "cannot connect: {}",
                io.kind().to_string().replace('_', " ")
            ),
            None => "cannot connect".into(),
        }
    } else if e.is_body() || e.is_decode() {
        "connection lost while reading the body".into()
    } else {
        root_cause(e)
    }
}

/// Whether a request failed because the server closed or reset its connection before
/// any answer, the way a reused idle connection fails when the server has just let it go.
pub(super) fn closed_before_answer(e: &reqwest::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
    if e.is_timeout() || e.is_connect() {
        return false;
    }
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
            || s.downcast_ref::<std::io::Error>()
                .is_some_and(|io| matches!(io.kind(), ConnectionReset | BrokenPipe))
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// The innermost error of a chain: reqwest's own message repeats the URL; the root
/// cause says what happened.
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause = e.to_string();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}

/// The I/O error under a request's failure, if there is one.
fn io_error(e: &reqwest::Error) -> Option<&std::io::Error> {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn each_failure_reads_as_the_journal_has_always_recorded_it() {
        let cases: Vec<(OciError, &str)> = vec![
            (
                OciError::Status {
                    url: "http://127.0.0.1:1/v2/".into(),
                    status: status(503),
                    code: Some("UNAVAILABLE".into()),
                },
                "HTTP 503 UNAVAILABLE",
            ),
            (
                OciError::Status {
                    url: "http://127.0.0.1:1/v2/".into(),
                    status: status(401),
                    code: None,
                },
                "HTTP 401",
            ),
            (
                OciError::Refused {
                    what: "manifest of team/app:1 refused".into(),
                    status: status(400),
                    code: Some("MANIFEST_INVALID".into()),
                },
                "manifest of team/app:1 refused: HTTP 400 Bad Request MANIFEST_INVALID",
            ),
            (
                OciError::DigestMismatch {
                    expected: "sha256:aa".into(),
                    actual: "sha256:bb".into(),
                },
                "digest mismatch: expected sha256:aa, got sha256:bb",
            ),
            (
                OciError::BlobMismatch {
                    digest: "sha256:aa".into(),
                    reference: "team/app:1".into(),
                    actual: "sha256:bb".into(),
                },
                "blob sha256:aa of team/app:1 hashes to sha256:bb",
            ),
            (
                OciError::NoToken(Box::new(OciError::Status {
                    url: "http://t/token".into(),
                    status: status(500),
                    code: None,
                })),
                "no token from the token service: HTTP 500",
            ),
            (
                OciError::NoToken(Box::new(OciError::TokenMissing)),
                "no token from the token service: its answer holds no token",
            ),
            (
                OciError::TokenService(Box::new(OciError::TokenlessAnswer(status(200)))),
                "token service: HTTP 200 without a token",
            ),
            (
                OciError::NoPlatform("team/app:1".into()),
                "index of team/app:1 has no linux/amd64 manifest",
            ),
            (
                OciError::NoConfig("team/app:1".into()),
                "manifest of team/app:1 has no config",
            ),
            (OciError::NoLocation, "the registry gave no upload location"),
        ];
        for (e, words) in cases {
            assert_eq!(e.to_string(), words);
        }
    }

    #[test]
    fn a_request_failed_on_every_mirror_lists_each_and_ends_on_the_last() {
        let e = OciError::Mirrors(MirrorsFailed {
            kind: PhaseKind::Layer,
            path: "/v2/team/app/blobs/sha256:aa".into(),
            failures: vec![
                ("eu".into(), OciError::NoConfig("x".into())),
                (
                    "us".into(),
                    OciError::Status {
                        url: "http://us/v2/team/app/blobs/sha256:aa".into(),
                        status: status(503),
                        code: None,
                    },
                ),
            ],
        });
        assert_eq!(
            e.to_string(),
            "layer /v2/team/app/blobs/sha256:aa: eu: manifest of x has no config; us: HTTP 503"
        );
        let last = e.source().unwrap().downcast_ref::<OciError>().unwrap();
        assert_eq!(last.move_reason(), MoveReason::Status(503));
    }

    #[test]
    fn a_realm_that_is_no_url_keeps_the_parse_error() {
        let source = "not a url".parse::<reqwest::Url>().unwrap_err();
        let e = OciError::NoToken(Box::new(OciError::Realm {
            realm: "not a url".into(),
            source,
        }));
        assert_eq!(
            e.to_string(),
            "no token from the token service: realm not a url: relative URL without a base"
        );
        assert_eq!(e.move_reason(), MoveReason::NoToken);
    }
}
