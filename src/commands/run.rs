//! `scs-conformance run` and `cleanup`: certify the cluster of a kubeconfig.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use scs_conformance::definitions::builtin;
use scs_conformance::definitions::catalog::Catalog;
use scs_conformance::definitions::inventory::Inventory;
use scs_conformance::evidence::sonobuoy::manifest::{PodSecurity, TestImages};
use scs_conformance::evidence::sonobuoy::{self, cleanup};
use scs_conformance::exit_codes::native as exit;
use scs_conformance::reports::{self, ErrorRecord, OutDir};
use scs_conformance::run::{self, Images, InventoryChoice, PullSecret, RunOptions, Settled};
use scs_conformance::scs;
use scs_conformance::verdict::certify::Certification;
use scs_conformance::verdict::rerun::{Earlier, Waived};

use crate::args::{
    ClusterArgs, Definitions, FactArgs, NarrowArgs, ReleaseDataSource, ScsReportArgs, StandardArgs,
    parse_duration,
};
use crate::events::Style;
use crate::live::{Live, interrupted};
use crate::{Failure, context};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  \
    scs-conformance run --standard scs-0219-v1 --kubeconfig kubeconfig.yaml\n  \
    scs-conformance run --standard scs-compatible-kaas --version v1 --subject my-cluster --out results\n  \
    scs-conformance run --standard scs-0219-v1 --focus 'ipBlock|CIDR' --keep   # debugging, no certification\n  \
    scs-conformance run --standard scs-0219-v1 --image-registry mirror.local --e2e-repo-config repo-list.yaml",
    mut_arg("standard", |a| a.help(
        "Scope, module or test case id (case-insensitive), e.g. SCS-0219-V1"
    ))
)]
pub struct Args {
    #[command(flatten)]
    standard: StandardArgs,
    #[command(flatten)]
    narrow: NarrowArgs,
    #[command(flatten)]
    live: LiveArgs,
}

/// The cluster and how to run on it: the options of `run` and `rerun-failed`.
#[derive(clap::Args)]
#[command(
    mut_arg("cni", |a| a.help(
        "The cluster's CNI (NAME or NAME@VERSION); default: detected from its workloads"
    )),
    mut_arg("date", |a| a.help(
        "Judge waiver expiry and release data as of this date (YYYY-MM-DD) instead of today"
    ))
)]
pub struct LiveArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    facts: FactArgs,
    /// Output directory: verdict.json, junit.xml, summary.md, report.html, results.
    #[arg(long, value_name = "DIR", default_value = "scs-results")]
    out: PathBuf,
    /// Limit for the whole run, connecting and Sonobuoy runs included (e.g. 6h, 1h30m, 90m, 45s;
    /// a bare number is minutes); cleanup after it takes at most 1 min more.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
    timeout: Duration,
    /// Abort a run whose status has not changed for this long (Sonobuoy updates it every 5 s;
    /// same syntax as --timeout).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    stall_timeout: Duration,
    /// Leave the last Sonobuoy run's objects in the cluster (for debugging); earlier runs of the
    /// same invocation are removed, as the next one needs the namespace.
    #[arg(long)]
    keep: bool,
    /// Remove an existing run in the namespace before starting.
    #[arg(long)]
    force: bool,
    /// Also run waived tests, to see whether the waivers are still needed.
    #[arg(long)]
    run_waived: bool,
    #[command(flatten)]
    images: ImageArgs,
    /// e2e inventory to plan with: FILE (an inventory or e2e JUnit), `cluster` (ask the
    /// cluster's conformance image) or `none` (select [Serial] specs by Ginkgo label). Default:
    /// the built-in one for the server's minor, else `cluster`.
    #[arg(long, value_name = "FILE|cluster|none")]
    inventory: Option<PathBuf>,
    #[command(flatten)]
    release_data: ReleaseDataSource,
    #[command(flatten)]
    report: ScsReportArgs,
}

pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    let started = Instant::now();
    // Signal handlers first: a Ctrl-C or SIGTERM at any later moment ends in an ABORT verdict.
    let mut live = Live::start()?;
    // Refused before anything is touched when another command writes to the same folder; from
    // here on, however this ends (bad input included), the folder holds this run's verdict or
    // its ABORT record, never an earlier run's verdict.
    let out = OutDir::lock(&args.live.out).map_err(Failure::input)?;
    out.begin("run").map_err(Failure::input)?;
    let result = certify_and_write(defs, &args, &mut live, &out);
    args.live
        .ending("run", started)
        .conclude(result, &live, &out)
}

