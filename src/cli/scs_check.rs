//! `scs-conformance scs-check`: a drop-in for the scripts of SCS's `Tests/scs-compatible-kaas.yaml`
//! (`run_sonobuoy.py run …` and `k8s_version_policy.py -k …`), speaking SCS's check-script
//! protocol: result lines on stdout, prefixed log lines on stderr, the scripts' exit codes.
//! See docs/scs-check.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use scs_conformance::catalog::{Catalog, Check, E2eCheck};
use scs_conformance::inventory::Inventory;
use scs_conformance::native::cli::ReleaseDataSource;
use scs_conformance::run::{self, Images, RunEvent, RunOptions};
use scs_conformance::scs_protocol::{
    self, ExecutionMode, Level, LogLine, SonobuoyArgs, VERSION_POLICY_TESTCASE,
};
use scs_conformance::sonobuoy::{self, launch, status::RunState};
use scs_conformance::verdict::Verdict;
use scs_conformance::waiver::{ClusterContext, Waiver, WaiverStatus};
use scs_conformance::{cluster, output};

use super::run::{ClusterArgs, client, clip, interrupted};
use super::{Definitions, Failure, context};

/// Arguments: those SCS's scope file passes to `run_sonobuoy.py run` and to
/// `k8s_version_policy.py`, plus a few of our own (all optional).
#[derive(clap::Args)]
#[command(after_help = "Examples (as in a scope file's scripts entry):\n  \
    scs-conformance scs-check run -k KUBECONFIG --scs-sonobuoy-config kaas/scs-sonobuoy-config-v1.yaml --execution-mode parallel -r DIR -c kaas-networking-check -a '--e2e-focus \"NetworkPolicy\"'\n  \
    scs-conformance scs-check -k KUBECONFIG    (k8s_version_policy.py form: version-policy-check)\n\n\
    stdout: only `<testcase-id>: PASS|FAIL|ABORT`; stderr: lines prefixed info:/warning:/error:/critical:.\n\
    Exit codes: as run_sonobuoy.py (0 PASS, 3 FAIL, 112 ABORT); for version-policy-check as\n\
    k8s_version_policy.py (0 PASS or FAIL, 1 ABORT); 2 on bad usage.")]
pub struct Args {
    /// `run`, as in `run_sonobuoy.py run …`; may be left out (the `k8s_version_policy.py -k …`
    /// form).
    #[arg(value_name = "run", value_parser = ["run"])]
    action: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(short = 'k', long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Test case id: cncf-k8s-conformance, kaas-networking-check, version-policy-check,
    /// node-distribution-check (default without `run`: version-policy-check).
    #[arg(short = 'c', long = "check", value_name = "TESTCASE")]
    check: Option<String>,
    /// Output directory: verdict.json, junit.xml, summary.md and the Sonobuoy results (default
    /// for e2e test cases: sonobuoy_results, as run_sonobuoy.py; native checks write outputs only
    /// when it is given).
    #[arg(
        short = 'r',
        long = "result_dir_name",
        visible_alias = "result-dir",
        value_name = "DIR"
    )]
    result_dir: Option<PathBuf>,
    /// SCS's okToFail file (Tests/kaas/scs-sonobuoy-config-v1.yaml): applied as waivers, like
    /// --waivers-from-scs.
    #[arg(long, value_name = "FILE")]
    scs_sonobuoy_config: Option<PathBuf>,
    /// parallel: as the standard definition says (parallel where allowed, [Serial] specs in a
    /// serial pass); serial: one serial pass; dry: launch nothing, print the plan, ABORT.
    #[arg(long, value_enum, value_name = "MODE", default_value = "parallel")]
    execution_mode: ExecutionMode,
    /// A Sonobuoy `run` argument, split like a shell would (repeatable). Understood:
    /// --e2e-focus, --e2e-skip, --mode, --e2e-parallel, --plugin-env e2e.KEY=VALUE (all
    /// superseded by the standard definition, with a warning), --sonobuoy-image,
    /// --kube-conformance-image, --timeout SECONDS, --wait.
    #[arg(
        short = 'a',
        long = "arg",
        value_name = "ARGS",
        allow_hyphen_values = true
    )]
    arg: Vec<String>,
    /// Namespace of the Sonobuoy run (an existing run there is removed first, as
    /// run_sonobuoy.py's `sonobuoy delete --wait` does).
    #[arg(short = 'n', long, value_name = "NS", default_value = sonobuoy::DEFAULT_NAMESPACE)]
    namespace: String,
    /// Limit for each Sonobuoy run (e.g. 6h, 90m; a bare number is minutes); Sonobuoy's
    /// `--timeout` in -a overrides it.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = super::run::parse_duration)]
    timeout: Duration,
    /// Abort a run whose status has not changed for this long.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = super::run::parse_duration)]
    stall_timeout: Duration,
    /// Judge waiver expiry and release data as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    date: Option<NaiveDate>,
    #[command(flatten)]
    release_data: ReleaseDataSource,
}

