//! The fleet as a Kubernetes CronJob (docs/fleet.md, "As Kubernetes Jobs"), proven on testenv's
//! real node: the scs-conformance image built by `deploy/build-image` is imported into the node's
//! containerd, the `deploy/kustomize/in-cluster` overlay is applied with this test's config, and
//! the CronJob, fired by the real CronJob controller, certifies two clusters: the real node's own
//! cluster through its service account (`in_cluster = true`; the real Sonobuoy and e2e specs run
//! there) and a second testenv cluster (kwok nodes, the aggregator stand-in) through a kubeconfig
//! from the Secret. It keeps its outputs on a PersistentVolume and publishes both reports to the
//! local monitor stand-in, which verifies the signatures with `ssh-keygen`.
//!
//! Addresses: the second cluster's API server and the monitor listen on the real node's host
//! address (10.201.0.1), the only host address its pods reach; nothing leaves the machine.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/real_node.rs"]
mod real_node;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use real_node::{Netpol, Node, ctr, diagnose, kubectl};
use serde_json::Value;

/// The real node's host address (testenv/lib.sh: `$NODE_NET.1`).
const HOST_IP: &str = "10.201.0.1";
/// The second cluster: kwok instance 19, its API server on `HOST_IP`.
const KWOK_INSTANCE: &str = "19";
const IMAGE: &str = "localhost/scs-conformance:0.1.0";
const USER: &str = "fleet-job";
const PASSWORD: &str = "fleet-job-password-never-printed";
const REAL: &str = "testenv-real";
const KWOK: &str = "testenv-kwok";
const REAL_NS: &str = "fleet-job-real";
const KWOK_NS: &str = "fleet-job-kwok";
/// Results of the CI subset on the real node with kube-router: what the stand-in hands out.
const KWOK_ARCHIVE: &str = "tests/fixtures/real/v1.35.4-kube-router-ci-subset.tar.gz";
const SUBSET_SPECS: &[&str] = &[
    "[sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy [Feature:NetworkPolicy]",
    "[sig-network] Netpol NetworkPolicy between server and client should allow egress access to server in CIDR block [Feature:NetworkPolicy]",
    "[sig-network] Netpol API should support creating NetworkPolicy API operations",
];

fn root() -> PathBuf {
    real_node::repo_root()
}

fn ok(what: &str, o: Output) -> String {
    assert!(
        o.status.success(),
        "{what}: {}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Everything this test puts on the machine, removed however it ends.
struct Leftovers<'a> {
    node: &'a Node,
    children: Vec<Child>,
    kustomized: Option<PathBuf>,
}

impl Drop for Leftovers<'_> {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(y) = &self.kustomized {
            let _ = Command::new(real_node::kubectl_binary())
                .arg("--kubeconfig")
                .arg(&self.node.kubeconfig)
                .args(["delete", "--ignore-not-found", "--wait=true", "-f"])
                .arg(y)
                .output();
        }
        for ns in [REAL_NS, KWOK_NS] {
            let _ = Command::new(real_node::kubectl_binary())
                .arg("--kubeconfig")
                .arg(&self.node.kubeconfig)
                .args(["delete", "namespace", ns, "--ignore-not-found"])
                .output();
        }
        let _ = ctr(&["images", "rm", IMAGE]);
        let _ = Command::new(root().join("testenv/down"))
            .args(["--instance", KWOK_INSTANCE])
            .output();
    }
}

