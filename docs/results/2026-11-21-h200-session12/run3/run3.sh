#!/usr/bin/env bash
set -u
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all
R=$OUT/r; mkdir -p $R
export GANENGINE_CACHE=$R/cache
SEEDS="1 2 3 4 5" timeout 200 bash tools/experiments/run.sh cuda $R/digits "dotnet $D/gan.dll" digits-dense digits-grow digits-grow-prune > $R/digits-run.log 2>&1; echo "digits rc=$?"; sed -n '/^| config/,$p' $R/digits/summary.md
timeout 380 bash tools/experiments/run.sh cuda $R/dcgan32 "dotnet $D/gan.dll" dcgan32-dense dcgan32-grow dcgan32-grow-prune dcgan32-grow-prune-fixed-loss dcgan32-dense-adaptive-loss > $R/dcgan32-run.log 2>&1; echo "dcgan32 rc=$?"; cat $R/dcgan32/summary.md
rm -rf $R/cache $R/*/cache; find $R -name checkpoints -type d -prune -exec rm -rf {} +; find $R -name '*.ckpt' -delete
tar -C $OUT -czf $OUT/s12r3.tgz r && rm -rf $R
