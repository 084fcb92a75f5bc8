//! The certification engine of `scs-conformance`: certifies Kubernetes clusters against
//! Sovereign Cloud Stack KaaS standards.
//!
//! The flow, one folder per stage:
//!
//! ```text
//! definitions ──► evidence ──────────────────► verdict ──► reports, scs
//! (standards,     (offline: results of an      (outcome per  (verdict.json, junit.xml,
//!  waivers,        archive; live: run drives    test, verdict summary.md, terminal;
//!  inventories)    sonobuoy + native checks)    per test case) report.yaml, protocol lines)
//! ```
//!
//! * [`definitions`] loads what is certified against: standards, waivers, inventories.
//! * [`evidence`] reads what a verdict is judged on: e2e results, native checks, cluster facts.
//! * [`run`] is the live pipeline ([`run::certify_live`]: facts, plan, launch, follow,
//!   retrieve, evaluate); [`verdict::certify::certify_results`] is the offline one. Both return
//!   one [`verdict::certify::Certification`], the document every output is rendered from.
//! * [`reports`] writes the documents; [`scs`] speaks SCS's formats (check-script protocol,
//!   compliance report, upload); [`exit_codes`] holds the exit-code scheme of each protocol.
//!
//! This crate holds no command line: no argument parsing, no printing, no environment reads, no
//! process exit. The `scs-conformance` binary (the workspace's root package) maps arguments to a
//! request, picks the renderers for the engine's events and document, and exits.

// Lints (no unwrap, expect or panic outside tests) are set in Cargo.toml.

pub mod definitions;
pub mod evidence;
pub mod exit_codes;
pub mod http;
pub mod reports;
pub mod run;
pub mod scs;
pub mod verdict;
pub mod version;

#[cfg(test)]
mod testing;

/// The tool's name in every document it writes (`tool.name` of verdict.json): the command's
/// name, whichever crate the code lives in.
pub const TOOL_NAME: &str = "scs-conformance";
