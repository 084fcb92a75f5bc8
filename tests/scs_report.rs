//! The SCS report (`report.yaml`) of verdicts over the bundled real results: it has the keys of
//! `scs-compliance-check.py`'s report, and SCS's own precedence (FAIL > MISSING > DNF > PASS)
//! over the report's results gives our verdict (see docs/scs-report.md).

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::civil::date;
use scs_conformance::definitions::catalog::Catalog;
use scs_conformance::definitions::{builtin, waiver};
use scs_conformance::evidence::results::{self, Limits};
use scs_conformance::scs;
use scs_conformance::scs::report::ReportContext;
use scs_conformance::verdict::Verdict;
use scs_conformance::verdict::certify::{self, Certification, GivenFacts};
use serde::Deserialize;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

const FIXTURES: &[&str] = &[
    "e2e/v1.33-viola-cilium.junit_01.xml.gz",
    "e2e/v1.32-eks-a-calico.junit_01.xml.gz",
    "e2e/v1.31-pske-calico.junit_01.xml.gz",
    "derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz",
    "derived/sonobuoy-v1.33-netpol-cilium.tar.gz",
];

const TARGETS: &[&str] = &[
    "scs-compatible-kaas",
    "scs-0201-v1",
    "scs-0219-v1",
    "kaas-networking-check",
    "cncf-k8s-conformance",
];

fn catalog() -> Catalog {
    Catalog::load(&builtin::standards()).unwrap()
}

/// Builds the certification with the engine's offline entry point, as `scs-conformance verdict`
/// does, with the built-in standards and waivers.
fn certify(catalog: &Catalog, target: &str, results_path: &Path) -> Certification {
    let target = catalog.resolve(target, None).unwrap();
    let waivers = waiver::load(&builtin::waivers(), catalog).unwrap();
    let extract = tempfile::tempdir().unwrap();
    let results = results::load(results_path, Some(extract.path()), Limits::default()).unwrap();
    let today = date(2026, 8, 1);
    certify::certify_results(
        catalog,
        &target,
        &waivers,
        &results,
        GivenFacts::default(),
        today,
    )
    .unwrap()
}

