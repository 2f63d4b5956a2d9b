//! What the parts a team brings (registries, load balancers) have in common: chosen by
//! a built-in name, a name declared in the file, or a spec written in place; run from
//! an image in the local engine or a host binary drill packs; configured through
//! templates whose variables drill documents and checks before the run.

use super::{Location, Problem};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

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
    pub config: &'a Option<ConfigFile>,
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
        let absent = used.iter().find(|n| given.get(n.as_str()).is_none());
        match absent {
            Some(name) if e.kind() == minijinja::ErrorKind::UndefinedError => {
                TemplateError::Absent {
                    name: name.clone(),
                    why: V::why_absent(name),
                }
            }
            _ => TemplateError::Syntax(e),
        }
    })
}

/// Renders every template of `texts` (its key in the spec, its text) with sample values,
/// so a variable the region lacks or a broken template is found before the run.
pub fn check_templates<V: Variables>(
    texts: Vec<(String, &str)>,
    vars: &V,
    region: &str,
    loc: &Location,
    field: &str,
    p: &mut Vec<Problem>,
) {
    for (key, text) in texts {
        if let Err(e) = render(text, vars) {
            p.push(Problem::at(
                loc,
                format!("{field}.{key}"),
                format!("in region '{region}': {e}"),
            ));
        }
    }
}

/// A spec's templated arguments and environment, by their keys in the spec.
pub fn templated<'a>(
    args: &'a [String],
    env: &'a std::collections::BTreeMap<String, String>,
) -> Vec<(String, &'a str)> {
    args.iter()
        .enumerate()
        .map(|(i, a)| (format!("args[{i}]"), a.as_str()))
        .chain(env.iter().map(|(k, v)| (format!("env.{k}"), v.as_str())))
        .collect()
}
