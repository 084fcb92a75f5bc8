//! Sign a report and upload it to the SCS compliance monitor.
//!
//! This is the Rust equivalent of what `Tests/scs-test-runner.py` does after a run:
//!
//! ```text
//! ssh-keygen -Y sign -f Tests/.secret/keyfile -n report report.yaml     # -> report.yaml.sig
//! curl --fail-with-body --data-binary @report.yaml.sig --data-binary @report.yaml \
//!      -H 'Content-Type: application/x-signed-yaml' \
//!      -H "Authorization: Basic $(cat Tests/.secret/tokenfile)" "$MONITOR/reports"
//! ```
//!
//! * [`sign_report`] produces the same SSHSIG armor as `ssh-keygen -Y sign -n report`
//!   (namespace `report`, hash `sha512`), see [`sshsig`].
//! * The body is the armored signature, `&`, then the report bytes unchanged; the monitor splits
//!   on `-----END SSH SIGNATURE-----\n&` ([`upload::SEPARATOR`]).
//! * [`publish`] maps every answer of `POST /reports` to a [`PublishOutcome`] or a
//!   [`PublishError`] variant. A 409 (the report's `run.uuid` is already stored) is
//!   [`PublishOutcome::Duplicate`], not an error: the report *is* on the monitor, and a retried
//!   nightly job must not fail because its first attempt already got through.
//!
//! No secret (token, password, key material, `Authorization` header) is ever part of a
//! `Display`/`Debug` output, an error or a log line; [`BasicAuth`] redacts itself and scrubs
//! monitor answers before they are shown. See `docs/publish.md`.

pub mod sshsig;
pub mod upload;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use sshsig::{NAMESPACE, load_signing_key, sign_report};
pub use upload::{ReportFormat, SEPARATOR, post_signed_report, reports_endpoint, signed_body};

/// Default time budget for the whole upload (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The URL SCS's own `scs-test-runner.py` uploads to (`MONITOR_URL`).
pub const SCS_MONITOR_URL: &str = "https://compliance.sovereignit.cloud/";

/// What to publish, where, and with which credentials. `Debug` redacts URL credentials and the
/// token.
#[derive(Clone)]
pub struct PublishOptions {
    /// The report file (YAML as written by `scs-compliance-check.py -o`/our `report.yaml`, or
    /// JSON); multi-document YAML is fine. Sent byte for byte.
    pub report: PathBuf,
    /// Monitor base URL; the report goes to `POST {url}/reports` (a URL already ending in
    /// `/reports` is used as is).
    pub url: String,
    /// OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`, unencrypted; ed25519,
    /// ecdsa-sha2-nistp256 or -nistp384).
    pub key_file: PathBuf,
    /// HTTP Basic credentials; `None` sends no `Authorization` header (the monitor answers 401).
    pub auth: Option<BasicAuth>,
    /// Content type; `None` derives it from the report's extension (`.json` → JSON, else YAML).
    pub format: Option<ReportFormat>,
    /// Time budget for the whole HTTP exchange.
    pub timeout: Duration,
    /// Scopes a report may be about besides the built-in ones (from `--standards-dir`).
    pub extra_scopes: Vec<KnownScope>,
}

/// A scope a report may be about: its uuid, name and every test case id of its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownScope {
    pub uuid: String,
    pub name: String,
    pub testcases: Vec<String>,
}

/// The scopes of `catalog` that have a uuid (the ones a report can name).
pub fn known_scopes(catalog: &crate::definitions::catalog::Catalog) -> Vec<KnownScope> {
    catalog
        .scopes
        .iter()
        .filter_map(|scope| {
            let uuid = scope.uuid.clone()?;
            let mut testcases: Vec<String> = scope
                .versions
                .iter()
                .flat_map(|v| v.include.iter())
                .filter_map(|id| catalog.module(id))
                .flat_map(|m| m.testcases.iter().map(|t| t.id.clone()))
                .collect();
            testcases.sort();
            testcases.dedup();
            Some(KnownScope {
                uuid,
                name: scope.name.clone(),
                testcases,
            })
        })
        .collect()
}

