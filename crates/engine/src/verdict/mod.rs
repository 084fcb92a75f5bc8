//! The verdict engine: from a test case's selection, the e2e report and the waivers that apply,
//! to an outcome per selected test and a verdict per test case, module and scope.
//!
//! A test case passes when every e2e test its focus/skip selects, minus waived tests, passed.
//! Anything less is not a pass: a selection that ran nothing, or ran only part of what it
//! selected, is ABORT (SCS's "did not finish"), never PASS.

pub mod certify;
pub mod rerun;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::definitions::catalog::{
    Check, E2eCheck, Lifetime, Module, NativeCheck, Target, Testcase,
};
use crate::definitions::inventory::Inventory;
use crate::definitions::testname;
use crate::definitions::waiver::{ClusterContext, Waiver, WaiverStatus};
use crate::evidence::cni::Cni;
use crate::evidence::e2e_junit::{E2eReport, GinkgoFormat, Skip, TestResult, failure_headline};

/// A verdict in SCS's words, ordered by precedence: when rolling up, the greatest wins
/// (FAIL > MISSING > ABORT > PASS, as in SCS's `scs_cert_lib.evaluate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    /// Did not finish: nothing, or not everything that was selected, ran.
    Abort,
    /// Not evaluated: no result for a test case the target requires.
    Missing,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Abort => "ABORT",
            Verdict::Missing => "MISSING",
            Verdict::Fail => "FAIL",
        }
    }

    /// SCS's numeric result (`1`, `0`, `-1`); MISSING has none.
    pub fn scs_value(self) -> Option<i8> {
        match self {
            Verdict::Pass => Some(1),
            Verdict::Abort => Some(0),
            Verdict::Fail => Some(-1),
            Verdict::Missing => None,
        }
    }
}

/// What happened to one selected e2e test, after waivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Selected, but the test skipped itself (e.g. a missing prerequisite).
    SkippedAtRuntime,
    /// Selected, but the run did not run it (other focus, or absent from the report).
    NotRun,
    /// Failed, and an active waiver covers it.
    Waived,
    /// Passed although an active waiver covers it: the waiver may be stale.
    WaivedButPassed,
    /// Did not run, and an active waiver covers it (waived tests are not launched by default).
    WaivedNotRun,
}

/// One selected e2e test in a verdict.
#[derive(Debug, Clone, Serialize)]
pub struct TestVerdict {
    /// Spec text, without Ginkgo's `[It] ` prefix.
    pub name: String,
    pub outcome: Outcome,
    /// Failure message, or the runtime skip reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Id of the waiver that covers the test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// The run (`runs[].number` of a merged verdict) this result comes from; only in verdicts
    /// of `rerun-failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<u32>,
}

/// How many selected tests ended how. `passed` counts every selected test that passed, so it
/// includes `waived_but_passed`; the other counts are disjoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub selected: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped_at_runtime: usize,
    pub not_run: usize,
    pub waived: usize,
    pub waived_but_passed: usize,
    pub waived_not_run: usize,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.selected += 1;
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::SkippedAtRuntime => self.skipped_at_runtime += 1,
            Outcome::NotRun => self.not_run += 1,
            Outcome::Waived => self.waived += 1,
            Outcome::WaivedButPassed => {
                self.passed += 1;
                self.waived_but_passed += 1;
            }
            Outcome::WaivedNotRun => self.waived_not_run += 1,
        }
    }
}

/// A waiver as it bore on one test case.
#[derive(Debug, Clone, Serialize)]
pub struct WaiverUse {
    pub id: String,
    pub status: WaiverStatus,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<jiff::civil::Date>,
    /// Where the waiver is defined.
    pub origin: String,
    /// Selected tests whose name the waiver matches (whether or not it applied).
    pub tests: Vec<String>,
}

/// How a test case was checked, as recorded in the verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CheckInfo {
    E2e {
        focus: String,
        skip: String,
        parallel: bool,
        ginkgo_args: Vec<String>,
    },
    Native {
        check: NativeCheck,
    },
}

