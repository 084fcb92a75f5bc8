//! A certification run against a live cluster: facts, one Sonobuoy run per e2e test case (two
//! when a parallel selection holds `[Serial]` specs), native checks, evaluation. Cleans up after
//! itself on every path, including interruption and timeout. See docs/run.md.
//!
//! The pipeline ([`certify_live`], the one entry point), one function per step:
//!
//! 1. `facts`: reachability, rights, the cluster's facts;
//! 2. `plan`: the spec inventory (built-in, given, or listed by the cluster's own conformance
//!    image), from which [`plan::plan_passes`] plans each test case's Sonobuoy runs;
//! 3. `Execution::execute`: per test case, native checks, or per planned Sonobuoy run
//!    `launch_run`, `follow_run`, `retrieve_results`, then cleanup;
//! 4. `evaluate`: the verdicts, with completeness checked against the planning inventory.
//!
//! Every step's failure is a [`RunError`]; its [`AbortReason`] is what verdict.json records
//! (`run.aborted`, `run.passes[].outcome`) and the reason of the ABORT verdicts. Front ends
//! render the run's [`RunEvent`]s.

mod error;
pub mod plan;

use std::collections::{HashMap, HashSet};
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
use kube::runtime::wait::await_condition;

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
use crate::verdict::rerun::{MergeInput, NewE2e, Rerun, RunInfo, TestcasePlan};
use crate::verdict::{Evidence, NativeOutcome, Reason, SpecList};

pub use crate::verdict::certify::{AbortReason, Stop};
pub use error::{NamespaceError, RunError, error_chain, join};
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
    /// The run plans with the spec list of the cluster's own conformance image (no built-in
    /// inventory, or `--inventory cluster`); the verdict checks completeness against it too.
    SpecsListed {
        /// The conformance image that listed them.
        image: String,
        specs: usize,
        kubernetes_version: String,
    },
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
pub type OnEvent<'e> = dyn FnMut(RunEvent) + Send + 'e;

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

/// The pipeline: facts, plan, execute (launch, follow and retrieve per test case), evaluate.
/// Each step's failure is a [`RunError`]; one that leaves nothing to evaluate ends in
/// [`aborted`].
async fn run(
    client: &Client,
    request: &LiveRequest<'_>,
    on_event: &mut OnEvent<'_>,
    interrupt: Interrupt<'_>,
) -> (Certification, RunRecord) {
    let opts = request.options;
    let started = Instant::now();
    let started_at = Timestamp::now();
    let stop = stop_signal(interrupt, opts.timeout);
    let mut record = RunRecord::new(&opts.namespace);
    let testcases = testcases_to_run(request);
    let needs_e2e = testcases.iter().any(|t| matches!(t.check, Check::E2e(_)));

    let info = match facts(client, opts, needs_e2e, &stop).await {
        Ok(info) => info,
        Err(why) => return aborted(request, why, &Facts::unknown(opts), record),
    };
    on_event(RunEvent::Cluster(info.clone()));
    let facts = Facts::of(&info, opts);
    let conformance_image = opts.images.conformance.clone().unwrap_or_else(|| {
        RunSpec::default_conformance_image(&info.server_version, opts.images.registry.as_deref())
    });
    let inventory = if needs_e2e {
        match plan(client, opts, &info, &conformance_image, &stop, on_event).await {
            Ok(inventory) => inventory,
            Err(why) => return aborted(request, why, &facts, record),
        }
    } else {
        None
    };
    let execution = Execution {
        client,
        request,
        facts: &facts,
        inventory: inventory.as_ref(),
        conformance_image: &conformance_image,
        server_version: &info.server_version,
        stop: &stop,
        started,
    };
    let collected = execution
        .execute(&testcases, needs_e2e, &mut record, on_event)
        .await;
    let cert = evaluate(
        request,
        &facts,
        inventory.as_ref(),
        collected,
        (started_at, &mut record),
    );
    (cert, record)
}

/// Resolves, and stays resolved, once `interrupt` fires or `timeout` has passed.
fn stop_signal(interrupt: Interrupt<'_>, timeout: Duration) -> StopSignal<'_> {
    // A bound that overflows the clock is no bound: treat it as "never" (30 years).
    let now = tokio::time::Instant::now();
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400));
    async move {
        tokio::select! {
            _ = interrupt => Stop::Interrupted,
            _ = tokio::time::sleep_until(deadline) => Stop::TimedOut(timeout),
        }
    }
    .boxed()
    .shared()
}

