//! Reading the Kubernetes e2e JUnit report (`junit_01.xml`).
//!
//! Both report generations are read:
//! - Ginkgo v2 (Kubernetes 1.25+): `status` attribute, `[It] ` name prefix, four suite
//!   bookkeeping testcases, `<skipped message="skipped">` for specs the focus did not select and
//!   `"skipped - <reason>"` for specs skipped at runtime.
//! - Ginkgo v1: no `status`, no prefix, no suite nodes, a bare `<skipped/>`.
//!
//! The parser streams the document (a 2.3 MB report has ~6,700 testcases) and keeps only what a
//! verdict needs: names, results, durations and failure messages.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::testname;

/// Which Ginkgo generation wrote the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GinkgoFormat {
    V1,
    V2,
}

/// One spec of the e2e suite as the report records it.
#[derive(Debug, Clone, PartialEq)]
pub struct E2eTest {
    /// Spec text without the `[It] ` prefix, exactly as focus/skip see it.
    pub name: String,
    pub result: TestResult,
    /// Seconds, when the report gives them.
    pub duration: Option<f64>,
}

/// What happened to a spec.
#[derive(Debug, Clone, PartialEq)]
pub enum TestResult {
    Passed,
    Failed { kind: FailureKind, message: String },
    Skipped(Skip),
}

/// How a spec failed (Ginkgo's `failed`, `timedout`, … states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    Failed,
    TimedOut,
    Aborted,
    Interrupted,
    Panicked,
    /// A JUnit `<error>` of an unknown type.
    Error,
}

/// Why a spec did not run.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    /// Ginkgo v2 `skipped`: the run's focus/skip did not select it.
    NotSelected,
    /// Ginkgo v2 `skipped - <reason>`: selected, then skipped by the test itself.
    AtRuntime { reason: String },
    /// Marked pending in the suite.
    Pending,
    /// Ginkgo v1 `<skipped/>`: the report does not say which of the above it was.
    Unspecified,
}

/// A parsed e2e report.
#[derive(Debug, Clone)]
pub struct E2eReport {
    pub format: GinkgoFormat,
    pub tests: Vec<E2eTest>,
}

/// Why a JUnit document could not be read. Positions are 1-based lines of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JunitError {
    /// Not well-formed XML (including a document that ends in the middle of an element).
    Malformed { line: usize, message: String },
    /// Well-formed, but not a JUnit report.
    NotJunit { line: usize, message: String },
    /// A JUnit report without a single testcase: nothing can be judged from it.
    NoTestcases,
}

impl fmt::Display for JunitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { line, message } => write!(f, "line {line}: malformed XML: {message}"),
            Self::NotJunit { line, message } => {
                write!(f, "line {line}: not a JUnit report: {message}")
            }
            Self::NoTestcases => write!(f, "the JUnit report contains no <testcase>"),
        }
    }
}

impl std::error::Error for JunitError {}

