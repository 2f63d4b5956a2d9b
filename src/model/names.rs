//! The names drill gives what a scenario implies: proxies, token services, hosts.
//! Validation keeps every such name unique, so a name built here means one thing.

/// `topology.token_service`'s default: a token service in every token region.
pub const PER_REGION: &str = "per-region";

/// The mirror name of the upstream, in host mirror lists and fault targets.
pub const UPSTREAM: &str = "upstream";

/// The mirror name of a region's proxy: `<region>-proxy`.
pub fn proxy_name(region: &str) -> String {
    format!("{region}-proxy")
}

/// A host's name: `<fleet>-<zone>-<n>`, n counted from 1 in each zone.
pub fn host_name(fleet: &str, zone: &str, n: u64) -> String {
    format!("{fleet}-{zone}-{n}")
}

/// The name of a region's token service (`auth: token`): `<region>-token`.
pub fn token_service_name(region: &str) -> String {
    format!("{region}-token")
}
