//! Blocking HTTP(S) requests on the hyper stack that `kube` already brings: hyper-util's client,
//! hyper-rustls over rustls with the *ring* provider (the same provider kube is built with), and
//! Mozilla's root certificates (webpki-roots), so a request works in a minimal container without a
//! system CA store. Used by the two places that talk HTTP outside Kubernetes: the report upload
//! (`scs::publish::upload`) and the release-data refresh (`evidence::native::release_data`).
//!
//! What every request gets:
//! * one time budget for the whole exchange (connect, TLS, send, answer, body);
//! * redirects are not followed unless the [`Client`] is told how many to follow (publish
//!   follows none: a POST body and credentials must not be replayed to another place);
//! * the answer body is read up to a limit, and [`Response::truncated`] says whether there was
//!   more;
//! * errors in words, from the whole error chain (e.g. `tcp connect error: Connection refused`),
//!   never containing a header value.
//!
//! The client runs its own single-threaded tokio runtime. Offline callers stay synchronous; a
//! caller that is itself inside a tokio runtime gets the exchange run on a scoped thread, so the
//! runtimes never nest.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, LOCATION, USER_AGENT};
use hyper::{Method, StatusCode, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The `User-Agent` of every request.
pub const USER_AGENT_VALUE: &str = concat!("scs-conformance/", env!("CARGO_PKG_VERSION"));

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not an absolute `http://` or `https://` URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The whole exchange took longer than the budget.
    #[error("no answer within {} s (timed out)", .0.as_secs_f64())]
    Timeout(Duration),
    /// Connection, TLS or protocol failure (the error chain in words).
    #[error("{0}")]
    Transport(String),
    /// A redirect was answered after the allowed number of redirects had been followed.
    #[error("more than {0} redirects")]
    TooManyRedirects(u8),
    /// The client could not be set up (TLS provider, runtime).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// An answer: status, headers, and the body up to the limit of the request.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
    /// The body was longer than the limit; `body` holds its first `limit` bytes.
    pub truncated: bool,
}

/// A blocking client: a connection pool on a private runtime, reused across requests.
pub struct Client {
    /// Always `Some` until dropped (see the `Drop` impl).
    runtime: Option<tokio::runtime::Runtime>,
    client: HyperClient<Connector, Full<Bytes>>,
    timeout: Duration,
    max_redirects: u8,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("max_redirects", &self.max_redirects)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client whose every request has `timeout` for the whole exchange and follows up to
    /// `max_redirects` redirects (only for `GET`; 0: none).
    pub fn new(timeout: Duration, max_redirects: u8) -> Result<Self, HttpError> {
        let setup = |e: &dyn std::fmt::Display| HttpError::Setup(e.to_string());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| setup(&e))?
            .https_or_http()
            .enable_http1()
            .build();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| setup(&e))?;
        let client = HyperClient::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            runtime: Some(runtime),
            client,
            timeout,
            max_redirects,
        })
    }

    /// Sends one request and reads the answer body up to `max_body` bytes. HTTP error statuses
    /// are answers, not errors.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
        max_body: usize,
    ) -> Result<Response, HttpError> {
        let exchange = async {
            tokio::time::timeout(
                self.timeout,
                self.exchange(method, url, headers, Bytes::from(body), max_body),
            )
            .await
            .unwrap_or(Err(HttpError::Timeout(self.timeout)))
        };
        let Some(runtime) = &self.runtime else {
            return Err(HttpError::Setup("the client was shut down".into()));
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Inside a caller's runtime `block_on` would nest runtimes: drive ours elsewhere.
            std::thread::scope(|s| {
                s.spawn(|| runtime.block_on(exchange))
                    .join()
                    .unwrap_or_else(|_| Err(HttpError::Transport("HTTP client failed".into())))
            })
        } else {
            runtime.block_on(exchange)
        }
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
        max_body: usize,
    ) -> Result<Response, HttpError> {
        let mut uri = parse_uri(url)?;
        let mut redirects = 0u8;
        loop {
            let mut request = hyper::Request::builder()
                .method(method.clone())
                .uri(uri.clone())
                .header(USER_AGENT, USER_AGENT_VALUE);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let request = request
                .body(Full::new(body.clone()))
                .map_err(|e| HttpError::InvalidUrl(e.to_string()))?;
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| HttpError::Transport(chain(&e)))?;
            let status = response.status();
            let follow = self.max_redirects > 0 && status.is_redirection() && method == Method::GET;
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .filter(|_| follow);
            if let Some(location) = location {
                if redirects >= self.max_redirects {
                    return Err(HttpError::TooManyRedirects(self.max_redirects));
                }
                redirects += 1;
                uri = resolve(&uri, location)?;
                continue;
            }
            let (parts, mut incoming) = response.into_parts();
            let mut body = Vec::new();
            let mut truncated = false;
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(|e| HttpError::Transport(chain(&e)))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let room = max_body - body.len();
                if data.len() > room {
                    body.extend_from_slice(&data[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&data);
            }
            return Ok(Response {
                status,
                headers: parts.headers,
                body,
                truncated,
            });
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Without waiting for its tasks, so that dropping a client inside another runtime (where
        // blocking is not allowed) is fine too; a pending DNS lookup thread ends by itself.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// An absolute `http(s)://` URI.
fn parse_uri(url: &str) -> Result<Uri, HttpError> {
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| HttpError::InvalidUrl(e.to_string()))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(uri),
        _ => Err(HttpError::InvalidUrl(
            "expected an absolute http:// or https:// URL".into(),
        )),
    }
}

/// A `Location` value against the URI it answered: absolute, or a path on the same origin.
fn resolve(base: &Uri, location: &str) -> Result<Uri, HttpError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return parse_uri(location);
    }
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/{location}")
    };
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some(
        path.parse()
            .map_err(|e: hyper::http::uri::InvalidUri| HttpError::InvalidUrl(e.to_string()))?,
    );
    Uri::from_parts(parts).map_err(|e| HttpError::InvalidUrl(e.to_string()))
}

