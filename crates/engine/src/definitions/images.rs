//! The container images a run needs, for clusters that pull from a mirror registry (docs/run.md,
//! "Air-gapped clusters"): the Sonobuoy aggregator (also the worker of the e2e plugin pod), the
//! conformance image of the cluster's exact version, and the e2e test images of that release,
//! what `e2e.test --list-images` lists. The e2e test images come from the built-in
//! `data/e2e-images.json` (one entry per release of each minor, generated from
//! `k8s.io/kubernetes` `test/utils/image` by `data/generate-e2e-images`; data/PROVENANCE.md).
//!
//! Mirror names follow one rule, the one `run --image-registry` uses: the source registry host is
//! dropped and the path kept (`registry.k8s.io/e2e-test-images/agnhost:2.59` →
//! `REG/e2e-test-images/agnhost:2.59`). The KUBE_TEST_REPO_LIST file maps each registry key of
//! the e2e framework to its location by the same rule, so the tests pull exactly the names
//! listed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::definitions::builtin;
use crate::evidence::sonobuoy::SONOBUOY_VERSION;
use crate::version::{GitVersion, K8sVersion, VersionError};

/// The repository of the conformance images; the tag is the cluster's version.
pub const CONFORMANCE_REPOSITORY: &str = "registry.k8s.io/conformance";

/// The format of `data/e2e-images.json` this build reads.
const DATA_FORMAT: u32 = 1;

/// The Sonobuoy image `run` launches (aggregator and worker), fully qualified.
pub fn sonobuoy_image() -> String {
    format!("docker.io/sonobuoy/sonobuoy:{SONOBUOY_VERSION}")
}

/// Why no list could be made.
#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    #[error("the built-in e2e image data cannot be read: {0}")]
    Data(String),
    #[error(
        "no built-in e2e image list for Kubernetes {version} (built in: {known}). The conformance \
         image of that version lists its e2e test images: `kubectl run e2e-images -i --rm \
         --restart=Never --image={conformance} --command -- /usr/local/bin/e2e.test \
         --list-images` (or `docker run --rm --entrypoint /usr/local/bin/e2e.test {conformance} \
         --list-images`). Mirror those, the conformance image itself and {sonobuoy}"
    )]
    UnknownMinor {
        version: String,
        known: String,
        conformance: String,
        sonobuoy: String,
    },
}

