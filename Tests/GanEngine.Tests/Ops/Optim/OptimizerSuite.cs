using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators;
using GanEngine.Ops.Optim;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Optim;

/// <summary>Fused optimizer steps against the float64 references of <see cref="OptimReference"/>,
/// over several steps with fresh gradients, and the mask invariant (pruned weights stay exactly 0).</summary>
public abstract class OptimizerSuite : OptimOpsTestBase
{
    private const double Tolerance = 1e-6;

    private static float[] RandomMask(Random rng, int n, double density)
    {
        var mask = new float[n];
        for (int i = 0; i < n; i++) mask[i] = rng.NextDouble() < density ? 1f : 0f;
        return mask;
    }

    [TestCase(1, false, 0f, false)]
    [TestCase(257, false, 0f, false)]
    [TestCase(4099, false, 0.01f, false)]
    [TestCase(4099, true, 0.01f, false)]
    [TestCase(1000, true, 0.05f, true)]
    [TestCase(1000, false, 0.05f, true)]
    public void Adam_MatchesReference_OverSteps(int n, bool decoupled, float weightDecay, bool masked)
    {
        var rng = new Random(1000 + n + (decoupled ? 1 : 0) + (masked ? 2 : 0));
        var h = new AdamHyperparameters(Lr: 1e-2f, Beta1: 0.5f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: weightDecay);
        var p0 = RandomFloats(rng, n);
        float[]? mask = masked ? RandomMask(rng, n, 0.3) : null;
        double[] p = ToDouble(p0), m = new double[n], v = new double[n];
        using var param = Upload(p0);
        using var expAvg = Upload(new float[n]);
        using var expAvgSq = Upload(new float[n]);
        using var maskBuffer = mask != null ? Upload(mask) : null;
        for (int step = 1; step <= 6; step++)
        {
            var g = RandomFloats(rng, n, -0.5, 0.5);
            using var grad = Upload(g);
            if (decoupled)
                Optimizers.AdamW(Acc, param, grad, expAvg, expAvgSq, n, step, h, maskBuffer?.ReadOnly);
            else
                Optimizers.Adam(Acc, param, grad, expAvg, expAvgSq, n, step, h, maskBuffer?.ReadOnly);
            OptimReference.AdamStep(p, ToDouble(g), m, v, step, h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, decoupled, mask);
            Acc.Synchronize();
        }
        AssertClose(Download(param), p, Tolerance, "param");
        AssertClose(Download(expAvg), m, Tolerance, "exp_avg");
        AssertClose(Download(expAvgSq), v, Tolerance, "exp_avg_sq");
    }

