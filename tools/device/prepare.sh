#!/usr/bin/env bash
# Builds here what the GPU machine needs (it has a .NET runtime-less image: no SDK, no network):
#   .device/tests               the test project, framework-dependent, Release
#   .device/bench               GanEngine.Bench, framework-dependent, Release
#   .device/gan                 the gan command, framework-dependent, Release
#   .device/dotnet-runtime.tar.xz  this machine's .NET runtime (packed once, reused)
# then checks the size of .device and prints the device `run` call to make.
# Usage: tools/device/prepare.sh [all|tests|bench]   (the mode is passed on to gpu-run.sh)
set -euo pipefail
mode="${1:-all}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mkdir -p .device

echo "== publish tests -> .device/tests"
rm -rf .device/tests .device/bench .device/gan
dotnet publish Tests/GanEngine.Tests/GanEngine.Tests.csproj -c Release -o .device/tests --nologo -v quiet
echo "== publish bench -> .device/bench"
dotnet publish tools/Bench/GanEngine.Bench.csproj -c Release -o .device/bench --nologo -v quiet
# Debug symbols, XML docs, satellite resources, code coverage and other platforms' natives are not
# needed there (and the working tree plus .device must stay under 64 MiB).
echo "== publish gan -> .device/gan"
dotnet publish tools/Gan/GanEngine.Gan.csproj -c Release -o .device/gan --nologo -v quiet
find .device/tests .device/bench .device/gan \( -name '*.pdb' -o -name '*.xml' \) -delete
for d in .device/tests .device/bench .device/gan; do
  find "$d" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[a-z]{2}(-[A-Za-z]+)?' -exec rm -rf {} +
  rm -rf "$d"/CodeCoverage "$d"/Microsoft.CodeCoverage* "$d"/InstrumentationEngine
  # Other platforms' native helpers of the test platform (the GPU machine is linux-x64).
  rm -rf "$d"/alpine "$d"/arm64 "$d"/macos "$d"/x86
  if [[ -d "$d/runtimes" ]]; then
    find "$d/runtimes" -mindepth 1 -maxdepth 1 ! -name 'linux-x64' ! -name 'unix' -exec rm -rf {} +
  fi
done

if [[ ! -s .device/dotnet-runtime.tar.xz ]]; then
  echo "== pack the .NET runtime -> .device/dotnet-runtime.tar.xz"
  tar -C "$(dirname "$(readlink -f "$(which dotnet)")")" -cf - dotnet host shared/Microsoft.NETCore.App \
    | xz -T2 -6 > .device/dotnet-runtime.tar.xz.tmp
  mv .device/dotnet-runtime.tar.xz.tmp .device/dotnet-runtime.tar.xz
fi

limit_mib=60
size_kib=$(du -sk .device | cut -f1)
tree_kib=$(git ls-files -z --cached --others --exclude-standard | du -ck --files0-from=- 2>/dev/null | tail -1 | cut -f1)
echo "== .device: $((size_kib / 1024)) MiB (tests $(du -sh .device/tests | cut -f1), bench $(du -sh .device/bench | cut -f1), gan $(du -sh .device/gan | cut -f1), runtime $(du -sh .device/dotnet-runtime.tar.xz | cut -f1)); working tree ~$((tree_kib / 1024)) MiB"
if (( size_kib > limit_mib * 1024 )); then
  echo "error: .device is over ${limit_mib} MiB; the working tree plus carried paths must stay under 64 MiB" >&2
  exit 1
fi
if (( size_kib + tree_kib > 63 * 1024 )); then
  echo "error: .device plus the working tree is over 63 MiB" >&2
  exit 1
fi

echo
echo "== device call (run tool):"
echo "   command: bash tools/device/gpu-run.sh ${mode}"
echo '   carry:   [".device"]'
echo "   timeout_s: 600"