impl PublishOptions {
    /// Options with no credentials, the format from the file name and [`DEFAULT_TIMEOUT`].
    pub fn new(
        report: impl Into<PathBuf>,
        url: impl Into<String>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        Self {
            report: report.into(),
            url: url.into(),
            key_file: key_file.into(),
            auth: None,
            format: None,
            timeout: DEFAULT_TIMEOUT,
            extra_scopes: Vec::new(),
        }
    }
}

impl fmt::Debug for PublishOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishOptions")
            .field("report", &self.report)
            .field("url", &upload::display_url(&self.url))
            .field("key_file", &self.key_file)
            .field("auth", &self.auth)
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What the monitor did with a report that it did not reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// 2xx: the report was verified and stored.
    Stored,
    /// 409: a report with the same `run.uuid` is already stored; nothing changed.
    Duplicate {
        /// The monitor's reason text, scrubbed of secrets.
        detail: String,
    },
}

impl fmt::Display for PublishOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishOutcome::Stored => f.write_str("stored"),
            PublishOutcome::Duplicate { .. } => {
                f.write_str("already stored (409 duplicate run.uuid)")
            }
        }
    }
}

/// Everything that can stop a report from being published. Each message names the file or URL
/// involved and never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The report file could not be read.
    #[error("cannot read report {}: {source}", path.display())]
    ReportUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The report file is empty or not UTF-8 (the monitor decodes the body as UTF-8 text).
    #[error("report {} is not usable: {reason}", path.display())]
    ReportInvalid { path: PathBuf, reason: String },
    /// The key file could not be read.
    #[error("cannot read signing key {}: {source}", path.display())]
    KeyUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The key file is not an OpenSSH private key we can sign with.
    #[error("signing key {} is not usable: {reason}", path.display())]
    KeyUnsupported { path: PathBuf, reason: String },
    /// The key file is protected by a passphrase.
    #[error(
        "signing key {} is encrypted with a passphrase; use an unencrypted CI signing key \
         (e.g. decrypt a copy with `ssh-keygen -p -N '' -f COPY`)",
        path.display()
    )]
    KeyEncrypted { path: PathBuf },
    /// Creating the signature failed.
    #[error("cannot sign report: {0}")]
    Signing(String),
    /// The token file could not be read.
    #[error("cannot read token file {}: {source}", path.display())]
    AuthFileUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The token file's content is not a Basic credential.
    #[error("token file {} is not usable: {reason}", path.display())]
    AuthFileInvalid { path: PathBuf, reason: &'static str },
    /// The monitor URL is not an http(s) URL.
    #[error("invalid monitor URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// 401: bad credentials, missing/invalid signature, or the report's subject is not the
    /// account's (nor delegates to it). `reason` is the monitor's text, `hint` our reading of it.
    #[error(
        "monitor {url} rejected the report (401 Unauthorized): {reason}{}",
        hint_suffix(hint)
    )]
    Unauthorized {
        url: String,
        reason: String,
        hint: Option<&'static str>,
    },
    /// 415: the monitor does not accept the content type we sent.
    #[error(
        "monitor {url} rejected content type {content_type} (415 Unsupported Media Type): {detail}; \
         it accepts application/x-signed-yaml and application/x-signed-json"
    )]
    UnsupportedMediaType {
        url: String,
        content_type: String,
        detail: String,
    },
    /// The monitor answered with a redirect (not followed: a POST body and credentials must not
    /// be replayed to another place silently).
    #[error("monitor {url} answered {status} redirecting to {location}; pass that URL instead")]
    Redirect {
        url: String,
        status: u16,
        location: String,
    },
    /// Any other non-success HTTP status.
    #[error("monitor {url} answered HTTP {status}: {detail}")]
    Http {
        url: String,
        status: u16,
        detail: String,
    },
    /// No HTTP answer at all (DNS, refused connection, TLS, timeout).
    #[error("cannot reach monitor {url}: {reason}")]
    Connection { url: String, reason: String },
}

