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
  dotnet .device/tests/GanEngine.Tests.dll --report-trx --report-trx-filename tests.trx \
    --results-directory "$results" >"$results/console.log" 2>&1
  local rc=$?
  tail -n 30 "$results/console.log"
  # Per-accelerator counts: test classes are bound per accelerator (…Cpu…, …Cuda…, …OpenCL…).
  python3 - "$results/tests.trx" <<'PY' || true
import sys, re, collections, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    print(f"no TRX ({e})"); sys.exit(0)
classes = {d.get("id"): d.find("t:TestMethod", ns).get("className", "")
           for d in root.iterfind(".//t:UnitTest", ns)}
counts = collections.defaultdict(collections.Counter)
for r in root.iterfind(".//t:UnitTestResult", ns):
    cls = classes.get(r.get("testId"), "")
    m = re.search(r"(Cpu|Cuda|OpenCL|OpenCl)", cls + " " + r.get("testName", ""))
    counts[m.group(1) if m else "other"][r.get("outcome", "?")] += 1
print("| accelerator | passed | failed | skipped |")
print("| --- | ---: | ---: | ---: |")
for acc, c in sorted(counts.items()):
    print(f"| {acc} | {c['Passed']} | {c['Failed'] + c['Error'] + c['Timeout']} | {c['NotExecuted'] + c['Inconclusive']} |")
PY
  echo "tests exit code: $rc"
  (( rc == 0 )) || status=1
}

run_bench() {
  echo "== bench (C#, cuda)"
  dotnet .device/bench/GanEngine.Bench.dll --device cuda --reps "$reps" --json "$OUT/bench-cuda.json" 2>&1 | tee "$OUT/bench-cuda.log"
  (( PIPESTATUS[0] == 0 )) || status=1
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
