//! Reading the Kubernetes e2e JUnit report (`junit_01.xml`).
//!
//! Both report generations are read:
//! - Ginkgo v2 (Kubernetes 1.25+): `status` attribute, `[It] ` name prefix, four suite
//!   bookkeeping testcases, `<skipped message="skipped">` for specs the focus did not select and
//!   `"skipped - <reason>"` for specs skipped at runtime.
//! - Ginkgo v1: no `status`, no prefix, no suite nodes (a failed `BeforeSuite`/`AfterSuite` is a
//!   testcase of that name), a bare `<skipped/>`, and one testcase per attempt of a flaky spec.
//!
//! The parser streams the document from any reader (a 2.3 MB report has ~6,700 testcases) and
//! keeps only what a verdict needs: names, results, durations and (capped) failure messages.
//! Memory is bounded by [`ReadLimits`]. It also checks the document against itself: the totals
//! each `<testsuite>` declares must match the testcases read, and `SuiteSucceeded=false` must be
//! explained by a failure. Disagreements do not stop the reading; they are recorded in
//! [`E2eReport::discrepancies`] so that no verdict on the report can be PASS.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::definitions::testname;

/// Which Ginkgo generation wrote the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GinkgoFormat {
    V1,
    #[default]
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
    /// Passed on its last attempt after failing the earlier ones (Ginkgo v1 `--flakeAttempts`
    /// lists every attempt). `message` is the first failure.
    Flaky {
        attempts: u32,
        message: String,
    },
    Failed {
        kind: FailureKind,
        message: String,
    },
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
    /// A JUnit `<error>` of an unknown type, or an unknown `status`.
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

/// A parsed e2e report (one JUnit file, or several merged).
#[derive(Debug, Clone, Default)]
pub struct E2eReport {
    pub format: GinkgoFormat,
    pub tests: Vec<E2eTest>,
    /// Suite nodes (`[SynchronizedBeforeSuite]`, `[SynchronizedAfterSuite]`, v1 `AfterSuite`, …)
    /// that did not pass: the run as a whole failed.
    pub suite_failures: Vec<E2eTest>,
    /// Why the report cannot be trusted to be complete (totals that disagree with the testcases,
    /// a suite that says it failed without a failed testcase, logs that disagree). Each names its
    /// source. Any of them keeps a verdict on this report from being PASS.
    pub discrepancies: Vec<String>,
}

/// One JUnit document as read, with the counts other sources are checked against.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub report: E2eReport,
    /// Testcases (suite nodes included) counted the way Sonobuoy counts them: `<skipped>` is
    /// skipped, else `<failure>`/`<error>` is failed, else passed.
    pub raw: RawCounts,
}

/// Testcase counts by Sonobuoy's rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawCounts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// Bounds on one document, so a hostile or broken file cannot exhaust memory.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Bytes of (decompressed) XML.
    pub max_bytes: u64,
    /// Testcases per document.
    pub max_testcases: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        // A full v1.33 report is 2.3 MB with 6,735 testcases, the largest suite (1.36) has
        // 7,579 specs: 100x headroom in bytes, 13x in testcases (Ginkgo v1 lists every flake
        // attempt, so a report can have a few times as many testcases as specs).
        ReadLimits {
            max_bytes: 256 << 20,
            max_testcases: 100_000,
        }
    }
}

/// Longest failure text kept per testcase; e2e failure bodies can carry whole timelines.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Failure text kept for the whole document: once spent, each further message keeps only its
/// first [`MAX_MESSAGE_BYTES_OVER_BUDGET`] bytes, so memory and outputs stay bounded even when
/// every one of [`ReadLimits::max_testcases`] testcases failed with a long text.
const MESSAGE_BUDGET_BYTES: usize = 16 << 20;
const MAX_MESSAGE_BYTES_OVER_BUDGET: usize = 256;
/// Appended where a failure text was cut.
const CUT_MARK: &str = "\n[… cut: see the e2e report for the whole text]";
/// Longest accepted spec name. The e2e suite's longest is under 500 bytes; a name is an identity
/// and cannot be cut, so a longer one is refused rather than copied into every output.
pub const MAX_NAME_BYTES: usize = 16 * 1024;
/// Longest accepted testcase duration (a bit over 11 days); more is not a real measurement, and
/// summing such values would overflow a `Duration`.
pub const MAX_TEST_SECONDS: f64 = 1e6;

