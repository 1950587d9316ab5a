using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Nn;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Resample;

/// <summary>The float64 backward references of nearest upsampling and average pooling against
/// central differences of their forward references.</summary>
[TestFixture]
public sealed class ResampleReferenceTests
{
    [TestCase(2, 3, 2, 2)]
    [TestCase(1, 2, 3, 3)]
    public void UpsampleNearestBackward_MatchesFiniteDifferences(int planes, int h, int w, int s)
    {
        var rng = new Random(planes + (10 * h) + (100 * w) + (1000 * s));
        var x = Enumerable.Range(0, planes * h * w).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var g = Enumerable.Range(0, planes * h * w * s * s).Select(_ => rng.NextDouble() - 0.5).ToArray();
        FiniteDifferences.Check(v => FiniteDifferences.Dot(ResampleReference.UpsampleNearest(v, planes, h, w, s), g), x,
            ResampleReference.UpsampleNearestBackward(g, planes, h, w, s), "upsample");
    }

    [TestCase(2, 4, 6, 2)]
    [TestCase(1, 3, 6, 3)]
    public void AvgPoolBackward_MatchesFiniteDifferences(int planes, int h, int w, int k)
    {
        var rng = new Random(planes + (10 * h) + (100 * w) + (1000 * k));
        var x = Enumerable.Range(0, planes * h * w).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var g = Enumerable.Range(0, planes * (h / k) * (w / k)).Select(_ => rng.NextDouble() - 0.5).ToArray();
        FiniteDifferences.Check(v => FiniteDifferences.Dot(ResampleReference.AvgPool(v, planes, h, w, k), g), x,
            ResampleReference.AvgPoolBackward(g, planes, h, w, k), "avg pool");
    }
}

/// <summary><see cref="Functional.UpsampleNearest2d"/> and <see cref="Functional.AvgPool2d"/> (forward
/// and backward through autograd) against the float64 references.</summary>
public abstract class ResampleSuite : FunctionalOpsTestBase
{
    [TestCase(1, 1, 1, 1, 2)]
    [TestCase(2, 3, 5, 7, 2)]
    [TestCase(1, 2, 4, 3, 3)]
    [TestCase(3, 1, 2, 2, 1)]
    [TestCase(1, 5, 3, 1, 4)]
    public void UpsampleNearest2d_ForwardAndBackward_MatchReference(int n, int c, int h, int w, int s)
    {
        var rng = new Random(HashCode.Combine(n, c, h, w, s));
        var x = RandomFloats(rng, n * c * h * w);
        var g = RandomFloats(rng, n * c * h * w * s * s);
        using var px = Parameter.FromHost(Acc, x, n, c, h, w);
        using (var scope = new TensorScope(Acc))
        {
            var y = Functional.UpsampleNearest2d(px, s);
            Assert.That(y.Shape, Is.EqualTo(new[] { n, c, h * s, w * s }));
            AssertClose(y.ToHost(), ResampleReference.UpsampleNearest(D(x), n * c, h, w, s), "forward", 0);
            BackwardWith(y, g);
        }
        AssertClose(px.Grad!.ToHost(), ResampleReference.UpsampleNearestBackward(D(g), n * c, h, w, s), "input gradient");
    }

    [TestCase(1, 1, 2, 2, 2)]
    [TestCase(2, 3, 6, 4, 2)]
    [TestCase(1, 2, 9, 6, 3)]
    [TestCase(1, 1, 5, 5, 5)]
    [TestCase(2, 2, 3, 7, 1)]
    public void AvgPool2d_ForwardAndBackward_MatchReference(int n, int c, int h, int w, int k)
    {
        var rng = new Random(HashCode.Combine(n, c, h, w, k, 1));
        var x = RandomFloats(rng, n * c * h * w);
        var g = RandomFloats(rng, n * c * (h / k) * (w / k));
        using var px = Parameter.FromHost(Acc, x, n, c, h, w);
        using (var scope = new TensorScope(Acc))
        {
            var y = Functional.AvgPool2d(px, k);
            Assert.That(y.Shape, Is.EqualTo(new[] { n, c, h / k, w / k }));
            AssertClose(y.ToHost(), ResampleReference.AvgPool(D(x), n * c, h, w, k), "forward");
            BackwardWith(y, g);
        }
        AssertClose(px.Grad!.ToHost(), ResampleReference.AvgPoolBackward(D(g), n * c, h, w, k), "input gradient");
    }

    [Test]
    public void AvgPool2d_ThenUpsample_RoundTripsBlockMeans()
    {
        // avg_pool(upsample(x, s), s) == x exactly up to rounding of the mean.
        var rng = new Random(5);
        var x = RandomFloats(rng, 2 * 3 * 4 * 5);
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, 2, 3, 4, 5);
        var back = Functional.AvgPool2d(Functional.UpsampleNearest2d(t, 3), 3);
        AssertClose(back.ToHost(), D(x), "avg_pool(upsample(x))");
    }

    [Test]
    public void InvalidArguments_ThrowArgumentException()
    {
        using var scope = new TensorScope(Acc);
        var x = Tensor.FromHost(Acc, RandomFloats(new Random(1), 20), 1, 1, 5, 4);
        var ex = Assert.Throws<ArgumentException>(() => Functional.AvgPool2d(x, 2));
        Assert.That(ex!.Message, Does.Contain("Height 5"));
        Assert.Throws<ArgumentException>(() => Functional.AvgPool2d(x.View(1, 1, 4, 5), 2), "width 5 with kernel 2");
        Assert.Throws<ArgumentException>(() => Functional.AvgPool2d(x, 0));
        Assert.Throws<ArgumentException>(() => Functional.UpsampleNearest2d(x, 0));
        Assert.Throws<ArgumentException>(() => Functional.UpsampleNearest2d(x.View(20), 2), "rank 1");
    }
}

[TestFixture]
public sealed class CpuResampleOps : ResampleSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicResampleOps : ResampleSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClResampleOps(string platform) : ResampleSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaResampleOps : ResampleSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
