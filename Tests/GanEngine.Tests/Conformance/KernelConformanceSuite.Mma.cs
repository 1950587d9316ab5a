using NUnit.Framework;
using GanEngine.Kernels;
using GanEngine.Kernels.Cpu;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    // Two warps per block, two blocks: four tiles, so that warp and block indexing are both exercised.
    private const int MmaTiles = 4;
    private static readonly LaunchConfig MmaLaunch = new(new Dim3(2), new Dim3(64));

    [Test]
    public void Mma_Tf32_FragmentLayout_IndexEncodedIsExact()
    {
        // A[r][k] = 1 + r + 16k (at most 128: exact in tf32), B[k][n] = 1 + k + 16n, C encodes tile, row and column.
        var (a, b, c) = EncodedTiles(k: 8, aPerTile: 128f);
        var d = RunMma(a, b, c, k: 8, bf16: false);
        AssertBits(d, ToFloats(MmaReference(a, b, c, 8, x => x)), "tf32 D = A B + C, index-encoded", anyNaN: false);
    }

    [Test]
    public void Mma_Tf32_FragmentLayout_PermutationSelectsEachElement()
    {
        // B is a column selector: D[r][n] = A[r][perm(n)] + C[r][n], so each output names one A element.
        var (a, _, c) = EncodedTiles(k: 8, aPerTile: 128f);
        var b = SelectorTiles(k: 8);
        var d = RunMma(a, b, c, k: 8, bf16: false);
        AssertBits(d, ToFloats(MmaReference(a, b, c, 8, x => x)), "tf32 D = A P + C", anyNaN: false);
    }

    [Test]
    public void Mma_Tf32_RandomInputs_MatchTruncatedFloat64Reference()
    {
        var rng = new Random(4000);
        var a = RandomFloats(rng, MmaTiles * 16 * 8);
        var b = RandomFloats(rng, MmaTiles * 8 * 8);
        var c = RandomFloats(rng, MmaTiles * 16 * 8);
        var d = RunMma(a, b, c, k: 8, bf16: false);
        var expected = MmaReference(a, b, c, 8, MmaEmulation.TruncateToTf32);
        var scale = MmaMagnitude(a, b, c, 8, MmaEmulation.TruncateToTf32);
        AssertClose(d, expected, "tf32 D on random inputs", 1e-5, 0, scale);
    }

    [Test]
    public void Mma_Bf16_FragmentLayout_IndexEncodedIsExact()
    {
        // A[r][k] = 1 + r + 16k (at most 256: exact in bf16), B[k][n] = 1 + k + 16n (at most 128).
        var (a, b, c) = EncodedTiles(k: 16, aPerTile: 0f);
        var d = RunMma(a, b, c, k: 16, bf16: true);
        AssertBits(d, ToFloats(MmaReference(a, b, c, 16, x => x)), "bf16 D = A B + C, index-encoded", anyNaN: false);
    }

    [Test]
    public void Mma_Bf16_FragmentLayout_PermutationSelectsEachElement()
    {
        var (a, _, c) = EncodedTiles(k: 16, aPerTile: 0f);
        var b = SelectorTiles(k: 16);
        var d = RunMma(a, b, c, k: 16, bf16: true);
        AssertBits(d, ToFloats(MmaReference(a, b, c, 16, x => x)), "bf16 D = A P + C", anyNaN: false);
    }

    [Test]
    public void Mma_Bf16_RandomInputs_MatchRoundedFloat64Reference()
    {
        var rng = new Random(4100);
        var a = RandomFloats(rng, MmaTiles * 16 * 16);
        var b = RandomFloats(rng, MmaTiles * 16 * 8);
        var c = RandomFloats(rng, MmaTiles * 16 * 8);
        var d = RunMma(a, b, c, k: 16, bf16: true);
        var expected = MmaReference(a, b, c, 16, RoundBf16);
        var scale = MmaMagnitude(a, b, c, 16, RoundBf16);
        AssertClose(d, expected, "bf16 D on random inputs", 1e-5, 0, scale);
    }

    [Test]
    public void Mma_ToTf32AndPackBf16_RoundBitwiseLikeTheEmulation()
    {
        var rng = new Random(4200);
        var special = new List<float>
        {
            0f, -0f, 1f, -1f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, -float.MaxValue,
            float.Epsilon, -float.Epsilon, 1e-40f, -3e-39f, float.MinValue, 65504f, 3.3895314e38f,
        };
        // Exact halves and near-halves for tf32 (13 dropped bits) and bf16 (16 dropped bits), even and odd kept LSB.
        foreach (uint kept in new uint[] { 0x3F800000u, 0x3F802000u, 0xC0A04000u, 0x42F6E000u, 0x3F810000u, 0xBF830000u })
        {
            foreach (uint low in new uint[] { 0x1000u, 0x0FFFu, 0x1001u, 0x8000u, 0x7FFFu, 0x8001u, 0x9000u })
            {
                special.Add(BitConverter.UInt32BitsToSingle(kept | low));
            }
        }
        special.AddRange(RandomFloats(rng, 200, -1e4f, 1e4f));
        for (int i = 0; i < 100; i++)
        {
            special.Add(BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)));
        }
        var x = special.ToArray();
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = x[(i * 7 + 3) % x.Length];
        }
        int n = x.Length;
        using var xb = Upload(x);
        using var yb = Upload(y);
        using var tf32 = Poisoned<float>(n);
        using var bf16 = Poisoned<uint>(n);
        MmaKernels.LaunchConversions(Acc, LaunchConfig.ForElements(n, 64), xb.ReadOnly, yb.ReadOnly, tf32.View, bf16.View, n);

        var expectedTf32 = x.Select(MmaEmulation.RoundToTf32).ToArray();
        AssertBits(Download(tf32), expectedTf32, "Mma.ToTf32 (cvt.rna.tf32.f32)");
        var packed = Download(bf16);
        var errors = new List<string>();
        for (int i = 0; i < n && errors.Count < 10; i++)
        {
            uint expected = MmaEmulation.RoundToBf16(x[i]) | ((uint)MmaEmulation.RoundToBf16(y[i]) << 16);
            bool ok = Bf16HalfMatches((ushort)packed[i], (ushort)expected, x[i]) && Bf16HalfMatches((ushort)(packed[i] >> 16), (ushort)(expected >> 16), y[i]);
            if (!ok)
            {
                errors.Add($"[{i}] PackBf16({x[i]:R}, {y[i]:R}) = 0x{packed[i]:X8}, expected 0x{expected:X8}");
            }
        }
        Assert.That(errors, Is.Empty, "Mma.PackBf16 (round to nearest even; NaN stays NaN)");
    }

    private static bool Bf16HalfMatches(ushort actual, ushort expected, float input) =>
        float.IsNaN(input) ? (actual & 0x7F80) == 0x7F80 && (actual & 0x7F) != 0 : actual == expected;

    private static float RoundBf16(float x) => BitConverter.UInt32BitsToSingle((uint)MmaEmulation.RoundToBf16(x) << 16);

    private float[] RunMma(float[] a, float[] b, float[] c, int k, bool bf16)
    {
        using var ab = Upload(a);
        using var bb = Upload(b);
        using var cb = Upload(c);
        using var d = Poisoned<float>(c.Length);
        if (bf16)
        {
            MmaKernels.LaunchBf16Tile(Acc, MmaLaunch, ab.ReadOnly, bb.ReadOnly, cb.ReadOnly, d.View);
        }
        else
        {
            MmaKernels.LaunchTf32Tile(Acc, MmaLaunch, ab.ReadOnly, bb.ReadOnly, cb.ReadOnly, d.View);
        }
        Assert.That(k, Is.EqualTo(bf16 ? 16 : 8));
        return Download(d);
    }

    /// <summary>Tiles: A (16 x k) = 1 + r + 16 kk + aPerTile * tile, B (k x 8) = 1 + kk + 16 n,
    /// C (16 x 8) = tile * 4096 + r * 8 + n + 0.5.</summary>
    private static (float[] A, float[] B, float[] C) EncodedTiles(int k, float aPerTile)
    {
        var a = new float[MmaTiles * 16 * k];
        var b = new float[MmaTiles * k * 8];
        var c = new float[MmaTiles * 16 * 8];
        for (int tile = 0; tile < MmaTiles; tile++)
        {
            for (int r = 0; r < 16; r++)
            {
                for (int kk = 0; kk < k; kk++)
                {
                    a[(tile * 16 * k) + (r * k) + kk] = 1 + r + (16 * kk) + (aPerTile * tile);
                }
                for (int n = 0; n < 8; n++)
                {
                    c[(tile * 128) + (r * 8) + n] = (tile * 4096) + (r * 8) + n + 0.5f;
                }
            }
            for (int kk = 0; kk < k; kk++)
            {
                for (int n = 0; n < 8; n++)
                {
                    b[(tile * k * 8) + (kk * 8) + n] = 1 + kk + (16 * n);
                }
            }
        }
        return (a, b, c);
    }

    /// <summary>B (k x 8) with a single 1 per column, in row (5 n + 3 + tile) mod k.</summary>
    private static float[] SelectorTiles(int k)
    {
        var b = new float[MmaTiles * k * 8];
        for (int tile = 0; tile < MmaTiles; tile++)
        {
            for (int n = 0; n < 8; n++)
            {
                b[(tile * k * 8) + ((((5 * n) + 3 + tile) % k) * 8) + n] = 1f;
            }
        }
        return b;
    }

    private static double[] MmaReference(float[] a, float[] b, float[] c, int k, Func<float, float> reduce) =>
        MmaSum(a, b, c, k, reduce, abs: false);

    private static double[] MmaMagnitude(float[] a, float[] b, float[] c, int k, Func<float, float> reduce) =>
        MmaSum(a, b, c, k, reduce, abs: true);

    private static double[] MmaSum(float[] a, float[] b, float[] c, int k, Func<float, float> reduce, bool abs)
    {
        var d = new double[c.Length];
        for (int tile = 0; tile < MmaTiles; tile++)
        {
            for (int r = 0; r < 16; r++)
            {
                for (int n = 0; n < 8; n++)
                {
                    double sum = abs ? Math.Abs(c[(tile * 128) + (r * 8) + n]) : c[(tile * 128) + (r * 8) + n];
                    for (int kk = 0; kk < k; kk++)
                    {
                        double term = (double)reduce(a[(tile * 16 * k) + (r * k) + kk]) * reduce(b[(tile * k * 8) + (kk * 8) + n]);
                        sum += abs ? Math.Abs(term) : term;
                    }
                    d[(tile * 128) + (r * 8) + n] = sum;
                }
            }
        }
        return d;
    }

    private static float[] ToFloats(double[] values)
    {
        var result = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            Assert.That((double)(float)values[i], Is.EqualTo(values[i]), "reference must be exact in fp32");
            result[i] = (float)values[i];
        }
        return result;
    }
}
