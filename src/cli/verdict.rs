//! `scs-conformance verdict`: evaluate existing results offline.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use scs_conformance::catalog::Check;
use scs_conformance::certify::{self, ClusterFacts, ResultsInfo};
use scs_conformance::cni::{self, Cni};
use scs_conformance::results::{self, Limits};
use scs_conformance::verdict::Evidence;
use scs_conformance::{exit, output};

use super::{Definitions, Failure, context};

#[derive(clap::Args)]
pub struct Args {
    /// Scope, module or test case id (case-insensitive), e.g. scs-0219-v1, kaas-networking-check,
    /// scs-compatible-kaas.
    #[arg(long, value_name = "ID")]
    standard: String,
    /// Scope version (e.g. v1); needed only when a scope has several.
    #[arg(long, value_name = "V")]
    version: Option<String>,
    /// Sonobuoy results tarball, extracted results directory, or e2e junit_01.xml(.gz).
    #[arg(long, value_name = "PATH")]
    results: PathBuf,
    /// The cluster's CNI (NAME or NAME@VERSION); default: detected from the results archive.
    #[arg(long, value_name = "NAME")]
    cni: Option<String>,
    /// The cluster's Kubernetes version; default: serverversion.json of the results archive.
    #[arg(long, value_name = "X.Y.Z")]
    k8s_version: Option<String>,
    /// Judge waiver expiry as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    date: Option<NaiveDate>,
    /// Output directory for verdict.json, junit.xml, summary.md and extracted results.
    #[arg(long, value_name = "DIR", default_value = "scs-results")]
    out: PathBuf,
    #[command(flatten)]
    report: scs_conformance::scs_report::ScsReportArgs,
}

pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    let catalog = context::catalog(defs)?;
    let target = catalog
        .resolve(&args.standard, args.version.as_deref())
        .map_err(Failure::input)?;
    let waivers = context::waivers(defs, &catalog)?;
    let cni_flag = context::cni(args.cni.as_deref())?;

    let extract_to = args.out.join("results");
    let results = load_results(&args.results, &extract_to)?;

    let kubernetes_version = args
        .k8s_version
        .clone()
        .or_else(|| results.kubernetes_version.clone());
    let cni = cni_flag
        .or_else(|| cni::detect(&results.workloads))
        .unwrap_or_else(Cni::unknown);
    let ctx = context::cluster_context(
        cni.clone(),
        kubernetes_version.as_deref(),
        context::today(args.date),
    );
    let facts = ClusterFacts {
        kubernetes_version,
        cni,
        nodes: Vec::new(),
    };

    let cert = certify::certify(
        &catalog,
        &target,
        |tc| match (&tc.check, &results.e2e) {
            (Check::Native(_), _) => Evidence::None,
            (Check::E2e(_), Ok(report)) => Evidence::Report(report),
            (Check::E2e(_), Err(why)) => Evidence::Broken(why),
        },
        &waivers,
        &ctx,
        facts,
        Some(ResultsInfo::from(&results)),
    );
    output::write_all(&cert, &args.out)
        .map_err(|e| Failure::input(format!("cannot write outputs: {e}")))?;
    if let Some(ctx) = args.report.context(args.version.as_deref()) {
        scs_conformance::scs_report::write(&args.out, &cert, &catalog, &ctx)
            .map_err(Failure::input)?;
    }
    print!("{}", output::terminal::render(&cert));
    println!("Wrote {}", args.out.display());
    Ok(exit::for_verdict(cert.verdict))
}

/// Loads results; a tarball is extracted under `--out` (replacing an earlier extraction) and kept
/// there even when its content turns out to be unusable.
fn load_results(path: &Path, extract_to: &Path) -> Result<results::Results, Failure> {
    let staging = extract_to.with_file_name(".results-extracting");
    let _ = std::fs::remove_dir_all(&staging);
    let loaded = results::load(path, Some(&staging), Limits::default());
    if staging.exists() {
        let _ = std::fs::remove_dir_all(extract_to);
        std::fs::rename(&staging, extract_to)
            .map_err(|e| Failure::input(format!("{}: {e}", extract_to.display())))?;
    }
    let mut loaded = loaded.map_err(|e| {
        let kept = if extract_to.exists() {
            format!(" (extracted files kept in {})", extract_to.display())
        } else {
            String::new()
        };
        Failure::input(format!("{e}{kept}"))
    })?;
    if loaded.extracted_to.is_some() {
        loaded.extracted_to = Some(extract_to.to_path_buf());
    }
    Ok(loaded)
}
