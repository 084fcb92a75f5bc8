//! Planning the Sonobuoy runs of an e2e test case, and merging the reports of several runs.

use std::collections::HashMap;

use crate::definitions::catalog::E2eCheck;
use crate::definitions::inventory::Inventory;
use crate::definitions::waiver::Waiver;
use crate::evidence::e2e_junit::{E2eReport, Skip, TestResult};

/// The Sonobuoy runs for one e2e test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Passes {
    pub passes: Vec<Pass>,
    /// Why the plan is what it is, when it deviates from one parallel run.
    pub note: Option<String>,
}

/// One Sonobuoy run's selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub focus: String,
    pub skip: String,
    pub parallel: bool,
    /// Ginkgo flags this pass needs besides the standard's (`--label-filter=Serial`).
    pub ginkgo_args: Vec<String>,
}

/// Plans the Sonobuoy runs for a test case:
/// - the standard's focus, and its skip plus the active waivers' test patterns (waived tests are
///   not launched), always set explicitly;
/// - parallel when the standard allows it. The conformance image skips `[Serial]` specs in a
///   parallel run with an empty skip, so selected `[Serial]` specs run in a second, serial pass:
///   selected by their exact names from the inventory of the cluster's version, or, without an
///   inventory, by Ginkgo's label filter `Serial` (Kubernetes' `framework.WithSerial` adds the
///   label with the `[Serial]` text). A spec that neither pass ran shows up as not run in the
///   verdict (ABORT), never silently.
///
/// A selection narrowed by `--focus`/`--skip` cannot be one Ginkgo focus (Ginkgo ORs focuses,
/// it cannot AND them): with an inventory its specs are launched by their exact names; without,
/// the command line's focus (else the standard's) runs with every skip, and the evaluation keeps
/// only what the narrowed selection selects.
pub fn plan_passes(
    e2e: &E2eCheck,
    active_waivers: &[&Waiver],
    inventory: Option<&Inventory>,
) -> Passes {
    let mut focus = e2e.selection.focus().to_string();
    let mut skips: Vec<String> = Vec::new();
    if !e2e.selection.skip().is_empty() {
        skips.push(e2e.selection.skip().to_string());
    }
    skips.extend(active_waivers.iter().map(|w| w.test.as_str().to_string()));
    let mut inventory = inventory;
    if let Some(narrowing) = e2e.selection.narrowing() {
        if let Some(inv) = inventory {
            let chosen: Vec<&String> = inv
                .specs
                .iter()
                .filter(|s| {
                    e2e.selection.selects(s) && !active_waivers.iter().any(|w| w.matches(s))
                })
                .collect();
            if !chosen.is_empty() {
                return exact_passes(&chosen, e2e.parallel);
            }
        }
        if !narrowing.focus().is_empty() {
            focus = narrowing.focus().to_string();
        }
        if !narrowing.skip().is_empty() {
            skips.push(narrowing.skip().to_string());
        }
        inventory = None;
    }
    let skip = alternation(&skips);
    let single = |parallel| Pass {
        focus: focus.clone(),
        skip: skip.clone(),
        parallel,
        ginkgo_args: Vec::new(),
    };
    if !e2e.parallel {
        return Passes {
            passes: vec![single(false)],
            note: None,
        };
    }
    let mut parallel_skips = skips.clone();
    parallel_skips.push(r"\[Serial\]".into());
    let parallel_pass = Pass {
        focus: focus.clone(),
        skip: alternation(&parallel_skips),
        parallel: true,
        ginkgo_args: Vec::new(),
    };
    let Some(inv) = inventory else {
        return Passes {
            passes: vec![
                parallel_pass,
                Pass { focus: focus.clone(), skip: skip.clone(), parallel: false, ginkgo_args: vec!["--label-filter=Serial".into()] },
            ],
            note: Some("no e2e inventory for this Kubernetes version: [Serial] specs run in a second, serial pass selected by the Ginkgo label Serial".into()),
        };
    };
    let serial: Vec<&String> = inv
        .specs
        .iter()
        .filter(|s| {
            s.contains("[Serial]")
                && e2e.selection.selects(s)
                && !active_waivers.iter().any(|w| w.matches(s))
        })
        .collect();
    if serial.is_empty() {
        return Passes {
            passes: vec![single(true)],
            note: None,
        };
    }
    let serial_focus = alternation(&serial.iter().map(|s| regex::escape(s)).collect::<Vec<_>>());
    Passes {
        passes: vec![
            parallel_pass,
            Pass {
                focus: serial_focus,
                skip,
                parallel: false,
                ginkgo_args: Vec::new(),
            },
        ],
        note: Some(format!(
            "{} selected [Serial] specs run in a second, serial pass",
            serial.len()
        )),
    }
}

