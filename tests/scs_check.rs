//! `scs-conformance scs-check`, the drop-in for SCS's check scripts (docs/scs-check.md): called
//! with exactly the arguments `Tests/scs-compatible-kaas.yaml` passes to `run_sonobuoy.py` and
//! `k8s_version_policy.py`, stdout is only the protocol line, every stderr line carries one of
//! SCS's prefixes, and the exit codes are the scripts' (0 PASS, 3 FAIL, 112 ABORT; 0/1 for the
//! version policy). The e2e cases run on testenv with `testenv/aggregator-standin` playing the
//! Sonobuoy aggregator; the offline cases need no cluster.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/standin.rs"]
mod standin;
#[path = "support/testenv.rs"]
mod testenv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jiff::civil::date;
use scs_conformance::definitions::catalog::Catalog;
use scs_conformance::definitions::{builtin, waiver};
use scs_conformance::evidence::cni::Cni;
use scs_conformance::evidence::results::{self, Limits};
use scs_conformance::exit_codes;
use scs_conformance::scs;
use scs_conformance::verdict::certify::{self, GivenFacts};

const OK_TO_FAIL: &str = "tests/fixtures/scs/scs-sonobuoy-config-v1.yaml";
const PREFIXES: &[&str] = &["info: ", "warning: ", "error: ", "critical: "];

