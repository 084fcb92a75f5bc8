//! `scs-conformance run` and `cleanup`: certify the cluster of a kubeconfig.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use scs_conformance::inventory::Inventory;
use scs_conformance::native::cli::ReleaseDataSource;
use scs_conformance::run::{self, Images, RunEvent, RunOptions};
use scs_conformance::scs_report::{self, ScsReportArgs};
use scs_conformance::sonobuoy::{self, cleanup, status::RunState};
use scs_conformance::{exit, output};

use super::{Definitions, Failure, context};

/// Which cluster to talk to.
#[derive(clap::Args, Clone)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub(super) kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub(super) context: Option<String>,
    /// Namespace of the Sonobuoy run.
    #[arg(long, short = 'n', value_name = "NS", default_value = sonobuoy::DEFAULT_NAMESPACE)]
    pub(super) namespace: String,
}

#[derive(clap::Args)]
pub struct Args {
    /// Scope, module or test case id (case-insensitive), e.g. SCS-0219-V1.
    #[arg(long, value_name = "ID")]
    standard: String,
    /// Scope version (e.g. v1).
    #[arg(long, value_name = "V")]
    version: Option<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// The cluster's CNI (NAME or NAME@VERSION); default: detected from its workloads.
    #[arg(long, value_name = "NAME")]
    cni: Option<String>,
    /// Output directory: verdict.json, junit.xml, summary.md, results.
    #[arg(long, value_name = "DIR", default_value = "scs-results")]
    out: PathBuf,
    /// Limit for each Sonobuoy run (e.g. 6h, 90m, 45s; a bare number is minutes).
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
    timeout: Duration,
    /// Abort a run whose status has not changed for this long (Sonobuoy updates it every 5 s).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    stall_timeout: Duration,
    /// Leave the last Sonobuoy run's objects in the cluster (for debugging); earlier runs of the
    /// same invocation are removed, as the next one needs the namespace.
    #[arg(long)]
    keep: bool,
    /// Remove an existing run in the namespace before starting.
    #[arg(long)]
    force: bool,
    /// Also run waived tests, to see whether the waivers are still needed.
    #[arg(long)]
    run_waived: bool,
    /// Registry mirror for the aggregator and conformance images (air-gapped clusters).
    #[arg(long, value_name = "REGISTRY")]
    image_registry: Option<String>,
    /// Aggregator image (default sonobuoy/sonobuoy:v0.57.5).
    #[arg(long, value_name = "IMAGE")]
    sonobuoy_image: Option<String>,
    /// Conformance image (default registry.k8s.io/conformance:<server version>).
    #[arg(long, value_name = "IMAGE")]
    conformance_image: Option<String>,
    /// Registry for the images the e2e tests start (KUBE_TEST_REPO).
    #[arg(long, value_name = "REGISTRY")]
    e2e_repo: Option<String>,
    /// e2e inventory to plan with (default: the built-in one for the server's minor).
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Judge waiver expiry and release data as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    date: Option<NaiveDate>,
    #[command(flatten)]
    release_data: ReleaseDataSource,
    #[command(flatten)]
    report: ScsReportArgs,
}

/// Builds a client for the chosen kubeconfig and context.
pub async fn client(args: &ClusterArgs) -> Result<Client, Failure> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..Default::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?
        }
        None if args.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(Failure::input)?,
        None => kube::Config::infer()
            .await
            .map_err(|e| Failure::input(format!("no usable kubeconfig: {e}")))?,
    };
    Client::try_from(config)
        .map_err(|e| Failure::input(format!("cannot build a Kubernetes client: {e}")))
}

pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    let started = Instant::now();
    let catalog = context::catalog(defs)?;
    let target = catalog
        .resolve(&args.standard, args.version.as_deref())
        .map_err(Failure::input)?;
    let waivers = context::waivers(defs, &catalog)?;
    let release_data = args.release_data.load().map_err(Failure::input)?;
    let inventory = args
        .inventory
        .as_deref()
        .map(Inventory::read)
        .transpose()
        .map_err(Failure::input)?;
    let report_ctx = args.report.context(args.version.as_deref());
    let opts = RunOptions {
        namespace: args.cluster.namespace.clone(),
        out: args.out.clone(),
        cni: context::cni(args.cni.as_deref())?,
        timeout: args.timeout,
        stall_timeout: args.stall_timeout,
        keep: args.keep,
        force: args.force,
        run_waived: args.run_waived,
        images: Images {
            registry: args.image_registry.clone(),
            aggregator: args.sonobuoy_image.clone(),
            conformance: args.conformance_image.clone(),
            e2e_repo: args.e2e_repo.clone(),
        },
        today: context::today(args.date),
        inventory,
        release_data,
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::input(format!("{}: {e}", args.out.display())))?;

    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let client = client(&args.cluster).await?;
        let mut display = Display::new();
        let interrupt = Box::pin(interrupted());
        let result = run::run(
            &client,
            &catalog,
            &target,
            &waivers,
            &opts,
            &mut |e| display.event(e),
            interrupt,
        )
        .await;
        display.finish();
        Ok::<_, Failure>((result, display.completed_at))
    })?;
    let (result, completed_at) = result;
    let mut cert = result.certification;
    let mut record = result.record;
    if let Some(t) = completed_at {
        record.seconds_complete_to_outputs = Some(t.elapsed().as_secs_f64());
    }
    cert.run = Some(record);
    output::write_all(&cert, &args.out)
        .map_err(|e| Failure::input(format!("cannot write outputs: {e}")))?;
    if let Some(ctx) = report_ctx {
        scs_report::write(&args.out, &cert, &catalog, &ctx).map_err(Failure::input)?;
    }
    let launched = cert.run.as_ref().is_some_and(|r| !r.passes.is_empty());
    if launched && !args.keep {
        // The run's namespace was deleted; wait (bounded) until it is gone, so that the next run
        // can start at once. Outputs are already written.
        let _ = runtime.block_on(async {
            let client = client(&args.cluster).await?;
            if let Err(e) =
                run::wait_namespace_gone(&client, &args.cluster.namespace, Duration::from_secs(120))
                    .await
            {
                eprintln!("warning: {e}");
            }
            Ok::<_, Failure>(())
        });
    }
    print!("{}", output::terminal::render(&cert));
    if let Some(why) = cert.run.as_ref().and_then(|r| r.aborted.as_ref()) {
        println!("Run aborted: {why}");
    }
    println!(
        "Wrote {} ({:.1} s)",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(exit::for_verdict(cert.verdict))
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
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("invalid duration unit in {text:?} (use s, m or h)")),
    };
    if secs == 0 {
        return Err("a duration must be positive".into());
    }
    Ok(Duration::from_secs(secs))
}

