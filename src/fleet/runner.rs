//! Running a fleet: every test case of a (scope, subject) as a child process of this binary
//! (`scs-conformance scs-check run …`), jobs concurrently up to a limit.
//!
//! Why child processes and not tasks in this process (docs/fleet.md): a crash, a hang, a leak or
//! a stuck TLS handshake of one subject cannot touch the others; the operating system reclaims
//! everything of a killed check; each check's stdout and stderr are exactly what SCS's
//! `scs-compliance-check.py` records from its scripts; and `scs-check` is the command SCS's own
//! tooling already runs, so the fleet runs the very code path a provider uses alone.
//!
//! Each child gets its own process group, so a Ctrl-C in the terminal reaches only this runner,
//! which forwards it once to every running child (each then removes its Sonobuoy run) and waits
//! for them; a second Ctrl-C kills them. A subject's time limit is passed to each child as
//! `--timeout` (the child aborts and cleans up by itself); a child still running
//! [`CHILD_GRACE`] after the limit gets SIGTERM, and SIGKILL [`KILL_GRACE`] later.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::{Semaphore, watch};
use tokio::time::sleep_until;

use super::reuse::{self, Decision, Record, Reused};
use super::{Job, JobOutcome, Plan, TestcaseOutcome, TestcaseSpec, path_component};
use crate::fleet::config::ClusterAccess;
use scs_conformance::verdict::Verdict;

/// After a subject's time limit, how long a child may still take to abort and clean up by itself
/// (`scs-check` bounds its cleanup to 1 min) before it gets SIGTERM.
pub const CHILD_GRACE: Duration = Duration::from_secs(90);
/// After SIGTERM or a forwarded SIGINT, how long a child may take before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(120);
/// At most this much of a child's stdout or stderr is kept for the report.
const MAX_OUTPUT: u64 = 4 << 20;

/// How to run the children.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// This binary (`std::env::current_exe()`).
    pub exe: PathBuf,
    /// Global options for every child, before `scs-check` (`--standards-dir DIR`, …).
    pub global_args: Vec<String>,
    /// The fleet's output directory (absolute).
    pub out: PathBuf,
    /// `--skip-fresh`: reuse fresh last results by this policy (its `now` is taken afresh for
    /// each decision); `None`: run every test case.
    pub reuse: Option<reuse::Policy>,
}

/// Interrupt level shared with every job: 0 none, 1 stop (SIGINT forwarded), 2 kill.
pub type Cancel = watch::Receiver<u8>;

/// Installs SIGINT, SIGTERM and SIGHUP handlers (call within a Tokio runtime): the first signal sets the
/// level to 1, the second to 2. A handler that cannot be installed is reported and ignored.
pub fn forward_signals() -> (Cancel, watch::Sender<u8>) {
    let (tx, rx) = watch::channel(0u8);
    let sender = tx.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        // The terminal closed: like SIGTERM.
        let hup = signal(SignalKind::hangup());
        tokio::spawn(async move {
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (int, term, hup) else {
                eprintln!("fleet: warning: cannot install the signal handlers");
                return;
            };
            for level in 1..=2u8 {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
                if level == 1 {
                    eprintln!(
                        "fleet: interrupted: stopping every running check (each removes its run from its cluster); interrupt again to kill them"
                    );
                } else {
                    eprintln!("fleet: interrupted again: killing every running check");
                }
                let _ = tx.send(level);
            }
        });
    }
    (rx, sender)
}

/// Runs the plan; returns one outcome per job, in plan order. Never fails: whatever goes wrong
/// with one job is an ABORT of that job. `previous` holds each job's earlier record
/// ([`reuse::load`]), in plan order.
pub async fn run(
    plan: &Plan,
    previous: &[Result<Record, String>],
    opts: &RunnerOptions,
    cancel: Cancel,
) -> Vec<JobOutcome> {
    let sem = Arc::new(Semaphore::new(plan.workers));
    let opts = Arc::new(opts.clone());
    let mut handles = Vec::new();
    for (i, job) in plan.jobs.iter().enumerate() {
        let (job, opts, sem, cancel) = (job.clone(), opts.clone(), sem.clone(), cancel.clone());
        let prev = previous
            .get(i)
            .cloned()
            .unwrap_or_else(|| Err("no earlier result".into()));
        handles.push(tokio::spawn(async move {
            run_job(&job, &prev, &opts, &sem, cancel).await
        }));
    }
    let mut outcomes = Vec::new();
    for (h, job) in handles.into_iter().zip(&plan.jobs) {
        match h.await {
            Ok(o) => outcomes.push(o),
            // A panic inside a job's task (a bug): that job is an ABORT, the others stand.
            Err(e) => outcomes.push(not_run(job, &format!("internal error: {e}"), false)),
        }
    }
    outcomes
}

