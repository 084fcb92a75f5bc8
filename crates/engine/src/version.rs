//! Versions of Kubernetes and CNIs: the one parser for every version a user passes or evidence
//! reports. A version that does not parse is refused, never read as "unknown": an unknown version
//! changes which waivers apply.

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
        .map(|p| {
            // Digits only: `u64::from_str` would also take `+1`.
            if !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse::<u64>().ok()
            } else {
                None
            }
        })
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
    match K8sVersion::parse(text) {
        Some(v) => format!("v{}.{}", v.major, v.minor),
        None => text.to_string(),
    }
}

/// A Kubernetes version `major.minor.patch` as release feeds and API servers report it, read
/// leniently ([`K8sVersion::parse`]): everything after the patch is a build or vendor suffix
/// (`v0.0.0-master+$Format:%H$` of a development build is `0.0.0`). For the versions that decide
/// which waivers apply, use the strict [`parse`]/[`kubernetes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct K8sVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl K8sVersion {
    /// Parses `v1.35.4`, `1.35.4`, `v1.35.4-gke.1200`, `v1.35.4+k3s1` (vendor suffixes ignored).
    /// `1.35` is `1.35.0`.
    pub fn parse(text: &str) -> Option<K8sVersion> {
        let t = text.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let core = t.split(['-', '+', ' ']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(K8sVersion {
            major,
            minor,
            patch,
        })
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
}