/// The verdict for one test case.
#[derive(Debug, Clone, Serialize)]
pub struct TestcaseVerdict {
    pub id: String,
    pub module: String,
    pub verdict: Verdict,
    /// One sentence saying why.
    pub reason: String,
    pub lifetime: Lifetime,
    pub check: CheckInfo,
    /// The CNI the waivers were chosen for.
    pub cni: Cni,
    pub counts: Counts,
    /// Waivers that cover this test case, with their status; expired ones included.
    pub waivers: Vec<WaiverUse>,
    pub tests: Vec<TestVerdict>,
    /// Findings of a native check.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// Warnings that did not change the verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The runs (`runs[].number`) this test case's evidence comes from; only in verdicts of
    /// `rerun-failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<u32>,
}

/// The verdict for one module.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleVerdict {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub verdict: Verdict,
    pub testcases: Vec<TestcaseVerdict>,
}

/// The result of a native (non-e2e) check, e.g. SCS-0210's version policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NativeOutcome {
    pub verdict: Verdict,
    /// One sentence saying why.
    pub reason: String,
    /// What the check found, one finding per line (e.g. `node cp-1: no topology.kubernetes.io/zone`).
    pub findings: Vec<String>,
    /// Problems that do not change the verdict (e.g. stale release data).
    pub warnings: Vec<String>,
}

/// Why there is no evidence: anything that displays as a reason (an error, a text).
pub trait Reason: std::fmt::Display + std::fmt::Debug {}
impl<T: std::fmt::Display + std::fmt::Debug + ?Sized> Reason for T {}

