//! `publish` against a local stand-in of the compliance monitor (`tests/support/monitor_server.py`)
//! that verifies signatures with the real `ssh-keygen -Y verify`. Needs `ssh-keygen` and
//! `python3` on PATH.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use scs_conformance::scs::publish::{
    self, BasicAuth, PublishError, PublishOptions, PublishOutcome, ReportFormat,
};
use scs_conformance_cli::commands::publish as cli;

const USER: &str = "zuul_ci";
const PASSWORD: &str = "Pa55-w0rd-NEVER-PRINTED";
const SUBJECT: &str = "acme-1.35";
const DELEGATING: &str = "acme-1.34";

// ---------------------------------------------------------------------------------------------
// helpers

fn monitor_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/monitor_server.py")
}

fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `ssh-keygen -t TYPE -N PASSPHRASE -f DIR/NAME`; returns the private key path (public: `.pub`).
fn keygen(dir: &Path, name: &str, args: &[&str], passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    run_ok(
        Command::new("ssh-keygen")
            .args(args)
            .args(["-q", "-C", "publish-test", "-N", passphrase, "-f"])
            .arg(&path),
    );
    path
}

fn ed25519(dir: &Path, name: &str) -> PathBuf {
    keygen(dir, name, &["-t", "ed25519"], "")
}

fn pub_path(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// A report of the shape `scs-compliance-check.py -o` writes (scs.md §5).
fn report_yaml(subject: &str, run_uuid: &str) -> String {
    let invocation = uuid::Uuid::new_v4();
    format!(
        r#"---
spec:
  uuid: 1fffebe6-fd4b-44d3-a36c-fc58b4bb0180
  name: SCS-compatible KaaS
  url: https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/scs-compatible-kaas.yaml
checked_at: 2026-11-24 03:12:45.123456
reference_date: 2026-11-24
subject: {subject}
run:
  uuid: {run_uuid}
  argv:
  - scs-conformance
  - run
  - --subject
  - {subject}
  assignment:
    kubeconfig: kubeconfig.yaml
    subject_root: .
  sections: null
  forced_version: null
  forced_tests: null
  invocations:
    {invocation}:
      id: {invocation}
      cmd: scs-conformance scs-check -k kubeconfig.yaml cncf-k8s-conformance kaas-networking-check
      results:
        cncf-k8s-conformance: 1
        kaas-networking-check: -1
      rc: 1
      stdout:
      - 'cncf-k8s-conformance: PASS'
      - 'kaas-networking-check: FAIL'
      stderr:
      - 'ERROR: FAILED: [sig-network] NetworkPolicy should enforce egress policy'
      info: 2
      warning: 0
      error: 1
      critical: 0
"#
    )
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The monitor stand-in, killed on drop.
struct Monitor {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    base: String,
    store: PathBuf,
}

impl Monitor {
    fn start(dir: &Path, account_key: &Path) -> Monitor {
        let store = dir.join("store");
        let mut child = Command::new("python3")
            .arg(monitor_script())
            .arg("--store")
            .arg(&store)
            .args(["--user", USER, "--password", PASSWORD, "--subject", SUBJECT])
            .args([
                "--delegate",
                DELEGATING,
                "--max-seconds",
                "120",
                "--public-key",
            ])
            .arg(pub_path(account_key))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("monitor.log")).unwrap())
            .spawn()
            .expect("start python3 tests/support/monitor_server.py");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("PORT=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("monitor stub did not announce its port: {line:?}"));
        Monitor {
            child,
            _stdout: stdout,
            base: format!("http://127.0.0.1:{port}"),
            store,
        }
    }

    fn stored(&self, run_uuid: &str, ext: &str) -> Option<Vec<u8>> {
        std::fs::read(self.store.join(format!("{run_uuid}.{ext}"))).ok()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    dir: tempfile::TempDir,
    key: PathBuf,
    monitor: Monitor,
}

fn setup() -> Setup {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519(dir.path(), "signing_key");
    let monitor = Monitor::start(dir.path(), &key);
    Setup { dir, key, monitor }
}

impl Setup {
    fn write_report(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn options(&self, report: &Path) -> PublishOptions {
        let mut opts = PublishOptions::new(report, self.monitor.base.clone(), &self.key);
        opts.auth = Some(BasicAuth::new(USER, PASSWORD));
        opts.timeout = Duration::from_secs(30);
        opts
    }

    fn auth(&self) -> BasicAuth {
        BasicAuth::new(USER, PASSWORD)
    }
}

fn expect_401(result: Result<PublishOutcome, PublishError>, reason: &str) -> PublishError {
    match result {
        Err(e @ PublishError::Unauthorized { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(reason),
                "expected 401 {reason:?}, got: {text}"
            );
            assert!(text.contains("401"), "{text}");
            e
        }
        other => panic!("expected 401 {reason:?}, got {other:?}"),
    }
}

// Log capture: everything our code (tracing) and the HTTP and TLS crates (log, bridged) emit, at
// TRACE.

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("install log capture");
        buffer
    })
    .clone()
}