/// Why a JUnit document could not be read. Positions are 1-based lines of the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JunitError {
    /// Not well-formed XML (including a document that ends in the middle of an element).
    #[error("line {line}: malformed XML: {message}")]
    Malformed { line: u64, message: String },
    /// Well-formed, but not a JUnit report.
    #[error("line {line}: not a JUnit report: {message}")]
    NotJunit { line: u64, message: String },
    /// A JUnit report without a single testcase: nothing can be judged from it.
    #[error("the JUnit report contains no <testcase>")]
    NoTestcases,
    #[error("more than {max} bytes of XML: refused (see docs/reliability.md)")]
    TooLarge { max: u64 },
    #[error("more than {max} testcases: refused (see docs/reliability.md)")]
    TooManyTestcases { max: usize },
    #[error(
        "line {line}: a testcase name of {len} bytes, more than {max}: refused (see docs/reliability.md)"
    )]
    NameTooLong { line: u64, len: usize, max: usize },
    /// The bytes could not be read (e.g. a corrupt gzip stream).
    #[error("cannot read: {message}")]
    Read { message: String },
}

/// Parses an e2e JUnit document held in memory.
pub fn parse(xml: &[u8]) -> Result<E2eReport, JunitError> {
    read(xml, ReadLimits::default()).map(|p| p.report)
}