/// Writes one protocol log line to stderr.
fn log(level: Level, message: impl Into<String>) {
    eprintln!("{}", LogLine::new(level, message));
}

/// The test case id and whether the `run_sonobuoy.py` form was used.
fn testcase_id(args: &Args) -> Result<String, Failure> {
    match (&args.check, &args.action) {
        (Some(c), _) => Ok(c.clone()),
        (None, None) => Ok(VERSION_POLICY_TESTCASE.to_string()),
        (None, Some(_)) => Err(Failure::input(
            "scs-check run needs -c TESTCASE (cncf-k8s-conformance, kaas-networking-check, version-policy-check, node-distribution-check)",
        )),
    }
}

/// Runs the check. Anything that goes wrong after argument parsing ends, like SCS's handler, in a
/// `critical:` line, `<testcase>: ABORT` and the ABORT exit code.
pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    let id = testcase_id(&args)?;
    match check(defs, &args, &id) {
        Ok(code) => Ok(code),
        Err(message) => {
            log(Level::Critical, message);
            println!("{}", scs_protocol::result_line(&id, Verdict::Abort));
            Ok(scs_protocol::exit_code(&id, Verdict::Abort))
        }
    }
}

fn check(defs: &Definitions, args: &Args, id: &str) -> Result<u8, String> {
    let started = Instant::now();
    let mut defs = defs.clone();
    if let Some(file) = &args.scs_sonobuoy_config {
        if let Some(other) = defs.waivers_from_scs.as_ref().filter(|o| *o != file) {
            log(
                Level::Warning,
                format!(
                    "--scs-sonobuoy-config {} replaces --waivers-from-scs {}",
                    file.display(),
                    other.display()
                ),
            );
        }
        defs.waivers_from_scs = Some(file.clone());
    }
    let mut catalog = context::catalog(&defs).map_err(|f| f.message)?;
    let Some((_, tc)) = catalog.testcase(id) else {
        let known: Vec<&str> = catalog
            .modules
            .iter()
            .flat_map(|m| m.testcases.iter().map(|t| t.id.as_str()))
            .collect();
        return Err(format!(
            "unknown test case {id:?} (known: {})",
            known.join(", ")
        ));
    };
    let is_e2e = matches!(tc.check, Check::E2e(_));
    let sonobuoy_args = SonobuoyArgs::parse(&args.arg)?;
    for line in scs_protocol::reconcile(&sonobuoy_args, tc) {
        eprintln!("{line}");
    }
    if is_e2e {
        match args.execution_mode {
            ExecutionMode::Parallel => log(
                Level::Info,
                "execution mode parallel: the standard definition's plan (parallel where allowed, [Serial] specs in a serial pass)",
            ),
            ExecutionMode::Serial => {
                log(Level::Info, "execution mode serial: one serial pass");
                set_serial(&mut catalog, id);
            }
            ExecutionMode::Dry => log(
                Level::Info,
                "execution mode dry: nothing is launched; the result is ABORT, since nothing is tested",
            ),
        }
    } else if args.execution_mode != ExecutionMode::Parallel {
        log(
            Level::Info,
            format!(
                "{id} is a native, read-only check: it runs as usual in execution mode {:?}",
                args.execution_mode
            ),
        );
    }
    let catalog = catalog;
    let waivers = context::waivers(&defs, &catalog).map_err(|f| f.message)?;
    let release_data = args.release_data.load().map_err(|e| e.to_string())?;
    let target = catalog.resolve(id, None).map_err(|e| e.to_string())?;
    let id = target.id();
    let cluster_args = ClusterArgs {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;

    if is_e2e && args.execution_mode == ExecutionMode::Dry {
        let Some((_, tc)) = catalog.testcase(&id) else {
            unreachable!("resolved above")
        };
        let Check::E2e(e2e) = &tc.check else {
            unreachable!("e2e test case")
        };
        runtime.block_on(dry_run(&cluster_args, e2e, tc, &waivers, args))?;
        println!("{}", scs_protocol::result_line(&id, Verdict::Abort));
        return Ok(scs_protocol::exit_code(&id, Verdict::Abort));
    }

    let out = match (&args.result_dir, is_e2e) {
        (Some(dir), _) => Some(dir.clone()),
        (None, true) => Some(PathBuf::from("sonobuoy_results")),
        (None, false) => None,
    };
    // Native checks write nothing unless -r is given; the run still needs a directory.
    let scratch =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let out_dir = out.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let opts = RunOptions {
        namespace: args.namespace.clone(),
        out: out_dir.clone(),
        cni: None,
        timeout: sonobuoy_args
            .timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(args.timeout),
        stall_timeout: args.stall_timeout,
        keep: false,
        // run_sonobuoy.py removes any earlier run first (`sonobuoy delete --wait`).
        force: true,
        run_waived: false,
        images: Images {
            registry: None,
            aggregator: sonobuoy_args.sonobuoy_image.clone(),
            conformance: sonobuoy_args.conformance_image.clone(),
            e2e_repo: None,
        },
        today: context::today(args.date),
        inventory: None::<Inventory>,
        release_data,
    };

    let (result, completed_at) = runtime.block_on(async {
        let client = client(&cluster_args).await.map_err(|f| f.message)?;
        let mut progress = Progress::default();
        let result = run::run(
            &client,
            &catalog,
            &target,
            &waivers,
            &opts,
            &mut |e| progress.event(e),
            Box::pin(interrupted()),
        )
        .await;
        Ok::<_, String>((result, progress.completed_at))
    })?;
    let mut cert = result.certification;
    let mut record = result.record;
    if let Some(t) = completed_at {
        record.seconds_complete_to_outputs = Some(t.elapsed().as_secs_f64());
    }
    if let Some(why) = &record.aborted {
        log(Level::Error, format!("run aborted: {why}"));
    }
    cert.run = Some(record);
    if let Some(dir) = &out {
        match output::write_all(&cert, dir) {
            Ok(_) => log(Level::Info, format!("wrote {}", dir.display())),
            Err(e) => log(
                Level::Error,
                format!("cannot write outputs to {}: {e}", dir.display()),
            ),
        }
    }
    for line in scs_protocol::log_lines(&cert) {
        eprintln!("{line}");
    }
    log(
        Level::Info,
        format!("done in {:.1} s", started.elapsed().as_secs_f64()),
    );
    for line in scs_protocol::result_lines(&cert) {
        println!("{line}");
    }
    Ok(scs_protocol::exit_code_all(&cert))
}

/// `--execution-mode serial`: the test case runs in one serial pass.
fn set_serial(catalog: &mut Catalog, id: &str) {
    for m in &mut catalog.modules {
        for t in &mut m.testcases {
            if t.id.eq_ignore_ascii_case(id)
                && let Check::E2e(e2e) = &mut t.check
            {
                e2e.parallel = false;
            }
        }
    }
}

/// `--execution-mode dry`: reads the cluster, checks permissions, logs the plan.
async fn dry_run(
    cluster_args: &ClusterArgs,
    e2e: &E2eCheck,
    tc: &scs_conformance::catalog::Testcase,
    waivers: &[Waiver],
    args: &Args,
) -> Result<(), String> {
    let client = client(cluster_args).await.map_err(|f| f.message)?;
    let info = cluster::discover(&client, None)
        .await
        .map_err(|e| e.to_string())?;
    log_cluster(&info);
    let ctx = ClusterContext {
        cni: info.cni.clone(),
        kubernetes: scs_conformance::waiver::parse_version(&info.server_version),
        today: context::today(args.date),
    };
    let active: Vec<&Waiver> = waivers
        .iter()
        .filter(|w| w.covers(tc) && w.status(&ctx) == WaiverStatus::Active)
        .collect();
    for w in &active {
        log(
            Level::Info,
            format!(
                "dry run: waiver {} applies: {} ({})",
                w.id,
                w.test.as_str(),
                w.reason
            ),
        );
    }
    let inventory = Inventory::builtin(&info.server_version).ok();
    let passes = run::plan_passes(e2e, &active, inventory.as_ref());
    if let Some(note) = &passes.note {
        log(Level::Info, format!("dry run: {note}"));
    }
    let n = passes.passes.len();
    for (i, p) in passes.passes.iter().enumerate() {
        log(
            Level::Info,
            format!(
                "dry run: would run {} pass {}/{n} in namespace {}: E2E_FOCUS={:?} E2E_SKIP={:?} E2E_PARALLEL={}",
                tc.id,
                i + 1,
                args.namespace,
                clip(&p.focus),
                clip(&p.skip),
                p.parallel
            ),
        );
    }
    match launch::check_permissions(&client, &args.namespace).await {
        Ok(()) => log(Level::Info, "dry run: permissions for a Sonobuoy run: ok"),
        Err(e) => log(Level::Error, format!("dry run: {e}")),
    }
    log(
        Level::Warning,
        format!("dry run: {} was not tested; reporting ABORT", tc.id),
    );
    Ok(())
}

fn log_cluster(info: &cluster::ClusterInfo) {
    log(Level::Info, format!("cluster: {info}"));
}

/// Renders run events as `info:`/`warning:` lines: no progress bar, no ANSI.
#[derive(Default)]
struct Progress {
    last_line: Option<Instant>,
    last_counts: Option<(u64, u64, u64)>,
    last_state: Option<RunState>,
    completed_at: Option<Instant>,
}

impl Progress {
    fn event(&mut self, e: RunEvent) {
        match e {
            RunEvent::Cluster(info) => log_cluster(&info),
            RunEvent::PassStarted {
                testcase,
                pass,
                passes,
                spec,
            } => {
                self.last_counts = None;
                self.last_state = None;
                log(
                    Level::Info,
                    format!(
                        "{testcase}: Sonobuoy run {pass}/{passes} in namespace {} (E2E_FOCUS={:?} E2E_SKIP={:?} E2E_PARALLEL={})",
                        spec.namespace,
                        clip(&spec.focus),
                        clip(&spec.skip),
                        spec.parallel
                    ),
                );
            }
            RunEvent::AggregatorCreated { after } => log(
                Level::Info,
                format!("aggregator pod created ({} ms)", after.as_millis()),
            ),
            RunEvent::Status(status) => {
                if status.status == RunState::Complete {
                    self.completed_at = Some(Instant::now());
                }
                let counts = status
                    .e2e_counts()
                    .map(|c| (c.passed, c.failed, c.remaining()));
                // A line when counts change, at most every 30 s, and on every state change.
                let due = self
                    .last_line
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(30));
                let state_changed = self.last_state != Some(status.status);
                if (counts != self.last_counts && due) || state_changed {
                    let state = serde_json::to_value(status.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let c = counts
                        .map(|(p, f, r)| format!(": passed {p}, failed {f}, remaining {r}"))
                        .unwrap_or_default();
                    log(Level::Info, format!("sonobuoy {state}{c}"));
                    self.last_line = Some(Instant::now());
                    self.last_counts = counts;
                    self.last_state = Some(status.status);
                }
            }
            RunEvent::Warning(w) => log(Level::Warning, w),
            RunEvent::Retrieved(path) => log(
                Level::Info,
                format!("results retrieved: {}", path.display()),
            ),
            RunEvent::PassEnded { testcase, outcome } => {
                log(Level::Info, format!("{testcase}: Sonobuoy run {outcome}"))
            }
            RunEvent::CleanedUp(removed) => {
                if !removed.namespaces.is_empty() {
                    log(
                        Level::Info,
                        format!("cleaned up: namespaces {}", removed.namespaces.join(", ")),
                    );
                }
            }
            RunEvent::Native { testcase, outcome } => log(
                Level::Info,
                format!(
                    "{testcase}: {} ({})",
                    outcome.verdict.as_str(),
                    outcome.reason
                ),
            ),
        }
    }
}

/// Logging for scs-check: tracing events (e.g. from the Kubernetes client) as protocol lines.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCS_CONFORMANCE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_ansi(false)
        .event_format(Prefixed)
        .with_writer(std::io::stderr)
        .init();
}

