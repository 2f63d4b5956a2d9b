//! A region's pull-through proxy of the upstream: distribution in proxy mode, or nginx
//! as a caching reverse proxy, the pattern many teams put in front of a public registry.

use crate::scenario::ProxyKind;

/// Where a proxy keeps what it cached, inside its container: its volume. A cache wipe
/// empties the volume while the proxy is down.
pub fn cache_path(kind: ProxyKind) -> &'static str {
    match kind {
        ProxyKind::Distribution => "/var/lib/registry",
        ProxyKind::Nginx => NGINX_CACHE_DIR,
    }
}

const NGINX_CACHE_DIR: &str = "/var/cache/drill";

/// nginx in front of the upstream's gate (`gate:5000`): blobs, which are named by their
/// digest, are cached for 30 days; manifests for a minute, so a moved tag is seen; both
/// are served stale while the upstream fails or answers 429 or 5xx. So is the `/v2/`
/// version check clients send first (cached 10 s): without it, a client that checks
/// would fail while the upstream is down, cached images or not. Everything else (tag
/// lists) passes uncached. Requests are cached by method-less URL: a HEAD is
/// answered from a cached GET. A manifest is cached by the URL it was asked by: one
/// pulled by tag is not served by digest until a client asked for that digest — unlike
/// distribution's proxy, which stores manifests by digest.
pub fn nginx_config(gate: &str) -> String {
    let cache = NGINX_CACHE_DIR;
    let common = "proxy_pass http://upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_ignore_headers Cache-Control Expires Set-Cookie X-Accel-Expires;
            proxy_cache_use_stale error timeout invalid_header updating http_429 http_500 http_502 http_503 http_504;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 60s;
            add_header X-Cache-Status $upstream_cache_status always;";
    // Root: the cache lives on a volume the engine creates owned by root.
    format!(
        "daemon off;
user root root;
worker_processes 1;
pid /tmp/nginx.pid;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path {cache}/tmp;
    proxy_cache_path {cache}/cache levels=1:2 keys_zone=registry:16m max_size=8g inactive=30d use_temp_path=off;
    upstream upstream {{
        server {gate}:5000;
        keepalive 16;
    }}
    server {{
        listen 5000;
        client_max_body_size 0;
        location ~ ^/v2/.+/blobs/sha256:[0-9a-f]+$ {{
            {common}
            proxy_cache registry;
            proxy_cache_valid 200 30d;
        }}
        location ~ ^/v2/.+/manifests/ {{
            {common}
            proxy_cache registry;
            proxy_cache_valid 200 1m;
        }}
        location = /v2/ {{
            {common}
            proxy_cache registry;
            proxy_cache_valid 200 401 10s;
        }}
        location / {{
            proxy_pass http://upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"
    )
}
