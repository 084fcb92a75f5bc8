//! Rendering a [`Certification`] into the documents users and CI consume. All renderers read the
//! same document; files are written atomically.

pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::io;
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::certify::Certification;

/// File names inside `--out`.
pub const VERDICT_JSON: &str = "verdict.json";
pub const JUNIT_XML: &str = "junit.xml";
pub const SUMMARY_MD: &str = "summary.md";

/// Writes `verdict.json`, `junit.xml` and `summary.md` into `out`. Returns the paths written.
pub fn write_all(cert: &Certification, out: &Path) -> io::Result<Vec<PathBuf>> {
    let files = [
        (VERDICT_JSON, json::render(cert)),
        (JUNIT_XML, junit::render(cert)),
        (SUMMARY_MD, markdown::render(cert)),
    ];
    let mut written = Vec::new();
    for (name, body) in files {
        let path = out.join(name);
        atomic::write(&path, body.as_bytes())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
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
