//! SCS's check-script protocol on this process's streams (`scs-check`): every stdout line goes
//! through [`result`], every stderr line through [`log`] (the run's events, through
//! [`crate::events`]; the Kubernetes client's logs, through [`init_logging`]). The lines
//! themselves are the engine's ([`scs_conformance::scs::protocol`]).

use scs_conformance::scs::protocol::{Level, LogLine};

/// Writes one protocol log line (`info:`, `warning:`, `error:`, `critical:`) to stderr.
pub fn log(level: Level, message: impl Into<String>) {
    eprintln!("{}", LogLine::new(level, message));
}

/// Writes a formatted protocol log line (from [`LogLine`]'s `Display`) to stderr.
pub fn write_log_line(line: &str) {
    eprintln!("{line}");
}

/// Writes protocol log lines to stderr.
pub fn log_all(lines: impl IntoIterator<Item = LogLine>) {
    for line in lines {
        eprintln!("{line}");
    }
}

/// Writes a result line (`<testcase-id>: PASS|FAIL|ABORT`) to stdout.
pub fn result(line: &str) {
    crate::outln!("{line}");
}

/// Logging for scs-check: tracing events (e.g. from the Kubernetes client) as protocol lines.
pub fn init_logging(filter: tracing_subscriber::EnvFilter) {
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .event_format(Prefixed)
        .with_writer(std::io::stderr)
        .init();
}

/// Formats a tracing event as `warning: target: message` (levels mapped to SCS's prefixes).
struct Prefixed;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Prefixed
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warning,
            _ => Level::Info,
        };
        let mut fields = String::new();
        ctx.field_format().format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut fields),
            event,
        )?;
        let line = LogLine::new(level, format!("{}: {fields}", event.metadata().target()));
        writeln!(writer, "{line}")
    }
}
