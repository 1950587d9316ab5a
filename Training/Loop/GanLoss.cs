using System.Globalization;
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

/// <summary>A loss whose hyperparameters change during the run; its state is checkpointed.</summary>
public interface IAdaptiveGanLoss : IGanLoss
{
    /// <summary>Called before every iteration with the number of G steps done.</summary>
    void BeginStep(long step);

    /// <summary>Called with the values read at a log step (the only time they reach the host).</summary>
    void Observe(long step, StepValues values);

    /// <summary>Called after an architecture change of G (<c>generator</c>) or D.</summary>
    void OnArchitectureChange(long step, bool generator);

    /// <summary>The current hyperparameters, for logs.</summary>
    string Describe();

    /// <summary>The state as text (checkpoint metadata), and its restoration.</summary>
    string State { get; set; }
}

/// <summary>The non-saturating loss of Goodfellow et al. (binary cross-entropy with logits), with an optional
/// one-sided label-smoothing target for real images (Salimans et al.; SP-GAN uses 0.9).</summary>
public sealed class NonSaturatingLoss(float realTarget = 1f) : IGanLoss
{
    public string Name => "bce";

    public float RealTarget { get; } = realTarget;

    public Tensor Discriminator(Tensor realLogits, Tensor fakeLogits) => SmoothedDiscriminator(realLogits, fakeLogits, RealTarget);

    public Tensor Generator(Tensor fakeLogits) => Losses.NonSaturatingGenerator(fakeLogits);

    // BCE(D(x), target) + BCE(D(G(z)), 0): Losses.NonSaturatingDiscriminator with the real target as a parameter
    // (one fused node: one launch forward, one backward).
    internal static Tensor SmoothedDiscriminator(Tensor realLogits, Tensor fakeLogits, float target) =>
        Losses.BceWithLogitsPair(realLogits, target, fakeLogits, 0f);
}

/// <summary>The hinge loss (Lim and Ye; Miyato et al.).</summary>
public sealed class HingeLoss : IGanLoss
{
    public string Name => "hinge";

    public Tensor Discriminator(Tensor realLogits, Tensor fakeLogits) => Losses.HingeDiscriminator(realLogits, fakeLogits);

    public Tensor Generator(Tensor fakeLogits) => Losses.HingeGenerator(fakeLogits);
}

/// <summary>
/// Our stage-aware loss for runs that change their architecture (SP-GAN's adaptive loss is not public;
/// this is GanEngine's design, docs/adaptive-loss.md). Non-saturating BCE whose real-image target t moves
/// with the training stage and with the measured G/D balance:
/// <list type="bullet">
/// <item>stage: t = <see cref="BaseTarget"/> (0.9, SP-GAN's smoothing) normally; for <see cref="RecoverySteps"/>
/// after G changes width, t = <see cref="RecoveryTarget"/> (0.8): a softer D while the perturbed G re-adapts;</item>
/// <item>balance: at each log step, gap = D(x) - D(G(z)) (mean sigmoid scores); gap above 0.5 (D winning)
/// lowers an offset by 0.05, gap below 0.2 (D losing) raises it, the offset kept in [-0.2, 0.1], and
/// t = clamp(stage target + offset, 0.7, 1).</item>
/// </list>
/// Only host-side scalars change: no synchronisation is added (the balance is read at log steps, when the
/// values are on the host anyway).
/// </summary>
public sealed class AdaptiveLoss(int recoverySteps) : IAdaptiveGanLoss
{
    public const float BaseTarget = 0.9f;
    public const float RecoveryTarget = 0.8f;
    public const float OffsetStep = 0.05f;
    public const float GapHigh = 0.5f;
    public const float GapLow = 0.2f;

    private long _step;
    private long _recoverUntil = -1;
    private float _offset;

    public string Name => "adaptive";

    /// <summary>Steps of the recovery stage after a change of G.</summary>
    public int RecoverySteps { get; } = recoverySteps;

    /// <summary>The real target in use now.</summary>
    public float Target => Math.Clamp((_step < _recoverUntil ? RecoveryTarget : BaseTarget) + _offset, 0.7f, 1f);

    public void BeginStep(long step) => _step = step;

    public void Observe(long step, StepValues values)
    {
        float gap = values.RealScore - values.FakeScore;
        if (gap > GapHigh)
        {
            _offset = Math.Max(-0.2f, _offset - OffsetStep);
        }
        else if (gap < GapLow)
        {
            _offset = Math.Min(0.1f, _offset + OffsetStep);
        }
    }

    public void OnArchitectureChange(long step, bool generator)
    {
        if (generator)
        {
            _recoverUntil = step + RecoverySteps;
        }
    }

    public Tensor Discriminator(Tensor realLogits, Tensor fakeLogits) => NonSaturatingLoss.SmoothedDiscriminator(realLogits, fakeLogits, Target);

    public Tensor Generator(Tensor fakeLogits) => Losses.NonSaturatingGenerator(fakeLogits);

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"adaptive loss: real target {Target:F2} ({(_step < _recoverUntil ? "recovery" : "base")} stage, balance offset {_offset:+0.00;-0.00})");

    public string State
    {
        get => string.Create(CultureInfo.InvariantCulture, $"{_recoverUntil};{_offset:R}");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            var parts = value.Split(';');
            _recoverUntil = long.Parse(parts[0], CultureInfo.InvariantCulture);
            _offset = float.Parse(parts[1], CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>Loss by config.</summary>
public static class GanLosses
{
    public static IGanLoss Create(Config.TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Loss.Kind switch
        {
            "bce" => new NonSaturatingLoss(config.Loss.RealTarget),
            "hinge" => new HingeLoss(),
            "adaptive" => new AdaptiveLoss(Math.Max(100, config.Architecture.GrowEvery / 4)),
            _ => throw new ArgumentException($"Unknown loss '{config.Loss.Kind}' (bce | hinge | adaptive)."),
        };
    }
}
