//! A certification run against a live cluster: facts, one Sonobuoy run per e2e test case (two
//! when a parallel selection holds `[Serial]` specs), native checks, evaluation. Cleans up after
//! itself on every path, including interruption and timeout. See docs/run.md.
//!
//! The pipeline, one function per step: `start` (reachability, rights, facts), planning
//! ([`plan::plan_passes`], with the spec inventory from `inventory_for`), and per Sonobuoy run
//! `one_pass` (launch, follow, retrieve, read), then [`certify::certify`] evaluates. Every
//! step's failure is a [`RunError`], which ends in ABORT verdicts with its message as the reason.
//! [`certify_live`] is the one entry point; front ends render its [`RunEvent`]s.

mod error;
pub mod plan;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use jiff::Timestamp;
use jiff::civil::Date;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::Api;

use crate::definitions::catalog::{Catalog, Check, E2eCheck, Target, Testcase};
use crate::definitions::inventory::Inventory;
use crate::definitions::waiver::{self, ClusterContext, Waiver};
use crate::evidence::cluster::{self, ClusterInfo};
use crate::evidence::cni::Cni;
use crate::evidence::e2e_junit::E2eReport;
use crate::evidence::native::{self, ReleaseData};
use crate::evidence::results::{self, Limits};
use crate::evidence::sonobuoy::follow::{self, FollowEnd, FollowOptions};
use crate::evidence::sonobuoy::manifest::{self, PodSecurity, RunSpec, TestImages};
use crate::evidence::sonobuoy::status::{RunState, Status};
use crate::evidence::sonobuoy::{cleanup, launch, retrieve};
use crate::evidence::spec_listing::SpecLister;
use crate::verdict::certify::{
    self, Certification, ClusterFacts, PassOutcome, PassRecord, ResultsInfo, RunRecord,
};
use crate::verdict::rerun::{MergeInput, Rerun, RunInfo, TestcasePlan};
use crate::verdict::{Evidence, NativeOutcome};

pub use error::{NamespaceError, RunError, Stop, error_chain, join};
pub use plan::{Pass, Passes, merge_reports, plan_exact, plan_passes};

/// How long the conformance image may take to list its specs (pulling it included).
const SPEC_LISTING_TIMEOUT: Duration = Duration::from_secs(600);
/// How long removing a run may take, also after `--timeout` passed or an interrupt.
pub const CLEANUP_LIMIT: Duration = Duration::from_secs(60);
/// How long a namespace of an earlier run may take to go before the next run starts.
const NAMESPACE_GONE_LIMIT: Duration = Duration::from_secs(300);

/// Images, for clusters that pull through a mirror or are air-gapped.
#[derive(Debug, Clone, Default)]
pub struct Images {
    /// Registry that replaces `registry.k8s.io` and `docker.io` for the conformance and
    /// aggregator images.
    pub registry: Option<String>,
    pub aggregator: Option<String>,
    pub conformance: Option<String>,
    /// Registries of the images the e2e tests start (`KUBE_TEST_REPO` or `KUBE_TEST_REPO_LIST`).
    pub test_images: TestImages,
    /// A pull secret for the aggregator, worker and conformance images.
    pub pull_secret: Option<PullSecret>,
    /// Pod Security level of the run's namespace.
    pub pod_security: PodSecurity,
}

/// An image pull secret for a run. The run's namespace is created by the run, so a secret from
/// another namespace is copied into it (and goes with it at cleanup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSecret {
    /// The namespace to copy the secret from; `None`: it is created in the run's namespace by
    /// someone else (e.g. an admission controller).
    pub from_namespace: Option<String>,
    pub name: String,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub namespace: String,
    pub out: PathBuf,
    pub cni: Option<Cni>,
    /// Limit for the whole run (connecting, checks and every Sonobuoy run); cleanup after it
    /// takes at most [`CLEANUP_LIMIT`] more.
    pub timeout: Duration,
    /// A run whose status does not change for this long is aborted.
    pub stall_timeout: Duration,
    /// Leave the run's objects in the cluster (debugging).
    pub keep: bool,
    /// Remove an existing run in the namespace first.
    pub force: bool,
    /// Run waived tests too (to see whether a waiver is still needed).
    pub run_waived: bool,
    pub images: Images,
    pub today: Date,
    /// Where the spec inventory that plans the passes comes from.
    pub inventory: InventoryChoice,
    pub release_data: ReleaseData,
    /// The API server's address (the kubeconfig's `server`), named when it does not answer.
    pub api_server: String,
}

