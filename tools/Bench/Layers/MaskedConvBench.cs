using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Ops;
using GanEngine.Ops.Sparse;

namespace GanEngine.Bench;

/// <summary>
/// Masked convolution (<see cref="MaskedConv2d"/>, <c>--only mconv</c>) on the DCGAN-32 discriminator conv layers
/// (kernel 4, stride 2, padding 1) at batch 64 and 256 (2 on the CPU accelerator), 90% sparsity (random mask), beside
/// GanEngine's dense <see cref="Conv2d"/> in TF32 and strict FP32 on the same masked weight (zeros kept), same run.
/// Rows <c>mconv-{layer}-b{batch}-{masked|tf32|fp32}-{fwd|dgrad|wgrad|all}</c> (all = the three passes back to back).
/// Every row is checked against float64 on sampled entries (sampled nonzeros for the masked weight gradient) before it
/// is timed. Rate: dense-equivalent TFLOP/s (2 MACs of the dense conv per pass / time), so rows compare directly.
/// </summary>
internal sealed class MaskedConvBench(Accelerator accelerator, BenchOptions options, Func<Action, double> timeMedian, Func<int, float[]> randomArray)
{
    private const int Samples = 128;
    private const int Sparsity = 90;
    private readonly Random _random = new(Environment.TickCount);

    private static readonly (string Name, int In, int Size, int Out)[] Layers =
    [
        ("conv1", 3, 32, 128),
        ("conv2", 128, 16, 256),
        ("conv3", 256, 8, 512),
    ];

    public void Register(Action<string, Func<BenchResult>> run)
    {
        bool cpu = string.Equals(options.Device, "cpu", StringComparison.OrdinalIgnoreCase);
        foreach (int batch in cpu ? new[] { 2 } : new[] { 64, 256 })
        {
            foreach (var layer in Layers)
            {
                RunLayer(run, layer.Name, new Conv2dShape(batch, layer.In, layer.Size, layer.Size, layer.Out, 4, 4, 2, 2, 1, 1));
            }
        }
    }

    private void RunLayer(Action<string, Func<BenchResult>> run, string layer, Conv2dShape s)
    {
        s.Validate();
        string prefix = $"mconv-{layer}-b{s.Batch}";
        string shapeText = $"{s.Batch}x{s.InChannels}x{s.Height}x{s.Width} -> {s.OutChannels}x{s.OutHeight}x{s.OutWidth} k4 s2 p1 ({Sparsity}%)";
        int rows = s.OutChannels, cols = s.InChannels * 16;
        var weight = randomArray(rows * cols);
        var mask = new float[rows * cols];
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = _random.Next(100) >= Sparsity ? 1f : 0f;
            if (mask[i] == 0f) weight[i] = 0f; // the dense convs run on W .* mask (the same function)
        }
        var x = randomArray((int)s.InputElements);
        var gy = randomArray((int)s.OutputElements);
        using var storage = new MaskedCsrStorage(accelerator, new MaskedWeightShape(rows, cols));
        var csr = storage.Csr;
        using var dW = accelerator.Allocate<float>(weight);
        using var dMask = accelerator.Allocate<float>(mask);
        using var dX = accelerator.Allocate<float>(x);
        using var dGy = accelerator.Allocate<float>(gy);
        using var y = accelerator.Allocate<float>((int)s.OutputElements);
        using var gx = accelerator.Allocate<float>((int)s.InputElements);
        using var gw = accelerator.Allocate<float>(rows * cols);
        MaskedSparse.Build(accelerator, csr, dW.ReadOnly, dMask.ReadOnly);
        accelerator.Synchronize();
        var rowPtr = new int[rows + 1];
        accelerator.DefaultStream.CopyToHost(csr.RowPtr.AsReadOnly(), rowPtr);
        int nnz = rowPtr[rows];
        var colIdx = new int[csr.ColIdx.Length];
        accelerator.DefaultStream.CopyToHost(csr.ColIdx.AsReadOnly(), colIdx);
        using var work = accelerator.Allocate<float>((int)Math.Max(1, MaskedConv2d.BackwardWeightWorkspaceElements(accelerator, s, csr.Shape)));
        using var fws = accelerator.Allocate<float>((int)Math.Max(1, Conv2d.ForwardWorkspaceElements(s)));
        using var wws = accelerator.Allocate<float>((int)Math.Max(1, Conv2d.BackwardWeightWorkspaceElements(s)));
        var stream = accelerator.DefaultStream;
        int oh = s.OutHeight, ow = s.OutWidth, c = s.InChannels, oc = s.OutChannels, h = s.Height, w = s.Width;