/// A job's folder, relative to the fleet's output directory: `SUBJECT/SCOPE`.
pub fn job_dir(job: &Job) -> PathBuf {
    PathBuf::from(path_component(&job.subject.name)).join(path_component(&job.scope.id))
}

/// A job none of whose test cases started.
fn not_run(job: &Job, reason: &str, interrupted: bool) -> JobOutcome {
    let dir = job_dir(job);
    let testcases: Vec<TestcaseOutcome> = job
        .testcases
        .iter()
        .map(|t| skipped(t, &dir, reason))
        .collect();
    let now = jiff::Zoned::now();
    JobOutcome {
        scope: job.scope.clone(),
        subject: job.subject.name.clone(),
        mapping: job.subject.mapping.clone(),
        verdict: JobOutcome::rollup(&testcases),
        testcases,
        dir,
        started: now.datetime(),
        started_at: now.timestamp(),
        run_uuid: uuid::Uuid::new_v4().to_string(),
        seconds: 0.0,
        timed_out: false,
        interrupted,
        published: None,
    }
}

fn skipped(t: &TestcaseSpec, dir: &Path, reason: &str) -> TestcaseOutcome {
    TestcaseOutcome {
        id: t.id.clone(),
        module: t.module.clone(),
        lifetime: t.lifetime,
        verdict: Verdict::Abort,
        reason: reason.to_string(),
        cmd: String::new(),
        rc: None,
        stdout: Vec::new(),
        stderr: Vec::new(),
        result: None,
        dir: dir.join(&t.id),
        seconds: 0.0,
        reused: None,
    }
}

/// A fresh last result, carried into this run instead of running the test case.
fn reused(t: &TestcaseSpec, dir: &Path, reused: Reused) -> TestcaseOutcome {
    let verdict = reused.entry.verdict;
    TestcaseOutcome {
        verdict,
        reason: reused.entry.reason.clone(),
        result: reused.entry.result,
        reused: Some(reused),
        ..skipped(t, dir, "")
    }
}

async fn run_job(
    job: &Job,
    previous: &Result<Record, String>,
    opts: &RunnerOptions,
    sem: &Semaphore,
    mut cancel: Cancel,
) -> JobOutcome {
    let permit = tokio::select! {
        p = sem.acquire() => p.ok(),
        _ = cancel.wait_for(|l| *l > 0) => None,
    };
    if permit.is_none() || *cancel.borrow() > 0 {
        return not_run(job, "interrupted before it started", true);
    }
    let name = format!("{} {}", job.subject.name, job.scope.id);
    let now = jiff::Zoned::now();
    let (started, started_at) = (now.datetime(), now.timestamp());
    let t0 = Instant::now();
    let limit = job.subject.timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let dir = job_dir(job);
    let abs = opts.out.join(&dir);
    if let Err(e) = std::fs::create_dir_all(&abs) {
        let mut o = not_run(job, &format!("cannot create {}: {e}", abs.display()), false);
        (o.started, o.started_at) = (started, started_at);
        return o;
    }
    eprintln!(
        "fleet: {name}: started ({} test case(s), time limit {})",
        job.testcases.len(),
        super::human(limit)
    );
    let mut testcases = Vec::new();
    let (mut timed_out, mut interrupted) = (false, false);
    for tc in &job.testcases {
        if let Some(policy) = &opts.reuse {
            let policy = reuse::Policy {
                now: jiff::Timestamp::now(),
                ..policy.clone()
            };
            match reuse::decide(previous, &job.subject.name, &job.scope, tc, &abs, &policy) {
                Decision::Reuse { entry, expires } => {
                    eprintln!(
                        "fleet: {name}: {}: {} reused (checked at {}, valid until {})",
                        tc.id,
                        entry.verdict.as_str(),
                        entry.checked_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                        expires.strftime("%Y-%m-%d %H:%M:%S UTC")
                    );
                    testcases.push(reused(tc, &dir, Reused { entry, expires }));
                    continue;
                }
                Decision::Run(why) => eprintln!("fleet: {name}: {}: runs: {why}", tc.id),
            }
        }
        if *cancel.borrow() > 0 {
            interrupted = true;
            testcases.push(skipped(tc, &dir, "interrupted before it started"));
            continue;
        }
        let now = tokio::time::Instant::now();
        if now + Duration::from_secs(1) >= deadline {
            timed_out = true;
            testcases.push(skipped(
                tc,
                &dir,
                &format!(
                    "the subject's time limit ({}) was reached before it started",
                    super::human(limit)
                ),
            ));
            continue;
        }
        let o = run_testcase(job, tc, opts, &dir, deadline, &mut cancel).await;
        eprintln!(
            "fleet: {name}: {}: {} ({:.1} s){}",
            tc.id,
            o.verdict.as_str(),
            o.seconds,
            if o.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", o.reason)
            }
        );
        timed_out |= o.reason.contains("time limit");
        interrupted |= *cancel.borrow() > 0;
        testcases.push(o);
    }
    drop(permit);
    let verdict = JobOutcome::rollup(&testcases);
    let seconds = t0.elapsed().as_secs_f64();
    eprintln!("fleet: {name}: {} in {seconds:.1} s", verdict.as_str());
    JobOutcome {
        scope: job.scope.clone(),
        subject: job.subject.name.clone(),
        mapping: job.subject.mapping.clone(),
        testcases,
        verdict,
        dir,
        started,
        started_at,
        run_uuid: uuid::Uuid::new_v4().to_string(),
        seconds,
        timed_out,
        interrupted,
        published: None,
    }
}