impl RunOptions {
    /// The defaults of every front end: 6 h limit, 1 h stall limit, nothing kept, forced or
    /// waived-run, default images, the inventory chosen automatically, the CNI detected.
    pub fn new(
        namespace: impl Into<String>,
        out: impl Into<PathBuf>,
        today: Date,
        release_data: ReleaseData,
        api_server: impl Into<String>,
    ) -> Self {
        RunOptions {
            namespace: namespace.into(),
            out: out.into(),
            cni: None,
            timeout: Duration::from_secs(6 * 3600),
            stall_timeout: Duration::from_secs(3600),
            keep: false,
            force: false,
            run_waived: false,
            images: Images::default(),
            today,
            inventory: InventoryChoice::Auto,
            release_data,
            api_server: api_server.into(),
        }
    }
}

/// Where `run` gets the list of every spec of the cluster's e2e suite, which lets it select
/// `[Serial]` specs by their exact names.
#[derive(Debug, Clone, Default)]
pub enum InventoryChoice {
    /// The built-in inventory of the server's minor; without one, the cluster's own
    /// conformance image lists its specs.
    #[default]
    Auto,
    /// This inventory (`--inventory FILE`).
    Given(Inventory),
    /// Always ask the cluster's conformance image (`--inventory cluster`).
    FromCluster,
    /// No inventory: `[Serial]` specs are selected by Ginkgo label (`--inventory none`).
    None,
}

/// Something that happened during a run; front ends render these (progress bar, log lines,
/// SCS protocol lines).
#[derive(Debug, Clone)]
pub enum RunEvent {
    Cluster(ClusterInfo),
    PassStarted {
        testcase: String,
        pass: usize,
        passes: usize,
        spec: Box<RunSpec>,
    },
    AggregatorCreated {
        after: Duration,
    },
    Status(Status),
    Warning(String),
    Retrieved(PathBuf),
    PassEnded {
        testcase: String,
        outcome: PassOutcome,
    },
    CleanedUp(cleanup::Removed),
    Native {
        testcase: String,
        outcome: NativeOutcome,
    },
}

/// What to certify, on which cluster, how.
pub struct LiveRequest<'a> {
    pub catalog: &'a Catalog,
    pub target: &'a Target<'a>,
    pub waivers: &'a [Waiver],
    pub options: &'a RunOptions,
    /// `rerun-failed`: run only what this plan names, and merge with the earlier verdict.
    pub rerun: Option<&'a Rerun>,
}

/// A future that resolves when the caller wants the run to stop (Ctrl-C, SIGTERM).
pub type Interrupt<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Receives the run's events.
type OnEvent<'e> = dyn FnMut(RunEvent) + Send + 'e;

/// Resolves, and stays resolved, once the run must stop.
type StopSignal<'a> = Shared<BoxFuture<'a, Stop>>;

