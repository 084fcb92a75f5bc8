//! The fleet's configuration: SCS's own runner config (`Tests/config.toml` of
//! SovereignCloudStack/standards, read by `scs-test-runner.py`) plus a few per-subject settings
//! of ours, documented in `docs/fleet.md`.
//!
//! ```toml
//! [secrets]                       # SCS: signing key and monitor token, relative to this file
//! keyfile = ".secret/keyfile"
//! tokenfile = ".secret/tokenfile"
//! [presets.kaas]                  # SCS: what `--preset kaas` certifies
//! scopes = ["scs-compatible-kaas"]
//! subjects = ["noris-1.35", "syself-1.35"]
//! workers = 4
//! [scopes.scs-compatible-kaas]    # SCS: the scope file (we use our definition of that scope)
//! spec = "./scs-compatible-kaas.yaml"
//! [subjects._.mapping]            # SCS: variables of every subject; `{subject}` is replaced
//! subject_root = "{subject}"
//! kubeconfig = "{subject}/kubeconfig.yaml"
//! [subjects._]                    # ours: defaults of every subject
//! timeout = "6h"
//! [subjects.noris-1.35]           # ours: one subject
//! context = "admin@noris"
//! cni = "cilium"
//! [subjects.management]           # ours: the cluster the fleet runs in (as a Kubernetes Job)
//! in_cluster = true
//! ```
//!
//! `scs-test-runner.py` reads only `secrets`, `presets`, `scopes` and `subjects.*.mapping`, so the
//! same file works with both runners. Errors name the file, line, column and key; unknown keys
//! are warnings, not errors (a newer SCS config may add some).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::args::parse_duration;

/// Subject table holding the defaults of every subject (`[subjects._]`), as in SCS.
pub const DEFAULT_SUBJECT: &str = "_";
/// Time limit of one subject (all its test cases) when the config says nothing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// SCS's default number of concurrent checks (`--num-workers`).
pub const DEFAULT_WORKERS: usize = 5;

/// One problem in the config, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    /// 1-based; 0 when the position is unknown.
    pub line: usize,
    pub column: usize,
    /// Dotted key path, e.g. `presets.kaas.workers`; empty for syntax errors.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a config could not be used: every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    secrets: RawSecrets,
    #[serde(default)]
    presets: BTreeMap<String, Spanned<RawPreset>>,
    #[serde(default)]
    scopes: BTreeMap<String, Spanned<RawScope>>,
    #[serde(default)]
    subjects: BTreeMap<String, Spanned<RawSubject>>,
}

#[derive(Deserialize, Default)]
struct RawSecrets {
    keyfile: Option<String>,
    tokenfile: Option<String>,
}

#[derive(Deserialize)]
struct RawPreset {
    scopes: Vec<Spanned<String>>,
    subjects: Vec<Spanned<String>>,
    workers: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
struct RawScope {
    spec: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawSubject {
    #[serde(default)]
    mapping: BTreeMap<String, Spanned<String>>,
    context: Option<String>,
    cni: Option<String>,
    namespace: Option<String>,
    timeout: Option<Spanned<String>>,
    stall_timeout: Option<Spanned<String>>,
    scs_sonobuoy_config: Option<String>,
    args: Option<Vec<String>>,
    in_cluster: Option<Spanned<bool>>,
}

/// A preset: scopes × subjects, with a concurrency limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub scopes: Vec<String>,
    pub subjects: Vec<String>,
    pub workers: Option<usize>,
}

/// Our per-subject settings, as written (before defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Extras {
    context: Option<String>,
    cni: Option<String>,
    namespace: Option<String>,
    timeout: Option<Duration>,
    stall_timeout: Option<Duration>,
    scs_sonobuoy_config: Option<PathBuf>,
    args: Option<Vec<String>>,
    in_cluster: Option<bool>,
}

/// How the checks of a subject reach its API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterAccess {
    /// A kubeconfig file (`mapping.kubeconfig`, relative to the config's directory).
    Kubeconfig(PathBuf),
    /// The service account of the pod the fleet runs in (`in_cluster = true`): for certifying
    /// the cluster that runs the fleet as a Kubernetes Job.
    InCluster,
}

