//! SCS-0214-v2, Kubernetes node distribution and availability, judged from node labels.
//!
//! Rules (Standards/scs-0214-v2-k8s-node-distribution.md, "Decision"):
//!
//! * MUST: every node carries `topology.kubernetes.io/zone`, `topology.kubernetes.io/region` and
//!   `topology.scs.community/host-id` (the id of the *physical* machine running the hypervisor,
//!   not of the VM).
//! * MUST: the control-plane nodes are distributed over multiple physical machines: at least two
//!   distinct `topology.scs.community/host-id` values among them.
//! * MUST: at least one control-plane node runs in each failure zone (every zone that has a
//!   node has a control-plane node).
//! * RECOMMENDED (findings and warnings, never a FAIL): more than one control-plane node per
//!   zone; worker nodes spread over more than one zone.
//!
//! Control-plane nodes are those labelled `node-role.kubernetes.io/control-plane` (or the legacy
//! `node-role.kubernetes.io/master`). When no node is, the control plane is not visible (hosted
//! control planes) and its distribution cannot be judged from node labels: ABORT, unless a
//! labelling MUST already fails.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use super::NativeError;
use crate::verdict::{NativeOutcome, Verdict};

pub const ZONE: &str = "topology.kubernetes.io/zone";
pub const REGION: &str = "topology.kubernetes.io/region";
/// SCS's host-identity label: the physical machine running the hypervisor.
pub const HOST_ID: &str = "topology.scs.community/host-id";
pub const CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
pub const LEGACY_MASTER: &str = "node-role.kubernetes.io/master";
/// The labels every node MUST carry.
pub const REQUIRED_LABELS: [&str; 3] = [ZONE, REGION, HOST_ID];

