//! `scs-conformance standards`, `waivers` and `inventory`: show what is loaded.

use std::path::PathBuf;

use chrono::NaiveDate;
use scs_conformance::catalog::Check;
use scs_conformance::cni::Cni;
use scs_conformance::inventory::Inventory;

use super::{Definitions, Failure, context};

pub fn standards(defs: &Definitions) -> Result<u8, Failure> {
    let catalog = context::catalog(defs)?;
    for scope in &catalog.scopes {
        println!("scope {} ({}) [{}]", scope.id, scope.name, scope.file);
        for v in &scope.versions {
            println!("  version {}: {}", v.version, v.include.join(", "));
        }
    }
    for m in &catalog.modules {
        println!("module {} ({}) [{}]", m.id, m.name, m.file);
        for tc in &m.testcases {
            match &tc.check {
                Check::E2e(e) => println!(
                    "  testcase {}: e2e focus {:?} skip {:?}{}",
                    tc.id,
                    e.selection.focus(),
                    e.selection.skip(),
                    if e.parallel { ", parallel" } else { "" }
                ),
                Check::Native(n) => println!(
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
pub struct WaiverArgs {
    /// Show whether each waiver applies to a cluster with this CNI (NAME or NAME@VERSION).
    #[arg(long, value_name = "NAME")]
    cni: Option<String>,
    /// ... and this Kubernetes version.
    #[arg(long, value_name = "X.Y.Z")]
    k8s_version: Option<String>,
    /// Judge expiry as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    date: Option<NaiveDate>,
}

pub fn waivers(defs: &Definitions, args: WaiverArgs) -> Result<u8, Failure> {
    let catalog = context::catalog(defs)?;
    let waivers = context::waivers(defs, &catalog)?;
    let cni = context::cni(args.cni.as_deref())?.unwrap_or_else(Cni::unknown);
    let ctx = context::cluster_context(cni, args.k8s_version.as_deref(), context::today(args.date));
    for w in &waivers {
        let status = serde_json::to_string(&w.status(&ctx)).unwrap_or_default();
        let expires = w
            .expires
            .map(|d| d.to_string())
            .unwrap_or_else(|| "never".into());
        println!(
            "{} [{}] cni {} standard {} expires {} status {}",
            w.id,
            w.origin,
            w.cni,
            w.applies_to,
            expires,
            status.trim_matches('"')
        );
        println!("  test /{}/", w.test.as_str());
        println!("  reason: {}", w.reason);
        if let Some(t) = &w.tracking {
            println!("  tracking: {t}");
        }
        if let Some(k) = &w.kubernetes {
            println!("  kubernetes: {k}");
        }
        if let Some(v) = &w.cni_version {
            println!("  cni version: {v}");
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
    println!(
        "# e2e inventory for Kubernetes {version}: every spec of the e2e suite, one per line."
    );
    println!("# source: {}", args.from.display());
    for s in specs {
        println!("{s}");
    }
    Ok(0)
}
