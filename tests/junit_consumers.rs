//! junit.xml as the programs that consume it read it (docs/verdict.md, "junit.xml"). The
//! documents are rendered from the real fixtures, as tests/snapshots.rs does, plus a Ginkgo v1
//! report and the ABORT record (`render_error`).
//!
//! - Jenkins xUnit plugin: every document is validated against the plugin's own JUnit schema
//!   (tests/fixtures/junit-consumers/jenkins-xunit-junit-10.xsd) with `xmllint --schema`
//!   (Debian's libxml2-utils; `testenv/install-node-deps` installs it).
//! - dorny/test-reporter and mikepenz/action-junit-report: the actions' own code is NOT run.
//!   It cannot be copied into this repository (this project copies no code of other projects),
//!   neither action is published on npm, and CI cannot reach GitHub. What runs for real is the
//!   XML reading: each document is parsed by the npm library the action reads JUnit with, at the
//!   version the action's package-lock.json resolves (dorny: xml2js 0.6.2 on sax 1.4.3;
//!   mikepenz: xml-js 1.6.11 on sax 1.6.0), called the way the action calls it, by a script of
//!   ours (tests/fixtures/junit-consumers/{dorny-xml2js,mikepenz-xml-js}/parse.mjs; `npm ci`
//!   there from our own package.json and package-lock.json on first use, so npm must reach its
//!   registry once). What the action would show is then derived from the parsed object by the
//!   rules in `dorny_*` and `mikepenz_*` below, which we wrote in our own words from a reading
//!   of the actions' source at these commits:
//!   - dorny/test-reporter, tag v3.0.0, commit a43b3a5f7366b97d083190328d2c652e1a8b6aa2:
//!     src/parsers/java-junit/java-junit-parser.ts (tests, groups, results, the error message)
//!     and src/report/get-annotations.ts (annotations);
//!   - mikepenz/action-junit-report, tag v6.4.2 (= v6, which our workflows use), commit
//!     d9f48fc87bc235f7e214acf696ca5abc0a986f16: src/testParser.ts (counts, annotations: file,
//!     line, title, message), with the input defaults of action.yml and src/main.ts.
//!
//!   The assertions are on names, results, messages, groups, annotation paths and titles, and on
//!   the counts each action arrives at against the counts our XML declares. They hold for our
//!   reading of those releases: a later release that changes its rules is not noticed here.
//!   Without node or npm these two tests print why and pass.
//! - GitLab: its parser (`Gitlab::Ci::Parsers::Test::Junit`, Ruby inside the GitLab Rails app,
//!   on ActiveSupport's XML-to-Hash converter and GitLab's report classes) is not run: there is no
//!   Ruby here and its gems cannot be installed from the package registries this project
//!   reaches. Nothing of it is emulated; instead the facts it depends on are checked with a real
//!   XML parser (quick-xml): names and classnames present, failure, error and skipped elements
//!   with text (it shows the element's text, and an element with attributes but no text as a
//!   dump of its attributes), no `type` that ActiveSupport would typecast, no `file` it would
//!   link into the repository.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use jiff::civil::date;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use scs_conformance::definitions::catalog::Catalog;
use scs_conformance::definitions::{builtin, waiver};
use scs_conformance::evidence::cni::Cni;
use scs_conformance::evidence::results::{self, Limits};
use scs_conformance::reports::{self, ErrorRecord};
use scs_conformance::verdict::certify::{self, GivenFacts};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn consumers() -> PathBuf {
    root().join("tests/fixtures/junit-consumers")
}

/// `junit.xml` of `target` judged on `fixture` (under tests/fixtures), as `verdict` writes it.
fn render(target: &str, fixture: &str, cni: Option<&str>) -> String {
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let target = catalog.resolve(target, None).unwrap();
    let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
    let extract = tempfile::tempdir().unwrap();
    let results = results::load(
        &root().join("tests/fixtures").join(fixture),
        Some(extract.path()),
        Limits::default(),
    )
    .unwrap();
    let given = GivenFacts {
        cni: cni.map(|c| Cni::from_flag(c).unwrap()),
        kubernetes_version: None,
    };
    let today = date(2026, 8, 1);
    let mut cert =
        certify::certify_results(&catalog, &target, &waivers, &results, given, today).unwrap();
    cert.generated_at = "2026-08-01T12:00:00Z".parse().unwrap();
    reports::junit::render(&cert)
}

