//! Certifying a target (scope, module or test case): evaluate every test case it requires and
//! assemble the verdict document that all outputs are rendered from.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::definitions::catalog::{Catalog, Check, Target, Testcase};
use crate::definitions::waiver::{ClusterContext, Waiver};
use crate::evidence::cni::{self, Cni};
use crate::evidence::e2e_junit::GinkgoFormat;
use crate::evidence::results::{Results, ResultsKind};
use crate::evidence::sonobuoy::follow::{FollowAbort, human};
use crate::verdict::{
    self, Evidence, ModuleVerdict, NOT_A_CERTIFICATION, Narrowed, SpecList, TargetInfo, Verdict,
};
use crate::version::VersionError;

/// Version of the `verdict.json` schema (`docs/verdict.schema.json`). Bumped on incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Cluster facts that bear on the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterFacts {
    /// Server `gitVersion`, when known.
    pub kubernetes_version: Option<String>,
    pub cni: Cni,
    /// The nodes, when the cluster was asked (live runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<crate::evidence::cluster::NodeInfo>,
    /// The cluster's identity (UID of its `kube-system` namespace), when a live run read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Where e2e results came from.
#[derive(Debug, Clone, Serialize)]
pub struct ResultsInfo {
    pub source: String,
    pub kind: ResultsKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub junit_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ginkgo: Option<GinkgoFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted_to: Option<String>,
}

impl From<&Results> for ResultsInfo {
    fn from(r: &Results) -> Self {
        ResultsInfo {
            source: r.source.display().to_string(),
            kind: r.kind,
            junit_file: r.junit_file.clone(),
            ginkgo: r.e2e.as_ref().ok().map(|e| e.format),
            extracted_to: r.extracted_to.as_ref().map(|p| p.display().to_string()),
        }
    }
}

/// Facts of a live run for verdict.json (`run`).
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub namespace: String,
    pub sonobuoy_version: &'static str,
    pub passes: Vec<PassRecord>,
    /// Command start to the first aggregator pod created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_to_aggregator_created: Option<f64>,
    /// From the status annotation turning `complete` to the outputs being written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_complete_to_outputs: Option<f64>,
    /// Set when the run was interrupted or could not start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<AbortReason>,
}

impl RunRecord {
    /// The record of a run in `namespace` that has not started a Sonobuoy run yet.
    pub fn new(namespace: &str) -> Self {
        RunRecord {
            namespace: namespace.to_string(),
            sonobuoy_version: crate::evidence::sonobuoy::SONOBUOY_VERSION,
            passes: Vec::new(),
            seconds_to_aggregator_created: None,
            seconds_complete_to_outputs: None,
            aborted: None,
        }
    }
}

/// Why a run stopped before its end: the caller's interrupt, or `--timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupted,
    TimedOut(std::time::Duration),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Interrupted => f.write_str("interrupted"),
            Stop::TimedOut(limit) => write!(f, "timed out after {}", human(*limit)),
        }
    }
}

/// Why a live run, or one Sonobuoy run of it, ended without evidence. Its text is what
/// verdict.json records (`run.aborted`, `run.passes[].outcome`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortReason {
    /// The caller's interrupt, or `--timeout`.
    Stopped(Stop),
    /// Stopped before the API server answered.
    StoppedConnecting { stop: Stop, server: String },
    /// The aggregator's run ended without results.
    Follow(FollowAbort),
    /// Any other failure (the cluster, launching, retrieval, the results), with its message.
    Failed(String),
}

impl std::fmt::Display for AbortReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AbortReason::Stopped(stop) => stop.fmt(f),
            AbortReason::StoppedConnecting {
                stop: stop @ Stop::TimedOut(_),
                server,
            } => write!(f, "{stop} waiting for the Kubernetes API server {server}"),
            AbortReason::StoppedConnecting { stop, .. } => stop.fmt(f),
            AbortReason::Follow(why) => why.fmt(f),
            AbortReason::Failed(why) => f.write_str(why),
        }
    }
}

impl Serialize for AbortReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One Sonobuoy run, as recorded in verdict.json (`run.passes`).
#[derive(Debug, Clone, Serialize)]
pub struct PassRecord {
    pub testcase: String,
    pub namespace: String,
    pub uuid: String,
    pub focus: String,
    pub skip: String,
    pub parallel: bool,
    pub ginkgo_args: Vec<String>,
    pub conformance_image: String,
    pub started_at: Timestamp,
    pub seconds: f64,
    /// `complete`, or why it was aborted.
    pub outcome: PassOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tarball: Option<String>,
}

/// How a Sonobuoy run ended. In verdict.json: `complete`, or the reason it was aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassOutcome {
    /// The run finished and its results were retrieved and read.
    Complete,
    /// The run was stopped or failed, for this reason.
    Aborted(AbortReason),
}

impl std::fmt::Display for PassOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PassOutcome::Complete => f.write_str("complete"),
            PassOutcome::Aborted(why) => why.fmt(f),
        }
    }
}

impl Serialize for PassOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The tool that produced a document.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// Everything a verdict document says.
#[derive(Debug, Clone, Serialize)]
pub struct Certification {
    pub schema_version: u32,
    pub tool: Tool,
    pub generated_at: Timestamp,
    /// The date waivers were judged against.
    pub reference_date: Date,
    pub target: TargetInfo,
    pub verdict: Verdict,
    pub cluster: ClusterFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsInfo>,
    /// Facts of a live run (`scs-conformance run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunRecord>,
    /// A verdict of `rerun-failed`: every run whose results it holds, oldest first; the last is
    /// the one that wrote this document (`run`). Each test names its run (`tests[].run`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<crate::verdict::rerun::RunInfo>,
    pub modules: Vec<ModuleVerdict>,
}

