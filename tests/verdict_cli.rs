//! End-to-end behaviour of `scs-conformance verdict` on real results (see tests/fixtures/PROVENANCE.md).

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs `verdict` and returns (exit code, verdict.json, stdout, out dir).
fn verdict(args: &[&str]) -> (i32, Option<Value>, String, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("scs-conformance")
        .unwrap()
        .arg("verdict")
        .args(args)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let json = std::fs::read(out.path().join("verdict.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap(), json, text, out)
}

fn testcase<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["testcases"].as_array().unwrap())
        .find(|t| t["id"] == id)
        .unwrap()
}

fn outcomes(tc: &Value, outcome: &str) -> Vec<String> {
    tc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == outcome)
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

const VIOLA_CILIUM: &str = "e2e/v1.33-viola-cilium.junit_01.xml.gz";
const PSKE_CALICO: &str = "e2e/v1.31-pske-calico.junit_01.xml.gz";
const EKSA_CALICO: &str = "e2e/v1.32-eks-a-calico.junit_01.xml.gz";
const NETPOL_CILIUM_TARBALL: &str = "derived/sonobuoy-v1.33-netpol-cilium.tar.gz";
const NETPOL_JUNIT: &str = "derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz";

#[test]
fn conformance_runs_pass_scs_0201_with_every_conformance_test_counted() {
    // (fixture, cni, [Conformance] specs that passed according to the file)
    for (file, cni, passed) in [
        (VIOLA_CILIUM, "cilium", 419),
        (PSKE_CALICO, "calico", 404),
        (EKSA_CALICO, "calico", 411),
    ] {
        let (code, json, text, _out) = verdict(&[
            "--standard",
            "scs-0201-v1",
            "--results",
            fixture(file).to_str().unwrap(),
            "--cni",
            cni,
        ]);
        let json = json.unwrap();
        assert_eq!(code, 0, "{file}: {text}");
        assert_eq!(json["verdict"], "PASS");
        let tc = testcase(&json, "cncf-k8s-conformance");
        assert_eq!(tc["counts"]["passed"], passed, "{file}");
        assert_eq!(tc["counts"]["selected"], passed, "{file}");
        assert_eq!(tc["counts"]["failed"], 0);
        assert_eq!(tc["check"]["focus"], r"\[Conformance\]");
        assert_eq!(tc["check"]["skip"], "");
        assert!(
            tc["tests"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| !t["name"].as_str().unwrap().starts_with("[It]"))
        );
        assert_eq!(json["results"]["ginkgo"], "v2");
    }
}

#[test]
fn conformance_runs_are_abort_for_scs_0219_because_no_networkpolicy_test_ran() {
    for (file, cni) in [
        (VIOLA_CILIUM, "cilium"),
        (PSKE_CALICO, "calico"),
        (EKSA_CALICO, "calico"),
    ] {
        let (code, json, text, _out) = verdict(&[
            "--standard",
            "SCS-0219-V1",
            "--results",
            fixture(file).to_str().unwrap(),
            "--cni",
            cni,
        ]);
        let json = json.unwrap();
        assert_eq!(code, 3, "{file}: {text}");
        assert_eq!(json["verdict"], "ABORT");
        let tc = testcase(&json, "kaas-networking-check");
        assert_eq!(tc["verdict"], "ABORT");
        assert_eq!(tc["counts"]["passed"], 0);
        // 42 TCP + 3 UDP + 2 API specs are selected on 1.31-1.33; on Cilium the 3 ipBlock
        // specs are waived, which does not make an unrun selection pass.
        assert_eq!(tc["counts"]["selected"], 47, "{file}");
        assert!(text.contains("did not run"), "{text}");
    }
}

