//! `summary.md`: a short GitHub-flavoured Markdown summary for `$GITHUB_STEP_SUMMARY` (which
//! rejects more than 1 MiB per step). Lists are capped so the summary stays a few kB.

use std::fmt::Write;

use crate::certify::Certification;
use crate::output::clip;
use crate::verdict::{Outcome, Verdict};
use crate::waiver::WaiverStatus;

/// At most this many tests are listed per kind (failed, not run, waived) and test case.
const MAX_LISTED: usize = 25;

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Abort => "⚠️",
        Verdict::Missing => "❓",
    }
}

/// Renders the summary.
pub fn render(cert: &Certification) -> String {
    let mut md = String::new();
    let target = match &cert.target.version {
        Some(v) => format!("{} {v}", cert.target.id),
        None => cert.target.id.clone(),
    };
    let _ = writeln!(
        md,
        "## {} SCS conformance: {target}: **{}**\n",
        icon(cert.verdict),
        cert.verdict.as_str()
    );
    let k8s = cert
        .cluster
        .kubernetes_version
        .as_deref()
        .unwrap_or("unknown");
    let cni = &cert.cluster.cni;
    let _ = writeln!(
        md,
        "Kubernetes {k8s}, CNI {cni} ({}), waivers as of {}.\n",
        serde_json::to_value(cni.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        cert.reference_date
    );
    md.push_str("| Module | Test case | Verdict | Passed | Failed | Waived | Not run | Why |\n|---|---|---|---:|---:|---:|---:|---|\n");
    for m in &cert.modules {
        for t in &m.testcases {
            let c = &t.counts;
            let _ = writeln!(
                md,
                "| {} | {} | {} {} | {} | {} | {} | {} | {} |",
                m.id,
                t.id,
                icon(t.verdict),
                t.verdict.as_str(),
                c.passed,
                c.failed,
                c.waived + c.waived_not_run,
                c.not_run + c.skipped_at_runtime,
                t.reason.replace('|', "\\|")
            );
        }
    }
    for t in cert.testcases() {
        let list = |md: &mut String, title: &str, want: &[Outcome]| {
            let tests: Vec<_> = t
                .tests
                .iter()
                .filter(|x| want.contains(&x.outcome))
                .collect();
            if tests.is_empty() {
                return;
            }
            let _ = writeln!(md, "\n**{}: {title} ({})**\n", t.id, tests.len());
            for x in tests.iter().take(MAX_LISTED) {
                let detail = x
                    .message
                    .as_deref()
                    .map(|m| format!(": {}", clip(m, 160)))
                    .unwrap_or_default();
                let _ = writeln!(
                    md,
                    "- `{}`{}",
                    x.name.replace('`', "'"),
                    detail.replace('\n', " ")
                );
            }
            if tests.len() > MAX_LISTED {
                let _ = writeln!(
                    md,
                    "- … and {} more (see junit.xml / verdict.json)",
                    tests.len() - MAX_LISTED
                );
            }
        };
        list(&mut md, "failed", &[Outcome::Failed]);
        list(
            &mut md,
            "did not run",
            &[Outcome::NotRun, Outcome::SkippedAtRuntime],
        );
        list(
            &mut md,
            "passed although waived (stale waiver?)",
            &[Outcome::WaivedButPassed],
        );
        let relevant: Vec<_> = t
            .waivers
            .iter()
            .filter(|w| {
                matches!(w.status, WaiverStatus::Active | WaiverStatus::Expired)
                    && !w.tests.is_empty()
            })
            .collect();
        if !relevant.is_empty() {
            let _ = writeln!(md, "\n**{}: waivers**\n", t.id);
            for w in relevant {
                let state = match w.status {
                    WaiverStatus::Expired => format!(
                        "⌛ expired {}, no longer applies",
                        w.expires.map(|d| d.to_string()).unwrap_or_default()
                    ),
                    _ => format!(
                        "applies until {}",
                        w.expires
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "further notice".into())
                    ),
                };
                let link = w
                    .tracking
                    .as_deref()
                    .map(|l| format!(" ([tracking]({l}))"))
                    .unwrap_or_default();
                let _ = writeln!(
                    md,
                    "- `{}`: {}{link}; {state}; matches {} test(s)",
                    w.id,
                    w.reason,
                    w.tests.len()
                );
            }
        }
    }
    md
}