// ---------------------------------------------------------------------------------------------
// signature format, independent of the server

#[test]
fn signature_verifies_with_ssh_keygen_and_matches_its_armor() {
    let dir = tempfile::tempdir().unwrap();
    let report = report_yaml(SUBJECT, &new_uuid());
    let report_path = dir.path().join("report.yaml");
    std::fs::write(&report_path, &report).unwrap();

    for (name, args) in [
        ("ed25519", &["-t", "ed25519"][..]),
        ("ecdsa256", &["-t", "ecdsa", "-b", "256"][..]),
        ("ecdsa384", &["-t", "ecdsa", "-b", "384"][..]),
    ] {
        let key_path = keygen(dir.path(), name, args, "");
        let key = publish::load_signing_key(&key_path).unwrap();
        let ours = publish::sign_report(report.as_bytes(), &key).unwrap();
        let sig_path = dir.path().join(format!("{name}.sig"));
        std::fs::write(&sig_path, &ours).unwrap();
        let allowed = dir.path().join(format!("{name}.allowed"));
        let public = std::fs::read_to_string(pub_path(&key_path)).unwrap();
        std::fs::write(&allowed, format!("mail@csp.eu {public}")).unwrap();

        let verify = |data: &[u8]| {
            let mut child = Command::new("ssh-keygen")
                .args(["-Y", "verify", "-f"])
                .arg(&allowed)
                .args(["-I", "mail@csp.eu", "-n", "report", "-s"])
                .arg(&sig_path)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(data).unwrap();
            child.wait_with_output().unwrap()
        };
        let good = verify(report.as_bytes());
        assert!(
            good.status.success(),
            "{name}: ssh-keygen -Y verify rejected our signature: {}",
            String::from_utf8_lossy(&good.stderr)
        );
        let tampered = report.replace("kaas-networking-check: -1", "kaas-networking-check: 1");
        assert!(
            !verify(tampered.as_bytes()).status.success(),
            "{name}: tampered report verified"
        );

        // Wrong namespace must not verify (we sign for `report` only).
        let wrong_ns = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&allowed)
            .args(["-I", "mail@csp.eu", "-n", "file", "-s"])
            .arg(&sig_path)
            .stdin(std::fs::File::open(&report_path).unwrap())
            .output()
            .unwrap();
        assert!(!wrong_ns.status.success());

        if name == "ed25519" {
            // Ed25519 is deterministic: ssh-keygen's own armor is byte-identical to ours.
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-Y", "sign", "-n", "report", "-f"])
                    .arg(&key_path)
                    .arg(&report_path),
            );
            let theirs = std::fs::read_to_string(dir.path().join("report.yaml.sig")).unwrap();
            assert_eq!(ours, theirs);
        }
    }
}

#[test]
fn unsupported_and_encrypted_keys_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = keygen(dir.path(), "rsa_key", &["-t", "rsa", "-b", "2048"], "");
    let err = publish::load_signing_key(&rsa).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PublishError::KeyUnsupported { .. }), "{text}");
    assert!(
        text.contains("rsa_key") && text.contains("ssh-rsa") && text.contains("ed25519"),
        "{text}"
    );

    let encrypted = keygen(
        dir.path(),
        "encrypted_key",
        &["-t", "ed25519"],
        "a passphrase",
    );
    let err = publish::load_signing_key(&encrypted).unwrap_err();
    assert!(matches!(err, PublishError::KeyEncrypted { .. }), "{err}");
    assert!(err.to_string().contains("encrypted_key"));
}

// ---------------------------------------------------------------------------------------------
// against the verifying monitor stand-in

