//! Every built-in inventory plans exactly what its Kubernetes release defines as conformance.
//!
//! The expected numbers are facts of each release, not of this tool: the `[Conformance]` specs
//! are the entries of that release's `test/conformance/testdata/conformance.yaml` (1.31-1.33
//! also match the real CNCF conformance reports in tests/fixtures/), and SCS-0219-v1 selects the
//! TCP and UDP NetworkPolicy specs of the suite (1.37 added one). A regenerated inventory that
//! lost or gained specs shows here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

struct Release {
    minor: &'static str,
    specs: usize,
    conformance: usize,
    serial: usize,
    networkpolicy: usize,
}

const RELEASES: &[Release] = &[
    Release {
        minor: "1.31",
        specs: 6605,
        conformance: 404,
        serial: 25,
        networkpolicy: 47,
    },
    Release {
        minor: "1.32",
        specs: 6622,
        conformance: 411,
        serial: 25,
        networkpolicy: 47,
    },
    Release {
        minor: "1.33",
        specs: 6731,
        conformance: 419,
        serial: 28,
        networkpolicy: 47,
    },
    Release {
        minor: "1.34",
        specs: 7144,
        conformance: 424,
        serial: 28,
        networkpolicy: 47,
    },
    Release {
        minor: "1.35",
        specs: 7355,
        conformance: 441,
        serial: 28,
        networkpolicy: 47,
    },
    Release {
        minor: "1.36",
        specs: 7579,
        conformance: 446,
        serial: 28,
        networkpolicy: 47,
    },
    Release {
        minor: "1.37",
        specs: 3206,
        conformance: 462,
        serial: 28,
        networkpolicy: 48,
    },
];

fn plan(standard: &str, minor: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_scs-conformance"))
        .args([
            "plan",
            "--standard",
            standard,
            "--k8s-version",
            minor,
            "--list",
        ])
        .args(["--color", "never", "--date", "2026-12-01"])
        .output()
        .expect("scs-conformance runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "plan {standard} {minor}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn every_supported_minor_from_1_31_to_1_37_has_a_built_in_inventory() {
    let minors: Vec<&str> = RELEASES.iter().map(|r| r.minor).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_scs-conformance"))
        .args(["plan", "--standard", "scs-0219-v1", "--k8s-version", "1.30"])
        .output()
        .expect("scs-conformance runs");
    assert_eq!(out.status.code(), Some(2), "1.30 has no built-in inventory");
    let err = String::from_utf8_lossy(&out.stderr);
    for minor in minors {
        assert!(
            err.contains(&format!("v{minor}")),
            "{minor} missing from: {err}"
        );
    }
}

#[test]
fn conformance_plans_every_conformance_spec_of_the_release_with_an_exact_serial_pass() {
    for r in RELEASES {
        let text = plan("scs-0201-v1", r.minor);
        let selected = format!(
            "{} of {} specs in built-in inventory v{} selected",
            r.conformance, r.specs, r.minor
        );
        assert!(
            text.contains(&selected),
            "v{}: {selected} in\n{text}",
            r.minor
        );
        // The four waived specs are SCS's generic ones (waivers/), none of them [Serial].
        let will_run = format!(
            "{} will run ({} of them [Serial]), 4 waived",
            r.conformance - 4,
            r.serial
        );
        assert!(
            text.contains(&will_run),
            "v{}: {will_run} in\n{text}",
            r.minor
        );
        let serial_pass = format!(
            "{} selected [Serial] specs run in a second, serial pass",
            r.serial
        );
        assert!(
            text.contains(&serial_pass),
            "v{}: {serial_pass} in\n{text}",
            r.minor
        );
    }
}

#[test]
fn networking_plans_the_networkpolicy_specs_of_the_release_in_one_parallel_pass() {
    for r in RELEASES {
        let text = plan("scs-0219-v1", r.minor);
        let selected = format!(
            "{} of {} specs in built-in inventory v{} selected",
            r.networkpolicy, r.specs, r.minor
        );
        assert!(
            text.contains(&selected),
            "v{}: {selected} in\n{text}",
            r.minor
        );
        assert!(
            text.contains("(0 of them [Serial])"),
            "v{}: no serial pass for NetworkPolicy:\n{text}",
            r.minor
        );
        let runs: Vec<&str> = text
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with("run: ") || l.starts_with("waived by ")
            })
            .collect();
        assert_eq!(
            runs.len(),
            r.networkpolicy,
            "v{}: every selected spec listed (run or waived)",
            r.minor
        );
        assert!(
            runs.iter()
                .all(|l| !l.contains("[Feature:SCTPConnectivity]")),
            "v{}: SCTP connectivity is optional in SCS and never selected:\n{text}",
            r.minor
        );
    }
}
