//! `status`, `retrieve` and `logs` on testenv: a run looked at from another shell, a kept run
//! fetched later (the same tarball, checked the same way as `run` checks it), and the logs of its
//! pods. The aggregator is `testenv/aggregator-standin` (see tests/run_e2e.rs); the real sonobuoy
//! CLI is the reference for `status --json` and `retrieve`.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/standin.rs"]
mod standin;
#[allow(clippy::collapsible_if)]
#[path = "support/testenv.rs"]
mod testenv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use scs_conformance::evidence::sonobuoy::status::Status;
use sha2::{Digest, Sha256};
use standin::{Standin, reap};

const INVENTORY: &str = "tests/fixtures/e2e/v1.33-viola-cilium.junit_01.xml.gz";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

fn ours(args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(testenv::repo_root())
        .args(args)
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .output()
        .unwrap()
}

fn sonobuoy(args: &[&str], dir: &Path) -> Output {
    Command::new(testenv::kubectl_binary().with_file_name("sonobuoy"))
        .current_dir(dir)
        .args(args)
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// `run --keep` in `ns` against the stand-in; returns run's output folder.
fn kept_run(ns: &str) -> tempfile::TempDir {
    // A run kept by an earlier, failed attempt would be taken by the stand-in: remove it first.
    let o = ours(&["cleanup", "-n", ns]);
    assert!(o.status.success(), "{}", text(&o));
    let gone = Command::new(testenv::kubectl_binary())
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .args([
            "wait",
            "--for=delete",
            &format!("namespace/{ns}"),
            "--timeout=120s",
        ])
        .output()
        .unwrap();
    assert!(
        gone.status.success() || String::from_utf8_lossy(&gone.stderr).contains("NotFound"),
        "{}",
        text(&gone)
    );
    let out = tempfile::tempdir().unwrap();
    let standin = Standin::new(ns).spawn();
    let o = Command::new(bin())
        .current_dir(testenv::repo_root())
        .args(["run", "--standard", "scs-0219-v1", "--cni", "cilium"])
        .args(["--namespace", ns, "--date", "2026-11-25", "--keep"])
        .args(["--timeout", "3m", "--inventory", INVENTORY])
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    reap(standin);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out
}

#[test]
fn a_kept_run_can_be_looked_at_retrieved_and_its_logs_read_later() {
    let ns = "e2e-manage-kept";
    let run_out = kept_run(ns);
    let verdict: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_out.path().join("verdict.json")).unwrap())
            .unwrap();
    let kept_tarball = PathBuf::from(verdict["run"]["passes"][0]["tarball"].as_str().unwrap());

    // status: the state, the plugin's counts and the tarball, for a person...
    let o = ours(&["status", "-n", ns]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let human = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        human.starts_with(&format!("Sonobuoy run in namespace {ns}: complete\n")),
        "{human}"
    );
    assert!(human.contains("  plugin e2e"), "{human}");
    let tar_name = kept_tarball.file_name().unwrap().to_string_lossy();
    assert!(
        human.contains(&format!("  results: {tar_name} (")),
        "{human}"
    );
    // ...and for a script, the same JSON as `sonobuoy status --json`.
    let o = ours(&["status", "-n", ns, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let mine = Status::parse(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let theirs = sonobuoy(&["status", "--json", "-n", ns], dir.path());
    assert!(theirs.status.success(), "{}", text(&theirs));
    assert_eq!(
        mine,
        Status::parse(String::from_utf8_lossy(&theirs.stdout).trim()).unwrap()
    );

    // retrieve: the very tarball that run kept, byte for byte, as sonobuoy retrieve gets it.
    let into = tempfile::tempdir().unwrap();
    let o = ours(&["retrieve", "-n", ns, "--out", into.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let fetched = into.path().join(tar_name.as_ref());
    assert!(text(&o).contains("e2e results: "), "{}", text(&o));
    assert_eq!(sha256(&fetched), sha256(&kept_tarball));
    assert_eq!(sha256(&fetched), mine.tar_info.sha256);
    let theirs = sonobuoy(&["retrieve", "-n", ns], dir.path());
    assert!(theirs.status.success(), "{}", text(&theirs));
    let their_file = dir
        .path()
        .join(String::from_utf8_lossy(&theirs.stdout).trim());
    assert_eq!(sha256(&fetched), sha256(&their_file));
    // It evaluates as the run's own copy did.
    let eval = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .current_dir(testenv::repo_root())
        .args(["verdict", "--standard", "scs-0219-v1", "--cni", "cilium"])
        .args(["--date", "2026-11-25", "--results"])
        .arg(&fetched)
        .arg("--out")
        .arg(eval.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // logs: a header for the aggregator's container. The stand-in starts no plugin pod and
    // kwok keeps no logs, so the log itself is a clear "no log" line here; tests/real_node.rs
    // reads the real containers' logs, plugin pods included.
    let o = ours(&["logs", "-n", ns, "--tail", "5"]);
    assert!(o.status.success(), "{}", text(&o));
    let logs = String::from_utf8_lossy(&o.stdout).into_owned();
    let headers: Vec<&str> = logs.lines().filter(|l| l.starts_with("==> ")).collect();
    assert_eq!(
        headers,
        [format!("==> namespace {ns} pod sonobuoy container kube-sonobuoy <==").as_str()],
        "{logs}"
    );
    assert!(
        logs.contains("(no log: no logs found for container \"kube-sonobuoy\""),
        "{logs}"
    );

    let o = ours(&["cleanup", "-n", ns]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_namespace_without_a_run_is_an_error_that_names_it() {
    for command in ["status", "retrieve", "logs"] {
        let o = ours(&[command, "-n", "e2e-manage-nothing-here"]);
        assert_eq!(o.status.code(), Some(2), "{command}: {}", text(&o));
        assert!(
            text(&o).contains("no Sonobuoy run in namespace e2e-manage-nothing-here"),
            "{command}: {}",
            text(&o)
        );
    }
}

#[test]
fn a_run_under_way_has_a_status_but_nothing_to_retrieve_yet() {
    let ns = "e2e-manage-running";
    let standin = Standin {
        steps: 200,
        interval: 0.5,
        ..Standin::new(ns)
    }
    .spawn();
    let out = tempfile::tempdir().unwrap();
    let mut run = Command::new(bin())
        .current_dir(testenv::repo_root())
        .args(["run", "--standard", "scs-0219-v1", "--cni", "cilium"])
        .args([
            "--namespace",
            ns,
            "--timeout",
            "3m",
            "--inventory",
            INVENTORY,
        ])
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    standin::wait_until_running(ns);
    let o = ours(&["status", "-n", ns]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains(": running\n"), "{}", text(&o));
    let into = tempfile::tempdir().unwrap();
    let o = ours(&["retrieve", "-n", ns, "--out", into.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("has no results yet (status running)"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_dir(into.path()).unwrap().count(), 0);
    // Ctrl-C ends the run and its cleanup.
    assert!(
        Command::new("kill")
            .args(["-INT", &run.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    run.wait().unwrap();
    reap(standin);
}

#[test]
fn an_unreachable_api_server_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let kc = testenv::unreachable_kubeconfig(dir.path());
    let o = Command::new(bin())
        .args(["status", "--kubeconfig"])
        .arg(&kc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let message = text(&o);
    assert!(message.contains("https://127.0.0.1:1"), "{message}");
    assert!(message.contains("Connect"), "{message}");
}

#[test]
fn a_kubeconfig_list_with_a_missing_file_is_used_as_kubectl_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-there.yaml");
    let list = std::env::join_paths([missing.clone(), testenv::kubeconfig()]).unwrap();
    let o = Command::new(bin())
        .args(["status", "-n", "e2e-manage-kubeconfig-list"])
        .env("KUBECONFIG", &list)
        .output()
        .unwrap();
    // It reached the cluster: the answer is about the namespace, not the kubeconfig.
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no Sonobuoy run in namespace e2e-manage-kubeconfig-list"),
        "{}",
        text(&o)
    );
    // Only missing files: an error naming them.
    let o = Command::new(bin())
        .arg("status")
        .env("KUBECONFIG", &missing)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "KUBECONFIG names no existing file ({})",
            missing.display()
        )),
        "{}",
        text(&o)
    );
}
