//! Secure topologies: the run's certificate authority, the entry points' certificates and
//! the credentials the registries demand. Everything here is generated per run from the
//! operating system's randomness (never from the scenario's seed, which is printed),
//! kept in memory and written only into the run's own containers, so it goes with them.

use crate::model::error::DrillError;
use crate::plan::{ExternalPlan, Plan};
use crate::scenario::AuthKind;
use std::collections::HashMap;
use std::fmt;

/// Where a registry node reads its htpasswd file.
pub const HTPASSWD_PATH: &str = "/etc/docker/registry/htpasswd";
/// Where a registry node of an `auth: token` region reads the certificate of the
/// token signing key (`rootcertbundle`).
pub const TOKEN_BUNDLE_PATH: &str = "/etc/docker/registry/token.crt";
/// The realm registries name in their `WWW-Authenticate` challenge.
pub const REALM: &str = "drill";
use crate::model::credentials::Credentials;

/// What a secure run gives its containers and its hosts.
#[derive(Clone, Default)]
pub struct Material {
    /// The run's CA certificate (PEM), when entry points speak TLS.
    pub ca_pem: Option<String>,
    /// Per entry point container (load balancer, token service): its certificate,
    /// then its key (PEM).
    pub server_pem: HashMap<String, String>,
    /// The credentials hosts pull with, when any region demands them.
    pub credentials: Option<Credentials>,
    /// The htpasswd file the registry nodes read.
    pub htpasswd: Option<String>,
    /// With `auth: token`: the key the token services sign with.
    pub token: Option<TokenKey>,
}

/// The token services' signing key, and the certificate of it that the registries
/// trust (their `rootcertbundle`).
#[derive(Clone)]
pub struct TokenKey {
    /// PKCS#8 DER.
    pub pkcs8: Vec<u8>,
    pub certificate_pem: String,
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material")
            .field("tls", &self.ca_pem.is_some())
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// The shortest password an external topology may give drill.
const MIN_PASSWORD: usize = 8;

impl Material {
    /// Generates what `plan` needs: nothing for an open, plain-HTTP topology.
    pub fn generate(plan: &Plan) -> Result<Material, DrillError> {
        if let Some(e) = &plan.external {
            return Material::given(e);
        }
        let mut m = Material::default();
        if plan.tls {
            let (ca_pem, server_pem) = certificates(plan)
                .map_err(|e| DrillError::setup_from("cannot generate certificates", e))?;
            m.ca_pem = Some(ca_pem);
            m.server_pem = server_pem;
        }
        if plan.regions.iter().any(|r| r.auth != AuthKind::None) {
            let c = Credentials::generate("drill");
            m.htpasswd = Some(c.htpasswd_line()?);
            m.credentials = Some(c);
        }
        if plan.regions.iter().any(|r| r.auth == AuthKind::Token) {
            m.token =
                Some(token_key(plan).map_err(|e| {
                    DrillError::setup_from("cannot generate the token signing key", e)
                })?);
        }
        Ok(m)
    }

    /// An external topology's: the CA its file holds, the credentials its variables
    /// hold. A variable that is not set is a usage error naming it.
    fn given(e: &ExternalPlan) -> Result<Material, DrillError> {
        let mut m = Material::default();
        if let Some(path) = &e.ca {
            let pem = std::fs::read_to_string(path).map_err(|err| {
                DrillError::setup(format!(
                    "cannot read the CA file {} (topology.external.ca): {err}",
                    path.display()
                ))
            })?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(DrillError::setup(format!(
                    "{} (topology.external.ca) holds no PEM certificate",
                    path.display()
                )));
            }
            m.ca_pem = Some(pem);
        }
        if let Some((user, password)) = &e.credentials_env {
            let read = |name: &str, what: &str| {
                match std::env::var(name) {
                Ok(v) if v.is_empty() => Err(DrillError::Usage(format!(
                    "the environment variable {name}, which topology.external names for the {what}, is empty"
                ))),
                Ok(v) => Ok(v),
                Err(_) => Err(DrillError::Usage(format!(
                    "the environment variable {name}, which topology.external names for the {what}, is not set: export it before the run"
                ))),
            }
            };
            let user = read(user, "user name")?;
            let password = read(password, "password")?;
            // Whatever matches it is redacted from the journal: a short one would
            // match its JSON.
            if password.len() < MIN_PASSWORD {
                return Err(DrillError::Usage(format!(
                    "the password in {} is shorter than {MIN_PASSWORD} characters: drill redacts it from everything it writes, which a shorter one would garble",
                    e.credentials_env.as_ref().map_or("", |(_, p)| p.as_str())
                )));
            }
            m.credentials = Some(Credentials::new(user, password));
        }
        Ok(m)
    }

