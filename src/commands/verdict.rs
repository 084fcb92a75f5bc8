//! `scs-conformance verdict`: evaluate existing results offline.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use scs_conformance::definitions::inventory::Inventory;
use scs_conformance::evidence::results::{self, Limits};
use scs_conformance::exit_codes::native as exit;
use scs_conformance::reports::{self, ErrorRecord, OutDir};
use scs_conformance::scs::report::{EvidenceTime, ResultsReport};
use scs_conformance::verdict::SpecList;
use scs_conformance::verdict::certify::{self, GivenFacts};
use scs_conformance::version;

use crate::args::{Definitions, FactArgs, NarrowArgs, StandardArgs};
use crate::{Failure, context};

/// Marks a `results/` folder as an extraction of ours, which a later run may replace; anything
/// else there is the user's and is not deleted without `--replace-results`.
const RESULTS_MARKER: &str = ".scs-conformance-extraction";

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  \
    scs-conformance verdict --standard scs-0219-v1 --results 202612030836_sonobuoy_1d04.tar.gz\n  \
    scs-conformance verdict --standard scs-0201-v1 --cni cilium --results junit_01.xml.gz --subject my-cluster",
    mut_arg("standard", |a| a.help(
        "Scope, module or test case id (case-insensitive), e.g. scs-0219-v1, \
         kaas-networking-check, scs-compatible-kaas"
    )),
    mut_arg("version", |a| a.help(
        "Scope version (e.g. v1); needed only when a scope has several"
    )),
    mut_arg("cni", |a| a.help(
        "The cluster's CNI (NAME or NAME@VERSION); default: detected from the results archive, \
         which it may not contradict (only an undetected or ambiguous CNI can be named)"
    ))
)]
pub struct Args {
    #[command(flatten)]
    standard: StandardArgs,
    /// Sonobuoy results tarball, extracted results directory, or e2e junit_01.xml(.gz).
    #[arg(long, value_name = "PATH")]
    results: PathBuf,
    #[command(flatten)]
    facts: FactArgs,
    /// The cluster's Kubernetes version; default: serverversion.json of the results archive,
    /// which it may not contradict (another minor is refused).
    #[arg(long, value_name = "X.Y.Z")]
    k8s_version: Option<String>,
    /// Check completeness against this e2e inventory (a spec list .txt/.txt.gz, e.g. from
    /// `e2e.test --list-tests`, or any e2e JUnit of that release) instead of the built-in one of
    /// the Kubernetes version; for versions without a built-in inventory.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Output directory for verdict.json, junit.xml, summary.md, report.html and extracted results.
    #[arg(long, value_name = "DIR", default_value = "scs-results")]
    out: PathBuf,
    /// Replace a results/ folder in the output directory that scs-conformance did not extract.
    #[arg(long)]
    replace_results: bool,
    /// Write report.yaml although the e2e results are older than 7 days, undated or dated in
    /// the future; the report then says so.
    #[arg(long)]
    allow_old_evidence: bool,
    #[command(flatten)]
    narrow: NarrowArgs,
    #[command(flatten)]
    report: crate::args::ScsReportArgs,
}

pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    // Refused before anything is touched when another run writes to the same folder.
    let out = OutDir::lock(&args.out).map_err(Failure::input)?;
    // From here on, however this ends, the folder holds this run's verdict or its ABORT record.
    out.begin("verdict").map_err(Failure::input)?;
    let failure = match panic::catch_unwind(AssertUnwindSafe(|| evaluate(defs, &args, &out))) {
        Ok(Ok((code, summary))) => {
            // After the catch: a closed stdout must not turn a written verdict into an ABORT.
            crate::out!("{summary}");
            crate::outln!("Wrote {}", args.out.display());
            return Ok(code);
        }
        Ok(Err(f)) => f,
        Err(payload) => Failure {
            message: reports::panic_message(payload.as_ref()),
            code: exit::ABORT,
        },
    };
    if let Err(e) = out.write_error(&ErrorRecord::new("verdict", &failure.message)) {
        eprintln!(
            "warning: cannot record the error in {}: {e}",
            args.out.display()
        );
    }
    Err(failure)
}

