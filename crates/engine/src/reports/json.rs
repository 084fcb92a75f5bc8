//! `verdict.json`: the versioned, machine-readable verdict (schema: `docs/verdict.schema.json`).

use crate::verdict::certify::Certification;

/// Renders the document as pretty-printed JSON.
#[allow(clippy::expect_used)] // plain structs with string keys: serialising cannot fail
pub fn render(cert: &Certification) -> String {
    let mut s =
        serde_json::to_string_pretty(cert).expect("the verdict document is always serialisable");
    s.push('\n');
    s
}
