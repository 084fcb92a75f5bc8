//! A run survives an API server restart during the watch (its own test binary: the restart would
//! disturb tests running beside it).

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/standin.rs"]
mod standin;
#[allow(clippy::collapsible_if)]
#[path = "support/testenv.rs"]
mod testenv;

use std::process::{Command, Stdio};

#[test]
fn the_watch_survives_an_api_server_restart() {
    let root = testenv::repo_root();
    let kc = testenv::kubeconfig();
    let ns = "e2e-apiserver-restart";
    // A slow stand-in: 12 progress steps, 1 s apart.
    let child = standin::Standin {
        steps: 12,
        interval: 1.0,
        ..standin::Standin::new(ns)
    }
    .spawn();
    let out = tempfile::tempdir().unwrap();
    let cli = Command::new(env!("CARGO_BIN_EXE_scs-conformance"))
        .current_dir(&root)
        .args([
            "run",
            "--standard",
            "scs-0219-v1",
            "--namespace",
            ns,
            "--cni",
            "cilium",
            "--date",
            "2026-11-25",
            "--timeout",
            "5m",
        ])
        // A fixed inventory (1.33's: one parallel pass), whatever testenv's version.
        .args([
            "--inventory",
            "tests/fixtures/e2e/v1.33-viola-cilium.junit_01.xml.gz",
        ])
        .arg("--kubeconfig")
        .arg(&kc)
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run is under way, restart the API server (down for 2 s).
    standin::wait_until_running(ns);
    let restart = Command::new(root.join("testenv/restart-apiserver"))
        .arg("2")
        .output()
        .unwrap();
    assert!(
        restart.status.success(),
        "{}",
        String::from_utf8_lossy(&restart.stderr)
    );
    let o = cli.wait_with_output().unwrap();
    standin::reap(child);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{text}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("verdict.json")).unwrap()).unwrap();
    assert_eq!(v["verdict"], "PASS", "{text}");
    assert_eq!(v["run"]["passes"][0]["outcome"], "complete");
}
