//! Certifying a fleet: many (scope, subject) pairs in one invocation, the way SCS's
//! `Tests/scs-test-runner.py run` does it (docs/fleet.md).
//!
//! * [`config`] reads SCS's runner config (`Tests/config.toml`) and our per-subject settings;
//! * [`select`] turns presets, `--subject`, `--scope` and `--section` into [`Job`]s;
//! * [`runner`] runs every test case of a job as a child process of this very binary
//!   (`scs-conformance scs-check …`, as `scs-compliance-check.py` runs the scope's scripts), jobs
//!   concurrently up to a limit, each with a time limit, Ctrl-C forwarded to every child;
//! * [`report`] writes one SCS report document per job and the fleet's multi-document report;
//!   [`summary`] the fleet's matrix (`summary.md`) and `fleet.json`, [`html`] the same matrix as
//!   `fleet.html`;
//! * [`reuse`] keeps the last result of each test case (`last-results.json`) and decides whether
//!   `--skip-fresh` may reuse it.
//!
//! One job's failure never touches another: a crashed, hung, unreachable or timed-out subject is
//! an ABORT for that subject only. The exit code is rolled up over the fleet at the end.

pub mod config;
pub mod html;
pub mod report;
pub mod reuse;
pub mod runner;
pub mod summary;

use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::{Date, Weekday};

use config::{Config, ConfigProblem, Subject};
use scs_conformance::definitions::catalog::{Catalog, Lifetime, Target};
use scs_conformance::verdict::{self, Verdict};

/// The scope a job certifies: what the report's `spec` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeInfo {
    pub id: String,
    pub name: String,
    pub uuid: String,
    pub url: String,
    /// The versions of our definition of the scope (a result is reused only for the same ones).
    pub versions: Vec<String>,
}

/// One test case of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestcaseSpec {
    pub id: String,
    /// The module that defines it (`scs-0219-v1`).
    pub module: String,
    /// An e2e test case (a Sonobuoy run); else a native, read-only check.
    pub e2e: bool,
    pub section: Option<String>,
    pub lifetime: Lifetime,
}

/// One (scope, subject): what `scs-test-runner.py` hands to one `scs-compliance-check.py`.
#[derive(Debug, Clone)]
pub struct Job {
    pub scope: ScopeInfo,
    pub subject: Subject,
    /// The scope's test cases that the sections select, in catalog order.
    pub testcases: Vec<TestcaseSpec>,
}

/// What to run, and how.
#[derive(Debug, Clone)]
pub struct Plan {
    pub jobs: Vec<Job>,
    pub workers: usize,
    /// Section filter (`None`: every section).
    pub sections: Option<Vec<String>>,
}

/// The command-line selection, as `scs-test-runner.py run` takes it.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub preset: Option<String>,
    /// Repeatable; each value may be a comma-separated list (SCS's form).
    pub subjects: Vec<String>,
    pub scopes: Vec<String>,
    /// `light,heavy`, or `.auto` (Saturday: light,medium,heavy; other days light,medium).
    pub section: Option<String>,
    pub num_workers: Option<usize>,
}

fn split_list(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values.iter().flat_map(|v| v.split(',')) {
        let v = v.trim();
        if !v.is_empty() && !out.iter().any(|o| o == v) {
            out.push(v.to_string());
        }
    }
    out
}

/// `--section`: a comma-separated list, or `.auto` as in `scs-test-runner.py` (PR #1142).
pub fn sections(section: Option<&str>, today: Date) -> Option<Vec<String>> {
    let s = section?.trim();
    if s.is_empty() {
        return None;
    }
    if s == ".auto" {
        let list = if today.weekday() == Weekday::Saturday {
            "light,medium,heavy"
        } else {
            "light,medium"
        };
        return Some(list.split(',').map(str::to_string).collect());
    }
    Some(split_list(&[s.to_string()]))
}

