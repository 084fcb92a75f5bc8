//! The last result of each test case of a (scope, subject), and whether `fleet --skip-fresh` may
//! reuse it instead of running the test case again (docs/fleet.md, "Reusing fresh results").
//!
//! Every fleet run writes `OUT/SUBJECT/SCOPE/last-results.json` next to the (scope, subject)'s
//! `report.yaml`: per test case, the verdict, the result value of the report, when it was
//! checked (the `checked_at` of the report document that carries it), that document's run uuid
//! and whether it was published. A result produced now replaces the entry; a reused one keeps its
//! entry (and so its original date); a test case that did not run (not selected, interrupted)
//! keeps its earlier entry. The file is written after the run and after publishing, together
//! with the fleet's other outputs.
//!
//! [`decide`] reuses an entry only if every one of these holds, else the test case runs:
//!
//! * the file exists and is a well-formed record of this schema;
//! * it is about the same subject (by its exact name: two names can map to one folder) and the
//!   same scope (id, uuid and versions) and the test case is of the same module;
//! * the verdict is PASS or FAIL (an ABORT says nothing about the cluster: never reused);
//! * when publishing, its report was published (else the monitor never saw it);
//! * it is not dated in the future, and stays within the test case's lifetime (from the current
//!   definition, by the monitor's rule, [`Lifetime::expiry`]) for at least the margin from now;
//! * the test case's outputs are still there: `TESTCASE/verdict.json` names this test case and
//!   the same verdict (a result whose evidence is gone, or was replaced, is not reused).

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::{JobOutcome, ScopeInfo, TestcaseSpec};
use scs_conformance::definitions::catalog::Lifetime;
use scs_conformance::verdict::Verdict;

/// File name of the record in a (scope, subject)'s folder.
pub const FILE_NAME: &str = "last-results.json";
/// Version of the record's format; a record of another version is not read.
pub const SCHEMA_VERSION: u32 = 1;
/// The default `--fresh-margin`: a result must stay valid one more day, so that a nightly fleet
/// renews it before it expires on the monitor.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(24 * 3600);
/// Clock skew tolerated on a record's date.
const SKEW: Duration = Duration::from_secs(300);

/// The last results of a (scope, subject).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub schema_version: u32,
    pub subject: String,
    pub scope: RecordScope,
    pub testcases: Vec<Entry>,
}

/// The scope a record is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordScope {
    pub id: String,
    pub uuid: String,
    pub versions: Vec<String>,
}

/// The last result of one test case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub module: String,
    /// `PASS`, `FAIL` or `ABORT` (as verdict.json spells it).
    pub verdict: Verdict,
    /// The value in the report's `results` (1, -1, 0), if any.
    pub result: Option<i8>,
    pub reason: String,
    /// The `checked_at` of the report document that carries this result.
    pub checked_at: Timestamp,
    /// The lifetime when the result was produced (for people; the decision uses the current
    /// definition's).
    pub lifetime: Lifetime,
    /// `run.uuid` of that report document.
    pub report_uuid: String,
    /// Whether that document was published (stored or already stored on the monitor).
    pub published: bool,
}

/// Reads a (scope, subject)'s record; the error says why there is none to use.
pub fn load(job_dir: &Path) -> Result<Record, String> {
    let path = job_dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("no earlier result ({FILE_NAME} not found)"));
        }
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    let record: Record = serde_json::from_str(&text)
        .map_err(|e| format!("{}: malformed, not used: {e}", path.display()))?;
    if record.schema_version != SCHEMA_VERSION {
        return Err(format!(
            "{}: schema_version {} is not {SCHEMA_VERSION}, not used",
            path.display(),
            record.schema_version
        ));
    }
    Ok(record)
}

/// How a fleet reuses results.
#[derive(Debug, Clone)]
pub struct Policy {
    pub now: Timestamp,
    /// A result must stay valid at least this much longer.
    pub margin: Duration,
    /// Publishing: reuse only results whose report was published.
    pub need_published: bool,
    /// The zone `checked_at` is local to (SCS writes local wall-clock time).
    pub tz: TimeZone,
}

/// Reuse the entry, or run the test case (and why).
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Reuse { entry: Entry, expires: Timestamp },
    Run(String),
}

