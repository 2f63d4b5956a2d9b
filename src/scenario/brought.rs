//! What the parts a team brings (registries, load balancers, proxies) have in common:
//! chosen by a built-in name, a name declared in the file, or a spec written in place;
//! run from an image in the local engine or a host binary drill packs; configured
//! through templates whose variables drill documents and checks before the run.

use super::{Location, Problem, Region, Scenario};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// Declares a brought part's spec: the launch fields every kind shares, then the kind's
/// own, and [`Launch`] as a view of the first. The shared fields are written into each
/// struct here because serde's `deny_unknown_fields`, which makes a misspelt key an
/// error, does not work through `flatten`.
macro_rules! brought_spec {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// An image already in the local engine (drill never pulls it): `repo:tag`.
            #[serde(default)]
            pub image: Option<String>,
            /// A host binary drill packs into an image with the libraries `ldd` lists; a
            /// relative path is read from the scenario file's folder, `~/` from `$HOME`.
            #[serde(default)]
            pub binary: Option<String>,
            /// With `image:`, replaces its entrypoint.
            #[serde(default)]
            pub command: Vec<String>,
            /// Arguments; template variables allowed (`--listen=:{{ port }}`).
            #[serde(default)]
            pub args: Vec<String>,
            /// The port it listens on inside its container (default 5000).
            #[serde(default = "crate::scenario::brought::default_port")]
            pub port: crate::scenario::brought::Port,
            /// Environment variables; values may use template variables.
            #[serde(default)]
            pub env: std::collections::BTreeMap<String, String>,
            /// A configuration file rendered per container from a template.
            #[serde(default)]
            pub config: Option<crate::scenario::brought::ConfigFile>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            pub fn launch(&self) -> crate::scenario::brought::Launch<'_> {
                crate::scenario::brought::Launch {
                    image: &self.image,
                    binary: &self.binary,
                    command: &self.command,
                    args: &self.args,
                    env: &self.env,
                    port: self.port.get() as u16,
                    config: &self.config,
                }
            }
        }
    };
}
pub(crate) use brought_spec;

/// A part's key (`registry:`, `load_balancer:`): a name, or a spec written in place.
#[derive(Debug)]
pub enum Choice<S> {
    Named(String),
    Custom(Box<S>),
}

/// What a spec's key accepts, in the words of the message a wrong value gets.
pub trait Spec: for<'de> Deserialize<'de> + JsonSchema {
    const EXPECTING: &'static str;
    /// The choice's name in the JSON Schema.
    const CHOICE: &'static str;
}

impl<'de, S: Spec> Deserialize<'de> for Choice<S> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<S>(PhantomData<S>);
        impl<'de, S: Spec> serde::de::Visitor<'de> for Visitor<S> {
            type Value = Choice<S>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(S::EXPECTING)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Choice<S>, E> {
                Ok(Choice::Named(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Choice<S>, A::Error> {
                S::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|s| Choice::Custom(Box::new(s)))
            }
        }
        d.deserialize_any(Visitor(PhantomData))
    }
}

impl<S: Spec> JsonSchema for Choice<S> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        S::CHOICE.into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let spec = g.subschema_for::<S>();
        schemars::json_schema!({ "anyOf": [{ "type": "string" }, spec] })
    }
}

/// The name a spec written in place goes by.
pub const IN_PLACE: &str = "custom";

/// A kind of brought part (registry, load balancer, proxy): its words, where a scenario
/// declares and chooses it, and what its spec must hold by itself; what every kind
/// checks the same way is done here, once.
pub struct Kind<S: 'static> {
    /// `registry`, `load balancer`, `proxy`.
    pub part: &'static str,
    /// The key in the topology and in a region: `load_balancer`.
    pub key: &'static str,
    /// Where they are declared: `load_balancers`.
    pub declared_under: &'static str,
    /// The built-ins, in the words of a message: `haproxy, nginx, caddy`.
    pub builtins: &'static str,
    pub is_builtin: fn(&str) -> bool,
    pub declared: fn(&Scenario) -> &BTreeMap<String, Spanned<S>>,
    pub topology: fn(&Scenario) -> Option<&Spanned<Choice<S>>>,
    pub own: fn(&Region) -> Option<&Spanned<Choice<S>>>,
    /// What a spec must hold wherever it is chosen.
    pub check: fn(&S, &Location, &str, &mut Vec<Problem>),
}