/// Builds the plan: which (scope, subject) pairs, which test cases, how many at once.
pub fn select(
    config: &Config,
    catalog: &Catalog,
    sel: &Selection,
    today: Date,
) -> Result<Plan, Vec<ConfigProblem>> {
    let problem = |key: &str, message: String| ConfigProblem {
        file: config.file.clone(),
        line: 0,
        column: 0,
        key: key.to_string(),
        message,
    };
    let mut problems = Vec::new();
    let cli_subjects = split_list(&sel.subjects);
    let cli_scopes = split_list(&sel.scopes);
    // As scs-test-runner.py: no preset, scope or subject given means the preset `default`.
    let preset_name = sel
        .preset
        .clone()
        .or_else(|| (cli_subjects.is_empty() && cli_scopes.is_empty()).then(|| "default".into()));
    let (mut scopes, mut subjects, mut workers) = (cli_scopes.clone(), cli_subjects.clone(), None);
    if let Some(name) = &preset_name {
        let Some(p) = config.presets.get(name) else {
            let known: Vec<&str> = config.presets.keys().map(String::as_str).collect();
            return Err(vec![problem(
                &format!("presets.{name}"),
                format!("no such preset (presets: {})", known.join(", ")),
            )]);
        };
        // With a preset, --scope/--subject narrow it (scs-test-runner.py ignores them).
        for (given, from, what) in [
            (&cli_scopes, &p.scopes, "scopes"),
            (&cli_subjects, &p.subjects, "subjects"),
        ] {
            for g in given {
                if !from.contains(g) {
                    problems.push(problem(
                        &format!("presets.{name}.{what}"),
                        format!("{g} is not in preset {name} ({})", from.join(", ")),
                    ));
                }
            }
        }
        scopes = if cli_scopes.is_empty() {
            p.scopes.clone()
        } else {
            cli_scopes.clone()
        };
        subjects = if cli_subjects.is_empty() {
            p.subjects.clone()
        } else {
            cli_subjects.clone()
        };
        workers = p.workers;
    }
    if scopes.is_empty() || subjects.is_empty() {
        problems.push(problem(
            "",
            "both scope(s) and subject(s) must be non-empty (--scope, --subject, or --preset)"
                .into(),
        ));
    }
    let sections = sections(sel.section.as_deref(), today);
    let mut infos = Vec::new();
    for s in &scopes {
        if !config.scopes.contains_key(s) {
            problems.push(problem(
                &format!("scopes.{s}"),
                format!(
                    "scope {s} is not declared in the config (scopes: {})",
                    config.scopes.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
            continue;
        }
        match scope_info(catalog, s, sections.as_deref()) {
            Ok(i) => infos.push(i),
            Err(m) => problems.push(problem(&format!("scopes.{s}"), m)),
        }
    }
    let mut resolved = Vec::new();
    for s in &subjects {
        match config.subject(s) {
            Ok(subject) => resolved.push(subject),
            Err(p) => problems.push(p),
        }
    }
    // Each subject has a folder of its own: two whose names map to one folder would overwrite
    // each other's outputs and last results.
    for (i, a) in subjects.iter().enumerate() {
        if let Some(b) = subjects[..i]
            .iter()
            .find(|b| path_component(b) == path_component(a))
        {
            problems.push(problem(
                &format!("subjects.{a}"),
                format!(
                    "subjects {b:?} and {a:?} would share the output folder {}; rename one",
                    path_component(a)
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut jobs = Vec::new();
    for (scope, testcases) in &infos {
        for subject in &resolved {
            jobs.push(Job {
                scope: scope.clone(),
                subject: subject.clone(),
                testcases: testcases.clone(),
            });
        }
    }
    Ok(Plan {
        jobs,
        workers: sel
            .num_workers
            .or(workers)
            .unwrap_or(config::DEFAULT_WORKERS)
            .max(1),
        sections,
    })
}

/// A scope of our catalog by id, with its test cases (union over its versions, as
/// `scs-compliance-check.py` takes the union of the valid versions' targets) in the sections.
fn scope_info(
    catalog: &Catalog,
    id: &str,
    sections: Option<&[String]>,
) -> Result<(ScopeInfo, Vec<TestcaseSpec>), String> {
    let Some(scope) = catalog
        .scopes
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
    else {
        let known: Vec<&str> = catalog.scopes.iter().map(|s| s.id.as_str()).collect();
        return Err(format!(
            "scs-conformance has no definition of scope {id} (it certifies: {})",
            known.join(", ")
        ));
    };
    let (Some(uuid), Some(url)) = (scope.uuid.clone(), scope.url.clone()) else {
        return Err(format!(
            "scope {id} has no uuid or url in its definition ({})",
            scope.file
        ));
    };
    let mut testcases: Vec<TestcaseSpec> = Vec::new();
    for v in &scope.versions {
        let target = Target::Scope { scope, version: v };
        for (_, tcs) in catalog.modules_of(&target) {
            for tc in tcs {
                if testcases.iter().any(|t| t.id == tc.id) {
                    continue;
                }
                if let Some(secs) = sections
                    && !tc
                        .section
                        .as_ref()
                        .is_some_and(|s| secs.iter().any(|x| x == s))
                {
                    continue;
                }
                testcases.push(TestcaseSpec {
                    id: tc.id.clone(),
                    module: tc.module.clone(),
                    e2e: matches!(
                        tc.check,
                        scs_conformance::definitions::catalog::Check::E2e(_)
                    ),
                    section: tc.section.clone(),
                    lifetime: tc.lifetime,
                });
            }
        }
    }
    Ok((
        ScopeInfo {
            id: scope.id.clone(),
            name: scope.name.clone(),
            uuid,
            url,
            versions: scope.versions.iter().map(|v| v.version.clone()).collect(),
        },
        testcases,
    ))
}

/// How one test case of a job ended.
#[derive(Debug, Clone)]
pub struct TestcaseOutcome {
    pub id: String,
    pub module: String,
    pub lifetime: Lifetime,
    pub verdict: Verdict,
    /// Why, in one line (the check's last `critical:`/`error:` line, or what the runner saw).
    pub reason: String,
    /// The child's command line, shell-quoted; empty when it never started.
    pub cmd: String,
    pub rc: Option<i32>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    /// The value for the report's `results` (`None`: no result, as SCS when a script says
    /// nothing).
    pub result: Option<i8>,
    /// Relative to the fleet's output directory.
    pub dir: PathBuf,
    pub seconds: f64,
    /// Not run: the last result, still fresh, reused (`--skip-fresh`). `cmd` is then empty, so
    /// this run's report has no invocation for it.
    pub reused: Option<reuse::Reused>,
}

/// How one job ended.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub scope: ScopeInfo,
    pub subject: String,
    pub mapping: std::collections::BTreeMap<String, String>,
    pub testcases: Vec<TestcaseOutcome>,
    pub verdict: Verdict,
    /// Relative to the fleet's output directory.
    pub dir: PathBuf,
    /// When the job started: local wall-clock time (the report's `checked_at`), and the instant.
    pub started: jiff::civil::DateTime,
    pub started_at: jiff::Timestamp,
    /// `run.uuid` of this job's report document.
    pub run_uuid: String,
    pub seconds: f64,
    pub timed_out: bool,
    pub interrupted: bool,
    /// `Some(Ok(message))` stored / already stored, `Some(Err(message))` failed, `None` not asked.
    pub published: Option<Result<String, String>>,
}

/// What a fleet summary lists under "Not passed": every test case that did not pass, and every
/// report that could not be published.
pub(crate) struct NotPassed<'a> {
    pub testcases: Vec<(&'a JobOutcome, &'a TestcaseOutcome)>,
    pub publish_errors: Vec<(&'a JobOutcome, &'a String)>,
}

impl<'a> NotPassed<'a> {
    pub(crate) fn of(jobs: &'a [JobOutcome]) -> NotPassed<'a> {
        NotPassed {
            testcases: jobs
                .iter()
                .flat_map(|j| j.testcases.iter().map(move |t| (j, t)))
                .filter(|(_, t)| t.verdict != Verdict::Pass)
                .collect(),
            publish_errors: jobs
                .iter()
                .filter_map(|j| match &j.published {
                    Some(Err(e)) => Some((j, e)),
                    _ => None,
                })
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.testcases.is_empty() && self.publish_errors.is_empty()
    }
}

impl JobOutcome {
    /// The job's verdict: SCS's precedence over the test cases that ran (FAIL > MISSING > ABORT >
    /// PASS); a job with no test case (sections selected none) is PASS.
    pub fn rollup(testcases: &[TestcaseOutcome]) -> Verdict {
        if testcases.is_empty() {
            return Verdict::Pass;
        }
        verdict::overall(testcases.iter().map(|t| t.verdict))
    }
}

/// The fleet's exit code (`exit_codes::native::for_fleet`): the verdict roll-up over every
/// job, or 5 when all passed but a publish failed.
pub fn exit_code(jobs: &[JobOutcome]) -> u8 {
    scs_conformance::exit_codes::native::for_fleet(
        verdict::overall(jobs.iter().map(|j| j.verdict)),
        jobs.iter().any(|j| matches!(j.published, Some(Err(_)))),
    )
}

/// A file or directory name for a subject or scope: its name, with anything outside
/// `[A-Za-z0-9._-]` replaced (subject names come from a config file).
pub fn path_component(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.as_str() {
        "" | "." | ".." => format!("_{s}"),
        _ => s,
    }
}

/// `1h 02m 03s`-style duration for humans.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn today() -> Date {
        jiff::civil::date(2026, 12, 2) // a Wednesday
    }

    fn scs_config() -> Config {
        Config::parse(
            Path::new("Tests/config.toml"),
            include_str!("../../tests/fixtures/fleet/scs-config.toml"),
        )
        .unwrap()
    }

    fn catalog() -> Catalog {
        Catalog::load(&scs_conformance::definitions::builtin::standards()).unwrap()
    }

    #[test]
    fn auto_sections_follow_scs() {
        assert_eq!(
            sections(Some(".auto"), today()).unwrap(),
            vec!["light", "medium"]
        );
        let sat = jiff::civil::date(2026, 12, 5);
        assert_eq!(
            sections(Some(".auto"), sat).unwrap(),
            vec!["light", "medium", "heavy"]
        );
        assert_eq!(sections(Some(""), sat), None);
        assert_eq!(
            sections(Some("light, heavy"), sat).unwrap(),
            vec!["light", "heavy"]
        );
    }

    #[test]
    fn preset_selects_scope_times_subjects() {
        let sel = Selection {
            preset: Some("kaas3".into()),
            section: Some("light".into()),
            ..Default::default()
        };
        let plan = select(&scs_config(), &catalog(), &sel, today()).unwrap();
        assert_eq!(plan.workers, 4);
        assert_eq!(plan.jobs.len(), 4);
        assert_eq!(plan.jobs[0].subject.name, "noris-1.35");
        assert_eq!(
            plan.jobs[0].scope.uuid,
            "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180"
        );
        let ids: Vec<&str> = plan.jobs[0]
            .testcases
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(ids, vec!["version-policy-check", "node-distribution-check"]);
        // Explicit --num-workers wins; --subject narrows the preset.
        let sel = Selection {
            preset: Some("kaas3".into()),
            subjects: vec!["syself-1.35,teuto-1.35".into()],
            num_workers: Some(2),
            ..Default::default()
        };
        let plan = select(&scs_config(), &catalog(), &sel, today()).unwrap();
        assert_eq!(plan.workers, 2);
        assert_eq!(plan.jobs.len(), 2);
        assert_eq!(plan.jobs[0].testcases.len(), 4);
    }

    #[test]
    fn bad_selections_are_explained() {
        let err = |sel: Selection| {
            select(&scs_config(), &catalog(), &sel, today())
                .unwrap_err()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        // The default preset is SCS's IaaS scope, which we do not certify.
        let e = err(Selection::default());
        assert!(e.contains("scopes.scs-compatible-iaas: scs-conformance has no definition of scope scs-compatible-iaas"), "{e}");
        let e = err(Selection {
            preset: Some("nope".into()),
            ..Default::default()
        });
        assert!(
            e.contains("presets.nope: no such preset (presets: default, iaas, kaas"),
            "{e}"
        );
        let e = err(Selection {
            preset: Some("kaas1".into()),
            subjects: vec!["x".into()],
            ..Default::default()
        });
        assert!(e.contains("x is not in preset kaas1"), "{e}");
        let e = err(Selection {
            scopes: vec!["unknown".into()],
            subjects: vec!["a".into()],
            ..Default::default()
        });
        assert!(
            e.contains("scope unknown is not declared in the config"),
            "{e}"
        );
        let e = err(Selection {
            subjects: vec!["a".into()],
            ..Default::default()
        });
        assert!(
            e.contains("both scope(s) and subject(s) must be non-empty"),
            "{e}"
        );
    }

    #[test]
    fn subjects_sharing_a_folder_are_refused() {
        let sel = Selection {
            scopes: vec!["scs-compatible-kaas".into()],
            subjects: vec!["a b,a_b".into()],
            ..Default::default()
        };
        let e = select(&scs_config(), &catalog(), &sel, today()).unwrap_err();
        assert!(
            e[0].to_string()
                .contains("subjects \"a b\" and \"a_b\" would share the output folder a_b"),
            "{e:?}"
        );
    }

    #[test]
    fn path_components_are_safe() {
        assert_eq!(path_component("noris-1.35"), "noris-1.35");
        assert_eq!(path_component("../x y"), ".._x_y");
        assert_eq!(path_component(".."), "_..");
        assert_eq!(path_component(""), "_");
    }
}
