//! Kubernetes release, end-of-life and critical-CVE data for the SCS-0210 version policy check.
//!
//! A copy is built into the binary (`data/k8s-release-data.json`); `--release-data FILE` reads
//! another one, and [`refresh`] builds a fresh one from the public sources SCS's
//! `k8s_version_policy.py` uses. The format is documented in `docs/native-checks.md`.

use std::path::Path;
use std::time::Duration;

use hyper::Method;
use hyper::header::{ACCEPT, HeaderValue};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::http;

use crate::version;
pub use crate::version::K8sVersion;

/// The data file built into the binary.
pub const EMBEDDED: &str = include_str!("../../../../../data/k8s-release-data.json");

/// The current data format version.
pub const FORMAT: u32 = 1;

/// Release data: which branches exist until when, which patch releases came out when, and which
/// critical CVEs (CVSS ≥ 8) affect which versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseData {
    pub format: u32,
    /// The day the data was complete up to; data older than the staleness limit is a warning.
    pub generated_at: Date,
    /// Where each part of the data came from.
    pub provenance: Vec<String>,
    pub branches: Vec<Branch>,
    pub releases: Vec<Release>,
    pub critical_cves: Vec<CriticalCve>,
    /// Whether the CVE sources were read when the data was built (`refresh` reads them). `false`
    /// when `critical_cves` was not built from them (e.g. `data/generate-release-data`, which
    /// carries the list over): the check then warns that the critical-CVE window is not judged,
    /// however fresh `generated_at` is. Absent means `true`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub critical_cves_read: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A release branch (minor version) and its end of life (last day of maintenance support).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// `1.35`
    pub branch: String,
    /// First day the branch is no longer supported (SCS: supported while `now < end-of-life`).
    pub end_of_life: Date,
}

/// A published (non-draft, non-prerelease) Kubernetes release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// `1.35.4`
    pub version: String,
    /// Publication date (UTC).
    pub date: Date,
}

/// A CVE with a CVSS base score of 8 or more that affects Kubernetes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalCve {
    pub id: String,
    /// Highest CVSS base score in the CVE record.
    pub score: f64,
    pub affected: Vec<AffectedRange>,
}

/// Affected versions, as in a CVE 5.0 `versions[]` entry: from `from` (inclusive; none = all
/// earlier versions) up to `before` (exclusive) or `through` (inclusive); with neither, only
/// `from` itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
}

impl AffectedRange {
    /// Whether `v` lies in the range. Unparseable bounds never match.
    pub fn contains(&self, v: K8sVersion) -> bool {
        let bound = |s: &Option<String>| s.as_deref().map(K8sVersion::from_git_version);
        let from = match bound(&self.from) {
            Some(Some(f)) => Some(f),
            Some(None) => return false,
            None => None,
        };
        if from.is_some_and(|f| v < f) {
            return false;
        }
        match (bound(&self.before), bound(&self.through)) {
            (Some(Some(b)), _) => v < b,
            (_, Some(Some(t))) => v <= t,
            (Some(None), _) | (_, Some(None)) => false,
            (None, None) => from == Some(v),
        }
    }
}

impl CriticalCve {
    pub fn affects(&self, v: K8sVersion) -> bool {
        self.affected.iter().any(|r| r.contains(v))
    }
}

/// Why release data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseDataError {
    #[error("cannot read release data {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid release data {path}: {message}")]
    Invalid { path: String, message: String },
}

impl ReleaseData {
    /// The data built into the binary.
    #[allow(clippy::expect_used)] // the embedded file is fixed at build time and tested
    pub fn embedded() -> ReleaseData {
        ReleaseData::parse(EMBEDDED, "data/k8s-release-data.json (built in)")
            .expect("the built-in release data is valid (tested)")
    }