/// The test cases of the target, in order; for a rerun only those its plan does not keep.
fn testcases_to_run<'a>(request: &LiveRequest<'a>) -> Vec<&'a Testcase> {
    request
        .catalog
        .modules_of(request.target)
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .filter(|t| {
            request
                .rerun
                .is_none_or(|r| *r.plan_of(&t.id) != TestcasePlan::Keep)
        })
        .collect()
}

/// The cluster as the verdict sees it: what waivers depend on, and the facts it records.
struct Facts {
    ctx: ClusterContext,
    facts: ClusterFacts,
}

impl Facts {
    fn of(info: &ClusterInfo, opts: &RunOptions) -> Self {
        Facts {
            ctx: ClusterContext::of_server(
                info.cni.clone(),
                Some(&info.server_version),
                opts.today,
            ),
            facts: ClusterFacts {
                kubernetes_version: Some(info.server_version.clone()),
                cni: info.cni.clone(),
                nodes: info.nodes.clone(),
                id: info.id.clone(),
            },
        }
    }

    /// A cluster that could not be read: only what the options say.
    fn unknown(opts: &RunOptions) -> Self {
        let cni = opts.cni.clone().unwrap_or_else(Cni::unknown);
        Facts {
            ctx: ClusterContext::of_server(cni.clone(), None, opts.today),
            facts: ClusterFacts {
                kubernetes_version: None,
                cni,
                nodes: Vec::new(),
                id: None,
            },
        }
    }
}

/// What the run produced, per test case id.
#[derive(Default)]
struct Collected {
    e2e: HashMap<String, Result<(E2eReport, ResultsInfo), RunError>>,
    native: HashMap<String, NativeOutcome>,
    /// Rerun test cases whose specs are all waived now: nothing was launched, nothing is new.
    nothing_launched: HashSet<String>,
    /// Set when no further Sonobuoy run could start: why every remaining one did not run.
    blocked: Option<AbortReason>,
}

/// What every step of the execution shares.
struct Execution<'r, 'a, 's> {
    client: &'r Client,
    request: &'r LiveRequest<'a>,
    facts: &'r Facts,
    inventory: Option<&'r Inventory>,
    conformance_image: &'r str,
    server_version: &'r str,
    stop: &'r StopSignal<'s>,
    /// When the command started (for `seconds_to_aggregator_created`).
    started: Instant,
}

impl Execution<'_, '_, '_> {
    /// Runs every test case in order: native checks, and for e2e ones their planned Sonobuoy
    /// runs (launch, follow, retrieve). After a stop or a failure to make room, the remaining
    /// e2e test cases are not run, for that reason.
    async fn execute(
        &self,
        testcases: &[&Testcase],
        needs_e2e: bool,
        record: &mut RunRecord,
        on_event: &mut OnEvent<'_>,
    ) -> Collected {
        let opts = self.request.options;
        let mut out = Collected::default();
        if needs_e2e {
            out.blocked = tokio::select! {
                r = make_room(self.client, opts) => r.err().map(|e| e.reason()),
                s = self.stop.clone() => Some(AbortReason::Stopped(s)),
            };
        }
        // `--keep` keeps the last Sonobuoy run: earlier ones would block the next in the
        // namespace.
        let last_e2e = testcases
            .iter()
            .rposition(|t| matches!(t.check, Check::E2e(_)));
        for (i, tc) in testcases.iter().enumerate() {
            match &tc.check {
                Check::Native(check) => {
                    let outcome = tokio::select! {
                        o = native::run_check(*check, self.client, &opts.release_data, opts.today) => o,
                        s = self.stop.clone() => {
                            out.blocked = Some(AbortReason::Stopped(s));
                            break;
                        }
                    };
                    on_event(RunEvent::Native {
                        testcase: tc.id.clone(),
                        outcome: outcome.clone(),
                    });
                    out.native.insert(tc.id.clone(), outcome);
                }
                Check::E2e(e2e) => {
                    if let Some(why) = &out.blocked {
                        out.e2e
                            .insert(tc.id.clone(), Err(RunError::Blocked(why.clone())));
                        continue;
                    }
                    let Some(passes) = self.plan_testcase(tc, e2e, on_event) else {
                        out.nothing_launched.insert(tc.id.clone());
                        continue;
                    };
                    let this = TestcaseRun {
                        testcase: tc,
                        e2e,
                        is_last_e2e: Some(i) == last_e2e,
                    };
                    let (entry, stopped) = self.run_passes(&this, passes, record, on_event).await;
                    if let Some(s) = stopped {
                        out.blocked = Some(AbortReason::Stopped(s));
                    }
                    out.e2e.insert(tc.id.clone(), entry);
                }
            }
        }
        out
    }

    /// The Sonobuoy runs of one e2e test case, or `None` when there is nothing to launch (a
    /// rerun whose specs are all waived now).
    fn plan_testcase(
        &self,
        tc: &Testcase,
        e2e: &E2eCheck,
        on_event: &mut OnEvent<'_>,
    ) -> Option<Passes> {
        let opts = self.request.options;
        let active = if opts.run_waived {
            Vec::new()
        } else {
            waiver::active_for(self.request.waivers, tc, &self.facts.ctx)
        };
        let passes = match self.request.rerun.map(|r| r.plan_of(&tc.id)) {
            Some(TestcasePlan::Specs(specs)) => plan_exact(e2e, specs, &active),
            _ => plan_passes(e2e, &active, self.inventory),
        };
        if passes.passes.is_empty() {
            on_event(RunEvent::Warning(format!(
                "{}: every spec to run again is waived now; nothing launched",
                tc.id
            )));
            return None;
        }
        if let Some(note) = &passes.note {
            on_event(RunEvent::Warning(note.clone()));
        }
        Some(passes)
    }
}

