//! A certification run against a live cluster: facts, one Sonobuoy run per e2e test case (two
//! when a parallel selection holds `[Serial]` specs), native checks, evaluation, outputs. Cleans up
//! after itself on every path, including interruption and timeout. See docs/run.md.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::Api;
use serde::Serialize;

use crate::catalog::{Catalog, Check, E2eCheck, Target, Testcase};
use crate::certify::{self, Certification, ClusterFacts, ResultsInfo};
use crate::cluster::{self, ClusterInfo};
use crate::cni::Cni;
use crate::e2e_junit::{E2eReport, Skip, TestResult};
use crate::inventory::Inventory;
use crate::native::{self, ReleaseData};
use crate::results::{self, Limits};
use crate::sonobuoy::follow::{self, FollowEnd, FollowOptions};
use crate::sonobuoy::manifest::{self, RunSpec};
use crate::sonobuoy::status::Status;
use crate::sonobuoy::{cleanup, launch, retrieve};
use crate::verdict::{Evidence, NativeOutcome};
use crate::waiver::{ClusterContext, Waiver, WaiverStatus};

/// Images, for clusters that pull through a mirror or are air-gapped.
#[derive(Debug, Clone, Default)]
pub struct Images {
    /// Registry that replaces `registry.k8s.io` and `docker.io` for the conformance and
    /// aggregator images.
    pub registry: Option<String>,
    pub aggregator: Option<String>,
    pub conformance: Option<String>,
    /// `KUBE_TEST_REPO`: registry for the images the e2e tests start.
    pub e2e_repo: Option<String>,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub namespace: String,
    pub out: PathBuf,
    pub cni: Option<Cni>,
    /// Limit for each Sonobuoy run.
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
    pub today: NaiveDate,
    /// Spec inventory; default: the built-in one of the server's minor, if any.
    pub inventory: Option<Inventory>,
    pub release_data: ReleaseData,
}

/// Something that happened during a run; the CLI renders these (progress bar or log lines).
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
        outcome: String,
    },
    CleanedUp(cleanup::Removed),
    Native {
        testcase: String,
        outcome: NativeOutcome,
    },
}

/// One Sonobuoy run, as recorded in verdict.json (`run.passes`).
#[derive(Debug, Clone, Serialize)]
pub struct PassRecord {
    pub testcase: String,
    pub namespace: String,
    pub uuid: String,
    pub focus: String,
    pub skip: String,
    pub parallel: bool,
    pub ginkgo_args: Vec<String>,
    pub conformance_image: String,
    pub started_at: DateTime<Utc>,
    pub seconds: f64,
    /// `complete`, or why it was aborted.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tarball: Option<String>,
}

/// Facts of the live run for verdict.json.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub namespace: String,
    pub sonobuoy_version: &'static str,
    pub passes: Vec<PassRecord>,
    /// Command start to the first aggregator pod created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_to_aggregator_created: Option<f64>,
    /// From the status annotation turning `complete` to the outputs being written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_complete_to_outputs: Option<f64>,
    /// Set when the run was interrupted or could not start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
}

/// The end of a run: the certification (always written) and the run record.
pub struct RunResult {
    pub certification: Certification,
    pub record: RunRecord,
}

/// What a Sonobuoy pass produced.
enum PassResult {
    Report(E2eReport, Box<results::Results>),
    Aborted(String),
}