#[test]
fn stores_report_then_answers_409_for_the_same_run_uuid() {
    let s = setup();
    let run_uuid = new_uuid();
    let report = report_yaml(SUBJECT, &run_uuid);
    let path = s.write_report("report.yaml", &report);

    let outcome = publish::publish(&s.options(&path)).expect("first publish");
    assert_eq!(outcome, PublishOutcome::Stored);
    assert_eq!(
        s.monitor.stored(&run_uuid, "yaml").as_deref(),
        Some(report.as_bytes())
    );

    match publish::publish(&s.options(&path)).expect("second publish") {
        PublishOutcome::Duplicate { detail } => {
            assert!(detail.contains("already present"), "{detail}")
        }
        other => panic!("expected 409 duplicate, got {other:?}"),
    }

    // The CLI reports both outcomes with exit code 0 and says what happened.
    let args = cli::PublishArgs {
        report: path.clone(),
        url: s.monitor.base.clone(),
        key: s.key.clone(),
        auth_file: Some(s.write_report("tokenfile", &format!("{}\n", s.auth().header_value()))),
        format: None,
        timeout: Duration::from_secs(30),
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(cli::run_with(&args, &mut out, &mut err), 0);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("already stored (409"), "{out}");
    assert!(
        out.contains("report.yaml") && out.contains(&s.monitor.base),
        "{out}"
    );
}

#[test]
fn delegating_subject_multi_document_and_json_reports_are_stored() {
    let s = setup();
    let (a, b) = (new_uuid(), new_uuid());
    let multi = format!(
        "{}{}",
        report_yaml(SUBJECT, &a),
        report_yaml(DELEGATING, &b)
    );
    let path = s.write_report("multi.yaml", &multi);
    assert_eq!(
        publish::publish(&s.options(&path)).unwrap(),
        PublishOutcome::Stored
    );
    assert_eq!(
        s.monitor.stored(&a, "yaml").as_deref(),
        Some(multi.as_bytes())
    );

    let c = new_uuid();
    let json = format!(
        r#"{{"spec": {{"uuid": "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180"}}, "subject": "{SUBJECT}",
"checked_at": "2026-11-24 03:12:45", "run": {{"uuid": "{c}", "invocations": {{}}}}}}"#
    );
    let path = s.write_report("report.json", &json);
    assert_eq!(
        publish::publish(&s.options(&path)).unwrap(),
        PublishOutcome::Stored
    );
    assert_eq!(
        s.monitor.stored(&c, "json").as_deref(),
        Some(json.as_bytes())
    );
}

#[test]
fn tampered_report_gets_401_verification_failed() {
    let s = setup();
    let report = report_yaml(SUBJECT, &new_uuid());
    let key = publish::load_signing_key(&s.key).unwrap();
    let signature = publish::sign_report(report.as_bytes(), &key).unwrap();
    let tampered = report.replace("kaas-networking-check: -1", "kaas-networking-check: 1");
    let body = publish::signed_body(&signature, tampered.as_bytes());
    let endpoint = publish::reports_endpoint(&s.monitor.base).unwrap();
    let result = publish::post_signed_report(
        &endpoint,
        ReportFormat::Yaml.content_type(),
        body,
        Some(&s.auth()),
        Duration::from_secs(30),
    );
    let err = expect_401(result, "verification failed");
    assert!(
        err.to_string().contains("report changed after signing"),
        "{err}"
    );
    assert!(err.to_string().contains(&endpoint), "{err}");
}

#[test]
fn wrong_key_gets_401_verification_failed() {
    let s = setup();
    let other = ed25519(s.dir.path(), "other_key");
    let path = s.write_report("report.yaml", &report_yaml(SUBJECT, &new_uuid()));
    let mut opts = s.options(&path);
    opts.key_file = other;
    let err = expect_401(publish::publish(&opts), "verification failed");
    assert!(err.to_string().contains("wrong signing key"), "{err}");
    assert!(err.is_rejection());
    assert_eq!(cli::exit_code(&err), 1);
}

#[test]
fn foreign_subject_gets_401_delegation_problem() {
    let s = setup();
    let path = s.write_report(
        "report.yaml",
        &report_yaml("someone-else-1.35", &new_uuid()),
    );
    let err = expect_401(publish::publish(&s.options(&path)), "delegation problem?");
    assert!(err.to_string().contains("subject"), "{err}");
}

