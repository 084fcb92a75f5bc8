//! `report.html` as a browser shows it: the CLI writes the set, headless Chromium renders the page
//! (`--dump-dom`, `--screenshot`), and the rendered document is parsed and checked: verdicts,
//! failing specs with their logs, waivers with reasons and links, stale waivers, cluster facts;
//! hostile spec names and waiver texts are text, never elements; the page loads nothing.
//!
//! Needs Chromium (Debian's `chromium` package; `testenv/install-node-deps` installs it, or set
//! `CHROMIUM` to a binary). Without it, each test prints why and passes without checking.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/chromium.rs"]
mod chromium;

use std::path::{Path, PathBuf};

use chromium::{
    Element, FORBIDDEN, assert_quiet_console, dump_dom, page_requests, parse_dom, run_chromium,
    texts_of,
};

/// Spec names and waiver texts written to do harm: elements, attribute breakouts, a terminal
/// escape, a noncharacter, a `javascript:` and a quote-breaking tracking link.
const HOSTILE_FAILED: &str =
    "[sig-network] NetworkPolicy API <script>alert(1)</script> \"dq\" 'sq' [Feature:NetworkPolicy]";
const HOSTILE_IMG: &str = "[sig-network] NetworkPolicy API <img src=x onerror=alert(2)> esc\u{1b}[2J nonchar \u{fffe} [Feature:NetworkPolicy]";
const WAIVED: &str = "[sig-network] NetworkPolicy API waived spec [Feature:NetworkPolicy]";
const STALE: &str = "[sig-network] NetworkPolicy API stale spec [Feature:NetworkPolicy]";
const EXPIRED: &str = "[sig-network] NetworkPolicy API expired spec [Feature:NetworkPolicy]";
const RUNTIME_SKIP: &str = "[sig-network] NetworkPolicy API runtime skip [Feature:NetworkPolicy]";
const PASSED: &str =
    "[sig-network] NetworkPolicy API should support creating NetworkPolicy API operations";
const WAIVER_REASON: &str = "Known <img src=x onerror=alert(3)> issue \"quoted\"";
const TRACKING: &str = "https://github.com/example/project/issues/1?a=1&b=2";
const HOSTILE_TRACKING: &str = "https://evil.example/\"><script>alert(4)</script>";

fn xml_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if c < ' ' || c == '\u{fffe}' => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Writes the e2e report and the waivers of the hostile run into `dir`.
fn hostile_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let case = |name: &str, body: &str, status: &str| {
        format!(
            "<testcase name=\"[It] {}\" status=\"{status}\" time=\"2.5\">{body}</testcase>",
            xml_text(name)
        )
    };
    let failure = |msg: &str| {
        format!(
            "<failure message=\"\" type=\"failed\">{}</failure>",
            xml_text(msg)
        )
    };
    let cases = [
        case(PASSED, "", "passed"),
        case(
            HOSTILE_FAILED,
            &failure(
                "[FAILED] boom <b>bold</b>\nIn [It] at: netpol.go:42\n\u{1b}[31mtimeline line 3</script>",
            ),
            "failed",
        ),
        case(HOSTILE_IMG, &failure("[FAILED] second failure"), "failed"),
        case(
            WAIVED,
            &failure("[FAILED] Had 1 wrong results in reachability matrix\nreachability log"),
            "failed",
        ),
        case(STALE, "", "passed"),
        case(EXPIRED, &failure("[FAILED] still broken"), "failed"),
        case(
            RUNTIME_SKIP,
            "<skipped message=\"skipped - needs two nodes\"></skipped>",
            "skipped",
        ),
    ];
    let junit = dir.join("junit_01.xml");
    std::fs::write(
        &junit,
        format!(
            "<testsuites><testsuite name=\"Kubernetes e2e suite\" timestamp=\"2026-11-24T10:00:00\">{}\
             </testsuite></testsuites>",
            cases.concat()
        ),
    )
    .unwrap();
    let waivers = dir.join("waivers");
    std::fs::create_dir_all(&waivers).unwrap();
    let yaml = |s: &str| format!("'{}'", s.replace('\'', "''"));
    std::fs::write(
        waivers.join("test.yaml"),
        format!(
            "cni: any\nwaivers:\n\
             - id: known-issue\n  standard: kaas-networking-check\n  test: 'waived spec'\n  \
               reason: {}\n  tracking: {}\n  expires: 2027-05-31\n\
             - id: fixed-meanwhile\n  standard: kaas-networking-check\n  test: 'stale spec'\n  \
               reason: Fixed upstream in 1.34\n  tracking: {}\n  expires: 2027-05-31\n\
             - id: long-ago\n  standard: kaas-networking-check\n  test: 'expired spec'\n  \
               reason: Was broken in 1.28\n  tracking: https://github.com/example/project/issues/2\n  \
               expires: 2025-01-31\n",
            yaml(WAIVER_REASON),
            yaml(TRACKING),
            yaml(HOSTILE_TRACKING),
        ),
    )
    .unwrap();
    (junit, waivers)
}