/// An error and its sources on one line, without the generic wrappers' repetitions
/// (`client error (Connect): tcp connect error: Connection refused (os error 111)`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A one-connection-per-answer server on 127.0.0.1 that answers each request with the next
    /// canned response; returns its base URL.
    fn serve(answers: Vec<String>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                requests.push(String::from_utf8_lossy(&got).into_owned());
                stream.write_all(answer.as_bytes()).unwrap();
            }
            requests
        });
        (base, handle)
    }

    fn answer(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn answers_statuses_and_limits_the_body() {
        let (base, server) = serve(vec![answer("500 Internal Server Error", "", "0123456789")]);
        let client = Client::new(Duration::from_secs(5), 0).unwrap();
        let r = client
            .send(Method::GET, &format!("{base}/x"), &[], Vec::new(), 4)
            .unwrap();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.body, b"0123");
        assert!(r.truncated);
        let requests = server.join().unwrap();
        assert!(requests[0].starts_with("GET /x HTTP/1.1"), "{requests:?}");
        assert!(requests[0].contains(USER_AGENT_VALUE), "{requests:?}");
    }

    #[test]
    fn redirects_are_followed_only_when_allowed() {
        let (base, server) = serve(vec![answer("302 Found", "Location: /elsewhere\r\n", "")]);
        let client = Client::new(Duration::from_secs(5), 0).unwrap();
        let r = client
            .send(Method::GET, &format!("{base}/x"), &[], Vec::new(), 1024)
            .unwrap();
        assert_eq!(r.status, StatusCode::FOUND);
        server.join().unwrap();

        let (base, server) = serve(vec![
            answer("301 Moved Permanently", "Location: b\r\n", ""),
            answer("200 OK", "", "here"),
        ]);
        let client = Client::new(Duration::from_secs(5), 3).unwrap();
        let r = client
            .send(Method::GET, &format!("{base}/dir/a"), &[], Vec::new(), 1024)
            .unwrap();
        assert_eq!((r.status, &r.body[..]), (StatusCode::OK, &b"here"[..]));
        let requests = server.join().unwrap();
        assert!(requests[1].starts_with("GET /dir/b "), "{requests:?}");
    }

    #[test]
    fn times_out_and_names_connection_errors() {
        // Accepts but never answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let client = Client::new(Duration::from_millis(300), 0).unwrap();
        let err = client
            .send(Method::POST, &url, &[], b"x".to_vec(), 10)
            .unwrap_err();
        assert!(matches!(err, HttpError::Timeout(_)), "{err}");
        assert!(err.to_string().contains("0.3 s"), "{err}");
        drop(listener);

        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = client
            .send(
                Method::GET,
                &format!("http://127.0.0.1:{port}/"),
                &[],
                Vec::new(),
                10,
            )
            .unwrap_err();
        assert!(err.to_string().contains("onnect"), "{err}");

        for bad in ["ftp://h/", "/relative", "http://"] {
            assert!(
                client.send(Method::GET, bad, &[], Vec::new(), 10).is_err(),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn works_inside_a_runtime() {
        let (base, server) = serve(vec![answer("204 No Content", "", "")]);
        let client = Client::new(Duration::from_secs(5), 0).unwrap();
        let r = client
            .send(Method::GET, &base, &[], Vec::new(), 10)
            .unwrap();
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        server.join().unwrap();
        drop(client);
    }

    #[test]
    fn https_uses_rustls() {
        // A server that answers a TLS client hello with plain HTTP: the handshake fails.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}/", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        });
        let client = Client::new(Duration::from_secs(5), 0).unwrap();
        let err = client
            .send(Method::GET, &url, &[], Vec::new(), 10)
            .unwrap_err();
        assert!(matches!(err, HttpError::Transport(_)), "{err}");
        server.join().unwrap();
    }
}
