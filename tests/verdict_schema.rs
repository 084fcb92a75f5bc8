//! verdict.json always validates against the published schema (docs/verdict.schema.json).

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
