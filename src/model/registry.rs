//! What drill knows of a registry implementation it did not write: where it keeps a
//! blob's bytes, and which of the things a scenario asks of it it can do.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a registry keeps a blob's bytes, relative to its storage path: what blob
/// faults need to find the blob they damage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLayout {
    /// distribution's `docker/registry/v2/blobs/sha256/<first two hex>/<hex>/data`.
    Distribution,
    /// A path with `{algorithm}`, `{hex}` and `{hex2}` (the first two hex digits) in it,
    /// e.g. `blobs/{hex}`.
    Pattern(String),
}

impl BlobLayout {
    /// The blob's path relative to the storage path, for a digest `algorithm:hex`.
    pub fn path_of(&self, digest: &str) -> String {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        let hex2 = hex.get(..2).unwrap_or_default();
        match self {
            BlobLayout::Distribution => {
                format!("docker/registry/v2/blobs/{algorithm}/{hex2}/{hex}/data")
            }
            BlobLayout::Pattern(p) => p
                .replace("{algorithm}", algorithm)
                .replace("{hex2}", hex2)
                .replace("{hex}", hex),
        }
    }
}

/// What a registry implementation can do, as its spec declares it. drill refuses a
/// scenario that asks for one its registry lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Accepts pushes: drill seeds every image by pushing it.
    Push,
    /// Serves clients that send no credentials (regions with `auth: none`).
    Anonymous,
    /// Checks the run's credentials: the htpasswd file drill writes, or the
    /// `username`/`password` template variables (regions with `auth: htpasswd`).
    Htpasswd,
    /// Trusts bearer tokens signed by the run's token service (regions with `auth: token`).
    Token,
}

impl Capability {
    pub fn name(self) -> &'static str {
        match self {
            Capability::Push => "push",
            Capability::Anonymous => "anonymous",
            Capability::Htpasswd => "htpasswd",
            Capability::Token => "token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_found_by_its_digest_in_either_layout() {
        let d = "sha256:abcdef";
        assert_eq!(
            BlobLayout::Distribution.path_of(d),
            "docker/registry/v2/blobs/sha256/ab/abcdef/data"
        );
        let flat = BlobLayout::Pattern("blobs/{hex2}/{algorithm}-{hex}".into());
        assert_eq!(flat.path_of(d), "blobs/ab/sha256-abcdef");
    }
}
