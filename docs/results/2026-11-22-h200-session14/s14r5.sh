#!/usr/bin/env bash
# Session 14, call 5: expansion with a running rank (one popcount per 4 columns); sparse bench beside PyTorch in the same
# call; all GPU fixtures (CUDA + NVIDIA OpenCL); ncu on the SpMM.
set -x
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all; R=$OUT/r; mkdir -p $R; export GANENGINE_CACHE=$R/cache
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,driver_version --format=csv > $R/gpu.txt
timeout 200 dotnet $D/GanEngine.Bench.dll --device cuda --only sparse --json $R/ours.json > $R/ours.txt 2>&1
timeout 120 python3 tools/peer/peer_sparse.py --json $R/peer.json > $R/peer.txt 2>&1
grep -E "^\| sparse-(spmm|spmmt|sddmm)-s90(-tc[-a0-9]*)? " $R/ours.txt
grep -E "^\| sparse-(spmm|spmmt|sddmm)-(s90|dense)" $R/peer.txt
GANENGINE_SPARSE_SHAPES=1 GANENGINE_SPARSE_SPARSITY=90 timeout 100 ncu --clock-control none -k regex:"MaskedWg" -c 2 --section SpeedOfLight --section SchedulerStats --section LaunchStats \
  dotnet $D/GanEngine.Bench.dll --device cuda --only sparse-spmm-s90-tc --reps 1 --warmup 0 > $R/ncu.txt 2>&1
grep -E "MaskedWg|Duration|Issued Warp|Registers Per" $R/ncu.txt | head -12
timeout 330 dotnet $D/GanEngine.Tests.dll --filter "FullyQualifiedName~Cuda|FullyQualifiedName~NVIDIA" > $R/tests-gpu.txt 2>&1
grep -E "^failed " $R/tests-gpu.txt | head -20
grep -E "total:|failed:|succeeded:|skipped:" $R/tests-gpu.txt | tail -4
rm -rf $R/cache
