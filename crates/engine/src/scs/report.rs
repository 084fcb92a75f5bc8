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

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::definitions::catalog::{Catalog, Scope};
use crate::evidence::results::{Results, ResultsKind};
use crate::verdict::certify::Certification;
use crate::verdict::{Outcome, TargetKind, TestcaseVerdict, Verdict};

/// File name of the report in the output directory.
pub const FILE_NAME: &str = "report.yaml";

/// Evidence older than this many days is refused for a report unless `--allow-old-evidence`: the
/// monitor dates a cluster's compliance by `checked_at`, and SCS's shortest result lifetime for
/// the e2e test cases is a week (`lifetime: week` in `scs-compatible-kaas.yaml`).
pub const MAX_EVIDENCE_AGE_DAYS: i64 = 7;

/// Run facts that the verdict document does not hold.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// The subject (cluster name) the report is about, e.g. `syself-1.35` (`--subject`).
    pub subject: String,
    /// The command line, program name first (the front end passes `std::env::args()`).
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
    pub checked_at: DateTime,
}

impl ReportContext {
    /// A context with `checked_at` = now (local time) and the command line `argv`.
    pub fn now(subject: impl Into<String>, argv: Vec<String>) -> Self {
        ReportContext {
            subject: subject.into(),
            argv,
            assignment: BTreeMap::new(),
            sections: None,
            forced_version: None,
            forced_tests: None,
            checked_at: jiff::Zoned::now().datetime(),
        }
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
    #[error(
        "the e2e results were produced at {} UTC, {days} days ago; a report on evidence \
         older than {MAX_EVIDENCE_AGE_DAYS} days is refused, because its checked_at would date \
         the cluster's compliance to then. Rerun the tests, or pass --allow-old-evidence to \
         write the report anyway, marked as old",
        utc_text(produced)
    )]
    OldEvidence { produced: DateTime, days: i64 },
    #[error(
        "the e2e results claim to be produced at {} UTC, in the future; check the clocks, \
         or pass --allow-old-evidence to write the report anyway, marked as such",
        utc_text(produced)
    )]
    FutureEvidence { produced: DateTime },
    #[error(
        "when the e2e results were produced is unknown (no testsuite timestamp in the JUnit \
         report, no Sonobuoy meta/run.log), so the report's checked_at cannot be set; pass \
         --allow-old-evidence to write the report anyway, marked as undated"
    )]
    UndatedEvidence,
}

/// When the evidence of a report was produced, as far as it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceTime {
    pub produced: Option<Timestamp>,
}

/// What a report says about the age of its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceAge {
    /// `checked_at` for the report: when the evidence was produced (local time, as SCS writes it).
    pub checked_at: DateTime,
    /// Set when the evidence was accepted although old, undated or in the future.
    pub warning: Option<String>,
}

