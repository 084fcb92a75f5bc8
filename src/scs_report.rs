//! The SCS compliance report: a [`Certification`] rendered as the YAML document that SCS's
//! `Tests/scs-compliance-check.py -o REPORT` writes, so the compliance monitor
//! (`POST /reports`) accepts it unchanged. The mapping is documented in `docs/scs-report.md`.
//!
//! Key order and meaning follow `create_report()` of `scs-compliance-check.py`:
//!
//! ```yaml
//! ---
//! spec: {uuid, name, url}            # the scope that contains what was certified
//! checked_at: 2026-11-25 08:25:26.123456   # local wall-clock time, like datetime.now()
//! reference_date: 2026-11-25
//! subject: <subject>
//! run:
//!   uuid: <uuid4>                    # the report's primary key in the monitor
//!   argv: [...]
//!   assignment: {...}
//!   sections: [...] | null
//!   forced_version: <str> | null
//!   forced_tests: <regex> | null
//!   invocations:
//!     <uuid4>: {id, cmd, results: {<testcase-id>: 1|0|-1}, rc, stdout, stderr,
//!               info, warning, error, critical}
//! ```
//!
//! One invocation per evaluated test case. A MISSING test case has no invocation and therefore no
//! result entry, exactly as SCS reports a test case it did not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::catalog::{Catalog, Scope};
use crate::certify::Certification;
use crate::verdict::{Outcome, TestcaseVerdict, Verdict};

/// File name of the report in the output directory.
pub const FILE_NAME: &str = "report.yaml";

/// Run facts that the verdict document does not hold.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// The subject (cluster name) the report is about, e.g. `syself-1.35` (`--subject`).
    pub subject: String,
    /// The command line, program name first (`std::env::args()`).
    pub argv: Vec<String>,
    /// Variable assignments, as SCS's `-a key=value` (e.g. `kubeconfig`, `subject_root`).
    pub assignment: BTreeMap<String, String>,
    /// Section filter (SCS `-S light,heavy`), if any.
    pub sections: Option<Vec<String>>,
    /// Scope version requested explicitly (SCS `-V`), if any.
    pub forced_version: Option<String>,
    /// Test case filter (SCS `-t REGEX`), if any.
    pub forced_tests: Option<String>,
    /// When the check ran, local wall-clock time (SCS writes `datetime.datetime.now()`).
    pub checked_at: NaiveDateTime,
}

impl ReportContext {
    /// A context with `checked_at` = now (local time) and this process's `argv`.
    pub fn now(subject: impl Into<String>) -> Self {
        ReportContext {
            subject: subject.into(),
            argv: std::env::args().collect(),
            assignment: BTreeMap::new(),
            sections: None,
            forced_version: None,
            forced_tests: None,
            checked_at: chrono::Local::now().naive_local(),
        }
    }
}

/// CLI options for the SCS report, to flatten into a command's args (`verdict`, `run`):
/// `--subject NAME` turns the report on; `-a/--assign KEY=VALUE` fills `run.assignment`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScsReportArgs {
    /// Also write report.yaml in SCS's compliance-report format for this subject (the name the
    /// compliance monitor knows the cluster by, e.g. syself-1.35).
    #[arg(long, value_name = "NAME")]
    pub subject: Option<String>,
    /// A variable for the report's run.assignment, as SCS's `-a` (e.g. kubeconfig=PATH);
    /// repeatable.
    #[arg(short = 'a', long = "assign", value_name = "KEY=VALUE", value_parser = parse_assignment)]
    pub assign: Vec<(String, String)>,
}

impl ScsReportArgs {
    /// The report context when `--subject` was given: now, this process's argv, the assignments,
    /// and `forced_version` (the `--version` the user passed, if any).
    pub fn context(&self, forced_version: Option<&str>) -> Option<ReportContext> {
        let subject = self.subject.as_ref()?;
        let mut ctx = ReportContext::now(subject.clone());
        ctx.assignment = self.assign.iter().cloned().collect();
        ctx.forced_version = forced_version.map(str::to_string);
        Some(ctx)
    }
}

