//! The load balancer in front of a region's nodes: one a team brings, configured by its
//! own templates, or haproxy, nginx or Caddy, each configured as its users would for a
//! registry, so that what differs between them in
//! a run is what differs between them in production: haproxy and Caddy check the nodes
//! actively, nginx's free build only notices a dead node when requests to it fail.
//!
//! All three share drill's choices where they have the setting: a 500 ms connect
//! timeout, another node tried when a connection fails, 60 s for a node's answer, a
//! 10 s keep-alive for clients ([`LB_KEEP_ALIVE`]), request and response bodies
//! streamed, not buffered. With TLS, TLS ends here and the nodes behind keep plain HTTP
//! on the run's private network, so health checks stay as they are.

use super::launch::Launch;
use super::NodePlan;
use crate::scenario::balancer::{Backend, BalancerVars, Resolved};
use crate::scenario::LoadBalancerKind;
use std::fmt::Write as _;
use std::path::Path;

/// How a load balancer tells a healthy node: a path, and the statuses it may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub path: String,
    pub status: Vec<u16>,
}

impl HealthCheck {
    /// distribution answers `/` with 200 once it serves.
    pub fn distribution() -> HealthCheck {
        HealthCheck {
            path: "/".into(),
            status: vec![200],
        }
    }

    /// haproxy's `http-check expect`: one status, or a pattern of several.
    fn haproxy_expect(&self) -> String {
        match self.status.as_slice() {
            [one] => format!("status {one}"),
            many => {
                let alternatives: Vec<String> = many.iter().map(u16::to_string).collect();
                format!("rstatus ^({})$", alternatives.join("|"))
            }
        }
    }
}

/// How long a load balancer keeps an idle client connection open. drill's clients let
/// go of theirs sooner ([`crate::oci::POOL_IDLE`]).
pub const LB_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(10);

/// A region's load balancer as the plan resolves it: a built-in with the configuration
/// drill wrote for it, or one a team brought, with the values its templates get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balancer {
    Builtin(Builtin),
    Custom(Box<CustomBalancer>),
}

/// A built-in load balancer and its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builtin {
    pub kind: LoadBalancerKind,
    pub config: String,
}

/// A brought load balancer: how to start it, and what its templates are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomBalancer {
    /// Its name under `load_balancers:` (`custom` for one written in place).
    pub name: String,
    pub launch: Launch,
    pub vars: BalancerVars,
}

impl Balancer {
    /// The load balancer `resolved` names in front of `nodes`; a brought one's files are
    /// found from `dir` (the scenario's folder).
    pub fn of(
        resolved: Resolved,
        nodes: &[NodePlan],
        tls: bool,
        health: &HealthCheck,
        dir: Option<&Path>,
        region: &str,
    ) -> Balancer {
        let (name, spec) = match resolved {
            Resolved::Builtin(kind) => {
                return Balancer::Builtin(Builtin::new(kind, nodes, tls, health))
            }
            Resolved::Unknown(_) => {
                return Balancer::Builtin(Builtin::new(
                    LoadBalancerKind::Haproxy,
                    nodes,
                    tls,
                    health,
                ))
            }
            Resolved::Custom { name, spec } => (name, spec),
        };
        let backends = nodes
            .iter()
            .map(|n| Backend {
                name: n.name.clone(),
                address: n.container.clone(),
                port: n.port,
            })
            .collect();
        let health = (health.path.as_str(), health.status.as_slice());
        Balancer::Custom(Box::new(CustomBalancer {
            name: name.to_string(),
            launch: Launch::of(&spec.launch(), dir),
            vars: BalancerVars::new(region, spec, backends, health, tls),
        }))
    }

    /// Its name in the plan's words and reports: `haproxy`, or the brought one's.
    pub fn name(&self) -> &str {
        match self {
            Balancer::Builtin(b) => b.kind.as_str(),
            Balancer::Custom(c) => &c.name,
        }
    }

