//! A region's pull-through proxy of the upstream: distribution in proxy mode, nginx as a
//! caching reverse proxy (the pattern many teams put in front of a public registry), or
//! one a team brings, with the values its templates get.

use super::launch::Launch;
use crate::model::kinds::{ProxyCaching, ProxyKind};
use crate::plan::balancer::NGINX_MAIN;
use crate::plan::REGISTRY_PORT;
use crate::scenario::proxy::{ProxyVars, Resolved};
use std::path::Path;

/// What runs as a region's proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyImpl {
    Builtin(ProxyKind),
    Custom(Box<CustomProxy>),
}

/// A brought proxy: how to start it, what its templates are given, how it caches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomProxy {
    /// Its name under `proxies:` (`custom` for one written in place).
    pub name: String,
    pub launch: Launch,
    pub vars: ProxyVars,
    pub caching: ProxyCaching,
}

impl ProxyImpl {
    /// The proxy `resolved` names, in front of the upstream's `gate`; a brought one's
    /// files are found from `dir` (the scenario's folder).
    pub fn of(resolved: Resolved, gate: &str, dir: Option<&Path>, region: &str) -> ProxyImpl {
        let (name, spec) = match resolved {
            Resolved::Builtin(kind) => return ProxyImpl::Builtin(kind),
            Resolved::Unknown(_) => return ProxyImpl::Builtin(ProxyKind::Distribution),
            Resolved::Custom { name, spec } => (name, spec),
        };
        ProxyImpl::Custom(Box::new(CustomProxy {
            name: name.to_string(),
            launch: Launch::of(&spec.launch(), dir),
            vars: ProxyVars::new(region, spec, gate),
            caching: spec.caches,
        }))
    }

    /// Its name in the plan's words: `distribution`, `nginx`, or the brought one's.
    pub fn name(&self) -> &str {
        match self {
            ProxyImpl::Builtin(ProxyKind::Distribution) => "distribution",
            ProxyImpl::Builtin(ProxyKind::Nginx) => "nginx",
            ProxyImpl::Custom(c) => &c.name,
        }
    }
}

/// Where an nginx proxy keeps what it cached, inside its container: its volume. A cache
/// wipe empties the volume while the proxy is down.
pub const NGINX_CACHE_DIR: &str = "/var/cache/drill";

/// nginx in front of the upstream's gate: blobs, which are named by their digest, are
/// cached for 30 days; manifests for a minute, so a moved tag is seen; both are served
/// stale while the upstream fails or answers 429 or 5xx, and refreshed in the background
/// once expired, so a slow upstream does not hold a client that a stale copy could
/// answer. So is the `/v2/` version check clients send first (cached 10 s): without it,
/// a client that checks would fail while the upstream is down, cached images or not.
/// Tag lists pass uncached. A HEAD is answered from a cached GET. The cache key leaves
/// out the query (containerd adds `?ns=` when a proxy is not its first mirror). A
/// manifest is cached by the URL it was asked by: one pulled by tag is not served by
/// digest until a client asked for that digest — unlike distribution's proxy, which
/// stores manifests by digest. The gate's name is looked up per request through the
/// engine's DNS, so nginx starts, and follows the gate, whatever the gate's state.
pub fn nginx_config(gate: &str) -> String {
    let cache = NGINX_CACHE_DIR;
    let port = REGISTRY_PORT;
    let pass = "proxy_pass $gate;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;";
    let cached = "proxy_cache registry;
            proxy_cache_key $scheme$proxy_host$uri;
            proxy_ignore_headers Cache-Control Expires Set-Cookie X-Accel-Expires;
            proxy_cache_use_stale error timeout invalid_header updating http_429 http_500 http_502 http_503 http_504;
            proxy_cache_background_update on;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 30s;
            add_header X-Cache-Status $upstream_cache_status always;";
    // Root: the cache lives on a volume the engine creates owned by root.
    format!(
        "{NGINX_MAIN}user root root;
http {{
    access_log off;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path {cache}/tmp;
    proxy_cache_path {cache}/cache levels=1:2 keys_zone=registry:16m max_size=8g inactive=30d use_temp_path=off;
    resolver 127.0.0.11 valid=1s ipv6=off;
    server {{
        listen {port};
        client_max_body_size 0;
        set $gate http://{gate}:{port};
        location ~ ^/v2/.+/blobs/sha256:[0-9a-f]+$ {{
            {pass}
            {cached}
            proxy_cache_valid 200 30d;
        }}
        location ~ ^/v2/.+/manifests/ {{
            {pass}
            {cached}
            proxy_cache_valid 200 1m;
        }}
        location = /v2/ {{
            {pass}
            {cached}
            proxy_cache_valid 200 10s;
        }}
        location / {{
            {pass}
        }}
    }}
}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_caches_registry_responses_by_path_from_the_gate() {
        let c = nginx_config("drill-1-upstream-gate");
        assert!(
            c.contains("set $gate http://drill-1-upstream-gate:5000;"),
            "{c}"
        );
        // The query (containerd's `?ns=`) is not part of what is cached.
        assert_eq!(
            c.matches("proxy_cache_key $scheme$proxy_host$uri;").count(),
            3
        );
        assert!(c.contains(&format!("proxy_cache_path {NGINX_CACHE_DIR}/cache")));
    }
}
