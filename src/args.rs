//! Argument groups that several commands share, and their parsers.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use scs_conformance::definitions::catalog::Catalog;
use scs_conformance::definitions::selection::Narrowing;
use scs_conformance::evidence::cluster::{self, ConnectError};
use scs_conformance::evidence::native::ReleaseData;
use scs_conformance::evidence::native::release_data::ReleaseDataError;
use scs_conformance::evidence::sonobuoy;
use scs_conformance::scs::report::ReportContext;

use crate::Failure;

/// Which kubeconfig and context to use.
#[derive(Args, Clone, Debug)]
pub struct KubeArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl KubeArgs {
    /// A client with timeouts on every request, and the API server's address.
    pub async fn connect(&self) -> Result<(kube::Client, String), ConnectError> {
        cluster::connect(self.kubeconfig.as_deref(), self.context.as_deref()).await
    }
}

/// Which cluster, and the namespace of the Sonobuoy run (`run`, `cleanup`).
#[derive(Args, Clone, Debug)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Namespace of the Sonobuoy run.
    #[arg(long, short = 'n', value_name = "NS", default_value = sonobuoy::DEFAULT_NAMESPACE)]
    pub namespace: String,
}

/// `--focus`/`--skip` on top of a standard, for debugging: only the standard's specs that also
/// match the focus and not the skip. The verdict then certifies nothing and report.yaml is
/// refused.
#[derive(Args, Clone, Debug, Default)]
pub struct NarrowArgs {
    /// Only the standard's specs that also match this regex (Go RE2, as Ginkgo's focus).
    #[arg(long, value_name = "REGEX")]
    pub focus: Option<String>,
    /// Leave out the standard's specs that match this regex.
    #[arg(long, value_name = "REGEX")]
    pub skip: Option<String>,
}

impl NarrowArgs {
    /// The catalog narrowed as asked (unchanged without --focus/--skip). A report for the SCS
    /// compliance monitor (`--subject`) is refused: a narrowed run certifies nothing.
    pub fn apply(&self, catalog: Catalog, subject: Option<&str>) -> Result<Catalog, Failure> {
        let narrowing = Narrowing::new(self.focus.as_deref(), self.skip.as_deref())
            .map_err(|e| Failure::input(format!("--focus/--skip: {e}")))?;
        let Some(narrowing) = narrowing else {
            return Ok(catalog);
        };
        if let Some(subject) = subject {
            return Err(Failure::input(format!(
                "--subject {subject}: no report.yaml for a run narrowed by --focus/--skip (it certifies nothing)"
            )));
        }
        Ok(catalog.narrowed(&narrowing))
    }
}

/// `6h`, `90m`, `45s`, or a bare number of minutes.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, "m"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (examples: 6h, 90m, 45s)"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => return Err(format!("invalid duration unit in {text:?} (use s, m or h)")),
    };
    match secs {
        Some(0) => Err("a duration must be positive".into()),
        Some(s) => Ok(Duration::from_secs(s)),
        None => Err(format!("duration {text:?} is too long")),
    }
}

/// Where standard definitions and waivers come from (default: the ones built into the binary).
#[derive(Args, Clone, Debug)]
pub struct Definitions {
    /// Read standard definitions from this directory instead of the built-in ones.
    #[arg(long, global = true, value_name = "DIR")]
    pub standards_dir: Option<PathBuf>,
    /// Read waiver files from this directory instead of the built-in ones.
    #[arg(long, global = true, value_name = "DIR")]
    pub waivers_dir: Option<PathBuf>,
    /// Also apply SCS's okToFail list (Tests/kaas/scs-sonobuoy-config-v1.yaml format), as-is.
    #[arg(long, global = true, value_name = "FILE")]
    pub waivers_from_scs: Option<PathBuf>,
}

/// `--release-data FILE`: the release data for SCS-0210 (default: the built-in copy).
#[derive(Debug, Clone, Default, Args)]
pub struct ReleaseDataSource {
    /// Kubernetes release/end-of-life/CVE data for the version policy check (SCS-0210), as
    /// written by `release-data refresh`; default: the copy built into the binary.
    #[arg(long, value_name = "FILE")]
    pub release_data: Option<PathBuf>,
}

impl ReleaseDataSource {
    pub fn load(&self) -> Result<ReleaseData, ReleaseDataError> {
        ReleaseData::load(self.release_data.as_deref())
    }
}

/// The SCS report, to flatten into a command's args (`verdict`, `run`):
/// `--subject NAME` turns the report on; `-a/--assign KEY=VALUE` fills `run.assignment`.
#[derive(Debug, Clone, Default, Args)]
pub struct ScsReportArgs {
    /// Also write report.yaml in SCS's compliance-report format for this subject (the name the
    /// compliance monitor knows the cluster by, e.g. syself-1.35).
    #[arg(long, value_name = "NAME")]
    pub subject: Option<String>,
    /// A variable for the report's run.assignment, as SCS's `-a` (e.g. kubeconfig=PATH);
    /// repeatable.
    #[arg(short = 'a', long = "assign", value_name = "KEY=VALUE", value_parser = parse_assignment)]
    pub assign: Vec<(String, String)>,
}

impl ScsReportArgs {
    /// The report context when `--subject` was given: now, this process's argv, the assignments,
    /// and `forced_version` (the `--version` the user passed, if any).
    pub fn context(&self, forced_version: Option<&str>) -> Option<ReportContext> {
        let subject = self.subject.as_ref()?;
        let mut ctx = ReportContext::now(subject.clone(), std::env::args().collect());
        ctx.assignment = self.assign.iter().cloned().collect();
        ctx.forced_version = forced_version.map(str::to_string);
        Some(ctx)
    }
}

fn parse_assignment(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_args_build_the_context() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            report: ScsReportArgs,
        }
        let cli = Cli::parse_from([
            "x",
            "--subject",
            "s-1.35",
            "-a",
            "kubeconfig=k.yaml",
            "--assign",
            "subject_root=.",
        ]);
        let ctx = cli.report.context(Some("v1")).unwrap();
        assert_eq!(ctx.subject, "s-1.35");
        assert_eq!(ctx.assignment["kubeconfig"], "k.yaml");
        assert_eq!(ctx.assignment["subject_root"], ".");
        assert_eq!(ctx.forced_version.as_deref(), Some("v1"));
        assert!(Cli::try_parse_from(["x", "-a", "novalue"]).is_err());
        let none = Cli::parse_from(["x"]);
        assert!(none.report.context(None).is_none());
    }
}
