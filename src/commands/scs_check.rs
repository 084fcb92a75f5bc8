//! `scs-conformance scs-check`: a drop-in for the scripts of SCS's `Tests/scs-compatible-kaas.yaml`
//! (`run_sonobuoy.py run …` and `k8s_version_policy.py -k …`), speaking SCS's check-script
//! protocol: result lines on stdout, prefixed log lines on stderr, the scripts' exit codes.
//! See docs/scs-check.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use scs_conformance::definitions::builtin;
use scs_conformance::definitions::catalog::{Catalog, Check, E2eCheck, ResolveError, Testcase};
use scs_conformance::definitions::inventory::PlanningInventory;
use scs_conformance::definitions::waiver::{self, ClusterContext, Waiver};
use scs_conformance::evidence::cluster::{self, ConnectError};
use scs_conformance::evidence::native::release_data::ReleaseDataError;
use scs_conformance::evidence::sonobuoy::{self, launch};
use scs_conformance::exit_codes::{self, scs_check::Script};
use scs_conformance::reports::OutDir;
use scs_conformance::reports::OutputError;
use scs_conformance::reports::escape::shell_quoted;
use scs_conformance::run::{self, Images, RunOptions};
use scs_conformance::scs;
use scs_conformance::scs::protocol::{Level, SonobuoyArgs, VERSION_POLICY_TESTCASE};
use scs_conformance::verdict::Verdict;

use crate::args::{Definitions, FactArgs, KubeArgs, ReleaseDataSource, parse_duration};
use crate::commands::plan::plugin_env;
use crate::events::{Style, clip};
use crate::live::{Live, LiveError};
use crate::scs_lines::{self, log};
use crate::{Failure, context};

/// Arguments: those SCS's scope file passes to `run_sonobuoy.py run` and to
/// `k8s_version_policy.py`, plus a few of our own (all optional).
#[derive(clap::Args)]
#[command(
    after_help = "Examples (as in a scope file's scripts entry):\n  \
    scs-conformance scs-check run -k KUBECONFIG --scs-sonobuoy-config kaas/scs-sonobuoy-config-v1.yaml --execution-mode parallel -r DIR -c kaas-networking-check -a '--e2e-focus \"NetworkPolicy\"'\n  \
    scs-conformance scs-check -k KUBECONFIG    (k8s_version_policy.py form: version-policy-check)\n\n\
    stdout: only `<testcase-id>: PASS|FAIL|ABORT`; stderr: lines prefixed info:/warning:/error:/critical:.\n\
    Exit codes: as run_sonobuoy.py (0 PASS, 3 FAIL, 112 ABORT); for version-policy-check as\n\
    k8s_version_policy.py (0 PASS or FAIL, 1 ABORT); 2 on bad usage.",
    mut_arg("kubeconfig", |a| a.short('k')),
    mut_arg("cni", |a| a.help(
        "The cluster's CNI (NAME or NAME@VERSION) for the per-CNI waivers; default: detected"
    )),
    mut_arg("date", |a| a.help(
        "Judge waiver expiry and release data as of this date (YYYY-MM-DD) instead of today"
    ))
)]
pub struct Args {
    /// `run`, as in `run_sonobuoy.py run …`; may be left out (the `k8s_version_policy.py -k …`
    /// form).
    #[arg(value_name = "run", value_parser = ["run"])]
    action: Option<String>,
    #[command(flatten)]
    kube: KubeArgs,
    #[command(flatten)]
    facts: FactArgs,
    /// Test case id: cncf-k8s-conformance, kaas-networking-check, version-policy-check,
    /// node-distribution-check (default without `run`: version-policy-check).
    #[arg(short = 'c', long = "check", value_name = "TESTCASE")]
    check: Option<String>,
    /// Output directory: verdict.json, junit.xml, summary.md, report.html and the Sonobuoy results
    /// (default for e2e test cases: sonobuoy_results, as run_sonobuoy.py; native checks write
    /// outputs only when it is given).
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
    /// Limit for the whole check, connecting included (e.g. 6h, 1h30m, 90m, 45s; a bare number
    /// is minutes); Sonobuoy's `--timeout` (seconds) in -a overrides it.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
    timeout: Duration,
    /// Abort a run whose status has not changed for this long (same syntax as --timeout).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    stall_timeout: Duration,
    #[command(flatten)]
    release_data: ReleaseDataSource,
}

