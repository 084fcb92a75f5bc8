//! Exit codes, one per class of result (documented in README.md and docs/verdict.md).

use crate::verdict::Verdict;

/// The verdict is PASS.
pub const PASS: u8 = 0;
/// The verdict is FAIL: a selected test failed and no waiver covers it.
pub const FAIL: u8 = 1;
/// Bad usage or bad input: unknown standard, malformed definition/waiver/results file, I/O error.
pub const USAGE_OR_INPUT: u8 = 2;
/// The verdict is ABORT: the run did not finish, or not everything selected ran.
pub const ABORT: u8 = 3;
/// The verdict is MISSING: a required test case was not evaluated.
pub const MISSING: u8 = 4;

/// The process exit code for a verdict.
pub fn for_verdict(v: Verdict) -> u8 {
    match v {
        Verdict::Pass => PASS,
        Verdict::Fail => FAIL,
        Verdict::Abort => ABORT,
        Verdict::Missing => MISSING,
    }
}