type Interrupt<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Runs a certification of `target`. Never returns early without a verdict: an unreachable
/// cluster, missing permissions, an existing run, a timeout or `interrupt` all end in ABORT
/// verdicts with the reason, after cleaning up.
pub async fn run(
    client: &Client,
    catalog: &Catalog,
    target: &Target<'_>,
    waivers: &[Waiver],
    opts: &RunOptions,
    on_event: &mut (dyn FnMut(RunEvent) + Send),
    interrupt: Interrupt<'_>,
) -> RunResult {
    let started = Instant::now();
    let mut interrupt = interrupt;
    let mut record = RunRecord {
        namespace: opts.namespace.clone(),
        sonobuoy_version: crate::sonobuoy::SONOBUOY_VERSION,
        passes: Vec::new(),
        seconds_to_aggregator_created: None,
        seconds_complete_to_outputs: None,
        aborted: None,
    };
    let modules = catalog.modules_of(target);
    let testcases: Vec<&Testcase> = modules
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .collect();

    let modules_need_e2e = testcases.iter().any(|t| matches!(t.check, Check::E2e(_)));
    // Reachability, then rights, then facts: each failure is an ABORT with its own reason.
    let start_problem = match client.apiserver_version().await {
        Err(e) => Some(cluster::ClusterError::Unreachable(e).to_string()),
        Ok(_) if modules_need_e2e => launch::check_permissions(client, &opts.namespace)
            .await
            .err()
            .map(|e| e.to_string()),
        Ok(_) => None,
    };
    let info = match start_problem {
        Some(reason) => Err(reason),
        None => cluster::discover(client, opts.cni.clone())
            .await
            .map_err(|e| e.to_string()),
    };
    let info = match info {
        Ok(info) => info,
        Err(reason) => {
            record.aborted = Some(reason.clone());
            let facts = ClusterFacts {
                kubernetes_version: None,
                cni: opts.cni.clone().unwrap_or_else(Cni::unknown),
                nodes: Vec::new(),
            };
            let ctx = ClusterContext {
                cni: facts.cni.clone(),
                kubernetes: None,
                today: opts.today,
            };
            let cert = certify::certify(
                catalog,
                target,
                |_| Evidence::Broken(&reason),
                waivers,
                &ctx,
                facts,
                None,
            );
            return RunResult {
                certification: cert,
                record,
            };
        }
    };
    on_event(RunEvent::Cluster(info.clone()));
    let ctx = ClusterContext {
        cni: info.cni.clone(),
        kubernetes: crate::waiver::parse_version(&info.server_version),
        today: opts.today,
    };
    let inventory = opts
        .inventory
        .clone()
        .or_else(|| Inventory::builtin(&info.server_version).ok());

    let mut e2e_results: HashMap<String, Result<(E2eReport, ResultsInfo), String>> = HashMap::new();
    let mut native_results: HashMap<String, NativeOutcome> = HashMap::new();
    let mut blocked: Option<String> = None;
    if modules_need_e2e {
        blocked = make_room(client, opts).await.err();
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
                    _ = &mut interrupt => {
                        blocked = Some("interrupted".into());
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
                    e2e_results.insert(tc.id.clone(), Err(why.clone()));
                    continue;
                }
                let active: Vec<&Waiver> = if opts.run_waived {
                    Vec::new()
                } else {
                    waivers
                        .iter()
                        .filter(|w| w.covers(tc) && w.status(&ctx) == WaiverStatus::Active)
                        .collect()
                };
                let passes = plan_passes(e2e, &active, inventory.as_ref());
                if let Some(note) = &passes.note {
                    on_event(RunEvent::Warning(note.clone()));
                }
                let mut reports = Vec::new();
                let mut infos = Vec::new();
                let mut failure = None;
                let count = passes.passes.len();
                for (i, pass) in passes.passes.into_iter().enumerate() {
                    let spec = RunSpec {
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
                        conformance_image: opts.images.conformance.clone().unwrap_or_else(|| {
                            RunSpec::default_conformance_image(
                                &info.server_version,
                                opts.images.registry.as_deref(),
                            )
                        }),
                        kubernetes_version: manifest::conformance_tag(&info.server_version),
                        aggregator_image: opts.images.aggregator.clone().unwrap_or_else(|| {
                            RunSpec::default_aggregator_image(opts.images.registry.as_deref())
                        }),
                        e2e_repo: opts.images.e2e_repo.clone(),
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
                    let pass_started = (Utc::now(), Instant::now());
                    let result = tokio::select! {
                        r = one_pass(client, &spec, opts, &dir, started, &mut record, on_event) => Some(r),
                        _ = &mut interrupt => None,
                    };
                    // Clean up on every path (also after an interrupt), unless asked to keep it and
                    // no further run needs the namespace.
                    let aborted = matches!(result, Some(PassResult::Aborted(_)));
                    let no_run_follows = result.is_none()
                        || (Some(tc_index) == last_e2e && (i + 1 == count || aborted));
                    if !(opts.keep && no_run_follows) {
                        clean(client, &opts.namespace, on_event).await;
                    }
                    let outcome = match &result {
                        None => "interrupted".to_string(),
                        Some(PassResult::Report(..)) => "complete".to_string(),
                        Some(PassResult::Aborted(why)) => why.clone(),
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
                            Some(PassResult::Report(_, r)) => Some(r.source.display().to_string()),
                            _ => None,
                        },
                    });
                    on_event(RunEvent::PassEnded {
                        testcase: tc.id.clone(),
                        outcome: outcome.clone(),
                    });
                    match result {
                        Some(PassResult::Report(report, res)) => {
                            infos.push(ResultsInfo::from(res.as_ref()));
                            reports.push(report);
                        }
                        Some(PassResult::Aborted(why)) => {
                            failure = Some(why);
                            break;
                        }
                        None => {
                            blocked = Some("interrupted".into());
                            failure = Some("interrupted".into());
                            break;
                        }
                    }
                }
                let entry = match failure {
                    Some(why) => Err(why),
                    None => Ok((
                        merge_reports(reports),
                        infos.into_iter().next().expect("at least one pass"),
                    )),
                };
                e2e_results.insert(tc.id.clone(), entry);
            }
        }
    }
    if let Some(why) = &blocked {
        record.aborted = Some(why.clone());
    }
    let not_run = blocked.clone().unwrap_or_else(|| "not run".into());
    let results_info = e2e_results
        .values()
        .find_map(|r| r.as_ref().ok().map(|(_, i)| i.clone()));
    let facts = ClusterFacts {
        kubernetes_version: Some(info.server_version.clone()),
        cni: info.cni.clone(),
        nodes: info.nodes.clone(),
    };
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
    RunResult {
        certification: cert,
        record,
    }
}

