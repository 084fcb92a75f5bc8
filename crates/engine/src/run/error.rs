//! Why a live run, or one of its Sonobuoy runs, ended without evidence. The messages are the
//! reasons verdict.json records (`run.aborted`, `run.passes[].outcome`, test case reasons).

use std::path::PathBuf;
use std::time::Duration;

use crate::evidence::cluster::ClusterError;
use crate::evidence::results::{PluginError, ResultsError};
use crate::evidence::sonobuoy::follow::human;
use crate::evidence::sonobuoy::launch::LaunchError;
use crate::evidence::sonobuoy::retrieve::RetrieveError;

/// Why a run stopped before its end: the caller's interrupt, or `--timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupted,
    TimedOut(Duration),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Interrupted => f.write_str("interrupted"),
            Stop::TimedOut(limit) => write!(f, "timed out after {}", human(*limit)),
        }
    }
}

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
    Follow(String),
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
    Blocked(String),
}

fn stopped_connecting(stop: Stop, server: &str) -> String {
    match stop {
        Stop::Interrupted => stop.to_string(),
        Stop::TimedOut(_) => format!("{stop} waiting for the Kubernetes API server {server}"),
    }
}

/// A namespace that does not go away (e.g. of a previous pass).
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("namespace {namespace} still exists after {}", human(*.limit))]
    StillExists { namespace: String, limit: Duration },
    #[error("cannot read namespace {namespace}: {source}")]
    Read {
        namespace: String,
        #[source]
        source: kube::Error,
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