/// The `scs-check` arguments for one test case of a job.
fn child_args(
    job: &Job,
    tc: &TestcaseSpec,
    opts: &RunnerOptions,
    result_dir: &Path,
    remaining: Duration,
) -> Vec<String> {
    let s = &job.subject;
    let mut a = opts.global_args.clone();
    a.extend(["scs-check".into(), "run".into()]);
    if let ClusterAccess::Kubeconfig(k) = &s.access {
        a.extend(["-k".into(), k.display().to_string()]);
    }
    a.extend(["-c".into(), tc.id.clone(), "-r".into()]);
    a.push(result_dir.display().to_string());
    a.extend([
        "--execution-mode".into(),
        s.execution_mode.clone(),
        "--timeout".into(),
        format!("{}s", remaining.as_secs().max(1)),
    ]);
    if let Some(c) = &s.context {
        a.extend(["--context".into(), c.clone()]);
    }
    if let Some(n) = &s.namespace {
        a.extend(["-n".into(), n.clone()]);
    }
    if let Some(c) = &s.cni {
        a.extend(["--cni".into(), c.clone()]);
    }
    if let Some(t) = s.stall_timeout {
        a.extend(["--stall-timeout".into(), format!("{}s", t.as_secs())]);
    }
    if tc.e2e
        && let Some(f) = &s.scs_sonobuoy_config
    {
        a.extend(["--scs-sonobuoy-config".into(), f.display().to_string()]);
    }
    a.extend(s.args.iter().cloned());
    a
}

/// A word as a POSIX shell would need it quoted.
pub fn shell_word(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// Sends `sig` to the child's process group: the child leads its own group (process_group(0)),
/// so this reaches it and anything it started. A child that already exited is harmless: we still
/// hold it (not yet reaped), so its pid is not reused.
#[cfg(unix)]
fn signal_group(pid: Option<u32>, sig: nix::sys::signal::Signal) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), sig);
    }
}