    /// Reads a data file (JSON).
    pub fn read(path: &Path) -> Result<ReleaseData, ReleaseDataError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReleaseDataError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ReleaseData::parse(&text, &path.display().to_string())
    }

    /// `--release-data FILE` if given, else the built-in data.
    pub fn load(path: Option<&Path>) -> Result<ReleaseData, ReleaseDataError> {
        match path {
            Some(p) => ReleaseData::read(p),
            None => Ok(ReleaseData::embedded()),
        }
    }

    /// Parses and validates a data file's text; `name` is used in error messages.
    pub fn parse(text: &str, name: &str) -> Result<ReleaseData, ReleaseDataError> {
        let invalid = |message: String| ReleaseDataError::Invalid {
            path: name.to_string(),
            message,
        };
        let data: ReleaseData = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if data.format != FORMAT {
            return Err(invalid(format!(
                "format {} is not supported (this build reads format {FORMAT})",
                data.format
            )));
        }
        for b in &data.branches {
            if version::branch(&b.branch).is_none() {
                return Err(invalid(format!("branch {:?} is not MAJOR.MINOR", b.branch)));
            }
        }
        for r in &data.releases {
            if K8sVersion::from_git_version(&r.version).is_none() {
                return Err(invalid(format!(
                    "release {:?} is not MAJOR.MINOR.PATCH",
                    r.version
                )));
            }
        }
        Ok(data)
    }

    /// The data as pretty JSON (what `release-data refresh` writes).
    #[allow(clippy::expect_used)] // plain structs with string keys: serialising cannot fail
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("serializable");
        s.push('\n');
        s
    }

    /// End of life of a branch, if the data knows it.
    pub fn end_of_life(&self, branch: (u64, u64)) -> Option<Date> {
        self.branches
            .iter()
            .find(|b| version::branch(&b.branch) == Some(branch))
            .map(|b| b.end_of_life)
    }

    /// Releases with parsed versions, sorted by version.
    pub fn parsed_releases(&self) -> Vec<(K8sVersion, Date)> {
        let mut v: Vec<_> = self
            .releases
            .iter()
            .filter_map(|r| K8sVersion::from_git_version(&r.version).map(|v| (v, r.date)))
            .collect();
        v.sort();
        v.dedup_by_key(|(v, _)| *v);
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Refresh from public sources
// ---------------------------------------------------------------------------------------------

/// Where [`refresh`] reads from. The defaults are the sources of SCS's `k8s_version_policy.py`
/// (GitHub releases, the Kubernetes official CVE feed, CVE records from cveawg.mitre.org, and
/// the SCS end-of-life list `k8s-eol-data.yml`).
#[derive(Debug, Clone)]
pub struct Sources {
    /// GitHub REST API: `…/repos/kubernetes/kubernetes/releases?per_page=100`.
    pub github_releases: String,
    /// Kubernetes official CVE feed (JSON Feed with `items[].id`).
    pub cve_feed: String,
    /// CVE 5.0 record URL; `{id}` is replaced by the CVE id.
    pub cve_record: String,
    /// YAML list of `{branch: '1.35', end-of-life: 'YYYY-MM-DD'}` (SCS's k8s-eol-data.yml).
    pub end_of_life: String,
    pub timeout: Duration,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            github_releases:
                "https://api.github.com/repos/kubernetes/kubernetes/releases?per_page=100".into(),
            cve_feed:
                "https://kubernetes.io/docs/reference/issues-security/official-cve-feed/index.json"
                    .into(),
            cve_record: "https://cveawg.mitre.org/api/cve/{id}".into(),
            end_of_life: "https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/kaas/scs_0210_version_policy/k8s-eol-data.yml".into(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(
        "cannot fetch {url}: {reason}\n(no network? The built-in data, or --release-data FILE \
         with a file refreshed elsewhere, work offline.)"
    )]
    Fetch { url: String, reason: String },
    #[error("unexpected content from {url}: {source}")]
    Parse {
        url: String,
        #[source]
        source: Box<FeedError>,
    },
}

/// What is wrong with the content of a source of release data.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Yaml(#[from] serde_saphyr::Error),
    #[error("{tag}: bad published_at {published:?}")]
    PublishedAt { tag: String, published: String },
    #[error("bad branch {0:?}")]
    Branch(String),
    #[error("branch {branch}: bad end-of-life: {source}")]
    EndOfLife {
        branch: String,
        #[source]
        source: jiff::Error,
    },
    #[error("no `items` list")]
    NoItems,
    #[error("no cveMetadata.cveId")]
    NoCveId,
}

const MAX_BODY: usize = 32 << 20;

/// Redirects followed per source (plain `GET`s without credentials).
const MAX_REDIRECTS: u8 = 10;

fn get(client: &http::Client, url: &str, accept: &str) -> Result<String, RefreshError> {
    let fetch = |reason: String| RefreshError::Fetch {
        url: url.to_string(),
        reason,
    };
    let accept = HeaderValue::from_str(accept).map_err(|e| fetch(e.to_string()))?;
    let response = client
        .send(Method::GET, url, &[(ACCEPT, accept)], Vec::new(), MAX_BODY)
        .map_err(|e| fetch(e.to_string()))?;
    if !response.status.is_success() {
        return Err(fetch(format!("HTTP {}", response.status)));
    }
    if response.truncated {
        return Err(fetch(format!("the answer is larger than {MAX_BODY} bytes")));
    }
    String::from_utf8(response.body).map_err(|_| fetch("the answer is not UTF-8 text".into()))
}

