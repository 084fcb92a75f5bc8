//! `scs-conformance fleet`: a drop-in for `scs-test-runner.py run` (docs/fleet.md).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use scs_conformance::scs::publish::{self, BasicAuth, PublishOptions, PublishOutcome};

use crate::args::Definitions;
use crate::fleet::config::Config;
use crate::fleet::reuse;
use crate::fleet::runner::{self, RunnerOptions};
use crate::fleet::{self, JobOutcome, Selection};
use crate::{Failure, context};

/// Certify many clusters in one invocation, from SCS's runner config (Tests/config.toml).
#[derive(clap::Args)]
#[command(
    after_help = "Example (SCS's nightly KaaS job, with scs-conformance as the runner):\n  \
    scs-conformance fleet --config Tests/config.toml --preset kaas3 --section .auto -o report.yaml\n\n\
    Every (scope, subject) runs its test cases as `scs-conformance scs-check` child processes;\n\
    outputs per subject under --out. Exit codes: the roll-up over the fleet (0 PASS, 1 FAIL,\n\
    3 ABORT, 4 MISSING), 2 bad config or usage, 5 all PASS but a report was not published.\n\n\
    With --skip-fresh, a test case whose last result in --out (from an earlier fleet run) is\n\
    still fresh is not run again; e.g. nightly, renewing each result a day before it expires:\n  \
    scs-conformance fleet --config Tests/config.toml --preset kaas3 --skip-fresh"
)]
pub struct Args {
    /// SCS's runner config (Tests/config.toml format, plus our per-subject settings).
    #[arg(short = 'c', long, value_name = "FILE", default_value = "config.toml")]
    config: PathBuf,
    /// A preset of the config (scopes, subjects, workers); default `default` when no --scope or
    /// --subject is given.
    #[arg(long, value_name = "P")]
    preset: Option<String>,
    /// A subject (repeatable, or comma-separated); with --preset, narrows the preset.
    #[arg(long = "subject", value_name = "S")]
    subjects: Vec<String>,
    /// A scope (repeatable, or comma-separated); with --preset, narrows the preset.
    #[arg(long = "scope", value_name = "S")]
    scopes: Vec<String>,
    /// Only test cases of these sections (comma-separated, e.g. light,heavy), or `.auto`
    /// (Saturdays light,medium,heavy; other days light,medium).
    #[arg(long, value_name = "S")]
    section: Option<String>,
    /// How many (scope, subject) pairs run at once (default: the preset's workers, else 5).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    num_workers: Option<u16>,
    /// Sign each (scope, subject) report with [secrets] keyfile and upload it to this compliance
    /// monitor (with [secrets] tokenfile); without it nothing is published.
    #[arg(long, value_name = "URL")]
    monitor_url: Option<String>,
    /// Also write the fleet's multi-document report here (a document per (scope, subject)).
    #[arg(short = 'o', long = "output", value_name = "REPORT.yaml")]
    output: Option<PathBuf>,
    /// Output directory: summary.md, fleet.html, fleet.json, report.yaml and a folder per subject.
    #[arg(long, value_name = "DIR", default_value = "fleet-results")]
    out: PathBuf,
    /// Do not run a test case whose last result in --out (from an earlier fleet run) is still
    /// fresh: PASS or FAIL (never ABORT), of the same subject, scope and module, published when
    /// publishing, and within the test case's lifetime for at least --fresh-margin more. It is
    /// carried into this run's summary, marked as reused with its date.
    #[arg(long)]
    skip_fresh: bool,
    /// With --skip-fresh: how much longer a result must stay within its lifetime to count as
    /// fresh (default 24h, so a nightly fleet renews it before it expires; 0: just within it).
    #[arg(long, value_name = "DURATION", value_parser = parse_margin, requires = "skip_fresh")]
    fresh_margin: Option<Duration>,
}

/// `--fresh-margin`: a duration, or `0`.
fn parse_margin(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    crate::args::parse_duration(text)
}

/// The fleet's own outputs in `--out`, replaced as a set: removed when a fleet starts, written
/// when it ends (`fleet.json` last).
const FLEET_SET: [&str; 4] = [
    "report.yaml",
    "summary.md",
    fleet::html::FILE_NAME,
    "fleet.json",
];

pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    let started = Instant::now();
    let config = Config::load(&args.config).map_err(Failure::input)?;
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    let catalog = context::catalog(defs)?;
    let today = jiff::Zoned::now().date();
    let selection = Selection {
        preset: args.preset.clone(),
        subjects: args.subjects.clone(),
        scopes: args.scopes.clone(),
        section: args.section.clone(),
        num_workers: args.num_workers.map(usize::from),
    };
    let plan = fleet::select(&config, &catalog, &selection, today).map_err(|problems| {
        Failure::input(
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    // Publishing needs the key and the token: check them before hours of work, not after.
    let publishing = match &args.monitor_url {
        None => None,
        Some(url) => {
            publish::reports_endpoint(url).map_err(Failure::input)?;
            let key = config.keyfile.clone().ok_or_else(|| {
                Failure::input(format!(
                    "{}: secrets.keyfile: --monitor-url needs a signing key ([secrets] keyfile)",
                    config.file.display()
                ))
            })?;
            publish::load_signing_key(&key).map_err(|e| {
                Failure::input(format!("{}: secrets.keyfile: {e}", config.file.display()))
            })?;
            let auth = match &config.tokenfile {
                Some(t) => Some(BasicAuth::from_token_file(t).map_err(|e| {
                    Failure::input(format!("{}: secrets.tokenfile: {e}", config.file.display()))
                })?),
                None => None,
            };
            Some((url.clone(), key, auth))
        }
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::input(format!("{}: {e}", args.out.display())))?;
    let out = std::fs::canonicalize(&args.out)
        .map_err(|e| Failure::input(format!("{}: {e}", args.out.display())))?;
    // One fleet at a time per output directory: another one would overwrite the folders and the
    // last results this one reads and writes.
    let _lock =
        scs_conformance::reports::OutDir::lock(&out).map_err(|e| Failure::input(e.to_string()))?;
    // The earlier fleet's summary must not sit next to this fleet's folders: it goes now, and
    // the new set is written at the end.
    for name in FLEET_SET {
        match std::fs::remove_file(out.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Failure::input(format!("{}: {e}", out.join(name).display())));
            }
            _ => {}
        }
    }
    let previous: Vec<Result<reuse::Record, String>> = plan
        .jobs
        .iter()
        .map(|j| reuse::load(&out.join(runner::job_dir(j))))
        .collect();
    let exe = std::env::current_exe()
        .map_err(|e| Failure::input(format!("cannot find this program's path: {e}")))?;
    let mut global_args = Vec::new();
    for (flag, value) in [
        ("--standards-dir", &defs.standards_dir),
        ("--waivers-dir", &defs.waivers_dir),
        ("--waivers-from-scs", &defs.waivers_from_scs),
    ] {
        if let Some(v) = value {
            let abs = std::path::absolute(v).unwrap_or_else(|_| v.clone());
            global_args.extend([flag.to_string(), abs.display().to_string()]);
        }
    }
    let opts = RunnerOptions {
        exe,
        global_args,
        out: out.clone(),
        reuse: args.skip_fresh.then(|| reuse::Policy {
            now: jiff::Timestamp::now(),
            margin: args.fresh_margin.unwrap_or(reuse::DEFAULT_MARGIN),
            need_published: publishing.is_some(),
            tz: jiff::tz::TimeZone::system(),
        }),
    };
    eprintln!(
        "fleet: {} (scope, subject) pair(s), {} at a time{}; outputs in {}",
        plan.jobs.len(),
        plan.workers,
        plan.sections
            .as_ref()
            .map(|s| format!(", sections {}", s.join(",")))
            .unwrap_or_default(),
        out.display()
    );
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    let (mut jobs, interrupted) = runtime.block_on(async {
        let (cancel, _keep) = runner::forward_signals();
        let jobs = runner::run(&plan, &previous, &opts, cancel.clone()).await;
        let interrupted = *cancel.borrow() > 0;
        (jobs, interrupted)
    });
    drop(runtime);

    let argv: Vec<String> = std::env::args().collect();
    let mut fleet_report = String::new();
    for j in &jobs {
        let doc = fleet::report::render(j, &argv, plan.sections.as_deref(), today);
        let path = out.join(&j.dir).join("report.yaml");
        if let Err(e) = scs_conformance::reports::atomic::write(&path, doc.as_bytes()) {
            eprintln!("fleet: error: cannot write {}: {e}", path.display());
        }
        fleet_report.push_str(&doc);
    }
    let mut write_errors = false;
    let mut write = |path: PathBuf, bytes: &[u8]| {
        if let Err(e) = scs_conformance::reports::atomic::write(&path, bytes) {
            eprintln!("fleet: error: cannot write {}: {e}", path.display());
            write_errors = true;
        }
    };

    match (&publishing, interrupted) {
        (Some(_), true) => eprintln!("fleet: interrupted: nothing is published"),
        (Some((url, key, auth)), false) => {
            let scopes = publish::known_scopes(&catalog);
            publish_all(&mut jobs, &out, url, key, auth.as_ref(), &scopes)
        }
        (None, _) => {}
    }

    // The rest of the set, rendered first and then written, `fleet.json` last: the last results
    // of each (scope, subject) (after publishing, which they record), the summaries.
    let wall = started.elapsed().as_secs_f64();
    let records: Vec<(PathBuf, String)> = jobs
        .iter()
        .zip(&previous)
        .map(|(j, prev)| {
            let record = reuse::next_record(j, prev.as_ref().ok());
            (
                out.join(&j.dir).join(reuse::FILE_NAME),
                serde_json::to_string_pretty(&record).unwrap_or_default() + "\n",
            )
        })
        .collect();
    let summary = fleet::summary::markdown(&jobs, &out, wall, plan.workers);
    let page = fleet::html::render(&jobs, &out, wall, plan.workers, jiff::Timestamp::now());
    let json = fleet::summary::json(&jobs, wall, plan.workers);
    let json = serde_json::to_string_pretty(&json).unwrap_or_default();
    for (path, record) in records {
        write(path, record.as_bytes());
    }
    write(out.join("report.yaml"), fleet_report.as_bytes());
    if let Some(o) = &args.output {
        write(o.clone(), fleet_report.as_bytes());
    }
    write(out.join("summary.md"), summary.as_bytes());
    write(out.join(fleet::html::FILE_NAME), page.as_bytes());
    write(out.join("fleet.json"), json.as_bytes());
    let code = fleet::exit_code(&jobs);
    eprintln!(
        "fleet: {} in {:.1} s (exit code {code}); summary: {}",
        scs_conformance::verdict::overall(jobs.iter().map(|j| j.verdict)).as_str(),
        wall,
        out.join("summary.md").display()
    );
    if write_errors && code == 0 {
        return Ok(scs_conformance::exit_codes::native::USAGE_OR_INPUT);
    }
    Ok(code)
}