#[test]
fn cilium_waivers_turn_the_ipblock_failures_into_a_pass_only_on_cilium() {
    let results = fixture(NETPOL_JUNIT);
    let results = results.to_str().unwrap();
    let date = ["--date", "2026-11-25"];

    let (code, json, text, _o) = verdict(
        &[
            &[
                "--standard",
                "scs-0219-v1",
                "--results",
                results,
                "--cni",
                "cilium",
            ][..],
            &date,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{text}");
    let json = json.unwrap();
    let tc = testcase(&json, "kaas-networking-check");
    assert_eq!(outcomes(tc, "waived").len(), 3);
    assert!(
        tc["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["outcome"] == "waived")
            .all(|t| t["waiver"].as_str().unwrap().starts_with("cilium-ipblock"))
    );

    for cni in ["calico", "unknown"] {
        let (code, json, text, _o) = verdict(
            &[
                &[
                    "--standard",
                    "scs-0219-v1",
                    "--results",
                    results,
                    "--cni",
                    cni,
                ][..],
                &date,
            ]
            .concat(),
        );
        assert_eq!(code, 1, "{cni}: {text}");
        let json = json.unwrap();
        let tc = testcase(&json, "kaas-networking-check");
        assert_eq!(tc["verdict"], "FAIL");
        let failed = outcomes(tc, "failed");
        assert_eq!(failed.len(), 3, "{cni}");
        assert!(
            failed
                .iter()
                .all(|n| n.contains("CIDR") || n.contains("IPBlock"))
        );
        assert!(tc["tests"].as_array().unwrap().iter().any(|t| {
            t["message"]
                .as_str()
                .is_some_and(|m| m.contains("wrong results in reachability matrix"))
        }));
    }
}

#[test]
fn an_expired_waiver_no_longer_applies_and_is_reported() {
    let (code, json, text, _o) = verdict(&[
        "--standard",
        "kaas-networking-check",
        "--results",
        fixture(NETPOL_JUNIT).to_str().unwrap(),
        "--cni",
        "cilium",
        "--date",
        "2027-06-01",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("EXPIRED waiver cilium-ipblock"), "{text}");
    let json = json.unwrap();
    let tc = testcase(&json, "kaas-networking-check");
    let expired: Vec<_> = tc["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["status"] == "expired")
        .collect();
    assert!(
        expired
            .iter()
            .any(|w| w["id"] == "cilium-ipblock-egress-cidr"
                && w["tests"].as_array().unwrap().len() == 1)
    );
    assert_eq!(outcomes(tc, "failed").len(), 3);
}

#[test]
fn scs_ok_to_fail_file_is_read_as_is_and_applies_to_every_cni() {
    let (code, json, text, _o) = verdict(&[
        "--standard",
        "scs-0219-v1",
        "--results",
        fixture(NETPOL_JUNIT).to_str().unwrap(),
        "--cni",
        "calico",
        "--waivers-from-scs",
        fixture("scs/scs-sonobuoy-config-v1.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    let tc = testcase(json.as_ref().unwrap(), "kaas-networking-check");
    let waivers: Vec<_> = tc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "waived")
        .map(|t| t["waiver"].as_str().unwrap())
        .collect();
    assert_eq!(waivers.len(), 3);
    assert!(
        waivers.iter().all(|w| w.starts_with("scs-ok-to-fail-")),
        "{waivers:?}"
    );
}

#[test]
fn sonobuoy_tarball_is_extracted_and_tells_cni_and_kubernetes_version() {
    let (code, json, text, out) = verdict(&[
        "--standard",
        "scs-0219-v1",
        "--results",
        fixture(NETPOL_CILIUM_TARBALL).to_str().unwrap(),
        "--date",
        "2026-11-25",
    ]);
    assert_eq!(code, 0, "{text}");
    let json = json.unwrap();
    assert_eq!(json["cluster"]["cni"]["name"], "cilium");
    assert_eq!(json["cluster"]["cni"]["version"], "1.17.6");
    assert_eq!(json["cluster"]["cni"]["source"], "detected");
    assert_eq!(json["cluster"]["kubernetes_version"], "v1.33.3");
    assert_eq!(json["results"]["kind"], "tarball");
    assert!(
        out.path()
            .join("results/plugins/e2e/results/global/junit_01.xml")
            .is_file()
    );
    for f in ["verdict.json", "junit.xml", "summary.md", "report.html"] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn ginkgo_v1_archive_is_read_and_a_partial_run_is_abort() {
    // Sonobuoy's own archive of a `quick` run on kind (Kubernetes v1.21.1, Ginkgo v1).
    let (code, json, text, _o) = verdict(&[
        "--standard",
        "scs-0201-v1",
        "--results",
        fixture("e2e/sonobuoy-v1.21-quick.tar.gz").to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{text}");
    let json = json.unwrap();
    assert_eq!(json["results"]["ginkgo"], "v1");
    assert_eq!(json["cluster"]["kubernetes_version"], "v1.21.1");
    assert_eq!(json["cluster"]["cni"]["name"], "kindnet");
    let tc = testcase(&json, "cncf-k8s-conformance");
    assert_eq!(tc["counts"]["passed"], 1);
    assert!(tc["counts"]["not_run"].as_u64().unwrap() > 200);
}

#[test]
fn ginkgo_v1_failure_keeps_its_message() {
    let (code, json, text, _o) = verdict(&[
        "--standard",
        "scs-0201-v1",
        "--results",
        fixture("e2e/ginkgo-v1-output2.xml").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{text}");
    let tc = testcase(json.as_ref().unwrap(), "cncf-k8s-conformance");
    let failed: Vec<_> = tc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("at least 2 nodes")
    );
}

#[test]
fn the_scope_is_never_pass_while_native_checks_are_not_evaluated() {
    let (code, json, text, _o) = verdict(&[
        "--standard",
        "scs-compatible-kaas",
        "--version",
        "v1",
        "--results",
        fixture(VIOLA_CILIUM).to_str().unwrap(),
        "--cni",
        "cilium",
    ]);
    let json = json.unwrap();
    assert_eq!(json["target"]["kind"], "scope");
    assert_eq!(testcase(&json, "cncf-k8s-conformance")["verdict"], "PASS");
    assert_eq!(
        testcase(&json, "version-policy-check")["verdict"],
        "MISSING"
    );
    assert_eq!(
        testcase(&json, "node-distribution-check")["verdict"],
        "MISSING"
    );
    assert_eq!(testcase(&json, "kaas-networking-check")["verdict"], "ABORT");
    assert_eq!(json["verdict"], "MISSING", "FAIL > MISSING > ABORT > PASS");
    assert_eq!(code, 4, "{text}");
}

#[test]
fn junit_output_has_a_suite_per_testcase_and_waived_tests_as_skipped() {
    let (_, _, _, out) = verdict(&[
        "--standard",
        "scs-0219-v1",
        "--results",
        fixture(NETPOL_JUNIT).to_str().unwrap(),
        "--cni",
        "cilium",
        "--date",
        "2026-11-25",
    ]);
    let xml = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    // A PASS has no synthetic verdict testcase: 47 specs, the verdict is the suite's output.
    assert!(xml.contains(r#"<testsuite name="kaas-networking-check" tests="47" failures="0" errors="0" skipped="3""#), "{xml}");
    assert!(xml.contains(r#"classname="scs-0219-v1""#));
    assert!(xml.contains("<system-out>PASS: "), "{xml}");
    assert!(xml.contains("failed, waived by cilium-ipblock-egress-cidr: Cilium ipBlock rules do not select pod IPs inside the cluster (https://github.com/cilium/cilium/issues/9209)"));
    // Our own JUnit reader reads it back: the 47 e2e tests.
    let report = scs_conformance::evidence::e2e_junit::parse(xml.as_bytes()).unwrap();
    assert_eq!(report.tests.len(), 47);
}

#[test]
fn summary_stays_small_even_when_everything_fails() {
    // 3,000 failing conformance specs with long messages.
    let mut xml = String::from("<testsuites><testsuite name=\"Kubernetes e2e suite\">");
    for i in 0..3000 {
        xml.push_str(&format!(
            "<testcase name=\"[It] [sig-x] test {i} [Conformance]\" status=\"failed\" time=\"1\"><failure type=\"failed\">{}</failure></testcase>",
            "boom ".repeat(2000)
        ));
    }
    xml.push_str("</testsuite></testsuites>");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit_01.xml");
    std::fs::write(&path, xml).unwrap();
    let (code, _, _, out) = verdict(&[
        "--standard",
        "scs-0201-v1",
        "--results",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let summary = std::fs::metadata(out.path().join("summary.md"))
        .unwrap()
        .len();
    assert!(summary < 64 * 1024, "summary.md is {summary} bytes");
}
