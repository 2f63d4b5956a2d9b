//! The rules that span fields: every name resolved, every count bounded by what it
//! counts, every section consistent with the others. Problems are collected, not
//! returned at the first, so a user fixes a scenario in one pass.

use super::*;

/// The SLA keys that depend on the rest of the scenario (probe interval, duration).
pub(super) fn validate_sla(s: &Scenario, p: &mut Vec<Problem>) {
    let topology = &s.topology.value;
    let any_auth = topology
        .regions
        .iter()
        .any(|r| topology.auth_of(&r.value) != AuthKind::None);
    if s.sla.auth.is_some() && !any_auth {
        p.push(Problem::at(
            &Location::UNKNOWN,
            "sla.auth",
            "`enforced` needs registries that demand credentials: set topology.auth: htpasswd \
             or token",
        ));
    }
    if let Some(c) = &s.sla.cold_pull {
        // A higher percentile can never be faster than a lower one.
        let given: Vec<(&str, Span)> = [("p50", c.p50), ("p95", c.p95), ("p99", c.p99)]
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| (name, v)))
            .collect();
        for pair in given.windows(2) {
            let ((low, lv), (high, hv)) = (pair[0], pair[1]);
            if hv < lv {
                p.push(Problem::at(
                    &Location::UNKNOWN,
                    format!("sla.cold_pull.{high}"),
                    format!(
                        "{high} ({hv}) is below {low} ({lv}): a higher percentile is never \
                         faster; give {high} at least {lv}"
                    ),
                ));
            }
        }
    }
    let pull_sla = s.sla.cold_pull.as_ref().and_then(|c| c.p99);
    if s.sla
        .fallback
        .as_ref()
        .is_some_and(|f| f.max_pull.is_none())
        && pull_sla.is_none()
    {
        p.push(Problem::at(
            &Location::UNKNOWN,
            "sla.fallback.max_pull",
            "set it, or declare cold_pull.p99 for fallback pulls to be held to",
        ));
    }
    if s.sla.isolation.is_some() && s.topology.value.regions.len() < 2 {
        p.push(Problem::at(
            &Location::UNKNOWN,
            "sla.isolation",
            "compares the regions a fault spares with their steady state: declare two regions or more",
        ));
    }
    if let Some(av) = &s.sla.availability {
        let loc = &Location::UNKNOWN;
        match av.window {
            Some(w) if w.0 < s.probes.interval.0 => p.push(Problem::at(
                loc,
                "sla.availability.window",
                format!(
                    "{w} is shorter than the probe interval ({}): every window must hold a probe",
                    s.probes.interval
                ),
            )),
            Some(w) if w.0 > s.duration.value.0 => p.push(Problem::at(
                loc,
                "sla.availability.window",
                format!("{w} is longer than the run ({})", s.duration.value),
            )),
            Some(_) => {}
            None => {
                if av.error_threshold.is_some() {
                    p.push(Problem::at(
                        loc,
                        "sla.availability.error_threshold",
                        "applies to time windows: set `window` too, e.g. window: 10s",
                    ));
                }
            }
        }
    }
    if let Some(b) = &s.sla.error_budget {
        let loc = &Location::UNKNOWN;
        if b.period.0.is_zero() {
            p.push(Problem::at(
                loc,
                "sla.error_budget.period",
                "must be more than 0s, e.g. 30d",
            ));
        }
        if b.events_per_period == Some(0) {
            p.push(Problem::at(
                loc,
                "sla.error_budget.events_per_period",
                "must be at least 1",
            ));
        }
    }
}

pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(super) const NAME_RULE: &str = "use 1-40 lowercase letters, digits and dashes";

