//! Ingesting e2e results: a Sonobuoy results tarball, an extracted results directory, or a bare
//! e2e JUnit file (optionally gzipped).
//!
//! Tarballs come from clusters and users we do not control, so extraction is defensive: only
//! regular files and directories, no path that leaves the target directory, and bounded entry
//! counts and sizes. Everything else is an error that names the archive and the entry.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use serde::Deserialize;

use crate::cni::Workload;
use crate::e2e_junit::{self, E2eReport, JunitError};

/// What kind of input the results came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultsKind {
    Tarball,
    Directory,
    Junit,
}

/// Bounds on what an archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // A full conformance run archive is tens of MB; these leave room for big clusters.
        Limits {
            max_entries: 200_000,
            max_file_bytes: 1 << 30,
            max_total_bytes: 4 << 30,
        }
    }
}

/// Results ready for evaluation.
#[derive(Debug, Clone)]
pub struct Results {
    pub source: PathBuf,
    pub kind: ResultsKind,
    /// The e2e report, or why the e2e plugin produced none (e.g. a plugin timeout).
    pub e2e: Result<E2eReport, String>,
    /// Path of the JUnit file that was read, relative to the results root.
    pub junit_file: Option<String>,
    /// `gitVersion` from `serverversion.json`, when the archive has one.
    pub kubernetes_version: Option<String>,
    /// DaemonSets and Deployments from the archive's resource dump (for CNI detection).
    pub workloads: Vec<Workload>,
    /// Where a tarball was extracted to.
    pub extracted_to: Option<PathBuf>,
}

