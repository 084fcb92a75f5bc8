//! Test support: a scripted fake Kubernetes API server (kube-rs's mock-test pattern), so that
//! API logic is tested without a cluster ("use the least powerful method of testing").

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use http_body_util::BodyExt;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// What a scripted reply answers with.
#[derive(Debug, Clone)]
enum Answer {
    /// This JSON document.
    Json(Value),
    /// This text (a pod log, a watch stream of newline-separated events).
    Text(String),
    /// The request's own body (a create that the server accepts as sent).
    Echo,
    /// Nothing, ever: a watch that stays quiet, a server that does not answer.
    Hang,
}

/// One scripted answer: the first unused entry whose method and path match a request answers
/// it (the query string is not compared; requests are logged with it). In a path, a `*` segment
/// matches any one segment (a namespace of a random name). A repeated entry is never used up.
#[derive(Debug, Clone)]
pub struct Reply {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    answer: Answer,
    repeat: bool,
}

impl Reply {
    pub fn new(method: &'static str, path: impl Into<String>, status: u16, body: Value) -> Self {
        Reply {
            method,
            path: path.into(),
            status,
            answer: Answer::Json(body),
            repeat: false,
        }
    }

    /// `200` with a text body (a pod's log).
    pub fn text(method: &'static str, path: impl Into<String>, text: impl Into<String>) -> Self {
        Reply {
            answer: Answer::Text(text.into()),
            ..Reply::new(method, path, 200, Value::Null)
        }
    }

    /// `201` with the request's body: the object created as sent.
    pub fn echo(path: impl Into<String>) -> Self {
        Reply {
            answer: Answer::Echo,
            ..Reply::new("POST", path, 201, Value::Null)
        }
    }

    /// A watch (`GET path?watch=true`) that sends these events (`ADDED`, `MODIFIED`, `DELETED`
    /// with their objects) and ends.
    pub fn watch(path: impl Into<String>, events: &[(&str, Value)]) -> Self {
        let lines: Vec<String> = events
            .iter()
            .map(|(kind, object)| json!({"type": kind, "object": object}).to_string())
            .collect();
        Reply {
            answer: Answer::Text(lines.join("\n") + "\n"),
            ..Reply::new("GET", path, 200, Value::Null)
        }
    }

    /// A request that is never answered (a quiet watch).
    pub fn hang(method: &'static str, path: impl Into<String>) -> Self {
        Reply {
            answer: Answer::Hang,
            ..Reply::new(method, path, 200, Value::Null)
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

    /// This reply for every matching request, not only the first.
    pub fn repeat(self) -> Self {
        Reply {
            repeat: true,
            ..self
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != method {
            return false;
        }
        let pattern: Vec<&str> = self.path.split('/').collect();
        let path: Vec<&str> = path.split('/').collect();
        pattern.len() == path.len() && pattern.iter().zip(&path).all(|(p, s)| *p == "*" || p == s)
    }
}

/// A list document (`kind` e.g. `PodList`) of these items.
pub fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items})
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
            let reply = {
                let mut script = script.lock().unwrap();
                let entry = script
                    .iter_mut()
                    .find(|r| r.as_ref().is_some_and(|r| r.matches(&method, &path)));
                match entry {
                    Some(slot) if slot.as_ref().is_some_and(|r| r.repeat) => slot.clone(),
                    Some(slot) => slot.take(),
                    None => None,
                }
            }
            .unwrap_or_else(|| Reply::failure("?", path.clone(), 500, "InternalError"));
            let body = match reply.answer {
                Answer::Json(v) => serde_json::to_vec(&v).unwrap(),
                Answer::Text(t) => t.into_bytes(),
                Answer::Echo => req.into_body().collect().await.unwrap().to_bytes().to_vec(),
                Answer::Hang => std::future::pending().await,
            };
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
