//! Waivers: known, tracked failures that do not count against a verdict.
//!
//! A waiver is scoped to a CNI (or `any`), to a module or test case, and optionally to ranges of
//! Kubernetes and CNI versions; it always has a reason, a tracking link and an expiry date. The
//! format is documented in `docs/waivers-format.md`. SCS's own `okToFail` list can be read as-is
//! ([`from_scs_ok_to_fail`]); its entries apply to every CNI and standard and never expire,
//! exactly as SCS applies them.

use std::collections::HashMap;
use std::fmt;

use jiff::civil::Date;
use regex::Regex;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::definitions::catalog::{
    Catalog, LoadError, Problem, SourceFile, SourceLocation, Testcase, yaml_problem,
};
use crate::definitions::testname;
use crate::evidence::cni::{self, Cni};
use crate::version::K8sVersion;

/// Which clusters a waiver is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CniScope {
    Any,
    Named(String),
}

impl fmt::Display for CniScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CniScope::Any => f.write_str("any"),
            CniScope::Named(n) => f.write_str(n),
        }
    }
}

/// Which test cases a waiver is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppliesTo {
    /// A module id: every test case of the module.
    Module(String),
    /// One test case id.
    Testcase(String),
    /// Every test case (SCS `okToFail` semantics).
    Everything,
}

impl fmt::Display for AppliesTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppliesTo::Module(id) | AppliesTo::Testcase(id) => f.write_str(id),
            AppliesTo::Everything => f.write_str("*"),
        }
    }
}

/// One waiver.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub id: String,
    pub cni: CniScope,
    pub applies_to: AppliesTo,
    /// Unanchored regex over the test name (see [`Waiver::matches`]).
    pub test: Regex,
    pub reason: String,
    pub tracking: Option<String>,
    /// Last day on which the waiver applies. `None` only for SCS `okToFail` entries.
    pub expires: Option<Date>,
    pub kubernetes: Option<semver::VersionReq>,
    pub cni_version: Option<semver::VersionReq>,
    /// Where it was defined (`waivers/cilium.yaml:12:5`).
    pub origin: SourceLocation,
}

/// Whether a waiver applies to a cluster on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaiverStatus {
    Active,
    Expired,
    /// For another CNI (or the CNI is unknown and the waiver is CNI-specific).
    OtherCni,
    /// The cluster's Kubernetes version is outside the waiver's range, or unknown.
    KubernetesVersionMismatch,
    /// The CNI's version is outside the waiver's range, or unknown.
    CniVersionMismatch,
}

/// What waivers are judged against.
#[derive(Debug, Clone)]
pub struct ClusterContext {
    pub cni: Cni,
    /// `major.minor.patch`, without vendor suffixes.
    pub kubernetes: Option<semver::Version>,
    pub today: Date,
}

impl ClusterContext {
    /// The context from a version a user gave (`--k8s-version`), read strictly
    /// ([`crate::version::kubernetes`]): one that does not parse is refused, since read as
    /// "unknown" it would silently change which waivers apply.
    pub fn new(
        cni: Cni,
        kubernetes: Option<&str>,
        today: Date,
    ) -> Result<ClusterContext, crate::version::VersionError> {
        Ok(ClusterContext {
            cni,
            kubernetes: kubernetes
                .map(crate::version::kubernetes)
                .transpose()?
                .map(|v| v.0),
            today,
        })
    }

    /// The context of a cluster by its API server's gitVersion (`v1.35.4+k3s1`), whether read
    /// live or recorded in `serverversion.json`, read leniently
    /// ([`K8sVersion::from_git_version`]); one that is no version (or none) is unknown, so no
    /// version-scoped waiver applies.
    pub fn of_server(cni: Cni, server_version: Option<&str>, today: Date) -> ClusterContext {
        ClusterContext {
            cni,
            kubernetes: server_version
                .and_then(K8sVersion::from_git_version)
                .map(K8sVersion::to_semver),
            today,
        }
    }
}

impl Waiver {
    /// Whether the waiver names this test. Matches the name as reported and its canonical
    /// spacing, so a pattern written for one Kubernetes minor keeps matching the next.
    pub fn matches(&self, test_name: &str) -> bool {
        self.test.is_match(test_name) || self.test.is_match(&testname::canonical(test_name))
    }

    /// Whether the waiver is for this test case.
    pub fn covers(&self, testcase: &Testcase) -> bool {
        match &self.applies_to {
            AppliesTo::Everything => true,
            AppliesTo::Module(id) => *id == testcase.module,
            AppliesTo::Testcase(id) => *id == testcase.id,
        }
    }

