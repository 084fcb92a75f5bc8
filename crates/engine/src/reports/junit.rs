//! `junit.xml` for CI test reporters: Jenkins (JUnit and xUnit plugins), GitLab's test report,
//! GitHub's dorny/test-reporter and mikepenz/action-junit-report, Zuul artifact viewers. What each
//! of them reads, and how that is tested, is in docs/verdict.md ("junit.xml").
//!
//! One `<testsuite>` per SCS test case, one `<testcase>` per selected e2e spec, classname = the
//! SCS module (standard) the test case belongs to. The verdict and its reason are the suite's
//! `<system-out>`. A synthetic `<testcase>` carries the verdict only where no spec does: a
//! non-PASS verdict without a failing spec (ABORT, MISSING, a native check's FAIL), so that a
//! reporter that fails on failures and errors fails on it too.
//!
//! The document is written with quick-xml rather than quick-junit, because it must stay within
//! the Jenkins xUnit JUnit schema (tests/fixtures/junit-consumers/jenkins-xunit-junit-10.xsd),
//! which allows only `name`, `time`, `tests`, `failures` and `errors` on `<testsuites>`; quick-junit
//! always writes `skipped` there. Writing the few elements ourselves keeps every attribute on an
//! allow-list instead of subtracting from what a library emits.

use std::io;
use std::time::Duration;

use jiff::Timestamp;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::evidence::e2e_junit::failure_headline;
use crate::reports::escape::xml;
use crate::reports::{ErrorRecord, clip};
use crate::verdict::certify::Certification;
use crate::verdict::{Outcome, TestcaseVerdict, Verdict, WaiverUse};

/// Longest failure text kept per test; e2e failure bodies can carry whole timelines.
const MAX_FAILURE_TEXT: usize = 64 * 1024;
/// Longest `message` attribute: one line, for lists and annotations.
const MAX_MESSAGE_CHARS: usize = 300;

/// Renders the JUnit document. Every text from evidence goes through [`xml`], so the document
/// stays well-formed XML 1.0 whatever a spec name contains.
pub fn render(cert: &Certification) -> String {
    let warning = cert.cluster.cni.warning.as_deref();
    let suites: Vec<Suite> = cert
        .testcases()
        .map(|tc| suite(tc, warning, cert.generated_at))
        .collect();
    serialise(&format!("scs-conformance {}", cert.target.id), &suites)
}

/// The ABORT record as JUnit: one errored test case, so reporters fail the job.
pub fn render_error(record: &ErrorRecord) -> String {
    let case = Case {
        name: format!("scs-conformance {}", record.command),
        classname: "scs-conformance".into(),
        time: None,
        result: Some(Issue {
            element: "error",
            kind: Some("ABORT"),
            message: clip(&record.error, MAX_MESSAGE_CHARS),
            text: format!("ABORT: {}", record.error),
        }),
        system_out: None,
    };
    let suite = Suite {
        name: "scs-conformance".into(),
        timestamp: record.generated_at,
        cases: vec![case],
        system_out: None,
    };
    serialise(&format!("scs-conformance {}", record.command), &[suite])
}

/// One `<testsuite>`.
struct Suite {
    name: String,
    timestamp: Timestamp,
    cases: Vec<Case>,
    system_out: Option<String>,
}

/// One `<testcase>`; `result` is `None` for a pass.
struct Case {
    name: String,
    classname: String,
    time: Option<Duration>,
    result: Option<Issue>,
    system_out: Option<String>,
}

/// A `<failure>`, `<error>` or `<skipped>`. Its text is never empty: GitLab shows the element's
/// text, and an element with attributes but no text reaches its page as a dump of the attributes.
struct Issue {
    element: &'static str,
    /// The `type` attribute. dorny/test-reporter shows `type: message`, so it is set only where it
    /// is not already the start of the message: the SCS verdict, not e2e failures.
    kind: Option<&'static str>,
    message: String,
    text: String,
}

impl Suite {
    fn count(&self, element: &str) -> usize {
        self.cases
            .iter()
            .filter(|c| c.result.as_ref().is_some_and(|r| r.element == element))
            .count()
    }

