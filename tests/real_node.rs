//! `scs-conformance run` on testenv's real node: a real kubelet, containerd, CNI bridge,
//! kube-proxy and CoreDNS, with or without kube-router's NetworkPolicy controller, running the
//! real Sonobuoy aggregator and worker and the real conformance image (e2e.test built from the
//! same Kubernetes release). Nothing here is a stand-in: every verdict follows what the real e2e
//! specs did. The specs are a short subset of SCS-0219-v1
//! (tests/fixtures/real-node/standards/scs-0219-ci-subset.yaml); the full run is one documented
//! command (docs/testenv.md).
//!
//! Every failure message starts with [`real_node::diagnose`]: the component that most likely
//! failed and the log tails behind that judgement.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/real_node.rs"]
mod real_node;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use real_node::{Netpol, Node, ctr, diagnose, kubectl};
use serde_json::Value;

const SUBSET_STANDARDS: &str = "tests/fixtures/real-node/standards";
/// No waivers: the subset must pass or fail on its own.
const NO_WAIVERS: &str = "tests/fixtures/real-node/waivers";
const SUBSET: &str = "scs-0219-ci-subset";
const DEFAULT_DENY: &str = "[sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy [Feature:NetworkPolicy]";
const EGRESS_CIDR: &str = "[sig-network] Netpol NetworkPolicy between server and client should allow egress access to server in CIDR block [Feature:NetworkPolicy]";
const API_OPERATIONS: &str =
    "[sig-network] Netpol API should support creating NetworkPolicy API operations";
/// Two [Serial] specs and `API_OPERATIONS` (tests/fixtures/real-node/standards/real-node-serial.yaml).
const SERIAL_SUBSET: &str = "real-node-serial";
const NAMESPACE_PATCH: &str =
    "[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance]";
const NAMESPACE_STATUS: &str = "[sig-api-machinery] Namespaces [Serial] should apply changes to a namespace status [Conformance]";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

/// `scs-conformance ARGS -n NS --kubeconfig <the node's>`.
fn scs(node: &Node, ns: &str, args: &[&str]) -> Output {
    scs_global(node, &[args, &["-n", ns]].concat())
}

/// `scs-conformance ARGS --kubeconfig <the node's>`, for commands without a namespace.
fn scs_global(node: &Node, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--kubeconfig")
        .arg(&node.kubeconfig)
        .output()
        .unwrap()
}

struct RunOutcome {
    code: i32,
    verdict: Option<Value>,
    text: String,
    out: tempfile::TempDir,
}

fn command(node: &Node, ns: &str, out: &Path, extra: &[&str]) -> Command {
    command_for(SUBSET, node, ns, out, extra)
}

