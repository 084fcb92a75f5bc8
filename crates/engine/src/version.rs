//! Versions of Kubernetes and CNIs, read in one place:
//!
//! - [`parse`]/[`kubernetes`]: strict, for what a user passes (`--k8s-version`, `--cni NAME@V`,
//!   waiver files) and CNI versions read from image tags. A version that does not parse is
//!   refused, never read as "unknown": an unknown version changes which waivers apply.
//! - [`GitVersion::parse_lenient`] / [`K8sVersion::from_git_version`]: lenient, for a `gitVersion`
//!   as an API server reports it (live, or recorded in `serverversion.json`) and release tags
//!   (`v1.35.4+k3s1`, `v1.33.3-eks-abc`, `v1.36.0-rc.1`); everything after the patch is a suffix.
//! - [`branch`]: a minor alone (`1.35`), as release data names its branches.

use std::fmt;

/// A version that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} version {text:?}: expected X.Y, X.Y.Z or vX.Y.Z (e.g. 1.33, v1.33.3)")]
pub struct VersionError {
    /// What the version is of (`Kubernetes`, `cilium`).
    pub what: String,
    pub text: String,
}

/// A `major.minor.patch` version without vendor suffixes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub semver::Version);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Parses `X.Y`, `X.Y.Z` or `vX.Y.Z`. After a full `X.Y.Z`, a vendor suffix as API servers and
/// image tags report it (`v1.33.3-gke.100`, `v1.31.4+k3s1`) is dropped, since it would otherwise
/// defeat semver ranges. `what` names the thing in the error (`Kubernetes`, `cilium`).
pub fn parse(what: &str, text: &str) -> Result<Version, VersionError> {
    let error = || VersionError {
        what: what.to_string(),
        text: text.to_string(),
    };
    let trimmed = text.trim();
    let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
    let (core, suffix) = match body.find(['-', '+']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numbers = parts
        .iter()
        .map(|p| number(p))
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(error)?;
    let suffix_ok = match suffix {
        None => true,
        Some(s) => {
            numbers.len() == 3
                && !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-+._".contains(&b))
        }
    };
    match numbers.as_slice() {
        [major, minor] if suffix_ok => Ok(Version(semver::Version::new(*major, *minor, 0))),
        [major, minor, patch] if suffix_ok => {
            Ok(Version(semver::Version::new(*major, *minor, *patch)))
        }
        _ => Err(error()),
    }
}

/// Parses a Kubernetes version (`--k8s-version`, `serverversion.json`, the API server).
pub fn kubernetes(text: &str) -> Result<Version, VersionError> {
    parse("Kubernetes", text)
}

/// `v1.33.3` / `1.33` → `v1.33`: the minor, as built-in inventories are keyed; a text that is
/// no version is returned as is (and matches no inventory).
pub fn minor_of(text: &str) -> String {
    match K8sVersion::from_git_version(text) {
        Some(v) => format!("v{}.{}", v.major, v.minor),
        None => text.to_string(),
    }
}

/// A branch (a minor alone): `1.35` or `v1.35` → `(1, 35)`; anything else (`1.35.0`) is `None`.
pub fn branch(text: &str) -> Option<(u64, u64)> {
    let t = text.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    let (major, minor) = t.split_once('.')?;
    Some((number(major)?, number(minor)?))
}

/// A version component: ASCII digits only (`u64::from_str` would also take `+1`).
fn number(text: &str) -> Option<u64> {
    if !text.is_empty() && text.len() <= 9 && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// A `gitVersion` as an API server or a release tag reports it, read leniently: `vX.Y[.Z]`
/// followed by anything. Only what follows a `-` and begins with `rc`, `alpha` or `beta` is kept,
/// as a pre-release; vendor and build suffixes (`-gke.100`, `+k3s1`) are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitVersion {
    pub version: K8sVersion,
    /// Whether the text had a patch (`1.35` has none and reads as `1.35.0`).
    pub has_patch: bool,
    /// `rc.1` of `v1.36.0-rc.1`.
    pub pre_release: Option<String>,
}

impl GitVersion {
    /// Parses `v1.35.4`, `1.35.4`, `1.35`, `v1.35.4-gke.1200`, `v1.35.4+k3s1`, `v1.36.0-rc.1`.
    pub fn parse_lenient(text: &str) -> Option<GitVersion> {
        let t = text.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let end = t.find(['-', '+', ' ']).unwrap_or(t.len());
        let (core, rest) = t.split_at(end);
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().map(|p| p.parse().ok());
        if parts.next().is_some() {
            return None;
        }
        let pre_release = rest
            .strip_prefix('-')
            .map(|p| p.split('+').next().unwrap_or_default())
            .filter(|p| ["rc", "alpha", "beta"].iter().any(|k| p.starts_with(k)))
            .map(str::to_string);
        Some(GitVersion {
            version: K8sVersion {
                major,
                minor,
                patch: patch.unwrap_or(Some(0))?,
            },
            has_patch: patch.is_some(),
            pre_release,
        })
    }

    /// A Kubernetes version a user gives, as strict as [`kubernetes`] (which drops a
    /// pre-release), with its pre-release and whether it had a patch.
    pub fn parse_strict(text: &str) -> Result<GitVersion, VersionError> {
        kubernetes(text)?;
        GitVersion::parse_lenient(text).ok_or_else(|| VersionError {
            what: "Kubernetes".into(),
            text: text.to_string(),
        })
    }

    /// The tag of the conformance image for this version, as Sonobuoy's
    /// `--kubernetes-version auto` picks it: `v1.31.4` for `v1.31.4-gke.1256000`, `v1.35.0-rc.1`
    /// for `v1.35.0-rc.1`.
    pub fn conformance_tag(&self) -> String {
        match &self.pre_release {
            Some(pre) => format!("v{}-{pre}", self.version),
            None => format!("v{}", self.version),
        }
    }
}

/// The conformance image tag for a server's `gitVersion` ([`GitVersion::conformance_tag`]); a
/// text that is no version is used as it is (without a leading `v`, prefixed with one).
pub fn conformance_tag(git_version: &str) -> String {
    match GitVersion::parse_lenient(git_version) {
        Some(v) => v.conformance_tag(),
        None => format!("v{}", git_version.trim().trim_start_matches('v')),
    }
}

/// A Kubernetes version `major.minor.patch` as release feeds and API servers report it, read
/// leniently ([`K8sVersion::from_git_version`]): everything after the patch is a build or vendor
/// suffix (`v0.0.0-master+$Format:%H$` of a development build is `0.0.0`). For the versions a
/// user passes, use the strict [`parse`]/[`kubernetes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct K8sVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl K8sVersion {
    /// Reads a `gitVersion` or release tag leniently ([`GitVersion::parse_lenient`]):
    /// `v1.35.4`, `1.35.4`, `v1.35.4-gke.1200`, `v1.35.4+k3s1` (suffixes ignored); `1.35` is
    /// `1.35.0`.
    pub fn from_git_version(text: &str) -> Option<K8sVersion> {
        GitVersion::parse_lenient(text).map(|g| g.version)
    }

    /// As a semver version, which waiver ranges match.
    pub fn to_semver(self) -> semver::Version {
        semver::Version::new(self.major, self.minor, self.patch)
    }

    /// `(major, minor)`.
    pub fn branch(self) -> (u64, u64) {
        (self.major, self.minor)
    }
}

