#!/usr/bin/env bash
# Session 14, call 4: wgmma issued before the expansion and copies; batched expansion; leads 3 and 2; CUDA + NVIDIA OpenCL sparse tests; sparse bench beside PyTorch in
# the same call; ncu stall reasons for the tensor-core kernel and the split sum (shape 1, 90%).
set -x
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all; R=$OUT/r; mkdir -p $R; export GANENGINE_CACHE=$R/cache
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,driver_version --format=csv > $R/gpu.txt
timeout 200 dotnet $D/GanEngine.Tests.dll --filter "FullyQualifiedName~MaskedSparse&(FullyQualifiedName~Cuda|FullyQualifiedName~NVIDIA)" > $R/tests-sparse.txt 2>&1
grep -E "failed|total|succeeded|skipped:" $R/tests-sparse.txt | tail -6
timeout 200 dotnet $D/GanEngine.Bench.dll --device cuda --only sparse --json $R/ours.json > $R/ours.txt 2>&1
timeout 120 python3 tools/peer/peer_sparse.py --json $R/peer.json > $R/peer.txt 2>&1
grep -E "^\| sparse-(spmm|spmmt|sddmm)-s90(-tc[-a0-9]*)? " $R/ours.txt
grep -E "^\| sparse-(spmm|spmmt|sddmm)-(s90|dense)" $R/peer.txt
GANENGINE_SPARSE_SHAPES=1 GANENGINE_SPARSE_SPARSITY=90 timeout 200 ncu --clock-control none -k regex:"MaskedWg|SumPlanes|SumSlices" -c 8 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section LaunchStats --section MemoryWorkloadAnalysis \
  dotnet $D/GanEngine.Bench.dll --device cuda --only sparse-spmm-s90-tc,sparse-sddmm-s90-tc,sparse-spmmt-s90-tc --reps 1 --warmup 0 > $R/ncu.txt 2>&1
grep -E "MaskedWg|SumPlanes|SumSlices|Duration|Warp Cycles Per Issued|Issued Warp Per|No Eligible|Registers Per|stalled|Mem Busy|Max Bandwidth" $R/ncu.txt | cut -c1-400 | head -90
rm -rf $R/cache
