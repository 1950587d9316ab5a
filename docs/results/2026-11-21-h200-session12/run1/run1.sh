#!/usr/bin/env bash
set -u
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all
R=$OUT/r; mkdir -p $R
B="dotnet $D/gan.dll bench --device cuda --batches 64,256 --iterations 200 --warmup 20 --peer none"
for r in 0 0.1 0.25 0.5; do
  timeout 90 $B --prune-ratio $r > $R/bench-wave-p$r.md 2>&1; echo "wave p$r rc=$?"; grep -E "^batch" $R/bench-wave-p$r.md
done
for r in 0.1 0.25; do
  GANENGINE_CONV_WAVE_PLANS=0 timeout 90 $B --prune-ratio $r > $R/bench-legacy-p$r.md 2>&1; echo "legacy p$r rc=$?"; grep -E "^batch" $R/bench-legacy-p$r.md
done
GANENGINE_PROFILE=1 timeout 90 dotnet $D/gan.dll bench --device cuda --batches 256 --iterations 30 --warmup 10 --peer none --prune-ratio 0.1 > $R/profile-256-p0.1.md 2>&1
GANENGINE_PROFILE=1 timeout 90 dotnet $D/gan.dll bench --device cuda --batches 256 --iterations 30 --warmup 10 --peer none > $R/profile-256-p0.md 2>&1
CONVTUNE_PRUNE=0,0.1,0.25 CONVTUNE_BATCHES=256,64 timeout 240 dotnet $D/GanEngine.Bench.dll --device cuda --only convtune > $R/convtune.log 2>&1; echo "convtune rc=$?"
grep -E "^# convtune|Add\(table" $R/convtune.log | grep -v "best plans" | awk '/Add/' | cut -c1-230 | head -80
timeout 150 dotnet $D/GanEngine.Tests.dll --filter "FullyQualifiedName~Cuda&(FullyQualifiedName~ConvOps|FullyQualifiedName~ConvTranspose|FullyQualifiedName~Training|FullyQualifiedName~Architecture)" > $R/gpu-tests.log 2>&1; echo "tests rc=$?"; grep -E "succeeded|failed:|skipped:|total:" $R/gpu-tests.log; grep -E "^\s*Failed " $R/gpu-tests.log | head
gzip $R/gpu-tests.log
tar -C $OUT -czf $OUT/s12r1.tgz r && rm -rf $R
