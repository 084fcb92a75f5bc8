//! The objects of one Sonobuoy run of the e2e plugin, identical to what `sonobuoy gen --plugin e2e`
//! writes for the same options (checked against the real sonobuoy binary in tests/run_parity.rs),
//! except that E2E_FOCUS, E2E_SKIP and E2E_PARALLEL are always set explicitly.

use serde_json::{Value, json};

use super::{
    AGGREGATOR_CONTAINER, AGGREGATOR_POD, SERVICE_ACCOUNT, SONOBUOY_VERSION, cluster_role_name,
};

/// The progress URL the e2e binary reports to; Sonobuoy's worker listens on it.
pub const PROGRESS_ARGS: &str = "--progress-report-url=http://localhost:8099/progress";

/// Everything that varies between runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub namespace: String,
    /// Sonobuoy run UUID (config.json `UUID`).
    pub uuid: String,
    pub focus: String,
    pub skip: String,
    pub parallel: bool,
    /// `E2E_EXTRA_GINKGO_ARGS` (ginkgo flags such as `--flake-attempts=2`); empty = unset.
    pub ginkgo_args: Vec<String>,
    /// Conformance image, e.g. `registry.k8s.io/conformance:v1.33.3`.
    pub conformance_image: String,
    /// Kubernetes version for `SONOBUOY_K8S_VERSION`, e.g. `v1.33.3`.
    pub kubernetes_version: String,
    pub aggregator_image: String,
    /// Where the e2e tests pull their images from (air-gapped clusters).
    pub test_images: TestImages,
    /// A secret in the run's namespace for pulling the aggregator, worker and conformance images.
    pub image_pull_secret: Option<String>,
    /// The Pod Security level enforced on the run's namespace.
    pub pod_security: PodSecurity,
    /// Aggregator timeout in seconds (`Server.timeoutseconds`).
    pub timeout_seconds: u64,
}

/// Registries of the images the e2e tests start. Sonobuoy's two ways exclude each other.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum TestImages {
    /// The registries compiled into the e2e binary.
    #[default]
    Upstream,
    /// `KUBE_TEST_REPO`: one registry for every test image.
    Repo(String),
    /// `KUBE_TEST_REPO_LIST`: a YAML file mapping each upstream registry (`e2eRegistry`,
    /// `promoterE2eRegistry`, ...) to a mirror, mounted from the ConfigMap `plugin-e2e-cm`.
    RepoList { file_name: String, content: String },
}

/// Pod Security Admission level of the run's namespace (the e2e framework labels its own test
/// namespaces as each test needs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PodSecurity {
    #[default]
    Privileged,
    /// Enough for the aggregator, the worker and the e2e container: none of them uses host
    /// namespaces, host paths or privileges.
    Baseline,
}

impl PodSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurity::Privileged => "privileged",
            PodSecurity::Baseline => "baseline",
        }
    }
}

/// Where the repo list is mounted in the e2e container, as Sonobuoy mounts it.
const PLUGIN_CONFIG_DIR: &str = "/tmp/sonobuoy/config";

impl RunSpec {
    /// The default aggregator image, optionally from a mirror registry.
    pub fn default_aggregator_image(registry: Option<&str>) -> String {
        match registry {
            Some(r) => format!(
                "{}/sonobuoy/sonobuoy:{SONOBUOY_VERSION}",
                r.trim_end_matches('/')
            ),
            None => format!("sonobuoy/sonobuoy:{SONOBUOY_VERSION}"),
        }
    }

    /// The conformance image for a server version: `vMAJ.MIN.PATCH` without vendor suffixes,
    /// keeping only rc/alpha/beta pre-releases (as Sonobuoy's `--kubernetes-version auto`).
    pub fn default_conformance_image(server_version: &str, registry: Option<&str>) -> String {
        let registry = registry.map_or("registry.k8s.io", |r| r.trim_end_matches('/'));
        format!(
            "{registry}/conformance:{}",
            crate::version::conformance_tag(server_version)
        )
    }
}

