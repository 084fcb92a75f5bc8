//! `rerun-failed --from verdict.json`: only the specs of an earlier verdict that failed or did
//! not run are launched again, by their exact names, and the new verdict merges both runs and
//! says which spec came from which. Live on testenv with the aggregator stand-in (see
//! tests/run_e2e.rs), and offline for what is refused before anything is launched.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/standin.rs"]
mod standin;
#[allow(clippy::collapsible_if)]
#[path = "support/testenv.rs"]
mod testenv;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scs_conformance::definitions::selection::Selection;
use serde_json::Value;
use sha2::{Digest, Sha256};
use standin::{Standin, served};

const INVENTORY: &str = "tests/fixtures/e2e/v1.33-viola-cilium.junit_01.xml.gz";
const JUNIT: &str = "plugins/e2e/results/global/junit_01.xml";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

fn scs(args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(testenv::repo_root())
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn kubectl(args: &[&str]) -> Output {
    Command::new(testenv::kubectl_binary())
        .arg("--kubeconfig")
        .arg(testenv::kubeconfig())
        .args(args)
        .output()
        .unwrap()
}

/// The options every live command here takes, into `out`.
fn live_args<'a>(ns: &'a str, kubeconfig: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "--namespace",
        ns,
        "--date",
        "2026-11-25",
        "--timeout",
        "3m",
        "--stall-timeout",
        "1m",
        "--inventory",
        INVENTORY,
        "--cni",
        "calico",
        "--kubeconfig",
        kubeconfig,
        "--out",
        out,
    ]
}

/// The stand-in's archive as a focused rerun of `specs` writes it: those specs passed, every
/// other spec not selected (skipped), the suite nodes as they were; totals and
/// `SuiteSucceeded` consistent with that.
fn rerun_archive(specs: &BTreeSet<String>, dir: &Path) -> PathBuf {
    let source = testenv::repo_root().join(standin::ARCHIVE);
    let mut entries: Vec<(tar::Header, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(source).unwrap(),
    ));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if entry.path().unwrap() == Path::new(JUNIT) {
            data = rerun_junit(&String::from_utf8(data).unwrap(), specs).into_bytes();
        }
        entries.push((entry.header().clone(), data));
    }
    let path = dir.join("rerun.tar.gz");
    let mut out = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    ));
    for (mut header, data) in entries {
        header.set_size(data.len() as u64);
        header.set_cksum();
        out.append(&header, data.as_slice()).unwrap();
    }
    out.into_inner().unwrap().finish().unwrap();
    path
}

fn rerun_junit(xml: &str, specs: &BTreeSet<String>) -> String {
    let mut parts = xml.split("<testcase ");
    let mut out = parts.next().unwrap().to_string();
    let (mut tests, mut skipped) = (0, 0);
    for part in parts {
        tests += 1;
        let name = part
            .strip_prefix("name=\"")
            .and_then(|p| p.split('"').next())
            .unwrap()
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        let (element, rest) = part.split_at(part.find("</testcase>").unwrap());
        let head = &element[..element.find('>').unwrap() + 1];
        let element = match name.strip_prefix("[It] ") {
            Some(spec) if specs.contains(spec) => {
                head.replace(&format!("status=\"{}\"", status(head)), "status=\"passed\"")
            }
            Some(_) => {
                skipped += 1;
                format!(
                    "{}\n              <skipped message=\"skipped\"></skipped>\n          ",
                    head.replace(
                        &format!("status=\"{}\"", status(head)),
                        "status=\"skipped\""
                    )
                )
            }
            None => element.to_string(),
        };
        out.push_str("<testcase ");
        out.push_str(&element);
        out.push_str(rest);
    }
    assert_eq!(tests, 6735);
    out.replace("failures=\"3\"", "failures=\"0\"")
        .replace("disabled=\"6684\"", &format!("disabled=\"{skipped}\""))
        .replace("skipped=\"6684\"", &format!("skipped=\"{skipped}\""))
        .replace(
            "name=\"SuiteSucceeded\" value=\"false\"",
            "name=\"SuiteSucceeded\" value=\"true\"",
        )
}

