//! Running Sonobuoy natively: the objects `sonobuoy run` creates for the e2e plugin, its status
//! annotation, results retrieval through `pods/exec`, and cleanup. No sonobuoy binary is needed.

pub mod cleanup;
pub mod follow;
pub mod inspect;
pub mod launch;
pub mod manifest;
pub mod retrieve;
pub mod status;

/// The Sonobuoy release whose aggregator we launch (image `sonobuoy/sonobuoy:<this>`). Its object
/// layout and status annotation are what this module speaks; see docs/run.md.
pub const SONOBUOY_VERSION: &str = "v0.57.5";
/// Default namespace of a run.
pub const DEFAULT_NAMESPACE: &str = "sonobuoy";
/// The aggregator pod and its container.
pub const AGGREGATOR_POD: &str = "sonobuoy";
pub const AGGREGATOR_CONTAINER: &str = "kube-sonobuoy";
/// Where the aggregator keeps the results tarball.
pub const RESULTS_PATH: &str = "/tmp/sonobuoy";
/// The annotation the aggregator keeps its status in.
pub const STATUS_ANNOTATION: &str = "sonobuoy.hept.io/status";
/// The service account of a run.
pub const SERVICE_ACCOUNT: &str = "sonobuoy-serviceaccount";

/// The name of the cluster role and binding of a run in `namespace`.
pub fn cluster_role_name(namespace: &str) -> String {
    format!("sonobuoy-serviceaccount-{namespace}")
}
