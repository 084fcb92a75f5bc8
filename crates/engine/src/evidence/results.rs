//! Ingesting e2e results: a Sonobuoy results tarball, an extracted results directory, or a bare
//! e2e JUnit file (optionally gzipped).
//!
//! Inputs come from clusters and users we do not control, so reading is defensive
//! (docs/reliability.md):
//! - the format is told by content (magic bytes), never by file name; zip, bzip2, xz and zstd
//!   are refused with a message saying so;
//! - extraction takes only regular files and directories, no path that leaves the target
//!   directory, bounded entry counts and sizes, and refuses an entry path that occurs twice with
//!   different contents;
//! - directory walks never follow symlinks and never open FIFOs or devices;
//! - every `junit*.xml` of the run is read (Ginkgo v1 parallel runs write one per node) and
//!   merged; a spec reported by two files with different outcomes is an error;
//! - the JUnit is checked against the run's `e2e.log` summary and Sonobuoy's
//!   `sonobuoy_results.yaml`, when present; disagreements make the report untrustworthy
//!   ([`E2eReport::discrepancies`]), so no verdict on it is PASS.
//!
//! Errors name the archive, file or entry.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

use crate::evidence::cni::Workload;
use crate::evidence::e2e_junit::{
    self, E2eReport, JunitError, Parsed, RawCounts, ReadLimits, TestResult,
};

mod summary_yaml;

/// What kind of input the results came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultsKind {
    Tarball,
    Directory,
    Junit,
}

/// Sonobuoy's own summary of the e2e plugin's results.
const SONOBUOY_YAML: &str = "plugins/e2e/sonobuoy_results.yaml";

/// Bounds on what an input may unpack to and what is read into memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
    /// Per JUnit document (decompressed) and its testcases: parsed while streaming, refused
    /// once exceeded.
    pub junit: ReadLimits,
    /// JUnit files merged into one report.
    pub max_junit_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // A full conformance run archive is tens of MB; these leave room for big clusters.
        Limits {
            max_entries: 200_000,
            max_file_bytes: 1 << 30,
            max_total_bytes: 4 << 30,
            junit: ReadLimits::default(),
            max_junit_files: 256,
        }
    }
}

/// Small metadata files (serverversion.json, resource dumps, sonobuoy_results.yaml) are read
/// whole, up to this size; bigger ones are ignored or refused.
const MAX_METADATA_BYTES: u64 = 64 << 20;
/// Deepest directory level walked below `plugins/e2e/results`.
const MAX_WALK_DEPTH: usize = 16;

/// Results ready for evaluation.
#[derive(Debug, Clone)]
pub struct Results {
    pub source: PathBuf,
    pub kind: ResultsKind,
    /// The e2e report, or why the e2e plugin produced none (e.g. a plugin timeout).
    pub e2e: Result<E2eReport, PluginError>,
    /// The JUnit files that were read, relative to the results root, joined by `, `.
    pub junit_file: Option<String>,
    /// `gitVersion` from `serverversion.json`, when the archive has one.
    pub kubernetes_version: Option<String>,
    /// DaemonSets and Deployments from the archive's resource dump (for CNI detection).
    pub workloads: Vec<Workload>,
    /// Where a tarball was extracted to.
    pub extracted_to: Option<PathBuf>,
}

/// The e2e plugin produced no report and said why: Sonobuoy's
/// `plugins/e2e/errors/<node>/error.json` (e.g. a plugin timeout), one message per node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the e2e plugin reported an error: {}", .messages.join("; "))]
pub struct PluginError {
    pub messages: Vec<String>,
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
        "{archive}: entry {entry:?} occurs twice (entries #{first} and #{second}) with different contents; refusing to pick one"
    )]
    DuplicateEntry {
        archive: PathBuf,
        entry: String,
        first: u64,
        second: u64,
    },
    #[error(
        "{path}: {what}, not Sonobuoy results (a .tar.gz, a results directory or a JUnit .xml)"
    )]
    UnsupportedFormat { path: PathBuf, what: &'static str },
    #[error("{path}: is {kind}; only regular files and directories are read")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{path}: no e2e JUnit report (looked for junit*.xml in plugins/e2e/results/global, plugins/e2e/results and the top directory, and *.xml under plugins/e2e/results/)"
    )]
    NoJunit { path: PathBuf },
    #[error("{path}: {source}")]
    Junit { path: PathBuf, source: JunitError },
    #[error(
        "{path}: one file of an e2e run whose other files are next to it ({}); pass the directory {} so that every file of the run is read and checked",
        .others.join(", "),
        .dir.display()
    )]
    PartOfRun {
        path: PathBuf,
        dir: PathBuf,
        others: Vec<String>,
    },
    #[error("{path}: more than {max} JUnit files")]
    TooManyJunitFiles { path: PathBuf, max: usize },
    #[error(
        "spec {name:?} is {first_outcome} in {first} but {second_outcome} in {second}: conflicting copies of one run"
    )]
    ConflictingCopies {
        name: String,
        first: String,
        first_outcome: &'static str,
        second: String,
        second_outcome: &'static str,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ResultsError + '_ {
    move |source| ResultsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a results file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Tar { gzip: bool },
    Junit { gzip: bool },
    Unsupported(&'static str),
}

/// A fact given on the command line that the results contradict. Texts are as given and found;
/// each output escapes them for itself (the CLI's stderr, the ABORT record's files).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContradictingFacts {
    #[error(
        "--k8s-version {given} contradicts the Kubernetes version {found} that the results report \
         (serverversion.json of {results}); a given version may only fill in an unknown one: omit \
         --k8s-version"
    )]
    KubernetesVersion {
        given: String,
        found: String,
        results: String,
    },
    #[error(
        "--cni {given} contradicts the CNI {found} detected in the results (the DaemonSets and \
         Deployments under resources/ns of {results}); a given CNI may only fill in an unknown \
         one: omit --cni"
    )]
    Cni {
        given: String,
        found: String,
        results: String,
    },
}