#[test]
fn missing_signature_bad_credentials_and_content_type() {
    let s = setup();
    let report = report_yaml(SUBJECT, &new_uuid());
    let endpoint = publish::reports_endpoint(&s.monitor.base).unwrap();
    let post = |content_type: &str, body: Vec<u8>, auth: Option<&BasicAuth>| {
        publish::post_signed_report(&endpoint, content_type, body, auth, Duration::from_secs(30))
    };
    let yaml = ReportFormat::Yaml.content_type();

    // Body without signature.
    expect_401(
        post(yaml, report.clone().into_bytes(), Some(&s.auth())),
        "missing signature",
    );

    let key = publish::load_signing_key(&s.key).unwrap();
    let signed = publish::signed_body(
        &publish::sign_report(report.as_bytes(), &key).unwrap(),
        report.as_bytes(),
    );

    // Wrong password, no credentials.
    let err = expect_401(
        post(yaml, signed.clone(), Some(&BasicAuth::new(USER, "wrong"))),
        "Incorrect username or password",
    );
    assert!(err.to_string().contains("token file"), "{err}");
    let err = expect_401(post(yaml, signed.clone(), None), "Not authenticated");
    assert!(
        err.to_string().contains("no credentials were sent"),
        "{err}"
    );

    // Plain application/yaml (what the old monitor took) is a 415 now.
    match post("application/yaml", signed.clone(), Some(&s.auth())) {
        Err(e @ PublishError::UnsupportedMediaType { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("415") && text.contains("application/yaml"),
                "{text}"
            );
            assert!(e.is_rejection());
        }
        other => panic!("expected 415, got {other:?}"),
    }

    // The right content type still works with the same body.
    assert_eq!(
        post(yaml, signed, Some(&s.auth())).unwrap(),
        PublishOutcome::Stored
    );
}

#[test]
fn other_status_and_unreachable_monitor_are_clear_errors() {
    let s = setup();
    let path = s.write_report("report.yaml", &report_yaml(SUBJECT, &new_uuid()));

    let mut opts = s.options(&path);
    opts.url = format!("{}/not-here", s.monitor.base);
    match publish::publish(&opts) {
        Err(e @ PublishError::Http { status: 404, .. }) => {
            assert!(e.to_string().contains("/not-here/reports"), "{e}");
            assert_eq!(cli::exit_code(&e), 1);
        }
        other => panic!("expected 404, got {other:?}"),
    }

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut opts = s.options(&path);
    opts.url = format!("http://127.0.0.1:{port}");
    opts.timeout = Duration::from_secs(5);
    match publish::publish(&opts) {
        Err(e @ PublishError::Connection { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!(
                    "cannot reach monitor http://127.0.0.1:{port}/reports"
                )),
                "{text}"
            );
            assert_eq!(cli::exit_code(&e), 3);
        }
        other => panic!("expected a connection error, got {other:?}"),
    }

    // Local input problems name the file.
    let mut opts = s.options(&s.dir.path().join("nope.yaml"));
    opts.url = s.monitor.base.clone();
    let err = publish::publish(&opts).unwrap_err();
    assert!(
        matches!(err, PublishError::ReportUnreadable { .. })
            && err.to_string().contains("nope.yaml"),
        "{err}"
    );
    assert_eq!(cli::exit_code(&err), 2);
}

/// Reports with values the monitor would file wrongly are refused before signing (exit 2, naming
/// the file and the key): an unparseable checked_at or reference_date, a spec.uuid of no known
/// scope, results for test cases the scope does not have.
#[test]
fn reports_with_bad_values_are_refused_before_signing() {
    let s = setup();
    let run_uuid = new_uuid();
    let good = report_yaml(SUBJECT, &run_uuid);
    for (name, bad, expected) in [
        (
            "badts.yaml",
            good.replace(
                "checked_at: 2026-11-24 03:12:45.123456",
                "checked_at: banana",
            ),
            "checked_at is \"banana\", not a date and time",
        ),
        (
            "badref.yaml",
            good.replace("reference_date: 2026-11-24", "reference_date: never"),
            "reference_date is \"never\", not a date",
        ),
        (
            "baduuid.yaml",
            good.replace(
                "uuid: 1fffebe6-fd4b-44d3-a36c-fc58b4bb0180",
                "uuid: not-a-uuid",
            ),
            "spec.uuid \"not-a-uuid\" is not the uuid of a known scope",
        ),
        (
            "badid.yaml",
            good.replace("kaas-networking-check: -1", "no-such-check: -1"),
            ".results.no-such-check: scope SCS-compatible KaaS has no test case \"no-such-check\"",
        ),
    ] {
        assert_ne!(bad, good, "{name}");
        let path = s.write_report(name, &bad);
        let err = publish::publish(&s.options(&path)).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, PublishError::ReportInvalid { .. })
                && text.contains(name)
                && text.contains(expected),
            "{name}: {text}"
        );
        assert_eq!(cli::exit_code(&err), 2, "{name}");
        assert!(
            s.monitor.stored(&run_uuid, "yaml").is_none(),
            "{name} uploaded"
        );
    }
    // Other date and time forms are fine.
    for checked_at in [
        "2026-11-24T03:12:45",
        "2026-11-24T03:12:45Z",
        "2026-11-24 03:12:45",
    ] {
        let path = s.write_report(
            "ok.yaml",
            &report_yaml(SUBJECT, &new_uuid()).replace(
                "checked_at: 2026-11-24 03:12:45.123456",
                &format!("checked_at: {checked_at}"),
            ),
        );
        assert_eq!(
            publish::publish(&s.options(&path)).unwrap(),
            PublishOutcome::Stored,
            "{checked_at}"
        );
    }
}

