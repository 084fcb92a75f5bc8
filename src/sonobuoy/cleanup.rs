//! Removing what a run leaves: its namespace, its cluster role and binding, and the e2e test
//! namespaces the e2e suite created (labels `e2e-framework` and `e2e-run`, as `sonobuoy delete --all`).

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams};
use kube::{Client, ResourceExt};

/// What cleanup removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub namespaces: Vec<String>,
    pub cluster_roles: Vec<String>,
    pub cluster_role_bindings: Vec<String>,
}

/// Deletes the run in `namespace` (or every run, with `all`) and leftover e2e namespaces.
/// Not-found is success; other errors are collected and returned after trying everything.
pub async fn cleanup(
    client: &Client,
    namespace: &str,
    all: bool,
) -> Result<Removed, Vec<kube::Error>> {
    let mut removed = Removed::default();
    let mut errors = Vec::new();
    let dp = DeleteParams::background();
    let selector = if all {
        "component=sonobuoy".to_string()
    } else {
        format!("component=sonobuoy,namespace={namespace}")
    };

    // Every run's cluster role and binding carry the run's namespace as label `namespace`.
    let mut run_namespaces = vec![namespace.to_string()];
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    match crbs.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => {
            for o in list {
                run_namespaces.extend(o.labels().get("namespace").cloned());
                match crbs.delete(&o.name_any(), &dp).await {
                    Ok(_) => removed.cluster_role_bindings.push(o.name_any()),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => errors.push(e),
                }
            }
        }
        Err(e) => errors.push(e),
    }
    let crs: Api<ClusterRole> = Api::all(client.clone());
    match crs.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => {
            for o in list {
                run_namespaces.extend(o.labels().get("namespace").cloned());
                match crs.delete(&o.name_any(), &dp).await {
                    Ok(_) => removed.cluster_roles.push(o.name_any()),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => errors.push(e),
                }
            }
        }
        Err(e) => errors.push(e),
    }

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut targets = if all {
        run_namespaces
    } else {
        vec![namespace.to_string()]
    };
    match namespaces
        .list(&ListParams::default().labels("e2e-framework,e2e-run"))
        .await
    {
        Ok(list) => targets.extend(list.into_iter().map(|n| n.name_any())),
        Err(e) => errors.push(e),
    }
    targets.sort();
    targets.dedup();
    for name in targets {
        match namespaces.delete(&name, &dp).await {
            Ok(_) => removed.namespaces.push(name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(removed)
    } else {
        Err(errors)
    }
}

/// Whether an API error is 404.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}
