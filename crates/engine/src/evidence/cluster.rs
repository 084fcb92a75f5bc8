//! Facts about the live cluster: server version, nodes and the CNI.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Namespace, Node, PodSpec};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use serde::Serialize;

use crate::evidence::cni::{self, Cni, Workload};

/// One node, as far as a verdict cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    pub name: String,
    /// From `node-role.kubernetes.io/<role>` labels.
    pub roles: Vec<String>,
    pub zone: Option<String>,
    pub region: Option<String>,
    pub os: Option<String>,
    pub kubelet_version: Option<String>,
    pub internal_ip: Option<String>,
}

/// What we learnt about the cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterInfo {
    /// Server `gitVersion`.
    pub server_version: String,
    pub nodes: Vec<NodeInfo>,
    pub cni: Cni,
    /// The UID of the `kube-system` namespace: a stable identity of the cluster (it lives as long
    /// as the cluster), when it could be read.
    pub id: Option<String>,
}

impl NodeInfo {
    /// Whether the node is labelled as control plane (`control-plane`, or the old `master`).
    pub fn is_control_plane(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r == "control-plane" || r == "master")
    }
}

impl std::fmt::Display for ClusterInfo {
    /// `Kubernetes v1.33.3, 6 nodes (3 control plane), CNI cilium 1.17.6 (detected)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let control_plane = self.nodes.iter().filter(|n| n.is_control_plane()).count();
        let source = match self.cni.source {
            crate::evidence::cni::CniSource::Flag => "from --cni",
            crate::evidence::cni::CniSource::Detected => "detected",
            crate::evidence::cni::CniSource::Unknown => "not detected",
        };
        write!(
            f,
            "Kubernetes {}, {} nodes ({control_plane} control plane), CNI {} ({source})",
            self.server_version,
            self.nodes.len(),
            self.cni
        )
    }
}

/// Time to open a connection to the API server, TLS handshake included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time the API server may stay silent on a connection with a request outstanding. Longer than
/// kube's 60 s WebSocket ping on `pods/exec`, so a quiet exec stream lives while the server
/// answers pings; watches end server-side before (follow's watch timeout).
const READ_TIMEOUT: Duration = Duration::from_secs(90);
/// Time to hand a request to the API server.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why no client could be built for a kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("{}: {source}", .path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error(transparent)]
    Context(kube::config::KubeconfigError),
    #[error("KUBECONFIG names no existing file ({0})")]
    NoEnvFile(String),
    #[error("no usable kubeconfig: {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

/// Which kubeconfig a client is built from. The engine reads no environment: a front end that
/// honours `$KUBECONFIG` passes its list ([`Kubeconfigs::from_env_list`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Kubeconfigs {
    /// This file (`--kubeconfig`).
    File(PathBuf),
    /// These files, merged as kubectl merges a `KUBECONFIG` list.
    List(Vec<PathBuf>),
    /// kube's defaults: `~/.kube/config`, else in-cluster.
    #[default]
    Default,
}

impl Kubeconfigs {
    /// `--kubeconfig FILE` if given, else the value of `KUBECONFIG` (a path list, as
    /// `std::env::split_paths` splits it) if set, else kube's defaults.
    pub fn from_env_list(file: Option<&Path>, kubeconfig_env: Option<&std::ffi::OsStr>) -> Self {
        match (file, kubeconfig_env) {
            (Some(path), _) => Kubeconfigs::File(path.to_path_buf()),
            (None, Some(list)) => Kubeconfigs::List(std::env::split_paths(list).collect()),
            (None, None) => Kubeconfigs::Default,
        }
    }
}

