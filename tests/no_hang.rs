//! Never a hang (issue 9): an API server that accepts connections and never answers makes `run`,
//! `cleanup` and `scs-check` end with ABORT naming the server, within a bound; SIGTERM while
//! connecting writes an ABORT verdict. No cluster needed: the "API server" is a listener in the
//! test that accepts TCP connections and never reads or writes.
//!
//! The bounds below detect a hang; they are not performance claims.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A listener on 127.0.0.1 that accepts every connection and keeps it open in silence.
struct SilentServer {
    addr: String,
    // Held so the accepted sockets stay open (no reset, no EOF) until the test ends.
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&held);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                keep.lock().unwrap().push(conn);
            }
        });
        SilentServer { addr, _held: held }
    }

    /// A kubeconfig pointing at the listener (`scheme` https: the TLS handshake stalls; http: the
    /// request is sent and never answered).
    fn kubeconfig(&self, dir: &Path, scheme: &str) -> PathBuf {
        let path = dir.join(format!("kubeconfig-{scheme}"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1
kind: Config
clusters:
- name: silent
  cluster:
    server: {scheme}://{addr}
    insecure-skip-tls-verify: true
contexts:
- name: silent
  context:
    cluster: silent
    user: silent
current-context: silent
users:
- name: silent
  user:
    token: not-a-real-token
",
                addr = self.addr
            ),
        )
        .unwrap();
        path
    }
}

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scs-conformance"));
    cmd.env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for the child, killing it (and failing) if it takes longer than `bound`.
fn finish_within(mut child: Child, bound: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "hang: still running after {bound:?}\nstderr:\n{}\nstdout:\n{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(out: &Output) -> String {
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!t.contains("panicked"), "{t}");
    t
}

fn aborted(out_dir: &Path) -> String {
    let verdict: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("verdict.json")).unwrap()).unwrap();
    assert_eq!(verdict["verdict"], "ABORT", "{verdict:#}");
    verdict["run"]["aborted"]
        .as_str()
        .unwrap_or_else(|| panic!("no run.aborted: {verdict:#}"))
        .to_string()
}

const BOUND: Duration = Duration::from_secs(100);

fn run_args(kubeconfig: &Path, out: &Path) -> Vec<String> {
    [
        "run",
        "--standard",
        "scs-0219-v1",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn run_with_timeout_against_a_silent_server_aborts_naming_it() {
    let server = SilentServer::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for scheme in ["http", "https"] {
        let kubeconfig = server.kubeconfig(dir.path(), scheme);
        let child = bin()
            .args(run_args(&kubeconfig, &out))
            .args(["--timeout", "10s"])
            .spawn()
            .unwrap();
        let output = finish_within(child, BOUND);
        let all = text(&output);
        assert_eq!(output.status.code(), Some(3), "{scheme}: {all}");
        let why = aborted(&out);
        assert!(why.contains(&server.addr), "{scheme}: {why}");
        assert!(all.contains(&server.addr), "{scheme}: {all}");
    }
}

#[test]
fn run_without_timeout_against_a_silent_tls_server_aborts_naming_it() {
    let server = SilentServer::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let kubeconfig = server.kubeconfig(dir.path(), "https");
    let child = bin().args(run_args(&kubeconfig, &out)).spawn().unwrap();
    let output = finish_within(child, BOUND);
    let all = text(&output);
    assert_eq!(output.status.code(), Some(3), "{all}");
    let why = aborted(&out);
    assert!(why.contains(&server.addr), "{why}");
}

#[test]
fn sigterm_sigint_or_sighup_while_connecting_writes_an_abort_verdict() {
    let server = SilentServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), "http");
    // HUP: the terminal closed (an ssh session dropped); it exited 129 with no verdict.
    for signal in ["TERM", "INT", "HUP"] {
        let out = dir.path().join(signal);
        let child = bin().args(run_args(&kubeconfig, &out)).spawn().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = finish_within(child, BOUND);
        let all = text(&output);
        assert_eq!(output.status.code(), Some(3), "SIG{signal}: {all}");
        assert_eq!(aborted(&out), "interrupted", "SIG{signal}");
    }
}

#[test]
fn cleanup_against_a_silent_server_aborts_naming_it() {
    let server = SilentServer::start();
    let dir = tempfile::tempdir().unwrap();
    // https: the TLS handshake stalls (connect timeout); http: the request is never answered
    // (cleanup's own limit).
    for scheme in ["https", "http"] {
        let kubeconfig = server.kubeconfig(dir.path(), scheme);
        let child = bin()
            .args(["cleanup", "--kubeconfig", kubeconfig.to_str().unwrap()])
            .spawn()
            .unwrap();
        let output = finish_within(child, BOUND);
        let all = text(&output);
        assert_eq!(output.status.code(), Some(3), "{scheme}: {all}");
        assert!(all.contains(&server.addr), "{scheme}: {all}");
    }
}

#[test]
fn scs_check_against_a_silent_server_aborts_naming_it() {
    let server = SilentServer::start();
    let dir = tempfile::tempdir().unwrap();
    let https = server.kubeconfig(dir.path(), "https");
    let http = server.kubeconfig(dir.path(), "http");
    for (testcase, kubeconfig, extra) in [
        ("kaas-networking-check", &https, &[][..]),
        ("node-distribution-check", &https, &[][..]),
        ("kaas-networking-check", &http, &["--timeout", "10s"][..]),
    ] {
        let child = bin()
            .current_dir(dir.path())
            .args([
                "scs-check",
                "run",
                "-k",
                kubeconfig.to_str().unwrap(),
                "-c",
                testcase,
            ])
            .args(extra)
            .spawn()
            .unwrap();
        let output = finish_within(child, BOUND);
        let all = text(&output);
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(&format!("{testcase}: ABORT")),
            "{all}"
        );
        assert!(all.contains(&server.addr), "{testcase}: {all}");
    }
}