impl<S> Kind<S> {
    /// Checks every declared spec and every spec written in place, then hands each
    /// region's choice, with where it is written, to `chosen`.
    pub fn validate<'a>(
        &self,
        s: &'a Scenario,
        p: &mut Vec<Problem>,
        mut chosen: impl FnMut(&'a Region, &'a Location, String, &mut Vec<Problem>),
    ) {
        for (name, spec) in (self.declared)(s) {
            let field = format!("{}.{name}", self.declared_under);
            self.check_declared(name, &spec.referenced, &field, p);
            (self.check)(&spec.value, &spec.referenced, &field, p);
        }
        let topology = (self.topology)(s);
        if let Some(c) = topology {
            if let Choice::Custom(spec) = &c.value {
                (self.check)(spec, &c.referenced, &format!("topology.{}", self.key), p);
            }
        }
        for (i, r) in s.topology.value.regions.iter().enumerate() {
            let region = &r.value;
            let (loc, field) = match (self.own)(region) {
                Some(c) => {
                    let field = format!("topology.regions[{i}].{}", self.key);
                    if let Choice::Custom(spec) = &c.value {
                        (self.check)(spec, &c.referenced, &field, p);
                    }
                    (&c.referenced, field)
                }
                None => match topology {
                    Some(c) => (&c.referenced, format!("topology.{}", self.key)),
                    None => continue,
                },
            };
            chosen(region, loc, field, p);
        }
    }

    /// A declared name must be valid, and neither a built-in's nor [`IN_PLACE`].
    fn check_declared(&self, name: &str, loc: &Location, field: &str, p: &mut Vec<Problem>) {
        let why = if (self.is_builtin)(name) {
            format!(
                "{name} is a built-in {}: give a brought one another name",
                self.part
            )
        } else if name == IN_PLACE {
            format!(
                "{IN_PLACE} names a {} written in place: give this one another name",
                self.part
            )
        } else if !super::validate::valid_name(name) {
            format!(
                "'{name}' is not a valid {} name; {}",
                self.part,
                super::validate::NAME_RULE
            )
        } else {
            return;
        };
        p.push(Problem::at(loc, field, why));
    }

    /// What a name neither built in nor declared is told.
    pub fn unknown(&self, s: &Scenario, name: &str) -> String {
        let declared: Vec<&str> = (self.declared)(s).keys().map(String::as_str).collect();
        format!(
            "'{name}' is no {}: write {}{}",
            self.part,
            self.builtins,
            if declared.is_empty() {
                format!(", or declare it under `{}:`", self.declared_under)
            } else {
                format!(" or one of {}", declared.join(", "))
            }
        )
    }

    /// Where the spec a region chose by `name` is wrong: where it is declared, or, for
    /// one written in place, where it is chosen.
    pub fn written_at<'a>(
        &self,
        s: &'a Scenario,
        name: &str,
        chosen_at: (&'a Location, String),
    ) -> (&'a Location, String) {
        match (self.declared)(s).get(name) {
            Some(declared) => (
                &declared.referenced,
                format!("{}.{name}", self.declared_under),
            ),
            None => chosen_at,
        }
    }
}

/// A configuration file rendered per container from a template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The template file (relative paths: from the scenario file's folder).
    pub template: String,
    /// Where the rendered file goes inside each container.
    pub path: String,
}

/// How a brought part is started, as its spec says.
pub struct Launch<'a> {
    pub image: &'a Option<String>,
    pub binary: &'a Option<String>,
    pub command: &'a [String],
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub port: u16,
    pub config: &'a Option<ConfigFile>,
}

/// A TCP port a brought part listens on inside its container.
pub type Port = crate::model::units::Count<1, 65535>;

/// The port a spec that says none listens on: drill's own.
pub fn default_port() -> Port {
    Port::new(crate::model::wire::REGISTRY_PORT as u64)
}

