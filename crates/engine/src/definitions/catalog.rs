//! Standard definitions: modules (one SCS standard each), their test cases, and scopes.
//!
//! The YAML format is documented in `docs/standards-format.md`. Loading validates everything and
//! reports every problem with file, line and column, not just the first one.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use jiff::civil::Date;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::definitions::selection::{Narrowing, Selection};

/// A position in a definition file, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: String,
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem found while loading definition files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: SourceLocation,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Every problem found in a set of definition files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
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

impl std::error::Error for LoadError {}

/// A definition file's name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    /// Reads every `*.yaml` / `*.yml` file of a directory, sorted by name.
    pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
        let io_problem = |e: std::io::Error| LoadError {
            problems: vec![Problem {
                at: SourceLocation {
                    file: dir.display().to_string(),
                    line: 0,
                    column: 0,
                },
                message: format!("cannot read directory: {e}"),
            }],
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_problem)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                std::fs::read_to_string(&p)
                    .map(|text| SourceFile {
                        name: p.display().to_string(),
                        text,
                    })
                    .map_err(|e| LoadError {
                        problems: vec![Problem {
                            at: SourceLocation {
                                file: p.display().to_string(),
                                line: 0,
                                column: 0,
                            },
                            message: format!("cannot read file: {e}"),
                        }],
                    })
            })
            .collect()
    }
}

/// How long a test case's result stays valid on the SCS compliance dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifetime {
    Day,
    #[default]
    Week,
    Month,
    Quarter,
    Year,
}

impl Lifetime {
    /// The lifetime's name in a definition (`week`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lifetime::Day => "day",
            Lifetime::Week => "week",
            Lifetime::Month => "month",
            Lifetime::Quarter => "quarter",
            Lifetime::Year => "year",
        }
    }

    /// When a result checked at `checked_at` stops being valid, by SCS-0004's regulations as the
    /// compliance monitor applies them to a report's local `checked_at`: whole calendar periods,
    /// valid before the returned midnight, not at it. `day`: until the start of the day after
    /// next; `week`: until the start of the Monday after next; `month`: until the first day of
    /// the month after next; `quarter`: until the first day of the quarter after next; `year`:
    /// until the first day of the month after next, one year on.
    pub fn expiry(self, checked_at: jiff::civil::DateTime) -> jiff::civil::DateTime {
        use jiff::ToSpan;
        let d = checked_at.date();
        let expires = match self {
            Lifetime::Day => d.saturating_add(2.days()),
            Lifetime::Week => {
                let since_monday = i64::from(d.weekday().to_monday_zero_offset());
                d.saturating_add((14 - since_monday).days())
            }
            Lifetime::Month => d.first_of_month().saturating_add(2.months()),
            Lifetime::Quarter => {
                let quarter_start = (d.month() - 1) / 3 * 3 + 1;
                jiff::civil::Date::new(d.year(), quarter_start, 1)
                    .unwrap_or(d)
                    .saturating_add(6.months())
            }
            Lifetime::Year => d.first_of_month().saturating_add(14.months()),
        };
        expires.to_datetime(jiff::civil::Time::midnight())
    }
}

/// The checks that are implemented natively (Kubernetes API calls), not by an e2e run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NativeCheck {
    /// SCS-0210: the cluster's Kubernetes version is supported and recent.
    VersionPolicy,
    /// SCS-0214: nodes are spread over hosts and zones.
    NodeDistribution,
}

/// An e2e-backed check: what to select from the Kubernetes e2e suite and how to run it.
#[derive(Debug, Clone)]
pub struct E2eCheck {
    pub selection: Selection,
    /// Whether the selected specs may run with `ginkgo --p`.
    pub parallel: bool,
    /// Extra ginkgo flags (`E2E_EXTRA_GINKGO_ARGS`), e.g. `--flake-attempts=2`.
    pub ginkgo_args: Vec<String>,
}

