//! Escaping text from evidence (spec names, failure messages, reasons) for each output. An e2e
//! report is input from the cluster under test: a spec name must not be able to drive the
//! terminal, add structure to `summary.md` (which GitHub renders as the step summary), add
//! elements to `report.html`, or make `junit.xml` ill-formed.

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

/// For HTML text and quoted attribute values: `&`, `<`, `>`, `"` and `'` become character
/// references, so text can neither open an element nor leave an attribute; display controls
/// other than tab and newlines (which HTML cannot carry, or which reorder what a reader sees:
/// ANSI escapes, bidirectional overrides, U+FFFE) are shown as in [`terminal`]. Tab and newlines
/// are kept, for logs in `<pre>`; see [`html_line`] for one-line text.
pub fn html(text: &str) -> Cow<'_, str> {
    let kept = |c: char| matches!(c, '\t' | '\n' | '\r');
    let special =
        |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || (is_display_control(c) && !kept(c));
    if !text.chars().any(special) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_display_control(c) && !kept(c) => push_escaped_control(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`html`] on one line: newlines and tabs are shown as `\n` and `\t` too (a spec name, an id).
pub fn html_line(text: &str) -> Cow<'_, str> {
    match terminal(text) {
        Cow::Borrowed(t) => html(t),
        Cow::Owned(t) => Cow::Owned(html(&t).into_owned()),
    }
}

/// A link target for HTML: only `http(s)://` URLs with a host and without whitespace, controls,
/// quotes, angle brackets, backslash or backtick; `None` otherwise (show it as text instead).
/// The result still goes through [`html`] (for `&`) when written into an attribute.
pub fn html_url(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let ok_host = rest
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_chars = url
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '\'' | '\\' | '`'));
    (ok_host && ok_chars).then_some(url)
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
    fn html_text_cannot_open_elements_or_leave_attributes() {
        assert_eq!(html("plain ✓ text"), "plain ✓ text");
        assert!(matches!(html("plain"), Cow::Borrowed(_)));
        assert_eq!(
            html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            html("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        // Entities in evidence stay text, not the character they name.
        assert_eq!(html("&lt;b&gt;"), "&amp;lt;b&amp;gt;");
        for raw in ["<", ">", "\"", "'"] {
            assert!(!html("a<b>\"c'd").contains(raw));
        }
    }

    #[test]
    fn html_shows_controls_and_noncharacters_but_keeps_log_lines() {
        assert_eq!(
            html("a\u{1b}[31mred\u{0}\u{7f}\u{202e}x\u{fffe}\u{ffff}\u{feff}"),
            "a\\u{1b}[31mred\\u{0}\\u{7f}\\u{202e}x\\u{fffe}\\u{ffff}\\u{feff}"
        );
        assert_eq!(html("line 1\n\tline 2\r\n"), "line 1\n\tline 2\r\n");
        let one = html_line("evil\n<h1>x</h1>\t\u{fffe}");
        assert_eq!(one, "evil\\n&lt;h1&gt;x&lt;/h1&gt;\\t\\u{fffe}");
        assert!(!one.contains('\n'));
        assert!(matches!(html_line("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn only_plain_http_urls_are_html_links() {
        assert_eq!(
            html_url("https://github.com/cilium/cilium/issues/9209"),
            Some("https://github.com/cilium/cilium/issues/9209")
        );
        assert!(html_url("http://example.org/a?b=1&c=(2)").is_some());
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "//evil.example/x",
            "https://",
            "https:///path",
            "https://x\" onmouseover=\"alert(1)",
            "https://x'><script>alert(1)</script>",
            "https://x y",
            "https://x\ny",
            "https://x\\y",
            "https://ex\u{202e}ample.org",
            " https://example.org",
        ] {
            assert!(html_url(bad).is_none(), "{bad:?} is a link");
        }
    }

    #[test]
    fn xml_replaces_what_xml_1_0_cannot_carry() {
        assert_eq!(xml("ok\ttab\nnl ✓"), "ok\ttab\nnl ✓");
        assert_eq!(xml("a\u{1}b\u{fffe}c\u{1b}"), "a\u{fffd}b\u{fffd}c\u{fffd}");
    }
}
