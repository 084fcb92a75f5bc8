//! Never a false PASS: PASS means every selected spec ran and passed, on evidence that is
//! complete and consistent (docs/reliability.md). Inputs are built in the test from the real
//! fixtures (tests/fixtures/PROVENANCE.md, section "evidence").

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn gunzip(rel: &str) -> String {
    let mut out = String::new();
    GzDecoder::new(std::fs::File::open(fixture(rel)).unwrap())
        .read_to_string(&mut out)
        .unwrap();
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// The derived NetworkPolicy run (47 selected specs ran, 3 ipBlock failures waived on Cilium).
fn netpol() -> String {
    gunzip("derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz")
}

/// Arguments under which the unmodified NetworkPolicy run is PASS.
const CILIUM_PASS: [&str; 6] = [
    "--standard",
    "scs-0219-v1",
    "--cni",
    "cilium",
    "--date",
    "2026-11-25",
];

struct Run {
    code: i32,
    text: String,
    json: Option<Value>,
}

impl Run {
    fn testcase(&self, id: &str) -> &Value {
        self.json.as_ref().unwrap()["modules"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["testcases"].as_array().unwrap())
            .find(|t| t["id"] == id)
            .unwrap()
    }
}

fn verdict(args: &[&str], results: &Path) -> Run {
    let out = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("scs-conformance")
        .unwrap()
        .arg("verdict")
        .args(args)
        .arg("--results")
        .arg(results)
        .arg("--out")
        .arg(out.path().join("o"))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    let json = std::fs::read(out.path().join("o/verdict.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    Run {
        code: output.status.code().expect("exited, not killed"),
        text,
        json,
    }
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, data).unwrap();
    path
}

/// A tar archive of `(path, data)` entries, optionally gzipped.
fn tarball(entries: &[(&str, &[u8])], gz: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(if name.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    if gz { gzip(&tar) } else { tar }
}

const JUNIT_PATH: &str = "plugins/e2e/results/global/junit_01.xml";

#[test]
fn the_unchanged_networkpolicy_run_passes_as_a_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "junit_01.xml", netpol());
    let run = verdict(
        &[&CILIUM_PASS[..], &["--k8s-version", "1.33"]].concat(),
        &path,
    );
    assert_eq!(run.code, 0, "{}", run.text);
}

#[test]
fn a_spec_of_the_inventory_missing_from_the_report_is_not_run() {
    // One passing NetworkPolicy spec of the 47 that the 1.33 inventory selects.
    let xml = netpol();
    let one = xml
        .split("<testcase ")
        .find(|c| c.contains("Feature:NetworkPolicy") && c.contains(r#"status="passed""#))
        .unwrap();
    let one = &one[..one.find("</testcase>").unwrap() + "</testcase>".len()];
    let doc = format!(
        r#"<testsuites><testsuite name="Kubernetes e2e suite"><testcase {one}</testsuite></testsuites>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "junit_01.xml", doc);

    let run = verdict(
        &[&CILIUM_PASS[..], &["--k8s-version", "1.33"]].concat(),
        &path,
    );
    assert_eq!(run.code, 3, "{}", run.text);
    let tc = run.testcase("kaas-networking-check");
    assert_eq!(tc["counts"]["selected"], 47);
    assert_eq!(tc["counts"]["passed"], 1);
    let reason = tc["reason"].as_str().unwrap();
    assert!(reason.contains("missing from the e2e report"), "{reason}");
    assert!(reason.contains("built-in inventory v1.33"), "{reason}");
    let absent = tc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("not in the e2e report"))
        })
        .count();
    assert_eq!(absent, 46);

    // Without a version there is no inventory: judged on what it lists, and every output says
    // that completeness was not checked.
    let run = verdict(&CILIUM_PASS, &path);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(
        run.text.contains("completeness not checked"),
        "{}",
        run.text
    );
    let warnings = &run.testcase("kaas-networking-check")["warnings"];
    assert!(
        warnings.to_string().contains("completeness not checked"),
        "{warnings}"
    );

    // For a release without a built-in inventory, its spec list is given instead.
    let list = write(
        dir.path(),
        "v1.38-specs.txt",
        gunzip("../../inventories/v1.33.txt.gz"),
    );
    let run = verdict(
        &[&CILIUM_PASS[..], &["--inventory", list.to_str().unwrap()]].concat(),
        &path,
    );
    assert_eq!(run.code, 3, "{}", run.text);
    let reason = run.testcase("kaas-networking-check")["reason"].to_string();
    assert!(reason.contains("v1.38-specs.txt"), "{reason}");
}

