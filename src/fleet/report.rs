//! The SCS report of one (scope, subject), built the way `scs-compliance-check.py` builds it
//! from its scripts (`create_report()`): one invocation per check process, with its command
//! line, exit code, stdout and stderr lines, the results parsed from stdout and the counts of
//! `info`/`warning`/`error`/`critical` lines. The fleet's `-o` file is these documents
//! concatenated, as `scs-test-runner.py` concatenates its per-(scope, subject) reports.

use std::fmt::Write as _;

use jiff::civil::Date;

use scs_conformance::scs::report::{timestamp, yaml_list, yaml_quote};

use super::JobOutcome;

/// Renders one job's document (starting with `---`, like SCS's `explicit_start=True`). Test
/// cases that never started have no invocation (SCS: not run, no result); nor have reused ones
/// (`--skip-fresh`): their result is in the earlier document that carried it, with that
/// document's `checked_at`, and repeating it here would date it to this run and stretch its
/// lifetime on the monitor.
pub fn render(
    job: &JobOutcome,
    argv: &[String],
    sections: Option<&[String]>,
    reference_date: Date,
) -> String {
    let mut y = String::new();
    y.push_str("---\n");
    y.push_str("spec:\n");
    let _ = writeln!(y, "  uuid: {}", yaml_quote(&job.scope.uuid));
    let _ = writeln!(y, "  name: {}", yaml_quote(&job.scope.name));
    let _ = writeln!(y, "  url: {}", yaml_quote(&job.scope.url));
    let _ = writeln!(y, "checked_at: {}", timestamp(&job.started));
    let _ = writeln!(y, "reference_date: {}", reference_date.strftime("%Y-%m-%d"));
    let _ = writeln!(y, "subject: {}", yaml_quote(&job.subject));
    y.push_str("run:\n");
    let _ = writeln!(y, "  uuid: {}", yaml_quote(&job.run_uuid));
    yaml_list(&mut y, 2, "argv", argv);
    if job.mapping.is_empty() {
        y.push_str("  assignment: {}\n");
    } else {
        y.push_str("  assignment:\n");
        for (k, v) in &job.mapping {
            let _ = writeln!(y, "    {}: {}", yaml_quote(k), yaml_quote(v));
        }
    }
    match sections {
        Some(s) => yaml_list(&mut y, 2, "sections", s),
        None => y.push_str("  sections: null\n"),
    }
    y.push_str("  forced_version: null\n");
    y.push_str("  forced_tests: null\n");
    let ran: Vec<_> = job.testcases.iter().filter(|t| !t.cmd.is_empty()).collect();
    if ran.is_empty() {
        y.push_str("  invocations: {}\n");
        return y;
    }
    y.push_str("  invocations:\n");
    for t in ran {
        let id = uuid::Uuid::new_v4().to_string();
        let _ = writeln!(y, "    {}:", yaml_quote(&id));
        let _ = writeln!(y, "      id: {}", yaml_quote(&id));
        let _ = writeln!(y, "      cmd: {}", yaml_quote(&t.cmd));
        match t.result {
            Some(v) => {
                y.push_str("      results:\n");
                let _ = writeln!(y, "        {}: {v}", yaml_quote(&t.id));
            }
            None => y.push_str("      results: {}\n"),
        }
        let _ = writeln!(y, "      rc: {}", t.rc.unwrap_or(-1));
        yaml_list(&mut y, 6, "stdout", &t.stdout);
        yaml_list(&mut y, 6, "stderr", &t.stderr);
        for signal in ["info", "warning", "error", "critical"] {
            let n = t
                .stdout
                .iter()
                .chain(&t.stderr)
                .filter(|l| l.to_lowercase().starts_with(signal))
                .count();
            let _ = writeln!(y, "      {signal}: {n}");
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{ScopeInfo, TestcaseOutcome};
    use scs_conformance::verdict::Verdict;
    use std::path::PathBuf;

    #[test]
    fn a_job_renders_as_an_scs_report_document() {
        let tc = |id: &str, cmd: &str, result: Option<i8>| TestcaseOutcome {
            id: id.into(),
            module: "scs-0219-v1".into(),
            lifetime: scs_conformance::definitions::catalog::Lifetime::Month,
            reused: None,
            verdict: Verdict::Abort,
            reason: String::new(),
            cmd: cmd.into(),
            rc: Some(112),
            stdout: vec![format!("{id}: ABORT")],
            stderr: vec!["critical: cannot reach \"x\"".into(), "info: y".into()],
            result,
            dir: PathBuf::from("s/scope").join(id),
            seconds: 1.0,
        };
        let job = JobOutcome {
            scope: ScopeInfo {
                id: "scs-compatible-kaas".into(),
                name: "SCS-compatible KaaS".into(),
                uuid: "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180".into(),
                url: "https://example/scope.yaml".into(),
                versions: vec!["v1".into()],
            },
            subject: "s-1.35".into(),
            mapping: [("kubeconfig".to_string(), "s-1.35/kc".to_string())].into(),
            testcases: vec![
                tc(
                    "kaas-networking-check",
                    "scs-conformance scs-check run",
                    Some(0),
                ),
                tc("version-policy-check", "", None),
            ],
            verdict: Verdict::Abort,
            dir: PathBuf::from("s/scope"),
            started: jiff::civil::date(2026, 12, 2).at(3, 4, 5, 0),
            started_at: "2026-12-02T03:04:05Z".parse().unwrap(),
            run_uuid: "6d3f0c1e-0000-4000-8000-000000000001".into(),
            seconds: 1.0,
            timed_out: false,
            interrupted: false,
            published: None,
        };
        let y = render(
            &job,
            &["scs-conformance".into(), "fleet".into()],
            Some(&["light".to_string()]),
            jiff::civil::date(2026, 12, 2),
        );
        assert!(y.starts_with("---\nspec:\n  uuid: \"1fffebe6-"), "{y}");
        assert!(y.contains("checked_at: 2026-12-02 03:04:05\n"), "{y}");
        assert!(y.contains("subject: \"s-1.35\"\n"), "{y}");
        assert!(
            y.contains("run:\n  uuid: \"6d3f0c1e-0000-4000-8000-000000000001\"\n"),
            "{y}"
        );
        assert!(y.contains("  sections:\n  - \"light\"\n"), "{y}");
        assert!(y.contains("        \"kaas-networking-check\": 0\n"), "{y}");
        assert!(
            y.contains("      - \"critical: cannot reach \\\"x\\\"\"\n"),
            "{y}"
        );
        assert!(y.contains("      critical: 1\n"), "{y}");
        assert!(y.contains("      rc: 112\n"), "{y}");
        // A test case that never started has no invocation.
        assert!(!y.contains("version-policy-check"), "{y}");
        assert_eq!(y.matches("      id: ").count(), 1);

        // Nor has a reused one: its result stays in the earlier document, with its checked_at.
        let mut reused = tc("node-distribution-check", "", Some(1));
        reused.verdict = Verdict::Pass;
        reused.reused = Some(crate::fleet::reuse::Reused {
            entry: crate::fleet::reuse::Entry {
                id: "node-distribution-check".into(),
                module: "scs-0214-v2".into(),
                verdict: "PASS".into(),
                result: Some(1),
                reason: String::new(),
                checked_at: "2026-11-30T03:00:00Z".parse().unwrap(),
                lifetime: scs_conformance::definitions::catalog::Lifetime::Week,
                report_uuid: "earlier".into(),
                published: true,
            },
            expires: "2026-12-14T00:00:00Z".parse().unwrap(),
        });
        let mut job = job;
        job.testcases = vec![reused];
        let y = render(
            &job,
            &["fleet".into()],
            None,
            jiff::civil::date(2026, 12, 2),
        );
        assert!(y.ends_with("  sections: null\n  forced_version: null\n  forced_tests: null\n  invocations: {}\n"), "{y}");
        assert!(!y.contains("node-distribution-check"), "{y}");
    }
}