    /// The port it listens on inside its container.
    pub fn port(&self) -> u16 {
        match self {
            Balancer::Builtin(_) => super::REGISTRY_PORT,
            Balancer::Custom(c) => c.launch.port,
        }
    }

    pub fn builtin(&self) -> Option<&Builtin> {
        match self {
            Balancer::Builtin(b) => Some(b),
            Balancer::Custom(_) => None,
        }
    }

    pub fn custom(&self) -> Option<&CustomBalancer> {
        match self {
            Balancer::Builtin(_) => None,
            Balancer::Custom(c) => Some(c),
        }
    }
}

impl Builtin {
    pub fn new(
        kind: LoadBalancerKind,
        nodes: &[NodePlan],
        tls: bool,
        health: &HealthCheck,
    ) -> Builtin {
        let config = match kind {
            LoadBalancerKind::Haproxy => haproxy_config(nodes, tls, health),
            LoadBalancerKind::Nginx => nginx_config(nodes, tls),
            LoadBalancerKind::Caddy => caddy_config(nodes, tls, health),
        };
        Builtin { kind, config }
    }

    /// Where the configuration goes inside the container.
    pub fn config_path(&self) -> &'static str {
        match self.kind {
            LoadBalancerKind::Haproxy => HAPROXY_CONFIG_PATH,
            LoadBalancerKind::Nginx => NGINX_CONFIG_PATH,
            LoadBalancerKind::Caddy => CADDY_CONFIG_PATH,
        }
    }

    /// The container's environment: Caddy keeps its data and autosaved configuration
    /// under `$HOME`.
    pub fn env(&self) -> Vec<String> {
        match self.kind {
            LoadBalancerKind::Caddy => vec!["HOME=/tmp".into()],
            LoadBalancerKind::Haproxy | LoadBalancerKind::Nginx => Vec::new(),
        }
    }

    /// Where the certificate and key go with TLS: one PEM file holding both, which all
    /// three read (haproxy's `crt`, nginx's `ssl_certificate` and `_key`, Caddy's `tls`).
    pub fn cert_path(&self) -> &'static str {
        match self.kind {
            LoadBalancerKind::Haproxy => HAPROXY_CERT_PATH,
            LoadBalancerKind::Nginx => NGINX_CERT_PATH,
            LoadBalancerKind::Caddy => CADDY_CERT_PATH,
        }
    }
}

pub const HAPROXY_CONFIG_PATH: &str = "/usr/local/etc/haproxy/haproxy.cfg";
pub const NGINX_CONFIG_PATH: &str = "/etc/nginx/nginx.conf";

/// How every nginx drill runs: in the foreground, one worker, its pid file in /tmp.
pub const NGINX_MAIN: &str = "daemon off;
worker_processes 1;
pid /tmp/nginx.pid;
events {
    worker_connections 4096;
}
";
pub const CADDY_CONFIG_PATH: &str = "/etc/caddy/Caddyfile";
const HAPROXY_CERT_PATH: &str = "/usr/local/etc/haproxy/drill.pem";
const NGINX_CERT_PATH: &str = "/etc/nginx/drill.pem";
const CADDY_CERT_PATH: &str = "/etc/caddy/drill.pem";

/// haproxy in front of a region's nodes. Server names are resolved through Docker's DNS
/// at run time (`resolvers`), so a node that dies or comes back with a new address is
/// followed; failed connections are redispatched to another node.
fn haproxy_config(nodes: &[NodePlan], tls: bool, health: &HealthCheck) -> String {
    // The nodes see plain HTTP: without the header they would send clients to http://
    // upload locations on the TLS port.
    let bind_tls = if tls {
        format!(" ssl crt {HAPROXY_CERT_PATH}\n    http-request set-header X-Forwarded-Proto https")
    } else {
        String::new()
    };
    let mut cfg = format!(
        "global
    maxconn 4096

{HAPROXY_COMMON}
frontend registry
    bind :5000{bind_tls}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET {path}
    http-check expect {expect}
",
        path = health.path,
        expect = health.haproxy_expect(),
    );
    for n in nodes {
        let _ = writeln!(cfg, "    server {} {}:{}", n.name, n.container, n.port);
    }
    cfg
}

