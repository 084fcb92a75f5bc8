//! Ginkgo focus/skip selection, evaluated the way the e2e binary does.
//!
//! Ginkgo v2 matches focus and skip (Go RE2, case-sensitive, unanchored) against the suite
//! description, a space and the spec text (`onsi/ginkgo internal/focus.go`). Rust's `regex`
//! implements the same RE2 syntax, so a selection that compiles here selects the same specs.

use regex::Regex;

/// The suite description Ginkgo prepends to every spec text before matching.
const SUITE_DESCRIPTION: &str = "Kubernetes e2e suite";

/// A compiled e2e focus and skip.
#[derive(Debug, Clone)]
pub struct Selection {
    focus: Regex,
    skip: Option<Regex>,
    narrowing: Option<Narrowing>,
}

/// A narrowing from the command line (`--focus`/`--skip` on top of a standard): a spec must also
/// match `focus` and must not match `skip`. A narrowed selection certifies nothing.
#[derive(Debug, Clone)]
pub struct Narrowing {
    focus: Option<Regex>,
    skip: Option<Regex>,
}

impl Narrowing {
    /// Compiles a narrowing; `None` when neither is given.
    pub fn new(focus: Option<&str>, skip: Option<&str>) -> Result<Option<Self>, regex::Error> {
        let compile = |p: Option<&str>| p.filter(|p| !p.is_empty()).map(Regex::new).transpose();
        let (focus, skip) = (compile(focus)?, compile(skip)?);
        Ok((focus.is_some() || skip.is_some()).then_some(Narrowing { focus, skip }))
    }

    /// The extra focus as written (empty: none).
    pub fn focus(&self) -> &str {
        self.focus.as_ref().map_or("", Regex::as_str)
    }

    /// The extra skip as written (empty: none).
    pub fn skip(&self) -> &str {
        self.skip.as_ref().map_or("", Regex::as_str)
    }

    fn admits(&self, haystack: &str) -> bool {
        self.focus.as_ref().is_none_or(|f| f.is_match(haystack))
            && !self.skip.as_ref().is_some_and(|s| s.is_match(haystack))
    }
}

impl Selection {
    /// Compiles a selection; an empty `skip` skips nothing. The focus must not be empty: the
    /// conformance image would turn an empty focus into `\[Conformance\]`.
    pub fn new(focus: &str, skip: &str) -> Result<Self, regex::Error> {
        let focus = Regex::new(focus)?;
        let skip = if skip.is_empty() {
            None
        } else {
            Some(Regex::new(skip)?)
        };
        Ok(Self {
            focus,
            skip,
            narrowing: None,
        })
    }

    /// This selection, narrowed further.
    pub fn narrowed(&self, narrowing: Narrowing) -> Self {
        Self {
            narrowing: Some(narrowing),
            ..self.clone()
        }
    }

    /// The command line's narrowing, if any.
    pub fn narrowing(&self) -> Option<&Narrowing> {
        self.narrowing.as_ref()
    }

    /// The focus regex as written.
    pub fn focus(&self) -> &str {
        self.focus.as_str()
    }

    /// The skip regex as written (empty: skip nothing).
    pub fn skip(&self) -> &str {
        self.skip.as_ref().map_or("", Regex::as_str)
    }

    /// Whether the e2e binary would run the spec with this text (see [`crate::definitions::testname::spec_text`]).
    pub fn selects(&self, spec_text: &str) -> bool {
        thread_local! {
            // Reused across calls: selection runs over ~7,000 specs per evaluation.
            static HAYSTACK: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        HAYSTACK.with_borrow_mut(|haystack| {
            haystack.clear();
            haystack.push_str(SUITE_DESCRIPTION);
            haystack.push(' ');
            haystack.push_str(spec_text);
            self.focus.is_match(haystack)
                && !self.skip.as_ref().is_some_and(|s| s.is_match(haystack))
                && self.narrowing.as_ref().is_none_or(|n| n.admits(haystack))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "[sig-network] Netpol NetworkPolicy between server and client should support allow-all policy [Feature:NetworkPolicy]";
    const SCTP: &str = "[sig-network] Netpol [Feature:SCTPConnectivity] [LinuxOnly] NetworkPolicy between server and client using SCTP should support a 'default-deny-ingress' policy [Feature:NetworkPolicy]";

    #[test]
    fn skip_wins_over_focus() {
        let s = Selection::new(
            r"\[Feature:NetworkPolicy\]",
            r"\[Feature:SCTPConnectivity\]",
        )
        .unwrap();
        assert!(s.selects(TCP));
        assert!(!s.selects(SCTP));
    }

    #[test]
    fn a_narrowing_selects_only_within_the_standard() {
        let standard = Selection::new(
            r"\[Feature:NetworkPolicy\]",
            r"\[Feature:SCTPConnectivity\]",
        )
        .unwrap();
        let narrowing = Narrowing::new(Some("allow-all|SCTP"), None)
            .unwrap()
            .unwrap();
        let narrowed = standard.narrowed(narrowing);
        assert!(narrowed.selects(TCP));
        // Its focus cannot widen the standard: the SCTP spec stays skipped.
        assert!(!narrowed.selects(SCTP));
        let skip_tcp = Narrowing::new(None, Some("allow-all")).unwrap().unwrap();
        assert!(!standard.narrowed(skip_tcp).selects(TCP));
        assert!(Narrowing::new(Some(""), None).unwrap().is_none());
        assert!(Narrowing::new(Some("(unclosed"), None).is_err());
    }

    #[test]
    fn empty_skip_skips_nothing() {
        let s = Selection::new(r"\[Feature:NetworkPolicy\]", "").unwrap();
        assert!(s.selects(SCTP));
        assert_eq!(s.skip(), "");
    }

    #[test]
    fn anchors_see_the_suite_description_like_ginkgo() {
        assert!(
            Selection::new(r"^Kubernetes e2e suite \[sig-network\]", "")
                .unwrap()
                .selects(TCP)
        );
        assert!(
            !Selection::new(r"^\[sig-network\]", "")
                .unwrap()
                .selects(TCP)
        );
    }
}
