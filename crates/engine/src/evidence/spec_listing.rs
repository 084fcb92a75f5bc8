//! The spec list of the cluster's own conformance image, for Kubernetes versions that have no
//! built-in inventory: a short-lived pod runs `e2e.test --list-tests` (Ginkgo's dry walk of the
//! spec tree; it needs no cluster access and exits at once) and its log is the inventory. With
//! exact names, `run` selects `[Serial]` specs by name instead of guessing by Ginkgo label.
//!
//! The pod lives in a namespace of its own, which [`SpecLister::cleanup`] removes on every path
//! (also after an interrupt, when the listing future was dropped half-way).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, LogParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::definitions::inventory::Inventory;

/// The e2e binary's path in the conformance image (upstream's layout).
const E2E_TEST: &str = "/usr/local/bin/e2e.test";
const POD: &str = "list-specs";
/// Fewer specs than this is not a spec list but a broken image or an old e2e binary that
/// ignored the flag.
const MIN_SPECS: usize = 100;

/// Why the spec list could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("creating {what}: {source}")]
    Create {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("pod {namespace}/{POD} did not finish within {}s", .timeout.as_secs())]
    Timeout {
        namespace: String,
        timeout: Duration,
    },
    #[error(
        "pod {namespace}/{POD} failed ({reason}); `{E2E_TEST} --list-tests` needs Kubernetes 1.29+"
    )]
    PodFailed { namespace: String, reason: String },
    #[error("reading the log of pod {namespace}/{POD}: {source}")]
    Log {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("`{E2E_TEST} --list-tests` listed {count} specs (expected at least {MIN_SPECS})")]
    TooFew { count: usize },
    #[error("reading pod {namespace}/{POD}: {source}")]
    Watch {
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

/// One listing: a namespace name, unique per invocation.
pub struct SpecLister {
    client: Client,
    namespace: String,
    image: String,
}

impl SpecLister {
    pub fn new(client: Client, image: &str) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        SpecLister {
            client,
            namespace: format!("scs-conformance-specs-{}", &suffix[..8]),
            image: image.to_string(),
        }
    }

    /// Where the listing pod runs.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Runs the listing pod and turns its output into an inventory.
    pub async fn list(&self, timeout: Duration) -> Result<Inventory, ListError> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(self.namespace.clone()),
                labels: Some(
                    [(
                        "app.kubernetes.io/managed-by".into(),
                        "scs-conformance".into(),
                    )]
                    .into(),
                ),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .map_err(|source| ListError::Create {
                what: format!("namespace {}", self.namespace),
                source,
            })?;
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        pods.create(&PostParams::default(), &self.pod())
            .await
            .map_err(|source| ListError::Create {
                what: format!("pod {}/{POD}", self.namespace),
                source,
            })?;
        // An image that cannot be pulled never fails the pod: stop waiting on it at once.
        // Polled, not watched: a pod pulling a large image can be quiet for longer than the
        // client's read timeout lets a watch be.
        let finished = async {
            loop {
                let pod = pods.get_opt(POD).await?;
                if matches!(phase(pod.as_ref()), Some("Succeeded" | "Failed"))
                    || stuck_reason(pod.as_ref()).is_some()
                {
                    return Ok::<_, kube::Error>(pod);
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        };
        let pod = match tokio::time::timeout(timeout, finished).await {
            Err(_) => {
                return Err(ListError::Timeout {
                    namespace: self.namespace.clone(),
                    timeout,
                });
            }
            Ok(Err(source)) => {
                return Err(ListError::Watch {
                    namespace: self.namespace.clone(),
                    source,
                });
            }
            Ok(Ok(pod)) => pod,
        };
        if phase(pod.as_ref()) != Some("Succeeded") {
            return Err(ListError::PodFailed {
                namespace: self.namespace.clone(),
                reason: termination_reason(pod.as_ref()),
            });
        }
        let log = pods
            .logs(POD, &LogParams::default())
            .await
            .map_err(|source| ListError::Log {
                namespace: self.namespace.clone(),
                source,
            })?;
        let specs = parse_list_tests(&log);
        if specs.len() < MIN_SPECS {
            return Err(ListError::TooFew { count: specs.len() });
        }
        Ok(Inventory {
            source: format!("spec list of {}", self.image),
            specs,
        })
    }

    /// Removes the listing's namespace (and with it the pod); absent is fine.
    pub async fn cleanup(&self) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        if let Err(e) = namespaces
            .delete(&self.namespace, &DeleteParams::background())
            .await
            && !matches!(&e, kube::Error::Api(s) if s.is_not_found())
        {
            tracing::warn!("cannot remove namespace {}: {e}", self.namespace);
        }
    }

    /// A pod that passes the `restricted` Pod Security level, with the e2e plugin's tolerations.
    #[allow(clippy::expect_used)] // static JSON with string fields always deserialises (tested)
    fn pod(&self) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": POD, "namespace": self.namespace},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": false,
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [
                    {"effect": "NoSchedule", "key": "node-role.kubernetes.io/master", "operator": "Exists"},
                    {"key": "CriticalAddonsOnly", "operator": "Exists"},
                    {"key": "kubernetes.io/e2e-evict-taint-key", "operator": "Exists"}
                ],
                "securityContext": {
                    "runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534,
                    "seccompProfile": {"type": "RuntimeDefault"}
                },
                "containers": [{
                    "name": "list",
                    "image": self.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": [E2E_TEST, "--list-tests"],
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "capabilities": {"drop": ["ALL"]}
                    }
                }]
            }
        }))
        .expect("a static pod object deserialises")
    }
}

