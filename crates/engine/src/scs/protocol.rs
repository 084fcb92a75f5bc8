//! SCS's check-script protocol, for `scs-conformance scs-check` (a drop-in for the scripts that
//! `Tests/scs-compatible-kaas.yaml` runs). See `docs/scs-check.md`.
//!
//! * stdout carries only result lines `<testcase-id>: PASS|FAIL|ABORT` (MISSING is reported as
//!   ABORT: the script ran and could not give a verdict);
//! * every stderr line starts with `info:`, `warning:`, `error:` or `critical:`, the prefixes
//!   `scs-compliance-check.py` counts; unwaived failures are `error: FAILED: <test name>`, as
//!   SCS's Sonobuoy handler logs them;
//! * exit codes: those of the script the test case replaces
//!   ([`crate::exit_codes::scs_check`]).
//!
//! It also interprets the Sonobuoy arguments the scope file passes through `-a`
//! ([`SonobuoyArgs`]) and says, as log lines, what becomes of them ([`reconcile`]).

use std::fmt;

use crate::definitions::catalog::{Check, Testcase};
use crate::verdict::certify::Certification;
use crate::verdict::{Outcome, TestcaseVerdict, Verdict};

/// The test case whose SCS script (`k8s_version_policy.py`) has its own exit codes.
pub const VERSION_POLICY_TESTCASE: &str = "version-policy-check";

/// A log level, rendered as the prefix SCS counts (`info:`, `warning:`, `error:`, `critical:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warning,
    Error,
    Critical,
}

impl Level {
    pub fn prefix(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }
}

/// One stderr log line (before prefixing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
}

impl LogLine {
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        LogLine {
            level,
            message: message.into(),
        }
    }
}

impl fmt::Display for LogLine {
    /// `level: message`; a multi-line message gives one prefixed line per line, so that no stderr
    /// line escapes the protocol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for line in self.message.lines() {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{}: {}", self.level.prefix(), strip_control(line))?;
        }
        if first {
            write!(f, "{}:", self.level.prefix())?;
        }
        Ok(())
    }
}

/// Removes control characters (ANSI escapes, carriage returns) from a log line.
fn strip_control(line: &str) -> String {
    line.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

/// The verdict word of the protocol: MISSING becomes ABORT (SCS's parser knows only
/// PASS, FAIL and ABORT).
pub fn protocol_verdict(v: Verdict) -> Verdict {
    match v {
        Verdict::Missing => Verdict::Abort,
        v => v,
    }
}

/// `<testcase-id>: PASS|FAIL|ABORT`.
pub fn result_line(testcase: &str, v: Verdict) -> String {
    format!("{testcase}: {}", protocol_verdict(v).as_str())
}

/// The stdout result lines of a certification: one per test case.
pub fn result_lines(cert: &Certification) -> Vec<String> {
    cert.testcases()
        .map(|t| result_line(&t.id, t.verdict))
        .collect()
}

/// The log lines that explain a certification's test case verdicts: the reason, waiver notes,
/// native findings and warnings, and `error: FAILED: <test name>` for each unwaived failure.
pub fn log_lines(cert: &Certification) -> Vec<LogLine> {
    cert.testcases().flat_map(testcase_log_lines).collect()
}

fn testcase_log_lines(t: &TestcaseVerdict) -> Vec<LogLine> {
    let mut out = Vec::new();
    let c = &t.counts;
    if matches!(t.check, crate::verdict::CheckInfo::E2e { .. }) && c.selected > 0 {
        out.push(LogLine::new(
            Level::Info,
            format!(
                "{}: selected {}, passed {}, failed {}, waived {}, not run {}, skipped at runtime {}",
                t.id,
                c.selected,
                c.passed,
                c.failed,
                c.waived + c.waived_not_run,
                c.not_run,
                c.skipped_at_runtime
            ),
        ));
    }
    for test in &t.tests {
        match test.outcome {
            Outcome::Failed => {
                out.push(LogLine::new(Level::Error, format!("FAILED: {}", test.name)))
            }
            Outcome::Waived => out.push(LogLine::new(
                Level::Info,
                format!(
                    "failed, waived ({}): {}",
                    test.waiver.as_deref().unwrap_or("waiver"),
                    test.name
                ),
            )),
            Outcome::WaivedButPassed => out.push(LogLine::new(
                Level::Warning,
                format!(
                    "passed although waived ({}; the waiver may be stale): {}",
                    test.waiver.as_deref().unwrap_or("waiver"),
                    test.name
                ),
            )),
            _ => {}
        }
    }
    let finding_level = if t.verdict == Verdict::Fail {
        Level::Error
    } else {
        Level::Info
    };
    for f in &t.findings {
        out.push(LogLine::new(finding_level, format!("{}: {f}", t.id)));
    }
    for w in &t.warnings {
        out.push(LogLine::new(Level::Warning, format!("{}: {w}", t.id)));
    }
    let level = match protocol_verdict(t.verdict) {
        Verdict::Pass => Level::Info,
        Verdict::Fail => Level::Error,
        _ => Level::Critical,
    };
    out.push(LogLine::new(
        level,
        format!(
            "{}: {}: {}",
            t.id,
            protocol_verdict(t.verdict).as_str(),
            t.reason
        ),
    ));
    out
}

/// Sonobuoy's `--mode` values.
const MODES: &[&str] = &[
    "certified-conformance",
    "conformance-lite",
    "non-disruptive-conformance",
    "quick",
];

/// What the `-a` arguments (Sonobuoy `run` flags) said, as far as scs-check understands them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SonobuoyArgs {
    /// `--e2e-focus`.
    pub focus: Option<String>,
    /// `--e2e-skip`.
    pub skip: Option<String>,
    /// `--mode`.
    pub mode: Option<String>,
    /// `--e2e-parallel`.
    pub e2e_parallel: Option<String>,
    /// `--plugin-env PLUGIN.KEY=VALUE`, in order.
    pub plugin_env: Vec<(String, String, String)>,
    /// `--sonobuoy-image`.
    pub sonobuoy_image: Option<String>,
    /// `--kube-conformance-image`.
    pub conformance_image: Option<String>,
    /// `--timeout` (seconds, Sonobuoy's plugin timeout).
    pub timeout_seconds: Option<u64>,
    /// `--wait` was given (scs-check always waits).
    pub wait: bool,
    /// Arguments not understood, as given.
    pub unknown: Vec<String>,
}

