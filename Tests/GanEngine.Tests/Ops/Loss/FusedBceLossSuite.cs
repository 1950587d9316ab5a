using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Ops.Loss;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Loss;

/// <summary>
/// The fused BCE-with-logits losses against constant targets (<see cref="Losses.BceWithLogits(Tensor, float)"/>,
/// <see cref="Losses.BceWithLogitsPair"/>, <see cref="BceWithLogitsOps"/>), on one accelerator (bound to each
/// below): value and gradients against the float64 reference; bit for bit against the composed ops they
/// replace (element-wise BCE against a target tensor, mean, sum); one launch forward and one backward. Sizes on
/// both sides of the reduction's block-size switch (256), fresh random logits, never zero.
/// </summary>
public abstract class FusedBceLossSuite : AcceleratorSuite
{
    private static float[] Logits(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double x;
            do
            {
                x = (rng.NextDouble() * 12) - 6;
            }
            while (Math.Abs(x) < 1e-3);
            v[i] = (float)x;
        }
        return v;
    }

    private static uint[] Bits(float[] v) => v.Select(BitConverter.SingleToUInt32Bits).ToArray();

    private static double[] D(float[] x) => x.Select(v => (double)v).ToArray();

    private static void AssertClose(float[] got, double[] expected, string what)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < got.Length; i++)
        {
            double err = Math.Abs(got[i] - expected[i]);
            if (!(err <= 1e-7 + (1e-4 * Math.Abs(expected[i]))))
            {
                Assert.Fail($"{what}: element {i}: got {got[i]}, expected {expected[i]}");
            }
        }
    }

    private static (double Loss, double[] Grad) Reference(float[] x, float target) =>
        LossReference.BceWithLogits(D(x), Enumerable.Repeat((double)target, x.Length).ToArray());

    [Test]
    public void Single_MatchesFloat64Reference(
        [Values(1, 7, 63, 64, 255, 256, 257, 1000)] int n, [Values(1f, 0f, 0.9f)] float target)
    {
        var x = Logits(new Random((n * 7) + (int)(target * 10)), n);
        using var p = Parameter.FromHost(Acc, x, n);
        float value;
        using (var scope = new TensorScope(Acc))
        {
            var loss = Losses.BceWithLogits(p, target);
            Assert.That(loss.Rank, Is.EqualTo(0));
            loss.Backward();
            value = loss.Item();
        }
        var (expected, grad) = Reference(x, target);
        Assert.That(value, Is.EqualTo(expected).Within(1e-6 + (1e-5 * Math.Abs(expected))));
        AssertClose(p.Grad!.ToHost(), grad, "grad");
    }

    [TestCase(300, 100, 0.9f)]
    [TestCase(100, 300, 1f)]
    [TestCase(256, 256, 1f)]
    [TestCase(1, 1000, 0.8f)]
    [TestCase(17, 5, 1f)]
    public void Pair_MatchesFloat64Reference(int na, int nb, float targetA)
    {
        var rng = new Random((na * 31) + nb);
        var a = Logits(rng, na);
        var b = Logits(rng, nb);
        using var pa = Parameter.FromHost(Acc, a, na, 1);
        using var pb = Parameter.FromHost(Acc, b, nb);
        float value;
        using (var scope = new TensorScope(Acc))
        {
            var loss = Losses.BceWithLogitsPair(pa, targetA, pb, 0f);
            loss.Backward();
            value = loss.Item();
        }
        var ra = Reference(a, targetA);
        var rb = Reference(b, 0f);
        double expected = ra.Loss + rb.Loss;
        Assert.That(value, Is.EqualTo(expected).Within(1e-6 + (1e-5 * Math.Abs(expected))));
        AssertClose(pa.Grad!.ToHost(), ra.Grad, "grad a");
        AssertClose(pb.Grad!.ToHost(), rb.Grad, "grad b");
    }

    [TestCase(7, 0, 1f, 0.37f)]
    [TestCase(64, 0, 0f, 1f)]
    [TestCase(1000, 0, 0.9f, -2.5f)]
    [TestCase(256, 255, 1f, 1f)]
    [TestCase(300, 100, 0.9f, 0.37f)]
    [TestCase(33, 1000, 0.7f, -1.25f)]
    public void Fused_IsBitIdenticalToComposedOps(int na, int nb, float targetA, float upstream)
    {
        // Composed: BCE element-wise against a target tensor, Mean, (+), as before the fusion; an upstream
        // factor makes the backward read a gradient other than the seed.
        var rng = new Random((na * 13) + nb);
        var a = Logits(rng, na);
        var b = Logits(rng, Math.Max(nb, 1));
        float fusedValue, composedValue;
        float[] fusedA, fusedB = [], composedA, composedB = [];
        using (var pa = Parameter.FromHost(Acc, a, na))
        using (var pb = Parameter.FromHost(Acc, b, b.Length))
        {
            using (var scope = new TensorScope(Acc))
            {
                var loss = nb == 0 ? Losses.BceWithLogits(pa, targetA) : Losses.BceWithLogitsPair(pa, targetA, pb, 0f);
                // Upstream 1: the loss is the root (its gradient of 1 is implicit); else it reads the gradient.
                (upstream == 1f ? loss : loss * upstream).Backward();
                fusedValue = loss.Item();
            }
            fusedA = pa.Grad!.ToHost();
            if (nb > 0)
            {
                fusedB = pb.Grad!.ToHost();
            }
        }
        using (var pa = Parameter.FromHost(Acc, a, na))
        using (var pb = Parameter.FromHost(Acc, b, b.Length))
        {
            using (var scope = new TensorScope(Acc))
            {
                var loss = Losses.BceWithLogits(pa, Tensor.Full(Acc, [1], targetA));
                if (nb > 0)
                {
                    loss = loss + Losses.BceWithLogits(pb, Tensor.Full(Acc, [1], 0f));
                }
                (upstream == 1f ? loss : loss * upstream).Backward();
                composedValue = loss.Item();
            }
            composedA = pa.Grad!.ToHost();
            if (nb > 0)
            {
                composedB = pb.Grad!.ToHost();
            }
        }
        Assert.That(BitConverter.SingleToUInt32Bits(fusedValue), Is.EqualTo(BitConverter.SingleToUInt32Bits(composedValue)),
            $"loss {fusedValue} vs {composedValue}");
        Assert.That(Bits(fusedA), Is.EqualTo(Bits(composedA)), "grad a");
        Assert.That(Bits(fusedB), Is.EqualTo(Bits(composedB)), "grad b");
    }

    [Test]
    public void OneLaunchForward_OneBackward()
    {
        var rng = new Random(5);
        using var pa = Parameter.FromHost(Acc, Logits(rng, 300), 300);
        using var pb = Parameter.FromHost(Acc, Logits(rng, 300), 300);
        using var scope = new TensorScope(Acc);
        long before = Acc.KernelLaunches;
        var pair = Losses.NonSaturatingDiscriminator(pa, pb);
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(1), "D loss forward");
        pair.Backward();
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(2),
            "one backward launch (the root's gradient of 1 is implicit: no seed fill); the gradients become the leaves' Grad");
        before = Acc.KernelLaunches;
        var single = Losses.NonSaturatingGenerator(pb);
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(1), "G loss forward");
        single.Backward();
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(3), "backward, and the in-place addition into pb's gradient");
        before = Acc.KernelLaunches;
        var scaled = Losses.NonSaturatingGenerator(pb) * 0.5f;
        scaled.Backward();
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(6), "not the root: forward, scale, seed fill, scale backward, loss backward, addition");
    }

    [Test]
    public void StridedLogits_AndOnlyOneSideRequiringGrad()
    {
        var rng = new Random(6);
        var a = Logits(rng, 15);
        var b = Logits(rng, 9);
        using var pa = Parameter.FromHost(Acc, a, 3, 5);
        using var tb = Tensor.FromHost(Acc, b, 9);
        float value;
        using (var scope = new TensorScope(Acc))
        {
            var loss = Losses.BceWithLogitsPair(pa.Transpose(0, 1), 0.9f, tb, 0f);
            loss.Backward();
            value = loss.Item();
        }
        // The transposed view's elements in row-major order of (5, 3).
        var at = new float[15];
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                at[(i * 3) + j] = a[(j * 5) + i];
            }
        }
        var ra = Reference(at, 0.9f);
        double expected = ra.Loss + Reference(b, 0f).Loss;
        Assert.That(value, Is.EqualTo(expected).Within(1e-6 + (1e-5 * Math.Abs(expected))));
        var ga = new double[15];
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                ga[(j * 5) + i] = ra.Grad[(i * 3) + j];
            }
        }
        AssertClose(pa.Grad!.ToHost(), ga, "grad through the transpose");
        Assert.That(tb.Grad, Is.Null);
    }
}

[TestFixture]
public sealed class CpuFusedBceLoss : FusedBceLossSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicFusedBceLoss : FusedBceLossSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClFusedBceLoss(string platform) : FusedBceLossSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaFusedBceLoss : FusedBceLossSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
