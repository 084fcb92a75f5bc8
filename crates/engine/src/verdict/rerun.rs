//! `rerun-failed --from verdict.json`: read an earlier verdict, decide what to run again (the
//! specs that failed or did not run), and merge the new results into a verdict that says which
//! spec came from which run.
//!
//! The merged verdict is judged by the normal rules: each e2e test case is evaluated on one
//! report assembled from the earlier results and, for the specs run again, the new ones, with
//! the waivers and the date of this run. Provenance is recorded per spec (`tests[].run`), per
//! test case (`runs`) and for the document (`runs[]`: number, command, start, and the verdict
//! file each earlier run wrote, with its sha256).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::definitions::catalog::{Catalog, Check, ResolveError, Target, Testcase};
use crate::definitions::selection::Narrowing;
use crate::definitions::waiver::{ClusterContext, Waiver};
use crate::evidence::cni::Cni;
use crate::evidence::e2e_junit::{E2eReport, E2eTest, FailureKind, GinkgoFormat, Skip, TestResult};
use crate::verdict::certify::{self, Certification, ClusterFacts, ResultsInfo, SCHEMA_VERSION};
use crate::verdict::{Evidence, NativeOutcome, Outcome, Reason, SpecList, Verdict};

/// One run whose results a merged verdict holds (`runs[]` of verdict.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// 1 for the first run, then one more per rerun.
    pub number: u32,
    /// The command that made it: `run`, `rerun-failed`, or `verdict` (offline results).
    pub command: String,
    pub started_at: Timestamp,
    /// Namespace of its Sonobuoy runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The UUIDs of its Sonobuoy runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sonobuoy_uuids: Vec<String>,
    /// The verdict.json this run wrote, as the rerun that took its results read it. Absent for
    /// the run that wrote this document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictFile>,
}

/// A verdict.json file as read: where, its content's sha256, when it was generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictFile {
    pub path: String,
    pub sha256: String,
    pub generated_at: Timestamp,
}

/// Why an earlier verdict cannot be rerun. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum RerunError {
    #[error("{}: cannot read the earlier verdict: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a verdict.json of scs-conformance: {why}", .path.display())]
    Malformed { path: PathBuf, why: String },
    #[error(
        "{}: an ABORT record of `{command}` (error.json), not a verdict: nothing ran to rerun from; start with `run`",
        .path.display()
    )]
    ErrorRecord { path: PathBuf, command: String },
    #[error(
        "{}: schema_version {found} is not supported (this scs-conformance reads {SCHEMA_VERSION})",
        .path.display()
    )]
    SchemaVersion { path: PathBuf, found: String },
    #[error("{}: its standard {id} cannot be resolved here: {source}", .path.display())]
    Standard {
        path: PathBuf,
        id: String,
        #[source]
        source: ResolveError,
    },
    #[error("{}: its --focus/--skip narrowing does not compile: {source}", .path.display())]
    Narrowing {
        path: PathBuf,
        #[source]
        source: regex::Error,
    },
    #[error(
        "{}: written for another cluster: its {what} is {earlier}, the cluster of this run has {now}",
        .path.display()
    )]
    OtherCluster {
        path: PathBuf,
        what: &'static str,
        earlier: String,
        now: String,
    },
}

/// verdict.json as read back: only what a rerun needs.
#[derive(Debug, Clone, Deserialize)]
struct Document {
    generated_at: Timestamp,
    target: DocTarget,
    cluster: DocCluster,
    #[serde(default)]
    run: Option<DocRun>,
    #[serde(default)]
    runs: Vec<RunInfo>,
    modules: Vec<DocModule>,
}

#[derive(Debug, Clone, Deserialize)]
struct DocTarget {
    id: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    narrowed: Option<DocNarrowed>,
}

#[derive(Debug, Clone, Deserialize)]
struct DocNarrowed {
    focus: String,
    skip: String,
}

#[derive(Debug, Clone, Deserialize)]
struct DocCluster {
    kubernetes_version: Option<String>,
    #[serde(default)]
    id: Option<String>,
    cni: DocCni,
}

#[derive(Debug, Clone, Deserialize)]
struct DocCni {
    name: String,
    #[serde(default)]
    version: Option<String>,
    source: String,
}

#[derive(Debug, Clone, Deserialize)]
struct DocRun {
    namespace: String,
    #[serde(default)]
    passes: Vec<DocPass>,
}

#[derive(Debug, Clone, Deserialize)]
struct DocPass {
    uuid: String,
    started_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize)]
struct DocModule {
    testcases: Vec<DocTestcase>,
}

#[derive(Debug, Clone, Deserialize)]
struct DocTestcase {
    id: String,
    verdict: Verdict,
    reason: String,
    check: DocCheck,
    tests: Vec<DocTest>,
    #[serde(default)]
    findings: Vec<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct DocCheck {
    kind: DocCheckKind,
}

/// `check.kind` of a test case in verdict.json (`CheckInfo`'s tag); a kind this version does not
/// know is read as such, and its test case is run again in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DocCheckKind {
    E2e,
    Native,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Deserialize)]
struct DocTest {
    name: String,
    outcome: Outcome,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    duration_seconds: Option<f64>,
    #[serde(default)]
    run: Option<u32>,
}

/// An earlier verdict, read and checked (`--from`).
#[derive(Debug, Clone)]
pub struct Earlier {
    path: PathBuf,
    file: VerdictFile,
    doc: Document,
    /// The earlier runs, each with the verdict file it wrote; the last is the one that wrote
    /// this file.
    runs: Vec<RunInfo>,
}

/// The facts of the cluster a rerun is about to run on.
#[derive(Debug, Clone, Default)]
pub struct ClusterIdentity {
    /// UID of `kube-system`, when readable.
    pub id: Option<String>,
    /// Server `gitVersion`.
    pub kubernetes_version: Option<String>,
}

impl Earlier {
    /// Reads and checks a verdict.json: readable, JSON, a verdict (not an ABORT record) of the
    /// supported schema version.
    pub fn load(path: &Path) -> Result<Self, RerunError> {
        let bytes = std::fs::read(path).map_err(|source| RerunError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &bytes)
    }

