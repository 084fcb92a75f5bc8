//! `report.html`: one self-contained page for people who would rather look than read: the
//! verdict per scope, module and test case, failures with their whole failure text, the waivers
//! that applied, stale waivers and the cluster's facts.
//!
//! The page is opened from disk, from CI artifacts, by anyone: it loads nothing. Its style is
//! inline, it has no scripts, images or fonts, and a Content-Security-Policy (`default-src
//! 'none'`, the style allowed by its hash) keeps it so even if text slipped through unescaped.
//! Every text from evidence or definitions goes through [`html`] or [`html_line`]; the only links
//! to elsewhere are waivers' tracking URLs that are plain `http(s)` ([`html_url`]).

use std::fmt::Write;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::definitions::waiver::WaiverStatus;
use crate::reports::ErrorRecord;
use crate::reports::escape::{html, html_line, html_url};
use crate::verdict::certify::Certification;
use crate::verdict::{CheckInfo, Outcome, TestVerdict, TestcaseVerdict, Verdict, WaiverUse};

/// Failure texts (each already capped at 64 KiB by the reader) are shown in full up to this
/// many bytes per page; beyond it, only their first line (the rest is in `junit.xml`).
const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;
/// At most this many tests are listed per folded list (passed, did not run) and test case.
const MAX_LISTED: usize = 2000;

const CSS: &str = r#"
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa;
  --line: #d1d9e0; --pass: #1a7f37; --fail: #cf222e; --abort: #9a6700; --missing: #6e40c9;
  --warn-bg: #fff8c5; --warn-line: #d4a72c; --link: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23; --line: #3d444d;
    --pass: #3fb950; --fail: #f85149; --abort: #d29922; --missing: #ab7df8;
    --warn-bg: #2e2a12; --warn-line: #9e6a03; --link: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
header { padding: 20px 28px 16px; border-bottom: 1px solid var(--line); border-left: 8px solid var(--muted); }
header.v-pass { border-left-color: var(--pass); }
header.v-fail { border-left-color: var(--fail); }
header.v-abort { border-left-color: var(--abort); }
header.v-missing { border-left-color: var(--missing); }
h1 { margin: 0 0 6px; font-size: 1.6em; }
h2 { margin: 0 0 10px; font-size: 1.25em; }
h3 { margin: 18px 0 6px; font-size: 1.02em; }
main { padding: 8px 28px 28px; max-width: 1400px; }
section { margin: 18px 0; padding: 16px 18px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
.sub, .muted { color: var(--muted); }
.meaning { margin: 4px 0 0; }
.badge { display: inline-block; min-width: 5.2em; padding: 1px 8px; border-radius: 999px; color: #fff;
  font-weight: 700; font-size: 0.82em; text-align: center; letter-spacing: 0.03em; vertical-align: 0.1em; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); }
