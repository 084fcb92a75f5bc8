//! SCS-0210-v2, Kubernetes version policy, judged from the API server's version and release data.
//!
//! Rules (Standards/scs-0210-v2-k8s-version-policy.md, "Decision"; thresholds as in SCS's
//! `Tests/kaas/scs_0210_version_policy/k8s_version_policy.py`):
//!
//! * The cluster's branch MUST still be supported: FAIL on or after its end-of-life date, or when
//!   the branch is older than every branch in the data.
//! * The latest patch MUST be applied within 1 month: FAIL when a newer patch of the cluster's
//!   branch was released more than 31 days ago.
//! * A patch that fixes a critical CVE (CVSS base score ≥ 8) MUST be applied within 2 weeks
//!   (RECOMMENDED within 2 days): FAIL when the cluster's version is affected and a newer patch
//!   of its branch that is not affected was released more than 14 days ago; a warning after 2.
//! * The latest minor MUST be *provided* within 4 months (120 days): a provider-level rule (SCS
//!   treats each branch as a subject of its own, and its script does not judge it per cluster);
//!   reported as a warning when the cluster's branch is older than a minor released more than
//!   120 days ago, never a FAIL.
//!
//! Release data older than [`STALE_AFTER_DAYS`] days is a warning in the outcome: the verdict is
//! still computed from what the data knows, but the warning is always shown, so stale data never
//! passes silently.

use jiff::civil::Date;

use super::NativeError;
use super::release_data::ReleaseData;
use crate::verdict::{NativeOutcome, Verdict};
use crate::version::{self, K8sVersion};

/// A new minor version must be provided within this many days (4 months).
pub const MINOR_WINDOW_DAYS: i64 = 120;
/// A new patch must be applied within this many days (1 month).
pub const PATCH_WINDOW_DAYS: i64 = 31;
/// A patch fixing a critical CVE must be applied within this many days (2 weeks).
pub const CVE_WINDOW_DAYS: i64 = 14;
/// Recommended window for a critical-CVE fix (2 days).
pub const CVE_RECOMMENDED_DAYS: i64 = 2;
/// Minimum CVSS base score of a critical CVE.
pub const CRITICAL_CVSS: f64 = 8.0;
/// Release data older than this (relative to the check date) is stale.
pub const STALE_AFTER_DAYS: i64 = 14;

/// Whole days from `earlier` to `later` (negative when `later` is earlier).
pub fn days_between(later: Date, earlier: Date) -> i64 {
    i64::from((later - earlier).get_days())
}

/// The warning for release data older than [`STALE_AFTER_DAYS`] days before `today`, if it is.
pub fn staleness_warning(data: &ReleaseData, today: Date) -> Option<String> {
    let age = days_between(today, data.generated_at);
    (age > STALE_AFTER_DAYS).then(|| {
        format!(
            "release data is stale: generated at {}, {age} days before {today} (limit \
             {STALE_AFTER_DAYS} days); newer releases, end-of-life dates or CVEs may be missing, \
             so this verdict may be too lenient. Refresh with `scs-conformance release-data \
             refresh` or pass --release-data FILE",
            data.generated_at
        )
    })
}

/// The warning for release data whose critical-CVE list was not built from the CVE sources
/// ([`ReleaseData::critical_cves_read`] is `false`): fresh releases do not make up for it.
pub fn cve_data_warning(data: &ReleaseData) -> Option<String> {
    (!data.critical_cves_read).then(|| {
        format!(
            "the release data was built without reading the CVE sources ({} critical CVE(s) \
             carried over, see its provenance), so the {CVE_WINDOW_DAYS}-day critical-CVE window \
             is not fully judged and this verdict may be too lenient. `scs-conformance \
             release-data refresh` reads the Kubernetes CVE feed",
            data.critical_cves.len()
        )
    })
}

