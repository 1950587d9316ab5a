using GanEngine.Kernels;
using GanEngine.Kernels.TensorOps;
using GanEngine.Ops.Elementwise;

namespace GanEngine.Ops.Reduction;

/// <summary>Raw sum / mean over a set of dimensions of a strided view (deterministic: a fixed
/// summation order per shape, no atomics).</summary>
public static class ReductionOps
{
    /// <summary>Block size for reductions of at least this many summands; smaller ones use 64 threads.</summary>
    public const int LargeBlock = 256;

    /// <summary>The block size of a reduction of <paramref name="summands"/> summands per output (the summation
    /// order depends on it: fused kernels that must match <see cref="Sum"/> bit for bit use this too).</summary>
    public static int BlockFor(int summands) => summands >= LargeBlock ? LargeBlock : 64;

    /// <summary>At most this many blocks (grid-stride over outputs).</summary>
    public const int MaxBlocks = 1024;

    /// <summary>
    /// y[j] = scale * (sum of x over the dimensions d with <paramref name="reduce"/>[d]), for the j-th
    /// element (row-major) of the kept dimensions; y is contiguous with that many elements.
    /// </summary>
    public static void Sum(IKernelLauncher launcher, ReadOnlyView<float> x, in StridedLayout xLayout, ReadOnlySpan<bool> reduce, ArrayView<float> y, float scale)
    {
        int rank = xLayout.Shape.Length;
        if (reduce.Length != rank)
        {
            throw new ArgumentException($"reduce has {reduce.Length} flags for a rank-{rank} view.");
        }
        var keptShape = new List<int>(rank);
        var keptStrides = new List<int>(rank);
        var redShape = new List<int>(rank);
        var redStrides = new List<int>(rank);
        for (int d = 0; d < rank; d++)
        {
            (reduce[d] ? redShape : keptShape).Add(xLayout.Shape[d]);
            (reduce[d] ? redStrides : keptStrides).Add(xLayout.Strides[d]);
        }
        int outCount = StridedLayout.CountOf([.. keptShape]);
        int inner = StridedLayout.CountOf([.. redShape]);
        if (outCount == 0)
        {
            return;
        }
        int block = BlockFor(inner);
        var config = new LaunchConfig(new Dim3(Math.Min(outCount, MaxBlocks)), new Dim3(block));
        TensorKernels.LaunchReduce(
            launcher, config, x, y, outCount, inner,
            StridedLayout.Pad([.. keptShape], 1), StridedLayout.Pad([.. keptStrides], 0),
            StridedLayout.Pad([.. redShape], 1), StridedLayout.Pad([.. redStrides], 0),
            xLayout.Offset, scale, block);
    }
}
