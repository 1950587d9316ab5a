using GanEngine.Accelerators;
using GanEngine.Ops;

namespace GanEngine.Bench.Layers;

/// <summary>
/// DCGAN-32 convolution layers (kernel 4, stride 2, padding 1; the first transposed layer 1x1 -> 4x4 needs stride 1,
/// padding 0 as in PyTorch's DCGAN, since stride 2 / padding 1 would give 2x2) at batch 64 and 256, TF32, no bias:
/// forward, and forward + input gradient + weight gradient. Each case is verified against float64 on sampled entries
/// (norm-wise relative error over the samples) before it is timed. Row names match tools/peer/peer_conv.py.
/// </summary>
internal sealed class ConvBench(Accelerator accelerator, BenchOptions options)
{
    private const int Samples = 128;
    private readonly Random _random = new(Environment.TickCount);

    private static readonly (string Name, bool Transposed, int In, int Size, int Out, int Stride, int Pad)[] Layers =
    [
        ("conv1", false, 3, 32, 128, 2, 1),
        ("conv2", false, 128, 16, 256, 2, 1),
        ("conv3", false, 256, 8, 512, 2, 1),
        ("convT1", true, 128, 1, 512, 1, 0),
        ("convT2", true, 512, 4, 256, 2, 1),
        ("convT3", true, 256, 8, 128, 2, 1),
        ("convT4", true, 128, 16, 3, 2, 1),
    ];

    public IEnumerable<(string Name, Func<BenchResult> Run)> Benchmarks()
    {
        bool cpu = string.Equals(options.Device, "cpu", StringComparison.OrdinalIgnoreCase);
        foreach (int batch in cpu ? new[] { 2 } : new[] { 64, 256 })
        {
            foreach (var l in Layers)
            {
                var layer = l;
                yield return ($"conv-{layer.Name}-b{batch}-fwd", () => Run(layer, batch, false));
                yield return ($"conv-{layer.Name}-b{batch}-fwdbwd", () => Run(layer, batch, true));
            }
        }
    }

    private float[] RandomArray(long n)
    {
        var r = new float[n];
        for (long i = 0; i < n; i++)
        {
            r[i] = (float)((_random.NextDouble() * 2) - 1);
        }
        return r;
    }

