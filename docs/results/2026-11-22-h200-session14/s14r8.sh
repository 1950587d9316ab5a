#!/usr/bin/env bash
# Session 14, call 8: wgmma descriptors from a hoisted shared base (emitter change: every warpgroup kernel, the convolution's
# too). All GPU fixtures first; then the sparse bench beside PyTorch; then gan bench (dcgan32 iteration) beside PyTorch.
set -x
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all; R=$OUT/r; mkdir -p $R; export GANENGINE_CACHE=$R/cache
timeout 300 dotnet $D/GanEngine.Tests.dll --filter "FullyQualifiedName~Cuda|FullyQualifiedName~NVIDIA" > $R/tests-gpu.txt 2>&1
grep -E "^failed " $R/tests-gpu.txt | head -20; grep -E "total:|failed:|succeeded:|skipped:" $R/tests-gpu.txt | tail -4
timeout 150 dotnet $D/GanEngine.Bench.dll --device cuda --only sparse --json $R/ours.json > $R/ours.txt 2>&1
timeout 100 python3 tools/peer/peer_sparse.py --json $R/peer.json > $R/peer.txt 2>&1
grep -E "^\| sparse-(spmm|spmmt|sddmm)-s90(-tc)? \| 256" $R/ours.txt
grep -E "^\| sparse-(spmm|spmmt|sddmm)-(s90|dense-fp32|dense-tf32) \| 256" $R/peer.txt
timeout 200 dotnet $D/gan.dll bench --device cuda --batches 64,256 --iterations 200 --warmup 20 --peer tools/peer/peer_dcgan.py > $R/gan-bench.txt 2>&1
tail -15 $R/gan-bench.txt
rm -rf $R/cache