/// Parses an e2e JUnit document.
pub fn parse(xml: &[u8]) -> Result<E2eReport, JunitError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let line_at = |pos: u64| line_of(xml, pos);

    let mut tests = Vec::new();
    let mut saw_v2_marker = false;
    let mut saw_root = false;
    // Element stack depth, to detect a document that ends inside an element.
    let mut open: Vec<Element> = Vec::new();
    let mut current: Option<Pending> = None;
    // Text of the <failure>/<error> element being read, if any.
    let mut capture: Option<String> = None;

    loop {
        let event = reader.read_event().map_err(|e| JunitError::Malformed {
            line: line_at(reader.error_position()),
            message: e.to_string(),
        })?;
        let pos = reader.buffer_position();
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let name = local.as_ref();
                if !saw_root {
                    if name != b"testsuites" && name != b"testsuite" {
                        return Err(JunitError::NotJunit {
                            line: line_at(pos),
                            message: format!(
                                "root element is <{}>, expected <testsuites> or <testsuite>",
                                String::from_utf8_lossy(name)
                            ),
                        });
                    }
                    saw_root = true;
                }
                match name {
                    b"testcase" => {
                        let tc =
                            Pending::from_start(e).map_err(|message| JunitError::NotJunit {
                                line: line_at(pos),
                                message,
                            })?;
                        saw_v2_marker |= tc.status.is_some();
                        if is_empty {
                            push_test(&mut tests, tc, &mut saw_v2_marker);
                        } else {
                            current = Some(tc);
                        }
                    }
                    b"failure" | b"error" | b"skipped" => {
                        if let Some(tc) = current.as_mut() {
                            tc.child_start(name, e);
                            if !is_empty && name != b"skipped" {
                                capture = Some(String::new());
                            }
                        }
                    }
                    _ => {}
                }
                if !is_empty {
                    open.push(Element::of(name));
                }
            }
            Event::End(ref e) => {
                open.pop();
                match e.local_name().as_ref() {
                    b"testcase" => {
                        if let Some(tc) = current.take() {
                            push_test(&mut tests, tc, &mut saw_v2_marker);
                        }
                    }
                    b"failure" | b"error" => {
                        if let (Some(text), Some(tc)) = (capture.take(), current.as_mut()) {
                            tc.body.push_str(text.trim());
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(ref t) => {
                if let Some(text) = capture.as_mut() {
                    text.push_str(&t.xml10_content().unwrap_or_default());
                }
            }
            Event::CData(ref t) => {
                if let Some(text) = capture.as_mut() {
                    text.push_str(&t.decode().unwrap_or_default());
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(text) = capture.as_mut() {
                    let name = r.decode().unwrap_or_default();
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => text.push(c),
                        _ => text
                            .push_str(quick_xml::escape::resolve_xml_entity(&name).unwrap_or("")),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }

    if let Some(unclosed) = open.last() {
        return Err(JunitError::Malformed {
            line: line_at(xml.len() as u64),
            message: format!(
                "document ends inside <{}>: the file is truncated",
                unclosed.name()
            ),
        });
    }
    if !saw_root {
        return Err(JunitError::NotJunit {
            line: 1,
            message: "no root element".into(),
        });
    }
    if tests.is_empty() {
        return Err(JunitError::NoTestcases);
    }
    let format = if saw_v2_marker {
        GinkgoFormat::V2
    } else {
        GinkgoFormat::V1
    };
    if format == GinkgoFormat::V1 {
        // v1 cannot tell "not selected" from "skipped at runtime".
        for t in &mut tests {
            if let TestResult::Skipped(skip @ Skip::NotSelected) = &mut t.result {
                *skip = Skip::Unspecified;
            }
        }
    }
    Ok(E2eReport { format, tests })
}

/// An open element, for the message about a truncated document (without allocating per element).
#[derive(Clone, Copy)]
enum Element {
    Testsuites,
    Testsuite,
    Testcase,
    Failure,
    Error,
    Skipped,
    SystemOut,
    SystemErr,
    Properties,
    Other,
}

impl Element {
    fn of(name: &[u8]) -> Self {
        match name {
            b"testsuites" => Self::Testsuites,
            b"testsuite" => Self::Testsuite,
            b"testcase" => Self::Testcase,
            b"failure" => Self::Failure,
            b"error" => Self::Error,
            b"skipped" => Self::Skipped,
            b"system-out" => Self::SystemOut,
            b"system-err" => Self::SystemErr,
            b"properties" => Self::Properties,
            _ => Self::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Testsuites => "testsuites",
            Self::Testsuite => "testsuite",
            Self::Testcase => "testcase",
            Self::Failure => "failure",
            Self::Error => "error",
            Self::Skipped => "skipped",
            Self::SystemOut => "system-out",
            Self::SystemErr => "system-err",
            Self::Properties => "properties",
            Self::Other => "an element",
        }
    }
}

/// A testcase whose children are still being read.
struct Pending {
    name: String,
    status: Option<String>,
    duration: Option<f64>,
    failure_kind: Option<FailureKind>,
    message_attr: String,
    body: String,
    skipped: Option<String>,
}

impl Pending {
    fn from_start(e: &BytesStart<'_>) -> Result<Self, String> {
        let mut name = None;
        let mut status = None;
        let mut duration = None;
        for attr in e.attributes() {
            let attr = attr.map_err(|err| format!("bad attribute in <testcase>: {err}"))?;
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| format!("bad attribute value in <testcase>: {err}"))?;
            match attr.key.local_name().as_ref() {
                b"name" => name = Some(value.into_owned()),
                b"status" => status = Some(value.into_owned()),
                b"time" => duration = value.trim().parse::<f64>().ok(),
                _ => {}
            }
        }
        let name = name.ok_or_else(|| "a <testcase> has no name attribute".to_string())?;
        Ok(Self {
            name,
            status,
            duration,
            failure_kind: None,
            message_attr: String::new(),
            body: String::new(),
            skipped: None,
        })
    }

    fn child_start(&mut self, element: &[u8], e: &BytesStart<'_>) {
        let attr = |key: &[u8]| {
            e.attributes()
                .flatten()
                .find(|a| a.key.local_name().as_ref() == key)
                .and_then(|a| {
                    a.normalized_value(XmlVersion::Implicit1_0)
                        .ok()
                        .map(|v| v.into_owned())
                })
        };
        match element {
            b"skipped" => self.skipped = Some(attr(b"message").unwrap_or_default()),
            b"failure" | b"error" => {
                let ty = attr(b"type").unwrap_or_default();
                self.failure_kind = Some(match (element, ty.as_str()) {
                    (_, "timedout") => FailureKind::TimedOut,
                    (_, "aborted") => FailureKind::Aborted,
                    (_, "interrupted") => FailureKind::Interrupted,
                    (_, "panicked") => FailureKind::Panicked,
                    (b"failure", _) => FailureKind::Failed,
                    _ => FailureKind::Error,
                });
                self.message_attr = attr(b"message").unwrap_or_default();
            }
            _ => {}
        }
    }

    fn finish(self) -> E2eTest {
        // Sonobuoy's order: <skipped> wins, then <failure>/<error>, else passed. The `status`
        // attribute only refines skip reasons.
        let result = if let Some(message) = self.skipped {
            TestResult::Skipped(classify_skip(self.status.as_deref(), &message))
        } else if let Some(kind) = self.failure_kind {
            let message = match (self.message_attr.trim(), self.body.trim()) {
                ("", body) => body.to_string(),
                (attr, "") => attr.to_string(),
                (attr, body) => format!("{attr}\n{body}"),
            };
            TestResult::Failed { kind, message }
        } else {
            TestResult::Passed
        };
        let mut name = self.name;
        let start = name.len() - testname::spec_text(&name).len() - trailing_ws(&name);
        name.truncate(name.trim_end().len());
        name.drain(..start);
        E2eTest {
            name,
            result,
            duration: self.duration,
        }
    }
}

fn classify_skip(status: Option<&str>, message: &str) -> Skip {
    let message = message.trim();
    if status == Some("pending") || message == "pending" {
        Skip::Pending
    } else if let Some(reason) = message.strip_prefix("skipped - ") {
        Skip::AtRuntime {
            reason: reason.trim().to_string(),
        }
    } else if message == "skipped" || message.is_empty() {
        Skip::NotSelected
    } else {
        // Any other explanation means the spec itself decided to skip.
        Skip::AtRuntime {
            reason: message.to_string(),
        }
    }
}

fn push_test(tests: &mut Vec<E2eTest>, tc: Pending, saw_v2_marker: &mut bool) {
    if testname::is_suite_node(&tc.name) {
        *saw_v2_marker = true;
        return;
    }
    if tc.name.trim_start().starts_with("[It] ") {
        *saw_v2_marker = true;
    }
    tests.push(tc.finish());
}

fn trailing_ws(s: &str) -> usize {
    s.len() - s.trim_end().len()
}

fn line_of(xml: &[u8], pos: u64) -> usize {
    let end = (pos as usize).min(xml.len());
    xml[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="6" disabled="2" errors="0" failures="1">
  <testsuite name="Kubernetes e2e suite" tests="6">
    <testcase name="[ReportBeforeSuite]" classname="Kubernetes e2e suite" status="passed" time="0.01"></testcase>
    <testcase name="[It] [sig-network] Netpol API should support creating NetworkPolicy API operations" classname="Kubernetes e2e suite" status="passed" time="1.5"></testcase>
    <testcase name="[It] [sig-network] Netpol NetworkPolicy between server and client should support a &#39;default-deny-all&#39; policy [Feature:NetworkPolicy]" classname="Kubernetes e2e suite" status="failed" time="30">
      <failure message="" type="failed">[FAILED] Had 1 wrong results in reachability matrix&#xA;In [It] at: x.go:1</failure>
      <system-err>timeline</system-err>
    </testcase>
    <testcase name="[It] [sig-node] skipped at runtime" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped - Only supported for node OS distro [gci ubuntu]"></skipped></testcase>
    <testcase name="[It] [sig-node] not selected" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[SynchronizedAfterSuite]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>
  </testsuite>
</testsuites>"#;

    #[test]
    fn ginkgo_v2_report_keeps_outcomes_and_drops_suite_nodes() {
        let report = parse(V2.as_bytes()).unwrap();
        assert_eq!(report.format, GinkgoFormat::V2);
        let names: Vec<_> = report.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), 4);
        assert!(
            names
                .iter()
                .all(|n| !n.starts_with("[It]") && !n.contains("Suite]"))
        );
        assert_eq!(report.tests[0].result, TestResult::Passed);
        assert_eq!(report.tests[0].duration, Some(1.5));
        assert!(report.tests[1].name.contains("'default-deny-all'"));
        match &report.tests[1].result {
            TestResult::Failed { kind, message } => {
                assert_eq!(*kind, FailureKind::Failed);
                assert!(
                    message.starts_with("[FAILED] Had 1 wrong results"),
                    "{message}"
                );
            }
            other => panic!("expected failure, got {other:?}"),
        }
        assert_eq!(
            report.tests[2].result,
            TestResult::Skipped(Skip::AtRuntime {
                reason: "Only supported for node OS distro [gci ubuntu]".into()
            })
        );
        assert_eq!(
            report.tests[3].result,
            TestResult::Skipped(Skip::NotSelected)
        );
    }

    #[test]
    fn ginkgo_v1_report_is_recognised() {
        let xml = r#"<testsuite name="Kubernetes e2e suite" tests="2" failures="1" errors="0">
  <testcase name="[sig-apps] Daemon set [Serial] should rollback [Conformance]" classname="Kubernetes e2e suite" time="12.5">
    <failure type="Failure">Conformance test suite needs a cluster with at least 2 nodes.</failure>
    <system-out>log</system-out>
  </testcase>
  <testcase name="[sig-node] Pods should be submitted and removed" classname="Kubernetes e2e suite" time="3"></testcase>
  <testcase name="[sig-node] other" classname="Kubernetes e2e suite" time="0"><skipped></skipped></testcase>
</testsuite>"#;
        let report = parse(xml.as_bytes()).unwrap();
        assert_eq!(report.format, GinkgoFormat::V1);
        assert!(
            matches!(&report.tests[0].result, TestResult::Failed { message, .. } if message.contains("at least 2 nodes"))
        );
        assert_eq!(report.tests[1].result, TestResult::Passed);
        assert_eq!(
            report.tests[2].result,
            TestResult::Skipped(Skip::Unspecified)
        );
    }

    #[test]
    fn truncated_report_is_an_error_with_a_line() {
        let cut = &V2[..V2.find("<system-err>").unwrap()];
        let err = parse(cut.as_bytes()).unwrap_err();
        assert!(
            matches!(err, JunitError::Malformed { line: 8, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn mismatched_tags_are_malformed() {
        let err = parse(b"<testsuite>\n<testcase name=\"a\"></testsuite>").unwrap_err();
        assert!(
            matches!(err, JunitError::Malformed { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn other_xml_is_not_junit() {
        let err = parse(b"<html><body/></html>").unwrap_err();
        assert!(matches!(err, JunitError::NotJunit { .. }), "{err:?}");
        assert_eq!(
            parse(b"<testsuites></testsuites>").unwrap_err(),
            JunitError::NoTestcases
        );
        assert!(matches!(
            parse(b"").unwrap_err(),
            JunitError::NotJunit { .. }
        ));
    }
}