/// Certifies `request.target` on the cluster of `client`: the one entry point of a live run.
/// Never returns without a verdict: an unreachable cluster, missing permissions, an existing
/// run, a timeout or `interrupt` all end in ABORT verdicts with the reason, after cleaning up.
/// `options.timeout` and `interrupt` end every phase, connecting included; cleanup after them is
/// bounded by [`CLEANUP_LIMIT`]. The certification carries the run's facts (`run`).
pub async fn certify_live(
    client: &Client,
    request: &LiveRequest<'_>,
    on_event: &mut OnEvent<'_>,
    interrupt: Interrupt<'_>,
) -> Certification {
    let mut completed_at: Option<Instant> = None;
    let mut on_event = |e: RunEvent| {
        if let RunEvent::Status(s) = &e
            && s.status == RunState::Complete
        {
            completed_at = Some(Instant::now());
        }
        on_event(e)
    };
    let (mut cert, mut record) = run(client, request, &mut on_event, interrupt).await;
    if let Some(t) = completed_at {
        record.seconds_complete_to_outputs = Some(t.elapsed().as_secs_f64());
    }
    cert.run = Some(record);
    cert
}

async fn run(
    client: &Client,
    request: &LiveRequest<'_>,
    on_event: &mut OnEvent<'_>,
    interrupt: Interrupt<'_>,
) -> (Certification, RunRecord) {
    let LiveRequest {
        catalog,
        target,
        waivers,
        options: opts,
        rerun,
    } = *request;
    let started = Instant::now();
    let started_at = Timestamp::now();
    let deadline = tokio::time::Instant::now()
        .checked_add(opts.timeout)
        .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(30 * 365 * 86400));
    let limit = opts.timeout;
    let stop: StopSignal<'_> = async move {
        tokio::select! {
            _ = interrupt => Stop::Interrupted,
            _ = tokio::time::sleep_until(deadline) => Stop::TimedOut(limit),
        }
    }
    .boxed()
    .shared();
    let mut record = RunRecord {
        namespace: opts.namespace.clone(),
        sonobuoy_version: crate::evidence::sonobuoy::SONOBUOY_VERSION,
        passes: Vec::new(),
        seconds_to_aggregator_created: None,
        seconds_complete_to_outputs: None,
        aborted: None,
    };
    let all_testcases: Vec<&Testcase> = catalog
        .modules_of(target)
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .collect();
    // A rerun runs only the test cases its plan does not keep.
    let testcases: Vec<&Testcase> = all_testcases
        .iter()
        .copied()
        .filter(|t| rerun.is_none_or(|r| *r.plan_of(&t.id) != TestcasePlan::Keep))
        .collect();
    let needs_e2e = testcases.iter().any(|t| matches!(t.check, Check::E2e(_)));

    let info = tokio::select! {
        info = start(client, opts, needs_e2e) => info,
        s = stop.clone() => Err(RunError::StoppedConnecting { stop: s, server: opts.api_server.clone() }),
    };
    let info = match info {
        Ok(info) => info,
        Err(why) => {
            let facts = ClusterFacts {
                kubernetes_version: None,
                cni: opts.cni.clone().unwrap_or_else(Cni::unknown),
                nodes: Vec::new(),
                id: None,
            };
            let ctx = ClusterContext {
                cni: facts.cni.clone(),
                kubernetes: None,
                today: opts.today,
            };
            return aborted(request, why, &ctx, facts, record);
        }
    };
    on_event(RunEvent::Cluster(info.clone()));
    let ctx = ClusterContext {
        cni: info.cni.clone(),
        kubernetes: waiver::parse_version(&info.server_version),
        today: opts.today,
    };
    let facts = ClusterFacts {
        kubernetes_version: Some(info.server_version.clone()),
        cni: info.cni.clone(),
        nodes: info.nodes.clone(),
        id: info.id.clone(),
    };
    let conformance_image = opts.images.conformance.clone().unwrap_or_else(|| {
        RunSpec::default_conformance_image(&info.server_version, opts.images.registry.as_deref())
    });
    let inventory = if needs_e2e {
        match inventory_for(client, opts, &info, &conformance_image, &stop, on_event).await {
            Ok(inventory) => inventory,
            Err(why) => return aborted(request, why, &ctx, facts, record),
        }
    } else {
        None
    };

    let mut e2e_results: HashMap<String, Result<(E2eReport, ResultsInfo), RunError>> =
        HashMap::new();
    let mut native_results: HashMap<String, NativeOutcome> = HashMap::new();
    let mut nothing_launched: std::collections::HashSet<String> = Default::default();
    // Set when no further Sonobuoy run may start: the reason every remaining one is not run.
    let mut blocked: Option<RunError> = None;
    if needs_e2e {
        blocked = tokio::select! {
            r = make_room(client, opts) => r.err(),
            s = stop.clone() => Some(RunError::Stopped(s)),
        };
    }

    // `--keep` keeps the last Sonobuoy run: earlier ones would block the next in the namespace.
    let last_e2e = testcases
        .iter()
        .rposition(|t| matches!(t.check, Check::E2e(_)));
    for (tc_index, tc) in testcases.iter().enumerate() {
        match &tc.check {
            Check::Native(check) => {
                let outcome = tokio::select! {
                    o = native::run_check(*check, client, &opts.release_data, opts.today) => o,
                    s = stop.clone() => {
                        blocked = Some(RunError::Stopped(s));
                        break;
                    }
                };
                on_event(RunEvent::Native {
                    testcase: tc.id.clone(),
                    outcome: outcome.clone(),
                });
                native_results.insert(tc.id.clone(), outcome);
            }
            Check::E2e(e2e) => {
                if let Some(why) = &blocked {
                    e2e_results.insert(tc.id.clone(), Err(RunError::Blocked(why.to_string())));
                    continue;
                }
                let active = if opts.run_waived {
                    Vec::new()
                } else {
                    waiver::active_for(waivers, tc, &ctx)
                };
                let passes = match rerun.map(|r| r.plan_of(&tc.id)) {
                    Some(TestcasePlan::Specs(specs)) => plan_exact(e2e, specs, &active),
                    _ => plan_passes(e2e, &active, inventory.as_ref()),
                };
                if passes.passes.is_empty() {
                    // A rerun whose specs are all waived now: nothing to launch.
                    on_event(RunEvent::Warning(format!(
                        "{}: every spec to run again is waived now; nothing launched",
                        tc.id
                    )));
                    nothing_launched.insert(tc.id.clone());
                    continue;
                }
                if let Some(note) = &passes.note {
                    on_event(RunEvent::Warning(note.clone()));
                }
                let this = TestcaseRun {
                    testcase: tc,
                    e2e,
                    conformance_image: &conformance_image,
                    server_version: &info.server_version,
                    is_last_e2e: Some(tc_index) == last_e2e,
                };
                let (entry, stopped) = run_passes(
                    client,
                    opts,
                    &this,
                    passes,
                    &stop,
                    started,
                    &mut record,
                    on_event,
                )
                .await;
                if let Some(s) = stopped {
                    blocked = Some(RunError::Stopped(s));
                }
                e2e_results.insert(tc.id.clone(), entry);
            }
        }
    }
    if let Some(why) = &blocked {
        record.aborted = Some(why.to_string());
    }
    let not_run = blocked
        .as_ref()
        .map_or_else(|| "not run".to_string(), ToString::to_string);
    let results_info = e2e_results
        .values()
        .find_map(|r| r.as_ref().ok().map(|(_, i)| i.clone()));
    if let Some(rerun) = rerun {
        let empty = E2eReport::default();
        let new = |tc: &Testcase| match e2e_results.get(&tc.id) {
            Some(Ok((report, _))) => Some(Ok(report)),
            Some(Err(why)) => Some(Err(why.to_string())),
            None if nothing_launched.contains(&tc.id) => Some(Ok(&empty)),
            None if blocked.is_some() => Some(Err(not_run.clone())),
            None => None,
        };
        let merged = RerunMerge {
            rerun,
            ctx: &ctx,
            started_at,
            record: &record,
        };
        let cert = merged.certify(request, &new, native_results, facts, results_info);
        return (cert, record);
    }
    let cert = certify::certify(
        catalog,
        target,
        |tc| match (
            &tc.check,
            e2e_results.get(&tc.id),
            native_results.get(&tc.id),
        ) {
            (Check::E2e(_), Some(Ok((report, _))), _) => Evidence::Report(report),
            (Check::E2e(_), Some(Err(why)), _) => Evidence::Broken(why),
            (Check::Native(_), _, Some(outcome)) => Evidence::Native(outcome),
            _ => Evidence::Broken(&not_run),
        },
        waivers,
        &ctx,
        facts,
        results_info,
    );
    (cert, record)
}