impl Certification {
    /// Every test case verdict, in order.
    pub fn testcases(&self) -> impl Iterator<Item = &verdict::TestcaseVerdict> {
        self.modules.iter().flat_map(|m| m.testcases.iter())
    }
}

/// What the user says about the cluster of offline results (`--cni`, `--k8s-version`); what is
/// not given is read from the results.
#[derive(Debug, Clone, Default)]
pub struct GivenFacts {
    pub cni: Option<Cni>,
    pub kubernetes_version: Option<String>,
}

/// Certifies `target` on offline results (`scs-conformance verdict`): e2e test cases are judged
/// on the results' e2e report, native checks have no evidence here (MISSING). The cluster's
/// facts are the given ones, else what the results say (`serverversion.json`, the CNI's
/// workloads). A Kubernetes version that does not parse is refused: read as "unknown", it would
/// silently change which waivers apply.
pub fn certify_results(
    catalog: &Catalog,
    target: &Target<'_>,
    waivers: &[Waiver],
    results: &Results,
    given: GivenFacts,
    today: Date,
) -> Result<Certification, VersionError> {
    certify_results_against(
        catalog,
        target,
        waivers,
        results,
        given,
        today,
        SpecList::BuiltIn,
    )
}

/// [`certify_results`] with completeness checked against `specs` (an inventory of the suite that
/// ran, as `run --inventory FILE` plans from) instead of the built-in inventory of the minor.
pub fn certify_results_against(
    catalog: &Catalog,
    target: &Target<'_>,
    waivers: &[Waiver],
    results: &Results,
    given: GivenFacts,
    today: Date,
    specs: SpecList<'_>,
) -> Result<Certification, VersionError> {
    let given_version = given.kubernetes_version.is_some();
    let kubernetes_version = given
        .kubernetes_version
        .or_else(|| results.kubernetes_version.clone());
    let cni = given
        .cni
        .or_else(|| cni::detect(&results.workloads))
        .unwrap_or_else(Cni::unknown);
    // A version the user gave is read strictly; the server's gitVersion of `serverversion.json`
    // as leniently as a live run reads it.
    let ctx = if given_version {
        ClusterContext::new(cni.clone(), kubernetes_version.as_deref(), today)?
    } else {
        ClusterContext::of_server(cni.clone(), kubernetes_version.as_deref(), today)
    };
    let facts = ClusterFacts {
        kubernetes_version,
        cni,
        nodes: Vec::new(),
        id: None,
    };
    Ok(certify_against(
        catalog,
        target,
        |tc| match (&tc.check, &results.e2e) {
            (Check::Native(_), _) => Evidence::None,
            (Check::E2e(_), Ok(report)) => Evidence::Report(report),
            (Check::E2e(_), Err(why)) => Evidence::Broken(why),
        },
        waivers,
        &ctx,
        facts,
        Some(ResultsInfo::from(results)),
        specs,
    ))
}

/// Evaluates a target. `evidence` gives the e2e evidence for each e2e test case; completeness is
/// checked against the built-in inventory of the cluster's minor ([`certify_against`]).
pub fn certify<'a>(
    catalog: &'a Catalog,
    target: &Target<'a>,
    evidence: impl Fn(&Testcase) -> Evidence<'a>,
    waivers: &[Waiver],
    ctx: &ClusterContext,
    facts: ClusterFacts,
    results: Option<ResultsInfo>,
) -> Certification {
    certify_against(
        catalog,
        target,
        evidence,
        waivers,
        ctx,
        facts,
        results,
        SpecList::BuiltIn,
    )
}

/// [`certify`] with completeness checked against `specs`: the inventory the run planned from.
#[allow(clippy::too_many_arguments)]
pub fn certify_against<'a>(
    catalog: &'a Catalog,
    target: &Target<'a>,
    evidence: impl Fn(&Testcase) -> Evidence<'a>,
    waivers: &[Waiver],
    ctx: &ClusterContext,
    facts: ClusterFacts,
    results: Option<ResultsInfo>,
    specs: SpecList<'_>,
) -> Certification {
    let modules = catalog.modules_of(target);
    let narrowed = modules
        .iter()
        .flat_map(|(_, tcs)| tcs.iter())
        .find_map(|tc| match &tc.check {
            Check::E2e(e2e) => e2e.selection.narrowing(),
            Check::Native(_) => None,
        })
        .map(|n| Narrowed {
            focus: n.focus().to_string(),
            skip: n.skip().to_string(),
            note: NOT_A_CERTIFICATION.into(),
        });
    let testcases = modules
        .iter()
        .flat_map(|(_, tcs)| tcs.iter())
        .map(|tc| verdict::evaluate_testcase_against(tc, evidence(tc), waivers, ctx, specs))
        .collect();
    let modules = verdict::rollup_modules(&modules, testcases);
    Certification {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: crate::TOOL_NAME,
            version: env!("CARGO_PKG_VERSION"),
        },
        generated_at: Timestamp::now(),
        reference_date: ctx.today,
        target: TargetInfo {
            narrowed,
            ..TargetInfo::from(target)
        },
        verdict: verdict::overall(modules.iter().map(|m| m.verdict)),
        cluster: facts,
        results,
        run: None,
        runs: Vec::new(),
        modules,
    }
}
