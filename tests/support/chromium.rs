//! Headless Chromium for tests of self-contained pages (`report.html`, `fleet.html`): render a
//! page (`--dump-dom`, `--screenshot`, `--log-net-log`), parse the rendered document, and check
//! what the browser said and fetched.
//!
//! Needs Chromium (Debian's `chromium` package; `testenv/install-node-deps` installs it, or set
//! `CHROMIUM` to a binary). Without it, [`or_skip`] says so and the test returns.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Chromium, or `None` after saying on stderr that the test is skipped.
pub fn or_skip() -> Option<PathBuf> {
    let c = chromium();
    if c.is_none() {
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: no chromium on PATH (and CHROMIUM unset): the page was not \
              rendered in a browser. Install Debian's `chromium` package \
              (testenv/install-node-deps does).\n",
        );
    }
    c
}

/// Runs headless Chromium on `page` with `args`; kills it after two minutes.
pub fn run_chromium(chromium: &Path, page: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the pipes while waiting, so a large DOM cannot block the browser.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).unwrap();
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut v).unwrap();
        v
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish rendering {} in 120 s",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The rendered document as Chromium serialises it, and what the browser said while loading it.
pub fn dump_dom(chromium: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["--dump-dom"];
    args.extend_from_slice(extra);
    let out = run_chromium(chromium, page, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    let dom = String::from_utf8(out.stdout).unwrap();
    assert!(
        dom.contains("</html>"),
        "no document from chromium: {dom}\n{stderr}"
    );
    (dom, stderr)
}

/// The page said nothing on the console: no Content-Security-Policy violation (a stale style
/// hash, or an attempt to load or run something), no error.
pub fn assert_quiet_console(stderr: &str) {
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "the console: {console:#?}");
}

/// An element of the rendered document: its name, attributes and text content.
#[derive(Debug)]
pub struct Element {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    pub text: String,
}

impl Element {
    pub fn class(&self) -> &str {
        self.attrs.get("class").map(String::as_str).unwrap_or("")
    }
}

/// Parses Chromium's serialisation of a DOM (`--dump-dom`): in it, `<` in text and attribute
/// values is always escaped, so every `<` opens a tag, except inside `<style>` (raw text, which
/// this page's CSS keeps free of `<`). Returns every element in document order.
pub fn parse_dom(dom: &str) -> Vec<Element> {
    const VOID: [&str; 14] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "param",
    ];
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut rest = dom;
    let add_text = |elements: &mut Vec<Element>, open: &[usize], text: &str| {
        let text = decode(text);
        for &i in open {
            elements[i].text.push_str(&text);
        }
    };
    while let Some(lt) = rest.find('<') {
        add_text(&mut elements, &open, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("</") {
            let gt = after.find('>').unwrap();
            let name = after[..gt].trim().to_ascii_lowercase();
            let pos = open
                .iter()
                .rposition(|&i| elements[i].name == name)
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            open.truncate(pos);
            rest = &after[gt + 1..];
        } else if rest.starts_with("<!") {
            let gt = rest.find('>').unwrap();
            rest = &rest[gt + 1..];
        } else {
            let (el, len) = start_tag(rest);
            rest = &rest[len..];
            let name = el.name.clone();
            elements.push(el);
            if name == "style" {
                let end = rest.find("</style>").unwrap();
                let i = elements.len() - 1;
                elements[i].text.push_str(&rest[..end]);
                rest = &rest[end..];
                open.push(i);
            } else if !VOID.contains(&name.as_str()) {
                open.push(elements.len() - 1);
            }
        }
    }
    add_text(&mut elements, &open, rest);
    elements
}

/// A start tag at the beginning of `s`, and its length.
pub fn start_tag(s: &str) -> (Element, usize) {
    let b = s.as_bytes();
    let mut i = 1;
    let name_end = s[i..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map(|n| n + i)
        .unwrap();
    let name = s[i..name_end].to_ascii_lowercase();
    assert!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "odd tag {name:?}"
    );
    i = name_end;
    let mut attrs = BTreeMap::new();
    loop {
        while b[i].is_ascii_whitespace() || b[i] == b'/' {
            i += 1;
        }
        if b[i] == b'>' {
            return (
                Element {
                    name,
                    attrs,
                    text: String::new(),
                },
                i + 1,
            );
        }
        let key_end = s[i..]
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
            .unwrap()
            + i;
        let key = s[i..key_end].to_ascii_lowercase();
        i = key_end;
        let mut value = String::new();
        if b[i] == b'=' {
            i += 1;
            let quote = b[i];
            assert!(
                quote == b'"',
                "unquoted attribute {key} in {}",
                &s[..i + 20]
            );
            let end = s[i + 1..].find('"').unwrap() + i + 1;
            value = decode(&s[i + 1..end]);
            i = end + 1;
        }
        attrs.insert(key, value);
    }
}

/// Decodes the references Chromium writes when it serialises text and attributes.
pub fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The network requests a page made, from Chromium's net log (`--log-net-log`): every URL request
/// started on behalf of a document. The browser's own traffic (its clock, component updates,
/// accounts), which Chromium marks as initiated by "not an origin", is not the page's.
pub fn page_requests(netlog: &Path) -> Vec<String> {
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(netlog).unwrap()).unwrap();
    let start_job = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    assert!(
        start_job.is_u64(),
        "no URL_REQUEST_START_JOB in the net log's constants"
    );
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == *start_job)
        .filter(|e| e["params"]["initiator"] != "not an origin")
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
        .map(str::to_string)
        .collect()
}

/// Elements a page that loads nothing and runs nothing has no use for.
pub const FORBIDDEN: [&str; 17] = [
    "script", "img", "iframe", "frame", "object", "embed", "link", "svg", "math", "form", "input",
    "base", "audio", "video", "source", "picture", "template",
];

pub fn texts_of<'a>(elements: &'a [Element], name: &str, class: &str) -> Vec<&'a str> {
    elements
        .iter()
        .filter(|e| e.name == name && e.class().split(' ').any(|c| c == class))
        .map(|e| e.text.as_str())
        .collect()
}
