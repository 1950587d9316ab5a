namespace GanEngine.Kernels.Rng;

/// <summary>
/// Counter-based random numbers on the device: Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
/// "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
/// </summary>
/// <remarks>
/// <para><b>The stream.</b> A (seed, offset) pair names a position in one infinite stream of
/// uint32 words: word <c>p</c> is lane <c>p % 4</c> of Philox4x32-10 applied to the counter
/// <c>(lo32(p / 4), hi32(p / 4), 0, 0)</c> with the key <c>(lo32(seed), hi32(seed))</c>. A launch
/// that fills <c>n</c> elements from <c>offset</c> writes element <c>i</c> from word
/// <c>offset + i</c>: the result does not depend on the grid, the block size or the accelerator,
/// and the raw words are bit-identical everywhere (integer arithmetic only: 32x32->64 products).</para>
/// <para><b>Floats</b> (all in float32):</para>
/// <list type="bullet">
/// <item>uniform: <c>u = (x >> 8) * 2^-24</c> in [0, 1) (exact), then <c>fma(b - a, u, a)</c>
/// for [a, b): bit-identical on every backend (fma is correctly rounded everywhere).</item>
/// <item>Bernoulli(p): <c>u &lt; p ? 1 : 0</c> (bit-identical).</item>
/// <item>normal (Box-Muller on the pair of words <c>(2k, 2k+1)</c> of a Philox block):
/// <c>u1 = ((x_2k >> 8) + 1) * 2^-24</c> in (0, 1], <c>u2 = (x_2k+1 >> 8) * 2^-24</c>,
/// <c>r = sqrt(-2 ln u1)</c>, element <c>2k</c> is <c>mean + std * r cos(2 pi u2)</c> and
/// element <c>2k+1</c> is <c>mean + std * r sin(2 pi u2)</c> (pairs are aligned to the absolute
/// word position, so any offset gives the same values). Equal across backends to the accuracy
/// of their log / sin / cos (a few ulp), not bit for bit.</item>
/// </list>
/// <para>Every thread of the grid-stride loop computes whole Philox blocks (four words) and
/// writes those of its words that fall in [offset, offset + n).</para>
/// </remarks>
public static partial class PhiloxKernels
{
    /// <summary>Philox multiplier for lane 0 (Salmon et al., Table 2 / Random123's PHILOX_M4x32_0).</summary>
    public const uint M0 = 0xD2511F53u;

    /// <summary>Philox multiplier for lane 2 (PHILOX_M4x32_1).</summary>
    public const uint M1 = 0xCD9E8D57u;

    /// <summary>Key increment ("Weyl") for key word 0: the golden ratio (PHILOX_W32_0).</summary>
    public const uint W0 = 0x9E3779B9u;

    /// <summary>Key increment for key word 1: sqrt(3) - 1 (PHILOX_W32_1).</summary>
    public const uint W1 = 0xBB67AE85u;

    /// <summary>Distribution code of <see cref="Fill"/>: uniform on [a, b).</summary>
    public const int Uniform = 0;

    /// <summary>Distribution code of <see cref="Fill"/>: normal with mean a and standard deviation b.</summary>
    public const int Normal = 1;

    /// <summary>Distribution code of <see cref="Fill"/>: Bernoulli with probability a of 1 (else 0).</summary>
    public const int Bernoulli = 2;

