//! Test support for the real node of testenv (`testenv/up --node real`): one real kubelet,
//! containerd, CNI bridge, kube-proxy, CoreDNS and, with `Netpol::Enforce`, kube-router's
//! NetworkPolicy controller, running the real Sonobuoy and conformance images
//! (docs/testenv.md, "The real node").
//!
//! Tests that use it take [`acquire`], which serialises them within the test binary (they share
//! one node, and switching NetworkPolicy enforcement affects every run on it) and brings the node
//! up with the wanted enforcement. When a real-node test fails, [`diagnose`] says which component
//! failed (kubelet, runtime, CNI, engine, Sonobuoy, e2e) and shows the log tails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// NetworkPolicy enforcement on the node (`testenv/up --netpol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Netpol {
    /// kube-router's NetworkPolicy controller runs.
    Enforce,
    /// Bridge networking only: policies are accepted by the API and ignored.
    None,
}

impl Netpol {
    fn arg(self) -> &'static str {
        match self {
            Netpol::Enforce => "enforce",
            Netpol::None => "none",
        }
    }
}

/// The node, held by one test at a time. While held, every event of the cluster is recorded
/// (`kubectl get events --watch`), so a diagnosis still sees the events of e2e namespaces that
/// the e2e framework deleted before the test failed.
pub struct Node {
    pub kubeconfig: PathBuf,
    events: Option<EventRecorder>,
    _guard: MutexGuard<'static, ()>,
}

impl Node {
    /// The events recorded since this test acquired the node.
    pub fn recorded_events(&self) -> String {
        match &self.events {
            Some(r) => std::fs::read_to_string(r.file.path()).unwrap_or_default(),
            None => "(events were not recorded)".to_string(),
        }
    }
}

struct EventRecorder {
    child: std::process::Child,
    file: tempfile::NamedTempFile,
}

impl EventRecorder {
    fn start(kubeconfig: &Path) -> Option<EventRecorder> {
        let file = tempfile::NamedTempFile::new().ok()?;
        let child = Command::new(kubectl_binary())
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args([
                "get",
                "events",
                "-A",
                "--watch-only",
                "-o",
                "custom-columns=LAST:.lastTimestamp,NS:.metadata.namespace,OBJECT:.involvedObject.name,TYPE:.type,REASON:.reason,MESSAGE:.message",
            ])
            .stdout(file.reopen().ok()?)
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(EventRecorder { child, file })
    }
}

impl Drop for EventRecorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Waits for the node, brings it up (or switches its enforcement) and returns it.
pub fn acquire(netpol: Netpol) -> Node {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let up = repo_root().join("testenv").join("up");
    let out = Command::new(&up)
        .args(["--node", "real", "--netpol", netpol.arg()])
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", up.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "testenv/up --node real --netpol {} failed ({}):\n{}{stdout}",
        netpol.arg(),
        out.status,
        String::from_utf8_lossy(&out.stderr),
    );
    let kubeconfig = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    assert!(kubeconfig.is_file(), "no kubeconfig at {kubeconfig:?}");
    let events = EventRecorder::start(&kubeconfig);
    Node {
        kubeconfig,
        events,
        _guard: guard,
    }
}

