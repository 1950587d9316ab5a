#!/usr/bin/env python3
"""PyTorch peer for GanEngine.Bench: the same operations and sizes, timed the same way.

Each row: fresh random inputs, one run checked against a float64 reference (full for copy and
axpy, 256 sampled entries for matmul, ||out - ref|| / ||ref||), then warm-up and --reps launches
each bracketed by CUDA events; the median. Prints the same table as the C# bench and writes JSON
with the same fields (tools/device/gpu-run.sh joins them by name and shape).

    python3 tools/peer/torch_peer.py [--size 4096] [--copy-mib 1024] [--reps 50] [--warmup 5] [--json out.json]
"""
import argparse
import json
import statistics
import sys

import torch


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


def uniform(n_or_shape, device):
    return torch.rand(n_or_shape, device=device, dtype=torch.float32) * 2 - 1


def row(name, shape, ms, rate, unit, error, tolerance, note=""):
    passed = error == error and error <= tolerance and not note  # error == error: not NaN
    return dict(name=name, shape=shape, median_ms=ms, rate=rate, unit=unit, error=error,
                tolerance=tolerance, passed=passed, note=note)


def bench_copy(n, args, dev):
    src = uniform(n, dev)
    dst = torch.full_like(src, float("nan"))
    dst.copy_(src)
    mismatches = int((dst.view(torch.int32) != src.view(torch.int32)).sum().item())
    ms = time_median(lambda: dst.copy_(src), args.reps, args.warmup)
    return row("copy", f"{n} f32 ({n * 4 // 2**20} MiB)", ms, 2 * n * 4 / (ms * 1e-3) / 1e9, "GB/s",
               float(mismatches), 0.0, "" if mismatches == 0 else f"{mismatches} elements differ")


def bench_axpy(n, args, dev):
    alpha = 0.75
    x = uniform(n, dev)
    y0 = uniform(n, dev)
    y = y0.clone()
    y.add_(x, alpha=alpha)
    ref = alpha * x.double() + y0.double()
    error = ((y.double() - ref).abs().max() / ref.abs().max()).item()
    del ref
    ms = time_median(lambda: y.add_(x, alpha=alpha), args.reps, args.warmup)
    return row("axpy", f"{n} f32 ({n * 4 // 2**20} MiB)", ms, 3 * n * 4 / (ms * 1e-3) / 1e9, "GB/s", error, 1e-4)


def bench_matmul(name, m, n, k, tf32, args, dev):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    a = uniform((m, k), dev)
    b = uniform((k, n), dev)
    c = torch.matmul(a, b)
    unwritten = int((~torch.isfinite(c)).sum().item())
    g = torch.Generator(device="cpu").manual_seed(torch.seed() & 0xFFFFFFFF)
    rows = torch.randint(0, m, (256,), generator=g).to(dev)
    cols = torch.randint(0, n, (256,), generator=g).to(dev)
    ref = (a[rows].double() * b[:, cols].double().t()).sum(dim=1)
    got = c[rows, cols].double()
    error = ((got - ref).norm() / ref.norm()).item()
    out = torch.empty_like(c)
    ms = time_median(lambda: torch.matmul(a, b, out=out), args.reps, args.warmup)
    return row(name, f"{m}x{n}x{k}", ms, 2.0 * m * n * k / (ms * 1e-3) / 1e12, "TFLOP/s", error,
               2e-3 if tf32 else 1e-4, "" if unwritten == 0 else f"{unwritten} entries not finite")


def format_table(results):
    lines = ["| name | shape | time ms (median) | rate | check error | check |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for r in results:
        lines.append(f"| {r['name']} | {r['shape']} | {r['median_ms']:.4f} | {r['rate']:.1f} {r['unit']} | "
                     f"{r['error']:.2E} | {'ok' if r['passed'] else 'FAILED ' + r['note']} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--copy-mib", type=int, default=1024)
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--only", default="copy,axpy,sgemm,tf32")
    p.add_argument("--json")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("torch_peer: no CUDA device", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    only = set(args.only.split(","))
    n = args.copy_mib * 2**20 // 4
    s = args.size
    ragged = max(37, s // 4 - 23)  # the C# bench's ragged shape
    results = []
    if "copy" in only:
        results.append(bench_copy(n, args, dev))
    if "axpy" in only:
        results.append(bench_axpy(n, args, dev))
    for name, tf32 in (("sgemm", False), ("tf32", True)):
        if name in only:
            results.append(bench_matmul(name, s, s, s, tf32, args, dev))
            results.append(bench_matmul(name, ragged, ragged + 1, ragged - 1, tf32, args, dev))
    torch.backends.cuda.matmul.allow_tf32 = False
    device = f"{torch.cuda.get_device_name()} | torch {torch.__version__} | CUDA {torch.version.cuda}"
    print(f"# peer: {device}")
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(tool="torch_peer", device=device, command=" ".join(sys.argv),
                           reps=args.reps, warmup=args.warmup, results=results), f, indent=2)
        print(f"# wrote {args.json}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
