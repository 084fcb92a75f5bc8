//! Benchmarks of the verdict path on the real 2.3 MB v1.33 conformance JUnit (6,735 testcases).
//! Method and figures: docs/performance.md.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;

use criterion::{Criterion, criterion_group, criterion_main};
use scs_conformance::definitions::builtin;
use scs_conformance::definitions::catalog::{Catalog, Check};
use scs_conformance::definitions::waiver::{self, ClusterContext};
use scs_conformance::evidence::cni::Cni;
use scs_conformance::evidence::e2e_junit;
use scs_conformance::reports;
use scs_conformance::verdict::certify;
use scs_conformance::verdict::{Evidence, evaluate_testcase};

fn junit() -> Vec<u8> {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/e2e/v1.33-viola-cilium.junit_01.xml.gz"
    ))
    .unwrap();
    let mut xml = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut xml)
        .unwrap();
    xml
}

fn benches(c: &mut Criterion) {
    let xml = junit();
    let catalog = Catalog::load(&builtin::standards()).unwrap();
    let waivers = waiver::load(&builtin::waivers(), &catalog).unwrap();
    let ctx = ClusterContext {
        cni: Cni::from_flag("cilium").unwrap(),
        kubernetes: None,
        today: jiff::civil::date(2026, 11, 25),
    };
    let report = e2e_junit::parse(&xml).unwrap();
    let (_, conformance) = catalog.testcase("cncf-k8s-conformance").unwrap();
    let (_, netpol) = catalog.testcase("kaas-networking-check").unwrap();
    assert!(matches!(conformance.check, Check::E2e(_)));

    c.bench_function("parse junit 2.3 MB", |b| {
        b.iter(|| e2e_junit::parse(std::hint::black_box(&xml)).unwrap())
    });
    c.bench_function("evaluate cncf-k8s-conformance", |b| {
        b.iter(|| evaluate_testcase(conformance, Evidence::Report(&report), &waivers, &ctx))
    });
    c.bench_function("evaluate kaas-networking-check", |b| {
        b.iter(|| evaluate_testcase(netpol, Evidence::Report(&report), &waivers, &ctx))
    });
    c.bench_function("load built-in standards and waivers", |b| {
        b.iter(|| {
            let catalog = Catalog::load(&builtin::standards()).unwrap();
            waiver::load(&builtin::waivers(), &catalog).unwrap()
        })
    });
    let target = catalog.resolve("scs-0201-v1", None).unwrap();
    let cert = certify::certify(
        &catalog,
        &target,
        |_| Evidence::Report(&report),
        &waivers,
        &ctx,
        certify::ClusterFacts {
            kubernetes_version: None,
            cni: ctx.cni.clone(),
            nodes: Vec::new(),
            id: None,
        },
        None,
    );
    c.bench_function("render verdict.json + junit.xml + summary.md", |b| {
        b.iter(|| {
            (
                reports::json::render(&cert),
                reports::junit::render(&cert),
                reports::markdown::render(&cert),
            )
        })
    });
}

criterion_group!(name = verdict; config = Criterion::default().sample_size(50); targets = benches);
criterion_main!(verdict);