impl fmt::Display for K8sVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u64, minor: u64, patch: u64) -> Version {
        Version(semver::Version::new(major, minor, patch))
    }

    #[test]
    fn accepts_the_documented_forms_and_vendor_suffixes() {
        assert_eq!(kubernetes("1.33"), Ok(v(1, 33, 0)));
        assert_eq!(kubernetes("1.33.3"), Ok(v(1, 33, 3)));
        assert_eq!(kubernetes("v1.33.3"), Ok(v(1, 33, 3)));
        assert_eq!(kubernetes(" v1.33.3 "), Ok(v(1, 33, 3)));
        assert_eq!(kubernetes("v1.31.4-gke.1256000"), Ok(v(1, 31, 4)));
        assert_eq!(kubernetes("v1.31.4+k3s1"), Ok(v(1, 31, 4)));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "garbage",
            "1",
            "v",
            "1.",
            "1.33.",
            ".33",
            "1.33.3.4",
            "1.x",
            "1.33-rc.1",
            "+1.33",
            "1.+33",
            "1.33.3-",
            "1.33.3-a b",
            "latest",
            "v1.33.3 extra",
            "1 .33",
            "99999999999.1",
        ] {
            let e = kubernetes(bad).unwrap_err();
            assert_eq!(e.text, bad);
            assert!(e.to_string().contains("expected X.Y"), "{e}");
        }
    }

    #[test]
    fn git_versions_are_read_leniently() {
        let k = |major, minor, patch| K8sVersion {
            major,
            minor,
            patch,
        };
        for (text, version) in [
            ("v1.35.4", k(1, 35, 4)),
            ("1.35.4", k(1, 35, 4)),
            ("v1.35.4+k3s1", k(1, 35, 4)),
            ("v1.33.3-eks-abc", k(1, 33, 3)),
            ("v1.31.4-gke.1256000", k(1, 31, 4)),
            ("v0.0.0-master+$Format:%H$", k(0, 0, 0)),
            ("1.35", k(1, 35, 0)),
        ] {
            assert_eq!(K8sVersion::from_git_version(text), Some(version), "{text}");
        }
        for bad in ["", "garbage", "1", "1.x", "1.2.3.4", "v"] {
            assert_eq!(K8sVersion::from_git_version(bad), None, "{bad}");
        }
        let g = GitVersion::parse_lenient("1.35").unwrap();
        assert!(!g.has_patch);
        assert!(GitVersion::parse_lenient("v1.35.0").unwrap().has_patch);
    }

    #[test]
    fn conformance_tags_follow_sonobuoy_auto() {
        assert_eq!(conformance_tag("v1.31.4-gke.1256000"), "v1.31.4");
        assert_eq!(conformance_tag("v1.35.0-rc.1"), "v1.35.0-rc.1");
        assert_eq!(conformance_tag("v1.36.0-beta.0+abc"), "v1.36.0-beta.0");
        assert_eq!(conformance_tag("v1.33.3+k3s1"), "v1.33.3");
    }

    #[test]
    fn branches_are_a_minor_alone() {
        assert_eq!(branch("1.35"), Some((1, 35)));
        assert_eq!(branch(" v1.35 "), Some((1, 35)));
        for bad in ["1.35.0", "1", "1.+35", "x.35", ""] {
            assert_eq!(branch(bad), None, "{bad}");
        }
    }
}