/// Every kind of document we write, by file name.
fn documents() -> &'static BTreeMap<&'static str, String> {
    static DOCS: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let netpol = "derived/v1.33-netpol-cilium-ipblock-failed.junit_01.xml.gz";
        let mut error = ErrorRecord::new(
            "verdict",
            "reading results.tar.gz: not a Sonobuoy results archive\n(no plugins/ folder)",
        );
        error.generated_at = "2026-08-01T12:00:00Z".parse().unwrap();
        BTreeMap::from([
            ("netpol-fail.xml", render("scs-0219-v1", netpol, None)),
            (
                "netpol-waived.xml",
                render("scs-0219-v1", netpol, Some("cilium")),
            ),
            (
                "scope.xml",
                render(
                    "scs-compatible-kaas",
                    "real/v1.35.4-kube-router-scs-0219-v1.tar.gz",
                    None,
                ),
            ),
            (
                "quick-abort.xml",
                render("scs-0201-v1", "e2e/sonobuoy-v1.21-quick.tar.gz", None),
            ),
            (
                "ginkgo-v1.xml",
                render("scs-0201-v1", "e2e/ginkgo-v1-output2.xml", None),
            ),
            ("error.xml", reports::junit::render_error(&error)),
        ])
    })
}

/// A GitHub workspace: the documents in `scs-conformance-results/`, as our workflows leave them.
fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    let out = ws.path().join("scs-conformance-results");
    std::fs::create_dir(&out).unwrap();
    for (name, xml) in documents() {
        std::fs::write(out.join(name), xml).unwrap();
    }
    ws
}

fn rel(name: &str) -> String {
    format!("scs-conformance-results/{name}")
}

#[test]
fn every_junit_xml_is_valid_against_the_jenkins_xunit_schema() {
    let xsd = consumers().join("jenkins-xunit-junit-10.xsd");
    let ws = workspace();
    for name in documents().keys() {
        let file = ws.path().join(rel(name));
        let out = Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| {
                panic!("xmllint: {e}; install Debian's libxml2-utils (testenv/install-node-deps)")
            });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.contains("validates"),
            "{name} is not valid against the Jenkins xUnit JUnit schema:\n{stderr}"
        );
    }
}

#[test]
fn the_schema_check_rejects_what_the_xunit_plugin_rejects() {
    // The validator is really applied: the attributes users reported are refused.
    let xsd = consumers().join("jenkins-xunit-junit-10.xsd");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.xml");
    let doc = documents()["netpol-fail.xml"].replacen(
        "<testsuites ",
        "<testsuites skipped=\"0\" timestamp=\"2026-08-01T12:00:00\" ",
        1,
    );
    std::fs::write(&file, doc).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint (Debian's libxml2-utils, testenv/install-node-deps)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("attribute 'skipped': The attribute 'skipped' is not allowed"),
        "{stderr}"
    );
}