    /// [`Earlier::load`] on the bytes of the file at `path`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, RerunError> {
        let malformed = |why: String| RerunError::Malformed {
            path: path.to_path_buf(),
            why,
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| malformed("not a JSON object".into()))?;
        if let (Some(command), Some(_)) = (object.get("command"), object.get("error")) {
            return Err(RerunError::ErrorRecord {
                path: path.to_path_buf(),
                command: command.as_str().unwrap_or("?").to_string(),
            });
        }
        match object.get("schema_version") {
            None => return Err(malformed("no schema_version".into())),
            Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
            Some(v) => {
                return Err(RerunError::SchemaVersion {
                    path: path.to_path_buf(),
                    found: v.to_string(),
                });
            }
        }
        if object
            .get("tool")
            .and_then(|t| t.get("name"))
            .and_then(|n| n.as_str())
            != Some(crate::TOOL_NAME)
        {
            return Err(malformed(format!(
                "tool.name is not {:?}",
                crate::TOOL_NAME
            )));
        }
        let doc: Document = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        let file = VerdictFile {
            path: path.display().to_string(),
            sha256: hex(&Sha256::digest(bytes)),
            generated_at: doc.generated_at,
        };
        let mut runs = doc.runs.clone();
        if runs.is_empty() {
            // A verdict of `run` (or `verdict`): its one run is run 1.
            runs.push(RunInfo {
                number: 1,
                command: if doc.run.is_some() { "run" } else { "verdict" }.into(),
                started_at: doc
                    .run
                    .as_ref()
                    .and_then(|r| r.passes.iter().map(|p| p.started_at).min())
                    .unwrap_or(doc.generated_at),
                namespace: doc.run.as_ref().map(|r| r.namespace.clone()),
                sonobuoy_uuids: doc
                    .run
                    .iter()
                    .flat_map(|r| r.passes.iter().map(|p| p.uuid.clone()))
                    .collect(),
                verdict: None,
            });
        }
        for r in &mut runs {
            if r.verdict.is_none() {
                r.verdict = Some(file.clone());
            }
        }
        Ok(Earlier {
            path: path.to_path_buf(),
            file,
            doc,
            runs,
        })
    }

    /// The file as read.
    pub fn file(&self) -> &VerdictFile {
        &self.file
    }

    /// The standard it certified (`target.id`) and its scope version.
    pub fn standard(&self) -> (&str, Option<&str>) {
        (&self.doc.target.id, self.doc.target.version.as_deref())
    }

    /// The earlier `--cni` (`NAME[@VERSION]`), when the CNI was given rather than detected: a
    /// rerun judges with the same CNI's waivers unless told otherwise.
    pub fn cni_flag(&self) -> Option<String> {
        let cni = &self.doc.cluster.cni;
        (cni.source == "flag").then(|| match &cni.version {
            Some(v) => format!("{}@{v}", cni.name),
            None => cni.name.clone(),
        })
    }

    /// The earlier `--focus`/`--skip`, when it was narrowed (not a certification).
    pub fn narrowing(&self) -> Result<Option<Narrowing>, RerunError> {
        let Some(n) = &self.doc.target.narrowed else {
            return Ok(None);
        };
        Narrowing::new(Some(&n.focus), Some(&n.skip)).map_err(|source| RerunError::Narrowing {
            path: self.path.clone(),
            source,
        })
    }

    /// Resolves its standard in `catalog` (narrowed as the earlier verdict was, see
    /// [`Earlier::narrowing`]).
    pub fn resolve<'c>(&self, catalog: &'c Catalog) -> Result<Target<'c>, RerunError> {
        let (id, version) = self.standard();
        catalog
            .resolve(id, version)
            .map_err(|source| RerunError::Standard {
                path: self.path.clone(),
                id: id.to_string(),
                source,
            })
    }

    /// Refuses another cluster: a different `kube-system` UID when both are known, else a
    /// different Kubernetes version (results of another version are not this cluster's either).
    /// Returns a warning when identity could only be judged by version.
    pub fn check_cluster(&self, now: &ClusterIdentity) -> Result<Option<String>, RerunError> {
        let other = |what, earlier: &str, now: &str| RerunError::OtherCluster {
            path: self.path.clone(),
            what,
            earlier: earlier.to_string(),
            now: now.to_string(),
        };
        let earlier = &self.doc.cluster;
        if let (Some(e), Some(n)) = (&earlier.id, &now.id)
            && e != n
        {
            return Err(other("cluster id (kube-system UID)", e, n));
        }
        let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
        if earlier.kubernetes_version != now.kubernetes_version {
            return Err(other(
                "Kubernetes version",
                &version(&earlier.kubernetes_version),
                &version(&now.kubernetes_version),
            ));
        }
        Ok(match (&earlier.id, &now.id) {
            (Some(_), Some(_)) => None,
            _ => Some(format!(
                "{} records no cluster id: the cluster was matched by its Kubernetes version ({}) only",
                self.path.display(),
                version(&now.kubernetes_version)
            )),
        })
    }

    /// The cluster context to judge waivers with before the run: this verdict's Kubernetes
    /// version (a rerun is refused on another one), `cni` (else this verdict's CNI), `today`.
    pub fn context(&self, cni: Option<Cni>, today: jiff::civil::Date) -> ClusterContext {
        let earlier = &self.doc.cluster.cni;
        let cni = cni.unwrap_or_else(|| {
            let flag = match &earlier.version {
                Some(v) => format!("{}@{v}", earlier.name),
                None => earlier.name.clone(),
            };
            Cni::from_flag(&flag).unwrap_or_else(|_| Cni::unknown())
        });
        ClusterContext::of_server(cni, self.doc.cluster.kubernetes_version.as_deref(), today)
    }

    /// What to run again for `target`: per test case, the specs that failed or did not run, and
    /// waived ones that `waived` does not keep (a waiver that no longer applies, `--run-waived`);
    /// the whole test case when its verdict was not PASS without such a spec (no results, a
    /// failed suite node, a native check); or nothing.
    pub fn plan(&self, catalog: &Catalog, target: &Target<'_>, waived: Waived<'_>) -> Rerun {
        let earlier: HashMap<&str, &DocTestcase> = self
            .doc
            .modules
            .iter()
            .flat_map(|m| m.testcases.iter())
            .map(|t| (t.id.as_str(), t))
            .collect();
        let mut plans = HashMap::new();
        for tc in catalog
            .modules_of(target)
            .iter()
            .flat_map(|(_, t)| t.iter().copied())
        {
            let plan = match (earlier.get(tc.id.as_str()), &tc.check) {
                (None, _) => TestcasePlan::Whole,
                (Some(e), Check::E2e(_)) if e.check.kind == DocCheckKind::E2e => {
                    let active = match waived {
                        Waived::Launch => Vec::new(),
                        Waived::Keep { waivers, ctx } => {
                            crate::definitions::waiver::active_for(waivers, tc, ctx)
                        }
                    };
                    let specs: Vec<String> = e
                        .tests
                        .iter()
                        .filter(|t| match t.outcome {
                            Outcome::Failed | Outcome::NotRun | Outcome::SkippedAtRuntime => true,
                            Outcome::Waived | Outcome::WaivedNotRun => {
                                !active.iter().any(|w| w.matches(&t.name))
                            }
                            Outcome::Passed | Outcome::WaivedButPassed => false,
                        })
                        .map(|t| t.name.clone())
                        .collect();
                    let focus_bytes: usize = specs.iter().map(|s| regex::escape(s).len() + 1).sum();
                    if focus_bytes > MAX_EXACT_FOCUS_BYTES {
                        // Too many names for one E2E_FOCUS: run the test case as a whole.
                        TestcasePlan::Whole
                    } else if !specs.is_empty() {
                        TestcasePlan::Specs(specs)
                    } else if e.verdict == Verdict::Pass {
                        TestcasePlan::Keep
                    } else {
                        TestcasePlan::Whole
                    }
                }
                (Some(e), Check::Native(_)) if e.check.kind == DocCheckKind::Native => {
                    if e.verdict == Verdict::Pass {
                        TestcasePlan::Keep
                    } else {
                        TestcasePlan::Whole
                    }
                }
                (Some(_), _) => TestcasePlan::Whole,
            };
            plans.insert(tc.id.clone(), plan);
        }
        let number = self.runs.iter().map(|r| r.number).max().unwrap_or(0) + 1;
        Rerun {
            earlier: self.clone(),
            plans,
            number,
        }
    }
}

