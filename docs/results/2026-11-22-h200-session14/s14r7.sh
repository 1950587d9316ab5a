#!/usr/bin/env bash
# Session 14, call 7 (final code): the sparse bench beside PyTorch in the same call, twice in a row (ours, peer, ours, peer),
# and the sparse and masked-conv fixtures on CUDA and NVIDIA OpenCL.
set -x
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all; R=$OUT/r; mkdir -p $R; export GANENGINE_CACHE=$R/cache
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,driver_version --format=csv > $R/gpu.txt
for i in 1 2; do
  timeout 200 dotnet $D/GanEngine.Bench.dll --device cuda --only sparse --json $R/ours$i.json > $R/ours$i.txt 2>&1
  timeout 120 python3 tools/peer/peer_sparse.py --json $R/peer$i.json > $R/peer$i.txt 2>&1
  grep -E "^\| sparse-(spmm|spmmt|sddmm)-s90(-tc)? \| 256" $R/ours$i.txt
  grep -E "^\| sparse-(spmm|spmmt|sddmm)-(s90|dense-fp32|dense-tf32) \| 256" $R/peer$i.txt
done
timeout 200 dotnet $D/GanEngine.Tests.dll --filter "(FullyQualifiedName~MaskedSparse|FullyQualifiedName~MaskedConv)&(FullyQualifiedName~Cuda|FullyQualifiedName~NVIDIA)" > $R/tests-sparse.txt 2>&1
grep -E "^failed " $R/tests-sparse.txt | head; grep -E "total:|failed:|succeeded:|skipped:" $R/tests-sparse.txt | tail -4
rm -rf $R/cache
