//! Escaping text from evidence (spec names, failure messages, reasons) for each output. An e2e
//! report is input from the cluster under test: a spec name must not be able to drive the
//! terminal, add structure to `summary.md` (which GitHub renders as the step summary), or make
//! `junit.xml` ill-formed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that change how text is displayed rather than being text: C0 and C1 controls,
/// DEL, line and paragraph separators, bidirectional overrides and isolates (which can reorder
/// what a reader sees), the BOM and the noncharacters U+FFFE/U+FFFF.
fn is_display_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c as u32,
            0x2028
                | 0x2029
                | 0x200e
                | 0x200f
                | 0x202a..=0x202e
                | 0x2066..=0x2069
                | 0xfeff
                | 0xfffe
                | 0xffff
        )
}

fn push_escaped_control(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// For a terminal: control characters are shown (`\u{1b}`, `\n`), never executed.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_display_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_display_control(c) {
            push_escaped_control(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// For a terminal line that a user may paste into a shell: single-quoted (a regex's backslashes
/// stay single, unlike Rust's `{:?}`), control characters shown as in [`terminal`].
pub fn shell_quoted(text: &str) -> String {
    format!("'{}'", terminal(text).replace('\'', r"'\''"))
}

/// For running Markdown text that never starts a line (a table cell, text after a list bullet):
/// one line, controls shown as in [`terminal`], and the ASCII punctuation that can open inline
/// structure backslash-escaped (CommonMark allows escaping any ASCII punctuation): emphasis,
/// code spans, links and images, HTML tags, entities, table pipes, strikethrough, math, and `#`.
pub fn markdown_text(text: &str) -> String {
    const MARKDOWN_SPECIAL: &str = "\\`*_[]<>()#!|~&$";
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_display_control(c) {
            push_escaped_control(&mut out, c);
        } else if MARKDOWN_SPECIAL.contains(c) {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// A Markdown code span holding `text` literally on one line: controls shown as in
/// [`terminal`] and a backtick fence longer than any backtick run inside. Not for table cells:
/// GitHub splits rows on `|` even inside code spans (use [`markdown_text`] there).
pub fn markdown_code(text: &str) -> String {
    let one_line = terminal(text);
    let longest_run = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // CommonMark strips one space on each side when both are present, so a leading or trailing
    // backtick can sit next to the fence without merging with it.
    if one_line.starts_with('`') || one_line.ends_with('`') || one_line.is_empty() {
        format!("{fence} {one_line} {fence}")
    } else {
        format!("{fence}{one_line}{fence}")
    }
}

/// A link target for Markdown: only `http(s)://` URLs without whitespace or characters that
/// could end the link (`(`, `)`, `<`, `>`, quotes, backslash); `None` otherwise (show it as
/// text instead).
pub fn markdown_url(url: &str) -> Option<&str> {
    let ok_scheme = url.starts_with("https://") || url.starts_with("http://");
    let ok_chars = url.chars().all(|c| {
        c.is_ascii_graphic() && !matches!(c, '(' | ')' | '<' | '>' | '"' | '\'' | '\\' | '`')
    });
    (ok_scheme && ok_chars).then_some(url)
}

/// For XML 1.0 text and attributes: characters XML 1.0 cannot carry at all (C0 controls other
/// than tab, newline and carriage return; U+FFFE and U+FFFF) become U+FFFD. `<`, `&` and quotes
/// are the XML writer's job.
pub fn xml(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{fffe}' | '\u{ffff}'))
    };
    if text.chars().all(allowed) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if allowed(c) { c } else { '\u{fffd}' })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_shows_controls_instead_of_executing_them() {
        assert_eq!(terminal("plain ✓"), "plain ✓");
        assert_eq!(
            terminal("a\u{1b}[2Jb\nc\u{9b}d\u{202e}e"),
            "a\\u{1b}[2Jb\\nc\\u{9b}d\\u{202e}e"
        );
    }

    #[test]
    fn markdown_text_cannot_add_structure() {
        let hostile = "x\n# Heading\n![i](https://evil.example/x.png) <img src=x> | `t` *e* &amp;";
        let md = markdown_text(hostile);
        assert!(!md.contains('\n'));
        for raw in ["![", "](", "`t`", "*e*"] {
            assert!(!md.contains(raw), "{raw} in {md}");
        }
        for escaped in ["\\#", "\\!\\[", "\\<img", "\\|", "\\&amp;"] {
            assert!(md.contains(escaped), "{escaped} not in {md}");
        }
    }

    #[test]
    fn markdown_code_is_one_literal_span() {
        assert_eq!(markdown_code("a b"), "`a b`");
        assert_eq!(markdown_code("x `y` z"), "``x `y` z``");
        assert_eq!(markdown_code("`y`"), "`` `y` ``");
        assert_eq!(markdown_code("a\n# b|c"), "`a\\n# b|c`");
    }

    #[test]
    fn only_plain_http_urls_are_links() {
        assert!(markdown_url("https://github.com/cilium/cilium/issues/9209").is_some());
        assert!(markdown_url("javascript:alert(1)").is_none());
        assert!(markdown_url("https://x) ![i](https://evil").is_none());
    }

    #[test]
    fn xml_replaces_what_xml_1_0_cannot_carry() {
        assert_eq!(xml("ok\ttab\nnl ✓"), "ok\ttab\nnl ✓");
        assert_eq!(xml("a\u{1}b\u{fffe}c\u{1b}"), "a\u{fffd}b\u{fffd}c\u{fffd}");
    }
}
