//! The upstream's fault point: an haproxy ("the gate") between the upstream registry and
//! everything that reaches it (the proxies, and hosts that name `upstream`). The
//! `upstream-*` faults switch its behaviour at run time: drill writes a new
//! configuration into the container and sends SIGUSR2, and haproxy's master process
//! reloads it. `hard-stop-after` ends the old worker within a second, so connections kept
//! alive from before the switch do not escape it.

use crate::docker::engine::Engine;
use crate::faults::upstream::GateMode;
use crate::model::error::DrillError;
use crate::plan::balancer::{HAPROXY_COMMON, HAPROXY_CONFIG_PATH};
use crate::plan::{UpstreamPlan, REGISTRY_PORT};

/// Where the gate's delaying action lives in its container.
pub const GATE_LUA_PATH: &str = "/usr/local/etc/haproxy/gate.lua";

/// Holds a request for the given number of milliseconds before it goes on: a per-request
/// delay haproxy has no keyword for in HTTP mode.
pub const GATE_LUA: &str = r#"core.register_action("drill_delay", { "http-req" }, function(txn, ms)
    core.msleep(tonumber(ms))
end, 1)
"#;

/// The gate answers this path itself, in every mode but `down`: haproxy's statistics.
pub const STATS_PATH: &str = "/_drill/gate";

/// The gate's haproxy configuration in a mode.
pub fn config(upstream_container: &str, mode: GateMode) -> String {
    let rule = match mode {
        GateMode::Pass => String::new(),
        GateMode::Down => "    tcp-request connection reject\n".into(),
        GateMode::Slow(d) => format!(
            "    http-request lua.drill_delay {} unless {{ path_beg /_drill/ }}\n",
            d.as_millis()
        ),
        GateMode::RateLimit(r) => format!(
            "    http-request return status 429 content-type application/json string '{}' hdr Retry-After {} unless {{ path_beg /_drill/ }}\n",
            registry_error("TOOMANYREQUESTS", "rate limited by the upstream"),
            r.as_secs().max(1)
        ),
        GateMode::Error(s) => format!(
            "    http-request return status {s} content-type application/json string '{}' unless {{ path_beg /_drill/ }}\n",
            registry_error("UNAVAILABLE", "the upstream is failing")
        ),
    };
    format!(
        "global
    maxconn 4096
    hard-stop-after 1s
    lua-load {GATE_LUA_PATH}

{HAPROXY_COMMON}
frontend upstream
    bind :{REGISTRY_PORT}
    stats enable
    stats uri {STATS_PATH}
{rule}    default_backend upstream

backend upstream
    server upstream {upstream_container}:{REGISTRY_PORT} check
"
    )
}

fn registry_error(code: &str, message: &str) -> String {
    format!(r#"{{"errors":[{{"code":"{code}","message":"{message}","detail":null}}]}}"#)
}

/// Switches the running gate of `upstream` to `mode`: a new configuration, and a reload.
pub async fn switch(
    engine: &Engine,
    upstream: &UpstreamPlan,
    mode: GateMode,
) -> Result<(), DrillError> {
    let gate = &upstream.gate;
    engine
        .upload_file(
            gate,
            HAPROXY_CONFIG_PATH,
            config(&upstream.container, mode).as_bytes(),
        )
        .await?;
    engine.signal(gate, "SIGUSR2").await
}

/// HTTP requests the gate has received so far (`req_tot` of its frontend, its statistics
/// page's own requests included). None when the gate does not answer (down).
pub async fn requests(client: &crate::oci::Client, gate_base: &str) -> Option<u64> {
    let csv = client
        .get(format!("{gate_base}{STATS_PATH};csv"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    frontend_requests(&csv)
}

/// The frontend's total, not the backend's: requests the gate answers itself (429, 5xx)
/// never reach the backend.
fn frontend_requests(csv: &str) -> Option<u64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let col = header.iter().position(|h| *h == "req_tot")?;
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"upstream") && f.get(1) == Some(&"FRONTEND"))
        .and_then(|f| f.get(col)?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_mode_renders_its_rule_and_keeps_statistics_reachable() {
        let pass = config("drill-x-upstream", GateMode::Pass);
        assert!(pass.contains("server upstream drill-x-upstream:5000"));
        assert!(!pass.contains("http-request return") && !pass.contains("drill_delay"));
        let down = config("u", GateMode::Down);
        assert!(down.contains("tcp-request connection reject"));
        let slow = config("u", GateMode::Slow(Duration::from_millis(1500)));
        assert!(slow.contains("http-request lua.drill_delay 1500 unless { path_beg /_drill/ }"));
        let limited = config("u", GateMode::RateLimit(Duration::from_secs(7)));
        assert!(limited.contains("status 429"));
        assert!(limited.contains("hdr Retry-After 7 unless { path_beg /_drill/ }"));
        assert!(limited.contains("TOOMANYREQUESTS"));
        let failing = config("u", GateMode::Error(502));
        assert!(failing.contains("return status 502"));
        for cfg in [pass, down, slow, limited, failing] {
            assert!(
                cfg.contains("hard-stop-after 1s"),
                "old workers must not linger"
            );
            assert!(cfg.contains(&format!("stats uri {STATS_PATH}")));
        }
    }

    #[test]
    fn request_count_comes_from_the_frontend_row() {
        let csv = "# pxname,svname,qcur,req_tot,x\n\
                   upstream,FRONTEND,,17,\n\
                   upstream,upstream,0,,\n\
                   upstream,BACKEND,0,12,\n";
        assert_eq!(frontend_requests(csv), Some(17));
        assert_eq!(frontend_requests("garbage"), None);
    }
}
