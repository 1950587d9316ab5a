#!/usr/bin/env bash
# Device run 7 (v6 exploration; file first named run1.sh): bench at 90% on the three shapes with all variants, the CUDA sparse tests, and
# Runs from the session checkout: the build is copied to .device/sparse6 there (ignored) and carried.
# ncu on one launch of each of SpmmSplit2 (v4 default), SpmmPipe (p512u4k256), SddmmRows (v5 default), SddmmPipe (p-k256).
set -u
[ -n "${DOTNET_ROOT:-}" ] || { dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; }
B=.device/sparse6/bench/GanEngine.Bench.dll
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv > $OUT/smi.txt 2>&1
GANENGINE_SPARSE_SPARSITY=90 timeout 200 dotnet $B --device cuda --only sparse --json $OUT/run1-bench.json > $OUT/run1-bench.log 2>&1
echo "bench rc $?"
timeout 150 dotnet .device/sparse6/tests/GanEngine.Tests.dll --filter "FullyQualifiedName~Sparse&FullyQualifiedName~Cuda" > $OUT/run1-tests.log 2>&1
echo "tests rc $?"; grep -E "total|succeeded|failed|skipped" $OUT/run1-tests.log | tail -5
for k in SpmmSplit2 SpmmPipe SddmmRows SddmmPipe; do
  GANENGINE_SPARSE_SPARSITY=90 GANENGINE_SPARSE_SHAPES=1 timeout 60 ncu --clock-control none -k regex:$k -c 1 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section LaunchStats --section Occupancy \
    --section ComputeWorkloadAnalysis --section SchedulerStats \
    dotnet $B --device cuda --only sparse --reps 1 --warmup 0 > $OUT/ncu-$k.txt 2>&1
  echo "ncu $k rc $?"
  grep -q "==PROF==" $OUT/ncu-$k.txt && ! grep -q "LibraryNotLoaded\|ERR==" $OUT/ncu-$k.txt || { tail -3 $OUT/ncu-$k.txt; break; }
done
grep -E "^\| sparse-(spmm|sddmm)-s90" $OUT/run1-bench.log