/// Refuses facts given by the user (`verdict --k8s-version`, `--cni`) that contradict what the
/// results themselves say: a given value may only fill in what the evidence leaves unknown.
/// Replacing the archive's Kubernetes minor would judge it against another release's inventory
/// and waivers; replacing a detected CNI would apply another CNI's waivers. A CNI left unknown by
/// the evidence (none found, or workloads of several CNIs) may be named; a Kubernetes version
/// that agrees in major and minor may add or differ in the patch.
pub fn check_given_facts(
    results: &Results,
    cni: Option<&crate::evidence::cni::Cni>,
    kubernetes_version: Option<&str>,
) -> Result<(), ContradictingFacts> {
    use crate::evidence::cni::{self, CniName};
    use crate::version::K8sVersion;
    let source = results.source.display().to_string();
    if let (Some(given), Some(found)) = (kubernetes_version, &results.kubernetes_version) {
        let given_minor = crate::version::kubernetes(given)
            .ok()
            .map(|v| (v.0.major, v.0.minor));
        let found_minor = K8sVersion::from_git_version(found).map(K8sVersion::branch);
        if given_minor.is_none() || given_minor != found_minor {
            return Err(ContradictingFacts::KubernetesVersion {
                given: given.to_string(),
                found: found.clone(),
                results: source.clone(),
            });
        }
    }
    let (Some(given), Some(found)) = (cni, cni::detect(&results.workloads)) else {
        return Ok(());
    };
    let CniName::Known(found_name) = found.name else {
        return Ok(());
    };
    let version_differs = match (&given.version, &found.version) {
        (Some(g), Some(f)) => {
            let g = g.trim_start_matches('v');
            f != g && !f.starts_with(&format!("{g}."))
        }
        _ => false,
    };
    if given.name != found_name || version_differs {
        let show = |c: &crate::evidence::cni::Cni| match &c.version {
            Some(v) => format!("{}@{v}", c.name),
            None => c.name.to_string(),
        };
        return Err(ContradictingFacts::Cni {
            given: show(given),
            found: show(&found),
            results: source.clone(),
        });
    }
    Ok(())
}

