//! Container Network Interface plugins: names, versions, and detection from workloads.

use std::fmt;

/// The CNIs we know by name. Waiver files must name one of these (or `any`).
pub const KNOWN: &[&str] = &[
    "cilium",
    "calico",
    "canal",
    "flannel",
    "antrea",
    "kube-ovn",
    "ovn-kubernetes",
    "weave",
    "kube-router",
    "kindnet",
];

/// A CNI's name: one of [`KNOWN`], or unknown. Written as the name, or `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CniName {
    Known(&'static str),
    Unknown,
}

impl CniName {
    /// The name as written in every output (`unknown` for an unknown CNI).
    pub fn as_str(self) -> &'static str {
        match self {
            CniName::Known(name) => name,
            CniName::Unknown => "unknown",
        }
    }

    /// The known CNI of this name (exactly as in [`KNOWN`]).
    pub fn known(name: &str) -> Option<Self> {
        KNOWN
            .iter()
            .find(|k| **k == name)
            .map(|k| CniName::Known(k))
    }
}

impl fmt::Display for CniName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for CniName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for CniName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Why a `--cni NAME[@VERSION]` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CniFlagError {
    #[error("an unknown CNI has no version")]
    VersionOfUnknown,
    #[error("unknown CNI {name:?} (known: {}, unknown)", KNOWN.join(", "))]
    UnknownName { name: String },
    #[error(transparent)]
    Version(#[from] crate::version::VersionError),
}

/// The cluster's CNI as far as we know it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cni {
    /// One of [`KNOWN`], or unknown.
    pub name: CniName,
    /// Version from the image tag, e.g. `1.16.3`.
    pub version: Option<String>,
    /// How we know: `flag` (`--cni`), `detected` (workloads), or `unknown`.
    pub source: CniSource,
    /// Why the facts are incomplete, e.g. two CNIs found: shown in every output, because it
    /// means no CNI-specific waiver was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Where the CNI facts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CniSource {
    Flag,
    Detected,
    Unknown,
}

impl Cni {
    /// The CNI is not known: only CNI-independent waivers apply.
    pub fn unknown() -> Self {
        Cni {
            name: CniName::Unknown,
            version: None,
            source: CniSource::Unknown,
            warning: None,
        }
    }

    /// Parses `--cni NAME[@VERSION]`, e.g. `cilium` or `cilium@1.16.3`. A version that does not
    /// parse is refused: it would silently turn off waivers with a `cni-version` range.
    pub fn from_flag(value: &str) -> Result<Self, CniFlagError> {
        let (name, version) = match value.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (value, None),
        };
        let name = name.trim().to_ascii_lowercase();
        if name == CniName::Unknown.as_str() {
            if version.is_some() {
                return Err(CniFlagError::VersionOfUnknown);
            }
            return Ok(Cni::unknown());
        }
        let Some(known) = CniName::known(&name) else {
            return Err(CniFlagError::UnknownName { name });
        };
        let version = version
            .map(|v| {
                crate::version::parse(&name, v)
                    .map(|_| v.trim().trim_start_matches('v').to_string())
            })
            .transpose()?;
        Ok(Cni {
            name: known,
            version,
            source: CniSource::Flag,
            warning: None,
        })
    }

    /// Whether the CNI is known (then CNI-specific waivers can apply).
    pub fn is_known(&self) -> bool {
        matches!(self.name, CniName::Known(_))
    }
}

impl fmt::Display for Cni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{} {v}", self.name),
            None => f.write_str(self.name.as_str()),
        }
    }
}

/// A workload seen in the cluster (DaemonSet or Deployment), reduced to what detection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    pub images: Vec<String>,
}

/// Signatures of CNIs, checked in order: more specific ones first (Canal runs Calico and Flannel
/// images, so it must be recognised before either).
const SIGNATURES: &[(&str, &[&str], &[&str])] = &[
    // (cni, workload names, image repository name endings)
    ("canal", &["canal"], &[]),
    (
        "cilium",
        &["cilium", "cilium-agent"],
        &["cilium/cilium", "/cilium"],
    ),
    (
        "calico",
        &["calico-node"],
        &["calico/node", "/calico-node", "calico/cni"],
    ),
    (
        "antrea",
        &["antrea-agent"],
        &[
            "antrea/antrea-agent-ubuntu",
            "/antrea-agent",
            "antrea/antrea-ubuntu",
        ],
    ),
    (
        "kube-ovn",
        &["kube-ovn-cni", "ovs-ovn"],
        &["kubeovn/kube-ovn"],
    ),
    (
        "ovn-kubernetes",
        &["ovnkube-node"],
        &[
            "ovn-kubernetes/ovn-kube-ubuntu",
            "/ovn-kubernetes",
            "ovn-daemonset",
        ],
    ),
    (
        "weave",
        &["weave-net"],
        &["weaveworks/weave-kube", "/weave-kube", "weave-kube"],
    ),
    (
        "kube-router",
        &["kube-router"],
        &["cloudnativelabs/kube-router", "/kube-router"],
    ),
    ("kindnet", &["kindnet"], &["kindest/kindnetd"]),
    (
        "flannel",
        &["kube-flannel-ds", "kube-flannel", "flannel"],
        &["flannel/flannel", "/flannel", "coreos/flannel"],
    ),
];

