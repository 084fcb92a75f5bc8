//! A live run from the command line: the async runtime, the signal handlers, connecting, and the
//! engine's [`run::certify_live`] with the event renderer of the front end.

use std::future::Future;
use std::pin::Pin;

use scs_conformance::definitions::catalog::{Catalog, Target};
use scs_conformance::definitions::waiver::Waiver;
use scs_conformance::evidence::cluster::{self, ConnectError};
use scs_conformance::run::{self, LiveRequest, RunOptions};
use scs_conformance::verdict::certify::Certification;
use scs_conformance::verdict::rerun::{ClusterIdentity, Earlier, Rerun, RerunError};
use tokio::runtime::Runtime;

use crate::Failure;
use crate::args::KubeArgs;
use crate::events::{EventRenderer, Style};

/// The runtime of a live command, with the signal handlers installed.
pub struct Live {
    pub runtime: Runtime,
    interrupt: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Live {
    /// Starts the runtime and installs the signal handlers at once: a Ctrl-C or SIGTERM at any
    /// later moment ends the run in an ABORT verdict.
    pub fn start() -> Result<Self, Failure> {
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
        let interrupt = {
            let _entered = runtime.enter();
            interrupted()
        };
        Ok(Live {
            runtime,
            interrupt: Some(Box::pin(interrupt)),
        })
    }

    /// Connects and certifies `target`, rendering events in `style`. Only a kubeconfig that
    /// gives no client is an error; everything after is in the certification.
    pub fn certify(
        &mut self,
        kube: &KubeArgs,
        catalog: &Catalog,
        target: &Target<'_>,
        waivers: &[Waiver],
        options: RunOptions,
        style: Style,
    ) -> Result<Certification, LiveError> {
        let request = Request {
            catalog,
            target,
            waivers,
            rerun: None,
        };
        self.certify_request(kube, request, options, style)
    }

    /// Refuses a cluster other than the one of the earlier verdict, before anything is written
    /// or launched. A cluster that does not answer is not judged here: the run then ends in
    /// ABORT, as `run` does. Returns a warning when the cluster could be matched by its version
    /// only.
    pub fn check_cluster(
        &self,
        kube: &KubeArgs,
        earlier: &Earlier,
    ) -> Result<Option<String>, LiveError> {
        self.runtime.block_on(async {
            let (client, _) = kube.connect().await.map_err(LiveError::Connect)?;
            let Ok(version) = cluster::server_version(&client).await else {
                return Ok(None);
            };
            let now = ClusterIdentity {
                id: cluster::cluster_id(&client).await,
                kubernetes_version: Some(version),
            };
            earlier.check_cluster(&now).map_err(LiveError::Rerun)
        })
    }

    /// [`Live::certify`] for `rerun-failed`: runs what `rerun` plans and merges the results
    /// with the earlier verdict.
    #[allow(clippy::too_many_arguments)]
    pub fn certify_rerun(
        &mut self,
        kube: &KubeArgs,
        catalog: &Catalog,
        target: &Target<'_>,
        waivers: &[Waiver],
        rerun: &Rerun,
        options: RunOptions,
        style: Style,
    ) -> Result<Certification, LiveError> {
        let request = Request {
            catalog,
            target,
            waivers,
            rerun: Some(rerun),
        };
        self.certify_request(kube, request, options, style)
    }

    fn certify_request(
        &mut self,
        kube: &KubeArgs,
        req: Request<'_, '_>,
        options: RunOptions,
        style: Style,
    ) -> Result<Certification, LiveError> {
        let interrupt = self
            .interrupt
            .take()
            .unwrap_or_else(|| Box::pin(std::future::pending()));
        self.runtime.block_on(async {
            let (client, api_server) = kube.connect().await.map_err(LiveError::Connect)?;
            let options = RunOptions {
                api_server,
                ..options
            };
            let request = LiveRequest {
                catalog: req.catalog,
                target: req.target,
                waivers: req.waivers,
                options: &options,
                rerun: req.rerun,
            };
            let mut events = EventRenderer::new(style);
            let cert =
                run::certify_live(&client, &request, &mut |e| events.event(e), interrupt).await;
            events.finish();
            Ok(cert)
        })
    }
}

/// What to certify (and, for a rerun, what to merge with).
struct Request<'a, 't> {
    catalog: &'a Catalog,
    target: &'a Target<'t>,
    waivers: &'a [Waiver],
    rerun: Option<&'a Rerun>,
}

/// Why a live command could not start: no client for the kubeconfig, or (`rerun-failed`) the
/// cluster is not the one of the earlier verdict.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Connect(ConnectError),
    #[error(transparent)]
    Rerun(RerunError),
}

/// Installs the handlers for Ctrl-C (SIGINT), SIGTERM (CI cancellation) and SIGHUP (the terminal
/// closed) at once, so that a
/// signal at any later moment is seen, and returns a future that resolves on the first of them.
/// Call it within a Tokio runtime. A handler that cannot be installed never resolves.
pub fn interrupted() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn recv(signal: std::io::Result<Signal>) {
            if let Ok(mut s) = signal
                && s.recv().await.is_some()
            {
                return;
            }
            std::future::pending::<()>().await
        }
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        // The terminal closed (an ssh session dropped): the same as SIGTERM, not death by 129
        // with the run left on the cluster.
        let hup = signal(SignalKind::hangup());
        async move {
            tokio::select! {
                _ = recv(term) => {}
                _ = recv(int) => {}
                _ = recv(hup) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await
        }
    }
}