/// Loads results from `path`. Tarballs are extracted into `extract_to` (which must not exist
/// yet, or be empty); without one they are extracted into a temporary directory that is removed
/// after reading.
pub fn load(
    path: &Path,
    extract_to: Option<&Path>,
    limits: Limits,
) -> Result<Results, ResultsError> {
    // The path the user named may be a symlink; what it points to must be a file or directory.
    let meta = fs::metadata(path).map_err(io_err(path))?;
    if meta.is_dir() {
        return load_dir(path, path, ResultsKind::Directory, limits);
    }
    if !meta.is_file() {
        return Err(ResultsError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_name(&meta.file_type()),
        });
    }
    match sniff(path)? {
        Sniffed::Unsupported(what) => Err(ResultsError::UnsupportedFormat {
            path: path.to_path_buf(),
            what,
        }),
        Sniffed::Tar { gzip } => {
            let (dir, _guard) = match extract_to {
                Some(dir) => (dir.to_path_buf(), None),
                None => {
                    let tmp = tempfile::tempdir().map_err(io_err(path))?;
                    (tmp.path().to_path_buf(), Some(tmp))
                }
            };
            // What the verdict reads is kept in memory while extracting, and its parsing starts on
            // other threads as soon as it is out of the stream, while the rest is extracted.
            let mut results = std::thread::scope(|scope| {
                let mut prefetch = Prefetch::new(scope, limits);
                extract_stream(path, gzip, &dir, limits, Some(&mut prefetch))?;
                load_dir_with(&dir, path, ResultsKind::Tarball, limits, prefetch)
            })?;
            results.extracted_to = extract_to.map(Path::to_path_buf);
            Ok(results)
        }
        Sniffed::Junit { gzip } => {
            refuse_part_of_run(path)?;
            refuse_oversized(path, meta.len(), gzip, limits)?;
            let file = fs::File::open(path).map_err(io_err(path))?;
            let parsed = read_junit(file, gzip, limits).map_err(|source| ResultsError::Junit {
                path: path.to_path_buf(),
                source,
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut report = parsed.report;
            prefix_discrepancies(&mut report.discrepancies, &name);
            Ok(Results {
                source: path.to_path_buf(),
                kind: ResultsKind::Junit,
                e2e: Ok(report),
                junit_file: Some(name),
                kubernetes_version: None,
                workloads: Vec::new(),
                extracted_to: None,
            })
        }
    }
}

/// Tells the format from the first bytes (and, for gzip, the first decompressed block).
fn sniff(path: &Path) -> Result<Sniffed, ResultsError> {
    let file = fs::File::open(path).map_err(io_err(path))?;
    let mut head = Vec::with_capacity(512);
    file.take(512)
        .read_to_end(&mut head)
        .map_err(io_err(path))?;
    let is_ustar = |block: &[u8]| block.len() >= 262 && &block[257..262] == b"ustar";
    if head.starts_with(&[0x1f, 0x8b]) {
        let file = fs::File::open(path).map_err(io_err(path))?;
        let mut block = Vec::with_capacity(512);
        // A corrupt stream is reported by the reader that follows, with context.
        let _ = MultiGzDecoder::new(file).take(512).read_to_end(&mut block);
        return Ok(if is_ustar(&block) {
            Sniffed::Tar { gzip: true }
        } else {
            Sniffed::Junit { gzip: true }
        });
    }
    let unsupported = [
        (
            &b"PK\x03\x04"[..],
            "a zip archive; Sonobuoy results are tar.gz",
        ),
        (
            &b"PK\x05\x06"[..],
            "an empty zip archive; Sonobuoy results are tar.gz",
        ),
        (&b"BZh"[..], "bzip2-compressed; Sonobuoy results are tar.gz"),
        (
            &b"\xfd7zXZ\x00"[..],
            "xz-compressed; Sonobuoy results are tar.gz",
        ),
        (
            &b"\x28\xb5\x2f\xfd"[..],
            "zstd-compressed; Sonobuoy results are tar.gz",
        ),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(m, _)| head.starts_with(m)) {
        return Ok(Sniffed::Unsupported(what));
    }
    Ok(if is_ustar(&head) {
        Sniffed::Tar { gzip: false }
    } else {
        Sniffed::Junit { gzip: false }
    })
}

/// A JUnit file that Ginkgo wrote next to other files of the same run (`junit_02.xml` of a
/// parallel Ginkgo v1 run, `e2e.log` with the run's own summary) is refused on its own: judged
/// alone, a failure in a sibling or a summary that disagrees would go unseen.
fn refuse_part_of_run(path: &Path) -> Result<(), ResultsError> {
    let is_run_file = |name: &str| {
        name == "e2e.log"
            || name
                .strip_prefix("junit_")
                .and_then(|n| n.strip_suffix(".xml"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let own = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // An unreadable directory hides no sibling we could read either.
    let Ok(entries) = list_dir(dir) else {
        return Ok(());
    };
    let mut others: Vec<String> = entries
        .iter()
        .filter_map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| Some(n) != own.as_ref() && is_run_file(n))
        .collect();
    if others.is_empty() || !own.as_deref().is_some_and(is_run_file) {
        return Ok(());
    }
    others.sort();
    Err(ResultsError::PartOfRun {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        others,
    })
}

/// An uncompressed JUnit over the limit is refused by its size, before any of it is read.
fn refuse_oversized(
    path: &Path,
    size: u64,
    gzip: bool,
    limits: Limits,
) -> Result<(), ResultsError> {
    if !gzip && size > limits.junit.max_bytes {
        return Err(ResultsError::Junit {
            path: path.to_path_buf(),
            source: JunitError::TooLarge {
                max: limits.junit.max_bytes,
            },
        });
    }
    Ok(())
}

/// Streams one JUnit document (gzip with any number of members, or plain) through the parser.
fn read_junit(file: fs::File, gzip: bool, limits: Limits) -> Result<Parsed, JunitError> {
    let file = BufReader::new(file);
    if gzip {
        e2e_junit::read(MultiGzDecoder::new(file), limits.junit)
    } else {
        e2e_junit::read(file, limits.junit)
    }
}

/// Extracts a `.tar.gz` safely into `dest` (created if missing).
pub fn extract(archive: &Path, dest: &Path, limits: Limits) -> Result<(), ResultsError> {
    extract_stream(archive, true, dest, limits, None)
}

fn extract_stream(
    archive: &Path,
    gzip: bool,
    dest: &Path,
    limits: Limits,
    mut prefetch: Option<&mut Prefetch<'_, '_>>,
) -> Result<(), ResultsError> {
    let file = io::BufReader::new(fs::File::open(archive).map_err(io_err(archive))?);
    fs::create_dir_all(dest).map_err(io_err(dest))?;
    let broken = |e: io::Error| ResultsError::Archive {
        archive: archive.to_path_buf(),
        why: format!("cannot read archive (truncated or corrupt?): {e}"),
    };
    let stream: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut tar = tar::Archive::new(EndOfStream {
        inner: stream,
        reached: false,
    });
    let (mut entries, mut total) = (0u64, 0u64);
    // Each file's entry number, to catch an entry path that occurs twice. A second copy is
    // compared with the first one on disk (rather than hashing every entry: duplicates are rare,
    // and hashing all of a 13 MB archive was a noticeable share of a verdict).
    let mut seen: HashMap<PathBuf, u64> = HashMap::new();
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
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            continue;
        }
        let path = entry.path().map_err(broken)?.into_owned();
        if kind.is_dir() && path.components().all(|c| c == Component::CurDir) {
            // `tar czf x.tgz -C dir .` starts with the entry `./`: the root itself.
            continue;
        }
        let relative = safe_relative_path(&path).map_err(|why| unsafe_entry(why.into()))?;
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
        let earlier = seen.get(&relative).copied();
        // `take` guards against a header that understates the data.
        let mut data = (&mut entry).take(limits.max_file_bytes + 1);
        let copied = match earlier {
            None => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(io_err(parent))?;
                }
                let mut out = fs::File::create(&target).map_err(io_err(&target))?;
                let prefetch = prefetch.as_deref_mut().filter(|p| p.wants(&relative, size));
                let started = prefetch.and_then(|p| p.begin(&relative, size).map(|s| (p, s)));
                match started {
                    Some((prefetch, mut sink)) => {
                        let copied = copy_entry(&mut data, &mut out, &target, Some(&mut sink))
                            .map_err(|e| e.into_error(&broken))?;
                        // Only a complete entry is used (a truncated one is an error below).
                        if copied == size {
                            prefetch.finish(&relative, sink);
                        }
                        copied
                    }
                    None => copy_entry(&mut data, &mut out, &target, None)
                        .map_err(|e| e.into_error(&broken))?,
                }
            }
            // A second copy must equal the first, which stays.
            Some(first) => {
                let on_disk = fs::File::open(&target).map_err(io_err(&target))?;
                let (copied, same) = compare_entry(&mut data, on_disk, &target)
                    .map_err(|e| e.into_error(&broken))?;
                if !same {
                    return Err(ResultsError::DuplicateEntry {
                        archive: archive.to_path_buf(),
                        entry: name,
                        first,
                        second: entries,
                    });
                }
                copied
            }
        };
        if copied != size {
            return Err(ResultsError::Archive {
                archive: archive.to_path_buf(),
                why: format!("entry {name:?} is truncated ({copied} of {size} bytes)"),
            });
        }
        if earlier.is_none() {
            seen.insert(relative, entries);
        }
    }
    if entries == 0 {
        return Err(ResultsError::Archive {
            archive: archive.to_path_buf(),
            why: "archive is empty".into(),
        });
    }
    // Every tar writer ends an archive with zero blocks; a stream that simply stops after an
    // entry was cut short at an entry boundary, and the entries that followed are missing.
    if tar.into_inner().reached {
        return Err(ResultsError::Archive {
            archive: archive.to_path_buf(),
            why: format!(
                "archive ends after entry #{entries} without tar's end-of-archive marker: it was cut short, later entries may be missing"
            ),
        });
    }
    Ok(())
}

/// A reader that remembers whether its stream ran out (a read returned no bytes).
struct EndOfStream<R> {
    inner: R,
    reached: bool,
}

impl<R: Read> Read for EndOfStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.reached = true;
        }
        Ok(n)
    }
}

/// Largest entry kept in memory for [`Prefetch`], and the most kept in all.
const PREFETCH_MAX_ENTRY: u64 = 64 << 20;
const PREFETCH_MAX_TOTAL: u64 = 256 << 20;
/// Most JUnit files parsed while extracting (Ginkgo v1 writes one per parallel node); any others
/// are read from disk afterwards.
const PREFETCH_MAX_JUNITS: usize = 32;