// ---------------------------------------------------------------------------------------------
// The data file
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    format: u32,
    #[allow(dead_code)]
    generated_at: String,
    #[allow(dead_code)]
    provenance: Vec<String>,
    minors: Vec<MinorData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MinorData {
    /// `1.35`.
    minor: String,
    /// Every release read, oldest first (`v1.35.0`, …).
    releases: Vec<String>,
    /// Module checksum per release (provenance only).
    #[allow(dead_code)]
    modules: BTreeMap<String, String>,
    registries: Vec<RegistryData>,
    images: Vec<ImageData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryData {
    key: String,
    default: String,
    #[serde(default)]
    not_mirrorable: Option<String>,
    /// The releases that have this registry; absent: all of the minor.
    #[serde(default)]
    releases: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageData {
    image: String,
    registry: String,
    #[allow(dead_code)]
    source: String,
    /// The releases that list this image; absent: all of the minor.
    #[serde(default)]
    releases: Option<Vec<String>>,
}

fn in_release(releases: Option<&Vec<String>>, release: &str) -> bool {
    releases.is_none_or(|r| r.iter().any(|x| x == release))
}

fn data() -> Result<DataFile, ImagesError> {
    let data: DataFile = serde_json::from_str(builtin::E2E_IMAGES)
        .map_err(|e| ImagesError::Data(format!("data/e2e-images.json: {e}")))?;
    if data.format != DATA_FORMAT {
        return Err(ImagesError::Data(format!(
            "data/e2e-images.json has format {}, this build reads {DATA_FORMAT}",
            data.format
        )));
    }
    Ok(data)
}

/// The Kubernetes minors with a built-in image list (`1.31`, …), oldest first.
pub fn known_minors() -> Result<Vec<String>, ImagesError> {
    Ok(data()?.minors.into_iter().map(|m| m.minor).collect())
}

// ---------------------------------------------------------------------------------------------
// What is asked for
// ---------------------------------------------------------------------------------------------

/// The Kubernetes version a list is for: a minor (`1.35`) or a release (`v1.35.2`,
/// `v1.31.4-gke.100` as an API server reports it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// As given, trimmed.
    pub text: String,
    pub major: u64,
    pub minor: u64,
    /// `None` when only the minor was given.
    pub patch: Option<u64>,
    /// The conformance image tag (`v1.35.2`, `v1.36.0-rc.1`; vendor suffixes dropped), when the
    /// patch is known.
    pub conformance_tag: Option<String>,
}

impl Request {
    /// Parses `X.Y`, `X.Y.Z`, `vX.Y.Z` or a server `gitVersion` with a vendor suffix.
    pub fn parse(text: &str) -> Result<Request, VersionError> {
        let parsed = GitVersion::parse_strict(text)?;
        let has_patch = parsed.has_patch;
        Ok(Request {
            text: text.trim().to_string(),
            major: parsed.version.major,
            minor: parsed.version.minor,
            patch: has_patch.then_some(parsed.version.patch),
            conformance_tag: has_patch.then(|| parsed.conformance_tag()),
        })
    }

    /// `1.35`.
    pub fn minor_label(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// The exact release (`v1.35.2`) when it is one (no pre-release).
    fn release(&self) -> Option<String> {
        let tag = self.conformance_tag.as_ref()?;
        (!tag.contains('-')).then(|| tag.clone())
    }

    /// `registry.k8s.io/conformance:v1.35.2`, or the pattern `…:v1.35.<patch>`.
    fn conformance_image(&self) -> (String, bool) {
        match &self.conformance_tag {
            Some(tag) => (format!("{CONFORMANCE_REPOSITORY}:{tag}"), true),
            None => (
                format!(
                    "{CONFORMANCE_REPOSITORY}:v{}.{}.<patch>",
                    self.major, self.minor
                ),
                false,
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mirror names
// ---------------------------------------------------------------------------------------------

/// A registry that is not `HOST[:PORT][/PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid registry {text:?}: expected HOST[:PORT][/PATH] without a scheme, e.g. \
     registry.example.org:5000/k8s"
)]
pub struct MirrorError {
    pub text: String,
}

/// A mirror registry: `HOST[:PORT][/PATH]`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Mirror(String);

impl Mirror {
    /// Checks a registry as `--mirror` and `--image-registry` take it.
    pub fn parse(text: &str) -> Result<Mirror, MirrorError> {
        let t = text.trim().trim_end_matches('/');
        let error = || MirrorError {
            text: text.to_string(),
        };
        let chars_ok = t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:/".contains(&b));
        if t.is_empty() || !chars_ok || t.contains("://") || t.split('/').any(str::is_empty) {
            return Err(error());
        }
        Ok(Mirror(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of an image in this mirror: the source registry host dropped, the path kept
    /// (Docker Hub's implicit `library/` made explicit).
    pub fn image(&self, image: &str) -> String {
        format!("{}/{}", self.0, repository_path(image))
    }

    /// Where the images of a registry prefix (`registry.k8s.io/e2e-test-images`,
    /// `registry.k8s.io`, `docker.io/library`) are in this mirror.
    pub fn location(&self, prefix: &str) -> String {
        match prefix.split_once('/') {
            Some((first, rest)) if is_host(first) => format!("{}/{rest}", self.0),
            None if is_host(prefix) => self.0.clone(),
            _ => format!("{}/{prefix}", self.0),
        }
    }
}

impl std::fmt::Display for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the first component of an image reference names a registry host (as Docker reads
/// references: it has a dot or a port, or is `localhost`).
fn is_host(component: &str) -> bool {
    component.contains(['.', ':']) || component == "localhost"
}

/// `registry.k8s.io/e2e-test-images/agnhost:2.59` → `e2e-test-images/agnhost:2.59`;
/// `sonobuoy/sonobuoy:v0.57.5` and `docker.io/sonobuoy/sonobuoy:v0.57.5` →
/// `sonobuoy/sonobuoy:v0.57.5`; `nginx:1.27` and `docker.io/nginx:1.27` → `library/nginx:1.27`.
pub fn repository_path(image: &str) -> String {
    let (host, path) = match image.split_once('/') {
        Some((first, rest)) if is_host(first) => (Some(first), rest),
        _ => (None, image),
    };
    let docker_hub = host.is_none_or(|h| h == "docker.io" || h == "index.docker.io");
    if docker_hub && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

/// How the release whose e2e test images are listed was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The release asked for is in the data.
    Exact,
    /// Only the minor was given: its newest release in the data.
    NewestOfMinor,
    /// The release asked for is not in the data (newer than it, a pre-release, or one the module
    /// proxy did not serve): the newest older release of the minor, else the oldest.
    NearestRelease,
}

/// What an image is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The Sonobuoy aggregator, also the worker container of the e2e plugin pod.
    Sonobuoy,
    /// The conformance image: `e2e.test` of the cluster's exact version.
    Conformance,
    /// An image the e2e tests start.
    E2e,
}

/// An image to mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    pub role: Role,
    pub image: String,
    /// The KUBE_TEST_REPO_LIST key it is pulled with (e2e test images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Its name in the mirror (with a mirror only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
}

/// An e2e test image that cannot be mirrored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotMirrorable {
    pub image: String,
    pub registry: String,
    pub why: String,
}

/// A registry of the e2e framework (a key of KUBE_TEST_REPO_LIST).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registry {
    pub key: String,
    pub default: String,
    /// Its location in the mirror (with a mirror, for mirrorable registries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// Why its images cannot be mirrored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_mirrorable: Option<String>,
}

/// Every image a run on one Kubernetes version needs.
#[derive(Debug, Clone, Serialize)]
pub struct ImageList {
    /// The version asked for, as given.
    pub kubernetes: String,
    /// The release whose e2e test images are listed (`v1.35.4`).
    pub e2e_release: String,
    pub basis: Basis,
    /// The releases of this minor in the built-in data.
    pub known_releases: Vec<String>,
    /// Images whose tag differs between the known releases of this minor, without the tag
    /// (`registry.k8s.io/build-image/distroless-iptables`).
    pub differ_between_releases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Mirror>,
    /// Every image to mirror: Sonobuoy, the conformance image (when the patch is known), the
    /// e2e test images (sorted).
    pub images: Vec<Image>,
    /// When only the minor is known: `registry.k8s.io/conformance:v1.35.<patch>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformance_pattern: Option<String>,
    pub not_mirrorable: Vec<NotMirrorable>,
    /// The registries of the e2e framework in that release, in its order.
    pub registries: Vec<Registry>,
}

/// The images a run on `request` needs, with their names in `mirror` if given.
pub fn list(request: &Request, mirror: Option<&Mirror>) -> Result<ImageList, ImagesError> {
    let data = data()?;
    let label = request.minor_label();
    let Some(minor) = data.minors.iter().find(|m| m.minor == label) else {
        let (conformance, _) = request.conformance_image();
        return Err(ImagesError::UnknownMinor {
            version: request.text.clone(),
            known: data
                .minors
                .iter()
                .map(|m| m.minor.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            conformance,
            sonobuoy: sonobuoy_image(),
        });
    };
    let (e2e_release, basis) = choose_release(request, &minor.releases)?;

    let mut images = vec![Image {
        role: Role::Sonobuoy,
        image: sonobuoy_image(),
        registry: None,
        mirror: None,
    }];
    let (conformance, exact) = request.conformance_image();
    let conformance_pattern = if exact {
        images.push(Image {
            role: Role::Conformance,
            image: conformance,
            registry: None,
            mirror: None,
        });
        None
    } else {
        Some(conformance)
    };

    let registries: Vec<Registry> = minor
        .registries
        .iter()
        .filter(|r| in_release(r.releases.as_ref(), &e2e_release))
        .map(|r| Registry {
            key: r.key.clone(),
            default: r.default.clone(),
            mirror: match (&r.not_mirrorable, mirror) {
                (None, Some(m)) => Some(m.location(&r.default)),
                _ => None,
            },
            not_mirrorable: r.not_mirrorable.clone(),
        })
        .collect();
    let mut not_mirrorable = Vec::new();
    for i in minor
        .images
        .iter()
        .filter(|i| in_release(i.releases.as_ref(), &e2e_release))
    {
        let Some(registry) = registries.iter().find(|r| r.key == i.registry) else {
            return Err(ImagesError::Data(format!(
                "{} of {e2e_release} names the unknown registry {}",
                i.image, i.registry
            )));
        };
        match &registry.not_mirrorable {
            Some(why) => not_mirrorable.push(NotMirrorable {
                image: i.image.clone(),
                registry: i.registry.clone(),
                why: why.clone(),
            }),
            None => images.push(Image {
                role: Role::E2e,
                image: i.image.clone(),
                registry: Some(i.registry.clone()),
                mirror: None,
            }),
        }
    }
    if let Some(m) = mirror {
        for image in &mut images {
            image.mirror = Some(m.image(&image.image));
        }
    }

    let mut differ: Vec<String> = minor
        .images
        .iter()
        .filter(|i| i.releases.is_some())
        .map(|i| untagged(&i.image).to_string())
        .collect();
    differ.sort();
    differ.dedup();

    Ok(ImageList {
        kubernetes: request.text.clone(),
        e2e_release,
        basis,
        known_releases: minor.releases.clone(),
        differ_between_releases: differ,
        mirror: mirror.cloned(),
        images,
        conformance_pattern,
        not_mirrorable,
        registries,
    })
}

/// `registry.k8s.io/pause:3.10` → `registry.k8s.io/pause` (a port is no tag).
fn untagged(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => image,
    }
}

fn choose_release(request: &Request, releases: &[String]) -> Result<(String, Basis), ImagesError> {
    let mut known: Vec<(u64, &String)> = releases
        .iter()
        .map(|r| {
            K8sVersion::from_git_version(r)
                .map(|v| (v.patch, r))
                .ok_or_else(|| ImagesError::Data(format!("bad release {r:?}")))
        })
        .collect::<Result<_, _>>()?;
    known.sort();
    let (Some(oldest), Some(newest)) = (known.first(), known.last()) else {
        return Err(ImagesError::Data(format!(
            "no release of {}",
            request.minor_label()
        )));
    };
    let Some(patch) = request.patch else {
        return Ok((newest.1.clone(), Basis::NewestOfMinor));
    };
    if let Some(exact) = request.release()
        && releases.contains(&exact)
    {
        return Ok((exact, Basis::Exact));
    }
    let nearest = known
        .iter()
        .rev()
        .find(|(p, _)| *p <= patch)
        .unwrap_or(oldest);
    Ok((nearest.1.clone(), Basis::NearestRelease))
}

impl ImageList {
    /// The KUBE_TEST_REPO_LIST file for the mirror (`None` without a mirror): every registry key
    /// of the release mapped to its location in the mirror; a registry whose images cannot be
    /// mirrored keeps its default, with a comment saying why.
    pub fn repo_list(&self) -> Option<String> {
        let mirror = self.mirror.as_ref()?;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# KUBE_TEST_REPO_LIST for the e2e test images of Kubernetes {} in the mirror {mirror},",
            self.e2e_release
        );
        let _ = writeln!(
            out,
            "# written by `{} images`. Keys: the registries of k8s.io/kubernetes",
            crate::TOOL_NAME
        );
        let _ = writeln!(
            out,
            "# test/utils/image/manifest.go; the e2e tests pull each registry's images from its value."
        );
        for r in &self.registries {
            match (&r.mirror, &r.not_mirrorable) {
                (Some(location), _) => {
                    let _ = writeln!(out, "{}: {}", r.key, yaml_string(location));
                }
                (None, why) => {
                    let why = why.as_deref().unwrap_or("not mirrored");
                    let _ = writeln!(out, "# Not mirrorable, left at its default: {why}.");
                    let _ = writeln!(out, "{}: {}", r.key, yaml_string(&r.default));
                }
            }
        }
        Some(out)
    }
}

/// A YAML double-quoted scalar (a JSON string is one).
fn yaml_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::sonobuoy::manifest::RunSpec;

    fn request(text: &str) -> Request {
        Request::parse(text).unwrap()
    }

    fn mirror(text: &str) -> Mirror {
        Mirror::parse(text).unwrap()
    }

    fn e2e(list: &ImageList) -> Vec<&str> {
        list.images
            .iter()
            .filter(|i| i.role == Role::E2e)
            .map(|i| i.image.as_str())
            .collect()
    }

    #[test]
    fn requests_know_whether_the_patch_was_given() {
        let r = request("1.35");
        assert_eq!((r.major, r.minor, r.patch), (1, 35, None));
        assert_eq!(r.conformance_tag, None);
        let r = request("v1.35.2");
        assert_eq!(r.patch, Some(2));
        assert_eq!(r.conformance_tag.as_deref(), Some("v1.35.2"));
        assert_eq!(r.release().as_deref(), Some("v1.35.2"));
        let r = request("v1.31.4-gke.1256000");
        assert_eq!(r.conformance_tag.as_deref(), Some("v1.31.4"));
        assert_eq!(r.release().as_deref(), Some("v1.31.4"));
        let r = request("1.36.0-rc.1");
        assert_eq!(r.conformance_tag.as_deref(), Some("v1.36.0-rc.1"));
        assert_eq!(r.release(), None);
        for bad in ["", "1", "1.x", "v1.35.", "1.35.2.1", "latest", "1.35-rc.1"] {
            assert!(Request::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mirror_names_drop_the_host_and_keep_the_path() {
        let m = mirror("reg.example:5000/k8s/");
        assert_eq!(m.as_str(), "reg.example:5000/k8s");
        for (image, expected) in [
            (
                "registry.k8s.io/e2e-test-images/agnhost:2.59",
                "reg.example:5000/k8s/e2e-test-images/agnhost:2.59",
            ),
            (
                "registry.k8s.io/pause:3.10.1",
                "reg.example:5000/k8s/pause:3.10.1",
            ),
            (
                "docker.io/library/nginx:x",
                "reg.example:5000/k8s/library/nginx:x",
            ),
            ("nginx:x", "reg.example:5000/k8s/library/nginx:x"),
            ("docker.io/nginx:x", "reg.example:5000/k8s/library/nginx:x"),
            (
                "docker.io/sonobuoy/sonobuoy:v0.57.5",
                "reg.example:5000/k8s/sonobuoy/sonobuoy:v0.57.5",
            ),
            (
                "sonobuoy/sonobuoy:v0.57.5",
                "reg.example:5000/k8s/sonobuoy/sonobuoy:v0.57.5",
            ),
            ("localhost/x/y:1", "reg.example:5000/k8s/x/y:1"),
            ("localhost:5000/y:1", "reg.example:5000/k8s/y:1"),
        ] {
            assert_eq!(m.image(image), expected, "{image}");
        }
        assert_eq!(m.location("registry.k8s.io"), "reg.example:5000/k8s");
        assert_eq!(
            m.location("registry.k8s.io/e2e-test-images"),
            "reg.example:5000/k8s/e2e-test-images"
        );
        assert_eq!(
            m.location("docker.io/library"),
            "reg.example:5000/k8s/library"
        );
    }

    #[test]
    fn mirror_names_are_those_of_run_image_registry() {
        let m = mirror("mirror.local:5000");
        assert_eq!(
            m.image(&sonobuoy_image()),
            RunSpec::default_aggregator_image(Some("mirror.local:5000"))
        );
        assert_eq!(
            repository_path(&RunSpec::default_aggregator_image(None)),
            repository_path(&sonobuoy_image())
        );
        let list = list(&request("v1.35.4"), Some(&m)).unwrap();
        let conformance = list
            .images
            .iter()
            .find(|i| i.role == Role::Conformance)
            .unwrap();
        assert_eq!(
            conformance.image,
            RunSpec::default_conformance_image("v1.35.4", None)
        );
        assert_eq!(
            conformance.mirror.as_deref(),
            Some(RunSpec::default_conformance_image("v1.35.4", Some("mirror.local:5000")).as_str())
        );
    }

    #[test]
    fn bad_mirrors_are_refused() {
        for bad in [
            "",
            "/",
            "https://reg.example",
            "reg example",
            "reg.example//x",
            "reg.example/x@sha256",
        ] {
            assert!(Mirror::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_built_in_data_covers_every_minor_with_an_inventory() {
        let minors = known_minors().unwrap();
        let inventories: Vec<String> = builtin::INVENTORIES
            .iter()
            .map(|(k, _)| k.trim_start_matches('v').to_string())
            .collect();
        assert_eq!(minors, inventories);
    }

    #[test]
    fn every_release_maps_each_image_where_its_registry_points() {
        // The invariant `images --mirror` and `--repo-list` rest on: for every e2e test image
        // of every release, the mirror name is the repo list's location of its registry plus
        // the image's path below the registry's default.
        let data = data().unwrap();
        let m = mirror("mirror.test/k8s");
        for minor in &data.minors {
            for release in &minor.releases {
                let list = list(&request(release), Some(&m)).unwrap();
                assert_eq!(list.basis, Basis::Exact, "{release}");
                for i in list.images.iter().filter(|i| i.role == Role::E2e) {
                    let key = i.registry.as_deref().unwrap();
                    let r = list.registries.iter().find(|r| r.key == key).unwrap();
                    let below = i.image.strip_prefix(&format!("{}/", r.default)).unwrap();
                    assert_eq!(
                        i.mirror.as_deref().unwrap(),
                        format!("{}/{below}", r.mirror.as_deref().unwrap()),
                        "{release} {}",
                        i.image
                    );
                }
                assert!(!list.not_mirrorable.is_empty(), "{release}");
                let yaml = list.repo_list().unwrap();
                let keys: Vec<&str> = yaml
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .map(|l| l.split(':').next().unwrap())
                    .collect();
                let expected: Vec<&str> = list.registries.iter().map(|r| r.key.as_str()).collect();
                assert_eq!(keys, expected, "{release}");
            }
        }
    }

    #[test]
    fn v1_35_4_is_what_its_e2e_test_lists() {
        // Facts of k8s.io/kubernetes v1.35.4 test/utils/image/manifest.go.
        let list = list(&request("1.35.4"), None).unwrap();
        assert_eq!(list.basis, Basis::Exact);
        assert_eq!(list.e2e_release, "v1.35.4");
        let images = e2e(&list);
        for expected in [
            "registry.k8s.io/e2e-test-images/agnhost:2.59",
            "registry.k8s.io/e2e-test-images/agnhost:2.55",
            "registry.k8s.io/pause:3.10.1",
            "registry.k8s.io/etcd:3.6.6-0",
            "registry.k8s.io/build-image/distroless-iptables:v0.8.9",
            "registry.k8s.io/sig-storage/csi-provisioner:v6.0.0",
        ] {
            assert!(images.contains(&expected), "{expected}");
        }
        // 49 images in `e2e.test --list-images`, 2 of them not mirrorable.
        assert_eq!(images.len(), 47);
        let not: Vec<&str> = list
            .not_mirrorable
            .iter()
            .map(|n| n.image.as_str())
            .collect();
        assert_eq!(
            not,
            [
                "gcr.io/k8s-authenticated-test/agnhost:2.6",
                "invalid.registry.k8s.io/invalid/alpine:3.1"
            ]
        );
        let etcd = list
            .images
            .iter()
            .find(|i| i.image.starts_with("registry.k8s.io/etcd:"))
            .unwrap();
        assert_eq!(etcd.registry.as_deref(), Some("gcEtcdRegistry"));
        assert_eq!(list.images[0].image, "docker.io/sonobuoy/sonobuoy:v0.57.5");
        assert_eq!(list.images[1].image, "registry.k8s.io/conformance:v1.35.4");
    }

    #[test]
    fn a_minor_alone_lists_its_newest_release_and_a_conformance_pattern() {
        let list = list(&request("1.35"), None).unwrap();
        assert_eq!(list.basis, Basis::NewestOfMinor);
        assert_eq!(Some(&list.e2e_release), list.known_releases.last());
        assert!(list.images.iter().all(|i| i.role != Role::Conformance));
        assert_eq!(
            list.conformance_pattern.as_deref(),
            Some("registry.k8s.io/conformance:v1.35.<patch>")
        );
        assert!(
            list.differ_between_releases
                .contains(&"registry.k8s.io/build-image/distroless-iptables".to_string())
        );
    }

    #[test]
    fn a_release_not_in_the_data_takes_the_nearest_older_one() {
        let newest = list(&request("1.35"), None).unwrap().e2e_release;
        let list = list(&request("v1.35.99"), None).unwrap();
        assert_eq!(list.basis, Basis::NearestRelease);
        assert_eq!(list.e2e_release, newest);
        assert!(
            list.images
                .iter()
                .any(|i| i.image == "registry.k8s.io/conformance:v1.35.99")
        );
        let rc = super::list(&request("v1.36.0-rc.1"), None).unwrap();
        assert_eq!(rc.basis, Basis::NearestRelease);
        assert_eq!(rc.e2e_release, "v1.36.0");
    }

    #[test]
    fn older_releases_have_their_own_registry_keys() {
        let list = list(&request("v1.31.4"), Some(&mirror("m.example"))).unwrap();
        let keys: Vec<&str> = list.registries.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "gcAuthenticatedRegistry",
                "promoterE2eRegistry",
                "buildImageRegistry",
                "invalidRegistry",
                "gcEtcdRegistry",
                "gcRegistry",
                "sigStorageRegistry",
                "privateRegistry",
                "dockerLibraryRegistry",
                "cloudProviderGcpRegistry"
            ]
        );
        assert!(
            list.not_mirrorable
                .iter()
                .any(|n| n.image == "gcr.io/authenticated-image-pulling/alpine:3.7")
        );
        assert!(
            e2e(&list).contains(&"registry.k8s.io/e2e-test-images/agnhost:2.52"),
            "{:?}",
            e2e(&list)
        );
    }

    #[test]
    fn the_repo_list_maps_each_key_to_the_mirror() {
        let list = list(&request("1.35.4"), Some(&mirror("mirror.local:5000"))).unwrap();
        let yaml = list.repo_list().unwrap();
        assert!(yaml.contains("\npromoterE2eRegistry: \"mirror.local:5000/e2e-test-images\"\n"));
        assert!(yaml.contains("\ngcRegistry: \"mirror.local:5000\"\n"));
        assert!(yaml.contains("\ndockerLibraryRegistry: \"mirror.local:5000/library\"\n"));
        assert!(yaml.contains("\ninvalidRegistry: \"invalid.registry.k8s.io/invalid\"\n"));
        assert!(yaml.contains("\nprivateRegistry: \"gcr.io/k8s-authenticated-test\"\n"));
        let without = super::list(&request("1.35.4"), None).unwrap();
        assert_eq!(without.repo_list(), None);
    }

    #[test]
    fn an_unknown_minor_names_the_known_ones_and_the_way_out() {
        let e = list(&request("1.30.2"), None).unwrap_err().to_string();
        assert!(e.contains("1.31, 1.32"), "{e}");
        assert!(e.contains("e2e.test --list-images"), "{e}");
        assert!(e.contains("registry.k8s.io/conformance:v1.30.2"), "{e}");
    }
}