.badge.abort { background: var(--abort); } .badge.missing { background: var(--missing); }
h1 .badge { font-size: 0.62em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { font-size: 0.85em; color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.date, td.verdict { white-space: nowrap; }
tr.module td { font-weight: 600; padding-top: 12px; }
tr.module .url { display: block; font-weight: 400; font-size: 0.82em; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.warn { margin: 10px 0 0; padding: 8px 12px; background: var(--warn-bg); border-left: 4px solid var(--warn-line); border-radius: 4px; }
code, pre, .spec { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
.spec { overflow-wrap: anywhere; }
pre.log { margin: 6px 0 4px; padding: 8px 10px; max-height: 28em; overflow: auto; background: var(--bg);
  border: 1px solid var(--line); border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
ul.tests { list-style: none; margin: 0; padding: 0; }
ul.tests > li { padding: 6px 0 6px 12px; border-left: 3px solid var(--line); margin: 4px 0; }
li.failed { border-left-color: var(--fail) !important; }
li.waived, li.stale { border-left-color: var(--abort) !important; }
li.passed { border-left-color: var(--pass) !important; }
.msg { display: block; color: var(--muted); overflow-wrap: anywhere; }
details > summary { cursor: pointer; }
details.list > summary { font-weight: 600; margin: 14px 0 6px; }
.counts span { margin-right: 14px; white-space: nowrap; }
a { color: var(--link); }
footer { padding: 0 28px 24px; color: var(--muted); font-size: 0.85em; }
"#;

/// The CSS class of a verdict (`pass`, `fail`, `abort`, `missing`): the page's style colours
/// `.badge.pass`, `header.v-pass`, and so on.
pub fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Abort => "abort",
        Verdict::Missing => "missing",
    }
}

fn meaning(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "every required test case passed",
        Verdict::Fail => "a required test case failed",
        Verdict::Abort => "a required test case did not finish: not everything it selected ran",
        Verdict::Missing => "a required test case was not evaluated",
    }
}

/// A verdict as a coloured badge with its word (`PASS`) and a tooltip.
pub fn badge(v: Verdict) -> String {
    let title = match v {
        Verdict::Pass => "passed",
        Verdict::Fail => "failed",
        Verdict::Abort => "did not finish: not everything selected ran",
        Verdict::Missing => "not evaluated",
    };
    format!(
        "<span class=\"badge {}\" title=\"{title}\">{}</span>",
        class(v),
        v.as_str()
    )
}

/// The document head: the policy that forbids loading anything, and the style by its hash.
fn head(title: &str) -> String {
    page_head(title, "")
}

/// The head of a self-contained page in the style of `report.html` (the fleet's `fleet.html`
/// uses it): a Content-Security-Policy that forbids loading or running anything and allows only
/// this style, by its hash; the shared style plus `extra_css`, which must not contain `<`.
/// `title` is escaped here. The caller writes the body and closes it with `</body></html>`.
pub fn page_head(title: &str, extra_css: &str) -> String {
    debug_assert!(
        !extra_css.contains('<'),
        "a style must not close its element"
    );
    let css = format!("{CSS}{extra_css}");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css.as_bytes()));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{} {}\">\n<title>{}</title>\n<style>{css}</style>\n\
         </head>\n<body>\n",
        crate::TOOL_NAME,
        env!("CARGO_PKG_VERSION"),
        html_line(title)
    )
}

const FOOT: &str = "<footer>A self-contained page: no scripts, nothing loaded from anywhere. \
     The same verdict, machine-readable: <code>verdict.json</code>; for CI reporters: \
     <code>junit.xml</code>.</footer>\n</body>\n</html>\n";

/// The ABORT record as a page.
pub fn render_error(record: &ErrorRecord) -> String {
    let mut h = head(&format!("SCS conformance: {}: ABORT", record.command));
    let _ = write!(
        h,
        "<header class=\"v-abort\">\n<h1><span class=\"badge abort\">ABORT</span> SCS \
         conformance: no verdict</h1>\n\
         <p class=\"sub\">{} · {} {}</p>\n</header>\n<main>\n<section id=\"error\">\n\
         <h2>ABORT: <code>scs-conformance {}</code> failed</h2>\n<pre class=\"log\">{}</pre>\n\
         <p class=\"muted\">There is no verdict in this folder: <code>error.json</code> \
         records the error.</p>\n</section>\n</main>\n{FOOT}",
        record.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        record.tool.name,
        record.tool.version,
        html_line(&record.command),
        html(&record.error),
    );
    h
}

/// Renders the page.
pub fn render(cert: &Certification) -> String {
    let target = match &cert.target.version {
        Some(v) => format!("{} {v}", cert.target.id),
        None => cert.target.id.clone(),
    };
    let mut h = head(&format!(
        "SCS conformance: {target}: {}",
        cert.verdict.as_str()
    ));
    let _ = write!(
        h,
        "<header class=\"v-{}\">\n<h1>{} SCS conformance: {}</h1>\n\
         <p class=\"meaning\">{}: {}.</p>\n\
         <p class=\"sub\">{}: {} · generated {} by {} {} · waivers judged as of {}</p>\n\
         {}</header>\n<main>\n",
        class(cert.verdict),
        badge(cert.verdict),
        html_line(&target),
        cert.verdict.as_str(),
        meaning(cert.verdict),
        cert.target.kind,
        html_line(&cert.target.name),
        cert.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        cert.tool.name,
        cert.tool.version,
        cert.reference_date,
        cert.target
            .narrowed
            .as_ref()
            .map(|n| format!(
                "<p class=\"warn\"><strong>{}</strong> (focus <code>{}</code>, skip <code>{}</code>)</p>\n",
                html_line(&n.note),
                html_line(&n.focus),
                html_line(&n.skip)
            ))
            .unwrap_or_default(),
    );
    cluster(&mut h, cert);
    overview(&mut h, cert);
    let mut log_budget = MAX_LOG_BYTES;
    for (i, tc) in cert.testcases().enumerate() {
        testcase(&mut h, i, tc, &mut log_budget);
    }
    h.push_str("</main>\n");
    h.push_str(FOOT);
    h
}

