//! Offline `verdict` on archives this project produced on testenv's real node: the real
//! Sonobuoy aggregator and worker, the real conformance image, the real NetworkPolicy specs
//! (tests/fixtures/real/PROVENANCE.md). With kube-router's NetworkPolicy controller every
//! selected spec passed; with bridge networking alone the specs that need enforcement failed.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const ENFORCED: &str = "tests/fixtures/real/v1.35.4-kube-router-ci-subset.tar.gz";
const FULL_ENFORCED: &str = "tests/fixtures/real/v1.35.4-kube-router-scs-0219-v1.tar.gz";
const BRIDGE_ONLY: &str = "tests/fixtures/real/v1.35.4-bridge-only-ci-subset.tar.gz";
const DEFAULT_DENY: &str = "[sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy [Feature:NetworkPolicy]";
const EGRESS_CIDR: &str = "[sig-network] Netpol NetworkPolicy between server and client should allow egress access to server in CIDR block [Feature:NetworkPolicy]";
const API_OPERATIONS: &str =
    "[sig-network] Netpol API should support creating NetworkPolicy API operations";

fn verdict(results: &str, standard: &[&str]) -> (i32, Value, String) {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_scs-conformance"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("verdict")
        .args(standard)
        .args(["--results", results, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v = std::fs::read(out.path().join("verdict.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), v, text)
}

const SUBSET: &[&str] = &[
    "--standards-dir",
    "tests/fixtures/real-node/standards",
    "--waivers-dir",
    "tests/fixtures/real-node/waivers",
    "--standard",
    "scs-0219-ci-subset",
];

fn specs_with(v: &Value, outcome: &str) -> BTreeSet<String> {
    v["modules"][0]["testcases"][0]["tests"]
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

#[test]
fn enforced_networkpolicy_passes_every_selected_spec() {
    let (code, v, text) = verdict(ENFORCED, SUBSET);
    assert_eq!(code, 0, "{text}");
    assert_eq!(v["verdict"], "PASS");
    assert_eq!(v["cluster"]["kubernetes_version"], "v1.35.4", "{text}");
    assert_eq!(
        specs_with(&v, "passed"),
        set(&[DEFAULT_DENY, EGRESS_CIDR, API_OPERATIONS])
    );
}

#[test]
fn bridge_networking_alone_fails_the_specs_that_need_enforcement() {
    let (code, v, text) = verdict(BRIDGE_ONLY, SUBSET);
    assert_eq!(code, 1, "{text}");
    assert_eq!(v["verdict"], "FAIL");
    assert_eq!(specs_with(&v, "failed"), set(&[DEFAULT_DENY, EGRESS_CIDR]));
    assert_eq!(specs_with(&v, "passed"), set(&[API_OPERATIONS]));
    assert!(
        text.contains("wrong results in reachability matrix"),
        "the e2e failure message is shown: {text}"
    );
}

#[test]
fn a_real_subset_run_is_not_a_pass_for_the_whole_standard() {
    // 3 specs ran; SCS-0219-v1 selects 46 on 1.35 (built-in inventory): the rest did not run.
    let (code, v, text) = verdict(ENFORCED, &["--standard", "scs-0219-v1"]);
    assert_eq!(code, 3, "{text}");
    assert_eq!(v["verdict"], "ABORT");
    assert!(!specs_with(&v, "not-run").is_empty(), "{text}");
}

#[test]
fn the_whole_scs_0219_selection_passes_on_an_enforcing_node() {
    let (code, v, text) = verdict(FULL_ENFORCED, &["--standard", "scs-0219-v1"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(v["verdict"], "PASS");
    assert_eq!(specs_with(&v, "passed").len(), 46, "{text}");
    assert!(specs_with(&v, "not-run").is_empty(), "{text}");
}

#[test]
fn the_archives_are_the_real_sonobuoy_layout() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for archive in [ENFORCED, BRIDGE_ONLY, FULL_ENFORCED] {
        let o = Command::new("tar")
            .arg("tzf")
            .arg(root.join(archive))
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&o.stdout);
        for entry in [
            "plugins/e2e/results/global/junit_01.xml",
            "plugins/e2e/results/global/e2e.log",
            "plugins/e2e/sonobuoy_results.yaml",
            "meta/run.log",
        ] {
            assert!(listing.lines().any(|l| l == entry), "{archive}: no {entry}");
        }
    }
}
