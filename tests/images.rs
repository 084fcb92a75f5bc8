//! `scs-conformance images`: the images of a run for an air-gapped cluster, their names in a
//! mirror and the KUBE_TEST_REPO_LIST file, from the built-in data (no cluster needed).
//! The expected images are facts of k8s.io/kubernetes `test/utils/image/manifest.go` of that
//! release (v1.35.4: agnhost 2.59, pause 3.10.1; v1.31.4: agnhost 2.52 and the registry key
//! gcAuthenticatedRegistry, gone since 1.35).

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Output;

use assert_cmd::Command;

fn images(args: &[&str]) -> Output {
    let out = Command::cargo_bin("scs-conformance")
        .unwrap()
        .arg("images")
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}

fn ok(args: &[&str]) -> (String, String) {
    let out = images(args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

fn failure(args: &[&str]) -> (i32, String) {
    let out = images(args);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines that are images (not comments), split into columns.
fn image_lines(stdout: &str) -> Vec<Vec<&str>> {
    stdout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect()
}

const KEYS_1_35: [&str; 9] = [
    "promoterE2eRegistry",
    "buildImageRegistry",
    "invalidRegistry",
    "gcEtcdRegistry",
    "gcRegistry",
    "sigStorageRegistry",
    "privateRegistry",
    "dockerLibraryRegistry",
    "cloudProviderGcpRegistry",
];

#[test]
fn a_release_lists_sonobuoy_conformance_and_its_e2e_images() {
    let (stdout, stderr) = ok(&["--k8s-version", "1.35.4"]);
    assert!(
        stderr.is_empty(),
        "an exact release warns about nothing: {stderr}"
    );
    let lines: Vec<&str> = image_lines(&stdout).into_iter().map(|c| c[0]).collect();
    assert_eq!(lines[0], "docker.io/sonobuoy/sonobuoy:v0.57.5");
    assert_eq!(lines[1], "registry.k8s.io/conformance:v1.35.4");
    for expected in [
        "registry.k8s.io/e2e-test-images/agnhost:2.59",
        "registry.k8s.io/pause:3.10.1",
        "registry.k8s.io/etcd:3.6.6-0",
        "registry.k8s.io/sig-storage/csi-provisioner:v6.0.0",
    ] {
        assert!(lines.contains(&expected), "{expected} missing:\n{stdout}");
    }
    // 49 in `e2e.test --list-images`; the 2 that cannot be mirrored are comments, with why.
    assert_eq!(lines.len(), 2 + 47, "{stdout}");
    assert!(!lines.iter().any(|l| l.contains("invalid.registry.k8s.io")));
    assert!(
        stdout.contains("#   invalid.registry.k8s.io/invalid/alpine:3.1 (invalidRegistry): "),
        "{stdout}"
    );
    assert!(
        stdout.contains("#   gcr.io/k8s-authenticated-test/agnhost:2.6 (privateRegistry): "),
        "{stdout}"
    );
}

#[test]
fn mirror_names_and_the_repo_list_agree() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repo-list.yaml");
    let (stdout, stderr) = ok(&[
        "--k8s-version",
        "v1.35.4",
        "--mirror",
        "mirror.local:5000/",
        "--repo-list",
        file.to_str().unwrap(),
    ]);
    assert!(stderr.contains("--e2e-repo-config"), "{stderr}");
    let pairs: BTreeMap<&str, &str> = image_lines(&stdout)
        .into_iter()
        .map(|c| {
            assert_eq!(c.len(), 2, "{c:?}");
            (c[0], c[1])
        })
        .collect();
    for (source, mirror) in [
        (
            "docker.io/sonobuoy/sonobuoy:v0.57.5",
            "mirror.local:5000/sonobuoy/sonobuoy:v0.57.5",
        ),
        (
            "registry.k8s.io/conformance:v1.35.4",
            "mirror.local:5000/conformance:v1.35.4",
        ),
        (
            "registry.k8s.io/e2e-test-images/agnhost:2.59",
            "mirror.local:5000/e2e-test-images/agnhost:2.59",
        ),
        (
            "registry.k8s.io/pause:3.10.1",
            "mirror.local:5000/pause:3.10.1",
        ),
        (
            "registry.k8s.io/sig-storage/csi-provisioner:v6.0.0",
            "mirror.local:5000/sig-storage/csi-provisioner:v6.0.0",
        ),
    ] {
        assert_eq!(pairs.get(source), Some(&mirror), "{source}");
    }

    let yaml = std::fs::read_to_string(&file).unwrap();
    let list: BTreeMap<String, String> = serde_saphyr::from_str(&yaml).unwrap();
    let mut keys: Vec<&str> = list.keys().map(String::as_str).collect();
    let mut expected = KEYS_1_35.to_vec();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected, "{yaml}");
    assert_eq!(
        list["promoterE2eRegistry"],
        "mirror.local:5000/e2e-test-images"
    );
    assert_eq!(list["gcRegistry"], "mirror.local:5000");
    assert_eq!(list["gcEtcdRegistry"], "mirror.local:5000");
    assert_eq!(list["sigStorageRegistry"], "mirror.local:5000/sig-storage");
    assert_eq!(list["dockerLibraryRegistry"], "mirror.local:5000/library");
    // Not mirrorable: left at the defaults, so those specs behave as without the list.
    assert_eq!(list["invalidRegistry"], "invalid.registry.k8s.io/invalid");
    assert_eq!(list["privateRegistry"], "gcr.io/k8s-authenticated-test");
    // Every mirrored e2e image is its registry's location plus the path below the default.
    for (source, mirror) in &pairs {
        if let Some(path) = source.strip_prefix("registry.k8s.io/e2e-test-images/") {
            assert_eq!(*mirror, format!("{}/{path}", list["promoterE2eRegistry"]));
        }
    }
}

#[test]
fn an_older_release_has_its_own_registry_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repo-list.yaml");
    let (stdout, _) = ok(&[
        "--k8s-version",
        "1.31.4",
        "--mirror",
        "m.example",
        "--repo-list",
        file.to_str().unwrap(),
    ]);
    let list: BTreeMap<String, String> =
        serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut keys: Vec<&str> = list.keys().map(String::as_str).collect();
    let mut expected = KEYS_1_35.to_vec();
    expected.push("gcAuthenticatedRegistry");
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(
        list["gcAuthenticatedRegistry"],
        "gcr.io/authenticated-image-pulling"
    );
    let sources: Vec<&str> = image_lines(&stdout).into_iter().map(|c| c[0]).collect();
    assert!(sources.contains(&"registry.k8s.io/e2e-test-images/agnhost:2.52"));
    assert!(sources.contains(&"registry.k8s.io/pause:3.10"));
    assert!(
        stdout.contains(
            "#   gcr.io/authenticated-image-pulling/alpine:3.7 (gcAuthenticatedRegistry): "
        )
    );
}