#[derive(Deserialize)]
struct GithubRelease {
    tag_name: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
    published_at: Option<String>,
}

/// Parses the GitHub releases API answer: published, non-draft, non-prerelease releases.
pub fn parse_github_releases(json: &str) -> Result<Vec<Release>, FeedError> {
    let list: Vec<GithubRelease> = serde_json::from_str(json)?;
    let mut out = Vec::new();
    for r in list {
        if r.draft || r.prerelease || r.tag_name.contains('-') {
            continue;
        }
        let Some(v) = K8sVersion::from_git_version(&r.tag_name) else {
            continue;
        };
        let Some(published) = r.published_at else {
            continue;
        };
        let date = published
            .get(..10)
            .and_then(|d| Date::strptime("%Y-%m-%d", d).ok())
            .ok_or_else(|| FeedError::PublishedAt {
                tag: r.tag_name.clone(),
                published: published.clone(),
            })?;
        out.push(Release {
            version: v.to_string(),
            date,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct EolEntry {
    branch: String,
    #[serde(rename = "end-of-life")]
    end_of_life: String,
}

/// Parses SCS's `k8s-eol-data.yml`.
pub fn parse_eol_yaml(yaml: &str) -> Result<Vec<Branch>, FeedError> {
    let list: Vec<EolEntry> = serde_saphyr::from_str(yaml)?;
    list.into_iter()
        .map(|e| {
            version::branch(&e.branch).ok_or_else(|| FeedError::Branch(e.branch.clone()))?;
            let end_of_life =
                Date::strptime("%Y-%m-%d", e.end_of_life.trim()).map_err(|source| {
                    FeedError::EndOfLife {
                        branch: e.branch.clone(),
                        source,
                    }
                })?;
            Ok(Branch {
                branch: e.branch.trim().to_string(),
                end_of_life,
            })
        })
        .collect()
}

/// Parses the CVE feed: the CVE ids it lists.
pub fn parse_cve_feed(json: &str) -> Result<Vec<String>, FeedError> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let items = v
        .get("items")
        .and_then(|i| i.as_array())
        .ok_or(FeedError::NoItems)?;
    Ok(items
        .iter()
        .filter_map(|i| i.get("id").and_then(|id| id.as_str()).map(str::to_string))
        .collect())
}

/// Parses a CVE 5.0 record: `Some` when a CVSS base score is ≥ 8, with the affected Kubernetes
/// version ranges (product `Kubernetes`, status `affected`).
pub fn parse_cve_record(json: &str) -> Result<Option<CriticalCve>, FeedError> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let id = v
        .pointer("/cveMetadata/cveId")
        .and_then(|i| i.as_str())
        .ok_or(FeedError::NoCveId)?
        .to_string();
    let Some(cna) = v.pointer("/containers/cna") else {
        return Ok(None);
    };
    let score = cna
        .get("metrics")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_object())
        .flat_map(|m| m.iter())
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k.starts_with("cvss") && k.chars().any(|c| c.is_ascii_digit())
        })
        .filter_map(|(_, m)| m.get("baseScore").and_then(|s| s.as_f64()))
        .fold(None::<f64>, |acc, s| Some(acc.map_or(s, |a| a.max(s))));
    let Some(score) = score.filter(|s| *s >= 8.0) else {
        return Ok(None);
    };
    let mut affected = Vec::new();
    for a in cna
        .get("affected")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
    {
        if a.get("product").and_then(|p| p.as_str()) != Some("Kubernetes") {
            continue;
        }
        for ver in a
            .get("versions")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if ver.get("status").and_then(|s| s.as_str()) != Some("affected") {
                continue;
            }
            let s = |k: &str| ver.get(k).and_then(|x| x.as_str()).map(str::trim);
            if let Some(r) = affected_range(s("version"), s("lessThan"), s("lessThanOrEqual")) {
                affected.push(r);
            }
        }
    }
    Ok(Some(CriticalCve {
        id,
        score,
        affected,
    }))
}

