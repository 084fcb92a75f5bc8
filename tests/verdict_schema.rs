//! verdict.json always validates against the published schema (docs/verdict.schema.json).

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;

#[test]
fn verdict_json_matches_the_published_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("docs/verdict.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let cases: [&[&str]; 4] = [
        &[
            "--standard",
            "scs-compatible-kaas",
            "--results",
            "tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz",
        ],
        &[
            "--standard",
            "scs-0219-v1",
            "--cni",
            "calico",
            "--results",
            "tests/fixtures/derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz",
        ],
        &[
            "--standard",
            "cncf-k8s-conformance",
            "--results",
            "tests/fixtures/e2e/sonobuoy-v1.21-quick.tar.gz",
        ],
        &[
            "--standard",
            "scs-0219-v1",
            "--cni",
            "cilium",
            "--date",
            "2028-01-01",
            "--results",
            "tests/fixtures/derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz",
        ],
    ];
    for args in cases {
        let out = tempfile::tempdir().unwrap();
        Command::cargo_bin("scs-conformance")
            .unwrap()
            .current_dir(root)
            .arg("verdict")
            .args(args)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.path().join("verdict.json")).unwrap())
                .unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{args:?}:\n{}", errors.join("\n"));
    }
}

/// A verdict of `rerun-failed` (runs[], tests[].run, test cases' runs, cluster.id) validates too.
/// Merged offline through the engine, as `rerun-failed` merges: the earlier verdict is the
/// bundled NetworkPolicy run judged for Calico (three failures), the rerun's report the same
/// archive.
#[test]
fn a_merged_verdict_of_rerun_failed_matches_the_published_schema() {
    use scs_conformance::definitions::builtin;
    use scs_conformance::definitions::catalog::{Catalog, Testcase};
    use scs_conformance::definitions::waiver::{self, ClusterContext};
    use scs_conformance::evidence::cni::Cni;
    use scs_conformance::evidence::results::{self, Limits};
    use scs_conformance::verdict::certify::ClusterFacts;
    use scs_conformance::verdict::rerun::{Earlier, MergeInput, RunInfo, Waived};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let archive = root.join("tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz");
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("docs/verdict.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let out = tempfile::tempdir().unwrap();
    Command::cargo_bin("scs-conformance")
        .unwrap()
        .current_dir(root)
        .args(["verdict", "--standard", "scs-0219-v1", "--cni", "calico"])
        .args(["--date", "2026-11-25", "--k8s-version", "1.33", "--results"])
        .arg(root.join("tests/fixtures/derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let mut earlier: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("verdict.json")).unwrap()).unwrap();
    earlier["cluster"]["id"] = "2f1c9d7e-0000-4000-8000-000000000001".into();
    let from = out.path().join("earlier.json");
    std::fs::write(&from, serde_json::to_vec(&earlier).unwrap()).unwrap();

    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
    let earlier = Earlier::load(&from).unwrap();
    let target = earlier.resolve(&catalog).unwrap();
    let ctx = ClusterContext::new(
        Cni::from_flag("calico").unwrap(),
        Some("v1.33.3"),
        jiff::civil::date(2026, 11, 25),
    )
    .unwrap();
    let rerun = earlier.plan(
        &catalog,
        &target,
        Waived::Keep {
            waivers: &waivers,
            ctx: &ctx,
        },
    );
    assert!(!rerun.is_empty());
    let results = results::load(&archive, None, Limits::default()).unwrap();
    let report = results.e2e.as_ref().unwrap();
    let cert = rerun.certify(
        &MergeInput {
            catalog: &catalog,
            target: &target,
            waivers: &waivers,
            ctx: &ctx,
            not_run: &"not run",
            specs: Default::default(),
        },
        &|_: &Testcase| Some(Ok(report)),
        Default::default(),
        ClusterFacts {
            kubernetes_version: Some("v1.33.3".into()),
            cni: ctx.cni.clone(),
            nodes: Vec::new(),
            id: Some("2f1c9d7e-0000-4000-8000-000000000001".into()),
        },
        None,
        RunInfo {
            number: 0,
            command: "rerun-failed".into(),
            started_at: jiff::Timestamp::now(),
            namespace: Some("sonobuoy".into()),
            sonobuoy_uuids: vec!["a2b1".into()],
            verdict: None,
        },
    );
    let doc: serde_json::Value =
        serde_json::from_str(&scs_conformance::reports::json::render(&cert)).unwrap();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 2);
    assert!(doc["modules"][0]["testcases"][0]["tests"][0]["run"].is_u64());
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // A field of the wrong type is caught: the schema does describe runs[].
    let mut bad = doc.clone();
    bad["runs"][0]["verdict"]["sha256"] = "not-a-digest".into();
    assert!(!validator.is_valid(&bad));
}
