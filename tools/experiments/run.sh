#!/usr/bin/env bash
# Issue 5's comparison: trains each config of this folder named on the command line (dense, grow,
# grow + prune, ...) with `gan train` (which evaluates at the end with the cached digits classifier),
# then prints the table (summarize.py). Usage, from the repository root:
#   bash tools/experiments/run.sh DEVICE OUT_DIR GAN_COMMAND CONFIG [CONFIG ...]
# e.g. bash tools/experiments/run.sh cpu runs/exp "dotnet tools/Gan/bin/Release/net10.0/gan.dll" digits-dense digits-grow digits-grow-prune
set -uo pipefail
device="$1"; out="$2"; gan="$3"; shift 3
mkdir -p "$out"
export GANENGINE_CACHE="${GANENGINE_CACHE:-$out/cache}"
dirs=()
for name in "$@"; do
  echo "== $name ($device)"
  $gan train --config "tools/experiments/$name.yaml" --device "$device" --out "$out/$name" > "$out/$name.log" 2>&1 \
    || { echo "$name failed:"; tail -20 "$out/$name.log"; }
  grep -E "^(architecture|run directory|\| generator|\| real)" "$out/$name.log"
  dirs+=("$out/$name")
done
python3 tools/experiments/summarize.py "${dirs[@]}" | tee "$out/summary.md"