/// Everything a fleet run needs to know about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    /// SCS's variables (`kubeconfig`, `subject_root`, …), interpolated, as written.
    pub mapping: BTreeMap<String, String>,
    pub access: ClusterAccess,
    pub context: Option<String>,
    pub cni: Option<String>,
    pub namespace: Option<String>,
    /// For all test cases of one (scope, subject).
    pub timeout: Duration,
    pub stall_timeout: Option<Duration>,
    /// SCS's okToFail list for the e2e test cases (`--scs-sonobuoy-config`).
    pub scs_sonobuoy_config: Option<PathBuf>,
    /// `parallel`, `serial` or `dry` (SCS's scope variable, from the mapping).
    pub execution_mode: String,
    /// More `scs-check` arguments, appended as they are.
    pub args: Vec<String>,
}

/// A loaded, validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    /// Directory of the file: relative paths in it are relative to this (as in SCS).
    pub dir: PathBuf,
    pub keyfile: Option<PathBuf>,
    pub tokenfile: Option<PathBuf>,
    pub presets: BTreeMap<String, Preset>,
    /// Scope name → the `spec` file named (informational: we certify our definition of the
    /// scope with that id).
    pub scopes: BTreeMap<String, Option<String>>,
    default_mapping: BTreeMap<String, String>,
    mappings: BTreeMap<String, BTreeMap<String, String>>,
    default_extras: Extras,
    extras: BTreeMap<String, Extras>,
    /// Unknown keys and other things worth saying, each naming file and key.
    pub warnings: Vec<String>,
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, col)
}