/// The evidence a test case is judged on.
#[derive(Debug, Clone, Copy)]
pub enum Evidence<'a> {
    /// Nothing was run for this test case.
    None,
    /// The run produced no report, and why (a typed error, or a text).
    Broken(&'a dyn Reason),
    /// An e2e report.
    Report(&'a E2eReport),
    /// The result of a native check.
    Native(&'a NativeOutcome),
}

/// The spec list that shows whether an e2e test case's evidence is complete: every spec of it
/// that the selection picks must be in the e2e report, or the test case did not finish.
#[derive(Debug, Clone, Copy, Default)]
pub enum SpecList<'a> {
    /// The built-in inventory of the cluster's Kubernetes minor, if there is one.
    #[default]
    BuiltIn,
    /// This inventory: the one a live run planned from (a given file, or the spec list of the
    /// cluster's own conformance image), or one given for offline results.
    Given(&'a Inventory),
}

impl<'a> SpecList<'a> {
    /// `Given` when there is an inventory, else `BuiltIn`.
    pub fn from_option(inventory: Option<&'a Inventory>) -> Self {
        inventory.map_or(SpecList::BuiltIn, SpecList::Given)
    }
}

/// Evaluates one test case, checking completeness against the built-in inventory of the
/// cluster's minor ([`evaluate_testcase_against`] with [`SpecList::BuiltIn`]).
pub fn evaluate_testcase(
    tc: &Testcase,
    evidence: Evidence<'_>,
    waivers: &[Waiver],
    ctx: &ClusterContext,
) -> TestcaseVerdict {
    evaluate_testcase_against(tc, evidence, waivers, ctx, SpecList::BuiltIn)
}

/// Evaluates one test case; its e2e evidence must hold every spec of `specs` that the test
/// case's selection picks.
pub fn evaluate_testcase_against(
    tc: &Testcase,
    evidence: Evidence<'_>,
    waivers: &[Waiver],
    ctx: &ClusterContext,
    specs: SpecList<'_>,
) -> TestcaseVerdict {
    let mut verdict = unjudged(tc, ctx);
    let e2e = match &tc.check {
        Check::E2e(e) => e,
        Check::Native(n) => {
            judge_native(&mut verdict, *n, evidence);
            return verdict;
        }
    };
    let report = match evidence {
        Evidence::None | Evidence::Native(_) => {
            verdict.reason = "no e2e results for this test case".into();
            return verdict;
        }
        Evidence::Broken(why) => {
            verdict.reason = why.to_string();
            return verdict;
        }
        Evidence::Report(r) => r,
    };

    let mut covering = Covering::new(waivers, tc, ctx);
    // A test can appear twice (Ginkgo v1 retries); the worst result stands.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for test in report
        .tests
        .iter()
        .filter(|t| e2e.selection.selects(&t.name))
    {
        let waiver = covering.waiver_for(&test.name);
        let (outcome, message) = outcome_of(&test.result, waiver.is_some());
        let record = TestVerdict {
            name: test.name.clone(),
            outcome,
            message,
            waiver,
            duration_seconds: test.duration,
            run: None,
        };
        match seen.get(test.name.as_str()) {
            Some(&i) => {
                if severity(outcome) > severity(verdict.tests[i].outcome) {
                    verdict.tests[i] = record;
                }
            }
            None => {
                seen.insert(&test.name, verdict.tests.len());
                verdict.tests.push(record);
            }
        }
    }
    // Completeness: every spec the selection picks from the inventory (the run's, else the
    // built-in one of this Kubernetes minor) must be in the report; one that is absent did not
    // run.
    let builtin;
    let inventory = match specs {
        SpecList::Given(inv) => Some(inv),
        SpecList::BuiltIn => {
            builtin = builtin_inventory(ctx);
            builtin.as_deref()
        }
    };
    let absent = match inventory {
        Some(inv) => absent_specs(inv, e2e, report, &seen),
        None => {
            verdict.warnings.push(completeness_not_checked(ctx));
            Vec::new()
        }
    };
    for spec in &absent {
        let waiver = covering.waiver_for(spec);
        verdict.tests.push(TestVerdict {
            name: spec.to_string(),
            outcome: if waiver.is_some() {
                Outcome::WaivedNotRun
            } else {
                Outcome::NotRun
            },
            message: inventory.map(|inv| {
                format!(
                    "not in the e2e report, although the {} lists it",
                    inv.source
                )
            }),
            waiver,
            duration_seconds: None,
            run: None,
        });
    }
    for t in &verdict.tests {
        verdict.counts.add(t.outcome);
    }
    verdict.waivers = covering.uses();
    let (v, reason) = judge(&verdict.counts, report.format);
    let absent_note = match (inventory, absent.len()) {
        (Some(inv), n) if n > 0 && v == Verdict::Abort => format!(
            "; {n} selected specs are missing from the e2e report but listed in the {}: {}",
            inv.source,
            sample(&absent)
        ),
        _ => String::new(),
    };
    (verdict.verdict, verdict.reason) = overrule(v, reason + &absent_note, report);
    verdict
}

/// A test case's verdict before any evidence is looked at: ABORT, nothing counted.
fn unjudged(tc: &Testcase, ctx: &ClusterContext) -> TestcaseVerdict {
    TestcaseVerdict {
        id: tc.id.clone(),
        module: tc.module.clone(),
        verdict: Verdict::Abort,
        reason: String::new(),
        lifetime: tc.lifetime,
        check: match &tc.check {
            Check::E2e(e) => CheckInfo::E2e {
                focus: e.selection.focus().to_string(),
                skip: e.selection.skip().to_string(),
                parallel: e.parallel,
                ginkgo_args: e.ginkgo_args.clone(),
            },
            Check::Native(n) => CheckInfo::Native { check: *n },
        },
        cni: ctx.cni.clone(),
        counts: Counts::default(),
        waivers: Vec::new(),
        tests: Vec::new(),
        findings: Vec::new(),
        warnings: Vec::new(),
        runs: Vec::new(),
    }
}

/// A native check is judged by its own outcome; offline there is none (MISSING).
fn judge_native(verdict: &mut TestcaseVerdict, check: NativeCheck, evidence: Evidence<'_>) {
    match evidence {
        Evidence::Native(outcome) => {
            verdict.verdict = outcome.verdict;
            verdict.reason = outcome.reason.clone();
            verdict.findings = outcome.findings.clone();
            verdict.warnings = outcome.warnings.clone();
        }
        Evidence::Broken(why) => verdict.reason = why.to_string(),
        Evidence::None | Evidence::Report(_) => {
            verdict.verdict = Verdict::Missing;
            verdict.reason = format!(
                "not evaluated: the native {} check needs a live cluster",
                native_name(check)
            );
        }
    }
}

/// What a reported test counts as, and the message that says why.
fn outcome_of(result: &TestResult, waived: bool) -> (Outcome, Option<String>) {
    let (plain, if_waived, message) = match result {
        TestResult::Passed => (Outcome::Passed, Outcome::WaivedButPassed, None),
        // A flake retry that passed is a pass, marked so it is not mistaken for a clean one.
        TestResult::Flaky { attempts, message } => (
            Outcome::Passed,
            Outcome::WaivedButPassed,
            Some(format!(
                "flaky: passed on attempt {attempts} after failing: {}",
                failure_headline(message)
            )),
        ),
        TestResult::Failed { message, .. } => {
            (Outcome::Failed, Outcome::Waived, Some(message.clone()))
        }
        TestResult::Skipped(Skip::AtRuntime { reason }) => (
            Outcome::SkippedAtRuntime,
            Outcome::WaivedNotRun,
            Some(reason.clone()),
        ),
        TestResult::Skipped(_) => (Outcome::NotRun, Outcome::WaivedNotRun, None),
    };
    (if waived { if_waived } else { plain }, message)
}

/// The waivers that cover a test case, each with its status and the tests it matched.
struct Covering<'w> {
    waivers: Vec<(&'w Waiver, WaiverStatus)>,
    matched: Vec<Vec<String>>,
}

impl<'w> Covering<'w> {
    fn new(waivers: &'w [Waiver], tc: &Testcase, ctx: &ClusterContext) -> Self {
        let waivers: Vec<_> = waivers
            .iter()
            .filter(|w| w.covers(tc))
            .map(|w| (w, w.status(ctx)))
            .collect();
        let matched = vec![Vec::new(); waivers.len()];
        Covering { waivers, matched }
    }

    /// Records `name` with every waiver that matches it; returns the first active one.
    fn waiver_for(&mut self, name: &str) -> Option<String> {
        let mut active = None;
        for (i, (w, status)) in self.waivers.iter().enumerate() {
            if w.matches(name) {
                self.matched[i].push(name.to_string());
                if active.is_none() && *status == WaiverStatus::Active {
                    active = Some(w.id.clone());
                }
            }
        }
        active
    }

    /// The waivers to show: those that matched a test, and active or expired ones even when
    /// they matched nothing (stale waivers show).
    fn uses(self) -> Vec<WaiverUse> {
        self.waivers
            .into_iter()
            .zip(self.matched)
            .filter(|((_, status), tests)| {
                !tests.is_empty()
                    || *status == WaiverStatus::Active
                    || *status == WaiverStatus::Expired
            })
            .map(|((w, status), tests)| WaiverUse {
                id: w.id.clone(),
                status,
                reason: w.reason.clone(),
                tracking: w.tracking.clone(),
                expires: w.expires,
                origin: w.origin.to_string(),
                tests,
            })
            .collect()
    }
}

/// The specs of `inv` that the selection picks and the report lacks, each once. `seen`: the
/// selected tests of the report by name.
fn absent_specs(
    inv: &Inventory,
    e2e: &E2eCheck,
    report: &E2eReport,
    seen: &HashMap<&str, usize>,
) -> Vec<String> {
    let selected: Vec<&String> = inv
        .specs
        .iter()
        .filter(|s| e2e.selection.selects(s))
        .collect();
    // A selected spec reported under the same name is among the selected tests (`seen`). Only
    // for the others are canonical forms compared, and then only those of the reported tests
    // that can equal a selected spec (thousands of names otherwise, each a new string).
    let mut reported: Option<HashSet<String>> = None;
    let mut listed = HashSet::new();
    let mut absent = Vec::new();
    for &spec in &selected {
        if seen.contains_key(spec.as_str()) {
            continue;
        }
        let reported = reported.get_or_insert_with(|| {
            let keys: HashSet<(usize, u64)> = selected
                .iter()
                .map(|s| testname::spacing_free_key(s))
                .collect();
            report
                .tests
                .iter()
                .filter(|t| keys.contains(&testname::spacing_free_key(&t.name)))
                .map(|t| testname::canonical(&t.name))
                .collect()
        });
        let canonical = testname::canonical(spec);
        if reported.contains(&canonical) || !listed.insert(canonical) {
            continue;
        }
        absent.push(spec.clone());
    }
    absent
}

/// The warning of a verdict judged without any inventory.
fn completeness_not_checked(ctx: &ClusterContext) -> String {
    let version = ctx.kubernetes.as_ref().map_or_else(
        || "an unknown Kubernetes version".to_string(),
        |v| format!("Kubernetes {}.{}", v.major, v.minor),
    );
    format!(
        "completeness not checked: there is no inventory of the e2e suite of {version}, so a \
         report that lists fewer specs than the suite has would go unnoticed; give the \
         Kubernetes version (--k8s-version, a Sonobuoy archive) or an inventory (--inventory)"
    )
}

/// The report-level evidence that outranks the per-spec tally: a failed suite node fails every
/// test case judged on the run; a report that contradicts itself or its logs is never PASS.
fn overrule(v: Verdict, reason: String, report: &E2eReport) -> (Verdict, String) {
    if let Some(node) = report.suite_failures.first() {
        let message = match &node.result {
            TestResult::Failed { message, .. } => failure_headline(message),
            _ => "",
        };
        let why = format!("the e2e suite node {} failed: {message}", node.name);
        return match v {
            Verdict::Fail => (Verdict::Fail, format!("{reason}; {why}")),
            _ => (Verdict::Fail, why),
        };
    }
    if v == Verdict::Fail || report.discrepancies.is_empty() {
        return (v, reason);
    }
    (
        Verdict::Abort,
        format!(
            "the e2e evidence is inconsistent, so not everything selected can be shown to have run: {}",
            report.discrepancies.join("; ")
        ),
    )
}

/// The first few names of a list, for a one-sentence reason.
fn sample(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut out = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

/// The built-in inventory of the cluster's Kubernetes minor, parsed once per process.
fn builtin_inventory(ctx: &ClusterContext) -> Option<Arc<Inventory>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Inventory>>>>> = OnceLock::new();
    let v = ctx.kubernetes.as_ref()?;
    let minor = format!("{}.{}", v.major, v.minor);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache
        .entry(minor.clone())
        .or_insert_with(|| Inventory::builtin(&minor).ok().map(Arc::new))
        .clone()
}

/// Orders outcomes for de-duplication: a failure outweighs a pass.
fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::Failed => 6,
        Outcome::Waived => 5,
        Outcome::SkippedAtRuntime => 4,
        Outcome::NotRun => 3,
        Outcome::WaivedNotRun => 2,
        Outcome::WaivedButPassed => 1,
        Outcome::Passed => 0,
    }
}

