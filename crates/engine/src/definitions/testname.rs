//! Kubernetes e2e test names and the drift between Kubernetes versions.
//!
//! Ginkgo v2 JUnit names carry an `[It] ` prefix that Ginkgo v1 names and focus/skip matching do
//! not; we drop it everywhere. Between Kubernetes minors the same test has also been written with
//! different spacing around its tags (`MatchExpressions[Feature:NetworkPolicy]` in 1.28,
//! `MatchExpressions [Feature:NetworkPolicy]` from 1.29) and with trailing tags added or removed
//! (`[Feature:UDP]` until 1.30). [`canonical`] gives a form in which such variants compare equal,
//! so waivers and inventories written for one version keep matching the next.

/// The prefix Ginkgo v2 puts before the spec text of an `It` node.
const IT_PREFIX: &str = "[It] ";

/// The test name as Ginkgo's focus and skip see it: without the `[It] ` prefix and trimmed.
pub fn spec_text(junit_name: &str) -> &str {
    let name = junit_name.trim();
    name.strip_prefix(IT_PREFIX).unwrap_or(name).trim_start()
}

/// A spacing-insensitive form of a test name: one space between words, exactly one space
/// before every `[tag]` and none inside `][`-joined tag runs, `[It] ` removed.
pub fn canonical(name: &str) -> String {
    let text = spec_text(name);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        if c == '[' && !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// A key of a name's spec text without its whitespace: the number of other bytes and a hash of
/// the first 32 of them. [`canonical`] changes only whitespace, so names with equal canonical
/// forms have equal keys: a cheap filter before comparing canonical forms (no allocation; the
/// count is a vectorised pass for ASCII names).
pub fn spacing_free_key(name: &str) -> (usize, u64) {
    const PRIME: u64 = 0x0100_0000_01b3;
    const PREFIX: usize = 32;
    let text = spec_text(name);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut hashed = 0;
    let mut feed = |b: u8| {
        if hashed < PREFIX {
            hash = (hash ^ u64::from(b)).wrapping_mul(PRIME);
            hashed += 1;
        }
    };
    // `char::is_whitespace` on ASCII: tab, line feed, vertical tab, form feed, return, space.
    let ascii_space = |b: u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let count = if text.is_ascii() {
        for &b in text
            .as_bytes()
            .iter()
            .filter(|&&b| !ascii_space(b))
            .take(PREFIX)
        {
            feed(b);
        }
        text.bytes().filter(|&b| !ascii_space(b)).count()
    } else {
        let mut count = 0;
        for c in text.chars().filter(|c| !c.is_whitespace()) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                feed(b);
                count += 1;
            }
        }
        count
    };
    (count, hash)
}

/// The SIG that owns a test, from its leading `[sig-xxx]` tag (`sig-network`), used as the JUnit
/// `classname` so reporters group tests by owner.
pub fn sig(name: &str) -> Option<&str> {
    let text = spec_text(name);
    let rest = text.strip_prefix('[')?;
    let end = rest.find(']')?;
    let tag = &rest[..end];
    tag.starts_with("sig-").then_some(tag)
}

/// Ginkgo v2's suite bookkeeping nodes, present in every JUnit and not tests of the cluster.
pub fn is_suite_node(junit_name: &str) -> bool {
    let name = junit_name.trim_start();
    [
        "[ReportBeforeSuite]",
        "[SynchronizedBeforeSuite]",
        "[SynchronizedAfterSuite]",
        "[ReportAfterSuite]",
        "[BeforeSuite]",
        "[AfterSuite]",
        "[DeferCleanup (Suite)]",
    ]
    .iter()
    .any(|node| name.starts_with(node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_prefix_is_dropped() {
        assert_eq!(
            spec_text("[It] [sig-network] Netpol API should x"),
            "[sig-network] Netpol API should x"
        );
        assert_eq!(spec_text("[sig-node] Pods x"), "[sig-node] Pods x");
    }

    #[test]
    fn tag_spacing_of_1_28_and_1_29_compare_equal() {
        let v128 = "[sig-network] Netpol NetworkPolicy between server and client should enforce policy based on PodSelector with MatchExpressions[Feature:NetworkPolicy]";
        let v129 = "[It] [sig-network] Netpol NetworkPolicy between server and client should enforce policy based on PodSelector with MatchExpressions [Feature:NetworkPolicy]";
        assert_eq!(canonical(v128), canonical(v129));
        assert_eq!(spacing_free_key(v128), spacing_free_key(v129));
        // Unicode and ASCII vertical tab are whitespace to `canonical` as well.
        assert_eq!(
            spacing_free_key("a\u{0b}b\u{a0}c\u{3000}d é"),
            spacing_free_key("abcdé")
        );
        assert_ne!(spacing_free_key("ab"), spacing_free_key("ba"));
        assert_eq!(
            canonical("Netpol [Feature:SCTPConnectivity][LinuxOnly]  NetworkPolicy"),
            "Netpol [Feature:SCTPConnectivity] [LinuxOnly] NetworkPolicy"
        );
    }

    #[test]
    fn sig_comes_from_the_leading_tag() {
        assert_eq!(sig("[It] [sig-network] Netpol API x"), Some("sig-network"));
        assert_eq!(sig("[k8s.io] Probing"), None);
        assert_eq!(sig("no tag"), None);
    }

    #[test]
    fn suite_nodes_are_recognised() {
        assert!(is_suite_node(
            "[ReportAfterSuite] Kubernetes e2e suite report"
        ));
        assert!(is_suite_node("[SynchronizedBeforeSuite]"));
        assert!(!is_suite_node("[It] [sig-node] Pods"));
    }
}
