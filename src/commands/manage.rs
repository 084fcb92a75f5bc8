//! `status`, `retrieve` and `logs`: a run seen from another shell, a kept run fetched later, and
//! its pods' output. They work on any Sonobuoy run in the namespace, also one that the sonobuoy
//! CLI started.

use std::future::Future;
use std::path::PathBuf;

use scs_conformance::evidence::results::{self, Limits};
use scs_conformance::evidence::sonobuoy::inspect::{self, InspectError, RunView};
use scs_conformance::exit_codes::native as exit;
use scs_conformance::reports::escape;

use crate::Failure;
use crate::args::ClusterArgs;
use crate::live::interrupted;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    scs-conformance status -n sonobuoy\n  \
    scs-conformance status --json | jq .status")]
pub struct StatusArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Print the aggregator's status annotation as JSON (as `sonobuoy status --json` does).
    #[arg(long)]
    json: bool,
}

/// Exit code 0 while the run is pending, running or complete; 3 when the aggregator failed or
/// stopped; 2 when there is no run.
pub fn status(args: StatusArgs) -> Result<u8, Failure> {
    let view = block_on(async {
        let (client, server) = args.cluster.kube.connect().await.map_err(Failure::input)?;
        inspect::view(&client, &args.cluster.namespace)
            .await
            .map_err(|e| Failure::input(format!("{e} (API server {server})")))
    })?;
    if args.json {
        match &view.status {
            Some((raw, _)) => crate::outln!("{raw}"),
            None => crate::outln!("null"),
        }
    } else {
        crate::out!("{}", render_status(&view));
    }
    Ok(if view.is_broken() { exit::ABORT } else { 0 })
}

/// The human form: state, each plugin with its progress, failures, the results tarball.
fn render_status(view: &RunView) -> String {
    let mut text = format!(
        "Sonobuoy run in namespace {}: {}\n",
        view.namespace,
        view.state()
    );
    if let Some(problem) = &view.problem {
        text += &format!("  problem: {}\n", escape::terminal(problem));
    }
    let Some((_, status)) = &view.status else {
        return text;
    };
    for plugin in status.plugins.iter().flatten() {
        let node = if plugin.node.is_empty() {
            String::new()
        } else {
            format!(" on {}", escape::terminal(&plugin.node))
        };
        let result = if plugin.result_status.is_empty() {
            String::new()
        } else {
            format!(", result {}", escape::terminal(&plugin.result_status))
        };
        text += &format!(
            "  plugin {}{node}: {}{result}\n",
            escape::terminal(&plugin.plugin),
            escape::terminal(plugin.status.as_str())
        );
        if let Some(p) = &plugin.progress {
            if p.total > 0 {
                let failed = p.failures.as_ref().map_or(0, Vec::len);
                text += &format!(
                    "    {} passed, {failed} failed of {} selected\n",
                    p.completed, p.total
                );
            }
            for failure in p.failures.iter().flatten() {
                text += &format!("    failed: {}\n", escape::terminal(failure));
            }
        }
    }
    if !status.tar_info.name.is_empty() {
        text += &format!(
            "  results: {} ({} bytes, sha256 {})\n",
            escape::terminal(&status.tar_info.name),
            status.tar_info.size,
            escape::terminal(&status.tar_info.sha256)
        );
    }
    text
}

#[derive(clap::Args)]
#[command(after_help = "Example:\n  \
    scs-conformance retrieve -n sonobuoy --out results && scs-conformance verdict --standard scs-0219-v1 --results results/*.tar.gz")]
pub struct RetrieveArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Folder to write the results tarball into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

/// Retrieves the tarball of a complete run (checked against the aggregator's sha256 and size)
/// and reads it as `verdict` would. The tarball is kept even when it cannot be read (exit 3).
pub fn retrieve(args: RetrieveArgs) -> Result<u8, Failure> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::input(format!("{}: {e}", args.out.display())))?;
    let (path, _) = block_on(async {
        let (client, server) = args.cluster.kube.connect().await.map_err(Failure::input)?;
        inspect::retrieve_results(&client, &args.cluster.namespace, &args.out)
            .await
            .map_err(|e| Failure {
                code: match e {
                    InspectError::NoRun { .. } | InspectError::Api { .. } => exit::USAGE_OR_INPUT,
                    _ => exit::ABORT,
                },
                message: format!("{e} (API server {server})"),
            })
    })?;
    crate::outln!("retrieved {}", path.display());
    let loaded = results::load(&path, None, Limits::default()).map_err(|e| Failure {
        message: format!("the retrieved results are unusable: {e}"),
        code: exit::ABORT,
    })?;
    match &loaded.e2e {
        Ok(report) => {
            crate::outln!(
                "e2e results: {} specs in {}",
                report.tests.len(),
                loaded.junit_file.as_deref().unwrap_or("the archive")
            );
            crate::outln!(
                "evaluate with: scs-conformance verdict --standard ID --results {}",
                path.display()
            );
            Ok(0)
        }
        Err(why) => Err(Failure {
            message: format!("the retrieved results hold no usable e2e report: {why}"),
            code: exit::ABORT,
        }),
    }
}

#[derive(clap::Args)]
pub struct LogsArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Only the last N lines of each container.
    #[arg(long, value_name = "N")]
    tail: Option<u32>,
}

/// Prints the log of every container of the run's pods, each under a header line.
pub fn logs(args: LogsArgs) -> Result<u8, Failure> {
    let logs = block_on(async {
        let (client, server) = args.cluster.kube.connect().await.map_err(Failure::input)?;
        inspect::logs(&client, &args.cluster.namespace, args.tail.map(i64::from))
            .await
            .map_err(|e| Failure::input(format!("{e} (API server {server})")))
    })?;
    for log in logs {
        crate::outln!(
            "==> namespace {} pod {} container {} <==",
            args.cluster.namespace,
            log.pod,
            log.container
        );
        match log.text {
            Ok(text) => crate::out!("{}", log_text(&text)),
            Err(why) => crate::outln!("(no log: {})", escape::terminal(&why)),
        }
    }
    Ok(0)
}

/// A log for the terminal: lines and tabs stay, any other control character (an escape
/// sequence in a spec name) is shown, not executed.
fn log_text(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            line.split('\t')
                .map(escape::terminal)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `work` on a fresh runtime; Ctrl-C or SIGTERM ends it with exit code 3.
fn block_on<T>(work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::select! {
            r = work => r,
            _ = interrupted() => Err(Failure { message: "interrupted".into(), code: exit::ABORT }),
        }
    })
}
