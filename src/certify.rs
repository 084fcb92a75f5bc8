//! Certifying a target (scope, module or test case): evaluate every test case it requires and
//! assemble the verdict document that all outputs are rendered from.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::{Catalog, Target, Testcase};
use crate::cni::Cni;
use crate::e2e_junit::GinkgoFormat;
use crate::results::{Results, ResultsKind};
use crate::verdict::{self, Evidence, ModuleVerdict, TargetInfo, Verdict};
use crate::waiver::{ClusterContext, Waiver};

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
    pub nodes: Vec<crate::cluster::NodeInfo>,
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
    pub generated_at: DateTime<Utc>,
    /// The date waivers were judged against.
    pub reference_date: chrono::NaiveDate,
    pub target: TargetInfo,
    pub verdict: Verdict,
    pub cluster: ClusterFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsInfo>,
    /// Facts of a live run (`scs-conformance run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<crate::run::RunRecord>,
    pub modules: Vec<ModuleVerdict>,
}

impl Certification {
    /// Every test case verdict, in order.
    pub fn testcases(&self) -> impl Iterator<Item = &verdict::TestcaseVerdict> {
        self.modules.iter().flat_map(|m| m.testcases.iter())
    }
}

/// Evaluates a target. `evidence` gives the e2e evidence for each e2e test case.
pub fn certify<'a>(
    catalog: &'a Catalog,
    target: &Target<'a>,
    evidence: impl Fn(&Testcase) -> Evidence<'a>,
    waivers: &[Waiver],
    ctx: &ClusterContext,
    facts: ClusterFacts,
    results: Option<ResultsInfo>,
) -> Certification {
    let modules = catalog.modules_of(target);
    let testcases = modules
        .iter()
        .flat_map(|(_, tcs)| tcs.iter())
        .map(|tc| verdict::evaluate_testcase(tc, evidence(tc), waivers, ctx))
        .collect();
    let modules = verdict::rollup_modules(&modules, testcases);
    Certification {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        generated_at: Utc::now(),
        reference_date: ctx.today,
        target: TargetInfo::from(target),
        verdict: verdict::overall(modules.iter().map(|m| m.verdict)),
        cluster: facts,
        results,
        run: None,
        modules,
    }
}
