//! The live pipeline against a scripted fake API server (`crate::testing`): facts, the spec
//! listing of the cluster's own conformance image, planning from it, the label fallback, and
//! waiting for a namespace. Retrieval (`pods/exec`, a WebSocket upgrade) cannot be scripted
//! this way, so a scripted run ends there; the completeness check against the listed specs is
//! tested on the evaluation step ([`evaluate`]) with the listed inventory.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::definitions::builtin;
use crate::definitions::catalog::Catalog;
use crate::definitions::waiver;
use crate::evidence::e2e_junit::{E2eTest, TestResult};
use crate::evidence::sonobuoy::follow::tests::{PODS, aggregator};
use crate::testing::{self, Reply};
use crate::verdict::{Outcome, Verdict};

const NS: &str = "/api/v1/namespaces";
const SSAR: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const LISTING_POD: &str = "/api/v1/namespaces/*/pods/list-specs";
const IMAGE: &str = "registry.k8s.io/conformance:v1.38.0";
/// A [Serial] NetworkPolicy spec of the (imagined) 1.38 suite: with the listing it runs in a
/// serial pass of its own, selected by its exact name.
const SERIAL_SPEC: &str = "[sig-network] Netpol NetworkPolicy between server and client should enforce policy under load [Feature:NetworkPolicy] [Serial]";

fn version(git_version: &str) -> Value {
    json!({"major": "1", "minor": "38", "gitVersion": git_version, "gitCommit": "c",
           "gitTreeState": "clean", "buildDate": "2026-12-01T00:00:00Z", "goVersion": "go1.26",
           "compiler": "gc", "platform": "linux/amd64"})
}

/// The specs of the 1.38 suite that the listing pod prints: the 1.33 inventory plus one
/// [Serial] NetworkPolicy spec.
fn suite() -> Vec<String> {
    let mut specs = Inventory::builtin("1.33").unwrap().specs;
    specs.push(SERIAL_SPEC.into());
    specs
}

/// `e2e.test --list-tests` output of [`suite`].
fn list_tests_output() -> String {
    let mut out =
        "The following spec names can be used with 'ginkgo run --focus/skip':\n".to_string();
    for (i, s) in suite().iter().enumerate() {
        out.push_str(&format!("    test/e2e/x.go:{}: {s}\n", i + 1));
    }
    out
}

fn listing_pod(phase: &str) -> Value {
    let terminated = json!({"exitCode": if phase == "Succeeded" { 0 } else { 2 },
                            "reason": if phase == "Succeeded" { "Completed" } else { "Error" }});
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "list-specs"},
           "status": {"phase": phase,
                      "containerStatuses": [{"name": "list", "image": IMAGE, "imageID": "",
                                             "ready": false, "restartCount": 0,
                                             "state": {"terminated": terminated}}]}})
}