/// How a test case is checked.
#[derive(Debug, Clone)]
pub enum Check {
    E2e(E2eCheck),
    Native(NativeCheck),
}

/// A test case: the unit SCS reports results for (`kaas-networking-check`).
#[derive(Debug, Clone)]
pub struct Testcase {
    pub id: String,
    /// Id of the module that defines it.
    pub module: String,
    pub lifetime: Lifetime,
    pub section: Option<String>,
    pub description: String,
    pub url: Option<String>,
    pub check: Check,
}

/// A module: one version of one SCS standard (`scs-0219-v1`).
#[derive(Debug, Clone)]
pub struct Module {
    pub id: String,
    pub name: String,
    pub url: Option<String>,
    pub description: Option<String>,
    pub testcases: Vec<Testcase>,
    pub file: String,
}

/// One version of a scope.
#[derive(Debug, Clone)]
pub struct ScopeVersion {
    pub version: String,
    pub stabilized_at: Option<Date>,
    /// Module ids, all present in the catalog.
    pub include: Vec<String>,
}

/// A scope: a certificate that groups modules (`scs-compatible-kaas`).
#[derive(Debug, Clone)]
pub struct Scope {
    pub id: String,
    pub name: String,
    pub uuid: Option<String>,
    pub url: Option<String>,
    pub versions: Vec<ScopeVersion>,
    pub file: String,
}

/// All loaded definitions.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub modules: Vec<Module>,
    pub scopes: Vec<Scope>,
}

/// What `--standard` named.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Scope {
        scope: &'a Scope,
        version: &'a ScopeVersion,
    },
    Module(&'a Module),
    Testcase {
        module: &'a Module,
        testcase: &'a Testcase,
    },
}

impl Target<'_> {
    /// The id to show for this target (`scs-compatible-kaas v1`, `scs-0219-v1`, …).
    pub fn id(&self) -> String {
        match self {
            Target::Scope { scope, version } => format!("{} {}", scope.id, version.version),
            Target::Module(m) => m.id.clone(),
            Target::Testcase { testcase, .. } => testcase.id.clone(),
        }
    }
}

/// Why a `--standard` name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no scope, module or test case named {name:?} (known: {known})")]
    Unknown { name: String, known: String },
    #[error("scope {scope} has no version {version:?} (known: {known})")]
    UnknownVersion {
        scope: String,
        version: String,
        known: String,
    },
    #[error("scope {scope} has several versions ({known}): choose one with --version")]
    VersionNeeded { scope: String, known: String },
    #[error("--version only applies to a scope, and {name} is not one")]
    VersionNotApplicable { name: String },
}

impl Catalog {
    /// The same definitions with every e2e selection narrowed by the command line's
    /// `--focus`/`--skip` (for debugging; the verdicts then certify nothing).
    pub fn narrowed(&self, narrowing: &Narrowing) -> Catalog {
        let mut narrowed = self.clone();
        for tc in narrowed
            .modules
            .iter_mut()
            .flat_map(|m| m.testcases.iter_mut())
        {
            if let Check::E2e(e2e) = &mut tc.check {
                e2e.selection = e2e.selection.narrowed(narrowing.clone());
            }
        }
        narrowed
    }

