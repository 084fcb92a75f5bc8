//! `scs-conformance plan`: what a standard would launch, and what that selects.

use std::path::PathBuf;

use scs_conformance::definitions::catalog::{Check, E2eCheck};
use scs_conformance::definitions::inventory::Inventory;
use scs_conformance::definitions::waiver;
use scs_conformance::reports::escape::shell_quoted;
use scs_conformance::run::Pass;
use scs_conformance::verdict::NOT_A_CERTIFICATION;

use crate::args::{Definitions, FactArgs, NarrowArgs, StandardArgs};
use crate::{Failure, context};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  \
    scs-conformance plan --standard scs-0219-v1 --cni cilium --k8s-version 1.35 --list\n  \
    scs-conformance plan --standard scs-0201-v1 --inventory junit_01.xml.gz",
    mut_arg("cni", |a| a.help("The CNI whose waivers apply (NAME or NAME@VERSION)"))
)]
pub struct Args {
    #[command(flatten)]
    standard: StandardArgs,
    #[command(flatten)]
    facts: FactArgs,
    /// An e2e test inventory: any e2e JUnit report (.xml/.xml.gz) or a spec list (.txt/.txt.gz).
    #[arg(long, value_name = "FILE", conflicts_with = "k8s_version")]
    inventory: Option<PathBuf>,
    /// Use the built-in inventory of this Kubernetes version (e.g. 1.33).
    #[arg(long, value_name = "X.Y")]
    k8s_version: Option<String>,
    /// List every selected spec, not just the counts and the waived ones.
    #[arg(long)]
    list: bool,
    /// Plan as `run --run-waived` would: launch waived tests too.
    #[arg(long)]
    run_waived: bool,
    #[command(flatten)]
    narrow: NarrowArgs,
}

pub fn run(defs: &Definitions, args: Args) -> Result<u8, Failure> {
    let catalog = args.narrow.apply(context::catalog(defs)?, None)?;
    let target = args.standard.resolve(&catalog)?;
    let waivers = context::waivers(defs, &catalog)?;
    let ctx = args.facts.context(args.k8s_version.as_deref())?;
    let inventory = match (&args.inventory, &args.k8s_version) {
        (Some(path), _) => Some(Inventory::read(path).map_err(Failure::input)?),
        (None, Some(v)) => Some(Inventory::builtin(v).map_err(Failure::input)?),
        (None, None) => None,
    };

    crate::outln!(
        "Plan for {} (CNI {}, waivers as of {})",
        target.id(),
        ctx.cni,
        ctx.today
    );
    for (module, testcases) in catalog.modules_of(&target) {
        for tc in testcases {
            crate::outln!("\n{} / {}", module.id, tc.id);
            let e2e = match &tc.check {
                Check::E2e(e) => e,
                Check::Native(n) => {
                    crate::outln!(
                        "  native check {}: no e2e run",
                        serde_json::to_string(n)
                            .unwrap_or_default()
                            .trim_matches('"')
                    );
                    continue;
                }
            };
            crate::outln!(
                "  standard: focus {} skip {} parallel {}",
                shell_quoted(e2e.selection.focus()),
                shell_quoted(e2e.selection.skip()),
                e2e.parallel
            );
            if let Some(n) = e2e.selection.narrowing() {
                crate::outln!(
                    "  narrowed by --focus {} --skip {}: {}",
                    shell_quoted(n.focus()),
                    shell_quoted(n.skip()),
                    NOT_A_CERTIFICATION
                );
            }
            // Exactly what `run` would launch: waived tests skipped, [Serial] split.
            let launch_waivers: Vec<_> = if args.run_waived {
                Vec::new()
            } else {
                waiver::active_for(&waivers, tc, &ctx)
            };
            let passes =
                scs_conformance::run::plan_passes(e2e, &launch_waivers, inventory.as_ref());
            if let Some(note) = &passes.note {
                crate::outln!("  note: {note}");
            }
            for (i, pass) in passes.passes.iter().enumerate() {
                crate::outln!("  Sonobuoy run {}/{}:", i + 1, passes.passes.len());
                for (name, value) in plugin_env(e2e, pass) {
                    crate::outln!("    {name}={value}");
                }
            }
            let Some(inv) = &inventory else {
                crate::outln!(
                    "  (pass --k8s-version X.Y or --inventory FILE to see which specs this selects)"
                );
                continue;
            };
            let active = waiver::active_for(&waivers, tc, &ctx);
            let selected: Vec<&String> = inv
                .specs
                .iter()
                .filter(|s| e2e.selection.selects(s))
                .collect();
            let (waived, to_run): (Vec<&String>, Vec<&String>) = selected
                .iter()
                .partition(|s| active.iter().any(|w| w.matches(s)));
            let serial = to_run.iter().filter(|s| s.contains("[Serial]")).count();
            crate::outln!(
                "  {} of {} specs in {} selected: {} will run ({} of them [Serial]), {} waived",
                selected.len(),
                inv.specs.len(),
                inv.source,
                to_run.len(),
                serial,
                waived.len()
            );
            for s in &waived {
                if let Some(w) = active.iter().find(|w| w.matches(s)) {
                    crate::outln!("  waived by {}: {s}", w.id);
                }
            }
            if args.list {
                for s in &to_run {
                    crate::outln!("  run: {s}");
                }
            }
            if selected.is_empty() {
                crate::outln!(
                    "  WARNING: the selection matches no spec of this inventory; a run would be ABORT"
                );
            }
        }
    }
    Ok(0)
}

/// The e2e plugin's environment for one Sonobuoy run of a test case, as `plan` and the dry run
/// of `scs-check` show it: `E2E_FOCUS`, `E2E_SKIP`, `E2E_PARALLEL` and, when there are any,
/// `E2E_EXTRA_GINKGO_ARGS` (the standard's and the pass's, e.g. `--label-filter=Serial`).
pub fn plugin_env(e2e: &E2eCheck, pass: &Pass) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("E2E_FOCUS", pass.focus.clone()),
        ("E2E_SKIP", pass.skip.clone()),
        ("E2E_PARALLEL", pass.parallel.to_string()),
    ];
    let ginkgo: Vec<&str> = e2e
        .ginkgo_args
        .iter()
        .chain(&pass.ginkgo_args)
        .map(String::as_str)
        .collect();
    if !ginkgo.is_empty() {
        env.push(("E2E_EXTRA_GINKGO_ARGS", ginkgo.join(" ")));
    }
    env
}
