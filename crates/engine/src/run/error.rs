//! Why a live run, or one of its Sonobuoy runs, ended without evidence. The messages are the
//! reasons verdict.json records (`run.aborted`, `run.passes[].outcome`, test case reasons).

use std::path::PathBuf;
use std::time::Duration;

use crate::evidence::cluster::ClusterError;
use crate::evidence::results::{PluginError, ResultsError};
use crate::evidence::sonobuoy::follow::{FollowAbort, human};
use crate::evidence::sonobuoy::launch::LaunchError;
use crate::evidence::sonobuoy::retrieve::RetrieveError;
use crate::verdict::certify::{AbortReason, Stop};

/// Why a run, or one Sonobuoy run of it, could not produce evidence.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot reach the Kubernetes API server {server}: {}", error_chain(.source))]
    Unreachable {
        server: String,
        #[source]
        source: kube::Error,
    },
    /// Stopped before the API server answered.
    #[error("{}", stopped_connecting(*.stop, .server))]
    StoppedConnecting { stop: Stop, server: String },
    #[error("{0}")]
    Stopped(Stop),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("cannot remove the existing run: {}", join(.0))]
    RemoveExisting(Vec<kube::Error>),
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    /// The aggregator's run ended without results (`follow`'s reason).
    #[error("{0}")]
    Follow(FollowAbort),
    #[error("{}: {source}", .dir.display())]
    ResultsDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot retrieve results: {0}")]
    Retrieve(#[from] RetrieveError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("retrieved results are unusable (kept in {}): {source}", .dir.display())]
    Unusable {
        dir: PathBuf,
        #[source]
        source: ResultsError,
    },
    /// A blocking task (extraction) panicked or was cancelled.
    #[error("reading the retrieved results failed: {0}")]
    Blocking(#[source] tokio::task::JoinError),
    #[error("no Sonobuoy run was planned")]
    NothingPlanned,
    /// Not started: an earlier step stopped the run, for this reason.
    #[error("{0}")]
    Blocked(AbortReason),
}

impl RunError {
    /// The reason verdict.json records for this error.
    pub fn reason(&self) -> AbortReason {
        match self {
            RunError::Stopped(stop) => AbortReason::Stopped(*stop),
            RunError::StoppedConnecting { stop, server } => AbortReason::StoppedConnecting {
                stop: *stop,
                server: server.clone(),
            },
            RunError::Follow(why) => AbortReason::Follow(why.clone()),
            RunError::Blocked(why) => why.clone(),
            other => AbortReason::Failed(other.to_string()),
        }
    }
}

fn stopped_connecting(stop: Stop, server: &str) -> AbortReason {
    AbortReason::StoppedConnecting {
        stop,
        server: server.to_string(),
    }
}

/// A namespace that does not go away (e.g. of a previous pass).
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("namespace {namespace} still exists after {}", human(*.limit))]
    StillExists { namespace: String, limit: Duration },
    #[error("cannot read namespace {namespace}: {}", error_chain(.source))]
    Read {
        namespace: String,
        #[source]
        source: kube::runtime::wait::Error,
    },
}

/// An error with its sources (`client error (Connect): tls handshake eof`), each once.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        source = s.source();
    }
    text
}

/// Several API errors, each with its sources, `; `-separated.
pub fn join(errs: &[kube::Error]) -> String {
    errs.iter()
        .map(|e| error_chain(e))
        .collect::<Vec<_>>()
        .join("; ")
}