impl LiveArgs {
    /// How a command with these options ends.
    fn ending(&self, command: &'static str, started: Instant) -> Ending<'_> {
        Ending {
            command,
            out_dir: &self.out,
            cluster: &self.cluster,
            keep: self.keep,
            timeout: self.timeout,
            started,
        }
    }

    /// The run's options (the namespace, limits, images, inventory, date, release data).
    fn options(&self) -> Result<RunOptions, Failure> {
        let release_data = self.release_data.load().map_err(Failure::input)?;
        let inventory = match self.inventory.as_deref() {
            None => InventoryChoice::Auto,
            Some(p) if p == Path::new("cluster") => InventoryChoice::FromCluster,
            Some(p) if p == Path::new("none") => InventoryChoice::None,
            Some(p) => InventoryChoice::Given(Inventory::read(p).map_err(Failure::input)?),
        };
        Ok(RunOptions {
            cni: self.facts.cni()?,
            timeout: self.timeout,
            stall_timeout: self.stall_timeout,
            keep: self.keep,
            force: self.force,
            run_waived: self.run_waived,
            images: self.images.images()?,
            inventory,
            ..RunOptions::new(
                self.cluster.namespace.clone(),
                self.out.clone(),
                self.facts.today(),
                release_data,
                String::new(),
            )
        })
    }
}

/// How a live command ends, whatever happened: outputs already written (or the error recorded),
/// the namespace waited for, the summary printed, the exit code chosen.
struct Ending<'a> {
    command: &'static str,
    out_dir: &'a Path,
    cluster: &'a ClusterArgs,
    keep: bool,
    timeout: Duration,
    started: Instant,
}

impl Ending<'_> {
    fn conclude(
        &self,
        result: Result<Certification, Failure>,
        live: &Live,
        out: &OutDir,
    ) -> Result<u8, Failure> {
        match result {
            Ok(cert) => {
                let launched = cert.run.as_ref().is_some_and(|r| !r.passes.is_empty());
                // Within what is left of --timeout (nothing after a timeout), never past a signal.
                let wait = Duration::from_secs(120)
                    .min(self.timeout.saturating_sub(self.started.elapsed()));
                if launched && !self.keep && !wait.is_zero() {
                    // The run's namespace was deleted; wait (bounded) until it is gone, so that
                    // the next run can start at once. Outputs are already written.
                    settle(live, self.cluster, wait);
                }
                crate::out!("{}", reports::terminal::render(&cert));
                if let Some(why) = cert.run.as_ref().and_then(|r| r.aborted.as_ref()) {
                    crate::outln!("Run aborted: {why}");
                }
                crate::outln!(
                    "Wrote {} ({:.1} s)",
                    self.out_dir.display(),
                    self.started.elapsed().as_secs_f64()
                );
                Ok(exit::for_verdict(cert.verdict))
            }
            Err(failure) => {
                if let Err(e) = out.write_error(&ErrorRecord::new(self.command, &failure.message)) {
                    eprintln!(
                        "warning: cannot record the error in {}: {e}",
                        self.out_dir.display()
                    );
                }
                Err(failure)
            }
        }
    }
}

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    scs-conformance run --standard scs-0219-v1 --kubeconfig kubeconfig.yaml --out scs-results\n  \
    scs-conformance rerun-failed --from scs-results/verdict.json --kubeconfig kubeconfig.yaml --out scs-results-2\n  \
    scs-conformance rerun-failed --from scs-results-2/verdict.json --kubeconfig kubeconfig.yaml --out scs-results-3   # chained\n\n\
    Only the specs of the earlier verdict that failed or did not run are launched, by their exact\n\
    names; the merged verdict says which spec came from which run (runs[], tests[].run). A\n\
    cluster other than the earlier verdict's is refused. No report.yaml (--subject): the\n\
    compliance monitor gets whole runs only (docs/run.md).")]
pub struct RerunArgs {
    /// The verdict.json of an earlier `run` or `rerun-failed` on the same cluster; its standard
    /// (and --focus/--skip, if any) is rerun.
    #[arg(long, value_name = "VERDICT_JSON")]
    from: PathBuf,
    #[command(flatten)]
    live: LiveArgs,
}