#[test]
fn json_output_parses() {
    let (stdout, _) = ok(&["--k8s-version", "1.36.3", "--mirror", "m.example", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["kubernetes"], "1.36.3");
    assert_eq!(v["e2e_release"], "v1.36.3");
    assert_eq!(v["basis"], "exact");
    let images = v["images"].as_array().unwrap();
    assert_eq!(images[0]["role"], "sonobuoy");
    assert_eq!(images[1]["role"], "conformance");
    assert_eq!(images[1]["image"], "registry.k8s.io/conformance:v1.36.3");
    assert_eq!(images[1]["mirror"], "m.example/conformance:v1.36.3");
    assert!(
        images
            .iter()
            .all(|i| i["mirror"].as_str().unwrap().starts_with("m.example/"))
    );
    assert!(
        images
            .iter()
            .filter(|i| i["role"] == "e2e")
            .all(|i| i["registry"].is_string())
    );
    assert_eq!(v["not_mirrorable"].as_array().unwrap().len(), 2);
    assert_eq!(v["registries"].as_array().unwrap().len(), 9);
}

#[test]
fn a_minor_alone_shows_the_conformance_tag_as_a_pattern() {
    let (stdout, stderr) = ok(&["--k8s-version", "1.35"]);
    let sources: Vec<&str> = image_lines(&stdout).into_iter().map(|c| c[0]).collect();
    assert!(
        !sources.iter().any(|s| s.contains("conformance")),
        "{stdout}"
    );
    assert!(
        stdout.contains("registry.k8s.io/conformance:v1.35.<patch>"),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning: e2e test images of v1.35."),
        "{stderr}"
    );
    assert!(stderr.contains("distroless-iptables"), "{stderr}");
}

#[test]
fn bad_and_unknown_versions_are_errors_naming_the_flag() {
    let (code, stderr) = failure(&["--k8s-version", "1.x"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--k8s-version"), "{stderr}");

    let (code, stderr) = failure(&["--k8s-version", "1.30.2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--k8s-version 1.30.2"), "{stderr}");
    assert!(stderr.contains("1.31, 1.32"), "{stderr}");
    assert!(stderr.contains("e2e.test --list-images"), "{stderr}");
    assert!(
        stderr.contains("registry.k8s.io/conformance:v1.30.2"),
        "{stderr}"
    );
}

#[test]
fn usage_errors() {
    // No version and no cluster.
    assert_eq!(failure(&[]).0, 2);
    // A repo list needs a mirror.
    assert_eq!(
        failure(&["--k8s-version", "1.35.4", "--repo-list", "x.yaml"]).0,
        2
    );
    // Version and cluster together.
    assert_eq!(
        failure(&["--k8s-version", "1.35.4", "--kubeconfig", "k.yaml"]).0,
        2
    );
    let (code, stderr) = failure(&["--k8s-version", "1.35.4", "--mirror", "https://m.example"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--mirror"), "{stderr}");
}

#[test]
fn an_unreachable_cluster_is_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // Port 1 on loopback: the connection is refused at once.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n\
         users:\n- name: u\n  user:\n    token: t\n",
    )
    .unwrap();
    let (code, stderr) = failure(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("https://127.0.0.1:1"), "{stderr}");
}

/// A one-route API server: `/version` answers `git_version`, anything else 404.
fn fake_api_server(git_version: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let path = String::from_utf8_lossy(&request)
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let (status, body) = if path == "/version" {
                (
                    "200 OK",
                    format!(
                        r#"{{"major":"1","minor":"35","gitVersion":"{git_version}","gitCommit":"0","gitTreeState":"clean","buildDate":"2026-01-01T00:00:00Z","goVersion":"go1.25","compiler":"gc","platform":"linux/amd64"}}"#
                    ),
                )
            } else {
                ("404 Not Found", "{}".to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

#[test]
fn the_version_comes_from_the_cluster_of_a_kubeconfig() {
    let server = fake_api_server("v1.35.4-gke.100");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n\
             users:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    let (stdout, stderr) = ok(&["--kubeconfig", kubeconfig.to_str().unwrap(), "--json"]);
    assert!(stderr.is_empty(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["kubernetes"], "v1.35.4-gke.100");
    assert_eq!(v["e2e_release"], "v1.35.4");
    assert_eq!(v["basis"], "exact");
    // The vendor suffix is not part of the conformance image's tag.
    assert_eq!(
        v["images"][1]["image"],
        "registry.k8s.io/conformance:v1.35.4"
    );
}
