#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, after tools/device/prepare.sh was run here and
# .device was carried. Writes logs, TRX and JSON under $OUT; prints a short table last.
# Usage: bash tools/device/gpu-run.sh [tests|gpu-tests|bench|layers|gan|all] [--opencl] [--reps N]
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
  echo "== tests (whole suite)"
  dotnet .device/tests/GanEngine.Tests.dll --output Detailed >"$OUT/tests.log" 2>&1
  local rc=$?
  grep -E "^failed " -A6 "$OUT/tests.log" | grep -vE "^\s+at " | head -80
  grep -E "^\s+(total|failed|succeeded|skipped):" "$OUT/tests.log"
  # Counts per accelerator binding: one filtered run each (the runner's summary gives the totals).
  {
    echo "| suite | accelerator | passed | failed | skipped |"
    echo "| --- | --- | ---: | ---: | ---: |"
    while IFS='|' read -r suite label filter; do
      local log; log=$(dotnet .device/tests/GanEngine.Tests.dll --filter "$filter" 2>&1)
      local p f k
      p=$(grep -oE "succeeded: [0-9]+" <<<"$log" | grep -oE "[0-9]+" | tail -1)
      f=$(grep -oE "failed: [0-9]+" <<<"$log" | grep -oE "[0-9]+" | tail -1)
      k=$(grep -oE "skipped: [0-9]+" <<<"$log" | grep -oE "[0-9]+" | tail -1)
      echo "| $suite | $label | ${p:-0} | ${f:-0} | ${k:-0} |"
    done <<'LIST'
all suites|CPU (blocks over all cores)|FullyQualifiedName~.Cpu&FullyQualifiedName!~.CpuDeterministic
all suites|CPU (deterministic)|FullyQualifiedName~.CpuDeterministic
all suites|OpenCL, PoCL (CPU)|FullyQualifiedName~.OpenCl&FullyQualifiedName~Portable
all suites|OpenCL, NVIDIA (GPU)|FullyQualifiedName~.OpenCl&FullyQualifiedName~NVIDIA
all suites|CUDA|FullyQualifiedName~.Cuda
kernel conformance|CUDA|FullyQualifiedName~Conformance.CudaKernelConformance
kernel conformance|OpenCL, NVIDIA (GPU)|FullyQualifiedName~Conformance.OpenClKernelConformance&FullyQualifiedName~NVIDIA
host only|generator, references, gradient checks|FullyQualifiedName~GanEngine.Tests.Compiler.|FullyQualifiedName~Reference|FullyQualifiedName~GradientCheck|FullyQualifiedName~KernelSourceMap
LIST
  } | tee "$OUT/test-counts.md"
  echo "tests exit code: $rc"
  (( rc == 0 )) || status=1
}

run_bench() {
  # A fresh kernel cache: the first process compiles every kernel with NVRTC, the second loads them all from disk.
  export GANENGINE_KERNEL_CACHE="$(mktemp -d)"
  echo "== bench (C#, cuda), kernel cache $GANENGINE_KERNEL_CACHE"
  dotnet .device/bench/GanEngine.Bench.dll --device cuda --reps "$reps" --json "$OUT/bench-cuda.json" 2>&1
  (( PIPESTATUS[0] == 0 )) || status=1
  echo "== bench again in a second process (same kernel cache): expect compiled 0"
  dotnet .device/bench/GanEngine.Bench.dll --device cuda --reps 5 --copy-mib 64 --size 1024 2>&1 | grep -E "^# (device|kernels|all|[0-9])" | tee "$OUT/cache.log"
  local jsons=("$OUT/bench-cuda.json")
  if (( opencl )); then
    echo "== bench (C#, opencl)"
    dotnet .device/bench/GanEngine.Bench.dll --device opencl --reps "$reps" --json "$OUT/bench-opencl.json" 2>&1
    (( PIPESTATUS[0] == 0 )) || status=1
    jsons+=("$OUT/bench-opencl.json")
  fi
  echo "== peer (PyTorch)"
  python3 tools/peer/torch_peer.py --reps "$reps" --json "$OUT/peer.json" 2>&1
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
              f"{(r['note'] or 'ok') if r['passed'] else 'FAILED ' + r['note']} |")