    [TestCase(false, 0f)]
    [TestCase(false, 0.01f)]
    [TestCase(true, 0.01f)]
    public void AdamMany_IsBitIdenticalToAdamPerTensor_AndMatchesReference(bool decoupled, float weightDecay)
    {
        // 12 parameters (two launches of up to 8), sizes on both sides of the block and grid caps, one empty.
        int[] sizes = [1, 7, 256, 257, 1000, 4099, 33, 0, 64, 1_100_000, 3, 129];
        var rng = new Random(5000 + (decoupled ? 1 : 0) + (int)(weightDecay * 100));
        var h = new AdamHyperparameters(Lr: 2e-2f, Beta1: 0.5f, Beta2: 0.99f, Eps: 1e-8f, WeightDecay: weightDecay);
        var p0 = sizes.Select(n => RandomFloats(rng, n)).ToArray();
        var many = sizes.Select((n, k) => (P: Upload(p0[k]), M: Upload(new float[n]), V: Upload(new float[n]))).ToArray();
        var one = sizes.Select((n, k) => (P: Upload(p0[k]), M: Upload(new float[n]), V: Upload(new float[n]))).ToArray();
        var reference = sizes.Select((n, k) => (P: ToDouble(p0[k]), M: new double[n], V: new double[n])).ToArray();
        try
        {
            for (int step = 1; step <= 4; step++)
            {
                var g = sizes.Select(n => RandomFloats(rng, n, -0.5, 0.5)).ToArray();
                var grads = g.Select(Upload).ToArray();
                long before = Acc.KernelLaunches;
                Optimizers.AdamMany(Acc, [.. sizes.Select((n, k) => new AdamTensor(many[k].P.View, grads[k].ReadOnly, many[k].M.View, many[k].V.View, n))],
                    step, h, decoupled);
                Assert.That(Acc.KernelLaunches - before, Is.EqualTo(2), "12 parameters in two launches");
                for (int k = 0; k < sizes.Length; k++)
                {
                    if (decoupled)
                        Optimizers.AdamW(Acc, one[k].P, grads[k], one[k].M, one[k].V, sizes[k], step, h);
                    else
                        Optimizers.Adam(Acc, one[k].P, grads[k], one[k].M, one[k].V, sizes[k], step, h);
                    OptimReference.AdamStep(reference[k].P, ToDouble(g[k]), reference[k].M, reference[k].V, step, h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, decoupled, null);
                }
                Acc.Synchronize();
                foreach (var b in grads) b.Dispose();
                for (int k = 0; k < sizes.Length; k++)
                {
                    Assert.That(Bits(Download(many[k].P)), Is.EqualTo(Bits(Download(one[k].P))), $"step {step}: param {k} ({sizes[k]} elements)");
                    Assert.That(Bits(Download(many[k].M)), Is.EqualTo(Bits(Download(one[k].M))), $"step {step}: exp_avg {k}");
                    Assert.That(Bits(Download(many[k].V)), Is.EqualTo(Bits(Download(one[k].V))), $"step {step}: exp_avg_sq {k}");
                }
            }
            for (int k = 0; k < sizes.Length; k++)
            {
                if (sizes[k] > 0)
                {
                    AssertClose(Download(many[k].P), reference[k].P, Tolerance, $"param {k}");
                    AssertClose(Download(many[k].V), reference[k].V, Tolerance, $"exp_avg_sq {k}");
                }
            }
        }
        finally
        {
            foreach (var (a, b, c) in many.Concat(one))
            {
                a.Dispose();
                b.Dispose();
                c.Dispose();
            }
        }
    }

    [Test]
    public void NnAdam_BatchesUnmaskedParameters_BitIdenticalToOneLaunchEach()
    {
        // Nn.Adam: 10 parameters, 2 masked (one launch each), 7 unmasked with a gradient (one launch), one without.
        int[] sizes = [5, 300, 17, 1024, 1, 99, 2048, 40, 256, 7];
        bool[] masked = [false, true, false, false, false, false, true, false, false, false];
        var rng = new Random(6000);
        var h = new AdamHyperparameters(Lr: 1e-2f, Beta1: 0.5f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: 0.02f);
        var p0 = sizes.Select(n => RandomFloats(rng, n)).ToArray();
        var masks = sizes.Select(n => RandomMask(rng, n, 0.5)).ToArray();
        var parameters = sizes.Select((n, k) => GanEngine.Tensors.Parameter.FromHost(Acc, p0[k], n)).ToList();
        var maskTensors = masks.Select((m, k) => GanEngine.Tensors.Tensor.FromHost(Acc, m, m.Length)).ToArray();
        var raw = sizes.Select((n, k) => (P: Upload(p0[k]), M: Upload(new float[n]), V: Upload(new float[n]))).ToArray();
        try
        {
            using var adam = new GanEngine.Nn.Adam(parameters, h);
            for (int k = 0; k < sizes.Length; k++)
            {
                if (masked[k]) adam.SetMask(k, maskTensors[k]);
            }
            for (int step = 1; step <= 3; step++)
            {
                var g = sizes.Select(n => RandomFloats(rng, n, -0.5, 0.5)).ToArray();
                for (int k = 0; k < sizes.Length; k++)
                {
                    parameters[k].Grad = k == 4 ? null : GanEngine.Tensors.Tensor.FromHost(Acc, g[k], sizes[k]);
                }
                long before = Acc.KernelLaunches;
                adam.Step();
                Assert.That(Acc.KernelLaunches - before, Is.EqualTo(3), "two masked parameters, then the seven others in one launch");
                for (int k = 0; k < sizes.Length; k++)
                {
                    if (k == 4) continue;
                    using var grad = Upload(g[k]);
                    using var mask = Upload(masks[k]);
                    Optimizers.Adam(Acc, raw[k].P, grad, raw[k].M, raw[k].V, sizes[k], step, h, masked[k] ? mask.ReadOnly : null);
                }
                Acc.Synchronize();
            }
            for (int k = 0; k < sizes.Length; k++)
            {
                var expected = k == 4 ? p0[k] : Download(raw[k].P);
                Assert.That(Bits(parameters[k].ToHost()), Is.EqualTo(Bits(expected)), $"param {k}");
                if (k != 4)
                {
                    Assert.That(Bits(adam.SecondMoment(k).ToHost()), Is.EqualTo(Bits(Download(raw[k].V))), $"exp_avg_sq {k}");
                }
            }
        }
        finally
        {
            foreach (var p in parameters) p.Dispose();
            foreach (var m in maskTensors) m.Dispose();
            foreach (var (a, b, c) in raw)
            {
                a.Dispose();
                b.Dispose();
                c.Dispose();
            }
        }
    }