/// Why results could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{archive}: entry {entry:?}: {why}")]
    UnsafeEntry {
        archive: PathBuf,
        entry: String,
        why: String,
    },
    #[error("{archive}: {why}")]
    Archive { archive: PathBuf, why: String },
    #[error(
        "{path}: no e2e JUnit report (looked for plugins/e2e/results/global/junit_01.xml and *.xml under plugins/e2e/results/)"
    )]
    NoJunit { path: PathBuf },
    #[error("{path}: {source}")]
    Junit { path: PathBuf, source: JunitError },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ResultsError + '_ {
    move |source| ResultsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Loads results from `path`. Tarballs are extracted into `extract_to` (which must not exist
/// yet, or be empty); without one they are extracted into a temporary directory that is removed
/// after reading.
pub fn load(
    path: &Path,
    extract_to: Option<&Path>,
    limits: Limits,
) -> Result<Results, ResultsError> {
    let meta = fs::metadata(path).map_err(io_err(path))?;
    if meta.is_dir() {
        return load_dir(path, path, ResultsKind::Directory);
    }
    if is_tarball(path)? {
        let (dir, _guard) = match extract_to {
            Some(dir) => (dir.to_path_buf(), None),
            None => {
                let tmp = tempfile::tempdir().map_err(io_err(path))?;
                (tmp.path().to_path_buf(), Some(tmp))
            }
        };
        extract(path, &dir, limits)?;
        let mut results = load_dir(&dir, path, ResultsKind::Tarball)?;
        results.extracted_to = extract_to.map(Path::to_path_buf);
        return Ok(results);
    }
    let xml = read_maybe_gzipped(path, limits.max_file_bytes)?;
    let report = e2e_junit::parse(&xml).map_err(|source| ResultsError::Junit {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Results {
        source: path.to_path_buf(),
        kind: ResultsKind::Junit,
        e2e: Ok(report),
        junit_file: Some(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        kubernetes_version: None,
        workloads: Vec::new(),
        extracted_to: None,
    })
}

/// A gzip stream whose content is a tar archive (by the `ustar` magic), as opposed to a gzipped
/// JUnit file.
fn is_tarball(path: &Path) -> Result<bool, ResultsError> {
    let mut head = [0u8; 2];
    let mut f = fs::File::open(path).map_err(io_err(path))?;
    if f.read(&mut head).map_err(io_err(path))? < 2 || head != [0x1f, 0x8b] {
        return Ok(false);
    }
    let f = fs::File::open(path).map_err(io_err(path))?;
    let mut block = Vec::with_capacity(512);
    let _ = GzDecoder::new(f).take(512).read_to_end(&mut block);
    Ok(block.len() >= 262 && &block[257..262] == b"ustar")
}

fn read_maybe_gzipped(path: &Path, max: u64) -> Result<Vec<u8>, ResultsError> {
    let raw = fs::read(path).map_err(io_err(path))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 8);
        GzDecoder::new(&raw[..])
            .take(max + 1)
            .read_to_end(&mut out)
            .map_err(|e| ResultsError::Archive {
                archive: path.to_path_buf(),
                why: format!("cannot decompress (truncated or corrupt gzip?): {e}"),
            })?;
        if out.len() as u64 > max {
            return Err(ResultsError::Archive {
                archive: path.to_path_buf(),
                why: format!("decompresses to more than {max} bytes"),
            });
        }
        return Ok(out);
    }
    Ok(raw)
}

/// Extracts a `.tar.gz` safely into `dest` (created if missing).
pub fn extract(archive: &Path, dest: &Path, limits: Limits) -> Result<(), ResultsError> {
    let file = fs::File::open(archive).map_err(io_err(archive))?;
    fs::create_dir_all(dest).map_err(io_err(dest))?;
    let broken = |e: io::Error| ResultsError::Archive {
        archive: archive.to_path_buf(),
        why: format!("cannot read archive (truncated or corrupt?): {e}"),
    };
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let (mut entries, mut total) = (0u64, 0u64);
    for entry in tar.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        entries += 1;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_entry = |why: String| ResultsError::UnsafeEntry {
            archive: archive.to_path_buf(),
            entry: name.clone(),
            why,
        };
        if entries > limits.max_entries {
            return Err(unsafe_entry(format!(
                "archive has more than {} entries",
                limits.max_entries
            )));
        }
        let relative = safe_relative_path(&entry.path().map_err(broken)?)
            .map_err(|why| unsafe_entry(why.into()))?;
        let kind = entry.header().entry_type();
        let target = dest.join(&relative);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(io_err(&target))?;
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(unsafe_entry(format!(
                "{kind:?} entries are not allowed (only files and directories)"
            )));
        }
        let size = entry.header().size().map_err(broken)?;
        if size > limits.max_file_bytes {
            return Err(unsafe_entry(format!(
                "{size} bytes is more than the {} allowed per file",
                limits.max_file_bytes
            )));
        }
        total += size;
        if total > limits.max_total_bytes {
            return Err(unsafe_entry(format!(
                "archive unpacks to more than {} bytes",
                limits.max_total_bytes
            )));
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut out = fs::File::create(&target).map_err(io_err(&target))?;
        // `take` guards against a header that understates the data.
        let copied = io::copy(&mut (&mut entry).take(limits.max_file_bytes + 1), &mut out)
            .map_err(broken)?;
        if copied != size {
            return Err(ResultsError::Archive {
                archive: archive.to_path_buf(),
                why: format!("entry {name:?} is truncated ({copied} of {size} bytes)"),
            });
        }
    }
    if entries == 0 {
        return Err(ResultsError::Archive {
            archive: archive.to_path_buf(),
            why: "archive is empty".into(),
        });
    }
    Ok(())
}

/// A path that stays inside the extraction directory, or why not.
fn safe_relative_path(path: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("path contains `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path"),
        }
    }
    if out.as_os_str().is_empty() {
        return Err("empty path");
    }
    Ok(out)
}

