//! The `scs-conformance` command line: argument parsing, rendering and exit codes over the
//! `scs_conformance` engine. One module per subcommand in [`commands`], the argument groups that
//! several commands share in [`args`], loading of definitions in [`context`].

pub mod args;
pub mod commands;
mod context;
pub mod events;
pub mod fleet;
pub mod live;
pub mod scs_lines;

use commands::{
    fleet as fleet_cmd, listing, manage, plan, publish, release_data, run, scs_check, verdict,
};

use std::process::ExitCode;

use args::Definitions;
use clap::{CommandFactory, Parser, Subcommand};
use scs_conformance::exit_codes::native as exit;

/// Certify Kubernetes clusters against Sovereign Cloud Stack (SCS) KaaS standards.
///
/// Exit codes: 0 PASS, 1 FAIL, 2 usage or input error, 3 ABORT, 4 MISSING (not evaluated).
#[derive(Parser)]
#[command(
    name = "scs-conformance",
    version,
    max_term_width = 100,
    after_help = "Examples:\n  \
    scs-conformance run --standard scs-compatible-kaas --version v1 --kubeconfig kubeconfig.yaml --subject my-cluster\n  \
    scs-conformance status -n sonobuoy\n  \
    scs-conformance verdict --standard scs-0219-v1 --results 202612030101_sonobuoy_1234.tar.gz\n  \
    scs-conformance plan --standard scs-0219-v1 --cni cilium --k8s-version 1.35 --list\n\n\
    Logging: RUST_LOG=debug (a tracing filter) overrides -v/-q. NO_COLOR turns colour off."
)]
struct Cli {
    #[command(flatten)]
    defs: Definitions,
    #[command(flatten)]
    output: OutputArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Certify the cluster of a kubeconfig: launch Sonobuoy, follow, retrieve, evaluate, clean up.
    Run(Box<run::Args>),
    /// Run again only the specs of an earlier verdict that failed or did not run, on the same
    /// cluster, and write a verdict that merges both runs and says which spec came from which.
    RerunFailed(Box<run::RerunArgs>),
    /// Smoke run: one spec through the real Sonobuoy aggregator and conformance image, to prove
    /// the cluster can run Sonobuoy at all (no certification).
    Quick(run::QuickArgs),
    /// Remove leftovers of earlier runs (namespace, cluster role and binding, e2e namespaces).
    Cleanup(run::CleanupArgs),
    /// Show the state of the Sonobuoy run in a namespace (also one started elsewhere).
    Status(manage::StatusArgs),
    /// Fetch the results tarball of a complete (kept) run, checked as `run` checks it.
    Retrieve(manage::RetrieveArgs),
    /// Print the logs of the run's aggregator and plugin pods.
    Logs(manage::LogsArgs),
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
    /// Print a shell completion script, e.g. `scs-conformance completions bash >
    /// /etc/bash_completion.d/scs-conformance`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `scs-conformance man > scs-conformance.1`.
    Man,
}

/// How much is said, and in colour or not: every command takes these.
#[derive(clap::Args)]
struct OutputArgs {
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: clap::ColorChoice,
    /// More log lines on stderr: -v info, -vv debug, -vvv trace. RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

impl OutputArgs {
    /// The log filter: RUST_LOG (or the older SCS_CONFORMANCE_LOG) when set, else the level of
    /// -v/-q. kube's reconnect noise stays off below debug: the commands report those problems
    /// as warnings of their own.
    fn log_filter(&self) -> tracing_subscriber::EnvFilter {
        for var in ["RUST_LOG", "SCS_CONFORMANCE_LOG"] {
            if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env(var) {
                return filter;
            }
        }
        let level = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn,kube_client=off,kube_runtime=off",
            (false, 1) => "info,kube_client=off,kube_runtime=off",
            (false, 2) => "debug",
            (false, _) => "trace",
        };
        tracing_subscriber::EnvFilter::new(level)
    }

    fn apply_colour(&self) {
        let choice = match self.color {
            clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
            clap::ColorChoice::Always => anstream::ColorChoice::Always,
            clap::ColorChoice::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }

    fn colour_on_stderr(&self) -> bool {
        anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `-q` asked for errors only on stderr.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
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
    // anstream strips the colour of the terminal summary when colour is off.
    let mut out = anstream::stdout().lock();
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

fn man_page() -> Result<u8, Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Failure::input(format!("cannot render the man page: {e}")))?;
    out!("{}", String::from_utf8_lossy(&page));
    Ok(0)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.output.apply_colour();
    QUIET.store(cli.output.quiet, std::sync::atomic::Ordering::Relaxed);
    if matches!(cli.command, Command::ScsCheck(_)) {
        scs_lines::init_logging(cli.output.log_filter());
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(cli.output.log_filter())
            .with_writer(std::io::stderr)
            .with_ansi(cli.output.colour_on_stderr())
            .init();
    }
    let result = match cli.command {
        Command::Run(args) => run::run(&cli.defs, *args),
        Command::RerunFailed(args) => run::rerun_failed(&cli.defs, *args),
        Command::Quick(args) => run::quick(args),
        Command::Cleanup(args) => run::cleanup(args),
        Command::Status(args) => manage::status(args),
        Command::Retrieve(args) => manage::retrieve(args),
        Command::Logs(args) => manage::logs(args),
        Command::Verdict(args) => verdict::run(&cli.defs, args),
        Command::Plan(args) => plan::run(&cli.defs, args),
        Command::Standards => listing::standards(&cli.defs),
        Command::Waivers(args) => listing::waivers(&cli.defs, args),
        Command::Inventory(args) => listing::inventory(args),
        Command::Publish(args) => publish::run_stdio_with(&cli.defs, &args),
        Command::ReleaseData(args) => Ok(release_data::run_stdio(&args)),
        Command::ScsCheck(args) => scs_check::run(&cli.defs, args),
        Command::Fleet(args) => fleet_cmd::run(&cli.defs, args),
        Command::Images(args) => commands::images::run(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "scs-conformance", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(0)
        }
        Command::Man => man_page(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            // Paths and values in messages come from users and evidence: shown, not executed.
            let shown: Vec<_> = f
                .message
                .split('\n')
                .map(scs_conformance::reports::escape::terminal)
                .collect();
            eprintln!("error: {}", shown.join("\n"));
            ExitCode::from(f.code)
        }
    }
}
