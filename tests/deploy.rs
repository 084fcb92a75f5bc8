//! The Kubernetes manifests of `deploy/kustomize` (docs/fleet.md, "As Kubernetes Jobs"): every
//! overlay builds with `kubectl kustomize`, the API server of a testenv kwok cluster (instance 16)
//! accepts every object in a server-side dry run, the runner gets no rights and no token on the
//! management cluster, and the example config loads as a fleet config.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/testenv.rs"]
mod testenv;

use std::io::Write;

use scs_conformance_cli::fleet::config::ClusterAccess;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const OVERLAYS: &[&str] = &["base", "example", "per-subject", "in-cluster"];
/// Overlays that certify no cluster the runner runs in: no rights, no token.
const LEAST_PRIVILEGE: &[&str] = &["base", "example", "per-subject"];

fn kustomize(overlay: &str) -> String {
    let dir = testenv::repo_root().join("deploy/kustomize").join(overlay);
    let o = Command::new(testenv::kubectl_binary())
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "kubectl kustomize {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn instance(n: u32) -> PathBuf {
    let o = Command::new(testenv::repo_root().join("testenv/up"))
        .args(["--instance", &n.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "testenv/up --instance {n}:\n{}{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    PathBuf::from(stdout.lines().last().unwrap_or("").trim())
}

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(testenv::kubectl_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn every_overlay_builds_and_least_privilege_holds() {
    for overlay in LEAST_PRIVILEGE {
        let y = kustomize(overlay);
        // No rights on the management cluster, no token in the pods, nothing privileged.
        for kind in [
            "kind: ClusterRole",
            "kind: Role",
            "kind: ClusterRoleBinding",
            "kind: RoleBinding",
        ] {
            assert!(!y.contains(&format!("{kind}\n")), "{overlay}: {kind}");
        }
        let pods = y.matches("restartPolicy: Never").count();
        assert!(pods >= 1, "{overlay}");
        for needed in [
            "automountServiceAccountToken: false",
            "runAsNonRoot: true",
            "readOnlyRootFilesystem: true",
            "allowPrivilegeEscalation: false",
        ] {
            assert!(
                y.matches(needed).count() >= pods,
                "{overlay}: {needed} missing in a pod\n{y}"
            );
        }
        assert!(
            y.contains("image: localhost/scs-conformance:0.1.0"),
            "{overlay}"
        );
    }
    let per = kustomize("per-subject");
    assert!(!per.contains("kind: CronJob"));
    assert_eq!(per.matches("kind: Job\n").count(), 2);
    assert!(per.contains("- ReadWriteMany"));
}

#[test]
fn only_the_in_cluster_overlay_grants_rights_and_only_to_certify_its_own_cluster() {
    let y = kustomize("in-cluster");
    // Top-level kinds only (a binding's roleRef says `kind: ClusterRole` too).
    for kind in [
        "\nkind: ClusterRole\n",
        "\nkind: Role\n",
        "\nkind: RoleBinding\n",
    ] {
        assert!(!y.contains(kind), "{kind}");
    }
    assert_eq!(y.matches("kind: ClusterRoleBinding\n").count(), 1);
    assert!(y.contains("name: cluster-admin"), "{y}");
    // The token is mounted in the fleet pod only; the service account keeps it off elsewhere.
    assert!(
        y.contains("          automountServiceAccountToken: true"),
        "{y}"
    );
    for needed in [
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
    ] {
        assert!(y.contains(needed), "{needed}");
    }
    let path = testenv::repo_root().join("deploy/kustomize/in-cluster/config.toml");
    let c =
        scs_conformance_cli::fleet::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        c.subject("management").unwrap().access,
        ClusterAccess::InCluster
    );
}

#[test]
fn the_api_server_accepts_every_object_in_a_server_side_dry_run() {
    let kc = instance(16);
    // Namespaced objects are only checked once their namespace exists.
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: scs-conformance\n";
    let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], ns);
    assert!(ok, "{out}");
    for overlay in OVERLAYS {
        let y = kustomize(overlay);
        let (ok, out) = kubectl(&kc, &["apply", "--dry-run=server", "-f", "-"], &y);
        assert!(ok, "{overlay}: {out}");
        assert!(out.contains("(server dry run)"), "{overlay}: {out}");
    }
}

#[test]
fn the_example_config_is_a_fleet_config() {
    let path = testenv::repo_root().join("deploy/kustomize/example/config.toml");
    let c =
        scs_conformance_cli::fleet::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        c.presets["nightly"].subjects,
        vec!["cluster-a", "cluster-b"]
    );
    let s = c.subject("cluster-a").unwrap();
    assert_eq!(
        s.access,
        ClusterAccess::Kubeconfig("/etc/scs/secrets/cluster-a.kubeconfig".into())
    );
    assert_eq!(c.keyfile, Some(PathBuf::from("/etc/scs/secrets/keyfile")));
}
