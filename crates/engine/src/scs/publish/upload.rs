//! `POST /reports` to the compliance monitor and the mapping of its answers.
//!
//! HTTP client: [`crate::http`] (hyper-util + hyper-rustls with the *ring* provider, the stack
//! `kube` already brings in, so no second HTTP or TLS stack); see `docs/publish.md`.

use std::path::Path;
use std::time::Duration;

use hyper::Method;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};

use super::{BasicAuth, PublishError, PublishOutcome};
use crate::http;

/// What the monitor splits the body on: the end of the signature armor, then `&`.
pub const SEPARATOR: &str = "-----END SSH SIGNATURE-----\n&";

/// Largest part of a monitor answer we read (only its reason text is shown).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Longest reason text we show.
const MAX_DETAIL_CHARS: usize = 500;

/// Report serialization, which decides the content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `application/x-signed-yaml` (what `scs-test-runner.py` sends).
    Yaml,
    /// `application/x-signed-json`.
    Json,
}

impl ReportFormat {
    /// `.json` (any case) is JSON; everything else is YAML.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => ReportFormat::Json,
            _ => ReportFormat::Yaml,
        }
    }

    /// The `Content-Type` the monitor expects for a signed report of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Yaml => "application/x-signed-yaml",
            ReportFormat::Json => "application/x-signed-json",
        }
    }
}

/// The request body: armored signature (ending in a newline), `&`, the report bytes unchanged.
/// Exactly what `curl --data-binary @r.sig --data-binary @r` sends.
pub fn signed_body(armored_signature: &str, report: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(armored_signature.len() + 2 + report.len());
    body.extend_from_slice(armored_signature.as_bytes());
    if !armored_signature.ends_with('\n') {
        body.push(b'\n');
    }
    body.push(b'&');
    body.extend_from_slice(report);
    body
}

/// `{base}/reports` for a monitor base URL (a URL already ending in `/reports` is kept).
/// Only `http://` and `https://` URLs without credentials, query or fragment are accepted.
pub fn reports_endpoint(base: &str) -> Result<String, PublishError> {
    let invalid = |reason: &str| PublishError::InvalidUrl {
        url: display_url(base),
        reason: reason.to_owned(),
    };
    let trimmed = base.trim();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| invalid("expected an http:// or https:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid(
            "credentials in the URL are not accepted; use a token file",
        ));
    }
    if authority.is_empty() {
        return Err(invalid("no host"));
    }
    if trimmed.contains(['?', '#']) || trimmed.contains(char::is_whitespace) {
        return Err(invalid(
            "the base URL must not contain a query, fragment or spaces",
        ));
    }
    let without_slash = trimmed.trim_end_matches('/');
    if without_slash.ends_with("/reports") {
        Ok(without_slash.to_owned())
    } else {
        Ok(format!("{without_slash}/reports"))
    }
}

/// A URL for messages: any `user:password@` part replaced by `***@`.
pub fn display_url(url: &str) -> String {
    let url = url.trim();
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &url[scheme_end + at..]),
        None => url.to_owned(),
    }
}

/// Send an already signed body to `endpoint` (the full `…/reports` URL) and map the answer.
///
/// Lower level than [`super::publish`]: it sends whatever content type it is given, so tests can
/// check the monitor's 415.
pub fn post_signed_report(
    endpoint: &str,
    content_type: &str,
    body: Vec<u8>,
    auth: Option<&BasicAuth>,
    timeout: Duration,
) -> Result<PublishOutcome, PublishError> {
    let url = display_url(endpoint);
    let scrub = |text: &str| match auth {
        Some(auth) => auth.scrub(text),
        None => text.to_owned(),
    };
    let connection = |reason: String| PublishError::Connection {
        url: url.clone(),
        reason: scrub(&reason),
    };
    // No redirect is followed: a POST body and credentials must not be replayed elsewhere.
    let client = http::Client::new(timeout, 0).map_err(|e| connection(e.to_string()))?;
    let mut headers = vec![(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).map_err(|e| connection(e.to_string()))?,
    )];
    if let Some(auth) = auth {
        let mut value =
            HeaderValue::from_str(&auth.header_value()).map_err(|_| PublishError::Connection {
                url: url.clone(),
                reason: "the credentials are not a valid header value".into(),
            })?;
        value.set_sensitive(true);
        headers.push((AUTHORIZATION, value));
    }
    let response = client
        .send(Method::POST, endpoint, &headers, body, MAX_ANSWER_BYTES)
        .map_err(|e| connection(e.to_string()))?;
    let status = response.status.as_u16();
    let location = response
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(display_url);
    let raw = response.body;
    let detail = scrub(&answer_detail(&raw));
    tracing::debug!(status, %url, detail = %detail, "monitor answered");
    match status {
        200..=299 => Ok(PublishOutcome::Stored),
        409 => Ok(PublishOutcome::Duplicate { detail }),
        401 => Err(PublishError::Unauthorized {
            url,
            hint: unauthorized_hint(&detail, auth.is_some()),
            reason: if detail.is_empty() {
                "no reason given".to_owned()
            } else {
                detail
            },
        }),
        415 => Err(PublishError::UnsupportedMediaType {
            url,
            content_type: content_type.to_owned(),
            detail: or_status_text(detail, "Unsupported Media Type"),
        }),
        300..=399 => Err(PublishError::Redirect {
            url,
            status,
            location: location.unwrap_or_else(|| "(no Location header)".to_owned()),
        }),
        _ => Err(PublishError::Http {
            url,
            status,
            detail: or_status_text(detail, "no reason given"),
        }),
    }
}