fn root() -> PathBuf {
    testenv::repo_root()
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn from(o: Output) -> Self {
        Outcome {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// stdout is exactly these protocol lines, and stderr follows the protocol.
    fn assert_protocol(&self, lines: &[&str]) {
        let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(self.stdout, expected, "stderr:\n{}", self.stderr);
        for line in self.stderr.lines() {
            assert!(
                PREFIXES.iter().any(|p| line.starts_with(p)),
                "stderr line without a protocol prefix: {line:?}\nstderr:\n{}",
                self.stderr
            );
            assert!(!line.contains('\x1b'), "ANSI escape in {line:?}");
        }
    }
}

/// The arguments the scope file passes to `run_sonobuoy.py` for `kaas-networking-check` (after
/// `shlex.split`), with `kubeconfig` and `subject_root` filled in.
fn scope_args(kubeconfig: &Path, result_dir: &Path, mode: &str, ok_to_fail: bool) -> Vec<String> {
    let mut a: Vec<String> = vec!["scs-check".into(), "run".into(), "-k".into()];
    a.push(kubeconfig.display().to_string());
    if ok_to_fail {
        a.push("--scs-sonobuoy-config".into());
        a.push(root().join(OK_TO_FAIL).display().to_string());
    }
    a.extend(["--execution-mode".into(), mode.into(), "-r".into()]);
    a.push(result_dir.display().to_string());
    a.extend([
        "-c".into(),
        "kaas-networking-check".into(),
        "-a".into(),
        "--e2e-focus \"NetworkPolicy\"".into(),
        "-a".into(),
        "--plugin-env e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2".into(),
    ]);
    a
}

fn scs_check(args: &[String], extra: &[&str]) -> Outcome {
    Outcome::from(
        Command::new(bin())
            .current_dir(root())
            .args(args)
            .args(extra)
            .env_remove("SCS_CONFORMANCE_LOG")
            .output()
            .unwrap(),
    )
}

/// A namespace name for one test's Sonobuoy run (created and removed by the run).
fn run_namespace(tag: &str) -> String {
    format!(
        "t-scs-check-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Runs kaas-networking-check through scs-check on testenv, with the stand-in serving the Cilium
/// NetworkPolicy archive (three ipBlock specs failed in it).
fn e2e_on_testenv(tag: &str, ok_to_fail: bool) -> (Outcome, tempfile::TempDir) {
    let ns = run_namespace(tag);
    let dir = tempfile::tempdir().unwrap();
    // The built-in 1.35 inventory has no [Serial] NetworkPolicy spec: one parallel pass.
    let child = standin::Standin::new(&ns).spawn();
    let args = scope_args(&testenv::kubeconfig(), dir.path(), "parallel", ok_to_fail);
    let o = scs_check(
        &args,
        &[
            "-n",
            &ns,
            "--timeout",
            "3m",
            "--stall-timeout",
            "1m",
            "--date",
            "2026-11-25",
        ],
    );
    standin::reap(child);
    (o, dir)
}

#[test]
fn testenv_pass_with_scs_ok_to_fail_is_pass_and_exit_0() {
    // testenv has no CNI (detected: unknown), so only SCS's global okToFail list waives the
    // Cilium ipBlock failures: PASS.
    let (o, dir) = e2e_on_testenv("pass", true);
    o.assert_protocol(&["kaas-networking-check: PASS"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Our selection wins over -a --e2e-focus, and says so.
    assert!(
        o.stderr
            .lines()
            .any(|l| l
                .starts_with("warning: ignoring Sonobuoy argument --e2e-focus \"NetworkPolicy\"")),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("info: sonobuoy complete"), "{}", o.stderr);
    assert!(!o.stderr.contains("error: FAILED:"), "{}", o.stderr);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("verdict.json")).unwrap()).unwrap();
    assert_eq!(v["verdict"], "PASS");
    assert_eq!(v["modules"][0]["testcases"][0]["counts"]["waived"], 3);
}

#[test]
fn testenv_failures_without_ok_to_fail_are_fail_and_exit_3() {
    let (o, _dir) = e2e_on_testenv("fail", false);
    o.assert_protocol(&["kaas-networking-check: FAIL"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    let failed: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: FAILED: "))
        .collect();
    assert_eq!(failed.len(), 3, "{}", o.stderr);
    assert!(
        failed.iter().any(|l| l.contains("CIDR block")),
        "{failed:?}"
    );
}

#[test]
fn testenv_dry_mode_launches_nothing_and_is_abort() {
    let ns = run_namespace("dry");
    let dir = tempfile::tempdir().unwrap();
    let args = scope_args(&testenv::kubeconfig(), dir.path(), "dry", true);
    let o = scs_check(&args, &["-n", &ns, "--date", "2026-11-25"]);
    o.assert_protocol(&["kaas-networking-check: ABORT"]);
    assert_eq!(o.code, 112, "{}", o.stderr);
    assert!(
        o.stderr.contains("info: dry run: would run"),
        "{}",
        o.stderr
    );
    let left = Command::new(testenv::kubectl_binary())
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .args(["get", "namespace", &ns, "--ignore-not-found", "-o", "name"])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "dry run created namespace {ns}");
}

#[test]
fn testenv_version_policy_form_mirrors_k8s_version_policy_py() {
    // `args: -k {kubeconfig}` as for k8s_version_policy.py; testenv runs Kubernetes v1.35.4.
    let data = root().join("tests/fixtures/release-data");
    let kc = testenv::kubeconfig().display().to_string();
    let args = vec!["scs-check".to_string(), "-k".into(), kc];
    let pass = scs_check(
        &args,
        &[
            "--release-data",
            data.join("current.json").to_str().unwrap(),
            "--date",
            "2026-04-20",
        ],
    );
    pass.assert_protocol(&["version-policy-check: PASS"]);
    assert_eq!(pass.code, 0);
    // FAIL also exits 0, as k8s_version_policy.py does whenever it printed a verdict.
    let fail = scs_check(
        &args,
        &[
            "--release-data",
            data.join("patch-overdue.json").to_str().unwrap(),
            "--date",
            "2026-06-20",
        ],
    );
    fail.assert_protocol(&["version-policy-check: FAIL"]);
    assert_eq!(fail.code, 0);
    assert!(
        fail.stderr.lines().any(|l| l.starts_with("error: ")),
        "{}",
        fail.stderr
    );
}

/// A kubeconfig for a server nobody listens on.
fn unreachable_kubeconfig(dir: &Path) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\n\
         clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n\
         users: [{name: u, user: {token: x}}]\n\
         contexts: [{name: c, context: {cluster: c, user: u}}]\n\
         current-context: c\n",
    )
    .unwrap();
    path
}

#[test]
fn unreachable_cluster_is_abort_and_exit_112() {
    let dir = tempfile::tempdir().unwrap();
    let kc = unreachable_kubeconfig(dir.path());
    let args = scope_args(&kc, &dir.path().join("results"), "parallel", true);
    let o = scs_check(&args, &[]);
    o.assert_protocol(&["kaas-networking-check: ABORT"]);
    assert_eq!(o.code, 112);
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with("critical: kaas-networking-check: ABORT: cannot reach")),
        "{}",
        o.stderr
    );
    // The version policy script's convention: 1 on abort.
    let v = scs_check(
        &["scs-check".into(), "-k".into(), kc.display().to_string()],
        &[],
    );
    v.assert_protocol(&["version-policy-check: ABORT"]);
    assert_eq!(v.code, 1);
}

#[test]
fn bad_inputs_after_parsing_are_abort_like_the_handler() {
    let dir = tempfile::tempdir().unwrap();
    let kc = unreachable_kubeconfig(dir.path());
    let kc = kc.display().to_string();
    // An unknown test case id.
    let o = scs_check(
        &[
            "scs-check".into(),
            "run".into(),
            "-k".into(),
            kc.clone(),
            "-c".into(),
            "no-such-check".into(),
        ],
        &[],
    );
    o.assert_protocol(&["no-such-check: ABORT"]);
    assert_eq!(o.code, 112);
    // A missing okToFail file.
    let o = scs_check(
        &[
            "scs-check".into(),
            "run".into(),
            "-k".into(),
            kc.clone(),
            "-c".into(),
            "cncf-k8s-conformance".into(),
            "--scs-sonobuoy-config".into(),
            "/nonexistent/scs-sonobuoy-config-v1.yaml".into(),
        ],
        &[],
    );
    o.assert_protocol(&["cncf-k8s-conformance: ABORT"]);
    assert_eq!(o.code, 112);
    // `run` without -c: bad usage, no verdict.
    let o = scs_check(&["scs-check".into(), "run".into(), "-k".into(), kc], &[]);
    assert_eq!(o.code, 2);
    assert_eq!(o.stdout, "");
}

/// Sonobuoy's `--timeout` seconds through `-a` are bounded like the tool's own `--timeout` (a
/// year): a huge value is the handler's ABORT for a bad argument, not a panic (exit 101).
#[test]
fn huge_sonobuoy_timeout_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let kc = unreachable_kubeconfig(dir.path());
    for seconds in ["18446744073709551615", "9223372036854775807", "31536001"] {
        let o = scs_check(
            &[
                "scs-check".into(),
                "run".into(),
                "-k".into(),
                kc.display().to_string(),
                "-r".into(),
                dir.path().join("r").display().to_string(),
                "-c".into(),
                "kaas-networking-check".into(),
                "-a".into(),
                format!("--timeout {seconds}"),
            ],
            &[],
        );
        o.assert_protocol(&["kaas-networking-check: ABORT"]);
        assert_eq!(o.code, 112, "{seconds}: {}", o.stderr);
        assert!(
            o.stderr.lines().any(|l| l.starts_with("critical: ")
                && l.contains("too long")
                && l.contains(seconds)),
            "{seconds}: {}",
            o.stderr
        );
    }
}