/// The folder of one consumer's XML library, installed (`npm ci`, once per process and only when
/// package-lock.json is newer than the install); `None` when node or npm is missing, after
/// printing why.
fn xml_library(folder: &str) -> Option<PathBuf> {
    static READY: Mutex<BTreeMap<String, bool>> = Mutex::new(BTreeMap::new());
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    let dir = consumers().join(folder);
    if let Some(ok) = ready.get(folder) {
        return ok.then_some(dir);
    }
    for tool in ["node", "npm"] {
        if Command::new(tool).arg("--version").output().is_err() {
            println!("skipped: `{tool}` is not installed, so {folder}'s XML library cannot run");
            ready.insert(folder.to_string(), false);
            return None;
        }
    }
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if fresh(&installed) < fresh(&dir.join("package-lock.json")) {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "npm ci in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ready.insert(folder.to_string(), true);
    Some(dir)
}

/// The files `files` (relative to the workspace `ws`) as the library in `dir` parses them: its
/// `parse.mjs`, run in the workspace, as the actions run there.
fn parse_files(dir: &Path, ws: &Path, files: &[String]) -> BTreeMap<String, Value> {
    let out = Command::new("node")
        .arg(dir.join("parse.mjs"))
        .args(files)
        .current_dir(ws)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every document of the workspace `ws` (as our workflows give it to the actions), parsed by
/// the library in `dir`, by document name.
fn parse_all(dir: &Path, ws: &Path) -> BTreeMap<String, Value> {
    let files: Vec<String> = documents().keys().map(|n| rel(n)).collect();
    parse_files(dir, ws, &files)
        .into_iter()
        .map(|(k, v)| {
            (
                k.trim_start_matches("scs-conformance-results/").to_string(),
                v,
            )
        })
        .collect()
}

/// A suite's counts: (name, tests, failed = failures + errors, skipped).
type SuiteCounts = (String, u64, u64, u64);

/// What our XML declares: each `<testsuite>`'s counts, in document order, and the
/// `<testsuites>` totals (tests, failures + errors).
fn declared(xml: &str) -> (Vec<SuiteCounts>, (u64, u64)) {
    let all = elements(xml);
    let n = |e: &Element, a: &str| -> u64 { e.attrs.get(a).map_or(0, |v| v.parse().unwrap()) };
    let suites = all
        .iter()
        .filter(|e| e.name == "testsuite")
        .map(|e| {
            (
                e.attrs["name"].clone(),
                n(e, "tests"),
                n(e, "failures") + n(e, "errors"),
                n(e, "skipped"),
            )
        })
        .collect();
    let root = all.iter().find(|e| e.name == "testsuites").unwrap();
    (
        suites,
        (n(root, "tests"), n(root, "failures") + n(root, "errors")),
    )
}

// ---------------------------------------------------------------------------------------------
// dorny/test-reporter (reporter `java-junit`), our reading of v3.0.0 (commit a43b3a5f), applied to
// what xml2js gives with its default options: attributes of an element under `$`, its text under
// `_`, every child element in an array under its name, and an element with neither attributes nor
// children as its bare text.
//
// - The suites are the `<testsuite>`s under the root `<testsuites>`; a root `<testsuite>` alone is
//   read as the only suite. A suite's and a test's name are trimmed.
// - A suite's tests are grouped by `classname` in order of first appearance; a test whose
//   classname equals its suite's name goes to the unnamed group.
// - A test is failed when it has a `<failure>` or an `<error>`, else skipped when it has a
//   `<skipped>`, else success.
// - A failed test's error is its first `<failure>`, else its first `<error>`: the message shown is
//   the element's `message` attribute, preceded by its `type` and ": " when `type` is set; the
//   details are its text. (Skipped tests show no message.)
// - The annotation of a failed test: its path is the source file named by a Java stack frame of
//   the details (a line `at <method>(<File>:<line>)` naming a file tracked in git), else the
//   report's own path (line 0); its title is `suite ► group ► test` (`suite ► test` without
//   group); its error text is the message, else the first non-blank line of the details, else
//   "Test failed". (At most max-annotations + 1 = 11 are made; not modelled.)
// ---------------------------------------------------------------------------------------------

/// One test as dorny/test-reporter lists it.
#[derive(Debug)]
struct DornyTest {
    suite: String,
    group: String,
    name: String,
    result: &'static str,
    message: Option<String>,
    details: Option<String>,
}

/// The child elements `key` of an xml2js element.
fn xml2js_children<'a>(e: &'a Value, key: &str) -> &'a [Value] {
    e.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn xml2js_attr<'a>(e: &'a Value, name: &str) -> Option<&'a str> {
    e.get("$")?.get(name)?.as_str()
}

/// The tests of one document, suite by suite and group by group, as dorny lists them.
fn dorny_tests(parsed: &Value) -> Vec<DornyTest> {
    let suites: Vec<&Value> = match parsed.get("testsuites") {
        Some(root) => xml2js_children(root, "testsuite").iter().collect(),
        None => vec![&parsed["testsuite"]],
    };
    let mut out = Vec::new();
    for suite in suites {
        let suite_name = xml2js_attr(suite, "name").unwrap();
        let mut groups: Vec<(&str, Vec<&Value>)> = Vec::new();
        for tc in xml2js_children(suite, "testcase") {
            let classname = xml2js_attr(tc, "classname").unwrap_or_default();
            let group = if classname == suite_name {
                ""
            } else {
                classname
            };
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, tests)) => tests.push(tc),
                None => groups.push((group, vec![tc])),
            }
        }
        for (group, tests) in groups {
            for tc in tests {
                let has = |k: &str| tc.get(k).is_some();
                let result = if has("failure") || has("error") {
                    "failed"
                } else if has("skipped") {
                    "skipped"
                } else {
                    "success"
                };
                let error = xml2js_children(tc, "failure")
                    .first()
                    .or_else(|| xml2js_children(tc, "error").first());
                let (message, details) = match error {
                    None => (None, None),
                    Some(Value::String(text)) => (None, Some(text.clone())),
                    Some(e) => {
                        let message = xml2js_attr(e, "message");
                        let message = match xml2js_attr(e, "type") {
                            // JavaScript concatenation: a missing message reads "undefined".
                            Some(t) if !t.is_empty() => {
                                Some(format!("{t}: {}", message.unwrap_or("undefined")))
                            }
                            _ => message.map(str::to_string),
                        };
                        let details = e.get("_").and_then(Value::as_str).map(str::to_string);
                        (message, details)
                    }
                };
                out.push(DornyTest {
                    suite: suite_name.trim().to_string(),
                    group: group.to_string(),
                    name: xml2js_attr(tc, "name").unwrap().trim().to_string(),
                    result,
                    message,
                    details,
                });
            }
        }
    }
    out
}

