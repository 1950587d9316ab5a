using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Kernels.Augment;
using GanEngine.Nn;
using GanEngine.Ops.Augment;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Augment;

/// <summary>The float64 DiffAugment reference: its backward against central differences of its forward, and the
/// integer draws against DiffAugment's ranges.</summary>
[TestFixture]
public sealed class DiffAugmentReferenceTests
{
    [TestCase("color", 2, 3, 4, 5)]
    [TestCase("translation", 2, 1, 8, 8)]
    [TestCase("cutout", 1, 2, 6, 7)]
    [TestCase("color,translation,cutout", 3, 3, 8, 8)]
    public void Backward_MatchesFiniteDifferences(string policyText, int n, int c, int h, int w)
    {
        var policy = DiffAugmentPolicy.Parse(policyText, translation: 0.25f);
        var rng = new Random(HashCode.Combine(policyText, n, c, h, w));
        var x = Enumerable.Range(0, n * c * h * w).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var g = Enumerable.Range(0, x.Length).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var u = Enumerable.Range(0, n * DiffAugmentKernels.DrawsPerSample).Select(_ => (float)rng.NextDouble()).ToArray();
        FiniteDifferences.Check(v => FiniteDifferences.Dot(DiffAugmentReference.Forward(v, u, n, c, h, w, policy), g), x,
            DiffAugmentReference.Backward(g, u, n, c, h, w, policy), policyText);
    }

    [Test]
    public void Draws_CoverDiffAugmentsRanges()
    {
        // randint(-4, 5) at 32 x 1/8; the cutout's centre randint(0, 33) at 32 x 1/2 (cut 16, even), minus 8.
        var shifts = Enumerable.Range(0, 10000).Select(i => DiffAugmentKernels.Shift(i / 10000f, 4)).ToHashSet();
        Assert.That(shifts.Order(), Is.EqualTo(Enumerable.Range(-4, 9)));
        Assert.That(DiffAugmentKernels.Shift(0.99999994f, 4), Is.EqualTo(4));
        var starts = Enumerable.Range(0, 10000).Select(i => DiffAugmentKernels.CutStart(i / 10000f, 32, 16)).ToHashSet();
        Assert.That(starts.Order(), Is.EqualTo(Enumerable.Range(-8, 33)));
        // An odd cut (5 of 10) centres on randint(0, 10): start = centre - 2.
        var odd = Enumerable.Range(0, 10000).Select(i => DiffAugmentKernels.CutStart(i / 10000f, 10, 5)).ToHashSet();
        Assert.That(odd.Order(), Is.EqualTo(Enumerable.Range(-2, 10)));
    }

    [Test]
    public void Policy_ParsesDiffAugmentsNames_AndRejectsOthers()
    {
        var all = DiffAugmentPolicy.Parse("color, translation,cutout");
        Assert.That(all, Is.EqualTo(new DiffAugmentPolicy(true, 0.125f, 0.5f)));
        Assert.That(all.ShiftFor(32, 32), Is.EqualTo((4, 4)));
        Assert.That(all.CutoutFor(32, 32), Is.EqualTo((16, 16)));
        Assert.That(DiffAugmentPolicy.Parse("").IsIdentity);
        Assert.That(DiffAugmentPolicy.Parse("none").IsIdentity);
        var ex = Assert.Throws<ArgumentException>(() => DiffAugmentPolicy.Parse("color,flip"));
        Assert.That(ex!.Message, Does.Contain("'flip'"));
        Assert.Throws<ArgumentException>(() => DiffAugmentPolicy.Parse("translation", translation: 1f));
    }
}