impl EvidenceTime {
    /// Reads when `results` were produced: the `timestamp` of the JUnit report's first
    /// `<testsuite>` (Ginkgo v2; written in the e2e pod's time zone, UTC in the conformance
    /// image) and the first entry of a Sonobuoy archive's `meta/run.log` (when the aggregator
    /// started). When both are there, the older one counts: evidence is never dated fresher than
    /// any of its parts, so an old archive with an edited JUnit timestamp stays old.
    pub fn of(results: &Results) -> Self {
        let root = match results.kind {
            ResultsKind::Tarball => results.extracted_to.clone(),
            ResultsKind::Directory => Some(results.source.clone()),
            ResultsKind::Junit => None,
        };
        let junit = match results.kind {
            ResultsKind::Junit => Some(results.source.clone()),
            _ => root.as_ref().and_then(|r| {
                let first = results.junit_file.as_deref()?.split(", ").next()?;
                Some(r.join(first))
            }),
        };
        let junit_time = junit.as_deref().and_then(junit_timestamp);
        let run_log_time = root.as_deref().and_then(sonobuoy_run_log_time);
        let produced = match (junit_time, run_log_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        EvidenceTime { produced }
    }

    /// Checks the age against [`MAX_EVIDENCE_AGE_DAYS`] at `now`; `allow_old` accepts old,
    /// undated or future evidence with a warning for the report.
    pub fn check(&self, now: Timestamp, allow_old: bool) -> Result<EvidenceAge, ScsReportError> {
        let local = |t: Timestamp| t.to_zoned(TimeZone::system()).datetime();
        let Some(produced) = self.produced else {
            if !allow_old {
                return Err(ScsReportError::UndatedEvidence);
            }
            return Ok(EvidenceAge {
                checked_at: local(now),
                warning: Some(
                    "evidence undated: when the e2e results were produced is unknown; checked_at \
                     is when the verdict was made (--allow-old-evidence)"
                        .into(),
                ),
            });
        };
        let age = now.duration_since(produced);
        let days = age.as_secs() / 86_400;
        let utc = TimeZone::UTC.to_datetime(produced);
        // An hour of clock skew between the cluster and this machine is no reason to refuse.
        let (problem, warning) = if age < -SignedDuration::from_hours(1) {
            (
                ScsReportError::FutureEvidence { produced: utc },
                format!(
                    "evidence dated in the future ({} UTC), accepted with --allow-old-evidence",
                    utc_text(&utc)
                ),
            )
        } else if days > MAX_EVIDENCE_AGE_DAYS {
            (
                ScsReportError::OldEvidence {
                    produced: utc,
                    days,
                },
                format!(
                    "old evidence: the e2e results are from {} UTC, {days} days before the \
                     verdict (limit {MAX_EVIDENCE_AGE_DAYS}), accepted with --allow-old-evidence",
                    utc_text(&utc)
                ),
            )
        } else {
            return Ok(EvidenceAge {
                checked_at: local(produced),
                warning: None,
            });
        };
        if !allow_old {
            return Err(problem);
        }
        Ok(EvidenceAge {
            checked_at: local(produced.min(now)),
            warning: Some(warning),
        })
    }
}

/// `timestamp` of the first `<testsuite>`: `2025-07-31T00:27:49` (no zone: UTC) or RFC 3339.
fn junit_timestamp(path: &Path) -> Option<Timestamp> {
    use quick_xml::events::Event;
    use std::io::{BufRead, BufReader, Read};
    let mut file = BufReader::new(std::fs::File::open(path).ok()?);
    let gz = file.fill_buf().ok()?.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn BufRead> = if gz {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(file)
    };
    // Only the first elements matter; the bound keeps a hostile file from being read whole.
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(input.take(1 << 20)));
    let mut buf = Vec::new();
    for _ in 0..64 {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"testsuite" => {
                let attr = e.try_get_attribute("timestamp").ok()??;
                return parse_timestamp(&String::from_utf8_lossy(&attr.value));
            }
            Event::Eof => return None,
            _ => {}
        }
        buf.clear();
    }
    None
}

/// The `time` of the first line of Sonobuoy's `meta/run.log` (JSON lines), when the aggregator
/// started.
fn sonobuoy_run_log_time(root: &Path) -> Option<Timestamp> {
    use std::io::{BufRead, BufReader, Read};
    let file = std::fs::File::open(root.join("meta/run.log")).ok()?;
    let mut first = String::new();
    BufReader::new(file.take(64 << 10))
        .read_line(&mut first)
        .ok()?;
    let line: serde_json::Value = serde_json::from_str(&first).ok()?;
    parse_timestamp(line.get("time")?.as_str()?)
}

/// RFC 3339, or a date and time without a zone (UTC).
fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let civil = DateTime::strptime("%Y-%m-%dT%H:%M:%S%.f", text).ok()?;
    TimeZone::UTC.to_timestamp(civil).ok()
}

/// A date and time as in messages: `2026-07-01 00:00:00` (fraction only when non-zero).
fn utc_text(t: &DateTime) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S%.f").to_string()
}

/// One invocation (one check process, as SCS's `create_report()` records it), in the report's
/// key order.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// A fresh uuid: the key and the `id` of the invocation.
    pub id: String,
    /// The command line.
    pub cmd: String,
    /// The results parsed from stdout: test case id and SCS value (1 pass, -1 fail, 0 abort).
    pub results: Vec<(String, i8)>,
    /// The exit code (`-1` when the process had none, e.g. killed by a signal).
    pub rc: i32,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

/// The scope a report is about: what goes into `spec:`.
#[derive(Debug, Clone, Copy)]
pub struct SpecRef<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub url: &'a str,
}

/// One report document in SCS's compliance-report format, as `scs-compliance-check.py` writes
/// it. Both writers of report.yaml (this module's [`render`] for a certification, the fleet for
/// its child processes) fill one of these and render it with [`Document::render`].
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub spec: SpecRef<'a>,
    pub checked_at: &'a DateTime,
    pub reference_date: jiff::civil::Date,
    pub subject: &'a str,
    /// The run's uuid (`run.uuid`).
    pub run_uuid: &'a str,
    pub argv: &'a [String],
    pub assignment: &'a BTreeMap<String, String>,
    pub sections: Option<&'a [String]>,
    pub forced_version: Option<&'a str>,
    pub forced_tests: Option<&'a str>,
    pub invocations: Vec<Invocation>,
}

