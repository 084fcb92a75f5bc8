//! The fleet's own outputs: `summary.md` (a matrix of subjects × test cases with verdicts and
//! links into each subject's folder) and `fleet.json` (the same, for machines).

use std::fmt::Write as _;
use std::path::Path;

use super::{JobOutcome, exit_code};
use scs_conformance::reports::escape::markdown_text;
use scs_conformance::verdict::{self, Verdict};

fn symbol(v: Verdict) -> &'static str {
    // The compliance monitor's symbols (templates/details.md.j2).
    match v {
        Verdict::Pass => "✅",
        Verdict::Fail => "🛑",
        Verdict::Abort => "❔",
        Verdict::Missing => "❓",
    }
}

/// A Markdown link target relative to the summary (spaces and parentheses escaped).
fn href(p: &Path) -> String {
    p.to_string_lossy()
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
}

/// Table-cell text: one line, at most 200 characters, Markdown structure escaped (subject names
/// come from a config, reasons from clusters; `<b>` must stay text).
fn cell(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 200 {
        format!(
            "{}…",
            markdown_text(&one.chars().take(200).collect::<String>())
        )
    } else {
        markdown_text(&one)
    }
}

/// Renders `summary.md`. `out` is the fleet's output directory (links are relative to it and
/// point only at files that exist).
pub fn markdown(jobs: &[JobOutcome], out: &Path, wall_seconds: f64, workers: usize) -> String {
    let overall = verdict::overall(jobs.iter().map(|j| j.verdict));
    let mut columns: Vec<&str> = Vec::new();
    for j in jobs {
        for t in &j.testcases {
            if !columns.contains(&t.id.as_str()) {
                columns.push(&t.id);
            }
        }
    }
    let mut m = String::new();
    let count = |v: Verdict| jobs.iter().filter(|j| j.verdict == v).count();
    let _ = writeln!(
        m,
        "# SCS fleet certification: {} {}\n",
        symbol(overall),
        overall.as_str()
    );
    let _ = writeln!(
        m,
        "{} (scope, subject) pairs: {} PASS, {} FAIL, {} ABORT, {} MISSING; {} at a time, {} wall time; exit code {}.\n",
        jobs.len(),
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Abort),
        count(Verdict::Missing),
        workers,
        super::human(std::time::Duration::from_secs_f64(wall_seconds.max(0.0))),
        exit_code(jobs)
    );
    m.push_str("| Subject | Scope | Verdict |");
    for c in &columns {
        let _ = write!(m, " {c} |");
    }
    m.push_str(" Time | Report |\n|---|---|---|");
    for _ in &columns {
        m.push_str("---|");
    }
    m.push_str("---|---|\n");
    for j in jobs {
        let _ = write!(
            m,
            "| [{}]({}/) | {} | {} {} |",
            cell(&j.subject),
            href(&j.dir),
            cell(&j.scope.id),
            symbol(j.verdict),
            j.verdict.as_str()
        );
        for c in &columns {
            match j.testcases.iter().find(|t| t.id == *c) {
                None => m.push_str(" – |"),
                Some(t) => {
                    let summary = t.dir.join("summary.md");
                    let stderr = t
                        .dir
                        .parent()
                        .map(|d| d.join(format!("{}.stderr", t.id)))
                        .unwrap_or_default();
                    let mut text = format!("{} {}", symbol(t.verdict), t.verdict.as_str());
                    if let Some(r) = &t.reused {
                        let _ = write!(text, " (reused, {})", day(r.entry.checked_at));
                    }
                    if out.join(&summary).is_file() {
                        let _ = write!(m, " [{text}]({}) |", href(&summary));
                    } else if out.join(&stderr).is_file() {
                        let _ = write!(m, " [{text}]({}) |", href(&stderr));
                    } else {
                        let _ = write!(m, " {text} |");
                    }
                }
            }
        }
        let report = j.dir.join("report.yaml");
        let published = match &j.published {
            Some(Ok(_)) => " (published)",
            Some(Err(_)) => " (**not published**)",
            None => "",
        };
        let _ = writeln!(
            m,
            " {} | [report.yaml]({}){published} |",
            super::human(std::time::Duration::from_secs_f64(j.seconds.max(0.0))),
            href(&report)
        );
    }
    let not_passed = super::NotPassed::of(jobs);
    let (problems, publish_errors) = (&not_passed.testcases, &not_passed.publish_errors);
    if !not_passed.is_empty() {
        m.push_str("\n## Not passed\n\n");
        for (j, t) in problems {
            let _ = writeln!(
                m,
                "- **{}** {} `{}`: {}{} {}",
                cell(&j.subject),
                cell(&j.scope.id),
                t.id,
                t.verdict.as_str(),
                t.reused
                    .as_ref()
                    .map(|r| format!(
                        " (reused result of {})",
                        r.entry.checked_at.strftime("%Y-%m-%d %H:%M UTC")
                    ))
                    .unwrap_or_default(),
                if t.reason.is_empty() {
                    String::new()
                } else {
                    format!("— {}", cell(&t.reason))
                }
            );
        }
        for (j, e) in publish_errors {
            let _ = writeln!(
                m,
                "- **{}** {}: report not published — {}",
                cell(&j.subject),
                cell(&j.scope.id),
                cell(e)
            );
        }
    }
    m.push_str(
        "\nEach subject's folder holds, per test case, the check's outputs (`verdict.json`, \
         `junit.xml`, `summary.md`, Sonobuoy results), its stdout and stderr, and the subject's \
         SCS report (`report.yaml`).\n",
    );
    if jobs
        .iter()
        .any(|j| j.testcases.iter().any(|t| t.reused.is_some()))
    {
        m.push_str(
            "\n*Reused*: a test case whose last result was still fresh did not run again \
             (`--skip-fresh`); its verdict, date and outputs are those of the run that produced \
             it, and this run's report has no invocation for it.\n",
        );
    }
    m
}

/// A UTC day, `2026-12-02`.
pub fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// `fleet.json`: the outcome of every job and test case, and the exit code.
pub fn json(jobs: &[JobOutcome], wall_seconds: f64, workers: usize) -> serde_json::Value {
    let overall = verdict::overall(jobs.iter().map(|j| j.verdict));
    serde_json::json!({
        "verdict": if jobs.is_empty() { "PASS" } else { overall.as_str() },
        "exit_code": exit_code(jobs),
        "workers": workers,
        "seconds": wall_seconds,
        "jobs": jobs.iter().map(|j| serde_json::json!({
            "subject": j.subject,
            "scope": j.scope.id,
            "verdict": j.verdict.as_str(),
            "dir": j.dir,
            "started": j.started.strftime("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            "report_uuid": j.run_uuid,
            "seconds": j.seconds,
            "timed_out": j.timed_out,
            "interrupted": j.interrupted,
            "published": match &j.published {
                None => serde_json::Value::Null,
                Some(Ok(m)) => serde_json::json!({"ok": true, "message": m}),
                Some(Err(m)) => serde_json::json!({"ok": false, "message": m}),
            },
            "testcases": j.testcases.iter().map(|t| serde_json::json!({
                "id": t.id,
                "verdict": t.verdict.as_str(),
                "reason": t.reason,
                "rc": t.rc,
                "dir": t.dir,
                "seconds": t.seconds,
                "started": !t.cmd.is_empty(),
                "reused": t.reused.as_ref().map(|r| serde_json::json!({
                    "checked_at": r.entry.checked_at.to_string(),
                    "valid_until": r.expires.to_string(),
                    "report_uuid": r.entry.report_uuid,
                })),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