/// `rerun-failed --from verdict.json`: run again only the specs of an earlier verdict that
/// failed or did not run, and write a verdict that merges both runs, with provenance.
pub fn rerun_failed(defs: &Definitions, args: RerunArgs) -> Result<u8, Failure> {
    let started = Instant::now();
    // Read first: --out may be the folder of --from, whose verdict.json the run replaces.
    let earlier = Earlier::load(&args.from).map_err(Failure::input)?;
    if let Some(subject) = &args.live.report.subject {
        return Err(Failure::input(format!(
            "--subject {subject}: rerun-failed writes no report.yaml: a merged verdict holds \
             results of runs at different times, and the compliance monitor takes whole runs \
             (`run --subject`)"
        )));
    }
    let mut catalog = context::catalog(defs)?;
    if let Some(narrowing) = earlier.narrowing().map_err(Failure::input)? {
        catalog = catalog.narrowed(&narrowing);
    }
    let target = earlier.resolve(&catalog).map_err(Failure::input)?;
    let waivers = context::waivers(defs, &catalog)?;
    // The CNI the earlier run was told, unless this one is told another.
    let cni_flag = args.live.facts.cni.clone().or_else(|| earlier.cni_flag());
    let cni = context::cni(cni_flag.as_deref())?;
    let today = args.live.facts.today();
    let waiver_ctx = earlier.context(cni.clone(), today);
    let waived = if args.live.run_waived {
        Waived::Launch
    } else {
        Waived::Keep {
            waivers: &waivers,
            ctx: &waiver_ctx,
        }
    };
    let rerun = earlier.plan(&catalog, &target, waived);
    if rerun.is_empty() {
        crate::outln!(
            "Nothing to rerun: every test case of {} passed (no spec failed or was left unrun, \
             no waiver has lapsed); nothing launched, {} left as it is.",
            args.from.display(),
            args.live.out.display()
        );
        return Ok(exit::PASS);
    }
    let mut live = Live::start()?;
    if let Some(warning) = live
        .check_cluster(&args.live.cluster.kube, &earlier)
        .map_err(Failure::input)?
    {
        eprintln!("warning: {warning}");
    }
    let out = OutDir::lock(&args.live.out).map_err(Failure::input)?;
    out.begin("rerun-failed").map_err(Failure::input)?;
    let result = (|| {
        let mut opts = args.live.options()?;
        if args.live.facts.cni.is_none()
            && let Some(flag) = &cni_flag
        {
            if !crate::quiet() {
                eprintln!("CNI {flag}: as given to the run of {}", args.from.display());
            }
            opts.cni = cni.clone();
        }
        let (specs, whole) = rerun.size();
        if !crate::quiet() {
            eprintln!(
                "Rerunning {specs} spec(s) of {} by name{} as run {}",
                args.from.display(),
                if whole > 0 {
                    format!(", and {whole} test case(s) in full,")
                } else {
                    String::new()
                },
                rerun.number()
            );
        }
        let cert = live
            .certify_rerun(
                &args.live.cluster.kube,
                &catalog,
                &target,
                &waivers,
                &rerun,
                opts,
                Style::Terminal,
            )
            .map_err(Failure::input)?;
        out.write(&cert, Vec::new())
            .map_err(|e| Failure::input(format!("cannot write outputs: {e}")))?;
        Ok(cert)
    })();
    args.live
        .ending("rerun-failed", started)
        .conclude(result, &live, &out)
}

#[derive(clap::Args)]
pub struct QuickArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Output directory: verdict.json, junit.xml, summary.md, results.
    #[arg(long, value_name = "DIR", default_value = "scs-results-quick")]
    out: PathBuf,
    /// Limit for the whole run (e.g. 30m, 1h, 1h30m; a bare number is minutes; same syntax as
    /// `run --timeout`).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    timeout: Duration,
    /// Leave the Sonobuoy run's objects in the cluster (for `status`, `logs`, `retrieve`).
    #[arg(long)]
    keep: bool,
    /// Remove an existing run in the namespace before starting.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    images: ImageArgs,
}

