//! The one renderer of a live run's events, for `run` (a progress bar on a terminal, plain log
//! lines otherwise) and `scs-check` (SCS protocol lines: `info:`/`warning:` prefixes, no ANSI).
//! Both say the same things in the same words; only the framing differs.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use scs_conformance::evidence::sonobuoy::status::{RunState, Status};
use scs_conformance::reports::escape::shell_quoted;
use scs_conformance::run::RunEvent;
use scs_conformance::scs::protocol::{Level, LogLine};

/// How event lines reach stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `run`: plain lines, warnings prefixed `warning:`; a progress bar while Sonobuoy runs when
    /// stderr is a terminal.
    Terminal,
    /// `scs-check`: every line a protocol log line ([`crate::scs_lines`]).
    Scs,
}

/// Without a progress bar, a status line is written when the counts change (at most every
/// 30 s) and whenever the run's state changes or is not `running`.
const STATUS_LINE_INTERVAL: Duration = Duration::from_secs(30);

/// Where rendered lines go: stderr, or a test's capture.
type Sink = Box<dyn FnMut(String) + Send>;

/// Renders [`RunEvent`]s to stderr.
pub struct EventRenderer {
    style: Style,
    /// Set: every line goes here, and there is no progress bar.
    sink: Option<Sink>,
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
    last_counts: Option<(u64, u64, u64)>,
    last_state: Option<RunState>,
}

impl EventRenderer {
    pub fn new(style: Style) -> Self {
        EventRenderer {
            style,
            sink: None,
            bar: None,
            last_line: None,
            last_counts: None,
            last_state: None,
        }
    }

    /// A renderer whose lines go to `sink` instead of stderr (no progress bar).
    pub fn with_sink(style: Style, sink: impl FnMut(String) + Send + 'static) -> Self {
        EventRenderer {
            sink: Some(Box::new(sink)),
            ..EventRenderer::new(style)
        }
    }

    /// Writes one line at `level`, above the progress bar if there is one.
    pub fn line(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        let line = match (self.style, level) {
            (Style::Scs, _) => LogLine::new(level, text).to_string(),
            (Style::Terminal, Level::Info) => text,
            (Style::Terminal, other) => format!("{}: {text}", other.prefix()),
        };
        if let Some(sink) = &mut self.sink {
            return sink(line);
        }
        if crate::quiet() && matches!(level, Level::Info | Level::Warning) {
            return;
        }
        match (&self.bar, self.style) {
            (Some(bar), _) => bar.println(line),
            (None, Style::Scs) => crate::scs_lines::write_log_line(&line),
            (None, Style::Terminal) => eprintln!("{line}"),
        }
    }

    pub fn event(&mut self, e: RunEvent) {
        match e {
            RunEvent::Cluster(info) => self.line(Level::Info, format!("cluster: {info}")),
            RunEvent::SpecsListed {
                image,
                specs,
                kubernetes_version,
            } => self.line(
                Level::Info,
                format!(
                    "planned with the {specs} specs listed by `e2e.test --list-tests` of {image} (Kubernetes {kubernetes_version})"
                ),
            ),
            RunEvent::PassStarted {
                testcase,
                pass,
                passes,
                spec,
            } => {
                self.line(
                    Level::Info,
                    format!(
                        "{testcase}: Sonobuoy run {pass}/{passes} in namespace {} (E2E_FOCUS={} E2E_SKIP={} E2E_PARALLEL={})",
                        spec.namespace,
                        shell_quoted(&clip(&spec.focus)),
                        shell_quoted(&clip(&spec.skip)),
                        spec.parallel
                    ),
                );
                self.last_counts = None;
                self.last_state = None;
                if self.style == Style::Terminal
                    && self.sink.is_none()
                    && !crate::quiet()
                    && std::io::stderr().is_terminal()
                {
                    self.bar = Some(progress_bar(&testcase));
                }
            }
            RunEvent::AggregatorCreated { after } => self.line(
                Level::Info,
                format!("aggregator pod created ({} ms)", after.as_millis()),
            ),
            RunEvent::Status(status) => self.status(&status),
            RunEvent::Warning(w) => self.line(Level::Warning, w),
            RunEvent::Retrieved(path) => self.line(
                Level::Info,
                format!("results retrieved: {}", path.display()),
            ),
            RunEvent::PassEnded { testcase, outcome } => {
                self.finish();
                self.line(Level::Info, format!("{testcase}: Sonobuoy run {outcome}"));
            }
            RunEvent::CleanedUp(removed) => {
                if !removed.namespaces.is_empty() {
                    self.line(
                        Level::Info,
                        format!("cleaned up: namespaces {}", removed.namespaces.join(", ")),
                    );
                }
            }
            RunEvent::Native { testcase, outcome } => self.line(
                Level::Info,
                format!(
                    "{testcase}: {} ({})",
                    outcome.verdict.as_str(),
                    outcome.reason
                ),
            ),
        }
    }

    fn status(&mut self, status: &Status) {
        let counts = status
            .e2e_counts()
            .map(|c| (c.passed, c.failed, c.remaining()));
        let state = serde_json::to_value(status.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if let Some(bar) = &self.bar {
            match counts {
                Some((p, f, r)) => {
                    bar.set_length(p + f + r);
                    bar.set_position(p + f);
                    bar.set_message(format!("passed {p}, failed {f}, remaining {r} ({state})"));
                }
                None => bar.set_message(state),
            }
            return;
        }
        let due = self
            .last_line
            .is_none_or(|t| t.elapsed() >= STATUS_LINE_INTERVAL);
        let state_changed = self.last_state != Some(status.status);
        if (counts != self.last_counts && due)
            || state_changed
            || status.status != RunState::Running
        {
            let c = counts
                .map(|(p, f, r)| format!(": passed {p}, failed {f}, remaining {r}"))
                .unwrap_or_default();
            self.line(Level::Info, format!("sonobuoy {state}{c}"));
            self.last_line = Some(Instant::now());
            self.last_counts = counts;
            self.last_state = Some(status.status);
        }
    }

    /// Removes the progress bar, if any.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn progress_bar(testcase: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message(format!("{testcase}: starting"));
    bar
}

/// A focus or skip shortened to 120 characters for a log line.
pub fn clip(s: &str) -> String {
    if s.len() > 120 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(117).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};