/// The longest focus of exact names a rerun launches. E2E_FOCUS reaches the e2e binary as one
/// environment variable, and Linux refuses a single one over 128 KiB (`MAX_ARG_STRLEN`); beyond
/// this, the test case runs as a whole instead (about 700 spec names).
pub const MAX_EXACT_FOCUS_BYTES: usize = 100_000;

/// What a rerun does with the specs an earlier verdict waived.
#[derive(Debug, Clone, Copy)]
pub enum Waived<'a> {
    /// Run them again (`--run-waived`).
    Launch,
    /// Keep them while a waiver of `waivers` still applies in `ctx` (see [`Earlier::context`]);
    /// run again those whose waiver no longer does (expired since).
    Keep {
        waivers: &'a [Waiver],
        ctx: &'a ClusterContext,
    },
}

/// What a rerun does with one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestcasePlan {
    /// It passed: keep the earlier result.
    Keep,
    /// Run these specs again (exact names), keep the earlier results of the others.
    Specs(Vec<String>),
    /// Run the whole test case again.
    Whole,
}

/// The plan of a rerun, and what it merges its results with.
#[derive(Debug, Clone)]
pub struct Rerun {
    earlier: Earlier,
    plans: HashMap<String, TestcasePlan>,
    /// This run's number in `runs[]`.
    number: u32,
}

/// A test case's evidence for the merged verdict: the report assembled from the earlier and the
/// new results, and the run each spec's result comes from.
#[derive(Debug, Clone)]
pub struct MergedE2e<'r> {
    pub report: E2eReport,
    pub origin: HashMap<String, u32>,
    /// Earlier messages, restored where the assembled report cannot carry them (a flake note,
    /// why a spec was not run).
    messages: HashMap<String, String>,
    /// Set when the rerun of this test case produced no results, and why.
    pub broken: Option<&'r dyn Reason>,
}

/// A test case's evidence from the rerun: its new report, or why there is none (the plugin's
/// error, the run's abort reason); `None`: not run.
pub type NewE2e<'r> = Option<Result<&'r E2eReport, &'r dyn Reason>>;

/// Why a test case of the rerun has no results when nothing else says why.
const NOT_RUN: &str = "not run";

impl Rerun {
    /// The earlier verdict this rerun starts from.
    pub fn earlier(&self) -> &Earlier {
        &self.earlier
    }

    /// This run's number in `runs[]`.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// What happens to a test case (`Whole` for one the plan does not know).
    pub fn plan_of(&self, testcase: &str) -> &TestcasePlan {
        self.plans.get(testcase).unwrap_or(&TestcasePlan::Whole)
    }

    /// Whether nothing is to be run again (every test case passed).
    pub fn is_empty(&self) -> bool {
        self.plans.values().all(|p| *p == TestcasePlan::Keep)
    }

    /// How many specs are run again by name, and how many test cases as a whole.
    pub fn size(&self) -> (usize, usize) {
        let specs = self
            .plans
            .values()
            .map(|p| match p {
                TestcasePlan::Specs(s) => s.len(),
                _ => 0,
            })
            .sum();
        let whole = self
            .plans
            .values()
            .filter(|p| **p == TestcasePlan::Whole)
            .count();
        (specs, whole)
    }

    fn earlier_testcase(&self, id: &str) -> Option<&DocTestcase> {
        self.earlier
            .doc
            .modules
            .iter()
            .flat_map(|m| m.testcases.iter())
            .find(|t| t.id == id)
    }

    /// The earlier result of a native test case that is kept.
    pub fn kept_native(&self, testcase: &str) -> Option<NativeOutcome> {
        let e = self.earlier_testcase(testcase)?;
        Some(NativeOutcome {
            verdict: e.verdict,
            reason: e.reason.clone(),
            findings: e.findings.clone(),
            warnings: e.warnings.clone(),
        })
    }

