//! The output directory never shows a stale or partial verdict, untrusted text is escaped for
//! each output, and reports are honest about their evidence (issue 9).

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

/// A Sonobuoy archive of a NetworkPolicy run on Cilium: PASS with the Cilium waivers. Its JUnit
/// testsuite timestamp is 2025-07-31T00:27:49.
const NETPOL_TARBALL: &str = "derived/sonobuoy-v1.33-netpol-cilium.tar.gz";
/// Three ipBlock specs failed: FAIL without the Cilium waivers.
const IPBLOCK_FAILED: &str = "derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn verdict(out: &Path, args: &[&str]) -> Run {
    let output = Command::cargo_bin("scs-conformance")
        .unwrap()
        .arg("verdict")
        .args(["--standard", "scs-0219-v1", "--date", "2026-11-25"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn read(out: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(out.join(name)).ok()
}

fn json(out: &Path, name: &str) -> Value {
    serde_json::from_str(&read(out, name).unwrap_or_else(|| panic!("{name} missing"))).unwrap()
}

/// A PASS with a report in `out`.
fn pass_with_report(out: &Path) {
    let r = verdict(
        out,
        &[
            "--results",
            fixture(NETPOL_TARBALL).to_str().unwrap(),
            "--subject",
            "example-1.33",
            "--allow-old-evidence",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(json(out, "verdict.json")["verdict"], "PASS");
    assert!(read(out, "report.yaml").is_some());
}

#[test]
fn broken_input_after_a_pass_leaves_an_abort_record_not_the_old_pass() {
    let out = tempfile::tempdir().unwrap();
    pass_with_report(out.path());
    let input = tempfile::tempdir().unwrap();
    let broken = input.path().join("broken-junit.xml");
    std::fs::write(&broken, "not xml").unwrap();
    let r = verdict(out.path(), &["--results", broken.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for stale in ["verdict.json", "report.yaml"] {
        assert!(
            read(out.path(), stale).is_none(),
            "{stale} of the earlier PASS is left"
        );
    }
    let record = json(out.path(), "error.json");
    assert_eq!(record["verdict"], "ABORT");
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("broken-junit.xml"),
        "{record}"
    );
    let summary = read(out.path(), "summary.md").unwrap();
    assert!(
        summary.contains("**ABORT**") && !summary.contains("PASS"),
        "{summary}"
    );
    let junit = read(out.path(), "junit.xml").unwrap();
    assert!(
        junit.contains("<error") && junit.contains("broken-junit.xml"),
        "{junit}"
    );
    let html = read(out.path(), "report.html").unwrap();
    assert!(
        html.contains("<title>SCS conformance: verdict: ABORT</title>")
            && html.contains("broken-junit.xml")
            && !html.contains("PASS"),
        "{html}"
    );
}

#[test]
fn a_run_without_subject_removes_the_earlier_report() {
    let out = tempfile::tempdir().unwrap();
    pass_with_report(out.path());
    let r = verdict(
        out.path(),
        &[
            "--results",
            fixture(IPBLOCK_FAILED).to_str().unwrap(),
            "--cni",
            "calico",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(json(out.path(), "verdict.json")["verdict"], "FAIL");
    assert!(
        read(out.path(), "report.yaml").is_none(),
        "old PASS report left"
    );
    assert!(read(out.path(), "error.json").is_none());
    // The earlier run's extracted archive is not this run's evidence either.
    assert!(!out.path().join("results").exists());
}

#[test]
fn a_second_run_into_a_locked_folder_is_refused_and_changes_nothing() {
    let out = tempfile::tempdir().unwrap();
    pass_with_report(out.path());
    let before = read(out.path(), "verdict.json");
    let held = scs_conformance::reports::OutDir::lock(out.path()).unwrap();
    let r = verdict(
        out.path(),
        &[
            "--results",
            fixture(IPBLOCK_FAILED).to_str().unwrap(),
            "--cni",
            "calico",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("another scs-conformance process")
            && r.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        r.stderr
    );
    assert_eq!(read(out.path(), "verdict.json"), before);
    drop(held);
}

#[test]
fn a_results_folder_that_is_not_ours_is_kept_unless_a_flag_says_so() {
    let out = tempfile::tempdir().unwrap();
    let mine = out.path().join("results/notes.txt");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "my notes").unwrap();
    let tarball = fixture(NETPOL_TARBALL);
    let r = verdict(out.path(), &["--results", tarball.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--replace-results"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my notes");
    let r = verdict(
        out.path(),
        &["--results", tarball.to_str().unwrap(), "--replace-results"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!mine.exists() && out.path().join("results/meta/info.json").exists());
    // Our own extraction is replaced by the next run without asking.
    let r = verdict(out.path(), &["--results", tarball.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Spec names with a terminal escape, injected Markdown structure and a character XML 1.0
/// cannot carry; the e2e report carries them as character references.
fn hostile_junit(dir: &Path) -> PathBuf {
    let names = [
        "[sig-network] NetworkPolicy API should support creating NetworkPolicy API operations",
        "[sig-network] NetworkPolicy API &#27;[2J&#27;[31mred [Feature:NetworkPolicy]",
        "[sig-network] NetworkPolicy API evil&#10;# Injected heading&#10;![img](https://evil.example/x.png) &lt;img src=x&gt; | `tick` [Feature:NetworkPolicy]",
        "[sig-network] NetworkPolicy API nonchar &#65534; [Feature:NetworkPolicy]",
    ];
    let mut xml = String::from(
        "<testsuites><testsuite name=\"Kubernetes e2e suite\" timestamp=\"2025-07-31T00:27:49\">",
    );
    for (i, name) in names.iter().enumerate() {
        let (status, body) = if i == 0 {
            ("passed", String::new())
        } else {
            (
                "failed",
                "<failure message=\"boom &#27;[31m\">boom</failure>".to_string(),
            )
        };
        xml.push_str(&format!(
            "<testcase name=\"[It] {name}\" status=\"{status}\" time=\"1\">{body}</testcase>"
        ));
    }
    xml.push_str("</testsuite></testsuites>");
    let path = dir.join("junit_01.xml");
    std::fs::write(&path, xml).unwrap();
    path
}

#[test]
fn spec_names_cannot_drive_the_terminal_inject_markdown_or_html_or_break_junit() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = hostile_junit(dir.path());
    let r = verdict(out.path(), &["--results", path.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains('\u{1b}'), "raw escape on the terminal");
    assert!(r.stdout.contains("\\u{1b}[2J"), "{}", r.stdout);
    assert!(
        r.stdout.contains("evil\\n# Injected heading"),
        "{}",
        r.stdout
    );

    let summary = read(out.path(), "summary.md").unwrap();
    assert!(!summary.contains('\u{1b}'));
    assert!(
        !summary
            .lines()
            .any(|l| l.starts_with("# Injected") || l.starts_with("![")),
        "{summary}"
    );
    let evil = summary
        .lines()
        .find(|l| l.contains("Injected heading"))
        .unwrap();
    // The whole name sits in one code span, where Markdown is literal.
    assert!(
        evil.starts_with("- ``[sig-network] NetworkPolicy API evil\\n# Injected heading\\n![img]"),
        "{evil}"
    );

    let junit = read(out.path(), "junit.xml").unwrap();
    assert!(
        !junit
            .chars()
            .any(|c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')),
        "junit.xml carries characters XML 1.0 forbids"
    );
    assert!(junit.contains("NetworkPolicy API nonchar \u{fffd} [Feature:NetworkPolicy]"));

    // report.html: the names are text (tests/report_html.rs renders it in a browser).
    let html = read(out.path(), "report.html").unwrap();
    assert!(!html.contains('\u{1b}') && !html.contains('\u{fffe}'));
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "{html}"
    );
    assert!(
        html.contains(
            "evil\\n# Injected heading\\n![img](https://evil.example/x.png) &lt;img src=x&gt; | `tick`"
        ),
        "{html}"
    );
    assert!(html.contains("NetworkPolicy API nonchar \\u{fffe} [Feature:NetworkPolicy]"));
}

#[test]
fn a_report_is_dated_by_its_evidence_and_old_evidence_needs_a_flag() {
    let out = tempfile::tempdir().unwrap();
    let tarball = fixture(NETPOL_TARBALL);
    let r = verdict(
        out.path(),
        &[
            "--results",
            tarball.to_str().unwrap(),
            "--subject",
            "example-1.33",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("produced at 2025-07-31 00:27:49 UTC")
            && r.stderr.contains("--allow-old-evidence"),
        "{}",
        r.stderr
    );
    assert!(read(out.path(), "report.yaml").is_none());

    pass_with_report(out.path());
    let report = read(out.path(), "report.yaml").unwrap();
    let checked_at = report
        .lines()
        .find(|l| l.starts_with("checked_at: "))
        .unwrap();
    // The evidence's time (in this machine's time zone), not the time `verdict` ran.
    assert!(
        checked_at.starts_with("checked_at: 2025-07-3"),
        "{checked_at}"
    );
    assert!(
        report.contains("WARNING: old evidence: the e2e results are from 2025-07-31 00:27:49 UTC")
    );
    let tc = &json(out.path(), "verdict.json")["modules"][0]["testcases"][0];
    assert!(
        tc["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("old evidence"),
        "{tc}"
    );
}

fn publish(report: &Path, extra: &[&str]) -> (i32, String) {
    let output = Command::cargo_bin("scs-conformance")
        .unwrap()
        .arg("publish")
        .arg(report)
        .args(["--url", "http://127.0.0.1:9", "--key", "/nonexistent/key"])
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn publish_refuses_what_is_not_a_report_before_signing() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    std::fs::write(
        &junit,
        "<?xml version=\"1.0\"?>\n<testsuites><testsuite name=\"x\"/></testsuites>\n",
    )
    .unwrap();
    let malformed = dir.path().join("report.yaml");
    std::fs::write(&malformed, "---\nspec: {uuid: [unclosed\n").unwrap();
    for path in [&junit, &malformed] {
        let (code, err) = publish(path, &[]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("not an SCS compliance report"), "{err}");
        // Refused before the key is even read.
        assert!(!err.contains("signing key"), "{err}");
    }
    let (code, err) = publish(&malformed, &["--timeout", "18446744073709551615"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--timeout") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn a_live_run_on_broken_input_after_a_pass_leaves_an_abort_record_not_the_old_pass() {
    let out = tempfile::tempdir().unwrap();
    pass_with_report(out.path());
    // No cluster is needed: the run stops at its input, after taking over the folder.
    let output = Command::cargo_bin("scs-conformance")
        .unwrap()
        .args(["run", "--standard", "no-such-standard", "--kubeconfig"])
        .arg(out.path().join("absent-kubeconfig"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for stale in ["verdict.json", "report.yaml"] {
        assert!(
            read(out.path(), stale).is_none(),
            "{stale} of the earlier PASS is left"
        );
    }
    let record = json(out.path(), "error.json");
    assert_eq!(record["verdict"], "ABORT");
    assert_eq!(record["command"], "run", "{record}");
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("no-such-standard"),
        "{record}"
    );
}

#[test]
fn a_report_is_dated_by_the_oldest_part_of_its_evidence() {
    // A fresh JUnit timestamp in an archive whose Sonobuoy run log is from 2021: the old run
    // log dates it, so the report is refused as old rather than passed off as new.
    let input = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(fixture(NETPOL_TARBALL))
        .arg("-C")
        .arg(input.path())
        .status()
        .unwrap();
    assert!(status.success());
    let junit = input.path().join("plugins/e2e/results/global/junit_01.xml");
    let today = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let xml = std::fs::read_to_string(&junit)
        .unwrap()
        .replace("2025-07-31T00:27:49", &today);
    std::fs::write(&junit, xml).unwrap();
    std::fs::write(
        input.path().join("meta/run.log"),
        "{\"level\":\"info\",\"msg\":\"Starting server Expected Results\",\"time\":\"2021-08-18T10:00:00Z\"}\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = verdict(
        out.path(),
        &[
            "--results",
            input.path().to_str().unwrap(),
            "--subject",
            "example-1.33",
        ],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("produced at 2021-08-18 10:00:00 UTC"),
        "{}",
        r.stderr
    );
    assert!(read(out.path(), "report.yaml").is_none());
}