/// Judges a cluster's version (`gitVersion`, e.g. `v1.35.4`) against release data as of `today`.
pub fn evaluate(server_version: &str, data: &ReleaseData, today: Date) -> NativeOutcome {
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut violations: Vec<String> = Vec::new();

    let age_of_data = days_between(today, data.generated_at);
    findings.push(format!(
        "release data generated at {} ({} days before {today})",
        data.generated_at, age_of_data
    ));
    warnings.extend(staleness_warning(data, today));
    warnings.extend(cve_data_warning(data));

    let Some(v) = K8sVersion::from_git_version(server_version) else {
        return NativeOutcome {
            verdict: Verdict::Abort,
            reason: format!(
                "cannot read a Kubernetes version from the server's gitVersion {server_version:?}"
            ),
            findings,
            warnings,
        };
    };
    findings.insert(
        0,
        format!("cluster version {server_version} (judged as {v})"),
    );
    let branch = v.branch();
    let branch_name = format!("{}.{}", branch.0, branch.1);

    // End of life.
    let known: Vec<(u64, u64)> = data
        .branches
        .iter()
        .filter_map(|b| version::branch(&b.branch))
        .collect();
    match data.end_of_life(branch) {
        Some(eol) if today >= eol => violations.push(format!(
            "Kubernetes {branch_name} reached its end of life on {eol}"
        )),
        Some(eol) => findings.push(format!(
            "branch {branch_name} is supported until {eol} ({} days left)",
            days_between(eol, today)
        )),
        None if known.iter().all(|k| *k < branch) && !known.is_empty() => warnings.push(format!(
            "branch {branch_name} is newer than every branch in the release data; its end of \
             life is not judged"
        )),
        None => violations.push(format!(
            "Kubernetes {branch_name} is not among the supported branches of the release data \
             ({}): end of life",
            {
                let mut k: Vec<String> = known.iter().map(|(a, b)| format!("{a}.{b}")).collect();
                k.reverse();
                k.join(", ")
            }
        )),
    }

    // Patch and critical-CVE windows.
    let releases = data.parsed_releases();
    let in_branch: Vec<(K8sVersion, Date)> = releases
        .iter()
        .copied()
        .filter(|(r, _)| r.branch() == branch)
        .collect();
    match in_branch.last() {
        Some((latest, date)) => findings.push(format!(
            "newest release of {branch_name} in the data: {latest} ({date})"
        )),
        None => warnings.push(format!(
            "the release data lists no release of {branch_name}; the patch windows are not judged"
        )),
    }
    let newer: Vec<(K8sVersion, Date)> = in_branch
        .iter()
        .copied()
        .filter(|(r, _)| r.patch > v.patch)
        .collect();
    if let Some((overdue, date)) = newer
        .iter()
        .filter(|(_, d)| days_between(today, *d) > PATCH_WINDOW_DAYS)
        .min_by_key(|(_, d)| *d)
    {
        violations.push(format!(
            "patch {overdue} was released on {date}, {} days before {today}: a new patch must be \
             applied within {PATCH_WINDOW_DAYS} days",
            days_between(today, *date)
        ));
    } else if let Some((next, date)) = newer.first() {
        findings.push(format!(
            "newer patch {next} released on {date} ({} days ago) is within the \
             {PATCH_WINDOW_DAYS}-day window",
            days_between(today, *date)
        ));
    }

    for cve in data
        .critical_cves
        .iter()
        .filter(|c| c.score >= CRITICAL_CVSS && c.affects(v))
    {
        // The first newer patch of the branch that the CVE does not affect: the fix.
        let fix = newer.iter().find(|(r, _)| !cve.affects(*r));
        match fix {
            Some((fixed, date)) => {
                let days = days_between(today, *date);
                if days > CVE_WINDOW_DAYS {
                    violations.push(format!(
                        "{} (CVSS {}) affects {v}; the fix {fixed} was released on {date}, {days} \
                         days before {today}: a critical-CVE fix must be applied within \
                         {CVE_WINDOW_DAYS} days",
                        cve.id, cve.score
                    ));
                } else if days > CVE_RECOMMENDED_DAYS {
                    warnings.push(format!(
                        "{} (CVSS {}) affects {v}; the fix {fixed} was released {days} days ago \
                         (RECOMMENDED: within {CVE_RECOMMENDED_DAYS} days, required within \
                         {CVE_WINDOW_DAYS})",
                        cve.id, cve.score
                    ));
                } else {
                    findings.push(format!(
                        "{} (CVSS {}) affects {v}; the fix {fixed} was released {days} days ago",
                        cve.id, cve.score
                    ));
                }
            }
            None => warnings.push(format!(
                "{} (CVSS {}) affects {v}, and the release data has no fixed release of \
                 {branch_name} yet",
                cve.id, cve.score
            )),
        }
    }

    // Minor window (provider-level): is there a newer minor older than 120 days?
    let newest_minor = releases
        .iter()
        .filter(|(r, _)| r.patch == 0 && r.branch() > branch)
        .max_by_key(|(r, _)| r.branch());
    if let Some((minor, date)) = newest_minor {
        let days = days_between(today, *date);
        let line = format!(
            "newer minor {}.{} was released on {date} ({days} days ago)",
            minor.major, minor.minor
        );
        if days > MINOR_WINDOW_DAYS {
            warnings.push(format!(
                "{line}: SCS-0210 requires providers to offer the latest minor within \
                 {MINOR_WINDOW_DAYS} days (a provider-level rule, not judged per cluster)"
            ));
        } else {
            findings.push(line);
        }
    }

    let (verdict, reason) = if violations.is_empty() {
        (
            Verdict::Pass,
            match data.end_of_life(branch) {
                Some(eol) => format!(
                    "Kubernetes {v} is supported (end of life {eol}) and within the patch and \
                     critical-CVE windows of the release data"
                ),
                None => format!(
                    "Kubernetes {v} is within the patch and critical-CVE windows of the release \
                     data"
                ),
            },
        )
    } else {
        (Verdict::Fail, violations.join("; "))
    };
    NativeOutcome {
        verdict,
        reason,
        findings,
        warnings,
    }
}