/// The files of a Sonobuoy archive that a verdict reads (JUnit files and `e2e.log` under
/// `plugins/e2e/results`, `plugins/e2e/sonobuoy_results.yaml`), kept in memory as they are
/// extracted: the JUnit and YAML parsers start on their own threads at once, while extraction
/// goes on, and nothing is read back from disk. Files it did not keep are read from disk as
/// for a results directory, with the same checks; what it kept is the first copy of a path, the
/// one left on disk.
struct Prefetch<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    limits: Limits,
    kept: u64,
    junits: HashMap<PathBuf, PrefetchedJunit<'scope>>,
    junits_started: usize,
    logs: HashMap<PathBuf, std::thread::ScopedJoinHandle<'scope, io::Result<GinkgoSummary>>>,
    sonobuoy: Option<(
        u64,
        std::thread::ScopedJoinHandle<'scope, Result<SonobuoyItem, serde_saphyr::Error>>,
    )>,
}

/// A JUnit file kept in memory: its size, whether it is gzip, and its parse.
struct PrefetchedJunit<'scope> {
    size: u64,
    gzip: bool,
    parse: std::thread::ScopedJoinHandle<'scope, Result<Parsed, JunitError>>,
}

impl<'scope, 'env> Prefetch<'scope, 'env> {
    fn new(scope: &'scope std::thread::Scope<'scope, 'env>, limits: Limits) -> Self {
        Prefetch {
            scope,
            limits,
            kept: 0,
            junits: HashMap::new(),
            junits_started: 0,
            logs: HashMap::new(),
            sonobuoy: None,
        }
    }

    fn wants(&self, relative: &Path, size: u64) -> bool {
        let Some(name) = relative.to_str() else {
            return false;
        };
        let in_results = name.starts_with("plugins/e2e/results/");
        let wanted = name == SONOBUOY_YAML
            || (in_results && name.ends_with("/e2e.log"))
            || (in_results && name.ends_with(".xml") && self.junits_started < PREFETCH_MAX_JUNITS);
        wanted && size <= PREFETCH_MAX_ENTRY && self.kept + size <= PREFETCH_MAX_TOTAL
    }

    /// A helper thread, or `None` when the system has none to give (the caller then does
    /// without: the file is read from disk later, as for a results directory).
    fn spawn<T: Send + 'scope>(
        &self,
        work: impl FnOnce() -> T + Send + 'scope,
    ) -> Option<std::thread::ScopedJoinHandle<'scope, T>> {
        std::thread::Builder::new()
            .spawn_scoped(self.scope, work)
            .ok()
    }

    /// Where an entry's data goes while it is extracted: a JUnit file straight to its parser on
    /// another thread (parsing overlaps inflating), anything else into memory.
    fn begin(&mut self, relative: &Path, size: u64) -> Option<Sink<'scope>> {
        self.kept += size;
        if relative.extension().is_some_and(|e| e == "xml") {
            self.junits_started += 1;
            let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
            let limits = self.limits;
            let parse = self.spawn(move || {
                let mut input = BufReader::new(ChunkReader {
                    chunks: rx,
                    current: Vec::new(),
                    pos: 0,
                });
                let gzip = input.fill_buf().is_ok_and(|b| b.starts_with(&[0x1f, 0x8b]));
                if gzip {
                    e2e_junit::read(MultiGzDecoder::new(input), limits.junit)
                } else {
                    e2e_junit::read(input, limits.junit)
                }
            })?;
            Some(Sink::Parser {
                chunks: tx,
                head: Vec::with_capacity(2),
                size,
                parse,
            })
        } else {
            Some(Sink::Memory(Vec::with_capacity(
                usize::try_from(size).unwrap_or(0),
            )))
        }
    }

    /// Registers a completely extracted entry.
    fn finish(&mut self, relative: &Path, sink: Sink<'scope>) {
        match sink {
            Sink::Parser {
                chunks,
                head,
                size,
                parse,
            } => {
                drop(chunks);
                let gzip = head.starts_with(&[0x1f, 0x8b]);
                self.junits.insert(
                    relative.to_path_buf(),
                    PrefetchedJunit { size, gzip, parse },
                );
            }
            Sink::Memory(bytes) if relative == Path::new(SONOBUOY_YAML) => {
                let size = bytes.len() as u64;
                self.sonobuoy = self
                    .spawn(move || parse_sonobuoy(&bytes))
                    .map(|parse| (size, parse));
            }
            Sink::Memory(bytes) => {
                if let Some(summary) = self.spawn(move || read_ginkgo_summary(&bytes[..])) {
                    self.logs.insert(relative.to_path_buf(), summary);
                }
            }
        }
    }
}

/// See [`Prefetch::begin`].
enum Sink<'scope> {
    Memory(Vec<u8>),
    Parser {
        chunks: std::sync::mpsc::Sender<Vec<u8>>,
        /// The first two bytes (gzip or not).
        head: Vec<u8>,
        size: u64,
        parse: std::thread::ScopedJoinHandle<'scope, Result<Parsed, JunitError>>,
    },
}

impl Sink<'_> {
    fn feed(&mut self, data: &[u8]) {
        match self {
            Sink::Memory(bytes) => bytes.extend_from_slice(data),
            Sink::Parser { chunks, head, .. } => {
                let missing = 2usize.saturating_sub(head.len()).min(data.len());
                head.extend_from_slice(&data[..missing]);
                // A parser that stopped early (an error) no longer listens: nothing to do.
                let _ = chunks.send(data.to_vec());
            }
        }
    }
}

