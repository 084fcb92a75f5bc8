//! `scs-conformance run` end to end on testenv (a real API server, controllers and kwok nodes).
//! The Sonobuoy aggregator pod is a kwok fake, so `testenv/aggregator-standin` plays its part
//! (status annotation, `/sonobuoy splat`); everything else is real. After every run, no object
//! of the run may be left in the cluster.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/standin.rs"]
mod standin;
#[allow(clippy::collapsible_if)]
#[path = "support/testenv.rs"]
mod testenv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use standin::{Standin, reap};
/// Runs plan with the 1.33 inventory (one parallel pass for NetworkPolicy) unless a test says
/// otherwise, so that the plan does not depend on which inventories are built in.
const INVENTORY: &str = "tests/fixtures/e2e/v1.33-viola-cilium.junit_01.xml.gz";

fn root() -> PathBuf {
    testenv::repo_root()
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

fn kubectl(args: &[&str]) -> Output {
    Command::new(testenv::kubectl_binary())
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .args(args)
        .output()
        .unwrap()
}

struct RunOutcome {
    code: i32,
    verdict: Option<Value>,
    text: String,
    _out: tempfile::TempDir,
}

/// Runs `scs-conformance run` against testenv in namespace `ns`.
fn run(ns: &str, kubeconfig: &Path, extra: &[&str]) -> RunOutcome {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .current_dir(root())
        .args([
            "run",
            "--standard",
            "scs-0219-v1",
            "--namespace",
            ns,
            "--date",
            "2026-11-25",
        ])
        .args(if extra.contains(&"--timeout") {
            &[][..]
        } else {
            &["--timeout", "3m"][..]
        })
        .args(if extra.contains(&"--stall-timeout") {
            &[][..]
        } else {
            &["--stall-timeout", "1m"][..]
        })
        .args(if extra.contains(&"--no-inventory") {
            &[][..]
        } else {
            &["--inventory", INVENTORY][..]
        })
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--out")
        .arg(out.path())
        .args(extra.iter().filter(|a| **a != "--no-inventory"))
        .output()
        .unwrap();
    finish(o, out)
}

fn finish(o: Output, out: tempfile::TempDir) -> RunOutcome {
    let verdict = std::fs::read(out.path().join("verdict.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    RunOutcome {
        code: o.status.code().unwrap_or(-1),
        verdict,
        text,
        _out: out,
    }
}

/// Nothing of the run in `ns` is left: namespace, cluster role, cluster role binding.
fn assert_nothing_left(ns: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ns_left = kubectl(&["get", "namespace", ns, "--ignore-not-found", "-o", "name"]).stdout;
        let role = format!("sonobuoy-serviceaccount-{ns}");
        let cr = kubectl(&[
            "get",
            "clusterrole",
            &role,
            "--ignore-not-found",
            "-o",
            "name",
        ])
        .stdout;
        let crb = kubectl(&[
            "get",
            "clusterrolebinding",
            &role,
            "--ignore-not-found",
            "-o",
            "name",
        ])
        .stdout;
        if ns_left.is_empty() && cr.is_empty() && crb.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left in the cluster: {}{}{}",
            String::from_utf8_lossy(&ns_left),
            String::from_utf8_lossy(&cr),
            String::from_utf8_lossy(&crb)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The reason given for the (first) test case's verdict.
fn reason(r: &RunOutcome) -> String {
    testcase(r.verdict.as_ref().expect("verdict.json written"))["reason"]
        .as_str()
        .unwrap()
        .to_string()
}

fn testcase(v: &Value) -> &Value {
    &v["modules"][0]["testcases"][0]
}

fn scenario(ns: &str, scenario: &str, extra: &[&str]) -> RunOutcome {
    let child = Standin {
        scenario,
        ..Standin::new(ns)
    }
    .spawn();
    let r = run(ns, &testenv::kubeconfig(), extra);
    reap(child);
    assert_nothing_left(ns);
    r
}

#[test]
fn a_passing_run_is_pass_with_waivers_applied() {
    let r = scenario("e2e-pass", "complete", &["--cni", "cilium"]);
    assert_eq!(r.code, 0, "{}", r.text);
    let v = r.verdict.unwrap();
    assert_eq!(v["verdict"], "PASS");
    assert_eq!(v["cluster"]["kubernetes_version"], "v1.35.4");
    assert_eq!(v["cluster"]["nodes"].as_array().unwrap().len(), 6);
    let pass = &v["run"]["passes"][0];
    assert_eq!(pass["outcome"], "complete");
    // Waived tests are not launched: their names are in the skip, next to the standard's skip.
    assert!(
        pass["skip"]
            .as_str()
            .unwrap()
            .starts_with(r"\[Feature:SCTPConnectivity\]|")
    );
    assert!(
        pass["skip"]
            .as_str()
            .unwrap()
            .contains("should allow egress access to server in CIDR block")
    );
    assert_eq!(
        pass["conformance_image"],
        "registry.k8s.io/conformance:v1.35.4"
    );
    assert!(
        Path::new(pass["tarball"].as_str().unwrap()).is_file(),
        "the retrieved tarball is kept in --out"
    );
    assert!(v["run"]["seconds_complete_to_outputs"].as_f64().unwrap() < 5.0);
}

#[test]
fn a_run_with_real_failures_is_fail() {
    let r = scenario("e2e-fail", "complete", &["--cni", "calico"]);
    assert_eq!(r.code, 1, "{}", r.text);
    let v = r.verdict.unwrap();
    assert_eq!(testcase(&v)["counts"]["failed"], 3);
    // Without Cilium's waivers nothing waived is skipped at launch either.
    assert!(
        !v["run"]["passes"][0]["skip"]
            .as_str()
            .unwrap()
            .contains("CIDR block")
    );
}

#[test]
fn a_deleted_aggregator_is_abort() {
    let r = scenario("e2e-deleted", "delete", &["--cni", "cilium"]);
    assert_eq!(r.code, 3, "{}", r.text);
    let v = r.verdict.unwrap();
    assert_eq!(v["verdict"], "ABORT");
    assert!(
        testcase(&v)["reason"].as_str().unwrap().contains("deleted"),
        "{}",
        testcase(&v)["reason"]
    );
}

#[test]
fn an_aggregator_reporting_failed_is_abort() {
    let r = scenario("e2e-failed", "failed", &["--cni", "cilium"]);
    assert_eq!(r.code, 3, "{}", r.text);
    assert!(reason(&r).contains("status failed"));
}

#[test]
fn a_run_that_never_finishes_times_out_as_abort() {
    let r = scenario(
        "e2e-timeout",
        "never",
        &["--cni", "cilium", "--timeout", "4s"],
    );
    assert_eq!(r.code, 3, "{}", r.text);
    assert!(reason(&r).contains("timed out after 4s"));
}

#[test]
fn a_stalled_run_is_abort() {
    let r = scenario(
        "e2e-stall",
        "stall",
        &["--cni", "cilium", "--stall-timeout", "3s"],
    );
    assert_eq!(r.code, 3, "{}", r.text);
    assert!(reason(&r).contains("no progress for 3s"));
}

#[test]
fn a_tarball_that_does_not_match_tar_info_is_refused() {
    let r = scenario("e2e-checksum", "bad-checksum", &["--cni", "cilium"]);
    assert_eq!(r.code, 3, "{}", r.text);
    let reason = reason(&r);
    assert!(reason.contains("sha256"), "{reason}");
}

#[test]
fn an_existing_run_is_not_overwritten_without_force() {
    let ns = "e2e-existing";
    assert!(kubectl(&["create", "namespace", ns]).status.success());
    let r = run(ns, &testenv::kubeconfig(), &["--cni", "cilium"]);
    assert_eq!(r.code, 3, "{}", r.text);
    assert!(reason(&r).contains("already exists"), "{}", r.text);
    // The foreign namespace is untouched.
    assert!(kubectl(&["get", "namespace", ns]).status.success());
    // --force removes it and runs.
    let r = scenario(ns, "complete", &["--cni", "cilium", "--force"]);
    assert_eq!(r.code, 0, "{}", r.text);
}

#[test]
fn an_unreachable_cluster_is_abort_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let kc = testenv::unreachable_kubeconfig(dir.path());
    let r = run("e2e-unreachable", &kc, &["--cni", "cilium"]);
    assert_eq!(r.code, 3, "{}", r.text);
    let v = r.verdict.unwrap();
    assert_eq!(v["verdict"], "ABORT");
    assert!(
        v["run"]["aborted"]
            .as_str()
            .unwrap()
            .contains("cannot reach the Kubernetes API server"),
        "{}",
        v["run"]
    );
    assert!(v["run"]["passes"].as_array().unwrap().is_empty());
}

#[test]
fn a_kubeconfig_without_rights_is_refused_up_front() {
    let ns = "e2e-noperm-sa";
    let _ = kubectl(&["create", "namespace", ns]);
    assert!(
        kubectl(&["create", "serviceaccount", "viewer", "-n", ns])
            .status
            .success()
    );
    let _ = kubectl(&[
        "create",
        "clusterrolebinding",
        "e2e-noperm-viewer",
        "--clusterrole=view",
        &format!("--serviceaccount={ns}:viewer"),
    ]);
    let token =
        String::from_utf8(kubectl(&["create", "token", "viewer", "-n", ns]).stdout).unwrap();
    let ca = String::from_utf8(
        kubectl(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.clusters[0].cluster.certificate-authority-data}",
        ])
        .stdout,
    )
    .unwrap();
    let server = String::from_utf8(
        kubectl(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ])
        .stdout,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: viewer\n  user:\n    token: {}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: viewer\ncurrent-context: t\n",
            token.trim()
        ),
    )
    .unwrap();
    let r = run("e2e-noperm", &kc, &["--cni", "cilium"]);
    let _ = kubectl(&["delete", "clusterrolebinding", "e2e-noperm-viewer"]);
    let _ = kubectl(&["delete", "namespace", ns, "--wait=false"]);
    assert_eq!(r.code, 3, "{}", r.text);
    let reason = reason(&r);
    assert!(reason.contains("missing permissions"), "{reason}");
    assert!(reason.contains("create namespaces"), "{reason}");
    assert_nothing_left("e2e-noperm");
}

