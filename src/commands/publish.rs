//! `scs-conformance publish REPORT --url URL --key FILE [--auth-file FILE]`.
//!
//! Exit codes: [`scs_conformance::exit_codes::publish`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use scs_conformance::exit_codes;
use scs_conformance::scs::publish::{
    BasicAuth, KnownScope, PublishError, PublishOptions, PublishOutcome, ReportFormat,
    known_scopes, publish, upload,
};

use crate::Failure;
use crate::args::Definitions;

/// Longest `--timeout`: an upload is one small POST.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// `--timeout`: a duration up to an hour (`90s`, `2m`, `1m30s`); a bare number is seconds, as
/// when the flag took only seconds.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = crate::args::parse_duration_secs(text)?;
    if d > MAX_TIMEOUT {
        return Err(format!(
            "timeout {:?} is longer than an hour (1h), the most an upload may take",
            text.trim()
        ));
    }
    Ok(d)
}

/// Arguments of `scs-conformance publish`. `Debug` redacts credentials in the URL.
#[derive(Clone, clap::Args)]
pub struct PublishArgs {
    /// Report to sign and upload (report.yaml from `run`, or any scs-compliance-check.py report).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,

    /// Compliance monitor base URL; the report is sent to POST URL/reports
    /// (SCS's monitor: https://compliance.sovereignit.cloud/).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// Unencrypted OpenSSH private key to sign with, as `ssh-keygen -Y sign -n report -f FILE`
    /// (ed25519, ecdsa P-256/P-384). SCS keeps it in Tests/.secret/keyfile.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// File with the monitor's HTTP Basic credentials: the value after `Authorization: Basic `
    /// (base64 of user:password; SCS's Tests/.secret/tokenfile) or plain `user:password`.
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,

    /// Report format, which sets the content type; default: from the file extension
    /// (.json → json, else yaml).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    /// Time budget for the whole upload, 1s to 1h (e.g. 90s, 2m, 1m30s; a bare number is
    /// seconds).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

impl std::fmt::Debug for PublishArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishArgs")
            .field("report", &self.report)
            .field("url", &upload::display_url(&self.url))
            .field("key", &self.key)
            .field("auth_file", &self.auth_file)
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// application/x-signed-yaml
    Yaml,
    /// application/x-signed-json
    Json,
}

impl From<FormatArg> for ReportFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Yaml => ReportFormat::Yaml,
            FormatArg::Json => ReportFormat::Json,
        }
    }
}

/// Run `publish`, printing the outcome to stdout and errors to stderr.
pub fn run(args: &PublishArgs) -> ExitCode {
    let code = run_with(
        args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// [`run`] returning the exit code as a number (outcome on stdout, `error: …` on stderr).
pub fn run_stdio(args: &PublishArgs) -> u8 {
    run_with(
        args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

/// [`run_stdio`] that also accepts reports about the scopes of `--standards-dir` (the built-in
/// scopes are always known).
pub fn run_stdio_with(defs: &Definitions, args: &PublishArgs) -> Result<u8, Failure> {
    let extra_scopes = match defs.standards_dir {
        Some(_) => known_scopes(&crate::context::catalog(defs)?),
        None => Vec::new(),
    };
    Ok(run_with_scopes(
        args,
        extra_scopes,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    ))
}

/// [`run`] with explicit output streams; returns the exit code.
pub fn run_with(args: &PublishArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    run_with_scopes(args, Vec::new(), out, err)
}

/// [`run_with`], also accepting reports about `extra_scopes`.
fn run_with_scopes(
    args: &PublishArgs,
    extra_scopes: Vec<KnownScope>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let url = upload::display_url(&args.url);
    let opts = options(args).map(|o| PublishOptions { extra_scopes, ..o });
    match opts.and_then(|opts| publish(&opts)) {
        Ok(PublishOutcome::Stored) => {
            let _ = writeln!(out, "published {} to {url}: stored", args.report.display());
            exit_codes::publish::OK
        }
        Ok(PublishOutcome::Duplicate { detail }) => {
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            };
            let _ = writeln!(
                out,
                "published {} to {url}: already stored (409 Conflict{detail}); the monitor keeps the \
                 report with this run.uuid, nothing changed",
                args.report.display()
            );
            exit_codes::publish::OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit_code(&e)
        }
    }
}

/// The exit code for a failed publish ([`exit_codes::publish`]).
pub fn exit_code(e: &PublishError) -> u8 {
    exit_codes::publish::for_error(e)
}

fn options(args: &PublishArgs) -> Result<PublishOptions, PublishError> {
    let auth = args
        .auth_file
        .as_deref()
        .map(BasicAuth::from_token_file)
        .transpose()?;
    Ok(PublishOptions {
        report: args.report.clone(),
        url: args.url.clone(),
        key_file: args.key.clone(),
        auth,
        format: args.format.map(Into::into),
        // Also bounded here for library callers that build PublishArgs without clap.
        timeout: args.timeout.clamp(Duration::from_secs(1), MAX_TIMEOUT),
        extra_scopes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: PublishArgs,
    }

    #[test]
    fn parses() {
        let w = Wrapper::parse_from([
            "x",
            "out/report.yaml",
            "--url",
            "http://127.0.0.1:1",
            "--key",
            "k",
            "--auth-file",
            "t",
            "--format",
            "json",
        ]);
        assert_eq!(w.args.report, PathBuf::from("out/report.yaml"));
        assert_eq!(w.args.format, Some(FormatArg::Json));
        assert_eq!(w.args.timeout, Duration::from_secs(60));
    }

    #[test]
    fn timeouts_are_bounded() {
        let parse = |t: &str| {
            Wrapper::try_parse_from(["x", "r.yaml", "--url", "u", "--key", "k", "--timeout", t])
        };
        for bad in ["0", "3601", "61m", "18446744073709551615", "-1", "0s", "1d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for (ok, secs) in [
            ("3600", 3600),
            ("1h", 3600),
            ("90", 90),
            ("1m30s", 90),
            ("2m", 120),
        ] {
            assert_eq!(
                parse(ok).unwrap().args.timeout,
                Duration::from_secs(secs),
                "{ok}"
            );
        }
    }

    #[test]
    fn input_errors_exit_2() {
        let dir = tempfile::tempdir().unwrap();
        let args = PublishArgs {
            report: dir.path().join("missing.yaml"),
            url: "http://127.0.0.1:9".into(),
            key: dir.path().join("k"),
            auth_file: None,
            format: None,
            timeout: Duration::from_secs(1),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run_with(&args, &mut out, &mut err),
            exit_codes::publish::INPUT
        );
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("missing.yaml"), "{err}");
    }
}