fn context(target: &str) -> ReportContext {
    ReportContext {
        subject: "example-1.33".into(),
        argv: vec![
            "scs-conformance".into(),
            "verdict".into(),
            "--standard".into(),
            target.into(),
            "--results".into(),
            "results.tar.gz".into(),
        ],
        assignment: BTreeMap::from([
            (
                "kubeconfig".to_string(),
                "example/kubeconfig.yaml".to_string(),
            ),
            ("subject_root".to_string(), "example".to_string()),
        ]),
        sections: None,
        forced_version: None,
        forced_tests: None,
        checked_at: date(2026, 8, 1).at(3, 4, 5, 678_901_000),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    spec: Spec,
    checked_at: String,
    reference_date: String,
    subject: String,
    run: Run,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    uuid: String,
    name: String,
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    uuid: String,
    argv: Vec<String>,
    assignment: BTreeMap<String, String>,
    sections: Option<Vec<String>>,
    forced_version: Option<String>,
    forced_tests: Option<String>,
    invocations: BTreeMap<String, Invocation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Invocation {
    id: String,
    cmd: String,
    results: BTreeMap<String, i8>,
    rc: i64,
    stdout: Vec<String>,
    stderr: Vec<String>,
    info: usize,
    warning: usize,
    error: usize,
    critical: usize,
}

/// `scs_cert_lib.evaluate`: FAIL (-1) > MISSING (None) > DNF (0) > PASS (1), over the target's ids.
fn scs_evaluate(results: &HashMap<String, i8>, testcase_ids: &[String]) -> Option<i8> {
    let values: Vec<Option<i8>> = testcase_ids
        .iter()
        .map(|id| results.get(id).copied())
        .collect();
    for wanted in [Some(-1), None, Some(0)] {
        if values.contains(&wanted) {
            return wanted;
        }
    }
    Some(1)
}

/// The `main` target of what was certified: every test case the certification covers.
fn main_target(cert: &Certification) -> Vec<String> {
    cert.testcases().map(|t| t.id.clone()).collect()
}

fn positions_in_order(text: &str, keys: &[&str]) {
    let mut last = 0;
    for k in keys {
        let at = text[last..]
            .find(k)
            .unwrap_or_else(|| panic!("{k:?} missing or out of order in:\n{text}"));
        last += at + 1;
    }
}

#[test]
fn report_has_scs_keys_and_scs_precedence_gives_our_verdict() {
    let catalog = catalog();
    let mut seen = HashMap::<Verdict, usize>::new();
    for fixture_path in FIXTURES {
        for target in TARGETS {
            let cert = certify(&catalog, target, &fixture(fixture_path));
            let text = scs::report::render(&cert, &catalog, &context(target)).unwrap();
            assert!(text.starts_with("---\n"), "explicit document start");
            positions_in_order(
                &text,
                &[
                    "\nspec:\n  uuid: ",
                    "\n  name: ",
                    "\n  url: ",
                    "\nchecked_at: 2026-08-01 03:04:05.678901\n",
                    "\nreference_date: 2026-08-01\n",
                    "\nsubject: ",
                    "\nrun:\n  uuid: ",
                    "\n  argv:\n",
                    "\n  assignment:\n",
                    "\n  sections: null\n",
                    "\n  forced_version: null\n",
                    "\n  forced_tests: null\n",
                    "\n  invocations:",
                ],
            );
            let report: Report = serde_saphyr::from_str(&text)
                .unwrap_or_else(|e| panic!("report does not load: {e}\n{text}"));
            assert_eq!(report.spec.uuid, "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180");
            assert_eq!(report.spec.name, "SCS-compatible KaaS");
            assert!(report.spec.url.ends_with("/Tests/scs-compatible-kaas.yaml"));
            assert_eq!(report.checked_at, "2026-08-01 03:04:05.678901");
            assert_eq!(report.reference_date, "2026-08-01");
            assert_eq!(report.subject, "example-1.33");
            assert!(uuid::Uuid::parse_str(&report.run.uuid).is_ok());
            assert_eq!(report.run.argv[3], *target);
            assert_eq!(
                report.run.assignment["kubeconfig"],
                "example/kubeconfig.yaml"
            );
            assert!(report.run.sections.is_none());
            assert!(report.run.forced_version.is_none() && report.run.forced_tests.is_none());

            let mut results = HashMap::new();
            for (key, inv) in &report.run.invocations {
                assert_eq!(key, &inv.id);
                assert!(uuid::Uuid::parse_str(&inv.id).is_ok());
                assert!(inv.cmd.starts_with("scs-conformance verdict --standard "));
                assert_eq!(inv.results.len(), 1);
                let (id, value) = inv.results.iter().next().unwrap();
                assert!(
                    inv.cmd.contains(&format!("--standard {id} ")),
                    "{}",
                    inv.cmd
                );
                // The protocol line that SCS's compute_results() would parse.
                let word = match value {
                    1 => "PASS",
                    0 => "ABORT",
                    -1 => "FAIL",
                    v => panic!("result {v}"),
                };
                assert_eq!(inv.stdout, vec![format!("{id}: {word}")]);
                assert_eq!(
                    inv.rc,
                    if *value == 1 {
                        0
                    } else {
                        1 + 2 * (*value == 0) as i64
                    }
                );
                let count = |s: &str| {
                    inv.stdout
                        .iter()
                        .chain(&inv.stderr)
                        .filter(|l| l.to_lowercase().starts_with(s))
                        .count()
                };
                assert_eq!(inv.info, count("info"));
                assert_eq!(inv.warning, count("warning"));
                assert_eq!(inv.error, count("error"));
                assert_eq!(inv.critical, count("critical"));
                match value {
                    -1 => assert!(inv.error >= 1),
                    0 => assert_eq!(inv.critical, 1),
                    _ => assert_eq!(inv.error + inv.critical, 0),
                }
                assert!(
                    results.insert(id.clone(), *value).is_none(),
                    "one result per id"
                );
            }
            // MISSING test cases have no result entry; every other test case has one.
            for tc in cert.testcases() {
                assert_eq!(
                    results.get(&tc.id).copied(),
                    tc.verdict.scs_value(),
                    "{target} on {fixture_path}: {}",
                    tc.id
                );
            }
            assert_eq!(
                scs_evaluate(&results, &main_target(&cert)),
                cert.verdict.scs_value(),
                "{target} on {fixture_path}: SCS precedence disagrees with {:?}",
                cert.verdict
            );
            *seen.entry(cert.verdict).or_default() += 1;
        }
    }
    // The fixtures exercise every verdict the offline path can produce.
    for v in [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Abort,
        Verdict::Missing,
    ] {
        assert!(
            seen.contains_key(&v),
            "no case with verdict {v:?}: {seen:?}"
        );
    }
}

#[test]
fn failing_tests_are_reported_like_the_sonobuoy_handler() {
    let catalog = catalog();
    let cert = certify(
        &catalog,
        "scs-0219-v1",
        &fixture("derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz"),
    );
    assert_eq!(cert.verdict, Verdict::Fail);
    let text = scs::report::render(&cert, &catalog, &context("scs-0219-v1")).unwrap();
    let report: Report = serde_saphyr::from_str(&text).unwrap();
    let inv = report.run.invocations.values().next().unwrap();
    assert_eq!(inv.results["kaas-networking-check"], -1);
    let failed: Vec<_> = inv
        .stderr
        .iter()
        .filter(|l| l.starts_with("ERROR: FAILED: "))
        .collect();
    assert_eq!(failed.len(), 3, "{:#?}", inv.stderr);
    assert!(
        failed
            .iter()
            .all(|l| l.contains("CIDR") || l.contains("IPBlock"))
    );
}

#[test]
fn each_report_has_a_fresh_uuid_and_write_is_atomic() {
    let catalog = catalog();
    let cert = certify(
        &catalog,
        "scs-compatible-kaas",
        &fixture("e2e/v1.33-viola-cilium.junit_01.xml.gz"),
    );
    let out = tempfile::tempdir().unwrap();
    let path = scs::report::write(out.path(), &cert, &catalog, &context("x")).unwrap();
    assert_eq!(path, out.path().join("report.yaml"));
    let a: Report = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    scs::report::write(out.path(), &cert, &catalog, &context("x")).unwrap();
    let b: Report = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_ne!(
        a.run.uuid, b.run.uuid,
        "the monitor rejects a repeated run.uuid with 409"
    );
    let names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["report.yaml"]);
}

#[test]
fn an_empty_subject_is_refused() {
    let catalog = catalog();
    let cert = certify(
        &catalog,
        "scs-0201-v1",
        &fixture("e2e/v1.31-pske-calico.junit_01.xml.gz"),
    );
    let mut ctx = context("scs-0201-v1");
    ctx.subject = " ".into();
    assert!(scs::report::render(&cert, &catalog, &ctx).is_err());
}

/// Cross-check with Python and PyYAML (what SCS's tooling uses): load the report with
/// `yaml.safe_load`, check the key order and types, and evaluate it with SCS's precedence.
/// Runs only when `python3` with PyYAML is available (stdlib has no YAML parser).
#[test]
fn python_pyyaml_reads_the_report_like_scs() {
    let has_pyyaml = std::process::Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_pyyaml {
        eprintln!("SKIP: python3 with PyYAML not available");
        return;
    }
    let catalog = catalog();
    let dir = tempfile::tempdir().unwrap();
    for (i, (fixture_path, target)) in [
        (
            "derived/sonobuoy-v1.33-netpol-cilium.tar.gz",
            "scs-compatible-kaas",
        ),
        ("e2e/v1.33-viola-cilium.junit_01.xml.gz", "scs-0201-v1"),
        ("e2e/v1.33-viola-cilium.junit_01.xml.gz", "scs-0219-v1"),
        (
            "derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz",
            "scs-0219-v1",
        ),
    ]
    .iter()
    .enumerate()
    {
        let cert = certify(&catalog, target, &fixture(fixture_path));
        let sub = dir.path().join(i.to_string());
        let path = scs::report::write(&sub, &cert, &catalog, &context(target)).unwrap();
        let expected = match cert.verdict.scs_value() {
            Some(v) => v.to_string(),
            None => "None".into(),
        };
        let ids = main_target(&cert).join(",");
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(PY_CHECK)
            .arg(&path)
            .arg(&ids)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.trim(), expected, "{target} on {fixture_path}");
    }
}