/// `repository:tag` by the OCI distribution grammar (distribution's `reference`
/// package): path components of lowercase letters and digits, separated inside by one
/// `.`, one or two `_` or any number of `-`, joined by `/`, at most 255 characters in
/// all; a tag of at most 128 word characters, dots and dashes, not starting with either.
fn valid_reference(s: &str) -> bool {
    let Some((repo, tag)) = s.rsplit_once(':') else {
        return false;
    };
    let component = |part: &str| {
        let bytes = part.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
            return false;
        }
        // Runs of separators between alphanumerics: `.`, `_`, `__` or dashes.
        part.split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            .filter(|sep| !sep.is_empty())
            .all(|sep| matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-'))
            && bytes.iter().all(|b| alnum(b) || b"._-".contains(b))
    };
    let tag_ok = tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    repo.len() <= 255 && repo.split('/').all(component) && tag_ok
}

pub(super) fn validate(s: &Scenario, rules: &Rules) -> Vec<Problem> {
    let mut p = Vec::new();
    if !valid_name(&s.name.value) {
        p.push(Problem::at(
            &s.name.referenced,
            "name",
            format!(
                "'{}' is not a valid scenario name; {NAME_RULE}",
                s.name.value
            ),
        ));
    }
    let duration = s.duration.value.0;
    if duration.is_zero() || duration > std::time::Duration::from_secs(MAX_DURATION_SECS) {
        p.push(Problem::at(
            &s.duration.referenced,
            "duration",
            "must be more than 0s and at most 24h",
        ));
    }
    validate_topology(s, &mut p);
    let brought_from = p.len();
    registry::validate(s, &mut p);
    balancer::validate(s, &mut p);
    proxy::validate(s, &mut p);
    // The topology's choice is checked for every region that takes it: each problem
    // is said once.
    let brought = p.split_off(brought_from);
    for problem in brought {
        if !p[brought_from..].contains(&problem) {
            p.push(problem);
        }
    }
    // Targets and mirrors mean nothing certain while two things share a name.
    let names = names::Names::new(s);
    p.extend_from_slice(names.clashes());
    if !names.clashes().is_empty() {
        return p;
    }
    validate_images(s, &mut p);
    let before = p.len();
    validate_fleets(s, &names, &mut p);
    // A broken fleet would make every cold start look empty: report the cause only.
    let fleets_ok = p.len() == before;
    timeline::validate(s, &names, rules, fleets_ok, &mut p);
    validate_security(s, &names, &mut p);
    validate_replication(s, &mut p);
    if let Some(a) = s.guardrails.abort_if {
        let field = "guardrails.abort_if";
        let mut problem = |msg: &str| {
            p.push(Problem::at(&s.name.referenced, field, msg));
        };
        match (a.error_rate, a.for_) {
            (Some(_), None) | (None, Some(_)) => problem(
                "error_rate and for go together: abort when the error rate stays above X for Y",
            ),
            (None, None) if a.consecutive_failures.is_none() => {
                problem("set error_rate and for, or consecutive_failures")
            }
            _ => {}
        }
        if a.consecutive_failures == Some(0) {
            problem("consecutive_failures must be at least 1");
        }
    }
    if s.probes.interval.0 < std::time::Duration::from_millis(10) {
        p.push(Problem::new(
            0,
            0,
            "probes.interval",
            "must be at least 10ms",
        ));
    }
    p
}

