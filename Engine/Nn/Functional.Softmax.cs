using GanEngine.Ops.Softmax;
using GanEngine.Tensors;

namespace GanEngine.Nn;

public static partial class Functional
{
    /// <summary><c>F.softmax(x, dim=1)</c> of a 2-D (N, C) tensor, max-subtracted.</summary>
    public static Tensor Softmax(Tensor x) => SoftmaxRows(x, log: false);

    /// <summary><c>F.log_softmax(x, dim=1)</c> of a 2-D (N, C) tensor: <c>(x - max) - log(sum exp(x - max))</c>.</summary>
    public static Tensor LogSoftmax(Tensor x) => SoftmaxRows(x, log: true);

    /// <summary>
    /// <c>F.cross_entropy(logits, targets)</c> with reduction "mean": logits (N, C), targets (N) a float
    /// tensor of class indices 0..C-1; returns the scalar <c>mean_n (logsumexp(logits[n]) -
    /// logits[n, targets[n]])</c>. The backward is fused: <c>(softmax(logits) - onehot(targets)) / N</c>
    /// times the incoming gradient. Targets get no gradient.
    /// </summary>
    /// <remarks>Targets must be valid class indices (floats holding integers). This is not checked on
    /// the host (that would synchronise); the kernels round each target to the nearest integer and
    /// never read out of bounds: for a target outside 0..C-1 or NaN the row's target term is skipped
    /// (the row adds logsumexp to the loss and softmax to the gradient, and still counts in N).</remarks>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets)
    {
        RequireLayout(logits, 2, "CrossEntropy logits");
        ArgumentNullException.ThrowIfNull(targets);
        var shape = new SoftmaxShape(logits.Size(0), logits.Size(1));
        shape.Validate();
        if (targets.Rank != 1 || targets.Size(0) != shape.Rows || !targets.IsContiguous)
        {
            throw new ArgumentException($"CrossEntropy: targets must be a contiguous vector of {shape.Rows} class indices, not {Tensor.Format(targets.Shape)}.");
        }
        var stream = logits.Stream;
        var accelerator = logits.Accelerator;
        logits.RecordUse(targets);
        var loss = Tensor.Empty(accelerator, [], stream);
        var lse = Tensor.Empty(accelerator, [shape.Rows], stream);
        Ops.Softmax.CrossEntropy.Forward(stream, shape, logits.DenseView, targets.DenseView, lse.DenseView, loss.DenseView);
        int[] logitsShape = logits.ShapeArray();
        var result = Autograd.Record(loss, "CrossEntropy", [logits], [logits, targets, lse], (node, g) =>
        {
            using var dense = Dense(g);
            var gx = Tensor.Empty(accelerator, logitsShape, stream);
            Ops.Softmax.CrossEntropy.Backward(stream, shape, node.Saved[0].DenseView, node.Saved[1].DenseView, node.Saved[2].DenseView,
                dense.DenseView, gx.DenseView);
            return [gx];
        });
        // The node keeps its own alias of lse when it recorded; this handle is ours to release.
        lse.Dispose();
        return result;
    }

    private static Tensor SoftmaxRows(Tensor x, bool log)
    {
        string name = log ? "LogSoftmax" : "Softmax";
        RequireLayout(x, 2, name + " input");
        var shape = new SoftmaxShape(x.Size(0), x.Size(1));
        shape.Validate();
        var stream = x.Stream;
        var accelerator = x.Accelerator;
        var y = Tensor.Empty(accelerator, x.ShapeArray(), stream);
        SoftmaxOps.Forward(stream, shape, x.DenseView, y.DenseView, log);
        return Autograd.Record(y, name, [x], [y], (node, g) =>
        {
            using var dense = Dense(g);
            var output = node.Saved[0];
            var gx = Tensor.Empty(accelerator, output.ShapeArray(), stream);
            SoftmaxOps.Backward(stream, shape, output.DenseView, dense.DenseView, gx.DenseView, log);
            return [gx];
        });
    }
}