/// Reads an e2e JUnit document from a stream, within `limits`.
pub fn read<R: Read>(input: R, limits: ReadLimits) -> Result<Parsed, JunitError> {
    let capped = Capped {
        inner: input,
        left: limits.max_bytes,
    };
    let mut reader = Reader::from_reader(LineCounter::new(BufReader::with_capacity(
        64 * 1024,
        capped,
    )));
    reader.config_mut().check_end_names = true;
    let mut st = State::default();
    let mut buf = Vec::new();

    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => return Err(read_error(&reader, e, limits)),
        };
        let line = || reader.get_ref().line_of(reader.buffer_position());
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let name = local.as_ref();
                if st.open.is_empty() && !st.saw_root {
                    if name != b"testsuites" && name != b"testsuite" {
                        return Err(JunitError::NotJunit {
                            line: line(),
                            message: format!(
                                "root element is <{}>, expected <testsuites> or <testsuite>",
                                String::from_utf8_lossy(name)
                            ),
                        });
                    }
                    st.saw_root = true;
                }
                match name {
                    b"testsuite" => {
                        st.suites.push(SuiteTotals::from_start(e, st.tests.len()));
                        if is_empty {
                            st.end_suite();
                        }
                    }
                    b"testcase" => {
                        if st.testcases >= limits.max_testcases {
                            return Err(JunitError::TooManyTestcases {
                                max: limits.max_testcases,
                            });
                        }
                        st.testcases += 1;
                        let tc = Pending::from_start(e).map_err(|e| JunitError::NotJunit {
                            line: line(),
                            message: e.to_string(),
                        })?;
                        if tc.name.len() > MAX_NAME_BYTES {
                            return Err(JunitError::NameTooLong {
                                line: line(),
                                len: tc.name.len(),
                                max: MAX_NAME_BYTES,
                            });
                        }
                        st.saw_v2_marker |= tc.status.is_some();
                        if is_empty {
                            st.push_test(tc);
                        } else {
                            st.current = Some(tc);
                        }
                    }
                    b"failure" | b"error" | b"skipped" => {
                        if let Some(tc) = st.current.as_mut() {
                            tc.child_start(name, e);
                            if !is_empty && name != b"skipped" {
                                st.capture = Some(String::new());
                            }
                        }
                    }
                    b"property"
                        if st.current.is_none()
                            && matches!(
                                st.open.as_slice(),
                                [.., Element::Testsuite, Element::Properties]
                            ) =>
                    {
                        if let Some(suite) = st.suites.last_mut() {
                            suite.property(e);
                        }
                    }
                    _ => {}
                }
                if !is_empty {
                    st.open.push(Element::of(name));
                }
            }
            Event::End(ref e) => {
                st.open.pop();
                match e.local_name().as_ref() {
                    b"testcase" => {
                        if let Some(tc) = st.current.take() {
                            st.push_test(tc);
                        }
                    }
                    b"testsuite" => st.end_suite(),
                    b"failure" | b"error" => {
                        if let (Some(text), Some(tc)) = (st.capture.take(), st.current.as_mut()) {
                            push_capped(&mut tc.body, text.trim());
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(ref t) => {
                if let Some(text) = st.capture.as_mut() {
                    push_capped(text, &t.xml10_content().unwrap_or_default());
                }
            }
            Event::CData(ref t) => {
                if let Some(text) = st.capture.as_mut() {
                    push_capped(text, &t.decode().unwrap_or_default());
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(text) = st.capture.as_mut() {
                    let name = r.decode().unwrap_or_default();
                    match r.resolve_char_ref() {
                        Ok(Some(c)) if text.len() < MAX_MESSAGE_BYTES => text.push(c),
                        Ok(Some(_)) => {}
                        _ => push_capped(
                            text,
                            quick_xml::escape::resolve_xml_entity(&name).unwrap_or(""),
                        ),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }

    if let Some(unclosed) = st.open.last() {
        return Err(JunitError::Malformed {
            line: reader.get_ref().line_of(reader.buffer_position()),
            message: format!(
                "document ends inside <{}>: the file is truncated",
                unclosed.name()
            ),
        });
    }
    if !st.saw_root {
        return Err(JunitError::NotJunit {
            line: 1,
            message: "no root element".into(),
        });
    }
    st.finish()
}

/// Maps a reader error to ours, with the line where it happened.
fn read_error<R: BufRead>(
    reader: &Reader<LineCounter<R>>,
    e: quick_xml::Error,
    limits: ReadLimits,
) -> JunitError {
    match e {
        quick_xml::Error::Io(io) if io.kind() == io::ErrorKind::FileTooLarge => {
            JunitError::TooLarge {
                max: limits.max_bytes,
            }
        }
        quick_xml::Error::Io(io) => JunitError::Read {
            message: io.to_string(),
        },
        other => JunitError::Malformed {
            line: reader.get_ref().line_of(reader.error_position()),
            message: other.to_string(),
        },
    }
}

/// Everything the parser tracks while streaming.
#[derive(Default)]
struct State {
    tests: Vec<E2eTest>,
    suite_failures: Vec<E2eTest>,
    discrepancies: Vec<String>,
    raw: RawCounts,
    saw_v2_marker: bool,
    saw_root: bool,
    testcases: usize,
    /// Open elements, to detect a document that ends inside one.
    open: Vec<Element>,
    /// Testsuites being read (nested ones are allowed by the format).
    suites: Vec<SuiteTotals>,
    /// Closed testsuites, checked at the end when the format is known.
    closed: Vec<SuiteTotals>,
    current: Option<Pending>,
    /// Text of the `<failure>`/`<error>` element being read, if any.
    capture: Option<String>,
    /// Failure text kept so far (against [`MESSAGE_BUDGET_BYTES`]).
    message_bytes: usize,
}

impl State {
    fn push_test(&mut self, tc: Pending) {
        let raw = tc.raw_class();
        match raw {
            RawClass::Passed => self.raw.passed += 1,
            RawClass::Failed => self.raw.failed += 1,
            RawClass::Skipped => self.raw.skipped += 1,
        }
        if let Some(suite) = self.suites.last_mut() {
            suite.counted.testcases += 1;
            match raw {
                RawClass::Failed => suite.counted.failed += 1,
                RawClass::Skipped => suite.counted.skipped += 1,
                RawClass::Passed => {}
            }
            suite.saw_status |= tc.status.is_some();
        }
        if is_suite_node(&tc.name) {
            self.saw_v2_marker |= testname::is_suite_node(&tc.name);
            let test = tc.finish();
            if matches!(test.result, TestResult::Failed { .. }) {
                if let Some(suite) = self.suites.last_mut() {
                    suite.suite_failures += 1;
                }
                self.suite_failures.push(test);
            }
            return;
        }
        if tc.name.trim_start().starts_with("[It] ") {
            self.saw_v2_marker = true;
        }
        let mut test = tc.finish();
        if let TestResult::Failed { message, .. } = &mut test.result {
            if self.message_bytes >= MESSAGE_BUDGET_BYTES {
                cut(message, MAX_MESSAGE_BYTES_OVER_BUDGET);
            }
            self.message_bytes = self.message_bytes.saturating_add(message.len());
        }
        self.tests.push(test);
    }

    fn end_suite(&mut self) {
        if let Some(mut suite) = self.suites.pop() {
            suite.tests_end = self.tests.len();
            self.closed.push(suite);
        }
    }

    fn finish(mut self) -> Result<Parsed, JunitError> {
        if self.testcases == 0 {
            return Err(JunitError::NoTestcases);
        }
        let format = if self.saw_v2_marker {
            GinkgoFormat::V2
        } else {
            GinkgoFormat::V1
        };
        if format == GinkgoFormat::V1 {
            // v1 cannot tell "not selected" from "skipped at runtime".
            for t in &mut self.tests {
                if let TestResult::Skipped(skip @ Skip::NotSelected) = &mut t.result {
                    *skip = Skip::Unspecified;
                }
            }
        }
        let mut suites = std::mem::take(&mut self.closed);
        suites.sort_by_key(|s| s.tests_start);
        let mut tests = Vec::with_capacity(self.tests.len());
        let mut rest = std::mem::take(&mut self.tests).into_iter();
        let mut taken = 0;
        for suite in &suites {
            // Testcases outside any suite (or of nested suites already taken) pass through.
            if suite.tests_start < taken {
                continue;
            }
            tests.extend(rest.by_ref().take(suite.tests_start - taken));
            let mine: Vec<E2eTest> = rest
                .by_ref()
                .take(suite.tests_end - suite.tests_start)
                .collect();
            taken = suite.tests_end;
            let mine = if format == GinkgoFormat::V1 {
                collapse_flake_retries(mine)
            } else {
                mine
            };
            self.discrepancies.extend(suite.check(format, &mine));
            tests.extend(mine);
        }
        tests.extend(rest);
        Ok(Parsed {
            report: E2eReport {
                format,
                tests,
                suite_failures: self.suite_failures,
                discrepancies: self.discrepancies,
            },
            raw: self.raw,
        })
    }
}

/// Ginkgo v2's bookkeeping nodes, and the testcases Ginkgo v1 writes for a failed
/// `BeforeSuite`/`AfterSuite`.
fn is_suite_node(name: &str) -> bool {
    testname::is_suite_node(name) || matches!(name.trim(), "BeforeSuite" | "AfterSuite")
}

/// Ginkgo v1 `--flakeAttempts` lists every attempt of a spec: failed ones, then the one that
/// passed. Such a run is one spec that passed with a flake mark. Any other repetition (two
/// distinct specs with the same text, which the e2e suite has) is left alone: the verdict then
/// keeps the worst result, and the suite's `failures` total exposes a misread.
fn collapse_flake_retries(tests: Vec<E2eTest>) -> Vec<E2eTest> {
    let mut positions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in tests.iter().enumerate() {
        positions.entry(t.name.as_str()).or_default().push(i);
    }
    let mut drop = vec![false; tests.len()];
    let mut flaky: Vec<(usize, u32, String)> = Vec::new();
    for idx in positions.values().filter(|p| p.len() > 1) {
        let (last, earlier) = match idx.split_last() {
            Some(split) => split,
            None => continue,
        };
        let all_failed_then_pass = tests[*last].result == TestResult::Passed
            && earlier
                .iter()
                .all(|&i| matches!(tests[i].result, TestResult::Failed { .. }));
        if !all_failed_then_pass {
            continue;
        }
        let first = match &tests[idx[0]].result {
            TestResult::Failed { message, .. } => message.clone(),
            _ => String::new(),
        };
        for &i in earlier {
            drop[i] = true;
        }
        let attempts = u32::try_from(idx.len()).unwrap_or(u32::MAX);
        flaky.push((*last, attempts, first));
    }
    let mut tests = tests;
    for (i, attempts, message) in flaky {
        tests[i].result = TestResult::Flaky { attempts, message };
    }
    tests
        .into_iter()
        .zip(drop)
        .filter_map(|(t, d)| (!d).then_some(t))
        .collect()
}

/// What one `<testsuite>` declares about itself, and what was read inside it.
#[derive(Default)]
struct SuiteTotals {
    name: String,
    tests: Option<u64>,
    failures: Option<u64>,
    errors: Option<u64>,
    skipped: Option<u64>,
    disabled: Option<u64>,
    suite_succeeded: Option<bool>,
    special_failure_reason: String,
    /// Ginkgo v2's `DryRun` property: the specs were only listed, none ran.
    dry_run: bool,
    counted: RawSuiteCounts,
    suite_failures: u64,
    saw_status: bool,
    /// Range of this suite's specs in `State::tests`.
    tests_start: usize,
    tests_end: usize,
}

#[derive(Default)]
struct RawSuiteCounts {
    testcases: u64,
    failed: u64,
    skipped: u64,
}

impl SuiteTotals {
    fn from_start(e: &BytesStart<'_>, tests_start: usize) -> Self {
        let mut s = SuiteTotals {
            tests_start,
            tests_end: tests_start,
            ..Default::default()
        };
        for attr in e.attributes().flatten() {
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default();
            let number = || value.trim().parse::<u64>().ok();
            match attr.key.local_name().as_ref() {
                b"name" => s.name = value.clone(),
                b"tests" => s.tests = number(),
                b"failures" => s.failures = number(),
                b"errors" => s.errors = number(),
                b"skipped" => s.skipped = number(),
                b"disabled" => s.disabled = number(),
                _ => {}
            }
        }
        s
    }

    /// Ginkgo v2's `SuiteSucceeded` and `SpecialSuiteFailureReason` properties.
    fn property(&mut self, e: &BytesStart<'_>) {
        let attr = |key: &[u8]| {
            e.attributes()
                .flatten()
                .find(|a| a.key.local_name().as_ref() == key)
                .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
                .map(|v| v.into_owned())
        };
        match (attr(b"name").as_deref(), attr(b"value")) {
            (Some("SuiteSucceeded"), Some(v)) => {
                self.suite_succeeded = Some(v.trim().eq_ignore_ascii_case("true"))
            }
            (Some("SpecialSuiteFailureReason"), Some(v)) => self.special_failure_reason = v,
            (Some("DryRun"), Some(v)) => self.dry_run = v.trim().eq_ignore_ascii_case("true"),
            _ => {}
        }
    }

    /// Where the declared totals disagree with what was read (as Ginkgo writes them).
    fn check(&self, format: GinkgoFormat, specs: &[E2eTest]) -> Vec<String> {
        let mut out = Vec::new();
        let who = if self.name.is_empty() {
            "<testsuite>".to_string()
        } else {
            format!("<testsuite name={:?}>", self.name)
        };
        let c = &self.counted;
        let ran = specs
            .iter()
            .filter(|t| {
                matches!(
                    t.result,
                    TestResult::Passed | TestResult::Flaky { .. } | TestResult::Failed { .. }
                )
            })
            .count() as u64;
        let failed_specs = specs
            .iter()
            .filter(|t| matches!(t.result, TestResult::Failed { .. }))
            .count() as u64;
        if self.saw_status || format == GinkgoFormat::V2 {
            // Ginkgo v2: `tests` counts every testcase it wrote (suite nodes too); `failures`
            // plus `errors` every <failure>/<error>; `skipped` plus `disabled` every <skipped>.
            if let Some(tests) = self.tests
                && tests != c.testcases
            {
                out.push(format!(
                    "{who} declares tests=\"{tests}\" but {} testcases were read",
                    c.testcases
                ));
            }
            if let (Some(f), Some(e)) = (self.failures, self.errors) {
                let declared = f.saturating_add(e);
                if declared != c.failed {
                    out.push(format!(
                        "{who} declares failures=\"{f}\" errors=\"{e}\" but {} testcases failed",
                        c.failed
                    ));
                }
            }
            if let Some(s) = self.skipped {
                let declared = s.saturating_add(self.disabled.unwrap_or(0));
                if declared != c.skipped {
                    out.push(format!(
                        "{who} declares skipped=\"{s}\" disabled=\"{}\" but {} testcases were skipped",
                        self.disabled.unwrap_or(0),
                        c.skipped
                    ));
                }
            }
        } else {
            // Ginkgo v1: `tests` is the number of specs that were to run (each once, however
            // many attempts), `failures` the specs that finally failed.
            let total = specs.len() as u64;
            if let Some(tests) = self.tests
                && (tests < ran || tests > total)
            {
                out.push(format!(
                    "{who} declares tests=\"{tests}\" but {ran} of the {total} specs read ran"
                ));
            }
            if let Some(f) = self.failures
                && self.suite_failures == 0
                && f != failed_specs
            {
                out.push(format!(
                    "{who} declares failures=\"{f}\" but {failed_specs} specs failed"
                ));
            }
        }
        if self.dry_run {
            out.push(format!(
                "{who} says DryRun=true: Ginkgo only listed its specs, none of them ran"
            ));
        }
        if self.suite_succeeded == Some(false) && failed_specs == 0 && self.suite_failures == 0 {
            let reason = match self.special_failure_reason.trim() {
                "" => String::new(),
                r => format!(" ({r})"),
            };
            out.push(format!(
                "{who} says SuiteSucceeded=false{reason}, but no testcase failed"
            ));
        }
        out
    }
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

enum RawClass {
    Passed,
    Failed,
    Skipped,
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

/// Why a `<testcase>` start tag cannot be read.
#[derive(Debug, thiserror::Error)]
enum TestcaseError {
    #[error("bad attribute in <testcase>: {0}")]
    Attribute(#[source] quick_xml::events::attributes::AttrError),
    #[error("bad attribute value in <testcase>: {0}")]
    Value(#[source] quick_xml::Error),
    #[error("a <testcase> has no name attribute")]
    NoName,
    #[error("testcase time=\"{0}\" is not a duration between 0 and {MAX_TEST_SECONDS} seconds")]
    TimeOutOfRange(String),
    #[error("testcase time=\"{0}\" is not a number")]
    TimeNotNumber(String),
}

impl Pending {
    fn from_start(e: &BytesStart<'_>) -> Result<Self, TestcaseError> {
        let mut name = None;
        let mut status = None;
        let mut duration = None;
        for attr in e.attributes() {
            let attr = attr.map_err(TestcaseError::Attribute)?;
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(TestcaseError::Value)?;
            match attr.key.local_name().as_ref() {
                b"name" => name = Some(value.into_owned()),
                b"status" => status = Some(value.trim().to_ascii_lowercase()),
                b"time" => duration = parse_time(&value)?,
                _ => {}
            }
        }
        let name = name.ok_or(TestcaseError::NoName)?;
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
            b"skipped" => {
                let mut message = String::new();
                push_capped(&mut message, &attr(b"message").unwrap_or_default());
                self.skipped = Some(message);
            }
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
                let mut message = String::new();
                push_capped(&mut message, &attr(b"message").unwrap_or_default());
                self.message_attr = message;
            }
            _ => {}
        }
    }

    /// How Sonobuoy classifies the testcase (by child elements only).
    fn raw_class(&self) -> RawClass {
        if self.skipped.is_some() {
            RawClass::Skipped
        } else if self.failure_kind.is_some() {
            RawClass::Failed
        } else {
            RawClass::Passed
        }
    }

    fn finish(self) -> E2eTest {
        // Sonobuoy's order: <skipped> wins, then <failure>/<error>. Then the `status` attribute:
        // a failure state without a <failure> element is still a failure, and a state we do not
        // know is never taken for a pass.
        let status = self.status.as_deref();
        let result = if let Some(message) = self.skipped {
            TestResult::Skipped(classify_skip(status, &message))
        } else if let Some(kind) = self.failure_kind {
            let message = match (self.message_attr.trim(), self.body.trim()) {
                ("", body) => body.to_string(),
                (attr, "") => attr.to_string(),
                // Ginkgo v2 repeats the message attribute as the body's first line.
                (attr, body) if body.starts_with(attr) => body.to_string(),
                (attr, body) => format!("{attr}\n{body}"),
            };
            TestResult::Failed { kind, message }
        } else {
            match status {
                None | Some("passed") => TestResult::Passed,
                Some("skipped") => TestResult::Skipped(Skip::Unspecified),
                Some("pending") => TestResult::Skipped(Skip::Pending),
                Some(s) => TestResult::Failed {
                    kind: match s {
                        "failed" => FailureKind::Failed,
                        "timedout" => FailureKind::TimedOut,
                        "aborted" => FailureKind::Aborted,
                        "interrupted" => FailureKind::Interrupted,
                        "panicked" => FailureKind::Panicked,
                        _ => FailureKind::Error,
                    },
                    message: format!(
                        "the report says status=\"{s}\" but gives no <failure> or <error> element"
                    ),
                },
            }
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

/// The line of a failure message that says what failed: its first line that is not only a Go
/// source location. Ginkgo v1 writes no `message` attribute and starts the failure text with the
/// location of the failing node (`/go/src/k8s.io/kubernetes/test/e2e/framework/framework.go:696`),
/// then the message, then the location of the assertion; Ginkgo v2 starts with the message
/// (`[FAILED] …`) and puts the location after it (`In [It] at: …`). A message that is nothing but
/// locations is returned as it is.
pub fn failure_headline(message: &str) -> &str {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.clone().next().unwrap_or("");
    lines.find(|l| !is_code_location(l)).unwrap_or(first)
}

/// `path/file.go:123`, nothing else on the line.
fn is_code_location(line: &str) -> bool {
    match line.rsplit_once(':') {
        Some((path, number)) => {
            path.ends_with(".go")
                && !path.contains(char::is_whitespace)
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// A testcase `time`: seconds, finite, not negative, at most [`MAX_TEST_SECONDS`].
fn parse_time(value: &str) -> Result<Option<f64>, TestcaseError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<f64>() {
        Ok(t) if t.is_finite() && (0.0..=MAX_TEST_SECONDS).contains(&t) => Ok(Some(t)),
        Ok(_) => Err(TestcaseError::TimeOutOfRange(value.to_string())),
        Err(_) => Err(TestcaseError::TimeNotNumber(value.to_string())),
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

/// Appends up to [`MAX_MESSAGE_BYTES`] in total, cut at a character boundary and marked once.
fn push_capped(out: &mut String, text: &str) {
    if out.ends_with(CUT_MARK) {
        return;
    }
    let room = MAX_MESSAGE_BYTES.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
        return;
    }
    out.push_str(&text[..floor_char_boundary(text, room)]);
    out.push_str(CUT_MARK);
}

/// Cuts `text` to at most `max` bytes (at a character boundary), marking the cut.
fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        text.truncate(floor_char_boundary(text, max));
        text.push_str(CUT_MARK);
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut end = at.min(text.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

fn trailing_ws(s: &str) -> usize {
    s.len() - s.trim_end().len()
}

/// Fails with `FileTooLarge` once more than the allowed bytes were read, so a huge (or
/// decompression-bomb) input is refused while streaming, never held whole.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells "exactly at the limit" from "over it".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "input exceeds the size limit",
                )),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Counts lines of a stream as the parser consumes it, so errors can name a line without the
/// document being kept. Remembers the offsets of the last few newlines, because the parser
/// reports an error position slightly behind what it consumed.
struct LineCounter<R> {
    inner: R,
    consumed: u64,
    newlines: u64,
    recent: VecDeque<u64>,
}

const RECENT_NEWLINES: usize = 4096;

impl<R: BufRead> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            consumed: 0,
            newlines: 0,
            recent: VecDeque::with_capacity(RECENT_NEWLINES),
        }
    }

    /// The 1-based line of a byte offset at or a little before the consumed position.
    fn line_of(&self, pos: u64) -> u64 {
        let after = self
            .recent
            .iter()
            .rev()
            .take_while(|&&nl| nl >= pos)
            .count() as u64;
        self.newlines - after + 1
    }
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            for i in memchr::memchr_iter(b'\n', &buf[..amt]) {
                self.newlines += 1;
                if self.recent.len() == RECENT_NEWLINES {
                    self.recent.pop_front();
                }
                self.recent.push_back(self.consumed + i as u64);
            }
            self.consumed += amt as u64;
        }
        self.inner.consume(amt);
    }
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

    #[test]
    fn input_over_the_byte_limit_is_refused_while_streaming() {
        let limits = ReadLimits {
            max_bytes: 64,
            ..ReadLimits::default()
        };
        let err = read(V2.as_bytes(), limits).unwrap_err();
        assert_eq!(err, JunitError::TooLarge { max: 64 });
        let limits = ReadLimits {
            max_testcases: 2,
            ..ReadLimits::default()
        };
        let err = read(V2.as_bytes(), limits).unwrap_err();
        assert_eq!(err, JunitError::TooManyTestcases { max: 2 });
    }

    #[test]
    fn failure_states_count_without_a_failure_element() {
        let xml = r#"<testsuite><testcase name="[It] a" status="failed" time="1"></testcase><testcase name="[It] b" status="weird"/></testsuite>"#;
        let report = parse(xml.as_bytes()).unwrap();
        assert!(matches!(
            report.tests[0].result,
            TestResult::Failed {
                kind: FailureKind::Failed,
                ..
            }
        ));
        assert!(matches!(
            report.tests[1].result,
            TestResult::Failed {
                kind: FailureKind::Error,
                ..
            }
        ));
    }

    #[test]
    fn failed_suite_nodes_are_kept_apart() {
        let xml = V2.replace(
            r#"<testcase name="[SynchronizedAfterSuite]" classname="Kubernetes e2e suite" status="passed" time="0"></testcase>"#,
            r#"<testcase name="[SynchronizedAfterSuite]" classname="Kubernetes e2e suite" status="failed" time="0"><failure type="failed">cleanup</failure></testcase>"#,
        );
        let report = parse(xml.as_bytes()).unwrap();
        assert_eq!(report.tests.len(), 4);
        assert_eq!(report.suite_failures.len(), 1);
        assert_eq!(report.suite_failures[0].name, "[SynchronizedAfterSuite]");
    }

    #[test]
    fn declared_totals_are_checked_against_the_testcases() {
        // V2's testsuite declares tests="6" and has 6 testcases: consistent.
        assert!(parse(V2.as_bytes()).unwrap().discrepancies.is_empty());
        let xml = V2.replace(r#"<testsuite name="Kubernetes e2e suite" tests="6">"#, r#"<testsuite name="Kubernetes e2e suite" tests="9" failures="0" errors="0" skipped="2">"#);
        let d = parse(xml.as_bytes()).unwrap().discrepancies;
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains(r#"declares tests="9" but 6 testcases were read"#));
        assert!(d[1].contains("but 1 testcases failed"));
    }

    #[test]
    fn ginkgo_v1_flake_attempts_collapse_into_one_flaky_pass() {
        let xml = r#"<testsuite tests="2" failures="0">
<testcase name="[sig-x] a" time="1"><failure type="Failure">first</failure></testcase>
<testcase name="[sig-x] b" time="1"></testcase>
<testcase name="[sig-x] a" time="1"><failure type="Failure">second</failure></testcase>
<testcase name="[sig-x] a" time="1"></testcase>
</testsuite>"#;
        let report = parse(xml.as_bytes()).unwrap();
        assert_eq!(report.tests.len(), 2);
        assert_eq!(
            report.tests[1].result,
            TestResult::Flaky {
                attempts: 3,
                message: "first".into()
            }
        );
        assert!(
            report.discrepancies.is_empty(),
            "{:?}",
            report.discrepancies
        );
    }

    #[test]
    fn out_of_range_durations_are_refused() {
        for t in ["1e300", "-1", "NaN", "inf", "abc"] {
            let xml = format!(r#"<testsuite><testcase name="a" time="{t}"/></testsuite>"#);
            let err = parse(xml.as_bytes()).unwrap_err();
            assert!(
                matches!(err, JunitError::NotJunit { line: 1, .. }),
                "{t}: {err:?}"
            );
        }
    }

    #[test]
    fn the_headline_of_a_ginkgo_v1_failure_is_its_message_not_its_location() {
        // The real Ginkgo v1 report (tests/fixtures/e2e): the text starts with a code location.
        let xml = include_bytes!("../../../../tests/fixtures/e2e/ginkgo-v1-output2.xml");
        let report = parse(xml).unwrap();
        let message = report
            .tests
            .iter()
            .find_map(|t| match &t.result {
                TestResult::Failed { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .unwrap();
        assert!(message.starts_with("/go/src/"), "{message}");
        assert_eq!(
            failure_headline(message),
            "Conformance test suite needs a cluster with at least 2 nodes."
        );
    }

    #[test]
    fn the_headline_of_a_ginkgo_v2_failure_is_its_first_line() {
        let report = parse(V2.as_bytes()).unwrap();
        let TestResult::Failed { message, .. } = &report.tests[1].result else {
            panic!("{:?}", report.tests[1].result)
        };
        assert_eq!(
            failure_headline(message),
            "[FAILED] Had 1 wrong results in reachability matrix"
        );
        assert_eq!(failure_headline("\n a/b.go:12\n"), "a/b.go:12");
        assert_eq!(
            failure_headline("x.go: not a location"),
            "x.go: not a location"
        );
    }

    #[test]
    fn a_message_attribute_repeated_by_the_body_is_kept_once() {
        let xml = r#"<testsuite><testcase name="a" status="failed"><failure message="[FAILED] boom" type="failed">[FAILED] boom&#xA;In [It] at: x.go:1</failure></testcase></testsuite>"#;
        let report = parse(xml.as_bytes()).unwrap();
        assert_eq!(
            report.tests[0].result,
            TestResult::Failed {
                kind: FailureKind::Failed,
                message: "[FAILED] boom\nIn [It] at: x.go:1".into()
            }
        );
    }

    #[test]
    fn a_ginkgo_dry_run_is_a_discrepancy_not_a_pass() {
        let xml = r#"<testsuites><testsuite name="e2e" tests="1"><properties><property name="DryRun" value="true"></property></properties><testcase name="[It] a" status="passed" time="0"></testcase></testsuite></testsuites>"#;
        let d = parse(xml.as_bytes()).unwrap().discrepancies;
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("DryRun=true"), "{d:?}");
    }

    #[test]
    fn a_name_longer_than_any_spec_name_is_refused_with_its_line() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        let xml = format!("<testsuite>\n<testcase name=\"{long}\"/></testsuite>");
        let err = parse(xml.as_bytes()).unwrap_err();
        assert!(
            matches!(err, JunitError::NameTooLong { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn long_failure_texts_are_cut_and_say_so() {
        let body = "y".repeat(MAX_MESSAGE_BYTES * 2);
        let xml = format!(
            r#"<testsuite><testcase name="[It] a" status="failed"><failure message="m" type="failed">{body}</failure></testcase><testcase name="[It] b" status="skipped"><skipped message="{body}"/></testcase></testsuite>"#
        );
        let report = parse(xml.as_bytes()).unwrap();
        let TestResult::Failed { message, .. } = &report.tests[0].result else {
            panic!("{:?}", report.tests[0].result);
        };
        assert!(message.len() < MAX_MESSAGE_BYTES + 200, "{}", message.len());
        assert!(message.ends_with(CUT_MARK));
        assert_eq!(message.matches(CUT_MARK).count(), 1);
        let mut text = "ä".repeat(10);
        cut(&mut text, 3);
        assert_eq!(text, format!("ä{CUT_MARK}"));
    }
}
