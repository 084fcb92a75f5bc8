//! `scs-conformance images`: every image a run needs, for mirroring into the registry of an
//! air-gapped cluster (docs/run.md, "Air-gapped clusters"). The lists and the mirror rule are
//! the engine's ([`scs_conformance::definitions::images`]); this module reads the version,
//! prints and writes the repo list.

use std::path::PathBuf;

use scs_conformance::definitions::images::{self, Basis, ImageList, Mirror, Request, Role};
use scs_conformance::evidence::cluster;
use scs_conformance::exit_codes::native as exit;

use crate::args::KubeArgs;
use crate::{Failure, outln};

#[derive(clap::Args)]
#[command(group(
    clap::ArgGroup::new("version_source")
        .required(true)
        .multiple(true)
        .args(["k8s_version", "kubeconfig", "context"])
))]
pub struct Args {
    /// Kubernetes version: X.Y.Z, or X.Y (then the conformance image, whose tag is the cluster's
    /// exact version, is shown as a pattern). Or give --kubeconfig to read the cluster's version.
    #[arg(
        long,
        value_name = "X.Y[.Z]",
        value_parser = parse_request,
        conflicts_with_all = ["kubeconfig", "context"]
    )]
    k8s_version: Option<Request>,
    #[command(flatten)]
    kube: KubeArgs,
    /// Also print each image's name in this registry (HOST[:PORT][/PATH]): the source registry
    /// host dropped, the path kept, as `run --image-registry` expects.
    #[arg(long, value_name = "REGISTRY", value_parser = parse_mirror)]
    mirror: Option<Mirror>,
    /// Write the KUBE_TEST_REPO_LIST file for --mirror (each e2e registry key -> its place in
    /// the mirror), for `run --e2e-repo-config FILE`.
    #[arg(long, value_name = "FILE", requires = "mirror")]
    repo_list: Option<PathBuf>,
    /// Print JSON (for scripts) instead of the commented list.
    #[arg(long)]
    json: bool,
}

fn parse_request(text: &str) -> Result<Request, String> {
    Request::parse(text).map_err(|e| e.to_string())
}

fn parse_mirror(text: &str) -> Result<Mirror, String> {
    Mirror::parse(text).map_err(|e| e.to_string())
}

pub fn run(args: Args) -> Result<u8, Failure> {
    let (request, flag) = match &args.k8s_version {
        Some(r) => (r.clone(), "--k8s-version"),
        None => (cluster_version(&args.kube)?, "--kubeconfig"),
    };
    let list = images::list(&request, args.mirror.as_ref()).map_err(|e| {
        Failure::input(match flag {
            "--kubeconfig" => format!("the cluster's version {}: {e}", request.text),
            _ => format!("{flag} {}: {e}", request.text),
        })
    })?;
    if let Some(note) = inexact_note(&list, &request) {
        eprintln!("warning: {note}");
    }
    if let Some(path) = &args.repo_list
        && let Some(yaml) = list.repo_list()
    {
        std::fs::write(path, yaml)
            .map_err(|e| Failure::input(format!("cannot write {}: {e}", path.display())))?;
        eprintln!(
            "wrote {}: KUBE_TEST_REPO_LIST for the e2e test images of {} (run --e2e-repo-config {})",
            path.display(),
            list.e2e_release,
            path.display()
        );
    }
    if args.json {
        let json = serde_json::to_string_pretty(&list)
            .map_err(|e| Failure::input(format!("cannot render JSON: {e}")))?;
        outln!("{json}");
    } else {
        print_text(&list, &request, args.repo_list.is_some());
    }
    Ok(0)
}

/// The cluster's version, from its API server's `/version`.
fn cluster_version(kube: &KubeArgs) -> Result<Request, Failure> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    let git_version = runtime.block_on(async {
        let (client, server) = kube.connect().await.map_err(Failure::input)?;
        cluster::server_version(&client).await.map_err(|e| Failure {
            message: format!("{e} (API server {server})"),
            code: exit::ABORT,
        })
    })?;
    Request::parse(&git_version).map_err(|_| {
        Failure::input(format!(
            "cannot read a Kubernetes version from the server's gitVersion {git_version:?}; \
             pass --k8s-version X.Y.Z"
        ))
    })
}