/// Signs and uploads each (scope, subject) report on its own, through `publish`'s code path, so
/// that one rejected document (e.g. a subject the account may not report for) does not lose the
/// others, and a retried job gets 409 (already stored) per document.
/// `scopes`: the scopes of the fleet's definitions (`--standards-dir` ones included), which its
/// reports are about.
fn publish_all(
    jobs: &mut [JobOutcome],
    out: &std::path::Path,
    url: &str,
    key: &std::path::Path,
    auth: Option<&BasicAuth>,
    scopes: &[publish::KnownScope],
) {
    for j in jobs.iter_mut() {
        if j.testcases.iter().all(|t| t.cmd.is_empty())
            && j.testcases.iter().any(|t| t.reused.is_some())
        {
            // Every result of this (scope, subject) is reused: the monitor has them already.
            eprintln!(
                "fleet: {} {}: nothing new to publish (every result reused)",
                j.subject, j.scope.id
            );
            continue;
        }
        let mut opts = PublishOptions::new(out.join(&j.dir).join("report.yaml"), url, key);
        opts.auth = auth.cloned();
        opts.extra_scopes = scopes.to_vec();
        let result = match publish::publish(&opts) {
            Ok(PublishOutcome::Stored) => Ok("stored".to_string()),
            Ok(PublishOutcome::Duplicate { detail }) => Ok(format!("already stored ({detail})")),
            Err(e) => Err(e.to_string()),
        };
        match &result {
            Ok(m) => eprintln!("fleet: {} {}: published: {m}", j.subject, j.scope.id),
            Err(e) => eprintln!(
                "fleet: {} {}: error: not published: {e}",
                j.subject, j.scope.id
            ),
        }
        j.published = Some(result);
    }
}
