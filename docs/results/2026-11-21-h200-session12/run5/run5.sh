#!/usr/bin/env bash
set -u
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all
R=$OUT/r; mkdir -p $R
export GANENGINE_CACHE=$R/cache
SEEDS="2 3" timeout 560 bash tools/experiments/run.sh cuda $R/dcgan32 "dotnet $D/gan.dll" dcgan32-grow-prune dcgan32-dense dcgan32-dense-adaptive-loss dcgan32-grow > $R/dcgan32-run.log 2>&1; echo "dcgan32 rc=$?"; cat $R/dcgan32/summary.md
rm -rf $R/cache $R/*/cache; find $R -name checkpoints -type d -prune -exec rm -rf {} +; find $R -name '*.ckpt' -delete
tar -C $OUT -czf $OUT/s12r5.tgz r && rm -rf $R