/// What a launch must hold by itself, wherever it is chosen: one source, a command only
/// with an image, an absolute place for its configuration.
pub fn check_launch(launch: &Launch, mut problem: impl FnMut(&str, String)) {
    match (launch.image, launch.binary) {
        (Some(_), Some(_)) => problem("image", "give either image: or binary:, not both".into()),
        (None, None) => problem(
            "image",
            "say what to run: image: repo:tag (already in the local engine) or binary: a host \
             path"
                .into(),
        ),
        (None, Some(_)) if !launch.command.is_empty() => problem(
            "command",
            "with binary:, the binary is the command: put its arguments under args".into(),
        ),
        _ => {}
    }
    if let Some(c) = launch.config {
        if !c.path.starts_with('/') || c.path.ends_with('/') {
            problem(
                "config.path",
                format!(
                    "'{}' must be an absolute file path inside the container, e.g. \
                     /etc/app/config.yml",
                    c.path
                ),
            );
        }
    }
}

/// A storage path must take a volume: absolute, and not the container's root.
pub fn check_storage(path: &str, example: &str, mut problem: impl FnMut(&str, String)) {
    if !path.starts_with('/') || path.trim_end_matches('/').is_empty() {
        problem(
            "storage.path",
            format!(
                "'{path}' must be an absolute folder inside the container, not / itself, \
                 e.g. {example}"
            ),
        );
    }
}

/// The values a kind of part's templates may use.
pub trait Variables: Serialize {
    /// Every variable, whether or not a region has it.
    const ALL: &'static [&'static str];
    /// Why a region lacks `name`, one of [`Variables::ALL`] it does not have.
    fn why_absent(name: &str) -> &'static str;
}

/// Why a template cannot be rendered for a region.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("it uses {name}, which is no template variable (they are: {known})")]
    Unknown { name: String, known: String },
    #[error("it uses {name}, which this region does not have ({why})")]
    Absent { name: String, why: &'static str },
    #[error("it is not a valid template: {0}")]
    Syntax(#[source] minijinja::Error),
}

/// Renders one template (`{{ node }}`, `{% for b in backends %}…`) with `vars`. A
/// variable the region does not have may be tested (`{% if tls_certificate %}`), and
/// any other use of it is an error, not an empty string; a name that is no variable
/// (a typo) is an error wherever it is.
pub fn render<V: Variables>(template: &str, vars: &V) -> Result<String, TemplateError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    // Keep a config file's last newline.
    env.set_keep_trailing_newline(true);
    let compiled = env
        .template_from_str(template)
        .map_err(TemplateError::Syntax)?;
    let given = serde_json::to_value(vars).expect("template variables serialize");
    let mut used: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
    used.sort();
    // minijinja's own globals (`range`, `dict`, …) are no variables of ours.
    let globals: Vec<&str> = env.globals().map(|(name, _)| name).collect();
    used.retain(|n| !globals.contains(&n.as_str()));
    if let Some(name) = used
        .iter()
        .find(|n| given.get(n.as_str()).is_none() && !V::ALL.contains(&n.as_str()))
    {
        return Err(TemplateError::Unknown {
            name: name.clone(),
            known: V::ALL.join(", "),
        });
    }
    compiled.render(vars).map_err(|e| {
        if e.kind() != minijinja::ErrorKind::UndefinedError {
            return TemplateError::Syntax(e);
        }
        // The absent variable whose value alone would let it render: the one used, not
        // one only tested.
        let culprit = used.iter().find(|name| {
            let mut with = given.clone();
            with[name.as_str()] = serde_json::Value::String(String::new());
            given.get(name.as_str()).is_none() && compiled.render(&with).is_ok()
        });
        match culprit {
            Some(name) => TemplateError::Absent {
                name: name.clone(),
                why: V::why_absent(name),
            },
            None => TemplateError::Syntax(e),
        }
    })
}

/// A path as a scenario writes it: `~/` is the user's home, a relative path is read
/// from the scenario file's folder.
pub fn resolve(dir: Option<&Path>, written: &str) -> PathBuf {
    if let Some(rest) = written.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let path = PathBuf::from(written);
    match dir {
        Some(d) if path.is_relative() => d.join(path),
        _ => path,
    }
}

