//! Test support for integration tests that need a real Kubernetes API server: the local
//! control plane in `testenv/` (etcd, kube-apiserver, kube-controller-manager, kube-scheduler
//! and kwok fake nodes). See `docs/testenv.md`.
//!
//! Include it from an integration test file (`tests/<name>.rs`) with
//!
//! ```ignore
//! #[path = "support/testenv.rs"]
//! mod testenv;
//!
//! #[tokio::test]
//! async fn my_test() {
//!     let ns = testenv::namespace("my-test").await; // panics with the reason if testenv can't start
//!     let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = ns.api();
//!     // ... the namespace is deleted when `ns` is dropped
//! }
//! ```
//!
//! * The first call in a test binary runs `testenv/up` (it builds missing binaries, starts the
//!   cluster, or just reports the running one; `up` takes a file lock so parallel test binaries
//!   don't race). The kubeconfig path is read from the last line of its stdout and cached for
//!   the process.
//! * Nothing is skipped: if the testenv cannot start, every test using it panics with `up`'s
//!   error output, which names the failing component and shows the tail of its log.
//! * `TESTENV_KUBECONFIG=/path` uses that kubeconfig instead of running `testenv/up`.
//! * `TESTENV_KEEP_NAMESPACES=1` keeps test namespaces for debugging.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config};

/// Repository root (where `testenv/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `testenv/up` once per process and returns the admin kubeconfig path, or the reason it
/// could not start (the failing component and its log tail).
pub fn kubeconfig_path() -> Result<PathBuf, String> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(start).clone()
}

fn start() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("TESTENV_KUBECONFIG")
        && !p.is_empty()
    {
        return Ok(PathBuf::from(p));
    }
    let up = repo_root().join("testenv").join("up");
    let out = Command::new(&up)
        .current_dir(repo_root())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", up.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{stderr}{stdout}",
            up.display(),
            out.status
        ));
    }
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let path = PathBuf::from(last);
    if !path.is_file() {
        return Err(format!(
            "{} succeeded but its last stdout line {last:?} is not a kubeconfig file:\n{stderr}",
            up.display()
        ));
    }
    Ok(path)
}

/// The kubeconfig path; panics (failing the test) with the reason if the testenv can't start.
pub fn kubeconfig() -> PathBuf {
    match kubeconfig_path() {
        Ok(p) => p,
        Err(e) => panic!("testenv could not start:\n{e}"),
    }
}

/// The testenv kubeconfig with its server moved to loopback port 1 (a refused connection),
/// written into `dir`: a cluster that cannot be reached, with valid credentials.
pub fn unreachable_kubeconfig(dir: &std::path::Path) -> PathBuf {
    let config = std::fs::read_to_string(kubeconfig()).unwrap();
    let server = config
        .lines()
        .find(|l| l.trim_start().starts_with("server:"))
        .unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        config.replace(server, "    server: https://127.0.0.1:1"),
    )
    .unwrap();
    path
}

/// A kube `Config` for the testenv's admin user.
pub async fn config() -> Config {
    let path = kubeconfig();
    let kc = Kubeconfig::read_from(&path)
        .unwrap_or_else(|e| panic!("reading testenv kubeconfig {}: {e}", path.display()));
    Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("loading testenv kubeconfig {}: {e}", path.display()))
}

/// A new client (create one per test: a client belongs to the test's tokio runtime).
pub async fn client() -> Client {
    Client::try_from(config().await).expect("building kube client for testenv")
}

/// The testenv's `kubectl` binary (same Kubernetes version), for use with `--kubeconfig`.
pub fn kubectl_binary() -> PathBuf {
    let dir = std::env::var_os("TESTENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("testenv"));
    dir.join("bin").join("kubectl")
}

/// A fresh namespace for one test, deleted (without waiting) when dropped.
pub struct TestNamespace {
    pub name: String,
    pub client: Client,
    kubeconfig: PathBuf,
    cluster_exec: std::sync::atomic::AtomicBool,
}

impl TestNamespace {
    /// A namespaced `Api` for this test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Makes `exec` into ANY pod of this namespace (any container) run the requested command
    /// locally in `work_dir` with `envs`, through a kwok `ClusterExec` named like the namespace
    /// (`selector.matchNamespaces: [<namespace>]`), deleted when this guard is dropped. Useful
    /// for pods with generated names. A per-pod [`create_local_exec`] takes precedence.
    pub async fn local_exec_for_all_pods(&self, work_dir: &Path, envs: &[(&str, &str)]) {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "kwok.x-k8s.io",
            "v1alpha1",
            "ClusterExec",
        ));
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
        let mut obj = DynamicObject::new(&self.name, &ar);
        obj.data = serde_json::json!({
            "spec": {
                "selector": {"matchNamespaces": [self.name]},
                "execs": [{"local": {"workDir": work_dir.to_string_lossy(), "envs": env_list(envs)}}]
            }
        });
        self.cluster_exec
            .store(true, std::sync::atomic::Ordering::SeqCst);
        api.create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("creating kwok ClusterExec {}: {e}", self.name));
    }
}

fn env_list(envs: &[(&str, &str)]) -> Vec<serde_json::Value> {
    envs.iter()
        .map(|(k, v)| serde_json::json!({"name": k, "value": v}))
        .collect()
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::env::var_os("TESTENV_KEEP_NAMESPACES").is_some() {
            eprintln!("testenv: keeping namespace {}", self.name);
            return;
        }
        // Synchronous on purpose: Drop can't await, and the test's runtime may be shutting down.
        if self.cluster_exec.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = Command::new(kubectl_binary())
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args([
                    "delete",
                    "clusterexecs.kwok.x-k8s.io",
                    &self.name,
                    "--ignore-not-found",
                ])
                .output();
        }
        let _ = Command::new(kubectl_binary())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args([
                "delete",
                "namespace",
                &self.name,
                "--wait=false",
                "--ignore-not-found",
            ])
            .output();
    }
}

