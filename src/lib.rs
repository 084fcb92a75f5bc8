//! The `scs-conformance` command line: argument parsing, rendering and exit codes over the
//! `scs_conformance` engine. One module per subcommand in [`commands`], the argument groups that
//! several commands share in [`args`], loading of definitions in [`context`].

// Never a panic on any input (issue 9): no unwrap, expect or panic outside tests. The few
// invariants that remain carry `#[allow(clippy::expect_used)]` and the reason.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod args;
pub mod commands;
mod context;
pub mod events;
pub mod fleet;
pub mod live;
pub mod scs_lines;

use commands::{fleet as fleet_cmd, listing, plan, publish, release_data, run, scs_check, verdict};

use std::process::ExitCode;

use args::Definitions;
use clap::{Parser, Subcommand};
use scs_conformance::exit_codes::native as exit;

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
    Publish(publish::PublishArgs),
    /// Show or refresh the Kubernetes release data used by the version policy check (SCS-0210).
    ReleaseData(release_data::ReleaseDataArgs),
    /// Drop-in for the scripts of SCS's scope file (run_sonobuoy.py run …, k8s_version_policy.py):
    /// `<testcase>: PASS|FAIL|ABORT` on stdout, prefixed logs on stderr (docs/scs-check.md).
    ScsCheck(scs_check::Args),
    /// Certify a fleet: every (scope, subject) of SCS's runner config (Tests/config.toml) as
    /// scs-check child processes, concurrently; one summary and report (docs/fleet.md).
    Fleet(fleet_cmd::Args),
    /// List every image a run needs (Sonobuoy, conformance, e2e test images) and, with
    /// --mirror, its name in a mirror registry, for air-gapped clusters (docs/run.md).
    Images(commands::images::Args),
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

/// `print!` for command output: a closed stdout (`plan --list | head`) is not a panic. The rest
/// of the output is dropped and the command still ends with its own exit code (as ripgrep does).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*), false) };
}

/// `println!` for command output; see [`out!`].
#[macro_export]
macro_rules! outln {
    () => { $crate::write_stdout(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*), true) };
}

/// Writes to stdout, ignoring a reader that went away; any other write error (a full disk
/// behind a redirect) is said once on stderr, since stdout cannot carry it.
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        let _ = writeln!(std::io::stderr(), "warning: cannot write to stdout: {e}");
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::ScsCheck(_)) {
        scs_lines::init_logging();
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
        Command::Publish(args) => Ok(publish::run_stdio(&args)),
        Command::ReleaseData(args) => Ok(release_data::run_stdio(&args)),
        Command::ScsCheck(args) => scs_check::run(&cli.defs, args),
        Command::Fleet(args) => fleet_cmd::run(&cli.defs, args),
        Command::Images(args) => commands::images::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
