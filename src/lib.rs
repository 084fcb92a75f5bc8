//! scs-conformance: certify Kubernetes clusters against Sovereign Cloud Stack KaaS standards.
//!
//! The library is the engine; the `scs-conformance` binary is a thin CLI on top. The flow is:
//! [`catalog`] loads standard definitions, [`waiver`] loads waivers, [`results`] ingests e2e
//! results, [`verdict`] evaluates them and [`output`] writes the verdict documents.

pub mod atomic;
pub mod builtin;
pub mod catalog;
pub mod certify;
pub mod cluster;
pub mod cni;
pub mod e2e_junit;
pub mod exit;
pub mod inventory;
pub mod native;
pub mod output;
pub mod publish;
pub mod results;
pub mod run;
pub mod scs_protocol;
pub mod scs_report;
pub mod selection;
pub mod sonobuoy;
pub mod testname;
pub mod verdict;
pub mod waiver;
