//! Following a run by watching the aggregator pod (a watch, not `sonobuoy --wait`'s 20 s polling).
//!
//! The watch survives API server restarts (kube-runtime's watcher re-lists with backoff). A run
//! ends when the status annotation says `complete` with `tar-info`, or is aborted with a reason:
//! the aggregator pod was deleted or terminated, the aggregator reports `failed`, nothing changed
//! for `stall_timeout`, or `timeout` passed.
//!
//! "Nothing changed" means neither the status annotation nor the e2e container's output: with
//! Ginkgo's parallel mode the e2e binary sends Sonobuoy no progress (seen on a real 1.35 node),
//! so the annotation stays the same for the whole run while specs pass one by one.

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::status::{RunState, Status};
use super::{AGGREGATOR_POD, STATUS_ANNOTATION};

/// Limits of a run.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// The whole run.
    pub timeout: Duration,
    /// No change of the status annotation for this long is a stalled run.
    pub stall_timeout: Duration,
}

/// How following ended.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowEnd {
    /// The aggregator finished; `tar-info` names the results tarball.
    Complete(Status),
    /// The run cannot finish; the reason says why.
    Aborted {
        reason: FollowAbort,
        last: Option<Status>,
    },
}

/// Why following ended without results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowAbort {
    /// The run's limit (`--timeout`) passed.
    TimedOut(Duration),
    /// Neither the status annotation nor the e2e output changed for this long.
    Stalled(Duration),
    /// The watch ended for good.
    WatchEnded,
    /// The aggregator pod is not there (a re-list without it).
    Missing {
        namespace: String,
    },
    Deleted {
        namespace: String,
    },
    BeingDeleted {
        namespace: String,
    },
    /// The aggregator pod or its container stopped (it runs with `--no-exit`): how.
    Stopped(String),
    /// The aggregator reports `failed`; these plugins failed.
    Failed {
        plugins: Vec<String>,
    },
}

impl std::fmt::Display for FollowAbort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FollowAbort::TimedOut(limit) => write!(f, "timed out after {}", human(*limit)),
            FollowAbort::Stalled(limit) => write!(
                f,
                "no progress for {} (neither the status annotation nor the e2e output changed)",
                human(*limit)
            ),
            FollowAbort::WatchEnded => f.write_str("the watch of the aggregator pod ended"),
            FollowAbort::Missing { namespace } => write!(
                f,
                "the aggregator pod {namespace}/{AGGREGATOR_POD} does not exist (deleted?)"
            ),
            FollowAbort::Deleted { namespace } => write!(
                f,
                "the aggregator pod {namespace}/{AGGREGATOR_POD} was deleted"
            ),
            FollowAbort::BeingDeleted { namespace } => write!(
                f,
                "the aggregator pod {namespace}/{AGGREGATOR_POD} is being deleted"
            ),
            FollowAbort::Stopped(how) => f.write_str(how),
            FollowAbort::Failed { plugins } if plugins.is_empty() => {
                f.write_str("the aggregator reports status failed")
            }
            FollowAbort::Failed { plugins } => write!(
                f,
                "the aggregator reports status failed (failed plugins: {})",
                plugins.join(", ")
            ),
        }
    }
}

