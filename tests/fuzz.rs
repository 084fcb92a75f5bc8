//! Never a panic on any input (issue 9): property tests that feed arbitrary and mutated bytes to
//! the JUnit reader, the results ingestion (tarballs, bare JUnit, gzip) and the loaders of
//! standard and waiver definitions. Each must parse or return an error; a panic fails the test.
//!
//! Seeds are the real fixtures (tests/fixtures/PROVENANCE.md) and the built-in definitions;
//! mutations flip, overwrite, insert (random bytes or tokens of the format), delete, duplicate
//! and truncate. Case counts are bounded (PROPTEST_CASES overrides them) so the whole file runs
//! in well under a minute on two cores.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::sample::select;
use scs_conformance::definitions::catalog::{Catalog, SourceFile};
use scs_conformance::definitions::{builtin, waiver};
use scs_conformance::evidence::e2e_junit::{self, ReadLimits};
use scs_conformance::evidence::results::{self, Limits};

/// `default` cases, unless PROPTEST_CASES says otherwise.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Failing inputs are printed; no regression files are written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel),
    )
    .unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Small real JUnit documents: a Ginkgo v1 report, and the head of a real Ginkgo v2 report (its
/// first 12 testcases, closed), so that mutations hit every part of the format.
fn junit_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let v2 =
            String::from_utf8(gunzip(&fixture("e2e/v1.33-viola-cilium.junit_01.xml.gz"))).unwrap();
        let end = v2
            .match_indices("</testcase>")
            .nth(11)
            .map(|(i, m)| i + m.len())
            .unwrap();
        let head = format!("{}\n</testsuite>\n</testsuites>\n", &v2[..end]);
        vec![fixture("e2e/ginkgo-v1-output2.xml"), head.into_bytes()]
    })
}

/// Tokens that matter to the formats: markup, entities, numbers at the edges, YAML syntax.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "\"",
    "'",
    "=",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&unknown;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>",
    "<testsuites>",
    "<testsuite tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" disabled=\"0\">",
    "</testsuite>",
    "<testcase name=\"[It] x\" classname=\"Kubernetes e2e suite\" time=\"1\">",
    "<testcase name=\"[SynchronizedAfterSuite]\" status=\"failed\">",
    "</testcase>",
    "<failure message=\"m\" type=\"t\">",
    "</failure>",
    "<error/>",
    "<skipped message=\"skip\"/>",
    "<property name=\"SuiteSucceeded\" value=\"false\"/>",
    "status=\"panicked\"",
    "time=\"1e300\"",
    "time=\"-1\"",
    "time=\"NaN\"",
    "tests=\"18446744073709551616\"",
    "failures=\"-3\"",
    "\0",
    "\u{fffd}",
    "\u{1F600}",
    "\r\n",
    "\t",
    ": ",
    "- ",
    "---\n",
    "{",
    "}",
    "[",
    "]",
    "&anchor ",
    "*anchor",
    "!!binary ",
    "<<: *a",
    "'unterminated",
    "~",
    "null",
    "2020-02-30",
    "v1.999999999999999999999.0",
    ">=1.31, <",
    "../",
    "/etc/passwd",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Duplicate { from: usize, len: usize, to: usize },
    Truncate { at: usize },
}