fn judge(c: &Counts, format: GinkgoFormat) -> (Verdict, String) {
    let waived = c.waived + c.waived_not_run;
    let mut waived_note = if waived > 0 {
        format!(", {waived} waived")
    } else {
        String::new()
    };
    if c.waived_but_passed > 0 {
        waived_note.push_str(&format!(
            "; {} more passed although a waiver applies",
            c.waived_but_passed
        ));
    }
    if c.failed > 0 {
        return (
            Verdict::Fail,
            format!(
                "{} of {} selected tests failed{waived_note}",
                c.failed, c.selected
            ),
        );
    }
    if c.selected == 0 {
        return (
            Verdict::Abort,
            "the results contain no test that this selection selects".into(),
        );
    }
    let did_not_run = c.not_run + c.skipped_at_runtime;
    if did_not_run > 0 {
        let hint = if c.passed == 0 && c.skipped_at_runtime == 0 {
            match format {
                GinkgoFormat::V2 => " (the run's focus/skip did not select them)",
                GinkgoFormat::V1 => "",
            }
        } else {
            ""
        };
        return (
            Verdict::Abort,
            format!(
                "{did_not_run} of {} selected tests did not run{hint}",
                c.selected
            ),
        );
    }
    if c.passed == 0 {
        return (
            Verdict::Abort,
            format!("no selected test ran: all {} are waived", c.selected),
        );
    }
    (
        Verdict::Pass,
        format!(
            "{} of {} selected tests passed{waived_note}",
            c.passed, c.selected
        ),
    )
}