/// The merged verdict of a rerun (`rerun-failed`).
struct RerunMerge<'a> {
    rerun: &'a Rerun,
    ctx: &'a ClusterContext,
    started_at: Timestamp,
    record: &'a RunRecord,
}

impl RerunMerge<'_> {
    /// The merged verdict: see [`Rerun::certify`]. `new`: a test case's new report, or why there
    /// is none (`None`: not run).
    fn certify<'r>(
        &self,
        request: &LiveRequest<'_>,
        new: &dyn Fn(&Testcase) -> Option<Result<&'r E2eReport, String>>,
        native_results: HashMap<String, NativeOutcome>,
        facts: ClusterFacts,
        results_info: Option<ResultsInfo>,
    ) -> Certification {
        let this_run = RunInfo {
            number: self.rerun.number(),
            command: "rerun-failed".into(),
            started_at: self.started_at,
            namespace: Some(request.options.namespace.clone()),
            sonobuoy_uuids: self.record.passes.iter().map(|p| p.uuid.clone()).collect(),
            verdict: None,
        };
        let not_run = self
            .record
            .aborted
            .clone()
            .unwrap_or_else(|| "not run".into());
        self.rerun.certify(
            &MergeInput {
                catalog: request.catalog,
                target: request.target,
                waivers: request.waivers,
                ctx: self.ctx,
                not_run: &not_run,
            },
            new,
            native_results,
            facts,
            results_info,
            this_run,
        )
    }
}

