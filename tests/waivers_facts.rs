//! Waivers and cluster facts cannot silently widen what is waived (issue 9): patterns that match
//! every test are refused, every waived failure is named in every output, ambiguous facts select
//! no CNI's waivers, and every version argument is parsed or refused.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Three ipBlock specs failed on Cilium; the Cilium waivers cover exactly those.
const IPBLOCK_FAILED: &str = "derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    out: tempfile::TempDir,
}

impl Run {
    fn file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.out.path().join(name)).ok()
    }
    fn verdict_json(&self) -> Value {
        serde_json::from_str(&self.file("verdict.json").expect("verdict.json")).unwrap()
    }
}

fn run(args: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("scs-conformance")
        .unwrap()
        .args(args)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        out,
    }
}

fn waiver_dir(test: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("any.yaml"),
        format!(
            "cni: any\nwaivers:\n  - id: wide\n    standard: kaas-networking-check\n    \
             test: '{test}'\n    reason: everything\n    tracking: https://example.com/1\n    \
             expires: 2030-01-01\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn patterns_that_waive_every_test_are_refused_with_file_and_line() {
    // Not by shape: any pattern that matches at least 90% of the specs of the largest
    // built-in inventory.
    for pattern in [
        "", ".*", ".", "(?s).*", ".+", "..", "[^x]", r"\[", " ", "e", "[a-z]", r"\pL",
    ] {
        let dir = waiver_dir(pattern);
        let r = run(&[
            "--waivers-dir",
            dir.path().to_str().unwrap(),
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--results",
            fixture(IPBLOCK_FAILED).to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{pattern:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("any.yaml:5:") && r.stderr.contains("refused"),
            "{pattern:?}: {}",
            r.stderr
        );
        assert!(
            r.file("verdict.json").is_none(),
            "no verdict for {pattern:?}"
        );
    }
    // SCS's okToFail list: the same rule.
    for pattern in [".*", "..", "[^x]", r"\[", " ", "e", "[a-z]", r"\pL"] {
        let dir = tempfile::tempdir().unwrap();
        let scs = dir.path().join("scs-sonobuoy-config-v1.yaml");
        std::fs::write(
            &scs,
            format!("okToFail:\n  - regex: '{pattern}'\n    reason: all of it\n"),
        )
        .unwrap();
        let r = run(&[
            "--waivers-from-scs",
            scs.to_str().unwrap(),
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--results",
            fixture(IPBLOCK_FAILED).to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{pattern:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("scs-sonobuoy-config-v1.yaml:2:") && r.stderr.contains("refused"),
            "{pattern:?}: {}",
            r.stderr
        );
        if pattern != ".*" {
            assert!(
                r.stderr.contains(" specs of the built-in inventory v"),
                "{pattern:?}: {}",
                r.stderr
            );
        }
    }
    // SCS's real okToFail list and the built-in waivers load.
    let r = run(&[
        "--waivers-from-scs",
        fixture("scs/scs-sonobuoy-config-v1.yaml").to_str().unwrap(),
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--results",
        fixture(IPBLOCK_FAILED).to_str().unwrap(),
    ]);
    assert_ne!(r.code, 2, "{}", r.stderr);
}

#[test]
fn every_waived_failure_is_named_in_every_output() {
    let r = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--cni",
        "cilium",
        "--date",
        "2026-11-25",
        "--results",
        fixture(IPBLOCK_FAILED).to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let summary = r.file("summary.md").unwrap();
    let junit = r.file("junit.xml").unwrap();
    let html = r.file("report.html").unwrap();
    let json = r.verdict_json();
    let waived: Vec<&str> = json["modules"][0]["testcases"][0]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "waived")
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(waived.len(), 3, "{json}");
    assert!(summary.contains("failed, waived (3)"), "{summary}");
    for name in waived {
        assert!(
            r.stdout
                .contains(&format!("WAIVED {name} failed, waived by cilium-ipblock-")),
            "terminal misses {name}:\n{}",
            r.stdout
        );
        assert!(
            summary.contains(&format!("`{name}` (waiver `cilium-ipblock-")),
            "{summary}"
        );
        assert!(junit.contains(&format!("name=\"{name}\"")), "{junit}");
        assert!(
            html.contains(&format!(
                "<li class=\"waived\"><span class=\"spec\">{name}</span> <span \
                 class=\"muted\">waived by <code>cilium-ipblock-"
            )),
            "report.html misses {name}"
        );
    }
}

/// The netpol Sonobuoy fixture with the failing JUnit and a second CNI's DaemonSet.
fn two_cni_archive(dir: &Path) -> PathBuf {
    netpol_archive(
        dir,
        "two-cnis.tar.gz",
        br#"[{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "cilium", "namespace": "kube-system"},
              "spec": {"template": {"spec": {"containers": [{"name": "cilium", "image": "quay.io/cilium/cilium:v1.17.6"}]}}}},
             {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "calico-node", "namespace": "kube-system"},
              "spec": {"template": {"spec": {"containers": [{"name": "calico-node", "image": "docker.io/calico/node:v3.29.1"}]}}}}]"#,
    )
}

/// The netpol Sonobuoy archive (Kubernetes v1.33.3, the failing JUnit) with these DaemonSets.
fn netpol_archive(dir: &Path, name: &str, daemonsets: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let mut builder = tar::Builder::new(GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        Compression::fast(),
    ));
    let mut add = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, data).unwrap();
    };
    add("meta/info.json", br#"{"plugins":["e2e"]}"#);
    add(
        "serverversion.json",
        br#"{"major": "1", "minor": "33", "gitVersion": "v1.33.3"}"#,
    );
    add(
        "resources/ns/kube-system/apps_v1_daemonsets.json",
        daemonsets,
    );
    let mut junit = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(fixture(IPBLOCK_FAILED)).unwrap()),
        &mut junit,
    )
    .unwrap();
    add("plugins/e2e/results/global/junit_01.xml", &junit);
    builder
        .into_inner()
        .unwrap()
        .finish()
        .unwrap()
        .flush()
        .unwrap();
    path
}