/// Resolves on Ctrl-C or SIGTERM (CI cancellation).
pub(super) async fn interrupted() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Renders run events: a progress bar on a terminal, plain log lines otherwise (CI).
struct Display {
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
    last_counts: Option<(u64, u64, u64)>,
    completed_at: Option<Instant>,
}

impl Display {
    fn new() -> Self {
        Display {
            bar: None,
            last_line: None,
            last_counts: None,
            completed_at: None,
        }
    }

    fn log(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn event(&mut self, e: RunEvent) {
        match e {
            RunEvent::Cluster(info) => self.log(&format!("cluster: {info}")),
            RunEvent::PassStarted {
                testcase,
                pass,
                passes,
                spec,
            } => {
                self.log(&format!(
                    "{testcase}: Sonobuoy run {pass}/{passes} in namespace {} (E2E_FOCUS={:?} E2E_SKIP={:?} E2E_PARALLEL={})",
                    spec.namespace,
                    clip(&spec.focus),
                    clip(&spec.skip),
                    spec.parallel
                ));
                self.last_counts = None;
                if std::io::stderr().is_terminal() {
                    let bar = ProgressBar::new(0);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.enable_steady_tick(Duration::from_millis(200));
                    bar.set_message(format!("{testcase}: starting"));
                    self.bar = Some(bar);
                }
            }
            RunEvent::AggregatorCreated { after } => self.log(&format!(
                "aggregator pod created ({} ms)",
                after.as_millis()
            )),
            RunEvent::Status(status) => {
                if status.status == RunState::Complete {
                    self.completed_at = Some(Instant::now());
                }
                let counts = status
                    .e2e_counts()
                    .map(|c| (c.passed, c.failed, c.remaining()));
                let state = serde_json::to_value(status.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                match (&self.bar, counts) {
                    (Some(bar), Some((p, f, r))) => {
                        bar.set_length(p + f + r);
                        bar.set_position(p + f);
                        bar.set_message(format!("passed {p}, failed {f}, remaining {r} ({state})"));
                    }
                    (Some(bar), None) => bar.set_message(state.to_string()),
                    (None, _) => {
                        // In CI: a line when counts change, at most every 30 s, and on state changes.
                        let due = self
                            .last_line
                            .is_none_or(|t| t.elapsed() >= Duration::from_secs(30));
                        if counts != self.last_counts && due || status.status != RunState::Running {
                            let c = counts
                                .map(|(p, f, r)| format!(": passed {p}, failed {f}, remaining {r}"))
                                .unwrap_or_default();
                            eprintln!("sonobuoy {state}{c}");
                            self.last_line = Some(Instant::now());
                            self.last_counts = counts;
                        }
                    }
                }
            }
            RunEvent::Warning(w) => self.log(&format!("warning: {w}")),
            RunEvent::Retrieved(path) => {
                self.log(&format!("results retrieved: {}", path.display()))
            }
            RunEvent::PassEnded { testcase, outcome } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                self.log(&format!("{testcase}: Sonobuoy run {outcome}"));
            }
            RunEvent::CleanedUp(removed) => {
                if !removed.namespaces.is_empty() {
                    self.log(&format!(
                        "cleaned up: namespaces {}",
                        removed.namespaces.join(", ")
                    ));
                }
            }
            RunEvent::Native { testcase, outcome } => self.log(&format!(
                "{testcase}: {} ({})",
                outcome.verdict.as_str(),
                outcome.reason
            )),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

pub(super) fn clip(s: &str) -> String {
    if s.len() > 120 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(117).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s.to_string()
    }
}

#[derive(clap::Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Remove every Sonobuoy run (all namespaces named by Sonobuoy cluster roles), not just the
    /// one in --namespace.
    #[arg(long)]
    all: bool,
}

pub fn cleanup(args: CleanupArgs) -> Result<u8, Failure> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let client = client(&args.cluster).await?;
        match cleanup::cleanup(&client, &args.cluster.namespace, args.all).await {
            Ok(r) => {
                println!(
                    "removed namespaces [{}], cluster roles [{}], cluster role bindings [{}]",
                    r.namespaces.join(", "),
                    r.cluster_roles.join(", "),
                    r.cluster_role_bindings.join(", ")
                );
                Ok(0)
            }
            Err(errs) => Err(Failure {
                message: format!(
                    "cleanup incomplete: {}",
                    errs.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                code: exit::ABORT,
            }),
        }
    })
}