    /// The evidence of an e2e test case: for a kept one, its earlier results; for one whose
    /// specs ran again, the earlier results with the new ones in place of the rerun specs (a
    /// rerun spec the new report does not have did not run); for one run as a whole, the new
    /// report. `new` is the new run's report, or why there is none (`None`: not run).
    pub fn merge_e2e<'r>(&self, tc: &Testcase, new: NewE2e<'r>) -> MergedE2e<'r> {
        let this = self.number;
        let default_run = self.earlier.runs.last().map_or(1, |r| r.number);
        let mut merged = MergedE2e {
            report: E2eReport {
                format: GinkgoFormat::V2,
                ..Default::default()
            },
            origin: HashMap::new(),
            messages: HashMap::new(),
            broken: None,
        };
        let plan = self.plan_of(&tc.id);
        if *plan == TestcasePlan::Whole {
            match new {
                Some(Ok(r)) => {
                    merged.report = r.clone();
                    for t in &r.tests {
                        merged.origin.insert(t.name.clone(), this);
                    }
                }
                Some(Err(why)) => merged.broken = Some(why),
                None => merged.broken = Some(&NOT_RUN),
            }
            return merged;
        }
        if let Some(e) = self.earlier_testcase(&tc.id) {
            for t in &e.tests {
                merged.report.tests.push(E2eTest {
                    name: t.name.clone(),
                    result: earlier_result(t),
                    duration: t.duration_seconds,
                });
                merged
                    .origin
                    .insert(t.name.clone(), t.run.unwrap_or(default_run));
                if let Some(m) = &t.message {
                    merged.messages.insert(t.name.clone(), m.clone());
                }
            }
        }
        let TestcasePlan::Specs(specs) = plan else {
            return merged;
        };
        let report = match new {
            Some(Ok(r)) => r,
            Some(Err(why)) => {
                merged.broken = Some(why);
                return merged;
            }
            None => {
                merged.broken = Some(&NOT_RUN);
                return merged;
            }
        };
        merged.report.format = report.format;
        merged.report.suite_failures = report.suite_failures.clone();
        merged.report.discrepancies = report.discrepancies.clone();
        let fresh: HashMap<&str, &E2eTest> = report
            .tests
            .iter()
            .filter(|t| {
                !matches!(
                    t.result,
                    TestResult::Skipped(Skip::NotSelected | Skip::Unspecified)
                )
            })
            .map(|t| (t.name.as_str(), t))
            .collect();
        let wanted: BTreeSet<&str> = specs.iter().map(String::as_str).collect();
        for t in &mut merged.report.tests {
            if !wanted.contains(t.name.as_str()) {
                continue;
            }
            merged.origin.insert(t.name.clone(), this);
            merged.messages.remove(&t.name);
            match fresh.get(t.name.as_str()) {
                Some(f) => {
                    t.result = f.result.clone();
                    t.duration = f.duration;
                }
                None => {
                    t.result = TestResult::Skipped(Skip::NotSelected);
                    t.duration = None;
                    merged.messages.insert(
                        t.name.clone(),
                        format!("run again in run {this}, but not in its e2e report"),
                    );
                }
            }
        }
        merged
    }

    /// The merged verdict: every test case of the target evaluated by the normal rules, e2e
    /// ones on the earlier results merged with the new ones (`new`: a test case's new report,
    /// or why there is none; `None`: not run), native ones kept or from `native_results`; with
    /// provenance recorded (`runs`, `tests[].run`, test cases' `runs`).
    pub fn certify<'r>(
        &self,
        input: &MergeInput<'_>,
        new: &dyn Fn(&Testcase) -> NewE2e<'r>,
        mut native_results: HashMap<String, NativeOutcome>,
        facts: ClusterFacts,
        results: Option<ResultsInfo>,
        this_run: RunInfo,
    ) -> Certification {
        let all: Vec<&Testcase> = input
            .catalog
            .modules_of(input.target)
            .iter()
            .flat_map(|(_, t)| t.iter().copied())
            .collect();
        let merged: HashMap<String, MergedE2e<'r>> = all
            .iter()
            .filter(|tc| matches!(tc.check, Check::E2e(_)))
            .map(|tc| (tc.id.clone(), self.merge_e2e(tc, new(tc))))
            .collect();
        for tc in &all {
            if matches!(tc.check, Check::Native(_))
                && *self.plan_of(&tc.id) == TestcasePlan::Keep
                && let Some(outcome) = self.kept_native(&tc.id)
            {
                native_results.insert(tc.id.clone(), outcome);
            }
        }
        let mut cert = certify::certify_against(
            input.catalog,
            input.target,
            |tc| match (&tc.check, merged.get(&tc.id), native_results.get(&tc.id)) {
                (Check::E2e(_), Some(m), _) => match &m.broken {
                    Some(why) if *self.plan_of(&tc.id) == TestcasePlan::Whole => {
                        Evidence::Broken(*why)
                    }
                    _ => Evidence::Report(&m.report),
                },
                (Check::Native(_), _, Some(outcome)) => Evidence::Native(outcome),
                _ => Evidence::Broken(input.not_run),
            },
            input.waivers,
            input.ctx,
            facts,
            results,
            input.specs,
        );
        self.finish(&mut cert, &merged, this_run);
        cert
    }

    /// Records provenance in the merged verdict: each test's and test case's runs, the runs of
    /// the document, and a note in the reason of a test case whose rerun produced nothing.
    fn finish(
        &self,
        cert: &mut Certification,
        merged: &HashMap<String, MergedE2e<'_>>,
        this_run: RunInfo,
    ) {
        let this = self.number;
        let default_run = self.earlier.runs.last().map_or(1, |r| r.number);
        for m in &mut cert.modules {
            for tc in &mut m.testcases {
                let plan = self.plan_of(&tc.id).clone();
                let mut runs = BTreeSet::new();
                match merged.get(&tc.id) {
                    Some(e2e) => {
                        for t in &mut tc.tests {
                            let run = e2e.origin.get(&t.name).copied().unwrap_or(this);
                            t.run = Some(run);
                            runs.insert(run);
                            // A flake note or why a spec did not run, which the assembled
                            // report cannot carry.
                            // (Not for a spec left out because a waiver covers it now.)
                            if let Some(m) = e2e.messages.get(&t.name)
                                && (t.message.is_none() || t.outcome == Outcome::Passed)
                                && !(run == this && t.outcome == Outcome::WaivedNotRun)
                            {
                                t.message = Some(m.clone());
                            }
                        }
                        if let Some(why) = &e2e.broken
                            && plan != TestcasePlan::Whole
                        {
                            tc.reason =
                                format!("{}; run {this} produced no results: {why}", tc.reason);
                            if tc.verdict == Verdict::Pass {
                                tc.verdict = Verdict::Abort;
                            }
                        }
                    }
                    None => {
                        runs.insert(if plan == TestcasePlan::Keep {
                            default_run
                        } else {
                            this
                        });
                    }
                }
                if runs.is_empty() {
                    runs.insert(this);
                }
                tc.runs = runs.into_iter().collect();
            }
            m.verdict = crate::verdict::overall(m.testcases.iter().map(|t| t.verdict));
        }
        cert.verdict = crate::verdict::overall(cert.modules.iter().map(|m| m.verdict));
        let mut runs = self.earlier.runs.clone();
        runs.push(RunInfo {
            number: this,
            ..this_run
        });
        cert.runs = runs;
    }
}

/// How many specs of a merged verdict come from each run (`runs[].number`).
pub fn specs_per_run(cert: &Certification) -> std::collections::BTreeMap<u32, usize> {
    let mut counts: std::collections::BTreeMap<u32, usize> =
        cert.runs.iter().map(|r| (r.number, 0)).collect();
    for t in cert.testcases().flat_map(|tc| tc.tests.iter()) {
        if let Some(run) = t.run {
            *counts.entry(run).or_default() += 1;
        }
    }
    counts
}

impl RunInfo {
    /// `run, started 2026-11-25 08:00 UTC`, and the verdict file of an earlier run
    /// (`verdict dir/verdict.json sha256 0123456789ab…`).
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{}, started {}",
            self.command,
            self.started_at.strftime("%Y-%m-%d %H:%M UTC")
        );
        match &self.verdict {
            Some(v) => text.push_str(&format!(
                ", verdict {} sha256 {}…",
                v.path,
                v.sha256.get(..12).unwrap_or(&v.sha256)
            )),
            None => text.push_str(", this run"),
        }
        text
    }
}