fn affected_range(
    version: Option<&str>,
    less_than: Option<&str>,
    less_than_or_equal: Option<&str>,
) -> Option<AffectedRange> {
    let norm = |s: &str| K8sVersion::from_git_version(s).map(|v| v.to_string());
    let from = version.and_then(norm);
    if let Some(t) = less_than_or_equal.and_then(norm) {
        return Some(AffectedRange {
            from,
            before: None,
            through: Some(t),
        });
    }
    if let Some(b) = less_than.and_then(norm) {
        return Some(AffectedRange {
            from,
            before: Some(b),
            through: None,
        });
    }
    let version = version?;
    // Non-standard descriptions seen in Kubernetes CVE records: "1.30.x", "1.30.0 - 1.30.4".
    if let Some(prefix) = version.trim_start_matches('v').strip_suffix(".x")
        && let Some((maj, min)) = crate::version::branch(prefix)
    {
        return Some(AffectedRange {
            from: Some(format!("{maj}.{min}.0")),
            before: Some(format!("{maj}.{}.0", min + 1)),
            through: None,
        });
    }
    if let Some((a, b)) = version.split_once(" - ")
        && let (Some(a), Some(b)) = (norm(a), norm(b))
    {
        return Some(AffectedRange {
            from: Some(a),
            before: None,
            through: Some(b),
        });
    }
    from.map(|f| AffectedRange {
        from: Some(f),
        before: None,
        through: None,
    })
}