/// <summary><see cref="Functional.DiffAugment"/> (forward and backward through autograd) against the float64
/// reference on every accelerator.</summary>
public abstract class DiffAugmentSuite : FunctionalOpsTestBase
{
    [TestCase("color", 2, 3, 5, 7)]
    [TestCase("translation", 3, 1, 8, 8)]
    [TestCase("cutout", 2, 2, 9, 6)]
    [TestCase("translation,cutout", 4, 1, 16, 16)]
    [TestCase("color,translation,cutout", 5, 3, 32, 32)]
    [TestCase("color,translation,cutout", 1, 1, 3, 2)]
    public void ForwardAndBackward_MatchReference(string policyText, int n, int c, int h, int w)
    {
        var policy = DiffAugmentPolicy.Parse(policyText, translation: 0.25f);
        var rng = new Random(HashCode.Combine(policyText, n, c, h, w, 7));
        var x = RandomFloats(rng, n * c * h * w);
        var g = RandomFloats(rng, x.Length);
        var u = RandomFloats(rng, n * DiffAugmentKernels.DrawsPerSample, 0, 1);
        // The extremes of the draws: the largest shifts both ways and a cutout hanging over each edge.
        u[3] = 0f;
        u[4] = 0.99999994f;
        u[5] = 0f;
        if (n > 1)
        {
            u[DiffAugmentKernels.DrawsPerSample + 3] = 0.99999994f;
            u[DiffAugmentKernels.DrawsPerSample + 6] = 0.99999994f;
        }
        using var px = Parameter.FromHost(Acc, x, n, c, h, w);
        using (var scope = new TensorScope(Acc))
        {
            var draws = Tensor.FromHost(Acc, u, n, DiffAugmentKernels.DrawsPerSample);
            var y = Functional.DiffAugment(px, draws, policy);
            Assert.That(y.Shape, Is.EqualTo(new[] { n, c, h, w }));
            AssertClose(y.ToHost(), DiffAugmentReference.Forward(D(x), u, n, c, h, w, policy), "forward");
            BackwardWith(y, g);
        }
        AssertClose(px.Grad!.ToHost(), DiffAugmentReference.Backward(D(g), u, n, c, h, w, policy), "input gradient");
    }

    [Test]
    public void Geometric_ZeroesTheCutout_AndMovesPixelsExactly()
    {
        // Translation and cutout only move or zero values: the result is bit-exact, and some of it is zero.
        const int n = 4, c = 2, h = 16, w = 16;
        var policy = DiffAugmentPolicy.Parse("translation,cutout");
        var rng = new Random(3);
        var x = RandomFloats(rng, n * c * h * w, 0.5, 1);
        var u = RandomFloats(rng, n * DiffAugmentKernels.DrawsPerSample, 0, 1);
        using var scope = new TensorScope(Acc);
        var y = Functional.DiffAugment(Tensor.FromHost(Acc, x, n, c, h, w), Tensor.FromHost(Acc, u, n, 8), policy).ToHost();
        var expected = DiffAugmentReference.Forward(D(x), u, n, c, h, w, policy);
        Assert.That(y.Select(v => (double)v), Is.EqualTo(expected));
        // Each sample loses at least the cutout's part inside the image (8 x 8 centred somewhere in [0, 16]: >= 16 pixels).
        for (int s = 0; s < n; s++)
        {
            Assert.That(y.Skip(s * c * h * w).Take(h * w).Count(v => v == 0f), Is.GreaterThanOrEqualTo(16), $"sample {s}");
        }
    }

    [Test]
    public void IdentityPolicy_ReturnsTheInput_AndBadDrawsThrow()
    {
        var rng = new Random(11);
        var x = RandomFloats(rng, 2 * 1 * 4 * 4);
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, 2, 1, 4, 4);
        var u = Tensor.FromHost(Acc, RandomFloats(rng, 16, 0, 1), 2, 8);
        Assert.That(Functional.DiffAugment(t, u, DiffAugmentPolicy.Parse("none")).ToHost(), Is.EqualTo(x));
        var shortDraws = Tensor.FromHost(Acc, RandomFloats(rng, 15, 0, 1), 15);
        var ex = Assert.Throws<ArgumentException>(() => Functional.DiffAugment(t, shortDraws, DiffAugmentPolicy.Parse("cutout")));
        Assert.That(ex!.Message, Does.Contain("16 uniforms"));
        Assert.Throws<ArgumentException>(() => Functional.DiffAugment(t.View(2, 16), u, DiffAugmentPolicy.Parse("cutout")), "rank 2");
    }
}

[TestFixture]
public sealed class CpuDiffAugmentOps : DiffAugmentSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicDiffAugmentOps : DiffAugmentSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClDiffAugmentOps(string platform) : DiffAugmentSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaDiffAugmentOps : DiffAugmentSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