/// Reads the API server's version and evaluates it.
pub async fn check(
    client: &kube::Client,
    data: &ReleaseData,
    today: Date,
) -> Result<NativeOutcome, NativeError> {
    let info = client
        .apiserver_version()
        .await
        .map_err(|e| NativeError::Api {
            what: "read the API server version (GET /version)",
            source: Box::new(e),
        })?;
    Ok(evaluate(&info.git_version, data, today))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::native::release_data::{AffectedRange, Branch, CriticalCve, Release};

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn data(generated_at: &str) -> ReleaseData {
        let rel = |v: &str, date: &str| Release {
            version: v.into(),
            date: d(date),
        };
        ReleaseData {
            format: 1,
            generated_at: d(generated_at),
            provenance: vec!["test".into()],
            branches: vec![
                Branch {
                    branch: "1.35".into(),
                    end_of_life: d("2027-02-28"),
                },
                Branch {
                    branch: "1.34".into(),
                    end_of_life: d("2026-10-27"),
                },
                Branch {
                    branch: "1.33".into(),
                    end_of_life: d("2026-06-28"),
                },
            ],
            releases: vec![
                rel("1.35.0", "2025-12-17"),
                rel("1.35.1", "2026-02-10"),
                rel("1.35.2", "2026-02-26"),
                rel("1.35.3", "2026-03-18"),
                rel("1.35.4", "2026-04-15"),
                rel("1.34.0", "2025-08-27"),
                rel("1.34.7", "2026-04-15"),
            ],
            critical_cves: vec![],
            critical_cves_read: true,
        }
    }

    #[test]
    fn newest_patch_of_a_supported_branch_passes() {
        let o = evaluate("v1.35.4", &data("2026-04-16"), d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        assert!(o.warnings.is_empty(), "{o:?}");
        assert!(o.findings.iter().any(|f| f.contains("2027-02-28")));
    }

    #[test]
    fn a_patch_older_than_31_days_fails() {
        // 1.35.3 (2026-03-18) is 33 days old on 2026-04-20; 1.35.4 only 5.
        let o = evaluate("v1.35.2", &data("2026-04-16"), d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.reason
                .contains("patch 1.35.3 was released on 2026-03-18, 33 days"),
            "{}",
            o.reason
        );
        // Exactly 31 days is still within the window (SCS: age > 31 days fails).
        let o = evaluate("v1.35.3", &data("2026-05-16"), d("2026-05-16"));
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        let o = evaluate("v1.35.3", &data("2026-05-17"), d("2026-05-17"));
        assert_eq!(o.verdict, Verdict::Fail, "{o:?}");
    }

    #[test]
    fn end_of_life_fails_with_the_date() {
        let o = evaluate("v1.33.11", &data("2026-06-28"), d("2026-06-28"));
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.reason
                .contains("1.33 reached its end of life on 2026-06-28"),
            "{}",
            o.reason
        );
        let o = evaluate("v1.28.15", &data("2026-04-16"), d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.reason.contains("not among the supported branches"),
            "{}",
            o.reason
        );
    }

    #[test]
    fn a_branch_newer_than_the_data_is_a_warning_not_a_failure() {
        let o = evaluate("v1.37.0", &data("2026-04-16"), d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Pass);
        assert!(
            o.warnings
                .iter()
                .any(|w| w.contains("newer than every branch"))
        );
    }

    #[test]
    fn stale_data_is_a_warning_and_the_verdict_is_still_computed() {
        let o = evaluate("v1.35.4", &data("2026-04-15"), d("2026-05-01"));
        assert_eq!(o.verdict, Verdict::Pass);
        assert_eq!(o.warnings.len(), 1, "{o:?}");
        assert!(o.warnings[0].contains("stale") && o.warnings[0].contains("16 days"));
        // Stale data does not hide a failure it knows about.
        let o = evaluate("v1.35.1", &data("2026-04-15"), d("2026-06-01"));
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.warnings[0].contains("stale"));
    }

    #[test]
    fn a_critical_cve_fix_must_be_applied_within_14_days() {
        let mut data = data("2026-04-20");
        data.critical_cves.push(CriticalCve {
            id: "CVE-2099-0001".into(),
            score: 9.1,
            affected: vec![AffectedRange {
                from: Some("1.35.0".into()),
                before: Some("1.35.4".into()),
                through: None,
            }],
        });
        // 1.35.4 fixes it, released 2026-04-15. On 2026-04-16: 1 day, fine.
        let o = evaluate("v1.35.3", &data, d("2026-04-16"));
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        // On 2026-04-20: 5 days, over the recommended 2 days: a warning.
        let o = evaluate("v1.35.3", &data, d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        assert!(o.warnings.iter().any(|w| w.contains("RECOMMENDED")));
        // On 2026-04-30: 15 days, within the patch window (31) but over the CVE window (14).
        data.generated_at = d("2026-04-30");
        let o = evaluate("v1.35.3", &data, d("2026-04-30"));
        assert_eq!(o.verdict, Verdict::Fail, "{o:?}");
        assert!(
            o.reason
                .contains("CVE-2099-0001 (CVSS 9.1) affects 1.35.3; the fix 1.35.4"),
            "{}",
            o.reason
        );
        // Not affected: no CVE failure.
        let o = evaluate("v1.35.4", &data, d("2026-04-30"));
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        // A score below 8 is not critical.
        data.critical_cves[0].score = 7.5;
        let o = evaluate("v1.35.3", &data, d("2026-04-30"));
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
    }

    #[test]
    fn an_old_minor_is_a_provider_level_warning() {
        let mut data = data("2026-04-20");
        data.releases.push(Release {
            version: "1.36.0".into(),
            date: d("2025-12-01"),
        });
        let o = evaluate("v1.35.4", &data, d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Pass);
        assert!(
            o.warnings.iter().any(|w| w.contains("newer minor 1.36")),
            "{o:?}"
        );
    }

    #[test]
    fn data_built_without_the_cve_sources_says_so_however_fresh() {
        let mut data = data("2026-04-20");
        data.critical_cves_read = false;
        let o = evaluate("v1.35.4", &data, d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        assert_eq!(o.warnings.len(), 1, "{o:?}");
        assert!(
            o.warnings[0].contains("without reading the CVE sources")
                && o.warnings[0].contains("critical-CVE window is not fully judged"),
            "{o:?}"
        );
        assert!(!o.warnings[0].contains("stale"));
    }

    /// The built-in data as of 2026-12-02 (the day it was generated): current, so no stale-data
    /// warning, and it knows the 1.34 to 1.37 patch releases.
    #[test]
    fn the_built_in_data_judges_today_without_a_stale_data_warning() {
        let data = ReleaseData::embedded();
        let today = d("2026-12-02");
        assert!(staleness_warning(&data, today).is_none());

        // 1.35.4 (2026-04-15) is behind 1.35.5, released 2026-05-12.
        let o = evaluate("v1.35.4", &data, today);
        assert_eq!(o.verdict, Verdict::Fail, "{o:?}");
        assert!(
            o.reason
                .contains("patch 1.35.5 was released on 2026-05-12, 204 days before 2026-12-02"),
            "{}",
            o.reason
        );
        assert!(!o.warnings.iter().any(|w| w.contains("stale")), "{o:?}");
        assert!(
            o.findings
                .iter()
                .any(|f| f.contains("branch 1.35 is supported until 2027-02-28")),
            "{o:?}"
        );

        // 1.34 reached its end of life on 2026-10-27, even on its newest patch.
        let o = evaluate("v1.34.12", &data, today);
        assert_eq!(o.verdict, Verdict::Fail, "{o:?}");
        assert!(
            o.reason
                .contains("Kubernetes 1.34 reached its end of life on 2026-10-27"),
            "{}",
            o.reason
        );

        // 1.37.2 is the newest 1.37 patch; SCS's end-of-life list has no 1.37 yet.
        let o = evaluate("v1.37.2", &data, today);
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        assert!(
            o.findings
                .iter()
                .any(|f| f.contains("newest release of 1.37 in the data: 1.37.2 (2026-10-27)")),
            "{o:?}"
        );
        assert!(
            o.warnings
                .iter()
                .any(|w| w.contains("branch 1.37 is newer than every branch")),
            "{o:?}"
        );
        // The built-in critical-CVE list was not built from the CVE sources: said, not hidden.
        assert!(
            o.warnings
                .iter()
                .any(|w| w.contains("without reading the CVE sources")),
            "{o:?}"
        );
    }

    #[test]
    fn an_unreadable_version_aborts() {
        let o = evaluate("latest", &data("2026-04-20"), d("2026-04-20"));
        assert_eq!(o.verdict, Verdict::Abort);
    }
}
