//! The human summary printed at the end of a command.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::definitions::waiver::WaiverStatus;
use crate::reports::clip;
use crate::reports::escape::{shell_quoted, terminal as esc};
use crate::verdict::certify::Certification;
use crate::verdict::{Outcome, Verdict};

/// At most this many failed tests are printed per test case.
const MAX_FAILED: usize = 10;

/// Renders the summary, verdicts in colour (ANSI styles; the front end's output stream strips
/// them when colour is off). Text from evidence and definitions is escaped, so control sequences
/// in a spec name are shown (`\u{1b}`), not executed.
pub fn render(cert: &Certification) -> String {
    let mut s = String::new();
    let k8s = cert
        .cluster
        .kubernetes_version
        .as_deref()
        .unwrap_or("unknown");
    let _ = writeln!(
        s,
        "Kubernetes {}, CNI {}",
        esc(k8s),
        esc(&cert.cluster.cni.to_string())
    );
    if let Some(w) = &cert.cluster.cni.warning {
        let _ = writeln!(s, "WARNING: {}", esc(w));
    }
    if let Some(n) = &cert.target.narrowed {
        let _ = writeln!(
            s,
            "NOTE: {} (focus {} skip {})",
            n.note,
            shell_quoted(&n.focus),
            shell_quoted(&n.skip)
        );
    }
    if !cert.runs.is_empty() {
        let specs = crate::verdict::rerun::specs_per_run(cert);
        let _ = writeln!(s, "Merged from {} runs:", cert.runs.len());
        for r in &cert.runs {
            let _ = writeln!(
                s,
                "  run {}: {}: {} spec(s)",
                r.number,
                esc(&r.describe()),
                specs.get(&r.number).copied().unwrap_or(0)
            );
        }
    }
    for m in &cert.modules {
        let _ = writeln!(
            s,
            "{} {} ({})",
            painted(m.verdict, 8),
            esc(&m.id),
            esc(&m.name)
        );
        for t in &m.testcases {
            let _ = writeln!(
                s,
                "  {} {}: {}",
                painted(t.verdict, 8),
                esc(&t.id),
                esc(&t.reason)
            );
            if let crate::verdict::CheckInfo::E2e { focus, skip, .. } = &t.check {
                let _ = writeln!(
                    s,
                    "           focus {} skip {}",
                    shell_quoted(focus),
                    shell_quoted(skip)
                );
            }
            for w in &t.warnings {
                let _ = writeln!(s, "           WARNING: {}", esc(w));
            }
            for x in t
                .tests
                .iter()
                .filter(|x| x.outcome == Outcome::Failed)
                .take(MAX_FAILED)
            {
                let why = x
                    .message
                    .as_deref()
                    .map(|m| clip(m, 120))
                    .unwrap_or_default();
                let run = x.run.map(|r| format!(" (run {r})")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "           {}FAILED{:#} {}{run}\n             {}",
                    style(Verdict::Fail),
                    style(Verdict::Fail),
                    esc(&x.name),
                    esc(&why)
                );
            }
            if t.counts.failed > MAX_FAILED {
                let _ = writeln!(
                    s,
                    "           … {} more failed",
                    t.counts.failed - MAX_FAILED
                );
            }
            // Every waived failure is named: a waiver must never make a failure invisible.
            for x in t.tests.iter().filter(|x| x.outcome == Outcome::Waived) {
                let _ = writeln!(
                    s,
                    "           WAIVED {} failed, waived by {}",
                    esc(&x.name),
                    esc(x.waiver.as_deref().unwrap_or("?"))
                );
            }
            for x in t
                .tests
                .iter()
                .filter(|x| x.outcome == Outcome::WaivedButPassed)
            {
                let _ = writeln!(
                    s,
                    "           STALE? {} passed although waiver {} applies",
                    esc(&x.name),
                    esc(x.waiver.as_deref().unwrap_or("?"))
                );
            }
            for w in t
                .waivers
                .iter()
                .filter(|w| w.status == WaiverStatus::Expired && !w.tests.is_empty())
            {
                let _ = writeln!(
                    s,
                    "           EXPIRED waiver {} ({}) no longer applies to {} test(s)",
                    esc(&w.id),
                    w.expires.map(|d| d.to_string()).unwrap_or_default(),
                    w.tests.len()
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "Verdict: {} ({})",
        painted(cert.verdict, 0),
        esc(&cert.target.id)
    );
    s
}

fn style(verdict: Verdict) -> Style {
    let colour = match verdict {
        Verdict::Pass => AnsiColor::Green,
        Verdict::Fail => AnsiColor::Red,
        Verdict::Abort | Verdict::Missing => AnsiColor::Yellow,
    };
    Style::new().bold().fg_color(Some(colour.into()))
}

/// The verdict word in its colour, padded to `width`.
fn painted(verdict: Verdict, width: usize) -> String {
    let style = style(verdict);
    format!("{style}{:<width$}{style:#}", verdict.as_str())
}
