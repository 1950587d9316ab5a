using GanEngine.Kernels;
using GanEngine.Kernels.Index;
using GanEngine.Ops.Elementwise;

namespace GanEngine.Ops.Index;

/// <summary>
/// A contiguous tensor seen as (Outer, Size, Inner) around the dimension indexed, and
/// <see cref="Count"/> indices into it: the source is (Outer, Size, Inner), the selection
/// (Outer, Count, Inner).
/// </summary>
public readonly record struct IndexSelectShape(int Outer, int Size, int Inner, int Count)
{
    public int SourceElements => Outer * Size * Inner;
    public int SelectedElements => Outer * Count * Inner;

    /// <summary>The shape for selecting along <paramref name="dim"/> of a contiguous tensor of
    /// <paramref name="shape"/> with <paramref name="count"/> indices.</summary>
    public static IndexSelectShape Of(ReadOnlySpan<int> shape, int dim, int count)
    {
        if (dim < 0 || dim >= shape.Length)
        {
            throw new ArgumentException($"dim {dim} is out of range for a rank-{shape.Length} tensor", nameof(dim));
        }
        long outer = 1, inner = 1;
        for (int d = 0; d < dim; d++)
        {
            outer *= shape[d];
        }
        for (int d = dim + 1; d < shape.Length; d++)
        {
            inner *= shape[d];
        }
        if (outer > int.MaxValue || inner > int.MaxValue)
        {
            throw new ArgumentException("The tensor has more than 2^31 - 1 elements.", nameof(shape));
        }
        var s = new IndexSelectShape((int)outer, shape[dim], (int)inner, count);
        s.Validate();
        return s;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        if (Outer < 1)
        {
            throw new ArgumentException($"Outer must be >= 1 (got {Outer})", nameof(Outer));
        }
        if (Size < 1)
        {
            throw new ArgumentException($"Size must be >= 1 (got {Size})", nameof(Size));
        }
        if (Size >= 1 << 24)
        {
            throw new ArgumentException($"Size = {Size}: indices are floats, at most 2^24 slices", nameof(Size));
        }
        if (Inner < 1)
        {
            throw new ArgumentException($"Inner must be >= 1 (got {Inner})", nameof(Inner));
        }
        if (Count < 1)
        {
            throw new ArgumentException($"Count must be >= 1 (got {Count})", nameof(Count));
        }
        if ((long)Outer * Size * Inner > int.MaxValue)
        {
            throw new ArgumentException($"Outer * Size * Inner = {(long)Outer * Size * Inner} exceeds 2^31 - 1", nameof(Size));
        }
        if ((long)Outer * Count * Inner > int.MaxValue)
        {
            throw new ArgumentException($"Outer * Count * Inner = {(long)Outer * Count * Inner} exceeds 2^31 - 1", nameof(Count));
        }
    }
}

/// <summary>
/// <c>torch.index_select</c> (gather of slices along one dimension, repeats allowed) and its
/// adjoint <c>index_add_</c> (scatter-add) as raw ops on contiguous views: no allocation, no host
/// synchronisation, launches on the given launcher, deterministic (no atomics). Used by autograd and
/// to grow or prune layers on the device (copy filters or keep a subset) without a host round trip.
/// </summary>
/// <remarks>Indices are floats holding integers (rounded to nearest). The caller must pass valid
/// indices, 0..Size-1; the kernels never read or write out of bounds: an invalid index (or NaN)
/// selects zeros in <see cref="Forward"/> and is ignored by <see cref="Backward"/>.</remarks>
public static class IndexSelect
{
    /// <summary><c>destination[o, j, r] = source[o, indices[j], r]</c>: source (Outer, Size, Inner),
    /// destination (Outer, Count, Inner); they must not overlap.</summary>
    public static void Forward(IKernelLauncher launcher, in IndexSelectShape shape, ReadOnlyView<float> source, ReadOnlyView<float> indices,
        ArrayView<float> destination)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Check(source.Length, shape.SourceElements, nameof(source));
        Check(indices.Length, shape.Count, nameof(indices));
        Check(destination.Length, shape.SelectedElements, nameof(destination));
        IndexKernels.LaunchGather(launcher, ElementwiseOps.GridFor(shape.SelectedElements), source, indices, destination,
            shape.Outer, shape.Size, shape.Inner, shape.Count);
    }

    /// <summary>
    /// The adjoint (scatter-add, <c>index_add_</c>): <c>destination[o, s, r] = (accumulate ?
    /// destination[o, s, r] : 0) + sum over j with indices[j] == s of selected[o, j, r]</c>, selected
    /// (Outer, Count, Inner), destination (Outer, Size, Inner), summed in index-list order (one thread
    /// per destination element; O(Count) work each). They must not overlap.
    /// </summary>
    public static void Backward(IKernelLauncher launcher, in IndexSelectShape shape, ReadOnlyView<float> selected, ReadOnlyView<float> indices,
        ArrayView<float> destination, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Check(selected.Length, shape.SelectedElements, nameof(selected));
        Check(indices.Length, shape.Count, nameof(indices));
        Check(destination.Length, shape.SourceElements, nameof(destination));
        IndexKernels.LaunchScatterAdd(launcher, ElementwiseOps.GridFor(shape.SourceElements), selected, indices, destination,
            shape.Outer, shape.Size, shape.Inner, shape.Count, accumulate ? 1 : 0);
    }

    private static void Check(int length, int needed, string name)
    {
        if (length < needed)
        {
            throw new ArgumentException($"{name} has {length} elements, needs {needed}", name);
        }
    }
}
