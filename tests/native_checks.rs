//! Native checks on a real Kubernetes control plane (testenv, docs/testenv.md):
//! SCS-0214-v2 node distribution from the nodes' labels, SCS-0210-v2 version policy from the API
//! server's version and release-data fixtures (tests/fixtures/release-data/PROVENANCE.md), and
//! `release-data refresh` against a local HTTP server.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The helper is shared (and owned elsewhere); its lints are not this file's.
#[path = "support/testenv.rs"]
#[allow(clippy::collapsible_if)]
mod testenv;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use jiff::civil::Date;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, Patch, PatchParams};
use scs_conformance::definitions::catalog::NativeCheck;
use scs_conformance::evidence::native::node_distribution::HOST_ID;
use scs_conformance::evidence::native::{self, ReleaseData, run_check};
use scs_conformance::verdict::Verdict;
use scs_conformance_cli::commands::release_data::{ReleaseDataArgs, run_with};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn fixture(name: &str) -> ReleaseData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/release-data")
        .join(name);
    ReleaseData::read(&path).unwrap()
}

// ---------------------------------------------------------------------------------------------
// SCS-0214-v2 on testenv
// ---------------------------------------------------------------------------------------------

/// Restores the nodes' `topology.scs.community/host-id` labels to what they were, also when the
/// test panics (synchronously, with kubectl: Drop cannot await).
struct RestoreHostIds {
    kubeconfig: PathBuf,
    original: BTreeMap<String, Option<String>>,
}

impl Drop for RestoreHostIds {
    fn drop(&mut self) {
        for (node, value) in &self.original {
            let arg = match value {
                Some(v) => format!("{HOST_ID}={v}"),
                None => format!("{HOST_ID}-"),
            };
            let status = Command::new(testenv::kubectl_binary())
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(["label", "node", node, &arg, "--overwrite"])
                .output();
            if !matches!(&status, Ok(o) if o.status.success()) {
                eprintln!("could not restore {HOST_ID} on node {node}: {status:?}");
            }
        }
    }
}

async fn set_host_ids(nodes: &Api<Node>, ids: &BTreeMap<String, String>) {
    for (node, id) in ids {
        let patch = serde_json::json!({"metadata": {"labels": {HOST_ID: id}}});
        nodes
            .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn node_distribution_passes_spread_over_hosts_and_fails_on_a_shared_host() {
    let client = testenv::client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default()).await.unwrap();
    let original: BTreeMap<String, Option<String>> = list
        .items
        .iter()
        .map(|n| {
            (
                n.metadata.name.clone().unwrap(),
                n.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(HOST_ID).cloned()),
            )
        })
        .collect();
    let control_plane: Vec<String> = list
        .items
        .iter()
        .filter(|n| {
            n.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key("node-role.kubernetes.io/control-plane"))
        })
        .map(|n| n.metadata.name.clone().unwrap())
        .collect();
    assert!(
        control_plane.len() >= 2,
        "testenv has several control-plane nodes"
    );
    let _restore = RestoreHostIds {
        kubeconfig: testenv::kubeconfig(),
        original: original.clone(),
    };
    let release = ReleaseData::embedded();
    let today = d("2026-04-20");

    // Every node on its own physical host: PASS (testenv spreads nodes over three zones).
    let spread: BTreeMap<String, String> = original
        .keys()
        .map(|n| (n.clone(), format!("host-of-{n}")))
        .collect();
    set_host_ids(&nodes, &spread).await;
    let o = run_check(NativeCheck::NodeDistribution, &client, &release, today).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert!(
        o.reason.contains(&format!(
            "on {} physical machines in 3 zone(s)",
            control_plane.len()
        )),
        "{}",
        o.reason
    );
    assert!(
        o.findings.iter().any(|f| f
            .starts_with("node testenv-control-plane-a: control-plane, zone testenv-region-1a")),
        "{:#?}",
        o.findings
    );

    // All control-plane nodes on one physical host: FAIL, naming the nodes and the host.
    let shared: BTreeMap<String, String> = control_plane
        .iter()
        .map(|n| (n.clone(), "one-shared-host".to_string()))
        .collect();
    set_host_ids(&nodes, &shared).await;
    let o = run_check(NativeCheck::NodeDistribution, &client, &release, today).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    let expected = format!(
        "all {} control-plane nodes ({}) run on the same physical machine ({HOST_ID}=one-shared-host)",
        control_plane.len(),
        control_plane.join(", ")
    );
    assert!(o.reason.contains(&expected), "{}", o.reason);

    // testenv as it is: without host ids, the distribution over physical machines is not shown.
    drop(_restore);
    if original.values().all(|v| v.is_none()) {
        let o = run_check(NativeCheck::NodeDistribution, &client, &release, today).await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(
            o.reason.contains(&format!("lacks {HOST_ID}")),
            "{}",
            o.reason
        );
    }
}

