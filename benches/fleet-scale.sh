#!/usr/bin/env bash
# Fleet scale measurement (docs/performance.md, "Fleet"): N testenv kwok clusters
# (`testenv/up --instance FIRST..FIRST+N-1`), each with testenv/aggregator-standin playing its
# Sonobuoy aggregator, certified by ONE `scs-conformance fleet` invocation, once with
# --num-workers 1 (one subject after another) and once with --num-workers N (all at once).
# For each it prints the wall time, the CPU time of the runner and its checks (user + sys of the
# fleet process and every scs-check child it reaped), and the peak resident memory of the runner,
# of one check, and of the runner and all checks together (sampled from /proc every 50 ms).
#
#   benches/fleet-scale.sh [N (default 5)] [FIRST instance (default 11)] [ROUNDS (default 3)] [PER (default 1)]
#
# PER > 1 certifies PER subjects per cluster (each in its own namespace), N*PER subjects in all,
# to see how the runner itself grows with the number of concurrent subjects.
#
# Env: SCS_CONFORMANCE (binary; default target/release/scs-conformance, built if missing),
# TESTENV_DIR (as for testenv/up). Leaves the instances running; stop them with
# `testenv/down --instance N`. Needs root (the stand-in installs /sonobuoy) like the live tests.
set -euo pipefail
N="${1:-5}"
FIRST="${2:-11}"
ROUNDS="${3:-3}"
PER="${4:-1}"
S=$((N * PER))
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${SCS_CONFORMANCE:-${CARGO_TARGET_DIR:-$REPO/target}/release/scs-conformance}"
[ -x "$BIN" ] || (cd "$REPO" && cargo build --release)
ARCHIVE="$REPO/tests/fixtures/derived/sonobuoy-v1.33-netpol-cilium.tar.gz"
OK_TO_FAIL="$REPO/tests/fixtures/scs/scs-sonobuoy-config-v1.yaml"
WORK="$(mktemp -d /tmp/fleet-scale.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

declare -a KC
for ((i = 0; i < N; i++)); do
  KC[i]="$("$REPO/testenv/up" --instance $((FIRST + i)) 2>/dev/null | tail -n1)"
done

# The built-in definitions plus a scope of SCS-0214 (native) and SCS-0219 (one Sonobuoy run).
mkdir -p "$WORK/standards"
cp "$REPO"/standards/*.yaml "$WORK/standards/"
cat >"$WORK/standards/fleet-test-kaas.yaml" <<'EOF'
scope:
  id: fleet-test-kaas
  name: Fleet test KaaS
  uuid: 00000000-0000-4000-8000-000000000001
  url: https://example.invalid/fleet-test-kaas.yaml
  versions:
  - version: v1
    include: [scs-0214-v2, scs-0219-v1]
EOF

subject() { echo "kwok-$((FIRST + $1 % N))-$(($1 / N))"; } # subject <index>

config() { # config <round tag>: writes $WORK/config.toml with a fresh namespace per subject
  {
    printf '[presets.scale]\nscopes = ["fleet-test-kaas"]\nsubjects = ['
    for ((j = 0; j < S; j++)); do printf '"%s"%s' "$(subject $j)" "$([ $j -lt $((S - 1)) ] && echo ', ')"; done
    printf ']\n[scopes.fleet-test-kaas]\nspec = "./fleet-test-kaas.yaml"\n'
    printf '[subjects._.mapping]\nsubject_root = "{subject}"\nkubeconfig = "{subject}/kubeconfig.yaml"\n'
    printf '[subjects._]\ntimeout = "5m"\nstall_timeout = "2m"\nscs_sonobuoy_config = "%s"\n' "$OK_TO_FAIL"
    for ((j = 0; j < S; j++)); do
      printf '[subjects.%s]\nnamespace = "scale-%s-%s"\n[subjects.%s.mapping]\nkubeconfig = "%s"\n' \
        "$(subject $j)" "$1" "$(subject $j)" "$(subject $j)" "${KC[j % N]}"
    done
  } >"$WORK/config.toml"
}

measure() { # measure <workers> <tag>
  local workers="$1" tag="$2" pids=()
  config "$tag"
  for ((j = 0; j < S; j++)); do
    "$REPO/testenv/aggregator-standin" --kubeconfig "${KC[j % N]}" -n "scale-$tag-$(subject $j)" --wait 600 "$ARCHIVE" >/dev/null 2>&1 &
    pids+=($!)
  done
  python3 - "$BIN" "$WORK" "$workers" "$tag" <<'PY'
import os, resource, subprocess, sys, time, json
bin_, work, workers, tag = sys.argv[1:5]
def rss(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1] == str(pid):
                    out.append(int(d))
            except (OSError, IndexError):
                pass
    return out
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
p = subprocess.Popen([bin_, "--standards-dir", f"{work}/standards", "fleet", "--config", f"{work}/config.toml",
                      "--preset", "scale", "--num-workers", workers, "--out", f"{work}/out-{tag}"],
                     stdout=subprocess.DEVNULL, stderr=open(f"{work}/fleet-{tag}.log", "w"))
peak_runner = peak_total = peak_check = max_checks = 0
while p.poll() is None:
    kids = children(p.pid)
    r = rss(p.pid); ks = [rss(k) for k in kids]
    peak_runner = max(peak_runner, r); peak_total = max(peak_total, r + sum(ks))
    peak_check = max([peak_check] + ks); max_checks = max(max_checks, len(kids))
    time.sleep(0.05)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
res = json.load(open(f"{work}/out-{tag}/fleet.json"))
verdicts = sorted({j["verdict"] for j in res["jobs"]})
print(f"| {workers} | {wall:.1f} s | {cpu:.2f} s | {peak_runner/2**20:.1f} MiB | {peak_check/2**20:.1f} MiB "
      f"| {peak_total/2**20:.1f} MiB | {max_checks} | {','.join(verdicts)} (exit {p.returncode}) |")
PY
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

echo "fleet of $S subjects on $N kwok clusters (instances $FIRST..$((FIRST + N - 1))), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| workers | wall | CPU (runner + checks) | peak RSS runner | peak RSS one check | peak RSS all | checks at once | verdicts |"
echo "|---|---|---|---|---|---|---|---|"
for ((r = 1; r <= ROUNDS; r++)); do
  measure 1 "seq$r"
  measure "$S" "par$r"
done