/// Evaluates what the run collected: the verdict of every test case of the target (for a
/// rerun, merged with the earlier verdict), with completeness checked against `inventory`
/// (the one the run planned from; without one, the built-in inventory of the minor).
fn evaluate(
    request: &LiveRequest<'_>,
    facts: &Facts,
    inventory: Option<&Inventory>,
    collected: Collected,
    (started_at, record): (Timestamp, &mut RunRecord),
) -> Certification {
    let Collected {
        e2e,
        native,
        nothing_launched,
        blocked,
    } = collected;
    record.aborted = blocked.clone();
    let results_info = e2e
        .values()
        .find_map(|r| r.as_ref().ok().map(|(_, i)| i.clone()));
    let specs = SpecList::from_option(inventory);
    if let Some(rerun) = request.rerun {
        let empty = E2eReport::default();
        let not_run = blocked.as_ref().map(|why| why as &dyn Reason);
        let new = |tc: &Testcase| -> NewE2e<'_> {
            match e2e.get(&tc.id) {
                Some(Ok((report, _))) => Some(Ok(report)),
                Some(Err(why)) => Some(Err(why)),
                None if nothing_launched.contains(&tc.id) => Some(Ok(&empty)),
                None => not_run.map(Err),
            }
        };
        let merged = RerunMerge {
            rerun,
            ctx: &facts.ctx,
            started_at,
            record,
            specs,
        };
        return merged.certify(request, &new, native, facts.facts.clone(), results_info);
    }
    let not_run: &dyn Reason = match &blocked {
        Some(why) => why,
        None => &NOT_RUN,
    };
    certify::certify_against(
        request.catalog,
        request.target,
        |tc| match (&tc.check, e2e.get(&tc.id), native.get(&tc.id)) {
            (Check::E2e(_), Some(Ok((report, _))), _) => Evidence::Report(report),
            (Check::E2e(_), Some(Err(why)), _) => Evidence::Broken(why),
            (Check::Native(_), _, Some(outcome)) => Evidence::Native(outcome),
            _ => Evidence::Broken(not_run),
        },
        request.waivers,
        &facts.ctx,
        facts.facts.clone(),
        results_info,
        specs,
    )
}

/// Why a test case has no evidence when nothing stopped the run.
const NOT_RUN: &str = "not run";

/// The merged verdict of a rerun (`rerun-failed`).
struct RerunMerge<'a> {
    rerun: &'a Rerun,
    ctx: &'a ClusterContext,
    started_at: Timestamp,
    record: &'a RunRecord,
    /// The inventory the run planned from, for the completeness check.
    specs: SpecList<'a>,
}