fn parse_assignment(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ScsReportError {
    #[error("no scope contains {what} {id}: an SCS report needs the scope's uuid, name and url")]
    NoScope { what: &'static str, id: String },
    #[error("scope {scope} has no {field}: an SCS report needs the scope's uuid, name and url")]
    ScopeIncomplete { scope: String, field: &'static str },
    #[error("the subject must not be empty (--subject NAME)")]
    NoSubject,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One invocation, in the report's key order.
#[derive(Debug, Clone)]
struct Invocation {
    id: String,
    cmd: String,
    results: Vec<(String, i8)>,
    rc: u8,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

/// Renders the report YAML (one document, with `---` like SCS's `explicit_start=True`).
pub fn render(
    cert: &Certification,
    catalog: &Catalog,
    ctx: &ReportContext,
) -> Result<String, ScsReportError> {
    if ctx.subject.trim().is_empty() {
        return Err(ScsReportError::NoSubject);
    }
    let scope = scope_of(cert, catalog)?;
    let uuid = scope
        .uuid
        .as_deref()
        .ok_or_else(|| ScsReportError::ScopeIncomplete {
            scope: scope.id.clone(),
            field: "uuid",
        })?;
    let url = scope
        .url
        .as_deref()
        .ok_or_else(|| ScsReportError::ScopeIncomplete {
            scope: scope.id.clone(),
            field: "url",
        })?;

    let invocations: Vec<Invocation> = cert
        .testcases()
        .filter(|tc| tc.verdict != Verdict::Missing)
        .map(|tc| invocation(tc, &ctx.argv))
        .collect();

    let mut y = String::new();
    y.push_str("---\n");
    y.push_str("spec:\n");
    let _ = writeln!(y, "  uuid: {}", q(uuid));
    let _ = writeln!(y, "  name: {}", q(&scope.name));
    let _ = writeln!(y, "  url: {}", q(url));
    let _ = writeln!(y, "checked_at: {}", timestamp(&ctx.checked_at));
    let _ = writeln!(
        y,
        "reference_date: {}",
        cert.reference_date.format("%Y-%m-%d")
    );
    let _ = writeln!(y, "subject: {}", q(&ctx.subject));
    y.push_str("run:\n");
    let _ = writeln!(y, "  uuid: {}", q(&uuid::Uuid::new_v4().to_string()));
    list(&mut y, 2, "argv", &ctx.argv);
    if ctx.assignment.is_empty() {
        y.push_str("  assignment: {}\n");
    } else {
        y.push_str("  assignment:\n");
        for (k, v) in &ctx.assignment {
            let _ = writeln!(y, "    {}: {}", q(k), q(v));
        }
    }
    match &ctx.sections {
        Some(s) => list(&mut y, 2, "sections", s),
        None => y.push_str("  sections: null\n"),
    }
    let _ = writeln!(
        y,
        "  forced_version: {}",
        opt(ctx.forced_version.as_deref())
    );
    let _ = writeln!(y, "  forced_tests: {}", opt(ctx.forced_tests.as_deref()));
    if invocations.is_empty() {
        y.push_str("  invocations: {}\n");
    } else {
        y.push_str("  invocations:\n");
        for inv in &invocations {
            let _ = writeln!(y, "    {}:", q(&inv.id));
            let _ = writeln!(y, "      id: {}", q(&inv.id));
            let _ = writeln!(y, "      cmd: {}", q(&inv.cmd));
            if inv.results.is_empty() {
                y.push_str("      results: {}\n");
            } else {
                y.push_str("      results:\n");
                for (id, value) in &inv.results {
                    let _ = writeln!(y, "        {}: {value}", q(id));
                }
            }
            let _ = writeln!(y, "      rc: {}", inv.rc);
            list(&mut y, 6, "stdout", &inv.stdout);
            list(&mut y, 6, "stderr", &inv.stderr);
            for signal in ["info", "warning", "error", "critical"] {
                let _ = writeln!(y, "      {signal}: {}", count_signal(inv, signal));
            }
        }
    }
    Ok(y)
}

/// Renders the report and writes it atomically to `out_dir/report.yaml`; returns the path.
pub fn write(
    out_dir: &Path,
    cert: &Certification,
    catalog: &Catalog,
    ctx: &ReportContext,
) -> Result<PathBuf, ScsReportError> {
    let text = render(cert, catalog, ctx)?;
    let path = out_dir.join(FILE_NAME);
    crate::atomic::write(&path, text.as_bytes()).map_err(|source| ScsReportError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// The scope a certification belongs to: the scope itself, or the first scope with a version
/// that includes the certified module (or the module of the certified test case).
fn scope_of<'a>(cert: &Certification, catalog: &'a Catalog) -> Result<&'a Scope, ScsReportError> {
    let t = &cert.target;
    let (what, module) = match t.kind {
        "scope" => {
            return catalog.scopes.iter().find(|s| s.id == t.id).ok_or_else(|| {
                ScsReportError::NoScope {
                    what: "scope",
                    id: t.id.clone(),
                }
            });
        }
        "module" => ("module", t.id.clone()),
        _ => (
            "test case",
            catalog
                .testcase(&t.id)
                .map(|(m, _)| m.id.clone())
                .unwrap_or_default(),
        ),
    };
    catalog
        .scopes
        .iter()
        .find(|s| {
            s.versions
                .iter()
                .any(|v| v.include.iter().any(|m| m.eq_ignore_ascii_case(&module)))
        })
        .ok_or_else(|| ScsReportError::NoScope {
            what,
            id: t.id.clone(),
        })
}

fn invocation(tc: &TestcaseVerdict, argv: &[String]) -> Invocation {
    let value = tc.verdict.scs_value().unwrap_or(0);
    let stdout = vec![format!("{}: {}", tc.id, tc.verdict.as_str())];
    let mut stderr = Vec::new();
    let level = match tc.verdict {
        Verdict::Pass => "INFO",
        Verdict::Fail => "ERROR",
        // SCS's check scripts log CRITICAL when they could not complete (run_sonobuoy.py,
        // k8s_version_policy.py); scs-compliance-check.py counts those as aborts.
        Verdict::Abort | Verdict::Missing => "CRITICAL",
    };
    stderr.push(format!("{level}: {}: {}", tc.id, one_line(&tc.reason)));
    for t in &tc.tests {
        match t.outcome {
            // Same wording as SCS's Sonobuoy handler for an unwaived failure.
            Outcome::Failed => stderr.push(format!("ERROR: FAILED: {}", one_line(&t.name))),
            Outcome::Waived => stderr.push(format!(
                "INFO: failed, waived ({}): {}",
                t.waiver.as_deref().unwrap_or("?"),
                one_line(&t.name)
            )),
            _ => {}
        }
    }
    for f in &tc.findings {
        stderr.push(format!("INFO: {}", one_line(f)));
    }
    for w in &tc.warnings {
        stderr.push(format!("WARNING: {}", one_line(w)));
    }
    Invocation {
        id: uuid::Uuid::new_v4().to_string(),
        cmd: command_for(argv, &tc.id),
        results: vec![(tc.id.clone(), value)],
        rc: crate::exit::for_verdict(tc.verdict),
        stdout,
        stderr,
    }
}

/// The command line that checks just this test case: `argv` with `--standard` set to its id.
fn command_for(argv: &[String], testcase: &str) -> String {
    let mut args: Vec<String> = Vec::with_capacity(argv.len() + 2);
    let mut replaced = false;
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--standard" {
            args.push(a.clone());
            args.push(testcase.to_string());
            replaced = true;
            i += 2;
            continue;
        }
        if a.starts_with("--standard=") {
            args.push(format!("--standard={testcase}"));
            replaced = true;
        } else if a == "--version" {
            // A scope version does not apply to a single test case.
            i += 2;
            continue;
        } else if !a.starts_with("--version=") {
            args.push(a.clone());
        }
        i += 1;
    }
    if args.is_empty() {
        args.push("scs-conformance".into());
    }
    if !replaced {
        args.push("--standard".into());
        args.push(testcase.to_string());
    }
    args.iter()
        .map(|a| shell_word(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// Counts log lines the way `scs-compliance-check.py` does: lines of stderr and stdout that
/// start, case-insensitively, with the signal word.
fn count_signal(inv: &Invocation, signal: &str) -> usize {
    inv.stderr
        .iter()
        .chain(inv.stdout.iter())
        .filter(|l| l.to_lowercase().starts_with(signal))
        .count()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Like PyYAML's `datetime.isoformat(' ')`: microseconds only when non-zero. A plain scalar, so
/// YAML loaders (ruamel's safe loader in the monitor) read it as a timestamp.
fn timestamp(t: &NaiveDateTime) -> String {
    use chrono::Timelike;
    let micros = t.nanosecond() / 1000 % 1_000_000;
    if micros == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", t.format("%Y-%m-%d %H:%M:%S"))
    }
}

fn opt(v: Option<&str>) -> String {
    v.map_or_else(|| "null".to_string(), q)
}

fn list(y: &mut String, indent: usize, key: &str, items: &[String]) {
    let pad = " ".repeat(indent);
    if items.is_empty() {
        let _ = writeln!(y, "{pad}{key}: []");
        return;
    }
    let _ = writeln!(y, "{pad}{key}:");
    for item in items {
        let _ = writeln!(y, "{pad}- {}", q(item));
    }
}

/// A double-quoted YAML scalar. Every character YAML 1.1 loaders reject or would fold (control
/// characters, C1, line/paragraph separators, BOM, non-characters) is escaped.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || matches!(c as u32, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff) =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_args_build_the_context() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            report: ScsReportArgs,
        }
        let cli = Cli::parse_from([
            "x",
            "--subject",
            "s-1.35",
            "-a",
            "kubeconfig=k.yaml",
            "--assign",
            "subject_root=.",
        ]);
        let ctx = cli.report.context(Some("v1")).unwrap();
        assert_eq!(ctx.subject, "s-1.35");
        assert_eq!(ctx.assignment["kubeconfig"], "k.yaml");
        assert_eq!(ctx.assignment["subject_root"], ".");
        assert_eq!(ctx.forced_version.as_deref(), Some("v1"));
        assert!(Cli::try_parse_from(["x", "-a", "novalue"]).is_err());
        let none = Cli::parse_from(["x"]);
        assert!(none.report.context(None).is_none());
    }

    #[test]
    fn quoting_escapes_what_yaml_loaders_reject() {
        assert_eq!(q("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(q("\u{1b}[0m\u{85}"), r#""\u001b[0m\u0085""#);
        assert_eq!(q("ünïcode ✓"), "\"ünïcode ✓\"");
    }

    #[test]
    fn command_line_names_the_testcase() {
        let argv: Vec<String> = [
            "scs-conformance",
            "verdict",
            "--standard",
            "scs-compatible-kaas",
            "--version",
            "v1",
            "--results",
            "my dir/x.tar.gz",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            command_for(&argv, "kaas-networking-check"),
            "scs-conformance verdict --standard kaas-networking-check --results 'my dir/x.tar.gz'"
        );
        assert_eq!(
            command_for(&[], "version-policy-check"),
            "scs-conformance --standard version-policy-check"
        );
    }

    #[test]
    fn timestamps_look_like_pyyaml() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_micro_opt(8, 5, 3, 120)
            .unwrap();
        assert_eq!(timestamp(&t), "2026-11-25 08:05:03.000120");
        let t = t.with_nanosecond(0).unwrap();
        assert_eq!(timestamp(&t), "2026-11-25 08:05:03");
    }
    use chrono::Timelike;
}
