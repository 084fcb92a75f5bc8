//! `--focus`/`--skip` on top of a standard, for debugging: only the standard's specs that also
//! match; the outputs say it certifies nothing, and no report for the compliance monitor is
//! written. Offline (`verdict`, `plan`); tests/run_e2e.rs-style live runs plan the same way.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

const ARCHIVE: &str = "tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

fn scs(args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
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

#[test]
fn a_narrowed_verdict_judges_only_the_matching_specs_and_says_it_certifies_nothing() {
    let out = tempfile::tempdir().unwrap();
    let o = scs(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--results",
        ARCHIVE,
        "--date",
        "2026-11-25",
        "--focus",
        "allow-all|deny-all",
        "--skip",
        "ingress",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("NOTE: not a certification"),
        "{}",
        text(&o)
    );
    let v: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("verdict.json")).unwrap()).unwrap();
    assert_eq!(v["target"]["narrowed"]["focus"], "allow-all|deny-all");
    assert_eq!(v["target"]["narrowed"]["skip"], "ingress");
    let tests = v["modules"][0]["testcases"][0]["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for t in tests {
        let name = t["name"].as_str().unwrap();
        assert!(
            (name.contains("allow-all") || name.contains("deny-all")) && !name.contains("ingress"),
            "{name}"
        );
    }
    // The full standard judges all 47 on the same archive.
    let full = tempfile::tempdir().unwrap();
    let o = scs(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--results",
        ARCHIVE,
        "--date",
        "2026-11-25",
        "--out",
        full.path().to_str().unwrap(),
    ]);
    let all: Value =
        serde_json::from_slice(&std::fs::read(full.path().join("verdict.json")).unwrap()).unwrap();
    assert!(all["target"].get("narrowed").is_none());
    assert!(
        all["modules"][0]["testcases"][0]["tests"]
            .as_array()
            .unwrap()
            .len()
            > tests.len(),
        "{}",
        text(&o)
    );
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(summary.contains("not a certification"), "{summary}");
}

#[test]
fn a_narrowed_run_gets_no_report_for_the_compliance_monitor() {
    let out = tempfile::tempdir().unwrap();
    let o = scs(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--results",
        ARCHIVE,
        "--focus",
        "allow-all",
        "--subject",
        "my-cluster",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no report.yaml"), "{}", text(&o));
    assert!(!out.path().join("report.yaml").exists());
    assert!(!out.path().join("verdict.json").exists());
}

#[test]
fn a_bad_regex_is_an_error_naming_the_flag() {
    let o = scs(&[
        "plan",
        "--standard",
        "scs-0219-v1",
        "--k8s-version",
        "1.33",
        "--focus",
        "(unclosed",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--focus/--skip"), "{}", text(&o));
}

#[test]
fn the_plan_launches_the_narrowed_specs_by_their_exact_names() {
    let o = scs(&[
        "plan",
        "--standard",
        "scs-0219-v1",
        "--k8s-version",
        "1.33",
        "--focus",
        "default-deny-ingress",
        "--list",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("narrowed by --focus 'default-deny-ingress'"),
        "{out}"
    );
    let focus = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("E2E_FOCUS="))
        .unwrap();
    // Every launched alternative is one escaped spec name that the focus matches.
    let alternatives: Vec<&str> = focus.split('|').collect();
    assert_eq!(alternatives.len(), 2, "{focus}");
    for alternative in alternatives {
        assert!(
            alternative.starts_with(r"\[sig\-network\] Netpol"),
            "{alternative}"
        );
        assert!(
            alternative.contains(r"'default\-deny\-ingress'"),
            "{alternative}"
        );
    }
}
