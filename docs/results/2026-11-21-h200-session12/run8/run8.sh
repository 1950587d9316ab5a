#!/usr/bin/env bash
set -u
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all
R=$OUT/r; mkdir -p $R
B="dotnet $D/gan.dll bench --device cuda --batches 64,256 --iterations 200 --warmup 20 --peer none"
for r in 0 0.1 0.25 0.5; do
  timeout 90 $B --prune-ratio $r > $R/bench-p$r.md 2>&1; echo "p$r rc=$?"; grep -E "^batch" $R/bench-p$r.md | cut -c1-40
done
GANENGINE_CONV_WAVE_PLANS=0 timeout 90 $B --prune-ratio 0.5 > $R/bench-legacy-p0.5.md 2>&1; echo "legacy p0.5"; grep -E "^batch" $R/bench-legacy-p0.5.md | cut -c1-40
GANENGINE_PROFILE=1 timeout 90 dotnet $D/gan.dll bench --device cuda --batches 64 --iterations 30 --warmup 10 --peer none --prune-ratio 0.5 > $R/profile-64-p0.5.md 2>&1
GANENGINE_PROFILE=1 timeout 90 dotnet $D/gan.dll bench --device cuda --batches 64 --iterations 30 --warmup 10 --peer none > $R/profile-64-p0.md 2>&1
timeout 150 dotnet $D/GanEngine.Tests.dll --filter "FullyQualifiedName~Cuda&(FullyQualifiedName~ConvOps|FullyQualifiedName~ConvTranspose|FullyQualifiedName~Training|FullyQualifiedName~Architecture|FullyQualifiedName~LayerNetwork|FullyQualifiedName~GanOps)|FullyQualifiedName~ConvPlanRule" > $R/gpu-tests.log 2>&1; echo "tests rc=$?"; grep -E "succeeded|failed:|skipped:|total:" $R/gpu-tests.log; grep -E "^\s*Failed " $R/gpu-tests.log | head
gzip $R/gpu-tests.log
timeout 120 dotnet $D/gan.dll bench --device cuda --batches 64,256 --iterations 200 --warmup 20 --peer tools/peer/peer_dcgan.py > $R/gan-bench-peer.md 2>&1; echo "peer bench rc=$?"; tail -9 $R/gan-bench-peer.md | head -6
tar -C $OUT -czf $OUT/s12r8.tgz r && rm -rf $R
