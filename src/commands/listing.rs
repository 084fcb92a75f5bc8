//! `scs-conformance standards`, `waivers` and `inventory`: show what is loaded.

use std::path::PathBuf;

use scs_conformance::definitions::catalog::Check;
use scs_conformance::definitions::inventory::Inventory;

use crate::args::{Definitions, FactArgs};
use crate::{Failure, context};

pub fn standards(defs: &Definitions) -> Result<u8, Failure> {
    let catalog = context::catalog(defs)?;
    for scope in &catalog.scopes {
        crate::outln!("scope {} ({}) [{}]", scope.id, scope.name, scope.file);
        for v in &scope.versions {
            crate::outln!("  version {}: {}", v.version, v.include.join(", "));
        }
    }
    for m in &catalog.modules {
        crate::outln!("module {} ({}) [{}]", m.id, m.name, m.file);
        for tc in &m.testcases {
            match &tc.check {
                Check::E2e(e) => crate::outln!(
                    "  testcase {}: e2e focus {:?} skip {:?}{}",
                    tc.id,
                    e.selection.focus(),
                    e.selection.skip(),
                    if e.parallel { ", parallel" } else { "" }
                ),
                Check::Native(n) => crate::outln!(
                    "  testcase {}: native {}",
                    tc.id,
                    serde_json::to_string(n)
                        .unwrap_or_default()
                        .trim_matches('"')
                ),
            }
        }
    }
    Ok(0)
}

#[derive(clap::Args)]
#[command(
    mut_arg("cni", |a| a.help(
        "Show whether each waiver applies to a cluster with this CNI (NAME or NAME@VERSION)"
    )),
    mut_arg("date", |a| a.help("Judge expiry as of this date (YYYY-MM-DD) instead of today")))]
pub struct WaiverArgs {
    #[command(flatten)]
    facts: FactArgs,
    /// ... and this Kubernetes version.
    #[arg(long, value_name = "X.Y.Z")]
    k8s_version: Option<String>,
}

pub fn waivers(defs: &Definitions, args: WaiverArgs) -> Result<u8, Failure> {
    let catalog = context::catalog(defs)?;
    let waivers = context::waivers(defs, &catalog)?;
    let ctx = args.facts.context(args.k8s_version.as_deref())?;
    for w in &waivers {
        let status = serde_json::to_string(&w.status(&ctx)).unwrap_or_default();
        let expires = w
            .expires
            .map(|d| d.to_string())
            .unwrap_or_else(|| "never".into());
        crate::outln!(
            "{} [{}] cni {} standard {} expires {} status {}",
            w.id,
            w.origin,
            w.cni,
            w.applies_to,
            expires,
            status.trim_matches('"')
        );
        crate::outln!("  test /{}/", w.test.as_str());
        crate::outln!("  reason: {}", w.reason);
        if let Some(t) = &w.tracking {
            crate::outln!("  tracking: {t}");
        }
        if let Some(k) = &w.kubernetes {
            crate::outln!("  kubernetes: {k}");
        }
        if let Some(v) = &w.cni_version {
            crate::outln!("  cni version: {v}");
        }
    }
    Ok(0)
}

#[derive(clap::Args)]
pub struct InventoryArgs {
    /// An e2e JUnit report (.xml or .xml.gz) of the Kubernetes version to inventory.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The Kubernetes version the report is from, for the header line.
    #[arg(long, value_name = "X.Y")]
    k8s_version: Option<String>,
}

pub fn inventory(args: InventoryArgs) -> Result<u8, Failure> {
    let inv = Inventory::read(&args.from).map_err(Failure::input)?;
    let mut specs = inv.specs;
    specs.sort();
    let version = args.k8s_version.as_deref().unwrap_or("(unknown version)");
    crate::outln!(
        "# e2e inventory for Kubernetes {version}: every spec of the e2e suite, one per line."
    );
    crate::outln!("# source: {}", args.from.display());
    for s in specs {
        crate::outln!("{s}");
    }
    Ok(0)
}