/// Builds a client for a kubeconfig and context, with timeouts on every request (no request to
/// a silent API server hangs), and returns it with the API server's address.
pub async fn connect(
    kubeconfig: &Kubeconfigs,
    context: Option<&str>,
) -> Result<(Client, String), ConnectError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let merged = match kubeconfig {
        Kubeconfigs::File(_) | Kubeconfigs::Default => None,
        Kubeconfigs::List(paths) => merge_kubeconfigs(paths)?,
    };
    let mut config = match (kubeconfig, merged) {
        (Kubeconfigs::File(path), _) => {
            let kc = Kubeconfig::read_from(path).map_err(|source| ConnectError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|source| ConnectError::Load {
                    path: path.to_path_buf(),
                    source,
                })?
        }
        (_, Some(merged)) => kube::Config::from_custom_kubeconfig(merged, &options)
            .await
            .map_err(ConnectError::Context)?,
        (_, None) if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(ConnectError::Context)?,
        (_, None) => kube::Config::infer().await.map_err(ConnectError::Infer)?,
    };
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    config.write_timeout = Some(WRITE_TIMEOUT);
    // The read timeout counts from the request, not from when a pooled connection went idle.
    config.reset_reader_on_write = true;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(ConnectError::Client)?;
    Ok((client, server.trim_end_matches('/').to_string()))
}

/// The files of a `KUBECONFIG` list merged as kubectl merges them (the first to set a value
/// wins): empty entries and files that do not exist are skipped, an unreadable or malformed file
/// is an error naming it. `None` for a list without entries.
pub fn merge_kubeconfigs(paths: &[PathBuf]) -> Result<Option<Kubeconfig>, ConnectError> {
    let listed: Vec<&PathBuf> = paths.iter().filter(|p| !p.as_os_str().is_empty()).collect();
    if listed.is_empty() {
        return Ok(None);
    }
    let mut merged: Option<Kubeconfig> = None;
    for path in &listed {
        if !path.exists() {
            continue;
        }
        let read_error = |source| ConnectError::Read {
            path: path.to_path_buf(),
            source,
        };
        let next = Kubeconfig::read_from(path).map_err(read_error)?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(read_error)?,
        });
    }
    match merged {
        Some(m) => Ok(Some(m)),
        None => Err(ConnectError::NoEnvFile(
            listed
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Why the cluster could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach the Kubernetes API server: {0}")]
    Unreachable(#[source] kube::Error),
    #[error("cannot {what}: {source}")]
    Api {
        what: &'static str,
        #[source]
        source: kube::Error,
    },
}

/// The API server's `gitVersion` (`v1.33.3`, `v1.31.4-gke.1256000`).
pub async fn server_version(client: &Client) -> Result<String, ClusterError> {
    let version = client
        .apiserver_version()
        .await
        .map_err(ClusterError::Unreachable)?;
    Ok(version.git_version)
}

/// Reads server version, nodes and workloads; `cni_flag` overrides detection.
pub async fn discover(client: &Client, cni_flag: Option<Cni>) -> Result<ClusterInfo, ClusterError> {
    let version = client
        .apiserver_version()
        .await
        .map_err(ClusterError::Unreachable)?;
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = nodes
        .list(&ListParams::default())
        .await
        .map_err(|source| ClusterError::Api {
            what: "list nodes",
            source,
        })?
        .into_iter()
        .map(|n| node_info(&n))
        .collect();
    let cni = match cni_flag {
        Some(c) => c,
        None => {
            let workloads = workloads(client).await?;
            cni::detect(&workloads).unwrap_or_else(Cni::unknown)
        }
    };
    Ok(ClusterInfo {
        server_version: version.git_version,
        nodes,
        cni,
        id: cluster_id(client).await,
    })
}

/// The cluster's identity: the UID of its `kube-system` namespace (created with the cluster and
/// never replaced). `None` when it cannot be read; the verdict then records no id.
pub async fn cluster_id(client: &Client) -> Option<String> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .get_opt("kube-system")
        .await
        .ok()
        .flatten()
        .and_then(|ns| ns.metadata.uid)
}

fn node_info(n: &Node) -> NodeInfo {
    let labels = n.labels();
    let mut roles: Vec<String> = labels
        .keys()
        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    roles.sort();
    let status = n.status.as_ref();
    NodeInfo {
        name: n.name_any(),
        roles,
        zone: labels.get("topology.kubernetes.io/zone").cloned(),
        region: labels.get("topology.kubernetes.io/region").cloned(),
        os: labels.get("kubernetes.io/os").cloned(),
        kubelet_version: status
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.clone()),
        internal_ip: status
            .and_then(|s| s.addresses.as_ref())
            .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
            .map(|a| a.address.clone()),
    }
}

/// DaemonSets and Deployments of every namespace (where CNIs and their operators run);
/// DaemonSets first: a CNI's agent is a DaemonSet, its operator a Deployment.
async fn workloads(client: &Client) -> Result<Vec<Workload>, ClusterError> {
    let mut out = Vec::new();
    for d in list_all::<DaemonSet>(client, "list DaemonSets").await? {
        out.push(workload(&d, d.spec.template.spec.as_ref()));
    }
    for d in list_all::<Deployment>(client, "list Deployments").await? {
        out.push(workload(&d, d.spec.template.spec.as_ref()));
    }
    Ok(out)
}

async fn list_all<K>(client: &Client, what: &'static str) -> Result<Vec<K>, ClusterError>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::all(client.clone());
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|source| ClusterError::Api { what, source })?;
    Ok(list.items)
}