/// Why the `-a` arguments (Sonobuoy's command line) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SonobuoyArgsError {
    #[error("no closing quotation in {0:?}")]
    NoClosingQuotation(String),
    #[error("no escaped character in {0:?}")]
    NoEscapedCharacter(String),
    #[error("Sonobuoy argument {0} needs a value")]
    MissingValue(String),
    #[error("--plugin-env {0:?}: expected PLUGIN.KEY=VALUE")]
    PluginEnv(String),
    #[error("--timeout {0:?}: expected a number of seconds")]
    Timeout(String),
    #[error("--timeout {0:?}: too long (at most {MAX_SONOBUOY_TIMEOUT_SECONDS} seconds, a year)")]
    TimeoutTooLong(String),
}

/// Splits one `-a` value like Python's `shlex.split` (POSIX mode): whitespace separates words,
/// single quotes are literal, double quotes allow `\"`, `\\`, `\$` and `` \` ``, a backslash
/// outside quotes escapes the next character.
pub fn shell_split(s: &str) -> Result<Vec<String>, SonobuoyArgsError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(SonobuoyArgsError::NoClosingQuotation(s.to_string())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => {
                                return Err(SonobuoyArgsError::NoClosingQuotation(s.to_string()));
                            }
                        },
                        Some(c) => word.push(c),
                        None => return Err(SonobuoyArgsError::NoClosingQuotation(s.to_string())),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err(SonobuoyArgsError::NoEscapedCharacter(s.to_string())),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The longest Sonobuoy `--timeout` taken through `-a`, in seconds: a year, the bound of the
/// tool's own `--timeout` (longer would overflow the deadline's clock arithmetic).
pub const MAX_SONOBUOY_TIMEOUT_SECONDS: u64 = 365 * 24 * 3600;

/// Sonobuoy's `--timeout` value: whole seconds, at most [`MAX_SONOBUOY_TIMEOUT_SECONDS`].
fn sonobuoy_timeout(value: &str) -> Result<u64, SonobuoyArgsError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_SONOBUOY_TIMEOUT_SECONDS => Ok(n),
        Ok(_) => Err(SonobuoyArgsError::TimeoutTooLong(value.into())),
        // All digits but not a u64: more than any bound.
        Err(_) if digits => Err(SonobuoyArgsError::TimeoutTooLong(value.into())),
        Err(_) => Err(SonobuoyArgsError::Timeout(value.into())),
    }
}