/// ABORT verdicts for every test case of the target, for `why` (for a rerun: the earlier
/// results stay, with `why` in the reason of every test case that was to run again).
fn aborted(
    request: &LiveRequest<'_>,
    why: RunError,
    ctx: &ClusterContext,
    facts: ClusterFacts,
    mut record: RunRecord,
) -> (Certification, RunRecord) {
    record.aborted = Some(why.to_string());
    if let Some(rerun) = request.rerun {
        let merged = RerunMerge {
            rerun,
            ctx,
            started_at: Timestamp::now(),
            record: &record,
        };
        let why = why.to_string();
        let cert = merged.certify(
            request,
            &|_| Some(Err(why.clone())),
            HashMap::new(),
            facts,
            None,
        );
        return (cert, record);
    }
    let cert = certify::certify(
        request.catalog,
        request.target,
        |_| Evidence::Broken(&why),
        request.waivers,
        ctx,
        facts,
        None,
    );
    (cert, record)
}

/// Reachability, then rights (when e2e runs will be launched), then facts: each failure is an
/// ABORT with its own reason.
async fn start(
    client: &Client,
    opts: &RunOptions,
    needs_e2e: bool,
) -> Result<ClusterInfo, RunError> {
    client
        .apiserver_version()
        .await
        .map_err(|source| RunError::Unreachable {
            server: opts.api_server.clone(),
            source,
        })?;
    if needs_e2e {
        launch::check_permissions(client, &opts.namespace).await?;
    }
    Ok(cluster::discover(client, opts.cni.clone()).await?)
}