/// Detects the CNI from the cluster's workloads; `None` when nothing matches.
///
/// Facts that do not single out one CNI are never resolved by guessing, because the CNI selects
/// waivers: when workloads of two CNIs are found (e.g. `calico-node` and `cilium` during a
/// migration), the result is an unknown CNI with a warning, so only CNI-independent waivers
/// apply. Likewise, a version is kept only when every workload of the CNI reports the same one
/// and it parses; otherwise it is unknown (with a warning) and `cni-version` ranges do not match.
pub fn detect(workloads: &[Workload]) -> Option<Cni> {
    // (cni, workload, version tag) for every workload that looks like a CNI.
    let mut found: Vec<(&str, &Workload, Option<&str>)> = Vec::new();
    for w in workloads {
        let hit = SIGNATURES.iter().find_map(|(cni, names, image_endings)| {
            let by_name = names.contains(&w.name.as_str());
            let image = w.images.iter().find(|img| {
                let repo = image_repository(img);
                image_endings.iter().any(|end| repo.ends_with(end))
            });
            (by_name || image.is_some()).then(|| {
                let tag = image
                    .or_else(|| w.images.first())
                    .and_then(|i| image_tag(i));
                (*cni, tag)
            })
        });
        if let Some((cni, tag)) = hit {
            found.push((cni, w, tag));
        }
    }
    // Canal is Calico and Flannel: their own workloads next to a canal DaemonSet are one CNI.
    if found.iter().any(|(c, ..)| *c == "canal") {
        found.retain(|(c, ..)| !matches!(*c, "calico" | "flannel"));
    }
    let mut names: Vec<&str> = found.iter().map(|(c, ..)| *c).collect();
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [] => None,
        [name] => {
            let mut tags: Vec<&str> = found.iter().filter_map(|(_, _, t)| *t).collect();
            tags.sort_unstable();
            tags.dedup();
            let (version, warning) = match tags.as_slice() {
                [tag] if crate::version::parse(name, tag).is_ok() => {
                    (Some(tag.trim_start_matches('v').to_string()), None)
                }
                [] => (None, Some(format!("{name} version unknown: no image tag"))),
                [tag] => (
                    None,
                    Some(format!(
                        "{name} version unknown: image tag {tag:?} is not a version"
                    )),
                ),
                several => (
                    None,
                    Some(format!(
                        "{name} version unknown: its workloads run different versions ({})",
                        several.join(", ")
                    )),
                ),
            };
            Some(Cni {
                name: CniName::Known(name),
                version,
                source: CniSource::Detected,
                warning,
            })
        }
        several => {
            let seen: Vec<String> = found
                .iter()
                .map(|(c, w, _)| format!("{c} ({}/{})", w.namespace, w.name))
                .collect();
            Some(Cni {
                warning: Some(format!(
                    "workloads of {} CNIs found: {}; no CNI-specific waiver applies (pass --cni \
                     NAME to say which one carries the pod network)",
                    several.len(),
                    seen.join(", ")
                )),
                ..Cni::unknown()
            })
        }
    }
}

/// `quay.io/cilium/cilium:v1.16.3@sha256:…` → `quay.io/cilium/cilium`.
fn image_repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind(':') {
        Some(i) if !without_digest[i..].contains('/') => &without_digest[..i],
        _ => without_digest,
    }
}