/// Checks that no run is in the way (one is removed with `force`).
async fn make_room(client: &Client, opts: &RunOptions) -> Result<(), String> {
    if let Some(what) = launch::existing_run(client, &opts.namespace)
        .await
        .map_err(|e| e.to_string())?
    {
        if !opts.force {
            return Err(launch::LaunchError::AlreadyRunning {
                namespace: opts.namespace.clone(),
                what,
            }
            .to_string());
        }
        cleanup::cleanup(client, &opts.namespace, false)
            .await
            .map_err(|errs| format!("cannot remove the existing run: {}", join(&errs)))?;
        wait_namespace_gone(client, &opts.namespace, Duration::from_secs(300)).await?;
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
    on_event: &mut (dyn FnMut(RunEvent) + Send),
) -> PassResult {
    if let Err(e) = wait_namespace_gone(client, &spec.namespace, Duration::from_secs(300)).await {
        return PassResult::Aborted(e);
    }
    let t0 = Instant::now();
    if let Err(e) = launch::create(client, &manifest::objects(spec)).await {
        return PassResult::Aborted(e.to_string());
    }
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
        FollowEnd::Aborted { reason, .. } => return PassResult::Aborted(reason),
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        return PassResult::Aborted(format!("{}: {e}", dir.display()));
    }
    let tarball = match retrieve::retrieve(client, &spec.namespace, &status.tar_info, dir).await {
        Ok(p) => p,
        Err(e) => return PassResult::Aborted(format!("cannot retrieve results: {e}")),
    };
    on_event(RunEvent::Retrieved(tarball.clone()));
    match results::load(&tarball, Some(&dir.join("results")), Limits::default()) {
        Ok(r) => match &r.e2e {
            Ok(report) => PassResult::Report(report.clone(), Box::new(r)),
            Err(why) => PassResult::Aborted(why.clone()),
        },
        Err(e) => PassResult::Aborted(format!(
            "retrieved results are unusable (kept in {}): {e}",
            dir.display()
        )),
    }
}

async fn clean(client: &Client, namespace: &str, on_event: &mut (dyn FnMut(RunEvent) + Send)) {
    match cleanup::cleanup(client, namespace, false).await {
        Ok(removed) => on_event(RunEvent::CleanedUp(removed)),
        Err(errs) => on_event(RunEvent::Warning(format!(
            "cleanup incomplete: {}",
            join(&errs)
        ))),
    }
}

fn join(errs: &[kube::Error]) -> String {
    errs.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Waits until a namespace (e.g. of a previous pass) is gone: a terminating namespace of the
/// same name would make the next run's creation fail.
pub async fn wait_namespace_gone(
    client: &Client,
    namespace: &str,
    limit: Duration,
) -> Result<(), String> {
    let api: Api<Namespace> = Api::all(client.clone());
    let start = Instant::now();
    loop {
        match api.get_opt(namespace).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) if start.elapsed() < limit => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Ok(Some(_)) => {
                return Err(format!(
                    "namespace {namespace} still exists after {}",
                    follow::human(limit)
                ));
            }
            Err(e) => return Err(format!("cannot read namespace {namespace}: {e}")),
        }
    }
}

