#!/usr/bin/env bash
set -u
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all
R=$OUT/r; mkdir -p $R
export GANENGINE_CACHE=$R/cache
start=$(date +%s)
timeout 120 dotnet $D/gan.dll train --config tools/experiments/dcgan32-dense-diffaug.yaml --device cuda --out $R/warm --steps 20 > $R/warm.log 2>&1; echo "warm rc=$? $(( $(date +%s)-start ))s"
# One run at a time (GPU otherwise idle): step and total times of the preset and of its dense reference.
SEEDS="1" timeout 200 bash tools/experiments/run.sh cuda $R/clean "dotnet $D/gan.dll" dcgan32-grow-prune-n2w-diffaug dcgan32-dense-adaptive-loss-diffaug > $R/clean.log 2>&1; echo "clean rc=$? $(( $(date +%s)-start ))s"
tail -6 $R/clean/summary.md
rm -rf $R/cache $R/*/cache $R/warm; find $R -name checkpoints -type d -prune -exec rm -rf {} +; find $R -name '*.ckpt' -delete; find $R -path '*samples/step-*' -delete
timeout 330 dotnet $D/GanEngine.Tests.dll --filter "FullyQualifiedName~Cuda|FullyQualifiedName~NVIDIA" > $R/gpu-tests.log 2>&1; echo "gpu tests rc=$? $(( $(date +%s)-start ))s"
grep -E "total:|failed:|succeeded:|skipped:" $R/gpu-tests.log; grep -E "^\s*Failed " $R/gpu-tests.log | head; grep -E "^\s*Skipped " $R/gpu-tests.log | head -12
tar -C $OUT -czf $OUT/s13r4.tgz r && rm -rf $R
