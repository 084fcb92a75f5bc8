//! Argument groups that several commands share, and their parsers.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use jiff::civil::Date;
use scs_conformance::definitions::catalog::Catalog;
use scs_conformance::definitions::selection::Narrowing;
use scs_conformance::definitions::waiver::ClusterContext;
use scs_conformance::evidence::cluster::{self, ConnectError};
use scs_conformance::evidence::cni::Cni;
use scs_conformance::evidence::native::ReleaseData;
use scs_conformance::evidence::native::release_data::ReleaseDataError;
use scs_conformance::evidence::sonobuoy;
use scs_conformance::scs::report::ReportContext;

use crate::Failure;

/// What to certify: `--standard ID [--version V]` (`run`, `verdict`, `plan`). A command whose
/// wording differs overrides the help with `mut_arg`, so the flags are declared once.
#[derive(Args, Clone, Debug)]
pub struct StandardArgs {
    /// Scope, module or test case id (case-insensitive).
    #[arg(long, value_name = "ID")]
    pub standard: String,
    /// Scope version (e.g. v1).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
}

impl StandardArgs {
    /// Resolves the target in `catalog`.
    pub fn resolve<'c>(
        &self,
        catalog: &'c Catalog,
    ) -> Result<scs_conformance::definitions::catalog::Target<'c>, Failure> {
        catalog
            .resolve(&self.standard, self.version.as_deref())
            .map_err(Failure::input)
    }
}

/// The facts about the cluster a user may state instead of having them detected: `--cni` and
/// `--date` (every command that judges waivers: `run`, `rerun-failed`, `verdict`, `plan`,
/// `waivers`, `scs-check`). Help texts that differ per command are set with `mut_arg`.
#[derive(Args, Clone, Debug, Default)]
pub struct FactArgs {
    /// The cluster's CNI (NAME or NAME@VERSION); default: detected.
    #[arg(long, value_name = "NAME")]
    pub cni: Option<String>,
    /// Judge waiver expiry as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub date: Option<Date>,
}

impl FactArgs {
    /// `--cni`, parsed.
    pub fn cni(&self) -> Result<Option<Cni>, Failure> {
        crate::context::cni(self.cni.as_deref())
    }

    /// The reference date: `--date`, or today (UTC).
    pub fn today(&self) -> Date {
        crate::context::today(self.date)
    }

    /// The context waivers are judged in without asking a cluster: `--cni` (unknown without
    /// it), the Kubernetes version given (refused when it does not parse), the reference date.
    pub fn context(&self, kubernetes: Option<&str>) -> Result<ClusterContext, Failure> {
        let cni = self.cni()?.unwrap_or_else(Cni::unknown);
        ClusterContext::new(cni, kubernetes, self.today()).map_err(Failure::input)
    }
}

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
        let kubeconfigs = cluster::Kubeconfigs::from_env_list(
            self.kubeconfig.as_deref(),
            std::env::var_os("KUBECONFIG").as_deref(),
        );
        cluster::connect(&kubeconfigs, self.context.as_deref()).await
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

/// The longest duration any flag takes: a year. Longer values would overflow the clock
/// arithmetic of deadlines, and no run or upload is meant to take that long.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// What a bare number means in a duration flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareNumber {
    /// `90` is 90 minutes (`--timeout`, `--stall-timeout` of `run` and `scs-check`, fleet config).
    Minutes,
    /// `60` is 60 seconds (`publish --timeout`, `release-data refresh --timeout`, which took
    /// seconds before they took durations).
    Seconds,
}

/// A duration such as `1h30m`, `90m`, `45s`, `2h 15m`, `1.5h` or `PT1H30M` (jiff's friendly and
/// ISO 8601 formats; units from hours down), or a bare number of minutes. Zero, negative and
/// sub-second durations and more than [`MAX_DURATION`] are refused; every error names the text.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_as(text, BareNumber::Minutes)
}

/// [`parse_duration`], but a bare number is seconds.
pub fn parse_duration_secs(text: &str) -> Result<Duration, String> {
    parse_duration_as(text, BareNumber::Seconds)
}

/// [`parse_duration`] with the given meaning of a bare number.
pub fn parse_duration_as(text: &str, bare: BareNumber) -> Result<Duration, String> {
    let trimmed = text.trim();
    let bare_name = match bare {
        BareNumber::Minutes => "minutes",
        BareNumber::Seconds => "seconds",
    };
    let too_long = || format!("duration {trimmed:?} is too long (at most 8760h, a year)");
    let duration = if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = trimmed.parse().map_err(|_| too_long())?;
        let secs = match bare {
            BareNumber::Minutes => n.checked_mul(60),
            BareNumber::Seconds => Some(n),
        };
        Duration::from_secs(secs.ok_or_else(too_long)?)
    } else {
        let signed: jiff::SignedDuration = trimmed.parse().map_err(|e: jiff::Error| {
            let reason = e.to_string();
            if reason.contains("overflow") || reason.contains("too big") {
                too_long()
            } else {
                format!(
                    "invalid duration {trimmed:?} (examples: 1h30m, 90m, 45s, 2h 15m; a bare \
                     number is {bare_name})"
                )
            }
        })?;
        if signed.is_negative() {
            return Err(format!("duration {trimmed:?} is negative"));
        }
        Duration::try_from(signed).map_err(|_| too_long())?
    };
    if duration.is_zero() {
        return Err(format!("duration {trimmed:?} is zero; it must be positive"));
    }
    if duration < Duration::from_secs(1) {
        return Err(format!(
            "duration {trimmed:?} is shorter than a second (the smallest unit is 1s)"
        ));
    }
    if duration > MAX_DURATION {
        return Err(too_long());
    }
    Ok(duration)
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    fn secs(text: &str) -> u64 {
        parse_duration(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .as_secs()
    }

    #[test]
    fn compound_and_bare_durations() {
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("90m"), 5400);
        assert_eq!(secs("45s"), 45);
        assert_eq!(secs("2h 15m"), 8100);
        assert_eq!(secs("1.5h"), 5400);
        assert_eq!(secs("PT1H30M"), 5400);
        assert_eq!(secs(" 6h "), 21600);
        // A bare number keeps its old meaning: minutes here, seconds for publish/release-data.
        assert_eq!(secs("90"), 5400);
        assert_eq!(parse_duration_secs("60").unwrap().as_secs(), 60);
        assert_eq!(parse_duration_secs("2m").unwrap().as_secs(), 120);
    }

    #[test]
    fn bad_durations_name_the_text() {
        for bad in [
            "0",
            "0s",
            "0h0m",
            "-5m",
            "500ms",
            "",
            "abc",
            "1d",
            "5 parsecs",
            "99999999999999999999h",
            "99999999999999999999",
            "9000000h",
            "18446744073709551615",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains(&format!("{:?}", bad.trim())), "{bad}: {err}");
        }
        assert!(parse_duration("9000000h").unwrap_err().contains("too long"));
        assert!(parse_duration("0").unwrap_err().contains("positive"));
        assert!(parse_duration("1d").unwrap_err().contains("examples"));
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