#[tokio::test]
async fn a_user_who_may_not_list_nodes_gets_abort_with_the_reason() {
    let mut config = testenv::config().await;
    // An authenticated user without any RBAC binding.
    config.auth_info.impersonate = Some("scs-conformance-test-nobody".into());
    let client = kube::Client::try_from(config).unwrap();
    let o = run_check(
        NativeCheck::NodeDistribution,
        &client,
        &ReleaseData::embedded(),
        d("2026-04-20"),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
    assert!(o.reason.starts_with("cannot list nodes: "), "{}", o.reason);
    assert!(o.reason.contains("forbidden"), "{}", o.reason);
}

// ---------------------------------------------------------------------------------------------
// SCS-0210-v2 on testenv's real server version (v1.35.4)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn version_policy_on_testenv_pass_fail_and_stale_data() {
    let client = testenv::client().await;
    let version = client.apiserver_version().await.unwrap().git_version;
    assert_eq!(
        version, "v1.35.4",
        "the fixtures are written for testenv's v1.35.4"
    );
    let run = |data: ReleaseData, today: &str| {
        let client = client.clone();
        let today = d(today);
        async move { run_check(NativeCheck::VersionPolicy, &client, &data, today).await }
    };

    // PASS: 1.35.4 is the newest 1.35 patch, data 4 days old.
    let o = run(fixture("current.json"), "2026-04-20").await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert!(o.warnings.is_empty(), "{o:#?}");
    assert!(
        o.findings
            .iter()
            .any(|f| f.contains("cluster version v1.35.4"))
    );

    // Stale data: the verdict is still computed, and the warning says so.
    let o = run(fixture("current.json"), "2026-06-01").await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(o.warnings.len(), 1, "{o:#?}");
    assert!(
        o.warnings[0].starts_with(
            "release data is stale: generated at 2026-04-16, 46 days before 2026-06-01"
        ),
        "{}",
        o.warnings[0]
    );

    // FAIL: a newer patch is older than 31 days.
    let o = run(fixture("patch-overdue.json"), "2026-06-20").await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert!(
        o.reason
            .contains("patch 1.35.5 was released on 2026-05-13, 38 days before 2026-06-20"),
        "{}",
        o.reason
    );

    // FAIL: the fix of a critical CVE is older than 14 days (but within the patch window).
    let o = run(fixture("critical-cve.json"), "2026-05-30").await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert!(
        o.reason
            .starts_with("CVE-2099-0001 (CVSS 9.8) affects 1.35.4; the fix 1.35.5"),
        "{}",
        o.reason
    );
    assert!(
        !o.reason.contains("patch 1.35.5 was released"),
        "{}",
        o.reason
    );

    // FAIL: end of life (and the data is stale as well).
    let o = run(fixture("current.json"), "2027-03-01").await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert!(
        o.reason
            .contains("Kubernetes 1.35 reached its end of life on 2027-02-28"),
        "{}",
        o.reason
    );
    assert!(
        o.warnings
            .iter()
            .any(|w| w.starts_with("release data is stale"))
    );
}