/// Creates a fresh namespace `t-<prefix>-<random>` (labelled `scs-conformance/test=true`).
pub async fn namespace(prefix: &str) -> TestNamespace {
    let client = client().await;
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let name = format!(
        "t-{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some([("scs-conformance/test".to_string(), "true".to_string())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating test namespace {name}: {e}"));
    // Pods need the namespace's default ServiceAccount (ServiceAccount admission is on);
    // kube-controller-manager creates it asynchronously.
    wait_for_default_service_account(&client, &name).await;
    TestNamespace {
        name,
        client,
        kubeconfig: kubeconfig(),
        cluster_exec: Default::default(),
    }
}

async fn wait_for_default_service_account(client: &Client, ns: &str) {
    let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(client.clone(), ns);
    for _ in 0..600 {
        if sas.get_opt("default").await.ok().flatten().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "ServiceAccount {ns}/default did not appear within 60s (is kube-controller-manager running?)"
    );
}

/// Deletes a namespace and waits until it is gone (finalized by kube-controller-manager).
pub async fn delete_namespace_and_wait(client: &Client, name: &str, timeout: Duration) {
    let api: Api<Namespace> = Api::all(client.clone());
    let uid = match api.get_opt(name).await.expect("get namespace") {
        Some(ns) => ns.metadata.uid.unwrap_or_default(),
        None => return,
    };
    api.delete(name, &DeleteParams::default())
        .await
        .expect("delete namespace");
    tokio::time::timeout(
        timeout,
        await_condition(api, name, conditions::is_deleted(&uid)),
    )
    .await
    .unwrap_or_else(|_| panic!("namespace {name} still exists after {timeout:?}"))
    .expect("watching namespace deletion");
}

/// Waits until the pod's phase is Running.
pub async fn wait_pod_running(pods: &Api<Pod>, name: &str, timeout: Duration) -> Pod {
    let running = |obj: Option<&Pod>| {
        obj.and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some("Running")
    };
    tokio::time::timeout(timeout, await_condition(pods.clone(), name, running))
        .await
        .unwrap_or_else(|_| panic!("pod {name} not Running after {timeout:?}"))
        .expect("watching pod")
        .expect("pod deleted while waiting for Running")
}

/// kwok's namespaced `Exec` resource (kwok.x-k8s.io/v1alpha1).
pub fn kwok_exec_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "Exec"))
}

/// Makes `exec` into pod `namespace/pod` (any container) run the requested command LOCALLY on
/// the machine running the testenv, in `work_dir` with the extra `envs`, by creating a kwok
/// `Exec` object named like the pod. The command itself comes from the exec request: e.g.
/// `["./script.sh", "arg"]` runs `<work_dir>/script.sh arg`; absolute paths are host paths.
/// kwok picks the object up asynchronously: use [`exec_output`] which retries until it is seen.
pub async fn create_local_exec(
    client: &Client,
    namespace: &str,
    pod: &str,
    work_dir: &Path,
    envs: &[(&str, &str)],
) {
    let ar = kwok_exec_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let envs = env_list(envs);
    let mut obj = DynamicObject::new(pod, &ar).within(namespace);
    obj.data = serde_json::json!({
        "spec": {"execs": [{"local": {"workDir": work_dir.to_string_lossy(), "envs": envs}}]}
    });
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("creating kwok Exec {namespace}/{pod}: {e}"));
}

/// Runs `command` in the pod via the API server (websocket exec) and returns its stdout bytes
/// and exit status. Retries for up to `timeout` while kwok has not yet seen a new Exec object.
pub async fn exec_output(
    pods: &Api<Pod>,
    pod: &str,
    command: &[&str],
    timeout: Duration,
) -> (
    Vec<u8>,
    Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
) {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let ap = kube::api::AttachParams::default().stdout(true).stderr(true);
        let attempt = async {
            let mut proc = pods
                .exec(pod, command.iter().copied(), &ap)
                .await
                .map_err(|e| e.to_string())?;
            let mut stdout = proc.stdout().expect("stdout requested");
            let mut stderr = proc.stderr().expect("stderr requested");
            let status = proc.take_status().expect("status");
            let mut out = Vec::new();
            let mut err = Vec::new();
            let (r1, r2) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
            r1.map_err(|e| format!("reading stdout: {e}"))?;
            r2.map_err(|e| format!("reading stderr: {e}"))?;
            let status = status.await;
            proc.join().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((out, err, status))
        };
        let result = tokio::time::timeout(timeout, attempt).await;
        let retry_reason = match result {
            Ok(Ok((out, err, status))) => {
                let msg = status
                    .as_ref()
                    .and_then(|s| s.message.clone())
                    .unwrap_or_default();
                // kwok reports a missing Exec rule as a failure status before running anything.
                if msg.contains("no exec found") || msg.contains("exec target not found") {
                    format!("{msg} (stderr: {})", String::from_utf8_lossy(&err))
                } else {
                    return (out, status);
                }
            }
            Ok(Err(e)) => e,
            Err(_) => format!("exec did not finish within {timeout:?}"),
        };
        if tokio::time::Instant::now() >= deadline {
            panic!("exec {command:?} in pod {pod}: {retry_reason}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