fn hint_suffix(hint: &Option<&'static str>) -> String {
    hint.map(|h| format!(" ({h})")).unwrap_or_default()
}

impl PublishError {
    /// Whether the failure lies in local input (files, URL, options) rather than with the monitor
    /// or the network; the CLI maps this to exit code 2.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            PublishError::ReportUnreadable { .. }
                | PublishError::ReportInvalid { .. }
                | PublishError::KeyUnreadable { .. }
                | PublishError::KeyUnsupported { .. }
                | PublishError::KeyEncrypted { .. }
                | PublishError::AuthFileUnreadable { .. }
                | PublishError::AuthFileInvalid { .. }
                | PublishError::InvalidUrl { .. }
        )
    }

    /// Whether the monitor answered and refused the report (401, 415, other 4xx); the CLI maps
    /// this to exit code 1. Connection problems, 5xx and redirects are neither input errors nor
    /// rejections (exit code 3: could not complete).
    pub fn is_rejection(&self) -> bool {
        match self {
            PublishError::Unauthorized { .. } | PublishError::UnsupportedMediaType { .. } => true,
            PublishError::Http { status, .. } => (400..500).contains(status),
            _ => false,
        }
    }
}

/// HTTP Basic credentials for the monitor, held as the base64 `user:password` value that follows
/// `Authorization: Basic `.
///
/// `Debug` and `Display` print `BasicAuth(***)`; the value leaves this type only through
/// [`BasicAuth::header_value`].
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    encoded: String,
    /// The plain password when known (to scrub it from monitor answers as well).
    password: Option<String>,
}

impl BasicAuth {
    /// Credentials from a user name and password.
    pub fn new(user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Self {
            encoded,
            password: (!password.is_empty()).then(|| password.to_owned()),
        }
    }

    /// Parse the content of a token file.
    ///
    /// Accepted forms (surrounding whitespace ignored), the first being SCS's own
    /// `Tests/.secret/tokenfile` (what `scs-test-runner.py` puts after `Authorization: Basic `):
    /// * `BASE64` — base64 of `user:password`;
    /// * `Basic BASE64` — the same with the scheme in front;
    /// * `user:password` — plain (base64 never contains `:`, so the forms cannot be confused).
    ///
    /// The error reasons are fixed strings and never quote the content.
    pub fn from_token(token: &str) -> Result<Self, &'static str> {
        use base64::Engine as _;
        let mut value = token.trim();
        if value.len() > 6 && value[..6].eq_ignore_ascii_case("basic ") {
            value = value[6..].trim_start();
        }
        if value.is_empty() {
            return Err("the file is empty");
        }
        if value.contains(['\n', '\r']) {
            return Err("the token must be a single line");
        }
        if let Some((user, password)) = value.split_once(':') {
            if user.is_empty() {
                return Err("`user:password` form with an empty user name");
            }
            return Ok(Self::new(user, password));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| "neither `user:password` nor base64 of `user:password`")?;
        let text = String::from_utf8(decoded)
            .map_err(|_| "the base64 value does not decode to UTF-8 text")?;
        let Some((user, password)) = text.split_once(':') else {
            return Err("the base64 value does not decode to `user:password`");
        };
        if user.is_empty() {
            return Err("the base64 value decodes to an empty user name");
        }
        Ok(Self {
            encoded: value.to_owned(),
            password: (!password.is_empty()).then(|| password.to_owned()),
        })
    }

    /// Read a token file (see [`BasicAuth::from_token`]).
    pub fn from_token_file(path: &Path) -> Result<Self, PublishError> {
        let content =
            std::fs::read_to_string(path).map_err(|source| PublishError::AuthFileUnreadable {
                path: path.to_owned(),
                source,
            })?;
        Self::from_token(&content).map_err(|reason| PublishError::AuthFileInvalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// The full `Authorization` header value, `Basic BASE64`. Only for sending.
    pub fn header_value(&self) -> String {
        format!("Basic {}", self.encoded)
    }

    /// Replace every occurrence of this secret (encoded form and plain password) in `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.encoded, "***");
        if let Some(password) = &self.password {
            out = out.replace(password.as_str(), "***");
        }
        out
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicAuth(***)")
    }
}