PY
}

# The layer benchmarks of issue 3 (conv / convT, batchnorm, masked sparse GEMM), each beside its
# PyTorch peer (cuDNN, torch.sparse) in the same call; tables in layers.log.
run_layers() {
  {
    echo "== layers (C#, cuda)"
    dotnet .device/bench/GanEngine.Bench.dll --device cuda --only conv,norm,sparse --reps 20 --warmup 3 --json "$OUT/bench-layers.json" 2>&1 || status=1
    echo "== peer: conv (cuDNN)"
    python3 tools/peer/peer_conv.py --reps 20 --warmup 5 2>&1 || status=1
    echo "== peer: batchnorm"
    python3 tools/peer/peer_norm.py 2>&1 || status=1
    echo "== peer: sparse (torch.sparse CSR, dense)"
    python3 tools/peer/peer_sparse.py 2>&1 || status=1
  } > "$OUT/layers.log"
  grep -E "^(==|\\| )" "$OUT/layers.log" | head -150
}

# The suites bound to the GPU (CUDA and NVIDIA OpenCL fixtures) only: the CPU ones run in CI.
run_gpu_tests() {
  echo "== tests (CUDA and NVIDIA OpenCL fixtures)"
  dotnet .device/tests/GanEngine.Tests.dll --filter "FullyQualifiedName~.Cuda|FullyQualifiedName~NVIDIA" --output Detailed >"$OUT/gpu-tests.log" 2>&1
  local rc=$?
  grep -E "^failed " -A6 "$OUT/gpu-tests.log" | grep -vE "^\s+at " | head -60
  grep -E "^\s+(total|failed|succeeded|skipped):" "$OUT/gpu-tests.log"
  (( rc == 0 )) || status=1
}

# Issue 4: `gan bench` (DCGAN-32 iteration beside PyTorch eager and CUDA graph, same call), then a full
# dcgan32 run on the digits at 32x32 with its evaluation; the run directory comes back as one archive
# (without the checkpoint). GAN_STEPS overrides the preset's step count.
run_gan() {
  echo "== gan bench"
  dotnet .device/gan/gan.dll bench --device cuda --batches 64,256 --iterations 200 --warmup 20 --json "$OUT/gan-bench.json" 2>&1 | tee "$OUT/gan-bench.md"
  (( PIPESTATUS[0] == 0 )) || status=1
  echo "== gan train --preset dcgan32"
  local run; run="$(mktemp -d)/dcgan32"
  GANENGINE_CACHE="$(mktemp -d)" dotnet .device/gan/gan.dll train --preset dcgan32 ${GAN_STEPS:+--steps $GAN_STEPS} --device cuda --out "$run" > "$OUT/dcgan32.log" 2>&1
  (( $? == 0 )) || status=1
  grep -vE "^step .*ETA" "$OUT/dcgan32.log" | tail -40
  grep -E "^step .*ETA" "$OUT/dcgan32.log" | awk 'NR % 20 == 0' | tail -12
  rm -rf "$run/checkpoints"
  tar -C "$(dirname "$run")" -czf "$OUT/dcgan32-run.tar.gz" dcgan32
}

case "$mode" in
  tests) run_tests ;;
  bench) run_bench ;;
  layers) run_layers ;;
  gan) run_gan ;;
  gpu-tests) run_gpu_tests ;;
  all) run_tests; run_bench; run_layers ;;
  *) echo "usage: gpu-run.sh [tests|gpu-tests|bench|layers|gan|all] [--opencl] [--reps N]" >&2; exit 2 ;;
esac
echo "== outputs in $OUT; exit $status"
exit $status