#[test]
fn two_cnis_select_no_cni_waivers_and_every_output_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let archive = two_cni_archive(dir.path());
    let r = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--date",
        "2026-11-25",
        "--results",
        archive.to_str().unwrap(),
    ]);
    // Cilium's waivers would have turned this into a PASS.
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let json = r.verdict_json();
    let cni = &json["cluster"]["cni"];
    assert_eq!(cni["name"], "unknown", "{cni}");
    let warning = cni["warning"].as_str().unwrap();
    assert!(
        warning.contains("calico (kube-system/calico-node)")
            && warning.contains("cilium (kube-system/cilium)"),
        "{warning}"
    );
    assert!(
        r.stdout.contains("WARNING: workloads of 2 CNIs found"),
        "{}",
        r.stdout
    );
    assert!(
        r.file("summary.md")
            .unwrap()
            .contains("**Warning:** workloads of 2 CNIs found")
    );
    assert!(
        r.file("junit.xml")
            .unwrap()
            .contains("warning: workloads of 2 CNIs found")
    );
    assert!(
        r.file("report.html")
            .unwrap()
            .contains("<strong>Warning:</strong> workloads of 2 CNIs found")
    );
    // Saying which CNI carries the pod network settles it.
    let r = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--cni",
        "cilium",
        "--date",
        "2026-11-25",
        "--results",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// A given fact may fill in what the evidence leaves unknown, never replace what it says: another
