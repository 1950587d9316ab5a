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
}