#[test]
fn release_data_file_round_trips() {
    let data = fixture("critical-cve.json");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.json");
    std::fs::write(&path, data.to_json()).unwrap();
    assert_eq!(ReleaseData::read(&path).unwrap(), data);
    std::fs::write(
        &path,
        data.to_json().replace("\"format\": 1", "\"format\": 99"),
    )
    .unwrap();
    let err = ReleaseData::read(&path).unwrap_err().to_string();
    assert!(err.contains("format 99 is not supported"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// release-data refresh against a local HTTP server
// ---------------------------------------------------------------------------------------------

/// Serves fixed answers by path until the listener is dropped with the process; 404 otherwise.
fn serve(routes: BTreeMap<&'static str, (u16, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = routes
                .get(path)
                .cloned()
                .unwrap_or((404, "{\"message\": \"Not Found\"}".into()));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

/// Answers shaped like the real APIs (fields the refresh reads, plus some it ignores); release
/// dates are the real ones of data/k8s-release-data.json, the CVEs are made up (CVE-2099-*).
fn sample_routes() -> BTreeMap<&'static str, (u16, String)> {
    let releases = serde_json::json!([
        {"url": "https://api.github.com/repos/kubernetes/kubernetes/releases/1", "tag_name": "v1.35.4", "name": "Kubernetes v1.35.4", "draft": false, "prerelease": false, "created_at": "2026-04-15T17:00:00Z", "published_at": "2026-04-15T18:02:03Z"},
        {"tag_name": "v1.34.7", "name": "Kubernetes v1.34.7", "draft": false, "prerelease": false, "published_at": "2026-04-15T18:30:00Z"},
        {"tag_name": "v1.36.0-rc.0", "name": "Kubernetes v1.36.0-rc.0", "draft": false, "prerelease": true, "published_at": "2026-04-08T10:00:00Z"},
        {"tag_name": "v1.35.3", "name": "Kubernetes v1.35.3", "draft": false, "prerelease": false, "published_at": "2026-03-18T19:00:00Z"},
        {"tag_name": "v1.35.0", "name": "Kubernetes v1.35.0", "draft": false, "prerelease": false, "published_at": "2025-12-17T20:00:00Z"}
    ]);
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Kubernetes Vulnerability Announcements - CVE Feed",
        "items": [
            {"id": "CVE-2099-0001", "url": "https://www.cve.org/cverecord?id=CVE-2099-0001", "summary": "critical"},
            {"id": "CVE-2099-0002", "summary": "medium"},
            {"id": "CVE-2099-0003", "summary": "record missing"}
        ]
    });
    let record = |id: &str, score: f64| {
        serde_json::json!({
            "dataType": "CVE_RECORD", "dataVersion": "5.0",
            "cveMetadata": {"cveId": id, "state": "PUBLISHED"},
            "containers": {"cna": {
                "metrics": [{"format": "CVSS", "cvssV3_1": {"baseScore": score, "version": "3.1"}}],
                "affected": [{"vendor": "Kubernetes", "product": "Kubernetes", "versions": [
                    {"version": "1.35.0", "lessThan": "1.35.4", "status": "affected", "versionType": "semver"},
                    {"version": "1.35.4", "status": "unaffected"}
                ]}]
            }}
        })
        .to_string()
    };
    let eol = "# test copy\n- branch: '1.35'\n  end-of-life: '2027-02-28'\n- branch: '1.34'\n  end-of-life: '2026-10-27'\n";
    BTreeMap::from([
        ("/eol.yml", (200, eol.to_string())),
        ("/releases?per_page=100", (200, releases.to_string())),
        ("/feed/index.json", (200, feed.to_string())),
        ("/cve/CVE-2099-0001", (200, record("CVE-2099-0001", 9.1))),
        ("/cve/CVE-2099-0002", (200, record("CVE-2099-0002", 6.5))),
    ])
}

fn refresh_args(base: &str, out: &Path) -> ReleaseDataArgs {
    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }
    #[derive(clap::Subcommand)]
    enum Top {
        ReleaseData(ReleaseDataArgs),
    }
    let cli = Cli::parse_from([
        "scs-conformance".to_string(),
        "release-data".into(),
        "refresh".into(),
        "--out".into(),
        out.display().to_string(),
        "--github-releases-url".into(),
        format!("{base}/releases?per_page=100"),
        "--cve-feed-url".into(),
        format!("{base}/feed/index.json"),
        "--cve-record-url".into(),
        format!("{base}/cve/{{id}}"),
        "--eol-url".into(),
        format!("{base}/eol.yml"),
        "--timeout".into(),
        "10".into(),
        "--date".into(),
        "2026-04-20".into(),
    ]);
    let Top::ReleaseData(args) = cli.command;
    args
}