    /// Whether the waiver applies to this cluster today.
    pub fn status(&self, ctx: &ClusterContext) -> WaiverStatus {
        if let CniScope::Named(name) = &self.cni
            && !(ctx.cni.is_known() && ctx.cni.name == name.as_str())
        {
            return WaiverStatus::OtherCni;
        }
        if let Some(req) = &self.kubernetes
            && !ctx.kubernetes.as_ref().is_some_and(|v| req.matches(v))
        {
            return WaiverStatus::KubernetesVersionMismatch;
        }
        if let Some(req) = &self.cni_version
            && !ctx
                .cni
                .version
                .as_deref()
                .and_then(|v| crate::version::parse(ctx.cni.name.as_str(), v).ok())
                .is_some_and(|v| req.matches(&v.0))
        {
            return WaiverStatus::CniVersionMismatch;
        }
        if self.expires.is_some_and(|d| d < ctx.today) {
            return WaiverStatus::Expired;
        }
        WaiverStatus::Active
    }
}

/// The waivers that are active for test case `testcase` on this cluster today: the ones a run
/// skips at launch and a verdict applies.
pub fn active_for<'w>(
    waivers: &'w [Waiver],
    testcase: &Testcase,
    ctx: &ClusterContext,
) -> Vec<&'w Waiver> {
    waivers
        .iter()
        .filter(|w| w.covers(testcase) && w.status(ctx) == WaiverStatus::Active)
        .collect()
}

/// A test pattern that matches at least this share (in percent) of the specs of the largest
/// built-in inventory is refused: it waives (nearly) everything, not the tracked problems.
const TOO_WIDE_PERCENT: usize = 90;

/// Its minor (`v1.36`) and its specs, each with its canonical spacing.
type WidestInventory = (String, Vec<(String, String)>);

/// The largest built-in inventory (by size; `widest_inventory_is_the_one_with_most_specs`
/// checks that it also has the most specs), each spec with its canonical spacing, decoded once
/// per process: only this one is decompressed, so loading waivers stays fast.
fn widest_inventory() -> Option<&'static WidestInventory> {
    static CACHE: std::sync::OnceLock<Option<WidestInventory>> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| {
            // A gzip member ends with its uncompressed size (mod 2^32).
            let size = |bytes: &[u8]| {
                bytes
                    .last_chunk::<4>()
                    .map_or(0, |b| u32::from_le_bytes(*b))
            };
            let (key, _) = crate::definitions::builtin::INVENTORIES
                .iter()
                .max_by_key(|(_, bytes)| size(bytes))?;
            let inventory = crate::definitions::inventory::Inventory::builtin(key).ok()?;
            let specs = inventory
                .specs
                .into_iter()
                .map(|s| {
                    let c = testname::canonical(&s);
                    (s, c)
                })
                .collect();
            Some((key.to_string(), specs))
        })
        .as_ref()
}

/// Why a test pattern is refused although it compiles: it would waive every test (it matches
/// the empty string; SCS's `okToFail` validator refuses empty regexes for the same reason), or
/// nearly every one: it matches at least [`TOO_WIDE_PERCENT`]% of the specs of the largest
/// built-in inventory (as waivers match, on the name or its canonical spacing), whatever its
/// shape (`.`, `..`, `[^x]`, `\[`, `e`, ` `, `\pL`).
fn too_wide(test: &Regex) -> Option<String> {
    if test.is_match("") {
        return Some("it matches the empty string, so it matches every test name".into());
    }
    let (key, specs) = widest_inventory()?;
    let limit = specs.len() * TOO_WIDE_PERCENT / 100;
    // Stops as soon as too many specs are missed to reach the limit: narrow patterns cost
    // little.
    let allowed_misses = specs.len() - limit;
    let (mut matched, mut missed) = (0, 0);
    for (name, canonical) in specs {
        if test.is_match(name) || test.is_match(canonical) {
            matched += 1;
        } else {
            missed += 1;
            if missed > allowed_misses {
                return None;
            }
        }
    }
    Some(format!(
        "it matches {matched} of the {} specs of the built-in inventory {key} (at least \
         {TOO_WIDE_PERCENT}%), so it would waive nearly every test",
        specs.len()
    ))
}