    [Test]
    public void EmaMany_IsBitIdenticalToEmaPerTensor_AndMatchesReference()
    {
        int[] sizes = [5, 300, 17, 1024, 1, 0, 2048, 40, 256, 4099, 7];
        var rng = new Random(7000);
        var e0 = sizes.Select(n => RandomFloats(rng, n)).ToArray();
        var many = e0.Select(Upload).ToArray();
        var one = e0.Select(Upload).ToArray();
        var reference = e0.Select(ToDouble).ToArray();
        try
        {
            for (int step = 0; step < 3; step++)
            {
                var w = sizes.Select(n => RandomFloats(rng, n)).ToArray();
                var weights = w.Select(Upload).ToArray();
                long before = Acc.KernelLaunches;
                Optimizers.EmaMany(Acc, [.. many.Select(b => b.View)], [.. weights.Select(b => b.ReadOnly)], 0.95f);
                Assert.That(Acc.KernelLaunches - before, Is.EqualTo(2), "11 tensors in two launches");
                for (int k = 0; k < sizes.Length; k++)
                {
                    Optimizers.Ema(Acc, one[k], weights[k], sizes[k], 0.95f);
                    OptimReference.EmaStep(reference[k], ToDouble(w[k]), 0.95f, null);
                }
                Acc.Synchronize();
                foreach (var b in weights) b.Dispose();
            }
            for (int k = 0; k < sizes.Length; k++)
            {
                Assert.That(Bits(Download(many[k])), Is.EqualTo(Bits(Download(one[k]))), $"ema {k} ({sizes[k]} elements)");
                if (sizes[k] > 0)
                {
                    AssertClose(Download(many[k]), reference[k], Tolerance, $"ema {k}");
                }
            }
        }
        finally
        {
            foreach (var b in many.Concat(one)) b.Dispose();
        }
    }

    private static uint[] Bits(float[] v) => v.Select(BitConverter.SingleToUInt32Bits).ToArray();

    [TestCase(777, 0f, 0f, false, 0f)]
    [TestCase(777, 0.9f, 0f, false, 0f)]
    [TestCase(777, 0.9f, 0.1f, false, 1e-2f)]
    [TestCase(3001, 0.9f, 0f, true, 1e-2f)]
    public void Sgd_MatchesReference_OverSteps(int n, float momentum, float dampening, bool nesterov, float weightDecay)
    {
        var rng = new Random(2000 + n);
        var h = new SgdHyperparameters(Lr: 0.05f, Momentum: momentum, Dampening: dampening, WeightDecay: weightDecay, Nesterov: nesterov);
        var p0 = RandomFloats(rng, n);
        double[] p = ToDouble(p0), buf = new double[n];
        using var param = Upload(p0);
        using var momentumBuffer = Poisoned<float>(n); // first step must not read it
        for (int step = 1; step <= 6; step++)
        {
            var g = RandomFloats(rng, n);
            using var grad = Upload(g);
            Optimizers.Sgd(Acc, param, grad, momentumBuffer, n, step == 1, h);
            OptimReference.SgdStep(p, ToDouble(g), buf, step == 1, h.Lr, h.Momentum, h.Dampening, h.WeightDecay, h.Nesterov);
            Acc.Synchronize();
        }
        AssertClose(Download(param), p, Tolerance, "param");
        if (momentum != 0f) AssertClose(Download(momentumBuffer), buf, Tolerance, "momentum_buffer");
    }