/// TLS and authentication against the host kinds that must honour them.
fn validate_security(s: &Scenario, names: &names::Names, p: &mut Vec<Problem>) {
    let topology = &s.topology.value;
    let token = topology
        .regions
        .iter()
        .any(|r| topology.auth_of(&r.value) == AuthKind::Token);
    if let Some(placement) = &topology.token_service {
        let (loc, value) = (&placement.referenced, placement.value.as_str());
        if !token {
            p.push(Problem::at(
                loc,
                "topology.token_service",
                "token services issue tokens for `auth: token` registries: set topology.auth: token",
            ));
        } else if value != PER_REGION && s.region(value).is_none() {
            p.push(Problem::at(
                loc,
                "topology.token_service",
                format!(
                    "'{value}' is neither per-region nor a region; regions: {}",
                    s.region_names().join(", ")
                ),
            ));
        }
    }
    for (i, f) in s.hosts.iter().enumerate() {
        if f.value.kind == HostKind::Docker && topology.tls.is_some() {
            p.push(Problem::at(
                &f.referenced,
                format!("hosts[{i}].kind"),
                "docker hosts cannot pull over `tls: self-signed`: the Docker engine trusts a \
                 registry CA only from /etc/docker/certs.d on this machine, which is the \
                 engine's own configuration and drill does not change it; use kind native or \
                 containerd",
            ));
        } else if f.value.kind == HostKind::Docker && token {
            p.push(Problem::at(
                &f.referenced,
                format!("hosts[{i}].kind"),
                "docker hosts cannot pull from `auth: token` registries: the engine asks the \
                 token service named in the registry's challenge, a container on the run's \
                 network that this machine's engine cannot resolve; use kind native or \
                 containerd",
            ));
        }
        let plain = |m: &String| reaches_upstream(names, m);
        if topology.tls.is_some()
            && f.value.kind == HostKind::Containerd
            && f.value.mirrors.iter().any(plain)
        {
            p.push(Problem::at(
                &f.referenced,
                format!("hosts[{i}].mirrors"),
                "containerd hosts under `tls: self-signed` speak TLS to every mirror, and the \
                 proxies and the upstream serve plain HTTP: list only regions, or use kind native",
            ));
        }
    }
}

fn validate_replication(s: &Scenario, p: &mut Vec<Problem>) {
    if let Some(r) = &s.topology.value.replication {
        let (loc, r) = (&r.referenced, &r.value);
        match (&r.primary, r.mode) {
            (None, ReplicationMode::Async | ReplicationMode::None) => p.push(Problem::at(
                loc,
                "topology.replication.primary",
                format!(
                    "mode {} pushes to one region: name it, e.g. primary: {}",
                    r.mode.name(),
                    s.topology
                        .value
                        .regions
                        .first()
                        .map_or("eu", |r| &r.value.name)
                ),
            )),
            (Some(primary), _) if s.region(primary).is_none() => p.push(Problem::at(
                loc,
                "topology.replication.primary",
                format!("'{primary}' is not a region of this scenario"),
            )),
            _ => {}
        }
        match (r.interval, r.mode) {
            (Some(_), ReplicationMode::PushToAll | ReplicationMode::None) => p.push(Problem::at(
                loc,
                "topology.replication.interval",
                "only mode async has a replicator to pace; remove it or set mode: async",
            )),
            (Some(i), ReplicationMode::Async) if i.0 < std::time::Duration::from_millis(100) => p
                .push(Problem::at(
                    loc,
                    "topology.replication.interval",
                    "must be at least 100ms",
                )),
            _ => {}
        }
    }
    if let Some(c) = &s.canaries {
        let (loc, c) = (&c.referenced, &c.value);
        if c.every.0 < std::time::Duration::from_millis(100) {
            p.push(Problem::at(loc, "canaries.every", "must be at least 100ms"));
        }
        if c.size.0 == 0 || c.size.0 > MAX_CANARY_BYTES {
            p.push(Problem::at(
                loc,
                "canaries.size",
                format!("must be between 1B and {}", Size(MAX_CANARY_BYTES)),
            ));
        }
    }
}

