//! `fleet.html`: the fleet's matrix as one self-contained page, in the style of each check's
//! `report.html` (the head, style, policy and badges are the engine's,
//! `scs_conformance::reports::html`): a row per (scope, subject), a column per test case, each
//! cell the verdict (colour and word) with links to that test case's `report.html` and
//! `verdict.json` (or its stderr when it wrote none), reused results marked with their date, and
//! the reasons of everything that did not pass.
//!
//! Everything that comes from the config or from results (subject names, reasons, paths) goes
//! through the engine's escaping; links are relative paths into the output directory, and point
//! only at files that exist.

use std::fmt::Write as _;
use std::path::Path;

use scs_conformance::reports::escape::{html, html_line};
use scs_conformance::reports::html::{badge, class, page_head};
use scs_conformance::verdict::{self, Verdict};

use super::{JobOutcome, exit_code};

/// File name of the page in the fleet's output directory.
pub const FILE_NAME: &str = "fleet.html";
/// How much of a reason a cell shows (the list below the matrix has all of it).
const MAX_CELL_REASON: usize = 160;

const CSS: &str = r#"
.matrix { overflow-x: auto; }
table.fleet th[scope=row], table.fleet td.scope { white-space: nowrap; }
td.cell { border-left: 4px solid var(--line); white-space: nowrap; }
td.cell.v-pass { border-left-color: var(--pass); }
td.cell.v-fail { border-left-color: var(--fail); }
td.cell.v-abort { border-left-color: var(--abort); }
td.cell.v-missing { border-left-color: var(--missing); }
td.cell .links { display: block; font-size: 0.82em; }
td.cell .links a { margin-right: 8px; }
td.cell .reused { display: block; font-size: 0.82em; color: var(--muted); font-style: italic; }
td.cell .why { display: block; max-width: 26em; white-space: normal; overflow-wrap: anywhere;
  color: var(--muted); font-size: 0.85em; }
td.none { color: var(--muted); text-align: center; }
ul.problems li { margin: 4px 0; }
"#;

/// A relative path as an `href`: percent-encoded outside `[A-Za-z0-9._~/-]`, then escaped for
/// the attribute.
fn href(p: &Path) -> String {
    let mut out = String::new();
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"._~/-".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    html(&out).into_owned()
}

fn link(out: &Path, p: &Path, text: &str) -> Option<String> {
    out.join(p)
        .is_file()
        .then(|| format!("<a href=\"{}\">{}</a>", href(p), html_line(text)))
}