/// What every haproxy drill runs shares: Docker's DNS as resolver and the timeouts.
pub const HAPROXY_COMMON: &str = "resolvers docker
    nameserver dns 127.0.0.11:53
    resolve_retries 2
    timeout resolve 500ms
    timeout retry 500ms
    hold valid 1s
    hold nx 1s
    hold other 1s
    hold refused 1s
    hold timeout 1s
    hold obsolete 1s

defaults
    mode http
    timeout connect 500ms
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    default-server init-addr last,libc,none resolvers docker check inter 500ms fall 2 rise 2
";

/// nginx's free build in front of a region's nodes: round robin, passive health checks
/// only (a node is skipped for `fail_timeout` after `max_fails` failed requests), a
/// failed connection or timeout tried on the next node. It resolves the nodes' names
/// once, when it starts (following a changed address needs nginx Plus or 1.27.3's
/// `resolve`), so every node must be up then.
fn nginx_config(nodes: &[NodePlan], tls: bool) -> String {
    let mut servers = String::new();
    for n in nodes {
        let _ = writeln!(
            servers,
            "        server {}:{} max_fails=1 fail_timeout=10s;",
            n.container, n.port
        );
    }
    let (listen, proto) = if tls {
        let pem = NGINX_CERT_PATH;
        (
            format!(
                "5000 ssl;\n        ssl_certificate {pem};\n        ssl_certificate_key {pem};"
            ),
            "https",
        )
    } else {
        ("5000;".to_string(), "$scheme")
    };
    let keep_alive = LB_KEEP_ALIVE.as_secs();
    // The nodes build upload locations from Host and X-Forwarded-Proto: both pass as
    // the client sent them. Temporary files go to /tmp, the one writable place drill's
    // image promises.
    format!(
        "{NGINX_MAIN}http {{
    access_log off;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path /tmp/nginx-proxy;
    upstream nodes {{
{servers}        keepalive 32;
    }}
    server {{
        listen {listen}
        client_max_body_size 0;
        keepalive_timeout {keep_alive}s;
        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto {proto};
            proxy_connect_timeout 500ms;
            proxy_send_timeout 60s;
            proxy_read_timeout 60s;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"
    )
}

/// Caddy in front of a region's nodes: round robin, an active health check every
/// 500 ms and passive ones (a failed request takes the node out for 10 s), a failed
/// connection tried on another node for up to 2 s. Names are resolved at each
/// connection, so a node that comes back with a new address is followed. Caddy expects
/// one status of a healthy node: the health check's first.
fn caddy_config(nodes: &[NodePlan], tls: bool, health: &HealthCheck) -> String {
    let upstreams: Vec<String> = nodes
        .iter()
        .map(|n| format!("{}:{}", n.container, n.port))
        .collect();
    let (health_uri, health_status) = (&health.path, health.status.first().unwrap_or(&200));
    let (tls_line, proto_line) = if tls {
        let pem = CADDY_CERT_PATH;
        (
            format!("\n    tls {pem} {pem}"),
            "\n        header_up X-Forwarded-Proto https",
        )
    } else {
        (String::new(), "")
    };
    let keep_alive = LB_KEEP_ALIVE.as_secs();
    format!(
        "{{
    admin off
    auto_https off
    servers {{
        protocols h1
        timeouts {{
            idle {keep_alive}s
        }}
    }}
}}

:5000 {{{tls_line}
    reverse_proxy {upstreams} {{
        lb_policy round_robin
        lb_try_duration 2s
        lb_try_interval 100ms
        health_uri {health_uri}
        health_interval 500ms
        health_timeout 500ms
        health_status {health_status}
        fail_duration 10s
        max_fails 1
        flush_interval -1{proto_line}
        transport http {{
            dial_timeout 500ms
            response_header_timeout 60s
        }}
    }}
}}
",
        upstreams = upstreams.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<NodePlan> {
        ["eu-a-1", "eu-b-1"]
            .iter()
            .map(|n| NodePlan {
                name: n.to_string(),
                zone: n[..4].to_string(),
                container: format!("drill-x-{n}"),
                port: 5000,
            })
            .collect()
    }

    #[test]
    fn every_kind_sends_to_every_node_on_the_registry_port() {
        for kind in [
            LoadBalancerKind::Haproxy,
            LoadBalancerKind::Nginx,
            LoadBalancerKind::Caddy,
        ] {
            let b = Builtin::new(kind, &nodes(), false, &HealthCheck::distribution());
            for n in ["drill-x-eu-a-1:5000", "drill-x-eu-b-1:5000"] {
                assert!(b.config.contains(n), "{kind:?}: {}", b.config);
            }
            assert!(!b.config.contains("ssl") && !b.config.contains("tls "));
        }
    }

    #[test]
    fn with_tls_every_kind_ends_it_with_the_pem_and_tells_the_nodes() {
        let b = Builtin::new(
            LoadBalancerKind::Nginx,
            &nodes(),
            true,
            &HealthCheck::distribution(),
        );
        assert!(
            b.config.contains(
                "listen 5000 ssl;\n        ssl_certificate /etc/nginx/drill.pem;\n        \
                 ssl_certificate_key /etc/nginx/drill.pem;"
            ),
            "{}",
            b.config
        );
        assert!(b
            .config
            .contains("proxy_set_header X-Forwarded-Proto https;"));
        let c = Builtin::new(
            LoadBalancerKind::Caddy,
            &nodes(),
            true,
            &HealthCheck::distribution(),
        );
        assert!(
            c.config
                .contains(":5000 {\n    tls /etc/caddy/drill.pem /etc/caddy/drill.pem\n"),
            "{}",
            c.config
        );
        assert!(c.config.contains("header_up X-Forwarded-Proto https"));
        assert_eq!(c.cert_path(), "/etc/caddy/drill.pem");
    }

    #[test]
    fn nginx_checks_passively_and_caddy_actively() {
        let n = Builtin::new(
            LoadBalancerKind::Nginx,
            &nodes(),
            false,
            &HealthCheck::distribution(),
        )
        .config;
        assert!(n.contains("server drill-x-eu-a-1:5000 max_fails=1 fail_timeout=10s;"));
        assert!(n.contains("proxy_next_upstream error timeout;"));
        assert!(n.contains("proxy_set_header Host $http_host;"));
        let c = Builtin::new(
            LoadBalancerKind::Caddy,
            &nodes(),
            false,
            &HealthCheck::distribution(),
        )
        .config;
        assert!(c.contains("reverse_proxy drill-x-eu-a-1:5000 drill-x-eu-b-1:5000 {"));
        assert!(c.contains("health_uri /\n        health_interval 500ms"));
    }

    #[test]
    fn a_brought_registrys_port_and_health_check_reach_every_kind() {
        let mut brought = nodes();
        for n in &mut brought {
            n.port = 3000;
        }
        let health = HealthCheck {
            path: "/v2/".into(),
            status: vec![200, 401],
        };
        let h = Builtin::new(LoadBalancerKind::Haproxy, &brought, false, &health).config;
        assert!(h.contains("server eu-a-1 drill-x-eu-a-1:3000"), "{h}");
        assert!(h.contains("option httpchk GET /v2/\n    http-check expect rstatus ^(200|401)$"));
        let n = Builtin::new(LoadBalancerKind::Nginx, &brought, false, &health).config;
        assert!(n.contains("server drill-x-eu-b-1:3000 max_fails=1"));
        let c = Builtin::new(LoadBalancerKind::Caddy, &brought, false, &health).config;
        assert!(c.contains("reverse_proxy drill-x-eu-a-1:3000 drill-x-eu-b-1:3000 {"));
        assert!(c.contains("health_uri /v2/\n"), "{c}");
        assert!(c.contains("health_status 200\n"), "{c}");
    }
}
