#!/usr/bin/env bash
# Side by side on a real Sonobuoy archive: `scs-conformance verdict` (extract safely, read the
# JUnit, e2e.log and sonobuoy_results.yaml, judge, write verdict.json, junit.xml, summary.md and
# report inputs) against `sonobuoy results ARCHIVE` (the real Sonobuoy v0.57.5 CLI's summary of the
# same archive). A measurement, not a test: docs/performance.md records its results and method.
#
#   benches/verdict-vs-sonobuoy.sh [ARCHIVE]
#
# Default archive: tests/fixtures/real/v1.35.4-bridge-only-ci-subset.tar.gz, the largest real one
# (672,737 bytes, 85 entries, 13.3 MB unpacked; a FAIL of scs-0219-ci-subset).
# Environment:
#   SONOBUOY=PATH        the sonobuoy binary (default: target/testenv/bin/sonobuoy as testenv/build
#                        builds it, else `sonobuoy` on PATH)
#   SCS_CONFORMANCE=PATH the binary to measure (default: the release build, built here if missing)
#   OUT=DIR              output directory of verdict (default: a fresh one under /tmp)
#   RUNS=N               hyperfine runs per command (default 40); WARMUP=N (default 5)
# Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCHIVE="${1:-$ROOT/tests/fixtures/real/v1.35.4-bridge-only-ci-subset.tar.gz}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
if [ -z "${SONOBUOY:-}" ]; then
  if [ -x "$ROOT/target/testenv/bin/sonobuoy" ]; then
    SONOBUOY="$ROOT/target/testenv/bin/sonobuoy"
  else
    SONOBUOY="$(command -v sonobuoy || true)"
  fi
fi
[ -x "${SONOBUOY:-}" ] || { echo "no sonobuoy binary: set SONOBUOY=PATH (testenv/build builds v0.57.5)" >&2; exit 2; }
if [ -z "${SCS_CONFORMANCE:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet --bin scs-conformance)
  SCS_CONFORMANCE="$TARGET/release/scs-conformance"
fi
OUT="${OUT:-$(mktemp -d /tmp/verdict-vs-sonobuoy.XXXXXX)}"

verdict=("$SCS_CONFORMANCE" verdict
  --standards-dir "$ROOT/tests/fixtures/real-node/standards"
  --waivers-dir "$ROOT/tests/fixtures/real-node/waivers"
  --standard scs-0219-ci-subset --date 2026-12-03
  --results "$ARCHIVE" --out "$OUT/verdict")

echo "archive: $ARCHIVE ($(stat -c %s "$ARCHIVE") bytes)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sonobuoy: $("$SONOBUOY" version 2>/dev/null | head -n1)"
echo "scs-conformance: $("$SCS_CONFORMANCE" --version)"
echo
echo "--- what each says (once) ---"
mkdir -p "$OUT"
"${verdict[@]}" >"$OUT/verdict.txt" || true
tail -n 2 "$OUT/verdict.txt"
"$SONOBUOY" results "$ARCHIVE" >"$OUT/sonobuoy.txt"
head -n 6 "$OUT/sonobuoy.txt"
echo

# verdict exits 1 for this FAIL archive: -i keeps hyperfine from stopping on it.
hyperfine -N -i --warmup "${WARMUP:-5}" --runs "${RUNS:-40}" --prepare "rm -rf $OUT/verdict" --prepare true \
  --export-markdown "$OUT/hyperfine.md" --export-json "$OUT/hyperfine.json" \
  -n "scs-conformance verdict" "${verdict[*]}" \
  -n "sonobuoy results" "$SONOBUOY results $ARCHIVE"
echo
cat "$OUT/hyperfine.md"
python3 - "$OUT/hyperfine.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ours, theirs = r["scs-conformance verdict"], r["sonobuoy results"]
print(f"\nsonobuoy results / verdict: {theirs['mean'] / ours['mean']:.1f}x by mean, "
      f"{theirs['min'] / ours['min']:.1f}x by minimum")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