    use scs_conformance::evidence::cluster::ClusterInfo;
    use scs_conformance::evidence::cni::Cni;
    use scs_conformance::evidence::sonobuoy::cleanup::Removed;
    use scs_conformance::evidence::sonobuoy::manifest::RunSpec;
    use scs_conformance::verdict::certify::PassOutcome;
    use scs_conformance::verdict::{NativeOutcome, Verdict};

    use super::*;

    fn status(state: &str, completed: u64, total: u64) -> Status {
        Status::parse(&format!(
            r#"{{"plugins":[{{"plugin":"e2e","node":"global","status":"{state}","progress":{{"name":"e2e","node":"global","total":{total},"completed":{completed}}}}}],"status":"{state}","tar-info":{{"name":"","created":"0001-01-01T00:00:00Z","sha256":"","size":0}}}}"#
        ))
        .unwrap()
    }

    /// A run as the engine reports it: facts, one pass, progress, retrieval, cleanup, a native
    /// check.
    fn events() -> Vec<RunEvent> {
        vec![
            RunEvent::Cluster(ClusterInfo {
                server_version: "v1.33.3".into(),
                nodes: Vec::new(),
                cni: Cni::from_flag("cilium@1.17.6").unwrap(),
                id: None,
            }),
            RunEvent::SpecsListed {
                image: "registry.k8s.io/conformance:v1.33.3".into(),
                specs: 6,
                kubernetes_version: "v1.33.3".into(),
            },
            RunEvent::PassStarted {
                testcase: "kaas-networking-check".into(),
                pass: 1,
                passes: 1,
                spec: Box::new(RunSpec {
                    namespace: "sonobuoy".into(),
                    uuid: "u".into(),
                    focus: "NetworkPolicy".into(),
                    skip: "x".repeat(130),
                    parallel: true,
                    ginkgo_args: Vec::new(),
                    conformance_image: "registry.k8s.io/conformance:v1.33.3".into(),
                    kubernetes_version: "v1.33.3".into(),
                    aggregator_image: "sonobuoy/sonobuoy:v0.57.5".into(),
                    test_images: Default::default(),
                    image_pull_secret: None,
                    pod_security: Default::default(),
                    timeout_seconds: 60,
                }),
            },
            RunEvent::AggregatorCreated {
                after: Duration::from_millis(1234),
            },
            RunEvent::Status(status("running", 0, 10)),
            RunEvent::Status(status("running", 5, 10)),
            RunEvent::Status(status("post-processing", 10, 10)),
            RunEvent::Status(status("complete", 10, 10)),
            RunEvent::Retrieved(PathBuf::from("out/sonobuoy/kaas-networking-check/r.tar.gz")),
            RunEvent::CleanedUp(Removed {
                namespaces: vec!["sonobuoy".into()],
                ..Removed::default()
            }),
            RunEvent::PassEnded {
                testcase: "kaas-networking-check".into(),
                outcome: PassOutcome::Complete,
            },
            RunEvent::Native {
                testcase: "version-policy-check".into(),
                outcome: NativeOutcome {
                    verdict: Verdict::Pass,
                    reason: "v1.33.3 is supported".into(),
                    findings: Vec::new(),
                    warnings: Vec::new(),
                },
            },
        ]
    }

    fn render(style: Style) -> String {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let mut r = EventRenderer::with_sink(style, move |l| sink.lock().unwrap().push(l));
        for e in events() {
            r.event(e);
        }
        r.finish();
        lines.lock().unwrap().join("\n")
    }

    #[test]
    fn terminal_lines_without_a_bar() {
        // A long skip is clipped to 117 characters and an ellipsis.
        let skip = format!("{}…", "x".repeat(117));
        let expected = format!(
            "cluster: Kubernetes v1.33.3, 0 nodes (0 control plane), CNI cilium 1.17.6 (from --cni)
planned with the 6 specs listed by `e2e.test --list-tests` of registry.k8s.io/conformance:v1.33.3 (Kubernetes v1.33.3)
kaas-networking-check: Sonobuoy run 1/1 in namespace sonobuoy (E2E_FOCUS='NetworkPolicy' E2E_SKIP='{skip}' E2E_PARALLEL=true)
aggregator pod created (1234 ms)
sonobuoy running: passed 0, failed 0, remaining 10
sonobuoy post-processing: passed 10, failed 0, remaining 0
sonobuoy complete: passed 10, failed 0, remaining 0
results retrieved: out/sonobuoy/kaas-networking-check/r.tar.gz
cleaned up: namespaces sonobuoy
kaas-networking-check: Sonobuoy run complete
version-policy-check: PASS (v1.33.3 is supported)"
        );
        assert_eq!(render(Style::Terminal), expected);
    }

    #[test]
    fn scs_lines_say_the_same_with_prefixes() {
        let terminal = render(Style::Terminal);
        let scs = render(Style::Scs);
        let expected: Vec<String> = terminal
            .lines()
            .map(|l| match l.strip_prefix("warning: ") {
                Some(w) => format!("warning: {w}"),
                None => format!("info: {l}"),
            })
            .collect();
        assert_eq!(scs, expected.join("\n"));
    }
}
