//! How a part a team brings is started, as the plan resolves it: its image or binary
//! found from the scenario's folder, its command, and its templates kept as written
//! (they are rendered at bring-up, once the run's secrets exist).

use crate::scenario::brought::{resolve, Launch as Written};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// An image already in the local engine, never pulled.
    Image(String),
    /// A host binary, packed into an image with its libraries.
    Binary(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Image(i) => write!(f, "image {i}"),
            Source::Binary(b) => write!(f, "binary {}", b.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub source: Source,
    /// Replaces an image's entrypoint when not empty.
    pub command: Vec<String>,
    /// Templates, rendered per container.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// What it listens on inside its container.
    pub port: u16,
    /// (template file on this machine, path inside the container).
    pub config: Option<(PathBuf, String)>,
}

impl Launch {
    /// The launch `written` says, its files found from `dir` (the scenario's folder).
    pub fn of(written: &Written, dir: Option<&Path>) -> Launch {
        let source = match (written.image, written.binary) {
            (Some(image), _) => Source::Image(image.clone()),
            (None, Some(binary)) => Source::Binary(resolve(dir, binary)),
            (None, None) => Source::Image(String::new()),
        };
        Launch {
            source,
            command: written.command.to_vec(),
            args: written.args.to_vec(),
            env: written
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            port: written.port,
            config: written
                .config
                .as_ref()
                .map(|c| (resolve(dir, &c.template), c.path.clone())),
        }
    }
}