/// dorny's annotation of a failed test in the report at `report_path`: (path, title, error).
fn dorny_annotation(report_path: &str, t: &DornyTest) -> (String, String, String) {
    let details = t.details.as_deref().unwrap_or("");
    // No Java stack frame in our details, so the path is never a source file of the repository.
    let java_frame = regex::Regex::new(r"^\s*at \S.*\(.*:[0-9]+\)$").unwrap();
    assert!(
        !details.lines().any(|l| java_frame.is_match(l)),
        "{}: a Java stack frame in {details}",
        t.name
    );
    let title = if t.group.is_empty() {
        format!("{} ► {}", t.suite, t.name)
    } else {
        format!("{} ► {} ► {}", t.suite, t.group, t.name)
    };
    let error = t
        .message
        .clone()
        .or_else(|| {
            details
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Test failed".to_string());
    (report_path.to_string(), title, error)
}

const NETPOL_HEADLINE: &str = "[FAILED] Had 1 wrong results in reachability matrix";
const V1_HEADLINE: &str = "Conformance test suite needs a cluster with at least 2 nodes.";

#[test]
fn dorny_test_reporter_shows_each_failure_once_with_its_real_message() {
    let Some(dir) = xml_library("dorny-xml2js") else {
        return;
    };
    let ws = workspace();
    let docs = parse_all(&dir, ws.path());
    assert_eq!(docs.len(), documents().len());

    // Every document: dorny's suites and counts are the ones our XML declares, and no message
    // doubles a state ("failed: [FAILED] …", "ABORT: ABORT: …").
    for (name, parsed) in &docs {
        let tests = dorny_tests(parsed);
        let (suites, _) = declared(&documents()[name.as_str()]);
        let mut read: Vec<SuiteCounts> = Vec::new();
        for t in &tests {
            if read.last().is_none_or(|s| s.0 != t.suite) {
                read.push((t.suite.clone(), 0, 0, 0));
            }
            let s = read.last_mut().unwrap();
            s.1 += 1;
            s.2 += u64::from(t.result == "failed");
            s.3 += u64::from(t.result == "skipped");
        }
        assert_eq!(read, suites, "{name}");
        for t in &tests {
            if let Some(m) = &t.message {
                assert!(
                    !m.starts_with("failed: ")
                        && !m.contains("FAIL: FAIL")
                        && !m.contains("ABORT: ABORT"),
                    "{name}: {t:?}"
                );
            }
        }
    }

    // The three ipBlock specs fail, each with Ginkgo's message, not "failed: [FAILED] …"; the
    // verdict FAIL is carried by them, no synthetic "verdict" test repeats it. The group is the
    // SCS module.
    let tests = dorny_tests(&docs["netpol-fail.xml"]);
    assert_eq!(tests.len(), 47);
    assert!(
        tests
            .iter()
            .all(|t| t.suite == "kaas-networking-check" && t.group == "scs-0219-v1"),
        "{tests:?}"
    );
    assert_eq!(tests.iter().filter(|t| t.result == "success").count(), 44);
    let failed: Vec<_> = tests.iter().filter(|t| t.result == "failed").collect();
    assert_eq!(failed.len(), 3);
    for t in &failed {
        assert!(
            t.name.contains("IPBlock") || t.name.contains("ipBlock") || t.name.contains("CIDR"),
            "{t:?}"
        );
        assert_eq!(t.message.as_deref(), Some(NETPOL_HEADLINE));
        let (path, title, error) = dorny_annotation(&rel("netpol-fail.xml"), t);
        assert_eq!(path, rel("netpol-fail.xml"));
        assert_eq!(
            title,
            format!("kaas-networking-check ► scs-0219-v1 ► {}", t.name)
        );
        assert_eq!(error, NETPOL_HEADLINE);
    }

    // With the Cilium waivers nothing fails; the waived specs are skipped.
    let waived = dorny_tests(&docs["netpol-waived.xml"]);
    assert!(waived.iter().all(|t| t.result != "failed"));
    assert_eq!(waived.iter().filter(|t| t.result == "skipped").count(), 3);

    // ABORT without a failing spec: one test carries it, read as "ABORT: <reason>".
    let failed: Vec<_> = dorny_tests(&docs["quick-abort.xml"])
        .into_iter()
        .filter(|t| t.result == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].name, "cncf-k8s-conformance verdict");
    assert_eq!(failed[0].group, "scs-0201-v1");
    assert_eq!(
        failed[0].message.as_deref(),
        Some("ABORT: 334 of 339 selected tests did not run")
    );

    // Ginkgo v1: the failure text, not the Go file path of its first line.
    let failed: Vec<_> = dorny_tests(&docs["ginkgo-v1.xml"])
        .into_iter()
        .filter(|t| t.result == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]
            .name
            .contains("Daemon set [Serial] should rollback")
    );
    assert_eq!(failed[0].message.as_deref(), Some(V1_HEADLINE));
    let (_, _, error) = dorny_annotation(&rel("ginkgo-v1.xml"), &failed[0]);
    assert_eq!(error, V1_HEADLINE);

    // The ABORT record.
    let error = dorny_tests(&docs["error.xml"]);
    assert_eq!(error.len(), 1, "{error:?}");
    assert_eq!(error[0].result, "failed");
    assert_eq!(
        error[0].message.as_deref(),
        Some("ABORT: reading results.tar.gz: not a Sonobuoy results archive")
    );
}