/// Kubernetes minor would judge the archive against another release's inventory (PASS on 1 of
/// 47 specs), another CNI would apply that CNI's waivers.
#[test]
fn given_facts_that_contradict_the_evidence_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let calico = netpol_archive(
        dir.path(),
        "calico.tar.gz",
        br#"[{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "calico-node", "namespace": "kube-system"},
              "spec": {"template": {"spec": {"containers": [{"name": "calico-node", "image": "docker.io/calico/node:v3.29.1"}]}}}}]"#,
    );
    let calico = calico.to_str().unwrap();
    for (flag, value, found) in [
        ("--k8s-version", "1.38", "v1.33.3"),
        ("--k8s-version", "1.30", "v1.33.3"),
        ("--k8s-version", "0.0", "v1.33.3"),
        ("--k8s-version", "v2.33.3", "v1.33.3"),
        ("--cni", "cilium", "calico@3.29.1"),
        ("--cni", "calico@3.28", "calico@3.29.1"),
    ] {
        let r = run(&[
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--date",
            "2026-11-25",
            "--results",
            calico,
            flag,
            value,
        ]);
        assert_eq!(r.code, 2, "{flag} {value}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(&format!("{flag} {value} contradicts"))
                && r.stderr.contains(found)
                && r.stderr.contains("calico.tar.gz"),
            "{flag} {value}: {}",
            r.stderr
        );
        assert!(
            r.file("verdict.json").is_none(),
            "no verdict for {flag} {value}"
        );
    }
    // Agreeing facts, and a CNI the evidence leaves unknown, are taken.
    for (flag, value) in [
        ("--k8s-version", "1.33"),
        ("--k8s-version", "v1.33.4"),
        ("--cni", "calico"),
        ("--cni", "calico@3.29"),
    ] {
        let r = run(&[
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--date",
            "2026-11-25",
            "--results",
            calico,
            flag,
            value,
        ]);
        assert_eq!(r.code, 1, "{flag} {value}: {}{}", r.stdout, r.stderr);
    }
    let two = two_cni_archive(dir.path());
    let r = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--date",
        "2026-11-25",
        "--cni",
        "cilium",
        "--results",
        two.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn version_arguments_are_parsed_or_refused() {
    let results = fixture(IPBLOCK_FAILED);
    let results = results.to_str().unwrap();
    for (flag, value, expected) in [
        (
            "--k8s-version",
            "garbage",
            "invalid Kubernetes version \"garbage\"",
        ),
        ("--k8s-version", "1", "invalid Kubernetes version \"1\""),
        (
            "--cni",
            "cilium@notaversion",
            "invalid cilium version \"notaversion\"",
        ),
    ] {
        let r = run(&[
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--results",
            results,
            flag,
            value,
        ]);
        assert_eq!(r.code, 2, "{flag} {value}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{}", r.stderr);
        assert!(r.file("verdict.json").is_none());
    }
    for ok in ["1.33", "1.33.3", "v1.33.3"] {
        let r = run(&[
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--results",
            results,
            "--k8s-version",
            ok,
        ]);
        assert_ne!(r.code, 2, "{ok}: {}", r.stderr);
    }
    let waivers = Command::cargo_bin("scs-conformance")
        .unwrap()
        .args(["waivers", "--cni", "cilium", "--k8s-version", "garbage"])
        .output()
        .unwrap();
    assert_eq!(waivers.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&waivers.stderr).contains("invalid Kubernetes version"));
}

/// A waiver date before the evidence's own date revives waivers that had expired when the tests
/// ran: refused for a report, warned about otherwise.
#[test]
fn a_waiver_date_before_the_evidence_is_refused_for_a_report_and_warned_about() {
    let results = fixture(IPBLOCK_FAILED);
    let results = results.to_str().unwrap();
    // The fixture's e2e results are from 2025-07-31.
    let r = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--cni",
        "cilium",
        "--date",
        "2025-07-01",
        "--results",
        results,
        "--subject",
        "c",
        "--allow-old-evidence",
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("--date 2025-07-01 is earlier than the evidence (produced 2025-07-31)"),
        "{}",
        r.stderr
    );
    assert!(r.file("report.yaml").is_none());
    assert!(r.file("verdict.json").is_none());
    let r = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--cni",
        "cilium",
        "--date",
        "2025-07-01",
        "--results",
        results,
    ]);
    assert_ne!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let warning =
        "waivers judged as of --date 2025-07-01, earlier than the evidence (produced 2025-07-31)";
    assert!(r.stdout.contains(warning), "{}", r.stdout);
    let summary = r.file("summary.md").unwrap();
    assert!(
        summary.contains("2025-07-01, earlier than the evidence \\(produced 2025-07-31\\)"),
        "{summary}"
    );
    // The evidence's own date or later: no warning, and a report may be written.
    let r = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--cni",
        "cilium",
        "--date",
        "2025-07-31",
        "--results",
        results,
        "--subject",
        "c",
        "--allow-old-evidence",
    ]);
    assert_ne!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        !r.stdout.contains("earlier than the evidence"),
        "{}",
        r.stdout
    );
    assert!(r.file("report.yaml").is_some());
}
