using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators;
using GanEngine.Ops.Init;
using GanEngine.Ops.Reference;
using GanEngine.Ops.Rng;
using GanEngine.Tests.Ops.Optim;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Rng;

/// <summary>The host Philox reference against the published known-answer vectors, and the
/// host-side fan / gain computations of the initialisers (no accelerator).</summary>
[TestFixture]
public sealed class RandomReferenceTests
{
    // Random123 kat_vectors, philox4x32 with 10 rounds: counter, key -> output.
    [TestCase(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox4x32x10_KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint e0, uint e1, uint e2, uint e3)
    {
        var x = RandomReference.Philox4x32x10(c0, c1, c2, c3, k0, k1);
        Assert.That(new[] { x.X0, x.X1, x.X2, x.X3 }, Is.EqualTo(new[] { e0, e1, e2, e3 }));
    }

    [Test]
    public void Stream_WordLayout()
    {
        // Word p is lane p % 4 of the block counter p / 4 (lo, hi, 0, 0), key (lo(seed), hi(seed)).
        ulong seed = 0x0123456789abcdefUL;
        ulong position = (5UL << 32) * 4 + 7;
        var x = RandomReference.Philox4x32x10((uint)(position / 4), (uint)((position / 4) >> 32), 0, 0, 0x89abcdefu, 0x01234567u);
        Assert.That(RandomReference.Word(seed, position), Is.EqualTo(x.X3));
    }

    [Test]
    public void Fans_MatchPyTorch()
    {
        Assert.That(Initializers.Fans([64, 3, 4, 4]), Is.EqualTo((48L, 1024L)));          // conv (out, in, kh, kw)
        Assert.That(Initializers.Fans([512, 256, 3, 3]), Is.EqualTo((2304L, 4608L)));
        Assert.That(Initializers.Fans([10, 20]), Is.EqualTo((20L, 10L)));                 // linear (out, in)
        Assert.That(Initializers.Fans([128, 100, 1, 1]), Is.EqualTo((100L, 128L)));
        Assert.Throws<ArgumentException>(() => Initializers.Fans([7]));
    }

    [Test]
    public void Gains_MatchPyTorch()
    {
        Assert.That(Initializers.CalculateGain(Nonlinearity.Linear), Is.EqualTo(1.0));
        Assert.That(Initializers.CalculateGain(Nonlinearity.Sigmoid), Is.EqualTo(1.0));
        Assert.That(Initializers.CalculateGain(Nonlinearity.Tanh), Is.EqualTo(5.0 / 3.0));
        Assert.That(Initializers.CalculateGain(Nonlinearity.Relu), Is.EqualTo(Math.Sqrt(2.0)));
        Assert.That(Initializers.CalculateGain(Nonlinearity.LeakyRelu), Is.EqualTo(Math.Sqrt(2.0 / 1.0001)));
        Assert.That(Initializers.CalculateGain(Nonlinearity.LeakyRelu, 0.2), Is.EqualTo(Math.Sqrt(2.0 / 1.04)).Within(1e-15));
        Assert.That(Initializers.CalculateGain(Nonlinearity.Selu), Is.EqualTo(0.75));
        // kaiming_uniform_ defaults (a = 0, fan_in, leaky_relu): std = sqrt(2 / fan_in).
        Assert.That(Initializers.KaimingStd([64, 3, 4, 4]), Is.EqualTo(Math.Sqrt(2.0 / 48)).Within(1e-15));
        Assert.That(Initializers.KaimingStd([64, 3, 4, 4], mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu), Is.EqualTo(Math.Sqrt(2.0 / 1024)).Within(1e-15));
        // PyTorch's nn.Linear / nn.Conv2d reset_parameters: kaiming_uniform_(a = sqrt(5)) -> bound 1 / sqrt(fan_in).
        Assert.That(Math.Sqrt(3) * Initializers.KaimingStd([10, 20], a: Math.Sqrt(5)), Is.EqualTo(1 / Math.Sqrt(20)).Within(1e-15));
        Assert.That(Initializers.XavierStd([10, 20], 2.0), Is.EqualTo(2.0 * Math.Sqrt(2.0 / 30)).Within(1e-15));
    }

    [Test]
    public void Generator_ReservesDisjointBlockAlignedRanges()
    {
        var g = new PhiloxGenerator(42, 1);
        Assert.That(g.Reserve(5), Is.EqualTo(4UL));
        Assert.That(g.Reserve(1), Is.EqualTo(12UL));
        Assert.That(g.Offset, Is.EqualTo(16UL));
    }
}

/// <summary>Device Philox against the host reference (bit-exact, any launch shape) and the
/// distributions' moments; initialisers on the device.</summary>
public abstract class PhiloxSuite : OptimOpsTestBase
{
    private static readonly (ulong Seed, ulong Offset, int N)[] Cases =
    [
        (0, 0, 1), (1, 0, 4), (12345, 1, 1001), (0xdeadbeefcafef00dUL, 3, 4099), ((1UL << 40) + 7, (1UL << 34) - 5, 777),
    ];