const PY_CHECK: &str = r#"
import datetime, sys, yaml
with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
docs = list(yaml.safe_load_all(text))
assert len(docs) == 1, docs
doc = docs[0]
assert list(doc) == ["spec", "checked_at", "reference_date", "subject", "run"], list(doc)
assert list(doc["spec"]) == ["uuid", "name", "url"]
assert isinstance(doc["checked_at"], datetime.datetime), type(doc["checked_at"])
assert isinstance(doc["reference_date"], datetime.date)
assert list(doc["run"]) == ["uuid", "argv", "assignment", "sections", "forced_version",
                            "forced_tests", "invocations"], list(doc["run"])
results = {}
for key, inv in doc["run"]["invocations"].items():
    assert list(inv) == ["id", "cmd", "results", "rc", "stdout", "stderr",
                         "info", "warning", "error", "critical"], list(inv)
    assert key == inv["id"]
    # scs-compliance-check.py's compute_results() on the stdout lines
    parsed = {}
    for line in inv["stdout"]:
        parts = line.rsplit(":", 1)
        if len(parts) != 2:
            continue
        value = {"PASS": 1, "ABORT": 0, "FAIL": -1}.get(parts[1].strip().upper())
        if value is not None:
            parsed[parts[0].strip()] = value
    assert parsed == inv["results"], (parsed, inv["results"])
    for signal in ("info", "warning", "error", "critical"):
        n = len([l for l in inv["stderr"] + inv["stdout"] if l.lower().startswith(signal)])
        assert n == inv[signal], (signal, n, inv[signal])
    results.update(inv["results"])
# scs_cert_lib.evaluate
ids = sys.argv[2].split(",")
values = [results.get(i) for i in ids]
for v in (-1, None, 0):
    if v in values:
        print(v)
        break
else:
    print(1)
"#;
