#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, after tools/device/prepare.sh was run here and
# .device was carried. Writes logs, TRX and JSON under $OUT; prints a short table last.
# Usage: bash tools/device/gpu-run.sh [tests|bench|all] [--opencl] [--reps N]
set -uo pipefail
mode="${1:-all}"; shift || true
opencl=0; reps=50
while (( $# )); do
  case "$1" in
    --opencl) opencl=1 ;;
    --reps) reps="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
status=0

dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C "$dn" \
  && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
  || { echo "cannot unpack .device/dotnet-runtime.tar.xz (run tools/device/prepare.sh first)" >&2; exit 1; }
echo "== $(dotnet --list-runtimes | head -1)"
nvidia-smi -L || true

run_tests() {
  echo "== tests"
  local results="$OUT/tests"
  mkdir -p "$results"
  # TRX when the runner has Microsoft.Testing.Extensions.TrxReport; per-test lines (--output Detailed) always.
  local trx_args=()
  if dotnet .device/tests/GanEngine.Tests.dll --help 2>/dev/null | grep -q -- '--report-trx'; then
    trx_args=(--report-trx --report-trx-filename tests.trx)
  fi
  dotnet .device/tests/GanEngine.Tests.dll "${trx_args[@]}" --output Detailed \
    --results-directory "$results" >"$results/console.log" 2>&1
  local rc=$?
  tail -n 30 "$results/console.log"
  # Per-accelerator counts: test classes are bound per accelerator (…Cpu…, …Cuda…, …OpenCL…).
  python3 - "$results/tests.trx" "$results/console.log" <<'PY' || true
import sys, re, collections, xml.etree.ElementTree as ET
acc_of = lambda text: (m.group(1) if (m := re.search(r"(Cpu|Cuda|OpenCL|OpenCl)", text)) else "other")
counts = collections.defaultdict(collections.Counter)
try:
    ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
    root = ET.parse(sys.argv[1]).getroot()
    classes = {d.get("id"): d.find("t:TestMethod", ns).get("className", "") for d in root.iterfind(".//t:UnitTest", ns)}
    for r in root.iterfind(".//t:UnitTestResult", ns):
        o = r.get("outcome", "?")
        o = "passed" if o == "Passed" else "failed" if o in ("Failed", "Error", "Timeout", "Aborted") else "skipped"
        counts[acc_of(classes.get(r.get("testId"), "") + " " + r.get("testName", ""))][o] += 1
except Exception:
    # No TRX: per-test lines of the runner's detailed output, e.g. "passed Ns.CudaGemmTests.Sgemm (12ms)".
    for line in open(sys.argv[2], errors="replace"):
        m = re.match(r"\s*(passed|failed|skipped)\s+(\S.*)", line)
        if m:
            counts[acc_of(m.group(2))][m.group(1)] += 1
print("| accelerator | passed | failed | skipped |")
print("| --- | ---: | ---: | ---: |")
for acc, c in sorted(counts.items()):
    print(f"| {acc} | {c['passed']} | {c['failed']} | {c['skipped']} |")
if not counts:
    print("| (no per-test results found) | | | |")
PY
  echo "tests exit code: $rc"
  (( rc == 0 )) || status=1
}

run_bench() {
  # A fresh kernel cache: the first process compiles every kernel with NVRTC, the second loads them all from disk.
  export GANENGINE_KERNEL_CACHE="$(mktemp -d)"
  echo "== bench (C#, cuda), kernel cache $GANENGINE_KERNEL_CACHE"
  dotnet .device/bench/GanEngine.Bench.dll --device cuda --reps "$reps" --json "$OUT/bench-cuda.json" 2>&1 | tee "$OUT/bench-cuda.log"
  (( PIPESTATUS[0] == 0 )) || status=1
  echo "== bench again in a second process (same kernel cache): expect compiled 0"
  dotnet .device/bench/GanEngine.Bench.dll --device cuda --reps 5 --copy-mib 64 --size 1024 2>&1 | grep -E "^# (device|kernels|all|[0-9])" | tee "$OUT/bench-cuda-second-process.log"
  local jsons=("$OUT/bench-cuda.json")
  if (( opencl )); then
    echo "== bench (C#, opencl)"
    dotnet .device/bench/GanEngine.Bench.dll --device opencl --reps "$reps" --json "$OUT/bench-opencl.json" 2>&1 | tee "$OUT/bench-opencl.log"
    (( PIPESTATUS[0] == 0 )) || status=1
    jsons+=("$OUT/bench-opencl.json")
  fi
  echo "== peer (PyTorch)"
  python3 tools/peer/torch_peer.py --reps "$reps" --json "$OUT/peer.json" 2>&1 | tee "$OUT/peer.log"
  (( PIPESTATUS[0] == 0 )) || status=1
  echo "== ours / peer"
  python3 - "$OUT/peer.json" "${jsons[@]}" <<'PY' | tee "$OUT/summary.md"
import json, sys
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception as e:
        print(f"(missing {path}: {e})"); return None
peer = load(sys.argv[1])
peer_rows = {(r["name"], r["shape"]): r for r in (peer or {}).get("results", [])}
print("| run | name | shape | ours ms | peer ms | ours rate | peer rate | ours/peer | check |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
for path in sys.argv[2:]:
    ours = load(path)
    if not ours:
        continue
    run = path.rsplit("bench-", 1)[-1].removesuffix(".json")
    for r in ours["results"]:
        p = peer_rows.get((r["name"], r["shape"]))
        fmt = lambda v, f: "-" if v is None else format(v, f)
        ratio = (r["rate"] / p["rate"]) if (p and r["rate"] and p["rate"]) else None
        print(f"| {run} | {r['name']} | {r['shape']} | {fmt(r['median_ms'], '.4f')} | {fmt(p and p['median_ms'], '.4f')} | "
              f"{fmt(r['rate'], '.1f')} {r['unit']} | {fmt(p and p['rate'], '.1f')} | {fmt(ratio, '.1%')} | "
              f"{'ok' if r['passed'] else 'FAILED ' + r['note']} |")
PY
}

case "$mode" in
  tests) run_tests ;;
  bench) run_bench ;;
  all) run_tests; run_bench ;;
  *) echo "usage: gpu-run.sh [tests|bench|all] [--opencl] [--reps N]" >&2; exit 2 ;;
esac
echo "== outputs in $OUT; exit $status"
exit $status