/// Python's `str.format(subject=...)` as `scs-test-runner.py` applies it to the default mapping:
/// `{subject}` is replaced, `{{` and `}}` are literal braces, any other field is an error.
fn interpolate(template: &str, subject: &str) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + subject.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(r) = tail.strip_prefix("{{") {
            out.push('{');
            rest = r;
        } else if let Some(r) = tail.strip_prefix("}}") {
            out.push('}');
            rest = r;
        } else if let Some(r) = tail.strip_prefix("{subject}") {
            out.push_str(subject);
            rest = r;
        } else {
            let field: String = tail.chars().take(24).collect();
            return Err(format!(
                "only {{subject}} can be substituted (use {{{{ and }}}} for literal braces), found {field:?}"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

struct Loader<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Loader<'_> {
    fn problem(&mut self, span: Option<std::ops::Range<usize>>, key: &str, message: String) {
        let (line, column) = span.map_or((0, 0), |s| line_col(self.text, s.start));
        self.problems.push(ConfigProblem {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message,
        });
    }

    fn duration(&mut self, v: &Option<Spanned<String>>, key: &str) -> Option<Duration> {
        let v = v.as_ref()?;
        match parse_duration(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(Some(v.span()), key, e);
                None
            }
        }
    }

    fn extras(&mut self, name: &str, raw: &RawSubject, dir: &Path) -> Extras {
        let key = |k: &str| format!("subjects.{}.{k}", toml_key(name));
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Extras {
            context: nonempty(&raw.context),
            cni: nonempty(&raw.cni),
            namespace: nonempty(&raw.namespace),
            timeout: self.duration(&raw.timeout, &key("timeout")),
            stall_timeout: self.duration(&raw.stall_timeout, &key("stall_timeout")),
            scs_sonobuoy_config: nonempty(&raw.scs_sonobuoy_config).map(|p| dir.join(p)),
            args: raw.args.clone(),
            in_cluster: raw.in_cluster.as_ref().map(|b| *b.get_ref()),
        }
    }
}

/// A key path without the internals of `Spanned` (`a.$__serde_spanned_private_value.b` → `a.b`).
fn clean_path(p: &str) -> String {
    p.split('.')
        .filter(|s| !s.starts_with("$__serde_spanned"))
        .collect::<Vec<_>>()
        .join(".")
}

/// A key as TOML would need it written in a dotted path.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            problems: vec![ConfigProblem {
                file: file.to_path_buf(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read: {e}"),
            }],
        })?;
        Self::parse(file, &text)
    }

    /// Validates a config's text; `file` names it in messages and anchors relative paths.
    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        let mut loader = Loader {
            file,
            text,
            problems: Vec::new(),
        };
        let mut unknown = Vec::new();
        let raw: RawConfig = match toml::de::Deserializer::parse(text) {
            Err(e) => {
                loader.problem(e.span(), "", e.message().to_string());
                return Err(ConfigError {
                    problems: loader.problems,
                });
            }
            Ok(de) => {
                let mut track = serde_path_to_error::Track::new();
                let de = serde_path_to_error::Deserializer::new(de, &mut track);
                let result = serde_ignored::deserialize(de, |path| {
                    // Free-form tables: every key of a mapping is an SCS variable.
                    let p = clean_path(&path.to_string());
                    if !p.contains(".mapping.") {
                        unknown.push(p);
                    }
                });
                match result {
                    Ok(raw) => raw,
                    Err(e) => {
                        let path = clean_path(&track.path().to_string());
                        let key = if path == "." { String::new() } else { path };
                        loader.problem(e.span(), &key, e.message().to_string());
                        return Err(ConfigError {
                            problems: loader.problems,
                        });
                    }
                }
            }
        };
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let warnings = unknown
            .into_iter()
            .map(|k| format!("{}: unknown key {k} (ignored)", file.display()))
            .collect();

        let mut presets = BTreeMap::new();
        for (name, p) in &raw.presets {
            let span = p.span();
            let p = p.get_ref();
            let key = |k: &str| format!("presets.{}.{k}", toml_key(name));
            let mut list = |items: &[Spanned<String>], what: &str| -> Vec<String> {
                if items.is_empty() {
                    loader.problem(Some(span.clone()), &key(what), "must not be empty".into());
                }
                let mut out = Vec::new();
                for (i, s) in items.iter().enumerate() {
                    let v = s.get_ref().trim();
                    if v.is_empty() {
                        loader.problem(
                            Some(s.span()),
                            &format!("{}[{i}]", key(what)),
                            "must not be empty".into(),
                        );
                    } else if !out.iter().any(|o: &String| o == v) {
                        out.push(v.to_string());
                    }
                }
                out
            };
            let scopes = list(&p.scopes, "scopes");
            let subjects = list(&p.subjects, "subjects");
            let workers = match &p.workers {
                None => None,
                Some(w) if (1..=1024).contains(w.get_ref()) => Some(*w.get_ref() as usize),
                Some(w) => {
                    loader.problem(
                        Some(w.span()),
                        &key("workers"),
                        format!("must be between 1 and 1024, not {}", w.get_ref()),
                    );
                    None
                }
            };
            presets.insert(
                name.clone(),
                Preset {
                    scopes,
                    subjects,
                    workers,
                },
            );
        }

        let scopes = raw
            .scopes
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().spec.clone()))
            .collect();

        let mut default_mapping = BTreeMap::new();
        let mut mappings = BTreeMap::new();
        let mut default_extras = Extras::default();
        let mut extras = BTreeMap::new();
        for (name, s) in &raw.subjects {
            let ex = loader.extras(name, s.get_ref(), &dir);
            let mapping: BTreeMap<String, String> = s
                .get_ref()
                .mapping
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect();
            if name == DEFAULT_SUBJECT {
                if let Some(b) = &s.get_ref().in_cluster {
                    loader.problem(
                        Some(b.span()),
                        "subjects._.in_cluster",
                        "in_cluster can only be set for one subject (the cluster the fleet runs in), not for every subject".to_string(),
                    );
                }
                // Check the templates once, with a placeholder subject.
                for (k, v) in &s.get_ref().mapping {
                    if let Err(e) = interpolate(v.get_ref(), "x") {
                        loader.problem(
                            Some(v.span()),
                            &format!("subjects._.mapping.{}", toml_key(k)),
                            e,
                        );
                    }
                }
                default_mapping = mapping;
                default_extras = ex;
            } else {
                mappings.insert(name.clone(), mapping);
                extras.insert(name.clone(), ex);
            }
            for (k, v) in &s.get_ref().mapping {
                if k == "execution_mode"
                    && !["parallel", "serial", "dry"].contains(&v.get_ref().as_str())
                {
                    loader.problem(
                        Some(v.span()),
                        &format!("subjects.{}.mapping.execution_mode", toml_key(name)),
                        format!("must be parallel, serial or dry, not {:?}", v.get_ref()),
                    );
                }
            }
        }
        if !loader.problems.is_empty() {
            return Err(ConfigError {
                problems: loader.problems,
            });
        }
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty()).map(|p| dir.join(p));
        Ok(Config {
            file: file.to_path_buf(),
            keyfile: nonempty(raw.secrets.keyfile),
            tokenfile: nonempty(raw.secrets.tokenfile),
            dir,
            presets,
            scopes,
            default_mapping,
            mappings,
            default_extras,
            extras,
            warnings,
        })
    }

    /// A subject's settings: the default mapping interpolated, overridden by its own mapping
    /// (not interpolated, as in SCS), and our extras over `[subjects._]`'s.
    pub fn subject(&self, name: &str) -> Result<Subject, ConfigProblem> {
        let problem = |key: String, message: String| ConfigProblem {
            file: self.file.clone(),
            line: 0,
            column: 0,
            key,
            message,
        };
        let mut mapping = BTreeMap::new();
        for (k, v) in &self.default_mapping {
            let value = interpolate(v, name)
                .map_err(|e| problem(format!("subjects._.mapping.{}", toml_key(k)), e))?;
            mapping.insert(k.clone(), value);
        }
        if let Some(own) = self.mappings.get(name) {
            mapping.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let own = self.extras.get(name).cloned().unwrap_or_default();
        let d = &self.default_extras;
        // `in_cluster` is per subject only: a default for every subject would point them all at
        // the one cluster the fleet runs in.
        let access = if own.in_cluster == Some(true) {
            ClusterAccess::InCluster
        } else {
            let Some(kubeconfig) = mapping.get("kubeconfig").filter(|k| !k.trim().is_empty())
            else {
                return Err(problem(
                    format!("subjects.{}.mapping.kubeconfig", toml_key(name)),
                    format!(
                        "subject {name} has no kubeconfig (set kubeconfig in [subjects._.mapping] or [subjects.{}.mapping], or in_cluster = true in [subjects.{}])",
                        toml_key(name),
                        toml_key(name)
                    ),
                ));
            };
            ClusterAccess::Kubeconfig(self.dir.join(kubeconfig))
        };
        Ok(Subject {
            name: name.to_string(),
            access,
            context: own.context.or_else(|| d.context.clone()),
            cni: own.cni.or_else(|| d.cni.clone()),
            namespace: own.namespace.or_else(|| d.namespace.clone()),
            timeout: own.timeout.or(d.timeout).unwrap_or(DEFAULT_TIMEOUT),
            stall_timeout: own.stall_timeout.or(d.stall_timeout),
            scs_sonobuoy_config: own
                .scs_sonobuoy_config
                .or_else(|| d.scs_sonobuoy_config.clone()),
            execution_mode: mapping
                .get("execution_mode")
                .cloned()
                .unwrap_or_else(|| "parallel".into()),
            args: own.args.or_else(|| d.args.clone()).unwrap_or_default(),
            mapping,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("cfg/config.toml"), text)
    }

    fn first_problem(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.problems[0].to_string(),
        }
    }

    #[test]
    fn interpolation_is_pythons_format_with_subject_only() {
        assert_eq!(
            interpolate("{subject}/kc.yaml", "a-1").unwrap(),
            "a-1/kc.yaml"
        );
        assert_eq!(interpolate("{{x}}-{subject}", "s").unwrap(), "{x}-s");
        assert!(interpolate("{os_cloud}", "s").is_err());
        assert!(interpolate("{subject", "s").is_err());
        assert!(interpolate("a}b", "s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(21600));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("", 10), (1, 1));
    }

    #[test]
    fn bad_configs_name_file_line_and_key() {
        let cases: &[(&str, &str)] = &[
            (
                "[presets.x]\nscopes = [\"a\"]\n",
                "cfg/config.toml:1:1: presets.x: missing field `subjects`",
            ),
            (
                "[presets.x]\nscopes = [\"a\"]\nsubjects = [\"b\"]\nworkers = \"four\"\n",
                "cfg/config.toml:4:11: presets.x.workers:",
            ),
            (
                "[presets.x]\nscopes = [\"a\"]\nsubjects = [\"b\"]\nworkers = 0\n",
                "cfg/config.toml:4:11: presets.x.workers: must be between 1 and 1024, not 0",
            ),
            (
                "[presets.x]\nscopes = []\nsubjects = [\"b\"]\n",
                "presets.x.scopes: must not be empty",
            ),
            ("[presets.x\n", "cfg/config.toml:1:"),
            (
                "[subjects._.mapping]\nkubeconfig = \"{os_cloud}/kc\"\n",
                "cfg/config.toml:2:14: subjects._.mapping.kubeconfig: only {subject} can be substituted",
            ),
            (
                "[subjects.a]\ntimeout = \"6x\"\n",
                "cfg/config.toml:2:11: subjects.a.timeout: invalid duration \"6x\"",
            ),
            (
                "[subjects.a]\nargs = \"--date\"\n",
                "cfg/config.toml:2:8: subjects.a.args:",
            ),
            (
                "[subjects.a.mapping]\nexecution_mode = \"fast\"\n",
                "subjects.a.mapping.execution_mode: must be parallel, serial or dry",
            ),
            ("secrets = 3\n", "cfg/config.toml:1:11: secrets:"),
        ];
        for (text, want) in cases {
            let got = first_problem(text);
            assert!(
                got.starts_with(want) || got.contains(want),
                "{text:?}\n got: {got}\nwant: {want}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let c = parse("[presets.x]\nscopes = [\"a\"]\nsubjects = [\"b\"]\ncolour = 1\n[subjects._.mapping]\nanything = \"x\"\n").unwrap();
        assert_eq!(
            c.warnings,
            vec!["cfg/config.toml: unknown key presets.x.colour (ignored)"]
        );
    }

    #[test]
    fn subject_mapping_and_extras() {
        let c = parse(
            "[subjects._.mapping]\nsubject_root = \"{subject}\"\nkubeconfig = \"{subject}/kubeconfig.yaml\"\n\
             [subjects._]\ntimeout = \"2h\"\ncni = \"calico\"\n\
             [subjects.a]\ncontext = \"ctx\"\ntimeout = \"30m\"\nargs = [\"--date\", \"2026-05-01\"]\n\
             [subjects.a.mapping]\nkubeconfig = \"/abs/kc\"\nexecution_mode = \"serial\"\n",
        )
        .unwrap();
        let a = c.subject("a").unwrap();
        assert_eq!(a.access, ClusterAccess::Kubeconfig("/abs/kc".into()));
        assert_eq!(a.mapping["subject_root"], "a");
        assert_eq!(a.context.as_deref(), Some("ctx"));
        assert_eq!(a.cni.as_deref(), Some("calico"));
        assert_eq!(a.timeout, Duration::from_secs(1800));
        assert_eq!(a.execution_mode, "serial");
        assert_eq!(a.args, vec!["--date", "2026-05-01"]);
        let b = c.subject("b").unwrap();
        assert_eq!(
            b.access,
            ClusterAccess::Kubeconfig("cfg/b/kubeconfig.yaml".into())
        );
        assert_eq!(b.timeout, Duration::from_secs(7200));
        assert_eq!(b.execution_mode, "parallel");
        let none = parse("").unwrap();
        let e = none.subject("z").unwrap_err().to_string();
        assert!(e.contains("subject z has no kubeconfig"), "{e}");
    }

    #[test]
    fn the_cluster_the_fleet_runs_in_is_a_subject_without_a_kubeconfig() {
        let c = parse(
            "[subjects._.mapping]\nkubeconfig = \"{subject}/kc\"\n[subjects.self]\nin_cluster = true\n",
        )
        .unwrap();
        assert_eq!(c.subject("self").unwrap().access, ClusterAccess::InCluster);
        assert_eq!(
            c.subject("other").unwrap().access,
            ClusterAccess::Kubeconfig("cfg/other/kc".into())
        );
        // Every subject in the one cluster the fleet runs in is a mistake, not a default.
        assert_eq!(
            first_problem("[subjects._]\nin_cluster = true\n"),
            "cfg/config.toml:2:14: subjects._.in_cluster: in_cluster can only be set for one subject (the cluster the fleet runs in), not for every subject"
        );
    }

    #[test]
    fn scs_own_config_loads() {
        // tests/fixtures/fleet/scs-config.toml: SCS's Tests/config.toml, unchanged (PROVENANCE.md).
        let c = Config::parse(
            Path::new("Tests/config.toml"),
            include_str!("../../tests/fixtures/fleet/scs-config.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.keyfile, Some(PathBuf::from("Tests/.secret/keyfile")));
        assert_eq!(c.tokenfile, Some(PathBuf::from("Tests/.secret/tokenfile")));
        let kaas3 = &c.presets["kaas3"];
        assert_eq!(kaas3.scopes, vec!["scs-compatible-kaas"]);
        assert_eq!(
            kaas3.subjects,
            vec!["noris-1.35", "scaleup-1.35", "syself-1.35", "teuto-1.35"]
        );
        assert_eq!(kaas3.workers, Some(4));
        assert_eq!(c.presets["kaas-dev"].workers, Some(1));
        assert_eq!(c.presets["default"].workers, None);
        assert_eq!(c.presets.len(), 7);
        assert_eq!(
            c.scopes["scs-compatible-kaas"].as_deref(),
            Some("./scs-compatible-kaas.yaml")
        );
        let s = c.subject("syself-1.35").unwrap();
        assert_eq!(
            s.access,
            ClusterAccess::Kubeconfig("Tests/syself-1.35/kubeconfig.yaml".into())
        );
        assert_eq!(s.mapping["subject_root"], "syself-1.35");
        assert_eq!(s.mapping["os_cloud"], "syself-1.35");
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.execution_mode, "parallel");
    }
}
