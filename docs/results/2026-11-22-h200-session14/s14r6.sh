#!/usr/bin/env bash
# Session 14, call 6: why the tensor-core SpMM issues at 0.37 per cycle: ncu stall reasons (per issued instruction) for the
# SpMM (MODE 0), the SDDMM (MODE 1) and the split sum, first shape at 90%.
set -x
dn=$(mktemp -d) && tar -xJf .device/dotnet-runtime.tar.xz -C $dn && export DOTNET_ROOT=$dn PATH=$dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
tar -xJf .device/all.tar.xz -C .device; D=.device/all; R=$OUT/r; mkdir -p $R; export GANENGINE_CACHE=$R/cache
m=""
for s in barrier long_scoreboard short_scoreboard lg_throttle mio_throttle wait math_pipe_throttle dispatch_stall no_instruction membar sleeping tex_throttle drain selected not_selected misc branch_resolving imc_miss; do
  m="$m,smsp__average_warps_issue_stalled_${s}_per_issue_active.ratio"
done
m="${m#,},smsp__inst_executed.sum,smsp__cycles_active.avg,l1tex__data_pipe_lsu_wavefronts_mem_shared.sum,l1tex__t_requests_pipe_lsu_mem_global_op_ldgsts.sum,l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active"
GANENGINE_SPARSE_SHAPES=1 GANENGINE_SPARSE_SPARSITY=90 timeout 200 ncu --clock-control none -k regex:"MaskedWg|SumPlanes" -c 3 --metrics $m \
  dotnet $D/GanEngine.Bench.dll --device cuda --only sparse-spmm-s90-tc,sparse-sddmm-s90-tc --reps 1 --warmup 0 > $R/ncu-stalls.txt 2>&1
grep -E "MaskedWg|SumPlanes|smsp__|l1tex__|sm__" $R/ncu-stalls.txt | sed 's/smsp__average_warps_issue_stalled_//; s/_per_issue_active.ratio//' | awk '{$1=$1};1' | cut -c1-120
rm -rf $R/cache