// ---------------------------------------------------------------------------------------------
// mikepenz/action-junit-report, our reading of v6.4.2 (commit d9f48fc8) with the inputs of our
// workflows (include_passed false) and the action's defaults otherwise (no check_title_template,
// no transformers, exclude_sources `/build/` and `/__pycache__/`, truncate_stack_traces on),
// applied to what xml-js gives in its compact form: attributes under `_attributes`, text under
// `_text` (CDATA under `_cdata`), a child element that occurs once as an object and several times
// as an array.
//
// - The root is `<testsuites>`, else `<testsuite>`; every suite's test cases are counted, then its
//   child `<testsuite>`s, recursively.
// - A test case is skipped when it has a `<skipped>` (or status `disabled` or `ignored`); failed
//   when it has a `<failure>` or an `<error>` and is not skipped; passed otherwise.
// - Each `<failure>` and `<error>` of a failed test case is one annotation (with include_passed
//   false, nothing else is annotated):
//   - message: the element's `message` attribute, else the first two lines of its trimmed text,
//     else the test case's name; trimmed.
//   - file: the `file` attribute of the test case, of the element or of the suite, else the last
//     `.`-separated part of `classname` (of the name when there is no classname).
//   - line: the `line` attribute likewise, taken as it is when a `file` was given too; else the
//     number after the last ` <anything><file><anything>:<digits>` in the element's text on one
//     line; else 1.
//   - path: the file as a path relative to the workspace if it exists there; else the first
//     `**/<file>.*` in the workspace outside the excluded folders, relative to it; else the file
//     as it is (the GitHub Checks API needs a path: there is no "no file").
//   - title: `<file>.<test case name>` (only the name when the file equals it), followed by
//     ` (failure i/n)` when the test case has several failures and errors.
//   (Emoji are removed from title and message; ours have none. annotations_limit is unset.)
// ---------------------------------------------------------------------------------------------

/// What mikepenz/action-junit-report reports of one document.
#[derive(Debug, Default)]
struct MikepenzRun {
    total: u64,
    passed: u64,
    skipped: u64,
    failed: u64,
    annotations: Vec<MikepenzAnnotation>,
}

#[derive(Debug)]
struct MikepenzAnnotation {
    path: String,
    line: i64,
    title: String,
    message: String,
}

/// The child elements `key` of an xml-js (compact) element.
fn compact_children<'a>(e: &'a Value, key: &str) -> Vec<&'a Value> {
    match e.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(all)) => all.iter().collect(),
        Some(one) => vec![one],
    }
}