    /// The bcrypt hash of the run's password, as the htpasswd line holds it.
    pub fn password_hash(&self) -> Option<&str> {
        self.htpasswd
            .as_deref()
            .and_then(|l| l.trim_end().split_once(':'))
            .map(|(_, hash)| hash)
    }

    /// The strings that must never be written anywhere.
    pub fn secrets(&self) -> Vec<String> {
        let plain = self.credentials.iter().flat_map(|c| c.secrets());
        // The journal holds JSON: a secret with a quote or a backslash appears escaped.
        plain
            .flat_map(|s| {
                let escaped = serde_json::to_string(&s).expect("a string serializes");
                let escaped = escaped[1..escaped.len() - 1].to_string();
                [s, escaped]
            })
            .collect()
    }
}

/// A P-256 key for the token services to sign with, and a self-signed certificate of
/// it: distribution trusts a token whose `kid` is the key ID of a certificate's key.
fn token_key(plan: &Plan) -> Result<TokenKey, rcgen::Error> {
    use rcgen::{CertificateParams, DnType, KeyPair};
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(
        DnType::CommonName,
        format!("drill run {} token signing", plan.run_id),
    );
    let cert = params.self_signed(&key)?;
    Ok(TokenKey {
        pkcs8: key.serialize_der(),
        certificate_pem: cert.pem(),
    })
}

/// A CA for the run and, signed by it, one certificate per entry point (load balancer
/// or token service) valid for its container name (what containerd hosts dial),
/// `localhost` and 127.0.0.1 (what drill's own clients dial through the published port).
fn certificates(plan: &Plan) -> Result<(String, HashMap<String, String>), rcgen::Error> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("drill run {} CA", plan.run_id));
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut server_pem = HashMap::new();
    let servers = plan
        .regions
        .iter()
        .map(|r| &r.load_balancer)
        .chain(plan.token_services().into_iter().map(|t| &t.container));
    for server in servers {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![
            server.clone(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])?;
        params
            .distinguished_name
            .push(DnType::CommonName, server.clone());
        let cert = params.signed_by(&key, &issuer)?;
        server_pem.insert(
            server.clone(),
            format!("{}{}", cert.pem(), key.serialize_pem()),
        );
    }
    Ok((ca_cert.pem(), server_pem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::redact;
    use crate::model::credentials::REDACTED;

    #[test]
    fn credentials_never_show_their_password() {
        let c = Credentials::generate("drill");
        assert_eq!(c.password().len(), 32);
        let shown = format!("{c:?} {:?}", Material::default());
        assert!(!shown.contains(c.password()), "{shown}");
        assert_ne!(c.wrong().password(), c.password());
    }

    #[test]
    fn htpasswd_line_verifies_with_bcrypt() {
        let c = Credentials::generate("drill");
        let line = c.htpasswd_line().unwrap();
        let (user, hash) = line.trim_end().split_once(':').unwrap();
        assert_eq!(user, "drill");
        assert!(hash.starts_with("$2y$05$"), "{hash}");
        assert!(bcrypt::verify(c.password(), hash).unwrap());
        assert!(!bcrypt::verify(c.wrong().password(), hash).unwrap());
    }

    #[test]
    fn redact_removes_the_password_and_its_basic_token() {
        let c = Credentials::generate("drill");
        let text = format!("a {} b {}", c.password(), c.basic_header());
        let clean = redact(
            &text,
            &Material {
                credentials: Some(c.clone()),
                ..Default::default()
            }
            .secrets(),
        );
        assert_eq!(clean, format!("a {REDACTED} b Basic {REDACTED}"));
    }
}
