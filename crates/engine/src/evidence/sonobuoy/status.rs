//! The aggregator's status annotation (`sonobuoy.hept.io/status`), refreshed every 5 s.

use serde::{Deserialize, Serialize};

/// The aggregator's overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    Running,
    /// All plugins are done; the tarball is being written.
    PostProcessing,
    /// The tarball is ready (`tar-info` filled).
    Complete,
    /// The aggregator itself failed.
    Failed,
    #[serde(other)]
    Unknown,
}

impl RunState {
    /// The state as the annotation spells it.
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::PostProcessing => "post-processing",
            RunState::Complete => "complete",
            RunState::Failed => "failed",
            RunState::Unknown => "unknown",
        }
    }
}

/// The whole annotation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Status {
    #[serde(default)]
    pub plugins: Option<Vec<PluginStatus>>,
    pub status: RunState,
    #[serde(rename = "tar-info", default)]
    pub tar_info: TarInfo,
}

/// One plugin's status.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PluginStatus {
    pub plugin: String,
    #[serde(default)]
    pub node: String,
    pub status: PluginState,
    #[serde(rename = "result-status", default)]
    pub result_status: String,
    #[serde(default)]
    pub progress: Option<Progress>,
}

/// One plugin's own state (`running`, `complete`, `failed`); any other spelling is kept as
/// given, so the annotation reads and writes back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub enum PluginState {
    Running,
    Complete,
    Failed,
    Other(String),
}

impl From<String> for PluginState {
    fn from(s: String) -> Self {
        match s.as_str() {
            "running" => PluginState::Running,
            "complete" => PluginState::Complete,
            "failed" => PluginState::Failed,
            _ => PluginState::Other(s),
        }
    }
}

impl PluginState {
    /// The state as the annotation spells it.
    pub fn as_str(&self) -> &str {
        match self {
            PluginState::Running => "running",
            PluginState::Complete => "complete",
            PluginState::Failed => "failed",
            PluginState::Other(s) => s,
        }
    }
}

impl From<PluginState> for String {
    fn from(s: PluginState) -> Self {
        match s {
            PluginState::Other(s) => s,
            known => known.as_str().to_string(),
        }
    }
}

/// Progress the e2e binary reported (`total`, `completed` = passed specs, `failures` = names).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Progress {
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub completed: i64,
    #[serde(default)]
    pub failures: Option<Vec<String>>,
}

/// Where the finished results tarball is and what it must hash to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TarInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub sha256: String,
    #[serde(default)]
    pub size: u64,
}

/// Passed / failed / remaining counts, as `sonobuoy status` computes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub total: u64,
}

impl Counts {
    pub fn remaining(&self) -> u64 {
        self.total.saturating_sub(self.passed + self.failed)
    }
}

impl Status {
    /// Parses the annotation value.
    pub fn parse(text: &str) -> Result<Status, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Progress of the e2e plugin, if it reported any.
    pub fn e2e_counts(&self) -> Option<Counts> {
        let p = self
            .plugins
            .as_ref()?
            .iter()
            .find(|p| p.plugin == "e2e")?
            .progress
            .as_ref()?;
        Some(Counts {
            passed: p.completed.max(0) as u64,
            failed: p.failures.as_ref().map_or(0, |f| f.len() as u64),
            total: p.total.max(0) as u64,
        })
    }

    /// Whether a plugin reported an error of its own (per-plugin status `failed`).
    pub fn failed_plugins(&self) -> Vec<String> {
        self.plugins
            .iter()
            .flatten()
            .filter(|p| p.status == PluginState::Failed)
            .map(|p| p.plugin.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sonobuoy_status_example_parses() {
        // From Sonobuoy's pkg/client/testdata/PrintPodStatus.json shape.
        let s = Status::parse(r#"{"plugins":[{"plugin":"e2e","node":"global","status":"complete","result-status":"passed","result-counts":{"passed":1,"skipped":7041},"progress":{"name":"e2e","node":"global","timestamp":"2022-03-15T20:33:15.2781926Z","msg":"Test Suite completed","total":1,"completed":1}}],"status":"complete","tar-info":{"name":"202203152033_sonobuoy_1c5b6631.tar.gz","created":"2022-03-15T20:33:36.6896851Z","sha256":"0eaa","size":1969744}}"#).unwrap();
        assert_eq!(s.status, RunState::Complete);
        assert_eq!(s.tar_info.size, 1969744);
        assert_eq!(
            s.e2e_counts(),
            Some(Counts {
                passed: 1,
                failed: 0,
                total: 1
            })
        );
    }

    #[test]
    fn initial_and_unknown_states_parse() {
        let s = Status::parse(r#"{"plugins":null,"status":"running","tar-info":{"name":"","created":"0001-01-01T00:00:00Z","sha256":"","size":0}}"#).unwrap();
        assert_eq!(s.status, RunState::Running);
        assert_eq!(s.e2e_counts(), None);
        assert_eq!(
            Status::parse(r#"{"status":"something-new"}"#)
                .unwrap()
                .status,
            RunState::Unknown
        );
    }

    #[test]
    fn remaining_counts_failures_like_sonobuoy() {
        let c = Counts {
            passed: 40,
            failed: 2,
            total: 47,
        };
        assert_eq!(c.remaining(), 5);
    }
}