fn validate_topology(s: &Scenario, p: &mut Vec<Problem>) {
    if s.topology.value.regions.is_empty() {
        p.push(Problem::at(
            &s.topology.referenced,
            "topology.regions",
            "declare at least one region",
        ));
    }
    let mut names = BTreeSet::new();
    let mut zones = BTreeSet::new();
    for (i, r) in s.topology.value.regions.iter().enumerate() {
        let loc = &r.referenced;
        let region = &r.value;
        let field = format!("topology.regions[{i}]");
        if !valid_name(&region.name) {
            p.push(Problem::at(
                loc,
                format!("{field}.name"),
                format!("'{}' is not a valid region name; {NAME_RULE}", region.name),
            ));
        }
        if !names.insert(region.name.as_str()) {
            p.push(Problem::at(
                loc,
                format!("{field}.name"),
                format!("region '{}' is declared twice", region.name),
            ));
        }
        if region.zones.is_empty() {
            p.push(Problem::at(
                loc,
                format!("{field}.zones"),
                "declare at least one zone",
            ));
        }
        for z in &region.zones {
            if !valid_name(z) {
                p.push(Problem::at(
                    loc,
                    format!("{field}.zones"),
                    format!("'{z}' is not a valid zone name; {NAME_RULE}"),
                ));
            }
            if !zones.insert(z.as_str()) {
                p.push(Problem::at(
                    loc,
                    format!("{field}.zones"),
                    format!("zone '{z}' is declared twice (zone names are unique across regions)"),
                ));
            }
        }
        // A tmpfs lives in memory: room for the images, not for a machine's RAM.
        if let Some(limit) = region.storage_limit {
            if !(MIN_STORAGE_LIMIT..=MAX_STORAGE_LIMIT).contains(&limit.0) {
                p.push(Problem::at(
                    loc,
                    format!("{field}.storage_limit"),
                    "must be between 16MiB and 4GiB (the volume is a tmpfs, held in memory)",
                ));
            }
        }
    }
    let t = &s.topology.value;
    if s.any_proxy() && !t.upstream {
        // Said where a proxy is asked for: the topology's, else the first region's.
        let asked = t
            .proxy
            .as_ref()
            .map(|c| (&c.referenced, "topology.proxy".to_string()));
        let (loc, field) = asked
            .or_else(|| {
                t.regions.iter().enumerate().find_map(|(i, r)| {
                    let c = r.value.proxy.as_ref()?;
                    Some((&c.referenced, format!("topology.regions[{i}].proxy")))
                })
            })
            .unwrap_or((&s.topology.referenced, "topology.proxy".to_string()));
        p.push(Problem::at(
            loc,
            field,
            "a pull-through proxy caches the upstream: set `upstream: true` too",
        ));
    }
}

fn validate_images(s: &Scenario, p: &mut Vec<Problem>) {
    if s.images.value.is_empty() {
        p.push(Problem::at(
            &s.images.referenced,
            "images",
            "declare at least one image to seed",
        ));
    }
    let mut refs = BTreeSet::new();
    for (i, img) in s.images.value.iter().enumerate() {
        let loc = &img.referenced;
        let field = format!("images[{i}]");
        if !valid_reference(&img.value.reference) {
            p.push(Problem::at(
                loc,
                format!("{field}.ref"),
                format!(
                    "'{}' is not a valid image reference; write repository:tag, e.g. team/app:1 \
                     (lowercase path components joined by /, at most 255 characters; a tag of \
                     up to 128 letters, digits, _ . -)",
                    img.value.reference
                ),
            ));
        }
        if !refs.insert(img.value.reference.as_str()) {
            p.push(Problem::at(
                loc,
                format!("{field}.ref"),
                format!("image '{}' is declared twice", img.value.reference),
            ));
        }
        if img.value.source == ImageSource::Upstream
            && !s.topology.value.upstream
            && !s.topology.value.is_external()
        {
            p.push(Problem::at(
                loc,
                format!("{field}.source"),
                "source: upstream needs an upstream: set `topology.upstream: true`",
            ));
        }
        if let Some((j, l)) = img
            .value
            .layers
            .iter()
            .enumerate()
            .find(|(_, l)| l.0 == 0 || l.0 > crate::model::units::MAX_LAYER_BYTES)
        {
            p.push(Problem::at(
                loc,
                format!("{field}.layers[{j}]"),
                format!("a layer of {l}: a layer holds between 1 byte and 4GiB"),
            ));
        }
        match (img.value.existing, img.value.layers.len()) {
            (true, 0) => {}
            (true, _) => p.push(Problem::at(
                loc,
                format!("{field}.layers"),
                "an existing image is pulled as the registry holds it: remove `layers`",
            )),
            (false, n) if n == 0 || n > MAX_LAYERS => p.push(Problem::at(
                loc,
                format!("{field}.layers"),
                format!("declare between 1 and {MAX_LAYERS} layers"),
            )),
            _ => {}
        }
        if img.value.existing && img.value.source == ImageSource::Upstream {
            p.push(Problem::at(
                loc,
                format!("{field}.source"),
                "an existing image is in the regions: remove `source`",
            ));
        }
    }
}