/// `quick`: one spec through the real aggregator, worker and conformance image, as Sonobuoy's
/// `--mode quick`. Its verdict says whether the cluster can run Sonobuoy at all; it is no
/// certification (no report.yaml, not an SCS standard).
pub fn quick(args: QuickArgs) -> Result<u8, Failure> {
    let started = Instant::now();
    let mut live = Live::start()?;
    let out = OutDir::lock(&args.out).map_err(Failure::input)?;
    out.begin("quick").map_err(Failure::input)?;
    let result = (|| {
        let catalog = Catalog::load(&builtin::smoke_test()).map_err(Failure::input)?;
        let target = catalog
            .resolve("sonobuoy-smoke-test", None)
            .map_err(Failure::input)?;
        let opts = RunOptions {
            timeout: args.timeout,
            stall_timeout: args.timeout,
            keep: args.keep,
            force: args.force,
            images: args.images.images()?,
            ..RunOptions::new(
                args.cluster.namespace.clone(),
                args.out.clone(),
                context::today(None),
                ReleaseDataSource::default()
                    .load()
                    .map_err(Failure::input)?,
                String::new(),
            )
        };
        let cert = live
            .certify(
                &args.cluster.kube,
                &catalog,
                &target,
                &[],
                opts,
                Style::Terminal,
            )
            .map_err(Failure::input)?;
        out.write(&cert, Vec::new())
            .map_err(|e| Failure::input(format!("cannot write outputs: {e}")))?;
        Ok(cert)
    })();
    let ending = Ending {
        command: "quick",
        out_dir: &args.out,
        cluster: &args.cluster,
        keep: args.keep,
        timeout: args.timeout,
        started,
    };
    ending.conclude(result, &live, &out)
}

/// Where the run's images come from: mirrors, pull secrets, Pod Security (`run`, `quick`).
#[derive(clap::Args)]
pub struct ImageArgs {
    /// Registry mirror for the aggregator and conformance images (air-gapped clusters).
    #[arg(long, value_name = "REGISTRY")]
    image_registry: Option<String>,
    /// Aggregator image (default sonobuoy/sonobuoy:v0.57.5).
    #[arg(long, value_name = "IMAGE")]
    sonobuoy_image: Option<String>,
    /// Conformance image (default registry.k8s.io/conformance:<server version>).
    #[arg(long, value_name = "IMAGE")]
    conformance_image: Option<String>,
    /// Registry for every image the e2e tests start (KUBE_TEST_REPO).
    #[arg(long, value_name = "REGISTRY", conflicts_with = "e2e_repo_config")]
    e2e_repo: Option<String>,
    /// A KUBE_TEST_REPO_LIST file: a YAML mapping from the e2e framework's registry keys
    /// (promoterE2eRegistry, dockerLibraryRegistry, ...) to mirrors; as sonobuoy's
    /// --e2e-repo-config. `images --mirror` writes one.
    #[arg(long, value_name = "FILE")]
    e2e_repo_config: Option<PathBuf>,
    /// Image pull secret for the aggregator, worker and conformance images: NAMESPACE/NAME is
    /// copied into the run's namespace; a bare NAME must appear there by other means.
    #[arg(long, value_name = "[NAMESPACE/]NAME", value_parser = parse_pull_secret)]
    image_pull_secret: Option<PullSecret>,
    /// Pod Security level enforced on the run's namespace. `restricted` is not offered: the
    /// Sonobuoy worker sidecar sets no security context that level would admit.
    #[arg(long, value_name = "LEVEL", default_value = "privileged")]
    pod_security: PodSecurityArg,
}

impl ImageArgs {
    fn images(&self) -> Result<Images, Failure> {
        Ok(Images {
            registry: self.image_registry.clone(),
            aggregator: self.sonobuoy_image.clone(),
            conformance: self.conformance_image.clone(),
            test_images: test_images(self)?,
            pull_secret: self.image_pull_secret.clone(),
            pod_security: self.pod_security.into(),
        })
    }
}