/// What following reports while the run goes on.
#[derive(Debug, Clone, Copy)]
pub enum Update<'a> {
    /// A new status annotation.
    Status(&'a Status),
    /// A transient problem (e.g. the API server is unreachable; the watch retries).
    Warning(&'a str),
}

/// Watches the aggregator pod in `namespace` until the run ends, reporting every new status
/// annotation and transient problem to `on_update`.
pub async fn follow(
    client: &Client,
    namespace: &str,
    opts: FollowOptions,
    mut on_update: impl FnMut(Update<'_>),
) -> FollowEnd {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    // The API server ends each watch after 50 s (the watcher re-watches), well within the
    // client's read timeout, so a quiet watch is never taken for a silent server.
    let config = watcher::Config::default()
        .fields(&format!("metadata.name={AGGREGATOR_POD}"))
        .timeout(50);
    let mut events = watcher::watcher(pods.clone(), config)
        .default_backoff()
        .boxed();
    let started = Instant::now();
    let mut last_change = Instant::now();
    let mut last: Option<Status> = None;
    let mut last_raw: Option<String> = None;
    // Whether the pod was seen during the current (re-)list; a re-list without it means it is gone.
    let mut seen_in_list = false;
    let tick = Duration::from_secs(5).min(opts.stall_timeout);
    let mut last_output: Option<String> = None;

    loop {
        let remaining = opts.timeout.saturating_sub(started.elapsed());
        let event = tokio::select! {
            e = events.next() => e,
            _ = tokio::time::sleep(remaining.min(tick)) => {
                if started.elapsed() >= opts.timeout {
                    return aborted(FollowAbort::TimedOut(opts.timeout), last);
                }
                if last_change.elapsed() >= opts.stall_timeout {
                    let output = plugin_output(&pods).await;
                    if output.is_some() && output != last_output {
                        last_output = output;
                        last_change = Instant::now();
                        continue;
                    }
                    return aborted(FollowAbort::Stalled(opts.stall_timeout), last);
                }
                continue;
            }
        };
        let pod = match event {
            None => return aborted(FollowAbort::WatchEnded, last),
            Some(Err(e)) => {
                on_update(Update::Warning(&format!(
                    "watching the aggregator pod: {e}; retrying"
                )));
                continue;
            }
            Some(Ok(Event::Init)) => {
                seen_in_list = false;
                continue;
            }
            Some(Ok(Event::InitDone)) => {
                if !seen_in_list {
                    return aborted(
                        FollowAbort::Missing {
                            namespace: namespace.to_string(),
                        },
                        last,
                    );
                }
                continue;
            }
            Some(Ok(Event::Delete(_))) => {
                return aborted(
                    FollowAbort::Deleted {
                        namespace: namespace.to_string(),
                    },
                    last,
                );
            }
            Some(Ok(Event::Apply(pod) | Event::InitApply(pod))) => {
                seen_in_list = true;
                pod
            }
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return aborted(
                FollowAbort::BeingDeleted {
                    namespace: namespace.to_string(),
                },
                last,
            );
        }
        if let Some(why) = terminated(&pod) {
            return aborted(FollowAbort::Stopped(why), last);
        }
        let raw = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(STATUS_ANNOTATION))
            .cloned();
        if raw.is_none() || raw == last_raw {
            continue;
        }
        last_change = Instant::now();
        last_raw = raw.clone();
        let status = match Status::parse(raw.as_deref().unwrap_or_default()) {
            Ok(s) => s,
            Err(e) => {
                on_update(Update::Warning(&format!(
                    "unreadable status annotation: {e}"
                )));
                continue;
            }
        };
        on_update(Update::Status(&status));
        match status.status {
            RunState::Complete if !status.tar_info.name.is_empty() => {
                return FollowEnd::Complete(status);
            }
            RunState::Failed => {
                let plugins = status.failed_plugins();
                return aborted(FollowAbort::Failed { plugins }, Some(status));
            }
            _ => last = Some(status),
        }
    }
}

fn aborted(reason: FollowAbort, last: Option<Status>) -> FollowEnd {
    FollowEnd::Aborted { reason, last }
}

/// The aggregator runs with `--no-exit`: a terminated container or a finished pod is a crash.
pub(super) fn terminated(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    if let Some(phase) = status.phase.as_deref()
        && (phase == "Failed" || phase == "Succeeded")
    {
        let reason = status
            .reason
            .as_deref()
            .or(status.message.as_deref())
            .unwrap_or("");
        return Some(format!(
            "the aggregator pod stopped (phase {phase}{})",
            if reason.is_empty() {
                String::new()
            } else {
                format!(": {reason}")
            }
        ));
    }
    for c in status.container_statuses.iter().flatten() {
        if let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            let why = t.reason.clone().unwrap_or_default();
            return Some(
                format!(
                    "the aggregator container {} terminated with exit code {} {why}",
                    c.name, t.exit_code
                )
                .trim_end()
                .to_string(),
            );
        }
    }
    None
}

