//! Bad input gets a clear error naming the file and line (or the archive entry), exit code 2,
//! and no panic.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use flate2::Compression;
use flate2::write::GzEncoder;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs the CLI; returns (exit code, stderr+stdout).
fn run(args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("scs-conformance")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code().unwrap(), text)
}

const MODULE: &str = r#"module:
  id: scs-0219-v1
  name: KaaS networking
  testcases:
    - id: kaas-networking-check
      description: d
      e2e:
        focus: '\[Feature:NetworkPolicy\]'
        skip: ''
"#;

/// A standards directory with the given files; returns (dir, path string).
fn standards(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn list_standards(dir: &tempfile::TempDir) -> (i32, String) {
    run(&["standards", "--standards-dir", dir.path().to_str().unwrap()])
}

#[test]
fn unknown_key_in_a_standard_names_file_line_and_column() {
    let text = MODULE.replace(
        "      description: d\n",
        "      description: d\n      focuss: x\n",
    );
    let dir = standards(&[("m.yaml", &text)]);
    let (code, err) = list_standards(&dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("m.yaml:7:"), "{err}");
    assert!(err.contains("focuss"), "{err}");
}

#[test]
fn invalid_regex_names_the_line_of_the_regex() {
    let text = MODULE.replace(
        r"focus: '\[Feature:NetworkPolicy\]'",
        r"focus: '[Feature:NetworkPolicy'",
    );
    let dir = standards(&[("m.yaml", &text)]);
    let (code, err) = list_standards(&dir);
    assert_eq!(code, 2);
    assert!(err.contains("m.yaml:8:16: invalid focus regex"), "{err}");
}

#[test]
fn duplicate_ids_and_dangling_includes_are_all_reported() {
    let scope = "scope:\n  id: s\n  name: S\n  versions:\n    - version: v1\n      include: [scs-0219-v1, scs-9999-v1]\n";
    let dir = standards(&[("a.yaml", MODULE), ("b.yaml", MODULE), ("c.yaml", scope)]);
    let (code, err) = list_standards(&dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("b.yaml:2:7: duplicate id \"scs-0219-v1\""),
        "{err}"
    );
    assert!(
        err.contains("b.yaml:5:11: duplicate id \"kaas-networking-check\""),
        "{err}"
    );
    assert!(
        err.contains("c.yaml:6:30: scope includes unknown module \"scs-9999-v1\""),
        "{err}"
    );
}

#[test]
fn broken_yaml_names_the_file() {
    let dir = standards(&[("m.yaml", "module: [unclosed\n")]);
    let (code, err) = list_standards(&dir);
    assert_eq!(code, 2);
    assert!(err.contains("m.yaml:"), "{err}");
}

#[test]
fn bad_waivers_name_file_and_line() {
    let cases = [
        (
            "cni: cillium\nwaivers: []\n",
            "w.yaml:1:6: unknown CNI \"cillium\"",
        ),
        (
            "cni: cilium\nwaivers:\n  - id: x\n    standard: scs-0000-v9\n    test: 'a'\n    reason: r\n    tracking: https://x\n    expires: 2027-01-01\n",
            "w.yaml:4:15: waiver refers to unknown standard or test case \"scs-0000-v9\"",
        ),
        (
            "cni: cilium\nwaivers:\n  - id: x\n    standard: scs-0201-v1\n    test: 'a('\n    reason: r\n    tracking: https://x\n    expires: 2027-01-01\n",
            "w.yaml:5:11: invalid test regex",
        ),
        (
            "cni: cilium\nwaivers:\n  - id: x\n    standard: scs-0201-v1\n    test: a\n    reason: r\n    tracking: https://x\n",
            "w.yaml:",
        ),
        (
            "cni: cilium\nwaivers:\n  - id: x\n    standard: scs-0201-v1\n    test: a\n    reason: r\n    tracking: https://x\n    expires: 2027-13-01\n",
            "w.yaml:8:",
        ),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.yaml"), text).unwrap();
        let (code, err) = run(&["waivers", "--waivers-dir", dir.path().to_str().unwrap()]);
        assert_eq!(code, 2, "{text}\n{err}");
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
}

#[test]
fn bad_scs_ok_to_fail_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okToFail.yaml");
    std::fs::write(&path, "okToFail:\n- regex: x\n  reason: y\n  extra: z\n").unwrap();
    let (code, err) = run(&["waivers", "--waivers-from-scs", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("okToFail.yaml:4:"), "{err}");
}

#[test]
fn unknown_standard_is_a_usage_error() {
    let (code, err) = run(&["plan", "--standard", "scs-9999-v1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no scope, module or test case named \"scs-9999-v1\""),
        "{err}"
    );
    let (code, err) = run(&[
        "plan",
        "--standard",
        "scs-compatible-kaas",
        "--version",
        "v9",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("has no version \"v9\""), "{err}");
}

fn verdict_on(path: &Path) -> (i32, String, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let (code, text) = run(&[
        "verdict",
        "--standard",
        "scs-0201-v1",
        "--results",
        path.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    (code, text, out)
}

#[test]
fn truncated_junit_names_file_and_line() {
    let xml = std::fs::read(fixture("e2e/ginkgo-v1-output2.xml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit_01.xml");
    std::fs::write(&path, &xml[..xml.len() / 2]).unwrap();
    let (code, err, out) = verdict_on(&path);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("junit_01.xml: line "), "{err}");
    assert!(
        err.contains("truncated") || err.contains("malformed"),
        "{err}"
    );
    assert!(
        !out.path().join("verdict.json").exists(),
        "no verdict from unreadable results"
    );
}

#[test]
fn truncated_tarball_is_an_error_naming_the_archive() {
    let bytes = std::fs::read(fixture("e2e/sonobuoy-v1.21-quick.tar.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.tar.gz");
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let (code, err, _) = verdict_on(&path);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("results.tar.gz"), "{err}");
    assert!(
        err.contains("truncated") || err.contains("corrupt"),
        "{err}"
    );
}

/// Writes a .tar.gz with raw headers, so hostile names and types can be expressed.
fn hostile_tarball(dir: &Path, entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> PathBuf {
    let path = dir.join("hostile.tar.gz");
    let mut builder = tar::Builder::new(GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        Compression::fast(),
    ));
    for (name, kind, data, link) in entries {
        let mut header = tar::Header::new_gnu();
        // Bypass the builder's own path checks: write the name bytes directly.
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if let Some(l) = link {
            header.set_link_name(l).unwrap();
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder
        .into_inner()
        .unwrap()
        .finish()
        .unwrap()
        .flush()
        .unwrap();
    path
}

#[test]
fn hostile_tarballs_are_refused_without_writing_outside_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, tar::EntryType, Option<&str>, &str); 3] = [
        (
            "../../escaped.txt",
            tar::EntryType::Regular,
            None,
            "path contains `..`",
        ),
        (
            "plugins/link",
            tar::EntryType::Symlink,
            Some("/etc/passwd"),
            "Symlink entries are not allowed",
        ),
        (
            "plugins/hard",
            tar::EntryType::Link,
            Some("/etc/passwd"),
            "Link entries are not allowed",
        ),
    ];
    for (name, kind, link, expected) in cases {
        let path = hostile_tarball(dir.path(), &[(name, kind, b"x", link)]);
        let (code, err, out) = verdict_on(&path);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains("hostile.tar.gz"), "{err}");
        assert!(
            !out.path().join("escaped.txt").exists() && !dir.path().join("escaped.txt").exists()
        );
    }
}

#[test]
fn an_archive_without_e2e_results_says_what_it_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_tarball(
        dir.path(),
        &[("meta/info.json", tar::EntryType::Regular, b"{}", None)],
    );
    let (code, err, out) = verdict_on(&path);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no e2e JUnit report"), "{err}");
    assert!(
        out.path().join("results/meta/info.json").exists(),
        "retrieved results are kept: {err}"
    );
}

#[test]
fn missing_results_path_is_an_input_error() {
    let (code, err, _) = verdict_on(Path::new("/nonexistent/results.tar.gz"));
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/results.tar.gz"), "{err}");
}

#[test]
fn not_junit_xml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("page.xml");
    std::fs::write(&path, "<html><body>hi</body></html>").unwrap();
    let (code, err, _) = verdict_on(&path);
    assert_eq!(code, 2);
    assert!(err.contains("not a JUnit report"), "{err}");
}

/// Control characters of a path (here an ESC starting a colour sequence) are shown in the error,
/// not sent to the terminal raw.
#[test]
fn control_characters_of_paths_are_escaped_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("evil\u{1b}[31mred\u{7}.xml");
    let out = dir.path().join("out");
    let (code, text) = run(&[
        "verdict",
        "--standard",
        "scs-0219-v1",
        "--results",
        results.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains(r"evil\u{1b}[31mred\u{7}.xml"), "{text}");
}