impl fmt::Display for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicAuth(***)")
    }
}

/// Sign `opts.report` with `opts.key_file` and upload it to `POST {opts.url}/reports`.
///
/// The report is read once, signed over exactly those bytes and sent exactly as read.
pub fn publish(opts: &PublishOptions) -> Result<PublishOutcome, PublishError> {
    let endpoint = reports_endpoint(&opts.url)?;
    let report = std::fs::read(&opts.report).map_err(|source| PublishError::ReportUnreadable {
        path: opts.report.clone(),
        source,
    })?;
    check_report_text(&opts.report, &report)?;
    let format = opts
        .format
        .unwrap_or_else(|| ReportFormat::from_path(&opts.report));
    // Before signing: a signature vouches for what it signs, so only a report is signed.
    check_report_shape(&opts.report, &report, format)?;
    check_report_scope(&opts.report, &report, format, &opts.extra_scopes)?;
    let key = load_signing_key(&opts.key_file)?;
    let signature = sign_report(&report, &key)?;
    drop(key);
    let body = signed_body(&signature, &report);
    tracing::info!(
        report = %opts.report.display(),
        url = %upload::display_url(&endpoint),
        content_type = format.content_type(),
        bytes = body.len(),
        "uploading signed report"
    );
    post_signed_report(
        &endpoint,
        format.content_type(),
        body,
        opts.auth.as_ref(),
        opts.timeout,
    )
}

fn check_report_text(path: &Path, report: &[u8]) -> Result<(), PublishError> {
    let invalid = |reason: &str| PublishError::ReportInvalid {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if report.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("the file is empty"));
    }
    if std::str::from_utf8(report).is_err() {
        return Err(invalid(
            "the file is not UTF-8 text (the monitor reads reports as UTF-8)",
        ));
    }
    Ok(())
}

