using GanEngine.Ops.Elementwise;

namespace GanEngine.Tensors;

// Views (shared storage, recorded by autograd), concatenation and contiguous copies.
public partial class Tensor
{
    /// <summary>The same elements with another shape (<c>Tensor.view</c>): contiguous tensors only; one
    /// extent may be -1 (inferred).</summary>
    public Tensor View(params int[] shape)
    {
        if (!IsContiguous)
        {
            throw new InvalidOperationException($"View of a non-contiguous tensor {Format(_shape)}: call Contiguous() or Reshape().");
        }
        int[] target = InferShape(shape, Length);
        var y = ViewOf(target, StridedLayout.ContiguousStrides(target), Offset);
        int[] inputShape = ShapeArray();
        return Autograd.Record(y, "View", [this], [], (_, g) => [g.Reshape(inputShape)]);
    }

    /// <summary>A view when possible, else a contiguous copy, with <paramref name="shape"/> (<c>torch.reshape</c>).</summary>
    public Tensor Reshape(params int[] shape)
    {
        if (IsContiguous)
        {
            return View(shape);
        }
        using var dense = Contiguous();
        return dense.View(shape);
    }

    /// <summary>Elements [start, start + length) of dimension <paramref name="dim"/>, as a view (<c>Tensor.narrow</c>).</summary>
    public Tensor Slice(int dim, int start, int length)
    {
        int d = NormalizeDim(dim, Rank);
        if (start < 0 || length < 0 || start + length > _shape[d])
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start + length}) of dimension {d} with extent {_shape[d]}.");
        }
        int[] shape = ShapeArray();
        shape[d] = length;
        var y = ViewOf(shape, (int[])_strides.Clone(), Offset + (start * _strides[d]));
        int[] inputShape = ShapeArray();
        return Autograd.Record(y, "Slice", [this], [], (_, g) =>
        {
            var gx = Zeros(g.Accelerator, inputShape, g.Stream);
            using var part = gx.SliceUnrecorded(d, start, length);
            part.CopyFrom(g);
            return [gx];
        });
    }

    /// <summary>Dimensions <paramref name="dim0"/> and <paramref name="dim1"/> swapped, as a view.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        int a = NormalizeDim(dim0, Rank), b = NormalizeDim(dim1, Rank);
        var perm = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            perm[i] = i;
        }
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>Dimensions reordered: result dimension i is input dimension <paramref name="dims"/>[i] (a view).</summary>
    public Tensor Permute(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length != Rank)
        {
            throw new ArgumentException($"Permute needs {Rank} dimensions, not {dims.Length}.");
        }
        var shape = new int[Rank];
        var strides = new int[Rank];
        var inverse = new int[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = NormalizeDim(dims[i], Rank);
            if (seen[d])
            {
                throw new ArgumentException($"Permute repeats dimension {d}.");
            }
            seen[d] = true;
            shape[i] = _shape[d];
            strides[i] = _strides[d];
            inverse[d] = i;
        }
        var y = ViewOf(shape, strides, Offset);
        return Autograd.Record(y, "Permute", [this], [], (_, g) => [g.Permute(inverse)]);
    }

    /// <summary>A broadcast view with <paramref name="shape"/> (extent-1 dimensions repeated with stride 0;
    /// new leading dimensions allowed), as <c>Tensor.expand</c>. Do not write through it.</summary>
    public Tensor Expand(params int[] shape)
    {
        var layout = Layout.BroadcastTo((int[])shape.Clone());
        var y = ViewOf(layout.Shape, layout.Strides, Offset);
        int[] inputShape = ShapeArray();
        return Autograd.Record(y, "Expand", [this], [], (_, g) => [g.SumTo(inputShape)]);
    }

    /// <summary>A contiguous tensor with these values: a new view of the same storage if already
    /// contiguous, else a copy (strided-copy kernel). Differentiable (identity).</summary>
    public Tensor Contiguous()
    {
        var y = IsContiguous ? ViewOf(ShapeArray(), StridedLayout.ContiguousStrides(_shape), Offset) : ContiguousCopy();
        return Autograd.Record(y, "Contiguous", [this], [], (_, g) => [g.Alias()]);
    }

    /// <summary>Concatenation along <paramref name="dim"/> (<c>torch.cat</c>); other extents must match.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int dim)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0)
        {
            throw new ArgumentException("Concat of no tensors.");
        }
        var first = tensors[0];
        int d = NormalizeDim(dim, first.Rank);
        int[] shape = first.ShapeArray();
        int total = 0;
        foreach (var t in tensors)
        {
            if (t.Rank != first.Rank)
            {
                throw new ArgumentException("Concat of tensors of different ranks.");
            }
            for (int i = 0; i < t.Rank; i++)
            {
                if (i != d && t._shape[i] != shape[i])
                {
                    throw new ArgumentException($"Concat along {d}: shapes {Format(first._shape)} and {Format(t._shape)} differ in dimension {i}.");
                }
            }
            total += t._shape[d];
        }
        shape[d] = total;
        var y = Empty(first.Accelerator, shape, first.Stream);
        var starts = new int[tensors.Count];
        int start = 0;
        for (int k = 0; k < tensors.Count; k++)
        {
            starts[k] = start;
            using var part = y.SliceUnrecorded(d, start, tensors[k]._shape[d]);
            part.CopyFrom(tensors[k]);
            start += tensors[k]._shape[d];
        }
        var lengths = tensors.Select(t => t._shape[d]).ToArray();
        return Autograd.Record(y, "Concat", [.. tensors], [], (_, g) =>
        {
            var grads = new Tensor?[lengths.Length];
            for (int k = 0; k < lengths.Length; k++)
            {
                grads[k] = g.SliceUnrecorded(d, starts[k], lengths[k]);
            }
            return grads;
        });
    }

    /// <summary>A slice view outside autograd and scopes (for writing into).</summary>
    internal Tensor SliceUnrecorded(int d, int start, int length)
    {
        int[] shape = ShapeArray();
        shape[d] = length;
        return ViewOf(shape, (int[])_strides.Clone(), Offset + (start * _strides[d]), scoped: false);
    }

    private static int[] InferShape(int[] shape, int length)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var result = (int[])shape.Clone();
        int unknown = -1;
        long known = 1;
        for (int i = 0; i < result.Length; i++)
        {
            if (result[i] == -1 && unknown < 0)
            {
                unknown = i;
            }
            else if (result[i] < 0)
            {
                throw new ArgumentException($"Invalid extent {result[i]} in {Format(shape)}.");
            }
            else
            {
                known *= result[i];
            }
        }
        if (unknown >= 0 && known > 0 && length % known == 0)
        {
            result[unknown] = (int)(length / known);
            known *= result[unknown];
        }
        if (known != length)
        {
            throw new ArgumentException($"Shape {Format(shape)} is invalid for {length} elements.");
        }
        return result;
    }
}
