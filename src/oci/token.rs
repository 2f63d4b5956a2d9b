//! Bearer tokens as distribution's `auth: token` checks them: JSON Web Tokens signed
//! with ES256 by the run's token service, naming the signing key by its libtrust key ID,
//! which the registry derives from the certificate in its `rootcertbundle`. Also the
//! two ends of the exchange that are pure text: the scopes a client asks for and the
//! `WWW-Authenticate: Bearer` challenge that tells it where to ask.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};

/// Who issues the run's tokens (`iss`), and the service they are for (`aud`): the
/// registries accept exactly these.
pub const ISSUER: &str = "drill-token-service";
pub const SERVICE: &str = "drill-registry";

/// How long a token is valid. Docker Hub's tokens last 300 s too; a host cold-starting
/// later needs a fresh one, which is what a token-service outage is felt through.
pub const LIFETIME_S: u64 = 300;

/// Seconds since the Unix epoch: what token claims count in.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The DER prefix of a P-256 `SubjectPublicKeyInfo`: what precedes the 65-byte point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The libtrust key ID of a public key given as DER `SubjectPublicKeyInfo`: SHA-256,
/// truncated to 240 bits, base32 without padding, in 12 groups of 4 joined by `:`.
/// distribution looks the `kid` of a token up among the keys of its trusted
/// certificates by this ID.
pub fn libtrust_key_id(spki_der: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(spki_der);
    let encoded = base32(&digest[..30]);
    encoded
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
        .collect::<Vec<_>>()
        .join(":")
}

/// RFC 4648 base32, upper case, without padding (30 bytes make exactly 48 characters).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Why a token could not be made. ring's errors say only what they are (it is built
/// without `std`, so they are no `std::error::Error` to keep as a source).
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The key given is not a PKCS#8 P-256 key.
    #[error("the signing key is not a PKCS#8 P-256 key: {0}")]
    Key(ring::error::KeyRejected),
    /// ring could not sign.
    #[error("cannot sign the token")]
    Sign,
    /// No key could be generated (for a forged token).
    #[error("{0}")]
    Generate(#[source] rcgen::Error),
}

/// A token signing key: ECDSA P-256, and its key ID.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pub key_id: String,
}

impl SigningKey {
    /// From a PKCS#8 document (DER), as rcgen serializes a P-256 key pair.
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, SigningError> {
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(SigningError::Key)?;
        let spki = [&P256_SPKI_PREFIX[..], pair.public_key().as_ref()].concat();
        Ok(SigningKey {
            key_id: libtrust_key_id(&spki),
            pair,
        })
    }

    /// A signed token: `header.claims.signature`, each base64url without padding, the
    /// signature the fixed 64-byte `r || s` that JWS ES256 wants.
    pub fn sign(&self, claims: &Claims) -> Result<String, SigningError> {
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": self.key_id});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"))
        );
        let rng = ring::rand::SystemRandom::new();
        let signature = self
            .pair
            .sign(&rng, signing_input.as_bytes())
            .map_err(|_| SigningError::Sign)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// The claims distribution reads from a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    pub access: Vec<Access>,
}

/// What a token allows on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Claims {
    /// A token for `subject` granting `access`, valid from `now` (Unix seconds) for
    /// [`LIFETIME_S`].
    pub fn new(subject: &str, access: Vec<Access>, now: u64) -> Claims {
        use rand::distr::{Alphanumeric, SampleString};
        Claims {
            iss: ISSUER.into(),
            sub: subject.into(),
            aud: SERVICE.into(),
            exp: now + LIFETIME_S,
            nbf: now,
            iat: now,
            jti: Alphanumeric.sample_string(&mut rand::rng(), 16),
            access,
        }
    }
}

/// A token an intruder makes: claims any registry of the run would accept (issuer,
/// audience, pull on `repository`, valid from `now` for `valid_s`), signed with a key
/// generated here and trusted by nobody. A registry that serves it does not check
/// signatures.
pub fn forge(repository: &str, now: u64, valid_s: u64) -> Result<String, SigningError> {
    let pair = rcgen::KeyPair::generate().map_err(SigningError::Generate)?;
    let key = SigningKey::from_pkcs8(&pair.serialize_der())?;
    let access = vec![Access {
        kind: "repository".into(),
        name: repository.into(),
        actions: vec!["pull".into()],
    }];
    let mut claims = Claims::new("drill", access, now);
    claims.exp = now + valid_s;
    key.sign(&claims)
}