/// What the check needs to know about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl NodeFacts {
    pub fn new<K: Into<String>, V: Into<String>>(
        name: impl Into<String>,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        NodeFacts {
            name: name.into(),
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn from_node(node: &Node) -> Self {
        NodeFacts {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
        }
    }

    pub fn is_control_plane(&self) -> bool {
        self.labels.contains_key(CONTROL_PLANE) || self.labels.contains_key(LEGACY_MASTER)
    }

    /// A label's value; an empty value counts as missing.
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Judges the node distribution from the nodes' labels.
pub fn evaluate(nodes: &[NodeFacts]) -> NativeOutcome {
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut violations = Vec::new();

    if nodes.is_empty() {
        return NativeOutcome {
            verdict: Verdict::Abort,
            reason: "the cluster lists no nodes".into(),
            findings,
            warnings,
        };
    }

    for n in nodes {
        let show = |k: &str| n.label(k).unwrap_or("-").to_string();
        findings.push(format!(
            "node {}: {}, zone {}, region {}, host-id {}",
            n.name,
            if n.is_control_plane() {
                "control-plane"
            } else {
                "worker"
            },
            show(ZONE),
            show(REGION),
            show(HOST_ID)
        ));
    }

    // MUST: the labels.
    let mut unlabelled = Vec::new();
    for n in nodes {
        let missing: Vec<&str> = REQUIRED_LABELS
            .iter()
            .copied()
            .filter(|k| n.label(k).is_none())
            .collect();
        if !missing.is_empty() {
            unlabelled.push(format!("{} lacks {}", n.name, missing.join(", ")));
        }
    }
    if !unlabelled.is_empty() {
        violations.push(format!(
            "{} of {} nodes lack required labels: {}",
            unlabelled.len(),
            nodes.len(),
            unlabelled.join("; ")
        ));
    }

    let cps: Vec<&NodeFacts> = nodes.iter().filter(|n| n.is_control_plane()).collect();
    let workers: Vec<&NodeFacts> = nodes.iter().filter(|n| !n.is_control_plane()).collect();
    let names = |ns: &[&NodeFacts]| {
        ns.iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    if cps.is_empty() {
        let reason = format!(
            "no node is labelled {CONTROL_PLANE}: the control plane is not visible (hosted \
             control plane?), so its distribution over physical machines cannot be judged from \
             node labels"
        );
        if violations.is_empty() {
            return NativeOutcome {
                verdict: Verdict::Abort,
                reason,
                findings,
                warnings,
            };
        }
        warnings.push(reason);
    } else {
        // MUST: more than one physical machine.
        let hosts: BTreeSet<&str> = cps.iter().filter_map(|n| n.label(HOST_ID)).collect();
        let without_host: Vec<&NodeFacts> = cps
            .iter()
            .copied()
            .filter(|n| n.label(HOST_ID).is_none())
            .collect();
        findings.push(format!(
            "control plane: {} node(s) ({}) on {} physical host(s) ({})",
            cps.len(),
            names(&cps),
            hosts.len(),
            hosts.iter().copied().collect::<Vec<_>>().join(", ")
        ));
        if cps.len() == 1 {
            violations.push(format!(
                "the control plane runs on a single node ({}), so not on multiple physical machines",
                cps[0].name
            ));
        } else if hosts.len() == 1 && without_host.is_empty() {
            violations.push(format!(
                "all {} control-plane nodes ({}) run on the same physical machine ({HOST_ID}={})",
                cps.len(),
                names(&cps),
                hosts.iter().next().copied().unwrap_or_default()
            ));
        } else if hosts.len() < 2 {
            violations.push(format!(
                "the control plane's distribution over physical machines is not shown: {} of {} \
                 control-plane nodes have no {HOST_ID} ({})",
                without_host.len(),
                cps.len(),
                names(&without_host)
            ));
        }

        // MUST: a control-plane node in every failure zone.
        let cp_zones: BTreeSet<&str> = cps.iter().filter_map(|n| n.label(ZONE)).collect();
        let mut by_zone: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for n in nodes {
            if let Some(z) = n.label(ZONE) {
                by_zone.entry(z).or_default().push(&n.name);
            }
        }
        let uncovered: Vec<String> = by_zone
            .iter()
            .filter(|(z, _)| !cp_zones.contains(*z))
            .map(|(z, ns)| format!("{z} ({})", ns.join(", ")))
            .collect();
        if !uncovered.is_empty() {
            violations.push(format!(
                "failure zone(s) without a control-plane node: {}; SCS-0214-v2 requires at least \
                 one control-plane instance in each failure zone",
                uncovered.join("; ")
            ));
        }
        // RECOMMENDED: more than one control-plane node per zone.
        for z in &cp_zones {
            let count = cps.iter().filter(|n| n.label(ZONE) == Some(*z)).count();
            if count == 1 {
                findings.push(format!(
                    "zone {z} has one control-plane node (RECOMMENDED: more than one per zone)"
                ));
            }
        }
    }

    // RECOMMENDED: workers over multiple zones.
    let worker_zones: BTreeSet<&str> = workers.iter().filter_map(|n| n.label(ZONE)).collect();
    if workers.len() > 1 && worker_zones.len() == 1 {
        warnings.push(format!(
            "all {} worker nodes are in zone {} (RECOMMENDED: spread over multiple zones)",
            workers.len(),
            worker_zones.iter().next().copied().unwrap_or_default()
        ));
    }

    let (verdict, reason) = if violations.is_empty() {
        let hosts: BTreeSet<&str> = cps.iter().filter_map(|n| n.label(HOST_ID)).collect();
        let zones: BTreeSet<&str> = cps.iter().filter_map(|n| n.label(ZONE)).collect();
        (
            Verdict::Pass,
            format!(
                "the control plane runs on {} physical machines in {} zone(s), and all {} nodes \
                 carry {ZONE}, {REGION} and {HOST_ID}",
                hosts.len(),
                zones.len(),
                nodes.len()
            ),
        )
    } else {
        (Verdict::Fail, violations.join("; "))
    };
    NativeOutcome {
        verdict,
        reason,
        findings,
        warnings,
    }
}

/// Lists the nodes and evaluates them.
pub async fn check(client: &kube::Client) -> Result<NativeOutcome, NativeError> {
    let api: Api<Node> = Api::all(client.clone());
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .map_err(|e| NativeError::Api {
            what: "list nodes",
            source: Box::new(e),
        })?;
    let nodes: Vec<NodeFacts> = list
        .items
        .iter()
        .map(|m| NodeFacts {
            name: m.metadata.name.clone().unwrap_or_default(),
            labels: m.metadata.labels.clone().unwrap_or_default(),
        })
        .collect();
    Ok(evaluate(&nodes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cp: bool, zone: Option<&str>, host: Option<&str>) -> NodeFacts {
        let mut labels = vec![(REGION.to_string(), "r1".to_string())];
        if cp {
            labels.push((CONTROL_PLANE.into(), String::new()));
        }
        if let Some(z) = zone {
            labels.push((ZONE.into(), z.into()));
        }
        if let Some(h) = host {
            labels.push((HOST_ID.into(), h.into()));
        }
        NodeFacts::new(name, labels)
    }

    fn spread() -> Vec<NodeFacts> {
        vec![
            node("cp-a", true, Some("a"), Some("h1")),
            node("cp-b", true, Some("b"), Some("h2")),
            node("cp-c", true, Some("c"), Some("h3")),
            node("w-a", false, Some("a"), Some("h4")),
            node("w-b", false, Some("b"), Some("h5")),
        ]
    }

    #[test]
    fn spread_over_hosts_and_zones_passes() {
        let o = evaluate(&spread());
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        assert!(
            o.reason.contains("3 physical machines in 3 zone(s)"),
            "{}",
            o.reason
        );
        assert!(
            o.findings
                .iter()
                .any(|f| f == "node cp-a: control-plane, zone a, region r1, host-id h1")
        );
    }

    #[test]
    fn a_shared_host_fails_naming_the_nodes() {
        let mut nodes = spread();
        for n in nodes.iter_mut().filter(|n| n.is_control_plane()) {
            n.labels.insert(HOST_ID.into(), "h1".into());
        }
        let o = evaluate(&nodes);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.reason.contains("all 3 control-plane nodes (cp-a, cp-b, cp-c) run on the same physical machine (topology.scs.community/host-id=h1)"),
            "{}",
            o.reason
        );
    }

    #[test]
    fn missing_labels_fail_naming_node_and_label() {
        let mut nodes = spread();
        nodes[3].labels.remove(ZONE);
        nodes[4].labels.remove(REGION);
        nodes[4].labels.insert(HOST_ID.into(), " ".into());
        let o = evaluate(&nodes);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.reason.contains("2 of 5 nodes lack required labels: w-a lacks topology.kubernetes.io/zone; w-b lacks topology.kubernetes.io/region, topology.scs.community/host-id"), "{}", o.reason);
    }

    #[test]
    fn without_host_ids_the_distribution_is_not_shown() {
        let nodes: Vec<_> = spread()
            .into_iter()
            .map(|mut n| {
                n.labels.remove(HOST_ID);
                n
            })
            .collect();
        let o = evaluate(&nodes);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.reason
                .contains("not shown: 3 of 3 control-plane nodes have no"),
            "{}",
            o.reason
        );
    }

    #[test]
    fn a_single_control_plane_node_fails() {
        let nodes = vec![
            node("cp", true, Some("a"), Some("h1")),
            node("w", false, Some("a"), Some("h2")),
        ];
        let o = evaluate(&nodes);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(o.reason.contains("single node (cp)"));
    }

    #[test]
    fn every_zone_needs_a_control_plane_node() {
        let mut nodes = spread();
        nodes.push(node("w-d", false, Some("d"), Some("h6")));
        let o = evaluate(&nodes);
        assert_eq!(o.verdict, Verdict::Fail);
        assert!(
            o.reason.contains("without a control-plane node: d (w-d)"),
            "{}",
            o.reason
        );
    }

    #[test]
    fn an_invisible_control_plane_aborts() {
        let nodes = vec![
            node("w-a", false, Some("a"), Some("h1")),
            node("w-b", false, Some("b"), Some("h2")),
        ];
        let o = evaluate(&nodes);
        assert_eq!(o.verdict, Verdict::Abort);
        assert!(o.reason.contains("not visible"));
        assert_eq!(evaluate(&[]).verdict, Verdict::Abort);
    }

    #[test]
    fn recommendations_are_warnings_or_findings_only() {
        let nodes = vec![
            node("cp-a", true, Some("a"), Some("h1")),
            node("cp-b", true, Some("b"), Some("h2")),
            node("w-1", false, Some("a"), Some("h3")),
            node("w-2", false, Some("a"), Some("h4")),
        ];
        let o = evaluate(&nodes);
        assert_eq!(o.verdict, Verdict::Pass, "{o:?}");
        assert!(
            o.warnings
                .iter()
                .any(|w| w.contains("all 2 worker nodes are in zone a"))
        );
        assert!(
            o.findings
                .iter()
                .any(|f| f.contains("zone b has one control-plane node"))
        );
    }

    #[test]
    fn the_legacy_master_label_counts_as_control_plane() {
        let n = NodeFacts::new("m", [(LEGACY_MASTER, "")]);
        assert!(n.is_control_plane());
    }
}