    [TestCase(513, false)]
    [TestCase(513, true)]
    public void Ema_MatchesReference(int n, bool masked)
    {
        var rng = new Random(3000 + n);
        var e0 = RandomFloats(rng, n);
        float[]? mask = masked ? RandomMask(rng, n, 0.5) : null;
        double[] e = ToDouble(e0);
        using var ema = Upload(e0);
        using var maskBuffer = mask != null ? Upload(mask) : null;
        for (int step = 0; step < 5; step++)
        {
            var w = RandomFloats(rng, n);
            using var weights = Upload(w);
            Optimizers.Ema(Acc, ema, weights, n, 0.999f, maskBuffer?.ReadOnly);
            OptimReference.EmaStep(e, ToDouble(w), 0.999f, mask);
            Acc.Synchronize();
        }
        AssertClose(Download(ema), e, Tolerance, "ema");
    }

    [Test]
    public void MaskedWeights_StayExactlyZero_AfterManySteps()
    {
        const int n = 1031;
        var rng = new Random(4000);
        var mask = RandomMask(rng, n, 0.2);
        using var maskBuffer = Upload(mask);
        using var adamParam = Upload(RandomFloats(rng, n));
        using var adamWParam = Upload(RandomFloats(rng, n));
        using var sgdParam = Upload(RandomFloats(rng, n));
        using var ema = Upload(RandomFloats(rng, n));
        using var m1 = Upload(RandomFloats(rng, n)); // stale state at pruned positions must be cleared
        using var v1 = Upload(RandomFloats(rng, n, 0, 1));
        using var m2 = Upload(new float[n]);
        using var v2 = Upload(new float[n]);
        using var buf = Upload(new float[n]);
        using var grad = Upload(RandomFloats(rng, n));
        var adam = new AdamHyperparameters(Lr: 1e-2f, WeightDecay: 0.1f);
        for (int step = 1; step <= 100; step++)
        {
            Optimizers.Adam(Acc, adamParam, grad, m1, v1, n, step, adam, maskBuffer.ReadOnly);
            Optimizers.AdamW(Acc, adamWParam, grad, m2, v2, n, step, adam, maskBuffer.ReadOnly);
            Optimizers.Sgd(Acc, sgdParam, grad, buf, n, step == 1, new SgdHyperparameters(Lr: 1e-2f, Momentum: 0.9f, WeightDecay: 0.1f), maskBuffer.ReadOnly);
            Optimizers.Ema(Acc, ema, adamParam, n, 0.99f, maskBuffer.ReadOnly);
        }
        var views = new (string Name, float[] Data)[]
        {
            ("adam param", Download(adamParam)), ("adam m", Download(m1)), ("adam v", Download(v1)),
            ("adamw param", Download(adamWParam)), ("adamw m", Download(m2)), ("adamw v", Download(v2)),
            ("sgd param", Download(sgdParam)), ("sgd buffer", Download(buf)), ("ema", Download(ema)),
        };
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            if (mask[i] == 0f)
            {
                foreach (var (name, data) in views)
                {
                    Assert.That(BitConverter.SingleToUInt32Bits(data[i]), Is.EqualTo(0u), $"{name}[{i}] must be +0");
                }
            }
            else if (views[0].Data[i] != 0f)
            {
                kept++;
            }
        }
        Assert.That(kept, Is.GreaterThan(0), "unmasked weights moved and are not all zero");
    }

    [Test]
    public void InvalidHyperparameters_Throw()
    {
        using var p = Upload(new float[4]);
        Assert.Throws<ArgumentException>(() => Optimizers.Sgd(Acc, p, p, p, 4, true, new SgdHyperparameters(Momentum: 0.9f, Dampening: 0.1f, Nesterov: true)));
        Assert.Throws<ArgumentException>(() => Optimizers.Adam(Acc, p, p, p, p, 4, 0, AdamHyperparameters.Adam));
        Assert.Throws<ArgumentException>(() => Optimizers.Adam(Acc, p, p, p, p, 5, 1, AdamHyperparameters.Adam));
        Assert.That(AdamHyperparameters.AdamW.WeightDecay, Is.EqualTo(1e-2f));
    }
}

[TestFixture] public sealed class CpuOptimizerOps : OptimizerSuite { protected override Accelerator CreateAccelerator() => new CpuAccelerator(); }
[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClOptimizerOps(string platform) : OptimizerSuite { protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform); }
[TestFixture] public sealed class CudaOptimizerOps : OptimizerSuite { protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda(); }
