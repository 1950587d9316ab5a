using System.Globalization;
using GanEngine.Ops.Rng;
using GanEngine.Training.Loop;
using GanEngine.Training.Models;

namespace GanEngine.Training.Architecture;

/// <summary>Which network an architecture change applies to.</summary>
public enum NetworkSide
{
    Generator,
    Discriminator,
}

/// <summary>How new channels are initialised when a layer grows.</summary>
public enum GrowthRule
{
    /// <summary>Net2WiderNet: the consumer's copied input slices are divided by the number of copies, so the
    /// network computes the same function (exactly, in evaluation mode, without noise).</summary>
    FunctionPreserving,

    /// <summary>SP-GAN's kernel concatenation: copies as they are (the consumer's input doubles in scale; BatchNorm absorbs it).</summary>
    Replicate,
}

/// <summary>Options of a growth step.</summary>
public sealed record GrowthOptions
{
    public GrowthRule Rule { get; init; } = GrowthRule.FunctionPreserving;

    public FilterSelection Selection { get; init; } = FilterSelection.All;

    /// <summary>Std of the symmetry-breaking noise added to repeated copies' producer weights (0: none).</summary>
    public float Noise { get; init; }

    /// <summary>Reset the Adam moments of resized tensors to zero instead of copying them.</summary>
    public bool ResetOptimizerState { get; init; }
}

/// <summary>Options of a pruning step.</summary>
public sealed record PruneOptions
{
    /// <summary>Multiply each filter's L1 norm by |gamma| of its BatchNorm channel.</summary>
    public bool ScaleByBatchNormGamma { get; init; }

    /// <summary>Channels a layer keeps at least.</summary>
    public int MinWidth { get; init; } = 4;

    public bool ResetOptimizerState { get; init; }
}

/// <summary>One logged architecture change.</summary>
public sealed record ArchitectureChange(long Step, string Network, string Link, string Action, int OldWidth, int NewWidth,
    long GParameters, long DParameters, double StepGflopsPerImage)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"step {Step}: {Action} {Network}.{Link} {OldWidth} -> {NewWidth}; parameters G {GParameters:N0} D {DParameters:N0}; {StepGflopsPerImage * 1000:F2} MFLOP per image per step");
}