/// Plans the Sonobuoy runs of a rerun (`rerun-failed`): exactly the named specs that the test
/// case's selection selects, minus those an active waiver covers, by their exact names, with the
/// `[Serial]` ones in a serial pass of their own (as for a narrowed selection).
pub fn plan_exact(e2e: &E2eCheck, specs: &[String], active_waivers: &[&Waiver]) -> Passes {
    let chosen: Vec<&String> = specs
        .iter()
        .filter(|s| e2e.selection.selects(s) && !active_waivers.iter().any(|w| w.matches(s)))
        .collect();
    let mut passes = exact_passes(&chosen, e2e.parallel);
    passes.note = Some(format!(
        "rerun: {} of {} spec(s) launched by their exact names",
        chosen.len(),
        specs.len()
    ));
    passes
}

/// The exact specs of a narrowed selection: the non-`[Serial]` ones in one (parallel when the
/// standard allows it) pass, the `[Serial]` ones in a serial pass.
fn exact_passes(chosen: &[&String], parallel: bool) -> Passes {
    let exact = |specs: &[&&String]| {
        alternation(&specs.iter().map(|s| regex::escape(s)).collect::<Vec<_>>())
    };
    let (serial, other): (Vec<&&String>, Vec<&&String>) =
        chosen.iter().partition(|s| s.contains("[Serial]"));
    let mut passes = Vec::new();
    if !other.is_empty() {
        passes.push(Pass {
            focus: exact(&other),
            skip: String::new(),
            parallel: parallel && other.len() > 1,
            ginkgo_args: Vec::new(),
        });
    }
    if !serial.is_empty() {
        passes.push(Pass {
            focus: exact(&serial),
            skip: String::new(),
            parallel: false,
            ginkgo_args: Vec::new(),
        });
    }
    Passes {
        passes,
        note: Some(format!(
            "--focus/--skip: {} spec(s) of the inventory, launched by their exact names",
            chosen.len()
        )),
    }
}