#[test]
fn a_report_cut_short_disagrees_with_its_own_totals() {
    let xml = gunzip("e2e/v1.33-viola-cilium.junit_01.xml.gz");
    let cases: Vec<usize> = xml.match_indices("<testcase ").map(|(i, _)| i).collect();
    let cut = cases[cases.len() * 4 / 10];
    let doc = format!("{}</testsuite></testsuites>", &xml[..cut]);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "junit_01.xml", doc);

    let run = verdict(&["--standard", "scs-0201-v1", "--cni", "cilium"], &path);
    assert_eq!(run.code, 3, "{}", run.text);
    let reason = run.testcase("cncf-k8s-conformance")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("junit_01.xml"), "{reason}");
    assert!(
        reason.contains(r#"declares tests="6735" but 2694 testcases were read"#),
        "{reason}"
    );
}

/// Splits the v1.21 quick run's Ginkgo v1 JUnit into two parallel-node files, the second with a
/// failure, as `ginkgo -nodes=2` writes them.
fn ginkgo_v1_parallel(dir: &Path) -> PathBuf {
    let tgz = std::fs::read(fixture("e2e/sonobuoy-v1.21-quick.tar.gz")).unwrap();
    let mut xml = String::new();
    for e in tar::Archive::new(GzDecoder::new(&tgz[..]))
        .entries()
        .unwrap()
    {
        let mut e = e.unwrap();
        if e.path().unwrap().ends_with("junit_01.xml") {
            e.read_to_string(&mut xml).unwrap();
        }
    }
    let cases: Vec<&str> = xml
        .split("<testcase ")
        .skip(1)
        .map(|c| &c[..c.find("</testcase>").unwrap()])
        .collect();
    let (one, two) = cases.split_at(cases.len() / 2);
    let doc = |cases: &[&str], tests: usize, failures: usize| {
        let body: String = cases
            .iter()
            .map(|c| format!("<testcase {c}</testcase>\n"))
            .collect();
        format!(
            r#"<testsuite name="Kubernetes e2e suite" tests="{tests}" failures="{failures}" errors="0">{body}</testsuite>"#
        )
    };
    let ran_on_one = one.iter().filter(|c| !c.contains("<skipped")).count();
    let mut two: Vec<String> = two.iter().map(|c| c.to_string()).collect();
    two[0] = two[0].replace(
        "<skipped></skipped>",
        r#"<failure type="Failure">node 2: boom</failure>"#,
    );
    let two: Vec<&str> = two.iter().map(String::as_str).collect();
    let root = dir.join("results");
    write(
        &root,
        "plugins/e2e/results/global/junit_01.xml",
        doc(one, ran_on_one, 0),
    );
    write(
        &root,
        "plugins/e2e/results/global/junit_02.xml",
        doc(&two, 1, 1),
    );
    root
}

#[test]
fn every_junit_file_of_a_parallel_ginkgo_v1_run_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = ginkgo_v1_parallel(dir.path());
    let run = verdict(&["--standard", "scs-0201-v1"], &root);
    assert_eq!(run.code, 1, "the failure on node 2 counts: {}", run.text);
    let json = run.json.as_ref().unwrap();
    assert_eq!(json["results"]["ginkgo"], "v1");
    assert!(
        json["results"]["junit_file"]
            .as_str()
            .unwrap()
            .contains("junit_02.xml")
    );
}

