//! What a verdict is judged on: e2e results (a Sonobuoy archive, a results directory, a bare
//! JUnit, read by [`results`] and [`e2e_junit`]), produced live by [`sonobuoy`]; the native
//! checks' outcomes ([`native`]); and facts about the cluster ([`cluster`], [`cni`]).

pub mod cluster;
pub mod cni;
pub mod e2e_junit;
pub mod native;
pub mod results;
pub mod sonobuoy;
pub mod spec_listing;