async fn run_testcase(
    job: &Job,
    tc: &TestcaseSpec,
    opts: &RunnerOptions,
    dir: &Path,
    deadline: tokio::time::Instant,
    cancel: &mut Cancel,
) -> TestcaseOutcome {
    let t0 = Instant::now();
    let abs = opts.out.join(dir);
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    let args = child_args(job, tc, opts, &abs.join(&tc.id), remaining);
    let cmd = std::iter::once(opts.exe.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| shell_word(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let mut outcome = TestcaseOutcome {
        cmd,
        ..skipped(tc, dir, "")
    };
    let out_path = abs.join(format!("{}.stdout", tc.id));
    let err_path = abs.join(format!("{}.stderr", tc.id));
    let files =
        std::fs::File::create(&out_path).and_then(|o| Ok((o, std::fs::File::create(&err_path)?)));
    let (out_file, err_file) = match files {
        Ok(f) => f,
        Err(e) => {
            outcome.reason = format!("cannot create the log files in {}: {e}", abs.display());
            return outcome;
        }
    };
    let mut command = Command::new(&opts.exe);
    if job.subject.access == ClusterAccess::InCluster {
        // Without -k and KUBECONFIG the check uses the pod's service account.
        command.env_remove("KUBECONFIG");
    }
    command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::from(err_file))
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            outcome.reason = format!("cannot start {}: {e}", opts.exe.display());
            outcome.result = Some(0);
            outcome
                .stderr
                .push(format!("CRITICAL: fleet: {}", outcome.reason));
            return outcome;
        }
    };
    let pid = child.id();
    let hard_deadline = deadline + CHILD_GRACE;
    let far = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86400);
    let mut kill_at: Option<tokio::time::Instant> = None;
    let (mut term_sent, mut int_sent, mut cancel_open) = (false, false, true);
    let (mut timed_out, mut interrupted) = (false, false);
    // If we are already interrupted, stop the child at once.
    let status = loop {
        let level = *cancel.borrow();
        if level >= 1 && !int_sent {
            #[cfg(unix)]
            signal_group(pid, nix::sys::signal::Signal::SIGINT);
            int_sent = true;
            interrupted = true;
            kill_at = Some(kill_at.map_or(tokio::time::Instant::now() + KILL_GRACE, |k| k));
        }
        if level >= 2 {
            #[cfg(unix)]
            signal_group(pid, nix::sys::signal::Signal::SIGKILL);
            kill_at = None;
        }
        tokio::select! {
            st = child.wait() => break st,
            _ = sleep_until(hard_deadline), if !term_sent => {
                #[cfg(unix)]
                signal_group(pid, nix::sys::signal::Signal::SIGTERM);
                term_sent = true;
                timed_out = true;
                kill_at = Some(tokio::time::Instant::now() + KILL_GRACE);
            }
            _ = sleep_until(kill_at.unwrap_or(far)), if kill_at.is_some() => {
                #[cfg(unix)]
                signal_group(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = child.start_kill();
                kill_at = None;
            }
            r = cancel.changed(), if cancel_open => {
                if r.is_err() {
                    cancel_open = false;
                }
            }
        }
    };
    outcome.seconds = t0.elapsed().as_secs_f64();
    outcome.stdout = read_lines(&out_path);
    outcome.stderr = read_lines(&err_path);
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            outcome.reason = format!("lost the check process: {e}");
            outcome.result = Some(0);
            outcome
                .stderr
                .push(format!("CRITICAL: fleet: {}", outcome.reason));
            return outcome;
        }
    };
    outcome.rc = status.code().or_else(|| {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            status.signal().map(|s| -s)
        }
        #[cfg(not(unix))]
        None
    });
    outcome.result = parse_result(&outcome.stdout, &tc.id);
    match outcome.result {
        Some(v) => {
            outcome.verdict = match v {
                1 => Verdict::Pass,
                -1 => Verdict::Fail,
                _ => Verdict::Abort,
            };
            outcome.reason = reason(&outcome.stderr, outcome.verdict);
            if timed_out || interrupted {
                let why = if timed_out {
                    "stopped at the subject's time limit"
                } else {
                    "interrupted"
                };
                outcome.reason = if outcome.reason.is_empty() {
                    why.to_string()
                } else {
                    format!("{why}: {}", outcome.reason)
                };
            }
        }
        None => {
            let how = match outcome.rc {
                Some(rc) if rc < 0 => format!("killed by signal {}", -rc),
                Some(rc) => format!("exit status {rc}"),
                None => "no exit status".into(),
            };
            outcome.reason = if timed_out {
                format!(
                    "exceeded the subject's time limit ({}) and was stopped ({how}) without a result",
                    super::human(job.subject.timeout)
                )
            } else if interrupted {
                format!("interrupted ({how}) without a result")
            } else {
                let last = reason(&outcome.stderr, Verdict::Abort);
                format!(
                    "the check ended without a result line ({how}){}",
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(": {last}")
                    }
                )
            };
            // SCS would record no result; an ABORT says what happened and is what our roll-up
            // counts. The line is the runner's, marked as such.
            outcome.result = Some(0);
            outcome
                .stderr
                .push(format!("CRITICAL: fleet: {}: {}", tc.id, outcome.reason));
        }
    }
    outcome
}

