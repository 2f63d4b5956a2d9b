//! `--matrix`: the same scenario run once per combination of designs. An axis names a
//! scenario key and its values (`registry=distribution,container-registry`); a
//! combination sets each key for the whole topology, in place of what the file and its
//! regions say, before the scenario is validated, so every combination is checked as a
//! file that said it would be.

use super::brought::Choice;
use super::{ProxyMode, Scenario};
use serde_saphyr::Spanned;
use std::fmt;

/// Combinations at most: each is a whole run.
pub const MAX_COMBINATIONS: usize = 24;

/// A scenario key a matrix can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixKey {
    Registry,
    LoadBalancer,
    Proxy,
}

impl MatrixKey {
    const ALL: [MatrixKey; 3] = [
        MatrixKey::Registry,
        MatrixKey::LoadBalancer,
        MatrixKey::Proxy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatrixKey::Registry => "registry",
            MatrixKey::LoadBalancer => "load_balancer",
            MatrixKey::Proxy => "proxy",
        }
    }
}

/// One key's value in a combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// `distribution` or a name declared under `registries:` (validation checks which).
    Registry(String),
    /// A built-in or a name declared under `load_balancers:` (validation checks which).
    LoadBalancer(String),
    /// Every region's pull-through proxy, a built-in or a name declared under
    /// `proxies:` (the scenario must have proxies: see [`refuse_idle_keys`]).
    Proxy(String),
}

impl Setting {
    pub fn key(&self) -> MatrixKey {
        match self {
            Setting::Registry(_) => MatrixKey::Registry,
            Setting::LoadBalancer(_) => MatrixKey::LoadBalancer,
            Setting::Proxy(_) => MatrixKey::Proxy,
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Setting::Registry(name) => name,
            Setting::LoadBalancer(name) => name,
            Setting::Proxy(name) => name,
        }
    }
}

/// `--matrix key=v1,v2`: one key and the values it takes, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub key: MatrixKey,
    pub values: Vec<Setting>,
}

impl Axis {
    /// Reads `key=v1,v2,…`; the error says what is wrong in the words of the flag.
    pub fn parse(arg: &str) -> Result<Axis, String> {
        let keys = || {
            MatrixKey::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some((key, values)) = arg.split_once('=') else {
            return Err(format!(
                "`{arg}` is not key=value,value: e.g. registry=distribution,container-registry \
                 (keys: {})",
                keys()
            ));
        };
        let key = match key.trim() {
            "registry" => MatrixKey::Registry,
            "load_balancer" | "load-balancer" => MatrixKey::LoadBalancer,
            "proxy" => MatrixKey::Proxy,
            other => {
                return Err(format!(
                    "`{other}` is no key a matrix can vary: use one of {}",
                    keys()
                ))
            }
        };
        if values.trim().is_empty() {
            return Err(format!(
                "{}: no value given: write {}=V1,V2",
                key.as_str(),
                key.as_str()
            ));
        }
        let mut settings: Vec<Setting> = Vec::new();
        for value in values.split(',').map(str::trim) {
            if value.is_empty() {
                return Err(format!(
                    "{}: an empty value in `{values}`: give names separated by commas",
                    key.as_str()
                ));
            }
            let setting = match key {
                MatrixKey::Registry => Setting::Registry(value.to_string()),
                MatrixKey::LoadBalancer => Setting::LoadBalancer(value.to_string()),
                MatrixKey::Proxy => Setting::Proxy(proxy(value)),
            };
            if settings.contains(&setting) {
                return Err(format!("{}: {value} is given twice", key.as_str()));
            }
            settings.push(setting);
        }
        Ok(Axis {
            key,
            values: settings,
        })
    }
}

/// As in a scenario file, `per-region` is distribution's proxy: one name for both, so
/// the two are not run twice.
fn proxy(value: &str) -> String {
    match ProxyMode::named(value) {
        Some(ProxyMode::PerRegion) => ProxyMode::Distribution.as_str().into(),
        _ => value.into(),
    }
}

/// One value per varied key: what one run of a matrix sets. The empty combination
/// changes nothing (a plain run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Combination(pub Vec<Setting>);

impl Combination {
    /// Sets each key for the whole topology; a region's own choice of that key is
    /// dropped, since the combination says what every region runs. A proxy is set
    /// where the file has one (the topology's, or a region's own), so the regions
    /// without one stay without.
    pub fn apply(&self, s: &mut Scenario) {
        let at = s.topology.referenced;
        let topology = &mut s.topology.value;
        for setting in &self.0 {
            match setting {
                Setting::Registry(name) => {
                    topology.registry = Some(Spanned::new(Choice::Named(name.clone()), at, at));
                    for region in &mut topology.regions {
                        region.value.registry = None;
                    }
                }
                Setting::LoadBalancer(name) => {
                    topology.load_balancer =
                        Some(Spanned::new(Choice::Named(name.clone()), at, at));
                    for region in &mut topology.regions {
                        region.value.load_balancer = None;
                    }
                }
                Setting::Proxy(name) => {
                    let named = || Some(Spanned::new(Choice::Named(name.clone()), at, at));
                    if topology.proxy.is_some() {
                        topology.proxy = named();
                    }
                    for region in &mut topology.regions {
                        if region.value.proxy.is_some() {
                            region.value.proxy = named();
                        }
                    }
                }
            }
        }
    }