/// The e2e plugin definition (`plugin-0.yaml`).
pub fn e2e_plugin(spec: &RunSpec) -> Value {
    let mut env = vec![
        ("E2E_EXTRA_ARGS".to_string(), PROGRESS_ARGS.to_string()),
        ("E2E_FOCUS".into(), spec.focus.clone()),
        ("E2E_PARALLEL".into(), spec.parallel.to_string()),
        ("E2E_SKIP".into(), spec.skip.clone()),
        ("E2E_USE_GO_RUNNER".into(), "true".into()),
        ("RESULTS_DIR".into(), "/tmp/sonobuoy/results".into()),
        ("SONOBUOY".into(), "true".into()),
        ("SONOBUOY_CONFIG_DIR".into(), "/tmp/sonobuoy/config".into()),
        (
            "SONOBUOY_K8S_VERSION".into(),
            spec.kubernetes_version.clone(),
        ),
        ("SONOBUOY_PROGRESS_PORT".into(), "8099".into()),
        (
            "SONOBUOY_RESULTS_DIR".into(),
            "/tmp/sonobuoy/results".into(),
        ),
    ];
    if !spec.ginkgo_args.is_empty() {
        env.push(("E2E_EXTRA_GINKGO_ARGS".into(), spec.ginkgo_args.join(" ")));
    }
    let mut mounts = vec![json!({"mountPath": "/tmp/sonobuoy/results", "name": "results"})];
    match &spec.test_images {
        TestImages::Upstream => {}
        TestImages::Repo(repo) => env.push(("KUBE_TEST_REPO".into(), repo.clone())),
        TestImages::RepoList { file_name, .. } => {
            env.push((
                "KUBE_TEST_REPO_LIST".into(),
                format!("{PLUGIN_CONFIG_DIR}/{file_name}"),
            ));
            mounts.insert(
                0,
                json!({"mountPath": PLUGIN_CONFIG_DIR, "name": "sonobuoy-e2e-vol"}),
            );
        }
    }
    env.sort();
    let env: Vec<Value> = env
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let mut plugin = json!({
        "podSpec": {
            "containers": [],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "restartPolicy": "Never",
            "serviceAccountName": SERVICE_ACCOUNT,
            "tolerations": [
                {"effect": "NoSchedule", "key": "node-role.kubernetes.io/master", "operator": "Exists"},
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": "kubernetes.io/e2e-evict-taint-key", "operator": "Exists"}
            ]
        },
        "sonobuoy-config": {"driver": "Job", "plugin-name": "e2e", "result-format": "junit"},
        "spec": {
            "command": ["/run_e2e.sh"],
            "env": env,
            "image": spec.conformance_image,
            "imagePullPolicy": "IfNotPresent",
            "name": "e2e",
            "volumeMounts": mounts
        }
    });
    if let TestImages::RepoList { file_name, content } = &spec.test_images {
        plugin["config-map"] = json!({ file_name.as_str(): content });
        plugin["extra-volumes"] =
            json!([{"configMap": {"name": "plugin-e2e-cm"}, "name": "sonobuoy-e2e-vol"}]);
    }
    plugin
}

/// Sonobuoy's own configuration (`config.json`).
pub fn config_json(spec: &RunSpec) -> Value {
    json!({
        "Description": "DEFAULT",
        "UUID": spec.uuid,
        "Version": SONOBUOY_VERSION,
        "ResultsDir": "/tmp/sonobuoy/results",
        "Resources": null,
        "Filters": {"Namespaces": ".*", "LabelSelector": ""},
        "Limits": {"PodLogs": {
            "Namespaces": "kube-system", "SonobuoyNamespace": true, "FieldSelectors": [], "LabelSelector": "",
            "Previous": false, "SinceSeconds": null, "SinceTime": null, "Timestamps": false, "TailLines": null, "LimitBytes": null
        }},
        "QPS": 30,
        "Burst": 50,
        "Server": {"bindaddress": "0.0.0.0", "bindport": 8080, "advertiseaddress": "", "timeoutseconds": spec.timeout_seconds},
        "Plugins": null,
        "PluginSearchPath": ["./plugins.d", "/etc/sonobuoy/plugins.d", "~/sonobuoy/plugins.d"],
        "Namespace": spec.namespace,
        "WorkerImage": spec.aggregator_image,
        "ImagePullPolicy": "IfNotPresent",
        "ImagePullSecrets": spec.image_pull_secret.as_deref().unwrap_or(""),
        "AggregatorPermissions": "clusterAdmin",
        "ServiceAccountName": SERVICE_ACCOUNT,
        "NamespacePSAEnforceLevel": spec.pod_security.as_str(),
        "ProgressUpdatesPort": "8099",
        "SecurityContextMode": "nonroot"
    })
}