/// The keys of a report that the monitor reads (`compliance-monitor/monitor.py`, import of
/// `POST /reports`); other keys are allowed. Some fields are only checked to be present.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct ReportShape {
    spec: SpecShape,
    checked_at: String,
    #[serde(default)]
    reference_date: Option<String>,
    subject: String,
    run: RunShape,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct SpecShape {
    uuid: String,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct RunShape {
    uuid: String,
    invocations: std::collections::BTreeMap<String, InvocationShape>,
}

#[derive(serde::Deserialize)]
struct InvocationShape {
    results: std::collections::BTreeMap<String, i64>,
}

/// The first line of a YAML error (`line 1 column 1: expected mapping start`), without the
/// source excerpt that follows it.
fn yaml_reason(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    first.trim_start_matches("error: ").trim().to_string()
}

/// Refuses a file that is not a report of the shape `scs-compliance-check.py -o` writes (every
/// document of a multi-document YAML file): malformed YAML or JSON, a JUnit file, a verdict.json.
fn check_report_shape(
    path: &Path,
    report: &[u8],
    format: ReportFormat,
) -> Result<(), PublishError> {
    let invalid = |reason: String| PublishError::ReportInvalid {
        path: path.to_owned(),
        reason: format!("not an SCS compliance report: {reason}"),
    };
    let text = String::from_utf8_lossy(report);
    let docs: Vec<ReportShape> = match format {
        ReportFormat::Json => serde_json::from_str::<ReportShape>(&text)
            .map(|d| vec![d])
            .map_err(|e| invalid(e.to_string()))?,
        ReportFormat::Yaml => {
            serde_saphyr::from_multiple(&text).map_err(|e| invalid(yaml_reason(&e.to_string())))?
        }
    };
    if docs.is_empty() {
        return Err(invalid("no YAML document".into()));
    }
    for (i, doc) in docs.iter().enumerate() {
        let which = if docs.len() > 1 {
            format!("document {}: ", i + 1)
        } else {
            String::new()
        };
        if doc.subject.trim().is_empty() {
            return Err(invalid(format!("{which}subject is empty")));
        }
        if !is_report_datetime(&doc.checked_at) {
            return Err(invalid(format!(
                "{which}checked_at is {:?}, not a date and time (YYYY-MM-DD HH:MM:SS)",
                doc.checked_at
            )));
        }
        if let Some(date) = &doc.reference_date
            && date.trim().parse::<jiff::civil::Date>().is_err()
        {
            return Err(invalid(format!(
                "{which}reference_date is {date:?}, not a date (YYYY-MM-DD)"
            )));
        }
        for (id, inv) in &doc.run.invocations {
            if let Some((testcase, value)) =
                inv.results.iter().find(|(_, v)| !(-1..=1).contains(*v))
            {
                return Err(invalid(format!(
                    "{which}run.invocations.{id}.results.{testcase} is {value}, not 1, 0 or -1"
                )));
            }
        }
    }
    Ok(())
}

/// `checked_at` as `scs-compliance-check.py` writes it (`2026-11-24 03:12:45.123456`, local
/// time), or with a `T`, or an RFC 3339 timestamp with an offset.
fn is_report_datetime(text: &str) -> bool {
    let t = text.trim();
    t.parse::<jiff::civil::DateTime>().is_ok() || t.parse::<jiff::Timestamp>().is_ok()
}

/// Refuses a report about a scope that is not built in nor loaded (`spec.uuid`), or with results
/// for test cases that scope does not have: the monitor would file them under a scope or test
/// case that no definition checks.
fn check_report_scope(
    path: &Path,
    report: &[u8],
    format: ReportFormat,
    extra: &[KnownScope],
) -> Result<(), PublishError> {
    let invalid = |reason: String| PublishError::ReportInvalid {
        path: path.to_owned(),
        reason,
    };
    let text = String::from_utf8_lossy(report);
    // Already parsed by check_report_shape; an error here is the same one.
    let docs: Vec<ReportShape> = match format {
        ReportFormat::Json => serde_json::from_str::<ReportShape>(&text)
            .map(|d| vec![d])
            .map_err(|e| invalid(e.to_string()))?,
        ReportFormat::Yaml => {
            serde_saphyr::from_multiple(&text).map_err(|e| invalid(yaml_reason(&e.to_string())))?
        }
    };
    let builtin =
        crate::definitions::catalog::Catalog::load(&crate::definitions::builtin::standards())
            .map(|c| known_scopes(&c))
            .unwrap_or_default();
    let scopes: Vec<&KnownScope> = extra.iter().chain(builtin.iter()).collect();
    for (i, doc) in docs.iter().enumerate() {
        let which = if docs.len() > 1 {
            format!("document {}: ", i + 1)
        } else {
            String::new()
        };
        let uuid = doc.spec.uuid.trim();
        let Some(scope) = scopes.iter().find(|s| s.uuid.eq_ignore_ascii_case(uuid)) else {
            let known: Vec<String> = scopes
                .iter()
                .map(|s| format!("{} ({})", s.uuid, s.name))
                .collect();
            return Err(invalid(format!(
                "{which}spec.uuid {uuid:?} is not the uuid of a known scope (known: {}; more with \
                 --standards-dir)",
                known.join(", ")
            )));
        };
        for (id, inv) in &doc.run.invocations {
            if let Some(testcase) = inv.results.keys().find(|t| !scope.testcases.contains(t)) {
                return Err(invalid(format!(
                    "{which}run.invocations.{id}.results.{testcase}: scope {} has no test case \
                     {testcase:?} (its test cases: {})",
                    scope.name,
                    scope.testcases.join(", ")
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reports_are_signed() {
        let p = Path::new("r.yaml");
        let report = "---\nspec: {uuid: u, name: n, url: x}\nchecked_at: 2026-11-24 03:12:45\n\
                      subject: s\nrun:\n  uuid: r\n  invocations:\n    i: {id: i, results: {t: -1}}\n";
        check_report_shape(p, report.as_bytes(), ReportFormat::Yaml).unwrap();
        let two = format!("{report}{report}");
        check_report_shape(p, two.as_bytes(), ReportFormat::Yaml).unwrap();
        for (bad, expected) in [
            ("spec: [unclosed\n", "not an SCS compliance report"),
            (
                "<?xml version=\"1.0\"?>\n<testsuites><testsuite/></testsuites>\n",
                "not an SCS",
            ),
            ("subject: s\n", "spec"),
            (
                &report.replace("results: {t: -1}", "results: {t: 7}"),
                "not 1, 0 or -1",
            ),
            (
                &report.replace("subject: s", "subject: ' '"),
                "subject is empty",
            ),
        ] {
            let e = check_report_shape(p, bad.as_bytes(), ReportFormat::Yaml).unwrap_err();
            assert!(
                e.to_string().contains(expected) && e.is_input_error(),
                "{bad}: {e}"
            );
        }
        let verdict_json = r#"{"schema_version": 1, "verdict": "PASS", "modules": []}"#;
        assert!(check_report_shape(p, verdict_json.as_bytes(), ReportFormat::Json).is_err());
    }

    #[test]
    fn token_forms() {
        let plain = BasicAuth::from_token("zuul_ci:s3cret\n").unwrap();
        assert_eq!(plain.header_value(), "Basic enV1bF9jaTpzM2NyZXQ=");
        let encoded = BasicAuth::from_token("enV1bF9jaTpzM2NyZXQ=\n").unwrap();
        assert_eq!(encoded, plain);
        let with_scheme = BasicAuth::from_token("  Basic enV1bF9jaTpzM2NyZXQ=  ").unwrap();
        assert_eq!(with_scheme, plain);
        assert_eq!(
            plain.scrub("x enV1bF9jaTpzM2NyZXQ= s3cret y"),
            "x *** *** y"
        );
    }

    #[test]
    fn token_errors_do_not_quote_the_content() {
        // "bm9jb2xvbg==" is base64 of "nocolon".
        for bad in [
            "",
            "   \n",
            "not base64 !!",
            "bm9jb2xvbg==",
            ":pw",
            "a\nb:c",
        ] {
            let err = BasicAuth::from_token(bad).unwrap_err();
            assert!(bad.trim().is_empty() || !err.contains(bad.trim()), "{err}");
        }
    }

    #[test]
    fn debug_and_display_redact() {
        let auth = BasicAuth::new("user", "hunter2");
        for text in [format!("{auth:?}"), format!("{auth}")] {
            assert!(
                !text.contains("hunter2") && !text.contains("dXNlcjpodW50ZXIy"),
                "{text}"
            );
        }
        let mut opts = PublishOptions::new("r.yaml", "http://user:hunter2@x", "k");
        opts.auth = Some(auth);
        let text = format!("{opts:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("dXNlcjpodW50ZXIy"),
            "{text}"
        );
    }

    #[test]
    fn report_checks() {
        let p = Path::new("r.yaml");
        assert!(check_report_text(p, b" \n").is_err());
        assert!(check_report_text(p, b"\xff\xfe").is_err());
        assert!(check_report_text(p, b"---\nsubject: a\n").is_ok());
    }

    #[test]
    fn error_classes() {
        let e = PublishError::Http {
            url: "u".into(),
            status: 404,
            detail: String::new(),
        };
        assert!(e.is_rejection() && !e.is_input_error());
        let e = PublishError::Http {
            url: "u".into(),
            status: 502,
            detail: String::new(),
        };
        assert!(!e.is_rejection() && !e.is_input_error());
        let e = PublishError::KeyEncrypted { path: "k".into() };
        assert!(e.is_input_error());
    }
}
