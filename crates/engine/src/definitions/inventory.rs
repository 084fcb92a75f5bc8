//! Inventories: the list of every spec of one e2e suite version, used by `plan` to show what a
//! focus/skip selects before anything runs, and by the verdict to check that every selected
//! spec is in the evidence.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::definitions::builtin;
use crate::evidence::e2e_junit;

/// Largest inventory accepted, compressed or not (a full e2e JUnit is 2.3 MB).
const MAX_BYTES: u64 = 256 << 20;

/// Every spec text of an e2e suite.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Where it came from (a file, or `built-in v1.33`).
    pub source: String,
    pub specs: Vec<String>,
}

/// Why an inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(
        "no built-in inventory for Kubernetes {version} (built in: {known}); pass --inventory with an e2e JUnit of that version"
    )]
    UnknownVersion { version: String, known: String },
}

impl Inventory {
    /// Reads an inventory file: an e2e JUnit (`.xml`, optionally gzipped) or a text list with one
    /// spec per line (`.txt`, optionally gzipped; `#` starts a comment line).
    pub fn read(path: &Path) -> Result<Inventory, InventoryError> {
        let name = path.display().to_string();
        let io = |source| InventoryError::Io {
            path: name.clone(),
            source,
        };
        // Not read whole before its size is known: a FIFO or a huge file is refused.
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() || meta.len() > MAX_BYTES {
            return Err(InventoryError::Invalid {
                path: name,
                message: format!("not a regular file of at most {MAX_BYTES} bytes"),
            });
        }
        let raw = std::fs::read(path).map_err(|source| InventoryError::Io {
            path: name.clone(),
            source,
        })?;
        let mut inventory = Self::parse(&name, &raw)?;
        inventory.source = format!("inventory {name}");
        Ok(inventory)
    }

    /// The built-in inventory for a Kubernetes minor (`1.33`, `v1.33` or `v1.33.3`).
    pub fn builtin(version: &str) -> Result<Inventory, InventoryError> {
        let minor = minor_of(version);
        let (key, bytes) = builtin::INVENTORIES
            .iter()
            .find(|(k, _)| *k == minor)
            .ok_or_else(|| InventoryError::UnknownVersion {
                version: version.to_string(),
                known: builtin::INVENTORIES
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        Self::parse(&format!("built-in inventory {key}"), bytes)
    }

    fn parse(name: &str, raw: &[u8]) -> Result<Inventory, InventoryError> {
        let invalid = |message: String| InventoryError::Invalid {
            path: name.to_string(),
            message,
        };
        let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            MultiGzDecoder::new(raw)
                .take(MAX_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| invalid(format!("cannot decompress: {e}")))?;
            if out.len() as u64 > MAX_BYTES {
                return Err(invalid(format!(
                    "decompresses to more than {MAX_BYTES} bytes"
                )));
            }
            out
        } else {
            raw.to_vec()
        };
        let trimmed = bytes
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .copied()
            .next();
        let specs = if trimmed == Some(b'<') {
            let report = e2e_junit::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
            report.tests.into_iter().map(|t| t.name).collect()
        } else {
            let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".into()))?;
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        if specs.is_empty() {
            return Err(invalid("lists no specs".into()));
        }
        Ok(Inventory {
            source: name.to_string(),
            specs,
        })
    }
}

pub use crate::version::minor_of;

/// Where a live run on a server of some version takes the spec list its plan needs, when none is
/// given: the built-in inventory of the server's minor, or, for a version without one, the
/// cluster's own conformance image, asked before anything is launched (`run`'s
/// `InventoryChoice::Auto`). What `plan` and a dry run show follows the same choice.
#[derive(Debug, Clone)]
pub enum PlanningInventory {
    Builtin(Inventory),
    /// No built-in inventory for this version: the run asks the cluster's conformance image for
    /// its spec list; only when that fails are `[Serial]` specs selected by the Ginkgo label.
    AskCluster {
        server_version: String,
    },
}

impl PlanningInventory {
    /// The choice for a server of `server_version`.
    pub fn for_server(server_version: &str) -> PlanningInventory {
        match Inventory::builtin(server_version) {
            Ok(inv) => PlanningInventory::Builtin(inv),
            Err(_) => PlanningInventory::AskCluster {
                server_version: server_version.to_string(),
            },
        }
    }

    /// The inventory known before the run (none when the cluster is to be asked).
    pub fn known(&self) -> Option<&Inventory> {
        match self {
            PlanningInventory::Builtin(inv) => Some(inv),
            PlanningInventory::AskCluster { .. } => None,
        }
    }

    /// What a plan made before the run has to say about its spec list, if anything.
    pub fn note(&self) -> Option<String> {
        match self {
            PlanningInventory::Builtin(_) => None,
            PlanningInventory::AskCluster { server_version } => Some(format!(
                "Kubernetes {server_version} has no built-in inventory: the run first asks the \
                 cluster's conformance image for its spec list and plans with it; only if that \
                 fails are [Serial] specs selected by the Ginkgo label Serial, as in the plan \
                 shown here"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_inventories_have_every_spec() {
        let inv = Inventory::builtin("1.33").unwrap();
        assert_eq!(
            inv.specs.len(),
            6731,
            "Ginkgo reported 'of 6731 specs' for this run"
        );
        assert!(inv.specs.iter().all(|s| !s.starts_with("[It]")));
        assert!(matches!(
            Inventory::builtin("v1.20"),
            Err(InventoryError::UnknownVersion { .. })
        ));
    }

    #[test]
    fn minors_are_normalised() {
        assert_eq!(minor_of("v1.33.3"), "v1.33");
        assert_eq!(minor_of("1.31"), "v1.31");
        assert_eq!(minor_of("v1.31.4-gke.1"), "v1.31");
    }
}
