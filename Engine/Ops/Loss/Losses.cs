using GanEngine.Tensors;

namespace GanEngine.Ops.Loss;

/// <summary>
/// Differentiable losses on tensors, with PyTorch's semantics and default reduction (mean). Built on
/// the element-wise and reduction ops, so their gradients come from autograd.
/// </summary>
public static class Losses
{
    /// <summary><c>F.binary_cross_entropy_with_logits(logits, target)</c> (mean): the stable form
    /// <c>mean(max(x, 0) - x t + log(1 + exp(-|x|)))</c>. <paramref name="target"/> broadcasts.</summary>
    public static Tensor BceWithLogits(Tensor logits, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        using var elementwise = logits.BceWithLogitsElementwise(target);
        return elementwise.Mean();
    }

    /// <summary>BCE with logits against a constant target value (1 for "real", 0 for "fake"):
    /// <c>mean(bce(logits, target))</c> as one fused node (one launch forward, one backward;
    /// <see cref="BceWithLogitsOps"/>), bit-identical to <see cref="BceWithLogits(Tensor, Tensor)"/> with a
    /// tensor holding the target.</summary>
    public static Tensor BceWithLogits(Tensor logits, float target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        return FusedBce(logits, target, null, 0f, "BceWithLogitsMean");
    }

    /// <summary><c>BCE(a, targetA) + BCE(b, targetB)</c>, each a mean against a constant target, as one fused
    /// node: one launch forward, one backward (bit-identical to the two means and the sum composed).</summary>
    public static Tensor BceWithLogitsPair(Tensor a, float targetA, Tensor b, float targetB)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return FusedBce(a, targetA, b, targetB, "BceWithLogitsMeanPair");
    }

    /// <summary>Non-saturating GAN loss of the discriminator (Goodfellow et al.):
    /// <c>BCE(D(x), 1) + BCE(D(G(z)), 0)</c>, each a mean over its batch (one fused node).</summary>
    public static Tensor NonSaturatingDiscriminator(Tensor realLogits, Tensor fakeLogits) =>
        BceWithLogitsPair(realLogits, 1f, fakeLogits, 0f);

    /// <summary>Non-saturating GAN loss of the generator: <c>BCE(D(G(z)), 1)</c> = <c>mean(softplus(-D(G(z))))</c>.</summary>
    public static Tensor NonSaturatingGenerator(Tensor fakeLogits) => BceWithLogits(fakeLogits, 1f);

    private static Tensor FusedBce(Tensor a, float ta, Tensor? b, float tb, string name)
    {
        if (b is not null)
        {
            a.RecordUse(b);
        }
        using var da = a.IsContiguous ? null : a.Contiguous();
        using var db = b is null || b.IsContiguous ? null : b.Contiguous();
        var x = da ?? a;
        var z = db ?? b;
        var y = Tensor.Empty(x.Accelerator, [], x.Stream);
        BceWithLogitsOps.MeanForward(x.Stream, x.DenseView, x.Length, ta, z?.DenseView, z?.Length ?? 0, tb, y.DenseView);
        bool needA = x.RequiresGrad, needB = z is not null && z.RequiresGrad;
        Tensor[] inputs = z is null ? [x] : [x, z];
        // g: the upstream gradient, or null when the loss is the root of the backward (a gradient of 1 that
        // the kernel takes as a constant: no tensor of ones is filled for it).
        Tensor?[] Gradients(Node node, Tensor? g)
        {
            var sa = node.Saved[0];
            var sb = node.Saved.Count > 1 ? node.Saved[1] : null;
            using var dense = g is null || g.IsContiguous ? null : g.ContiguousCopy();
            Kernels.ReadOnlyView<float>? gv = g is null ? null : (dense ?? g).DenseView;
            var ga = needA ? Tensor.Empty(sa.Accelerator, sa.ShapeArray(), sa.Stream) : null;
            var gb = needB ? Tensor.Empty(sb!.Accelerator, sb.ShapeArray(), sa.Stream) : null;
            var empty = sa.DenseView.Slice(0, 0);
            BceWithLogitsOps.MeanBackward(sa.Stream, gv,
                sa.DenseView, ga?.DenseView ?? empty, ga is null ? 0 : sa.Length, ta,
                sb?.DenseView ?? empty, gb?.DenseView ?? empty, gb is null ? 0 : sb!.Length, tb);
            return sb is null ? [ga] : [ga, gb];
        }
        return Autograd.Record(y, name, inputs, inputs, (node, g) => Gradients(node, g), node => Gradients(node, null));
    }

    /// <summary>Hinge loss of the discriminator (Miyato et al.; Lim and Ye):
    /// <c>mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))</c>.</summary>
    public static Tensor HingeDiscriminator(Tensor realLogits, Tensor fakeLogits)
    {
        ArgumentNullException.ThrowIfNull(realLogits);
        ArgumentNullException.ThrowIfNull(fakeLogits);
        using var a = 1f - realLogits;
        using var ra = a.Relu();
        using var ma = ra.Mean();
        using var b = fakeLogits + 1f;
        using var rb = b.Relu();
        using var mb = rb.Mean();
        return ma + mb;
    }

    /// <summary>Hinge loss of the generator: <c>-mean(D(G(z)))</c>.</summary>
    public static Tensor HingeGenerator(Tensor fakeLogits)
    {
        ArgumentNullException.ThrowIfNull(fakeLogits);
        using var m = fakeLogits.Mean();
        return m.Neg();
    }

    /// <summary><c>F.mse_loss(input, target)</c> (mean of squared differences); target broadcasts.</summary>
    public static Tensor Mse(Tensor input, Tensor target)
    {
        using var d = input - target;
        using var sq = d * d;
        return sq.Mean();
    }
}
