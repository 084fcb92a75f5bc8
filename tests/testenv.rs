//! Integration tests for the local control plane (`testenv/`, docs/testenv.md) through kube-rs:
//! a real kube-apiserver with kube-controller-manager, kube-scheduler and kwok fake nodes.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/testenv.rs"]
mod testenv;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    Container, Namespace, Node, Pod, PodSpec, PodTemplateSpec, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use kube::runtime::wait::await_condition;

const TIMEOUT: Duration = Duration::from_secs(60);

fn pod(name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some("registry.invalid/fake:1".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn server_version_is_pinned_release() {
    let client = testenv::client().await;
    let v = client.apiserver_version().await.expect("GET /version");
    assert!(
        v.git_version.starts_with("v1.3") && !v.git_version.contains("0.0.0"),
        "unexpected /version gitVersion {:?}",
        v.git_version
    );
}

#[tokio::test]
async fn lists_ready_fake_nodes_with_zone_labels() {
    let client = testenv::client().await;
    let nodes = Api::<Node>::all(client)
        .list(&ListParams::default())
        .await
        .expect("list nodes");
    assert!(
        nodes.items.len() >= 3,
        "expected >= 3 nodes, got {}",
        nodes.items.len()
    );
    let mut zones = std::collections::BTreeSet::new();
    let mut control_planes = 0;
    for n in &nodes.items {
        let name = n.metadata.name.clone().unwrap_or_default();
        let l = n.metadata.labels.clone().unwrap_or_default();
        for key in [
            "topology.kubernetes.io/zone",
            "topology.kubernetes.io/region",
            "kubernetes.io/os",
            "kubernetes.io/arch",
            "kubernetes.io/hostname",
        ] {
            assert!(l.contains_key(key), "node {name} lacks label {key}");
        }
        zones.insert(l["topology.kubernetes.io/zone"].clone());
        if l.contains_key("node-role.kubernetes.io/control-plane") {
            control_planes += 1;
        }
        let status = n.status.as_ref().expect("node status");
        let ready = status
            .conditions
            .as_ref()
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.as_str());
        assert_eq!(ready, Some("True"), "node {name} not Ready");
        let internal_ip = status
            .addresses
            .as_ref()
            .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"));
        assert!(internal_ip.is_some(), "node {name} has no InternalIP");
    }
    assert!(zones.len() >= 3, "expected 3 zones, got {zones:?}");
    assert!(control_planes >= 1, "no control-plane node");
}

#[tokio::test]
async fn namespace_create_and_delete() {
    let client = testenv::client().await;
    let ns = testenv::namespace("ns-delete").await;
    // Something for the namespace controller to clean up.
    let pods: Api<Pod> = ns.api();
    pods.create(&PostParams::default(), &pod("p"))
        .await
        .expect("create pod");
    testenv::delete_namespace_and_wait(&client, &ns.name, Duration::from_secs(90)).await;
    assert!(
        Api::<Namespace>::all(client)
            .get_opt(&ns.name)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn pod_reaches_running() {
    let ns = testenv::namespace("pod-running").await;
    let pods: Api<Pod> = ns.api();
    pods.create(&PostParams::default(), &pod("runner"))
        .await
        .expect("create pod");
    let p = testenv::wait_pod_running(&pods, "runner", TIMEOUT).await;
    let status = p.status.unwrap();
    assert!(p.spec.unwrap().node_name.is_some(), "pod was not scheduled");
    assert!(status.pod_ip.is_some(), "running pod has no IP");
}

#[tokio::test]
async fn daemonset_rolls_out_to_every_node() {
    let ns = testenv::namespace("daemonset").await;
    let node_count = Api::<Node>::all(ns.client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len() as i32;
    let sel = labels(&[("app", "ds-test")]);
    let ds = DaemonSet {
        metadata: ObjectMeta {
            name: Some("ds".into()),
            ..Default::default()
        },
        spec: DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(sel.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(sel),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    // Like Sonobuoy's systemd-logs: run on every node, tainted control planes too.
                    tolerations: Some(vec![Toleration {
                        operator: Some("Exists".into()),
                        ..Default::default()
                    }]),
                    ..pod("x").spec.unwrap()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<DaemonSet> = ns.api();
    api.create(&PostParams::default(), &ds)
        .await
        .expect("create daemonset");
    let rolled_out = move |obj: Option<&DaemonSet>| {
        obj.and_then(|d| d.status.as_ref()).is_some_and(|s| {
            s.desired_number_scheduled == node_count && s.number_ready == node_count
        })
    };
    tokio::time::timeout(TIMEOUT, await_condition(api.clone(), "ds", rolled_out))
        .await
        .unwrap_or_else(|_| {
            panic!("daemonset not ready on all {node_count} nodes after {TIMEOUT:?}")
        })
        .expect("watch daemonset");
}

#[tokio::test]
async fn exec_runs_local_command_with_binary_output() {
    let ns = testenv::namespace("exec").await;
    let pods: Api<Pod> = ns.api();
    pods.create(&PostParams::default(), &pod("target"))
        .await
        .expect("create pod");
    testenv::wait_pod_running(&pods, "target", TIMEOUT).await;

    // A local script standing in for a process inside the pod, printing binary data.
    let dir = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = (0..2_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("payload.bin"), &payload).unwrap();
    let script = dir.path().join("emit.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"$GREETING $*\" >&2\ncat payload.bin\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    testenv::create_local_exec(
        &ns.client,
        &ns.name,
        "target",
        dir.path(),
        &[("GREETING", "hi")],
    )
    .await;

    let (out, status) =
        testenv::exec_output(&pods, "target", &["./emit.sh", "from", "test"], TIMEOUT).await;
    assert_eq!(
        status.as_ref().and_then(|s| s.status.as_deref()),
        Some("Success"),
        "exec status: {status:?}"
    );
    assert_eq!(out.len(), payload.len(), "stdout length");
    assert!(
        out == payload,
        "stdout bytes differ from the local command's output"
    );

    // Plain text command with arguments.
    let (out, _) = testenv::exec_output(
        &pods,
        "target",
        &["sh", "-c", "echo $GREETING; pwd"],
        TIMEOUT,
    )
    .await;
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        format!("hi\n{}\n", dir.path().canonicalize().unwrap().display()),
        "unexpected exec output"
    );
}

#[tokio::test]
async fn cluster_exec_covers_every_pod_of_the_namespace() {
    let ns = testenv::namespace("cluster-exec").await;
    let pods: Api<Pod> = ns.api();
    pods.create(&PostParams::default(), &pod("any-name"))
        .await
        .expect("create pod");
    testenv::wait_pod_running(&pods, "any-name", TIMEOUT).await;
    let dir = tempfile::tempdir().unwrap();
    ns.local_exec_for_all_pods(dir.path(), &[("WHO", "cluster-exec")])
        .await;
    let (out, _) =
        testenv::exec_output(&pods, "any-name", &["sh", "-c", "echo $WHO"], TIMEOUT).await;
    assert_eq!(String::from_utf8(out).unwrap(), "cluster-exec\n");
}