/// `--execution-mode` of `run_sonobuoy.py`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutionMode {
    /// As the standard definition says: parallel where it allows it, `[Serial]` specs in a
    /// second, serial pass.
    Parallel,
    /// Everything in one serial pass.
    Serial,
    /// Launch nothing: read the cluster, check permissions, print the plan; the result is ABORT
    /// (nothing was tested, so a dry run can never count as a pass).
    Dry,
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

/// Why a check ended before it had a verdict: logged as `critical:`, reported as ABORT.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    /// Definitions, waivers or the output folder could not be used (the front end's message).
    #[error("{0}")]
    Input(String),
    #[error("unknown test case {id:?} (known: {known})")]
    UnknownTestcase { id: String, known: String },
    #[error("-a: {0}")]
    SonobuoyArgs(#[from] scs::protocol::SonobuoyArgsError),
    #[error(transparent)]
    ReleaseData(#[from] ReleaseDataError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot create a temporary directory: {0}")]
    Scratch(#[source] std::io::Error),
    #[error("{}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{} (API server {server})", run::error_chain(source))]
    Discover {
        server: String,
        #[source]
        source: cluster::ClusterError,
    },
}

impl From<Failure> for CheckError {
    fn from(f: Failure) -> Self {
        CheckError::Input(f.message)
    }
}

/// Runs the check. Anything that goes wrong after argument parsing ends, like SCS's handler, in a
/// `critical:` line, `<testcase>: ABORT` and the ABORT exit code.
pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    let id = testcase_id(&args)?;
    match check(defs, &args, &id) {
        Ok(code) => Ok(code),
        Err(e) => {
            log(Level::Critical, e.to_string());
            scs_lines::result(&scs::protocol::result_line(&id, Verdict::Abort));
            Ok(script_of(defs, &id).exit_code(Verdict::Abort))
        }
    }
}

/// The script whose exit codes apply after an error: by the test case's check, as the
/// definitions define it (the built-in ones when the given ones cannot be read or lack it); the
/// Sonobuoy handler's for a test case no definition knows.
fn script_of(defs: &Definitions, id: &str) -> Script {
    let of = |catalog: Catalog| {
        catalog
            .testcase(id)
            .map(|(_, tc)| Script::for_check(&tc.check))
    };
    context::catalog(defs)
        .ok()
        .and_then(of)
        .or_else(|| Catalog::load(&builtin::standards()).ok().and_then(of))
        .unwrap_or(Script::SonobuoyHandler)
}

fn check(defs: &Definitions, args: &Args, id: &str) -> Result<u8, CheckError> {
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
    let mut catalog = context::catalog(&defs)?;
    let Some((_, tc)) = catalog.testcase(id) else {
        let known: Vec<&str> = catalog
            .modules
            .iter()
            .flat_map(|m| m.testcases.iter().map(|t| t.id.as_str()))
            .collect();
        return Err(CheckError::UnknownTestcase {
            id: id.to_string(),
            known: known.join(", "),
        });
    };
    let is_e2e = matches!(tc.check, Check::E2e(_));
    let sonobuoy_args = SonobuoyArgs::parse(&args.arg)?;
    scs_lines::log_all(scs::protocol::reconcile(&sonobuoy_args, tc));
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
    let waivers = context::waivers(&defs, &catalog)?;
    let release_data = args.release_data.load()?;
    let target = catalog.resolve(id, None)?;
    let id = target.id();

    if is_e2e && args.execution_mode == ExecutionMode::Dry {
        let Some((_, tc)) = catalog.testcase(&id) else {
            return Err(CheckError::UnknownTestcase {
                id,
                known: String::new(),
            });
        };
        let Check::E2e(e2e) = &tc.check else {
            // `is_e2e` said so; a native check never gets here.
            return Ok(Script::for_check(&tc.check).exit_code(Verdict::Abort));
        };
        // Nothing to clean up after a dry run: no signal handlers, Ctrl-C ends it at once.
        let runtime = tokio::runtime::Runtime::new().map_err(CheckError::Runtime)?;
        runtime.block_on(dry_run(e2e, tc, &waivers, args))?;
        scs_lines::result(&scs::protocol::result_line(&id, Verdict::Abort));
        return Ok(Script::for_check(&tc.check).exit_code(Verdict::Abort));
    }

    let out = match (&args.result_dir, is_e2e) {
        (Some(dir), _) => Some(dir.clone()),
        (None, true) => Some(PathBuf::from("sonobuoy_results")),
        (None, false) => None,
    };
    // Native checks write nothing unless -r is given; the run still needs a directory.
    let scratch = tempfile::tempdir().map_err(CheckError::Scratch)?;
    let out_dir = out.clone().unwrap_or_else(|| scratch.path().to_path_buf());
    // Signal handlers first: a Ctrl-C from here on ends in an ABORT with the cluster cleaned.
    let mut live = Live::start()?;
    // Locked before the run, and an ABORT record in place of an earlier verdict until this
    // run's set is written: a run that dies half-way never leaves the previous PASS behind.
    let locked = match &out {
        Some(dir) => {
            let locked = OutDir::lock(dir)?;
            locked.begin("scs-check")?;
            Some(locked)
        }
        None => {
            std::fs::create_dir_all(&out_dir).map_err(|source| CheckError::CreateDir {
                path: out_dir.clone(),
                source,
            })?;
            None
        }
    };
    let opts = RunOptions {
        timeout: sonobuoy_args
            .timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(args.timeout),
        stall_timeout: args.stall_timeout,
        // run_sonobuoy.py removes any earlier run first (`sonobuoy delete --wait`).
        force: true,
        cni: args.facts.cni()?,
        images: Images {
            registry: None,
            aggregator: sonobuoy_args.sonobuoy_image.clone(),
            conformance: sonobuoy_args.conformance_image.clone(),
            ..Images::default()
        },
        ..RunOptions::new(
            args.namespace.clone(),
            out_dir,
            args.facts.today(),
            release_data,
            String::new(),
        )
    };
    let cert = live.certify(&args.kube, &catalog, &target, &waivers, opts, Style::Scs)?;
    if let Some(why) = cert.run.as_ref().and_then(|r| r.aborted.as_ref()) {
        log(Level::Error, format!("run aborted: {why}"));
    }
    if let Some(locked) = &locked {
        let dir = locked.path().display();
        match locked.write(&cert, Vec::new()) {
            Ok(_) => log(Level::Info, format!("wrote {dir}")),
            Err(e) => log(Level::Error, format!("cannot write outputs to {dir}: {e}")),
        }
    }
    scs_lines::log_all(scs::protocol::log_lines(&cert));
    log(
        Level::Info,
        format!("done in {:.1} s", started.elapsed().as_secs_f64()),
    );
    for line in scs::protocol::result_lines(&cert) {
        scs_lines::result(&line);
    }
    Ok(exit_codes::scs_check::for_certification(&cert))
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

/// `--execution-mode dry`: reads the cluster, checks permissions, logs the plan: the one `run`
/// would launch (waived tests skipped, [Serial] specs split), with the inventory a run would use.
async fn dry_run(
    e2e: &E2eCheck,
    tc: &Testcase,
    waivers: &[Waiver],
    args: &Args,
) -> Result<(), CheckError> {
    let (client, server) = args.kube.connect().await?;
    let info = cluster::discover(&client, None)
        .await
        .map_err(|source| CheckError::Discover { server, source })?;
    log(Level::Info, format!("cluster: {info}"));
    let ctx = ClusterContext::of_server(
        info.cni.clone(),
        Some(&info.server_version),
        args.facts.today(),
    );
    let active = waiver::active_for(waivers, tc, &ctx);
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
    let inventory = PlanningInventory::for_server(&info.server_version);
    if let Some(note) = inventory.note() {
        log(Level::Info, format!("dry run: {note}"));
    }
    let passes = run::plan_passes(e2e, &active, inventory.known());
    if let Some(note) = &passes.note {
        log(Level::Info, format!("dry run: {note}"));
    }
    let n = passes.passes.len();
    for (i, p) in passes.passes.iter().enumerate() {
        let env: Vec<String> = plugin_env(e2e, p)
            .into_iter()
            .map(|(name, value)| format!("{name}={}", shell_quoted(&clip(&value))))
            .collect();
        log(
            Level::Info,
            format!(
                "dry run: would run {} pass {}/{n} in namespace {}: {}",
                tc.id,
                i + 1,
                args.namespace,
                env.join(" ")
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
        assert_eq!(a.kube.kubeconfig, Some(PathBuf::from("kc.yaml")));
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
