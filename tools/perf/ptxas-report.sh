#!/usr/bin/env bash
# On the device machine: compile the extracted kernels (tools/perf/extract_cuda.py) with nvcc for sm_90,
# print ptxas's resource report and count the shared/global load widths and mma in the SASS.
# usage: ptxas-report.sh DIR   (DIR holds the .cu files; specializations as in the bench defaults)
set -u
dir=$1; tmp=$(mktemp -d)
report() { # name file defines...
  local name=$1 file=$2; shift 2
  echo "== $name"
  nvcc -arch=sm_90 -cubin -Xptxas -v "$@" -o $tmp/$name.cubin "$dir/$file" 2>&1 | grep -E "registers|spill|error" | sed 's/^ptxas info *: //'
  cuobjdump -sass $tmp/$name.cubin > $tmp/$name.sass 2>/dev/null
  for op in 'LDS\.128' 'LDS\.64' 'LDS ' 'LDS\.U' 'STS' 'LDG' 'STG' 'HMMA' 'LDL' 'STL' 'BAR'; do
    printf '%s=%s ' "$op" "$(grep -cE "$op" $tmp/$name.sass)"
  done; echo
}
report tf32-v0 Blas.TensorCoreGemm.Tf32Gemm.cu
for s in "2 2 4 8 32" "2 2 4 8 16" "2 4 4 8 16" "4 2 4 8 16" "2 4 4 8 32" "4 2 4 8 32"; do
  set -- $s
  report tf32-w$1x$2-t$3x$4-k$5 Blas.TensorCoreGemmTiled.Tf32Gemm.cu -DGE_SPEC_WM=$1 -DGE_SPEC_WN=$2 -DGE_SPEC_TM=$3 -DGE_SPEC_TN=$4 -DGE_SPEC_BK=$5
done
for u in 8; do report copy-u$u Elementwise.ElementwiseKernels.CopyUnrolled.cu -DGE_SPEC_U=$u; done
