//! Retrieving the results tarball through the `pods/exec` subresource, as `sonobuoy retrieve`
//! does: `/sonobuoy splat /tmp/sonobuoy` in the aggregator container writes a gzipped tar of the
//! results tarball(s) to stdout. The tarball is checked against the status annotation's
//! `tar-info` (sha256 and size) before anything reads it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::GzDecoder;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, AttachParams};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::status::TarInfo;
use super::{AGGREGATOR_CONTAINER, AGGREGATOR_POD, RESULTS_PATH};

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
/// A results stream without a byte for this long is stalled. kube's WebSocket pings keep the
/// connection's read timeout from catching a server that stops sending, hence this bound.
const STREAM_IDLE_LIMIT: Duration = Duration::from_secs(300);
/// How long the exec's stderr and exit status may lag behind the end of stdout.
const EXIT_LIMIT: Duration = Duration::from_secs(30);

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
    // The stream goes to a temporary file next to the results, never into memory: it can be
    // gigabytes.
    let write_err = |source| RetrieveError::Write {
        path: out_dir.to_path_buf(),
        source,
    };
    let stream_file = tempfile::Builder::new()
        .prefix(".splat-")
        .tempfile_in(out_dir)
        .map_err(write_err)?;
    let mut sink = tokio::io::BufWriter::new(tokio::fs::File::from_std(
        stream_file.reopen().map_err(write_err)?,
    ));
    let mut errors = Vec::new();
    let mut stdout = stdout.take(MAX_RESULTS_BYTES + 1);
    let mut stderr = stderr.take(64 * 1024);
    let received = {
        // stderr is read alongside stdout (its buffer must not fill up) and given EXIT_LIMIT more
        // once stdout has ended.
        let out = copy_until_idle(&mut stdout, &mut sink, STREAM_IDLE_LIMIT);
        let err = stderr.read_to_end(&mut errors);
        tokio::pin!(out, err);
        let mut err_done = false;
        let out = loop {
            tokio::select! {
                r = &mut out => break r,
                _ = &mut err, if !err_done => err_done = true,
            }
        };
        if !err_done {
            let _ = tokio::time::timeout(EXIT_LIMIT, &mut err).await;
        }
        out.map_err(|e| RetrieveError::Stream(e.to_string()))?
    };
    sink.flush().await.map_err(write_err)?;
    drop(sink);
    if received > MAX_RESULTS_BYTES {
        return Err(RetrieveError::TooLarge(MAX_RESULTS_BYTES));
    }
    if let Some(status) = status
        && let Ok(Some(s)) = tokio::time::timeout(EXIT_LIMIT, status).await
        && s.status.as_deref() == Some("Failure")
    {
        let stderr = String::from_utf8_lossy(&errors);
        return Err(RetrieveError::Splat(
            format!("{} {}", s.message.unwrap_or_default(), stderr.trim())
                .trim()
                .to_string(),
        ));
    }
    let _ = tokio::time::timeout(EXIT_LIMIT, process.join()).await;

    // Unpacking and hashing read gigabytes: off the async runtime.
    let expected = tar_info.name.clone();
    let dir = out_dir.to_path_buf();
    let unpacked = tokio::task::spawn_blocking(move || {
        let file = stream_file
            .reopen()
            .map_err(|source| RetrieveError::Write {
                path: stream_file.path().to_path_buf(),
                source,
            })?;
        unpack_splat(std::io::BufReader::new(file), &expected, &dir)
    })
    .await
    .map_err(|e| RetrieveError::Stream(format!("unpacking the results stream: {e}")))??;
    if (!tar_info.sha256.is_empty() && unpacked.sha256 != tar_info.sha256)
        || (tar_info.size != 0 && unpacked.size != tar_info.size)
    {
        return Err(RetrieveError::Mismatch {
            name: unpacked.name,
            expected_size: tar_info.size,
            expected_sha256: tar_info.sha256.clone(),
            size: unpacked.size,
            sha256: unpacked.sha256,
        });
    }
    let path = out_dir.join(&unpacked.name);
    unpacked
        .file
        .persist(&path)
        .map_err(|e| RetrieveError::Write {
            path: path.clone(),
            source: e.error,
        })?;
    Ok(path)
}

/// Copies `reader` to `into` until its end and returns the number of bytes; an error when no
/// byte comes for `idle`.
async fn copy_until_idle(
    reader: &mut (impl AsyncRead + Unpin),
    into: &mut (impl AsyncWrite + Unpin),
    idle: Duration,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        match tokio::time::timeout(idle, reader.read(&mut buf)).await {
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no data for {} after {total} bytes",
                        super::follow::human(idle),
                    ),
                ));
            }
            Ok(Ok(0)) => return Ok(total),
            Ok(Ok(n)) => {
                into.write_all(buf.get(..n).unwrap_or_default()).await?;
                total += n as u64;
            }
            Ok(Err(e)) => return Err(e),
        }
    }
}

/// A tarball taken from the splat stream: written to a temporary file in the output
/// directory, hashed on the way.
#[derive(Debug)]
pub struct Unpacked {
    pub name: String,
    pub file: tempfile::NamedTempFile,
    pub size: u64,
    /// Hex sha256 of the content.
    pub sha256: String,
}

/// Extracts the results tarball from the splat stream (a gzipped tar of `*.tar.gz` files by
/// basename) into a temporary file in `dir`. Prefers the file named `expected`; else the only
/// `.tar.gz`. The whole stream is read, so a corrupt end is an error too.
pub fn unpack_splat(
    stream: impl Read,
    expected: &str,
    dir: &Path,
) -> Result<Unpacked, RetrieveError> {
    let mut archive = tar::Archive::new(GzDecoder::new(stream));
    let mut found: Vec<Unpacked> = Vec::new();
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
        let write_err = |source| RetrieveError::Write {
            path: dir.to_path_buf(),
            source,
        };
        let mut file = crate::reports::atomic::output_file_builder()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(write_err)?;
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| RetrieveError::Stream(format!("truncated or corrupt stream: {e}")))?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            out.write_all(chunk).map_err(write_err)?;
            size += n as u64;
        }
        out.into_inner()
            .map_err(|e| write_err(e.into_error()))?
            .sync_all()
            .map_err(write_err)?;
        found.push(Unpacked {
            name,
            file,
            size,
            sha256: hex::encode(hasher.finalize()),
        });
    }
    if let Some(i) = found.iter().position(|u| u.name == expected) {
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
        let dir = tempfile::tempdir().unwrap();
        let u = unpack_splat(&s[..], "202511250800_sonobuoy_u.tar.gz", dir.path()).unwrap();
        assert_eq!(u.name, "202511250800_sonobuoy_u.tar.gz");
        assert_eq!(std::fs::read(u.file.path()).unwrap(), b"results");
        assert_eq!(
            (u.size, u.sha256),
            (7, hex::encode(Sha256::digest(b"results")))
        );
    }

    #[test]
    fn a_missing_or_broken_stream_is_an_error() {
        let s = splat(&[("a.tar.gz", b"x")]);
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            unpack_splat(&s[..], "b.tar.gz", dir.path()),
            Err(RetrieveError::Missing { .. })
        ));
        assert!(matches!(
            unpack_splat(&s[..s.len() / 2], "a.tar.gz", dir.path()),
            Err(RetrieveError::Stream(_))
        ));
        assert!(matches!(
            unpack_splat(&b"not gzip"[..], "a.tar.gz", dir.path()),
            Err(RetrieveError::Stream(_))
        ));
    }
}
