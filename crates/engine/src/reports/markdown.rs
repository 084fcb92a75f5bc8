//! `summary.md`: a short GitHub-flavoured Markdown summary for `$GITHUB_STEP_SUMMARY` (which
//! rejects more than 1 MiB per step). Lists are capped so the summary stays a few kB.

use std::fmt::Write;

use crate::definitions::waiver::WaiverStatus;
use crate::reports::escape::{markdown_code, markdown_text, markdown_url};
use crate::reports::{ErrorRecord, clip};
use crate::verdict::certify::Certification;
use crate::verdict::{Outcome, Verdict};

/// At most this many tests are listed per kind (failed, not run, waived but passed) and test case.
const MAX_LISTED: usize = 25;
/// Waived failures are all named (a waiver must never hide a failure); this bound only keeps a
/// pathological list below GitHub's 1 MiB step-summary limit.
const MAX_WAIVED_LISTED: usize = 1000;

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Abort => "⚠️",
        Verdict::Missing => "❓",
    }
}

/// The ABORT record as a summary.
pub fn render_error(record: &ErrorRecord) -> String {
    format!(
        "## {} SCS conformance: **ABORT**\n\nNo verdict: `scs-conformance {}` failed: {}\n",
        icon(Verdict::Abort),
        markdown_text(&record.command),
        markdown_text(&record.error)
    )
}

/// Renders the summary. Text from evidence and definitions (spec names, messages, reasons, ids)
/// is escaped, so it cannot add structure, links, images or HTML to the rendered summary.
pub fn render(cert: &Certification) -> String {
    let mut md = String::new();
    let target = match &cert.target.version {
        Some(v) => format!("{} {v}", cert.target.id),
        None => cert.target.id.clone(),
    };
    let _ = writeln!(
        md,
        "## {} SCS conformance: {}: **{}**\n",
        icon(cert.verdict),
        markdown_text(&target),
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
        "Kubernetes {}, CNI {} ({}), waivers as of {}.\n",
        markdown_text(k8s),
        markdown_text(&cni.to_string()),
        serde_json::to_value(cni.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        cert.reference_date
    );
    if let Some(n) = &cert.target.narrowed {
        let _ = writeln!(
            md,
            "> **{}** (focus {}, skip {}).\n",
            markdown_text(&n.note),
            markdown_code(&n.focus),
            markdown_code(&n.skip)
        );
    }
    if let Some(w) = &cni.warning {
        let _ = writeln!(md, "> ⚠️ **Warning:** {}\n", markdown_text(w));
    }
    if !cert.runs.is_empty() {
        let specs = crate::verdict::rerun::specs_per_run(cert);
        let _ = writeln!(
            md,
            "**Merged from {} runs** (`rerun-failed`): each spec's result is from the run named in verdict.json (`tests[].run`).\n\n\
             | Run | Command | Started | Specs | Verdict it wrote (sha256) |\n|---:|---|---|---:|---|",
            cert.runs.len()
        );
        for r in &cert.runs {
            let file = match &r.verdict {
                Some(v) => format!(
                    "{} ({})",
                    markdown_code(&v.path),
                    markdown_code(v.sha256.get(..12).unwrap_or(&v.sha256))
                ),
                None => "this one".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {file} |",
                r.number,
                markdown_text(&r.command),
                r.started_at.strftime("%Y-%m-%d %H:%M UTC"),
                specs.get(&r.number).copied().unwrap_or(0)
            );
        }
        md.push('\n');
    }
    md.push_str("| Module | Test case | Verdict | Passed | Failed | Waived | Not run | Why |\n|---|---|---|---:|---:|---:|---:|---|\n");
    for m in &cert.modules {
        for t in &m.testcases {
            let c = &t.counts;
            let _ = writeln!(
                md,
                "| {} | {} | {} {} | {} | {} | {} | {} | {} |",
                markdown_text(&m.id),
                markdown_text(&t.id),
                icon(t.verdict),
                t.verdict.as_str(),
                c.passed,
                c.failed,
                c.waived + c.waived_not_run,
                c.not_run + c.skipped_at_runtime,
                markdown_text(&t.reason)
            );
        }
    }
    for t in cert.testcases() {
        for w in &t.warnings {
            let _ = writeln!(
                md,
                "\n> ⚠️ **{}:** {}",
                markdown_text(&t.id),
                markdown_text(w)
            );
        }
        let list = |md: &mut String, title: &str, want: &[Outcome], cap: usize| {
            let tests: Vec<_> = t
                .tests
                .iter()
                .filter(|x| want.contains(&x.outcome))
                .collect();
            if tests.is_empty() {
                return;
            }
            let _ = writeln!(
                md,
                "\n**{}: {title} ({})**\n",
                markdown_text(&t.id),
                tests.len()
            );
            for x in tests.iter().take(cap) {
                let waiver = x
                    .waiver
                    .as_deref()
                    .map(|w| format!(" (waiver {})", markdown_code(w)))
                    .unwrap_or_default();
                let detail = x
                    .message
                    .as_deref()
                    .map(|m| format!(": {}", markdown_text(&clip(m, 160))))
                    .unwrap_or_default();
                let run = x.run.map(|r| format!(" (run {r})")).unwrap_or_default();
                let _ = writeln!(md, "- {}{run}{waiver}{detail}", markdown_code(&x.name));
            }
            if tests.len() > cap {
                let _ = writeln!(
                    md,
                    "- … and {} more (see junit.xml / verdict.json)",
                    tests.len() - cap
                );
            }
        };
        list(&mut md, "failed", &[Outcome::Failed], MAX_LISTED);
        list(
            &mut md,
            "failed, waived",
            &[Outcome::Waived],
            MAX_WAIVED_LISTED,
        );
        list(
            &mut md,
            "did not run",
            &[Outcome::NotRun, Outcome::SkippedAtRuntime],
            MAX_LISTED,
        );
        list(
            &mut md,
            "passed although waived (stale waiver?)",
            &[Outcome::WaivedButPassed],
            MAX_LISTED,
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
            let _ = writeln!(md, "\n**{}: waivers**\n", markdown_text(&t.id));
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
                let link = match w.tracking.as_deref() {
                    Some(l) => match markdown_url(l) {
                        Some(url) => format!(" ([tracking]({url}))"),
                        None => format!(" (tracking: {})", markdown_code(l)),
                    },
                    None => String::new(),
                };
                let _ = writeln!(
                    md,
                    "- {}: {}{link}; {state}; matches {} test(s)",
                    markdown_code(&w.id),
                    markdown_text(&w.reason),
                    w.tests.len()
                );
            }
        }
    }
    md
}