fn command_for(standard: &str, node: &Node, ns: &str, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(real_node::repo_root())
        .args([
            "run",
            "--standards-dir",
            SUBSET_STANDARDS,
            "--standard",
            standard,
            "--waivers-dir",
            NO_WAIVERS,
        ])
        .args([
            "--namespace",
            ns,
            "--timeout",
            "25m",
            "--stall-timeout",
            "10m",
        ])
        .arg("--kubeconfig")
        .arg(&node.kubeconfig)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn run(node: &Node, ns: &str, extra: &[&str]) -> RunOutcome {
    let out = tempfile::tempdir().unwrap();
    let o = command(node, ns, out.path(), extra).output().unwrap();
    finish(o, out)
}

fn finish(o: Output, out: tempfile::TempDir) -> RunOutcome {
    let verdict = std::fs::read(out.path().join("verdict.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    RunOutcome {
        code: o.status.code().unwrap_or(-1),
        verdict,
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        out,
    }
}

fn testcase(v: &Value) -> &Value {
    &v["modules"][0]["testcases"][0]
}

/// Names of the selected specs with the given outcome.
fn specs_with(v: &Value, outcome: &str) -> BTreeSet<String> {
    testcase(v)["tests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["outcome"] == outcome)
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Explains a failed expectation: the run's own output, then the node's diagnosis.
fn explain(node: &Node, ns: &str, r: &RunOutcome) -> String {
    format!(
        "exit {}\n{}\n=== diagnosis\n{}",
        r.code,
        r.text,
        diagnose(node, &r.text, ns)
    )
}

/// Removes a kept run however its test ends, so that a failed assertion on it cannot make
/// every later test see a namespace left behind.
struct CleanupOnDrop<'a> {
    node: &'a Node,
    ns: &'a str,
}

impl Drop for CleanupOnDrop<'_> {
    fn drop(&mut self) {
        // Not `ours`: a drop during a failed test's unwinding must not panic.
        let _ = Command::new(bin())
            .args(["cleanup", "-n", self.ns, "--kubeconfig"])
            .arg(&self.node.kubeconfig)
            .output();
    }
}

/// Namespaces that are not the cluster's own: what a run (or the e2e specs it ran) left behind.
fn foreign_namespaces(node: &Node) -> Vec<String> {
    kubectl(&node.kubeconfig, &["get", "namespaces", "-o", "name"])
        .lines()
        .map(|l| l.trim_start_matches("namespace/").to_string())
        .filter(|n| {
            !["default", "kube-system", "kube-public", "kube-node-lease"].contains(&n.as_str())
        })
        .collect()
}

/// Nothing of a run is left: no Sonobuoy namespace or cluster role, no e2e namespace
/// (Sonobuoy itself leaks those: vmware-tanzu/sonobuoy#1593).
fn assert_nothing_left(node: &Node, ns: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let left = foreign_namespaces(node);
        let roles = kubectl(
            &node.kubeconfig,
            &["get", "clusterrole,clusterrolebinding", "-o", "name"],
        );
        let ours = format!("sonobuoy-serviceaccount-{ns}");
        if left.is_empty() && !roles.contains(&ours) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left in the cluster after 180s: namespaces {left:?}, roles: {}",
            roles
                .lines()
                .filter(|l| l.contains(&ours))
                .collect::<Vec<_>>()
                .join(" ")
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Waits until the e2e plugin pod of the run in `ns` is running (the specs are under way).
fn wait_for_plugin_running(node: &Node, ns: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let phases = kubectl(
            &node.kubeconfig,
            &[
                "get",
                "pods",
                "-n",
                ns,
                "-l",
                "sonobuoy-component=plugin",
                "-o",
                "jsonpath={.items[*].status.phase}",
            ],
        );
        if phases.contains("Running") {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("run ended ({status}) before its plugin pod ran");
        }
        assert!(
            Instant::now() < deadline,
            "the plugin pod did not run within 300s\n{}",
            diagnose(node, "", ns)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Starts a run, lets `interrupt` act on it once its specs are under way, and waits for the end.
fn run_interrupted(node: &Node, ns: &str, interrupt: impl FnOnce(&Child)) -> RunOutcome {
    let out = tempfile::tempdir().unwrap();
    let mut child = command(node, ns, out.path(), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_plugin_running(node, ns, &mut child);
    interrupt(&child);
    finish(child.wait_with_output().unwrap(), out)
}

#[test]
fn with_enforcement_every_selected_spec_runs_and_passes() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-enforce";
    let r = run(&node, ns, &[]);
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 0, "{why}");
    let v = r.verdict.as_ref().expect("verdict.json");
    assert_eq!(v["verdict"], "PASS", "{why}");
    assert_eq!(
        specs_with(v, "passed"),
        set(&[DEFAULT_DENY, EGRESS_CIDR, API_OPERATIONS]),
        "{why}"
    );
    assert_eq!(v["cluster"]["kubernetes_version"], "v1.35.4");
    let pass = &v["run"]["passes"][0];
    assert_eq!(pass["outcome"], "complete", "{why}");
    assert!(
        Path::new(pass["tarball"].as_str().unwrap_or_default()).is_file(),
        "the real aggregator's tarball is kept in --out: {why}"
    );
    assert_nothing_left(&node, ns);
}

#[test]
fn without_an_inventory_serial_specs_run_in_a_serial_pass_selected_by_label() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-serial";
    let out = tempfile::tempdir().unwrap();
    let o = command_for(
        SERIAL_SUBSET,
        &node,
        ns,
        out.path(),
        &["--inventory", "none"],
    )
    .output()
    .unwrap();
    let r = finish(o, out);
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 0, "{why}");
    let v = r.verdict.as_ref().expect("verdict.json");
    assert_eq!(v["verdict"], "PASS", "{why}");
    assert_eq!(
        specs_with(v, "passed"),
        set(&[API_OPERATIONS, NAMESPACE_PATCH, NAMESPACE_STATUS]),
        "{why}"
    );
    let passes = v["run"]["passes"].as_array().expect("run.passes");
    assert_eq!(passes.len(), 2, "a parallel and a serial pass: {why}");
    assert_eq!(passes[0]["parallel"], true, "{why}");
    assert_eq!(passes[1]["parallel"], false, "{why}");
    assert_eq!(
        passes[1]["ginkgo_args"],
        serde_json::json!(["--label-filter=Serial"]),
        "{why}"
    );
    for pass in passes {
        assert_eq!(pass["outcome"], "complete", "{why}");
    }
    assert_nothing_left(&node, ns);
}

#[test]
fn without_enforcement_the_specs_that_need_it_fail_and_a_rerun_with_it_passes() {
    let node = real_node::acquire(Netpol::None);
    let ns = "real-none";
    let r = run(&node, ns, &[]);
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 1, "{why}");
    let v = r.verdict.as_ref().expect("verdict.json");
    assert_eq!(v["verdict"], "FAIL", "{why}");
    assert_eq!(
        specs_with(v, "failed"),
        set(&[DEFAULT_DENY, EGRESS_CIDR]),
        "exactly the specs that need enforcement fail: {why}"
    );
    assert_eq!(specs_with(v, "passed"), set(&[API_OPERATIONS]), "{why}");
    assert_nothing_left(&node, ns);
    drop(node);

    // The provider switches enforcement on and reruns only what failed: the two specs run
    // again, the API spec's pass is kept from the first run, and the merged verdict says so.
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-rerun";
    let from = r.out.path().join("verdict.json");
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .current_dir(real_node::repo_root())
        .args(["rerun-failed", "--from"])
        .arg(&from)
        .args([
            "--standards-dir",
            SUBSET_STANDARDS,
            "--waivers-dir",
            NO_WAIVERS,
        ])
        .args(["--namespace", ns, "--timeout", "25m", "--kubeconfig"])
        .arg(&node.kubeconfig)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let rerun = finish(o, out);
    let why = explain(&node, ns, &rerun);
    assert_eq!(rerun.code, 0, "{why}");
    let merged = rerun.verdict.as_ref().expect("merged verdict.json");
    assert_eq!(merged["verdict"], "PASS", "{why}");
    assert_eq!(
        specs_with(merged, "passed"),
        set(&[DEFAULT_DENY, EGRESS_CIDR, API_OPERATIONS]),
        "{why}"
    );
    let run_of = |name: &str| {
        testcase(merged)["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["run"].clone())
    };
    assert_eq!(run_of(API_OPERATIONS), Some(1.into()), "{why}");
    assert_eq!(run_of(DEFAULT_DENY), Some(2.into()), "{why}");
    assert_eq!(run_of(EGRESS_CIDR), Some(2.into()), "{why}");
    assert_eq!(merged["runs"].as_array().map(Vec::len), Some(2), "{why}");
    assert!(rerun.text.contains("Merged from 2 runs"), "{why}");
    assert_nothing_left(&node, ns);
}

#[test]
fn deleting_the_real_aggregator_mid_run_is_abort_and_leaves_nothing() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-deleted";
    let r = run_interrupted(&node, ns, |_| {
        kubectl(
            &node.kubeconfig,
            &["delete", "pod", "sonobuoy", "-n", ns, "--wait=false"],
        );
    });
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 3, "{why}");
    let v = r.verdict.as_ref().expect("verdict.json");
    assert_eq!(testcase(v)["verdict"], "ABORT", "{why}");
    assert!(
        testcase(v)["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("deleted"),
        "{why}"
    );
    assert_nothing_left(&node, ns);
}

#[test]
fn ctrl_c_mid_run_is_abort_and_leaves_nothing() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-ctrlc";
    let r = run_interrupted(&node, ns, |child| {
        // Mid-run, from another shell: the status says running, and the logs of the real
        // plugin pod's containers (the e2e binary and the Sonobuoy worker) can be read.
        let status = String::from_utf8_lossy(&scs(&node, ns, &["status"]).stdout).into_owned();
        assert!(status.contains(": running\n"), "{status}");
        let logs = scs(&node, ns, &["logs", "--tail", "20"]);
        let logs = String::from_utf8_lossy(&logs.stdout).into_owned();
        for container in ["kube-sonobuoy", "e2e", "sonobuoy-worker"] {
            assert!(
                logs.contains(&format!(" container {container} <==")),
                "{container}: {logs}"
            );
        }
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    });
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 3, "{why}");
    let v = r.verdict.as_ref().expect("verdict.json");
    assert_eq!(v["run"]["aborted"], "interrupted", "{why}");
    assert_nothing_left(&node, ns);
}