/// A config template's text, for validation: a regular file of at most
/// [`TEMPLATE_MAX_BYTES`], found from the scenario's folder (without a folder, a
/// relative path is not looked up). None when it cannot be read: the run, which reads
/// it again, says why (exit 4).
fn read_template(dir: Option<&Path>, written: &str) -> Option<String> {
    use std::io::Read;
    if dir.is_none() && Path::new(written).is_relative() && !written.starts_with("~/") {
        return None;
    }
    let path = resolve(dir, written);
    if !std::fs::metadata(&path).ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .ok()?
        .take(TEMPLATE_MAX_BYTES + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= TEMPLATE_MAX_BYTES).then_some(text)
}

/// A configuration template larger than this is no configuration a person wrote.
const TEMPLATE_MAX_BYTES: u64 = 1 << 20;

/// The texts a spec is rendered from, by their keys in it: its args, its env values,
/// and its config template when the file can be read (a missing one is a setup error
/// when the run reads it, exit 4).
pub struct Templates {
    texts: Vec<(String, String)>,
    /// False when the spec has a config template that could not be read.
    complete: bool,
}

impl Templates {
    pub fn of(
        args: &[String],
        env: &BTreeMap<String, String>,
        config: &Option<ConfigFile>,
        dir: Option<&Path>,
    ) -> Templates {
        let mut texts: Vec<(String, String)> = args
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("args[{i}]"), a.clone()))
            .chain(env.iter().map(|(k, v)| (format!("env.{k}"), v.clone())))
            .collect();
        let mut complete = true;
        if let Some(c) = config {
            match read_template(dir, &c.template) {
                Some(text) => texts.push(("config.template".into(), text)),
                None => complete = false,
            }
        }
        Templates { texts, complete }
    }

    /// Whether the templates use one of `names`, as far as they can be read: a part
    /// whose config template is missing or broken is given the benefit of the doubt
    /// (its own problem is told elsewhere).
    pub fn may_use(&self, names: &[&str]) -> bool {
        let env = minijinja::Environment::new();
        !self.complete
            || self
                .texts
                .iter()
                .any(|(_, text)| match env.template_from_str(text) {
                    Ok(t) => t
                        .undeclared_variables(false)
                        .iter()
                        .any(|v| names.contains(&v.as_str())),
                    Err(_) => true,
                })
    }

    /// Renders every template with `vars` (sample values), so a variable the region
    /// lacks or a broken template is found before the run.
    pub fn check<V: Variables>(
        &self,
        vars: &V,
        region: &str,
        loc: &Location,
        field: &str,
        p: &mut Vec<Problem>,
    ) {
        for (key, text) in &self.texts {
            if let Err(e) = render(text, vars) {
                p.push(Problem::at(
                    loc,
                    format!("{field}.{key}"),
                    format!("in region '{region}': {e}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_the_scenario_folder_or_home() {
        let dir = Path::new("/srv/scenarios");
        assert_eq!(
            resolve(Some(dir), "bin/reg"),
            PathBuf::from("/srv/scenarios/bin/reg")
        );
        assert_eq!(resolve(Some(dir), "/opt/reg"), PathBuf::from("/opt/reg"));
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            resolve(Some(dir), "~/.cargo/bin/reg"),
            Path::new(&home).join(".cargo/bin/reg")
        );
    }

    #[test]
    fn the_absent_variable_named_is_the_one_used_and_globals_are_no_typos() {
        use crate::scenario::balancer::{Backend, BalancerVars};
        let vars = BalancerVars {
            backends: vec![Backend {
                name: "eu-a-1".into(),
                address: "drill-x-eu-a-1".into(),
                port: 5000,
            }],
            ..BalancerVars::default()
        };
        for template in [
            "{% if tls_certificate %}x{% endif %}\nssl {{ tls_key }}\n",
            "{% if tls_certificate %}--tls{% endif %} --key={{ tls_key }}",
        ] {
            let used = render(template, &vars);
            assert!(
                matches!(&used, Err(TemplateError::Absent { name, .. }) if name == "tls_key"),
                "{template}: {used:?}"
            );
        }
        // A misspelt field is no absent variable, even beside one that is tested.
        let typo = render(
            "{% if tls_certificate %}x{% endif %}{% for b in backends %}{{ b.adress }}{% endfor %}",
            &vars,
        );
        assert!(matches!(typo, Err(TemplateError::Syntax(_))), "{typo:?}");
        assert_eq!(
            render("{% for i in range(2) %}{{ i }}{% endfor %}", &vars).unwrap(),
            "01"
        );
    }
}