#[test]
fn two_different_copies_of_one_archive_entry_are_an_error() {
    let good = netpol();
    let bad = good.replacen(
        r#"status="passed" time="8.25"></testcase>"#,
        r#"status="failed" time="8.25"><failure type="failed">boom</failure></testcase>"#,
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "dup.tar.gz",
        tarball(
            &[(JUNIT_PATH, bad.as_bytes()), (JUNIT_PATH, good.as_bytes())],
            true,
        ),
    );
    let run = verdict(&CILIUM_PASS, &path);
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(run.text.contains("dup.tar.gz"), "{}", run.text);
    assert!(run.text.contains("entries #1 and #2"), "{}", run.text);

    // Identical copies are harmless.
    let path = write(
        dir.path(),
        "same.tar.gz",
        tarball(
            &[(JUNIT_PATH, good.as_bytes()), (JUNIT_PATH, good.as_bytes())],
            true,
        ),
    );
    assert_eq!(verdict(&CILIUM_PASS, &path).code, 0);
}

#[test]
fn a_spec_in_two_junit_files_with_different_outcomes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]";
    let doc = |body: &str| {
        format!(
            r#"<testsuite name="Kubernetes e2e suite"><testcase name="{spec}" time="1">{body}</testcase></testsuite>"#
        )
    };
    let root = dir.path().join("results");
    write(
        &root,
        "plugins/e2e/results/global/junit_01.xml",
        doc(r#"<failure type="Failure">x</failure>"#),
    );
    write(&root, "plugins/e2e/results/global/junit_02.xml", doc(""));
    let run = verdict(&["--standard", "scs-0201-v1"], &root);
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(
        run.text.contains("junit_01.xml") && run.text.contains("junit_02.xml"),
        "{}",
        run.text
    );
}

#[test]
fn a_ginkgo_v1_flake_retry_that_passed_is_a_pass_with_a_flake_mark() {
    let spec = "[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]";
    let doc = format!(
        r#"<testsuite name="Kubernetes e2e suite" tests="1" failures="0" errors="0">
<testcase name="{spec}" time="1"><failure type="Failure">flaked once</failure></testcase>
<testcase name="{spec}" time="1"></testcase>
</testsuite>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "junit_01.xml", doc);
    let run = verdict(&["--standard", "scs-0201-v1"], &path);
    assert_eq!(run.code, 0, "{}", run.text);
    let test = &run.testcase("cncf-k8s-conformance")["tests"][0];
    assert_eq!(test["outcome"], "passed");
    assert!(
        test["message"]
            .as_str()
            .unwrap()
            .starts_with("flaky: passed on attempt 2"),
        "{test}"
    );

    // Passed, then failed is not a retry: the failure stands.
    let doc = format!(
        r#"<testsuite name="Kubernetes e2e suite"><testcase name="{spec}" time="1"></testcase><testcase name="{spec}" time="1"><failure type="Failure">x</failure></testcase></testsuite>"#
    );
    let other = tempfile::tempdir().unwrap();
    let path = write(other.path(), "junit_01.xml", doc);
    assert_eq!(verdict(&["--standard", "scs-0201-v1"], &path).code, 1);
}

