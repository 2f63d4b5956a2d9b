//! Faults drill does not do itself. `exec` runs the scenario's own commands to inject
//! and to heal (a cloud's fault injector, `kubectl`, `docker` on a deployment drill did
//! not build); `external` only marks when something else is expected to inject one.
//! Neither names a container of the run: what they act on is their commands' business,
//! and `regions` says which regions they touch, for the recovery analysis.

use super::given::Given;
use super::{Cx, Heal, Reach, Report};
use crate::model::kinds::{CommandPhase, FaultKind};
use std::path::PathBuf;
use std::time::Duration;

/// How long a command may run when the step sets no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `timeout` a step may set: a heal that hangs for longer holds the run's
/// teardown hostage.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
const MAX_NAME: usize = 120;

#[derive(Debug, Clone, PartialEq)]
pub struct CommandFault {
    pub name: String,
    pub how: How,
    /// The regions it touches, as written, or every region.
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum How {
    Exec {
        inject: Command,
        /// None: nothing runs at its end.
        heal: Option<Command>,
    },
    External,
}

/// A program and its arguments, run without a shell from the scenario's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// The folder relative programs and paths are found from: the scenario's.
    pub dir: Option<PathBuf>,
}

impl Command {
    /// `docker kill eu-a-1`, quoted where a word needs it, as a user would type it.
    pub fn line(&self) -> String {
        self.argv
            .iter()
            .map(|w| quoted(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A word as a POSIX shell would read it back, on one line: a word with a newline or
/// another control character is written `$'…'` with escapes.
pub fn quoted(w: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !w.is_empty() && w.chars().all(plain) {
        return w.to_string();
    }
    if !w.chars().any(char::is_control) {
        return format!("'{}'", w.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in w.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

pub(super) fn check(
    kind: FaultKind,
    given: &Given,
    cx: &Cx,
    r: &mut Report,
) -> Option<CommandFault> {
    let before = r.count();
    let exec = kind == FaultKind::Exec;
    if given.target().is_some() {
        r.problem(
            "target",
            format!("{} names no part of the run: remove `target`, and list the regions it touches under `regions`", kind.name()),
        );
    }
    let name = given.name();
    match name.as_deref().map(str::trim) {
        None => r.problem(
            "name",
            format!("{} needs a name for the reports (and, for exec, its commands' DRILL_FAULT_NAME), e.g. name: az-a-down", kind.name()),
        ),
        Some("") => r.problem("name", "must not be empty"),
        Some(n) if n.chars().any(char::is_control) || n.chars().count() > MAX_NAME => r.problem(
            "name",
            format!("must be one line of at most {MAX_NAME} characters, without control characters"),
        ),
        Some(n) if cx.names.target(n).is_some() => r.problem(
            "name",
            format!("`{n}` names a part of the topology, which this fault does not act on: name it after what it does, e.g. {n}-az-down"),
        ),
        Some(_) => {}
    }
    let regions = regions(given, cx, r);
    let how = if exec {
        let timeout = match given.timeout() {
            None => DEFAULT_TIMEOUT,
            Some(t) if t.0.is_zero() => {
                r.problem("timeout", "must be more than 0s");
                DEFAULT_TIMEOUT
            }
            Some(t) if t.0 > MAX_TIMEOUT => {
                r.problem("timeout", "must be at most 1h");
                DEFAULT_TIMEOUT
            }
            Some(t) => t.0,
        };
        let command = |argv: Option<Vec<String>>, key: &str, r: &mut Report| {
            let argv = argv?;
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                r.problem(key, "needs a program, then its arguments, e.g. [docker, kill, eu-a-1]; no shell reads it");
                return None;
            }
            if argv.iter().any(|w| w.contains('\0')) {
                r.problem(
                    key,
                    "a word holds a NUL character, which no program can receive",
                );
                return None;
            }
            Some(Command {
                argv,
                timeout,
                dir: cx.s.dir.clone(),
            })
        };
        let inject = command(given.inject(), "inject", r);
        if given.inject().is_none() {
            r.problem(
                "inject",
                "exec needs the command that injects it, e.g. inject: [docker, kill, eu-a-1]",
            );
        }
        let heal = command(given.heal(), "heal", r);
        inject.map(|inject| How::Exec { inject, heal })
    } else {
        Some(How::External)
    };
    let how = how.filter(|_| r.count() == before)?;
    Some(CommandFault {
        name: name?.trim().to_string(),
        how,
        regions,
    })
}

/// The regions written, each one of the topology's, or all of them.
fn regions(given: &Given, cx: &Cx, r: &mut Report) -> Vec<String> {
    let all: Vec<String> =
        cx.s.topology
            .value
            .regions
            .iter()
            .map(|r| r.value.name.clone())
            .collect();
    let Some(written) = given.regions() else {
        return all;
    };
    if written.is_empty() {
        r.problem(
            "regions",
            format!(
                "list at least one region, or remove `regions` to mean all of them ({})",
                all.join(", ")
            ),
        );
    }
    for (i, w) in written.iter().enumerate() {
        if written[..i].contains(w) {
            r.problem("regions", format!("`{w}` is listed twice"));
        } else if !all.contains(w) {
            r.problem(
                "regions",
                format!(
                    "`{w}` is not a region of the topology (its regions: {})",
                    all.join(", ")
                ),
            );
        }
    }
    written
}

impl CommandFault {
    pub fn kind(&self) -> FaultKind {
        match self.how {
            How::Exec { .. } => FaultKind::Exec,
            How::External => FaultKind::External,
        }
    }

    pub(super) fn reach(&self) -> Reach {
        Reach {
            regions: self.regions.clone(),
            ..Reach::default()
        }
    }

    pub(super) fn heal(&self) -> Heal {
        match &self.how {
            How::Exec {
                heal: Some(heal), ..
            } => Heal::Run(heal.clone()),
            _ => Heal::Nothing,
        }
    }

    /// Every command it runs, in order: inject, then heal.
    pub fn commands(&self) -> Vec<(CommandPhase, &Command)> {
        match &self.how {
            How::Exec { inject, heal } => std::iter::once((CommandPhase::Inject, inject))
                .chain(heal.iter().map(|h| (CommandPhase::Heal, h)))
                .collect(),
            How::External => Vec::new(),
        }
    }

    pub(super) fn method(&self) -> String {
        match &self.how {
            How::Exec { inject, heal } => format!(
                "the scenario's command `{}` (a non-zero exit fails the fault); {}",
                inject.line(),
                match heal {
                    Some(h) => format!("healed by `{}`", h.line()),
                    None => "nothing runs at its end".into(),
                }
            ),
            How::External => {
                "injected by something else; drill marked its start and end and did nothing to the registry".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPOLOGY: &str = r#"
name: commands
duration: 30s
topology:
  regions:
    - { name: eu, zones: [eu-a] }
    - { name: us, zones: [us-a] }
images:
  - { ref: team/app:1, layers: [1MiB] }
hosts:
  - { name: f, region: eu, per_zone: 1, mirrors: [region], pull: [team/app:1] }
timeline:
"#;

    fn problems(step: &str) -> Vec<String> {
        crate::faults::problem_lines(&format!("{TOPOLOGY}  - {step}\n"))
    }

    #[test]
    fn an_exec_fault_runs_its_words_from_the_scenarios_folder_and_touches_the_regions_named() {
        let src = format!(
            "{TOPOLOGY}  - {{ at: 1s, fault: exec, name: az-a-down, for: 5s, timeout: 5s, regions: [us], inject: [kubectl, cordon, n1], heal: [kubectl, uncordon, n1] }}\n  - {{ at: 9s, fault: external, name: cloud, for: 5s }}\n"
        );
        let s = crate::faults::parse(&src).unwrap();
        let faults = crate::faults::of(&s);
        let Some(super::super::Fault::Command(exec)) = &faults[0] else {
            panic!()
        };
        assert_eq!(exec.regions, ["us"]);
        let words: Vec<(CommandPhase, String, Duration)> = exec
            .commands()
            .into_iter()
            .map(|(p, c)| (p, c.line(), c.timeout))
            .collect();
        let five = Duration::from_secs(5);
        assert_eq!(
            words,
            [
                (CommandPhase::Inject, "kubectl cordon n1".into(), five),
                (CommandPhase::Heal, "kubectl uncordon n1".into(), five)
            ]
        );
        // Without `regions`, every region; an external fault runs nothing.
        let Some(super::super::Fault::Command(external)) = &faults[1] else {
            panic!()
        };
        assert_eq!(external.regions, ["eu", "us"]);
        assert!(external.commands().is_empty());
        assert_eq!(external.heal(), Heal::Nothing);
    }

    #[test]
    fn a_command_fault_is_refused_where_it_would_run_nothing_sure_or_name_a_part() {
        let cases = [
            (
                "{ at: 1s, fault: exec, name: x, for: 5s }",
                "timeline[0].inject: exec needs the command that injects it",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [] }",
                "timeline[0].inject: needs a program, then its arguments",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [' '] }",
                "timeline[0].inject: needs a program",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [a], heal: [] }",
                "timeline[0].heal: needs a program",
            ),
            (
                "{ at: 1s, fault: exec, for: 5s, inject: [a] }",
                "timeline[0].name: exec needs a name",
            ),
            (
                "{ at: 1s, fault: exec, name: '', for: 5s, inject: [a] }",
                "timeline[0].name: must not be empty",
            ),
            (
                "{ at: 1s, fault: exec, name: x, inject: [a] }",
                "timeline[0].for: a fault needs a duration",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [a], timeout: 0s }",
                "timeline[0].timeout: must be more than 0s",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [a], timeout: 2h }",
                "timeline[0].timeout: must be at most 1h",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [a], target: eu-a-1 }",
                "timeline[0].target: exec names no part of the run",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [a], regions: [ap] }",
                "timeline[0].regions: `ap` is not a region of the topology (its regions: eu, us)",
            ),
            (
                "{ at: 1s, fault: exec, name: x, for: 5s, inject: [a], regions: [] }",
                "timeline[0].regions: list at least one region",
            ),
            (
                "{ at: 1s, fault: external, name: x, for: 5s, inject: [a] }",
                "timeline[0].inject: external does not take `inject` (it takes: name, regions)",
            ),
            (
                "{ at: 1s, fault: kill, target: eu-a-1, for: 5s, heal: [a] }",
                "timeline[0].heal: kill does not take `heal`",
            ),
        ];
        for (step, expected) in cases {
            let said = problems(step);
            assert!(
                said.iter().any(|p| p.contains(expected)),
                "{step}: expected {expected:?} in {said:#?}"
            );
            assert!(
                said.iter().all(|p| p.starts_with("13 ")),
                "{step}: each at its line: {said:#?}"
            );
        }
    }

    #[test]
    fn a_command_line_reads_back_as_the_words_it_runs() {
        let c = Command {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "docker kill 'x'".into(),
                "".into(),
            ],
            timeout: DEFAULT_TIMEOUT,
            dir: None,
        };
        assert_eq!(c.line(), r#"sh -c 'docker kill '\''x'\''' ''"#);
        let script = Command {
            argv: vec!["sh".into(), "-c".into(), "set -e\necho 'a\\b'\n".into()],
            ..c
        };
        assert_eq!(script.line(), r#"sh -c $'set -e\necho \'a\\b\'\n'"#);
    }
}
