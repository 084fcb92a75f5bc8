//! The certification engine of `scs-conformance`: certifies Kubernetes clusters against
//! Sovereign Cloud Stack KaaS standards.
//!
//! One entry point, [`certify`]: a [`Request`] names the target (a standard, module or test
//! case of the [`definitions`]), the waivers, and the [`Evidence`] to judge it on: offline
//! results, or a live run on a cluster. It returns one [`Certification`], the document every
//! output is rendered from. The flow, one folder per stage:
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
//!   retrieve, evaluate); [`verdict::certify::certify_results`] is the offline one; [`certify`]
//!   dispatches to them.
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

pub use verdict::certify::Certification;

use definitions::catalog::{Catalog, Target};
use definitions::inventory::Inventory;
use definitions::waiver::Waiver;
use evidence::results::Results;
use verdict::certify::GivenFacts;
use verdict::rerun::Rerun;

/// What to certify, against which waivers, on what evidence.
pub struct Request<'a> {
    pub catalog: &'a Catalog,
    pub target: &'a Target<'a>,
    pub waivers: &'a [Waiver],
    pub evidence: Evidence<'a>,
}

/// What a certification is judged on.
pub enum Evidence<'a> {
    /// Offline results (`verdict`): e2e test cases are judged on their report, native checks
    /// have no evidence (MISSING).
    Results {
        results: &'a Results,
        /// What the user says about the cluster; the rest is read from the results.
        given: GivenFacts,
        /// The date waivers are judged against.
        today: jiff::civil::Date,
        /// The spec list of the suite that ran, for the completeness check; `None`: the
        /// built-in inventory of the Kubernetes minor.
        inventory: Option<&'a Inventory>,
    },
    /// A live run on the cluster of `client` (`run`, `scs-check`, `rerun-failed`).
    Live {
        client: &'a kube::Client,
        options: &'a run::RunOptions,
        /// `rerun-failed`: run only what this plan names, and merge with the earlier verdict.
        rerun: Option<&'a Rerun>,
        /// Receives the run's events, for the front end to render.
        on_event: &'a mut run::OnEvent<'a>,
        /// Resolves when the caller wants the run to stop (Ctrl-C, SIGTERM).
        interrupt: run::Interrupt<'a>,
    },
}

/// Why there is no certification at all. A live run always ends in one (ABORT verdicts for
/// whatever went wrong); only offline results whose Kubernetes version does not parse are
/// refused, since read as "unknown" it would silently change which waivers apply.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error(transparent)]
    Version(#[from] version::VersionError),
}

/// Certifies `request.target` on `request.evidence`: the one entry point of the engine.
pub async fn certify(request: Request<'_>) -> Result<Certification, CertifyError> {
    let Request {
        catalog,
        target,
        waivers,
        evidence,
    } = request;
    match evidence {
        Evidence::Results {
            results,
            given,
            today,
            inventory,
        } => Ok(verdict::certify::certify_results_against(
            catalog,
            target,
            waivers,
            results,
            given,
            today,
            verdict::SpecList::from_option(inventory),
        )?),
        Evidence::Live {
            client,
            options,
            rerun,
            on_event,
            interrupt,
        } => {
            let live = run::LiveRequest {
                catalog,
                target,
                waivers,
                options,
                rerun,
            };
            Ok(run::certify_live(client, &live, on_event, interrupt).await)
        }
    }
}

/// The tool's name in every document it writes (`tool.name` of verdict.json): the command's
/// name, whichever crate the code lives in.
pub const TOOL_NAME: &str = "scs-conformance";

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::definitions::builtin;
    use crate::evidence::cni::Cni;
    use crate::evidence::results::{self, Limits};
    use crate::verdict::Verdict;

    fn world() -> (Catalog, Vec<Waiver>) {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let waivers = definitions::waiver::load(&builtin::waivers(), &catalog).unwrap();
        (catalog, waivers)
    }

    #[tokio::test]
    async fn offline_results_are_certified_as_certify_results_does() {
        let (catalog, waivers) = world();
        let target = catalog.resolve("scs-0219-v1", None).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz");
        let results = results::load(&fixture, None, Limits::default()).unwrap();
        let today = jiff::civil::date(2026, 8, 1);
        let given = || GivenFacts {
            cni: Some(Cni::from_flag("cilium").unwrap()),
            kubernetes_version: None,
        };
        let cert = certify(Request {
            catalog: &catalog,
            target: &target,
            waivers: &waivers,
            evidence: Evidence::Results {
                results: &results,
                given: given(),
                today,
                inventory: None,
            },
        })
        .await
        .unwrap();
        let direct = verdict::certify::certify_results(
            &catalog,
            &target,
            &waivers,
            &results,
            given(),
            today,
        )
        .unwrap();
        assert_eq!(cert.verdict, direct.verdict);
        assert_eq!(
            cert.testcases().map(|t| &t.reason).collect::<Vec<_>>(),
            direct.testcases().map(|t| &t.reason).collect::<Vec<_>>()
        );
        // A version that does not parse is refused, not read as unknown.
        let refused = certify(Request {
            catalog: &catalog,
            target: &target,
            waivers: &waivers,
            evidence: Evidence::Results {
                results: &results,
                given: GivenFacts {
                    cni: None,
                    kubernetes_version: Some("one.thirty".into()),
                },
                today,
                inventory: None,
            },
        })
        .await;
        assert!(matches!(refused, Err(CertifyError::Version(_))));
    }

    #[tokio::test]
    async fn a_live_run_on_a_cluster_that_does_not_answer_is_abort() {
        let (catalog, waivers) = world();
        let target = catalog.resolve("scs-0219-v1", None).unwrap();
        // Every request gets a 500: /version fails.
        let (client, _) = testing::client(Vec::new());
        let options = run::RunOptions::new(
            "sonobuoy",
            "out",
            jiff::civil::date(2026, 12, 1),
            evidence::native::ReleaseData::load(None).unwrap(),
            "https://fake:6443",
        );
        let mut events = Vec::new();
        let mut on_event = |e| events.push(e);
        let cert = certify(Request {
            catalog: &catalog,
            target: &target,
            waivers: &waivers,
            evidence: Evidence::Live {
                client: &client,
                options: &options,
                rerun: None,
                on_event: &mut on_event,
                interrupt: Box::pin(std::future::pending()),
            },
        })
        .await
        .unwrap();
        assert_eq!(cert.verdict, Verdict::Abort);
        let aborted = cert.run.as_ref().unwrap().aborted.as_ref().unwrap();
        assert!(
            aborted
                .to_string()
                .starts_with("cannot reach the Kubernetes API server https://fake:6443"),
            "{aborted}"
        );
    }
}
