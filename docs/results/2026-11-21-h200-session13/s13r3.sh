#!/usr/bin/env bash
set -u
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all
R=$OUT/r; mkdir -p $R
export GANENGINE_CACHE=$R/cache
start=$(date +%s)
timeout 120 dotnet $D/gan.dll train --config tools/experiments/dcgan32-dense-diffaug.yaml --device cuda --out $R/warm --steps 20 > $R/warm.log 2>&1; echo "warm rc=$? $(( $(date +%s)-start ))s"
for s in 1 2 3; do
  SEEDS="$s" timeout 480 bash tools/experiments/run.sh cuda $R/lane$s "dotnet $D/gan.dll" dcgan32-grow-n2w-diffaug > $R/lane$s.log 2>&1 &
done
for s in 4 5 6; do
  SEEDS="$s" timeout 480 bash tools/experiments/run.sh cuda $R/lane$s "dotnet $D/gan.dll" dcgan32-grow-prune-n2w-diffaug dcgan32-dense-adaptive-loss-diffaug > $R/lane$s.log 2>&1 &
done
wait; echo "lanes done $(( $(date +%s)-start ))s"
dirs=$(for d in $R/lane*/dcgan32-*; do [[ -d $d ]] && echo $d; done)
python3 tools/experiments/summarize.py $dirs > $R/summary.md 2>&1; tail -12 $R/summary.md
rm -rf $R/cache $R/*/cache; find $R -name checkpoints -type d -prune -exec rm -rf {} +; find $R -name '*.ckpt' -delete
tar -C $OUT -czf $OUT/s13r3.tgz r && rm -rf $R
