//! Rendering a [`Certification`] into the documents users and CI consume, and writing them into
//! the output directory as one consistent set.
//!
//! A folder that CI reads a verdict from must never show a verdict that this run did not
//! produce. So [`OutDir`]:
//!
//! * takes an advisory lock on the folder (a second run into it is refused, not interleaved);
//! * first replaces the earlier set by an `error.json` ABORT record saying the run did not
//!   complete, so a crash, a kill or an error leaves that record, never the earlier verdict;
//! * renders every file in memory (a panic while rendering becomes an error record), writes them
//!   to a staging folder inside the output folder and renames them into place, `verdict.json`
//!   last; files of the set that this run does not produce (`report.yaml` without `--subject`)
//!   are removed.
//!
//! The set: `verdict.json`, `junit.xml`, `summary.md`, `report.html` and, with `--subject`,
//! `report.yaml`; or the ABORT record `error.json` with `junit.xml`, `summary.md` and
//! `report.html` saying so.

pub mod atomic;
pub mod escape;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::any::Any;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use crate::verdict::certify::{Certification, SCHEMA_VERSION, Tool};

/// File names inside `--out`.
pub const VERDICT_JSON: &str = "verdict.json";
pub const JUNIT_XML: &str = "junit.xml";
pub const SUMMARY_MD: &str = "summary.md";
pub const REPORT_HTML: &str = "report.html";
pub const REPORT_YAML: &str = crate::scs::report::FILE_NAME;
/// The ABORT record of a run that failed or has not completed yet.
pub const ERROR_JSON: &str = "error.json";
/// The advisory lock; it stays (removing a lock file races with the next locker).
pub const LOCK_FILE: &str = ".scs-conformance.lock";

/// Every file of a set. A run writes some of them and removes the others.
const SET: [&str; 6] = [
    VERDICT_JSON,
    JUNIT_XML,
    SUMMARY_MD,
    REPORT_HTML,
    REPORT_YAML,
    ERROR_JSON,
];
const STAGING_PREFIX: &str = ".staging-";

/// Why outputs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{}: another scs-conformance process{} is writing to this output directory; wait for it \
         or choose another --out",
        dir.display(),
        holder.as_deref().map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked {
        dir: PathBuf,
        holder: Option<String>,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("rendering the outputs failed: {0}")]
    Render(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The ABORT record written instead of a verdict when a command fails or has not completed.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRecord {
    pub schema_version: u32,
    pub tool: Tool,
    pub generated_at: Timestamp,
    /// Always `ABORT`: there is no verdict.
    pub verdict: &'static str,
    /// The subcommand, e.g. `verdict`.
    pub command: String,
    pub error: String,
}

impl ErrorRecord {
    pub fn new(command: &str, error: impl Into<String>) -> Self {
        ErrorRecord {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: crate::TOOL_NAME,
                version: env!("CARGO_PKG_VERSION"),
            },
            generated_at: Timestamp::now(),
            verdict: "ABORT",
            command: command.to_string(),
            error: error.into(),
        }
    }
}

/// An output directory this process holds the lock of.
#[derive(Debug)]
pub struct OutDir {
    dir: PathBuf,
    /// Held open for the lock; the OS releases it when the process ends, however it ends.
    _lock: File,
}