#[test]
fn refresh_builds_release_data_from_the_sources() {
    let base = serve(sample_routes());
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("k8s-release-data.json");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(&refresh_args(&base, &out_path), &mut out, &mut err);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 branches, 4 releases, 1 critical CVEs (generated_at 2026-04-20)"),
        "{out}"
    );
    assert!(
        err.contains("CVE-2099-0003"),
        "the missing record is reported: {err}"
    );

    let data = ReleaseData::read(&out_path).unwrap();
    assert_eq!(data.generated_at, d("2026-04-20"));
    let versions: Vec<&str> = data.releases.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["1.35.4", "1.35.3", "1.35.0", "1.34.7"]);
    assert_eq!(data.releases[0].date, d("2026-04-15"));
    assert_eq!(data.end_of_life((1, 35)), Some(d("2027-02-28")));
    assert_eq!(data.critical_cves.len(), 1);
    assert_eq!(data.critical_cves[0].id, "CVE-2099-0001");
    assert!(data.critical_cves_read, "refresh reads the CVE sources");
    assert!(
        data.provenance
            .iter()
            .any(|p| p.contains("CVE records that could not be read: CVE-2099-0003"))
    );

    // The refreshed data judges versions: 1.35.3 is affected and its fix (1.35.4) is 5 days old.
    let o = native::version_policy::evaluate("v1.35.3", &data, d("2026-04-20"));
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert!(
        o.warnings
            .iter()
            .any(|w| w.contains("CVE-2099-0001") && w.contains("RECOMMENDED"))
    );
    let o = native::version_policy::evaluate("v1.35.3", &data, d("2026-05-01"));
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
}

#[test]
fn refresh_offline_fails_clearly_and_writes_nothing() {
    // A port nothing listens on: connection refused, as without network.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("k8s-release-data.json");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(&refresh_args(&closed, &out_path), &mut out, &mut err);
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("cannot fetch {closed}/eol.yml")),
        "{err}"
    );
    assert!(
        err.contains("no network?") && err.contains("--release-data FILE"),
        "{err}"
    );
    assert!(!out_path.exists());

    // A source answering with an error status fails the same way.
    let base = serve(BTreeMap::new());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(&refresh_args(&base, &out_path), &mut out, &mut err);
    assert_eq!(code, 2);
    assert!(String::from_utf8(err).unwrap().contains("404"));
}

#[test]
fn show_reports_support_end_of_life_and_staleness_of_the_built_in_data() {
    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }
    #[derive(clap::Subcommand)]
    enum Top {
        ReleaseData(ReleaseDataArgs),
    }
    let show = |date: &str| {
        let Top::ReleaseData(args) =
            Cli::parse_from(["x", "release-data", "show", "--date", date]).command;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run_with(&args, &mut out, &mut err), 0);
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    // The built-in data was generated on 2026-12-02: current that day.
    let (out, err) = show("2026-12-02");
    assert!(
        out.contains("branch 1.35: supported until 2027-02-28, newest release 1.35.8 (2026-08-20)"),
        "{out}"
    );
    assert!(
        out.contains("branch 1.34: end of life since 2026-10-27, newest release 1.34.12"),
        "{out}"
    );
    assert!(
        out.contains(
            "branch 1.37: no end-of-life date in the data, newest release 1.37.2 (2026-10-27)"
        ),
        "{out}"
    );
    assert!(!out.contains("end of life until"), "{out}");
    assert!(!err.contains("release data is stale"), "{err}");
    assert!(err.contains("without reading the CVE sources"), "{err}");
    // A branch is supported until the day before its end of life.
    let (out, _) = show("2026-10-26");
    assert!(
        out.contains("branch 1.34: supported until 2026-10-27"),
        "{out}"
    );
    // Two weeks later the same data is stale.
    let (_, err) = show("2026-12-17");
    assert!(err.contains("release data is stale"), "{err}");
}