#[test]
fn failure_states_without_a_failure_element_and_failed_suite_nodes_are_not_pass() {
    let dir = tempfile::tempdir().unwrap();
    // A selected spec with status="failed" but no <failure> child.
    let xml = netpol().replacen(
        r#"status="passed" time="8.25"></testcase>"#,
        r#"status="failed" time="8.25"></testcase>"#,
        1,
    );
    let run = verdict(&CILIUM_PASS, &write(dir.path(), "a.xml", xml));
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(
        run.text.contains("1 of 47 selected tests failed"),
        "{}",
        run.text
    );

    // A failed [SynchronizedAfterSuite] fails every test case judged on the run.
    let xml = netpol();
    let node = xml
        .find(r#"<testcase name="[SynchronizedAfterSuite]""#)
        .unwrap();
    let end = node + xml[node..].find("</testcase>").unwrap();
    let xml = format!(
        "{}<testcase name=\"[SynchronizedAfterSuite]\" classname=\"Kubernetes e2e suite\" status=\"failed\" time=\"1\"><failure type=\"failed\">[FAILED] namespace cleanup failed</failure>{}",
        &xml[..node],
        &xml[end..]
    )
    .replacen(r#"failures="3""#, r#"failures="4""#, 2);
    let run = verdict(&CILIUM_PASS, &write(dir.path(), "b.xml", xml));
    assert_eq!(run.code, 1, "{}", run.text);
    assert!(
        run.text
            .contains("[SynchronizedAfterSuite] failed: [FAILED] namespace cleanup failed"),
        "{}",
        run.text
    );
}

#[test]
fn a_suite_that_says_it_failed_without_a_failure_is_abort() {
    let xml = gunzip("e2e/v1.33-viola-cilium.junit_01.xml.gz").replacen(
        r#"<property name="SuiteSucceeded" value="true">"#,
        r#"<property name="SuiteSucceeded" value="false">"#,
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "junit_01.xml", xml);
    let run = verdict(&["--standard", "scs-0201-v1", "--cni", "cilium"], &path);
    assert_eq!(run.code, 3, "{}", run.text);
    assert!(run.text.contains("SuiteSucceeded=false"), "{}", run.text);
}

/// The Sonobuoy v1.21 archive, unpacked, with `edit` applied to one of its files.
fn quick_archive_with(dir: &Path, file: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let tgz = std::fs::read(fixture("e2e/sonobuoy-v1.21-quick.tar.gz")).unwrap();
    let root = dir.join("results");
    tar::Archive::new(GzDecoder::new(&tgz[..]))
        .unpack(&root)
        .unwrap();
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
    root
}

#[test]
fn logs_and_sonobuoy_counts_that_disagree_with_the_junit_are_abort() {
    let dir = tempfile::tempdir().unwrap();
    // The archive as it is: consistent, ABORT only because 1 of 300+ specs ran.
    let root = quick_archive_with(dir.path(), "meta/info.json", str::to_string);
    let run = verdict(&["--standard", "scs-0201-v1"], &root);
    assert_eq!(run.code, 3);
    assert!(!run.text.contains("inconsistent"), "{}", run.text);

    let dir = tempfile::tempdir().unwrap();
    let root = quick_archive_with(dir.path(), "plugins/e2e/results/global/e2e.log", |t| {
        t.replace("Ran 1 of 5771 Specs", "Ran 1 of 5800 Specs")
    });
    let run = verdict(&["--standard", "scs-0201-v1"], &root);
    assert_eq!(run.code, 3);
    assert!(
        run.text.contains("e2e.log says \"Ran 1 of 5800 Specs\""),
        "{}",
        run.text
    );

    let dir = tempfile::tempdir().unwrap();
    let root = quick_archive_with(dir.path(), "plugins/e2e/sonobuoy_results.yaml", |t| {
        t.replacen("status: passed", "status: failed", 1)
    });
    let run = verdict(&["--standard", "scs-0201-v1"], &root);
    assert_eq!(run.code, 3);
    assert!(
        run.text
            .contains("sonobuoy_results.yaml says status: failed"),
        "{}",
        run.text
    );
}

#[test]
fn absurd_durations_are_refused_without_a_panic() {
    let xml = netpol().replacen(r#"time="8.25""#, r#"time="1e300""#, 1);
    let dir = tempfile::tempdir().unwrap();
    let run = verdict(&CILIUM_PASS, &write(dir.path(), "junit_01.xml", xml));
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(run.text.contains(r#"time="1e300""#), "{}", run.text);
    assert!(run.text.contains("junit_01.xml: line "), "{}", run.text);

    // Many long but valid durations sum without overflow.
    let xml = netpol().replace(r#"time="8.25""#, r#"time="999999""#);
    let run = verdict(&CILIUM_PASS, &write(dir.path(), "long.xml", xml));
    assert_eq!(run.code, 0, "{}", run.text);
}

#[test]
fn archives_are_recognised_by_content_not_by_name() {
    let xml = netpol();
    let dir = tempfile::tempdir().unwrap();

    // `tar czf x.tgz -C dir .`: entries start with `./`, the first is `./` itself.
    let path = write(
        dir.path(),
        "dot.tgz",
        tarball(
            &[
                ("./", b""),
                ("./plugins/", b""),
                (&format!("./{JUNIT_PATH}"), xml.as_bytes()),
            ],
            true,
        ),
    );
    assert_eq!(verdict(&CILIUM_PASS, &path).code, 0);

    // A plain tar named .tar.gz.
    let path = write(
        dir.path(),
        "plain.tar.gz",
        tarball(&[(JUNIT_PATH, xml.as_bytes())], false),
    );
    let run = verdict(&CILIUM_PASS, &path);
    assert_eq!(run.code, 0, "{}", run.text);
    assert_eq!(run.json.unwrap()["results"]["kind"], "tarball");

    // A multi-member gzip JUnit (what `zcat` reads).
    let bytes = xml.as_bytes();
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let path = write(dir.path(), "multi.xml.gz", [gzip(a), gzip(b)].concat());
    let run = verdict(&CILIUM_PASS, &path);
    assert_eq!(run.code, 0, "{}", run.text);

    // A zip named .tar.gz is refused.
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(&[0u8; 100]);
    let path = write(dir.path(), "results.tar.gz", zip);
    let run = verdict(&CILIUM_PASS, &path);
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(
        run.text
            .contains("a zip archive; Sonobuoy results are tar.gz"),
        "{}",
        run.text
    );
}

#[test]
fn a_huge_bare_junit_is_refused_before_it_is_read() {
    // A 2 GiB JUnit (sparse: it takes no disk space) is refused by its size.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "junit_01.xml", "<testsuite name=\"x\">");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let started = std::time::Instant::now();
    let run = verdict(&["--standard", "scs-0201-v1"], &path);
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(
        run.text.contains("more than 268435456 bytes"),
        "{}",
        run.text
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[cfg(unix)]
#[test]
fn directory_walks_neither_follow_symlinks_nor_open_fifos() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("results");
    std::fs::create_dir_all(root.join("plugins/e2e/results/x")).unwrap();
    std::os::unix::fs::symlink("..", root.join("plugins/e2e/results/x/up")).unwrap();
    let run = verdict(&["--standard", "scs-0201-v1"], &root);
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(run.text.contains("x/up: is a symlink"), "{}", run.text);

    for fifo in [
        root.join("plugins/e2e/results/global/junit_01.xml"),
        dir.path().join("junit.xml"),
    ] {
        std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let target = if fifo.starts_with(&root) {
            &root
        } else {
            &fifo
        };
        let run = verdict(&["--standard", "scs-0201-v1"], target);
        assert_eq!(run.code, 2, "{}", run.text);
        assert!(run.text.contains("is a FIFO"), "{}", run.text);
    }
}

#[test]
fn one_junit_file_of_a_parallel_run_is_refused_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let root = ginkgo_v1_parallel(dir.path());
    let first = root.join("plugins/e2e/results/global/junit_01.xml");
    let run = verdict(&["--standard", "scs-0201-v1"], &first);
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(
        run.text.contains("junit_02.xml") && run.text.contains("pass the directory"),
        "{}",
        run.text
    );
    assert!(run.json.is_none());
}

#[test]
fn a_ginkgo_dry_run_is_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let xml = netpol().replacen(
        r#"<property name="DryRun" value="false">"#,
        r#"<property name="DryRun" value="true">"#,
        1,
    );
    assert!(
        xml.contains(r#""DryRun" value="true""#),
        "fixture has a DryRun property"
    );
    let path = write(dir.path(), "dry.xml", xml);
    let run = verdict(&["--standard", "scs-0219-v1", "--cni", "cilium"], &path);
    assert_eq!(run.code, 3, "{}", run.text);
    assert!(run.text.contains("DryRun=true"), "{}", run.text);
}

#[test]
fn an_archive_cut_after_an_entry_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = tarball(&[(JUNIT_PATH, netpol().as_bytes())], false);
    // Without the two zero blocks that end every tar archive.
    let entry_end = whole.len() - whole.iter().rev().take_while(|b| **b == 0).count();
    let cut = &whole[..entry_end.div_ceil(512) * 512];
    let path = write(dir.path(), "cut.tar.gz", gzip(cut));
    let run = verdict(&["--standard", "scs-0219-v1"], &path);
    assert_eq!(run.code, 2, "{}", run.text);
    assert!(run.text.contains("end-of-archive marker"), "{}", run.text);
}
