#!/usr/bin/env bash
# Session 14, call 9: split sums with four loads in flight. Sparse and masked-conv fixtures on CUDA / NVIDIA OpenCL, then the
# sparse bench beside PyTorch, twice in a row; ncu durations of the split sums.
set -x
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all; R=$OUT/r; mkdir -p $R; export GANENGINE_CACHE=$R/cache
timeout 200 dotnet $D/GanEngine.Tests.dll --filter "(FullyQualifiedName~MaskedSparse|FullyQualifiedName~MaskedConv)&(FullyQualifiedName~Cuda|FullyQualifiedName~NVIDIA)" > $R/tests-sparse.txt 2>&1
grep -E "^failed " $R/tests-sparse.txt | head; grep -E "total:|failed:|succeeded:|skipped:" $R/tests-sparse.txt | tail -4
for i in 1 2; do
  timeout 150 dotnet $D/GanEngine.Bench.dll --device cuda --only sparse --json $R/ours$i.json > $R/ours$i.log 2>&1
  timeout 100 python3 tools/peer/peer_sparse.py --json $R/peer$i.json > $R/peer$i.log 2>&1
  grep -E "^\| sparse-(spmm|spmmt|sddmm)-s90(-tc)? \| 256" $R/ours$i.log
  grep -E "^\| sparse-(spmm|spmmt|sddmm)-(s90|dense-fp32|dense-tf32) \| 256" $R/peer$i.log
done
GANENGINE_SPARSE_SHAPES=1 GANENGINE_SPARSE_SPARSITY=90 timeout 100 ncu --clock-control none -k regex:"SumPlanes|SumSlices" -c 4 --section SpeedOfLight \
  dotnet $D/GanEngine.Bench.dll --device cuda --only sparse-spmm-s90-tc,sparse-sddmm-s90-tc --reps 1 --warmup 0 > $R/ncu.log 2>&1
grep -E "SumPlanes|SumSlices|Duration" $R/ncu.log
rm -f $R/ours*.log $R/peer*.log; rm -rf $R/cache