        double Fwd(int n, int o, int oy, int ox)
        {
            double r = 0;
            for (int i = 0; i < c; i++)
            for (int ky = 0; ky < 4; ky++)
            for (int kx = 0; kx < 4; kx++)
            {
                int iy = (oy * 2) - 1 + ky, ix = (ox * 2) - 1 + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                {
                    r += (double)x[(((long)((n * c) + i) * h) + iy) * w + ix] * weight[(o * cols) + (i * 16) + (ky * 4) + kx];
                }
            }
            return r;
        }
        double Dgrad(int n, int i, int iy, int ix)
        {
            double r = 0;
            for (int o = 0; o < oc; o++)
            for (int ky = 0; ky < 4; ky++)
            for (int kx = 0; kx < 4; kx++)
            {
                int ty = iy + 1 - ky, tx = ix + 1 - kx;
                if (ty >= 0 && tx >= 0 && ty % 2 == 0 && tx % 2 == 0 && ty / 2 < oh && tx / 2 < ow)
                {
                    r += (double)gy[(((long)((n * oc) + o) * oh) + (ty / 2)) * ow + (tx / 2)] * weight[(o * cols) + (i * 16) + (ky * 4) + kx];
                }
            }
            return r;
        }
        double Wgrad(int o, int k)
        {
            int i = k / 16, ky = (k % 16) / 4, kx = k % 4;
            double r = 0;
            for (int n = 0; n < s.Batch; n++)
            for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                int iy = (oy * 2) - 1 + ky, ix = (ox * 2) - 1 + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                {
                    r += (double)gy[(((long)((n * oc) + o) * oh) + oy) * ow + ox] * x[(((long)((n * c) + i) * h) + iy) * w + ix];
                }
            }
            return r;
        }

        // kind: 0 masked, 1 tf32, 2 fp32; pass: 0 fwd, 1 dgrad, 2 wgrad, 3 all.
        Action Launcher(int kind, int pass) => () =>
        {
            var mode = kind == 1 ? MathMode.Tf32 : MathMode.StrictFp32;
            if (pass is 0 or 3)
            {
                if (kind == 0) MaskedConv2d.Forward(stream, s, csr, dX.ReadOnly, null, y.View);
                else Conv2d.Forward(stream, s, dX.ReadOnly, dW.ReadOnly, null, y.View, fws.View, mode);
            }
            if (pass is 1 or 3)
            {
                if (kind == 0) MaskedConv2d.BackwardInput(stream, s, csr, dGy.ReadOnly, gx.View);
                else Conv2d.BackwardInput(stream, s, dGy.ReadOnly, dW.ReadOnly, gx.View, mode);
            }
            if (pass is 2 or 3)
            {
                if (kind == 0) MaskedConv2d.BackwardWeight(stream, s, csr, dX.ReadOnly, dGy.ReadOnly, gw.View, null, work.View);
                else Conv2d.BackwardWeight(stream, s, dX.ReadOnly, dGy.ReadOnly, gw.View, null, wws.View, mode);
            }
        };

        BenchResult Measure(string name, int kind, int pass)
        {
            foreach (var b in new[] { y, gx, gw })
            {
                stream.FillBytes(b.View, 0xFF);
            }
            var launch = Launcher(kind, pass);
            launch();
            stream.Synchronize();
            double e2 = 0, r2 = 0;
            string note = "";
            void Acc(float got, double want)
            {
                if (!float.IsFinite(got)) note = "non-finite output (unwritten?)";
                e2 += (got - want) * (got - want);
                r2 += want * want;
            }
            if (pass is 0 or 3)
            {
                var got = y.ToArray();
                for (int t = 0; t < Samples; t++)
                {
                    int n = _random.Next(s.Batch), o = _random.Next(oc), oy = _random.Next(oh), ox = _random.Next(ow);
                    Acc(got[(((long)((n * oc) + o) * oh) + oy) * ow + ox], Fwd(n, o, oy, ox));
                }
            }
            if (pass is 1 or 3)
            {
                var got = gx.ToArray();
                for (int t = 0; t < Samples; t++)
                {
                    int n = _random.Next(s.Batch), i = _random.Next(c), iy = _random.Next(h), ix = _random.Next(w);
                    Acc(got[(((long)((n * c) + i) * h) + iy) * w + ix], Dgrad(n, i, iy, ix));
                }
            }
            if ((pass is 2 or 3) && (kind != 0 || nnz > 0))
            {
                var got = gw.ToArray();
                for (int t = 0; t < Samples / 4; t++)
                {
                    if (kind == 0)
                    {
                        int q = _random.Next(nnz);
                        int o = 0;
                        while (rowPtr[o + 1] <= q) o++;
                        Acc(got[q], Wgrad(o, colIdx[q]));
                    }
                    else
                    {
                        int o = _random.Next(oc), k = _random.Next(cols);
                        Acc(got[(o * cols) + k], Wgrad(o, k));
                    }
                }
            }
            double error = e2 == 0 ? 0 : Math.Sqrt(e2 / Math.Max(r2, double.Epsilon));
            double ms = timeMedian(launch);
            double flops = 2.0 * s.MacCount * (pass == 3 ? 3 : 1);
            double tolerance = kind == 1 ? 2e-3 : 1e-4;
            return new BenchResult(name, shapeText + (kind == 0 ? $" nnz {nnz}" : ""), ms, flops / (ms * 1e-3) / 1e12, "TFLOP/s", error, tolerance, note);
        }

        string[] kinds = ["masked", "tf32", "fp32"];
        string[] passes = ["fwd", "dgrad", "wgrad", "all"];
        for (int pass = 0; pass < 4; pass++)
        {
            for (int kind = 0; kind < 3; kind++)
            {
                string name = $"{prefix}-{kinds[kind]}-{passes[pass]}";
                int k = kind, p = pass;
                run(name, () => Measure(name, k, p));
            }
        }
    }
}