fn native_name(n: NativeCheck) -> &'static str {
    match n {
        NativeCheck::VersionPolicy => "version-policy",
        NativeCheck::NodeDistribution => "node-distribution",
    }
}

/// Rolls test case verdicts up into module verdicts for a target.
pub fn rollup_modules(
    modules: &[(&Module, Vec<&Testcase>)],
    mut testcases: Vec<TestcaseVerdict>,
) -> Vec<ModuleVerdict> {
    modules
        .iter()
        .map(|(m, wanted)| {
            let mine: Vec<TestcaseVerdict> = wanted
                .iter()
                .filter_map(|tc| {
                    testcases
                        .iter()
                        .position(|v| v.id == tc.id)
                        .map(|i| testcases.remove(i))
                })
                .collect();
            ModuleVerdict {
                id: m.id.clone(),
                name: m.name.clone(),
                url: m.url.clone(),
                verdict: overall(mine.iter().map(|t| t.verdict)),
                testcases: mine,
            }
        })
        .collect()
}

/// The combined verdict of several; an empty set has no evidence and is MISSING, never PASS.
pub fn overall(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts.into_iter().max().unwrap_or(Verdict::Missing)
}

/// What kind of thing was certified.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    pub kind: TargetKind,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub name: String,
    /// Set when `--focus`/`--skip` narrowed the standard's selection: the verdicts then say
    /// what those specs did, and certify nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrowed: Option<Narrowed>,
}

