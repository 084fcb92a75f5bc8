//! Test support: a scripted fake Kubernetes API server (kube-rs's mock-test pattern), so that
//! API logic is tested without a cluster ("use the least powerful method of testing").

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One scripted answer: the first unused entry whose method and path match a request answers
/// it (the query string is not compared; requests are logged with it).
#[derive(Debug, Clone)]
pub struct Reply {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn new(method: &'static str, path: impl Into<String>, status: u16, body: Value) -> Self {
        Reply {
            method,
            path: path.into(),
            status,
            body,
        }
    }

    /// `200` with a `Status` of success (as for a background delete).
    pub fn deleted(path: impl Into<String>) -> Self {
        Reply::new(
            "DELETE",
            path,
            200,
            json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success"}),
        )
    }

    /// A failure `Status` with this code and reason (`NotFound`, `Forbidden`, ...).
    pub fn failure(method: &'static str, path: impl Into<String>, code: u16, reason: &str) -> Self {
        Reply::new(
            method,
            path,
            code,
            json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                   "message": format!("scripted {reason}"), "reason": reason, "code": code}),
        )
    }
}

/// What the fake server saw: `METHOD path?query`, in order.
pub type Log = Arc<Mutex<Vec<String>>>;

/// A client whose API server answers from `script`; an unscripted request gets a 500 `Status`.
pub fn client(script: Vec<Reply>) -> (Client, Log) {
    let script = Arc::new(Mutex::new(script.into_iter().map(Some).collect::<Vec<_>>()));
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let service = tower::service_fn(move |req: Request<Body>| {
        let script = script.clone();
        let seen = seen.clone();
        async move {
            let method = req.method().as_str().to_string();
            let path = req.uri().path().to_string();
            let query = req
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            seen.lock().unwrap().push(format!("{method} {path}{query}"));
            let reply = script
                .lock()
                .unwrap()
                .iter_mut()
                .find(|r| {
                    r.as_ref()
                        .is_some_and(|r| r.method == method && r.path == path)
                })
                .and_then(Option::take)
                .unwrap_or_else(|| Reply::failure("?", path.clone(), 500, "InternalError"));
            let body = serde_json::to_vec(&reply.body).unwrap();
            Ok::<_, std::convert::Infallible>(
                Response::builder()
                    .status(reply.status)
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
        }
    });
    (Client::new(service, "default"), log)
}
