//! Retrieving the results tarball through the `pods/exec` subresource, as `sonobuoy retrieve`
//! does: `/sonobuoy splat /tmp/sonobuoy` in the aggregator container writes a gzipped tar of the
//! results tarball(s) to stdout. The tarball is checked against the status annotation's
//! `tar-info` (sha256 and size) before anything reads it.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, AttachParams};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::status::TarInfo;
use super::{AGGREGATOR_CONTAINER, AGGREGATOR_POD, RESULTS_PATH};
use crate::atomic;

/// Why retrieval failed.
#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    #[error("cannot exec into the aggregator pod: {0}")]
    Exec(#[source] kube::Error),
    #[error("reading the results stream: {0}")]
    Stream(String),
    #[error("`/sonobuoy splat` failed: {0}")]
    Splat(String),
    #[error("the results stream holds no {expected}")]
    Missing { expected: String },
    #[error(
        "results tarball {name}: expected {expected_size} bytes with sha256 {expected_sha256}, got {size} bytes with sha256 {sha256}"
    )]
    Mismatch {
        name: String,
        expected_size: u64,
        expected_sha256: String,
        size: u64,
        sha256: String,
    },
    #[error("results stream is larger than {0} bytes")]
    TooLarge(u64),
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Upper bound for a results stream.
pub const MAX_RESULTS_BYTES: u64 = 4 << 30;

/// Retrieves the results tarball named in `tar_info` into `out_dir` and returns its path.
pub async fn retrieve(
    client: &Client,
    namespace: &str,
    tar_info: &TarInfo,
    out_dir: &Path,
) -> Result<PathBuf, RetrieveError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = AttachParams::default()
        .container(AGGREGATOR_CONTAINER)
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let mut process = pods
        .exec(
            AGGREGATOR_POD,
            ["/sonobuoy", "splat", RESULTS_PATH],
            &params,
        )
        .await
        .map_err(RetrieveError::Exec)?;
    let stdout = process
        .stdout()
        .ok_or_else(|| RetrieveError::Stream("no stdout".into()))?;
    let stderr = process
        .stderr()
        .ok_or_else(|| RetrieveError::Stream("no stderr".into()))?;
    let status = process.take_status();
    let mut stream = Vec::new();
    let mut errors = Vec::new();
    let mut stdout = stdout.take(MAX_RESULTS_BYTES + 1);
    let mut stderr = stderr.take(64 * 1024);
    let (out, err) = tokio::join!(
        stdout.read_to_end(&mut stream),
        stderr.read_to_end(&mut errors)
    );
    out.map_err(|e| RetrieveError::Stream(e.to_string()))?;
    let _ = err;
    if stream.len() as u64 > MAX_RESULTS_BYTES {
        return Err(RetrieveError::TooLarge(MAX_RESULTS_BYTES));
    }
    if let Some(status) = status
        && let Some(s) = status.await
        && s.status.as_deref() == Some("Failure")
    {
        let stderr = String::from_utf8_lossy(&errors);
        return Err(RetrieveError::Splat(
            format!("{} {}", s.message.unwrap_or_default(), stderr.trim())
                .trim()
                .to_string(),
        ));
    }
    let _ = process.join().await;

    let (name, tarball) = unpack_splat(&stream, &tar_info.name)?;
    let size = tarball.len() as u64;
    let sha256 = hex::encode(Sha256::digest(&tarball));
    if (!tar_info.sha256.is_empty() && sha256 != tar_info.sha256)
        || (tar_info.size != 0 && size != tar_info.size)
    {
        return Err(RetrieveError::Mismatch {
            name,
            expected_size: tar_info.size,
            expected_sha256: tar_info.sha256.clone(),
            size,
            sha256,
        });
    }
    let path = out_dir.join(&name);
    atomic::write(&path, &tarball).map_err(|source| RetrieveError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Extracts the results tarball from the splat stream (a gzipped tar of `*.tar.gz` files by
/// basename). Prefers the file named `expected`; else the only `.tar.gz`.
pub fn unpack_splat(stream: &[u8], expected: &str) -> Result<(String, Vec<u8>), RetrieveError> {
    let mut archive = tar::Archive::new(GzDecoder::new(stream));
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| RetrieveError::Stream(format!("not a gzipped tar: {e}")))?;
    for entry in entries {
        let mut entry = entry
            .map_err(|e| RetrieveError::Stream(format!("truncated or corrupt stream: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        // Only the base name counts: a hostile stream cannot choose where we write.
        let name = entry
            .path()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        if !name.ends_with(".tar.gz") || name.starts_with('.') {
            continue;
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| RetrieveError::Stream(format!("truncated or corrupt stream: {e}")))?;
        found.push((name, data));
    }
    if let Some(i) = found.iter().position(|(n, _)| n == expected) {
        return Ok(found.swap_remove(i));
    }
    match found.len() {
        1 if expected.is_empty() => Ok(found.remove(0)),
        _ => Err(RetrieveError::Missing {
            expected: if expected.is_empty() {
                "results tarball".into()
            } else {
                format!("results tarball {expected}")
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn splat(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        let mut gz = b.into_inner().unwrap();
        gz.flush().unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn the_named_tarball_is_taken_from_the_stream() {
        let s = splat(&[
            ("other.tar.gz", b"x"),
            ("202511250800_sonobuoy_u.tar.gz", b"results"),
        ]);
        let (name, data) = unpack_splat(&s, "202511250800_sonobuoy_u.tar.gz").unwrap();
        assert_eq!(
            (name.as_str(), data.as_slice()),
            ("202511250800_sonobuoy_u.tar.gz", &b"results"[..])
        );
    }

    #[test]
    fn a_missing_or_broken_stream_is_an_error() {
        let s = splat(&[("a.tar.gz", b"x")]);
        assert!(matches!(
            unpack_splat(&s, "b.tar.gz"),
            Err(RetrieveError::Missing { .. })
        ));
        assert!(matches!(
            unpack_splat(&s[..s.len() / 2], "a.tar.gz"),
            Err(RetrieveError::Stream(_))
        ));
        assert!(matches!(
            unpack_splat(b"not gzip", "a.tar.gz"),
            Err(RetrieveError::Stream(_))
        ));
    }
}
