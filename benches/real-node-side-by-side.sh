#!/usr/bin/env bash
# Side by side on testenv's real node: SCS's way today (Tests/kaas/sonobuoy_handler/run_sonobuoy.py
# with the real sonobuoy CLI, exactly as Tests/scs-compatible-kaas.yaml calls it for
# kaas-networking-check) against `scs-conformance run --standard scs-0219-v1`. Prints wall time to
# a verdict, specs run and the verdict of each. A measurement, not a test: docs/performance.md
# records its results and the method.
#
#   benches/real-node-side-by-side.sh /path/to/SovereignCloudStack/standards [enforce|none]
#
# Needs: the real node (brought up here), python3 with click and PyYAML (SCS's handler), and the
# release binary (built here). Each tool's results go to target/side-by-side/<tool>/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCS="${1:?usage: $0 /path/to/SovereignCloudStack/standards [enforce|none]}"
NETPOL="${2:-enforce}"
OUT="$ROOT/target/side-by-side/$NETPOL"
HANDLER="$SCS/Tests/kaas/sonobuoy_handler/run_sonobuoy.py"
[ -f "$HANDLER" ] || { echo "no $HANDLER" >&2; exit 2; }

KUBECONFIG_PATH="$("$ROOT/testenv/up" --node real --netpol "$NETPOL" | tail -n1)"
(cd "$ROOT" && cargo build --release --quiet)
rm -rf "$OUT" && mkdir -p "$OUT/scs" "$OUT/ours"

# SCS's handler finds `sonobuoy` in PATH; testenv built the same v0.57.5.
export PATH="$ROOT/target/testenv/bin:$PATH"
t0=$(date +%s.%N)
(cd "$SCS/Tests" && python3 "$HANDLER" run -k "$KUBECONFIG_PATH" \
  --scs-sonobuoy-config kaas/scs-sonobuoy-config-v1.yaml --execution-mode serial \
  -r "$OUT/scs" -c kaas-networking-check \
  -a '--e2e-focus "NetworkPolicy"' -a '--plugin-env e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2') \
  >"$OUT/scs.log" 2>&1 && scs_rc=0 || scs_rc=$?
t1=$(date +%s.%N)
"$ROOT/target/release/scs-conformance" run --standard scs-0219-v1 --kubeconfig "$KUBECONFIG_PATH" \
  --out "$OUT/ours" >"$OUT/ours.log" 2>&1 && ours_rc=0 || ours_rc=$?
t2=$(date +%s.%N)

scs_line="$(grep -E 'kaas-networking-check: (PASS|FAIL|ABORT)' "$OUT/scs.log" | tail -n1 || true)"
scs_counts="$(grep -Eo 'sonobuoy reports .*' "$OUT/scs.log" | tail -n1 || true)"
ours_counts="$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); t=v["modules"][0]["testcases"][0]; print(v["verdict"], json.dumps(t["counts"]))' "$OUT/ours/verdict.json" 2>/dev/null || echo "no verdict.json")"
printf '| tool | wall time | exit | verdict / counts |\n|---|---|---|---|\n'
printf '| run_sonobuoy.py (serial, focus NetworkPolicy) | %.0f s | %s | %s %s |\n' "$(echo "$t1 - $t0" | bc)" "$scs_rc" "${scs_line:-?}" "$scs_counts"
printf '| scs-conformance run --standard scs-0219-v1 | %.0f s | %s | %s |\n' "$(echo "$t2 - $t1" | bc)" "$ours_rc" "$ours_counts"