/// Evaluates and writes the outputs; returns the exit code and the terminal summary.
fn evaluate(defs: &Definitions, args: &Args, out: &OutDir) -> Result<(u8, String), Failure> {
    let catalog = args
        .narrow
        .apply(context::catalog(defs)?, args.report.subject.as_deref())?;
    let target = args.standard.resolve(&catalog)?;
    let waivers = context::waivers(defs, &catalog)?;
    let cni_flag = args.facts.cni()?;
    // Parsed here, so a typo is refused instead of silently changing which waivers apply.
    if let Some(v) = &args.k8s_version {
        version::kubernetes(v).map_err(|e| Failure::input(format!("--k8s-version: {e}")))?;
    }

    let inventory = match &args.inventory {
        Some(path) => Some(Inventory::read(path).map_err(Failure::input)?),
        None => None,
    };
    let results = load_results(&args.results, out.path(), args.replace_results)?;
    results::check_given_facts(&results, cni_flag.as_ref(), args.k8s_version.as_deref())
        .map_err(Failure::input)?;

    let evidence_date = args
        .facts
        .date
        .and_then(|_| EvidenceTime::of(&results).produced)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date());
    let date_warning = context::waiver_date(
        args.facts.date,
        evidence_date,
        args.report.subject.is_some(),
    )?;
    let given = GivenFacts {
        cni: cni_flag,
        kubernetes_version: args.k8s_version.clone(),
    };
    let mut cert = certify::certify_results_against(
        &catalog,
        &target,
        &waivers,
        &results,
        given,
        args.facts.today(),
        SpecList::from_option(inventory.as_ref()),
    )
    .map_err(Failure::input)?;
    if let Some(w) = date_warning {
        for t in cert.modules.iter_mut().flat_map(|m| m.testcases.iter_mut()) {
            t.warnings.push(w.clone());
        }
    }
    let mut extra = Vec::new();
    if let Some(ctx) = args.report.context(args.standard.version.as_deref()) {
        let request = ResultsReport {
            results: &results,
            now: jiff::Timestamp::now(),
            allow_old_evidence: args.allow_old_evidence,
        };
        extra.push((
            reports::REPORT_YAML,
            request
                .render(&mut cert, &catalog, ctx)
                .map_err(Failure::input)?,
        ));
    }
    // Rendered before the set is written: a failure here leaves the ABORT record.
    let summary = reports::terminal::render(&cert);
    out.write(&cert, extra)
        .map_err(|e| Failure::input(format!("cannot write outputs: {e}")))?;
    Ok((exit::for_verdict(cert.verdict), summary))
}

/// Loads results; a tarball is extracted to `out/results` (replacing an earlier extraction of
/// ours) and kept there even when its content turns out to be unusable. An extraction of ours
/// that this run does not replace is removed, so it never sits next to another run's verdict; a
/// `results/` folder that is not ours is left alone unless `replace` says otherwise.
fn load_results(path: &Path, out: &Path, replace: bool) -> Result<results::Results, Failure> {
    let extract_to = out.join("results");
    let ours = extract_to.join(RESULTS_MARKER).is_file();
    // Results read from inside our old extraction (`--results scs-results/results`) stay.
    let reads_it = match (path.canonicalize(), extract_to.canonicalize()) {
        (Ok(p), Ok(r)) => p.starts_with(r),
        _ => false,
    };
    if extract_to.exists() && !ours && !replace && !reads_it {
        return Err(Failure::input(format!(
            "{} exists and was not extracted by scs-conformance; move it away, choose another \
             --out, or pass --replace-results",
            extract_to.display()
        )));
    }
    let staging = out.join(".results-extracting");
    let _ = std::fs::remove_dir_all(&staging);
    let loaded = results::load(path, Some(&staging), Limits::default());
    if staging.exists() {
        std::fs::write(staging.join(RESULTS_MARKER), b"")
            .map_err(|e| Failure::input(format!("{}: {e}", staging.display())))?;
        remove_dir_if_exists(&extract_to)?;
        std::fs::rename(&staging, &extract_to)
            .map_err(|e| Failure::input(format!("{}: {e}", extract_to.display())))?;
    } else if extract_to.exists() && !reads_it && (ours || replace) {
        remove_dir_if_exists(&extract_to)?;
    }
    let mut loaded = loaded.map_err(|e| {
        let kept = if extract_to.exists() && !reads_it {
            format!(" (extracted files kept in {})", extract_to.display())
        } else {
            String::new()
        };
        Failure::input(format!("{e}{kept}"))
    })?;
    if loaded.extracted_to.is_some() {
        loaded.extracted_to = Some(extract_to);
    }
    Ok(loaded)
}

fn remove_dir_if_exists(dir: &Path) -> Result<(), Failure> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Failure::input(format!("{}: {e}", dir.display())))
        }
        _ => Ok(()),
    }
}