/// Loads waiver files, checking their references against the catalog.
pub fn load(files: &[SourceFile], catalog: &Catalog) -> Result<Vec<Waiver>, LoadError> {
    let mut problems = Vec::new();
    let mut waivers = Vec::new();
    let mut ids: HashMap<String, SourceLocation> = HashMap::new();
    for file in files {
        let raw: RawFile = match serde_saphyr::from_str(&file.text) {
            Ok(r) => r,
            Err(e) => {
                problems.push(yaml_problem(&file.name, &e));
                continue;
            }
        };
        let at = |l: &serde_saphyr::Location| SourceLocation {
            file: file.name.clone(),
            line: l.line(),
            column: l.column(),
        };
        let cni = match raw.cni.value.to_ascii_lowercase().as_str() {
            "any" => CniScope::Any,
            name if cni::KNOWN.contains(&name) => CniScope::Named(name.to_string()),
            other => {
                problems.push(Problem {
                    at: at(&raw.cni.referenced),
                    message: format!(
                        "unknown CNI {other:?} (known: any, {})",
                        cni::KNOWN.join(", ")
                    ),
                });
                continue;
            }
        };
        for w in raw.waivers {
            let here = at(&w.id.referenced);
            let mut problem =
                |at: SourceLocation, message: String| problems.push(Problem { at, message });
            if let Some(first) = ids.get(&w.id.value) {
                problem(
                    here.clone(),
                    format!(
                        "duplicate waiver id {:?} (first defined at {first})",
                        w.id.value
                    ),
                );
            } else {
                ids.insert(w.id.value.clone(), here.clone());
            }
            let applies_to = if catalog.module(&w.standard.value).is_some() {
                AppliesTo::Module(w.standard.value.to_ascii_lowercase())
            } else if let Some((_, tc)) = catalog.testcase(&w.standard.value) {
                AppliesTo::Testcase(tc.id.clone())
            } else {
                problem(
                    at(&w.standard.referenced),
                    format!(
                        "waiver refers to unknown standard or test case {:?}",
                        w.standard.value
                    ),
                );
                continue;
            };
            let test = match Regex::new(&w.test.value) {
                Ok(r) => match too_wide(&r) {
                    Some(why) => {
                        problem(
                            at(&w.test.referenced),
                            format!("test pattern {:?} is refused: {why}", w.test.value),
                        );
                        continue;
                    }
                    None => r,
                },
                Err(e) => {
                    problem(
                        at(&w.test.referenced),
                        format!(
                            "invalid test regex: {}",
                            e.to_string()
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    );
                    continue;
                }
            };
            if w.reason.trim().is_empty() {
                problem(here.clone(), "reason must not be empty".into());
            }
            if !(w.tracking.value.starts_with("https://")
                || w.tracking.value.starts_with("http://"))
            {
                problem(
                    at(&w.tracking.referenced),
                    format!("tracking must be a URL, got {:?}", w.tracking.value),
                );
            }
            let mut range =
                |field: &Option<Spanned<String>>, what: &str| -> Option<semver::VersionReq> {
                    let f = field.as_ref()?;
                    match semver::VersionReq::parse(&f.value) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            problems.push(Problem {
                                at: at(&f.referenced),
                                message: format!("invalid {what} version range {:?}: {e}", f.value),
                            });
                            None
                        }
                    }
                };
            let kubernetes = range(&w.kubernetes, "kubernetes");
            let cni_version = range(&w.cni_version, "cni");
            waivers.push(Waiver {
                id: w.id.value,
                cni: cni.clone(),
                applies_to,
                test,
                reason: w.reason,
                tracking: Some(w.tracking.value),
                expires: Some(w.expires),
                kubernetes,
                cni_version,
                origin: here,
            });
        }
    }
    if problems.is_empty() {
        Ok(waivers)
    } else {
        Err(LoadError { problems })
    }
}