/// The chunks an extraction sends, as one stream.
struct ChunkReader {
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                // The sender is gone: the entry is complete (or extraction stopped).
                Err(_) => return Ok(0),
            }
        }
        let n = (self.current.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Joins a helper thread; a panic there is re-raised here, as it would be without the thread.
fn join_helper<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// A failure while copying or comparing one entry: reading the archive, or the file on disk.
enum CopyError {
    Archive(io::Error),
    Disk(ResultsError),
}

impl CopyError {
    fn into_error(self, broken: &dyn Fn(io::Error) -> ResultsError) -> ResultsError {
        match self {
            CopyError::Archive(e) => broken(e),
            CopyError::Disk(e) => e,
        }
    }
}

/// Copies an entry's data into `out`; returns the number of bytes.
/// Copies an entry's data into `out` (and `sink`); returns the number of bytes.
fn copy_entry(
    data: &mut impl Read,
    out: &mut fs::File,
    target: &Path,
    mut sink: Option<&mut Sink<'_>>,
) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let n = data.read(&mut buf).map_err(CopyError::Archive)?;
        if n == 0 {
            return Ok(copied);
        }
        out.write_all(&buf[..n])
            .map_err(|e| CopyError::Disk(io_err(target)(e)))?;
        if let Some(sink) = sink.as_deref_mut() {
            sink.feed(&buf[..n]);
        }
        copied += n as u64;
    }
}

/// Reads an entry's data to its end and tells whether it equals the file `first` (the first copy
/// of the same path); returns the number of bytes read and the answer.
fn compare_entry(
    data: &mut impl Read,
    first: fs::File,
    target: &Path,
) -> Result<(u64, bool), CopyError> {
    let mut first = BufReader::new(first);
    let mut buf = vec![0u8; 64 * 1024];
    let mut theirs = vec![0u8; 64 * 1024];
    let (mut copied, mut same) = (0u64, true);
    loop {
        let n = data.read(&mut buf).map_err(CopyError::Archive)?;
        if n == 0 {
            break;
        }
        copied += n as u64;
        if same {
            let got = &mut theirs[..n];
            match first.read_exact(got) {
                Ok(()) => same = got == &buf[..n],
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => same = false,
                Err(e) => return Err(CopyError::Disk(io_err(target)(e))),
            }
        }
    }
    if same {
        // The first copy must not be longer either.
        let mut rest = [0u8; 1];
        same = first
            .read(&mut rest)
            .map_err(|e| CopyError::Disk(io_err(target)(e)))?
            == 0;
    }
    Ok((copied, same))
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

fn kind_name(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_symlink() {
        "a symlink"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a file"
    } else {
        "not a regular file"
    }
}

/// Opens `path` if it is a regular file, without following a symlink or opening a FIFO or
/// device (which would hang). `Ok(None)` if it does not exist.
fn open_regular(path: &Path) -> Result<Option<fs::File>, ResultsError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    if !meta.file_type().is_file() {
        return Err(ResultsError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_name(&meta.file_type()),
        });
    }
    let file = fs::File::open(path).map_err(io_err(path))?;
    // Checked again on the open file, in case it was swapped in between.
    let meta = file.metadata().map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(ResultsError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_name(&meta.file_type()),
        });
    }
    Ok(Some(file))
}

/// Reads a small regular file whole; `Ok(None)` if it is missing or bigger than `max`.
fn read_small(path: &Path, max: u64) -> Result<Option<Vec<u8>>, ResultsError> {
    let Some(file) = open_regular(path)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(path))?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