/// `3h`, `25m`, `40s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The last line of the e2e container's output in the run's plugin pod (Ginkgo's progress dots
/// grow it), or `None` when there is no such pod or output.
async fn plugin_output(pods: &Api<Pod>) -> Option<String> {
    let plugin = pods
        .list(&ListParams::default().labels("sonobuoy-component=plugin"))
        .await
        .ok()?
        .items
        .into_iter()
        .next()?;
    let name = plugin.metadata.name?;
    let params = LogParams {
        container: Some("e2e".into()),
        tail_lines: Some(1),
        ..LogParams::default()
    };
    pods.logs(&name, &params)
        .await
        .ok()
        .filter(|l| !l.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::testing::{self, Reply};

    pub const PODS: &str = "/api/v1/namespaces/sonobuoy/pods";

    /// The aggregator pod with this status annotation (`running`, `complete`, ...); a complete
    /// one names its tarball.
    pub fn aggregator(state: &str) -> Value {
        let tar = if state == "complete" {
            r#"{"name":"202612011200_sonobuoy_u.tar.gz","sha256":"ab","size":10}"#
        } else {
            r#"{"name":""}"#
        };
        let status = format!(
            r#"{{"plugins":[{{"plugin":"e2e","node":"global","status":"{state}","progress":{{"total":10,"completed":3}}}}],"status":"{state}","tar-info":{tar}}}"#
        );
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": AGGREGATOR_POD, "namespace": "sonobuoy", "resourceVersion": "2",
                            "annotations": {STATUS_ANNOTATION: status}},
               "status": {"phase": "Running"}})
    }

    fn opts(timeout: u64, stall: u64) -> FollowOptions {
        FollowOptions {
            timeout: Duration::from_secs(timeout),
            stall_timeout: Duration::from_secs(stall),
        }
    }

    async fn follow_with(script: Vec<Reply>, opts: FollowOptions) -> (FollowEnd, Vec<String>) {
        let (client, _) = testing::client(script);
        let mut updates = Vec::new();
        let end = follow(&client, "sonobuoy", opts, |u| {
            updates.push(match u {
                Update::Status(s) => s.status.name().to_string(),
                Update::Warning(w) => format!("warning: {w}"),
            })
        })
        .await;
        (end, updates)
    }

    fn reason(end: &FollowEnd) -> String {
        match end {
            FollowEnd::Aborted { reason, .. } => reason.to_string(),
            FollowEnd::Complete(_) => panic!("complete, not aborted"),
        }
    }

    #[tokio::test]
    async fn a_run_whose_status_turns_complete_ends_with_its_tarball() {
        let (end, updates) = follow_with(
            vec![
                Reply::new(
                    "GET",
                    PODS,
                    200,
                    testing::list("PodList", vec![aggregator("running")]),
                ),
                Reply::watch(PODS, &[("MODIFIED", aggregator("complete"))]),
                Reply::hang("GET", PODS),
            ],
            opts(60, 60),
        )
        .await;
        let FollowEnd::Complete(status) = end else {
            panic!("{end:?}")
        };
        assert_eq!(status.tar_info.name, "202612011200_sonobuoy_u.tar.gz");
        assert_eq!(updates, ["running", "complete"]);
    }

    #[tokio::test]
    async fn a_deleted_or_missing_aggregator_aborts_the_run() {
        let (end, _) = follow_with(
            vec![
                Reply::new(
                    "GET",
                    PODS,
                    200,
                    testing::list("PodList", vec![aggregator("running")]),
                ),
                Reply::watch(PODS, &[("DELETED", aggregator("running"))]),
            ],
            opts(60, 60),
        )
        .await;
        assert_eq!(
            reason(&end),
            "the aggregator pod sonobuoy/sonobuoy was deleted"
        );
        let FollowEnd::Aborted { last, .. } = end else {
            unreachable!()
        };
        assert_eq!(last.map(|s| s.status), Some(RunState::Running));

        let (end, _) = follow_with(
            vec![Reply::new(
                "GET",
                PODS,
                200,
                testing::list("PodList", vec![]),
            )],
            opts(60, 60),
        )
        .await;
        assert_eq!(
            reason(&end),
            "the aggregator pod sonobuoy/sonobuoy does not exist (deleted?)"
        );
    }

    #[tokio::test]
    async fn a_run_without_progress_stalls_and_a_long_one_times_out() {
        // The watch stays quiet and the e2e container has no output (the plugin pod list is
        // not answered): no progress.
        let quiet = || {
            vec![
                Reply::new(
                    "GET",
                    PODS,
                    200,
                    testing::list("PodList", vec![aggregator("running")]),
                ),
                Reply::hang("GET", PODS),
            ]
        };
        let (end, updates) = follow_with(quiet(), opts(60, 1)).await;
        assert_eq!(
            reason(&end),
            "no progress for 1s (neither the status annotation nor the e2e output changed)"
        );
        assert_eq!(updates, ["running"]);
        let (end, _) = follow_with(quiet(), opts(1, 60)).await;
        assert_eq!(reason(&end), "timed out after 1s");
    }

    #[tokio::test]
    async fn a_failed_aggregator_names_the_failed_plugins() {
        let (end, _) = follow_with(
            vec![Reply::new(
                "GET",
                PODS,
                200,
                testing::list("PodList", vec![aggregator("failed")]),
            )],
            opts(60, 60),
        )
        .await;
        assert_eq!(
            reason(&end),
            "the aggregator reports status failed (failed plugins: e2e)"
        );
    }
}
