//! Looking at a run from outside it: its status, its results tarball once it is complete, and
//! its pods' logs. The run may have been started by `run --keep`, by another shell, or by the
//! sonobuoy CLI itself: everything here reads only what the aggregator publishes.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, LogParams};

use super::retrieve::{self, RetrieveError};
use super::status::{RunState, Status};
use super::{AGGREGATOR_POD, STATUS_ANNOTATION};

/// Why a run could not be looked at.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("no Sonobuoy run in namespace {namespace} (no pod {AGGREGATOR_POD})")]
    NoRun { namespace: String },
    #[error("cannot read {what} in namespace {namespace}: {}", crate::run::error_chain(.source))]
    Api {
        what: &'static str,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("the status annotation of {namespace}/{AGGREGATOR_POD} is unreadable: {source}")]
    BadStatus {
        namespace: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the run in namespace {namespace} has no results yet ({state})")]
    NotComplete { namespace: String, state: String },
    #[error("retrieving the results of the run in namespace {namespace}: {}", crate::run::error_chain(.source))]
    Retrieve {
        namespace: String,
        #[source]
        source: RetrieveError,
    },
}

/// What the aggregator pod says about its run.
#[derive(Debug, Clone)]
pub struct RunView {
    pub namespace: String,
    /// The status annotation, raw (as `sonobuoy status --json` prints it) and parsed; `None`
    /// before the aggregator wrote its first status.
    pub status: Option<(String, Status)>,
    /// Why the run cannot finish although the annotation may not say so: the aggregator pod is
    /// being deleted, or its container stopped.
    pub problem: Option<String>,
}

impl RunView {
    /// The run's state in one word, as `sonobuoy status` names it.
    pub fn state(&self) -> &'static str {
        self.status
            .as_ref()
            .map_or("pending", |(_, s)| s.status.name())
    }

    /// Whether the run failed or cannot finish.
    pub fn is_broken(&self) -> bool {
        self.problem.is_some()
            || self
                .status
                .as_ref()
                .is_some_and(|(_, s)| s.status == RunState::Failed)
    }
}

/// Reads the run in `namespace`.
pub async fn view(client: &Client, namespace: &str) -> Result<RunView, InspectError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = pods
        .get_opt(AGGREGATOR_POD)
        .await
        .map_err(|source| InspectError::Api {
            what: "the aggregator pod",
            namespace: namespace.to_string(),
            source,
        })?
        .ok_or_else(|| InspectError::NoRun {
            namespace: namespace.to_string(),
        })?;
    let problem = if pod.metadata.deletion_timestamp.is_some() {
        Some(format!(
            "the aggregator pod {namespace}/{AGGREGATOR_POD} is being deleted"
        ))
    } else {
        super::follow::terminated(&pod)
    };
    let status = match pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATUS_ANNOTATION))
    {
        None => None,
        Some(raw) => {
            let parsed = Status::parse(raw).map_err(|source| InspectError::BadStatus {
                namespace: namespace.to_string(),
                source,
            })?;
            Some((raw.clone(), parsed))
        }
    };
    Ok(RunView {
        namespace: namespace.to_string(),
        status,
        problem,
    })
}

/// Retrieves the results tarball of the complete run in `namespace` into `out_dir`, checked
/// against the aggregator's `tar-info` as `run` checks it. Returns its path and the status.
pub async fn retrieve_results(
    client: &Client,
    namespace: &str,
    out_dir: &Path,
) -> Result<(PathBuf, Status), InspectError> {
    let view = view(client, namespace).await?;
    let not_complete = |state: String| InspectError::NotComplete {
        namespace: namespace.to_string(),
        state,
    };
    if let Some(problem) = &view.problem {
        return Err(not_complete(problem.clone()));
    }
    let Some((_, status)) = view.status else {
        return Err(not_complete("the aggregator has written no status".into()));
    };
    if status.status != RunState::Complete || status.tar_info.name.is_empty() {
        return Err(not_complete(format!("status {}", status.status.name())));
    }
    let path = retrieve::retrieve(client, namespace, &status.tar_info, out_dir)
        .await
        .map_err(|source| InspectError::Retrieve {
            namespace: namespace.to_string(),
            source,
        })?;
    Ok((path, status))
}

/// The log of one container of a run.
#[derive(Debug, Clone)]
pub struct ContainerLog {
    pub pod: String,
    pub container: String,
    /// The log, or why it could not be read (a container that has not started has none).
    pub text: Result<String, String>,
}

/// The logs of the run's pods: the aggregator first, then every plugin pod, each container in
/// the pod's order. `tail` limits each to its last lines.
pub async fn logs(
    client: &Client,
    namespace: &str,
    tail: Option<i64>,
) -> Result<Vec<ContainerLog>, InspectError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut listed = pods
        .list(&ListParams::default())
        .await
        .map_err(|source| InspectError::Api {
            what: "the pods",
            namespace: namespace.to_string(),
            source,
        })?
        .items;
    listed.retain(is_run_pod);
    if listed.is_empty() {
        return Err(InspectError::NoRun {
            namespace: namespace.to_string(),
        });
    }
    listed.sort_by_key(|p| {
        let name = p.metadata.name.clone().unwrap_or_default();
        (name != AGGREGATOR_POD, name)
    });
    let mut out = Vec::new();
    for pod in listed {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let containers: Vec<String> = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
            .collect();
        for container in containers {
            let params = LogParams {
                container: Some(container.clone()),
                tail_lines: tail,
                ..LogParams::default()
            };
            let text = pods.logs(&name, &params).await.map_err(|e| match e {
                kube::Error::Api(status) => status.message,
                other => crate::run::error_chain(&other),
            });
            out.push(ContainerLog {
                pod: name.clone(),
                container,
                text,
            });
        }
    }
    Ok(out)
}

/// The aggregator and the plugin pods (Sonobuoy labels them `sonobuoy-component`).
fn is_run_pod(pod: &Pod) -> bool {
    pod.metadata.name.as_deref() == Some(AGGREGATOR_POD)
        || pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("sonobuoy-component"))
            .is_some_and(|c| c == "plugin")
}