/// The Sonobuoy runs for one e2e test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Passes {
    pub passes: Vec<Pass>,
    /// Why the plan is what it is, when it deviates from one parallel run.
    pub note: Option<String>,
}

/// One Sonobuoy run's selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub focus: String,
    pub skip: String,
    pub parallel: bool,
    /// Ginkgo flags this pass needs besides the standard's (`--label-filter=Serial`).
    pub ginkgo_args: Vec<String>,
}

/// Plans the Sonobuoy runs for a test case:
/// - the standard's focus, and its skip plus the active waivers' test patterns (waived tests are
///   not launched), always set explicitly;
/// - parallel when the standard allows it. The conformance image skips `[Serial]` specs in a
///   parallel run with an empty skip, so selected `[Serial]` specs run in a second, serial pass:
///   selected by their exact names from the inventory of the cluster's version, or, without an
///   inventory, by Ginkgo's label filter `Serial` (Kubernetes' `framework.WithSerial` adds the
///   label with the `[Serial]` text). A spec that neither pass ran shows up as not run in the
///   verdict (ABORT), never silently.
pub fn plan_passes(
    e2e: &E2eCheck,
    active_waivers: &[&Waiver],
    inventory: Option<&Inventory>,
) -> Passes {
    let focus = e2e.selection.focus().to_string();
    let mut skips: Vec<String> = Vec::new();
    if !e2e.selection.skip().is_empty() {
        skips.push(e2e.selection.skip().to_string());
    }
    skips.extend(active_waivers.iter().map(|w| w.test.as_str().to_string()));
    let skip = alternation(&skips);
    let single = |parallel| Pass {
        focus: focus.clone(),
        skip: skip.clone(),
        parallel,
        ginkgo_args: Vec::new(),
    };
    if !e2e.parallel {
        return Passes {
            passes: vec![single(false)],
            note: None,
        };
    }
    let mut parallel_skips = skips.clone();
    parallel_skips.push(r"\[Serial\]".into());
    let parallel_pass = Pass {
        focus: focus.clone(),
        skip: alternation(&parallel_skips),
        parallel: true,
        ginkgo_args: Vec::new(),
    };
    let Some(inv) = inventory else {
        return Passes {
            passes: vec![
                parallel_pass,
                Pass { focus: focus.clone(), skip: skip.clone(), parallel: false, ginkgo_args: vec!["--label-filter=Serial".into()] },
            ],
            note: Some("no e2e inventory for this Kubernetes version: [Serial] specs run in a second, serial pass selected by the Ginkgo label Serial".into()),
        };
    };
    let serial: Vec<&String> = inv
        .specs
        .iter()
        .filter(|s| {
            s.contains("[Serial]")
                && e2e.selection.selects(s)
                && !active_waivers.iter().any(|w| w.matches(s))
        })
        .collect();
    if serial.is_empty() {
        return Passes {
            passes: vec![single(true)],
            note: None,
        };
    }
    let serial_focus = alternation(&serial.iter().map(|s| regex::escape(s)).collect::<Vec<_>>());
    Passes {
        passes: vec![
            parallel_pass,
            Pass {
                focus: serial_focus,
                skip,
                parallel: false,
                ginkgo_args: Vec::new(),
            },
        ],
        note: Some(format!(
            "{} selected [Serial] specs run in a second, serial pass",
            serial.len()
        )),
    }
}

