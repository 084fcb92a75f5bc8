//! Snapshots of every document renderer on real fixtures: verdict.json, junit.xml, summary.md,
//! report.html, the terminal summary, report.yaml and the SCS protocol lines, and the fleet's
//! summary.md, fleet.json, fleet.html and report.yaml, compared byte for byte with the files in
//! tests/snapshots/. Times and uuids are fixed or masked, nothing else.
//!
//! After an intended change of an output: `UPDATE_SNAPSHOTS=1 cargo test --test snapshots`, then
//! review the diff of tests/snapshots/ like code.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::date;
use scs_conformance::definitions::catalog::Catalog;
use scs_conformance::definitions::{builtin, waiver};
use scs_conformance::evidence::cni::Cni;
use scs_conformance::evidence::results::{self, Limits};
use scs_conformance::reports;
use scs_conformance::scs;
use scs_conformance::scs::report::ReportContext;
use scs_conformance::verdict::certify::{self, Certification, GivenFacts};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares `actual` with tests/snapshots/`name`, or writes it with `UPDATE_SNAPSHOTS=1`.
fn snapshot(name: &str, actual: &str) {
    let path = root().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with UPDATE_SNAPSHOTS=1 cargo test --test snapshots",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its snapshot from line {}:\n--- expected\n{}\n--- actual\n{}\n\
             (UPDATE_SNAPSHOTS=1 cargo test --test snapshots accepts the change)",
            first + 1,
            expected
                .lines()
                .skip(first)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
            actual
                .lines()
                .skip(first)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
}

/// Replaces every uuid (v4 text form) by `UUID`.
fn mask_uuids(text: &str) -> String {
    let re =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    re.replace_all(text, "UUID").into_owned()
}

fn certify(catalog: &Catalog, target: &str, fixture: &str, cni: Option<&str>) -> Certification {
    let target = catalog.resolve(target, None).unwrap();
    let waivers = waiver::load(&builtin::waivers(), catalog).unwrap();
    let extract = tempfile::tempdir().unwrap();
    let results = results::load(
        &root().join("tests/fixtures").join(fixture),
        Some(extract.path()),
        Limits::default(),
    )
    .unwrap();
    let given = GivenFacts {
        cni: cni.map(|c| Cni::from_flag(c).unwrap()),
        kubernetes_version: None,
    };
    let today = date(2026, 8, 1);
    let mut cert =
        certify::certify_results(catalog, &target, &waivers, &results, given, today).unwrap();
    cert.generated_at = "2026-08-01T12:00:00Z".parse().unwrap();
    // The source path depends on the checkout; the file name does not.
    if let Some(r) = &mut cert.results {
        r.source = Path::new(&r.source)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        r.extracted_to = r.extracted_to.as_ref().map(|_| "EXTRACTED".to_string());
    }
    cert
}