impl OutDir {
    /// Creates `dir` if needed and locks it; refuses when another process holds the lock.
    pub fn lock(dir: &Path) -> Result<Self, OutputError> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_at(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(OutputError::Locked {
                    dir: dir.to_path_buf(),
                    holder: (!holder.is_empty()).then(|| holder.chars().take(20).collect()),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_at(&path)(e)),
        }
        // The pid is for the message of a refused second run only; the lock is what counts.
        file.set_len(0).map_err(io_at(&path))?;
        write!(file, "{}", std::process::id()).map_err(io_at(&path))?;
        let out = OutDir {
            dir: dir.to_path_buf(),
            _lock: file,
        };
        out.remove_stale_staging();
        Ok(out)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Replaces the earlier set by an ABORT record saying that this run has not completed. Call
    /// it before anything that can fail.
    pub fn begin(&self, command: &str) -> Result<(), OutputError> {
        self.write_error(&ErrorRecord::new(
            command,
            format!(
                "did not complete: scs-conformance {command} (pid {}) stopped before writing \
                 its outputs",
                std::process::id()
            ),
        ))
    }

    /// Writes `verdict.json`, `junit.xml`, `summary.md`, `report.html` and the `extra` files
    /// (e.g. `report.yaml`) as one set; removes the error record and set files not produced. Returns
    /// the paths written.
    pub fn write(
        &self,
        cert: &Certification,
        extra: Vec<(&'static str, String)>,
    ) -> Result<Vec<PathBuf>, OutputError> {
        self.write_rendered(|| {
            let mut files = vec![
                (JUNIT_XML, junit::render(cert)),
                (SUMMARY_MD, markdown::render(cert)),
                (REPORT_HTML, html::render(cert)),
            ];
            files.extend(extra);
            // Last, so that a verdict.json next to no error.json means the set is complete.
            files.push((VERDICT_JSON, json::render(cert)));
            files
        })
    }

    /// Writes the ABORT record (`error.json`, and `summary.md`, `junit.xml` and `report.html`
    /// saying so) and removes the rest of the set, `verdict.json` first.
    pub fn write_error(&self, record: &ErrorRecord) -> Result<(), OutputError> {
        self.write_rendered(|| {
            vec![
                (JUNIT_XML, junit::render_error(record)),
                (SUMMARY_MD, markdown::render_error(record)),
                (REPORT_HTML, html::render_error(record)),
                (ERROR_JSON, render_error_json(record)),
            ]
        })
        .map(|_| ())
    }

    fn write_rendered(
        &self,
        render: impl FnOnce() -> Vec<(&'static str, String)>,
    ) -> Result<Vec<PathBuf>, OutputError> {
        let files = panic::catch_unwind(AssertUnwindSafe(render))
            .map_err(|p| OutputError::Render(panic_message(p.as_ref())))?;
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(&self.dir)
            .map_err(io_at(&self.dir))?;
        let mut written_files = Vec::with_capacity(files.len());
        for (name, body) in &files {
            let path = staging.path().join(name);
            let mut f = File::create(&path).map_err(io_at(&path))?;
            f.write_all(body.as_bytes()).map_err(io_at(&path))?;
            written_files.push((f, path));
        }
        // Durable before they replace the previous set. Concurrent syncs let the file system
        // commit them together (one journal commit on ext4 instead of one per file).
        std::thread::scope(|scope| {
            let syncs: Vec<_> = written_files
                .iter()
                .map(|(f, path)| scope.spawn(move || f.sync_all().map_err(io_at(path))))
                .collect();
            syncs
                .into_iter()
                .try_for_each(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        })?;
        let produced = |name: &str| files.iter().any(|(n, _)| *n == name);
        // An error set removes the verdict before anything else; a verdict set removes the
        // error record only after the verdict is in place.
        if !produced(VERDICT_JSON) {
            self.remove(VERDICT_JSON)?;
        }
        for name in SET {
            if !produced(name) && name != ERROR_JSON && name != VERDICT_JSON {
                self.remove(name)?;
            }
        }
        let mut written = Vec::new();
        for (name, _) in &files {
            let to = self.dir.join(name);
            fs::rename(staging.path().join(name), &to).map_err(io_at(&to))?;
            written.push(to);
        }
        if !produced(ERROR_JSON) {
            self.remove(ERROR_JSON)?;
        }
        if let Ok(d) = File::open(&self.dir) {
            // Make the renames durable; not all platforms can sync a directory.
            let _ = d.sync_all();
        }
        Ok(written)
    }

    fn remove(&self, name: &str) -> Result<(), OutputError> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(&path)(e)),
            _ => Ok(()),
        }
    }

    /// Staging folders of a process that died mid-write (we hold the lock, so none is live).
    fn remove_stale_staging(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

fn render_error_json(record: &ErrorRecord) -> String {
    // Plain data: serialising it cannot fail.
    let mut s = serde_json::to_string_pretty(record).unwrap_or_default();
    s.push('\n');
    s
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into());
    format!("internal error (panic): {text}")
}

/// Writes `verdict.json`, `junit.xml`, `summary.md` and `report.html` into `out` as one set
/// (see [`OutDir`]).
/// Returns the paths written.
pub fn write_all(cert: &Certification, out: &Path) -> Result<Vec<PathBuf>, OutputError> {
    OutDir::lock(out)?.write(cert, Vec::new())
}

/// Shortens text for one-line display, on a character boundary.
pub(crate) fn clip(text: &str, max_chars: usize) -> String {
    let one_line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if one_line.chars().count() <= max_chars {
        one_line.to_string()
    } else {
        let mut s: String = one_line.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != LOCK_FILE)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_second_lock_on_the_same_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = OutDir::lock(dir.path()).unwrap();
        let e = OutDir::lock(dir.path()).unwrap_err();
        assert!(
            matches!(&e, OutputError::Locked { holder: Some(p), .. } if *p == std::process::id().to_string()),
            "{e}"
        );
        drop(first);
        OutDir::lock(dir.path()).unwrap();
    }

    #[test]
    fn a_panic_while_rendering_leaves_the_abort_record_not_the_old_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::lock(dir.path()).unwrap();
        for name in [
            VERDICT_JSON,
            JUNIT_XML,
            SUMMARY_MD,
            REPORT_HTML,
            REPORT_YAML,
        ] {
            fs::write(dir.path().join(name), "old PASS").unwrap();
        }
        out.begin("verdict").unwrap();
        assert_eq!(
            names(dir.path()),
            [ERROR_JSON, JUNIT_XML, REPORT_HTML, SUMMARY_MD]
        );
        let e = out.write_rendered(|| panic!("renderer bug")).unwrap_err();
        assert!(e.to_string().contains("renderer bug"), "{e}");
        let record = fs::read_to_string(dir.path().join(ERROR_JSON)).unwrap();
        assert!(record.contains("\"ABORT\"") && record.contains("did not complete"));
        for name in [SUMMARY_MD, REPORT_HTML] {
            let text = fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(
                text.contains("ABORT") && !text.contains("PASS"),
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn a_set_replaces_the_whole_earlier_set() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::lock(dir.path()).unwrap();
        fs::write(dir.path().join(REPORT_YAML), "old").unwrap();
        fs::write(dir.path().join(REPORT_HTML), "old").unwrap();
        fs::write(dir.path().join("mine.txt"), "user's").unwrap();
        out.begin("verdict").unwrap();
        out.write_rendered(|| {
            vec![
                (JUNIT_XML, "j".into()),
                (SUMMARY_MD, "s".into()),
                (VERDICT_JSON, "v".into()),
            ]
        })
        .unwrap();
        assert_eq!(
            names(dir.path()),
            [JUNIT_XML, "mine.txt", SUMMARY_MD, VERDICT_JSON]
        );
    }
}