    fn time(&self) -> Duration {
        self.cases.iter().filter_map(|c| c.time).sum()
    }
}

fn serialise(name: &str, suites: &[Suite]) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 4);
    // Writing into a Vec does not fail; if it ever did, an empty junit.xml is not well-formed
    // and CI reporters fail loudly.
    if write_document(&mut writer, name, suites).is_err() {
        return String::new();
    }
    let mut out = String::from_utf8(writer.into_inner()).unwrap_or_default();
    out.push('\n');
    out
}

fn write_document(w: &mut Writer<Vec<u8>>, name: &str, suites: &[Suite]) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let sum = |f: &dyn Fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>().to_string();
    let total: Duration = suites.iter().map(Suite::time).sum();
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", xml(name).as_ref()));
    root.push_attribute(("tests", sum(&|s| s.cases.len()).as_str()));
    root.push_attribute(("failures", sum(&|s| s.count("failure")).as_str()));
    root.push_attribute(("errors", sum(&|s| s.count("error")).as_str()));
    root.push_attribute(("time", seconds(total).as_str()));
    w.write_event(Event::Start(root))?;
    for suite in suites {
        write_suite(w, suite)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))
}

fn write_suite(w: &mut Writer<Vec<u8>>, suite: &Suite) -> io::Result<()> {
    let mut start = BytesStart::new("testsuite");
    start.push_attribute(("name", xml(&suite.name).as_ref()));
    start.push_attribute(("tests", suite.cases.len().to_string().as_str()));
    start.push_attribute(("failures", suite.count("failure").to_string().as_str()));
    start.push_attribute(("errors", suite.count("error").to_string().as_str()));
    start.push_attribute(("skipped", suite.count("skipped").to_string().as_str()));
    start.push_attribute(("time", seconds(suite.time()).as_str()));
    // ISO 8601 without a zone, as Ant's JUnit writes it; always UTC.
    let timestamp = suite.timestamp.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    start.push_attribute(("timestamp", timestamp.as_str()));
    w.write_event(Event::Start(start))?;
    for case in &suite.cases {
        write_case(w, case)?;
    }
    if let Some(out) = &suite.system_out {
        text_element(w, "system-out", out)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))
}

fn write_case(w: &mut Writer<Vec<u8>>, case: &Case) -> io::Result<()> {
    let mut start = BytesStart::new("testcase");
    start.push_attribute(("name", xml(&case.name).as_ref()));
    start.push_attribute(("classname", xml(&case.classname).as_ref()));
    if let Some(time) = case.time {
        start.push_attribute(("time", seconds(time).as_str()));
    }
    if case.result.is_none() && case.system_out.is_none() {
        return w.write_event(Event::Empty(start));
    }
    w.write_event(Event::Start(start))?;
    if let Some(issue) = &case.result {
        let mut el = BytesStart::new(issue.element);
        el.push_attribute(("message", xml(&issue.message).as_ref()));
        if let Some(kind) = issue.kind {
            el.push_attribute(("type", kind));
        }
        w.write_event(Event::Start(el))?;
        w.write_event(Event::Text(BytesText::new(&xml(&issue.text))))?;
        w.write_event(Event::End(BytesEnd::new(issue.element)))?;
    }
    if let Some(out) = &case.system_out {
        text_element(w, "system-out", out)?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(&xml(text))))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// Seconds with at most three decimals, as the schema's `SUREFIRE_TIME` allows.
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn suite(tc: &TestcaseVerdict, cni_warning: Option<&str>, at: Timestamp) -> Suite {
    let mut cases = Vec::with_capacity(tc.tests.len() + 1);
    let has_failing_spec = tc.tests.iter().any(|t| t.outcome == Outcome::Failed);
    let summary = verdict_text(tc, cni_warning);
    if tc.verdict != Verdict::Pass && !has_failing_spec {
        cases.push(verdict_case(tc, &summary));
    }
    for t in &tc.tests {
        let waiver = t
            .waiver
            .as_deref()
            .and_then(|id| tc.waivers.iter().find(|w| w.id == id));
        let result = match t.outcome {
            Outcome::Passed | Outcome::WaivedButPassed => None,
            Outcome::Failed => {
                let text = t.message.as_deref().unwrap_or("failed");
                Some(Issue {
                    element: "failure",
                    kind: None,
                    message: clip(failure_headline(text), MAX_MESSAGE_CHARS),
                    text: truncate(text, MAX_FAILURE_TEXT),
                })
            }
            Outcome::Waived | Outcome::WaivedNotRun => {
                Some(skipped(waiver_text(t.outcome, waiver)))
            }
            Outcome::SkippedAtRuntime => Some(skipped(format!(
                "selected, but skipped at runtime: {}",
                t.message.as_deref().unwrap_or("no reason given")
            ))),
            Outcome::NotRun => Some(skipped(match t.message.as_deref() {
                Some(why) => format!("selected, but not run: {why}"),
                None => "selected, but not run".to_string(),
            })),
        };
        let system_out = (t.outcome == Outcome::WaivedButPassed).then(|| {
            format!(
                "passed although {} applies: the waiver may be stale",
                waiver_text(t.outcome, waiver)
            )
        });
        cases.push(Case {
            name: t.name.clone(),
            classname: tc.module.clone(),
            time: t
                .duration_seconds
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64),
            result,
            system_out,
        });
    }
    Suite {
        name: tc.id.clone(),
        timestamp: at,
        cases,
        system_out: Some(summary),
    }
}

