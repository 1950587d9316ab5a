#!/usr/bin/env python3
"""PyTorch (cuDNN) peer of GanEngine.Bench's conv rows (tools/Bench/Layers/ConvBench.cs): the DCGAN-32 layers at batch
64 and 256, TF32 (cudnn.allow_tf32 = True, cudnn.benchmark = True), no bias; 'fwd' = forward, 'fwdbwd' = forward + input
gradient + weight gradient (torch.autograd.grad with a random output gradient). Median of --reps launches each between
CUDA events. Same row names and shapes as the C# bench, so the two tables join on name.

    python3 tools/peer/peer_conv.py [--reps 50] [--warmup 10]
"""
import argparse
import statistics

import torch
import torch.nn.functional as F

LAYERS = [  # name, transposed, in, size, out, stride, pad (kernel 4)
    ("conv1", False, 3, 32, 128, 2, 1),
    ("conv2", False, 128, 16, 256, 2, 1),
    ("conv3", False, 256, 8, 512, 2, 1),
    ("convT1", True, 128, 1, 512, 1, 0),
    ("convT2", True, 512, 4, 256, 2, 1),
    ("convT3", True, 256, 8, 128, 2, 1),
    ("convT4", True, 128, 16, 3, 2, 1),
]


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    dev = "cuda"
    print(f"# peer: torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}")
    print(f"{'name':<26} {'shape':<36} {'median ms':>10} {'TFLOP/s':>8} {'error':>9}")
    for batch in (64, 256):
        for name, tr, cin, size, cout, s, p in LAYERS:
            x = (torch.rand(batch, cin, size, size, device=dev) * 2 - 1).requires_grad_(True)
            w = (torch.rand(*((cin, cout) if tr else (cout, cin)), 4, 4, device=dev) * 2 - 1).requires_grad_(True)
            op = (lambda a, b: F.conv_transpose2d(a, b, stride=s, padding=p)) if tr else (lambda a, b: F.conv2d(a, b, stride=s, padding=p))
            y = op(x, w)
            ref = op(x.double(), w.double())
            err = ((y.double() - ref).norm() / ref.norm()).item()
            g = torch.rand_like(y) * 2 - 1
            osz = y.shape[2]
            macs = (batch * cin * size * size * cout * 16) if tr else (batch * cout * osz * osz * cin * 16)
            shape = f"{batch}x{cin}x{size}x{size} -> {cout}x{osz}x{osz} k4 s{s} p{p}"

            def fwd():
                with torch.no_grad():
                    op(x, w)

            def fwdbwd():
                out = op(x, w)
                torch.autograd.grad(out, (x, w), g)

            for kind, fn, mult in (("fwd", fwd, 1), ("fwdbwd", fwdbwd, 3)):
                ms = time_median(fn, args.reps, args.warmup)
                print(f"{'conv-' + name + '-b' + str(batch) + '-' + kind:<26} {shape:<36} {ms:>10.4f} {2 * macs * mult / (ms * 1e-3) / 1e12:>8.1f} {err:>9.2e}")


if __name__ == "__main__":
    main()