impl SonobuoyArgs {
    /// Interprets the `-a` values (each split like `shlex.split`, as the handler does).
    pub fn parse(values: &[String]) -> Result<Self, SonobuoyArgsError> {
        let mut tokens = Vec::new();
        for v in values {
            tokens.extend(shell_split(v)?);
        }
        let mut out = SonobuoyArgs::default();
        let mut i = 0;
        while i < tokens.len() {
            let tok = &tokens[i];
            i += 1;
            let (flag, inline) = match tok.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (tok.clone(), None),
            };
            let takes_value = matches!(
                flag.as_str(),
                "--e2e-focus"
                    | "--e2e-skip"
                    | "--mode"
                    | "-m"
                    | "--e2e-parallel"
                    | "--plugin-env"
                    | "--sonobuoy-image"
                    | "--kube-conformance-image"
                    | "--timeout"
            );
            let value = if takes_value {
                match inline {
                    Some(v) => v,
                    None if i < tokens.len() => {
                        i += 1;
                        tokens[i - 1].clone()
                    }
                    None => return Err(SonobuoyArgsError::MissingValue(flag)),
                }
            } else {
                String::new()
            };
            match flag.as_str() {
                "--e2e-focus" => out.focus = Some(value),
                "--e2e-skip" => out.skip = Some(value),
                "--mode" | "-m" => out.mode = Some(value),
                "--e2e-parallel" => out.e2e_parallel = Some(value),
                "--plugin-env" => {
                    let bad = || SonobuoyArgsError::PluginEnv(value.clone());
                    let (name, kv) = value.split_once('.').ok_or_else(bad)?;
                    let (k, v) = kv.split_once('=').ok_or_else(bad)?;
                    out.plugin_env
                        .push((name.to_string(), k.to_string(), v.to_string()));
                }
                "--sonobuoy-image" => out.sonobuoy_image = Some(value),
                "--kube-conformance-image" => out.conformance_image = Some(value),
                "--timeout" => out.timeout_seconds = Some(sonobuoy_timeout(&value)?),
                "--wait" => out.wait = true,
                _ => out.unknown.push(tok.clone()),
            }
        }
        Ok(out)
    }
}

/// Says what becomes of the `-a` arguments for `testcase`: the standard definition's selection
/// (focus, skip, ginkgo flags) always wins, and every argument that would have changed it gets a
/// `warning:` line naming what runs instead; nothing is dropped silently.
pub fn reconcile(args: &SonobuoyArgs, testcase: &Testcase) -> Vec<LogLine> {
    let mut out = Vec::new();
    let Check::E2e(e2e) = &testcase.check else {
        let given = args.focus.is_some()
            || args.skip.is_some()
            || args.mode.is_some()
            || args.e2e_parallel.is_some()
            || !args.plugin_env.is_empty()
            || args.sonobuoy_image.is_some()
            || args.conformance_image.is_some()
            || args.timeout_seconds.is_some()
            || args.wait
            || !args.unknown.is_empty();
        if given {
            out.push(LogLine::new(
                Level::Warning,
                format!(
                    "{} is a native check (Kubernetes API only, no Sonobuoy run): the -a Sonobuoy arguments are ignored",
                    testcase.id
                ),
            ));
        }
        return out;
    };
    let ours = format!(
        "E2E_FOCUS={:?} E2E_SKIP={:?} from the standard definition of {} (plus its active waivers; see `scs-conformance plan --standard {}`)",
        e2e.selection.focus(),
        e2e.selection.skip(),
        testcase.id,
        testcase.id
    );
    let superseded = |what: String| {
        LogLine::new(
            Level::Warning,
            format!("ignoring Sonobuoy argument {what}: scs-check runs {ours}"),
        )
    };
    if let Some(f) = &args.focus {
        out.push(superseded(format!("--e2e-focus {f:?}")));
    }
    if let Some(s) = &args.skip {
        out.push(superseded(format!("--e2e-skip {s:?}")));
    }
    if let Some(m) = &args.mode {
        if MODES.contains(&m.as_str()) {
            out.push(superseded(format!("--mode={m}")));
        } else {
            out.push(LogLine::new(
                Level::Warning,
                format!(
                    "ignoring Sonobuoy argument --mode={m} (not a Sonobuoy mode; known: {}): scs-check runs {ours}",
                    MODES.join(", ")
                ),
            ));
        }
    }
    if let Some(p) = &args.e2e_parallel {
        out.push(LogLine::new(
            Level::Warning,
            format!(
                "ignoring Sonobuoy argument --e2e-parallel={p}: parallelism follows --execution-mode and the standard definition (parallel: {})",
                e2e.parallel
            ),
        ));
    }
    for (plugin, key, value) in &args.plugin_env {
        if plugin != "e2e" {
            out.push(LogLine::new(
                Level::Warning,
                format!(
                    "ignoring Sonobuoy argument --plugin-env {plugin}.{key}={value}: scs-check runs only the e2e plugin"
                ),
            ));
            continue;
        }
        match key.as_str() {
            "E2E_EXTRA_ARGS" | "E2E_EXTRA_GINKGO_ARGS" => {
                out.extend(reconcile_ginkgo(key, value, &e2e.ginkgo_args, &testcase.id));
            }
            "E2E_FOCUS" | "E2E_SKIP" | "E2E_DRYRUN" | "E2E_PARALLEL" => out.push(superseded(
                format!("--plugin-env e2e.{key}={value:?}"),
            )),
            _ => out.push(LogLine::new(
                Level::Warning,
                format!(
                    "ignoring Sonobuoy argument --plugin-env e2e.{key}={value:?}: not understood by scs-check"
                ),
            )),
        }
    }
    if let Some(image) = &args.sonobuoy_image {
        out.push(LogLine::new(
            Level::Info,
            format!("aggregator image from --sonobuoy-image: {image}"),
        ));
    }
    if let Some(image) = &args.conformance_image {
        out.push(LogLine::new(
            Level::Info,
            format!("conformance image from --kube-conformance-image: {image}"),
        ));
    }
    if let Some(t) = args.timeout_seconds {
        out.push(LogLine::new(
            Level::Info,
            format!("run limit from Sonobuoy's --timeout: {t} s"),
        ));
    }
    if args.wait {
        out.push(LogLine::new(
            Level::Info,
            "Sonobuoy argument --wait: scs-check always waits for the run",
        ));
    }
    for u in &args.unknown {
        out.push(LogLine::new(
            Level::Warning,
            format!("ignoring Sonobuoy argument {u:?}: not understood by scs-check"),
        ));
    }
    out
}