/// The monitor stand-in on the node's host address; returns its base URL.
fn start_monitor(dir: &Path, leftovers: &mut Leftovers) -> String {
    let mut child = Command::new("python3")
        .arg(root().join("tests/support/monitor_server.py"))
        .args(["--host", HOST_IP, "--store"])
        .arg(dir.join("store"))
        .args(["--user", USER, "--password", PASSWORD])
        .args([
            "--subject",
            REAL,
            "--delegate",
            KWOK,
            "--max-seconds",
            "1800",
        ])
        .arg("--public-key")
        .arg(dir.join("key.pub"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("monitor.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    leftovers.children.push(child);
    let port = line.trim().strip_prefix("PORT=").expect("monitor port");
    format!("http://{HOST_IP}:{port}/")
}

/// The overlay of this test: `deploy/kustomize/in-cluster` with its config, standards, Secret,
/// a results volume on this machine and a schedule of every minute.
fn write_overlay(dir: &Path, kwok_kubeconfig: &Path, monitor: &str, results: &Path) {
    let std_src = root().join("tests/fixtures/real-node/standards/scs-0219-ci-subset.yaml");
    std::fs::copy(&std_src, dir.join("scs-0219-ci-subset.yaml")).unwrap();
    // No waivers: the subset passes or fails on its own (as in tests/real_node.rs).
    std::fs::copy(
        root().join("tests/fixtures/real-node/waivers/none.yaml"),
        dir.join("none.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("job-proof-kaas.yaml"),
        "scope:\n  id: job-proof-kaas\n  name: Fleet Job proof\n  \
         uuid: 00000000-0000-4000-8000-000000000019\n  \
         url: https://example.invalid/job-proof-kaas.yaml\n  versions:\n  - version: v1\n    \
         include: [scs-0219-ci-subset]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[secrets]\nkeyfile = \"/etc/scs/secrets/keyfile\"\ntokenfile = \"/etc/scs/secrets/tokenfile\"\n\n\
             [presets.nightly]\nscopes = [\"job-proof-kaas\"]\nsubjects = [\"{REAL}\", \"{KWOK}\"]\nworkers = 2\n\n\
             [scopes.job-proof-kaas]\nspec = \"./job-proof-kaas.yaml\"\n\n\
             [subjects._.mapping]\nsubject_root = \"{{subject}}\"\nkubeconfig = \"/etc/scs/secrets/{{subject}}.kubeconfig\"\n\n\
             [subjects._]\ntimeout = \"25m\"\nstall_timeout = \"10m\"\n\n\
             [subjects.{REAL}]\nin_cluster = true\nnamespace = \"{REAL_NS}\"\n\n\
             [subjects.{KWOK}]\nnamespace = \"{KWOK_NS}\"\n"
        ),
    )
    .unwrap();
    std::fs::copy(kwok_kubeconfig, dir.join("kwok.kubeconfig")).unwrap();
    std::fs::write(
        dir.join("pv.yaml"),
        format!(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: fleet-job-results\nspec:\n  \
             capacity: {{storage: 5Gi}}\n  accessModes: [ReadWriteOnce]\n  storageClassName: \"\"\n  \
             persistentVolumeReclaimPolicy: Retain\n  \
             claimRef: {{namespace: scs-conformance, name: scs-conformance-results}}\n  \
             hostPath: {{path: {:?}, type: Directory}}\n",
            results.display().to_string()
        ),
    )
    .unwrap();
    let args = [
        "--standards-dir",
        "/etc/scs/standards",
        "--waivers-dir",
        "/etc/scs/waivers",
        "fleet",
        "--config",
        "/etc/scs/config/config.toml",
        "--preset",
        "nightly",
        "--out",
        "/results/fleet",
        "--monitor-url",
        monitor,
    ];
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             resources:\n- {:?}\n- pv.yaml\n\
             configMapGenerator:\n\
             - name: scs-conformance-config\n  namespace: scs-conformance\n  behavior: replace\n  files: [config.toml]\n\
             - name: scs-conformance-standards\n  namespace: scs-conformance\n  \
               files: [scs-0219-ci-subset.yaml, job-proof-kaas.yaml]\n\
             - name: scs-conformance-waivers\n  namespace: scs-conformance\n  files: [none.yaml]\n\
             secretGenerator:\n\
             - name: scs-conformance-secrets\n  namespace: scs-conformance\n  behavior: replace\n  \
               files: [{KWOK}.kubeconfig=kwok.kubeconfig, keyfile, tokenfile]\n\
             patches:\n- target: {{kind: CronJob, name: scs-conformance-fleet}}\n  patch: |-\n\
             \x20   - {{op: replace, path: /spec/schedule, value: \"* * * * *\"}}\n\
             \x20   - {{op: replace, path: /spec/jobTemplate/spec/template/spec/containers/0/args, value: {}}}\n\
             \x20   - {{op: add, path: /spec/jobTemplate/spec/template/spec/volumes/-, value: {{name: standards, configMap: {{name: scs-conformance-standards}}}}}}\n\
             \x20   - {{op: add, path: /spec/jobTemplate/spec/template/spec/containers/0/volumeMounts/-, value: {{name: standards, mountPath: /etc/scs/standards, readOnly: true}}}}\n\
             \x20   - {{op: add, path: /spec/jobTemplate/spec/template/spec/volumes/-, value: {{name: waivers, configMap: {{name: scs-conformance-waivers}}}}}}\n\
             \x20   - {{op: add, path: /spec/jobTemplate/spec/template/spec/containers/0/volumeMounts/-, value: {{name: waivers, mountPath: /etc/scs/waivers, readOnly: true}}}}\n",
            relative_to(dir, &root().join("deploy/kustomize/in-cluster")),
            serde_json::to_string(&args).unwrap()
        ),
    )
    .unwrap();
}

/// Waits for `check` to return Some, polling every 2 s, or fails with the node's diagnosis.
fn wait_for<T>(
    node: &Node,
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}\n{}",
            diagnose(node, "", "scs-conformance")
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[test]
fn the_fleet_cronjob_certifies_its_own_cluster_and_another_and_publishes() {
    let node = real_node::acquire(Netpol::Enforce);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let mut leftovers = Leftovers {
        node: &node,
        children: Vec::new(),
        kustomized: None,
    };

    // The second cluster, reachable from the node's pods.
    let up = ok(
        "testenv/up --instance 19",
        Command::new(root().join("testenv/up"))
            .args(["--instance", KWOK_INSTANCE])
            .env("TESTENV_APISERVER_HOST", HOST_IP)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    let kwok_kubeconfig = PathBuf::from(up.lines().last().unwrap().trim());
    assert!(
        std::fs::read_to_string(&kwok_kubeconfig)
            .unwrap()
            .contains(&format!("server: https://{HOST_IP}:")),
        "the second cluster does not listen on {HOST_IP}"
    );

    // The image, from the binary under test, imported as the manifests name it.
    let image_dir = dir.join("image");
    ok(
        "deploy/build-image",
        Command::new(root().join("deploy/build-image"))
            .env(
                "SCS_CONFORMANCE_BINARY",
                env!("CARGO_BIN_EXE_scs-conformance"),
            )
            .env("IMAGE_DIR", &image_dir)
            .output()
            .unwrap(),
    );
    let tar = image_dir.join("scs-conformance.tar");
    ok(
        "ctr images import",
        ctr(&["images", "import", tar.to_str().unwrap()]),
    );

    // Signing key, monitor credentials and the monitor.
    ok(
        "ssh-keygen",
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "fleet-job", "-f"])
            .arg(dir.join("keyfile"))
            .output()
            .unwrap(),
    );
    std::fs::rename(dir.join("keyfile.pub"), dir.join("key.pub")).unwrap();
    let token = scs_conformance::scs::publish::BasicAuth::new(USER, PASSWORD).header_value();
    std::fs::write(
        dir.join("tokenfile"),
        format!("{}\n", token.trim_start_matches("Basic ")),
    )
    .unwrap();
    let monitor = start_monitor(dir, &mut leftovers);

    // The aggregator stand-in for the second cluster's run.
    let standin = Command::new(root().join("testenv/aggregator-standin"))
        .arg("--kubeconfig")
        .arg(&kwok_kubeconfig)
        .args(["-n", KWOK_NS, "--wait", "900"])
        .arg(root().join(KWOK_ARCHIVE))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("standin.log")).unwrap())
        .spawn()
        .unwrap();
    leftovers.children.push(standin);

    // The results volume: a directory of this machine, writable by the runner's user.
    let results = dir.join("results");
    std::fs::create_dir(&results).unwrap();
    Command::new("chown")
        .arg("65532:65532")
        .arg(&results)
        .status()
        .unwrap();
    let overlay = dir.join("overlay");
    std::fs::create_dir(&overlay).unwrap();
    for f in ["keyfile", "tokenfile"] {
        std::fs::copy(dir.join(f), overlay.join(f)).unwrap();
    }
    write_overlay(&overlay, &kwok_kubeconfig, &monitor, &results);
    let manifests = ok(
        "kubectl kustomize",
        Command::new(real_node::kubectl_binary())
            .arg("kustomize")
            .arg(&overlay)
            .output()
            .unwrap(),
    );
    let manifests_file = dir.join("manifests.yaml");
    std::fs::write(&manifests_file, &manifests).unwrap();
    leftovers.kustomized = Some(manifests_file.clone());
    ok(
        "kubectl apply",
        Command::new(real_node::kubectl_binary())
            .arg("--kubeconfig")
            .arg(&node.kubeconfig)
            .args(["apply", "-f"])
            .arg(&manifests_file)
            .output()
            .unwrap(),
    );

    // The CronJob controller starts the night; no second night after it.
    let job = wait_for(
        &node,
        "a Job of the CronJob",
        Duration::from_secs(150),
        || {
            let names = kubectl(
                &node.kubeconfig,
                &["get", "jobs", "-n", "scs-conformance", "-o", "name"],
            );
            names
                .lines()
                .find(|l| l.starts_with("job.batch/"))
                .map(str::to_string)
        },
    );
    kubectl(
        &node.kubeconfig,
        &[
            "patch",
            "cronjob",
            "scs-conformance-fleet",
            "-n",
            "scs-conformance",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ],
    );
    let conditions = wait_for(&node, "the Job's end", Duration::from_secs(1500), || {
        let c = kubectl(
            &node.kubeconfig,
            &[
                "get",
                &job,
                "-n",
                "scs-conformance",
                "-o",
                "jsonpath={.status.conditions[*].type}",
            ],
        );
        (c.contains("Complete") || c.contains("Failed")).then_some(c)
    });
    let logs = kubectl(
        &node.kubeconfig,
        &["logs", &job, "-n", "scs-conformance", "--tail", "100"],
    );
    let fleet_json = std::fs::read_to_string(results.join("fleet/fleet.json")).unwrap_or_default();
    let why = format!(
        "job {job}: {conditions}\n=== fleet pod log\n{logs}\n=== fleet.json\n{fleet_json}\n=== monitor\n{}\n=== diagnosis\n{}",
        std::fs::read_to_string(dir.join("monitor.log")).unwrap_or_default(),
        diagnose(&node, &logs, REAL_NS)
    );
    assert!(conditions.contains("Complete"), "{why}");

    // Both subjects certified, on the volume.
    let fleet: Value = serde_json::from_str(&fleet_json).expect("fleet.json on the volume");
    assert_eq!(fleet["verdict"], "PASS", "{why}");
    for subject in [REAL, KWOK] {
        let j = fleet["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["subject"] == subject)
            .unwrap_or_else(|| panic!("no job for {subject}\n{why}"));
        assert_eq!(j["verdict"], "PASS", "{subject}\n{why}");
        assert_eq!(j["published"]["ok"], true, "{subject} not published\n{why}");
    }
    // The real node's own specs ran in it: its verdict names the three specs as passed.
    let verdict = find_file(&results.join("fleet"), REAL, "verdict.json")
        .unwrap_or_else(|| panic!("no verdict.json of {REAL}\n{why}"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&verdict).unwrap()).unwrap();
    let passed: Vec<&str> = v["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["testcases"].as_array().into_iter().flatten())
        .flat_map(|tc| tc["tests"].as_array().into_iter().flatten())
        .filter(|t| t["outcome"] == "passed")
        .filter_map(|t| t["name"].as_str())
        .collect();
    for spec in SUBSET_SPECS {
        assert!(
            passed.contains(spec),
            "{spec} not passed in {}\n{why}",
            verdict.display()
        );
    }

    // The monitor stored one signed report per subject.
    let stored: Vec<String> = std::fs::read_dir(dir.join("store"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(stored.len(), 2, "{why}");
    for subject in [REAL, KWOK] {
        assert!(
            stored.iter().any(|r| r
                .lines()
                .any(|l| l.starts_with("subject:") && l.contains(subject))),
            "no stored report of {subject}\n{why}"
        );
    }

    drop(leftovers);
    // Nothing of the runs or the deployment is left in the node's cluster.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let left: Vec<String> = kubectl(&node.kubeconfig, &["get", "namespaces", "-o", "name"])
            .lines()
            .map(|l| l.trim_start_matches("namespace/").to_string())
            .filter(|n| {
                !["default", "kube-system", "kube-public", "kube-node-lease"].contains(&n.as_str())
            })
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left in the cluster: {left:?}");
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The first file called `name` under `dir` whose path contains `part`.
fn find_file(dir: &Path, part: &str, name: &str) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name) && p.to_string_lossy().contains(part)
            {
                return Some(p);
            }
        }
    }
    None
}

/// `to` as a path relative to `from` (both absolute): kustomize refuses absolute bases.
fn relative_to(from: &Path, to: &Path) -> String {
    let ups = from.components().count() - 1;
    let down = to.strip_prefix("/").unwrap().display().to_string();
    format!("{}{down}", "../".repeat(ups))
}
