namespace GanEngine.Kernels.Index;

/// <summary>
/// Gather and scatter-add of slices along one dimension (PyTorch's <c>index_select</c> and
/// <c>index_add_</c>; the host side is <c>GanEngine.Ops.Index.IndexSelect</c>). A contiguous tensor
/// is viewed as (outer, size, inner): the dimension indexed is the middle one.
/// </summary>
/// <remarks>
/// <para>Both kernels are grid-stride loops with one thread per element written, so stores are
/// coalesced and no two threads write the same element: no atomics, deterministic results.</para>
/// <para><see cref="ScatterAdd"/> has each destination element loop over the whole index list and
/// sum the matching source elements in list order (the index reads are the same address across a
/// warp, a broadcast). Its cost is O(count) per destination element, fine for the channel counts
/// of layer resizing and for the backward of a selection.</para>
/// <para>Indices are floats holding integers, rounded to nearest; an index outside 0..size-1 (or
/// NaN) is invalid: <see cref="Gather"/> writes 0 for it and <see cref="ScatterAdd"/> ignores it.
/// Nothing is ever read or written out of bounds.</para>
/// </remarks>
public static partial class IndexKernels
{
    /// <summary>y[o, j, r] = x[o, indices[j], r] for x of (outer, size, inner) and y of
    /// (outer, count, inner); 0 where indices[j] is invalid.</summary>
    [Kernel]
    public static void Gather(ReadOnlyView<float> x, ReadOnlyView<float> indices, ArrayView<float> y, int outer, int size, int inner, int count)
    {
        int n = outer * count * inner;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int r = i % inner;
            int t = i / inner;
            int j = t % count;
            int o = t / count;
            int s = ValidIndex(indices[j], size);
            y[i] = s >= 0 ? x[(((o * size) + s) * inner) + r] : 0f;
        }
    }

    /// <summary>
    /// x[o, s, r] = (accumulate != 0 ? x[o, s, r] : 0) + sum over j with indices[j] == s of
    /// y[o, j, r], for y of (outer, count, inner) and x of (outer, size, inner); the sum runs over j
    /// in increasing order. x and y must not overlap.
    /// </summary>
    [Kernel]
    public static void ScatterAdd(ReadOnlyView<float> y, ReadOnlyView<float> indices, ArrayView<float> x, int outer, int size, int inner, int count, int accumulate)
    {
        int n = outer * size * inner;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int r = i % inner;
            int t = i / inner;
            int s = t % size;
            int o = t / size;
            int from = (o * count * inner) + r;
            float sum = 0f;
            for (int j = 0; j < count; j++)
            {
                if (ValidIndex(indices[j], size) == s)
                {
                    sum += y[from + (j * inner)];
                }
            }
            x[i] = accumulate != 0 ? x[i] + sum : sum;
        }
    }

    /// <summary>The index held by <paramref name="v"/> (rounded to nearest), or -1 when it is outside
    /// 0..size-1 or NaN.</summary>
    private static int ValidIndex(float v, int size)
    {
        float r = KMath.Floor(v + 0.5f);
        if (r >= 0f && r < size)
        {
            return (int)r;
        }
        return -1;
    }
}