/// Parses one `scope` parameter, `type:name:action,action` (the name may hold a port,
/// `repository:host:5000/app:pull`, so the type is the first field and the actions the
/// last); `None` when it is malformed.
pub fn parse_scope(scope: &str) -> Option<Access> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    // `repository(plugin)`: a class the registry ignores for access.
    let kind = kind.split_once('(').map_or(kind, |(k, _)| k);
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(Access {
        kind: kind.into(),
        name: name.into(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// A `WWW-Authenticate: Bearer` challenge: where to ask for a token, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// Reads a bearer challenge (`Bearer realm="…",service="…",scope="…"`); `None` for any
/// other scheme. Values are quoted strings; a scope's commas sit inside the quotes.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let rest = header.trim_start();
    let (scheme, params) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut c = Challenge {
        realm: String::new(),
        service: None,
        scope: None,
    };
    let mut rest = params.trim_start();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim();
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        match key.to_ascii_lowercase().as_str() {
            "realm" => c.realm = value.to_string(),
            "service" => c.service = Some(value.to_string()),
            "scope" => c.scope = Some(value.to_string()),
            _ => {}
        }
        rest = after.trim_start().trim_start_matches(',');
    }
    (!c.realm.is_empty()).then_some(c)
}

/// The claims of a token, unverified.
#[cfg(test)]
pub(crate) fn claims_of(token: &str) -> Option<Claims> {
    let part = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The header of a token, unverified.
#[cfg(test)]
fn header_of(token: &str) -> Option<serde_json::Value> {
    let part = token.split('.').next()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_key() -> (rcgen::KeyPair, SigningKey) {
        let pair = rcgen::KeyPair::generate().unwrap();
        let key = SigningKey::from_pkcs8(&pair.serialize_der()).unwrap();
        (pair, key)
    }

    #[test]
    fn base32_matches_rfc4648() {
        // RFC 4648 section 10 test vectors, padding dropped.
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn key_id_is_twelve_groups_of_four_from_the_public_key() {
        let (pair, key) = new_key();
        // The same ID whether derived from ring's point or rcgen's SPKI DER: the
        // registry derives it from the certificate, drill from the private key.
        assert_eq!(
            key.key_id,
            libtrust_key_id(&rcgen::PublicKeyData::subject_public_key_info(&pair))
        );
        let groups: Vec<&str> = key.key_id.split(':').collect();
        assert_eq!(groups.len(), 12, "{}", key.key_id);
        assert!(groups.iter().all(|g| g.len() == 4
            && g.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))));
        let (_, other) = new_key();
        assert_ne!(key.key_id, other.key_id);
    }

    #[test]
    fn a_signed_token_verifies_with_the_public_key_and_carries_its_claims() {
        let (pair, key) = new_key();
        let access = vec![parse_scope("repository:team/app:pull").unwrap()];
        let claims = Claims::new("drill", access.clone(), 1_000);
        let token = key.sign(&claims).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = header_of(&token).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], key.key_id.as_str());
        let got = claims_of(&token).unwrap();
        assert_eq!(got, claims);
        assert_eq!((got.exp - got.iat, got.aud.as_str()), (LIFETIME_S, SERVICE));
        // What the registry does: verify r || s over `header.claims` with the key.
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            pair.public_key_raw(),
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(signature.len(), 64);
        let input = format!("{}.{}", parts[0], parts[1]);
        public.verify(input.as_bytes(), &signature).unwrap();
        assert!(public.verify(b"tampered", &signature).is_err());
    }

    #[test]
    fn scopes_split_at_the_first_and_last_colon() {
        let a = parse_scope("repository:127.0.0.1:5000/app:pull,push").unwrap();
        assert_eq!(
            (a.kind.as_str(), a.name.as_str()),
            ("repository", "127.0.0.1:5000/app")
        );
        assert_eq!(a.actions, ["pull", "push"]);
        let p = parse_scope("repository(plugin):vieux/sshfs:pull").unwrap();
        assert_eq!(
            (p.kind.as_str(), p.name.as_str()),
            ("repository", "vieux/sshfs")
        );
        assert_eq!(parse_scope("registry:catalog:*").unwrap().actions, ["*"]);
        for bad in [
            "",
            "repository",
            "repository:app",
            ":app:pull",
            "repository::pull",
        ] {
            assert_eq!(parse_scope(bad), None, "{bad}");
        }
    }

    #[test]
    fn bearer_challenges_are_read_with_quoted_commas() {
        let c = parse_challenge(
            "Bearer realm=\"https://eu-token:5000/token\",service=\"drill-registry\",\
             scope=\"repository:team/app:pull,push\"",
        )
        .unwrap();
        assert_eq!(c.realm, "https://eu-token:5000/token");
        assert_eq!(c.service.as_deref(), Some("drill-registry"));
        assert_eq!(c.scope.as_deref(), Some("repository:team/app:pull,push"));
        let bare = parse_challenge("bearer realm=\"http://t/token\"").unwrap();
        assert_eq!((bare.service, bare.scope), (None, None));
        assert_eq!(parse_challenge("Basic realm=\"drill\""), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Bearer realm=\"unterminated"), None);
    }
}
