//! Exit codes: one scheme per protocol, each written here and nowhere else, and documented in
//! README.md ("Exit codes"). The engine exits nothing itself; front ends return these, and
//! `report.yaml` records the native one per test case (`rc`).
//!
//! * [`native`]: `scs-conformance` itself (`verdict`, `run`, the other commands);
//! * [`scs_check`]: `scs-conformance scs-check`, the codes of the SCS script it replaces;
//! * [`publish`]: `scs-conformance publish`.
//!
//! A command line that does not parse exits 2 in every scheme (clap).

use crate::verdict::Verdict;

/// The native scheme: one code per verdict, and one for bad usage or input.
pub mod native {
    use super::Verdict;

    /// The verdict is PASS.
    pub const PASS: u8 = 0;
    /// The verdict is FAIL: a selected test failed and no waiver covers it.
    pub const FAIL: u8 = 1;
    /// Bad usage or bad input: unknown standard, malformed definition/waiver/results file, I/O
    /// error.
    pub const USAGE_OR_INPUT: u8 = 2;
    /// The verdict is ABORT: the run did not finish, or not everything selected ran.
    pub const ABORT: u8 = 3;
    /// The verdict is MISSING: a required test case was not evaluated.
    pub const MISSING: u8 = 4;
    /// `fleet` only: every verdict is PASS, but a report could not be published.
    pub const PUBLISH_FAILED: u8 = 5;

    /// The process exit code for a verdict.
    pub fn for_verdict(v: Verdict) -> u8 {
        match v {
            Verdict::Pass => PASS,
            Verdict::Fail => FAIL,
            Verdict::Abort => ABORT,
            Verdict::Missing => MISSING,
        }
    }

    /// The exit code of `fleet`: that of the roll-up of every job's verdict, or
    /// [`PUBLISH_FAILED`] when all passed but a report could not be published.
    pub fn for_fleet(overall: Verdict, publish_failed: bool) -> u8 {
        match for_verdict(overall) {
            PASS if publish_failed => PUBLISH_FAILED,
            code => code,
        }
    }
}

/// SCS's check-script protocol (`scs-check`): the exit codes of the script a test case replaces.
pub mod scs_check {
    use super::Verdict;
    use crate::definitions::catalog::{Check, NativeCheck};
    use crate::scs::protocol::protocol_verdict;
    use crate::verdict::CheckInfo;
    use crate::verdict::certify::Certification;

    /// The SCS script a test case replaces, which decides its exit codes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Script {
        /// `Tests/kaas/sonobuoy_handler/run_sonobuoy.py`: 0 PASS, 3 FAIL, 112 ABORT.
        SonobuoyHandler,
        /// `Tests/kaas/k8s-version-policy/k8s_version_policy.py`: 0 whenever it printed a
        /// verdict (PASS or FAIL), 1 on abort.
        VersionPolicy,
    }

    /// Exit codes of `run_sonobuoy.py`.
    pub mod handler {
        pub const PASS: u8 = 0;
        pub const FAIL: u8 = 3;
        pub const ABORT: u8 = 112;
    }

    /// Exit codes of `k8s_version_policy.py`.
    pub mod version_policy {
        /// A verdict was printed, PASS or FAIL.
        pub const VERDICT: u8 = 0;
        pub const ABORT: u8 = 1;
    }

    impl Script {
        /// The script of a test case, by its check.
        pub fn of(check: &CheckInfo) -> Self {
            match check {
                CheckInfo::Native {
                    check: NativeCheck::VersionPolicy,
                } => Script::VersionPolicy,
                _ => Script::SonobuoyHandler,
            }
        }

        /// The script of a test case, by its definition's check.
        pub fn for_check(check: &Check) -> Self {
            match check {
                Check::Native(NativeCheck::VersionPolicy) => Script::VersionPolicy,
                Check::Native(_) | Check::E2e(_) => Script::SonobuoyHandler,
            }
        }

        /// The exit code for a verdict (MISSING counts as ABORT, as in the protocol).
        pub fn exit_code(self, v: Verdict) -> u8 {
            let v = protocol_verdict(v);
            match self {
                Script::VersionPolicy => match v {
                    Verdict::Pass | Verdict::Fail => version_policy::VERDICT,
                    _ => version_policy::ABORT,
                },
                Script::SonobuoyHandler => match v {
                    Verdict::Pass => handler::PASS,
                    Verdict::Fail => handler::FAIL,
                    _ => handler::ABORT,
                },
            }
        }
    }

    /// The exit code of several test cases: that of the worst verdict (FAIL > ABORT > PASS).
    pub fn for_certification(cert: &Certification) -> u8 {
        cert.testcases()
            .max_by_key(|t| protocol_verdict(t.verdict))
            .map_or(handler::ABORT, |t| {
                Script::of(&t.check).exit_code(t.verdict)
            })
    }
}

/// `scs-conformance publish`.
pub mod publish {
    use crate::scs::publish::PublishError;

    /// Stored, or already stored (409).
    pub const OK: u8 = 0;
    /// The monitor answered and refused the report (401, 415, other 4xx).
    pub const REJECTED: u8 = 1;
    /// Bad local input (report, key, token file, URL).
    pub const INPUT: u8 = 2;
    /// No usable answer from the monitor (connection, timeout, 5xx, redirect).
    pub const INCOMPLETE: u8 = 3;

    /// The exit code for a failed publish.
    pub fn for_error(e: &PublishError) -> u8 {
        if e.is_input_error() {
            INPUT
        } else if e.is_rejection() {
            REJECTED
        } else {
            INCOMPLETE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scs_check::Script;
    use super::*;

    #[test]
    fn scs_check_codes_follow_the_replaced_script() {
        let catalog =
            crate::definitions::catalog::Catalog::load(&crate::definitions::builtin::standards())
                .unwrap();
        let script = |id: &str| Script::for_check(&catalog.testcase(id).unwrap().1.check);
        let handler = script("kaas-networking-check");
        assert_eq!(handler.exit_code(Verdict::Pass), 0);
        assert_eq!(handler.exit_code(Verdict::Fail), 3);
        assert_eq!(handler.exit_code(Verdict::Abort), 112);
        assert_eq!(handler.exit_code(Verdict::Missing), 112);
        assert_eq!(script("node-distribution-check"), Script::SonobuoyHandler);
        let policy = script("Version-Policy-Check");
        assert_eq!(policy, Script::VersionPolicy);
        assert_eq!(policy.exit_code(Verdict::Fail), 0);
        assert_eq!(policy.exit_code(Verdict::Abort), 1);
    }

    #[test]
    fn fleet_code_is_the_roll_up_or_publish_failed() {
        assert_eq!(native::for_fleet(Verdict::Pass, false), 0);
        assert_eq!(native::for_fleet(Verdict::Pass, true), 5);
        assert_eq!(native::for_fleet(Verdict::Fail, true), 1);
        assert_eq!(native::for_fleet(Verdict::Abort, false), 3);
    }
}
