//! What every stage agrees on about the wire between clients, registries and token
//! services.

/// The port every registry and load balancer drill configures listens on inside its
/// container, and the one a brought part that names none listens on.
pub const REGISTRY_PORT: u16 = 5000;

/// The path of the token endpoint (the realm is `<scheme>://<container>:5000/token`).
pub const TOKEN_PATH: &str = "/token";