    private BenchResult Run((string Name, bool Transposed, int In, int Size, int Out, int Stride, int Pad) l, int batch, bool backward)
    {
        string name = $"conv-{l.Name}-b{batch}-{(backward ? "fwdbwd" : "fwd")}";
        // The conv view: (c, h, w) the large side, (oc, oh, ow) the small side, weight (oc, c, k, k) in both cases.
        Conv2dShape conv;
        ConvTranspose2dShape tr = default;
        if (l.Transposed)
        {
            tr = new ConvTranspose2dShape(batch, l.In, l.Size, l.Size, l.Out, 4, 4, l.Stride, l.Stride, l.Pad, l.Pad);
            tr.Validate();
            conv = tr.AsConv;
        }
        else
        {
            conv = new Conv2dShape(batch, l.In, l.Size, l.Size, l.Out, 4, 4, l.Stride, l.Stride, l.Pad, l.Pad);
            conv.Validate();
        }
        string shape = l.Transposed
            ? $"{batch}x{l.In}x{l.Size}x{l.Size} -> {l.Out}x{tr.OutHeight}x{tr.OutWidth} k4 s{l.Stride} p{l.Pad}"
            : $"{batch}x{l.In}x{l.Size}x{l.Size} -> {l.Out}x{conv.OutHeight}x{conv.OutWidth} k4 s{l.Stride} p{l.Pad}";
        // Large side (conv input / convT output), small side (conv output / convT input), weight.
        var big = RandomArray(conv.InputElements);
        var small = RandomArray(conv.OutputElements);
        var weight = RandomArray(conv.WeightElements);
        using var dBig = accelerator.Allocate<float>(big);
        using var dSmall = accelerator.Allocate<float>(small);
        using var dW = accelerator.Allocate<float>(weight);
        using var yOut = accelerator.Allocate<float>((int)(l.Transposed ? conv.InputElements : conv.OutputElements));
        using var gIn = accelerator.Allocate<float>((int)(l.Transposed ? conv.OutputElements : conv.InputElements));
        using var gW = accelerator.Allocate<float>((int)conv.WeightElements);
        long wsElements = l.Transposed ? ConvTranspose2d.BackwardWeightWorkspaceElements(tr) : Conv2d.BackwardWeightWorkspaceElements(conv);
        using var ws = accelerator.Allocate<float>((int)Math.Max(1, wsElements));
        long fwsElements = l.Transposed ? ConvTranspose2d.BackwardInputWorkspaceElements(tr) : Conv2d.ForwardWorkspaceElements(conv);
        using var fws = accelerator.Allocate<float>((int)Math.Max(1, fwsElements));
        var stream = accelerator.DefaultStream;
        foreach (var b in new[] { yOut, gIn, gW })
        {
            stream.FillBytes(b.View, 0xFF);
        }
        const MathMode mode = MathMode.Tf32;
        // Conv: x = big, gradOut = small. ConvT: x = small, gradOut = big.
        void Launch()
        {
            if (l.Transposed)
            {
                ConvTranspose2d.Forward(stream, tr, dSmall.ReadOnly, dW.ReadOnly, null, yOut.View, mode);
                if (backward)
                {
                    ConvTranspose2d.BackwardInput(stream, tr, dBig.ReadOnly, dW.ReadOnly, gIn.View, fws.View, mode);
                    ConvTranspose2d.BackwardWeight(stream, tr, dSmall.ReadOnly, dBig.ReadOnly, gW.View, null, ws.View, mode);
                }
            }
            else
            {
                Conv2d.Forward(stream, conv, dBig.ReadOnly, dW.ReadOnly, null, yOut.View, fws.View, mode);
                if (backward)
                {
                    Conv2d.BackwardInput(stream, conv, dSmall.ReadOnly, dW.ReadOnly, gIn.View, mode);
                    Conv2d.BackwardWeight(stream, conv, dBig.ReadOnly, dSmall.ReadOnly, gW.View, null, ws.View, mode);
                }
            }
        }

        Launch();
        stream.Synchronize();
        // Conv-view results: forward-form output (small side), dgrad-form output (big side), wgrad.
        var fwdForm = (l.Transposed ? gIn : yOut).ToArray();
        var dgradForm = (l.Transposed ? yOut : gIn).ToArray();
        var wgrad = gW.ToArray();
        int oh = conv.OutHeight, ow = conv.OutWidth, c = conv.InChannels, oc = conv.OutChannels, h = conv.Height, w = conv.Width, s = conv.StrideH, p = conv.PadH;
        double es = 0, rs = 0;
        void Acc(float got, double reference)
        {
            double d = got - reference;
            es += double.IsFinite(got) ? d * d : double.PositiveInfinity;
            rs += reference * reference;
        }
        // Conv-view forward form: f(n, o, y, x) = sum big[n, i, y s - p + ky, ...] W[o, i, ky, kx] (ConvT: its input gradient).
        // Conv-view dgrad form: d(n, i, Y, X) = sum small[n, o, y, x] W[o, i, ky, kx] (ConvT: its forward).
        // Conv-view wgrad: g(o, i, ky, kx) = sum small[n, o, y, x] big[n, i, ...] (both ops, same layout).
        bool fwdFormTimed = backward || !l.Transposed;
        bool dgradFormTimed = backward || l.Transposed;
        for (int t = 0; t < Samples; t++)
        {
            if (fwdFormTimed)
            {
                int n = _random.Next(batch), o = _random.Next(oc), y = _random.Next(oh), x = _random.Next(ow);
                double r = 0;
                for (int i = 0; i < c; i++)
                for (int ky = 0; ky < 4; ky++)
                for (int kx = 0; kx < 4; kx++)
                {
                    int iy = (y * s) - p + ky, ix = (x * s) - p + kx;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                    {
                        r += (double)big[(((long)((n * c) + i) * h) + iy) * w + ix] * weight[((((o * c) + i) * 4) + ky) * 4 + kx];
                    }
                }
                Acc(fwdForm[(((long)((n * oc) + o) * oh) + y) * ow + x], r);
            }
            if (dgradFormTimed)
            {
                int n = _random.Next(batch), i = _random.Next(c), Y = _random.Next(h), X = _random.Next(w);
                double r = 0;
                for (int o = 0; o < oc; o++)
                for (int ky = 0; ky < 4; ky++)
                for (int kx = 0; kx < 4; kx++)
                {
                    int ty = Y + p - ky, tx = X + p - kx;
                    if (ty >= 0 && tx >= 0 && ty % s == 0 && tx % s == 0 && ty / s < oh && tx / s < ow)
                    {
                        r += (double)small[(((long)((n * oc) + o) * oh) + (ty / s)) * ow + (tx / s)] * weight[((((o * c) + i) * 4) + ky) * 4 + kx];
                    }
                }
                Acc(dgradForm[(((long)((n * c) + i) * h) + Y) * w + X], r);
            }
            if (backward && t < Samples / 4)
            {
                int o = _random.Next(oc), i = _random.Next(c), ky = _random.Next(4), kx = _random.Next(4);
                double r = 0;
                for (int n = 0; n < batch; n++)
                for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                {
                    int iy = (y * s) - p + ky, ix = (x * s) - p + kx;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                    {
                        r += (double)small[(((long)((n * oc) + o) * oh) + y) * ow + x] * big[(((long)((n * c) + i) * h) + iy) * w + ix];
                    }
                }
                Acc(wgrad[((((o * c) + i) * 4) + ky) * 4 + kx], r);
            }
        }
        double error = Math.Sqrt(es / Math.Max(rs, double.Epsilon));
        double ms = TimeMedian(Launch);
        double flops = 2.0 * conv.MacCount * (backward ? 3 : 1);
        return new BenchResult(name, shape, ms, flops / (ms * 1e-3) / 1e12, "TFLOP/s", error, 2e-3, "");
    }

    private double TimeMedian(Action launch)
    {
        var stream = accelerator.DefaultStream;
        for (int i = 0; i < options.Warmup; i++)
        {
            launch();
        }
        stream.Synchronize();
        var times = new double[Math.Max(1, options.Reps)];
        for (int i = 0; i < times.Length; i++)
        {
            using var start = stream.RecordEvent();
            launch();
            using var end = stream.RecordEvent();
            end.Synchronize();
            times[i] = AcceleratorEvent.ElapsedMilliseconds(start, end);
        }
        Array.Sort(times);
        return times.Length % 2 == 1 ? times[times.Length / 2] : 0.5 * (times[(times.Length / 2) - 1] + times[times.Length / 2]);
    }
}