/// What a merged verdict is judged with.
pub struct MergeInput<'a> {
    pub catalog: &'a Catalog,
    pub target: &'a Target<'a>,
    pub waivers: &'a [Waiver],
    pub ctx: &'a ClusterContext,
    /// Why a test case without evidence has none.
    pub not_run: &'a dyn Reason,
    /// The spec list that completeness is checked against (the run's inventory).
    pub specs: SpecList<'a>,
}

/// An earlier outcome as a result the evaluation judges again (with today's waivers).
fn earlier_result(t: &DocTest) -> TestResult {
    let message = t.message.clone().unwrap_or_default();
    match t.outcome {
        Outcome::Passed | Outcome::WaivedButPassed => TestResult::Passed,
        Outcome::Failed | Outcome::Waived => TestResult::Failed {
            kind: FailureKind::Failed,
            message,
        },
        Outcome::SkippedAtRuntime => TestResult::Skipped(Skip::AtRuntime { reason: message }),
        Outcome::NotRun | Outcome::WaivedNotRun => TestResult::Skipped(Skip::NotSelected),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::builtin;
    use crate::definitions::inventory::Inventory;
    use crate::definitions::waiver;
    use crate::evidence::cni::Cni;
    use crate::reports;
    use crate::run::plan_exact;
    use crate::verdict::certify::{PassOutcome, PassRecord, RunRecord};

    const VERSION: &str = "v1.33.3";
    const ID: &str = "0b6c1b2e-kube-system";

    struct World {
        catalog: Catalog,
        waivers: Vec<Waiver>,
        ctx: ClusterContext,
        /// Every spec SCS-0219-v1 selects in the 1.33 inventory.
        specs: Vec<String>,
    }

    fn world() -> World {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
        let ctx = ClusterContext::of_server(
            Cni::unknown(),
            Some(VERSION),
            jiff::civil::date(2026, 11, 25),
        );
        let Check::E2e(e2e) = &catalog.testcase("kaas-networking-check").unwrap().1.check else {
            unreachable!()
        };
        let specs = Inventory::builtin("1.33")
            .unwrap()
            .specs
            .into_iter()
            .filter(|s| e2e.selection.selects(s))
            .collect::<Vec<_>>();
        assert!(specs.len() > 10, "{}", specs.len());
        World {
            catalog,
            waivers,
            ctx,
            specs,
        }
    }

    fn keep(w: &World) -> Waived<'_> {
        Waived::Keep {
            waivers: &w.waivers,
            ctx: &w.ctx,
        }
    }

    fn test(name: &str, result: TestResult) -> E2eTest {
        E2eTest {
            name: name.into(),
            result,
            duration: Some(1.0),
        }
    }

    fn failed(message: &str) -> TestResult {
        TestResult::Failed {
            kind: FailureKind::Failed,
            message: message.into(),
        }
    }

    fn facts(id: Option<&str>) -> ClusterFacts {
        ClusterFacts {
            kubernetes_version: Some(VERSION.into()),
            cni: Cni::unknown(),
            nodes: Vec::new(),
            id: id.map(str::to_string),
        }
    }

    /// The first run's verdict.json: every spec passed but spec 0 and 1 (failed) and spec 2
    /// (absent from the report: not run).
    fn first_run(w: &World) -> String {
        first_run_also_failing(w, &[])
    }

    /// [`first_run`], with `also` failed too.
    fn first_run_also_failing(w: &World, also: &[&str]) -> String {
        let report = E2eReport {
            format: GinkgoFormat::V2,
            tests: w
                .specs
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 2)
                .map(|(i, s)| {
                    test(
                        s,
                        if i < 2 || also.contains(&s.as_str()) {
                            failed("[FAILED] boom")
                        } else {
                            TestResult::Passed
                        },
                    )
                })
                .collect(),
            ..Default::default()
        };
        let target = w.catalog.resolve("scs-0219-v1", None).unwrap();
        let mut cert = certify::certify(
            &w.catalog,
            &target,
            |_| Evidence::Report(&report),
            &w.waivers,
            &w.ctx,
            facts(Some(ID)),
            None,
        );
        cert.run = Some(RunRecord {
            namespace: "sonobuoy".into(),
            sonobuoy_version: "v0.57.5",
            passes: vec![PassRecord {
                testcase: "kaas-networking-check".into(),
                namespace: "sonobuoy".into(),
                uuid: "uuid-1".into(),
                focus: String::new(),
                skip: String::new(),
                parallel: true,
                ginkgo_args: Vec::new(),
                conformance_image: "c".into(),
                started_at: "2026-11-25T08:00:00Z".parse().unwrap(),
                seconds: 1.0,
                outcome: PassOutcome::Complete,
                tarball: None,
            }],
            seconds_to_aggregator_created: None,
            seconds_complete_to_outputs: None,
            aborted: None,
        });
        assert_eq!(cert.verdict, Verdict::Fail);
        reports::json::render(&cert)
    }

    /// A rerun's report as a focused run writes it: the named specs with `result`, every other
    /// spec of the suite not selected.
    fn rerun_report(w: &World, rerun: &[&str], result: impl Fn(&str) -> TestResult) -> E2eReport {
        E2eReport {
            format: GinkgoFormat::V2,
            tests: w
                .specs
                .iter()
                .map(|s| {
                    if rerun.contains(&s.as_str()) {
                        test(s, result(s))
                    } else {
                        test(s, TestResult::Skipped(Skip::NotSelected))
                    }
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Runs the rerun planned from `earlier` with `report` as its results.
    fn merge(w: &World, earlier: &Earlier, report: &E2eReport) -> (Rerun, Certification) {
        let target = earlier.resolve(&w.catalog).unwrap();
        let rerun = earlier.plan(&w.catalog, &target, keep(w));
        let cert = rerun.certify(
            &MergeInput {
                catalog: &w.catalog,
                target: &target,
                waivers: &w.waivers,
                ctx: &w.ctx,
                not_run: &NOT_RUN,
                specs: SpecList::BuiltIn,
            },
            &|tc: &Testcase| (tc.id == "kaas-networking-check").then_some(Ok(report)),
            HashMap::new(),
            facts(Some(ID)),
            None,
            RunInfo {
                number: 0,
                command: "rerun-failed".into(),
                started_at: "2026-11-25T10:00:00Z".parse().unwrap(),
                namespace: Some("sonobuoy".into()),
                sonobuoy_uuids: vec!["uuid-rerun".into()],
                verdict: None,
            },
        );
        (rerun, cert)
    }

    fn tests_of(cert: &Certification) -> &[crate::verdict::TestVerdict] {
        &cert.modules[0].testcases[0].tests
    }

    #[test]
    fn only_failed_and_not_run_specs_are_selected_by_exact_name() {
        let w = world();
        let earlier =
            Earlier::parse(Path::new("run1/verdict.json"), first_run(&w).as_bytes()).unwrap();
        let target = earlier.resolve(&w.catalog).unwrap();
        let rerun = earlier.plan(&w.catalog, &target, keep(&w));
        let expected = vec![w.specs[0].clone(), w.specs[1].clone(), w.specs[2].clone()];
        let TestcasePlan::Specs(specs) = rerun.plan_of("kaas-networking-check") else {
            panic!("{:?}", rerun.plan_of("kaas-networking-check"))
        };
        let mut sorted = specs.clone();
        sorted.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(sorted, want);
        assert_eq!(rerun.size(), (3, 0));
        assert_eq!(rerun.number(), 2);
        assert_eq!(earlier.cni_flag(), None, "detected, not given");
        // Launched by exact names: the launched focus selects these three and nothing else.
        let Check::E2e(e2e) = &w.catalog.testcase("kaas-networking-check").unwrap().1.check else {
            unreachable!()
        };
        let passes = plan_exact(e2e, specs, &[]);
        assert_eq!(passes.passes.len(), 1);
        let launched = crate::definitions::selection::Selection::new(
            &passes.passes[0].focus,
            &passes.passes[0].skip,
        )
        .unwrap();
        for s in &w.specs {
            assert_eq!(launched.selects(s), expected.contains(s), "{s}");
        }
    }

    #[test]
    fn serial_specs_get_their_own_serial_pass_and_waived_ones_are_not_launched() {
        let w = world();
        let Check::E2e(e2e) = &w.catalog.testcase("cncf-k8s-conformance").unwrap().1.check else {
            unreachable!()
        };
        let serial =
            "[sig-apps] Daemon set [Serial] should run and stop simple daemon [Conformance]";
        let other =
            "[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]";
        let p = plan_exact(e2e, &[serial.into(), other.into()], &[]);
        assert_eq!(p.passes.len(), 2);
        assert!(!p.passes[1].parallel);
        assert_eq!(p.passes[1].focus, regex::escape(serial));
        assert_eq!(p.passes[0].focus, regex::escape(other));
        let Check::E2e(netpol) = &w.catalog.testcase("kaas-networking-check").unwrap().1.check
        else {
            unreachable!()
        };
        let cilium: Vec<&Waiver> = w
            .waivers
            .iter()
            .filter(|x| x.id.starts_with("cilium-"))
            .collect();
        let waived = w
            .specs
            .iter()
            .find(|s| cilium.iter().any(|x| x.matches(s)))
            .unwrap();
        let p = plan_exact(netpol, &[waived.clone(), w.specs[0].clone()], &cilium);
        assert_eq!(p.passes.len(), 1);
        assert_eq!(p.passes[0].focus, regex::escape(&w.specs[0]));
    }

    #[test]
    fn the_merged_verdict_takes_rerun_specs_from_the_new_run_and_says_so() {
        let w = world();
        let json = first_run(&w);
        let earlier = Earlier::parse(Path::new("run1/verdict.json"), json.as_bytes()).unwrap();
        let rerun_specs = [
            w.specs[0].as_str(),
            w.specs[1].as_str(),
            w.specs[2].as_str(),
        ];
        let report = rerun_report(&w, &rerun_specs, |_| TestResult::Passed);
        let (_, cert) = merge(&w, &earlier, &report);
        assert_eq!(
            cert.verdict,
            Verdict::Pass,
            "{}",
            cert.modules[0].testcases[0].reason
        );
        let tests = tests_of(&cert);
        // Every spec of the selection once.
        assert_eq!(tests.len(), w.specs.len());
        let names: BTreeSet<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), w.specs.len());
        for t in tests {
            let want = if rerun_specs.contains(&t.name.as_str()) {
                2
            } else {
                1
            };
            assert_eq!(t.run, Some(want), "{}", t.name);
        }
        assert_eq!(cert.modules[0].testcases[0].runs, vec![1, 2]);
        assert_eq!(cert.runs.len(), 2);
        let first = &cert.runs[0];
        assert_eq!((first.number, first.command.as_str()), (1, "run"));
        assert_eq!(first.sonobuoy_uuids, ["uuid-1"]);
        assert_eq!(first.started_at, "2026-11-25T08:00:00Z".parse().unwrap());
        let file = first.verdict.as_ref().unwrap();
        assert_eq!(file.path, "run1/verdict.json");
        assert_eq!(file.sha256, hex(&Sha256::digest(json.as_bytes())));
        let second = &cert.runs[1];
        assert_eq!(
            (second.number, second.command.as_str()),
            (2, "rerun-failed")
        );
        assert!(second.verdict.is_none(), "the run that wrote the document");
        // The document says all this, and reads back.
        let merged_json = reports::json::render(&cert);
        let v: serde_json::Value = serde_json::from_str(&merged_json).unwrap();
        assert_eq!(v["runs"][1]["number"], 2);
        assert!(
            v["modules"][0]["testcases"][0]["tests"][0]["run"]
                .as_u64()
                .is_some()
        );
        Earlier::parse(Path::new("run2/verdict.json"), merged_json.as_bytes()).unwrap();
    }

    #[test]
    fn a_spec_that_fails_again_or_is_missing_from_the_rerun_keeps_the_verdict_from_passing() {
        let w = world();
        let earlier = Earlier::parse(Path::new("v.json"), first_run(&w).as_bytes()).unwrap();
        // Spec 0 fails again, spec 1 passes, spec 2 is not in the new report at all.
        let report = rerun_report(&w, &[&w.specs[0], &w.specs[1]], |s| {
            if s == w.specs[0] {
                failed("[FAILED] again")
            } else {
                TestResult::Passed
            }
        });
        let (_, cert) = merge(&w, &earlier, &report);
        assert_eq!(cert.verdict, Verdict::Fail);
        let t = |name: &str| {
            tests_of(&cert)
                .iter()
                .find(|t| t.name == name)
                .unwrap()
                .clone()
        };
        assert_eq!(t(&w.specs[0]).outcome, Outcome::Failed);
        assert_eq!(t(&w.specs[0]).message.as_deref(), Some("[FAILED] again"));
        assert_eq!(t(&w.specs[1]).outcome, Outcome::Passed);
        assert_eq!(t(&w.specs[2]).outcome, Outcome::NotRun);
        assert_eq!(t(&w.specs[2]).run, Some(2));
        assert!(
            t(&w.specs[2])
                .message
                .unwrap()
                .contains("not in its e2e report")
        );
        // Failures fixed, the missing spec still missing: ABORT, never PASS.
        let report = rerun_report(&w, &[&w.specs[0], &w.specs[1]], |_| TestResult::Passed);
        let (_, cert) = merge(&w, &earlier, &report);
        assert_eq!(cert.verdict, Verdict::Abort);
    }

    #[test]
    fn a_rerun_without_results_keeps_the_earlier_ones_and_says_why() {
        let w = world();
        let earlier = Earlier::parse(Path::new("v.json"), first_run(&w).as_bytes()).unwrap();
        let target = earlier.resolve(&w.catalog).unwrap();
        let rerun = earlier.plan(&w.catalog, &target, keep(&w));
        let cert = rerun.certify(
            &MergeInput {
                catalog: &w.catalog,
                target: &target,
                waivers: &w.waivers,
                ctx: &w.ctx,
                not_run: &NOT_RUN,
                specs: SpecList::BuiltIn,
            },
            &|_: &Testcase| Some(Err(&"timed out after 3m")),
            HashMap::new(),
            facts(Some(ID)),
            None,
            RunInfo {
                number: 0,
                command: "rerun-failed".into(),
                started_at: Timestamp::now(),
                namespace: None,
                sonobuoy_uuids: Vec::new(),
                verdict: None,
            },
        );
        assert_eq!(cert.verdict, Verdict::Fail);
        let tc = &cert.modules[0].testcases[0];
        assert!(
            tc.reason
                .ends_with("; run 2 produced no results: timed out after 3m"),
            "{}",
            tc.reason
        );
        // Nothing came from run 2: the next rerun starts from the same specs.
        assert!(tc.tests.iter().all(|t| t.run == Some(1)));
        let json = reports::json::render(&cert);
        let again = Earlier::parse(Path::new("v2.json"), json.as_bytes()).unwrap();
        let plan = again.plan(&w.catalog, &target, keep(&w));
        assert_eq!(
            plan.plan_of("kaas-networking-check"),
            rerun.plan_of("kaas-networking-check")
        );
        assert_eq!(plan.number(), 3);
    }

    #[test]
    fn chaining_keeps_the_provenance_of_every_run() {
        let w = world();
        let json1 = first_run(&w);
        let e1 = Earlier::parse(Path::new("r1/verdict.json"), json1.as_bytes()).unwrap();
        // Run 2: spec 1 passes, spec 0 fails again, spec 2 passes.
        let report = rerun_report(&w, &[&w.specs[0], &w.specs[1], &w.specs[2]], |s| {
            if s == w.specs[0] {
                failed("[FAILED] still")
            } else {
                TestResult::Passed
            }
        });
        let (_, cert2) = merge(&w, &e1, &report);
        assert_eq!(cert2.verdict, Verdict::Fail);
        let json2 = reports::json::render(&cert2);
        let e2 = Earlier::parse(Path::new("r2/verdict.json"), json2.as_bytes()).unwrap();
        let target = e2.resolve(&w.catalog).unwrap();
        let plan = e2.plan(&w.catalog, &target, keep(&w));
        assert_eq!(
            plan.plan_of("kaas-networking-check"),
            &TestcasePlan::Specs(vec![w.specs[0].clone()])
        );
        assert_eq!(plan.number(), 3);
        // Run 3: spec 0 passes.
        let report = rerun_report(&w, &[&w.specs[0]], |_| TestResult::Passed);
        let (_, cert3) = merge(&w, &e2, &report);
        assert_eq!(cert3.verdict, Verdict::Pass);
        let run_of = |name: &str| {
            tests_of(&cert3)
                .iter()
                .find(|t| t.name == name)
                .unwrap()
                .run
        };
        assert_eq!(run_of(&w.specs[0]), Some(3));
        assert_eq!(run_of(&w.specs[1]), Some(2));
        assert_eq!(run_of(&w.specs[2]), Some(2));
        assert_eq!(run_of(&w.specs[5]), Some(1));
        let numbers: Vec<u32> = cert3.runs.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 2, 3]);
        // Each earlier run names the verdict it wrote.
        assert_eq!(
            cert3.runs[0].verdict.as_ref().unwrap().path,
            "r1/verdict.json"
        );
        assert_eq!(
            cert3.runs[0].verdict.as_ref().unwrap().sha256,
            hex(&Sha256::digest(json1.as_bytes()))
        );
        assert_eq!(
            cert3.runs[1].verdict.as_ref().unwrap().path,
            "r2/verdict.json"
        );
        assert_eq!(
            cert3.runs[1].verdict.as_ref().unwrap().sha256,
            hex(&Sha256::digest(json2.as_bytes()))
        );
        assert!(cert3.runs[2].verdict.is_none());
        assert_eq!(cert3.modules[0].testcases[0].runs, vec![1, 2, 3]);
    }

    #[test]
    fn a_waived_failure_runs_again_once_its_waiver_has_lapsed_or_with_run_waived() {
        let w = world();
        let flaky = w
            .specs
            .iter()
            .find(|s| s.contains("should allow ingress access from updated namespace"))
            .unwrap();
        let json = first_run_also_failing(&w, &[flaky]);
        let earlier = Earlier::parse(Path::new("v.json"), json.as_bytes()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(
            tests_of_json(&v).any(|t| t["name"] == flaky.as_str() && t["outcome"] == "waived"),
            "the waiver netpol-updated-namespace-flaky covers it in run 1"
        );
        let target = earlier.resolve(&w.catalog).unwrap();
        let specs = |waived| match earlier
            .plan(&w.catalog, &target, waived)
            .plan_of("kaas-networking-check")
        {
            TestcasePlan::Specs(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        // While the waiver applies, the waived failure is kept.
        assert!(!specs(keep(&w)).contains(flaky));
        assert_eq!(specs(keep(&w)).len(), 3);
        // After it expired (2027-05-31), it runs again; with --run-waived too.
        let later = earlier.context(None, jiff::civil::date(2027, 6, 1));
        let lapsed = Waived::Keep {
            waivers: &w.waivers,
            ctx: &later,
        };
        assert!(specs(lapsed).contains(flaky));
        assert!(specs(Waived::Launch).contains(flaky));
        assert_eq!(
            later.kubernetes,
            crate::version::K8sVersion::from_git_version(VERSION).map(|v| v.to_semver())
        );
    }

    fn tests_of_json(v: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
        v["modules"][0]["testcases"][0]["tests"]
            .as_array()
            .unwrap()
            .iter()
    }

    #[test]
    fn a_passing_verdict_leaves_nothing_to_rerun() {
        let w = world();
        let earlier = Earlier::parse(Path::new("v.json"), first_run(&w).as_bytes()).unwrap();
        let report = rerun_report(&w, &[&w.specs[0], &w.specs[1], &w.specs[2]], |_| {
            TestResult::Passed
        });
        let (_, cert) = merge(&w, &earlier, &report);
        let json = reports::json::render(&cert);
        let passed = Earlier::parse(Path::new("v2.json"), json.as_bytes()).unwrap();
        let target = passed.resolve(&w.catalog).unwrap();
        let plan = passed.plan(&w.catalog, &target, keep(&w));
        assert!(plan.is_empty());
        assert_eq!(plan.size(), (0, 0));
    }

    #[test]
    fn too_many_names_for_one_focus_run_the_test_case_as_a_whole() {
        let w = world();
        let json = edited(&first_run(&w), |v| {
            let tests = v["modules"][0]["testcases"][0]["tests"]
                .as_array_mut()
                .unwrap();
            for i in 0..1200 {
                tests.push(serde_json::json!({
                    "name": format!("[sig-network] Netpol NetworkPolicy spec number {i} that failed with a long enough name [Feature:NetworkPolicy]"),
                    "outcome": "failed"
                }));
            }
        });
        let earlier = Earlier::parse(Path::new("v.json"), json.as_bytes()).unwrap();
        let target = earlier.resolve(&w.catalog).unwrap();
        let plan = earlier.plan(&w.catalog, &target, keep(&w));
        assert!(matches!(
            plan.plan_of("kaas-networking-check"),
            TestcasePlan::Whole
        ));
    }

    #[test]
    fn a_test_case_without_results_is_run_as_a_whole() {
        let w = world();
        let target = w.catalog.resolve("scs-0219-v1", None).unwrap();
        let cert = certify::certify(
            &w.catalog,
            &target,
            |_| Evidence::Broken(&"timed out after 6h"),
            &w.waivers,
            &w.ctx,
            facts(Some(ID)),
            None,
        );
        let json = reports::json::render(&cert);
        let earlier = Earlier::parse(Path::new("v.json"), json.as_bytes()).unwrap();
        let plan = earlier.plan(&w.catalog, &target, keep(&w));
        assert_eq!(plan.plan_of("kaas-networking-check"), &TestcasePlan::Whole);
    }

    #[test]
    fn another_cluster_is_refused_naming_the_file() {
        let w = world();
        let earlier =
            Earlier::parse(Path::new("old/verdict.json"), first_run(&w).as_bytes()).unwrap();
        let same = ClusterIdentity {
            id: Some(ID.into()),
            kubernetes_version: Some(VERSION.into()),
        };
        assert!(earlier.check_cluster(&same).unwrap().is_none());
        let other = ClusterIdentity {
            id: Some("another-uid".into()),
            ..same.clone()
        };
        let err = earlier.check_cluster(&other).unwrap_err().to_string();
        assert!(
            err.starts_with("old/verdict.json: written for another cluster"),
            "{err}"
        );
        assert!(err.contains(ID) && err.contains("another-uid"), "{err}");
        let upgraded = ClusterIdentity {
            kubernetes_version: Some("v1.34.1".into()),
            ..same.clone()
        };
        let err = earlier.check_cluster(&upgraded).unwrap_err().to_string();
        assert!(
            err.contains("Kubernetes version is v1.33.3") && err.contains("v1.34.1"),
            "{err}"
        );
        // An id cannot be compared (not readable now): matched by version, with a warning.
        let no_id = ClusterIdentity { id: None, ..same };
        let warning = earlier.check_cluster(&no_id).unwrap().unwrap();
        assert!(warning.contains("version"), "{warning}");
    }

    #[test]
    fn malformed_input_is_refused_naming_the_file_and_the_problem() {
        let p = Path::new("dir/verdict.json");
        let err = |bytes: &[u8]| Earlier::parse(p, bytes).unwrap_err().to_string();
        for (bytes, want) in [
            (&b"{not json"[..], "not JSON"),
            (b"[1, 2]", "not a JSON object"),
            (b"{}", "no schema_version"),
            (
                br#"{"schema_version": 2, "tool": {"name": "scs-conformance"}}"#,
                "schema_version 2 is not supported",
            ),
            (
                br#"{"schema_version": 1, "tool": {"name": "other"}}"#,
                "tool.name",
            ),
            (
                br#"{"schema_version": 1, "tool": {"name": "scs-conformance"}}"#,
                "missing field",
            ),
            (
                br#"{"schema_version": 1, "verdict": "ABORT", "command": "run", "error": "x"}"#,
                "ABORT record of `run`",
            ),
        ] {
            let e = err(bytes);
            assert!(e.starts_with("dir/verdict.json: "), "{e}");
            assert!(e.contains(want), "{want}: {e}");
        }
        let missing = Earlier::load(Path::new("/nonexistent/verdict.json"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("/nonexistent/verdict.json: cannot read"),
            "{missing}"
        );
    }

    fn edited(json: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        edit(&mut v);
        v.to_string()
    }

    #[test]
    fn a_verdict_of_an_unknown_standard_is_refused() {
        let w = world();
        let json = edited(&first_run(&w), |v| v["target"]["id"] = "scs-9999-v9".into());
        let earlier = Earlier::parse(Path::new("v.json"), json.as_bytes()).unwrap();
        let err = earlier.resolve(&w.catalog).unwrap_err().to_string();
        assert!(
            err.starts_with("v.json: its standard scs-9999-v9 cannot be resolved"),
            "{err}"
        );
    }

    #[test]
    fn a_narrowed_verdict_is_rerun_within_its_narrowing() {
        let w = world();
        let json = edited(
            &first_run(&w),
            |v| {
                v["target"]["narrowed"] = serde_json::json!({"focus": regex::escape(&w.specs[0]), "skip": "", "note": "n"})
            },
        );
        let earlier = Earlier::parse(Path::new("v.json"), json.as_bytes()).unwrap();
        let narrowing = earlier.narrowing().unwrap().unwrap();
        let narrowed = w.catalog.narrowed(&narrowing);
        let target = earlier.resolve(&narrowed).unwrap();
        let plan = earlier.plan(&narrowed, &target, keep(&w));
        // The failed spec 1 is outside the narrowing: only spec 0 runs again, by name.
        let Check::E2e(e2e) = &narrowed.testcase("kaas-networking-check").unwrap().1.check else {
            unreachable!()
        };
        let TestcasePlan::Specs(specs) = plan.plan_of("kaas-networking-check") else {
            panic!()
        };
        let passes = plan_exact(e2e, specs, &[]);
        assert_eq!(passes.passes.len(), 1);
        assert_eq!(passes.passes[0].focus, regex::escape(&w.specs[0]));
    }
}
