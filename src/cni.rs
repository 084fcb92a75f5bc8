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

/// The cluster's CNI as far as we know it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cni {
    /// One of [`KNOWN`], or `unknown`.
    pub name: String,
    /// Version from the image tag, e.g. `1.16.3`.
    pub version: Option<String>,
    /// How we know: `flag` (`--cni`), `detected` (workloads), or `unknown`.
    pub source: CniSource,
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
            name: "unknown".into(),
            version: None,
            source: CniSource::Unknown,
        }
    }

    /// Parses `--cni NAME[@VERSION]`, e.g. `cilium` or `cilium@1.16.3`.
    pub fn from_flag(value: &str) -> Result<Self, String> {
        let (name, version) = match value.split_once('@') {
            Some((n, v)) => (n, Some(v.trim_start_matches('v').to_string())),
            None => (value, None),
        };
        let name = name.trim().to_ascii_lowercase();
        if name == "unknown" {
            return Ok(Cni::unknown());
        }
        if !KNOWN.contains(&name.as_str()) {
            return Err(format!(
                "unknown CNI {name:?} (known: {}, unknown)",
                KNOWN.join(", ")
            ));
        }
        Ok(Cni {
            name,
            version,
            source: CniSource::Flag,
        })
    }

    pub fn is_known(&self) -> bool {
        self.source != CniSource::Unknown
    }
}

impl fmt::Display for Cni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{} {v}", self.name),
            None => f.write_str(&self.name),
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
pub fn detect(workloads: &[Workload]) -> Option<Cni> {
    for (cni, names, image_endings) in SIGNATURES {
        for w in workloads {
            let by_name = names.contains(&w.name.as_str());
            let image = w.images.iter().find(|img| {
                let repo = image_repository(img);
                image_endings.iter().any(|end| repo.ends_with(end))
            });
            if by_name || image.is_some() {
                let version = image
                    .or_else(|| w.images.first())
                    .and_then(|img| image_tag(img))
                    .map(|t| t.trim_start_matches('v').to_string());
                return Some(Cni {
                    name: (*cni).to_string(),
                    version,
                    source: CniSource::Detected,
                });
            }
        }
    }
    None
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
                .contains("unknown CNI")
        );
        assert!(!Cni::from_flag("unknown").unwrap().is_known());
    }
}