/// Renders `fleet.html`. `out` is the fleet's output directory (links are relative to it).
pub fn render(
    jobs: &[JobOutcome],
    out: &Path,
    wall_seconds: f64,
    workers: usize,
    generated: jiff::Timestamp,
) -> String {
    let overall = if jobs.is_empty() {
        Verdict::Pass
    } else {
        verdict::overall(jobs.iter().map(|j| j.verdict))
    };
    let mut columns: Vec<&str> = Vec::new();
    for j in jobs {
        for t in &j.testcases {
            if !columns.contains(&t.id.as_str()) {
                columns.push(&t.id);
            }
        }
    }
    let count = |v: Verdict| jobs.iter().filter(|j| j.verdict == v).count();
    let reused = jobs
        .iter()
        .flat_map(|j| &j.testcases)
        .filter(|t| t.reused.is_some())
        .count();
    let mut h = page_head(
        &format!("SCS fleet certification: {}", overall.as_str()),
        CSS,
    );
    let _ = write!(
        h,
        "<header class=\"v-{}\">\n<h1>{} SCS fleet certification</h1>\n\
         <p class=\"meaning\">{} (scope, subject) pairs: {} PASS, {} FAIL, {} ABORT, {} MISSING; \
         exit code {}.</p>\n\
         <p class=\"sub\">generated {} by {} {} · {} at a time · {} wall time{}</p>\n</header>\n<main>\n",
        class(overall),
        badge(overall),
        jobs.len(),
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Abort),
        count(Verdict::Missing),
        exit_code(jobs),
        generated.strftime("%Y-%m-%d %H:%M:%S UTC"),
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        workers,
        super::human(std::time::Duration::from_secs_f64(wall_seconds.max(0.0))),
        if reused > 0 {
            format!(" · {reused} result(s) reused")
        } else {
            String::new()
        }
    );
    h.push_str(
        "<section id=\"matrix\">\n<h2>Subjects × test cases</h2>\n<div class=\"matrix\">\n\
         <table class=\"fleet\">\n<thead><tr><th>Subject</th><th>Scope</th><th>Verdict</th>",
    );
    for c in &columns {
        let _ = write!(h, "<th><code>{}</code></th>", html_line(c));
    }
    h.push_str("<th class=\"n\">Time</th><th>Report</th></tr></thead>\n<tbody>\n");
    for j in jobs {
        let _ = write!(
            h,
            "<tr data-subject=\"{}\"><th scope=\"row\"><a href=\"{}/\">{}</a></th><td class=\"scope\">{}</td>\
             <td class=\"verdict\">{}</td>",
            html(&j.subject),
            href(&j.dir),
            html_line(&j.subject),
            html_line(&j.scope.id),
            badge(j.verdict)
        );
        for c in &columns {
            let Some(t) = j.testcases.iter().find(|t| t.id == *c) else {
                h.push_str("<td class=\"none\" title=\"not selected\">–</td>");
                continue;
            };
            let mut links: Vec<String> = [("report.html", "report"), ("verdict.json", "json")]
                .iter()
                .filter_map(|(file, text)| link(out, &t.dir.join(file), text))
                .collect();
            if links.is_empty() {
                let stderr = t
                    .dir
                    .parent()
                    .map(|d| d.join(format!("{}.stderr", t.id)))
                    .unwrap_or_default();
                links.extend(link(out, &stderr, "stderr"));
            }
            let _ = write!(
                h,
                "<td class=\"cell v-{}\" data-testcase=\"{}\">{}",
                class(t.verdict),
                html(&t.id),
                badge(t.verdict)
            );
            if let Some(r) = &t.reused {
                let _ = write!(
                    h,
                    "<span class=\"reused\" title=\"not run again: the last result, checked at {}, \
                     is valid until {}\">reused · {}</span>",
                    r.entry.checked_at.strftime("%Y-%m-%d %H:%M UTC"),
                    r.expires.strftime("%Y-%m-%d %H:%M UTC"),
                    super::summary::day(r.entry.checked_at)
                );
            }
            if !links.is_empty() {
                let _ = write!(h, "<span class=\"links\">{}</span>", links.join(" "));
            }
            if t.verdict != Verdict::Pass && !t.reason.is_empty() {
                // In the cell, the start of the reason; all of it in the tooltip and below.
                let short: String = t.reason.chars().take(MAX_CELL_REASON).collect();
                let more = if short.len() < t.reason.len() {
                    "…"
                } else {
                    ""
                };
                let _ = write!(
                    h,
                    "<span class=\"why\" title=\"{}\">{}{more}</span>",
                    html_line(&t.reason),
                    html_line(&short)
                );
            }
            h.push_str("</td>");
        }
        let published = match &j.published {
            Some(Ok(_)) => " <span class=\"muted\">(published)</span>",
            Some(Err(_)) => " <strong>(not published)</strong>",
            None => "",
        };
        let _ = writeln!(
            h,
            "<td class=\"n\">{}</td><td>{}{published}</td></tr>",
            super::human(std::time::Duration::from_secs_f64(j.seconds.max(0.0))),
            link(out, &j.dir.join("report.yaml"), "report.yaml").unwrap_or_default()
        );
    }
    h.push_str("</tbody>\n</table>\n</div>\n</section>\n");

    let not_passed = super::NotPassed::of(jobs);
    let (problems, publish_errors) = (&not_passed.testcases, &not_passed.publish_errors);
    if !not_passed.is_empty() {
        h.push_str("<section id=\"problems\">\n<h2>Not passed</h2>\n<ul class=\"problems\">\n");
        for (j, t) in problems {
            let _ = writeln!(
                h,
                "<li>{} <strong>{}</strong> {} <code>{}</code>{}: {}</li>",
                badge(t.verdict),
                html_line(&j.subject),
                html_line(&j.scope.id),
                html_line(&t.id),
                t.reused
                    .as_ref()
                    .map(|r| format!(
                        " <span class=\"muted\">(reused result of {})</span>",
                        r.entry.checked_at.strftime("%Y-%m-%d %H:%M UTC")
                    ))
                    .unwrap_or_default(),
                if t.reason.is_empty() {
                    "no reason recorded".into()
                } else {
                    html_line(&t.reason).into_owned()
                }
            );
        }
        for (j, e) in publish_errors {
            let _ = writeln!(
                h,
                "<li><strong>{}</strong> {}: report not published: {}</li>",
                html_line(&j.subject),
                html_line(&j.scope.id),
                html_line(e)
            );
        }
        h.push_str("</ul>\n</section>\n");
    }
    h.push_str(
        "</main>\n<footer>A self-contained page: no scripts, nothing loaded from anywhere. Each \
         subject's folder holds, per test case, the check's <code>report.html</code>, \
         <code>verdict.json</code>, <code>junit.xml</code> and logs, and the subject's SCS \
         report (<code>report.yaml</code>). The same matrix for machines: \
         <code>fleet.json</code>. <em>Reused</em>: the last result was still fresh \
         (<code>--skip-fresh</code>), so the test case did not run again; its outputs are \
         those of the run that produced it.</footer>\n</body>\n</html>\n",
    );
    h
}
