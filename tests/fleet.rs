//! `scs-conformance fleet` (docs/fleet.md), driving the real binary: config errors without a
//! cluster; reusing fresh results (`--skip-fresh`) and `fleet.html` rendered in headless
//! Chromium, offline (unreachable subjects, earlier results in the output folder); on real
//! testenv kwok clusters (`testenv/up --instance N`, with `testenv/aggregator-standin` playing
//! each run's Sonobuoy aggregator) a fleet with a healthy, an unreachable and a hanging subject,
//! Ctrl-C in the middle of a fleet, and a second fleet that reuses the first one's results.
//!
//! Instances used: 11 and 12 (mixed fleet), 13 and 14 (Ctrl-C), 31 (reuse). They stay up for the
//! next run, like the main testenv; `testenv/down --instance N` stops one.

// Test code may panic: the workspace's no-panic lints (Cargo.toml) are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/testenv.rs"]
mod testenv;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ARCHIVE: &str = "tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz";
const OK_TO_FAIL: &str = "tests/fixtures/scs/scs-sonobuoy-config-v1.yaml";
const SCS_CONFIG: &str = "tests/fixtures/fleet/scs-config.toml";

fn root() -> PathBuf {
    testenv::repo_root()
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scs-conformance"))
}

/// Starts (or finds running) kwok cluster instance `n`; returns its admin kubeconfig.
fn instance(n: u32) -> PathBuf {
    static UP: Mutex<Option<HashMap<u32, PathBuf>>> = Mutex::new(None);
    let mut map = UP.lock().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    if let Some(p) = map.get(&n) {
        return p.clone();
    }
    let o = Command::new(root().join("testenv/up"))
        .args(["--instance", &n.to_string()])
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "testenv/up --instance {n} failed:\n{}{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    let path = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
    assert!(
        path.is_file(),
        "no kubeconfig from testenv/up --instance {n}: {stdout}"
    );
    map.insert(n, path.clone());
    path
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(testenv::kubectl_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap()
}

/// A kubeconfig like `kubeconfig` but for a port where nothing listens.
fn unreachable_kubeconfig(kubeconfig: &Path, dir: &Path) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let re = regex::Regex::new(r"server: https://127\.0\.0\.1:\d+").unwrap();
    let text = re.replace(&text, format!("server: https://127.0.0.1:{port}").as_str());
    let path = dir.join("unreachable.kubeconfig");
    std::fs::write(&path, text.as_bytes()).unwrap();
    path
}