    /// A name for a folder: `registry-distribution_load_balancer-nginx`.
    pub fn slug(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|s| {
                let value: String = s
                    .value()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{}-{value}", s.key().as_str())
            })
            .collect();
        parts.join("_")
    }
}

/// `registry=distribution, load_balancer=nginx`.
impl fmt::Display for Combination {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|s| format!("{}={}", s.key().as_str(), s.value()))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Refuses a key that cannot change what the scenario `s` (as written) does: proxies no
/// fleet pulls through would make every combination the same run.
pub fn refuse_idle_keys(
    combinations: &[Combination],
    file: &str,
    s: &Scenario,
) -> Result<(), String> {
    let sets_proxy = combinations
        .iter()
        .flat_map(|c| &c.0)
        .any(|s| s.key() == MatrixKey::Proxy);
    if sets_proxy && !s.any_proxy() {
        return Err(format!(
            "--matrix {}: {file} has no proxy (`topology.proxy` or a region's `proxy:`), so no \
             host pulls through a proxy and \
             the combinations would not differ: set `proxy: distribution` (with `upstream: \
             true`) and list `proxy` in a fleet's mirrors",
            MatrixKey::Proxy.as_str()
        ));
    }
    Ok(())
}

/// Every combination of the axes, the first axis varying slowest. A key given twice,
/// or more combinations than [`MAX_COMBINATIONS`], is refused.
pub fn combinations(axes: &[Axis]) -> Result<Vec<Combination>, String> {
    for (i, axis) in axes.iter().enumerate() {
        if axes[..i].iter().any(|a| a.key == axis.key) {
            return Err(format!(
                "--matrix {} is given twice: list its values in one flag, separated by commas",
                axis.key.as_str()
            ));
        }
    }
    let count: usize = axes.iter().map(|a| a.values.len()).product();
    if count > MAX_COMBINATIONS {
        return Err(format!(
            "--matrix makes {count} combinations, each a whole run; at most {MAX_COMBINATIONS}: \
             vary fewer values at once"
        ));
    }
    let mut all = vec![Combination::default()];
    for axis in axes {
        all = all
            .into_iter()
            .flat_map(|c| {
                axis.values.iter().map(move |v| {
                    let mut next = c.clone();
                    next.0.push(v.clone());
                    next
                })
            })
            .collect();
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_multiply_in_the_order_given() {
        let axes = [
            Axis::parse("registry=distribution,container-registry").unwrap(),
            Axis::parse("load_balancer=haproxy,nginx,caddy").unwrap(),
        ];
        let all = combinations(&axes).unwrap();
        let shown: Vec<String> = all.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            shown,
            [
                "registry=distribution, load_balancer=haproxy",
                "registry=distribution, load_balancer=nginx",
                "registry=distribution, load_balancer=caddy",
                "registry=container-registry, load_balancer=haproxy",
                "registry=container-registry, load_balancer=nginx",
                "registry=container-registry, load_balancer=caddy",
            ]
        );
        assert_eq!(
            all[4].slug(),
            "registry-container-registry_load_balancer-nginx"
        );
    }

    #[test]
    fn a_bad_axis_says_what_to_write() {
        let e = Axis::parse("colour=red").unwrap_err();
        assert!(
            e.contains("`colour` is no key") && e.contains("registry, load_balancer, proxy"),
            "{e}"
        );
        // A name is looked up when the combination is validated, beside the file's own.
        assert_eq!(
            Axis::parse("load_balancer=haproxy,edge").unwrap().values[1],
            Setting::LoadBalancer("edge".into())
        );
        let e = Axis::parse("registry=a,,b").unwrap_err();
        assert!(e.contains("an empty value"), "{e}");
        let e = Axis::parse("proxy=").unwrap_err();
        assert!(e.contains("proxy: no value given"), "{e}");
        assert_eq!(
            Axis::parse("proxy=per-region").unwrap().values,
            [Setting::Proxy("distribution".into())]
        );
        let e = Axis::parse("registry=a,a").unwrap_err();
        assert!(e.contains("a is given twice"), "{e}");
        assert!(Axis::parse("registry").unwrap_err().contains("key=value"));
        let twice = [
            Axis::parse("registry=a").unwrap(),
            Axis::parse("registry=b").unwrap(),
        ];
        assert!(combinations(&twice).unwrap_err().contains("given twice"));
    }

    #[test]
    fn too_many_combinations_are_refused() {
        let names: Vec<String> = (0..25).map(|i| format!("r{i}")).collect();
        let axes = [Axis::parse(&format!("registry={}", names.join(","))).unwrap()];
        assert!(combinations(&axes).unwrap_err().contains("25 combinations"));
    }
}
