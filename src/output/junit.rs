//! `junit.xml` for CI test reporters (GitHub's mikepenz/action-junit-report, dorny/test-reporter,
//! Zuul artifact viewers).
//!
//! One `<testsuite>` per SCS test case. Its first `<testcase>` carries the test case's verdict, so
//! a reporter that fails on failures/errors also fails on FAIL, ABORT and MISSING; then one
//! `<testcase>` per selected e2e test with the SIG as `classname`. Waived tests are `<skipped>`
//! with the waiver's reason and link.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::certify::Certification;
use crate::output::clip;
use crate::testname;
use crate::verdict::{Outcome, TestcaseVerdict, Verdict, WaiverUse};

/// Longest failure text kept per test; e2e failure bodies can carry whole timelines.
const MAX_FAILURE_TEXT: usize = 64 * 1024;

/// Renders the JUnit document.
pub fn render(cert: &Certification) -> String {
    let mut report = Report::new(format!("scs-conformance {}", cert.target.id));
    report.set_timestamp(cert.generated_at);
    for tc in cert.testcases() {
        report.add_test_suite(suite(tc));
    }
    report
        .to_string()
        .expect("quick-junit serialises in-memory data")
}

fn suite(tc: &TestcaseVerdict) -> TestSuite {
    let mut suite = TestSuite::new(tc.id.as_str());
    let mut total = Duration::ZERO;
    suite.add_test_case(verdict_case(tc));
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
                s.set_message(clip(message, 300))
                    .set_type("failed")
                    .set_description(truncate(message, MAX_FAILURE_TEXT));
                s
            }
            Outcome::Waived | Outcome::WaivedNotRun => skipped(&waiver_text(t.outcome, waiver)),
            Outcome::SkippedAtRuntime => skipped(&format!(
                "selected, but skipped at runtime: {}",
                t.message.as_deref().unwrap_or("no reason given")
            )),
            Outcome::NotRun => skipped("selected, but not run"),
        };
        let mut case = TestCase::new(t.name.as_str(), status);
        case.set_classname(testname::sig(&t.name).unwrap_or("e2e"));
        if let Some(secs) = t.duration_seconds.filter(|s| s.is_finite() && *s >= 0.0) {
            let d = Duration::from_secs_f64(secs);
            total += d;
            case.set_time(d);
        }
        if t.outcome == Outcome::WaivedButPassed {
            case.set_system_out(format!(
                "passed although {} applies: the waiver may be stale",
                waiver_text(t.outcome, waiver)
            ));
        }
        suite.add_test_case(case);
    }
    suite.set_time(total);
    suite
}

/// The synthetic testcase that carries the SCS verdict of the whole test case.
fn verdict_case(tc: &TestcaseVerdict) -> TestCase {
    let status = match tc.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("FAIL: {}", tc.reason))
                .set_type("FAIL");
            s
        }
        Verdict::Abort | Verdict::Missing => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("{}: {}", tc.verdict.as_str(), tc.reason))
                .set_type(tc.verdict.as_str());
            s
        }
    };
    let mut case = TestCase::new(format!("{} verdict", tc.id), status);
    case.set_classname("scs-conformance");
    case.set_system_out(format!("{}: {}", tc.verdict.as_str(), tc.reason));
    case
}

fn skipped(message: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::skipped();
    s.set_message(message.to_string());
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