/// The aggregator stand-in for the next run in `ns` of the cluster of `kubeconfig`.
fn standin(kubeconfig: &Path, ns: &str, scenario: &str) -> Child {
    Command::new(root().join("testenv/aggregator-standin"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["-n", ns, "--scenario", scenario, "--wait", "180"])
        .arg(root().join(ARCHIVE))
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn reap(mut child: Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn namespace(tag: &str) -> String {
    format!(
        "t-fleet-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Nothing of the run in `ns` is left in the cluster: namespace, cluster role and binding.
fn assert_nothing_left(kubeconfig: &Path, ns: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let role = format!("sonobuoy-serviceaccount-{ns}");
    loop {
        let left: String = [
            ("namespace", ns),
            ("clusterrole", role.as_str()),
            ("clusterrolebinding", role.as_str()),
        ]
        .iter()
        .map(|(kind, name)| {
            let o = kubectl(
                kubeconfig,
                &["get", kind, name, "--ignore-not-found", "-o", "name"],
            );
            String::from_utf8_lossy(&o.stdout).into_owned()
        })
        .collect();
        if left.trim().is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left in {}: {left}",
            kubeconfig.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A subject of a test fleet.
struct Subject<'a> {
    name: &'a str,
    kubeconfig: PathBuf,
    namespace: String,
    timeout: &'a str,
}

/// A directory with the standard definitions (the built-in ones plus `fleet-test-kaas`, a scope
/// of SCS-0214 and SCS-0219 only, so a fleet needs one Sonobuoy run per subject) and a config.
struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new(subjects: &[Subject], workers: usize) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let std_dir = dir.path().join("standards");
        std::fs::create_dir(&std_dir).unwrap();
        for e in std::fs::read_dir(root().join("standards")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), std_dir.join(e.file_name())).unwrap();
        }
        std::fs::write(
            std_dir.join("fleet-test-kaas.yaml"),
            "scope:\n  id: fleet-test-kaas\n  name: Fleet test KaaS\n  \
             uuid: 00000000-0000-4000-8000-000000000001\n  \
             url: https://example.invalid/fleet-test-kaas.yaml\n  versions:\n  - version: v1\n    \
             include: [scs-0214-v2, scs-0219-v1]\n",
        )
        .unwrap();
        let names: Vec<String> = subjects.iter().map(|s| format!("{:?}", s.name)).collect();
        let mut config = format!(
            "[presets.test]\nscopes = [\"fleet-test-kaas\"]\nsubjects = [{}]\nworkers = {workers}\n\n\
             [scopes.fleet-test-kaas]\nspec = \"./fleet-test-kaas.yaml\"\n\n\
             [subjects._.mapping]\nsubject_root = \"{{subject}}\"\nkubeconfig = \"{{subject}}/kubeconfig.yaml\"\n\n\
             [subjects._]\nstall_timeout = \"1m\"\nscs_sonobuoy_config = {:?}\n",
            names.join(", "),
            root().join(OK_TO_FAIL).display().to_string()
        );
        for s in subjects {
            config.push_str(&format!(
                "\n[subjects.{:?}]\nnamespace = {:?}\ntimeout = {:?}\n[subjects.{:?}.mapping]\nkubeconfig = {:?}\n",
                s.name,
                s.namespace,
                s.timeout,
                s.name,
                s.kubeconfig.display().to_string()
            ));
        }
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Fleet { dir }
    }

    fn command(&self, extra: &[&str]) -> Command {
        let d = self.dir.path();
        let mut c = Command::new(bin());
        c.arg("--standards-dir")
            .arg(d.join("standards"))
            .arg("fleet")
            .arg("--config")
            .arg(d.join("config.toml"))
            .args(["--preset", "test", "--out"])
            .arg(d.join("out"))
            .args(extra)
            .env_remove("SCS_CONFORMANCE_LOG");
        c
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn json(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.out().join("fleet.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn job<'a>(json: &'a serde_json::Value, subject: &str) -> &'a serde_json::Value {
    json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["subject"] == subject)
        .unwrap_or_else(|| panic!("no job for {subject} in {json:#}"))
}

#[test]
fn config_errors_name_file_line_and_key_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[presets.x]\nscopes = [\"scs-compatible-kaas\"]\nsubjects = [\"a\"]\nworkers = \"four\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(bin())
            .arg("fleet")
            .args(args)
            .args(["--out"])
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--config", cfg.to_str().unwrap(), "--preset", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{}:4:11: presets.x.workers:", cfg.display())),
        "{err}"
    );
    // SCS's own config: its default preset is the IaaS scope, which is not ours to certify.
    let scs = root().join(SCS_CONFIG);
    let (code, err) = run(&["--config", scs.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("scopes.scs-compatible-iaas: scs-conformance has no definition of scope"),
        "{err}"
    );
    let (code, err) = run(&["--config", scs.to_str().unwrap(), "--preset", "kaas9"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("presets.kaas9: no such preset"), "{err}");
    let (code, err) = run(&["--config", dir.path().join("nope.toml").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nope.toml: cannot read"), "{err}");
    // Nothing ran, so nothing was written.
    assert!(!dir.path().join("out").join("summary.md").exists());
}

#[test]
fn unreachable_and_hanging_subjects_abort_alone_the_others_pass() {
    let (k11, k12) = (instance(11), instance(12));
    let scratch = tempfile::tempdir().unwrap();
    let subjects = [
        Subject {
            name: "kwok-11",
            kubeconfig: k11.clone(),
            namespace: namespace("a"),
            timeout: "3m",
        },
        Subject {
            name: "kwok-12",
            kubeconfig: k12.clone(),
            namespace: namespace("b"),
            timeout: "3m",
        },
        // The same cluster, another namespace: its aggregator never answers, so its run hangs
        // until the subject's time limit.
        Subject {
            name: "hangs",
            kubeconfig: k12.clone(),
            namespace: namespace("hang"),
            timeout: "20s",
        },
        Subject {
            name: "unreachable",
            kubeconfig: unreachable_kubeconfig(&k11, scratch.path()),
            namespace: namespace("down"),
            timeout: "3m",
        },
    ];
    let fleet = Fleet::new(&subjects, 4);
    let standins = [
        standin(&k11, &subjects[0].namespace, "complete"),
        standin(&k12, &subjects[1].namespace, "complete"),
    ];
    let report = scratch.path().join("report.yaml");
    let o = fleet
        .command(&["-o", report.to_str().unwrap()])
        .output()
        .unwrap();
    for s in standins {
        reap(s);
    }
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The roll-up: one ABORT makes the fleet ABORT (exit 3).
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    let json = fleet.json();
    assert_eq!(json["verdict"], "ABORT", "{json:#}");
    assert_eq!(json["exit_code"], 3);
    for name in ["kwok-11", "kwok-12"] {
        let j = job(&json, name);
        assert_eq!(j["verdict"], "PASS", "{name}: {j:#}\n{stderr}");
        for t in j["testcases"].as_array().unwrap() {
            let dir = fleet.out().join(t["dir"].as_str().unwrap());
            assert!(dir.join("verdict.json").is_file(), "{}", dir.display());
        }
    }
    let down = job(&json, "unreachable");
    assert_eq!(down["verdict"], "ABORT");
    for t in down["testcases"].as_array().unwrap() {
        assert_eq!(t["verdict"], "ABORT");
        assert!(
            t["reason"].as_str().unwrap().contains("cannot reach"),
            "{t:#}"
        );
    }
    let hang = job(&json, "hangs");
    assert_eq!(hang["verdict"], "ABORT", "{hang:#}");
    let hang_net = hang["testcases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "kaas-networking-check")
        .unwrap();
    assert_eq!(hang_net["verdict"], "ABORT", "{hang_net:#}");
    // The hanging subject held up nobody: with four workers every subject started before it
    // ended (no timing threshold: the order of events is what counts).
    let at = |j: &serde_json::Value| {
        j["started"]
            .as_str()
            .unwrap()
            .parse::<jiff::civil::DateTime>()
            .unwrap()
    };
    let hang_end =
        at(hang) + jiff::SignedDuration::from_secs_f64(hang["seconds"].as_f64().unwrap());
    for j in json["jobs"].as_array().unwrap() {
        assert!(
            at(j) < hang_end,
            "{} started after the hanging subject ended",
            j["subject"]
        );
    }

    // One document per (scope, subject), in plan order, as scs-test-runner.py concatenates them;
    // -o and the copy in the output directory are the same.
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(fleet.out().join("report.yaml")).unwrap()
    );
    let docs: Vec<&str> = text.split("---\n").filter(|d| !d.is_empty()).collect();
    assert_eq!(docs.len(), 4, "{text}");
    assert!(docs[0].contains("subject: \"kwok-11\""));
    assert!(docs[3].contains("subject: \"unreachable\""));
    assert!(
        docs[0].contains("\"kaas-networking-check\": 1"),
        "{}",
        docs[0]
    );
    assert!(
        docs[3].contains("\"kaas-networking-check\": 0"),
        "{}",
        docs[3]
    );
    assert!(docs[0].contains("uuid: \"00000000-0000-4000-8000-000000000001\""));
    // The report of each subject is in its folder too.
    assert!(
        fleet
            .out()
            .join("kwok-11/fleet-test-kaas/report.yaml")
            .is_file()
    );

    let summary = std::fs::read_to_string(fleet.out().join("summary.md")).unwrap();
    assert!(
        summary.contains("# SCS fleet certification: ❔ ABORT"),
        "{summary}"
    );
    assert!(
        summary.contains("[✅ PASS](kwok-11/fleet-test-kaas/kaas-networking-check/summary.md)"),
        "{summary}"
    );
    assert!(
        summary.contains("| [unreachable](unreachable/fleet-test-kaas/) |"),
        "{summary}"
    );

    for s in &subjects[..3] {
        assert_nothing_left(&s.kubeconfig, &s.namespace);
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_every_check_and_leaves_nothing_in_the_clusters() {
    let (k13, k14) = (instance(13), instance(14));
    let subjects = [
        Subject {
            name: "kwok-13",
            kubeconfig: k13.clone(),
            namespace: namespace("int-a"),
            timeout: "5m",
        },
        Subject {
            name: "kwok-14",
            kubeconfig: k14.clone(),
            namespace: namespace("int-b"),
            timeout: "5m",
        },
    ];
    let fleet = Fleet::new(&subjects, 2);
    // Runs that start and then never finish.
    let standins = [
        standin(&k13, &subjects[0].namespace, "stall"),
        standin(&k14, &subjects[1].namespace, "stall"),
    ];
    let mut child = fleet
        .command(&[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both runs are under way.
    let deadline = Instant::now() + Duration::from_secs(90);
    for s in &subjects {
        loop {
            let o = kubectl(
                &s.kubeconfig,
                &[
                    "get",
                    "pod",
                    "sonobuoy",
                    "-n",
                    &s.namespace,
                    "-o",
                    "jsonpath={.metadata.annotations.sonobuoy\\.hept\\.io/status}",
                ],
            );
            if String::from_utf8_lossy(&o.stdout).contains("\"running\"") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the run of {} did not start",
                s.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // What a terminal's Ctrl-C does to the runner.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let stopped = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(150),
            "the fleet did not stop after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    for s in standins {
        reap(s);
    }
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("fleet: interrupted"), "{stderr}");
    let json = fleet.json();
    for s in &subjects {
        let j = job(&json, s.name);
        assert_eq!(j["verdict"], "ABORT", "{j:#}");
        assert_eq!(j["interrupted"], true, "{j:#}");
    }
    // No check process is left: every child was waited for.
    let out = fleet.out().display().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            assert!(
                !(cmd.contains("scs-check") && cmd.contains(&out)),
                "left running: {cmd}"
            );
        }
    }
    for s in &subjects {
        assert_nothing_left(&s.kubeconfig, &s.namespace);
    }
}

/// A kubeconfig for a server nobody listens on: its checks ABORT within a second.
fn nowhere_kubeconfig(dir: &Path) -> PathBuf {
    let path = dir.join("nowhere.kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\n\
         clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n\
         users: [{name: u, user: {token: x}}]\n\
         contexts: [{name: c, context: {cluster: c, user: u}}]\n\
         current-context: c\n",
    )
    .unwrap();
    path
}

/// A subject name written to do harm in a page or a summary.
const HOSTILE: &str = "<b>evil</b> \"q\" & <script>alert(1)</script>";

/// The folder of a subject of the test scope, as the fleet names it.
fn job_folder(out: &Path, subject: &str) -> PathBuf {
    let name: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.join(name).join("fleet-test-kaas")
}

/// What an earlier fleet left for `subject`: kaas-networking-check's real outputs (a PASS verdict
/// on the bundled archive) and the last results: that PASS `age` ago, node-distribution-check a
/// PASS 60 days ago (its lifetime is a week: expired). `recorded_as` is the subject the record
/// names.
fn earlier_results(out: &Path, subject: &str, recorded_as: &str, age: jiff::SignedDuration) {
    let dir = job_folder(out, subject);
    let o = Command::new(bin())
        .args([
            "verdict",
            "--standard",
            "kaas-networking-check",
            "--cni",
            "cilium",
        ])
        .arg("--results")
        .arg(root().join(ARCHIVE))
        .arg("--out")
        .arg(dir.join("kaas-networking-check"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let now = jiff::Timestamp::now();
    let entry = |id: &str, module: &str, lifetime: &str, at: jiff::Timestamp| {
        serde_json::json!({
            "id": id, "module": module, "verdict": "PASS", "result": 1, "reason": "",
            "checked_at": at.to_string(), "lifetime": lifetime,
            "report_uuid": format!("earlier-{id}"), "published": false,
        })
    };
    let record = serde_json::json!({
        "schema_version": 1,
        "subject": recorded_as,
        "scope": {
            "id": "fleet-test-kaas",
            "uuid": "00000000-0000-4000-8000-000000000001",
            "versions": ["v1"],
        },
        "testcases": [
            entry("node-distribution-check", "scs-0214-v2", "week",
                  now - jiff::SignedDuration::from_hours(60 * 24)),
            entry("kaas-networking-check", "scs-0219-v1", "month", now - age),
        ],
    });
    std::fs::write(
        dir.join("last-results.json"),
        serde_json::to_string_pretty(&record).unwrap(),
    )
    .unwrap();
}

fn testcase<'a>(job: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    job["testcases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {job:#}"))
}

fn last_results(out: &Path, subject: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(job_folder(out, subject).join("last-results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// An offline fleet of unreachable subjects: `fresh` has a fresh earlier PASS of
/// kaas-networking-check, `mixed-up` a fresh one recorded for another subject, the hostile name
/// none.
fn offline_fleet(dir: &Path) -> Fleet {
    let kc = nowhere_kubeconfig(dir);
    let subject = |name| Subject {
        name,
        kubeconfig: kc.clone(),
        namespace: "sonobuoy".into(),
        timeout: "2m",
    };
    let fleet = Fleet::new(
        &[subject("fresh"), subject("mixed-up"), subject(HOSTILE)],
        3,
    );
    let hour = jiff::SignedDuration::from_hours(1);
    earlier_results(&fleet.out(), "fresh", "fresh", hour);
    earlier_results(&fleet.out(), "mixed-up", "someone-else", hour);
    fleet
}

fn run_fleet(fleet: &Fleet, extra: &[&str]) -> (Option<i32>, String) {
    let o = fleet.command(extra).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn skip_fresh_reuses_a_fresh_result_and_runs_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = offline_fleet(dir.path());
    let out = fleet.out();
    let earlier = last_results(&out, "fresh")["testcases"][1].clone();

    let (code, stderr) = run_fleet(&fleet, &["--skip-fresh"]);
    assert_eq!(code, Some(3), "{stderr}");
    let json = fleet.json();
    // The fresh PASS is carried over, with its date; nothing ran for it.
    let fresh = job(&json, "fresh");
    let net = testcase(fresh, "kaas-networking-check");
    assert_eq!(net["verdict"], "PASS", "{net:#}");
    assert_eq!(net["started"], false, "{net:#}");
    assert_eq!(
        net["reused"]["checked_at"], earlier["checked_at"],
        "{net:#}"
    );
    assert_eq!(
        net["reused"]["report_uuid"],
        "earlier-kaas-networking-check"
    );
    assert!(
        stderr.contains("fresh fleet-test-kaas: kaas-networking-check: PASS reused"),
        "{stderr}"
    );
    // The expired one ran (and could not reach its cluster).
    let nodes = testcase(fresh, "node-distribution-check");
    assert_eq!(
        (&nodes["verdict"], &nodes["started"], &nodes["reused"]),
        (
            &serde_json::json!("ABORT"),
            &serde_json::json!(true),
            &serde_json::Value::Null
        ),
        "{nodes:#}"
    );
    assert!(
        stderr.contains("node-distribution-check: runs: the last result (PASS of"),
        "{stderr}"
    );
    // A result recorded for another subject in the same folder, and no result at all: they run.
    for name in ["mixed-up", HOSTILE] {
        for t in job(&json, name)["testcases"].as_array().unwrap() {
            assert_eq!(t["started"], true, "{name}: {t:#}");
            assert_eq!(t["verdict"], "ABORT", "{name}: {t:#}");
        }
    }
    assert!(
        stderr.contains("earlier results in this folder are of subject \"someone-else\""),
        "{stderr}"
    );

    // The subject's report has an invocation only for what ran now: the reused result stays in
    // the earlier report that carried it, with its own checked_at.
    let report = std::fs::read_to_string(job_folder(&out, "fresh").join("report.yaml")).unwrap();
    assert!(
        report.contains("\"node-distribution-check\": 0"),
        "{report}"
    );
    assert!(!report.contains("kaas-networking-check"), "{report}");
    assert_eq!(report.matches("      id: ").count(), 1, "{report}");
    let run_uuid = fresh["report_uuid"].as_str().unwrap();
    assert!(
        report.contains(&format!("  uuid: \"{run_uuid}\"")),
        "{report}"
    );

    // The last results: the reused entry unchanged, the new ABORT with this run's report.
    let last = last_results(&out, "fresh");
    let entries = last["testcases"].as_array().unwrap();
    let of = |id: &str| entries.iter().find(|e| e["id"] == id).unwrap().clone();
    assert_eq!(of("kaas-networking-check"), earlier);
    assert_eq!(of("node-distribution-check")["verdict"], "ABORT");
    assert_eq!(of("node-distribution-check")["report_uuid"], run_uuid);
    assert_eq!(last_results(&out, "mixed-up")["subject"], "mixed-up");

    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let day = earlier["checked_at"].as_str().unwrap()[..10].to_string();
    assert!(
        summary.contains(&format!(
            "[✅ PASS (reused, {day})](fresh/fleet-test-kaas/kaas-networking-check/summary.md)"
        )),
        "{summary}"
    );

    // Again: still fresh, still the same date (a reused result keeps its own).
    let (code, stderr) = run_fleet(&fleet, &["--skip-fresh"]);
    assert_eq!(code, Some(3), "{stderr}");
    let net = testcase(job(&fleet.json(), "fresh"), "kaas-networking-check").clone();
    assert_eq!(
        net["reused"]["checked_at"], earlier["checked_at"],
        "{net:#}"
    );

    // Without --skip-fresh everything runs; its ABORT is now the last result, never reused.
    let (code, stderr) = run_fleet(&fleet, &[]);
    assert_eq!(code, Some(3), "{stderr}");
    let net = testcase(job(&fleet.json(), "fresh"), "kaas-networking-check").clone();
    assert_eq!(
        (&net["started"], &net["verdict"]),
        (&serde_json::json!(true), &serde_json::json!("ABORT"))
    );
    let (_, stderr) = run_fleet(&fleet, &["--skip-fresh"]);
    assert!(
        stderr.contains(
            "kaas-networking-check: runs: the last result was ABORT, which is never reused"
        ),
        "{stderr}"
    );
    // --fresh-margin only with --skip-fresh.
    let (code, stderr) = run_fleet(&fleet, &["--fresh-margin", "1h"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn a_malformed_or_expiring_record_means_the_test_case_runs() {
    let dir = tempfile::tempdir().unwrap();
    let kc = nowhere_kubeconfig(dir.path());
    let subject = |name| Subject {
        name,
        kubeconfig: kc.clone(),
        namespace: "sonobuoy".into(),
        timeout: "2m",
    };
    let fleet = Fleet::new(&[subject("broken"), subject("expiring")], 2);
    let out = fleet.out();
    earlier_results(
        &out,
        "broken",
        "broken",
        jiff::SignedDuration::from_hours(1),
    );
    std::fs::write(
        job_folder(&out, "broken").join("last-results.json"),
        "{\"schema_version\": 1,",
    )
    .unwrap();
    // Checked an hour ago, lifetime month: fresh for weeks, but not for the 2000 h margin asked.
    earlier_results(
        &out,
        "expiring",
        "expiring",
        jiff::SignedDuration::from_hours(1),
    );
    let (code, stderr) = run_fleet(&fleet, &["--skip-fresh", "--fresh-margin", "2000h"]);
    assert_eq!(code, Some(3), "{stderr}");
    let json = fleet.json();
    for name in ["broken", "expiring"] {
        let t = testcase(job(&json, name), "kaas-networking-check");
        assert_eq!(t["started"], true, "{name}: {t:#}");
    }
    assert!(
        stderr.contains("last-results.json: malformed, not used"),
        "{stderr}"
    );
    assert!(stderr.contains("within the margin of"), "{stderr}");
    // The malformed record was replaced by a good one.
    assert_eq!(last_results(&out, "broken")["subject"], "broken");
}

#[test]
fn fleet_html_shows_the_matrix_links_reused_results_and_reasons_and_escapes_names() {
    let Some(chromium) = chromium::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fleet = offline_fleet(dir.path());
    let (code, stderr) = run_fleet(&fleet, &["--skip-fresh"]);
    assert_eq!(code, Some(3), "{stderr}");
    let page = fleet.out().join("fleet.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<b>evil"), "unescaped in the source");

    let (dom, console) = chromium::dump_dom(&chromium, &page, &[]);
    chromium::assert_quiet_console(&console);
    let elements = chromium::parse_dom(&dom);
    // The hostile name is text, never elements.
    assert!(
        !elements
            .iter()
            .any(|e| chromium::FORBIDDEN.contains(&e.name.as_str()) || e.name == "b"),
        "{dom}"
    );
    let title = &elements.iter().find(|e| e.name == "title").unwrap().text;
    assert_eq!(title, "SCS fleet certification: ABORT");
    let rows: Vec<&chromium::Element> = elements
        .iter()
        .filter(|e| e.name == "tr" && e.attrs.contains_key("data-subject"))
        .collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r.attrs["data-subject"].as_str())
        .collect();
    assert_eq!(names, ["fresh", "mixed-up", HOSTILE]);
    assert!(rows[2].text.contains(HOSTILE), "{}", rows[2].text);

    // One cell per (subject, test case): its verdict as colour and word.
    let cells: Vec<&chromium::Element> = elements
        .iter()
        .filter(|e| e.name == "td" && e.attrs.contains_key("data-testcase"))
        .collect();
    assert_eq!(cells.len(), 6);
    let cell = |row: usize, tc: &str| {
        *cells
            .iter()
            .filter(|c| c.attrs["data-testcase"] == tc)
            .nth(row)
            .unwrap()
    };
    let reused = cell(0, "kaas-networking-check");
    assert_eq!(reused.class(), "cell v-pass");
    assert!(reused.text.starts_with("PASS"), "{}", reused.text);
    assert!(reused.text.contains("reused · 20"), "{}", reused.text);
    let abort = cell(2, "node-distribution-check");
    assert_eq!(abort.class(), "cell v-abort");
    assert!(abort.text.starts_with("ABORT"), "{}", abort.text);
    assert!(abort.text.contains("cannot reach"), "{}", abort.text);

    // Links: the reused result's own report.html and verdict.json, those of the checks that ran
    // now, each subject's folder and report. All relative, all existing.
    let hrefs: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "a")
        .map(|e| e.attrs["href"].as_str())
        .collect();
    for want in [
        "fresh/fleet-test-kaas/kaas-networking-check/report.html",
        "fresh/fleet-test-kaas/kaas-networking-check/verdict.json",
        "fresh/fleet-test-kaas/node-distribution-check/report.html",
        "fresh/fleet-test-kaas/report.yaml",
        "fresh/fleet-test-kaas/",
    ] {
        assert!(hrefs.contains(&want), "no link to {want}: {hrefs:?}");
    }
    for h in &hrefs {
        let target = fleet.out().join(h);
        assert!(target.exists(), "a link to nothing: {h}");
    }
    // The reasons of everything that did not pass, with the hostile name as text.
    let problems = chromium::texts_of(&elements, "ul", "problems").concat();
    assert!(
        problems.contains(&format!(
            "{HOSTILE} fleet-test-kaas kaas-networking-check: "
        )),
        "{problems}"
    );
    assert!(problems.contains("cannot reach"), "{problems}");

    // It loads nothing, even with links to local files on it.
    let netlog = dir.path().join("netlog.json");
    chromium::dump_dom(
        &chromium,
        &page,
        &[
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--log-net-log={}", netlog.display()),
        ],
    );
    let fetched = chromium::page_requests(&netlog);
    assert!(fetched.is_empty(), "the page requested {fetched:?}");
    // summary.md: the same name, as text for a Markdown renderer.
    let summary = std::fs::read_to_string(fleet.out().join("summary.md")).unwrap();
    assert!(
        summary.contains(r#"\<b\>evil\</b\> "q" \& \<script\>alert\(1\)\</script\>"#),
        "{summary}"
    );
    assert!(!summary.contains("<b>"), "{summary}");
}

#[test]
fn a_second_fleet_into_the_same_output_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = offline_fleet(dir.path());
    // What a running fleet holds.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(fleet.out().join(".scs-conformance.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let (code, stderr) = run_fleet(&fleet, &["--skip-fresh"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("another scs-conformance process"),
        "{stderr}"
    );
    // It touched nothing: the earlier results are as they were.
    assert_eq!(
        last_results(&fleet.out(), "mixed-up")["subject"],
        "someone-else"
    );
    drop(lock);
    let (code, stderr) = run_fleet(&fleet, &[]);
    assert_eq!(code, Some(3), "{stderr}");
}

#[test]
fn a_second_fleet_with_skip_fresh_reuses_the_first_fleets_results() {
    let k31 = instance(31);
    let subjects = [Subject {
        name: "kwok-31",
        kubeconfig: k31.clone(),
        namespace: namespace("reuse"),
        timeout: "3m",
    }];
    let fleet = Fleet::new(&subjects, 1);
    let s = standin(&k31, &subjects[0].namespace, "complete");
    let (code, stderr) = run_fleet(&fleet, &["--skip-fresh"]);
    reap(s);
    // Nothing earlier: everything runs.
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("runs: no earlier result"), "{stderr}");
    let first = fleet.json();
    let first_uuid = job(&first, "kwok-31")["report_uuid"].clone();

    // The next night: every result is fresh, so no check runs and no cluster is touched.
    let (code, stderr) = run_fleet(&fleet, &["--skip-fresh"]);
    assert_eq!(code, Some(0), "{stderr}");
    let json = fleet.json();
    let j = job(&json, "kwok-31");
    assert_eq!(j["verdict"], "PASS");
    for t in j["testcases"].as_array().unwrap() {
        assert_eq!(t["started"], false, "{t:#}");
        assert_eq!(t["reused"]["report_uuid"], first_uuid, "{t:#}");
        // The outputs are the first fleet's, still in place.
        let dir = fleet.out().join(t["dir"].as_str().unwrap());
        assert!(dir.join("report.html").is_file(), "{}", dir.display());
    }
    // This run's report says nothing new: no invocation.
    let report =
        std::fs::read_to_string(fleet.out().join("kwok-31/fleet-test-kaas/report.yaml")).unwrap();
    assert!(report.contains("  invocations: {}\n"), "{report}");
    let html = std::fs::read_to_string(fleet.out().join("fleet.html")).unwrap();
    assert!(
        html.contains("href=\"kwok-31/fleet-test-kaas/kaas-networking-check/report.html\""),
        "{html}"
    );
    assert_eq!(html.matches("class=\"reused\"").count(), 2, "{html}");
    assert_nothing_left(&k31, &subjects[0].namespace);
}