/// Builds fresh release data from the sources, dated `today`. Fails with a clear error when a
/// source cannot be reached (e.g. offline); a single CVE record that cannot be fetched is noted
/// in the provenance and skipped (as SCS's script does).
pub fn refresh(sources: &Sources, today: Date) -> Result<ReleaseData, RefreshError> {
    let agent =
        http::Client::new(sources.timeout, MAX_REDIRECTS).map_err(|e| RefreshError::Fetch {
            url: sources.end_of_life.clone(),
            reason: e.to_string(),
        })?;
    let parse_err = |url: &str| {
        let url = url.to_string();
        move |source: FeedError| RefreshError::Parse {
            url: url.clone(),
            source: Box::new(source),
        }
    };

    let text = get(&agent, &sources.end_of_life, "*/*")?;
    let branches = parse_eol_yaml(&text).map_err(parse_err(&sources.end_of_life))?;

    let text = get(
        &agent,
        &sources.github_releases,
        "application/vnd.github+json",
    )?;
    let mut releases = parse_github_releases(&text).map_err(parse_err(&sources.github_releases))?;
    releases.sort_by(|a, b| {
        K8sVersion::from_git_version(&b.version)
            .cmp(&K8sVersion::from_git_version(&a.version))
            .then(b.date.cmp(&a.date))
    });

    let text = get(&agent, &sources.cve_feed, "application/json")?;
    let ids = parse_cve_feed(&text).map_err(parse_err(&sources.cve_feed))?;
    let mut critical_cves = Vec::new();
    let mut skipped = Vec::new();
    for id in &ids {
        let url = sources.cve_record.replace("{id}", id);
        match get(&agent, &url, "application/json")
            .and_then(|t| parse_cve_record(&t).map_err(parse_err(&url)))
        {
            Ok(Some(cve)) => critical_cves.push(cve),
            Ok(None) => {}
            Err(e) => skipped.push(format!("{id} ({e})")),
        }
    }
    critical_cves.sort_by(|a, b| a.id.cmp(&b.id));

    let mut provenance = vec![
        format!("end of life: {} (refreshed {today})", sources.end_of_life),
        format!(
            "releases: {} (published, non-draft, non-prerelease; refreshed {today})",
            sources.github_releases
        ),
        format!(
            "critical CVEs: {} lists {} CVEs; records from {}; kept those with a CVSS base score >= 8 (refreshed {today})",
            sources.cve_feed,
            ids.len(),
            sources.cve_record
        ),
    ];
    if !skipped.is_empty() {
        provenance.push(format!(
            "CVE records that could not be read: {}",
            skipped.join("; ")
        ));
    }
    Ok(ReleaseData {
        format: FORMAT,
        generated_at: today,
        provenance,
        branches,
        releases,
        critical_cves,
        critical_cves_read: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_data_is_valid() {
        let d = ReleaseData::embedded();
        assert!(d.end_of_life((1, 35)).is_some());
        assert!(!d.releases.is_empty());
        assert!(!d.provenance.is_empty());
        // Patch releases of every branch up to 1.37, as the Go module proxy served them.
        let releases = d.parsed_releases();
        for branch in [(1, 34), (1, 35), (1, 36), (1, 37)] {
            assert!(
                releases.iter().any(|(v, _)| v.branch() == branch),
                "no release of {branch:?}"
            );
        }
        assert!(
            releases
                .iter()
                .any(|(v, date)| v.to_string() == "1.37.2"
                    && *date == jiff::civil::date(2026, 10, 27))
        );
        // Every source is named: the proxy, the SCS end-of-life list at a commit, the generator.
        let all = d.provenance.join("\n");
        for needle in [
            "https://proxy.golang.org/k8s.io/kubernetes/@v/list",
            "k8s-eol-data.yml at commit 077174d94b576e480e8168d198004296bee94748",
            "data/generate-release-data",
        ] {
            assert!(all.contains(needle), "provenance lacks {needle}: {all}");
        }
    }

    #[test]
    fn critical_cves_read_defaults_to_true_and_round_trips() {
        let mut d = ReleaseData::embedded();
        assert!(
            !d.critical_cves_read,
            "the generator does not read CVE sources"
        );
        let again = ReleaseData::parse(&d.to_json(), "again").unwrap();
        assert_eq!(again, d);
        d.critical_cves_read = true;
        let json = d.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(
            value.get("critical_cves_read").is_none(),
            "absent when true"
        );
        assert!(ReleaseData::parse(&json, "x").unwrap().critical_cves_read);
    }

    #[test]
    fn versions_parse_with_vendor_suffixes() {
        let v = |s| K8sVersion::from_git_version(s).map(|v| v.to_string());
        assert_eq!(v("v1.35.4").as_deref(), Some("1.35.4"));
        assert_eq!(v("v1.33.3-gke.1200").as_deref(), Some("1.33.3"));
        assert_eq!(v("v1.31.4+k3s1").as_deref(), Some("1.31.4"));
        assert_eq!(v("1.30").as_deref(), Some("1.30.0"));
        assert_eq!(v("v0.0.0-master+$Format:%H$").as_deref(), Some("0.0.0"));
        assert_eq!(v("latest"), None);
    }

    #[test]
    fn ranges_follow_cve_json_semantics() {
        let v = |s| K8sVersion::from_git_version(s).unwrap();
        let r = AffectedRange {
            from: Some("1.30.0".into()),
            before: Some("1.30.5".into()),
            through: None,
        };
        assert!(r.contains(v("1.30.0")) && r.contains(v("1.30.4")));
        assert!(!r.contains(v("1.30.5")) && !r.contains(v("1.29.9")));
        let r = AffectedRange {
            from: None,
            before: None,
            through: Some("1.31.2".into()),
        };
        assert!(r.contains(v("1.20.0")) && r.contains(v("1.31.2")) && !r.contains(v("1.31.3")));
        let r = affected_range(Some("1.32.x"), None, None).unwrap();
        assert!(r.contains(v("1.32.9")) && !r.contains(v("1.33.0")));
        let r = affected_range(Some("v1.29.0 - v1.29.3"), None, None).unwrap();
        assert!(r.contains(v("1.29.3")) && !r.contains(v("1.29.4")));
        let r = affected_range(Some("1.28.1"), None, None).unwrap();
        assert!(r.contains(v("1.28.1")) && !r.contains(v("1.28.2")));
    }

    #[test]
    fn cve_records_keep_only_critical_kubernetes_ranges() {
        let record = r#"{"cveMetadata": {"cveId": "CVE-2099-0001"},
          "containers": {"cna": {
            "metrics": [{"cvssV3_1": {"baseScore": 8.8}}, {"other": {"x": 1}}],
            "affected": [
              {"product": "Kubernetes", "versions": [
                {"version": "1.30.0", "lessThan": "1.30.5", "status": "affected"},
                {"version": "1.30.5", "status": "unaffected"}]},
              {"product": "ingress-nginx", "versions": [
                {"version": "1.0.0", "lessThan": "1.12.1", "status": "affected"}]}]}}}"#;
        let cve = parse_cve_record(record).unwrap().unwrap();
        assert_eq!(cve.id, "CVE-2099-0001");
        assert_eq!(cve.score, 8.8);
        assert_eq!(cve.affected.len(), 1);
        let low = record.replace("8.8", "7.9");
        assert_eq!(parse_cve_record(&low).unwrap(), None);
    }

    #[test]
    fn github_releases_skip_drafts_and_prereleases() {
        let json = r#"[
          {"tag_name": "v1.36.0-rc.1", "draft": false, "prerelease": true, "published_at": "2026-04-01T10:00:00Z"},
          {"tag_name": "v1.35.4", "draft": false, "prerelease": false, "published_at": "2026-04-15T18:01:02Z"},
          {"tag_name": "v1.35.5", "draft": true, "prerelease": false, "published_at": null}]"#;
        let r = parse_github_releases(json).unwrap();
        assert_eq!(
            r,
            vec![Release {
                version: "1.35.4".into(),
                date: jiff::civil::date(2026, 4, 15)
            }]
        );
    }
}