/// The inventory that plans the passes. Without a usable one, the cluster's own conformance
/// image lists its specs (exact names beat guessing by label); only when that fails does
/// planning fall back to the Ginkgo label (`None`).
async fn inventory_for(
    client: &Client,
    opts: &RunOptions,
    info: &ClusterInfo,
    conformance_image: &str,
    stop: &StopSignal<'_>,
    on_event: &mut OnEvent<'_>,
) -> Result<Option<Inventory>, RunError> {
    let ask_cluster = match &opts.inventory {
        InventoryChoice::Given(inv) => return Ok(Some(inv.clone())),
        InventoryChoice::None => return Ok(None),
        InventoryChoice::FromCluster => true,
        InventoryChoice::Auto => match Inventory::builtin(&info.server_version) {
            Ok(inv) => return Ok(Some(inv)),
            Err(_) => true,
        },
    };
    debug_assert!(ask_cluster);
    let lister = SpecLister::new(client.clone(), conformance_image);
    let listed = tokio::select! {
        l = lister.list(SPEC_LISTING_TIMEOUT) => Ok(l),
        s = stop.clone() => Err(RunError::Stopped(s)),
    };
    if tokio::time::timeout(CLEANUP_LIMIT, lister.cleanup())
        .await
        .is_err()
    {
        on_event(RunEvent::Warning(format!(
            "namespace {} of the spec listing may be left: no answer within {}",
            lister.namespace(),
            follow::human(CLEANUP_LIMIT)
        )));
    }
    match listed? {
        Ok(inv) => {
            on_event(RunEvent::Warning(format!(
                "planned with the {} specs listed by {} (Kubernetes {})",
                inv.specs.len(),
                inv.source,
                info.server_version
            )));
            Ok(Some(inv))
        }
        Err(e) => {
            on_event(RunEvent::Warning(format!(
                "the spec list of {conformance_image} could not be read ({e}); [Serial] specs of Kubernetes {} will be selected by the Ginkgo label Serial",
                info.server_version
            )));
            Ok(None)
        }
    }
}

/// One e2e test case of the run.
struct TestcaseRun<'a> {
    testcase: &'a Testcase,
    e2e: &'a E2eCheck,
    conformance_image: &'a str,
    server_version: &'a str,
    /// No Sonobuoy run follows this test case's (for `--keep`).
    is_last_e2e: bool,
}

/// Runs the planned passes of one test case, cleaning up after each; returns the merged report
/// or why there is none, and the stop if the run was stopped.
#[allow(clippy::too_many_arguments)]
async fn run_passes(
    client: &Client,
    opts: &RunOptions,
    this: &TestcaseRun<'_>,
    passes: Passes,
    stop: &StopSignal<'_>,
    started: Instant,
    record: &mut RunRecord,
    on_event: &mut OnEvent<'_>,
) -> (Result<(E2eReport, ResultsInfo), RunError>, Option<Stop>) {
    let tc = this.testcase;
    let mut reports = Vec::new();
    let mut infos = Vec::new();
    let count = passes.passes.len();
    for (i, pass) in passes.passes.into_iter().enumerate() {
        let spec = RunSpec {
            namespace: opts.namespace.clone(),
            uuid: uuid::Uuid::new_v4().to_string(),
            focus: pass.focus,
            skip: pass.skip,
            parallel: pass.parallel,
            ginkgo_args: this
                .e2e
                .ginkgo_args
                .iter()
                .chain(&pass.ginkgo_args)
                .cloned()
                .collect(),
            conformance_image: this.conformance_image.to_string(),
            kubernetes_version: manifest::conformance_tag(this.server_version),
            aggregator_image: opts.images.aggregator.clone().unwrap_or_else(|| {
                RunSpec::default_aggregator_image(opts.images.registry.as_deref())
            }),
            test_images: opts.images.test_images.clone(),
            image_pull_secret: opts.images.pull_secret.as_ref().map(|s| s.name.clone()),
            pod_security: opts.images.pod_security,
            timeout_seconds: opts.timeout.as_secs(),
        };
        on_event(RunEvent::PassStarted {
            testcase: tc.id.clone(),
            pass: i + 1,
            passes: count,
            spec: Box::new(spec.clone()),
        });
        let dir = opts.out.join("sonobuoy").join(if count == 1 {
            tc.id.clone()
        } else {
            format!("{}-{}", tc.id, i + 1)
        });
        let pass_started = (Timestamp::now(), Instant::now());
        // `Err`: stopped (interrupt or --timeout).
        let result = tokio::select! {
            r = one_pass(client, &spec, opts, &dir, started, record, on_event) => Ok(r),
            s = stop.clone() => Err(s),
        };
        // Clean up on every path (also after an interrupt), unless asked to keep it and no
        // further run needs the namespace.
        let failed = matches!(result, Ok(Err(_)));
        let no_run_follows = result.is_err() || (this.is_last_e2e && (i + 1 == count || failed));
        if !(opts.keep && no_run_follows) {
            clean(client, &opts.namespace, on_event).await;
        }
        let outcome = match &result {
            Err(s) => PassOutcome::Aborted(s.to_string()),
            Ok(Ok(_)) => PassOutcome::Complete,
            Ok(Err(why)) => PassOutcome::Aborted(why.to_string()),
        };
        record.passes.push(PassRecord {
            testcase: tc.id.clone(),
            namespace: spec.namespace.clone(),
            uuid: spec.uuid.clone(),
            focus: spec.focus.clone(),
            skip: spec.skip.clone(),
            parallel: spec.parallel,
            ginkgo_args: spec.ginkgo_args.clone(),
            conformance_image: spec.conformance_image.clone(),
            started_at: pass_started.0,
            seconds: pass_started.1.elapsed().as_secs_f64(),
            outcome: outcome.clone(),
            tarball: match &result {
                Ok(Ok((_, r))) => Some(r.source.display().to_string()),
                _ => None,
            },
        });
        on_event(RunEvent::PassEnded {
            testcase: tc.id.clone(),
            outcome,
        });
        match result {
            Ok(Ok((report, res))) => {
                infos.push(ResultsInfo::from(res.as_ref()));
                reports.push(report);
            }
            Ok(Err(why)) => return (Err(why), None),
            Err(s) => return (Err(RunError::Stopped(s)), Some(s)),
        }
    }
    match infos.into_iter().next() {
        Some(info) => (Ok((merge_reports(reports), info)), None),
        None => (Err(RunError::NothingPlanned), None),
    }
}