/// A non-empty attribute (JavaScript reads an empty one as absent).
fn compact_attr(e: &Value, name: &str) -> Option<String> {
    match e.get("_attributes")?.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// An element's text: its CDATA, else its text (several text nodes come as an array, which
/// JavaScript's toString joins with commas), trimmed.
fn compact_text(e: &Value) -> String {
    let js = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| v.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    };
    js(e.get("_cdata"))
        .or_else(|| js(e.get("_text")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The path an annotation for `file` gets in the workspace `ws` (the working directory).
fn mikepenz_path(ws: &Path, file: &str) -> String {
    if ws.join(file).exists() {
        return file.to_string();
    }
    let glued = format!("{}{file}", ws.display());
    if Path::new(&glued).exists() {
        return glued;
    }
    // `**/<file>.*`: `<file>.` and a last part, at any depth of folders (not dot-folders;
    // symbolic links not followed); `<file>` may itself hold folders.
    fn walk(ws: &Path, dir: &Path, file: &str, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(ws).unwrap().to_string_lossy().to_string();
            let matches = (0..=rel.len()).any(|at| {
                rel.is_char_boundary(at)
                    && (at == 0 || rel[..at].ends_with('/'))
                    && rel[at..]
                        .strip_prefix(&format!("{file}."))
                        .is_some_and(|rest| !rest.contains('/'))
            });
            if matches {
                found.push(path.clone());
            }
            let name = entry.file_name().to_string_lossy().to_string();
            if entry.file_type().unwrap().is_dir() && !name.starts_with('.') {
                walk(ws, &path, file, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(ws, ws, file, &mut found);
    found.retain(|p| {
        let p = p.to_string_lossy();
        !p.contains("/build/") && !p.contains("/__pycache__/")
    });
    // Among several, the action takes the first in glob's walk order, which is not modelled.
    assert!(found.len() <= 1, "{file}: several candidates {found:?}");
    match found.first() {
        Some(p) => p.strip_prefix(ws).unwrap().to_string_lossy().to_string(),
        None => file.to_string(),
    }
}

/// What mikepenz/action-junit-report makes of one parsed document, in the workspace `ws`.
fn mikepenz_read(parsed: &Value, ws: &Path) -> MikepenzRun {
    fn suite(s: &Value, ws: &Path, run: &mut MikepenzRun) {
        let suite_file = compact_attr(s, "file");
        let suite_line = compact_attr(s, "line");
        for tc in compact_children(s, "testcase") {
            run.total += 1;
            let issues: Vec<&Value> = compact_children(tc, "failure")
                .into_iter()
                .chain(compact_children(tc, "error"))
                .collect();
            let status = compact_attr(tc, "status");
            let skip = tc.get("skipped").is_some()
                || matches!(status.as_deref(), Some("disabled" | "ignored"));
            let failed = !issues.is_empty() && !skip;
            run.skipped += u64::from(skip);
            run.failed += u64::from(failed);
            if !failed {
                continue;
            }
            let name = compact_attr(tc, "name").unwrap_or_default();
            for (i, issue) in issues.iter().enumerate() {
                let text = compact_text(issue);
                let two_lines = text.split('\n').take(2).collect::<Vec<_>>().join("\n");
                let message = compact_attr(issue, "message")
                    .or((!two_lines.is_empty()).then_some(two_lines))
                    .unwrap_or_else(|| name.clone())
                    .trim()
                    .to_string();
                let given_file = compact_attr(tc, "file")
                    .or_else(|| compact_attr(issue, "file"))
                    .or_else(|| suite_file.clone());
                let given_line = compact_attr(tc, "line")
                    .or_else(|| compact_attr(issue, "line"))
                    .or_else(|| suite_line.clone());
                let class = compact_attr(tc, "classname").unwrap_or_else(|| name.clone());
                let file = given_file
                    .clone()
                    .unwrap_or_else(|| class.rsplit('.').next().unwrap().to_string());
                let leading_int = |s: &str| -> Option<i64> {
                    let digits: String = s
                        .trim_start()
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    digits.parse().ok().filter(|&n| n != 0)
                };
                let given_line = given_line.as_deref().and_then(leading_int);
                let line = match (given_file.is_some(), given_line) {
                    (true, Some(n)) => n,
                    _ => {
                        let pattern = format!(
                            " [^ ]*{}.*?:[0-9]+",
                            regex::escape(&file).replacen("::", "/", 1)
                        );
                        let re = regex::Regex::new(&pattern).unwrap();
                        match re.find_iter(&text).last() {
                            None => given_line.unwrap_or(1),
                            Some(m) => m
                                .as_str()
                                .rsplit(':')
                                .next()
                                .and_then(leading_int)
                                .unwrap_or(-1),
                        }
                    }
                };
                let mut title = if file == name {
                    name.clone()
                } else {
                    format!("{file}.{name}")
                };
                if issues.len() > 1 {
                    title = format!("{title} (failure {}/{})", i + 1, issues.len());
                }
                run.annotations.push(MikepenzAnnotation {
                    path: mikepenz_path(ws, &file),
                    line,
                    title,
                    message,
                });
            }
        }
        let children = if s.get("testsuite").is_some() {
            compact_children(s, "testsuite")
        } else {
            compact_children(s, "testsuites")
        };
        for child in children {
            suite(child, ws, run);
        }
    }
    let mut run = MikepenzRun::default();
    let root = parsed
        .get("testsuites")
        .or_else(|| parsed.get("testsuite"))
        .expect("a root testsuites or testsuite");
    suite(root, ws, &mut run);
    run.passed = run.total - run.failed - run.skipped;
    run
}

#[test]
fn mikepenz_action_junit_report_annotates_the_standard_not_a_sig_file() {
    let Some(dir) = xml_library("mikepenz-xml-js") else {
        return;
    };
    let ws = workspace();
    let docs = parse_all(&dir, ws.path());
    assert_eq!(docs.len(), documents().len());
    let read = |name: &str| mikepenz_read(&docs[name], ws.path());

    // Every document: the counts are the ones our XML declares, no annotation names a SIG as
    // its file, and every annotation is on line 1 (no text of ours points into the file).
    for name in docs.keys() {
        let run = read(name);
        let (suites, (tests, failed)) = declared(&documents()[name.as_str()]);
        let skipped: u64 = suites.iter().map(|s| s.3).sum();
        assert_eq!(
            (run.total, run.failed, run.skipped),
            (tests, failed, skipped),
            "{name}"
        );
        assert_eq!(run.passed, tests - failed - skipped, "{name}");
        for a in &run.annotations {
            assert!(!a.path.starts_with("sig-"), "{name}: {a:?}");
            assert_eq!(a.line, 1, "{name}: {a:?}");
        }
    }

    // The three failed ipBlock specs, annotated on the standard (the classname), with the
    // failure's headline.
    let fail = read("netpol-fail.xml");
    assert_eq!(
        (fail.total, fail.passed, fail.failed, fail.skipped),
        (47, 44, 3, 0)
    );
    assert_eq!(fail.annotations.len(), 3, "{:?}", fail.annotations);
    for a in &fail.annotations {
        assert_eq!(a.path, "scs-0219-v1", "{a:?}");
        assert_eq!(a.message, NETPOL_HEADLINE);
        assert!(
            a.title.starts_with("scs-0219-v1.[sig-network] Netpol"),
            "{a:?}"
        );
    }

    // With the Cilium waivers: no failure (the conclusion is success), nothing annotated.
    let waived = read("netpol-waived.xml");
    assert_eq!((waived.failed, waived.skipped), (0, 3));
    assert!(waived.annotations.is_empty(), "{:?}", waived.annotations);

    // ABORT without a failing spec: the synthetic verdict test case, message without the type.
    let abort = read("quick-abort.xml").annotations;
    assert_eq!(abort.len(), 1, "{abort:?}");
    assert_eq!(abort[0].path, "scs-0201-v1");
    assert_eq!(abort[0].title, "scs-0201-v1.cncf-k8s-conformance verdict");
    assert_eq!(abort[0].message, "334 of 339 selected tests did not run");

    let v1 = read("ginkgo-v1.xml").annotations;
    assert_eq!(v1.len(), 1, "{v1:?}");
    assert_eq!(v1[0].message, V1_HEADLINE);
    assert_eq!(v1[0].path, "scs-0201-v1");

    let error = read("error.xml").annotations;
    assert_eq!(error.len(), 1, "{error:?}");
    assert_eq!(error[0].path, "scs-conformance");
    assert_eq!(
        error[0].message,
        "reading results.tar.gz: not a Sonobuoy results archive"
    );

    // In a checkout that holds the standards (this repository), the file found is the
    // standard's definition.
    let standards = ws.path().join("standards");
    std::fs::create_dir(&standards).unwrap();
    std::fs::copy(
        root().join("standards/scs-0219-v1.yaml"),
        standards.join("scs-0219-v1.yaml"),
    )
    .unwrap();
    for a in read("netpol-fail.xml").annotations {
        assert_eq!(a.path, "standards/scs-0219-v1.yaml", "{a:?}");
    }
}

/// The junit.xml users reported, in the shape we wrote before (classname = the SIG, `<failure
/// type="failed">`), plus a test case with `file` and `line`: the rules above, applied to what
/// the real libraries parse, show the problems that were reported, so the checks on our output
/// are not vacuous.
#[test]
fn the_consumer_rules_show_the_problems_users_reported() {
    let (Some(dorny), Some(mikepenz)) =
        (xml_library("dorny-xml2js"), xml_library("mikepenz-xml-js"))
    else {
        return;
    };
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("old.xml"),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" failures="2">
  <testsuite name="scs-0219-v1" tests="2" failures="2">
    <testcase name="[sig-network] Netpol should enforce ipBlock" classname="sig-network" time="1">
      <failure type="failed" message="{NETPOL_HEADLINE}">{NETPOL_HEADLINE}
In [It] at: k8s.io/kubernetes/test/e2e/network/netpol/kubemanager.go:391</failure>
    </testcase>
    <testcase name="with a file" classname="a.b.C" file="e2e/netpol.go" line="12">
      <failure>first line
second line
third line</failure>
      <error message="again"/>
    </testcase>
  </testsuite>
</testsuites>
"#
        ),
    )
    .unwrap();
    let files = ["old.xml".to_string()];

    let parsed = parse_files(&dorny, ws.path(), &files);
    let tests = dorny_tests(&parsed["old.xml"]);
    assert_eq!(tests.len(), 2);
    assert_eq!(
        (tests[0].group.as_str(), tests[0].result),
        ("sig-network", "failed")
    );
    assert_eq!(
        tests[0].message.as_deref(),
        Some(format!("failed: {NETPOL_HEADLINE}").as_str())
    );
    // No attributes on <failure>: no message; the annotation falls back to the first line.
    assert_eq!(tests[1].message, None);
    let (path, title, error) = dorny_annotation("old.xml", &tests[1]);
    assert_eq!(
        (path.as_str(), title.as_str(), error.as_str()),
        ("old.xml", "scs-0219-v1 ► a.b.C ► with a file", "first line")
    );

    let parsed = parse_files(&mikepenz, ws.path(), &files);
    let run = mikepenz_read(&parsed["old.xml"], ws.path());
    assert_eq!((run.total, run.failed), (2, 2));
    let a = &run.annotations;
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!((a[0].path.as_str(), a[0].line), ("sig-network", 1));
    assert_eq!(
        a[0].title,
        "sig-network.[sig-network] Netpol should enforce ipBlock"
    );
    assert_eq!(a[0].message, NETPOL_HEADLINE);
    assert_eq!((a[1].path.as_str(), a[1].line), ("e2e/netpol.go", 12));
    assert_eq!(a[1].title, "e2e/netpol.go.with a file (failure 1/2)");
    assert_eq!(a[1].message, "first line\nsecond line");
    assert_eq!(a[2].title, "e2e/netpol.go.with a file (failure 2/2)");
    assert_eq!(a[2].message, "again");
}

/// An element as read: name, attributes, text content, parent's name.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    parent: String,
}

fn elements(xml: &str) -> Vec<Element> {
    let mut reader = Reader::from_str(xml);
    let mut out: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                let (e, empty) = match &ev {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => unreachable!(),
                };
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                            a.normalized_value(XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                let parent = open
                    .last()
                    .map(|&i| out[i].name.clone())
                    .unwrap_or_default();
                out.push(Element {
                    name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                    attrs,
                    text: String::new(),
                    parent,
                });
                if !empty {
                    open.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t.xml10_content().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(&i) = open.last() {
                    let c = match r.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_xml_entity(&r.decode().unwrap())
                            .unwrap()
                            .to_string(),
                    };
                    out[i].text.push_str(&c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn gitlab_finds_names_classnames_and_text_for_every_result() {
    // ActiveSupport's XML converter casts an element's content by its `type` attribute for these
    // values (and refuses `symbol` and `yaml`): a result element must not carry one of them.
    const TYPECAST: [&str; 14] = [
        "symbol",
        "yaml",
        "date",
        "datetime",
        "dateTime",
        "integer",
        "float",
        "decimal",
        "boolean",
        "string",
        "base64Binary",
        "binary",
        "file",
        "array",
    ];
    for (name, xml) in documents() {
        let all = elements(xml);
        for e in &all {
            assert!(!e.attrs.contains_key("file"), "{name}: {e:?}");
            match e.name.as_str() {
                "testcase" => {
                    assert!(!e.attrs["name"].trim().is_empty(), "{name}: {e:?}");
                    assert!(!e.attrs["classname"].trim().is_empty(), "{name}: {e:?}");
                    assert_eq!(e.parent, "testsuite", "{name}: {e:?}");
                }
                "failure" | "error" | "skipped" => {
                    assert_eq!(e.parent, "testcase", "{name}: {e:?}");
                    assert!(!e.text.trim().is_empty(), "{name}: {e:?}");
                    if let Some(t) = e.attrs.get("type") {
                        assert!(!TYPECAST.contains(&t.as_str()), "{name}: {e:?}");
                    }
                }
                _ => {}
            }
        }
        // GitLab's suite name for a testcase is the `name` of the <testsuite> around it.
        assert!(
            all.iter()
                .filter(|e| e.name == "testsuite")
                .all(|e| !e.attrs["name"].is_empty()),
            "{name}"
        );
    }
    // What GitLab shows for the Ginkgo v1 failure is its text, which has the message.
    let v1 = elements(&documents()["ginkgo-v1.xml"]);
    let failure = v1.iter().find(|e| e.name == "failure").unwrap();
    assert!(failure.text.contains(V1_HEADLINE), "{failure:?}");
    assert_eq!(failure.attrs["message"], V1_HEADLINE);
    // Skipped specs say why, as text, the same as their message.
    for (name, xml) in documents() {
        for e in elements(xml).iter().filter(|e| e.name == "skipped") {
            assert_eq!(e.text, e.attrs["message"], "{name}");
            assert!(
                e.text.starts_with("selected, but") || e.text.contains("waived"),
                "{name}: {}",
                e.text
            );
        }
    }
}
