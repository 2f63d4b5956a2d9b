//! A user name and password as drill hands them to registries and clients, and the
//! text that stands in for a secret wherever drill writes one.

use super::error::DrillError;
use base64::Engine as _;
use rand::distr::{Alphanumeric, SampleString};
use std::fmt;

/// What replaces a secret wherever drill writes text.
pub const REDACTED: &str = "[redacted]";

/// bcrypt's cost is paid by the registry on every request it authenticates; `htpasswd
/// -B` uses 5 too. A higher cost would measure password hashing, not the registry.
const BCRYPT_COST: u32 = 5;

/// A user name and password. Neither `Debug` nor `Display` shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}:{REDACTED})", self.user)
    }
}

impl Credentials {
    /// Credentials a team gives drill (an external topology's).
    pub fn new(user: String, password: String) -> Credentials {
        Credentials { user, password }
    }

    pub fn generate(user: &str) -> Credentials {
        Credentials {
            user: user.to_string(),
            password: Alphanumeric.sample_string(&mut rand::rng(), 32),
        }
    }

    /// The same user with a password that is not theirs: what the auth probes try.
    pub fn wrong(&self) -> Credentials {
        Credentials::generate(&self.user)
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The value of an `Authorization: Basic` header.
    pub fn basic_header(&self) -> String {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        format!("Basic {token}")
    }

    /// One htpasswd line with a bcrypt hash in the `$2y$` form distribution reads.
    pub fn htpasswd_line(&self) -> Result<String, DrillError> {
        let hash = bcrypt::hash_with_result(&self.password, BCRYPT_COST)
            .map_err(|e| DrillError::setup_from("cannot hash the run's password", e))?
            .format_for_version(bcrypt::Version::TwoY);
        Ok(format!("{}:{hash}\n", self.user))
    }

    /// Every form in which the secret could end up in text: the password, and the
    /// base64 `user:password` of a basic header.
    pub fn secrets(&self) -> [String; 2] {
        let header = self.basic_header();
        let token = header.trim_start_matches("Basic ").to_string();
        [self.password.clone(), token]
    }
}