fn insertion() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 1..16),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        4 => (any::<usize>(), insertion()).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (any::<usize>(), 1usize..256, any::<usize>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// Applies the mutations in order; positions wrap around the current length.
fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in mutations {
        let n = b.len().max(1);
        match m {
            Mutation::Flip { at, bit } => {
                if let Some(x) = b.get_mut(at % n) {
                    *x ^= 1 << bit;
                }
            }
            Mutation::Set { at, byte } => {
                if let Some(x) = b.get_mut(at % n) {
                    *x = *byte;
                }
            }
            Mutation::Insert { at, bytes } => {
                let at = at % (b.len() + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Mutation::Duplicate { from, len, to } => {
                let from = from % n;
                let end = (from + len).min(b.len());
                if from < end {
                    let piece = b[from..end].to_vec();
                    let to = to % (b.len() + 1);
                    b.splice(to..to, piece);
                }
            }
            Mutation::Truncate { at } => b.truncate(at % (b.len() + 1)),
        }
    }
    b
}

/// Mutations of one of `seeds`.
fn mutated(seeds: &'static [Vec<u8>]) -> impl Strategy<Value = Vec<u8>> {
    (0..seeds.len(), proptest::collection::vec(mutation(), 1..12))
        .prop_map(move |(i, ms)| mutate(&seeds[i], &ms))
}

/// Results limits small enough that a case never writes much.
fn small_limits() -> Limits {
    Limits {
        max_entries: 2_000,
        max_file_bytes: 16 << 20,
        max_total_bytes: 64 << 20,
        junit: ReadLimits {
            max_bytes: 16 << 20,
            max_testcases: 100_000,
        },
        max_junit_files: 32,
    }
}

/// Writes `bytes` as a results file and loads it (extracting tarballs next to it).
fn load_bytes(bytes: &[u8], name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let _ = results::load(&path, Some(&dir.path().join("extracted")), small_limits());
}

/// A Sonobuoy-like archive of the seed JUnit and the metadata files the loader reads.
fn archive_tar(junit: &[u8], extra: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "plugins/e2e/results/global/junit_01.xml".into(),
            junit.to_vec(),
        ),
        (
            "plugins/e2e/results/global/e2e.log".into(),
            b"Ran 3 of 6735 Specs in 1.0 seconds\nSUCCESS! -- 3 Passed | 0 Failed | 0 Pending | 6732 Skipped\n".to_vec(),
        ),
        (
            "plugins/e2e/sonobuoy_results.yaml".into(),
            b"name: e2e\nstatus: passed\nitems:\n- name: global\n  status: passed\n  items:\n  - name: junit_01.xml\n    status: passed\n".to_vec(),
        ),
        (
            "serverversion.json".into(),
            br#"{"major":"1","minor":"33","gitVersion":"v1.33.1"}"#.to_vec(),
        ),
    ];
    files.extend(extra.iter().cloned());
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in &files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Arbitrary names go into the header as-is (set_path would refuse `..`).
        let raw = name.as_bytes();
        let field = &mut header.as_old_mut().name;
        let len = raw.len().min(field.len());
        field[..len].copy_from_slice(&raw[..len]);
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn entry_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "plugins/e2e/results/global/junit_02.xml",
                "plugins/e2e/results/junit_01.xml",
                "plugins/e2e/results/global/junit_01.xml",
                "plugins/e2e/results/global/e2e.log",
                "plugins/e2e/sonobuoy_results.yaml",
                "serverversion.json",
                "resources/cluster/apps_v1_daemonsets.json",
                "./",
                "../escape.xml",
                "/abs/junit_01.xml",
                "plugins/e2e/results/global/",
                "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/junit_9.xml",
            ][..]
        )
        .prop_map(String::from),
        "[a-z./_]{0,40}",
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn junit_reader_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = e2e_junit::parse(&bytes);
    }

    #[test]
    fn junit_reader_survives_token_soup(tokens in proptest::collection::vec(select(TOKENS), 0..60)) {
        let _ = e2e_junit::parse(tokens.concat().as_bytes());
    }

    #[test]
    fn junit_reader_survives_mutated_real_reports(bytes in mutated(junit_seeds())) {
        let _ = e2e_junit::parse(&bytes);
        let _ = e2e_junit::read(bytes.as_slice(), ReadLimits { max_bytes: 1 << 20, max_testcases: 50 });
    }

    #[test]
    fn results_survive_mutated_bare_junit(bytes in mutated(junit_seeds()), gz in any::<bool>()) {
        if gz {
            load_bytes(&gzip(&bytes), "junit_01.xml.gz");
        } else {
            load_bytes(&bytes, "junit_01.xml");
        }
    }

    #[test]
    fn results_survive_mutated_archives(
        seed in 0..2usize,
        extra in proptest::collection::vec((entry_name(), proptest::collection::vec(any::<u8>(), 0..64)), 0..4),
        mutations in proptest::collection::vec(mutation(), 0..6),
        gz in any::<bool>(),
    ) {
        let tar = mutate(&archive_tar(&junit_seeds()[seed], &extra), &mutations);
        if gz {
            load_bytes(&gzip(&tar), "results.tar.gz");
        } else {
            load_bytes(&tar, "results.tar");
        }
    }

    #[test]
    fn standards_loader_survives_mutations(
        file in 0..builtin::standards().len(),
        mutations in proptest::collection::vec(mutation(), 1..10),
    ) {
        let mut files = builtin::standards();
        let text = mutate(files[file].text.as_bytes(), &mutations);
        files[file].text = String::from_utf8_lossy(&text).into_owned();
        let _ = Catalog::load(&files);
    }

    #[test]
    fn standards_loader_survives_token_soup(tokens in proptest::collection::vec(select(TOKENS), 0..60)) {
        let _ = Catalog::load(&[SourceFile { name: "fuzz.yaml".into(), text: tokens.concat() }]);
    }

    #[test]
    fn waiver_loaders_survive_mutations(
        file in 0..builtin::waivers().len(),
        mutations in proptest::collection::vec(mutation(), 1..10),
    ) {
        let catalog = catalog();
        let mut files = builtin::waivers();
        let text = mutate(files[file].text.as_bytes(), &mutations);
        files[file].text = String::from_utf8_lossy(&text).into_owned();
        let _ = waiver::load(&files, catalog);
        let _ = waiver::from_scs_ok_to_fail(&files[file]);
    }

    #[test]
    fn scs_ok_to_fail_loader_survives_mutations(bytes in mutated(scs_config())) {
        let file = SourceFile { name: "scs.yaml".into(), text: String::from_utf8_lossy(&bytes).into_owned() };
        let _ = waiver::from_scs_ok_to_fail(&file);
    }
}

proptest! {
    // A real archive (2.5 MB decompressed): fewer cases.
    #![proptest_config(config(24))]

    #[test]
    fn results_survive_a_mutated_real_archive(mutations in proptest::collection::vec(mutation(), 1..8), compressed in any::<bool>()) {
        let gz = fixture("derived/sonobuoy-v1.33-netpol-cilium.tar.gz");
        if compressed {
            load_bytes(&mutate(&gz, &mutations), "results.tar.gz");
        } else {
            load_bytes(&gzip(&mutate(&gunzip(&gz), &mutations)), "results.tar.gz");
        }
    }
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::load(&builtin::standards()).unwrap())
}

fn scs_config() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| vec![fixture("scs/scs-sonobuoy-config-v1.yaml")])
}