/// Checks that no run is in the way (one is removed with `force`).
async fn make_room(client: &Client, opts: &RunOptions) -> Result<(), RunError> {
    if let Some(what) = launch::existing_run(client, &opts.namespace).await? {
        if !opts.force {
            return Err(launch::LaunchError::AlreadyRunning {
                namespace: opts.namespace.clone(),
                what,
            }
            .into());
        }
        cleanup::cleanup(client, &opts.namespace, false)
            .await
            .map_err(RunError::RemoveExisting)?;
        wait_namespace_gone(client, &opts.namespace, NAMESPACE_GONE_LIMIT).await?;
    }
    Ok(())
}

/// Launch, follow, retrieve and load one Sonobuoy run.
async fn one_pass(
    client: &Client,
    spec: &RunSpec,
    opts: &RunOptions,
    dir: &Path,
    command_started: Instant,
    record: &mut RunRecord,
    on_event: &mut OnEvent<'_>,
) -> Result<(E2eReport, Box<results::Results>), RunError> {
    wait_namespace_gone(client, &spec.namespace, NAMESPACE_GONE_LIMIT).await?;
    let t0 = Instant::now();
    let mut objects = manifest::objects(spec);
    if let Some(PullSecret {
        from_namespace: Some(from),
        name,
    }) = &opts.images.pull_secret
    {
        // Right after the namespace: the pods that need it come later.
        objects.insert(
            1,
            launch::secret_copy(client, from, name, &spec.namespace).await?,
        );
    }
    launch::create(client, &objects).await?;
    if record.seconds_to_aggregator_created.is_none() {
        record.seconds_to_aggregator_created = Some(command_started.elapsed().as_secs_f64());
    }
    on_event(RunEvent::AggregatorCreated {
        after: t0.elapsed(),
    });
    let follow_opts = FollowOptions {
        timeout: opts.timeout,
        stall_timeout: opts.stall_timeout,
    };
    let end = follow::follow(client, &spec.namespace, follow_opts, |u| match u {
        follow::Update::Status(s) => on_event(RunEvent::Status(s.clone())),
        follow::Update::Warning(w) => on_event(RunEvent::Warning(w.to_string())),
    })
    .await;
    let status = match end {
        FollowEnd::Complete(s) => s,
        FollowEnd::Aborted { reason, .. } => return Err(RunError::Follow(reason)),
    };
    std::fs::create_dir_all(dir).map_err(|source| RunError::ResultsDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let tarball = retrieve::retrieve(client, &spec.namespace, &status.tar_info, dir).await?;
    on_event(RunEvent::Retrieved(tarball.clone()));
    // Extraction (up to gigabytes) and reading are blocking work: off the async runtime.
    let extract_to = dir.join("results");
    let results = tokio::task::spawn_blocking(move || {
        results::load(&tarball, Some(&extract_to), Limits::default())
    })
    .await
    .map_err(RunError::Blocking)?
    .map_err(|source| RunError::Unusable {
        dir: dir.to_path_buf(),
        source,
    })?;
    match &results.e2e {
        Ok(report) => Ok((report.clone(), Box::new(results))),
        Err(why) => Err(why.clone().into()),
    }
}

async fn clean(client: &Client, namespace: &str, on_event: &mut OnEvent<'_>) {
    match tokio::time::timeout(CLEANUP_LIMIT, cleanup::cleanup(client, namespace, false)).await {
        Ok(Ok(removed)) => on_event(RunEvent::CleanedUp(removed)),
        Ok(Err(errs)) => on_event(RunEvent::Warning(format!(
            "cleanup incomplete: {}",
            error::join(&errs)
        ))),
        Err(_) => on_event(RunEvent::Warning(format!(
            "cleanup incomplete: no answer within {}; `scs-conformance cleanup -n {namespace}` removes the rest",
            follow::human(CLEANUP_LIMIT)
        ))),
    }
}

/// Waits until a namespace (e.g. of a previous pass) is gone: a terminating namespace of the
/// same name would make the next run's creation fail.
pub async fn wait_namespace_gone(
    client: &Client,
    namespace: &str,
    limit: Duration,
) -> Result<(), NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let start = Instant::now();
    loop {
        match api.get_opt(namespace).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) if start.elapsed() < limit => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Ok(Some(_)) => {
                return Err(NamespaceError::StillExists {
                    namespace: namespace.to_string(),
                    limit,
                });
            }
            Err(source) => {
                return Err(NamespaceError::Read {
                    namespace: namespace.to_string(),
                    source,
                });
            }
        }
    }
}

/// What became of a finished run's namespace and the e2e namespaces after the outputs were
/// written ([`settle`]).
#[derive(Debug)]
pub enum Settled {
    /// The namespace is gone; these e2e namespaces, created while the e2e pod terminated, were
    /// removed.
    Gone { late_namespaces: Vec<String> },
    /// The namespace did not go in time, or could not be read.
    NamespaceLeft(NamespaceError),
    /// The namespace is gone, but removing late e2e namespaces failed or took too long.
    SweepIncomplete,
}

/// After a run whose namespace was deleted: waits (up to `wait`) until it is gone, so that the
/// next run can start at once, then sweeps e2e namespaces again (the e2e pod may have created
/// some while it terminated).
pub async fn settle(client: &Client, namespace: &str, wait: Duration) -> Settled {
    if let Err(e) = wait_namespace_gone(client, namespace, wait).await {
        return Settled::NamespaceLeft(e);
    }
    let sweep = cleanup::cleanup(client, namespace, false);
    match tokio::time::timeout(CLEANUP_LIMIT, sweep).await {
        Ok(Ok(late)) => Settled::Gone {
            late_namespaces: late.namespaces,
        },
        Ok(Err(_)) | Err(_) => Settled::SweepIncomplete,
    }
}