/// Whether a mirror is a proxy or the upstream, which serve what the upstream holds.
fn reaches_upstream(names: &names::Names, m: &str) -> bool {
    m == "proxy"
        || matches!(
            names.target(m),
            Some(names::Target::Proxy(_) | names::Target::Upstream)
        )
}

/// A mirror is a region, a proxy, the upstream or a keyword of the fleet's own region
/// (`region`).
fn mirror(s: &Scenario, names: &names::Names, region: &str, m: &str) -> Result<(), String> {
    use names::Target;
    let t = &s.topology.value;
    if t.is_external() && m != "other-regions" {
        // Its mirrors are its regions' entry points only: `external::validate` says so.
        return Ok(());
    }
    let forms = match (s.any_proxy(), t.upstream) {
        (true, true) => ", proxy, <region>-proxy or upstream",
        (true, false) => ", proxy or <region>-proxy (upstream needs `topology.upstream: true`)",
        (false, true) => {
            " or upstream (proxies need `topology.proxy` or a region's `proxy:`, e.g. distribution)"
        }
        (false, false) => {
            " (proxy and upstream need `topology.upstream: true` and `topology.proxy: distribution` or `nginx`)"
        }
    };
    let expected = || {
        format!(
            "use region, other-regions, a region name ({}){forms}",
            s.region_names().join(", ")
        )
    };
    match (m, names.target(m)) {
        ("region", _) => Ok(()),
        ("other-regions", _) if t.regions.len() < 2 => {
            Err("other-regions needs at least two regions in the topology".into())
        }
        ("other-regions", _) => Ok(()),
        ("proxy", _) if s.has_proxy(region) => Ok(()),
        ("proxy", _) if s.any_proxy() && s.region(region).is_some() => Err(format!(
            "'proxy' is the region's pull-through proxy, and region {region} has none: give \
             it `proxy:` (or set `topology.proxy` for every region), or name another \
             region's proxy (<region>-proxy)"
        )),
        ("proxy", _) => Err(
            "'proxy' is the region's pull-through proxy, and this topology has none: set \
             `topology.proxy: distribution` or `nginx` (with `upstream: true`), or drop it from \
             the mirrors"
                .into(),
        ),
        (_, Some(Target::Region(_) | Target::Proxy(_))) => Ok(()),
        (_, Some(Target::Upstream)) if t.upstream => Ok(()),
        (_, Some(Target::Upstream)) => Err(
            "'upstream' is the upstream registry, and this topology has none: set \
             `topology.upstream: true`, or drop it from the mirrors"
                .into(),
        ),
        (_, _) => Err(match names.describe(m) {
            Some(what) => format!("'{m}' is {what}, not a mirror; {}", expected()),
            None => format!("unknown mirror '{m}'; {}", expected()),
        }),
    }
}