/// Loads the definitions, certifies the cluster and writes the outputs as one set.
fn certify_and_write(
    defs: &Definitions,
    args: &Args,
    live: &mut Live,
    out: &OutDir,
) -> Result<Certification, Failure> {
    let live_args = &args.live;
    let catalog = args
        .narrow
        .apply(context::catalog(defs)?, live_args.report.subject.as_deref())?;
    let target = args.standard.resolve(&catalog)?;
    let waivers = context::waivers(defs, &catalog)?;
    let report_ctx = live_args.report.context(args.standard.version.as_deref());
    // The evidence of a run is produced today.
    let date_warning = context::waiver_date(
        live_args.facts.date,
        Some(context::today(None)),
        report_ctx.is_some(),
    )?;
    let opts = live_args.options()?;
    let mut cert = live
        .certify(
            &live_args.cluster.kube,
            &catalog,
            &target,
            &waivers,
            opts,
            Style::Terminal,
        )
        .map_err(Failure::input)?;
    if let Some(w) = date_warning {
        for t in cert.modules.iter_mut().flat_map(|m| m.testcases.iter_mut()) {
            t.warnings.push(w.clone());
        }
    }
    let mut extra = Vec::new();
    if let Some(ctx) = report_ctx {
        extra.push((
            reports::REPORT_YAML,
            scs::report::render(&cert, &catalog, &ctx).map_err(Failure::input)?,
        ));
    }
    out.write(&cert, extra)
        .map_err(|e| Failure::input(format!("cannot write outputs: {e}")))?;
    Ok(cert)
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PodSecurityArg {
    Privileged,
    Baseline,
}

impl From<PodSecurityArg> for PodSecurity {
    fn from(level: PodSecurityArg) -> Self {
        match level {
            PodSecurityArg::Privileged => PodSecurity::Privileged,
            PodSecurityArg::Baseline => PodSecurity::Baseline,
        }
    }
}

fn parse_pull_secret(text: &str) -> Result<PullSecret, String> {
    let (from_namespace, name) = match text.split_once('/') {
        Some((ns, name)) => (Some(ns.to_string()), name),
        None => (None, text),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    };
    if !valid(name) || from_namespace.as_deref().is_some_and(|ns| !valid(ns)) {
        return Err(format!(
            "{text:?} is not [NAMESPACE/]NAME of a secret (lower-case names)"
        ));
    }
    Ok(PullSecret {
        from_namespace,
        name: name.to_string(),
    })
}

/// The test images' registries from --e2e-repo or --e2e-repo-config (checked: a YAML mapping of
/// registry keys to strings, as the e2e framework reads it).
fn test_images(args: &ImageArgs) -> Result<TestImages, Failure> {
    if let Some(repo) = &args.e2e_repo {
        return Ok(TestImages::Repo(repo.clone()));
    }
    let Some(path) = &args.e2e_repo_config else {
        return Ok(TestImages::Upstream);
    };
    let content = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    serde_saphyr::from_str::<std::collections::BTreeMap<String, String>>(&content).map_err(
        |e| {
            Failure::input(format!(
                "{}: not a KUBE_TEST_REPO_LIST file (a mapping of registry keys to registries): {e}",
                path.display()
            ))
        },
    )?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        // A ConfigMap key (Sonobuoy mounts the file under its own name).
        .filter(|n| {
            !n.starts_with('.')
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .unwrap_or_else(|| "repo-list.yaml".into());
    Ok(TestImages::RepoList { file_name, content })
}

/// Waits for the run's namespace to go and sweeps late e2e namespaces, saying what is left.
fn settle(live: &Live, cluster: &ClusterArgs, wait: Duration) {
    let namespace = &cluster.namespace;
    live.runtime.block_on(async {
        let interrupt = interrupted();
        let Ok((client, _)) = cluster.kube.connect().await else {
            return;
        };
        tokio::select! {
            settled = run::settle(&client, namespace, wait) => match settled {
                Settled::NamespaceLeft(e) => eprintln!("warning: {e}"),
                Settled::Gone { late_namespaces } if !late_namespaces.is_empty() => {
                    eprintln!("cleaned up: namespaces {}", late_namespaces.join(", "));
                }
                Settled::Gone { .. } => {}
                Settled::SweepIncomplete => eprintln!(
                    "warning: e2e namespaces may be left; `scs-conformance cleanup -n {namespace}` removes them"
                ),
            },
            _ = interrupt => eprintln!("warning: interrupted while waiting for namespace {namespace} to go"),
        }
    });
}

#[derive(clap::Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Remove every Sonobuoy run (all namespaces named by Sonobuoy cluster roles), not just the
    /// one in --namespace.
    #[arg(long)]
    all: bool,
}

pub fn cleanup(args: CleanupArgs) -> Result<u8, Failure> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let interrupt = interrupted();
        let (client, server) = args.cluster.kube.connect().await.map_err(Failure::input)?;
        let abort = |why: String| Failure {
            message: format!("cleanup incomplete: {why} (API server {server})"),
            code: exit::ABORT,
        };
        let removal = tokio::select! {
            r = tokio::time::timeout(run::CLEANUP_LIMIT, cleanup::cleanup(&client, &args.cluster.namespace, args.all)) => r,
            _ = interrupt => return Err(abort("interrupted".into())),
        };
        let Ok(removal) = removal else {
            return Err(abort(format!(
                "no answer within {}",
                sonobuoy::follow::human(run::CLEANUP_LIMIT)
            )));
        };
        match removal {
            Ok(r) => {
                crate::outln!(
                    "removed namespaces [{}], cluster roles [{}], cluster role bindings [{}]",
                    r.namespaces.join(", "),
                    r.cluster_roles.join(", "),
                    r.cluster_role_bindings.join(", ")
                );
                Ok(0)
            }
            Err(errs) => Err(abort(run::join(&errs))),
        }
    })
}
