//! A fast reader for `sonobuoy_results.yaml` as Sonobuoy writes it (Go's YAML encoder: block
//! mappings and sequences, two- or four-space indentation), for the three things
//! [`super::check_sonobuoy`] compares: every item's `status`, `meta.file` and `items`.
//!
//! The file of a full conformance listing is 4 MB, most of it failure text and captured output in
//! `details`, which the general YAML parser tokenizes character by character only for it to be
//! ignored; it took longer than reading the JUnit. This reader looks only at line structure:
//! indentation, `key:` and `- ` entries, skipping every value it does not need together with its
//! continuation lines (which YAML indents deeper than their key).
//!
//! It reads a subset of YAML on purpose and gives up ([`None`]) on anything outside it: tabs or
//! comments where a key belongs, document markers, flow collections other than `[]`/`{}` for
//! `items`/`meta`, a `status` or `file` that is not a one-line plain or simply quoted scalar,
//! repeated keys. The caller then uses the general parser, so the answer is always the one
//! serde-saphyr would give; the tests check that on every archive in `tests/fixtures`.

use super::{SonobuoyItem, SonobuoyMeta};

/// The items of `text`, or `None` when the general parser must decide.
pub(super) fn parse(text: &str) -> Option<SonobuoyItem> {
    let mut lines = Vec::with_capacity(text.len() / 64);
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.contains('\r') {
            // A lone carriage return is a line break to YAML.
            return None;
        }
        let content = raw.trim_start_matches(' ');
        if content.trim().is_empty() {
            // Blank lines carry no structure (inside a scalar they belong to its text).
            continue;
        }
        lines.push(Line {
            indent: raw.len() - content.len(),
            content,
        });
    }
    let mut parser = Parser { lines, pos: 0 };
    let root = parser.mapping(0)?;
    (parser.pos == parser.lines.len()).then_some(root)
}

#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    content: &'a str,
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.pos).copied()
    }

    /// A block mapping whose keys are at `indent`.
    fn mapping(&mut self, indent: usize) -> Option<SonobuoyItem> {
        let mut item = SonobuoyItem::default();
        let mut keys: Vec<&str> = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let (key, rest) = split_key(line.content)?;
            // A repeated key is for the general parser to judge.
            if keys.contains(&key) {
                return None;
            }
            keys.push(key);
            self.pos += 1;
            match key {
                "status" => {
                    item.status = scalar(rest)?;
                    self.no_continuation(indent)?;
                }
                "meta" => {
                    item.meta = Some(match rest {
                        "{}" => SonobuoyMeta { file: None },
                        "" => self.meta(indent)?,
                        _ => return None,
                    });
                }
                "items" => match rest {
                    "[]" => {}
                    "" => item.items = self.sequence(indent)?,
                    _ => return None,
                },
                _ => self.skip_value(indent, rest),
            }
        }
        Some(item)
    }

    /// The mapping under `meta:` (a key at `parent`): only `file` is read.
    fn meta(&mut self, parent: usize) -> Option<SonobuoyMeta> {
        let indent = self.peek().filter(|l| l.indent > parent)?.indent;
        let mut file = None;
        let mut keys: Vec<&str> = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let (key, rest) = split_key(line.content)?;
            if keys.contains(&key) {
                return None;
            }
            keys.push(key);
            self.pos += 1;
            if key == "file" {
                file = Some(scalar(rest)?);
                self.no_continuation(indent)?;
            } else {
                self.skip_value(indent, rest);
            }
        }
        (self.peek().is_none_or(|l| l.indent <= parent)).then_some(SonobuoyMeta { file })
    }

    /// The block sequence under `items:` (a key at `parent`): `- ` entries at `parent` (Go's
    /// yaml.v2 style) or deeper (yaml.v3), each a mapping.
    fn sequence(&mut self, parent: usize) -> Option<Vec<SonobuoyItem>> {
        let first = self.peek().filter(|l| l.indent >= parent)?;
        let indent = first.indent;
        let mut out = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent != indent {
                if line.indent > indent {
                    return None;
                }
                break;
            }
            let Some(after) = line.content.strip_prefix('-') else {
                // The parent mapping's next key (yaml.v2 puts the entries at its indent).
                if indent == parent {
                    break;
                }
                return None;
            };
            let spaces = after.len() - after.trim_start_matches(' ').len();
            if spaces == 0 || after.trim().is_empty() {
                return None;
            }
            // The entry's mapping starts on the dash line: treat that line as its first key.
            let entry = indent + 1 + spaces;
            self.lines[self.pos] = Line {
                indent: entry,
                content: &after[spaces..],
            };
            out.push(self.mapping(entry)?);
        }
        // `items:` with nothing under it is null, not an empty list: the general parser decides.
        (!out.is_empty()).then_some(out)
    }

    /// Skips the value of a key at `indent` that is not read: a scalar on the key's line and its
    /// continuation lines, or a nested block (deeper lines, and `- ` entries at the key's indent).
    fn skip_value(&mut self, indent: usize, rest: &str) {
        let nested = rest.is_empty();
        while let Some(line) = self.peek() {
            let entry_at_key = nested && line.indent == indent && line.content.starts_with("- ");
            if line.indent > indent || entry_at_key {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// A scalar that must fit on its line: no deeper line may follow.
    fn no_continuation(&self, indent: usize) -> Option<()> {
        self.peek().is_none_or(|l| l.indent <= indent).then_some(())
    }
}

/// `key: rest` or `key:` with a plain key of letters, digits, `_` and `-`.
fn split_key(content: &str) -> Option<(&str, &str)> {
    let end = content.find(':')?;
    let key = &content[..end];
    let valid = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !key.starts_with('-');
    let rest = &content[end + 1..];
    if !valid || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, rest.trim()))
}

