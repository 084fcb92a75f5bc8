//! Starting a run: permission checks, refusing to start over an existing run, creating objects.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::cluster_role_name;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("missing permissions (the aggregator needs cluster-admin rights, as with `sonobuoy run`): {}", missing.join("; "))]
    Forbidden { missing: Vec<String> },
    #[error(
        "a Sonobuoy run already exists ({what}); wait for it, remove it with `scs-conformance cleanup --namespace {namespace}`, or pass --force"
    )]
    AlreadyRunning { namespace: String, what: String },
    #[error("cannot {what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
}

/// The access a run needs. The aggregator's cluster role grants `*` on `*`, which only a user
/// who holds those rights may bind (RBAC escalation check), hence the first entry.
const NEEDED: &[(&str, &str, &str, bool)] = &[
    // (verb, group, resource, namespaced)
    ("*", "*", "*", false),
    ("create", "", "namespaces", false),
    ("delete", "", "namespaces", false),
    ("create", "rbac.authorization.k8s.io", "clusterroles", false),
    (
        "create",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        false,
    ),
    ("create", "", "pods", true),
    ("watch", "", "pods", true),
    ("create", "", "pods/exec", true),
    ("list", "", "nodes", false),
];

/// Checks up front (SelfSubjectAccessReview) that the current user may run, so a run never fails
/// half-way for lack of rights.
pub async fn check_permissions(client: &Client, namespace: &str) -> Result<(), LaunchError> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut missing = Vec::new();
    for (verb, group, resource, namespaced) in NEEDED {
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s.to_string())),
            None => (*resource, None),
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_string()),
                    group: Some(group.to_string()),
                    resource: Some(resource.to_string()),
                    subresource: subresource.clone(),
                    namespace: namespaced.then(|| namespace.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|source| LaunchError::Api {
                what: "check permissions (SelfSubjectAccessReview)".into(),
                source,
            })?;
        if !answer.status.is_some_and(|s| s.allowed) {
            let what = match subresource {
                Some(s) => format!("{resource}/{s}"),
                None => resource.to_string(),
            };
            let group = if group.is_empty() { "core" } else { group };
            let scope = if *namespaced {
                format!(" in namespace {namespace}")
            } else {
                String::new()
            };
            missing.push(format!("{verb} {what} ({group}){scope}"));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(LaunchError::Forbidden { missing })
    }
}

/// Describes an existing run in `namespace`, if there is one.
pub async fn existing_run(client: &Client, namespace: &str) -> Result<Option<String>, LaunchError> {
    let api_err = |what: &str| {
        let what = what.to_string();
        move |source| LaunchError::Api { what, source }
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if let Some(ns) = namespaces
        .get_opt(namespace)
        .await
        .map_err(api_err("read namespaces"))?
    {
        let terminating = ns.metadata.deletion_timestamp.is_some();
        return Ok(Some(format!(
            "namespace {namespace}{}",
            if terminating {
                " is still terminating"
            } else {
                " exists"
            }
        )));
    }
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    let name = cluster_role_name(namespace);
    if crbs
        .get_opt(&name)
        .await
        .map_err(api_err("read cluster role bindings"))?
        .is_some()
    {
        return Ok(Some(format!("cluster role binding {name} exists")));
    }
    Ok(None)
}

/// Creates the objects in order. `AlreadyExists` is tolerated only for cluster-scoped objects
/// (as `sonobuoy run` does), anything else stops the launch.
pub async fn create(client: &Client, objects: &[Value]) -> Result<(), LaunchError> {
    for value in objects {
        let obj: DynamicObject =
            serde_json::from_value(value.clone()).map_err(|e| LaunchError::Api {
                what: "build the run's objects".into(),
                source: kube::Error::SerdeError(e),
            })?;
        let types = obj.types.clone().unwrap_or_default();
        let (group, version) = match types.api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), types.api_version.clone()),
        };
        let gvk = GroupVersionKind::gvk(&group, &version, &types.kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, &plural(&types.kind));
        let name = obj.metadata.name.clone().unwrap_or_default();
        let api: Api<DynamicObject> = match &obj.metadata.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(s))
                if (s.is_already_exists() || s.is_conflict())
                    && obj.metadata.namespace.is_none()
                    && types.kind != "Namespace" => {}
            Err(source) => {
                return Err(LaunchError::Api {
                    what: format!("create {} {name}", types.kind),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// The secret `name` of namespace `from`, as an object to create in `to` (type and data only).
pub async fn secret_copy(
    client: &Client,
    from: &str,
    name: &str,
    to: &str,
) -> Result<Value, LaunchError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), from);
    let secret = secrets.get(name).await.map_err(|source| LaunchError::Api {
        what: format!("read the image pull secret {from}/{name}"),
        source,
    })?;
    Ok(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": to, "labels": {"component": "sonobuoy"}},
        "type": secret.type_,
        "data": secret.data,
    }))
}

fn plural(kind: &str) -> String {
    match kind {
        "ClusterRoleBinding" => "clusterrolebindings".into(),
        "ClusterRole" => "clusterroles".into(),
        "ServiceAccount" => "serviceaccounts".into(),
        "ConfigMap" => "configmaps".into(),
        other => format!("{}s", other.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{self, Reply};

    #[tokio::test]
    async fn an_existing_or_terminating_namespace_or_binding_is_a_run_in_the_way() {
        let (client, _) = testing::client(vec![Reply::new(
            "GET",
            "/api/v1/namespaces/sonobuoy",
            200,
            json!({"metadata": {"name": "sonobuoy", "deletionTimestamp": "2026-08-01T00:00:00Z"}}),
        )]);
        assert_eq!(
            existing_run(&client, "sonobuoy").await.unwrap().as_deref(),
            Some("namespace sonobuoy is still terminating")
        );
        let (client, _) = testing::client(vec![
            Reply::failure("GET", "/api/v1/namespaces/sonobuoy", 404, "NotFound"),
            Reply::new(
                "GET",
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sonobuoy-serviceaccount-sonobuoy",
                200,
                json!({"metadata": {"name": "sonobuoy-serviceaccount-sonobuoy"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"}}),
            ),
        ]);
        assert_eq!(
            existing_run(&client, "sonobuoy").await.unwrap().as_deref(),
            Some("cluster role binding sonobuoy-serviceaccount-sonobuoy exists")
        );
    }

    #[tokio::test]
    async fn a_free_namespace_is_no_run_and_a_refusal_names_the_step() {
        let (client, _) = testing::client(vec![
            Reply::failure("GET", "/api/v1/namespaces/sonobuoy", 404, "NotFound"),
            Reply::failure(
                "GET",
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sonobuoy-serviceaccount-sonobuoy",
                404,
                "NotFound",
            ),
        ]);
        assert_eq!(existing_run(&client, "sonobuoy").await.unwrap(), None);
        let (client, _) = testing::client(vec![Reply::failure(
            "GET",
            "/api/v1/namespaces/sonobuoy",
            403,
            "Forbidden",
        )]);
        let e = existing_run(&client, "sonobuoy").await.unwrap_err();
        assert!(e.to_string().starts_with("cannot read namespaces: "), "{e}");
    }
}