    /// <summary>output[i] = word offset + i of the Philox stream of <paramref name="seed"/>, i &lt; n.</summary>
    [Kernel]
    public static void Bits(ulong seed, ulong offset, ArrayView<uint> output, int n)
    {
        ulong firstBlock = offset / 4ul;
        ulong end = offset + (ulong)n;
        long blocks = (long)(((end + 3ul) / 4ul) - firstBlock);
        long stride = (long)GridDim.X * BlockDim.X;
        for (long t = ((long)BlockIdx.X * BlockDim.X) + ThreadIdx.X; t < blocks; t += stride)
        {
            ulong block = firstBlock + (ulong)t;
            uint x0 = (uint)block;
            uint x1 = (uint)(block >> 32);
            uint x2 = 0u;
            uint x3 = 0u;
            uint k0 = (uint)seed;
            uint k1 = (uint)(seed >> 32);
            for (int r = 0; r < 10; r++)
            {
                ulong p0 = (ulong)M0 * x0;
                ulong p1 = (ulong)M1 * x2;
                uint y0 = ((uint)(p1 >> 32)) ^ x1 ^ k0;
                uint y2 = ((uint)(p0 >> 32)) ^ x3 ^ k1;
                x0 = y0;
                x1 = (uint)p1;
                x2 = y2;
                x3 = (uint)p0;
                k0 += W0;
                k1 += W1;
            }
            ulong word = block * 4ul;
            for (int lane = 0; lane < 4; lane++)
            {
                ulong p = word + (ulong)lane;
                if (p >= offset && p < end)
                {
                    uint x = lane == 0 ? x0 : lane == 1 ? x1 : lane == 2 ? x2 : x3;
                    output[(int)(p - offset)] = x;
                }
            }
        }
    }

    /// <summary>
    /// output[i] = a float of <paramref name="distribution"/> (<see cref="Uniform"/> on [a, b),
    /// <see cref="Normal"/> (mean a, std b), <see cref="Bernoulli"/> (p = a)) from word offset + i
    /// of the Philox stream of <paramref name="seed"/>, i &lt; n (formulas in the class remarks).
    /// </summary>
    [Kernel]
    public static void Fill(ulong seed, ulong offset, ArrayView<float> output, int n, int distribution, float a, float b)
    {
        ulong firstBlock = offset / 4ul;
        ulong end = offset + (ulong)n;
        long blocks = (long)(((end + 3ul) / 4ul) - firstBlock);
        long stride = (long)GridDim.X * BlockDim.X;
        for (long t = ((long)BlockIdx.X * BlockDim.X) + ThreadIdx.X; t < blocks; t += stride)
        {
            ulong block = firstBlock + (ulong)t;
            uint x0 = (uint)block;
            uint x1 = (uint)(block >> 32);
            uint x2 = 0u;
            uint x3 = 0u;
            uint k0 = (uint)seed;
            uint k1 = (uint)(seed >> 32);
            for (int r = 0; r < 10; r++)
            {
                ulong p0 = (ulong)M0 * x0;
                ulong p1 = (ulong)M1 * x2;
                uint y0 = ((uint)(p1 >> 32)) ^ x1 ^ k0;
                uint y2 = ((uint)(p0 >> 32)) ^ x3 ^ k1;
                x0 = y0;
                x1 = (uint)p1;
                x2 = y2;
                x3 = (uint)p0;
                k0 += W0;
                k1 += W1;
            }
            ulong word = block * 4ul;
            for (int lane = 0; lane < 4; lane++)
            {
                ulong p = word + (ulong)lane;
                if (p >= offset && p < end)
                {
                    float value;
                    if (distribution == Normal)
                    {
                        uint first = lane < 2 ? x0 : x2;
                        uint second = lane < 2 ? x1 : x3;
                        float u1 = ((float)((first >> 8) + 1u)) * 5.9604644775390625E-8f;
                        float u2 = ((float)(second >> 8)) * 5.9604644775390625E-8f;
                        float radius = KMath.Sqrt(-2f * KMath.Log(u1));
                        float theta = 6.2831854820251465f * u2;
                        float z = (lane & 1) == 0 ? radius * KMath.Cos(theta) : radius * KMath.Sin(theta);
                        value = KMath.Fma(b, z, a);
                    }
                    else
                    {
                        uint x = lane == 0 ? x0 : lane == 1 ? x1 : lane == 2 ? x2 : x3;
                        float u = ((float)(x >> 8)) * 5.9604644775390625E-8f;
                        if (distribution == Bernoulli)
                        {
                            value = u < a ? 1f : 0f;
                        }
                        else
                        {
                            value = KMath.Fma(b - a, u, a);
                        }
                    }
                    output[(int)(p - offset)] = value;
                }
            }
        }
    }
}
