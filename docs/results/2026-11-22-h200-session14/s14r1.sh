#!/usr/bin/env bash
# Session 14, call 1: tensor-core masked products. CUDA + NVIDIA OpenCL sparse tests, then the sparse bench beside
# PyTorch (torch.sparse CSR, cuBLAS dense) in the same call, then ncu on the tensor-core kernel (shape 1, 90%).
set -x
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all; R=$OUT/r; mkdir -p $R; export GANENGINE_CACHE=$R/cache
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,driver_version --format=csv > $R/gpu.txt
timeout 200 dotnet $D/GanEngine.Tests.dll --filter "FullyQualifiedName~MaskedSparse&(FullyQualifiedName~Cuda|FullyQualifiedName~NVIDIA)" > $R/tests-sparse.txt 2>&1
grep -E "failed|total|succeeded|skipped:" $R/tests-sparse.txt | tail -6
timeout 200 dotnet $D/GanEngine.Bench.dll --device cuda --only sparse --json $R/ours.json > $R/ours.txt 2>&1
timeout 120 python3 tools/peer/peer_sparse.py --json $R/peer.json > $R/peer.txt 2>&1
grep -E "s90|dense" $R/ours.txt | grep -v -- "-s90-[a-z0-9]*[0-9]k\|-r-\|-c-\|-p-" | head -40
grep -E "s90|dense" $R/peer.txt | head -20
GANENGINE_SPARSE_SHAPES=1 GANENGINE_SPARSE_SPARSITY=90 timeout 150 ncu --clock-control none -k regex:MaskedWg -c 3 --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
  dotnet $D/GanEngine.Bench.dll --device cuda --only sparse-spmm-s90-tc,sparse-spmmt-s90-tc,sparse-sddmm-s90-tc --reps 3 --warmup 1 > $R/ncu.txt 2>&1
grep -E "MaskedWg|Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|L1/TEX Hit|Mem Busy" $R/ncu.txt | head -40
rm -rf $R/cache