/// <summary>
/// Grows and prunes the hidden widths of a training GAN in place: the layers (and G's EMA copy, with the
/// same index map), and the Adam states (gathered the same way, or reset). Everything stays on the device
/// except the filter scores and index lists.
/// </summary>
public static class ArchitectureEditor
{
    /// <summary>The resizable network of <paramref name="side"/>.</summary>
    public static IResizableNetwork Network(GanTrainer trainer, NetworkSide side)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        object net = side == NetworkSide.Generator ? trainer.G : trainer.D;
        return net as IResizableNetwork
            ?? throw new NotSupportedException($"The {trainer.Config.Model.Family} {side} cannot change its widths (only the DCGAN family can).");
    }

    /// <summary>The current hidden widths of <paramref name="side"/>, input side first.</summary>
    public static int[] Widths(GanTrainer trainer, NetworkSide side) => [.. Network(trainer, side).ChannelLinks.Select(l => l.Width)];

    /// <summary>Widens link <paramref name="link"/> of <paramref name="side"/> to <paramref name="newWidth"/> channels.</summary>
    public static ArchitectureChange Grow(GanTrainer trainer, NetworkSide side, int link, int newWidth, GrowthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var l = Link(trainer, side, link);
        int old = l.Width;
        var scores = options.Selection == FilterSelection.HighestL1 ? FilterScores.L1(l.Producer) : null;
        var sources = ChannelResizer.GrowthSources(old, newWidth, options.Selection, scores);
        var scale = options.Rule == GrowthRule.FunctionPreserving ? ChannelResizer.FunctionPreservingScale(sources) : null;
        var noise = options.Noise > 0f ? new PhiloxGenerator(NoiseSeed(trainer, side, link)) : null;
        Apply(trainer, side, link, sources, scale, options.Noise, noise, options.ResetOptimizerState);
        return Log(trainer, side, l.Name, options.Rule == GrowthRule.FunctionPreserving ? "grow (net2wider)" : "grow (replicate)", old, newWidth);
    }

    /// <summary>Prunes link <paramref name="link"/> of <paramref name="side"/> to its <paramref name="keep"/>
    /// filters of highest L1 norm (never below <see cref="PruneOptions.MinWidth"/>).</summary>
    public static ArchitectureChange Prune(GanTrainer trainer, NetworkSide side, int link, int keep, PruneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var l = Link(trainer, side, link);
        int old = l.Width;
        keep = Math.Clamp(keep, Math.Min(options.MinWidth, old), old);
        var scores = FilterScores.L1(l.Producer, options.ScaleByBatchNormGamma ? l.Norm : null);
        var sources = ChannelResizer.PruneSources(scores, keep);
        Apply(trainer, side, link, sources, null, 0f, null, options.ResetOptimizerState);
        return Log(trainer, side, l.Name, options.ScaleByBatchNormGamma ? "prune (L1 x |gamma|)" : "prune (L1)", old, keep);
    }

    /// <summary>Resizes every link of <paramref name="side"/> to <paramref name="widths"/> (content arbitrary:
    /// used before loading a checkpoint written after architecture changes).</summary>
    public static void Reshape(GanTrainer trainer, NetworkSide side, IReadOnlyList<int> widths)
    {
        ArgumentNullException.ThrowIfNull(widths);
        var links = Network(trainer, side).ChannelLinks;
        if (widths.Count != links.Count)
        {
            throw new ArgumentException($"{side}: {widths.Count} widths for {links.Count} resizable layers.");
        }
        for (int i = 0; i < widths.Count; i++)
        {
            int old = links[i].Width;
            if (widths[i] != old)
            {
                Apply(trainer, side, i, [.. Enumerable.Range(0, widths[i]).Select(j => j % old)], null, 0f, null, resetMoved: true);
            }
        }
    }

    /// <summary>Forward multiply-accumulates per image of one training iteration (n D steps, one G step):
    /// D runs forward and backward (input and weight gradients) on real and fake per D step, and forward
    /// plus input gradient in the G step; G runs forward without gradients per D step and forward plus
    /// both gradients in the G step. Returned as FLOPs (2 per MAC), per image.</summary>
    public static double StepFlopsPerImage(GanTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        long g = Network(trainer, NetworkSide.Generator).ForwardMacsPerImage();
        long d = Network(trainer, NetworkSide.Discriminator).ForwardMacsPerImage();
        int n = trainer.Config.Loss.DSteps;
        return 2.0 * ((((6.0 * n) + 2) * d) + ((n + 3.0) * g));
    }

    private static void Apply(GanTrainer trainer, NetworkSide side, int link, int[] sources, float[]? scale, float noiseStd,
        PhiloxGenerator? noise, bool resetMoved)
    {
        var l = Link(trainer, side, link);
        var remaps = ChannelResizer.Apply(l, sources, scale, noiseStd, noise);
        if (side == NetworkSide.Generator && trainer.Ema is { Model: IResizableNetwork ema })
        {
            // The average follows the same map (without noise); its replaced tensors are not optimized.
            foreach (var r in ChannelResizer.Apply(ema.ChannelLinks[link], sources, scale))
            {
                r.Old.Dispose();
                r.New.RequiresGrad = false;
            }
        }
        trainer.RebuildOptimizer(side == NetworkSide.Generator, remaps, resetMoved);
    }

    private static ChannelLink Link(GanTrainer trainer, NetworkSide side, int link)
    {
        var links = Network(trainer, side).ChannelLinks;
        if (link < 0 || link >= links.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(link), link, $"{side} has resizable layers 0..{links.Count - 1}.");
        }
        return links[link];
    }

    private static ArchitectureChange Log(GanTrainer trainer, NetworkSide side, string link, string action, int old, int width) =>
        new(trainer.Step, side == NetworkSide.Generator ? "G" : "D", link, action, old, width,
            trainer.G.ParameterCount, trainer.D.ParameterCount, StepFlopsPerImage(trainer) / 1e9);

    private static ulong NoiseSeed(GanTrainer trainer, NetworkSide side, int link) =>
        trainer.Config.Seed ^ 0x6e6f_6973_6500_0000UL ^ ((ulong)trainer.Step << 8) ^ ((ulong)side << 4) ^ (ulong)link;
}
