using GanEngine.Kernels;
using GanEngine.Kernels.Rng;

namespace GanEngine.Ops.Rng;

/// <summary>
/// Raw random-number ops on the device: Philox4x32-10, counter based, reproducible from
/// (seed, offset). Element <c>i</c> of a fill comes from word <c>offset + i</c> of the stream of
/// <c>seed</c>, so the result is independent of the launch shape and of the accelerator (raw words
/// and uniform / Bernoulli floats bit-identical everywhere; normal floats to a few ulp). Formulas:
/// <see cref="PhiloxKernels"/>; host reference: <c>GanEngine.Ops.Reference.RandomReference</c>.
/// </summary>
/// <remarks>PyTorch's <c>uniform_</c>, <c>normal_</c> and <c>bernoulli_</c> semantics (not its
/// bit stream). To draw independent fills, give each a disjoint word range, e.g. with
/// <see cref="PhiloxGenerator.Reserve"/>. Never allocates, never synchronises.</remarks>
public static class Philox
{
    /// <summary>Default threads per block.</summary>
    public const int DefaultBlockSize = 256;

    /// <summary>Default cap on blocks per launch (the kernels are grid-stride loops).</summary>
    public const int DefaultMaxBlocks = 1024;

    /// <summary>The launch shape for <paramref name="n"/> elements from <paramref name="offset"/>.</summary>
    public static LaunchConfig LaunchFor(ulong offset, int n, int blockSize = DefaultBlockSize, int maxBlocks = DefaultMaxBlocks)
    {
        ulong philoxBlocks = ((offset + (ulong)n + 3) / 4) - (offset / 4);
        long blocks = (long)((philoxBlocks + (ulong)blockSize - 1) / (ulong)blockSize);
        return new LaunchConfig(new Dim3((int)Math.Clamp(blocks, 1, Math.Max(1, maxBlocks))), new Dim3(blockSize));
    }

    /// <summary>output[i] = raw uint32 word <c>offset + i</c> of the stream of <paramref name="seed"/>.</summary>
    public static void Bits(IKernelLauncher launcher, ulong seed, ulong offset, ArrayView<uint> output, int n,
        int blockSize = DefaultBlockSize, int maxBlocks = DefaultMaxBlocks)
    {
        Check(launcher, output.Length, n);
        if (n == 0) return;
        PhiloxKernels.LaunchBits(launcher, LaunchFor(offset, n, blockSize, maxBlocks), seed, offset, output, n);
    }

    /// <summary>Uniform on [low, high) (torch's <c>uniform_(from=0, to=1)</c>):
    /// <c>fma(high - low, u, low)</c> with <c>u = (word >> 8) * 2^-24</c>.</summary>
    public static void Uniform(IKernelLauncher launcher, ulong seed, ulong offset, ArrayView<float> output, int n,
        float low = 0f, float high = 1f, int blockSize = DefaultBlockSize, int maxBlocks = DefaultMaxBlocks)
    {
        Check(launcher, output.Length, n);
        if (!(low <= high)) throw new ArgumentException($"uniform expects low <= high (got {low}, {high})", nameof(high));
        if (n == 0) return;
        PhiloxKernels.LaunchFill(launcher, LaunchFor(offset, n, blockSize, maxBlocks), seed, offset, output, n, PhiloxKernels.Uniform, low, high);
    }

    /// <summary>Normal with <paramref name="mean"/> and <paramref name="std"/> (torch's
    /// <c>normal_(mean=0, std=1)</c>), Box-Muller on aligned word pairs.</summary>
    public static void Normal(IKernelLauncher launcher, ulong seed, ulong offset, ArrayView<float> output, int n,
        float mean = 0f, float std = 1f, int blockSize = DefaultBlockSize, int maxBlocks = DefaultMaxBlocks)
    {
        Check(launcher, output.Length, n);
        if (!(std >= 0f)) throw new ArgumentException($"normal expects std >= 0 (got {std})", nameof(std));
        if (n == 0) return;
        PhiloxKernels.LaunchFill(launcher, LaunchFor(offset, n, blockSize, maxBlocks), seed, offset, output, n, PhiloxKernels.Normal, mean, std);
    }

    /// <summary>Bernoulli: 1 with probability <paramref name="p"/>, else 0 (torch's
    /// <c>bernoulli_(p=0.5)</c>): <c>u &lt; p</c>.</summary>
    public static void Bernoulli(IKernelLauncher launcher, ulong seed, ulong offset, ArrayView<float> output, int n,
        float p = 0.5f, int blockSize = DefaultBlockSize, int maxBlocks = DefaultMaxBlocks)
    {
        Check(launcher, output.Length, n);
        if (!(p >= 0f && p <= 1f)) throw new ArgumentException($"bernoulli expects 0 <= p <= 1 (got {p})", nameof(p));
        if (n == 0) return;
        PhiloxKernels.LaunchFill(launcher, LaunchFor(offset, n, blockSize, maxBlocks), seed, offset, output, n, PhiloxKernels.Bernoulli, p, 0f);
    }

    private static void Check(IKernelLauncher launcher, int length, int n)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        if (n < 0) throw new ArgumentException($"n must be >= 0 (got {n})", nameof(n));
        if (length < n) throw new ArgumentException($"output has {length} elements, fewer than n = {n}", nameof(length));
    }
}

/// <summary>
/// Host-side bookkeeping of one Philox stream: a seed and the next unused word. Each draw reserves
/// a disjoint range, rounded up to whole Philox blocks (4 words), so that no two fills share a
/// word (nor a Box-Muller pair). Purely host state: no device memory, no synchronisation.
/// </summary>
public sealed class PhiloxGenerator(ulong seed, ulong offset = 0)
{
    /// <summary>The key of the stream.</summary>
    public ulong Seed { get; } = seed;

    /// <summary>The next unused word (a multiple of 4 after any <see cref="Reserve"/>).</summary>
    public ulong Offset { get; private set; } = offset;

    /// <summary>Returns the offset for a fill of <paramref name="n"/> elements and advances past it.</summary>
    public ulong Reserve(long n)
    {
        if (n < 0) throw new ArgumentException($"n must be >= 0 (got {n})", nameof(n));
        ulong start = (Offset + 3) / 4 * 4;
        Offset = start + (((ulong)n + 3) / 4 * 4);
        return start;
    }
}