/// The verdict, its reason, a native check's findings and the warnings (facts that kept CNI
/// waivers from applying, old evidence).
fn verdict_text(tc: &TestcaseVerdict, cni_warning: Option<&str>) -> String {
    let mut out = format!("{}: {}", tc.verdict.as_str(), tc.reason);
    for f in &tc.findings {
        out.push_str("\nfinding: ");
        out.push_str(f);
    }
    for w in cni_warning
        .into_iter()
        .chain(tc.warnings.iter().map(String::as_str))
    {
        out.push_str("\nwarning: ");
        out.push_str(w);
    }
    out
}

/// The synthetic testcase for a verdict that no spec carries. `type` is the verdict, `message`
/// the reason, so reporters that join them show `ABORT: <reason>`.
fn verdict_case(tc: &TestcaseVerdict, summary: &str) -> Case {
    let (element, kind) = match tc.verdict {
        Verdict::Fail => ("failure", "FAIL"),
        Verdict::Abort => ("error", "ABORT"),
        Verdict::Missing | Verdict::Pass => ("error", "MISSING"),
    };
    Case {
        name: format!("{} verdict", tc.id),
        classname: tc.module.clone(),
        time: None,
        result: Some(Issue {
            element,
            kind: Some(kind),
            message: clip(&tc.reason, MAX_MESSAGE_CHARS),
            text: summary.to_string(),
        }),
        system_out: None,
    }
}

/// `<skipped>` with the reason as `message` and as text (for GitLab, see [`Issue`]).
fn skipped(message: String) -> Issue {
    Issue {
        element: "skipped",
        kind: None,
        text: message.clone(),
        message,
    }
}

fn waiver_text(outcome: Outcome, waiver: Option<&WaiverUse>) -> String {
    let verb = match outcome {
        Outcome::Waived => "failed, waived",
        Outcome::WaivedNotRun => "not run, waived",
        _ => "waiver",
    };
    match waiver {
        Some(w) => {
            let link = w
                .tracking
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            format!("{verb} by {}: {}{link}", w.id, w.reason)
        }
        None => verb.to_string(),
    }
}

fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[… truncated]", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_or_failed_element_always_has_text() {
        let s = skipped("selected, but not run".into());
        assert_eq!(s.text, s.message);
        assert!(!s.text.is_empty());
    }

    #[test]
    fn times_have_at_most_three_decimals() {
        assert_eq!(seconds(Duration::from_secs_f64(8.25)), "8.250");
        assert_eq!(seconds(Duration::from_secs_f64(1.0 / 3.0)), "0.333");
    }
}
