//! The human summary printed at the end of a command.

use std::fmt::Write;

use crate::certify::Certification;
use crate::output::clip;
use crate::verdict::Outcome;
use crate::waiver::WaiverStatus;

/// At most this many failed tests are printed per test case.
const MAX_FAILED: usize = 10;

/// Renders the summary as plain text.
pub fn render(cert: &Certification) -> String {
    let mut s = String::new();
    let k8s = cert
        .cluster
        .kubernetes_version
        .as_deref()
        .unwrap_or("unknown");
    let _ = writeln!(s, "Kubernetes {k8s}, CNI {}", cert.cluster.cni);
    for m in &cert.modules {
        let _ = writeln!(s, "{:<8} {} ({})", m.verdict.as_str(), m.id, m.name);
        for t in &m.testcases {
            let _ = writeln!(s, "  {:<8} {}: {}", t.verdict.as_str(), t.id, t.reason);
            if let crate::verdict::CheckInfo::E2e { focus, skip, .. } = &t.check {
                let _ = writeln!(s, "           focus {focus:?} skip {skip:?}");
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
                let _ = writeln!(s, "           FAILED {}\n             {why}", x.name);
            }
            if t.counts.failed > MAX_FAILED {
                let _ = writeln!(
                    s,
                    "           … {} more failed",
                    t.counts.failed - MAX_FAILED
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
                    x.name,
                    x.waiver.as_deref().unwrap_or("?")
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
                    w.id,
                    w.expires.map(|d| d.to_string()).unwrap_or_default(),
                    w.tests.len()
                );
            }
        }
    }
    let _ = writeln!(s, "Verdict: {} ({})", cert.verdict.as_str(), cert.target.id);
    s
}
