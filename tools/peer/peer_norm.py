#!/usr/bin/env python3
"""PyTorch peer for GanEngine.Bench --only norm: torch.nn.functional.batch_norm, training mode,
forward + backward on (64,128,16,16) and (256,128,32,32), fp32, affine, running stats (momentum 0.1,
eps 1e-5). Same row names as the C# bench: norm (forward + backward), norm-fwd, norm-bwd; rate =
minimal traffic (fwd 2, bwd 3, both 5 tensor passes) / time. Checked against a float64 reference
first; times are CUDA-event medians of --reps after --warmup, eager mode (what a training loop runs).

    python3 tools/peer/peer_norm.py [--reps 50] [--warmup 5]
"""
import argparse
import statistics

import torch
import torch.nn.functional as F


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
    return ((got.double() - ref).norm() / ref.norm()).item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    dev = "cuda"
    torch.backends.cudnn.benchmark = False
    print(f"# peer: torch {torch.__version__}, cudnn {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}")
    rows = []
    for shape in [(64, 128, 16, 16), (256, 128, 32, 32)]:
        n, c, h, w = shape
        e = n * c * h * w
        x = (torch.rand(shape, device=dev) - 0.5 + 0.5).requires_grad_(True)
        dy = torch.rand(shape, device=dev) * 2 - 1
        weight = (1 + 0.5 * (torch.rand(c, device=dev) * 2 - 1)).requires_grad_(True)
        bias = (torch.rand(c, device=dev) * 2 - 1).requires_grad_(True)
        rm = torch.zeros(c, device=dev)
        rv = torch.ones(c, device=dev)

        def forward():
            return F.batch_norm(x, rm, rv, weight, bias, training=True, momentum=0.1, eps=1e-5)

        # check vs float64
        y = forward()
        gx, gw, gb = torch.autograd.grad(y, (x, weight, bias), dy)
        xd = x.detach().double()
        mean = xd.mean(dim=(0, 2, 3), keepdim=True)
        var = xd.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        inv = 1 / torch.sqrt(var + 1e-5)
        xhat = (xd - mean) * inv
        yref = xhat * weight.detach().double().view(1, c, 1, 1) + bias.detach().double().view(1, c, 1, 1)
        dyd = dy.double()
        dbref = dyd.sum(dim=(0, 2, 3))
        dgref = (dyd * xhat).sum(dim=(0, 2, 3))
        m = n * h * w
        dxref = weight.detach().double().view(1, c, 1, 1) * inv * (dyd - dbref.view(1, c, 1, 1) / m - xhat * dgref.view(1, c, 1, 1) / m)
        error = max(rel(y.detach(), yref), rel(gx, dxref), rel(gw, dgref), rel(gb, dbref))

        def both():
            out = forward()
            torch.autograd.grad(out, (x, weight, bias), dy)

        y_keep = forward()

        def backward():
            torch.autograd.grad(y_keep, (x, weight, bias), dy, retain_graph=True)

        shape_text = f"({n},{c},{h},{w})"
        for name, fn, passes in [("norm", both, 5), ("norm-fwd", forward, 2), ("norm-bwd", backward, 3)]:
            ms = time_median(fn, args.reps, args.warmup)
            rows.append((name, shape_text, ms, passes * e * 4 / (ms * 1e-3) / 1e9, error))
            print(f"# {name} {shape_text}: {ms * 1e3:.1f} us, error {error:.2E}", flush=True)
    print()
    print("| name | shape | time ms (median) | rate | check error | check |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for name, shape_text, ms, rate, error in rows:
        print(f"| {name} | {shape_text} | {ms:.4f} | {rate:.1f} GB/s | {error:.2E} | {'ok' if error <= 1e-4 else 'FAILED'} |")


if __name__ == "__main__":
    main()