/// The entries of a real directory (not a symlink to one); empty if it does not exist.
fn list_dir(dir: &Path) -> Result<Vec<(PathBuf, fs::FileType)>, ResultsError> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_dir() => {}
        Ok(m) => {
            return Err(ResultsError::NotRegular {
                path: dir.to_path_buf(),
                kind: kind_name(&m.file_type()),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    }
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err(dir))? {
        let e = e.map_err(io_err(dir))?;
        // DirEntry::file_type does not follow symlinks.
        let t = e.file_type().map_err(io_err(&e.path()))?;
        out.push((e.path(), t));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn load_dir(
    dir: &Path,
    source: &Path,
    kind: ResultsKind,
    limits: Limits,
) -> Result<Results, ResultsError> {
    std::thread::scope(|scope| {
        load_dir_with(dir, source, kind, limits, Prefetch::new(scope, limits))
    })
}

/// [`load_dir`] with the files that extraction kept in memory (see [`Prefetch`]).
fn load_dir_with<'scope, 'env>(
    dir: &'env Path,
    source: &Path,
    kind: ResultsKind,
    limits: Limits,
    mut prefetch: Prefetch<'scope, 'env>,
) -> Result<Results, ResultsError> {
    let kubernetes_version = read_small(&dir.join("serverversion.json"), MAX_METADATA_BYTES)?
        .and_then(|b| serde_json::from_slice::<ServerVersion>(&b).ok())
        .map(|v| v.git_version);
    let workloads = read_workloads(dir)?;
    let files = find_junits(dir)?;
    if files.is_empty() {
        return match plugin_error(dir)? {
            Some(why) => Ok(Results {
                source: source.to_path_buf(),
                kind,
                e2e: Err(why),
                junit_file: None,
                kubernetes_version,
                workloads,
                extracted_to: None,
            }),
            None => Err(ResultsError::NoJunit {
                path: source.to_path_buf(),
            }),
        };
    }
    if files.len() > limits.max_junit_files {
        return Err(ResultsError::TooManyJunitFiles {
            path: source.to_path_buf(),
            max: limits.max_junit_files,
        });
    }
    // Sonobuoy's summary (4 MB of YAML for a full conformance listing) is parsed on a second
    // thread while this one reads the JUnit: the two are independent until compared.
    let prefetched = match prefetch.sonobuoy.take() {
        Some((size, parse)) if size <= MAX_METADATA_BYTES => Some(parse),
        _ => None,
    };
    let (report, sonobuoy) = match prefetched {
        Some(parse) => {
            let report = read_junits(dir, source, &files, limits, &mut prefetch);
            (report, Ok(Some(join_helper(parse))))
        }
        None => {
            let read_yaml = move || -> Result<_, ResultsError> {
                Ok(read_small(&dir.join(SONOBUOY_YAML), MAX_METADATA_BYTES)?
                    .map(|bytes| parse_sonobuoy(&bytes)))
            };
            match prefetch.spawn(read_yaml) {
                Some(read) => {
                    let report = read_junits(dir, source, &files, limits, &mut prefetch);
                    (report, join_helper(read))
                }
                None => {
                    let report = read_junits(dir, source, &files, limits, &mut prefetch);
                    (report, read_yaml())
                }
            }
        }
    };
    finish(
        report,
        sonobuoy,
        source,
        kind,
        &files,
        kubernetes_version,
        workloads,
    )
}

/// The results from the JUnit report and Sonobuoy's summary, checked against each other.
#[allow(clippy::too_many_arguments)]
fn finish(
    report: Result<(E2eReport, Vec<(String, RawCounts)>), ResultsError>,
    sonobuoy: Result<Option<Result<SonobuoyItem, serde_saphyr::Error>>, ResultsError>,
    source: &Path,
    kind: ResultsKind,
    files: &[String],
    kubernetes_version: Option<String>,
    workloads: Vec<Workload>,
) -> Result<Results, ResultsError> {
    let (mut report, raw) = report?;
    if let Some(root) = sonobuoy? {
        report
            .discrepancies
            .extend(check_sonobuoy(root, SONOBUOY_YAML, &raw, &report));
    }
    Ok(Results {
        source: source.to_path_buf(),
        kind,
        e2e: Ok(report),
        junit_file: Some(files.join(", ")),
        kubernetes_version,
        workloads,
        extracted_to: None,
    })
}

/// Reads and merges the JUnit files and checks them against the run's `e2e.log`; also returns
/// each file's raw counts.
fn read_junits(
    dir: &Path,
    source: &Path,
    files: &[String],
    limits: Limits,
    prefetch: &mut Prefetch<'_, '_>,
) -> Result<(E2eReport, Vec<(String, RawCounts)>), ResultsError> {
    let mut parsed = Vec::with_capacity(files.len());
    for rel in files {
        if let Some(kept) = prefetch.junits.remove(Path::new(rel)) {
            refuse_oversized(&source.join(rel), kept.size, kept.gzip, limits)?;
            let doc = join_helper(kept.parse).map_err(|e| ResultsError::Junit {
                path: source.join(rel),
                source: e,
            })?;
            parsed.push((rel.clone(), doc));
            continue;
        }
        let path = dir.join(rel);
        let file = open_regular(&path)?.ok_or_else(|| ResultsError::NoJunit {
            path: source.to_path_buf(),
        })?;
        let mut head = Vec::with_capacity(2);
        (&file)
            .take(2)
            .read_to_end(&mut head)
            .map_err(io_err(&path))?;
        let gzip = head == [0x1f, 0x8b];
        let size = file.metadata().map_err(io_err(&path))?.len();
        refuse_oversized(&source.join(rel), size, gzip, limits)?;
        let file = fs::File::open(&path).map_err(io_err(&path))?;
        let doc = read_junit(file, gzip, limits).map_err(|e| ResultsError::Junit {
            path: source.join(rel),
            source: e,
        })?;
        parsed.push((rel.clone(), doc));
    }
    let raw: Vec<(String, RawCounts)> = parsed.iter().map(|(r, p)| (r.clone(), p.raw)).collect();
    let mut report = merge(parsed)?;
    // The run's own log and Sonobuoy's summary, when the archive has them.
    let junit_dir = Path::new(&files[0]).parent().unwrap_or(Path::new(""));
    let log_rel = junit_dir.join("e2e.log");
    let summary = match prefetch.logs.remove(&log_rel) {
        Some(summary) => Some(join_helper(summary).map_err(io_err(&dir.join(&log_rel)))?),
        None => match open_regular(&dir.join(&log_rel))? {
            Some(log) => Some(read_ginkgo_summary(log).map_err(io_err(&dir.join(&log_rel)))?),
            None => None,
        },
    };
    if let Some(summary) = summary {
        report
            .discrepancies
            .extend(check_log(&summary, &report, &log_rel.display().to_string()));
    }
    Ok((report, raw))
}

fn prefix_discrepancies(list: &mut [String], file: &str) {
    for d in list {
        *d = format!("{file}: {d}");
    }
}

/// Merges the JUnit files of one run (Ginkgo v1 parallel nodes each write their share). A spec
/// in two files with different outcomes means two copies of a run were mixed: an error.
fn merge(parsed: Vec<(String, Parsed)>) -> Result<E2eReport, ResultsError> {
    let mut merged = E2eReport::default();
    // Spec name → (file, outcome class) where it was first seen. A name repeated within one file
    // is no conflict; the names of the last file need not be remembered (so a single file, the
    // usual case, needs no map at all).
    let mut first_seen: HashMap<String, (usize, &'static str)> = HashMap::new();
    let files: Vec<String> = parsed.iter().map(|(f, _)| f.clone()).collect();
    let last = files.len().saturating_sub(1);
    for (i, (file, doc)) in parsed.into_iter().enumerate() {
        let mut report = doc.report;
        if i == 0 {
            merged.format = report.format;
        }
        prefix_discrepancies(&mut report.discrepancies, &file);
        merged.discrepancies.append(&mut report.discrepancies);
        merged.suite_failures.append(&mut report.suite_failures);
        for t in &report.tests {
            let class = outcome_class(&t.result);
            match first_seen.get(t.name.as_str()) {
                Some(&(j, earlier)) if j != i && earlier != class => {
                    return Err(ResultsError::ConflictingCopies {
                        name: t.name.clone(),
                        first: files[j].clone(),
                        first_outcome: earlier,
                        second: file,
                        second_outcome: class,
                    });
                }
                Some(_) => {}
                None if i < last => {
                    first_seen.insert(t.name.clone(), (i, class));
                }
                None => {}
            }
        }
        merged.tests.append(&mut report.tests);
    }
    Ok(merged)
}

fn outcome_class(r: &TestResult) -> &'static str {
    match r {
        TestResult::Passed | TestResult::Flaky { .. } => "passed",
        TestResult::Failed { .. } => "failed",
        TestResult::Skipped(_) => "skipped",
    }
}

/// What Ginkgo's closing summary in `e2e.log` says.
#[derive(Debug, Default, PartialEq, Eq)]
struct GinkgoSummary {
    /// `Ran N of M Specs`.
    ran: Option<(u64, u64)>,
    /// `SUCCESS!`/`FAIL! -- P Passed | F Failed`.
    outcome: Option<(bool, u64, u64)>,
}

/// Scans a log line by line (lines capped, so a huge log never sits in memory) for the last
/// Ginkgo summary.
fn read_ginkgo_summary<R: Read>(log: R) -> io::Result<GinkgoSummary> {
    let ran = regex::Regex::new(r"Ran (\d+) of (\d+) Specs? in").ok();
    let outcome = regex::Regex::new(r"(SUCCESS!|FAIL!) -- (\d+) Passed \| (\d+) Failed").ok();
    let ansi = regex::Regex::new(r"\x1b\[[0-9;]*m").ok();
    // Lines without either word cannot match: skip them without decoding (a log has thousands).
    let candidate = regex::bytes::Regex::new("Ran|Passed").ok();
    let (Some(ran), Some(outcome), Some(ansi), Some(candidate)) = (ran, outcome, ansi, candidate)
    else {
        return Ok(GinkgoSummary::default());
    };
    let mut reader = BufReader::new(log);
    let mut line = Vec::new();
    let mut summary = GinkgoSummary::default();
    loop {
        line.clear();
        let n = (&mut reader).take(64 * 1024).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if !candidate.is_match(&line) {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = ansi.replace_all(&text, "");
        let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
        if let Some(c) = ran.captures(&text) {
            summary.ran = Some((num(&c[1]), num(&c[2])));
        }
        if let Some(c) = outcome.captures(&text) {
            summary.outcome = Some((&c[1] == "SUCCESS!", num(&c[2]), num(&c[3])));
        }
    }
    Ok(summary)
}

/// Where the log's summary disagrees with the report.
fn check_log(s: &GinkgoSummary, report: &E2eReport, log: &str) -> Vec<String> {
    let specs = report.tests.len() as u64;
    let passed = report
        .tests
        .iter()
        .filter(|t| matches!(t.result, TestResult::Passed | TestResult::Flaky { .. }))
        .count() as u64;
    let failed = report
        .tests
        .iter()
        .filter(|t| matches!(t.result, TestResult::Failed { .. }))
        .count() as u64;
    let mut out = Vec::new();
    let Some((ran, total)) = s.ran else {
        out.push(format!(
            "{log} has no Ginkgo summary (\"Ran N of M Specs\"): the run may not have finished"
        ));
        return out;
    };
    if total != specs {
        out.push(format!(
            "{log} says \"Ran {ran} of {total} Specs\" but the JUnit lists {specs} specs"
        ));
    }
    // Ginkgo v2 counts passed and failed specs as ran; v1 counts the specs it meant to run,
    // including those that skipped themselves.
    let ran_ok = match report.format {
        e2e_junit::GinkgoFormat::V2 => ran == passed + failed,
        e2e_junit::GinkgoFormat::V1 => ran >= passed + failed && ran <= specs,
    };
    if !ran_ok {
        out.push(format!(
            "{log} says \"Ran {ran} of {total} Specs\" but the JUnit has {passed} passed and {failed} failed specs"
        ));
    }
    if let Some((success, p, f)) = s.outcome {
        if p != passed || f != failed {
            out.push(format!(
                "{log} says {p} Passed | {f} Failed but the JUnit has {passed} passed and {failed} failed specs"
            ));
        }
        let any_failure = failed > 0 || !report.suite_failures.is_empty();
        if !success && !any_failure {
            out.push(format!(
                "{log} says FAIL! but the JUnit has no failed spec or suite node"
            ));
        }
        if success && any_failure {
            out.push(format!(
                "{log} says SUCCESS! but the JUnit has a failed spec or suite node"
            ));
        }
    }
    out
}

#[derive(Debug, Default, PartialEq, Deserialize)]
struct SonobuoyItem {
    #[serde(default)]
    status: String,
    #[serde(default)]
    meta: Option<SonobuoyMeta>,
    #[serde(default)]
    items: Vec<SonobuoyItem>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
struct SonobuoyMeta {
    #[serde(default)]
    file: Option<String>,
}

impl SonobuoyItem {
    fn count_leaves(&self, into: &mut RawCounts) {
        if self.items.is_empty() {
            match self.status.as_str() {
                "passed" => into.passed += 1,
                "failed" => into.failed += 1,
                "skipped" => into.skipped += 1,
                _ => {}
            }
        }
        for i in &self.items {
            i.count_leaves(into);
        }
    }
}

/// Sonobuoy's `sonobuoy_results.yaml`, or why it cannot be read: the fast reader for the shape
/// Sonobuoy writes ([`summary_yaml`]), else the general YAML parser.
fn parse_sonobuoy(bytes: &[u8]) -> Result<SonobuoyItem, serde_saphyr::Error> {
    // `from_utf8` validates much faster than the lossy decoder; the latter only for bad bytes.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    match summary_yaml::parse(&text) {
        Some(root) => Ok(root),
        None => parse_sonobuoy_general(&text),
    }
}

fn parse_sonobuoy_general(text: &str) -> Result<SonobuoyItem, serde_saphyr::Error> {
    serde_saphyr::from_str(text)
}

/// Where Sonobuoy's own post-processing (`sonobuoy_results.yaml`) disagrees with what was read.
fn check_sonobuoy(
    root: Result<SonobuoyItem, serde_saphyr::Error>,
    yaml: &str,
    raw: &[(String, RawCounts)],
    report: &E2eReport,
) -> Vec<String> {
    let root = match root {
        Ok(r) => r,
        Err(e) => return vec![format!("{yaml} cannot be read: {e}")],
    };
    let mut out = Vec::new();
    let mut listed = Vec::new();
    for item in &root.items {
        let Some(file) = item.meta.as_ref().and_then(|m| m.file.clone()) else {
            continue;
        };
        let path = format!("plugins/e2e/{file}");
        let mut counts = RawCounts::default();
        item.count_leaves(&mut counts);
        match raw.iter().find(|(f, _)| *f == path) {
            None => out.push(format!("{yaml} lists {path}, which is not in the results")),
            Some((_, ours)) if *ours != counts => out.push(format!(
                "{yaml} counts {} passed, {} failed, {} skipped in {path}, but it has {} passed, {} failed, {} skipped",
                counts.passed, counts.failed, counts.skipped, ours.passed, ours.failed, ours.skipped
            )),
            Some(_) => {}
        }
        listed.push(path);
    }
    for (f, _) in raw {
        if !listed.is_empty() && !listed.contains(f) {
            out.push(format!("{yaml} does not list {f}"));
        }
    }
    let any_failure = report
        .tests
        .iter()
        .any(|t| matches!(t.result, TestResult::Failed { .. }))
        || !report.suite_failures.is_empty();
    match root.status.as_str() {
        "failed" if !any_failure => out.push(format!(
            "{yaml} says status: failed but the JUnit has no failed spec or suite node"
        )),
        "passed" if any_failure => out.push(format!(
            "{yaml} says status: passed but the JUnit has a failed spec or suite node"
        )),
        _ => {}
    }
    out
}

/// The e2e JUnit files of a results directory, relative to it: every `junit*.xml` of the first
/// of Sonobuoy's result directories that has one, else every `*.xml` under
/// `plugins/e2e/results` (Sonobuoy post-processes every one there).
fn find_junits(dir: &Path) -> Result<Vec<String>, ResultsError> {
    for candidate in ["plugins/e2e/results/global", "plugins/e2e/results", ""] {
        let base = dir.join(candidate);
        let mut found = Vec::new();
        for (path, t) in list_dir(&base)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !(name.starts_with("junit") && name.ends_with(".xml")) {
                continue;
            }
            if !t.is_file() {
                return Err(ResultsError::NotRegular {
                    path,
                    kind: kind_name(&t),
                });
            }
            found.push(relative(dir, &path));
        }
        if !found.is_empty() {
            return Ok(found);
        }
    }
    let mut found = Vec::new();
    let mut stack = vec![(dir.join("plugins/e2e/results"), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        for (path, t) in list_dir(&d)? {
            if t.is_dir() {
                if depth < MAX_WALK_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if !t.is_file() {
                return Err(ResultsError::NotRegular {
                    path,
                    kind: kind_name(&t),
                });
            } else if path.extension().is_some_and(|x| x == "xml") {
                found.push(relative(dir, &path));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Sonobuoy writes `plugins/e2e/errors/<node>/error.json` when the plugin failed or timed out.
fn plugin_error(dir: &Path) -> Result<Option<PluginError>, ResultsError> {
    let mut messages = Vec::new();
    for (node, t) in list_dir(&dir.join("plugins/e2e/errors"))? {
        if !t.is_dir() {
            continue;
        }
        let bytes = read_small(&node.join("error.json"), MAX_METADATA_BYTES)?.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or(text);
        messages.push(message.trim().to_string());
    }
    Ok((!messages.is_empty()).then_some(PluginError { messages }))
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
fn read_workloads(dir: &Path) -> Result<Vec<Workload>, ResultsError> {
    let mut out = Vec::new();
    for (ns, t) in list_dir(&dir.join("resources/ns"))? {
        if !t.is_dir() {
            continue;
        }
        for file in ["apps_v1_daemonsets.json", "apps_v1_deployments.json"] {
            let Some(bytes) = read_small(&ns.join(file), MAX_METADATA_BYTES)? else {
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
    Ok(out)
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

    #[test]
    fn merging_refuses_conflicting_copies_only_across_files() {
        let doc = |tests: &[(&str, bool)]| Parsed {
            report: E2eReport {
                tests: tests
                    .iter()
                    .map(|(name, passed)| crate::evidence::e2e_junit::E2eTest {
                        name: (*name).to_string(),
                        result: if *passed {
                            TestResult::Passed
                        } else {
                            TestResult::Failed {
                                kind: crate::evidence::e2e_junit::FailureKind::Failed,
                                message: "x".into(),
                            }
                        },
                        duration: None,
                    })
                    .collect(),
                ..E2eReport::default()
            },
            raw: RawCounts::default(),
        };
        // Within one file a repeated name is no conflict; the same outcome in two files is none.
        let ok = merge(vec![
            ("a.xml".into(), doc(&[("t1", true), ("t1", false)])),
            ("b.xml".into(), doc(&[("t2", true), ("t1", true)])),
            ("c.xml".into(), doc(&[("t2", true)])),
        ])
        .unwrap();
        assert_eq!(ok.tests.len(), 5);
        let err = merge(vec![
            ("a.xml".into(), doc(&[("t1", true)])),
            ("b.xml".into(), doc(&[("t2", true)])),
            ("c.xml".into(), doc(&[("t2", false)])),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"t2\" is passed in b.xml but failed in c.xml"),
            "{err}"
        );
    }

    /// More JUnit files than are parsed during extraction: the rest are read from disk, and the
    /// report is the same as from the extracted folder.
    #[test]
    fn many_junit_files_are_all_read() {
        let files = PREFETCH_MAX_JUNITS + 8;
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for i in 0..files {
            let xml = format!(
                r#"<testsuite name="Kubernetes e2e suite" tests="1" failures="0" errors="0"><testcase name="[sig-node] spec {i}" classname="Kubernetes e2e suite" time="1"></testcase></testsuite>"#
            );
            let mut header = tar::Header::new_ustar();
            header.set_size(xml.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(
                &mut header,
                format!("plugins/e2e/results/global/junit_{i:02}.xml"),
                xml.as_bytes(),
            )
            .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("many.tar.gz");
        std::fs::write(&archive, tar.into_inner().unwrap().finish().unwrap()).unwrap();
        let out = dir.path().join("out");
        let from_archive = load(&archive, Some(&out), Limits::default()).unwrap();
        let from_folder = load(&out, None, Limits::default()).unwrap();
        let names = |r: &Results| -> Vec<String> {
            let mut n: Vec<String> = r
                .e2e
                .as_ref()
                .unwrap()
                .tests
                .iter()
                .map(|t| t.name.clone())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(&from_archive).len(), files);
        assert_eq!(names(&from_archive), names(&from_folder));
        assert_eq!(from_archive.junit_file, from_folder.junit_file);
    }

    #[test]
    fn ginkgo_summaries_are_found_in_coloured_logs() {
        let log = "noise\n\x1b[1mRan 419 of 6731 Specs in 6509.5 seconds\x1b[0m\n\x1b[1;32mSUCCESS!\x1b[0m -- 419 Passed | 0 Failed | 0 Pending | 6312 Skipped\n";
        let s = read_ginkgo_summary(log.as_bytes()).unwrap();
        assert_eq!(s.ran, Some((419, 6731)));
        assert_eq!(s.outcome, Some((true, 419, 0)));
    }
}