/// Reads SCS's `okToFail` file (`Tests/kaas/scs-sonobuoy-config-v1.yaml`) with SCS's rules: the
/// only key is `okToFail`, each entry has exactly a non-empty `regex` and `reason`. Entries apply
/// to every CNI and test case and do not expire; the first URL in a reason becomes the tracking link.
pub fn from_scs_ok_to_fail(file: &SourceFile) -> Result<Vec<Waiver>, LoadError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct ScsFile {
        ok_to_fail: Vec<ScsEntry>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ScsEntry {
        regex: Spanned<String>,
        reason: String,
    }
    let parsed: ScsFile = serde_saphyr::from_str(&file.text).map_err(|e| LoadError {
        problems: vec![yaml_problem(&file.name, &e)],
    })?;
    let mut problems = Vec::new();
    let mut waivers = Vec::new();
    for (i, entry) in parsed.ok_to_fail.into_iter().enumerate() {
        let at = SourceLocation {
            file: file.name.clone(),
            line: entry.regex.referenced.line(),
            column: entry.regex.referenced.column(),
        };
        if entry.regex.value.is_empty() || entry.reason.trim().is_empty() {
            problems.push(Problem {
                at,
                message: "okToFail entries need a non-empty regex and reason".into(),
            });
            continue;
        }
        match Regex::new(&entry.regex.value) {
            Ok(test) => match too_wide(&test) {
                Some(why) => problems.push(Problem {
                    message: format!("regex {:?} is refused: {why}", entry.regex.value),
                    at,
                }),
                None => waivers.push(Waiver {
                    id: format!("scs-ok-to-fail-{}", i + 1),
                    cni: CniScope::Any,
                    applies_to: AppliesTo::Everything,
                    test,
                    tracking: first_url(&entry.reason),
                    reason: entry.reason,
                    expires: None,
                    kubernetes: None,
                    cni_version: None,
                    origin: at,
                }),
            },
            Err(e) => problems.push(Problem {
                at,
                message: format!(
                    "invalid regex: {}",
                    e.to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            }),
        }
    }
    if problems.is_empty() {
        Ok(waivers)
    } else {
        Err(LoadError { problems })
    }
}

fn first_url(text: &str) -> Option<String> {
    let start = text.find("https://").or_else(|| text.find("http://"))?;
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ')' | '"' | '\'' | ','))
        .collect();
    Some(url)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    cni: Spanned<String>,
    #[serde(default)]
    waivers: Vec<RawWaiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawWaiver {
    id: Spanned<String>,
    standard: Spanned<String>,
    test: Spanned<String>,
    reason: String,
    tracking: Spanned<String>,
    expires: Date,
    kubernetes: Option<Spanned<String>>,
    cni_version: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_versions_drop_vendor_suffixes() {
        let of = |v| ClusterContext::of_server(Cni::unknown(), Some(v), Date::constant(2026, 1, 1));
        let version = |major, minor, patch| Some(semver::Version::new(major, minor, patch));
        assert_eq!(of("v1.31.4-gke.1256000").kubernetes, version(1, 31, 4));
        assert_eq!(of("1.33").kubernetes, version(1, 33, 0));
        assert_eq!(of("v1.16.3+build").kubernetes, version(1, 16, 3));
        assert_eq!(of("latest").kubernetes, None);
    }

    #[test]
    fn patterns_that_match_every_name_are_too_wide() {
        for wide in [
            "", ".*", "(?s).*", "^", "$", "a*", "|x", ".", ".+", r"\S", r"\w", "(?i).",
        ] {
            assert!(too_wide(&Regex::new(wide).unwrap()).is_some(), "{wide:?}");
        }
        for wide in [
            "..", "[^x]", r"\[", " ", "e", "[a-z]", r"\pL", "(?i)E", r"\]",
        ] {
            let why = too_wide(&Regex::new(wide).unwrap());
            assert!(
                why.as_deref()
                    .is_some_and(|w| w.contains(" specs of the built-in inventory v")),
                "{wide:?}: {why:?}"
            );
        }
        for narrow in [
            "should allow egress access to server in CIDR block",
            r"\[sig-network\]",
            r"\[Conformance\]",
            r"\[Feature:SCTPConnectivity\]",
            "^\\[sig-network\\]",
        ] {
            assert!(
                too_wide(&Regex::new(narrow).unwrap()).is_none(),
                "{narrow:?}"
            );
        }
    }

    #[test]
    fn widest_inventory_is_the_one_with_most_specs() {
        let (key, specs) = widest_inventory().unwrap();
        for (minor, _) in crate::definitions::builtin::INVENTORIES {
            let other = crate::definitions::inventory::Inventory::builtin(minor).unwrap();
            assert!(
                other.specs.len() <= specs.len(),
                "{minor} has more than {key}"
            );
        }
    }

    #[test]
    fn urls_are_taken_from_reasons() {
        assert_eq!(
            first_url("Fails when … (only ExternalIP): https://github.com/kubernetes/kubernetes/issues/136626").as_deref(),
            Some("https://github.com/kubernetes/kubernetes/issues/136626")
        );
        assert_eq!(
            first_url(
                "Flaky test. Fix in v1.36 (https://github.com/kubernetes/kubernetes/pull/136715)"
            )
            .as_deref(),
            Some("https://github.com/kubernetes/kubernetes/pull/136715")
        );
        assert_eq!(first_url("no link"), None);
    }
}