/// Formats a tracing event as `warning: target: message` (levels mapped to SCS's prefixes).
struct Prefixed;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Prefixed
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warning,
            _ => Level::Info,
        };
        let mut fields = String::new();
        ctx.field_format().format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut fields),
            event,
        )?;
        let line = LogLine::new(level, format!("{}: {fields}", event.metadata().target()));
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("scs-check").chain(argv.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .args
    }

    #[test]
    fn scope_file_arguments_of_run_sonobuoy_parse() {
        // Exactly what scs-compliance-check.py passes after shlex.split of the scope's args.
        let a = parse(&[
            "run",
            "-k",
            "kc.yaml",
            "--scs-sonobuoy-config",
            "kaas/scs-sonobuoy-config-v1.yaml",
            "--execution-mode",
            "parallel",
            "-r",
            "subj/sono-results-0219",
            "-c",
            "kaas-networking-check",
            "-a",
            "--e2e-focus \"NetworkPolicy\"",
            "-a",
            "--plugin-env e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
        ]);
        assert_eq!(a.action.as_deref(), Some("run"));
        assert_eq!(a.kubeconfig, Some(PathBuf::from("kc.yaml")));
        assert_eq!(testcase_id(&a).ok(), Some("kaas-networking-check".into()));
        assert_eq!(a.result_dir, Some(PathBuf::from("subj/sono-results-0219")));
        assert_eq!(
            a.scs_sonobuoy_config,
            Some(PathBuf::from("kaas/scs-sonobuoy-config-v1.yaml"))
        );
        assert_eq!(a.execution_mode, ExecutionMode::Parallel);
        assert_eq!(a.arg.len(), 2);
        let s = SonobuoyArgs::parse(&a.arg).unwrap();
        assert_eq!(s.focus.as_deref(), Some("NetworkPolicy"));
        assert_eq!(
            s.plugin_env,
            vec![(
                "e2e".to_string(),
                "E2E_EXTRA_ARGS".to_string(),
                "--ginkgo.flake-attempts=2".to_string()
            )]
        );
    }

    #[test]
    fn cncf_and_version_policy_forms_parse() {
        let a = parse(&[
            "run",
            "-k",
            "kc",
            "--scs-sonobuoy-config",
            "f.yaml",
            "--execution-mode",
            "dry",
            "-r",
            "d",
            "-c",
            "cncf-k8s-conformance",
            "-a",
            "--mode=certified-conformance",
        ]);
        assert_eq!(a.execution_mode, ExecutionMode::Dry);
        assert_eq!(
            SonobuoyArgs::parse(&a.arg).unwrap().mode.as_deref(),
            Some("certified-conformance")
        );
        // k8s_version_policy.py's arguments: `-k {kubeconfig}` only.
        let v = parse(&["-k", "kc"]);
        assert_eq!(v.action, None);
        assert_eq!(testcase_id(&v).ok(), Some(VERSION_POLICY_TESTCASE.into()));
        // `run` without -c is a usage error.
        assert!(testcase_id(&parse(&["run", "-k", "kc"])).is_err());
        // Handler spelling of -r.
        assert_eq!(
            parse(&["--result_dir_name", "x"]).result_dir,
            Some(PathBuf::from("x"))
        );
        assert!(Cli::try_parse_from(["scs-check", "check-results"]).is_err());
    }
}