/// `quay.io/cilium/cilium:v1.16.3@sha256:…` → `v1.16.3`.
fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let i = without_digest.rfind(':')?;
    let tag = &without_digest[i + 1..];
    (!tag.contains('/') && !tag.is_empty()).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(ns: &str, name: &str, image: &str) -> Workload {
        Workload {
            namespace: ns.into(),
            name: name.into(),
            images: vec![image.into()],
        }
    }

    #[test]
    fn cilium_is_detected_with_its_version() {
        let w = [
            ds(
                "kube-system",
                "kube-proxy",
                "registry.k8s.io/kube-proxy:v1.33.3",
            ),
            ds(
                "kube-system",
                "cilium",
                "quay.io/cilium/cilium:v1.16.3@sha256:abc",
            ),
        ];
        let cni = detect(&w).unwrap();
        assert_eq!(
            (cni.name.as_str(), cni.version.as_deref()),
            ("cilium", Some("1.16.3"))
        );
    }

    #[test]
    fn canal_is_not_mistaken_for_calico_or_flannel() {
        let w = [ds("kube-system", "canal", "docker.io/calico/node:v3.28.0")];
        assert_eq!(detect(&w).unwrap().name, "canal");
    }

    #[test]
    fn calico_from_image_in_a_renamed_daemonset() {
        let w = [ds("calico-system", "node", "docker.io/calico/node:v3.29.1")];
        let cni = detect(&w).unwrap();
        assert_eq!(
            (cni.name.as_str(), cni.version.as_deref()),
            ("calico", Some("3.29.1"))
        );
    }

    #[test]
    fn nothing_known_is_none() {
        assert_eq!(
            detect(&[ds(
                "kube-system",
                "kube-proxy",
                "registry.k8s.io/kube-proxy:v1.33.3"
            )]),
            None
        );
        assert!(detect(&[]).is_none());
    }

    #[test]
    fn flag_accepts_a_version_and_rejects_typos() {
        assert_eq!(
            Cni::from_flag("Cilium@v1.17.0").unwrap().version.as_deref(),
            Some("1.17.0")
        );
        assert!(
            Cni::from_flag("cillium")
                .unwrap_err()
                .to_string()
                .contains("unknown CNI")
        );
        assert!(!Cni::from_flag("unknown").unwrap().is_known());
    }

    #[test]
    fn flag_versions_must_parse() {
        for bad in ["cilium@notaversion", "cilium@", "cilium@1", "calico@latest"] {
            let e = Cni::from_flag(bad).unwrap_err().to_string();
            assert!(e.contains("invalid") && e.contains("version"), "{bad}: {e}");
        }
        assert!(Cni::from_flag("unknown@1.2").is_err());
        assert_eq!(
            Cni::from_flag("cilium@1.16").unwrap().version.as_deref(),
            Some("1.16")
        );
    }

    #[test]
    fn two_cnis_are_not_resolved_by_guessing() {
        let w = [
            ds(
                "kube-system",
                "calico-node",
                "docker.io/calico/node:v3.29.1",
            ),
            ds("kube-system", "cilium", "quay.io/cilium/cilium:v1.17.6"),
        ];
        let cni = detect(&w).unwrap();
        assert!(!cni.is_known(), "{cni:?}");
        assert_eq!(cni.name, "unknown");
        let warning = cni.warning.unwrap();
        assert!(
            warning.contains("calico (kube-system/calico-node)")
                && warning.contains("cilium (kube-system/cilium)")
                && warning.contains("no CNI-specific waiver"),
            "{warning}"
        );
    }

    #[test]
    fn canal_with_its_calico_and_flannel_parts_is_one_cni() {
        let w = [
            ds("kube-system", "canal", "docker.io/calico/node:v3.28.0"),
            ds(
                "kube-system",
                "kube-flannel-ds",
                "docker.io/flannel/flannel:v0.25.1",
            ),
        ];
        let cni = detect(&w).unwrap();
        assert_eq!(cni.name, "canal");
    }

    #[test]
    fn unreadable_or_conflicting_versions_are_unknown_with_a_warning() {
        let latest =
            detect(&[ds("kube-system", "cilium", "quay.io/cilium/cilium:latest")]).unwrap();
        assert_eq!((latest.name.as_str(), latest.version), ("cilium", None));
        assert!(
            latest
                .warning
                .unwrap()
                .contains("\"latest\" is not a version")
        );
        let mixed = detect(&[
            ds("kube-system", "cilium", "quay.io/cilium/cilium:v1.16.3"),
            ds("other", "cilium-agent", "quay.io/cilium/cilium:v1.17.6"),
        ])
        .unwrap();
        assert_eq!((mixed.name.as_str(), mixed.version), ("cilium", None));
        assert!(mixed.warning.unwrap().contains("different versions"));
    }
}
