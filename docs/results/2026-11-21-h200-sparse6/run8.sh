#!/usr/bin/env bash
# Device run 8 (final, v6b; file first named run2.sh, run as .device/sparse6/run2.sh): full sparse bench (3 shapes x 0/70/80/90/95%, variants at 90%), torch.sparse peer in the same
# call, the CUDA sparse tests, and ncu on one launch each of SpmmCursor (default SpMM), SddmmCursor and SumSlices
# (default SDDMM), first shape at 90%. Runs from the session checkout with the build copied to .device/sparse6 (carried).
set -u
[ -n "${DOTNET_ROOT:-}" ] || { dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; }
B=.device/sparse6/bench/GanEngine.Bench.dll
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,driver_version --format=csv > $OUT/smi.txt 2>&1
timeout 300 dotnet $B --device cuda --only sparse --json $OUT/bench.json > $OUT/bench.log 2>&1
echo "bench rc $?"
timeout 200 python3 .device/sparse6/peer_sparse.py --json $OUT/peer.json > $OUT/peer.log 2>&1
echo "peer rc $?"
timeout 150 dotnet .device/sparse6/tests/GanEngine.Tests.dll --filter "FullyQualifiedName~Sparse&FullyQualifiedName~Cuda" > $OUT/tests.log 2>&1
echo "tests rc $?"; grep -E "^\s*(total|succeeded|failed|skipped):" $OUT/tests.log | tail -4
for k in SpmmCursor SddmmCursor SumSlices; do
  GANENGINE_SPARSE_SPARSITY=90 GANENGINE_SPARSE_SHAPES=1 timeout 60 ncu --clock-control none -k regex:$k -c 1 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section LaunchStats --section Occupancy \
    --section ComputeWorkloadAnalysis --section SchedulerStats \
    dotnet $B --device cuda --only sparse --reps 1 --warmup 0 > $OUT/ncu-$k.txt 2>&1
  echo "ncu $k rc $?"
done
grep -E "^\| sparse-(spmm|spmmt|sddmm)-s90 |^\| sparse-(spmm|sddmm)-s90-(s512u4k512|cp|c5|v5|c-)" $OUT/bench.log | grep 256x2048
grep -E "s90" $OUT/peer.log | grep -i "256x2048" | head -12
