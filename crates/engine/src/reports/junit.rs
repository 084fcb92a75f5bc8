//! `junit.xml` for CI test reporters (GitHub's mikepenz/action-junit-report, dorny/test-reporter,
//! Zuul artifact viewers).
//!
//! One `<testsuite>` per SCS test case. Its first `<testcase>` carries the test case's verdict, so
//! a reporter that fails on failures/errors also fails on FAIL, ABORT and MISSING; then one
//! `<testcase>` per selected e2e test with the SIG as `classname`. Waived tests are `<skipped>`
//! with the waiver's reason and link.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::definitions::testname;
use crate::reports::escape::xml;
use crate::reports::{ErrorRecord, clip};
use crate::verdict::certify::Certification;
use crate::verdict::{Outcome, TestcaseVerdict, Verdict, WaiverUse};

/// Longest failure text kept per test; e2e failure bodies can carry whole timelines.
const MAX_FAILURE_TEXT: usize = 64 * 1024;

/// Renders the JUnit document. Every text from evidence goes through [`xml`], so the document
/// stays well-formed XML 1.0 whatever a spec name contains.
pub fn render(cert: &Certification) -> String {
    let mut report = Report::new(xml(&format!("scs-conformance {}", cert.target.id)));
    set_timestamp(&mut report, cert.generated_at);
    for tc in cert.testcases() {
        report.add_test_suite(suite(tc, cert.cluster.cni.warning.as_deref()));
    }
    serialise(&report)
}

/// The ABORT record as JUnit: one errored test case, so reporters fail the job.
pub fn render_error(record: &ErrorRecord) -> String {
    let mut report = Report::new(format!("scs-conformance {}", record.command));
    set_timestamp(&mut report, record.generated_at);
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status
        .set_message(xml(&format!("ABORT: {}", clip(&record.error, 300))).into_owned())
        .set_type("ABORT")
        .set_description(xml(&record.error).into_owned());
    let mut case = TestCase::new(format!("scs-conformance {}", record.command), status);
    case.set_classname("scs-conformance");
    let mut suite = TestSuite::new("scs-conformance");
    suite.add_test_case(case);
    report.add_test_suite(suite);
    serialise(&report)
}

/// quick-junit takes chrono's type, the one place chrono is still named (it comes with
/// quick-junit; our own times are jiff's, the time crate kube already brings).
fn set_timestamp(report: &mut Report, at: jiff::Timestamp) {
    let nanos = u32::try_from(at.subsec_nanosecond()).unwrap_or(0);
    if let Some(t) = chrono::DateTime::from_timestamp(at.as_second(), nanos) {
        report.set_timestamp(t);
    }
}

fn serialise(report: &Report) -> String {
    // Serialising in-memory data into a String does not fail; if it ever did, an empty
    // junit.xml is not well-formed and CI reporters fail loudly.
    report.to_string().unwrap_or_default()
}

fn suite(tc: &TestcaseVerdict, cni_warning: Option<&str>) -> TestSuite {
    let mut suite = TestSuite::new(tc.id.as_str());
    let mut total = Duration::ZERO;
    suite.add_test_case(verdict_case(tc, cni_warning));
    for t in &tc.tests {
        let waiver = t
            .waiver
            .as_deref()
            .and_then(|id| tc.waivers.iter().find(|w| w.id == id));
        let status = match t.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::WaivedButPassed => TestCaseStatus::success(),
            Outcome::Failed => {
                let message = t.message.as_deref().unwrap_or("failed");
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(xml(&clip(message, 300)).into_owned())
                    .set_type("failed")
                    .set_description(xml(&truncate(message, MAX_FAILURE_TEXT)).into_owned());
                s
            }
            Outcome::Waived | Outcome::WaivedNotRun => skipped(&waiver_text(t.outcome, waiver)),
            Outcome::SkippedAtRuntime => skipped(&format!(
                "selected, but skipped at runtime: {}",
                t.message.as_deref().unwrap_or("no reason given")
            )),
            Outcome::NotRun => skipped("selected, but not run"),
        };
        let mut case = TestCase::new(xml(&t.name).into_owned(), status);
        case.set_classname(xml(testname::sig(&t.name).unwrap_or("e2e")).into_owned());
        if let Some(secs) = t.duration_seconds.filter(|s| s.is_finite() && *s >= 0.0) {
            let d = Duration::from_secs_f64(secs);
            total += d;
            case.set_time(d);
        }
        if t.outcome == Outcome::WaivedButPassed {
            case.set_system_out(
                xml(&format!(
                    "passed although {} applies: the waiver may be stale",
                    waiver_text(t.outcome, waiver)
                ))
                .into_owned(),
            );
        }
        suite.add_test_case(case);
    }
    suite.set_time(total);
    suite
}

/// The synthetic testcase that carries the SCS verdict of the whole test case, and the warnings
/// about it (facts that kept CNI waivers from applying, old evidence).
fn verdict_case(tc: &TestcaseVerdict, cni_warning: Option<&str>) -> TestCase {
    let reason = xml(&tc.reason);
    let status = match tc.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("FAIL: {reason}")).set_type("FAIL");
            s
        }
        Verdict::Abort | Verdict::Missing => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("{}: {reason}", tc.verdict.as_str()))
                .set_type(tc.verdict.as_str());
            s
        }
    };
    let mut case = TestCase::new(format!("{} verdict", tc.id), status);
    case.set_classname("scs-conformance");
    let mut out = format!("{}: {reason}", tc.verdict.as_str());
    for w in cni_warning
        .into_iter()
        .chain(tc.warnings.iter().map(String::as_str))
    {
        out.push_str("\nwarning: ");
        out.push_str(&xml(w));
    }
    case.set_system_out(out);
    case
}

fn skipped(message: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::skipped();
    s.set_message(xml(message).into_owned());
    s
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
