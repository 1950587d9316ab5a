using GanEngine.Ops.Loss;
using GanEngine.Tensors;

namespace GanEngine.Training.Loop;

/// <summary>An adversarial loss: D's loss on real and fake logits, G's loss on fake logits (scalars, differentiable).</summary>
public interface IGanLoss
{
    string Name { get; }

    Tensor Discriminator(Tensor realLogits, Tensor fakeLogits);

    Tensor Generator(Tensor fakeLogits);
}

/// <summary>The non-saturating loss of Goodfellow et al. (binary cross-entropy with logits).</summary>
public sealed class NonSaturatingLoss : IGanLoss
{
    public string Name => "bce";

    public Tensor Discriminator(Tensor realLogits, Tensor fakeLogits) => Losses.NonSaturatingDiscriminator(realLogits, fakeLogits);

    public Tensor Generator(Tensor fakeLogits) => Losses.NonSaturatingGenerator(fakeLogits);
}

/// <summary>The hinge loss (Lim and Ye; Miyato et al.).</summary>
public sealed class HingeLoss : IGanLoss
{
    public string Name => "hinge";

    public Tensor Discriminator(Tensor realLogits, Tensor fakeLogits) => Losses.HingeDiscriminator(realLogits, fakeLogits);

    public Tensor Generator(Tensor fakeLogits) => Losses.HingeGenerator(fakeLogits);
}

/// <summary>Loss by config name.</summary>
public static class GanLosses
{
    public static IGanLoss Create(string kind) => kind switch
    {
        "bce" => new NonSaturatingLoss(),
        "hinge" => new HingeLoss(),
        _ => throw new ArgumentException($"Unknown loss '{kind}' (bce | hinge)."),
    };
}