fn workload(o: &impl ResourceExt, spec: Option<&PodSpec>) -> Workload {
    let images = spec
        .map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default();
    Workload {
        namespace: o.namespace().unwrap_or_default(),
        name: o.name_any(),
        images,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(name: &str, server: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {name}\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\nusers:\n- name: {name}\n  user:\n    token: t\n"
        )
    }

    #[test]
    fn a_kubeconfig_list_is_merged_as_kubectl_merges_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        std::fs::write(&a, kubeconfig("first", "https://one.example:6443")).unwrap();
        std::fs::write(&b, kubeconfig("second", "https://two.example:6443")).unwrap();
        let missing = dir.path().join("gone.yaml");
        let merged = merge_kubeconfigs(&[missing, PathBuf::new(), a, b])
            .unwrap()
            .unwrap();
        // The first file to set the current context wins; both clusters are there.
        assert_eq!(merged.current_context.as_deref(), Some("first"));
        let names: Vec<&str> = merged.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
    }

    #[test]
    fn a_malformed_file_in_the_list_is_named_and_an_empty_list_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "clusters: [oops").unwrap();
        let err = merge_kubeconfigs(std::slice::from_ref(&bad)).unwrap_err();
        assert!(
            err.to_string().starts_with(&bad.display().to_string()),
            "{err}"
        );
        assert!(merge_kubeconfigs(&[PathBuf::new()]).unwrap().is_none());
    }

    #[test]
    fn the_flag_wins_over_the_callers_kubeconfig_list() {
        use std::ffi::OsStr;
        let file = Path::new("/k/flag.yaml");
        assert_eq!(
            Kubeconfigs::from_env_list(Some(file), Some(OsStr::new("/k/a:/k/b"))),
            Kubeconfigs::File(file.to_path_buf())
        );
        assert_eq!(
            Kubeconfigs::from_env_list(None, Some(OsStr::new("/k/a:/k/b"))),
            Kubeconfigs::List(vec![PathBuf::from("/k/a"), PathBuf::from("/k/b")])
        );
        assert_eq!(Kubeconfigs::from_env_list(None, None), Kubeconfigs::Default);
    }

    #[test]
    fn a_list_of_only_missing_files_names_them() {
        let err = merge_kubeconfigs(&[
            PathBuf::from("/nonexistent/a"),
            PathBuf::from("/nonexistent/b"),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "KUBECONFIG names no existing file (/nonexistent/a, /nonexistent/b)"
        );
    }
}
