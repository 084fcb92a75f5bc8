//! Command-line interface: one module per subcommand, shared loading in [`context`].

mod context;
mod listing;
mod plan;
mod run;
mod scs_check;
mod verdict;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scs_conformance::exit;

/// Certify Kubernetes clusters against Sovereign Cloud Stack (SCS) KaaS standards.
///
/// Exit codes: 0 PASS, 1 FAIL, 2 usage or input error, 3 ABORT, 4 MISSING (not evaluated).
#[derive(Parser)]
#[command(name = "scs-conformance", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    defs: Definitions,
    #[command(subcommand)]
    command: Command,
}

/// Where standard definitions and waivers come from (default: the ones built into the binary).
#[derive(clap::Args, Clone, Debug)]
pub struct Definitions {
    /// Read standard definitions from this directory instead of the built-in ones.
    #[arg(long, global = true, value_name = "DIR")]
    standards_dir: Option<PathBuf>,
    /// Read waiver files from this directory instead of the built-in ones.
    #[arg(long, global = true, value_name = "DIR")]
    waivers_dir: Option<PathBuf>,
    /// Also apply SCS's okToFail list (Tests/kaas/scs-sonobuoy-config-v1.yaml format), as-is.
    #[arg(long, global = true, value_name = "FILE")]
    waivers_from_scs: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Certify the cluster of a kubeconfig: launch Sonobuoy, follow, retrieve, evaluate, clean up.
    Run(run::Args),
    /// Remove leftovers of earlier runs (namespace, cluster role and binding, e2e namespaces).
    Cleanup(run::CleanupArgs),
    /// Evaluate existing Sonobuoy results (tarball, directory or junit_01.xml) offline.
    Verdict(verdict::Args),
    /// Show the exact e2e focus/skip for a standard and, from an inventory, what it selects.
    Plan(plan::Args),
    /// List the loaded scopes, modules and test cases.
    Standards,
    /// List the loaded waivers and whether they apply.
    Waivers(listing::WaiverArgs),
    /// Print an inventory (every spec of the e2e suite) from an e2e JUnit report.
    Inventory(listing::InventoryArgs),
    /// Sign a report and upload it to the SCS compliance monitor.
    Publish(scs_conformance::publish::cli::PublishArgs),
    /// Show or refresh the Kubernetes release data used by the version policy check (SCS-0210).
    ReleaseData(scs_conformance::native::cli::ReleaseDataArgs),
    /// Drop-in for the scripts of SCS's scope file (run_sonobuoy.py run …, k8s_version_policy.py):
    /// `<testcase>: PASS|FAIL|ABORT` on stdout, prefixed logs on stderr (docs/scs-check.md).
    ScsCheck(scs_check::Args),
}

/// A failed command: a message for stderr and the exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// Bad usage or input (exit code 2).
    pub fn input(message: impl std::fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            code: exit::USAGE_OR_INPUT,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::ScsCheck(_)) {
        scs_check::init_logging();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("SCS_CONFORMANCE_LOG")
                    // kube's own reconnect noise: we report those problems as warnings.
                    .unwrap_or_else(|_| "warn,kube_client=off,kube_runtime=off".into()),
            )
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let result = match cli.command {
        Command::Run(args) => run::run(&cli.defs, args),
        Command::Cleanup(args) => run::cleanup(args),
        Command::Verdict(args) => verdict::run(&cli.defs, args),
        Command::Plan(args) => plan::run(&cli.defs, args),
        Command::Standards => listing::standards(&cli.defs),
        Command::Waivers(args) => listing::waivers(&cli.defs, args),
        Command::Inventory(args) => listing::inventory(args),
        Command::Publish(args) => Ok(scs_conformance::publish::cli::run_stdio(&args)),
        Command::ReleaseData(args) => Ok(scs_conformance::native::cli::run_stdio(&args)),
        Command::ScsCheck(args) => scs_check::run(&cli.defs, args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