fn or_status_text(detail: String, fallback: &str) -> String {
    if detail.is_empty() {
        fallback.to_owned()
    } else {
        detail
    }
}

/// The monitor's reason text: FastAPI's `{"detail": …}` when present, else the text, on one
/// line, control characters removed, cut to [`MAX_DETAIL_CHARS`].
fn answer_detail(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    let detail = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => match map.get("detail") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => text.to_owned(),
        },
        Ok(serde_json::Value::Null) => String::new(),
        _ => text.to_owned(),
    };
    let mut one_line: String = detail
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.chars().count() > MAX_DETAIL_CHARS {
        one_line = one_line.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "…";
    }
    one_line
}

/// What a 401 reason means (reasons as in the monitor's `POST /reports`).
fn unauthorized_hint(detail: &str, sent_auth: bool) -> Option<&'static str> {
    let d = detail.to_ascii_lowercase();
    if !sent_auth {
        Some("no credentials were sent; pass a token file")
    } else if d.contains("verification failed") {
        Some(
            "the signature does not verify against the public keys registered for this account: \
             wrong signing key, or the report changed after signing",
        )
    } else if d.contains("missing signature") {
        Some("the monitor found no SSH signature before the report")
    } else if d.contains("delegation") {
        Some(
            "a report document's subject is neither the account's subject nor a subject that \
             delegates to it",
        )
    } else if d.contains("password") || d.contains("credential") || d.contains("not authenticated")
    {
        Some("the monitor did not accept the credentials; check the token file")
    } else if d.contains("permission") {
        Some("the account lacks the role to append reports for this subject")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint() {
        let ok = |u: &str| reports_endpoint(u).unwrap();
        assert_eq!(
            ok("https://compliance.sovereignit.cloud/"),
            "https://compliance.sovereignit.cloud/reports"
        );
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080/reports");
        assert_eq!(ok("http://h/base/reports/"), "http://h/base/reports");
        for bad in [
            "ftp://h",
            "h:80",
            "http://",
            "http://h/?a=1",
            "https://u:pw@h/",
        ] {
            let err = reports_endpoint(bad).unwrap_err().to_string();
            assert!(!err.contains("pw@"), "{err}");
        }
    }

    #[test]
    fn redacts_url_credentials() {
        assert_eq!(display_url("https://u:pw@h:1/x@y"), "https://***@h:1/x@y");
        assert_eq!(display_url("https://h/x"), "https://h/x");
    }

    #[test]
    fn body_layout() {
        let sig = "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n";
        let body = signed_body(sig, b"---\nsubject: x\n");
        let text = String::from_utf8(body).unwrap();
        let at = text.find(SEPARATOR).unwrap() + SEPARATOR.len();
        assert_eq!(&text[at..], "---\nsubject: x\n");
        assert_eq!(&text[..at - 1], sig);
    }

    #[test]
    fn formats() {
        assert_eq!(
            ReportFormat::from_path(Path::new("a/report.yaml")),
            ReportFormat::Yaml
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("a/report.JSON")),
            ReportFormat::Json
        );
        assert_eq!(
            ReportFormat::Yaml.content_type(),
            "application/x-signed-yaml"
        );
        assert_eq!(
            ReportFormat::Json.content_type(),
            "application/x-signed-json"
        );
    }

    #[test]
    fn details() {
        assert_eq!(
            answer_detail(br#"{"detail":"verification failed"}"#),
            "verification failed"
        );
        assert_eq!(answer_detail(b"null"), "");
        assert_eq!(answer_detail(b"plain\n\x1btext"), "plain text");
        assert_eq!(
            answer_detail(&[b'x'; 2000]).chars().count(),
            MAX_DETAIL_CHARS + 1
        );
        assert!(
            unauthorized_hint("verification failed", true)
                .unwrap()
                .contains("wrong signing key")
        );
        assert!(
            unauthorized_hint("delegation problem?", true)
                .unwrap()
                .contains("subject")
        );
        assert!(unauthorized_hint("", false).unwrap().contains("token file"));
    }
}