/// `a|b|c`, each alternative grouped when it has its own alternation.
fn alternation(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        many => many
            .iter()
            .map(|p| {
                if p.contains('|') {
                    format!("(?:{p})")
                } else {
                    p.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("|"),
    }
}

/// Merges the reports of several passes over the same suite: a spec's result is the one from the
/// pass that ran it.
pub fn merge_reports(mut reports: Vec<E2eReport>) -> E2eReport {
    let mut merged = reports.remove(0);
    for other in reports {
        let mut index: HashMap<String, usize> = merged
            .tests
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        for t in other.tests {
            match index.get(&t.name) {
                Some(&i) => {
                    if matches!(
                        merged.tests[i].result,
                        TestResult::Skipped(Skip::NotSelected | Skip::Unspecified)
                    ) {
                        merged.tests[i] = t;
                    }
                }
                None => {
                    index.insert(t.name.clone(), merged.tests.len());
                    merged.tests.push(t);
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, Check};
    use crate::{builtin, waiver};

    fn e2e(catalog: &Catalog, id: &str) -> E2eCheck {
        match &catalog.testcase(id).unwrap().1.check {
            Check::E2e(e) => e.clone(),
            Check::Native(_) => unreachable!(),
        }
    }

    fn inventory(specs: &[&str]) -> Inventory {
        Inventory {
            source: "test".into(),
            specs: specs.iter().map(|s| s.to_string()).collect(),
        }
    }

    const SERIAL: &str =
        "[sig-apps] Daemon set [Serial] should run and stop simple daemon [Conformance]";
    const PARALLEL: &str =
        "[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]";

    #[test]
    fn selected_serial_specs_get_a_serial_pass_by_exact_name() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let p = plan_passes(
            &e2e(&catalog, "cncf-k8s-conformance"),
            &[],
            Some(&inventory(&[SERIAL, PARALLEL])),
        );
        assert_eq!(p.passes.len(), 2);
        assert!(p.passes[0].parallel && p.passes[0].skip.ends_with(r"\[Serial\]"));
        let serial = &p.passes[1];
        assert!(!serial.parallel);
        assert_eq!(serial.focus, regex::escape(SERIAL));
        assert_eq!(
            serial.skip, "",
            "certified-conformance semantics: nothing skipped"
        );
    }

    #[test]
    fn without_serial_specs_one_parallel_pass() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let p = plan_passes(
            &e2e(&catalog, "kaas-networking-check"),
            &[],
            Some(&Inventory::builtin("1.33").unwrap()),
        );
        assert_eq!(
            p.passes,
            vec![Pass {
                focus: e2e(&catalog, "kaas-networking-check")
                    .selection
                    .focus()
                    .into(),
                skip: r"\[Feature:SCTPConnectivity\]".into(),
                parallel: true,
                ginkgo_args: vec![]
            }]
        );
    }

    #[test]
    fn without_an_inventory_the_serial_pass_uses_the_serial_label() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let p = plan_passes(&e2e(&catalog, "cncf-k8s-conformance"), &[], None);
        assert_eq!(p.passes.len(), 2);
        assert_eq!(
            p.passes[1].ginkgo_args,
            vec!["--label-filter=Serial".to_string()]
        );
        assert_eq!(p.passes[1].focus, r"\[Conformance\]");
        assert!(p.note.unwrap().contains("label"));
    }

    #[test]
    fn active_waivers_are_skipped_at_launch() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
        let cilium: Vec<&Waiver> = waivers
            .iter()
            .filter(|w| w.id.starts_with("cilium-"))
            .collect();
        let p = plan_passes(
            &e2e(&catalog, "kaas-networking-check"),
            &cilium,
            Some(&inventory(&[PARALLEL])),
        );
        assert_eq!(p.passes.len(), 1);
        assert!(
            p.passes[0]
                .skip
                .starts_with(r"\[Feature:SCTPConnectivity\]|")
        );
        assert!(
            p.passes[0]
                .skip
                .contains("should allow egress access to server in CIDR block")
        );
        assert!(
            crate::selection::Selection::new(&p.passes[0].focus, &p.passes[0].skip).is_ok(),
            "the combined skip is a valid regex"
        );
    }

    #[test]
    fn merged_reports_take_each_spec_from_the_pass_that_ran_it() {
        use crate::e2e_junit::{E2eTest, GinkgoFormat};
        let t = |name: &str, result| E2eTest {
            name: name.into(),
            result,
            duration: None,
        };
        let a = E2eReport {
            format: GinkgoFormat::V2,
            tests: vec![
                t("a", TestResult::Passed),
                t("b", TestResult::Skipped(Skip::NotSelected)),
            ],
        };
        let b = E2eReport {
            format: GinkgoFormat::V2,
            tests: vec![
                t("a", TestResult::Skipped(Skip::NotSelected)),
                t("b", TestResult::Passed),
            ],
        };
        let m = merge_reports(vec![a, b]);
        assert!(m.tests.iter().all(|t| t.result == TestResult::Passed));
    }
}