    /// Loads and validates definition files.
    pub fn load(files: &[SourceFile]) -> Result<Catalog, LoadError> {
        let mut problems = Vec::new();
        let mut catalog = Catalog::default();
        // Every id with where it was defined, to find duplicates across files and kinds.
        let mut ids: HashMap<String, SourceLocation> = HashMap::new();
        let mut includes: Vec<(String, Spanned<String>)> = Vec::new();

        for file in files {
            let raw: RawFile = match serde_saphyr::from_str(&file.text) {
                Ok(raw) => raw,
                Err(e) => {
                    problems.push(yaml_problem(&file.name, &e));
                    continue;
                }
            };
            let at = |s: &serde_saphyr::Location| location(&file.name, s);
            let mut claim = |id: &Spanned<String>, kind: &str, problems: &mut Vec<Problem>| {
                let here = at(&id.referenced);
                if !is_valid_id(&id.value) {
                    problems.push(Problem {
                        at: here.clone(),
                        message: format!(
                            "{kind} id {:?} must be lowercase letters, digits and dashes",
                            id.value
                        ),
                    });
                }
                if let Some(first) = ids.get(&id.value) {
                    problems.push(Problem {
                        at: here,
                        message: format!("duplicate id {:?} (first defined at {first})", id.value),
                    });
                } else {
                    ids.insert(id.value.clone(), here);
                }
            };
            match (raw.module, raw.scope) {
                (Some(m), None) => {
                    claim(&m.id, "module", &mut problems);
                    let mut testcases = Vec::new();
                    if m.testcases.is_empty() {
                        problems.push(Problem {
                            at: at(&m.id.referenced),
                            message: format!("module {} has no testcases", m.id.value),
                        });
                    }
                    for tc in m.testcases {
                        claim(&tc.id, "testcase", &mut problems);
                        let check = match (tc.e2e, tc.native) {
                            (Some(e2e), None) => {
                                let focus_at = at(&e2e.focus.referenced);
                                if e2e.focus.value.trim().is_empty() {
                                    problems.push(Problem {
                                        at: focus_at.clone(),
                                        message: "focus must not be empty (the conformance image would run \\[Conformance\\])".into(),
                                    });
                                }
                                let skip = e2e.skip.as_ref().map_or("", |s| s.value.as_str());
                                let mut ok = true;
                                if let Err(err) = regex::Regex::new(&e2e.focus.value) {
                                    ok = false;
                                    problems.push(Problem {
                                        at: focus_at,
                                        message: format!("invalid focus regex: {}", one_line(&err)),
                                    });
                                }
                                if let Some(s) = &e2e.skip
                                    && let Err(err) = regex::Regex::new(&s.value)
                                {
                                    ok = false;
                                    problems.push(Problem {
                                        at: at(&s.referenced),
                                        message: format!("invalid skip regex: {}", one_line(&err)),
                                    });
                                }
                                if !ok {
                                    continue;
                                }
                                let selection = match Selection::new(&e2e.focus.value, skip) {
                                    Ok(s) => s,
                                    Err(err) => {
                                        problems.push(Problem {
                                            at: at(&e2e.focus.referenced),
                                            message: format!(
                                                "invalid selection: {}",
                                                one_line(&err)
                                            ),
                                        });
                                        continue;
                                    }
                                };
                                Check::E2e(E2eCheck {
                                    selection,
                                    parallel: e2e.parallel,
                                    ginkgo_args: e2e.ginkgo_args,
                                })
                            }
                            (None, Some(native)) => Check::Native(native),
                            _ => {
                                problems.push(Problem {
                                    at: at(&tc.id.referenced),
                                    message: format!(
                                        "testcase {} needs exactly one of `e2e` or `native`",
                                        tc.id.value
                                    ),
                                });
                                continue;
                            }
                        };
                        testcases.push(Testcase {
                            id: tc.id.value,
                            module: m.id.value.clone(),
                            lifetime: tc.lifetime.unwrap_or_default(),
                            section: tc.section,
                            description: tc.description,
                            url: tc.url,
                            check,
                        });
                    }
                    catalog.modules.push(Module {
                        id: m.id.value,
                        name: m.name,
                        url: m.url,
                        description: m.description,
                        testcases,
                        file: file.name.clone(),
                    });
                }
                (None, Some(s)) => {
                    claim(&s.id, "scope", &mut problems);
                    let mut seen_versions: HashMap<String, ()> = HashMap::new();
                    let mut versions = Vec::new();
                    for v in s.versions {
                        if seen_versions.insert(v.version.value.clone(), ()).is_some() {
                            problems.push(Problem {
                                at: at(&v.version.referenced),
                                message: format!(
                                    "duplicate version {:?} in scope {}",
                                    v.version.value, s.id.value
                                ),
                            });
                        }
                        for inc in &v.include {
                            includes.push((file.name.clone(), inc.clone()));
                        }
                        versions.push(ScopeVersion {
                            version: v.version.value,
                            stabilized_at: v.stabilized_at,
                            include: v.include.into_iter().map(|i| i.value).collect(),
                        });
                    }
                    catalog.scopes.push(Scope {
                        id: s.id.value,
                        name: s.name,
                        uuid: s.uuid,
                        url: s.url,
                        versions,
                        file: file.name.clone(),
                    });
                }
                _ => problems.push(Problem {
                    at: SourceLocation {
                        file: file.name.clone(),
                        line: 1,
                        column: 1,
                    },
                    message: "a definition file holds exactly one top-level `module` or `scope`"
                        .into(),
                }),
            }
        }

        for (file, inc) in includes {
            if !catalog.modules.iter().any(|m| m.id == inc.value) {
                problems.push(Problem {
                    at: location(&file, &inc.referenced),
                    message: format!("scope includes unknown module {:?}", inc.value),
                });
            }
        }

        if problems.is_empty() {
            Ok(catalog)
        } else {
            problems.sort_by(|a, b| {
                (&a.at.file, a.at.line, a.at.column).cmp(&(&b.at.file, b.at.line, b.at.column))
            });
            Err(LoadError { problems })
        }
    }