/// All objects of a run, in creation order (as `sonobuoy run` creates them).
#[allow(clippy::expect_used)] // a JSON value always serialises to YAML
pub fn objects(spec: &RunSpec) -> Vec<Value> {
    let ns = spec.namespace.as_str();
    let role = cluster_role_name(ns);
    let plugin_yaml =
        serde_saphyr::to_string(&e2e_plugin(spec)).expect("plain JSON values serialise to YAML");
    let mut aggregator_spec = json!({
        "containers": [{
            "args": ["aggregator", "--no-exit", "--level=info", "-v=4", "--alsologtostderr"],
            "command": ["/sonobuoy"],
            "env": [{"name": "SONOBUOY_ADVERTISE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            "image": spec.aggregator_image,
            "imagePullPolicy": "IfNotPresent",
            "name": AGGREGATOR_CONTAINER,
            "volumeMounts": [
                {"mountPath": "/etc/sonobuoy", "name": "sonobuoy-config-volume"},
                {"mountPath": "/plugins.d", "name": "sonobuoy-plugins-volume"},
                {"mountPath": "/tmp/sonobuoy", "name": "output-volume"}
            ]
        }],
        "restartPolicy": "Never",
        "securityContext": {"fsGroup": 2000, "runAsGroup": 3000, "runAsUser": 1000},
        "serviceAccountName": SERVICE_ACCOUNT,
        "tolerations": [{"key": "kubernetes.io/e2e-evict-taint-key", "operator": "Exists"}],
        "volumes": [
            {"configMap": {"name": "sonobuoy-config-cm"}, "name": "sonobuoy-config-volume"},
            {"configMap": {"name": "sonobuoy-plugins-cm"}, "name": "sonobuoy-plugins-volume"},
            {"emptyDir": {}, "name": "output-volume"}
        ]
    });
    if let Some(secret) = &spec.image_pull_secret {
        aggregator_spec["imagePullSecrets"] = json!([{ "name": secret }]);
    }
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": ns, "labels": {"pod-security.kubernetes.io/enforce": spec.pod_security.as_str()}}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
            "name": SERVICE_ACCOUNT, "namespace": ns, "labels": {"component": "sonobuoy"}}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {
                "name": role, "labels": {"component": "sonobuoy", "namespace": ns}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": ns}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {
            "name": role, "labels": {"component": "sonobuoy", "namespace": ns}},
        "rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["/metrics", "/logs", "/logs/*"], "verbs": ["get"]}
        ]}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": "sonobuoy-config-cm", "namespace": ns, "labels": {"component": "sonobuoy"}},
            "data": {"config.json": config_json(spec).to_string()}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": "sonobuoy-plugins-cm", "namespace": ns, "labels": {"component": "sonobuoy"}},
            "data": {"plugin-0.yaml": plugin_yaml}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": AGGREGATOR_POD, "namespace": ns,
            "labels": {"component": "sonobuoy", "sonobuoy-component": "aggregator", "tier": "analysis"}},
        "spec": aggregator_spec}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "sonobuoy-aggregator", "namespace": ns,
            "labels": {"component": "sonobuoy", "sonobuoy-component": "aggregator"}},
        "spec": {
            "ports": [{"port": 8080, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"sonobuoy-component": "aggregator"},
            "type": "ClusterIP"
        }}),
    ];
    if let TestImages::RepoList { file_name, content } = &spec.test_images {
        // After the plugins' ConfigMap, as `sonobuoy run` creates it.
        objects.insert(
            6,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "plugin-e2e-cm", "namespace": ns},
                "data": { file_name.as_str(): content }}),
        );
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RunSpec {
        RunSpec {
            namespace: "sonobuoy".into(),
            uuid: "u".into(),
            focus: r"\[Feature:NetworkPolicy\]".into(),
            skip: String::new(),
            parallel: true,
            ginkgo_args: vec!["--flake-attempts=2".into()],
            conformance_image: "registry.k8s.io/conformance:v1.33.3".into(),
            kubernetes_version: "v1.33.3".into(),
            aggregator_image: RunSpec::default_aggregator_image(None),
            test_images: TestImages::Upstream,
            image_pull_secret: None,
            pod_security: PodSecurity::Privileged,
            timeout_seconds: 21600,
        }
    }

    fn env(plugin: &Value, name: &str) -> Option<String> {
        plugin["spec"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap().to_string())
    }

    #[test]
    fn flake_attempts_do_not_replace_the_progress_url() {
        let p = e2e_plugin(&spec());
        assert_eq!(env(&p, "E2E_EXTRA_ARGS").as_deref(), Some(PROGRESS_ARGS));
        assert_eq!(
            env(&p, "E2E_EXTRA_GINKGO_ARGS").as_deref(),
            Some("--flake-attempts=2")
        );
    }

    #[test]
    fn an_empty_skip_is_still_set_explicitly() {
        let p = e2e_plugin(&spec());
        assert_eq!(env(&p, "E2E_SKIP").as_deref(), Some(""));
        assert_eq!(env(&p, "E2E_PARALLEL").as_deref(), Some("true"));
    }

    #[test]
    fn conformance_tags_follow_sonobuoy_auto() {
        assert_eq!(
            RunSpec::default_conformance_image("v1.31.4-gke.1256000", None),
            "registry.k8s.io/conformance:v1.31.4"
        );
        assert_eq!(
            RunSpec::default_conformance_image("v1.33.3", Some("mirror.local:5000/")),
            "mirror.local:5000/conformance:v1.33.3"
        );
    }
}