/// The CLI's output set for the hostile run: FAIL.
fn hostile_run(dir: &Path) -> PathBuf {
    let (junit, waivers) = hostile_inputs(dir);
    let out = dir.join("out");
    let output = assert_cmd::Command::cargo_bin("scs-conformance")
        .unwrap()
        .args([
            "verdict",
            "--standard",
            "scs-0219-v1",
            "--date",
            "2026-11-25",
        ])
        .arg("--waivers-dir")
        .arg(&waivers)
        .args(["--k8s-version", "1.33.3", "--cni", "cilium@1.17.6"])
        .arg("--results")
        .arg(&junit)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out.join("report.html")
}

#[test]
fn the_page_shows_verdicts_failures_waivers_and_facts_and_hostile_text_stays_text() {
    let Some(chromium) = chromium::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = hostile_run(dir.path());
    let (dom, stderr) = dump_dom(&chromium, &page, &[]);
    // The policy admits the page's own style (by hash) and nothing else; a refusal would mean the
    // hash is stale or the page tried to load something.
    assert_quiet_console(&stderr);
    let elements = parse_dom(&dom);

    for e in &elements {
        assert!(
            !FORBIDDEN.contains(&e.name.as_str()),
            "<{}> in the rendered page: {e:?}",
            e.name
        );
        for (k, v) in &e.attrs {
            assert!(
                !k.starts_with("on"),
                "event handler {k}={v:?} on <{}>",
                e.name
            );
        }
    }
    assert_eq!(elements.iter().filter(|e| e.name == "style").count(), 1);

    // Verdicts: the whole target, the module, the test case.
    let h1 = &elements.iter().find(|e| e.name == "h1").unwrap().text;
    assert!(h1.contains("FAIL") && h1.contains("scs-0219-v1"), "{h1}");
    let badges = texts_of(&elements, "span", "badge");
    assert!(
        badges.iter().filter(|b| **b == "FAIL").count() >= 3,
        "{badges:?}"
    );
    let body = &elements.iter().find(|e| e.name == "body").unwrap().text;
    // Seven specs in the report; the others the v1.33 inventory selects did not run.
    assert!(
        regex::Regex::new(
            r"3 of \d+ selected tests failed, 1 waived; 1 more passed although a waiver applies"
        )
        .unwrap()
        .is_match(body),
        "{body}"
    );

    // Failing specs, named as text exactly as the report has them (controls shown, not used).
    let specs = texts_of(&elements, "span", "spec");
    for name in [
        HOSTILE_FAILED.to_string(),
        HOSTILE_IMG
            .replace('\u{1b}', "\\u{1b}")
            .replace('\u{fffe}', "\\u{fffe}"),
        EXPIRED.to_string(),
        WAIVED.to_string(),
        STALE.to_string(),
        RUNTIME_SKIP.to_string(),
        PASSED.to_string(),
    ] {
        assert!(specs.contains(&name.as_str()), "{name:?} not in {specs:#?}");
    }
    let failed: Vec<&Element> = elements
        .iter()
        .filter(|e| e.name == "li" && e.class() == "failed")
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    // The first line next to the name, the whole text (the log) below it.
    let first = failed
        .iter()
        .find(|e| e.text.starts_with(HOSTILE_FAILED))
        .unwrap();
    assert!(
        first.text.contains("[FAILED] boom <b>bold</b>"),
        "{}",
        first.text
    );
    let logs = texts_of(&elements, "pre", "log");
    assert!(
        logs.iter()
            .any(|l| l.contains("In [It] at: netpol.go:42\n\\u{1b}[31mtimeline line 3</script>")),
        "{logs:#?}"
    );
    assert!(!dom.contains('\u{1b}') && !dom.contains('\u{fffe}'));

    // The waiver that applied: reason, expiry and its tracking link, the only links out.
    let waived = elements
        .iter()
        .find(|e| e.name == "li" && e.class() == "waived")
        .unwrap();
    assert!(
        waived.text.contains(WAIVED)
            && waived.text.contains("waived by known-issue")
            && waived.text.contains(WAIVER_REASON)
            && waived.text.contains(TRACKING),
        "{}",
        waived.text
    );
    let external: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "a")
        .filter_map(|e| e.attrs.get("href").map(String::as_str))
        .filter(|h| !h.starts_with('#'))
        .collect();
    assert!(!external.is_empty());
    assert!(
        external
            .iter()
            .all(|h| *h == TRACKING || *h == "https://github.com/example/project/issues/2"),
        "{external:?}"
    );
    let rows: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "tr")
        .map(|e| e.text.as_str())
        .collect();
    assert!(
        rows.iter().any(|r| r.contains("known-issue")
            && r.contains("applies")
            && r.contains("2027-05-31")
            && r.contains(WAIVER_REASON)),
        "{rows:#?}"
    );
    // A tracking reference that would break out of an attribute is shown, not linked.
    assert!(
        rows.iter()
            .any(|r| r.contains("fixed-meanwhile") && r.contains(HOSTILE_TRACKING)),
        "{rows:#?}"
    );

    // Stale waivers: a waived spec that passed, an expired waiver whose spec failed.
    let stale = texts_of(&elements, "li", "stale");
    assert!(
        stale
            .iter()
            .any(|s| s.contains(STALE) && s.contains("passed although waived by fixed-meanwhile")),
        "{stale:#?}"
    );
    assert!(
        stale
            .iter()
            .any(|s| s.contains("long-ago") && s.contains("expired 2025-01-31")),
        "{stale:#?}"
    );
    assert!(
        body.contains("skipped at runtime: needs two nodes"),
        "{body}"
    );

    // The cluster's facts.
    let facts = &elements
        .iter()
        .find(|e| e.name == "dl" && e.class() == "facts")
        .unwrap()
        .text;
    assert!(
        facts.contains("Kubernetes1.33.3") && facts.contains("CNIcilium 1.17.6 (flag)"),
        "{facts}"
    );
}

