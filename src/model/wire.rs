//! What every stage agrees on about the wire between clients, registries and token
//! services.

/// The path of the token endpoint (the realm is `<scheme>://<container>:5000/token`).
pub const TOKEN_PATH: &str = "/token";
