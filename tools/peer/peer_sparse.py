#!/usr/bin/env python3
"""PyTorch peer for GanEngine.Bench --only sparse: the same masked sparse products and shapes.

Rows (same names and shapes as tools/Bench/Layers/SparseBench.cs; shape MxKxN, W is M x K, X is K x N):
  sparse-spmm-s{p}    Y = W X        torch.sparse CSR (W.to_sparse_csr() @ X, cuSPARSE SpMM)
  sparse-spmmt-s{p}   dX = W^T dY    CSR of W^T built once beforehand (the analogue of GanEngine's CSC twin)
  sparse-sddmm-s{p}   dW = (dY X^T) at the mask   torch.sparse.sampled_addmm (cuSPARSE SDDMM) if present,
                      else dense matmul then mask (noted in the row)
  sparse-{spmm,spmmt,sddmm}-dense-fp32 / -dense-tf32   the dense products (cuBLAS), strict FP32 and TF32
Each row is checked once against float64 (torch on the GPU, masked W) by ||out - ref|| / ||ref||, then timed:
warm-up, then --reps launches each bracketed by CUDA events; the median. Rate: useful TFLOP/s = 2 nnz N / t
(dense rows: 2 M K N / t).

    python3 tools/peer/peer_sparse.py [--reps 50] [--warmup 5] [--json out.json]
"""
import argparse
import json
import statistics
import sys

import torch

SHAPES = [(256, 2048, 4096), (128, 1024, 16384), (512, 4096, 1024)]
SPARSITIES = [0, 70, 80, 90, 95]


def time_median(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def rel(got, ref):
    got = got.double()
    if not torch.isfinite(got).all():
        return float("inf")
    d = (got - ref).norm().item()
    r = ref.norm().item()
    return 0.0 if d == 0 else d / max(r, 1e-300)


def row(name, shape, ms, flops, error, tolerance, note=""):
    passed = error == error and error <= tolerance
    return dict(name=name, shape=shape, median_ms=ms, rate=flops / (ms * 1e-3) / 1e12, unit="TFLOP/s",
                error=error, tolerance=tolerance, passed=passed, note=note)


def uniform(shape, dev):
    return torch.rand(shape, device=dev, dtype=torch.float32) * 2 - 1


def bench_shape(m, k, n, args, dev, results):
    shape = f"{m}x{k}x{n}"
    w = uniform((m, k), dev)
    x = uniform((k, n), dev)
    dy = uniform((m, n), dev)
    wd, xd, dyd = w.double(), x.double(), dy.double()
    # dense rows: the three products with the dense weight
    for mode, tf32 in (("fp32", False), ("tf32", True)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        tol = 2e-3 if tf32 else 1e-4
        flops = 2.0 * m * k * n
        y = torch.empty(m, n, device=dev)
        gx = torch.empty(k, n, device=dev)
        gw = torch.empty(m, k, device=dev)
        torch.matmul(w, x, out=y)
        results.append(row(f"sparse-spmm-dense-{mode}", shape, time_median(lambda: torch.matmul(w, x, out=y), args.reps, args.warmup),
                           flops, rel(y, wd @ xd), tol))
        wt = w.t()
        torch.matmul(wt, dy, out=gx)
        results.append(row(f"sparse-spmmt-dense-{mode}", shape, time_median(lambda: torch.matmul(wt, dy, out=gx), args.reps, args.warmup),
                           flops, rel(gx, wd.t() @ dyd), tol))
        xt = x.t()
        torch.matmul(dy, xt, out=gw)
        results.append(row(f"sparse-sddmm-dense-{mode}", shape, time_median(lambda: torch.matmul(dy, xt, out=gw), args.reps, args.warmup),
                           flops, rel(gw, dyd @ xd.t()), tol))
    torch.backends.cuda.matmul.allow_tf32 = False
    ref_dw_full = dyd @ xd.t()
    for s in SPARSITIES:
        tag = f"s{s}"
        mask = (torch.randint(0, 100, (m, k), device=dev) >= s).float()
        wm = w * mask
        nnz = int(mask.sum().item())
        flops = 2.0 * nnz * n
        wcsr = wm.to_sparse_csr()
        wtcsr = wm.t().contiguous().to_sparse_csr()
        if nnz != wcsr.values().numel():
            print(f"# warning: {shape} {tag}: {wcsr.values().numel()} stored values, mask has {nnz} (random zeros in W)", file=sys.stderr)
        wmd = wm.double()
        y = wcsr @ x
        results.append(row(f"sparse-spmm-{tag}", shape, time_median(lambda: wcsr @ x, args.reps, args.warmup), flops,
                           rel(y, wmd @ xd), 1e-4))
        gx = wtcsr @ dy
        results.append(row(f"sparse-spmmt-{tag}", shape, time_median(lambda: wtcsr @ dy, args.reps, args.warmup), flops,
                           rel(gx, wmd.t() @ dyd), 1e-4))
        ref = (ref_dw_full * mask.double())
        xt = x.t()
        if hasattr(torch.sparse, "sampled_addmm"):
            pattern = torch.sparse_csr_tensor(wcsr.crow_indices(), wcsr.col_indices(), torch.ones_like(wcsr.values()), size=(m, k))
            fn = lambda: torch.sparse.sampled_addmm(pattern, dy, xt, beta=0.0, alpha=1.0)
            try:
                out = fn().to_dense()
                note = ""
            except RuntimeError as e:
                fn = lambda: torch.matmul(dy, xt) * mask
                out = fn()
                note = f"dense matmul then mask (sampled_addmm failed: {str(e)[:60]})"
        else:
            fn = lambda: torch.matmul(dy, xt) * mask
            out = fn()
            note = "dense matmul then mask (no torch.sparse.sampled_addmm)"
        results.append(row(f"sparse-sddmm-{tag}", shape, time_median(fn, args.reps, args.warmup), flops, rel(out, ref), 1e-4, note))
        del wcsr, wtcsr


def format_table(results):
    lines = ["| name | shape | time ms (median) | rate | check error | check |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for r in results:
        check = ("ok" if r["passed"] else "FAILED") + (f" ({r['note']})" if r["note"] else "")
        lines.append(f"| {r['name']} | {r['shape']} | {r['median_ms']:.4f} | {r['rate']:.2f} {r['unit']} | {r['error']:.2E} | {check} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--json")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("peer_sparse: no CUDA device", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    results = []
    for m, k, n in SHAPES:
        bench_shape(m, k, n, args, dev, results)
    device = f"{torch.cuda.get_device_name()} | torch {torch.__version__} | CUDA {torch.version.cuda}"
    print(f"# peer: {device}")
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(tool="peer_sparse", device=device, command=" ".join(sys.argv), reps=args.reps,
                           warmup=args.warmup, results=results), f, indent=2)
        print(f"# wrote {args.json}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