/// The result of `testcase` in the check's stdout, parsed like `scs-compliance-check.py`:
/// `line.rsplit(':', 1)`, the verdict stripped and upper-cased; the last line wins.
pub fn parse_result(stdout: &[String], testcase: &str) -> Option<i8> {
    let mut result = None;
    for line in stdout {
        let Some((id, v)) = line.rsplit_once(':') else {
            continue;
        };
        if id.trim() != testcase {
            continue;
        }
        result = match v.trim().to_uppercase().as_str() {
            "PASS" => Some(1),
            "ABORT" => Some(0),
            "FAIL" => Some(-1),
            _ => result,
        };
    }
    result
}

/// Why, in one line: the last `critical:` or `error:` line for a verdict other than PASS.
fn reason(stderr: &[String], verdict: Verdict) -> String {
    if verdict == Verdict::Pass {
        return String::new();
    }
    let pick = |prefix: &str| {
        stderr
            .iter()
            .rev()
            .find(|l| l.to_lowercase().starts_with(prefix))
            .map(|l| {
                l.split_once(':')
                    .map_or(l.as_str(), |(_, r)| r)
                    .trim()
                    .to_string()
            })
    };
    let text = pick("critical")
        .or_else(|| pick("error"))
        .unwrap_or_default();
    let text: String = text.chars().take(300).collect();
    text
}

fn read_lines(path: &Path) -> Vec<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(MAX_OUTPUT).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_parsed_like_scs() {
        let out: Vec<String> = ["info: x", "kaas-networking-check: pass ", "other: FAIL"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(parse_result(&out, "kaas-networking-check"), Some(1));
        assert_eq!(parse_result(&out, "other"), Some(-1));
        assert_eq!(parse_result(&out, "missing"), None);
        let two = vec!["a: PASS".to_string(), "a: ABORT".to_string()];
        assert_eq!(parse_result(&two, "a"), Some(0));
    }

    #[test]
    fn reasons_come_from_the_last_critical_line() {
        let err: Vec<String> = [
            "info: a",
            "error: e1",
            "critical: cannot reach x",
            "info: done",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(reason(&err, Verdict::Abort), "cannot reach x");
        assert_eq!(reason(&err, Verdict::Pass), "");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("a-b/c.d"), "a-b/c.d");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn child_arguments_carry_the_subjects_settings() {
        use crate::fleet::config::Config;
        use crate::fleet::{Job, ScopeInfo};
        use scs_conformance::definitions::catalog::Lifetime;
        let c = Config::parse(
            Path::new("/cfg/config.toml"),
            "[subjects._.mapping]\nkubeconfig = \"{subject}/kc\"\n[subjects._]\nscs_sonobuoy_config = \"ok.yaml\"\n\
             [subjects.s]\ncontext = \"ctx\"\ncni = \"cilium\"\nnamespace = \"ns\"\nstall_timeout = \"10m\"\nargs = [\"--date\", \"2026-05-01\"]\n",
        )
        .unwrap();
        let job = Job {
            scope: ScopeInfo {
                id: "scope".into(),
                name: "n".into(),
                uuid: "u".into(),
                url: "l".into(),
                versions: vec!["v1".into()],
            },
            subject: c.subject("s").unwrap(),
            testcases: Vec::new(),
        };
        let tc = |e2e| TestcaseSpec {
            id: "kaas-networking-check".into(),
            module: "scs-0219-v1".into(),
            e2e,
            section: None,
            lifetime: Lifetime::Month,
        };
        let opts = RunnerOptions {
            exe: PathBuf::from("/bin/scs-conformance"),
            global_args: vec!["--standards-dir".into(), "/std".into()],
            out: PathBuf::from("/out"),
            reuse: None,
        };
        let a = child_args(
            &job,
            &tc(true),
            &opts,
            Path::new("/out/s/scope/tc"),
            Duration::from_millis(90_500),
        )
        .join(" ");
        assert_eq!(
            a,
            "--standards-dir /std scs-check run -k /cfg/s/kc -c kaas-networking-check -r /out/s/scope/tc \
             --execution-mode parallel --timeout 90s --context ctx -n ns --cni cilium --stall-timeout 600s \
             --scs-sonobuoy-config /cfg/ok.yaml --date 2026-05-01"
        );
        // The okToFail list is for e2e test cases only.
        let a = child_args(&job, &tc(false), &opts, Path::new("/r"), Duration::ZERO).join(" ");
        assert!(!a.contains("--scs-sonobuoy-config"), "{a}");
        assert!(a.contains("--timeout 1s"), "{a}");
    }
}