/// `E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2`: the ginkgo flags in it are compared with the
/// standard's `ginkgo-args`; equal ones are honoured (info), others ignored (warning).
fn reconcile_ginkgo(key: &str, value: &str, ours: &[String], testcase: &str) -> Vec<LogLine> {
    let mut out = Vec::new();
    let words = shell_split(value).unwrap_or_else(|_| vec![value.to_string()]);
    for w in words {
        // The e2e binary takes ginkgo flags as --ginkgo.X; E2E_EXTRA_GINKGO_ARGS as --X.
        let normalized = w.replacen("--ginkgo.", "--", 1);
        if ours.contains(&normalized) {
            out.push(LogLine::new(
                Level::Info,
                format!(
                    "Sonobuoy argument --plugin-env e2e.{key}={w}: the standard definition of {testcase} already sets {normalized}"
                ),
            ));
        } else {
            out.push(LogLine::new(
                Level::Warning,
                format!(
                    "ignoring {w} in --plugin-env e2e.{key}: scs-check runs {testcase} with the ginkgo flags of its standard definition [{}]",
                    ours.join(" ")
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_split_like_shlex() {
        assert_eq!(
            shell_split(r#"--e2e-focus "NetworkPolicy""#).unwrap(),
            vec!["--e2e-focus", "NetworkPolicy"]
        );
        assert_eq!(
            shell_split("--plugin-env e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2").unwrap(),
            vec![
                "--plugin-env",
                "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2"
            ]
        );
        assert_eq!(
            shell_split(r#"'a b' c\ d "e\"f""#).unwrap(),
            vec!["a b", "c d", "e\"f"]
        );
        assert!(shell_split("'open").is_err());
    }

    #[test]
    fn log_line_prefixes_every_line() {
        let l = LogLine::new(Level::Critical, "one\ntwo\x1b[0m");
        assert_eq!(l.to_string(), "critical: one\ncritical: two[0m");
    }

    #[test]
    fn sonobuoy_timeout_is_bounded_like_the_tools_own() {
        let parse = |v: &str| SonobuoyArgs::parse(&[format!("--timeout {v}")]);
        assert_eq!(parse("3600").unwrap().timeout_seconds, Some(3600));
        assert_eq!(
            parse("31536000").unwrap().timeout_seconds,
            Some(MAX_SONOBUOY_TIMEOUT_SECONDS)
        );
        for v in [
            "31536001",
            "9223372036854775807",
            "18446744073709551615",
            "99999999999999999999999",
        ] {
            let e = parse(v).unwrap_err().to_string();
            assert!(e.contains("too long") && e.contains(v), "{v}: {e}");
        }
        assert!(
            parse("soon")
                .unwrap_err()
                .to_string()
                .contains("expected a number of seconds")
        );
    }

    #[test]
    fn missing_is_reported_as_abort() {
        assert_eq!(result_line("x", Verdict::Missing), "x: ABORT");
    }
}