/// The directory of the real node's component logs.
pub fn log_dir() -> PathBuf {
    std::env::var_os("TESTENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("testenv"))
        .join("real")
        .join("logs")
}

/// `ctr --namespace k8s.io ARGS` against the node's containerd (testenv/node.sh's socket).
pub fn ctr(args: &[&str]) -> std::process::Output {
    let sock = std::env::var_os("TESTENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("testenv"))
        .join("real/run/node/containerd/containerd.sock");
    Command::new("ctr")
        .arg("--address")
        .arg(sock)
        .args(["--namespace", "k8s.io"])
        .args(args)
        .output()
        .unwrap()
}

/// The testenv's kubectl binary.
pub fn kubectl_binary() -> PathBuf {
    std::env::var_os("TESTENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("testenv"))
        .join("bin")
        .join("kubectl")
}

/// Runs kubectl against the node and returns stdout (stderr appended on failure).
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    match Command::new(kubectl_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("kubectl: {e}"),
    }
}

fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().filter(|l| !l.contains("] FLAG: ")).collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

/// Which component most likely failed, judged from the cluster's state and the run's output,
/// followed by what that judgement rests on: node conditions, pods that are not running with
/// their events, and the tails of the node components' logs.
pub fn diagnose(node: &Node, run_output: &str, namespace: &str) -> String {
    let kubeconfig = node.kubeconfig.as_path();
    // Every condition and taint: a pressure condition taints the node, and pods without a
    // toleration (the e2e framework's) then stay Pending while Sonobuoy's own pods run.
    let nodes = kubectl(
        kubeconfig,
        &[
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}: {range .status.conditions[*]}{.type}={.status} {end}| taints: {.spec.taints}{\"\\n\"}{end}",
        ],
    );
    let pods = kubectl(kubeconfig, &["get", "pods", "-A", "-o", "wide"]);
    let events = node.recorded_events();
    let warnings: Vec<&str> = events.lines().filter(|l| l.contains(" Warning ")).collect();
    let warnings = warnings.join("\n");
    let not_ready = nodes.contains("Ready=False") || nodes.contains("Ready=Unknown");
    let pressure = [
        "MemoryPressure=True",
        "DiskPressure=True",
        "PIDPressure=True",
    ]
    .iter()
    .any(|c| nodes.contains(c));
    let component = if not_ready {
        "kubelet (node not Ready)"
    } else if pressure {
        "kubelet (node under resource pressure: tainted, new pods stay Pending)"
    } else if warnings.contains("FailedScheduling") {
        "scheduler (pods could not be scheduled)"
    } else if warnings.contains("FailedCreatePodSandBox") && warnings.contains("network") {
        "CNI (pod sandbox network setup failed)"
    } else if warnings.contains("FailedCreatePodSandBox")
        || warnings.contains("ErrImageNeverPull")
        || warnings.contains("ImagePullBackOff")
        || warnings.contains("ErrImagePull")
    {
        "container runtime (sandbox or image)"
    } else if run_output.contains("aggregator") && run_output.contains("ABORT") {
        "Sonobuoy (aggregator or worker)"
    } else if run_output.contains("FAIL") {
        "e2e (specs failed; see the verdict)"
    } else {
        "engine (scs-conformance; see its output)"
    };
    let plugin_logs = kubectl(
        kubeconfig,
        &[
            "logs",
            "-n",
            namespace,
            "-l",
            "sonobuoy-component=plugin",
            "--all-containers",
            "--tail=40",
        ],
    );
    let mut report = format!(
        "most likely failing component: {component}\n--- nodes (conditions, taints)\n{nodes}\n--- pods\n{pods}\n--- warning events during the test\n{}\n--- plugin pod logs ({namespace})\n{plugin_logs}\n",
        last_lines(&warnings, 40)
    );
    for c in ["containerd", "kubelet", "kube-proxy", "kube-router"] {
        let path = log_dir().join(format!("{c}.log"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let errors: Vec<&str> = text.lines().filter(|l| is_error_line(l)).collect();
        report.push_str(&format!(
            "--- {} (last 15 error lines)\n{}\n--- {} (last 25 lines)\n{}\n",
            path.display(),
            last_lines(&errors.join("\n"), 15),
            path.display(),
            tail(&path, 25)
        ));
    }
    report
}

/// klog's error lines (`E1202 ...`) and logrus' (`level=error`).
fn is_error_line(line: &str) -> bool {
    let mut chars = line.chars();
    let klog_error = chars.next() == Some('E') && chars.next().is_some_and(|c| c.is_ascii_digit());
    klog_error || line.contains("level=error")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