fn all_renderers(name: &str, cert: &Certification, catalog: &Catalog) {
    snapshot(
        &format!("{name}.verdict.json"),
        &reports::json::render(cert),
    );
    snapshot(&format!("{name}.junit.xml"), &reports::junit::render(cert));
    snapshot(
        &format!("{name}.summary.md"),
        &reports::markdown::render(cert),
    );
    snapshot(&format!("{name}.report.html"), &reports::html::render(cert));
    snapshot(
        &format!("{name}.terminal.txt"),
        // As a pipe or NO_COLOR sees it; the colours are checked in tests/cli_conventions.rs.
        &anstream::adapter::strip_str(&reports::terminal::render(cert)).to_string(),
    );
    let ctx = ReportContext {
        subject: "acme-1.33".into(),
        argv: ["scs-conformance", "verdict", "--standard", "scs-0219-v1"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        assignment: BTreeMap::from([("kubeconfig".to_string(), "k.yaml".to_string())]),
        sections: None,
        forced_version: None,
        forced_tests: None,
        checked_at: date(2026, 8, 1).at(12, 0, 0, 123_456_000),
    };
    match scs::report::render(cert, catalog, &ctx) {
        Ok(report) => snapshot(&format!("{name}.report.yaml"), &mask_uuids(&report)),
        Err(e) => snapshot(&format!("{name}.report.yaml"), &format!("refused: {e}\n")),
    }
    let mut protocol: Vec<String> = scs::protocol::result_lines(cert);
    protocol.extend(scs::protocol::log_lines(cert).iter().map(|l| l.to_string()));
    snapshot(
        &format!("{name}.scs-protocol.txt"),
        &(protocol.join("\n") + "\n"),
    );
}

#[test]
fn networking_failures_without_and_with_the_cilium_waivers() {
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let fixture = "derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz";
    let cert = certify(&catalog, "scs-0219-v1", fixture, None);
    all_renderers("netpol-failed-unknown-cni", &cert, &catalog);
    let cert = certify(&catalog, "scs-0219-v1", fixture, Some("cilium"));
    all_renderers("netpol-failed-cilium", &cert, &catalog);
}

#[test]
fn a_whole_scope_from_a_real_node_archive() {
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let cert = certify(
        &catalog,
        "scs-compatible-kaas",
        "real/v1.35.4-kube-router-scs-0219-v1.tar.gz",
        None,
    );
    all_renderers("real-node-scope", &cert, &catalog);
}

#[test]
fn a_partial_sonobuoy_run_is_abort() {
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let cert = certify(
        &catalog,
        "scs-0201-v1",
        "e2e/sonobuoy-v1.21-quick.tar.gz",
        None,
    );
    all_renderers("quick-run-abort", &cert, &catalog);
}

#[test]
fn the_abort_record_as_a_page() {
    let mut record = reports::ErrorRecord::new(
        "verdict",
        "/tmp/in/junit_01.xml: line 1: malformed XML: unexpected <b> \"x\" & 'y'",
    );
    record.generated_at = "2026-08-01T12:00:00Z".parse().unwrap();
    snapshot("abort.report.html", &reports::html::render_error(&record));
}

/// The fleet's outputs for two subjects of the SCS scope: one whose test cases all passed and
/// was published, one with a failed e2e test case, an aborted native check and a report the
/// monitor refused. Times are fixed; the outputs link only files that exist.
#[test]
fn fleet_outputs_of_a_passing_and_a_failing_subject() {
    use scs_conformance::definitions::catalog::Lifetime;
    use scs_conformance::verdict::Verdict;
    use scs_conformance_cli::fleet::{self, JobOutcome, ScopeInfo, TestcaseOutcome};

    let out = tempfile::tempdir().unwrap();
    let started: jiff::Timestamp = "2026-12-01T02:00:00Z".parse().unwrap();
    let scope = ScopeInfo {
        id: "scs-compatible-kaas".into(),
        name: "SCS-compatible KaaS".into(),
        uuid: "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180".into(),
        url: "https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/scs-compatible-kaas.yaml".into(),
        versions: vec!["v1".into()],
    };
    let testcase = |subject: &str, id: &str, module: &str, verdict: Verdict, reason: &str| {
        let dir = PathBuf::from(subject).join("scs-compatible-kaas").join(id);
        std::fs::create_dir_all(out.path().join(&dir)).unwrap();
        std::fs::write(out.path().join(&dir).join("verdict.json"), "{}").unwrap();
        TestcaseOutcome {
            id: id.into(),
            module: module.into(),
            lifetime: Lifetime::Week,
            verdict,
            reason: reason.into(),
            cmd: format!("scs-conformance scs-check -c {id}"),
            rc: Some(match verdict {
                Verdict::Pass => 0,
                Verdict::Fail => 1,
                _ => 112,
            }),
            stdout: Vec::new(),
            stderr: Vec::new(),
            result: Some(match verdict {
                Verdict::Pass => 1,
                Verdict::Fail => -1,
                _ => 0,
            }),
            dir,
            seconds: 61.5,
            reused: None,
        }
    };
    let job = |subject: &str, testcases: Vec<TestcaseOutcome>, published| JobOutcome {
        scope: scope.clone(),
        subject: subject.into(),
        mapping: BTreeMap::from([("subject_root".to_string(), subject.to_string())]),
        verdict: verdict_of(&testcases),
        testcases,
        dir: PathBuf::from(subject).join("scs-compatible-kaas"),
        started: jiff::civil::date(2026, 12, 1).at(3, 0, 0, 0),
        started_at: started,
        run_uuid: "5f0e3a4c-1111-4222-8333-444455556666".into(),
        seconds: 125.0,
        timed_out: false,
        interrupted: false,
        published,
    };
    fn verdict_of(t: &[TestcaseOutcome]) -> Verdict {
        scs_conformance::verdict::overall(t.iter().map(|t| t.verdict))
    }
    let jobs = vec![
        job(
            "provider-a-1.35",
            vec![
                testcase(
                    "provider-a-1.35",
                    "cncf-k8s-conformance",
                    "scs-0201-v1",
                    Verdict::Pass,
                    "PASS: 437 of 441 selected tests passed, 4 waived",
                ),
                testcase(
                    "provider-a-1.35",
                    "kaas-networking-check",
                    "scs-0219-v1",
                    Verdict::Pass,
                    "PASS: 46 of 47 selected tests passed, 1 waived",
                ),
            ],
            Some(Ok("stored".to_string())),
        ),
        job(
            "provider-b-1.37",
            vec![
                testcase(
                    "provider-b-1.37",
                    "kaas-networking-check",
                    "scs-0219-v1",
                    Verdict::Fail,
                    "FAIL: 3 of 48 selected tests failed",
                ),
                testcase(
                    "provider-b-1.37",
                    "version-policy-check",
                    "scs-0210-v2",
                    Verdict::Abort,
                    "cannot reach the Kubernetes API server https://10.0.0.1:6443",
                ),
            ],
            Some(Err("HTTP 401: signature does not verify".to_string())),
        ),
    ];
    snapshot(
        "fleet.summary.md",
        &fleet::summary::markdown(&jobs, out.path(), 130.25, 2),
    );
    snapshot(
        "fleet.json",
        &serde_json::to_string_pretty(&fleet::summary::json(&jobs, 130.25, 2)).unwrap(),
    );
    snapshot(
        "fleet.html",
        &fleet::html::render(&jobs, out.path(), 130.25, 2, started),
    );
    let argv = vec!["scs-conformance".to_string(), "fleet".to_string()];
    let report: String = jobs
        .iter()
        .map(|j| fleet::report::render(j, &argv, None, jiff::civil::date(2026, 12, 1)))
        .collect();
    // Each invocation has a fresh uuid, as in SCS's reports.
    snapshot("fleet.report.yaml", &mask_uuids(&report));
}
