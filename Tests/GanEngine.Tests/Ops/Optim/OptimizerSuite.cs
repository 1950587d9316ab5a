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
