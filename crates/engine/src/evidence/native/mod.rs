//! Native checks: KaaS standards checked through the Kubernetes API, without an e2e run.
//! See `docs/native-checks.md`.
//!
//! * [`version_policy`]: SCS-0210-v2 (`version-policy-check`), from the API server's version
//!   and [`release_data`].
//! * [`node_distribution`]: SCS-0214-v2 (`node-distribution-check`), from node labels.
//!
//! Each has a pure `evaluate` (unit-tested) and an async `check` that reads the cluster;
//! [`run_check`] runs one and turns errors into an ABORT outcome for [`crate::verdict::Evidence::Native`].

pub mod node_distribution;
pub mod release_data;
pub mod version_policy;

use jiff::civil::Date;

use crate::definitions::catalog::NativeCheck;
use crate::verdict::{NativeOutcome, Verdict};
pub use release_data::ReleaseData;

/// Why a native check could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// A Kubernetes API call failed (e.g. forbidden to list nodes, unreachable API server).
    #[error("cannot {what}: {source}")]
    Api {
        what: &'static str,
        source: Box<kube::Error>,
    },
}

/// Runs one native check against a cluster. Never fails: an error becomes an ABORT outcome whose
/// reason says what could not be done (e.g. `cannot list nodes: … forbidden …`).
pub async fn run_check(
    check: NativeCheck,
    client: &kube::Client,
    release: &ReleaseData,
    today: Date,
) -> NativeOutcome {
    let result = match check {
        NativeCheck::VersionPolicy => version_policy::check(client, release, today).await,
        NativeCheck::NodeDistribution => node_distribution::check(client).await,
    };
    match result {
        Ok(outcome) => outcome,
        Err(e) => {
            // Stale data is worth saying even when the check could not run.
            let warnings = match check {
                NativeCheck::VersionPolicy => version_policy::staleness_warning(release, today)
                    .into_iter()
                    .collect(),
                NativeCheck::NodeDistribution => Vec::new(),
            };
            NativeOutcome {
                verdict: Verdict::Abort,
                reason: e.to_string(),
                findings: Vec::new(),
                warnings,
            }
        }
    }
}