fn cluster(h: &mut String, cert: &Certification) {
    let c = &cert.cluster;
    let source = serde_json::to_value(c.cni.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = write!(
        h,
        "<section id=\"cluster\">\n<h2>Cluster</h2>\n<dl class=\"facts\">\n\
         <dt>Kubernetes</dt><dd>{}</dd>\n<dt>CNI</dt><dd>{} <span class=\"muted\">({source})</span></dd>\n",
        html_line(c.kubernetes_version.as_deref().unwrap_or("unknown")),
        html_line(&c.cni.to_string()),
    );
    if let Some(r) = &cert.results {
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let ginkgo = r
            .ginkgo
            .and_then(|g| serde_json::to_value(g).ok())
            .and_then(|v| v.as_str().map(|s| format!(", Ginkgo {s}")))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<dt>E2E results</dt><dd><code>{}</code> <span class=\"muted\">({}{})</span></dd>",
            html_line(&r.source),
            html_line(&kind),
            html_line(&ginkgo)
        );
    }
    if let Some(run) = &cert.run {
        let _ = writeln!(
            h,
            "<dt>Run</dt><dd>namespace <code>{}</code>, Sonobuoy {}, {} run(s)</dd>",
            html_line(&run.namespace),
            html_line(run.sonobuoy_version),
            run.passes.len()
        );
    }
    h.push_str("</dl>\n");
    if let Some(w) = &c.cni.warning {
        let _ = writeln!(
            h,
            "<p class=\"warn\"><strong>Warning:</strong> {} <span class=\"muted\">(no CNI-specific \
             waiver applied)</span></p>",
            html_line(w)
        );
    }
    if let Some(why) = cert.run.as_ref().and_then(|r| r.aborted.as_ref()) {
        let _ = writeln!(
            h,
            "<p class=\"warn\"><strong>The run was aborted:</strong> {}</p>",
            html_line(&why.to_string())
        );
    }
    if let Some(run) = cert.run.as_ref().filter(|r| !r.passes.is_empty()) {
        h.push_str(
            "<h3>Sonobuoy runs</h3>\n<table>\n<thead><tr><th>Test case</th><th>Started</th>\
             <th class=\"n\">Seconds</th><th>Outcome</th></tr></thead>\n<tbody>\n",
        );
        for p in &run.passes {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{:.0}</td><td>{}</td></tr>",
                html_line(&p.testcase),
                p.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                p.seconds,
                html_line(&p.outcome.to_string())
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if !cert.runs.is_empty() {
        let specs = crate::verdict::rerun::specs_per_run(cert);
        h.push_str(
            "<h3>Runs merged</h3>\n<p class=\"muted\">A verdict of <code>rerun-failed</code>: each \
             spec's result comes from one of these runs (<code>tests[].run</code> in verdict.json).</p>\n\
             <table>\n<thead><tr><th class=\"n\">Run</th><th>Command</th><th>Started</th>\
             <th class=\"n\">Specs</th><th>Verdict it wrote</th></tr></thead>\n<tbody>\n",
        );
        for r in &cert.runs {
            let file = match &r.verdict {
                Some(v) => format!(
                    "<code>{}</code> <span class=\"muted\">sha256 {}</span>",
                    html_line(&v.path),
                    html_line(&v.sha256)
                ),
                None => "this page's".into(),
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{file}</td></tr>",
                r.number,
                html_line(&r.command),
                r.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                specs.get(&r.number).copied().unwrap_or(0)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if !c.nodes.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Nodes ({})</h3>\n<table>\n<thead><tr><th>Name</th><th>Roles</th><th>Zone</th>\
             <th>Region</th><th>Kubelet</th><th>OS</th></tr></thead>\n<tbody>",
            c.nodes.len()
        );
        let opt = |o: &Option<String>| html_line(o.as_deref().unwrap_or("–")).into_owned();
        for n in &c.nodes {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_line(&n.name),
                html_line(&n.roles.join(", ")),
                opt(&n.zone),
                opt(&n.region),
                opt(&n.kubelet_version),
                opt(&n.os)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

fn overview(h: &mut String, cert: &Certification) {
    h.push_str(
        "<section id=\"verdicts\">\n<h2>Verdicts</h2>\n<table>\n<thead><tr><th>Test case</th>\
         <th>Verdict</th><th class=\"n\">Passed</th><th class=\"n\">Failed</th>\
         <th class=\"n\">Waived</th><th class=\"n\">Not run</th><th>Why</th></tr></thead>\n<tbody>\n",
    );
    let mut i = 0;
    for m in &cert.modules {
        let url = m
            .url
            .as_deref()
            .map(|u| format!("<span class=\"muted url\">{}</span>", html_line(u)))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr class=\"module\"><td>Module <code>{}</code> {}{url}</td><td class=\"verdict\">{}</td>\
             <td colspan=\"5\"></td></tr>",
            html_line(&m.id),
            html_line(&m.name),
            badge(m.verdict)
        );
        for t in &m.testcases {
            let c = &t.counts;
            let _ = writeln!(
                h,
                "<tr><td><a href=\"#tc-{i}\">{}</a></td><td class=\"verdict\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                html_line(&t.id),
                badge(t.verdict),
                c.passed,
                c.failed,
                c.waived + c.waived_not_run,
                c.not_run + c.skipped_at_runtime,
                html_line(&t.reason)
            );
            i += 1;
        }
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn testcase(h: &mut String, i: usize, tc: &TestcaseVerdict, log_budget: &mut usize) {
    let _ = write!(
        h,
        "<section class=\"testcase\" id=\"tc-{i}\">\n<h2>{} {} <span class=\"muted\">· module \
         {}</span></h2>\n<p>{}</p>\n",
        badge(tc.verdict),
        html_line(&tc.id),
        html_line(&tc.module),
        html_line(&tc.reason)
    );
    match &tc.check {
        CheckInfo::E2e { focus, skip, .. } => {
            let c = &tc.counts;
            let _ = writeln!(
                h,
                "<p class=\"counts\"><span>{} selected</span><span>{} passed</span>\
                 <span>{} failed</span><span>{} waived</span><span>{} did not run</span>{}</p>\n\
                 <p class=\"muted\">e2e focus <code>{}</code>{}</p>",
                c.selected,
                c.passed,
                c.failed,
                c.waived + c.waived_not_run,
                c.not_run + c.skipped_at_runtime,
                if c.waived_but_passed > 0 {
                    format!(
                        "<span>{} passed although waived</span>",
                        c.waived_but_passed
                    )
                } else {
                    String::new()
                },
                html_line(focus),
                if skip.is_empty() {
                    String::new()
                } else {
                    format!(" skip <code>{}</code>", html_line(skip))
                }
            );
        }
        CheckInfo::Native { check } => {
            let name = serde_json::to_value(check)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<p class=\"muted\">native check <code>{}</code></p>",
                html_line(&name)
            );
        }
    }
    for w in &tc.warnings {
        let _ = writeln!(
            h,
            "<p class=\"warn\"><strong>Warning:</strong> {}</p>",
            html_line(w)
        );
    }
    if !tc.findings.is_empty() {
        h.push_str("<h3>Findings</h3>\n<ul>\n");
        for f in &tc.findings {
            let _ = writeln!(h, "<li>{}</li>", html_line(f));
        }
        h.push_str("</ul>\n");
    }
    let of = |want: &[Outcome]| -> Vec<&TestVerdict> {
        tc.tests
            .iter()
            .filter(|t| want.contains(&t.outcome))
            .collect()
    };

    // Failures, and waived failures, are all listed, with their text: a waiver never hides one.
    let failed = of(&[Outcome::Failed]);
    if !failed.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Failed ({})</h3>\n<ul class=\"tests\">",
            failed.len()
        );
        for t in failed {
            h.push_str("<li class=\"failed\">");
            spec_with_log(h, t, "", log_budget);
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n");
    }
    let waived = of(&[Outcome::Waived]);
    if !waived.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Failed, waived ({})</h3>\n<ul class=\"tests\">",
            waived.len()
        );
        for t in waived {
            let note = waiver_of(tc, t)
                .map(|(id, w)| waiver_note("waived by", id, w))
                .unwrap_or_default();
            h.push_str("<li class=\"waived\">");
            spec_with_log(h, t, &note, log_budget);
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n");
    }
    let stale = of(&[Outcome::WaivedButPassed]);
    let expired: Vec<&WaiverUse> = tc
        .waivers
        .iter()
        .filter(|w| w.status == WaiverStatus::Expired && !w.tests.is_empty())
        .collect();
    if !stale.is_empty() || !expired.is_empty() {
        h.push_str("<h3>Stale waivers</h3>\n<ul class=\"tests\">\n");
        for t in stale {
            let note = waiver_of(tc, t)
                .map(|(id, w)| waiver_note("passed although waived by", id, w))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<li class=\"stale\"><span class=\"spec\">{}</span>{note}<span class=\"msg\">the \
                 waiver may no longer be needed</span></li>",
                html_line(&t.name)
            );
        }
        for w in expired {
            let _ = writeln!(
                h,
                "<li class=\"stale\">waiver <code>{}</code> expired {}, so it no longer applies to \
                 the {} test(s) it matches<span class=\"msg\">{}</span></li>",
                html_line(&w.id),
                w.expires.map(|d| d.to_string()).unwrap_or_default(),
                w.tests.len(),
                html_line(&w.reason)
            );
        }
        h.push_str("</ul>\n");
    }
    folded(
        h,
        "Did not run",
        &of(&[
            Outcome::NotRun,
            Outcome::SkippedAtRuntime,
            Outcome::WaivedNotRun,
        ]),
        tc,
        "waived",
    );
    folded(h, "Passed", &of(&[Outcome::Passed]), tc, "passed");
    waivers(h, tc);
    h.push_str("</section>\n");
}

/// A spec with its failure text: the first line next to the name, the whole text (the log)
/// folded below it when there is more.
fn spec_with_log(h: &mut String, t: &TestVerdict, note: &str, log_budget: &mut usize) {
    let message = t.message.as_deref().unwrap_or("failed");
    let first = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("failed");
    let _ = write!(
        h,
        "<span class=\"spec\">{}</span>{note}<span class=\"msg\">{}</span>",
        html_line(&t.name),
        html_line(first)
    );
    let more = message.trim() != first;
    if !more {
        return;
    }
    if message.len() <= *log_budget {
        *log_budget -= message.len();
        let _ = write!(
            h,
            "<details><summary>full text ({} lines)</summary><pre class=\"log\">{}</pre></details>",
            message.lines().count(),
            html(message)
        );
    } else {
        h.push_str(
            "<span class=\"msg\">(the full text is in junit.xml: this page shows no more logs)</span>",
        );
    }
}

/// The id of the waiver that covers a test, and the waiver.
fn waiver_of<'a>(
    tc: &'a TestcaseVerdict,
    t: &'a TestVerdict,
) -> Option<(&'a str, Option<&'a WaiverUse>)> {
    t.waiver
        .as_deref()
        .map(|id| (id, tc.waivers.iter().find(|w| w.id == id)))
}

fn waiver_note(verb: &str, id: &str, w: Option<&WaiverUse>) -> String {
    let mut s = format!(
        " <span class=\"muted\">{verb} <code>{}</code>",
        html_line(id)
    );
    if let Some(w) = w {
        let _ = write!(s, ": {}", html_line(&w.reason));
        if let Some(link) = tracking(w) {
            let _ = write!(s, " ({link})");
        }
    }
    s.push_str("</span>");
    s
}

/// A waiver's tracking reference: a link when it is a plain `http(s)` URL, text otherwise.
fn tracking(w: &WaiverUse) -> Option<String> {
    let t = w.tracking.as_deref()?;
    Some(match html_url(t) {
        Some(url) => {
            let url = html(url);
            format!("<a href=\"{url}\" rel=\"noopener noreferrer\">{url}</a>")
        }
        None => format!("<code>{}</code>", html_line(t)),
    })
}

/// A list folded away by default: long, and not what needs attention.
fn folded(h: &mut String, title: &str, tests: &[&TestVerdict], tc: &TestcaseVerdict, item: &str) {
    if tests.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<details class=\"list\"><summary>{title} ({})</summary>\n<ul class=\"tests\">",
        tests.len()
    );
    for t in tests.iter().take(MAX_LISTED) {
        let why = match t.outcome {
            Outcome::WaivedNotRun => t
                .waiver
                .as_deref()
                .map(|id| {
                    let w = tc.waivers.iter().find(|w| w.id == id);
                    waiver_note("not run, waived by", id, w)
                })
                .unwrap_or_default(),
            Outcome::SkippedAtRuntime => format!(
                "<span class=\"msg\">skipped at runtime: {}</span>",
                html_line(t.message.as_deref().unwrap_or("no reason given"))
            ),
            _ => t
                .message
                .as_deref()
                .map(|m| format!("<span class=\"msg\">{}</span>", html_line(m)))
                .unwrap_or_default(),
        };
        let css = if t.outcome == Outcome::WaivedNotRun {
            "waived"
        } else {
            item
        };
        let _ = writeln!(
            h,
            "<li class=\"{css}\"><span class=\"spec\">{}</span>{why}</li>",
            html_line(&t.name)
        );
    }
    if tests.len() > MAX_LISTED {
        let _ = writeln!(
            h,
            "<li>… and {} more (see verdict.json)</li>",
            tests.len() - MAX_LISTED
        );
    }
    h.push_str("</ul>\n</details>\n");
}

/// The waivers that bore on the test case: status, reason, tracking link, expiry.
fn waivers(h: &mut String, tc: &TestcaseVerdict) {
    // verdict.json's list: those that matched a selected test, and all active or expired ones.
    if tc.waivers.is_empty() {
        return;
    }
    h.push_str(
        "<h3>Waivers</h3>\n<table>\n<thead><tr><th>Waiver</th><th>Status</th><th>Reason</th>\
         <th>Tracking</th><th>Expires</th><th class=\"n\">Matched tests</th></tr></thead>\n<tbody>\n",
    );
    for w in &tc.waivers {
        let status = match w.status {
            WaiverStatus::Active => "applies",
            WaiverStatus::Expired => "expired",
            WaiverStatus::OtherCni => "not for this CNI",
            WaiverStatus::KubernetesVersionMismatch => "not for this Kubernetes version",
            WaiverStatus::CniVersionMismatch => "not for this CNI version",
        };
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code><br><span class=\"muted\">{}</span></td><td>{status}</td>\
             <td>{}</td><td>{}</td><td class=\"date\">{}</td><td class=\"n\">{}</td></tr>",
            html_line(&w.id),
            html_line(&w.origin),
            html_line(&w.reason),
            tracking(w).unwrap_or_else(|| "–".into()),
            w.expires
                .map(|d| d.to_string())
                .unwrap_or_else(|| "–".into()),
            w.tests.len()
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::definitions::catalog::Lifetime;
    use crate::evidence::cni::Cni;
    use crate::verdict::certify::{ClusterFacts, SCHEMA_VERSION, Tool};
    use crate::verdict::{Counts, ModuleVerdict, TargetInfo, TargetKind};

    fn cert(tests: Vec<TestVerdict>, waivers: Vec<WaiverUse>) -> Certification {
        let counts = Counts {
            selected: tests.len(),
            failed: tests.len(),
            ..Default::default()
        };
        let tc = TestcaseVerdict {
            id: "tc<1>".into(),
            module: "m".into(),
            verdict: Verdict::Fail,
            reason: "failed <b>".into(),
            lifetime: Lifetime::Week,
            check: CheckInfo::E2e {
                focus: "f".into(),
                skip: String::new(),
                parallel: false,
                ginkgo_args: Vec::new(),
            },
            cni: Cni::unknown(),
            counts,
            waivers,
            tests,
            findings: Vec::new(),
            warnings: vec!["<i>warn</i>".into()],
            runs: Vec::new(),
        };
        Certification {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: crate::TOOL_NAME,
                version: "0",
            },
            generated_at: "2026-08-01T12:00:00Z".parse().unwrap(),
            reference_date: date(2026, 8, 1),
            target: TargetInfo {
                kind: TargetKind::Module,
                id: "m".into(),
                version: None,
                name: "M".into(),
                narrowed: None,
            },
            verdict: Verdict::Fail,
            cluster: ClusterFacts {
                kubernetes_version: None,
                cni: Cni::unknown(),
                nodes: Vec::new(),
                id: None,
            },
            results: None,
            run: None,
            runs: Vec::new(),
            modules: vec![ModuleVerdict {
                id: "m".into(),
                name: "M".into(),
                url: Some("javascript:alert(1)".into()),
                verdict: Verdict::Fail,
                testcases: vec![tc],
            }],
        }
    }

    fn failed(name: &str, message: &str) -> TestVerdict {
        TestVerdict {
            name: name.into(),
            outcome: Outcome::Failed,
            message: Some(message.into()),
            waiver: None,
            duration_seconds: None,
            run: None,
        }
    }

    #[test]
    fn logs_are_shown_in_full_until_the_page_budget_is_spent() {
        let line = "x".repeat(1023) + "\n";
        let log = format!("[FAILED] boom\n{}", line.repeat(60));
        let n = MAX_LOG_BYTES / log.len() + 3;
        let tests = (0..n).map(|i| failed(&format!("spec {i}"), &log)).collect();
        let page = render(&cert(tests, Vec::new()));
        let shown = page.matches("<pre class=\"log\">").count();
        assert_eq!(shown, MAX_LOG_BYTES / log.len());
        assert_eq!(
            page.matches("the full text is in junit.xml").count(),
            n - shown
        );
        // Every failure is still named, with its first line.
        assert_eq!(page.matches("<li class=\"failed\">").count(), n);
        assert_eq!(page.matches("[FAILED] boom</span>").count(), n);
        assert!(
            page.len() < MAX_LOG_BYTES + 200 * 1024,
            "{} bytes",
            page.len()
        );
    }

    #[test]
    fn no_text_from_evidence_or_definitions_becomes_markup() {
        let waiver = WaiverUse {
            id: "w\"><script>".into(),
            status: WaiverStatus::Expired,
            reason: "<img src=x onerror=alert(1)>".into(),
            tracking: Some("javascript:alert(1)".into()),
            expires: Some(date(2026, 1, 1)),
            origin: "<o>".into(),
            tests: vec!["<t>".into()],
        };
        let page = render(&cert(
            vec![failed("<script>alert(1)</script>", "<b>x</b>\n<i>log</i>")],
            vec![waiver],
        ));
        for raw in [
            "<script", "<img", "<b>", "<i>", "<o>", "<t>", "tc<1>", "w\">",
        ] {
            assert!(!page.contains(raw), "{raw} in the page");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("<code>w&quot;&gt;&lt;script&gt;</code>"));
        assert!(page.contains("<code>javascript:alert(1)</code>"));
        assert!(!page.contains("href=\"javascript"));
        // The only elements that carry addresses: in-page anchors.
        for href in page.split("href=\"").skip(1) {
            assert!(href.starts_with("#tc-"), "{href}");
        }
        assert!(!page.contains(" src=\""));
    }

    #[test]
    fn the_policy_admits_the_page_s_own_style_by_its_hash() {
        let page = render_error(&ErrorRecord::new("verdict", "x"));
        let style = page
            .split("<style>")
            .nth(1)
            .and_then(|s| s.split("</style>").next())
            .unwrap();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
        assert!(page.contains(&format!("style-src 'sha256-{hash}'")));
        assert!(page.contains("default-src 'none'"));
    }

    #[test]
    fn a_merged_verdict_lists_its_runs_with_the_files_they_wrote_as_text() {
        use crate::verdict::rerun::{RunInfo, VerdictFile};
        let mut test = failed("spec", "[FAILED] boom");
        test.run = Some(2);
        let mut c = cert(vec![test], Vec::new());
        let run = |number, verdict| RunInfo {
            number,
            command: "rerun-failed".into(),
            started_at: "2026-08-01T10:00:00Z".parse().unwrap(),
            namespace: None,
            sonobuoy_uuids: Vec::new(),
            verdict,
        };
        c.runs = vec![
            run(
                1,
                Some(VerdictFile {
                    path: "<script>x</script>/verdict.json".into(),
                    sha256: "ab".repeat(32),
                    generated_at: "2026-08-01T09:00:00Z".parse().unwrap(),
                }),
            ),
            run(2, None),
        ];
        let page = render(&c);
        assert!(page.contains("<h3>Runs merged</h3>"), "{page}");
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;/verdict.json"));
        assert!(!page.contains("<script>"));
        assert!(page.contains(&"ab".repeat(32)));
        // Run 2 gave the one spec, run 1 none.
        assert!(page.contains("<td class=\"n\">2</td><td>rerun-failed</td><td>2026-08-01 10:00:00 UTC</td><td class=\"n\">1</td>"), "{page}");
    }
}