#[test]
fn cncf_arguments_are_understood_and_superseded_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let kc = unreachable_kubeconfig(dir.path());
    let o = scs_check(
        &[
            "scs-check".into(),
            "run".into(),
            "-k".into(),
            kc.display().to_string(),
            "--execution-mode".into(),
            "serial".into(),
            "-r".into(),
            dir.path().join("r").display().to_string(),
            "-c".into(),
            "cncf-k8s-conformance".into(),
            "-a".into(),
            "--mode=certified-conformance".into(),
            "-a".into(),
            "--plugin-env e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=3".into(),
            "-a".into(),
            "--no-such-flag".into(),
        ],
        &[],
    );
    o.assert_protocol(&["cncf-k8s-conformance: ABORT"]);
    let warnings: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("--mode=certified-conformance")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("--ginkgo.flake-attempts=3")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|l| l.contains("--no-such-flag")),
        "{warnings:?}"
    );
    assert!(
        o.stderr.contains("info: execution mode serial"),
        "{}",
        o.stderr
    );
}

/// Offline: protocol rendering of certifications over the bundled results.
#[test]
fn protocol_rendering_of_certifications() {
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
    let extract = tempfile::tempdir().unwrap();
    let results = results::load(
        &root().join("tests/fixtures/derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz"),
        Some(extract.path()),
        Limits::default(),
    )
    .unwrap();
    // As `scs-conformance verdict --cni … --k8s-version v1.33.1` certifies.
    let certify_as = |target: &str, cni: Cni| {
        let target = catalog.resolve(target, None).unwrap();
        let given = GivenFacts {
            cni: Some(cni),
            kubernetes_version: Some("v1.33.1".into()),
        };
        let today = date(2026, 8, 1);
        certify::certify_results(&catalog, &target, &waivers, &results, given, today).unwrap()
    };
    // Unknown CNI: the three ipBlock failures are not waived.
    let cert = certify_as("kaas-networking-check", Cni::unknown());
    assert_eq!(
        scs::protocol::result_lines(&cert),
        ["kaas-networking-check: FAIL"]
    );
    assert_eq!(exit_codes::scs_check::for_certification(&cert), 3);
    let logs: Vec<String> = scs::protocol::log_lines(&cert)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert_eq!(
        logs.iter()
            .filter(|l| l.starts_with("error: FAILED: "))
            .count(),
        3,
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .all(|l| PREFIXES.iter().any(|p| l.starts_with(p)))
    );
    // Cilium: waived, PASS.
    let cert = certify_as("kaas-networking-check", Cni::from_flag("cilium").unwrap());
    assert_eq!(
        scs::protocol::result_lines(&cert),
        ["kaas-networking-check: PASS"]
    );
    assert_eq!(exit_codes::scs_check::for_certification(&cert), 0);
    // The scope: native checks without evidence are MISSING, rendered as ABORT; the worst
    // verdict decides the exit code.
    let cert = certify_as("scs-compatible-kaas", Cni::from_flag("cilium").unwrap());
    let lines = scs::protocol::result_lines(&cert);
    assert!(
        lines.contains(&"version-policy-check: ABORT".to_string()),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains("MISSING")), "{lines:?}");
}
