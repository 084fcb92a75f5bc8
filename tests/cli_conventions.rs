//! What users of any Unix command line expect: output piped into `head` ends quietly, the tool
//! says its own version.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

/// `verdict` on the bundled Cilium archive (PASS) with extra arguments and environment.
fn verdict_with(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["verdict", "--standard", "scs-0219-v1", "--results"])
        .arg("tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz")
        .arg("--out")
        .arg(out.path())
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn has_colour(o: &std::process::Output) -> bool {
    o.stdout.contains(&0x1b)
}

#[test]
fn verdicts_are_coloured_only_when_colour_is_wanted() {
    // Piped, as in CI logs: plain text.
    let plain = verdict_with(&[], &[]);
    assert!(!has_colour(&plain));
    assert!(String::from_utf8_lossy(&plain.stdout).contains("Verdict: PASS"));
    // Asked for: the verdict words in colour (bold green PASS), the text otherwise the same.
    let coloured = verdict_with(&["--color", "always"], &[]);
    let text = String::from_utf8_lossy(&coloured.stdout);
    assert!(text.contains("\x1b[1m\x1b[32mPASS"), "{text}");
    let stripped = regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(&text, "")
        .into_owned();
    // Only the output directory (a temporary one per call) differs.
    let without_dir = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("Wrote "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        without_dir(&stripped),
        without_dir(&String::from_utf8_lossy(&plain.stdout))
    );
    // CLICOLOR_FORCE turns it on in a pipe; NO_COLOR and --color never win over it.
    assert!(has_colour(&verdict_with(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!has_colour(&verdict_with(
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    assert!(!has_colour(&verdict_with(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
}

#[test]
fn regexes_on_the_terminal_read_as_a_shell_would_take_them() {
    let o = verdict_with(&[], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(r"focus '\[Feature:NetworkPolicy\]|"),
        "single backslashes, quoted for a shell: {text}"
    );
    assert!(!text.contains(r"\\["), "{text}");
}

#[test]
fn quiet_and_verbose_exclude_each_other() {
    let o = Command::new(bin())
        .args(["-q", "-v", "standards"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be used with"));
}

#[test]
fn shell_completions_are_valid_scripts_that_know_the_commands() {
    let o = Command::new(bin())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let script = String::from_utf8_lossy(&o.stdout);
    for word in [
        "retrieve",
        "status",
        "verdict",
        "--standard",
        "--kubeconfig",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scs-conformance.bash");
    std::fs::write(&file, script.as_bytes()).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = Command::new(bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success() && o.stdout.len() > 1000, "{shell}");
    }
}

#[test]
fn the_man_page_renders_with_every_command() {
    let o = Command::new(bin()).arg("man").output().unwrap();
    assert!(o.status.success());
    let roff = String::from_utf8_lossy(&o.stdout);
    assert!(roff.contains(".TH scs-conformance"), "{roff}");
    // groff renders it without warnings, and the page names the commands and exit codes.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("scs-conformance.1");
    std::fs::write(&page, roff.as_bytes()).unwrap();
    let rendered = Command::new("groff")
        // -k: preconv, as man(1) renders pages (help texts may hold non-ASCII).
        // -P-cbou: plain text, no bold or underline sequences.
        .args(["-k", "-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(rendered.status.success());
    assert_eq!(String::from_utf8_lossy(&rendered.stderr), "");
    // Justified lines stretch spaces.
    let text = String::from_utf8_lossy(&rendered.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for word in ["SYNOPSIS", "retrieve", "status", "verdict", "Exit codes"] {
        assert!(text.contains(word), "{word} missing from the rendered page");
    }
}
