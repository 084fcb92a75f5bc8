//! What users of any Unix command line expect: output piped into `head` ends quietly, the tool
//! says its own version.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

/// Runs the command, reads the first line of its stdout and closes the pipe, like `| head -1`.
fn first_line_then_close(args: &[&str]) -> (String, std::process::ExitStatus, String) {
    let mut child = Command::new(bin())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        first.push(byte[0]);
    }
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (String::from_utf8_lossy(&first).into_owned(), status, stderr)
}

#[test]
fn a_plan_listing_piped_into_head_ends_quietly() {
    let (first, status, stderr) = first_line_then_close(&[
        "plan",
        "--standard",
        "scs-0201-v1",
        "--k8s-version",
        "1.33",
        "--list",
    ]);
    assert!(!first.is_empty());
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_inventory_piped_into_head_ends_quietly() {
    let (first, status, stderr) = first_line_then_close(&[
        "inventory",
        "--from",
        "tests/fixtures/e2e/v1.33-viola-cilium.junit_01.xml.gz",
        "--k8s-version",
        "1.33",
    ]);
    assert!(!first.is_empty());
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_tool_says_its_own_version() {
    for flag in ["--version", "-V"] {
        let o = Command::new(bin()).arg(flag).output().unwrap();
        assert!(o.status.success());
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            format!("scs-conformance {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