#[test]
fn ctrl_c_during_a_run_cleans_up_and_writes_abort() {
    let ns = "e2e-ctrlc";
    let child_standin = Standin {
        scenario: "stall",
        ..Standin::new(ns)
    }
    .spawn();
    let out = tempfile::tempdir().unwrap();
    let cli = Command::new(bin())
        .current_dir(root())
        .args([
            "run",
            "--standard",
            "scs-0219-v1",
            "--namespace",
            ns,
            "--cni",
            "cilium",
            "--timeout",
            "3m",
        ])
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is under way (the stand-in has annotated the aggregator).
    standin::wait_until_running(ns);
    assert!(
        Command::new("kill")
            .args(["-INT", &cli.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let o = cli.wait_with_output().unwrap();
    reap(child_standin);
    let r = finish(o, out);
    assert_eq!(r.code, 3, "{}", r.text);
    let v = r.verdict.unwrap();
    assert_eq!(v["run"]["aborted"], "interrupted");
    assert_eq!(testcase(&v)["verdict"], "ABORT");
    assert_nothing_left(ns);
}

#[test]
fn sonobuoy_status_reads_the_same_status_as_we_do_and_cleanup_removes_kept_runs() {
    let ns = "e2e-parity-status";
    let child = Standin::new(ns).spawn();
    let r = run(ns, &testenv::kubeconfig(), &["--cni", "cilium", "--keep"]);
    reap(child);
    assert_eq!(r.code, 0, "{}", r.text);
    // --keep left the run; the real sonobuoy CLI reads its status.
    let sonobuoy = testenv::kubectl_binary().with_file_name("sonobuoy");
    let o = Command::new(sonobuoy)
        .args(["status", "--json", "-n", ns, "--kubeconfig"])
        .arg(testenv::kubeconfig())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs = scs_conformance::evidence::sonobuoy::status::Status::parse(
        String::from_utf8_lossy(&o.stdout).trim(),
    )
    .unwrap();
    let annotation = kubectl(&[
        "get",
        "pod",
        "sonobuoy",
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.annotations.sonobuoy\\.hept\\.io/status}",
    ]);
    let ours = scs_conformance::evidence::sonobuoy::status::Status::parse(
        &String::from_utf8_lossy(&annotation.stdout),
    )
    .unwrap();
    assert_eq!(theirs, ours);
    let tarball = r.verdict.as_ref().unwrap()["run"]["passes"][0]["tarball"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        tarball.ends_with(&ours.tar_info.name),
        "{tarball} vs {}",
        ours.tar_info.name
    );
    // `cleanup` removes the kept run.
    let o = Command::new(bin())
        .args(["cleanup", "--namespace", ns, "--kubeconfig"])
        .arg(testenv::kubeconfig())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_nothing_left(ns);
}

#[test]
fn a_whole_scope_runs_in_one_invocation_with_sonobuoy_runs_per_e2e_testcase() {
    let ns = "e2e-scope";
    let child = Standin {
        runs: 3,
        interval: 0.2,
        ..Standin::new(ns)
    }
    .spawn();
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .current_dir(root())
        .args([
            "run",
            "--standard",
            "scs-compatible-kaas",
            "--version",
            "v1",
            "--namespace",
            ns,
            "--cni",
            "cilium",
        ])
        // No --date: a report's waivers are judged as of the day its evidence is produced.
        .args([
            "--timeout",
            "3m",
            "--subject",
            "testenv-1.35",
            "--inventory",
            INVENTORY,
        ])
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    reap(child);
    let r = finish(o, out);
    assert_nothing_left(ns);
    let v = r.verdict.as_ref().unwrap();
    let verdict_of = |id: &str| -> String {
        v["modules"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["testcases"].as_array().unwrap())
            .find(|t| t["id"] == id)
            .unwrap()["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The archive is a NetworkPolicy run: the conformance selection did not run (ABORT), the
    // NetworkPolicy one passes with Cilium's waivers; the native checks ran against testenv.
    assert_eq!(verdict_of("kaas-networking-check"), "PASS", "{}", r.text);
    assert_eq!(verdict_of("cncf-k8s-conformance"), "ABORT", "{}", r.text);
    assert_eq!(verdict_of("node-distribution-check"), "PASS", "{}", r.text);
    // The built-in release data knows newer 1.35 patches than testenv's v1.35.4 (2026-05 on).
    assert_eq!(verdict_of("version-policy-check"), "FAIL", "{}", r.text);
    let passes = v["run"]["passes"].as_array().unwrap();
    // Conformance: a parallel pass and a serial pass for its [Serial] specs; NetworkPolicy: one.
    assert_eq!(passes.len(), 3, "{}", v["run"]);
    assert_eq!(
        passes
            .iter()
            .filter(|p| p["testcase"] == "cncf-k8s-conformance")
            .count(),
        2
    );
    assert!(passes.iter().all(|p| p["outcome"] == "complete"));
    // FAIL outranks ABORT in the scope's verdict (SCS's precedence).
    assert_eq!(v["verdict"], "FAIL");
    assert_eq!(r.code, 1, "{}", r.text);
    assert!(r._out.path().join("report.yaml").is_file());
}

#[test]
fn with_inventory_none_serial_specs_get_a_serial_pass_by_label() {
    let ns = "e2e-no-inventory";
    let child = Standin {
        runs: 2,
        interval: 0.2,
        ..Standin::new(ns)
    }
    .spawn();
    let r = run(
        ns,
        &testenv::kubeconfig(),
        &["--cni", "cilium", "--no-inventory", "--inventory", "none"],
    );
    reap(child);
    assert_nothing_left(ns);
    assert_eq!(r.code, 0, "{}", r.text);
    let passes = r.verdict.as_ref().unwrap()["run"]["passes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(passes.len(), 2);
    assert!(
        passes[0]["parallel"].as_bool().unwrap()
            && passes[0]["skip"].as_str().unwrap().ends_with(r"\[Serial\]")
    );
    assert!(!passes[1]["parallel"].as_bool().unwrap());
    assert!(
        passes[1]["ginkgo_args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--label-filter=Serial")
    );
}

#[test]
fn keep_leaves_only_the_last_of_several_runs() {
    let ns = "e2e-keep-two-passes";
    let child = Standin {
        runs: 2,
        interval: 0.2,
        ..Standin::new(ns)
    }
    .spawn();
    let r = run(
        ns,
        &testenv::kubeconfig(),
        &[
            "--cni",
            "cilium",
            "--no-inventory",
            "--inventory",
            "none",
            "--keep",
        ],
    );
    reap(child);
    assert_eq!(r.code, 0, "{}", r.text);
    assert_eq!(
        r.verdict.as_ref().unwrap()["run"]["passes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The second run is still there for debugging.
    assert!(
        kubectl(&["get", "pod", "sonobuoy", "-n", ns])
            .status
            .success(),
        "{}",
        r.text
    );
    let o = Command::new(bin())
        .args(["cleanup", "--namespace", ns, "--kubeconfig"])
        .arg(testenv::kubeconfig())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_nothing_left(ns);
}
