//! Removing what a run leaves: its namespace, its cluster role and binding, and the e2e test
//! namespaces the e2e suite created. Those all carry the label `e2e-run`; `sonobuoy delete --all`
//! selects `e2e-framework` as well, which the NetworkPolicy specs' namespaces (1.35) lack, so
//! Sonobuoy leaks them (vmware-tanzu/sonobuoy#1593).

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

/// Records `e`; returns the errors so far when the API server did not answer.
macro_rules! give_up_unless_answered {
    ($errors:ident, $e:expr) => {{
        let e = $e;
        let answered = matches!(e, kube::Error::Api(_));
        $errors.push(e);
        if !answered {
            return Err($errors);
        }
    }};
}

/// Deletes the run in `namespace` (or every run, with `all`) and leftover e2e namespaces.
/// Not-found is success; other answers of the API server are collected and returned after trying
/// everything. No answer at all (timeout, refused connection) ends it at once: each further
/// request would wait as long again.
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
                    Err(e) => give_up_unless_answered!(errors, e),
                }
            }
        }
        Err(e) => give_up_unless_answered!(errors, e),
    }
    let crs: Api<ClusterRole> = Api::all(client.clone());
    match crs.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => {
            for o in list {
                run_namespaces.extend(o.labels().get("namespace").cloned());
                match crs.delete(&o.name_any(), &dp).await {
                    Ok(_) => removed.cluster_roles.push(o.name_any()),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => give_up_unless_answered!(errors, e),
                }
            }
        }
        Err(e) => give_up_unless_answered!(errors, e),
    }

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut targets = if all {
        run_namespaces
    } else {
        vec![namespace.to_string()]
    };
    match namespaces
        .list(&ListParams::default().labels("e2e-run"))
        .await
    {
        Ok(list) => targets.extend(list.into_iter().map(|n| n.name_any())),
        Err(e) => give_up_unless_answered!(errors, e),
    }
    targets.sort();
    targets.dedup();
    for name in targets {
        match namespaces.delete(&name, &dp).await {
            Ok(_) => removed.namespaces.push(name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => give_up_unless_answered!(errors, e),
        }
    }
    if errors.is_empty() {
        Ok(removed)
    } else {
        Err(errors)
    }
}

/// Whether an API error says not found (kube's `Status::is_not_found`).
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_not_found())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{self, Reply};

    const CRB: &str = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
    const CR: &str = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
    const NS: &str = "/api/v1/namespaces";

    fn list(kind: &str, items: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": kind, "metadata": {}, "items": items})
    }

    fn role_binding(name: &str, namespace: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "labels": {"component": "sonobuoy", "namespace": namespace}},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}})
    }

    fn role(name: &str, namespace: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "labels": {"component": "sonobuoy", "namespace": namespace}}})
    }

    fn namespace(name: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "labels": {"e2e-run": "x"}}})
    }

    #[tokio::test]
    async fn removes_the_run_and_e2e_namespaces_and_takes_not_found_as_done() {
        let crb = "sonobuoy-serviceaccount-sonobuoy";
        let (client, log) = testing::client(vec![
            Reply::new(
                "GET",
                CRB,
                200,
                list(
                    "ClusterRoleBindingList",
                    json!([role_binding(crb, "sonobuoy")]),
                ),
            ),
            Reply::deleted(format!("{CRB}/{crb}")),
            Reply::new(
                "GET",
                CR,
                200,
                list("ClusterRoleList", json!([role(crb, "sonobuoy")])),
            ),
            // Gone meanwhile: not an error.
            Reply::failure("DELETE", format!("{CR}/{crb}"), 404, "NotFound"),
            Reply::new(
                "GET",
                NS,
                200,
                list("NamespaceList", json!([namespace("e2e-tests-a")])),
            ),
            Reply::deleted(format!("{NS}/e2e-tests-a")),
            Reply::deleted(format!("{NS}/sonobuoy")),
        ]);
        let removed = cleanup(&client, "sonobuoy", false).await.unwrap();
        assert_eq!(
            removed,
            Removed {
                namespaces: vec!["e2e-tests-a".into(), "sonobuoy".into()],
                cluster_roles: vec![],
                cluster_role_bindings: vec![crb.into()],
            }
        );
        let log = log.lock().unwrap();
        assert!(
            log[0].contains("labelSelector=component%3Dsonobuoy%2Cnamespace%3Dsonobuoy"),
            "{log:?}"
        );
        assert!(log[4].contains("labelSelector=e2e-run"), "{log:?}");
        assert_eq!(log.len(), 7, "{log:?}");
    }

    #[tokio::test]
    async fn a_refusal_is_collected_and_the_rest_is_still_removed() {
        let (client, log) = testing::client(vec![
            Reply::failure("GET", CRB, 403, "Forbidden"),
            Reply::new("GET", CR, 200, list("ClusterRoleList", json!([]))),
            Reply::new("GET", NS, 200, list("NamespaceList", json!([]))),
            Reply::deleted(format!("{NS}/sonobuoy")),
        ]);
        let errors = cleanup(&client, "sonobuoy", false).await.unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("Forbidden"), "{}", errors[0]);
        assert_eq!(
            log.lock().unwrap().len(),
            4,
            "the namespace was still deleted"
        );
    }

    #[tokio::test]
    async fn all_runs_are_found_by_their_cluster_roles() {
        let (client, _log) = testing::client(vec![
            Reply::new(
                "GET",
                CRB,
                200,
                list(
                    "ClusterRoleBindingList",
                    json!([role_binding("sonobuoy-serviceaccount-other", "other")]),
                ),
            ),
            Reply::deleted(format!("{CRB}/sonobuoy-serviceaccount-other")),
            Reply::new("GET", CR, 200, list("ClusterRoleList", json!([]))),
            Reply::new("GET", NS, 200, list("NamespaceList", json!([]))),
            Reply::failure("DELETE", format!("{NS}/other"), 404, "NotFound"),
            Reply::deleted(format!("{NS}/sonobuoy")),
        ]);
        let removed = cleanup(&client, "sonobuoy", true).await.unwrap();
        assert_eq!(removed.namespaces, vec!["sonobuoy".to_string()]);
        assert_eq!(
            removed.cluster_role_bindings,
            vec!["sonobuoy-serviceaccount-other".to_string()]
        );
    }
}