impl Document<'_> {
    /// The YAML text (one document, with `---` like SCS's `explicit_start=True`).
    pub fn render(&self) -> String {
        let mut y = String::new();
        y.push_str("---\n");
        y.push_str("spec:\n");
        let _ = writeln!(y, "  uuid: {}", yaml_quote(self.spec.uuid));
        let _ = writeln!(y, "  name: {}", yaml_quote(self.spec.name));
        let _ = writeln!(y, "  url: {}", yaml_quote(self.spec.url));
        let _ = writeln!(y, "checked_at: {}", timestamp(self.checked_at));
        let _ = writeln!(
            y,
            "reference_date: {}",
            self.reference_date.strftime("%Y-%m-%d")
        );
        let _ = writeln!(y, "subject: {}", yaml_quote(self.subject));
        y.push_str("run:\n");
        let _ = writeln!(y, "  uuid: {}", yaml_quote(self.run_uuid));
        yaml_list(&mut y, 2, "argv", self.argv);
        if self.assignment.is_empty() {
            y.push_str("  assignment: {}\n");
        } else {
            y.push_str("  assignment:\n");
            for (k, v) in self.assignment {
                let _ = writeln!(y, "    {}: {}", yaml_quote(k), yaml_quote(v));
            }
        }
        match self.sections {
            Some(s) => yaml_list(&mut y, 2, "sections", s),
            None => y.push_str("  sections: null\n"),
        }
        let _ = writeln!(y, "  forced_version: {}", opt(self.forced_version));
        let _ = writeln!(y, "  forced_tests: {}", opt(self.forced_tests));
        if self.invocations.is_empty() {
            y.push_str("  invocations: {}\n");
            return y;
        }
        y.push_str("  invocations:\n");
        for inv in &self.invocations {
            let _ = writeln!(y, "    {}:", yaml_quote(&inv.id));
            let _ = writeln!(y, "      id: {}", yaml_quote(&inv.id));
            let _ = writeln!(y, "      cmd: {}", yaml_quote(&inv.cmd));
            if inv.results.is_empty() {
                y.push_str("      results: {}\n");
            } else {
                y.push_str("      results:\n");
                for (id, value) in &inv.results {
                    let _ = writeln!(y, "        {}: {value}", yaml_quote(id));
                }
            }
            let _ = writeln!(y, "      rc: {}", inv.rc);
            yaml_list(&mut y, 6, "stdout", &inv.stdout);
            yaml_list(&mut y, 6, "stderr", &inv.stderr);
            for signal in ["info", "warning", "error", "critical"] {
                let _ = writeln!(y, "      {signal}: {}", count_signal(inv, signal));
            }
        }
        y
    }
}

/// Renders the report YAML of a certification (one document, see [`Document`]).
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
    let run_uuid = uuid::Uuid::new_v4().to_string();
    Ok(Document {
        spec: SpecRef {
            uuid,
            name: &scope.name,
            url,
        },
        checked_at: &ctx.checked_at,
        reference_date: cert.reference_date,
        subject: &ctx.subject,
        run_uuid: &run_uuid,
        argv: &ctx.argv,
        assignment: &ctx.assignment,
        sections: ctx.sections.as_deref(),
        forced_version: ctx.forced_version.as_deref(),
        forced_tests: ctx.forced_tests.as_deref(),
        invocations: cert
            .testcases()
            .filter(|tc| tc.verdict != Verdict::Missing)
            .map(|tc| invocation(tc, &ctx.argv))
            .collect(),
    }
    .render())
}

/// A report.yaml of offline results (`verdict --subject`): dated by its evidence, not by when it
/// was judged. Evidence older than [`MAX_EVIDENCE_AGE_DAYS`], undated or from the future is
/// refused unless `allow_old_evidence`; then every test case of the certification carries the
/// warning, so verdict.json, summary.md and the report say the same.
#[derive(Debug, Clone, Copy)]
pub struct ResultsReport<'a> {
    pub results: &'a Results,
    /// The moment the age is judged at.
    pub now: Timestamp,
    pub allow_old_evidence: bool,
}

