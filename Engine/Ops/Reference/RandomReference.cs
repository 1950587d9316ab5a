namespace GanEngine.Ops.Reference;

/// <summary>
/// Host reference of the device Philox4x32-10 stream (<c>GanEngine.Kernels.Rng.PhiloxKernels</c>):
/// the same words, bit for bit, and the floats by the same formulas (uniform and Bernoulli exactly
/// as float32; normal in float64 from the same words, for comparison with a tolerance).
/// </summary>
public static class RandomReference
{
    private const uint M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;

    /// <summary>Philox4x32-10 of counter (c0..c3) under key (k0, k1): ten rounds of
    /// <c>(c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))</c>,
    /// the key bumped by the Weyl constants after each round (Salmon et al. 2011).</summary>
    public static (uint X0, uint X1, uint X2, uint X3) Philox4x32x10(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint y0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint y2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c0 = y0;
            c1 = (uint)p1;
            c2 = y2;
            c3 = (uint)p0;
            k0 += W0;
            k1 += W1;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Word <paramref name="position"/> of the stream of <paramref name="seed"/>.</summary>
    public static uint Word(ulong seed, ulong position)
    {
        ulong block = position / 4;
        var x = Philox4x32x10((uint)block, (uint)(block >> 32), 0, 0, (uint)seed, (uint)(seed >> 32));
        return (position % 4) switch { 0 => x.X0, 1 => x.X1, 2 => x.X2, _ => x.X3 };
    }

    /// <summary>Words offset .. offset + n - 1.</summary>
    public static uint[] Bits(ulong seed, ulong offset, int n)
    {
        var result = new uint[n];
        for (int i = 0; i < n; i++) result[i] = Word(seed, offset + (ulong)i);
        return result;
    }

    /// <summary>The float32 uniform of a word: (x >> 8) * 2^-24 in [0, 1).</summary>
    public static float UnitFloat(uint x) => (x >> 8) * (1f / 16777216f);

    /// <summary>Uniform on [low, high) exactly as the device computes it: fma(high - low, u, low) in float32.</summary>
    public static float[] Uniform(ulong seed, ulong offset, int n, float low = 0f, float high = 1f)
    {
        var result = new float[n];
        for (int i = 0; i < n; i++) result[i] = MathF.FusedMultiplyAdd(high - low, UnitFloat(Word(seed, offset + (ulong)i)), low);
        return result;
    }

    /// <summary>Bernoulli(p) exactly as the device computes it: u &lt; p ? 1 : 0.</summary>
    public static float[] Bernoulli(ulong seed, ulong offset, int n, float p)
    {
        var result = new float[n];
        for (int i = 0; i < n; i++) result[i] = UnitFloat(Word(seed, offset + (ulong)i)) < p ? 1f : 0f;
        return result;
    }

    /// <summary>Normal(mean, std) in float64 from the same words: Box-Muller on the aligned pair
    /// (2k, 2k + 1) of each Philox block, u1 = ((x_2k >> 8) + 1) 2^-24, u2 = (x_2k+1 >> 8) 2^-24
    /// (both as the device's float32 values), cos for the even word, sin for the odd one.</summary>
    public static double[] Normal(ulong seed, ulong offset, int n, double mean = 0, double std = 1)
    {
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            ulong p = offset + (ulong)i;
            ulong pairStart = p & ~1ul;
            uint first = Word(seed, pairStart);
            uint second = Word(seed, pairStart + 1);
            double u1 = ((first >> 8) + 1u) * (1.0 / 16777216.0);
            double u2 = (second >> 8) * (1.0 / 16777216.0);
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            double theta = (double)6.2831854820251465f * u2;
            double z = (p & 1) == 0 ? radius * Math.Cos(theta) : radius * Math.Sin(theta);
            result[i] = mean + (std * z);
        }
        return result;
    }
}