#[test]
fn a_kept_run_under_baseline_pod_security_is_read_by_status_logs_and_retrieve() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-keep";
    let _cleanup = CleanupOnDrop { node: &node, ns };
    // Baseline Pod Security (enforced by the real API server's admission) admits the aggregator,
    // the worker and the e2e container.
    let r = run(&node, ns, &["--keep", "--pod-security", "baseline"]);
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 0, "{why}");
    let label = kubectl(
        &node.kubeconfig,
        &["get", "namespace", ns, "-o", "jsonpath={.metadata.labels}"],
    );
    assert!(
        label.contains(r#""pod-security.kubernetes.io/enforce":"baseline""#),
        "{label}"
    );
    // Our own view of the kept run: status, the real containers' logs, the tarball.
    let o = scs(&node, ns, &["status"]);
    let status_text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{status_text}");
    assert!(
        status_text.starts_with(&format!("Sonobuoy run in namespace {ns}: complete")),
        "{status_text}"
    );
    assert!(status_text.contains("result passed"), "{status_text}");
    // The aggregator removed the plugin pod when the run completed: its log is what is left
    // (ctrl_c_mid_run_is_abort_and_leaves_nothing reads the plugin containers mid-run).
    let o = scs(&node, ns, &["logs", "--tail", "200"]);
    let logs = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{logs}");
    assert!(
        logs.starts_with(&format!(
            "==> namespace {ns} pod sonobuoy container kube-sonobuoy <=="
        )),
        "{logs}"
    );
    assert!(logs.contains("Results available at"), "{logs}");
    let fetched_dir = r.out.path().join("ours-retrieve");
    let o = scs(
        &node,
        ns,
        &["retrieve", "--out", fetched_dir.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fetched = std::fs::read_dir(&fetched_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let sonobuoy = real_node::kubectl_binary().with_file_name("sonobuoy");
    let status = Command::new(&sonobuoy)
        .args(["status", "--json", "-n", ns, "--kubeconfig"])
        .arg(&node.kubeconfig)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status: Value = serde_json::from_slice(&status.stdout).expect("sonobuoy status --json");
    assert_eq!(status["status"], "complete");
    assert_eq!(status["plugins"][0]["plugin"], "e2e");
    assert_eq!(status["plugins"][0]["result-status"], "passed");
    let ours = &r.verdict.as_ref().unwrap()["run"]["passes"][0]["tarball"];
    assert!(
        ours.as_str()
            .unwrap_or_default()
            .ends_with(status["tar-info"]["name"].as_str().unwrap()),
        "{ours} vs {}",
        status["tar-info"]["name"]
    );
    let dir = r.out.path().join("sonobuoy-retrieve");
    std::fs::create_dir_all(&dir).unwrap();
    let retrieve = Command::new(&sonobuoy)
        .args(["retrieve", "-n", ns, "--kubeconfig"])
        .arg(&node.kubeconfig)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        retrieve.status.success(),
        "{}",
        String::from_utf8_lossy(&retrieve.stderr)
    );
    let theirs = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::read(&theirs).unwrap(),
        std::fs::read(ours.as_str().unwrap()).unwrap(),
        "sonobuoy retrieve returns the very tarball run retrieved"
    );
    assert_eq!(
        std::fs::read(&theirs).unwrap(),
        std::fs::read(&fetched).unwrap(),
        "our retrieve returns the very tarball sonobuoy retrieve gets"
    );
    let o = scs(&node, ns, &["cleanup"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_nothing_left(&node, ns);
}

#[test]
fn quick_runs_one_spec_through_the_real_sonobuoy() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-quick";
    let out = tempfile::tempdir().unwrap();
    let o = scs(
        &node,
        ns,
        &[
            "quick",
            "--timeout",
            "10m",
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    let r = finish(o, out);
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 0, "{why}");
    let v = r.verdict.as_ref().expect("verdict.json");
    assert_eq!(testcase(v)["id"], "sonobuoy-quick", "{why}");
    assert_eq!(
        specs_with(v, "passed"),
        set(&["[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]"]),
        "{why}"
    );
    assert!(r.text.contains("not an SCS standard"), "{why}");
    assert_nothing_left(&node, ns);
}

#[test]
fn the_clusters_own_conformance_image_lists_its_specs_for_the_plan() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-listing";
    let r = run(&node, ns, &["--inventory", "cluster"]);
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 0, "{why}");
    assert!(
        r.text.contains(
            "specs listed by `e2e.test --list-tests` of registry.k8s.io/conformance:v1.35.4"
        ),
        "{why}"
    );
    assert_eq!(
        specs_with(r.verdict.as_ref().expect("verdict.json"), "passed"),
        set(&[DEFAULT_DENY, EGRESS_CIDR, API_OPERATIONS]),
        "{why}"
    );
    assert_nothing_left(&node, ns);
}

/// Images renamed to their mirror names for one test, and named back however the test ends
/// (every later test expects the upstream names).
struct MirrorNames(Vec<(String, String)>);

impl MirrorNames {
    /// Renames every image of `mapping` (upstream -> mirror) that the node has.
    fn rename(mapping: Vec<(String, String)>) -> MirrorNames {
        let present = String::from_utf8_lossy(&ctr(&["images", "ls", "-q"]).stdout).into_owned();
        let mut renamed = MirrorNames(Vec::new());
        for (upstream, mirror) in mapping {
            if !present.lines().any(|l| l == upstream) {
                continue;
            }
            let o = ctr(&["images", "tag", "--force", &upstream, &mirror]);
            assert!(
                o.status.success(),
                "ctr images tag {upstream} {mirror}: {o:?}"
            );
            renamed.0.push((upstream.clone(), mirror));
            let o = ctr(&["images", "rm", &upstream]);
            assert!(o.status.success(), "ctr images rm {upstream}: {o:?}");
        }
        renamed
    }
}

impl Drop for MirrorNames {
    fn drop(&mut self) {
        for (upstream, mirror) in &self.0 {
            let _ = ctr(&["images", "tag", "--force", mirror, upstream]);
            let _ = ctr(&["images", "rm", mirror]);
        }
    }
}

#[test]
fn an_air_gapped_node_runs_everything_from_a_mirror() {
    let node = real_node::acquire(Netpol::Enforce);
    let ns = "real-mirror";
    let work = tempfile::tempdir().unwrap();
    let repo_list = work.path().join("repo-list.yaml");
    // Our own `images` for this cluster: the mapping and the KUBE_TEST_REPO_LIST file.
    let o = scs_global(
        &node,
        &[
            "images",
            "--mirror",
            "mirror.local",
            "--json",
            "--repo-list",
            repo_list.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed: Value = serde_json::from_slice(&o.stdout).expect("images --json");
    let mapping: Vec<(String, String)> = listed["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["image"].as_str().unwrap().to_string(),
                i["mirror"].as_str().unwrap().to_string(),
            )
        })
        // The sandbox image is the node's own configuration (containerd's sandbox_image), as on
        // a provider's node image; the e2e specs that would name it are not in this selection.
        .filter(|(upstream, _)| !upstream.starts_with("registry.k8s.io/pause:"))
        .collect();
    let renamed = MirrorNames::rename(mapping);
    let names: Vec<&str> = renamed.0.iter().map(|(u, _)| u.as_str()).collect();
    for needed in [
        "docker.io/sonobuoy/sonobuoy:",
        "registry.k8s.io/conformance:",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(needed)),
            "{needed}* not among the renamed images {names:?}"
        );
    }
    let present = String::from_utf8_lossy(&ctr(&["images", "ls", "-q"]).stdout).into_owned();
    for (upstream, _) in &renamed.0 {
        assert!(
            !present.lines().any(|l| l == upstream),
            "{upstream} still on the node"
        );
    }

    let r = run(
        &node,
        ns,
        &[
            "--image-registry",
            "mirror.local",
            "--e2e-repo-config",
            repo_list.to_str().unwrap(),
        ],
    );
    let why = explain(&node, ns, &r);
    assert_eq!(r.code, 0, "{why}");
    assert_eq!(
        specs_with(r.verdict.as_ref().expect("verdict.json"), "passed"),
        set(&[DEFAULT_DENY, EGRESS_CIDR, API_OPERATIONS]),
        "{why}"
    );
    // Every container of the run (aggregator, worker, e2e, and the specs' own pods) started
    // from a mirror name; with the upstream names gone, any other would have failed to pull.
    let events = node.recorded_events();
    let started: BTreeSet<&str> = events
        .lines()
        .filter_map(|l| l.split("Container image \"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    for prefix in [
        "mirror.local/sonobuoy/sonobuoy:",
        "mirror.local/conformance:",
        "mirror.local/e2e-test-images/agnhost:",
    ] {
        assert!(
            started.iter().any(|i| i.starts_with(prefix)),
            "no container from {prefix}*: {started:?}\n{why}"
        );
    }
    let upstream: Vec<&&str> = started
        .iter()
        .filter(|i| !i.starts_with("mirror.local/") && !i.contains("/coredns/"))
        .collect();
    assert!(
        upstream.is_empty(),
        "containers from upstream names: {upstream:?}"
    );
    drop(renamed);
    assert_nothing_left(&node, ns);
}