/// A one-line scalar read as a string: plain words, or single/double quotes without escapes.
fn scalar(text: &str) -> Option<String> {
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        // `''` is a quote; a lone `'` would have ended the scalar early.
        return (!inner.replace("''", "").contains('\'')).then(|| inner.replace("''", "'"));
    }
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return (!inner.contains(['\\', '"'])).then(|| inner.to_owned());
    }
    // Plain: only characters that cannot start or change YAML syntax, and no word that YAML
    // reads as something other than a string.
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
        && !text.starts_with(['-', '.'])
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && text.parse::<f64>().is_err();
    plain.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(text: &str) -> Option<SonobuoyItem> {
        super::super::parse_sonobuoy_general(text).ok()
    }

    #[test]
    fn reads_both_indentation_styles_and_skips_details() {
        let v2 = "name: e2e\nstatus: failed\nmeta:\n  type: summary\nitems:\n- name: junit_01.xml\n  status: failed\n  meta:\n    file: results/global/junit_01.xml\n    type: file\n  items:\n  - name: Kubernetes e2e suite\n    status: failed\n    items:\n    - name: '[It] a ''quoted''\n        name: status: passed'\n      status: failed\n      details:\n        failure: |-\n          boom\n\n          status: passed\n        system-err: \"x\\n\n          - name: y\"\n    - name: b\n      status: passed\n";
        let fast = parse(v2).unwrap();
        assert_eq!(Some(&fast), slow(v2).as_ref());
        assert_eq!(
            fast.items[0].meta.as_ref().unwrap().file.as_deref(),
            Some("results/global/junit_01.xml")
        );
        assert_eq!(fast.items[0].items[0].items.len(), 2);

        let v3 = "name: e2e\nstatus: passed\nitems:\n    - name: junit_01.xml\n      status: passed\n      meta:\n        file: results/global/junit_01.xml\n      items:\n        - name: s\n          status: passed\n          items: []\n";
        assert_eq!(parse(v3), slow(v3));
        assert!(parse(v3).is_some());
    }

    /// Every `sonobuoy_results.yaml` in the fixtures' archives: the same answer as the general
    /// parser, and the fast reader is the one used for the real archives.
    #[test]
    fn agrees_with_the_general_parser_on_every_fixture() {
        use std::io::Read;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut archives = Vec::new();
        for dir in ["real", "e2e", "derived"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().ends_with(".tar.gz") {
                    archives.push(path);
                }
            }
        }
        let mut read = 0;
        for path in &archives {
            let file = std::fs::File::open(path).unwrap();
            let mut tar = tar::Archive::new(flate2::read::MultiGzDecoder::new(file));
            for entry in tar.entries().unwrap() {
                let mut entry = entry.unwrap();
                let name = entry.path().unwrap().to_string_lossy().into_owned();
                if !name.ends_with("sonobuoy_results.yaml") {
                    continue;
                }
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                let fast = parse(&text);
                assert!(
                    fast.is_some(),
                    "{}: {name}: not read by the fast path",
                    path.display()
                );
                assert_eq!(fast, slow(&text), "{}: {name}", path.display());
                read += 1;
            }
        }
        assert!(read >= 5, "only {read} summaries found in {archives:?}");
    }

    #[test]
    fn gives_up_outside_its_subset() {
        for text in [
            "# comment\nstatus: passed\n",
            "---\nstatus: passed\n",
            "status: passed\nstatus: failed\n",
            "name: a\nname: b\n",
            "status: \"pa\\u0073sed\"\n",
            "status: null\n",
            "status: passed\n  more\n",
            "items: [{status: passed}]\n",
            "meta: {file: x}\n",
            "status:\tpassed\n",
            "items:\n- - nested\n",
            "items:\n-\n  status: passed\n",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }
}
