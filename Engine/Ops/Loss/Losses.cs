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

    /// <summary>BCE with logits against a constant target value (1 for "real", 0 for "fake").</summary>
    public static Tensor BceWithLogits(Tensor logits, float target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        using var t = Tensor.Full(logits.Accelerator, [1], target, logits.Stream);
        return BceWithLogits(logits, t);
    }

    /// <summary>Non-saturating GAN loss of the discriminator (Goodfellow et al.):
    /// <c>BCE(D(x), 1) + BCE(D(G(z)), 0)</c>, each a mean over its batch.</summary>
    public static Tensor NonSaturatingDiscriminator(Tensor realLogits, Tensor fakeLogits)
    {
        using var real = BceWithLogits(realLogits, 1f);
        using var fake = BceWithLogits(fakeLogits, 0f);
        return real + fake;
    }

    /// <summary>Non-saturating GAN loss of the generator: <c>BCE(D(G(z)), 1)</c> = <c>mean(softplus(-D(G(z))))</c>.</summary>
    public static Tensor NonSaturatingGenerator(Tensor fakeLogits) => BceWithLogits(fakeLogits, 1f);

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
