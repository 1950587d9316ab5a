namespace GanEngine.Kernels.Elementwise;

/// <summary>
/// Memory-bound element-wise kernels over float views.
/// </summary>
/// <remarks>
/// Idea (both kernels): a grid-stride loop unrolled by <see cref="Unroll"/>. Each thread first
/// issues <see cref="Unroll"/> independent loads, <c>stride</c> elements apart (so every load of a
/// warp is still one coalesced 128-byte line), and only then the stores: several loads in flight
/// per thread is what hides HBM latency without vector types. The host launches a grid of a few
/// blocks per multiprocessor (see <see cref="ElementwiseLaunch.GridFor"/>), not one thread per element, so each
/// thread runs the unrolled body many times. A plain grid-stride tail handles the ragged end.
/// Indices are <c>int</c>: the launch must keep <c>n + Unroll * stride</c> below 2^31.
/// </remarks>
public static partial class ElementwiseKernels
{
    /// <summary>Independent loads in flight per thread in the main loop.</summary>
    public const int Unroll = 4;

    /// <summary>destination[i] = source[i] for i &lt; n.</summary>
    [Kernel]
    public static void Copy(ReadOnlyView<float> source, ArrayView<float> destination, int n)
    {
        int stride = GridDim.X * BlockDim.X;
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        // Main loop: four independent loads, then four stores.
        while (i < n - (3 * stride))
        {
            float v0 = source[i];
            float v1 = source[i + stride];
            float v2 = source[i + (2 * stride)];
            float v3 = source[i + (3 * stride)];
            destination[i] = v0;
            destination[i + stride] = v1;
            destination[i + (2 * stride)] = v2;
            destination[i + (3 * stride)] = v3;
            i += 4 * stride;
        }
        // Tail: fewer than four strides left.
        while (i < n)
        {
            destination[i] = source[i];
            i += stride;
        }
    }

    /// <summary>destination[i] = source[i] for i &lt; n, with <paramref name="U"/> independent loads in
    /// flight per thread (a register array: every index is an unrolled loop counter).</summary>
    /// <remarks>Versions (docs/benchmarks-notes-tf32.md): v0 <see cref="Copy"/> (U = 4 by hand, grid of
    /// 8 blocks per SM); v1 this kernel with U = 8 or 16 and a grid of 8 blocks per SM (about 64 or 128
    /// KiB in flight per SM instead of 32); v2 the same with a grid that covers n in one pass
    /// (n / (U * 256) blocks, each thread runs the main body once).</remarks>
    [Kernel]
    public static void CopyUnrolled(ReadOnlyView<float> source, ArrayView<float> destination, int n, [Specialization] int U)
    {
        Span<float> v = stackalloc float[U];
        int stride = GridDim.X * BlockDim.X;
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        while (i < n - ((U - 1) * stride))
        {
            for (int u = 0; u < U; u++)
            {
                v[u] = source[i + (u * stride)];
            }
            for (int u = 0; u < U; u++)
            {
                destination[i + (u * stride)] = v[u];
            }
            i += U * stride;
        }
        while (i < n)
        {
            destination[i] = source[i];
            i += stride;
        }
    }

    /// <summary>y[i] = alpha * x[i] + y[i] for i &lt; n (BLAS saxpy, unit strides).</summary>
    [Kernel]
    public static void Axpy(int n, float alpha, ReadOnlyView<float> x, ArrayView<float> y)
    {
        int stride = GridDim.X * BlockDim.X;
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        while (i < n - (3 * stride))
        {
            float x0 = x[i];
            float x1 = x[i + stride];
            float x2 = x[i + (2 * stride)];
            float x3 = x[i + (3 * stride)];
            float y0 = y[i];
            float y1 = y[i + stride];
            float y2 = y[i + (2 * stride)];
            float y3 = y[i + (3 * stride)];
            y[i] = KMath.Fma(alpha, x0, y0);
            y[i + stride] = KMath.Fma(alpha, x1, y1);
            y[i + (2 * stride)] = KMath.Fma(alpha, x2, y2);
            y[i + (3 * stride)] = KMath.Fma(alpha, x3, y3);
            i += 4 * stride;
        }
        while (i < n)
        {
            y[i] = KMath.Fma(alpha, x[i], y[i]);
            i += stride;
        }
    }
}