/// Why the e2e test images listed may not be exactly the cluster's, if they may not.
fn inexact_note(list: &ImageList, request: &Request) -> Option<String> {
    let minor = request.minor_label();
    let differ = if list.differ_between_releases.is_empty() {
        String::new()
    } else {
        format!(
            "; between {minor} releases these differ: {}",
            list.differ_between_releases.join(", ")
        )
    };
    match list.basis {
        Basis::Exact => None,
        Basis::NewestOfMinor => Some(format!(
            "e2e test images of {}, the newest {minor} release in the built-in data{differ}; \
             give --k8s-version {minor}.Z or --kubeconfig for the exact list",
            list.e2e_release
        )),
        Basis::NearestRelease => Some(format!(
            "the built-in data has no {} ({} releases of {minor}, {} to {}); listed are the e2e \
             test images of {}{differ}; the exact list: `/usr/local/bin/e2e.test --list-images` \
             in {}",
            request.text,
            list.known_releases.len(),
            list.known_releases.first().map_or("", String::as_str),
            list.known_releases.last().map_or("", String::as_str),
            list.e2e_release,
            list.images
                .iter()
                .find(|i| i.role == Role::Conformance)
                .map_or("the conformance image", |i| i.image.as_str()),
        )),
    }
}

/// The list as comments (`#`) and image lines: every line without `#` is an image to mirror,
/// followed by its name in the mirror when there is one.
fn print_text(list: &ImageList, request: &Request, wrote_repo_list: bool) {
    let width = list.images.iter().map(|i| i.image.len()).max().unwrap_or(0);
    let line = |image: &images::Image| match &image.mirror {
        Some(m) => outln!("{:<width$}  {m}", image.image),
        None => outln!("{}", image.image),
    };
    outln!(
        "# Images for a run on Kubernetes {} (scs-conformance images)",
        request.text
    );
    match &list.mirror {
        Some(m) => {
            outln!("# Each line not starting with # is an image to mirror and its name in {m}.")
        }
        None => outln!("# Each line not starting with # is an image to mirror."),
    }
    outln!("#");
    outln!("# Sonobuoy aggregator and worker:");
    list.images
        .iter()
        .filter(|i| i.role == Role::Sonobuoy)
        .for_each(line);
    match &list.conformance_pattern {
        Some(pattern) => {
            outln!(
                "# Conformance image: its tag is the cluster's exact version, {pattern} (`kubectl version`);"
            );
            outln!(
                "#   give --k8s-version {}.Z or --kubeconfig to list it.",
                request.minor_label()
            );
        }
        None => {
            outln!("# Conformance image (e2e.test of the cluster's version):");
            list.images
                .iter()
                .filter(|i| i.role == Role::Conformance)
                .for_each(line);
        }
    }
    let e2e: Vec<&images::Image> = list.images.iter().filter(|i| i.role == Role::E2e).collect();
    outln!(
        "# e2e test images ({}; `e2e.test --list-images` of {}, without the not mirrorable ones):",
        e2e.len(),
        list.e2e_release
    );
    if let Some(note) = inexact_note(list, request) {
        outln!("#   Note: {note}.");
    }
    e2e.into_iter().for_each(line);
    if !list.not_mirrorable.is_empty() {
        outln!(
            "# Not mirrorable ({}; the repo list leaves their registries at the defaults):",
            list.not_mirrorable.len()
        );
        for n in &list.not_mirrorable {
            outln!("#   {} ({}): {}", n.image, n.registry, n.why);
        }
    }
    if list.mirror.is_some() && !wrote_repo_list {
        outln!(
            "# The e2e tests find the mirror through KUBE_TEST_REPO_LIST: --repo-list FILE writes it."
        );
    }
}
