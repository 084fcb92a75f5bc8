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
        reason: String,
        last: Option<Status>,
    },
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
                    return aborted(format!("timed out after {}", human(opts.timeout)), last);
                }
                if last_change.elapsed() >= opts.stall_timeout {
                    let output = plugin_output(&pods).await;
                    if output.is_some() && output != last_output {
                        last_output = output;
                        last_change = Instant::now();
                        continue;
                    }
                    return aborted(format!("no progress for {} (neither the status annotation nor the e2e output changed)", human(opts.stall_timeout)), last);
                }
                continue;
            }
        };
        let pod = match event {
            None => return aborted("the watch of the aggregator pod ended".into(), last),
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
                        format!(
                            "the aggregator pod {namespace}/{AGGREGATOR_POD} does not exist (deleted?)"
                        ),
                        last,
                    );
                }
                continue;
            }
            Some(Ok(Event::Delete(_))) => {
                return aborted(
                    format!("the aggregator pod {namespace}/{AGGREGATOR_POD} was deleted"),
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
                format!("the aggregator pod {namespace}/{AGGREGATOR_POD} is being deleted"),
                last,
            );
        }
        if let Some(why) = terminated(&pod) {
            return aborted(why, last);
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
                let detail = if plugins.is_empty() {
                    String::new()
                } else {
                    format!(" (failed plugins: {})", plugins.join(", "))
                };
                return aborted(
                    format!("the aggregator reports status failed{detail}"),
                    Some(status),
                );
            }
            _ => last = Some(status),
        }
    }
}

fn aborted(reason: String, last: Option<Status>) -> FollowEnd {
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
