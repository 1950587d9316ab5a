#!/usr/bin/env bash
# Issue 5's comparison: trains each config of this folder named on the command line (dense, grow,
# grow + prune, ...) with `gan train` (which evaluates at the end with the cached digits classifier),
# then prints the table (summarize.py). Usage, from the repository root:
#   bash tools/experiments/run.sh DEVICE OUT_DIR GAN_COMMAND CONFIG [CONFIG ...]
# e.g. bash tools/experiments/run.sh cpu runs/exp "dotnet tools/Gan/bin/Release/net10.0/gan.dll" digits-dense digits-grow digits-grow-prune
# With SEEDS="1 2 3" each config runs once per seed (--seed, run directory CONFIG-sN) and the summary adds a table of
# FID mean and spread per config: on the small digits preset one seed's FID moves by 10-20%.
set -uo pipefail
device="$1"; out="$2"; gan="$3"; shift 3
mkdir -p "$out"
export GANENGINE_CACHE="${GANENGINE_CACHE:-$out/cache}"
dirs=()
for name in "$@"; do
  for seed in ${SEEDS:-config}; do
    run="$name"; seedArg=()
    if [[ "$seed" != config ]]; then run="$name-s$seed"; seedArg=(--seed "$seed"); fi
    echo "== $run ($device)"
    $gan train --config "tools/experiments/$name.yaml" --device "$device" --out "$out/$run" "${seedArg[@]}" > "$out/$run.log" 2>&1 \
      || { echo "$run failed:"; tail -20 "$out/$run.log"; }
    grep -E "^(architecture|run directory|\| generator|\| real)" "$out/$run.log"
    dirs+=("$out/$run")
  done
done
python3 tools/experiments/summarize.py "${dirs[@]}" | tee "$out/summary.md"
