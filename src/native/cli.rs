//! CLI pieces for the native checks, for the dispatcher to wire:
//!
//! * `scs-conformance release-data refresh [--out FILE]` and `release-data show`:
//!   [`ReleaseDataArgs`] + [`run_stdio`] / [`run_with`].
//! * `--release-data FILE` for commands that run the version policy check:
//!   [`ReleaseDataSource`] (flatten it into the command's args) + [`ReleaseDataSource::load`].

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;

use super::release_data::{self, ReleaseData, Sources};
use super::version_policy;
use crate::exit;

/// `--release-data FILE`: the release data for SCS-0210 (default: the built-in copy).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReleaseDataSource {
    /// Kubernetes release/end-of-life/CVE data for the version policy check (SCS-0210), as
    /// written by `release-data refresh`; default: the copy built into the binary.
    #[arg(long, value_name = "FILE")]
    pub release_data: Option<PathBuf>,
}

impl ReleaseDataSource {
    pub fn load(&self) -> Result<ReleaseData, release_data::ReleaseDataError> {
        ReleaseData::load(self.release_data.as_deref())
    }
}

/// `scs-conformance release-data …`
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseDataArgs {
    #[command(subcommand)]
    pub command: ReleaseDataCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReleaseDataCommand {
    /// Build fresh release data from the public sources (needs network access).
    Refresh(RefreshArgs),
    /// Summarize release data (built in, or --release-data FILE) and say whether it is stale.
    Show(ShowArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct RefreshArgs {
    /// Where to write the data (JSON); use it with --release-data FILE.
    #[arg(long, value_name = "FILE", default_value = "k8s-release-data.json")]
    pub out: PathBuf,
    /// GitHub releases API URL of kubernetes/kubernetes.
    #[arg(long, value_name = "URL", default_value_t = Sources::default().github_releases)]
    pub github_releases_url: String,
    /// Kubernetes official CVE feed (JSON).
    #[arg(long, value_name = "URL", default_value_t = Sources::default().cve_feed)]
    pub cve_feed_url: String,
    /// CVE record URL; {id} is replaced by the CVE id.
    #[arg(long, value_name = "URL", default_value_t = Sources::default().cve_record)]
    pub cve_record_url: String,
    /// End-of-life list (YAML, SCS's k8s-eol-data.yml format).
    #[arg(long, value_name = "URL", default_value_t = Sources::default().end_of_life)]
    pub eol_url: String,
    /// Timeout per request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Date to stamp as generated_at (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub source: ReleaseDataSource,
    /// Judge staleness as of this date (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub date: Option<NaiveDate>,
}

/// Runs `release-data …` with stdout/stderr; returns the exit code (0 ok, 2 error).
pub fn run_stdio(args: &ReleaseDataArgs) -> u8 {
    run_with(args, &mut std::io::stdout(), &mut std::io::stderr())
}

/// Runs `release-data …`, writing to `out` / `err`.
pub fn run_with(args: &ReleaseDataArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let today_utc = || chrono::Utc::now().date_naive();
    match &args.command {
        ReleaseDataCommand::Refresh(a) => {
            let sources = Sources {
                github_releases: a.github_releases_url.clone(),
                cve_feed: a.cve_feed_url.clone(),
                cve_record: a.cve_record_url.clone(),
                end_of_life: a.eol_url.clone(),
                timeout: Duration::from_secs(a.timeout),
            };
            let today = a.date.unwrap_or_else(today_utc);
            let data = match release_data::refresh(&sources, today) {
                Ok(d) => d,
                Err(e) => {
                    let _ = writeln!(err, "error: release-data refresh: {e}");
                    return exit::USAGE_OR_INPUT;
                }
            };
            if let Err(e) = crate::atomic::write(&a.out, data.to_json().as_bytes()) {
                let _ = writeln!(err, "error: cannot write {}: {e}", a.out.display());
                return exit::USAGE_OR_INPUT;
            }
            let _ = writeln!(
                out,
                "Wrote {}: {} branches, {} releases, {} critical CVEs (generated_at {today})",
                a.out.display(),
                data.branches.len(),
                data.releases.len(),
                data.critical_cves.len()
            );
            for p in data
                .provenance
                .iter()
                .filter(|p| p.starts_with("CVE records"))
            {
                let _ = writeln!(err, "warning: {p}");
            }
            exit::PASS
        }
        ReleaseDataCommand::Show(a) => {
            let data = match a.source.load() {
                Ok(d) => d,
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    return exit::USAGE_OR_INPUT;
                }
            };
            let today = a.date.unwrap_or_else(today_utc);
            let _ = writeln!(
                out,
                "generated_at: {} ({} days before {today})",
                data.generated_at,
                (today - data.generated_at).num_days()
            );
            for b in &data.branches {
                let state = if today >= b.end_of_life {
                    "end of life"
                } else {
                    "supported"
                };
                let latest = data
                    .parsed_releases()
                    .into_iter()
                    .rfind(|(v, _)| release_data::parse_branch(&b.branch) == Some(v.branch()))
                    .map(|(v, d)| format!(", newest release {v} ({d})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "branch {}: {state} until {}{latest}",
                    b.branch, b.end_of_life
                );
            }
            let _ = writeln!(out, "critical CVEs: {}", data.critical_cves.len());
            for p in &data.provenance {
                let _ = writeln!(out, "source: {p}");
            }
            if let Some(w) = version_policy::staleness_warning(&data, today) {
                let _ = writeln!(err, "warning: {w}");
            }
            exit::PASS
        }
    }
}
