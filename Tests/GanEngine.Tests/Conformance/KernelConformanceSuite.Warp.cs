using NUnit.Framework;
using GanEngine.Kernels;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    // 2D blocks of 16 x 4 (lanes follow the linear index x + 16 y), 3 blocks, the last warp partly past n.
    private static readonly LaunchConfig ShuffleLaunch = new(new Dim3(3), new Dim3(16, 4));
    private const int ShuffleThreads = 3 * 64;
    private const int ShuffleN = ShuffleThreads - 20;

    [TestCase(37, 3)]
    [TestCase(0, 31)]
    public void Warp_ShuffleFloat_EveryLaneMatchesDefinition(int srcOffset, int delta)
    {
        var rng = new Random(3000 + delta);
        var input = RandomFloats(rng, ShuffleN, -1e6f, 1e6f);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<float>(ShuffleN * WarpKernels.ShuffleColumns);
        WarpKernels.LaunchShuffleFloat(Acc, ShuffleLaunch, inputBuffer.ReadOnly, output.View, ShuffleN, srcOffset, delta);

        var expected = ShuffleReference(input, WarpKernels.FloatSentinel, srcOffset, delta);
        AssertBits(Download(output), expected, "float shuffles [thread * 20 + column]", anyNaN: false);
    }

    [TestCase(37, 3)]
    [TestCase(0, 31)]
    public void Warp_ShuffleInt_EveryLaneMatchesDefinition(int srcOffset, int delta)
    {
        var rng = new Random(3100 + delta);
        var input = RandomInts(rng, ShuffleN, int.MinValue, int.MaxValue);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<int>(ShuffleN * WarpKernels.ShuffleColumns);
        WarpKernels.LaunchShuffleInt(Acc, ShuffleLaunch, inputBuffer.ReadOnly, output.View, ShuffleN, srcOffset, delta);

        var expected = ShuffleReference(input, WarpKernels.IntSentinel, srcOffset, delta);
        AssertExact(Download(output), expected, "int shuffles [thread * 20 + column]");
    }

    [TestCase(37, 3)]
    [TestCase(0, 31)]
    public void Warp_ShuffleUInt_EveryLaneMatchesDefinition(int srcOffset, int delta)
    {
        var rng = new Random(3200 + delta);
        var input = RandomUInts(rng, ShuffleN);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<uint>(ShuffleN * WarpKernels.ShuffleColumns);
        WarpKernels.LaunchShuffleUInt(Acc, ShuffleLaunch, inputBuffer.ReadOnly, output.View, ShuffleN, srcOffset, delta);

        var expected = ShuffleReference(input, WarpKernels.UIntSentinel, srcOffset, delta);
        AssertExact(Download(output), expected, "uint shuffles [thread * 20 + column]");
    }

    /// <summary>Many blocks, many launches: blocks that run at the same time must not see each other's
    /// warp-collective scratch. (PoCL 3.1 failed this within a few launches while the OpenCL scratch was a
    /// kernel-scope __local array; it is now a __local argument.)</summary>
    [Test]
    public void Warp_Ballot_RepeatedLaunchesOfManyBlocks_StayExact()
    {
        var rng = new Random(3350);
        const int blocks = 8, n = blocks * 128;
        var predicates = new int[n];
        for (int i = 0; i < n; i++)
        {
            predicates[i] = rng.Next(3) == 0 ? rng.Next(1, 100) : 0;
        }
        var expected = new uint[n];
        for (int i = 0; i < n; i++)
        {
            int warpStart = i / 32 * 32;
            for (int lane = 0; lane < 32; lane++)
            {
                expected[i] |= predicates[warpStart + lane] != 0 ? 1u << lane : 0u;
            }
        }
        using var p = Upload(predicates);
        using var output = Poisoned<uint>(n * 5);
        for (int launch = 0; launch < 40; launch++)
        {
            WarpKernels.LaunchVote(Acc, new LaunchConfig(new Dim3(blocks), new Dim3(16, 8)), p.ReadOnly, output.View, n);
            var result = Download(output);
            var ballots = Enumerable.Range(0, n).Select(i => result[i * 5]).ToArray();
            AssertExact(ballots, expected, $"ballots of launch {launch}");
        }
    }

    [Test]
    public void Warp_Votes_AllAnyBallotExact()
    {
        var rng = new Random(3300);
        const int blocks = 3;
        const int threads = blocks * 128;
        const int n = threads - 40;
        var predicates = new int[n];
        for (int i = 0; i < n; i++)
        {
            int warp = i / 32;
            bool on = (warp % 4) switch
            {
                0 => true,
                1 => false,
                2 => rng.Next(2) == 0,
                _ => (i % 32) == (warp * 7 % 32),
            };
            predicates[i] = on ? (rng.Next(2) == 0 ? -rng.Next(1, 100) : rng.Next(1, 100)) : 0;
        }
        using var p = Upload(predicates);
        using var output = Poisoned<uint>(n * 5);
        WarpKernels.LaunchVote(Acc, new LaunchConfig(new Dim3(blocks), new Dim3(16, 8)), p.ReadOnly, output.View, n);

        var expected = new uint[n * 5];
        for (int i = 0; i < n; i++)
        {
            int start = i / 32 * 32;
            uint ballot = 0;
            for (int lane = 0; lane < 32; lane++)
            {
                if (start + lane < n && predicates[start + lane] != 0)
                {
                    ballot |= 1u << lane;
                }
            }
            expected[(i * 5) + 0] = ballot;
            expected[(i * 5) + 1] = ballot == uint.MaxValue ? 1u : 0u;
            expected[(i * 5) + 2] = ballot != 0 ? 1u : 0u;
            expected[(i * 5) + 3] = (uint)((i % 128) & 31);
            expected[(i * 5) + 4] = (uint)((i % 128) >> 5);
        }
        AssertExact(Download(output), expected, "[ballot, all, any, lane, warp] per thread");
    }

    [Test]
    public void Warp_Reduction_ButterflyAndTree()
    {
        var rng = new Random(3400);
        const int n = 1000;
        const int block = 128;
        int blocks = Blocks(n, block);
        int warps = blocks * (block / 32);
        var input = RandomFloats(rng, n, -10f, 10f);
        var intInput = RandomInts(rng, n, int.MinValue, int.MaxValue);
        using var f = Upload(input);
        using var x = Upload(intInput);
        using var laneTotals = Poisoned<float>(n);
        using var intSums = Poisoned<int>(warps);
        WarpKernels.LaunchWarpReduce(Acc, new LaunchConfig(new Dim3(blocks), new Dim3(block)), f.ReadOnly, x.ReadOnly, laneTotals.View, intSums.View, n);

        var expected = new double[n];
        var magnitude = new double[n];
        var expectedInts = new int[warps];
        for (int w = 0; w < warps; w++)
        {
            double sum = 0, abs = 0;
            int total = 0;
            for (int i = w * 32; i < Math.Min(n, (w + 1) * 32); i++)
            {
                sum += input[i];
                abs += Math.Abs(input[i]);
                total = unchecked(total + intInput[i]);
            }
            expectedInts[w] = total;
            for (int i = w * 32; i < Math.Min(n, (w + 1) * 32); i++)
            {
                expected[i] = sum;
                magnitude[i] = abs;
            }
        }
        var totals = Download(laneTotals);
        AssertClose(totals, expected, "butterfly warp sums (every lane)", 1e-6, 0, magnitude);
        for (int i = 0; i < n; i++)
        {
            Assert.That(BitConverter.SingleToUInt32Bits(totals[i]), Is.EqualTo(BitConverter.SingleToUInt32Bits(totals[i / 32 * 32])),
                $"lane {i % 32} of warp {i / 32}: a xor butterfly leaves every lane with the same bits");
        }
        AssertExact(Download(intSums), expectedInts, "int tree sums (lane 0, wrapping)");
    }

    [Test]
    public void Warp_KernelWithBlockOf48_IsRejected()
    {
        using var input = Upload(new float[64]);
        using var output = Acc.Allocate<float>(64 * WarpKernels.ShuffleColumns);
        var bad = new LaunchConfig(new Dim3(1), new Dim3(48));
        var error = Assert.Throws<ArgumentException>(() =>
            WarpKernels.LaunchShuffleFloat(Acc, bad, input.ReadOnly, output.View, 48, 0, 1));
        Assert.That(error!.Message, Does.Contain(nameof(WarpKernels.ShuffleFloat)).And.Contain("32"));
    }

    /// <summary>The defined semantics, lane by lane; lanes past n hold <paramref name="sentinel"/>.</summary>
    private static T[] ShuffleReference<T>(T[] input, T sentinel, int srcOffset, int delta)
    {
        int n = input.Length;
        var expected = new T[n * WarpKernels.ShuffleColumns];
        T Value(int j) => j < n ? input[j] : sentinel;
        for (int i = 0; i < n; i++)
        {
            int lane = i & 31;
            int start = i - lane;
            T own = Value(i);
            T Down(int d) => lane + d <= 31 ? Value(start + lane + d) : own;
            T Up(int d) => lane - d >= 0 ? Value(start + lane - d) : own;
            T Xor(int m) => Value(start + ((lane ^ m) & 31));
            int o = i * WarpKernels.ShuffleColumns;
            expected[o + 0] = Value(start + (((lane * 7) + srcOffset) & 31));
            expected[o + 1] = Value(start);
            for (int k = 0; k < 5; k++)
            {
                expected[o + 2 + k] = Down(1 << k);
                expected[o + 8 + k] = Up(1 << k);
                expected[o + 14 + k] = Xor(1 << k);
            }
            expected[o + 7] = Down(delta);
            expected[o + 13] = Up(delta);
            expected[o + 19] = Xor(31);
        }
        return expected;
    }
}
