//! `scs-conformance release-data refresh [--out FILE]` and `release-data show`: the Kubernetes
//! release data of the version policy check (SCS-0210).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Date;

use scs_conformance::evidence::native::release_data::{self, Sources};
use scs_conformance::evidence::native::version_policy;
use scs_conformance::exit_codes::native as exit;

use crate::args::ReleaseDataSource;

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
    /// Timeout per request (e.g. 30s, 2m; a bare number is seconds).
    #[arg(long, value_name = "DURATION", default_value = "30s",
          value_parser = crate::args::parse_duration_secs)]
    pub timeout: Duration,
    /// Date to stamp as generated_at (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub date: Option<Date>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub source: ReleaseDataSource,
    /// Judge staleness as of this date (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub date: Option<Date>,
}

/// Runs `release-data …` with stdout/stderr; returns the exit code (0 ok, 2 error).
pub fn run_stdio(args: &ReleaseDataArgs) -> u8 {
    run_with(args, &mut std::io::stdout(), &mut std::io::stderr())
}

/// Runs `release-data …`, writing to `out` / `err`.
pub fn run_with(args: &ReleaseDataArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let today_utc = || {
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
    };
    match &args.command {
        ReleaseDataCommand::Refresh(a) => {
            let sources = Sources {
                github_releases: a.github_releases_url.clone(),
                cve_feed: a.cve_feed_url.clone(),
                cve_record: a.cve_record_url.clone(),
                end_of_life: a.eol_url.clone(),
                timeout: a.timeout,
            };
            let today = a.date.unwrap_or_else(today_utc);
            let data = match release_data::refresh(&sources, today) {
                Ok(d) => d,
                Err(e) => {
                    let _ = writeln!(err, "error: release-data refresh: {e}");
                    return exit::USAGE_OR_INPUT;
                }
            };
            if let Err(e) =
                scs_conformance::reports::atomic::write(&a.out, data.to_json().as_bytes())
            {
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
                scs_conformance::evidence::native::version_policy::days_between(
                    today,
                    data.generated_at
                )
            );
            // One line per branch, newest first: those of the end-of-life list, and those that
            // only have releases (a new minor the list does not know yet).
            let releases = data.parsed_releases();
            let newest = |branch: (u64, u64)| {
                releases
                    .iter()
                    .rfind(|(v, _)| v.branch() == branch)
                    .map(|(v, d)| format!(", newest release {v} ({d})"))
                    .unwrap_or_default()
            };
            let mut rows: Vec<((u64, u64), String)> = data
                .branches
                .iter()
                .filter_map(|b| Some((scs_conformance::version::branch(&b.branch)?, b.end_of_life)))
                .map(|(branch, eol)| {
                    // SCS: supported while today < end-of-life; from that day on, end of life.
                    let state = if today >= eol {
                        format!("end of life since {eol}")
                    } else {
                        format!("supported until {eol}")
                    };
                    (branch, state)
                })
                .collect();
            for (v, _) in &releases {
                if !rows.iter().any(|(b, _)| *b == v.branch()) {
                    rows.push((v.branch(), "no end-of-life date in the data".into()));
                }
            }
            rows.sort_by_key(|row| std::cmp::Reverse(row.0));
            for ((major, minor), state) in rows {
                let latest = newest((major, minor));
                let _ = writeln!(out, "branch {major}.{minor}: {state}{latest}");
            }
            let _ = writeln!(out, "critical CVEs: {}", data.critical_cves.len());
            for p in &data.provenance {
                let _ = writeln!(out, "source: {p}");
            }
            for w in version_policy::staleness_warning(&data, today)
                .into_iter()
                .chain(version_policy::cve_data_warning(&data))
            {
                let _ = writeln!(err, "warning: {w}");
            }
            exit::PASS
        }
    }
}
