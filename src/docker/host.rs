//! Which Docker engine drill may act on.
//!
//! drill kills containers, freezes them and cuts their networks. On the engine of the
//! machine it runs on that is the point; on an engine somewhere else (`DOCKER_HOST`
//! set to `tcp://`, `ssh://`, …) it is a production incident waiting for a typo. So
//! drill acts only on a local Unix socket unless `--allow-remote` is given.

use crate::model::error::DrillError;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once at start-up from `--allow-remote`; read when drill connects.
static ALLOW_REMOTE: AtomicBool = AtomicBool::new(false);

/// Lets [`Engine::connect`](crate::docker::engine::Engine::connect) act on a remote engine.
pub fn allow_remote() {
    ALLOW_REMOTE.store(true, Ordering::Relaxed);
}

/// Where `DOCKER_HOST` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineAddr {
    /// A Unix socket on this machine: the default socket when `DOCKER_HOST` is unset.
    Local(Option<String>),
    /// Anything else: TCP (even on localhost, where nothing proves it is this
    /// machine's engine), SSH, a named pipe, or a scheme drill does not know.
    Remote(String),
}

/// Classifies a `DOCKER_HOST` value; unset and empty mean the default socket, as for
/// the docker CLI.
pub fn classify(docker_host: Option<&str>) -> EngineAddr {
    match docker_host.map(str::trim) {
        None | Some("") => EngineAddr::Local(None),
        Some(h) if h.starts_with("unix://") => EngineAddr::Local(Some(h.to_string())),
        Some(h) => EngineAddr::Remote(h.to_string()),
    }
}

/// The engine drill may connect to, or why not (exit 64: the command line decides).
pub fn check(docker_host: Option<&str>, allow_remote: bool) -> Result<EngineAddr, DrillError> {
    match classify(docker_host) {
        EngineAddr::Remote(h) if !allow_remote => Err(DrillError::Usage(format!(
            "DOCKER_HOST is {h}, which is not a local Unix socket: drill kills containers and \
             cuts networks, so it acts only on this machine's engine. Unset DOCKER_HOST, or \
             pass --allow-remote if that engine is yours to break"
        ))),
        addr => Ok(addr),
    }
}

/// [`check`] for this process: its `DOCKER_HOST` and its `--allow-remote`.
pub fn current() -> Result<EngineAddr, DrillError> {
    let host = std::env::var("DOCKER_HOST").ok();
    check(host.as_deref(), ALLOW_REMOTE.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_empty_and_unix_sockets_are_local() {
        assert_eq!(classify(None), EngineAddr::Local(None));
        assert_eq!(classify(Some("")), EngineAddr::Local(None));
        assert_eq!(classify(Some("  ")), EngineAddr::Local(None));
        assert_eq!(
            classify(Some("unix:///run/user/1000/docker.sock")),
            EngineAddr::Local(Some("unix:///run/user/1000/docker.sock".into()))
        );
    }

    #[test]
    fn every_other_address_is_remote() {
        for h in [
            "tcp://10.0.0.5:2375",
            "tcp://127.0.0.1:2375",
            "http://localhost:2375",
            "https://docker.example:2376",
            "ssh://ci@build-7",
            "npipe:////./pipe/docker_engine",
            "/var/run/docker.sock",
        ] {
            assert_eq!(classify(Some(h)), EngineAddr::Remote(h.into()), "{h}");
        }
    }

    #[test]
    fn a_remote_engine_needs_allow_remote_and_the_refusal_says_why() {
        let e = check(Some("ssh://ci@build-7"), false).unwrap_err();
        assert_eq!(e.exit_code(), crate::model::error::exit::USAGE);
        let msg = e.to_string();
        assert!(msg.contains("ssh://ci@build-7"), "{msg}");
        assert!(msg.contains("--allow-remote"), "{msg}");
        assert_eq!(
            check(Some("ssh://ci@build-7"), true).unwrap(),
            EngineAddr::Remote("ssh://ci@build-7".into())
        );
        assert_eq!(check(None, false).unwrap(), EngineAddr::Local(None));
    }
}