/// `a|b|c`, each alternative grouped when it has its own alternation.
fn alternation(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        many => many
            .iter()
            .map(|p| {
                if p.contains('|') {
                    format!("(?:{p})")
                } else {
                    p.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("|"),
    }
}

/// Merges the reports of several passes over the same suite: a spec's result is the one from the
/// pass that ran it.
pub fn merge_reports(mut reports: Vec<E2eReport>) -> E2eReport {
    if reports.is_empty() {
        return E2eReport::default();
    }
    let mut merged = reports.remove(0);
    for mut other in reports {
        // A failed suite node or an inconsistency of any pass concerns the merged evidence.
        merged.suite_failures.append(&mut other.suite_failures);
        merged.discrepancies.append(&mut other.discrepancies);
        let mut index: HashMap<String, usize> = merged
            .tests
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        for t in other.tests {
            match index.get(&t.name) {
                Some(&i) => {
                    if matches!(
                        merged.tests[i].result,
                        TestResult::Skipped(Skip::NotSelected | Skip::Unspecified)
                    ) {
                        merged.tests[i] = t;
                    }
                }
                None => {
                    index.insert(t.name.clone(), merged.tests.len());
                    merged.tests.push(t);
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::catalog::{Catalog, Check};
    use crate::definitions::selection::{Narrowing, Selection};
    use crate::definitions::{builtin, waiver};

    fn e2e(catalog: &Catalog, id: &str) -> E2eCheck {
        match &catalog.testcase(id).unwrap().1.check {
            Check::E2e(e) => e.clone(),
            Check::Native(_) => unreachable!(),
        }
    }

    fn inventory(specs: &[&str]) -> Inventory {
        Inventory {
            source: "test".into(),
            specs: specs.iter().map(|s| s.to_string()).collect(),
        }
    }

    const SERIAL: &str =
        "[sig-apps] Daemon set [Serial] should run and stop simple daemon [Conformance]";
    const PARALLEL: &str =
        "[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]";

    #[test]
    fn selected_serial_specs_get_a_serial_pass_by_exact_name() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let p = plan_passes(
            &e2e(&catalog, "cncf-k8s-conformance"),
            &[],
            Some(&inventory(&[SERIAL, PARALLEL])),
        );
        assert_eq!(p.passes.len(), 2);
        assert!(p.passes[0].parallel && p.passes[0].skip.ends_with(r"\[Serial\]"));
        let serial = &p.passes[1];
        assert!(!serial.parallel);
        assert_eq!(serial.focus, regex::escape(SERIAL));
        assert_eq!(
            serial.skip, "",
            "certified-conformance semantics: nothing skipped"
        );
    }

    #[test]
    fn a_narrowed_selection_launches_its_specs_by_exact_name() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let narrowing = Narrowing::new(Some("allow-all|deny-all"), None)
            .unwrap()
            .unwrap();
        let narrowed = catalog.narrowed(&narrowing);
        let inv = Inventory::builtin("1.33").unwrap();
        let p = plan_passes(&e2e(&narrowed, "kaas-networking-check"), &[], Some(&inv));
        let chosen: Vec<&String> = inv
            .specs
            .iter()
            .filter(|s| e2e(&narrowed, "kaas-networking-check").selection.selects(s))
            .collect();
        assert!(!chosen.is_empty() && chosen.len() < 10, "{chosen:?}");
        assert_eq!(p.passes.len(), 1);
        let launched = Selection::new(&p.passes[0].focus, &p.passes[0].skip).unwrap();
        for spec in &inv.specs {
            assert_eq!(launched.selects(spec), chosen.contains(&spec), "{spec}");
        }
    }

    #[test]
    fn without_an_inventory_a_narrowed_selection_runs_the_command_lines_focus() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let narrowing = Narrowing::new(Some("allow-all"), Some("ingress"))
            .unwrap()
            .unwrap();
        let narrowed = catalog.narrowed(&narrowing);
        let p = plan_passes(&e2e(&narrowed, "kaas-networking-check"), &[], None);
        assert_eq!(p.passes[0].focus, "allow-all");
        assert!(p.passes[0].skip.contains("ingress"), "{:?}", p.passes[0]);
        assert!(
            p.passes[0].skip.contains("SCTPConnectivity"),
            "{:?}",
            p.passes[0]
        );
    }

    #[test]
    fn without_serial_specs_one_parallel_pass() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let p = plan_passes(
            &e2e(&catalog, "kaas-networking-check"),
            &[],
            Some(&Inventory::builtin("1.33").unwrap()),
        );
        assert_eq!(
            p.passes,
            vec![Pass {
                focus: e2e(&catalog, "kaas-networking-check")
                    .selection
                    .focus()
                    .into(),
                skip: r"\[Feature:SCTPConnectivity\]".into(),
                parallel: true,
                ginkgo_args: vec![]
            }]
        );
    }

    #[test]
    fn without_an_inventory_the_serial_pass_uses_the_serial_label() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let p = plan_passes(&e2e(&catalog, "cncf-k8s-conformance"), &[], None);
        assert_eq!(p.passes.len(), 2);
        assert_eq!(
            p.passes[1].ginkgo_args,
            vec!["--label-filter=Serial".to_string()]
        );
        assert_eq!(p.passes[1].focus, r"\[Conformance\]");
        assert!(p.note.unwrap().contains("label"));
    }

    #[test]
    fn active_waivers_are_skipped_at_launch() {
        let catalog = Catalog::load(&builtin::standards()).unwrap();
        let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
        let cilium: Vec<&Waiver> = waivers
            .iter()
            .filter(|w| w.id.starts_with("cilium-"))
            .collect();
        let p = plan_passes(
            &e2e(&catalog, "kaas-networking-check"),
            &cilium,
            Some(&inventory(&[PARALLEL])),
        );
        assert_eq!(p.passes.len(), 1);
        assert!(
            p.passes[0]
                .skip
                .starts_with(r"\[Feature:SCTPConnectivity\]|")
        );
        assert!(
            p.passes[0]
                .skip
                .contains("should allow egress access to server in CIDR block")
        );
        assert!(
            crate::definitions::selection::Selection::new(&p.passes[0].focus, &p.passes[0].skip)
                .is_ok(),
            "the combined skip is a valid regex"
        );
    }

    #[test]
    fn merged_reports_take_each_spec_from_the_pass_that_ran_it() {
        use crate::evidence::e2e_junit::{E2eTest, GinkgoFormat};
        let t = |name: &str, result| E2eTest {
            name: name.into(),
            result,
            duration: None,
        };
        let a = E2eReport {
            format: GinkgoFormat::V2,
            tests: vec![
                t("a", TestResult::Passed),
                t("b", TestResult::Skipped(Skip::NotSelected)),
            ],
            ..Default::default()
        };
        let b = E2eReport {
            format: GinkgoFormat::V2,
            tests: vec![
                t("a", TestResult::Skipped(Skip::NotSelected)),
                t("b", TestResult::Passed),
            ],
            ..Default::default()
        };
        let m = merge_reports(vec![a, b]);
        assert!(m.tests.iter().all(|t| t.result == TestResult::Passed));
    }
}
