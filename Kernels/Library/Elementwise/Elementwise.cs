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

    /// <summary>y[i] = act(y[i]) for i &lt; n, in place: ACT 1 ReLU (z &gt; 0 ? z : 0), 2 LeakyReLU (z &gt; 0 ? z : z negativeSlope),
    /// the values of <c>FusedActivation</c>. An op that fuses its activation where its kernel can and applies it here where not.</summary>
    [Kernel]
    public static void ActivateInPlace(int n, float negativeSlope, ArrayView<float> y, [Specialization] int ACT)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            float z = y[i];
            y[i] = ACT == 1 ? (z > 0f ? z : 0f) : (z > 0f ? z : z * negativeSlope);
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

    /// <summary>
    /// <see cref="Axpy"/> over up to <see cref="SlotStarts.Count"/> tensors in one launch (the multi-tensor
    /// form that gradient accumulation uses): y<sub>k</sub>[i] = alpha * x<sub>k</sub>[i] + y<sub>k</sub>[i]
    /// for i &lt; n<sub>k</sub>, slot k on the blocks <paramref name="starts"/> gives it (a grid-stride loop over
    /// them). Each element is computed exactly as <see cref="Axpy"/> computes it (one fma). The destinations
    /// must not overlap; unused slots own no block and may repeat any view.
    /// </summary>
    [Kernel]
    public static void AxpyMany(
        ReadOnlyView<float> x0, ArrayView<float> y0, int n0,
        ReadOnlyView<float> x1, ArrayView<float> y1, int n1,
        ReadOnlyView<float> x2, ArrayView<float> y2, int n2,
        ReadOnlyView<float> x3, ArrayView<float> y3, int n3,
        ReadOnlyView<float> x4, ArrayView<float> y4, int n4,
        ReadOnlyView<float> x5, ArrayView<float> y5, int n5,
        ReadOnlyView<float> x6, ArrayView<float> y6, int n6,
        ReadOnlyView<float> x7, ArrayView<float> y7, int n7,
        float alpha, SlotStarts starts)
    {
        int b = BlockIdx.X;
        if (b < starts.S1)
        {
            AxpySlot(x0, y0, n0, alpha, b, starts.S1);
        }
        else if (b < starts.S2)
        {
            AxpySlot(x1, y1, n1, alpha, b - starts.S1, starts.S2 - starts.S1);
        }
        else if (b < starts.S3)
        {
            AxpySlot(x2, y2, n2, alpha, b - starts.S2, starts.S3 - starts.S2);
        }
        else if (b < starts.S4)
        {
            AxpySlot(x3, y3, n3, alpha, b - starts.S3, starts.S4 - starts.S3);
        }
        else if (b < starts.S5)
        {
            AxpySlot(x4, y4, n4, alpha, b - starts.S4, starts.S5 - starts.S4);
        }
        else if (b < starts.S6)
        {
            AxpySlot(x5, y5, n5, alpha, b - starts.S5, starts.S6 - starts.S5);
        }
        else if (b < starts.S7)
        {
            AxpySlot(x6, y6, n6, alpha, b - starts.S6, starts.S7 - starts.S6);
        }
        else
        {
            AxpySlot(x7, y7, n7, alpha, b - starts.S7, GridDim.X - starts.S7);
        }
    }

    // One slot of AxpyMany: block `block` of the slot's `blocks`, grid-stride over its n elements.
    private static void AxpySlot(ReadOnlyView<float> x, ArrayView<float> y, int n, float alpha, int block, int blocks)
    {
        int stride = blocks * BlockDim.X;
        for (int i = (block * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            y[i] = KMath.Fma(alpha, x[i], y[i]);
        }
    }
}