/// Whether the record fits this (scope, subject) at all.
pub fn fits(record: &Record, subject: &str, scope: &ScopeInfo) -> Result<(), String> {
    if record.subject != subject {
        return Err(format!(
            "the earlier results in this folder are of subject {:?}",
            record.subject
        ));
    }
    let want = RecordScope {
        id: scope.id.clone(),
        uuid: scope.uuid.clone(),
        versions: scope.versions.clone(),
    };
    if record.scope != want {
        return Err(format!(
            "the earlier results are of scope {} {} (versions {}), now {} {} (versions {})",
            record.scope.id,
            record.scope.uuid,
            record.scope.versions.join(","),
            want.id,
            want.uuid,
            want.versions.join(",")
        ));
    }
    Ok(())
}

/// Decides for one test case of a job; `job_dir` is the (scope, subject)'s folder.
pub fn decide(
    previous: &Result<Record, String>,
    subject: &str,
    scope: &ScopeInfo,
    tc: &TestcaseSpec,
    job_dir: &Path,
    policy: &Policy,
) -> Decision {
    let record = match previous {
        Ok(r) => r,
        Err(why) => return Decision::Run(why.clone()),
    };
    if let Err(why) = fits(record, subject, scope) {
        return Decision::Run(why);
    }
    let Some(entry) = record.testcases.iter().find(|e| e.id == tc.id) else {
        return Decision::Run("no earlier result".into());
    };
    if entry.module != tc.module {
        return Decision::Run(format!(
            "the earlier result is of module {}, now {}",
            entry.module, tc.module
        ));
    }
    match entry.verdict {
        Verdict::Pass | Verdict::Fail => {}
        Verdict::Abort | Verdict::Missing => {
            return Decision::Run(format!(
                "the last result was {}, which is never reused",
                entry.verdict.as_str()
            ));
        }
    }
    if policy.need_published && !entry.published {
        return Decision::Run(
            "the last result's report was not published, so the monitor does not have it".into(),
        );
    }
    if entry.checked_at > policy.now + SKEW {
        return Decision::Run(format!(
            "the last result is dated in the future ({})",
            entry.checked_at
        ));
    }
    let local = entry.checked_at.to_zoned(policy.tz.clone()).datetime();
    let expires = tc
        .lifetime
        .expiry(local)
        .to_zoned(policy.tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or(entry.checked_at);
    let margin = jiff::SignedDuration::try_from(policy.margin).unwrap_or_default();
    if policy.now >= expires {
        return Decision::Run(format!(
            "the last result ({} of {}) expired at {expires} (lifetime {})",
            entry.verdict.as_str(),
            entry.checked_at,
            tc.lifetime.as_str()
        ));
    }
    if policy.now + margin >= expires {
        return Decision::Run(format!(
            "the last result ({} of {}) expires at {expires} (lifetime {}), within the margin of {}",
            entry.verdict.as_str(),
            entry.checked_at,
            tc.lifetime.as_str(),
            super::human(policy.margin)
        ));
    }
    let vj = job_dir.join(&tc.id).join("verdict.json");
    let outputs: Option<serde_json::Value> = std::fs::read_to_string(&vj)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let matches = outputs.as_ref().is_some_and(|v| {
        v["target"]["id"].as_str() == Some(tc.id.as_str())
            && v["verdict"].as_str() == Some(entry.verdict.as_str())
    });
    if !matches {
        return Decision::Run(format!(
            "the outputs of the last result ({}/verdict.json) are missing or say otherwise",
            tc.id
        ));
    }
    Decision::Reuse {
        entry: entry.clone(),
        expires,
    }
}

/// The record after this run: a result produced now replaces the entry, a reused one keeps its
/// entry, a test case that did not run keeps its earlier entry; entries of test cases outside
/// this run's selection are kept, as long as the earlier record is about this (scope, subject).
pub fn next_record(job: &JobOutcome, previous: Option<&Record>) -> Record {
    let previous = previous.filter(|r| fits(r, &job.subject, &job.scope).is_ok());
    let earlier = |id: &str| previous.and_then(|r| r.testcases.iter().find(|e| e.id == id));
    let mut testcases = Vec::new();
    for t in &job.testcases {
        let entry = if let Some(r) = &t.reused {
            Some(r.entry.clone())
        } else if !t.cmd.is_empty() {
            Some(Entry {
                id: t.id.clone(),
                module: t.module.clone(),
                verdict: t.verdict,
                result: t.result,
                reason: t.reason.clone(),
                // Whole seconds, as the report's checked_at.
                checked_at: Timestamp::from_second(job.started_at.as_second())
                    .unwrap_or(job.started_at),
                lifetime: t.lifetime,
                report_uuid: job.run_uuid.clone(),
                published: matches!(job.published, Some(Ok(_))),
            })
        } else {
            earlier(&t.id).cloned()
        };
        testcases.extend(entry);
    }
    if let Some(r) = previous {
        for e in &r.testcases {
            if !job.testcases.iter().any(|t| t.id == e.id) {
                testcases.push(e.clone());
            }
        }
    }
    Record {
        schema_version: SCHEMA_VERSION,
        subject: job.subject.clone(),
        scope: RecordScope {
            id: job.scope.id.clone(),
            uuid: job.scope.uuid.clone(),
            versions: job.scope.versions.clone(),
        },
        testcases,
    }
}

/// A reused result, as the runner carries it into this fleet's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Reused {
    pub entry: Entry,
    pub expires: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scope() -> ScopeInfo {
        ScopeInfo {
            id: "scs-compatible-kaas".into(),
            name: "SCS-compatible KaaS".into(),
            uuid: "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180".into(),
            url: "https://example/scope.yaml".into(),
            versions: vec!["v1".into()],
        }
    }

    fn tc(lifetime: Lifetime) -> TestcaseSpec {
        TestcaseSpec {
            id: "kaas-networking-check".into(),
            module: "scs-0219-v1".into(),
            e2e: true,
            section: None,
            lifetime,
        }
    }

    /// 2026-12-02 (a Wednesday) 03:00 UTC.
    fn checked() -> Timestamp {
        "2026-12-02T03:00:00Z".parse().unwrap()
    }

    fn entry(verdict: &str) -> Entry {
        Entry {
            id: "kaas-networking-check".into(),
            module: "scs-0219-v1".into(),
            verdict: serde_json::from_value(serde_json::json!(verdict)).unwrap(),
            result: Some(1),
            reason: String::new(),
            checked_at: checked(),
            lifetime: Lifetime::Week,
            report_uuid: "r-1".into(),
            published: true,
        }
    }

    fn record(verdict: &str) -> Record {
        Record {
            schema_version: SCHEMA_VERSION,
            subject: "noris-1.35".into(),
            scope: RecordScope {
                id: "scs-compatible-kaas".into(),
                uuid: "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180".into(),
                versions: vec!["v1".into()],
            },
            testcases: vec![entry(verdict)],
        }
    }

    fn policy(now: &str) -> Policy {
        Policy {
            now: now.parse().unwrap(),
            margin: DEFAULT_MARGIN,
            need_published: false,
            tz: TimeZone::UTC,
        }
    }

    /// A job folder whose test case wrote `verdict.json` with `verdict`.
    fn job_dir(verdict: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let tc = d.path().join("kaas-networking-check");
        std::fs::create_dir(&tc).unwrap();
        std::fs::write(
            tc.join("verdict.json"),
            format!(
                r#"{{"target": {{"kind": "testcase", "id": "kaas-networking-check"}}, "verdict": "{verdict}"}}"#
            ),
        )
        .unwrap();
        d
    }

    fn run_reason(d: Decision) -> String {
        match d {
            Decision::Run(why) => why,
            Decision::Reuse { entry, .. } => panic!("reused {entry:?}"),
        }
    }

    #[test]
    fn a_fresh_pass_or_fail_is_reused_until_a_day_before_it_expires() {
        let dir = job_dir("PASS");
        // Lifetime week, checked Wednesday: valid until Monday 2026-12-14 00:00.
        let d = decide(
            &Ok(record("PASS")),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &policy("2026-12-12T23:00:00Z"),
        );
        let Decision::Reuse { entry, expires } = d else {
            panic!("{d:?}")
        };
        assert_eq!(entry.checked_at, checked());
        assert_eq!(
            expires,
            "2026-12-14T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        // A FAIL is a result about the cluster as well.
        let dir = job_dir("FAIL");
        assert!(matches!(
            decide(
                &Ok(record("FAIL")),
                "noris-1.35",
                &scope(),
                &tc(Lifetime::Week),
                dir.path(),
                &policy("2026-12-03T03:00:00Z"),
            ),
            Decision::Reuse { .. }
        ));
    }

    #[test]
    fn an_expired_result_or_one_within_the_margin_runs() {
        let dir = job_dir("PASS");
        let at = |now: &str, lifetime| {
            run_reason(decide(
                &Ok(record("PASS")),
                "noris-1.35",
                &scope(),
                &tc(lifetime),
                dir.path(),
                &policy(now),
            ))
        };
        let why = at("2026-12-14T00:00:00Z", Lifetime::Week);
        assert!(why.contains("expired at 2026-12-14T00:00:00Z"), "{why}");
        let why = at("2026-12-13T01:00:00Z", Lifetime::Week);
        assert!(why.contains("within the margin of 24h"), "{why}");
        // Lifetime day: valid until Friday 00:00, so a nightly run on Thursday renews it.
        let why = at("2026-12-03T03:00:00Z", Lifetime::Day);
        assert!(why.contains("expires at 2026-12-04T00:00:00Z"), "{why}");
        // Without a margin, exactly "within its lifetime".
        let mut p = policy("2026-12-03T03:00:00Z");
        p.margin = Duration::ZERO;
        assert!(matches!(
            decide(
                &Ok(record("PASS")),
                "noris-1.35",
                &scope(),
                &tc(Lifetime::Day),
                dir.path(),
                &p
            ),
            Decision::Reuse { .. }
        ));
    }

    #[test]
    fn a_missing_or_malformed_record_means_the_test_case_runs() {
        let dir = tempfile::tempdir().unwrap();
        let why = load(dir.path()).unwrap_err();
        assert!(why.contains("no earlier result"), "{why}");
        let p = policy("2026-12-03T03:00:00Z");
        let d = decide(
            &load(dir.path()),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &p,
        );
        assert!(run_reason(d).contains("not found"));
        for bad in [
            "{",
            "[]",
            r#"{"schema_version": 1, "subject": "noris-1.35"}"#,
            &serde_json::to_string(&record("PASS"))
                .unwrap()
                .replace("\"PASS\"", "17"),
            &serde_json::to_string(&record("PASS"))
                .unwrap()
                .replace("2026-12-02T03:00:00Z", "yesterday"),
        ] {
            std::fs::write(dir.path().join(FILE_NAME), bad).unwrap();
            let why = load(dir.path()).unwrap_err();
            assert!(why.contains("malformed, not used"), "{bad}: {why}");
        }
        let mut other = record("PASS");
        other.schema_version = 2;
        std::fs::write(
            dir.path().join(FILE_NAME),
            serde_json::to_string(&other).unwrap(),
        )
        .unwrap();
        assert!(load(dir.path()).unwrap_err().contains("schema_version 2"));
        // A record without the test case; a good record whose outputs are gone.
        let mut none = record("PASS");
        none.testcases.clear();
        let why = run_reason(decide(
            &Ok(none),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &p,
        ));
        assert_eq!(why, "no earlier result");
        let why = run_reason(decide(
            &Ok(record("PASS")),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &p,
        ));
        assert!(why.contains("verdict.json) are missing"), "{why}");
        // Outputs that a later run replaced with another verdict.
        let failed = job_dir("FAIL");
        let why = run_reason(decide(
            &Ok(record("PASS")),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            failed.path(),
            &p,
        ));
        assert!(why.contains("say otherwise"), "{why}");
    }

    #[test]
    fn results_of_another_subject_scope_or_module_are_never_reused() {
        let dir = job_dir("PASS");
        let p = policy("2026-12-03T03:00:00Z");
        // "noris 1.35" and "noris_1.35" share a folder name.
        let why = run_reason(decide(
            &Ok(record("PASS")),
            "noris_1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &p,
        ));
        assert!(why.contains("of subject \"noris-1.35\""), "{why}");
        let mut v2 = scope();
        v2.versions.push("v2".into());
        let why = run_reason(decide(
            &Ok(record("PASS")),
            "noris-1.35",
            &v2,
            &tc(Lifetime::Week),
            dir.path(),
            &p,
        ));
        assert!(why.contains("(versions v1), now"), "{why}");
        let mut t = tc(Lifetime::Week);
        t.module = "scs-0219-v2".into();
        let why = run_reason(decide(
            &Ok(record("PASS")),
            "noris-1.35",
            &scope(),
            &t,
            dir.path(),
            &p,
        ));
        assert!(
            why.contains("of module scs-0219-v1, now scs-0219-v2"),
            "{why}"
        );
    }

    #[test]
    fn abort_unpublished_and_future_results_are_not_reused() {
        let dir = job_dir("ABORT");
        let p = policy("2026-12-03T03:00:00Z");
        let why = run_reason(decide(
            &Ok(record("ABORT")),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &p,
        ));
        assert!(why.contains("was ABORT, which is never reused"), "{why}");
        let dir = job_dir("PASS");
        let mut unpublished = record("PASS");
        unpublished.testcases[0].published = false;
        let mut publishing = p.clone();
        publishing.need_published = true;
        let why = run_reason(decide(
            &Ok(unpublished.clone()),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &publishing,
        ));
        assert!(why.contains("not published"), "{why}");
        // Not publishing: an unpublished result is as good as any.
        assert!(matches!(
            decide(
                &Ok(unpublished),
                "noris-1.35",
                &scope(),
                &tc(Lifetime::Week),
                dir.path(),
                &p
            ),
            Decision::Reuse { .. }
        ));
        let why = run_reason(decide(
            &Ok(record("PASS")),
            "noris-1.35",
            &scope(),
            &tc(Lifetime::Week),
            dir.path(),
            &policy("2026-12-01T03:00:00Z"),
        ));
        assert!(why.contains("dated in the future"), "{why}");
    }

    #[test]
    fn the_next_record_keeps_reused_and_unrun_entries_and_replaces_the_rest() {
        use crate::fleet::TestcaseOutcome;
        let mut earlier = record("PASS");
        let mut other = entry("FAIL");
        other.id = "heavy-check".into();
        earlier.testcases.push(other.clone());
        let mut interrupted = entry("PASS");
        interrupted.id = "version-policy-check".into();
        earlier.testcases.push(interrupted.clone());
        let outcome =
            |id: &str, verdict: Verdict, cmd: &str, reused: Option<Reused>| TestcaseOutcome {
                id: id.into(),
                module: "scs-0219-v1".into(),
                lifetime: Lifetime::Week,
                verdict,
                reason: String::new(),
                cmd: cmd.into(),
                rc: Some(0),
                stdout: Vec::new(),
                stderr: Vec::new(),
                result: Some(1),
                dir: PathBuf::from("x"),
                seconds: 1.0,
                reused,
            };
        let started_at: Timestamp = "2026-12-09T03:00:00Z".parse().unwrap();
        let job = JobOutcome {
            scope: scope(),
            subject: "noris-1.35".into(),
            mapping: Default::default(),
            testcases: vec![
                outcome(
                    "kaas-networking-check",
                    Verdict::Pass,
                    "",
                    Some(Reused {
                        entry: entry("PASS"),
                        expires: started_at,
                    }),
                ),
                outcome("node-distribution-check", Verdict::Fail, "scs-check", None),
                outcome("version-policy-check", Verdict::Abort, "", None),
            ],
            verdict: Verdict::Fail,
            dir: PathBuf::from("noris-1.35/scs-compatible-kaas"),
            started: started_at.to_zoned(TimeZone::UTC).datetime(),
            started_at,
            run_uuid: "r-2".into(),
            seconds: 1.0,
            timed_out: false,
            interrupted: true,
            published: None,
        };
        let next = next_record(&job, Some(&earlier));
        let ids: Vec<&str> = next.testcases.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "kaas-networking-check",
                "node-distribution-check",
                "version-policy-check",
                "heavy-check"
            ]
        );
        assert_eq!(next.testcases[0], entry("PASS"));
        let new = &next.testcases[1];
        assert_eq!(
            (
                new.verdict.as_str(),
                new.checked_at,
                new.report_uuid.as_str()
            ),
            ("FAIL", started_at, "r-2")
        );
        assert!(!new.published);
        assert_eq!(next.testcases[2], interrupted);
        assert_eq!(next.testcases[3], other);
        // An earlier record of another subject is dropped, not carried.
        let mut foreign = earlier.clone();
        foreign.subject = "other".into();
        assert_eq!(next_record(&job, Some(&foreign)).testcases.len(), 2);
        // The record reads back as written.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            serde_json::to_string_pretty(&next).unwrap(),
        )
        .unwrap();
        assert_eq!(load(dir.path()).unwrap(), next);
    }
}
