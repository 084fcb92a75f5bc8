//! Driving `testenv/aggregator-standin` from integration tests (see docs/run.md). Include it
//! next to the testenv support module:
//!
//! ```ignore
//! #[path = "support/testenv.rs"]
//! mod testenv;
//! #[path = "support/standin.rs"]
//! mod standin;
//! ```
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::testenv;

/// The archive every stand-in hands out: a NetworkPolicy run on Cilium (three ipBlock failures).
pub const ARCHIVE: &str = "tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz";

/// How the stand-in plays the aggregator.
pub struct Standin<'a> {
    pub namespace: &'a str,
    /// complete, failed, stall, delete, bad-checksum or never.
    pub scenario: &'a str,
    /// Consecutive runs to serve (e.g. a parallel and a serial pass).
    pub runs: u32,
    /// Progress updates before completion, and seconds between updates.
    pub steps: u32,
    pub interval: f64,
}

impl<'a> Standin<'a> {
    /// A stand-in that completes one run in `namespace` quickly.
    pub fn new(namespace: &'a str) -> Self {
        Standin {
            namespace,
            scenario: "complete",
            runs: 1,
            steps: 3,
            interval: 0.3,
        }
    }

    /// Starts it in the background; it waits for the next run's aggregator pod.
    pub fn spawn(&self) -> Child {
        self.command(&testenv::repo_root().join(ARCHIVE))
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// The stand-in's command line for this scenario, serving `archive`.
    fn command(&self, archive: &std::path::Path) -> Command {
        let mut c = Command::new(testenv::repo_root().join("testenv/aggregator-standin"));
        c.arg("--kubeconfig")
            .arg(testenv::kubeconfig())
            .args(["-n", self.namespace, "--scenario", self.scenario])
            .args([
                "--runs",
                &self.runs.to_string(),
                "--steps",
                &self.steps.to_string(),
            ])
            .args(["--interval", &self.interval.to_string()])
            .arg(archive);
        c
    }
}

impl Standin<'_> {
    /// Like [`Standin::spawn`], serving `archive` (relative to the repository, or absolute), with
    /// its stdout captured: one JSON line per served run, with the plugin definitions it served
    /// (`plugins`: `plugin-0.yaml` with E2E_FOCUS, E2E_SKIP, ...). See [`served`].
    pub fn spawn_serving(&self, archive: &std::path::Path) -> Child {
        self.command(&testenv::repo_root().join(archive))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// Waits for a stand-in of [`Standin::spawn_serving`] to finish (killed after 20 s) and returns
/// what it served: one JSON document per run.
pub fn served(child: Child) -> Vec<serde_json::Value> {
    use std::io::Read;
    let mut child = child;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    reap(child);
    reader
        .join()
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits (up to 20 s) for a stand-in to finish, then kills it.
pub fn reap(mut child: Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until the run in `namespace` is under way: its aggregator's status annotation says
/// `running`. Panics after 60 s.
pub fn wait_until_running(namespace: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = Command::new(testenv::kubectl_binary())
            .arg("--kubeconfig")
            .arg(testenv::kubeconfig())
            .args(["get", "pod", "sonobuoy", "-n", namespace, "-o"])
            .arg("jsonpath={.metadata.annotations.sonobuoy\\.hept\\.io/status}")
            .output()
            .unwrap();
        if String::from_utf8_lossy(&o.stdout).contains("\"running\"") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the run in {namespace} did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
