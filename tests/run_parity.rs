//! The objects we create match `sonobuoy gen` (the real Sonobuoy v0.57.5 CLI, built by testenv)
//! for the same options, except for generated ids.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(clippy::collapsible_if)]
#[path = "support/testenv.rs"]
mod testenv;

use std::process::Command;

use scs_conformance::evidence::sonobuoy::manifest::{self, PodSecurity, RunSpec, TestImages};
use serde_json::Value;

fn sonobuoy_gen(args: &[&str]) -> Vec<Value> {
    // Builds the pinned binaries if needed (and starts testenv, which gen does not need).
    testenv::kubeconfig();
    let bin = testenv::kubectl_binary().with_file_name("sonobuoy");
    let o = Command::new(&bin).arg("gen").args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    text.split("\n---")
        .map(str::trim)
        .filter(|d| !d.is_empty() && *d != "---")
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap())
        .collect()
}

/// Parses the embedded documents (config.json, plugin-0.yaml) so they compare by content, and
/// blanks the generated run UUID.
fn normalise(mut objects: Vec<Value>) -> Vec<Value> {
    for o in &mut objects {
        if let Some(data) = o.get_mut("data").and_then(Value::as_object_mut) {
            if let Some(Value::String(cfg)) = data.get("config.json").cloned() {
                let mut cfg: Value = serde_json::from_str(&cfg).unwrap();
                cfg["UUID"] = Value::String(String::new());
                data.insert("config.json".into(), cfg);
            }
            if let Some(Value::String(plugin)) = data.get("plugin-0.yaml").cloned() {
                // `sonobuoy gen` writes the plugin's YAML with block scalars; compare content.
                data.insert(
                    "plugin-0.yaml".into(),
                    serde_saphyr::from_str(&plugin).unwrap(),
                );
            }
        }
    }
    objects.sort_by_key(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]));
    objects
}

#[test]
fn our_objects_match_sonobuoy_gen() {
    let spec = RunSpec {
        namespace: "scs-parity".into(),
        uuid: "generated".into(),
        focus: r"\[Feature:NetworkPolicy\]|\[sig-network\] (Netpol|NetworkPolicy) API ".into(),
        skip: r"\[Feature:SCTPConnectivity\]".into(),
        parallel: true,
        ginkgo_args: vec!["--flake-attempts=2".into()],
        conformance_image: "registry.k8s.io/conformance:v1.33.3".into(),
        kubernetes_version: "v1.33.3".into(),
        aggregator_image: RunSpec::default_aggregator_image(None),
        test_images: TestImages::Upstream,
        image_pull_secret: None,
        pod_security: PodSecurity::Privileged,
        timeout_seconds: 21600,
    };
    let theirs = sonobuoy_gen(&[
        "--plugin",
        "e2e",
        "--namespace",
        "scs-parity",
        "--kubernetes-version",
        "v1.33.3",
        "--e2e-focus",
        &spec.focus,
        "--e2e-skip",
        &spec.skip,
        "--plugin-env",
        "e2e.E2E_PARALLEL=true",
        "--plugin-env",
        "e2e.E2E_EXTRA_GINKGO_ARGS=--flake-attempts=2",
    ]);
    let ours = manifest::objects(&spec);
    assert_eq!(normalise(ours), normalise(theirs));
}

#[test]
fn air_gapped_and_pod_security_options_match_sonobuoy_gen() {
    let dir = tempfile::tempdir().unwrap();
    let repo_list = "dockerLibraryRegistry: mirror.local/library\npromoterE2eRegistry: mirror.local/e2e-test-images\n";
    let repo_file = dir.path().join("repo-list.yaml");
    std::fs::write(&repo_file, repo_list).unwrap();
    // sonobuoy gen has no flag for a pull secret: its config file has the key.
    let bin = testenv::kubectl_binary().with_file_name("sonobuoy");
    let o = Command::new(&bin).args(["gen", "config"]).output().unwrap();
    assert!(o.status.success());
    let mut config: Value = serde_json::from_slice(&o.stdout).unwrap();
    config["ImagePullSecrets"] = Value::String("mirror-pull".into());
    let config_file = dir.path().join("config.json");
    std::fs::write(&config_file, config.to_string()).unwrap();

    let spec = RunSpec {
        namespace: "scs-parity-airgap".into(),
        uuid: "generated".into(),
        focus: r"\[Feature:NetworkPolicy\]".into(),
        // Non-empty: `sonobuoy gen` leaves an empty skip out, we always set it.
        skip: r"\[Feature:SCTPConnectivity\]".into(),
        parallel: false,
        ginkgo_args: Vec::new(),
        conformance_image: "mirror.local/conformance:v1.35.4".into(),
        kubernetes_version: "v1.35.4".into(),
        aggregator_image: RunSpec::default_aggregator_image(Some("mirror.local")),
        test_images: TestImages::RepoList {
            file_name: "repo-list.yaml".into(),
            content: repo_list.into(),
        },
        image_pull_secret: Some("mirror-pull".into()),
        pod_security: PodSecurity::Baseline,
        timeout_seconds: 21600,
    };
    let theirs = sonobuoy_gen(&[
        "--config",
        config_file.to_str().unwrap(),
        "--plugin",
        "e2e",
        "--namespace",
        "scs-parity-airgap",
        "--kubernetes-version",
        "v1.35.4",
        "--kube-conformance-image",
        "mirror.local/conformance:v1.35.4",
        "--sonobuoy-image",
        "mirror.local/sonobuoy/sonobuoy:v0.57.5",
        "--e2e-focus",
        &spec.focus,
        "--e2e-skip",
        &spec.skip,
        "--plugin-env",
        "e2e.E2E_PARALLEL=false",
        "--e2e-repo-config",
        repo_file.to_str().unwrap(),
        "--namespace-psa-enforce-level",
        "baseline",
    ]);
    let (ours, theirs) = (normalise(manifest::objects(&spec)), normalise(theirs));
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(
            serde_json::to_string_pretty(a).unwrap(),
            serde_json::to_string_pretty(b).unwrap()
        );
    }
    assert_eq!(ours.len(), theirs.len());
}