/// A v1.38.0 cluster (no built-in inventory) whose listing pod ends in `phase`, and which runs
/// the Sonobuoy run to `complete`; retrieval is not scripted (it fails).
fn cluster(listing_phase: &str) -> Vec<Reply> {
    vec![
        // Facts.
        Reply::new("GET", "/version", 200, version("v1.38.0")).repeat(),
        Reply::new(
            "POST",
            SSAR,
            201,
            json!({"spec": {}, "status": {"allowed": true}}),
        )
        .repeat(),
        Reply::new(
            "GET",
            "/api/v1/nodes",
            200,
            testing::list("NodeList", vec![json!({"metadata": {"name": "n1"}})]),
        ),
        Reply::new(
            "GET",
            "/api/v1/namespaces/kube-system",
            200,
            json!({"metadata": {"name": "kube-system", "uid": "cluster-uid"}}),
        ),
        // The spec listing, in a namespace of a random name.
        Reply::new("GET", LISTING_POD, 200, listing_pod(listing_phase)),
        Reply::text("GET", format!("{LISTING_POD}/log"), list_tests_output()),
        // No run in the way.
        Reply::failure("GET", "/api/v1/namespaces/sonobuoy", 404, "NotFound"),
        Reply::failure(
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sonobuoy-serviceaccount-sonobuoy",
            404,
            "NotFound",
        ),
        // Namespaces: none left (the wait before launching, cleanup's sweep).
        Reply::new("GET", NS, 200, testing::list("NamespaceList", vec![])).repeat(),
        // Every create is accepted as sent.
        Reply::echo(NS).repeat(),
        Reply::echo("/api/v1/namespaces/*/*").repeat(),
        Reply::echo("/apis/rbac.authorization.k8s.io/v1/*").repeat(),
        // The run completes at once.
        Reply::new(
            "GET",
            PODS,
            200,
            testing::list("PodList", vec![aggregator("complete")]),
        ),
        // Cleanup.
        Reply::new(
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/*",
            200,
            testing::list("List", vec![]),
        )
        .repeat(),
        Reply::deleted("/api/v1/namespaces/*").repeat(),
    ]
}

struct Live {
    cert: Certification,
    events: Vec<RunEvent>,
    log: Vec<String>,
}

async fn certify_scs_0219(script: Vec<Reply>) -> Live {
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
    let target = catalog.resolve("scs-0219-v1", None).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut options = RunOptions::new(
        "sonobuoy",
        out.path(),
        jiff::civil::date(2026, 12, 1),
        ReleaseData::load(None).unwrap(),
        "https://fake:6443",
    );
    options.cni = Some(Cni::from_flag("cilium").unwrap());
    options.timeout = Duration::from_secs(120);
    let request = LiveRequest {
        catalog: &catalog,
        target: &target,
        waivers: &waivers,
        options: &options,
        rerun: None,
    };
    let (client, log) = testing::client(script);
    let mut events = Vec::new();
    let cert = certify_live(
        &client,
        &request,
        &mut |e| events.push(e),
        Box::pin(std::future::pending()),
    )
    .await;
    let log = log.lock().unwrap().clone();
    Live { cert, events, log }
}

fn warnings(events: &[RunEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Warning(w) => Some(w.as_str()),
            _ => None,
        })
        .collect()
}

fn passes_started(events: &[RunEvent]) -> Vec<(usize, usize)> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::PassStarted { pass, passes, .. } => Some((*pass, *passes)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_version_without_a_built_in_inventory_plans_from_the_clusters_own_spec_list() {
    let live = certify_scs_0219(cluster("Succeeded")).await;
    let listed = live.events.iter().find_map(|e| match e {
        RunEvent::SpecsListed {
            image,
            specs,
            kubernetes_version,
        } => Some((image.clone(), *specs, kubernetes_version.clone())),
        _ => None,
    });
    assert_eq!(
        listed,
        Some((IMAGE.to_string(), suite().len(), "v1.38.0".to_string())),
        "{:?}",
        live.events
    );
    // Planned from the listing: the [Serial] spec in a serial pass by its exact name, no label.
    let warnings = warnings(&live.events);
    assert!(
        warnings.contains(&"1 selected [Serial] specs run in a second, serial pass"),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("Ginkgo label")),
        "{warnings:?}"
    );
    assert_eq!(passes_started(&live.events), [(1, 2)]);
    // The listing pod ran in a namespace of its own, which went afterwards.
    let listing_ns = live
        .log
        .iter()
        .find_map(|l| l.strip_prefix("DELETE /api/v1/namespaces/scs-conformance-specs-"))
        .unwrap_or_else(|| panic!("listing namespace not removed: {:?}", live.log));
    let suffix = listing_ns.split('?').next().unwrap();
    assert_eq!(suffix.len(), 8, "{listing_ns}");
    // The run got as far as retrieval (not scriptable here): ABORT with that reason, after
    // following the run to `complete`.
    let run = live.cert.run.as_ref().unwrap();
    assert_eq!(run.passes.len(), 1);
    let outcome = run.passes[0].outcome.to_string();
    assert!(outcome.starts_with("cannot retrieve results"), "{outcome}");
    assert_eq!(live.cert.verdict, Verdict::Abort);
    assert!(
        live.log
            .iter()
            .any(|l| l.starts_with("DELETE /api/v1/namespaces/sonobuoy")),
        "the run was cleaned up: {:?}",
        live.log
    );
}

#[tokio::test]
async fn a_failed_listing_falls_back_to_the_ginkgo_label_and_says_so() {
    let live = certify_scs_0219(cluster("Failed")).await;
    assert!(
        !live
            .events
            .iter()
            .any(|e| matches!(e, RunEvent::SpecsListed { .. }))
    );
    let warnings = warnings(&live.events);
    let fallback = warnings
        .iter()
        .find(|w| w.starts_with(&format!("the spec list of {IMAGE} could not be read")))
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(
        fallback.ends_with(
            "[Serial] specs of Kubernetes v1.38.0 will be selected by the Ginkgo label Serial"
        ),
        "{fallback}"
    );
    assert!(fallback.contains("exit code 2, Error"), "{fallback}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("selected by the Ginkgo label Serial")
                && w.starts_with("no e2e inventory")),
        "{warnings:?}"
    );
    assert_eq!(passes_started(&live.events), [(1, 2)]);
}

#[tokio::test]
async fn the_listed_specs_are_the_completeness_check_of_the_verdict() {
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let target = catalog.resolve("scs-0219-v1", None).unwrap();
    let (_, tc) = catalog.testcase("kaas-networking-check").unwrap();
    let Check::E2e(e2e) = &tc.check else {
        unreachable!()
    };
    let inventory = Inventory {
        source: format!("spec list of {IMAGE}"),
        specs: parse_listed(),
    };
    // Every selected spec passed, except the [Serial] one: it is not in the report.
    let report = E2eReport {
        tests: inventory
            .specs
            .iter()
            .filter(|s| e2e.selection.selects(s) && *s != SERIAL_SPEC)
            .map(|s| E2eTest {
                name: s.clone(),
                result: TestResult::Passed,
                duration: Some(1.0),
            })
            .collect(),
        ..Default::default()
    };
    let info = ClusterInfo {
        server_version: "v1.38.0".into(),
        nodes: Vec::new(),
        cni: Cni::from_flag("cilium").unwrap(),
        id: None,
    };
    let catalog_ref = &catalog;
    let waivers = Vec::new();
    let options = RunOptions::new(
        "sonobuoy",
        "out",
        jiff::civil::date(2026, 12, 1),
        ReleaseData::load(None).unwrap(),
        "https://fake:6443",
    );
    let request = LiveRequest {
        catalog: catalog_ref,
        target: &target,
        waivers: &waivers,
        options: &options,
        rerun: None,
    };
    let facts = Facts::of(&info, &options);
    let judge = |inventory: Option<&Inventory>| {
        let mut evidence = Collected::default();
        evidence.e2e.insert(
            "kaas-networking-check".into(),
            Ok((
                report.clone(),
                ResultsInfo {
                    source: "r.tar.gz".into(),
                    kind: crate::evidence::results::ResultsKind::Tarball,
                    junit_file: None,
                    ginkgo: None,
                    extracted_to: None,
                },
            )),
        );
        evaluate(
            &request,
            &facts,
            inventory,
            evidence,
            (Timestamp::now(), &mut RunRecord::new("sonobuoy")),
        )
    };
    // Without the listed specs (no built-in inventory of 1.38), the drop would pass unseen.
    assert_eq!(judge(None).verdict, Verdict::Pass);
    let cert = judge(Some(&inventory));
    assert_eq!(cert.verdict, Verdict::Abort);
    let tc = cert.testcases().next().unwrap();
    let absent = tc.tests.iter().find(|t| t.name == SERIAL_SPEC).unwrap();
    assert_eq!(absent.outcome, Outcome::NotRun);
    assert_eq!(
        absent.message.as_deref(),
        Some(
            "not in the e2e report, although the spec list of registry.k8s.io/conformance:v1.38.0 lists it"
        )
    );
}

fn parse_listed() -> Vec<String> {
    crate::evidence::spec_listing::parse_list_tests(&list_tests_output())
}

#[tokio::test]
async fn waiting_for_a_namespace_watches_it_until_it_is_gone() {
    let terminating = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "sonobuoy", "uid": "u1", "resourceVersion": "5",
                     "deletionTimestamp": "2026-12-01T00:00:00Z"}});
    // Gone after a while.
    let (client, _) = testing::client(vec![
        Reply::new(
            "GET",
            NS,
            200,
            testing::list("NamespaceList", vec![terminating.clone()]),
        ),
        Reply::watch(NS, &[("DELETED", terminating.clone())]),
        Reply::hang("GET", NS),
    ]);
    wait_namespace_gone(&client, "sonobuoy", Duration::from_secs(30))
        .await
        .unwrap();
    // Absent from the start.
    let (client, _) = testing::client(vec![Reply::new(
        "GET",
        NS,
        200,
        testing::list("NamespaceList", vec![]),
    )]);
    wait_namespace_gone(&client, "sonobuoy", Duration::from_secs(30))
        .await
        .unwrap();
    // Still there at the limit.
    let (client, _) = testing::client(vec![
        Reply::new(
            "GET",
            NS,
            200,
            testing::list("NamespaceList", vec![terminating]),
        ),
        Reply::hang("GET", NS),
    ]);
    let e = wait_namespace_gone(&client, "sonobuoy", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "namespace sonobuoy still exists after 1s");
    // Cannot be read.
    let (client, _) = testing::client(vec![Reply::failure("GET", NS, 403, "Forbidden")]);
    let e = wait_namespace_gone(&client, "sonobuoy", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(e, NamespaceError::Read { .. }) && e.to_string().contains("Forbidden"),
        "{e}"
    );
}
