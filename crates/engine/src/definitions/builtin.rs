//! The standard definitions, waivers, inventories and e2e image lists shipped with the binary,
//! so that `scs-conformance` works from any directory. `--standards-dir` / `--waivers-dir`
//! replace them.

use crate::definitions::catalog::SourceFile;

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../../", $path)))),*]
    };
}

const STANDARDS: &[(&str, &str)] = files!(
    "standards/scs-0201-v1.yaml",
    "standards/scs-0210-v2.yaml",
    "standards/scs-0214-v2.yaml",
    "standards/scs-0219-v1.yaml",
    "standards/scs-compatible-kaas.yaml",
);

const WAIVERS: &[(&str, &str)] = files!("waivers/any.yaml", "waivers/cilium.yaml");

/// The definition behind `quick`: one spec that proves a cluster can run Sonobuoy at all. Kept
/// apart from the standards so that it never appears in a scope or a listing.
pub fn smoke_test() -> Vec<SourceFile> {
    vec![SourceFile {
        name: "(built in) smoke-test.yaml".into(),
        text: include_str!("smoke-test.yaml").into(),
    }]
}

/// Inventories by Kubernetes minor (`v1.33`), gzipped text.
pub const INVENTORIES: &[(&str, &[u8])] = &[
    (
        "v1.31",
        include_bytes!("../../../../inventories/v1.31.txt.gz"),
    ),
    (
        "v1.32",
        include_bytes!("../../../../inventories/v1.32.txt.gz"),
    ),
    (
        "v1.33",
        include_bytes!("../../../../inventories/v1.33.txt.gz"),
    ),
    (
        "v1.34",
        include_bytes!("../../../../inventories/v1.34.txt.gz"),
    ),
    (
        "v1.35",
        include_bytes!("../../../../inventories/v1.35.txt.gz"),
    ),
    (
        "v1.36",
        include_bytes!("../../../../inventories/v1.36.txt.gz"),
    ),
    (
        "v1.37",
        include_bytes!("../../../../inventories/v1.37.txt.gz"),
    ),
];

/// The e2e test images of each release of the minors above (`data/e2e-images.json`, generated
/// by `data/generate-e2e-images`; read by [`crate::definitions::images`]).
pub const E2E_IMAGES: &str = include_str!("../../../../data/e2e-images.json");

fn sources(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(name, text)| SourceFile {
            name: format!("{name} (built in)"),
            text: (*text).to_string(),
        })
        .collect()
}

/// The built-in standard definitions.
pub fn standards() -> Vec<SourceFile> {
    sources(STANDARDS)
}

/// The built-in waiver files.
pub fn waivers() -> Vec<SourceFile> {
    sources(WAIVERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(dir: &str, files: &[(&str, &str)]) {
        // The data directories are at the workspace root, two levels above this crate.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut on_disk: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let built_in: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            on_disk, built_in,
            "every file in {dir}/ must be built in (src/builtin.rs)"
        );
    }

    #[test]
    fn every_shipped_file_is_built_in() {
        listed("standards", STANDARDS);
        listed("waivers", WAIVERS);
    }

    #[test]
    fn the_smoke_test_selects_one_spec_in_every_built_in_inventory() {
        use crate::definitions::catalog::{Catalog, Check};
        use crate::definitions::inventory::Inventory;
        let catalog = Catalog::load(&smoke_test()).unwrap();
        let Check::E2e(e2e) = &catalog.modules[0].testcases[0].check else {
            panic!("an e2e test case")
        };
        for (minor, _) in INVENTORIES {
            let inventory = Inventory::builtin(minor).unwrap();
            let selected: Vec<&String> = inventory
                .specs
                .iter()
                .filter(|s| {
                    e2e.selection
                        .selects(crate::definitions::testname::spec_text(s))
                })
                .collect();
            assert_eq!(selected.len(), 1, "{minor}: {selected:?}");
        }
    }
}
