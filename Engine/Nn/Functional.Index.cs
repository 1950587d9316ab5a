using GanEngine.Ops.Index;
using GanEngine.Tensors;

namespace GanEngine.Nn;

public static partial class Functional
{
    /// <summary>
    /// <c>torch.index_select(x, dim, indices)</c>: x with dimension <paramref name="dim"/> (negative
    /// counts from the end) replaced by the slices <paramref name="indices"/> names, in that order
    /// (repeats allowed). <paramref name="indices"/> is a contiguous vector of k floats holding
    /// integers 0..size(dim)-1; x must be contiguous. The backward scatter-adds the gradient into the
    /// selected slices (deterministically, no atomics); the indices get no gradient.
    /// </summary>
    /// <remarks>
    /// <para>Indices must be valid. This is not checked on the host (that would synchronise); the
    /// kernels never read out of bounds: an invalid index selects a slice of zeros and receives no
    /// gradient.</para>
    /// <para>Under <see cref="Autograd.NoGrad"/> this is also the device-side way to resize a layer:
    /// <c>Parameter.From(IndexSelect(weight, 0, keep))</c> prunes or copies filters (repeat an index
    /// to grow), <c>dim: 1</c> does the same for the next layer's input channels; the raw
    /// <see cref="Ops.Index.IndexSelect"/> writes into an existing view.</para>
    /// </remarks>
    public static Tensor IndexSelect(Tensor x, int dim, Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(indices);
        if (!x.IsContiguous)
        {
            throw new ArgumentException($"IndexSelect input {Tensor.Format(x.Shape)} is not contiguous: call Contiguous() first.");
        }
        if (indices.Rank != 1 || indices.Length < 1 || !indices.IsContiguous)
        {
            throw new ArgumentException($"IndexSelect: indices must be a non-empty contiguous vector, not {Tensor.Format(indices.Shape)}.");
        }
        int d = Tensor.NormalizeDim(dim, x.Rank);
        int[] inputShape = x.ShapeArray();
        var shape = IndexSelectShape.Of(inputShape, d, indices.Length);
        var stream = x.Stream;
        var accelerator = x.Accelerator;
        x.RecordUse(indices);
        int[] outputShape = x.ShapeArray();
        outputShape[d] = indices.Length;
        var y = Tensor.Empty(accelerator, outputShape, stream);
        Ops.Index.IndexSelect.Forward(stream, shape, x.DenseView, indices.DenseView, y.DenseView);
        return Autograd.Record(y, "IndexSelect", [x], [indices], (node, g) =>
        {
            using var dense = Dense(g);
            var gx = Tensor.Empty(accelerator, inputShape, stream);
            Ops.Index.IndexSelect.Backward(stream, shape, dense.DenseView, node.Saved[0].DenseView, gx.DenseView);
            return [gx];
        });
    }
}
