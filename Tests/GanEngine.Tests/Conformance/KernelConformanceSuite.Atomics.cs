using NUnit.Framework;
using GanEngine.Kernels;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    private const int AtomicN = 4000;
    private const int AtomicBins = 17;
    private const int AtomicBlock = 128;

    private static LaunchConfig AtomicLaunch => LaunchConfig.ForElements(AtomicN, AtomicBlock);

    [Test]
    public void Atomic_AddInt_IsExact()
    {
        var rng = new Random(2000);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = RandomInts(rng, AtomicN, -1_000_000, 1_000_000);
        var initial = RandomInts(rng, AtomicBins, -1000, 1000);
        using var k = Upload(keys);
        using var v = Upload(values);
        using var sums = Upload(initial);
        AtomicKernels.LaunchAddInt(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, sums.View, AtomicN);

        var expected = (int[])initial.Clone();
        for (int i = 0; i < AtomicN; i++)
        {
            expected[keys[i]] += values[i];
        }
        AssertExact(Download(sums), expected, "int sums");
    }

    [Test]
    public void Atomic_AddUInt_WrapsExactly()
    {
        var rng = new Random(2001);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = RandomUInts(rng, AtomicN);
        var initial = RandomUInts(rng, AtomicBins);
        using var k = Upload(keys);
        using var v = Upload(values);
        using var sums = Upload(initial);
        AtomicKernels.LaunchAddUInt(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, sums.View, AtomicN);

        var expected = (uint[])initial.Clone();
        for (int i = 0; i < AtomicN; i++)
        {
            expected[keys[i]] = unchecked(expected[keys[i]] + values[i]);
        }
        AssertExact(Download(sums), expected, "uint sums (mod 2^32)");
    }

    [Test]
    public void Atomic_AddFloat_HistogramSumWithinTolerance()
    {
        var rng = new Random(2002);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = RandomFloats(rng, AtomicN, 0.5f, 1.5f);
        var initial = RandomFloats(rng, AtomicBins, 1f, 2f);
        using var k = Upload(keys);
        using var v = Upload(values);
        using var sums = Upload(initial);
        AtomicKernels.LaunchAddFloat(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, sums.View, AtomicN);

        var expected = new double[AtomicBins];
        for (int b = 0; b < AtomicBins; b++)
        {
            expected[b] = initial[b];
        }
        for (int i = 0; i < AtomicN; i++)
        {
            expected[keys[i]] += values[i];
        }
        // ~235 additions per bin in any order: error below n * eps relative for positive terms.
        AssertClose(Download(sums), expected, "float sums", 2e-5);
    }

    [Test]
    public void Atomic_AddReturnsOldValue_TicketsArePermutation()
    {
        using var counter = Upload(new[] { 0 });
        using var tickets = Poisoned<int>(AtomicN);
        AtomicKernels.LaunchTakeTicket(Acc, AtomicLaunch, counter.View, tickets.View, AtomicN);

        var sorted = Download(tickets);
        Array.Sort(sorted);
        AssertExact(sorted, Enumerable.Range(0, AtomicN).ToArray(), "sorted tickets");
        AssertExact(Download(counter), [AtomicN], "final counter");
    }

    [Test]
    public void Atomic_MaxMinInt_IsExact()
    {
        var rng = new Random(2003);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = RandomInts(rng, AtomicN, int.MinValue, int.MaxValue);
        using var k = Upload(keys);
        using var v = Upload(values);
        using var maxima = Upload(Filled(AtomicBins, int.MinValue));
        using var minima = Upload(Filled(AtomicBins, int.MaxValue));
        AtomicKernels.LaunchMaxMinInt(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, maxima.View, minima.View, AtomicN);

        var expectedMax = Filled(AtomicBins, int.MinValue);
        var expectedMin = Filled(AtomicBins, int.MaxValue);
        for (int i = 0; i < AtomicN; i++)
        {
            expectedMax[keys[i]] = Math.Max(expectedMax[keys[i]], values[i]);
            expectedMin[keys[i]] = Math.Min(expectedMin[keys[i]], values[i]);
        }
        AssertExact(Download(maxima), expectedMax, "int maxima (signed compare)");
        AssertExact(Download(minima), expectedMin, "int minima (signed compare)");
    }

    [Test]
    public void Atomic_MaxMinUInt_IsExact()
    {
        var rng = new Random(2004);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = RandomUInts(rng, AtomicN);
        using var k = Upload(keys);
        using var v = Upload(values);
        using var maxima = Upload(Filled(AtomicBins, 1u));
        using var minima = Upload(Filled(AtomicBins, uint.MaxValue));
        AtomicKernels.LaunchMaxMinUInt(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, maxima.View, minima.View, AtomicN);

        var expectedMax = Filled(AtomicBins, 1u);
        var expectedMin = Filled(AtomicBins, uint.MaxValue);
        for (int i = 0; i < AtomicN; i++)
        {
            expectedMax[keys[i]] = Math.Max(expectedMax[keys[i]], values[i]);
            expectedMin[keys[i]] = Math.Min(expectedMin[keys[i]], values[i]);
        }
        AssertExact(Download(maxima), expectedMax, "uint maxima (unsigned compare)");
        AssertExact(Download(minima), expectedMin, "uint minima (unsigned compare)");
    }

    [Test]
    public void Atomic_MaxMinFloat_IsExactWithNegativesAndNaNIgnored()
    {
        var rng = new Random(2005);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = RandomFloats(rng, AtomicN, -1000f, 1000f);
        // A few NaN operands, which fmaxf/fminf semantics ignore.
        for (int i = 0; i < AtomicN; i += 97)
        {
            values[i] = float.NaN;
        }
        // The last bin starts at NaN: the first non-NaN operand replaces it.
        var initialMax = RandomFloats(rng, AtomicBins, -2000f, -1500f);
        var initialMin = RandomFloats(rng, AtomicBins, 1500f, 2000f);
        initialMax[AtomicBins - 1] = float.NaN;
        initialMin[AtomicBins - 1] = float.NaN;
        using var k = Upload(keys);
        using var v = Upload(values);
        using var maxima = Upload(initialMax);
        using var minima = Upload(initialMin);
        AtomicKernels.LaunchMaxMinFloat(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, maxima.View, minima.View, AtomicN);

        var expectedMax = (float[])initialMax.Clone();
        var expectedMin = (float[])initialMin.Clone();
        for (int i = 0; i < AtomicN; i++)
        {
            expectedMax[keys[i]] = FMax(expectedMax[keys[i]], values[i]);
            expectedMin[keys[i]] = FMin(expectedMin[keys[i]], values[i]);
        }
        Assert.That(expectedMax, Has.None.NaN, "reference sanity");
        AssertBits(Download(maxima), expectedMax, "float maxima", anyNaN: false);
        AssertBits(Download(minima), expectedMin, "float minima", anyNaN: false);
    }

    [Test]
    public void Atomic_ExchangeInt_EveryValueSeenOnce()
    {
        var rng = new Random(2006);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var initial = RandomInts(rng, AtomicBins, -1000, -1);
        using var k = Upload(keys);
        using var cells = Upload(initial);
        using var previous = Poisoned<int>(AtomicN);
        AtomicKernels.LaunchExchangeInt(Acc, AtomicLaunch, k.ReadOnly, cells.View, previous.View, AtomicN);

        var tags = new int[AtomicN];
        for (int i = 0; i < AtomicN; i++)
        {
            tags[i] = i + 1000;
        }
        CheckExchangeChains(keys, initial, tags, Download(cells), Download(previous));
    }

    [Test]
    public void Atomic_ExchangeUInt_EveryValueSeenOnce()
    {
        var rng = new Random(2007);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var initial = new uint[AtomicBins];
        for (int b = 0; b < AtomicBins; b++)
        {
            initial[b] = (uint)rng.Next(1, 1_000_000);
        }
        using var k = Upload(keys);
        using var cells = Upload(initial);
        using var previous = Poisoned<uint>(AtomicN);
        AtomicKernels.LaunchExchangeUInt(Acc, AtomicLaunch, k.ReadOnly, cells.View, previous.View, AtomicN);

        var tags = new uint[AtomicN];
        for (int i = 0; i < AtomicN; i++)
        {
            tags[i] = (uint)i + 3_000_000_000u;
        }
        CheckExchangeChains(keys, initial, tags, Download(cells), Download(previous));
    }

    [Test]
    public void Atomic_ExchangeFloat_EveryValueSeenOnce()
    {
        var rng = new Random(2008);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var initial = RandomFloats(rng, AtomicBins, -10f, -1f);
        using var k = Upload(keys);
        using var cells = Upload(initial);
        using var previous = Poisoned<float>(AtomicN);
        AtomicKernels.LaunchExchangeFloat(Acc, AtomicLaunch, k.ReadOnly, cells.View, previous.View, AtomicN);

        var tags = new float[AtomicN];
        for (int i = 0; i < AtomicN; i++)
        {
            tags[i] = i + 0.5f;
        }
        CheckExchangeChains(keys, initial, tags, Download(cells), Download(previous));
    }

    [Test]
    public void Atomic_CompareExchange_FirstWriterWinsOncePerKey()
    {
        var rng = new Random(2009);
        var keys = RandomKeys(rng, AtomicN, AtomicBins + 3);
        using var k = Upload(keys);
        using var owners = Upload(Filled(AtomicBins + 3, -1));
        using var won = Poisoned<int>(AtomicN);
        AtomicKernels.LaunchClaimInt(Acc, AtomicLaunch, k.ReadOnly, owners.View, won.View, AtomicN);

        var finalOwners = Download(owners);
        var wins = Download(won);
        var expectedWins = new int[AtomicN];
        for (int b = 0; b < AtomicBins + 3; b++)
        {
            bool used = Array.IndexOf(keys, b) >= 0;
            if (!used)
            {
                Assert.That(finalOwners[b], Is.EqualTo(-1), $"unclaimed key {b}");
                continue;
            }
            int owner = finalOwners[b];
            Assert.That(owner, Is.InRange(0, AtomicN - 1), $"owner of key {b}");
            Assert.That(keys[owner], Is.EqualTo(b), $"owner of key {b} must be a thread with that key");
            expectedWins[owner] = 1;
        }
        AssertExact(wins, expectedWins, "won (exactly the owner of each key)");
    }

    [Test]
    public void Atomic_CompareExchangeLoop_UIntAddIsExact()
    {
        var rng = new Random(2010);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = RandomUInts(rng, AtomicN);
        var initial = RandomUInts(rng, AtomicBins);
        using var k = Upload(keys);
        using var v = Upload(values);
        using var counters = Upload(initial);
        AtomicKernels.LaunchCasAddUInt(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, counters.View, AtomicN);

        var expected = (uint[])initial.Clone();
        for (int i = 0; i < AtomicN; i++)
        {
            expected[keys[i]] = unchecked(expected[keys[i]] + values[i]);
        }
        AssertExact(Download(counters), expected, "CAS-loop uint sums");
    }

    [Test]
    public void Atomic_CompareExchangeLoop_FloatAddOfIntegersIsExact()
    {
        var rng = new Random(2011);
        var keys = RandomKeys(rng, AtomicN, AtomicBins);
        var values = new float[AtomicN];
        for (int i = 0; i < AtomicN; i++)
        {
            values[i] = rng.Next(1, 200) * (rng.Next(2) == 0 ? -1f : 1f);
        }
        var initial = RandomInts(rng, AtomicBins, 1, 100).Select(x => (float)x).ToArray();
        using var k = Upload(keys);
        using var v = Upload(values);
        using var sums = Upload(initial);
        AtomicKernels.LaunchCasAddFloat(Acc, AtomicLaunch, k.ReadOnly, v.ReadOnly, sums.View, AtomicN);

        var expected = (float[])initial.Clone();
        for (int i = 0; i < AtomicN; i++)
        {
            expected[keys[i]] += values[i]; // integers below 2^24: exact in any order
        }
        AssertBits(Download(sums), expected, "CAS-loop float sums", anyNaN: false);
    }

    /// <summary>
    /// Per key, the exchanges form a chain: initial -> tag_a -> tag_b -> ... -> final. So the
    /// multiset {values returned to the key's threads} + {final} equals {initial} + {the key's tags}.
    /// </summary>
    private static void CheckExchangeChains<T>(int[] keys, T[] initial, T[] tags, T[] final, T[] previous)
        where T : IEquatable<T>, IComparable<T>
    {
        for (int b = 0; b < initial.Length; b++)
        {
            var seen = new List<T> { final[b] };
            var expected = new List<T> { initial[b] };
            for (int i = 0; i < keys.Length; i++)
            {
                if (keys[i] == b)
                {
                    seen.Add(previous[i]);
                    expected.Add(tags[i]);
                }
            }
            seen.Sort();
            expected.Sort();
            Assert.That(seen, Is.EqualTo(expected), $"exchange chain of key {b}");
        }
    }

    private static float FMax(float a, float b) =>
        float.IsNaN(a) ? b : float.IsNaN(b) ? a : Math.Max(a, b);

    private static float FMin(float a, float b) =>
        float.IsNaN(a) ? b : float.IsNaN(b) ? a : Math.Min(a, b);
}