    /// Finds a module by id (case-insensitive).
    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.id.eq_ignore_ascii_case(id))
    }

    /// Finds a test case by id (case-insensitive), with its module.
    pub fn testcase(&self, id: &str) -> Option<(&Module, &Testcase)> {
        self.modules
            .iter()
            .flat_map(|m| m.testcases.iter().map(move |t| (m, t)))
            .find(|(_, t)| t.id.eq_ignore_ascii_case(id))
    }

    /// Resolves what `--standard NAME [--version V]` names: a scope, a module or a test case,
    /// case-insensitively (`SCS-0219-V1` works).
    pub fn resolve(&self, name: &str, version: Option<&str>) -> Result<Target<'_>, ResolveError> {
        if let Some(scope) = self.scopes.iter().find(|s| s.id.eq_ignore_ascii_case(name)) {
            let known = scope
                .versions
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let version = match version {
                Some(v) => scope
                    .versions
                    .iter()
                    .find(|sv| sv.version.eq_ignore_ascii_case(v))
                    .ok_or_else(|| ResolveError::UnknownVersion {
                        scope: scope.id.clone(),
                        version: v.into(),
                        known: known.clone(),
                    })?,
                None if scope.versions.len() == 1 => &scope.versions[0],
                None => {
                    return Err(ResolveError::VersionNeeded {
                        scope: scope.id.clone(),
                        known,
                    });
                }
            };
            return Ok(Target::Scope { scope, version });
        }
        let target = if let Some(m) = self.module(name) {
            Target::Module(m)
        } else if let Some((module, testcase)) = self.testcase(name) {
            Target::Testcase { module, testcase }
        } else {
            let mut known: Vec<&str> = self.scopes.iter().map(|s| s.id.as_str()).collect();
            known.extend(self.modules.iter().map(|m| m.id.as_str()));
            known.extend(
                self.modules
                    .iter()
                    .flat_map(|m| m.testcases.iter().map(|t| t.id.as_str())),
            );
            return Err(ResolveError::Unknown {
                name: name.into(),
                known: known.join(", "),
            });
        };
        if version.is_some() {
            return Err(ResolveError::VersionNotApplicable { name: name.into() });
        }
        Ok(target)
    }

    /// The modules a target consists of, in order, each with the test cases it asks for.
    pub fn modules_of<'a>(&'a self, target: &Target<'a>) -> Vec<(&'a Module, Vec<&'a Testcase>)> {
        match *target {
            Target::Scope { version, .. } => version
                .include
                .iter()
                .filter_map(|id| self.module(id))
                .map(|m| (m, m.testcases.iter().collect()))
                .collect(),
            Target::Module(m) => vec![(m, m.testcases.iter().collect())],
            Target::Testcase { module, testcase } => vec![(module, vec![testcase])],
        }
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn one_line(e: &impl fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn location(file: &str, l: &serde_saphyr::Location) -> SourceLocation {
    SourceLocation {
        file: file.to_string(),
        line: l.line(),
        column: l.column(),
    }
}

/// Turns a YAML/serde error into a problem that names file, line and column.
pub(crate) fn yaml_problem(file: &str, e: &serde_saphyr::Error) -> Problem {
    let at = e
        .location()
        .map(|l| location(file, &l))
        .unwrap_or(SourceLocation {
            file: file.to_string(),
            line: 0,
            column: 0,
        });
    let text = e.without_snippet().to_string();
    // The rendered message may repeat the position; keep its first line only.
    let message = text.lines().next().unwrap_or("invalid YAML").to_string();
    Problem { at, message }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    module: Option<RawModule>,
    scope: Option<RawScope>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    id: Spanned<String>,
    name: String,
    url: Option<String>,
    description: Option<String>,
    #[serde(default)]
    testcases: Vec<RawTestcase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestcase {
    id: Spanned<String>,
    lifetime: Option<Lifetime>,
    section: Option<String>,
    description: String,
    url: Option<String>,
    e2e: Option<RawE2e>,
    native: Option<NativeCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawE2e {
    focus: Spanned<String>,
    skip: Option<Spanned<String>>,
    #[serde(default)]
    parallel: bool,
    #[serde(default)]
    ginkgo_args: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    id: Spanned<String>,
    name: String,
    uuid: Option<String>,
    url: Option<String>,
    versions: Vec<RawScopeVersion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawScopeVersion {
    version: Spanned<String>,
    stabilized_at: Option<Date>,
    include: Vec<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::Lifetime;

    #[test]
    fn lifetimes_end_at_the_midnight_after_the_next_period() {
        use jiff::civil::date;
        let at = |y, m, d| date(y, m, d).at(15, 30, 0, 0);
        let cases = [
            (Lifetime::Day, at(2026, 12, 2), date(2026, 12, 4)),
            (Lifetime::Day, at(2026, 12, 31), date(2027, 1, 2)),
            // 2026-12-02 is a Wednesday: valid through the next week, until Monday 12-14.
            (Lifetime::Week, at(2026, 12, 2), date(2026, 12, 14)),
            (Lifetime::Week, at(2026, 11, 30), date(2026, 12, 14)),
            (Lifetime::Week, at(2026, 12, 6), date(2026, 12, 14)),
            (Lifetime::Month, at(2026, 11, 30), date(2027, 1, 1)),
            (Lifetime::Month, at(2026, 12, 1), date(2027, 2, 1)),
            (Lifetime::Month, at(2026, 1, 31), date(2026, 3, 1)),
            (Lifetime::Quarter, at(2026, 3, 31), date(2026, 7, 1)),
            (Lifetime::Quarter, at(2026, 4, 1), date(2026, 10, 1)),
            (Lifetime::Quarter, at(2026, 12, 2), date(2027, 4, 1)),
            (Lifetime::Year, at(2026, 10, 9), date(2027, 12, 1)),
            (Lifetime::Year, at(2026, 11, 9), date(2028, 1, 1)),
            (Lifetime::Year, at(2026, 12, 9), date(2028, 2, 1)),
        ];
        for (lifetime, checked, want) in cases {
            assert_eq!(
                lifetime.expiry(checked),
                want.at(0, 0, 0, 0),
                "{lifetime:?} checked at {checked}"
            );
        }
    }
}