fn phase(pod: Option<&Pod>) -> Option<&str> {
    pod?.status.as_ref()?.phase.as_deref()
}

/// Waiting reasons from which a pod does not recover by itself.
fn stuck_reason(pod: Option<&Pod>) -> Option<String> {
    let waiting = pod?
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?;
    let reason = waiting.reason.as_deref()?;
    matches!(
        reason,
        "ErrImagePull"
            | "ImagePullBackOff"
            | "ErrImageNeverPull"
            | "InvalidImageName"
            | "CreateContainerConfigError"
            | "CreateContainerError"
    )
    .then(|| {
        let message = waiting.message.as_deref().unwrap_or_default();
        format!("{reason}: {message}")
    })
}

fn termination_reason(pod: Option<&Pod>) -> String {
    let Some(pod) = pod else {
        return "deleted".into();
    };
    if let Some(stuck) = stuck_reason(Some(pod)) {
        return stuck;
    }
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .map(|t| {
            format!(
                "exit code {}{}",
                t.exit_code,
                t.reason
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_else(|| format!("phase {}", phase(Some(pod)).unwrap_or("unknown")))
        + &format!(" (pod {})", pod.name_any())
}

/// The spec names of `e2e.test --list-tests` output: lines `    <file>:<line>: <full spec text>`,
/// sorted (as the binary prints them); anything else (the heading, klog lines) is ignored.
pub fn parse_list_tests(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter_map(|l| {
            let (location, name) = l.split_once(": ")?;
            let (file, line) = location.rsplit_once(':')?;
            let is_location = !file.is_empty()
                && !file.contains(' ')
                && !line.is_empty()
                && line.bytes().all(|b| b.is_ascii_digit());
            (is_location && !name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_listing_pod_deserialises() {
        let config = kube::Config::new("https://127.0.0.1:1".parse().unwrap());
        let lister = SpecLister::new(Client::try_from(config).unwrap(), "img:v1.35.0");
        let pod = lister.pod();
        assert_eq!(pod.metadata.name.as_deref(), Some(POD));
        assert_eq!(pod.metadata.namespace.as_deref(), Some(lister.namespace()));
    }

    #[test]
    fn list_tests_output_becomes_spec_names() {
        let out = "I1202 klog line\nThe following spec names can be used with 'ginkgo run --focus/skip':\n    \
            test/e2e/network/netpol/network_policy.go:118: [sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy [Feature:NetworkPolicy]\n    \
            test/e2e/apps/job.go:80: [sig-apps] Job should run a job to completion when tasks succeed [Conformance]\n\n";
        assert_eq!(
            parse_list_tests(out),
            vec![
                "[sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy [Feature:NetworkPolicy]",
                "[sig-apps] Job should run a job to completion when tasks succeed [Conformance]",
            ]
        );
    }

    #[test]
    fn lines_without_a_source_location_are_not_specs() {
        assert!(parse_list_tests("    just indented text\n    a: b\n    x:1:\n").is_empty());
    }
}