fn load_dir(dir: &Path, source: &Path, kind: ResultsKind) -> Result<Results, ResultsError> {
    let kubernetes_version = fs::read(dir.join("serverversion.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<ServerVersion>(&b).ok())
        .map(|v| v.git_version);
    let workloads = read_workloads(dir);
    let (e2e, junit_file) = match find_junit(dir) {
        Some(rel) => {
            let path = dir.join(&rel);
            let xml = fs::read(&path).map_err(io_err(&path))?;
            let report = e2e_junit::parse(&xml).map_err(|e| ResultsError::Junit {
                path: source.join(&rel),
                source: e,
            })?;
            (Ok(report), Some(rel))
        }
        None => match plugin_error(dir) {
            Some(why) => (Err(why), None),
            None => {
                return Err(ResultsError::NoJunit {
                    path: source.to_path_buf(),
                });
            }
        },
    };
    Ok(Results {
        source: source.to_path_buf(),
        kind,
        e2e,
        junit_file,
        kubernetes_version,
        workloads,
        extracted_to: None,
    })
}

/// The e2e JUnit inside a results directory, relative to it.
fn find_junit(dir: &Path) -> Option<String> {
    for candidate in [
        "plugins/e2e/results/global/junit_01.xml",
        "plugins/e2e/results/junit_01.xml",
        "junit_01.xml",
    ] {
        if dir.join(candidate).is_file() {
            return Some(candidate.to_string());
        }
    }
    // Any other JUnit file the e2e plugin wrote (Sonobuoy post-processes every *.xml there).
    let base = dir.join("plugins/e2e/results");
    let mut found = Vec::new();
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                found.push(p);
            }
        }
    }
    found.sort();
    found
        .first()
        .and_then(|p| p.strip_prefix(dir).ok())
        .map(|p| p.display().to_string())
}

/// Sonobuoy writes `plugins/e2e/errors/<node>/error.json` when the plugin failed or timed out.
fn plugin_error(dir: &Path) -> Option<String> {
    let errors = dir.join("plugins/e2e/errors");
    let mut messages = Vec::new();
    for node in fs::read_dir(&errors).ok()?.flatten() {
        let text = fs::read_to_string(node.path().join("error.json")).unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or(text);
        messages.push(message.trim().to_string());
    }
    (!messages.is_empty())
        .then(|| format!("the e2e plugin reported an error: {}", messages.join("; ")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerVersion {
    git_version: String,
}

#[derive(Deserialize)]
struct ResourceObject {
    metadata: ObjectMeta,
    spec: Option<WorkloadSpec>,
}
#[derive(Deserialize)]
struct ObjectMeta {
    name: String,
    #[serde(default)]
    namespace: String,
}
#[derive(Deserialize)]
struct WorkloadSpec {
    template: Option<PodTemplate>,
}
#[derive(Deserialize)]
struct PodTemplate {
    spec: Option<PodSpec>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    containers: Vec<Container>,
    #[serde(default)]
    init_containers: Vec<Container>,
}
#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    image: String,
}

/// DaemonSets and Deployments from Sonobuoy's resource dump (`resources/ns/<ns>/apps_v1_*.json`).
fn read_workloads(dir: &Path) -> Vec<Workload> {
    let mut out = Vec::new();
    for ns in fs::read_dir(dir.join("resources/ns"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for file in ["apps_v1_daemonsets.json", "apps_v1_deployments.json"] {
            let Ok(bytes) = fs::read(ns.path().join(file)) else {
                continue;
            };
            let Ok(objects) = serde_json::from_slice::<Vec<ResourceObject>>(&bytes) else {
                continue;
            };
            for o in objects {
                let spec = o.spec.and_then(|s| s.template).and_then(|t| t.spec);
                let images = spec
                    .map(|s| {
                        s.containers
                            .into_iter()
                            .chain(s.init_containers)
                            .map(|c| c.image)
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Workload {
                    namespace: o.metadata.namespace,
                    name: o.metadata.name,
                    images,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_target_are_refused() {
        assert!(safe_relative_path(Path::new("../etc/passwd")).is_err());
        assert!(safe_relative_path(Path::new("a/../../b")).is_err());
        assert!(safe_relative_path(Path::new("/etc/passwd")).is_err());
        assert_eq!(
            safe_relative_path(Path::new("./plugins/e2e")).unwrap(),
            PathBuf::from("plugins/e2e")
        );
    }
}