/// The command line's narrowing of a standard, as recorded in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Narrowed {
    pub focus: String,
    pub skip: String,
    pub note: String,
}

/// What every output says of a narrowed run.
pub const NOT_A_CERTIFICATION: &str =
    "not a certification: --focus/--skip narrowed the standard's selection";

/// What a certification is of: a scope (at a version), a module, or a single test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Scope,
    Module,
    Testcase,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Scope => "scope",
            TargetKind::Module => "module",
            TargetKind::Testcase => "testcase",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&Target<'_>> for TargetInfo {
    fn from(t: &Target<'_>) -> Self {
        match t {
            Target::Scope { scope, version } => TargetInfo {
                kind: TargetKind::Scope,
                id: scope.id.clone(),
                version: Some(version.version.clone()),
                name: scope.name.clone(),
                narrowed: None,
            },
            Target::Module(m) => TargetInfo {
                kind: TargetKind::Module,
                id: m.id.clone(),
                version: None,
                name: m.name.clone(),
                narrowed: None,
            },
            Target::Testcase { testcase, .. } => TargetInfo {
                kind: TargetKind::Testcase,
                id: testcase.id.clone(),
                version: None,
                name: testcase.description.clone(),
                narrowed: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::builtin;
    use crate::definitions::catalog::Catalog;
    use crate::evidence::e2e_junit::E2eTest;

    /// The NetworkPolicy specs of the 1.33 inventory, as a cluster's own spec list of a version
    /// without a built-in inventory (1.38) would hold them.
    fn listed(catalog: &Catalog) -> (&Testcase, Inventory) {
        let (_, tc) = catalog.testcase("kaas-networking-check").unwrap();
        let Check::E2e(e2e) = &tc.check else {
            unreachable!()
        };
        let specs: Vec<String> = Inventory::builtin("1.33")
            .unwrap()
            .specs
            .into_iter()
            .filter(|s| e2e.selection.selects(s))
            .collect();
        assert!(specs.len() > 3);
        let inventory = Inventory {
            source: "spec list of registry.k8s.io/conformance:v1.38.0".into(),
            specs,
        };
        (tc, inventory)
    }

    #[test]
    fn completeness_is_checked_against_the_inventory_the_run_planned_from() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let (tc, inventory) = listed(&catalog);
        let ctx = ClusterContext::of_server(
            Cni::unknown(),
            Some("v1.38.0"),
            jiff::civil::date(2026, 12, 1),
        );
        // Every listed spec passed but the last, which is not in the report.
        let (missing, ran) = inventory.specs.split_last().unwrap();
        let report = E2eReport {
            tests: ran
                .iter()
                .map(|s| E2eTest {
                    name: s.clone(),
                    result: TestResult::Passed,
                    duration: Some(1.0),
                })
                .collect(),
            ..Default::default()
        };
        // No built-in inventory for 1.38: without the run's, the drop would pass unseen.
        let builtin = evaluate_testcase(tc, Evidence::Report(&report), &[], &ctx);
        assert_eq!(builtin.verdict, Verdict::Pass, "{}", builtin.reason);

        let v = evaluate_testcase_against(
            tc,
            Evidence::Report(&report),
            &[],
            &ctx,
            SpecList::Given(&inventory),
        );
        assert_eq!(v.verdict, Verdict::Abort, "{}", v.reason);
        assert!(
            v.reason.contains(
                "1 selected specs are missing from the e2e report but listed in the spec list of registry.k8s.io/conformance:v1.38.0"
            ),
            "{}",
            v.reason
        );
        let absent = v.tests.iter().find(|t| &t.name == missing).unwrap();
        assert_eq!(absent.outcome, Outcome::NotRun);
        assert_eq!(
            absent.message.as_deref(),
            Some(
                "not in the e2e report, although the spec list of registry.k8s.io/conformance:v1.38.0 lists it"
            )
        );
    }

    #[test]
    fn precedence_is_fail_missing_abort_pass() {
        assert_eq!(overall([Verdict::Pass, Verdict::Abort]), Verdict::Abort);
        assert_eq!(
            overall([Verdict::Abort, Verdict::Missing, Verdict::Pass]),
            Verdict::Missing
        );
        assert_eq!(overall([Verdict::Missing, Verdict::Fail]), Verdict::Fail);
        assert_eq!(overall([]), Verdict::Missing);
    }

    #[test]
    fn a_selection_that_ran_nothing_is_never_pass() {
        let c = Counts {
            selected: 0,
            ..Default::default()
        };
        assert_eq!(judge(&c, GinkgoFormat::V2).0, Verdict::Abort);
        let all_waived = Counts {
            selected: 3,
            waived_not_run: 3,
            ..Default::default()
        };
        assert_eq!(judge(&all_waived, GinkgoFormat::V2).0, Verdict::Abort);
        let partly = Counts {
            selected: 3,
            passed: 2,
            not_run: 1,
            ..Default::default()
        };
        assert_eq!(judge(&partly, GinkgoFormat::V2).0, Verdict::Abort);
        let failed_and_not_run = Counts {
            selected: 3,
            failed: 1,
            not_run: 2,
            ..Default::default()
        };
        assert_eq!(
            judge(&failed_and_not_run, GinkgoFormat::V2).0,
            Verdict::Fail
        );
    }
}