fn status(head: &str) -> &str {
    head.split("status=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
}

fn tests(v: &Value) -> &Vec<Value> {
    v["modules"][0]["testcases"][0]["tests"].as_array().unwrap()
}

/// The E2E_FOCUS and E2E_SKIP of the plugin the stand-in served.
fn selection_served(run: &Value) -> (String, String) {
    let plugin: Value =
        serde_saphyr::from_str(run["plugins"]["plugin-0.yaml"].as_str().unwrap()).unwrap();
    let env = plugin["spec"]["env"].as_array().unwrap();
    let get = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    (get("E2E_FOCUS"), get("E2E_SKIP"))
}

#[test]
fn a_rerun_launches_only_the_failed_specs_and_merges_them_with_provenance() {
    let ns = "rerun-e2e";
    let kubeconfig = testenv::kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first_out = dir.path().join("first");
    let second_out = dir.path().join("second");

    // Run 1: three ipBlock specs fail (no Calico waiver covers them).
    let child = Standin::new(ns).spawn_serving(Path::new(standin::ARCHIVE));
    let mut args = vec!["run", "--standard", "scs-0219-v1"];
    args.extend(live_args(ns, kubeconfig, first_out.to_str().unwrap()));
    let o = scs(&args);
    served(child);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let first_path = first_out.join("verdict.json");
    let first = json(&first_path);
    assert_eq!(first["verdict"], "FAIL");
    assert!(
        first["cluster"]["id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "the kube-system UID identifies the cluster: {}",
        first["cluster"]
    );
    let failed: BTreeSet<String> = tests(&first)
        .iter()
        .filter(|t| t["outcome"] == "failed")
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");

    // Run 2: only those three are launched, and pass.
    let archive = rerun_archive(&failed, dir.path());
    let child = Standin::new(ns).spawn_serving(&archive);
    let from = first_path.to_str().unwrap().to_string();
    let mut args = vec!["rerun-failed", "--from", &from];
    // No --cni: the rerun takes the one given to run 1.
    args.extend(
        live_args(ns, kubeconfig, second_out.to_str().unwrap())
            .into_iter()
            .filter(|a| *a != "--cni" && *a != "calico"),
    );
    let o = scs(&args);
    let runs = served(child);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The stand-in saw one run selecting exactly the three failed specs by name, skipping none.
    assert_eq!(runs.len(), 1, "{runs:?}");
    let (focus, skip) = selection_served(&runs[0]);
    assert_eq!(skip, "");
    let launched = Selection::new(&focus, &skip).unwrap();
    let first_names: Vec<&str> = tests(&first)
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for name in &first_names {
        assert_eq!(
            launched.selects(name),
            failed.contains(*name),
            "{name} in {focus}"
        );
    }

    // The merged verdict: every spec once, the three from run 2, the others from run 1.
    let merged = json(&second_out.join("verdict.json"));
    assert_eq!(merged["verdict"], "PASS", "{}", text(&o));
    let merged_tests = tests(&merged);
    assert_eq!(merged_tests.len(), first_names.len());
    let names: BTreeSet<&str> = merged_tests
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), merged_tests.len(), "each spec once");
    for t in merged_tests {
        let name = t["name"].as_str().unwrap();
        let want = if failed.contains(name) { 2 } else { 1 };
        assert_eq!(t["run"], want, "{name}");
        assert!(
            ["passed", "waived-but-passed", "waived-not-run"]
                .contains(&t["outcome"].as_str().unwrap()),
            "{t}"
        );
    }
    let provenance = merged["runs"].as_array().unwrap();
    assert_eq!(provenance.len(), 2);
    assert_eq!(provenance[0]["number"], 1);
    assert_eq!(provenance[0]["command"], "run");
    assert_eq!(provenance[0]["verdict"]["path"], from.as_str());
    assert_eq!(
        provenance[0]["verdict"]["sha256"],
        hex::encode(Sha256::digest(std::fs::read(&first_path).unwrap()))
    );
    assert_eq!(
        provenance[0]["sonobuoy_uuids"],
        Value::from(vec![first["run"]["passes"][0]["uuid"].clone()])
    );
    assert_eq!(provenance[1]["number"], 2);
    assert_eq!(provenance[1]["command"], "rerun-failed");
    assert!(provenance[1].get("verdict").is_none());
    assert_eq!(
        provenance[1]["sonobuoy_uuids"],
        Value::from(vec![merged["run"]["passes"][0]["uuid"].clone()])
    );
    assert_eq!(merged["cluster"]["id"], first["cluster"]["id"]);
    assert_eq!(merged["cluster"]["cni"]["name"], "calico");
    assert_eq!(merged["cluster"]["cni"]["source"], "flag");
    assert_eq!(
        merged["modules"][0]["testcases"][0]["runs"],
        serde_json::json!([1, 2])
    );

    let schema: Value = json(&testenv::repo_root().join("docs/verdict.schema.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&merged)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    // The other outputs say it too.
    let summary = std::fs::read_to_string(second_out.join("summary.md")).unwrap();
    assert!(summary.contains("Merged from 2 runs"), "{summary}");
    let html = std::fs::read_to_string(second_out.join("report.html")).unwrap();
    assert!(html.contains("<h3>Runs merged</h3>"), "{html}");
    assert!(text(&o).contains("Merged from 2 runs"), "{}", text(&o));
    assert!(!second_out.join("report.yaml").exists());
    // The first run's outputs are untouched.
    assert_eq!(json(&first_path), first);
    assert_nothing_left(ns);
}

/// Nothing of the run in `ns` is left.
fn assert_nothing_left(ns: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let left = kubectl(&["get", "namespace", ns, "--ignore-not-found", "-o", "name"]).stdout;
        if left.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "namespace {ns} left");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// An offline verdict of the bundled NetworkPolicy run's JUnit (v1.33, judged as Calico: three
/// failures), edited. The JUnit alone, because the archive shows Cilium, which `--cni` may not
/// contradict.
fn offline_verdict(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let out = dir.join("offline");
    let o = scs(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--cni",
        "calico",
        "--k8s-version",
        "v1.33.3",
        "--date",
        "2026-11-25",
        "--results",
        "tests/fixtures/derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let mut v = json(&out.join("verdict.json"));
    edit(&mut v);
    let path = dir.join("earlier.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    path
}

#[test]
fn a_verdict_of_another_cluster_is_refused_before_anything_is_launched() {
    let ns = "rerun-other";
    let kubeconfig = testenv::kubeconfig();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (edit, want) in [
        (
            Box::new(|v: &mut Value| {
                v["cluster"]["id"] = "0badc0de-not-this-cluster".into();
            }) as Box<dyn FnOnce(&mut Value)>,
            "its cluster id (kube-system UID) is 0badc0de-not-this-cluster",
        ),
        // No id recorded: the Kubernetes version (v1.33.3 against testenv's) tells.
        (
            Box::new(|_: &mut Value| {}),
            "its Kubernetes version is v1.33.3",
        ),
    ] {
        let from = offline_verdict(dir.path(), edit);
        let o = scs(&[
            "rerun-failed",
            "--from",
            from.to_str().unwrap(),
            "--namespace",
            ns,
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let said = text(&o);
        assert!(
            said.contains(&format!("{}: written for another cluster", from.display())),
            "{said}"
        );
        assert!(said.contains(want), "{want}: {said}");
        assert!(!out.exists(), "nothing written");
        let ns_left = kubectl(&["get", "namespace", ns, "--ignore-not-found", "-o", "name"]);
        assert!(ns_left.stdout.is_empty(), "nothing launched");
    }
}

#[test]
fn bad_input_is_refused_naming_the_file_and_nothing_to_rerun_launches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let rerun = |from: &Path, extra: &[&str]| {
        let mut args = vec![
            "rerun-failed",
            "--from",
            from.to_str().unwrap(),
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        scs(&args)
    };
    let missing = dir.path().join("missing.json");
    let o = rerun(&missing, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{}: cannot read", missing.display())),
        "{}",
        text(&o)
    );
    let bad = dir.path().join("bad.json");
    for (content, want) in [
        ("{\"schema_version\": 1", "not JSON"),
        (
            "{\"schema_version\": 7}",
            "schema_version 7 is not supported",
        ),
    ] {
        std::fs::write(&bad, content).unwrap();
        let o = rerun(&bad, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains(&format!("{}: ", bad.display())),
            "{}",
            text(&o)
        );
        assert!(text(&o).contains(want), "{want}: {}", text(&o));
    }
    let failed = offline_verdict(dir.path(), |_| {});
    let o = rerun(&failed, &["--subject", "my-cluster"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no report.yaml"), "{}", text(&o));
    // Every test case passed (the Cilium waivers cover the three failures): nothing to rerun.
    let passed = offline_verdict(dir.path(), |v| {
        let o = scs(&[
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--cni",
            "cilium",
            "--date",
            "2026-11-25",
            "--results",
            standin::ARCHIVE,
            "--out",
            dir.path().join("cilium").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        *v = json(&dir.path().join("cilium/verdict.json"));
    });
    let o = rerun(&passed, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Nothing to rerun"), "{}", text(&o));
    assert!(!out.exists(), "nothing written");
}