    [Test]
    public void Bits_BitExactWithReference_AnyLaunchShape()
    {
        foreach (var (seed, offset, n) in Cases)
        {
            var expected = RandomReference.Bits(seed, offset, n);
            foreach (var (block, maxBlocks) in new[] { (256, 1024), (32, 1), (64, 3), (128, 1024) })
            {
                using var output = Poisoned<uint>(n);
                Philox.Bits(Acc, seed, offset, output, n, block, maxBlocks);
                Assert.That(Download(output), Is.EqualTo(expected), $"seed {seed}, offset {offset}, n {n}, block {block}, max blocks {maxBlocks}");
            }
        }
    }

    [Test]
    public void UniformAndBernoulli_BitExactWithReference()
    {
        foreach (var (seed, offset, n) in Cases)
        {
            using var output = Poisoned<float>(n);
            Philox.Uniform(Acc, seed, offset, output, n, -2.5f, 0.75f, 64, 2);
            Assert.That(Download(output), Is.EqualTo(RandomReference.Uniform(seed, offset, n, -2.5f, 0.75f)), "uniform");
            Philox.Bernoulli(Acc, seed, offset, output, n, 0.3f);
            Assert.That(Download(output), Is.EqualTo(RandomReference.Bernoulli(seed, offset, n, 0.3f)), "bernoulli");
        }
    }

    [Test]
    public void Normal_MatchesReference_AnyOffset()
    {
        foreach (var (seed, offset, n) in Cases)
        {
            using var output = Poisoned<float>(n);
            Philox.Normal(Acc, seed, offset, output, n, 0.5f, 2f, 32, 5);
            var actual = Download(output);
            var expected = RandomReference.Normal(seed, offset, n, 0.5, 2);
            for (int i = 0; i < n; i++)
            {
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5 * (1 + Math.Abs(expected[i]))), $"normal[{i}], seed {seed}, offset {offset}");
            }
        }
    }

    /// <summary>Sample mean (and variance) of 1M draws within 5 standard errors of the truth.</summary>
    [Test]
    public void Distributions_MomentsWithinFiveSigma()
    {
        const int n = 1 << 20;
        using var output = Acc.Allocate<float>(n);

        Philox.Uniform(Acc, 7, 0, output, n, 0f, 1f);
        CheckMoments(Download(output), 0.5, 1.0 / 12, 1.0 / 80, "uniform");

        Philox.Normal(Acc, 8, 0, output, n, 0.25f, 3f);
        CheckMoments(Download(output), 0.25, 9.0, 3 * 81.0, "normal");

        Philox.Bernoulli(Acc, 9, 0, output, n, 0.3f);
        CheckMoments(Download(output), 0.3, 0.21, 0.3 * 0.7 * (1 - (3 * 0.3 * 0.7)), "bernoulli");
    }

    private static void CheckMoments(float[] x, double mean, double variance, double centralFourth, string what)
    {
        double n = x.Length, sum = 0;
        foreach (float v in x) sum += v;
        double m = sum / n, ss = 0;
        foreach (float v in x) ss += (v - m) * (v - m);
        double var = ss / (n - 1);
        Assert.That(m, Is.EqualTo(mean).Within(5 * Math.Sqrt(variance / n)), $"{what} mean");
        Assert.That(var, Is.EqualTo(variance).Within(5 * Math.Sqrt((centralFourth - (variance * variance)) / n)), $"{what} variance");
    }

    [Test]
    public void Initializers_UseThePhiloxStreamWithPyTorchBounds()
    {
        int[] conv = [64, 3, 4, 4];
        int count = 64 * 3 * 4 * 4;
        using var weight = Poisoned<float>(count);

        Initializers.KaimingUniform(Acc, weight, conv, 11, 0);
        float bound = (float)(Math.Sqrt(3.0) * Math.Sqrt(2.0 / 48));
        Assert.That(Download(weight), Is.EqualTo(RandomReference.Uniform(11, 0, count, -bound, bound)), "kaiming_uniform");

        Initializers.XavierUniform(Acc, weight, [64, 48], 12, 4, gain: 2.0);
        float xb = (float)(2.0 * Math.Sqrt(6.0 / 112));
        Assert.That(Download(weight), Is.EqualTo(RandomReference.Uniform(12, 4, count, -xb, xb)), "xavier_uniform");

        Initializers.DcganNormal(Acc, weight, count, 13, 0);
        var expected = RandomReference.Normal(13, 0, count, 0, 0.02);
        AssertClose(Download(weight), expected, 1e-5, "dcgan normal(0, 0.02)");

        Initializers.KaimingNormal(Acc, weight, conv, 14, 0, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        AssertClose(Download(weight), RandomReference.Normal(14, 0, count, 0, Math.Sqrt(2.0 / 1024)), 1e-5, "kaiming_normal");

        Initializers.XavierNormal(Acc, weight, conv, 15, 0);
        AssertClose(Download(weight), RandomReference.Normal(15, 0, count, 0, Math.Sqrt(2.0 / (48 + 1024))), 1e-5, "xavier_normal");
    }
}

[TestFixture] public sealed class CpuRandomOps : PhiloxSuite { protected override Accelerator CreateAccelerator() => new CpuAccelerator(); }
[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClRandomOps(string platform) : PhiloxSuite { protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform); }
[TestFixture] public sealed class CudaRandomOps : PhiloxSuite { protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda(); }
