#!/usr/bin/env python3
"""PyTorch peer for `gan bench`: one DCGAN-32 training iteration (../shared/PERFORMANCE.md and
GanEngine's dcgan32 model): G z128 -> convT 512 (4x4) -> 256 -> 128 -> 3 (32x32), BN + ReLU, tanh;
D conv 3 -> 128 -> 256 -> 512 -> 1, LeakyReLU(0.2), BN after all but the first; no biases; Adam 2e-4
(0.5, 0.999); non-saturating BCE. One iteration = D update on a real and a fake batch (G under no_grad),
then a G update with D's parameters frozen (requires_grad off, as GanEngine does). TF32 on (PyTorch's
cuDNN default; matmul TF32 enabled too).

Modes: eager (what a Python training loop runs), and the whole iteration captured as one CUDA graph
and replayed (torch.cuda.graphs, capturable Adam). Wall-clock per iteration = elapsed / iterations after
warm-up, with a synchronize at both ends (the host pipeline is part of the cost).

    python3 tools/peer/peer_dcgan.py --batches 64,256 --iterations 200 --json peer.json
    python3 tools/peer/peer_dcgan.py --g-widths 456,224,112 --d-widths 112,224,456   # pruned widths
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def generator(widths=(512, 256, 128), latent=128, channels=3):
    a, b, c = widths
    return nn.Sequential(
        nn.ConvTranspose2d(latent, a, 4, 1, 0, bias=False), nn.BatchNorm2d(a), nn.ReLU(True),
        nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True),
        nn.ConvTranspose2d(b, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
        nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh())


def discriminator(widths=(128, 256, 512), channels=3):
    a, b, c = widths
    return nn.Sequential(
        nn.Conv2d(channels, a, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True),
        nn.Conv2d(b, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True),
        nn.Conv2d(c, 1, 4, 1, 0, bias=False))


def init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Step:
    def __init__(self, batch, capturable, g_widths, d_widths):
        dev = "cuda"
        torch.manual_seed(1)
        self.G = generator(g_widths).to(dev).apply(init)
        self.D = discriminator(d_widths).to(dev).apply(init)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999), capturable=capturable)
        self.optD = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999), capturable=capturable)
        self.real = torch.rand(batch, 3, 32, 32, device=dev) * 2 - 1
        self.z1 = torch.empty(batch, 128, 1, 1, device=dev)
        self.z2 = torch.empty(batch, 128, 1, 1, device=dev)
        self.ones = torch.ones(batch, device=dev)
        self.zeros = torch.zeros(batch, device=dev)
        self.set_to_none = not capturable
        self.params = sum(p.numel() for p in self.G.parameters()), sum(p.numel() for p in self.D.parameters())

    def __call__(self):
        self.z1.normal_()
        self.z2.normal_()
        for p in self.D.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            fake = self.G(self.z1)
        real_logits = self.D(self.real).view(-1)
        fake_logits = self.D(fake).view(-1)
        loss_d = F.binary_cross_entropy_with_logits(real_logits, self.ones) + \
            F.binary_cross_entropy_with_logits(fake_logits, self.zeros)
        self.optD.zero_grad(set_to_none=self.set_to_none)
        loss_d.backward()
        self.optD.step()
        for p in self.D.parameters():
            p.requires_grad_(False)
        logits = self.D(self.G(self.z2)).view(-1)
        loss_g = F.binary_cross_entropy_with_logits(logits, self.ones)
        self.optG.zero_grad(set_to_none=self.set_to_none)
        loss_g.backward()
        self.optG.step()
        return loss_d, loss_g


def wall_ms(fn, iterations, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000 / iterations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--g-widths", default="512,256,128", help="G's hidden widths (gan bench passes its pruned ones)")
    parser.add_argument("--d-widths", default="128,256,512", help="D's hidden widths")
    parser.add_argument("--json")
    args = parser.parse_args()
    g_widths = tuple(int(v) for v in args.g_widths.split(","))
    d_widths = tuple(int(v) for v in args.d_widths.split(","))
    if len(g_widths) != 3 or len(d_widths) != 3 or min(g_widths + d_widths) < 1:
        parser.error("--g-widths and --d-widths take three positive widths each")
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    result = {"peer": f"torch {torch.__version__}, cudnn {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}",
              "g_widths": list(g_widths), "d_widths": list(d_widths), "rows": []}
    print("# " + result["peer"])
    for batch in [int(b) for b in args.batches.split(",")]:
        eager = Step(batch, False, g_widths, d_widths)
        eager_ms = wall_ms(eager, args.iterations, args.warmup)
        graphed = Step(batch, True, g_widths, d_widths)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                graphed()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            graphed()
        graph_ms = wall_ms(graph.replay, args.iterations, args.warmup)
        row = {"batch": batch, "eager_ms": eager_ms, "graph_ms": graph_ms,
               "g_params": eager.params[0], "d_params": eager.params[1]}
        result["rows"].append(row)
        print(f"batch {batch}: eager {eager_ms:.3f} ms, CUDA graph {graph_ms:.3f} ms "
              f"(G {eager.params[0]:,} D {eager.params[1]:,} parameters)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