fn validate_fleets(s: &Scenario, names: &names::Names, p: &mut Vec<Problem>) {
    let mut fleet_names = BTreeSet::new();
    let mut docker_hosts = 0;
    let mut containerd_hosts = 0;
    for (i, f) in s.hosts.iter().enumerate() {
        let loc = &f.referenced;
        let fleet = &f.value;
        let field = format!("hosts[{i}]");
        if !valid_name(&fleet.name) {
            p.push(Problem::at(
                loc,
                format!("{field}.name"),
                format!("'{}' is not a valid fleet name; {NAME_RULE}", fleet.name),
            ));
        }
        if !fleet_names.insert(fleet.name.as_str()) {
            p.push(Problem::at(
                loc,
                format!("{field}.name"),
                format!("fleet '{}' is declared twice", fleet.name),
            ));
        }
        match s.region(&fleet.region) {
            None => p.push(Problem::at(
                loc,
                format!("{field}.region"),
                format!(
                    "unknown region '{}'; the topology declares: {}",
                    fleet.region,
                    s.region_names().join(", ")
                ),
            )),
            Some(region) => {
                for z in fleet.zones.iter().flatten() {
                    if !region.zones.contains(z) {
                        p.push(Problem::at(
                            loc,
                            format!("{field}.zones"),
                            format!(
                                "zone '{z}' is not in region '{}' (its zones: {})",
                                region.name,
                                region.zones.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        if fleet.mirrors.is_empty() {
            p.push(Problem::at(
                loc,
                format!("{field}.mirrors"),
                "list at least one mirror: region, other-regions or a region name",
            ));
        }
        for m in &fleet.mirrors {
            if let Err(why) = mirror(s, names, &fleet.region, m) {
                p.push(Problem::at(loc, format!("{field}.mirrors"), why));
            }
        }
        if fleet.pull.is_empty() {
            p.push(Problem::at(
                loc,
                format!("{field}.pull"),
                "list at least one image to pull",
            ));
        }
        let via_upstream = fleet.mirrors.iter().any(|m| reaches_upstream(names, m));
        for r in &fleet.pull {
            match s.images.value.iter().find(|i| &i.value.reference == r) {
                None => p.push(Problem::at(
                    loc,
                    format!("{field}.pull"),
                    format!("image '{r}' is not declared under images"),
                )),
                Some(i) if i.value.source == ImageSource::Upstream && !via_upstream => {
                    p.push(Problem::at(
                        loc,
                        format!("{field}.pull"),
                        format!("image '{r}' is seeded to the upstream only: add proxy or upstream to the fleet's mirrors"),
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(k) = fleet.kubelet_backoff {
            let problem = if fleet.backoff != BackoffModel::Kubelet {
                Some("kubelet_backoff needs backoff: kubelet")
            } else if k.initial.0.is_zero() || k.max.0 < k.initial.0 {
                Some("initial must be more than 0s and max at least initial")
            } else {
                None
            };
            if let Some(problem) = problem {
                p.push(Problem::at(
                    loc,
                    format!("{field}.kubelet_backoff"),
                    problem,
                ));
            }
        }
        if fleet.timeouts.connect.0.is_zero() || fleet.timeouts.request.0.is_zero() {
            p.push(Problem::at(
                loc,
                format!("{field}.timeouts"),
                "timeouts must be more than 0s",
            ));
        }
        if fleet.kind == HostKind::Docker {
            let hosts = fleet.per_zone.get() as usize * s.fleet_zones(fleet).len();
            docker_hosts += hosts;
            if hosts > 1 || docker_hosts > 1 {
                p.push(Problem::at(
                    loc,
                    format!("{field}.kind"),
                    "the docker kind is the local Docker engine: one host per scenario (per_zone: 1 and one zone)",
                ));
            }
        }
        if fleet.kind == HostKind::Containerd {
            let hosts = fleet.per_zone.get() as usize * s.fleet_zones(fleet).len();
            // Counted over every fleet: each host is a container on this machine.
            if containerd_hosts < MAX_CONTAINERD_HOSTS
                && containerd_hosts + hosts > MAX_CONTAINERD_HOSTS
            {
                p.push(Problem::at(
                    loc,
                    format!("{field}.per_zone"),
                    format!(
                        "containerd hosts run one container each: at most {MAX_CONTAINERD_HOSTS} \
                         in a scenario, and this fleet brings them to {}",
                        containerd_hosts + hosts
                    ),
                ));
            }
            containerd_hosts += hosts;
        }
    }
}
