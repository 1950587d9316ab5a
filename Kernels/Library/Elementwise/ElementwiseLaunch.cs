namespace GanEngine.Kernels.Elementwise;

/// <summary>Host-side launch shapes for <see cref="ElementwiseKernels"/> (kept out of the kernel
/// class so the generator only sees kernel code there).</summary>
public static class ElementwiseLaunch
{
    /// <summary>A launch shape for <paramref name="n"/> elements: blocks of <paramref name="blockSize"/>,
    /// at most <paramref name="maxBlocks"/> (e.g. multiprocessors x 8), at least one.</summary>
    public static LaunchConfig GridFor(long n, int maxBlocks, int blockSize = 256, int unroll = ElementwiseKernels.Unroll)
    {
        long wanted = (n + ((long)blockSize * unroll) - 1) / ((long)blockSize * unroll);
        int blocks = (int)Math.Clamp(wanted, 1, Math.Max(1, maxBlocks));
        return new LaunchConfig(new Dim3(blocks), new Dim3(blockSize));
    }

    /// <summary>
    /// The launch of a multi-tensor kernel whose slot k needs <paramref name="blocks"/>[k] blocks of
    /// <paramref name="blockSize"/> (at most <see cref="SlotStarts.Count"/> slots; missing ones own no block):
    /// one grid of the summed blocks, and where each slot's range starts.
    /// </summary>
    public static LaunchConfig Slots(ReadOnlySpan<int> blocks, int blockSize, out SlotStarts starts)
    {
        if (blocks.Length is 0 or > SlotStarts.Count)
        {
            throw new ArgumentException($"A multi-tensor launch takes 1 to {SlotStarts.Count} slots, not {blocks.Length}.", nameof(blocks));
        }
        Span<int> start = stackalloc int[SlotStarts.Count + 1];
        long total = 0;
        for (int k = 0; k < SlotStarts.Count; k++)
        {
            start[k] = (int)total;
            if (k < blocks.Length)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(blocks[k]);
                total += blocks[k];
            }
        }
        if (total is 0 or > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(blocks), $"A multi-tensor launch needs 1 to 2^31-1 blocks, not {total}.");
        }
        starts = new SlotStarts { S1 = start[1], S2 = start[2], S3 = start[3], S4 = start[4], S5 = start[5], S6 = start[6], S7 = start[7] };
        return new LaunchConfig(new Dim3((int)total), new Dim3(blockSize));
    }
}