#[test]
fn no_secret_in_any_output_error_or_log() {
    let s = setup();
    let logs = capture_logs();
    let token = s.auth().header_value();
    let token_b64 = token.trim_start_matches("Basic ").to_owned();
    let private_key = std::fs::read_to_string(&s.key).unwrap();
    let key_lines: Vec<&str> = private_key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 8)
        .collect();
    assert!(!key_lines.is_empty());

    let tokenfile = s.write_report("tokenfile", &format!("{token_b64}\n"));
    let wrong_tokenfile =
        s.write_report("wrong_tokenfile", &format!("{USER}:{PASSWORD}-but-wrong\n"));
    let bad_tokenfile = s.write_report("bad_tokenfile", &format!("Basic {PASSWORD}!!\n"));
    let good = s.write_report("report.yaml", &report_yaml(SUBJECT, &new_uuid()));
    let foreign = s.write_report("foreign.yaml", &report_yaml("other-1.35", &new_uuid()));
    let wrong_key = ed25519(s.dir.path(), "wrong_key");
    let rsa = keygen(s.dir.path(), "rsa_key", &["-t", "rsa", "-b", "2048"], "");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let base = cli::PublishArgs {
        report: good.clone(),
        url: s.monitor.base.clone(),
        key: s.key.clone(),
        auth_file: Some(tokenfile.clone()),
        format: None,
        timeout: Duration::from_secs(10),
    };
    let variants = vec![
        base.clone(), // stored
        base.clone(), // 409
        cli::PublishArgs {
            key: wrong_key,
            ..base.clone()
        }, // 401 verification failed
        cli::PublishArgs {
            report: foreign,
            ..base.clone()
        }, // 401 delegation
        cli::PublishArgs {
            auth_file: Some(wrong_tokenfile),
            ..base.clone()
        }, // 401 credentials
        cli::PublishArgs {
            auth_file: Some(bad_tokenfile),
            ..base.clone()
        }, // token file invalid
        cli::PublishArgs {
            key: rsa,
            ..base.clone()
        }, // unsupported key
        cli::PublishArgs {
            key: tokenfile.clone(),
            ..base.clone()
        }, // token file as key
        cli::PublishArgs {
            format: Some(cli::FormatArg::Json),
            ..base.clone()
        }, // not JSON: refused before signing (exit 2)
        cli::PublishArgs {
            url: format!("http://127.0.0.1:{port}"),
            ..base.clone()
        }, // unreachable
        cli::PublishArgs {
            url: format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}"),
            ..base.clone()
        },
    ];
    let mut everything = String::new();
    let mut codes = Vec::new();
    for args in &variants {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        codes.push(cli::run_with(args, &mut out, &mut err));
        everything.push_str(&String::from_utf8_lossy(&out));
        everything.push_str(&String::from_utf8_lossy(&err));
        everything.push_str(&format!("{args:?}\n"));
        if let Some(auth_file) = &args.auth_file
            && let Ok(auth) = BasicAuth::from_token_file(auth_file)
        {
            everything.push_str(&format!("{auth:?} {auth}\n"));
        }
    }
    assert_eq!(codes, vec![0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 2], "{everything}");
    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        log_text.contains("uploading signed report"),
        "log capture works: {log_text}"
    );
    everything.push_str(&log_text);

    for secret in [PASSWORD, token.as_str(), token_b64.as_str()] {
        assert!(
            !everything.contains(secret),
            "secret {secret:?} leaked into:\n{everything}"
        );
    }
    for line in key_lines {
        assert!(
            !everything.contains(line),
            "private key material leaked into:\n{everything}"
        );
    }
}