impl RerunMerge<'_> {
    /// The merged verdict: see [`Rerun::certify`]. `new`: a test case's new report, or why there
    /// is none (`None`: not run).
    fn certify<'r>(
        &self,
        request: &LiveRequest<'_>,
        new: &dyn Fn(&Testcase) -> NewE2e<'r>,
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
        let not_run: &dyn Reason = match &self.record.aborted {
            Some(why) => why,
            None => &NOT_RUN,
        };
        self.rerun.certify(
            &MergeInput {
                catalog: request.catalog,
                target: request.target,
                waivers: request.waivers,
                ctx: self.ctx,
                not_run,
                specs: self.specs,
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
    facts: &Facts,
    mut record: RunRecord,
) -> (Certification, RunRecord) {
    record.aborted = Some(why.reason());
    if let Some(rerun) = request.rerun {
        let merged = RerunMerge {
            rerun,
            ctx: &facts.ctx,
            started_at: Timestamp::now(),
            record: &record,
            specs: SpecList::BuiltIn,
        };
        let cert = merged.certify(
            request,
            &|_| Some(Err(&why)),
            HashMap::new(),
            facts.facts.clone(),
            None,
        );
        return (cert, record);
    }
    let cert = certify::certify(
        request.catalog,
        request.target,
        |_| Evidence::Broken(&why),
        request.waivers,
        &facts.ctx,
        facts.facts.clone(),
        None,
    );
    (cert, record)
}

/// Reachability, then rights (when e2e runs will be launched), then facts: each failure is an
/// ABORT with its own reason. `stop` ends it, connecting included.
async fn facts(
    client: &Client,
    opts: &RunOptions,
    needs_e2e: bool,
    stop: &StopSignal<'_>,
) -> Result<ClusterInfo, RunError> {
    let facts = async {
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
    };
    tokio::select! {
        info = facts => info,
        s = stop.clone() => Err(RunError::StoppedConnecting { stop: s, server: opts.api_server.clone() }),
    }
}

/// Plans: the inventory that plans the passes. Without a usable one, the cluster's own
/// conformance image lists its specs (exact names beat guessing by label); only when that fails
/// does planning fall back to the Ginkgo label (`None`, with a warning that says so).
async fn plan(
    client: &Client,
    opts: &RunOptions,
    info: &ClusterInfo,
    conformance_image: &str,
    stop: &StopSignal<'_>,
    on_event: &mut OnEvent<'_>,
) -> Result<Option<Inventory>, RunError> {
    match &opts.inventory {
        InventoryChoice::Given(inv) => return Ok(Some(inv.clone())),
        InventoryChoice::None => return Ok(None),
        InventoryChoice::FromCluster => {}
        InventoryChoice::Auto => {
            if let Ok(inv) = Inventory::builtin(&info.server_version) {
                return Ok(Some(inv));
            }
        }
    }
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
            on_event(RunEvent::SpecsListed {
                image: conformance_image.to_string(),
                specs: inv.specs.len(),
                kubernetes_version: info.server_version.clone(),
            });
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
    /// No Sonobuoy run follows this test case's (for `--keep`).
    is_last_e2e: bool,
}

/// A report and where it came from, or why there is none.
type E2eEvidence = Result<(E2eReport, ResultsInfo), RunError>;

impl Execution<'_, '_, '_> {
    /// Runs the planned passes of one test case, cleaning up after each; returns the merged
    /// report or why there is none, and the stop if the run was stopped.
    async fn run_passes(
        &self,
        this: &TestcaseRun<'_>,
        passes: Passes,
        record: &mut RunRecord,
        on_event: &mut OnEvent<'_>,
    ) -> (E2eEvidence, Option<Stop>) {
        let opts = self.request.options;
        let tc = this.testcase;
        let mut reports = Vec::new();
        let mut infos = Vec::new();
        let count = passes.passes.len();
        for (i, pass) in passes.passes.into_iter().enumerate() {
            let spec = self.run_spec(this.e2e, pass);
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
                r = self.one_pass(&spec, &dir, record, on_event) => Ok(r),
                s = self.stop.clone() => Err(s),
            };
            // Clean up on every path (also after an interrupt), unless asked to keep it and no
            // further run needs the namespace.
            let failed = matches!(result, Ok(Err(_)));
            let no_run_follows =
                result.is_err() || (this.is_last_e2e && (i + 1 == count || failed));
            if !(opts.keep && no_run_follows) {
                clean(self.client, &opts.namespace, on_event).await;
            }
            let outcome = match &result {
                Err(s) => PassOutcome::Aborted(AbortReason::Stopped(*s)),
                Ok(Ok(_)) => PassOutcome::Complete,
                Ok(Err(why)) => PassOutcome::Aborted(why.reason()),
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

    /// The Sonobuoy run of one pass.
    fn run_spec(&self, e2e: &E2eCheck, pass: Pass) -> RunSpec {
        let opts = self.request.options;
        RunSpec {
            namespace: opts.namespace.clone(),
            uuid: uuid::Uuid::new_v4().to_string(),
            focus: pass.focus,
            skip: pass.skip,
            parallel: pass.parallel,
            ginkgo_args: e2e
                .ginkgo_args
                .iter()
                .chain(&pass.ginkgo_args)
                .cloned()
                .collect(),
            conformance_image: self.conformance_image.to_string(),
            kubernetes_version: crate::version::conformance_tag(self.server_version),
            aggregator_image: opts.images.aggregator.clone().unwrap_or_else(|| {
                RunSpec::default_aggregator_image(opts.images.registry.as_deref())
            }),
            test_images: opts.images.test_images.clone(),
            image_pull_secret: opts.images.pull_secret.as_ref().map(|s| s.name.clone()),
            pod_security: opts.images.pod_security,
            timeout_seconds: opts.timeout.as_secs(),
        }
    }

    /// One Sonobuoy run: launch, follow, retrieve, read.
    async fn one_pass(
        &self,
        spec: &RunSpec,
        dir: &Path,
        record: &mut RunRecord,
        on_event: &mut OnEvent<'_>,
    ) -> Result<(E2eReport, Box<results::Results>), RunError> {
        let opts = self.request.options;
        let t0 = Instant::now();
        launch_run(self.client, spec, opts).await?;
        if record.seconds_to_aggregator_created.is_none() {
            record.seconds_to_aggregator_created = Some(self.started.elapsed().as_secs_f64());
        }
        on_event(RunEvent::AggregatorCreated {
            after: t0.elapsed(),
        });
        let status = follow_run(self.client, spec, opts, on_event).await?;
        let results = retrieve_results(self.client, spec, &status, dir, on_event).await?;
        match &results.e2e {
            Ok(report) => Ok((report.clone(), results)),
            Err(why) => Err(why.clone().into()),
        }
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

/// Launches one Sonobuoy run: waits for the namespace of an earlier one to go, then creates the
/// run's objects (with a copy of the pull secret right after the namespace).
async fn launch_run(client: &Client, spec: &RunSpec, opts: &RunOptions) -> Result<(), RunError> {
    wait_namespace_gone(client, &spec.namespace, NAMESPACE_GONE_LIMIT).await?;
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
    Ok(())
}

/// Follows one Sonobuoy run until its aggregator reports `complete`.
async fn follow_run(
    client: &Client,
    spec: &RunSpec,
    opts: &RunOptions,
    on_event: &mut OnEvent<'_>,
) -> Result<Status, RunError> {
    let follow_opts = FollowOptions {
        timeout: opts.timeout,
        stall_timeout: opts.stall_timeout,
    };
    let end = follow::follow(client, &spec.namespace, follow_opts, |u| match u {
        follow::Update::Status(s) => on_event(RunEvent::Status(s.clone())),
        follow::Update::Warning(w) => on_event(RunEvent::Warning(w.to_string())),
    })
    .await;
    match end {
        FollowEnd::Complete(status) => Ok(status),
        FollowEnd::Aborted { reason, .. } => Err(RunError::Follow(reason)),
    }
}

/// Retrieves the results of a complete run into `dir` and reads them. Extraction (up to
/// gigabytes) and reading are blocking work: off the async runtime.
async fn retrieve_results(
    client: &Client,
    spec: &RunSpec,
    status: &Status,
    dir: &Path,
    on_event: &mut OnEvent<'_>,
) -> Result<Box<results::Results>, RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::ResultsDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let tarball = retrieve::retrieve(client, &spec.namespace, &status.tar_info, dir).await?;
    on_event(RunEvent::Retrieved(tarball.clone()));
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
    Ok(Box::new(results))
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
/// same name would make the next run's creation fail. Watches it (kube's `await_condition`)
/// instead of polling.
pub async fn wait_namespace_gone(
    client: &Client,
    namespace: &str,
    limit: Duration,
) -> Result<(), NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let gone = await_condition(api, namespace, |ns: Option<&Namespace>| ns.is_none());
    match tokio::time::timeout(limit, gone).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(source)) => Err(NamespaceError::Read {
            namespace: namespace.to_string(),
            source,
        }),
        Err(_) => Err(NamespaceError::StillExists {
            namespace: namespace.to_string(),
            limit,
        }),
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

#[cfg(test)]
mod tests;