impl ResultsReport<'_> {
    /// Checks the evidence's age, marks `cert` when it is old (allowed), and renders the report.
    pub fn render(
        &self,
        cert: &mut Certification,
        catalog: &Catalog,
        mut ctx: ReportContext,
    ) -> Result<String, ScsReportError> {
        let age = EvidenceTime::of(self.results).check(self.now, self.allow_old_evidence)?;
        ctx.checked_at = age.checked_at;
        if let Some(w) = age.warning {
            for m in &mut cert.modules {
                for t in &mut m.testcases {
                    t.warnings.push(w.clone());
                }
            }
        }
        render(cert, catalog, &ctx)
    }
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
    crate::reports::atomic::write(&path, text.as_bytes()).map_err(|source| {
        ScsReportError::Write {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

/// The scope a certification belongs to: the scope itself, or the first scope with a version
/// that includes the certified module (or the module of the certified test case).
fn scope_of<'a>(cert: &Certification, catalog: &'a Catalog) -> Result<&'a Scope, ScsReportError> {
    let t = &cert.target;
    let (what, module) = match t.kind {
        TargetKind::Scope => {
            return catalog.scopes.iter().find(|s| s.id == t.id).ok_or_else(|| {
                ScsReportError::NoScope {
                    what: "scope",
                    id: t.id.clone(),
                }
            });
        }
        TargetKind::Module => ("module", t.id.clone()),
        TargetKind::Testcase => (
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
    if let Some(w) = &tc.cni.warning {
        stderr.push(format!("WARNING: {}", one_line(w)));
    }
    for w in &tc.warnings {
        stderr.push(format!("WARNING: {}", one_line(w)));
    }
    Invocation {
        id: uuid::Uuid::new_v4().to_string(),
        cmd: command_for(argv, &tc.id),
        results: vec![(tc.id.clone(), value)],
        rc: i32::from(crate::exit_codes::native::for_verdict(tc.verdict)),
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
pub fn timestamp(t: &DateTime) -> String {
    let micros = t.subsec_nanosecond() / 1000 % 1_000_000;
    if micros == 0 {
        t.strftime("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", t.strftime("%Y-%m-%d %H:%M:%S"))
    }
}

fn opt(v: Option<&str>) -> String {
    v.map_or_else(|| "null".to_string(), yaml_quote)
}

/// A YAML block list `key:` of quoted items (`key: []` when empty), indented by `indent`.
pub fn yaml_list(y: &mut String, indent: usize, key: &str, items: &[String]) {
    let pad = " ".repeat(indent);
    if items.is_empty() {
        let _ = writeln!(y, "{pad}{key}: []");
        return;
    }
    let _ = writeln!(y, "{pad}{key}:");
    for item in items {
        let _ = writeln!(y, "{pad}- {}", yaml_quote(item));
    }
}

/// A double-quoted YAML scalar. Every character YAML 1.1 loaders reject or would fold (control
/// characters, C1, line/paragraph separators, BOM, non-characters) is escaped.
pub fn yaml_quote(s: &str) -> String {
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
    fn quoting_escapes_what_yaml_loaders_reject() {
        assert_eq!(yaml_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(yaml_quote("\u{1b}[0m\u{85}"), r#""\u001b[0m\u0085""#);
        assert_eq!(yaml_quote("ünïcode ✓"), "\"ünïcode ✓\"");
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
        let t = jiff::civil::date(2026, 11, 25).at(8, 5, 3, 120_000);
        assert_eq!(timestamp(&t), "2026-11-25 08:05:03.000120");
        let t = t.with().subsec_nanosecond(0).build().unwrap();
        assert_eq!(timestamp(&t), "2026-11-25 08:05:03");
    }
    fn at(text: &str) -> Timestamp {
        parse_timestamp(text).unwrap()
    }

    #[test]
    fn junit_and_sonobuoy_timestamps_are_read() {
        assert_eq!(
            at("2025-07-31T00:27:49").to_string(),
            "2025-07-31T00:27:49Z"
        );
        assert_eq!(
            at("2025-07-31T00:27:49.25").to_string(),
            "2025-07-31T00:27:49.25Z"
        );
        assert_eq!(
            at("2021-08-18T16:01:41Z").to_string(),
            "2021-08-18T16:01:41Z"
        );
        assert_eq!(
            at("2021-08-18T18:01:41+02:00").to_string(),
            "2021-08-18T16:01:41Z"
        );
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn evidence_age_is_bounded_unless_allowed() {
        let now = at("2026-08-10T12:00:00");
        let fresh = EvidenceTime {
            produced: Some(at("2026-08-05T03:00:00")),
        };
        let age = fresh.check(now, false).unwrap();
        assert_eq!(age.warning, None);
        assert_eq!(
            age.checked_at,
            at("2026-08-05T03:00:00")
                .to_zoned(TimeZone::system())
                .datetime()
        );
        let old = EvidenceTime {
            produced: Some(at("2026-07-01T00:00:00")),
        };
        let e = old.check(now, false).unwrap_err();
        assert!(e.to_string().contains("40 days ago"), "{e}");
        let allowed = old.check(now, true).unwrap();
        assert!(allowed.warning.unwrap().contains("old evidence"));
        let future = EvidenceTime {
            produced: Some(at("2026-08-12T00:00:00")),
        };
        assert!(matches!(
            future.check(now, false),
            Err(ScsReportError::FutureEvidence { .. })
        ));
        let undated = EvidenceTime { produced: None };
        assert!(matches!(
            undated.check(now, false),
            Err(ScsReportError::UndatedEvidence)
        ));
        assert!(
            undated
                .check(now, true)
                .unwrap()
                .warning
                .unwrap()
                .contains("undated")
        );
    }
}