#[test]
fn the_page_loads_nothing_and_renders_offline() {
    let Some(chromium) = chromium::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = hostile_run(dir.path());
    let html = std::fs::read_to_string(&page).unwrap();
    // In the source: no reference to anything but the page itself and the tracking links.
    let re =
        regex::Regex::new(r#"(?i)\b(src|href|srcset|action|poster|data)\s*=\s*"([^"]*)""#).unwrap();
    for cap in re.captures_iter(&html) {
        let (attr, value) = (&cap[1], &cap[2]);
        assert!(
            attr.eq_ignore_ascii_case("href")
                && (value.starts_with('#')
                    || value == "https://github.com/example/project/issues/1?a=1&amp;b=2"
                    || value == "https://github.com/example/project/issues/2"),
            "{attr}=\"{value}\""
        );
    }
    for needle in ["url(", "@import", "<script", "<img", "<link", "@font-face"] {
        assert!(
            !html.to_ascii_lowercase().contains(needle),
            "{needle} in the page"
        );
    }

    // With every host name unresolvable and a log of all network activity, the page renders the
    // same and nothing was requested from the network.
    let netlog = dir.path().join("netlog.json");
    let (dom, stderr) = dump_dom(
        &chromium,
        &page,
        &[
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--log-net-log={}", netlog.display()),
        ],
    );
    let elements = parse_dom(&dom);
    let h1 = &elements.iter().find(|e| e.name == "h1").unwrap().text;
    assert!(h1.contains("FAIL"), "{h1}\n{stderr}");
    let fetched = page_requests(&netlog);
    assert!(fetched.is_empty(), "the page requested {fetched:?}");

    // The same check sees what a page that does load things requests.
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"https://fonts.example.org/a.css\">\
         </head><body><img src=\"http://probe.example/x.png\"></body></html>",
    )
    .unwrap();
    let probe_log = dir.path().join("probe-netlog.json");
    dump_dom(
        &chromium,
        &probe,
        &[
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--log-net-log={}", probe_log.display()),
        ],
    );
    let probed = page_requests(&probe_log);
    assert!(
        probed.contains(&"https://fonts.example.org/a.css".to_string())
            && probed.contains(&"http://probe.example/x.png".to_string()),
        "the net log check is blind: {probed:?}"
    );

    // And it draws: a screenshot of a decent size.
    let png = dir.path().join("page.png");
    let out = run_chromium(
        &chromium,
        &page,
        &[
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--hide-scrollbars",
            "--window-size=1280,1600",
            &format!("--screenshot={}", png.display()),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{} bytes",
        bytes.len()
    );
    if let Some(keep) = std::env::var_os("REPORT_HTML_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}

#[test]
fn an_error_set_has_a_page_that_says_abort_and_why() {
    let Some(chromium) = chromium::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken <b>junit<i>.xml");
    std::fs::write(&broken, "not xml").unwrap();
    let out = dir.path().join("out");
    let output = assert_cmd::Command::cargo_bin("scs-conformance")
        .unwrap()
        .args(["verdict", "--standard", "scs-0219-v1", "--results"])
        .arg(&broken)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!out.join("verdict.json").exists());
    let (dom, stderr) = dump_dom(&chromium, &out.join("report.html"), &[]);
    assert_quiet_console(&stderr);
    let elements = parse_dom(&dom);
    assert!(
        !elements
            .iter()
            .any(|e| FORBIDDEN.contains(&e.name.as_str()) || e.name == "b" || e.name == "i"),
        "{dom}"
    );
    let title = &elements.iter().find(|e| e.name == "title").unwrap().text;
    assert!(title.contains("ABORT"), "{title}");
    let h2 = &elements.iter().find(|e| e.name == "h2").unwrap().text;
    assert!(
        h2.contains("ABORT") && h2.contains("scs-conformance verdict"),
        "{h2}"
    );
    let why = texts_of(&elements, "pre", "log").concat();
    assert!(why.contains("broken <b>junit<i>.xml"), "{why}");
    assert!(!dom.contains("PASS"));
}
