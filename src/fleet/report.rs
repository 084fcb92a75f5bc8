//! The SCS report of one (scope, subject), built the way `scs-compliance-check.py` builds it
//! from its scripts (`create_report()`): one invocation per check process, with its command
//! line, exit code, stdout and stderr lines, the results parsed from stdout and the counts of
//! `info`/`warning`/`error`/`critical` lines. The fleet's `-o` file is these documents
//! concatenated, as `scs-test-runner.py` concatenates its per-(scope, subject) reports.

use jiff::civil::Date;

use scs_conformance::scs::report::{Document, Invocation, SpecRef};

use super::JobOutcome;

/// Renders one job's document (starting with `---`, like SCS's `explicit_start=True`) with the
/// engine's report writer. Test cases that never started have no invocation (SCS: not run, no
/// result); nor have reused ones (`--skip-fresh`): their result is in the earlier document that
/// carried it, with that document's `checked_at`, and repeating it here would date it to this
/// run and stretch its lifetime on the monitor.
pub fn render(
    job: &JobOutcome,
    argv: &[String],
    sections: Option<&[String]>,
    reference_date: Date,
) -> String {
    Document {
        spec: SpecRef {
            uuid: &job.scope.uuid,
            name: &job.scope.name,
            url: &job.scope.url,
        },
        checked_at: &job.started,
        reference_date,
        subject: &job.subject,
        run_uuid: &job.run_uuid,
        argv,
        assignment: &job.mapping,
        sections,
        forced_version: None,
        forced_tests: None,
        invocations: job
            .testcases
            .iter()
            .filter(|t| !t.cmd.is_empty())
            .map(|t| Invocation {
                id: uuid::Uuid::new_v4().to_string(),
                cmd: t.cmd.clone(),
                results: t.result.map(|v| (t.id.clone(), v)).into_iter().collect(),
                rc: t.rc.unwrap_or(-1),
                stdout: t.stdout.clone(),
                stderr: t.stderr.clone(),
            })
            .collect(),
    }
    .render()
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
                verdict: Verdict::Pass,
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
