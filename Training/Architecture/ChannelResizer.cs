using GanEngine.Nn;
using GanEngine.Ops.Rng;
using GanEngine.Tensors;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Architecture;

/// <summary>A parameter replaced by a resize: the new one holds <c>Old</c> gathered along <see cref="Axis"/>
/// by <see cref="Sources"/> (new index j takes old index Sources[j]); optimizer state follows the same map.</summary>
public sealed record ParameterRemap(Parameter Old, Parameter New, int Axis, int[] Sources);

/// <summary>
/// Resizes a <see cref="ChannelLink"/> on the device: every tensor over the link's channels is gathered
/// with one index list (<see cref="Functional.IndexSelect"/>; the weights never pass through the host),
/// which expresses growth (indices repeat: copies of existing filters) and pruning (a subset) alike.
/// </summary>
public static class ChannelResizer
{
    /// <summary>
    /// Applies <paramref name="sources"/> (length = the new width; entries are old channel indices) to the
    /// link: the producer's output filters and bias, the BatchNorm's affine parameters and running
    /// statistics, and the consumer's input slices, the latter multiplied per new channel by
    /// <paramref name="consumerScale"/> when given (Net2Wider's 1 / copies). With
    /// <paramref name="noiseStd"/> &gt; 0, the second and later copies of a filter get N(0, noiseStd^2)
    /// added to their producer weights (symmetry breaking). Returns the replaced parameters; the caller
    /// rebuilds the optimizer state from them, then disposes the old ones.
    /// </summary>
    public static List<ParameterRemap> Apply(ChannelLink link, int[] sources, float[]? consumerScale = null,
        float noiseStd = 0f, PhiloxGenerator? noise = null)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(sources);
        int oldWidth = link.Width;
        if (sources.Length == 0)
        {
            throw new ArgumentException($"{link.Name}: a link cannot shrink to zero channels.");
        }
        foreach (int s in sources)
        {
            if (s < 0 || s >= oldWidth)
            {
                throw new ArgumentOutOfRangeException(nameof(sources), s, $"{link.Name}: source channel outside 0..{oldWidth - 1}.");
            }
        }
        if (consumerScale is not null && consumerScale.Length != sources.Length)
        {
            throw new ArgumentException($"{link.Name}: {consumerScale.Length} scales for {sources.Length} channels.");
        }
        if (link.Producer.SpectralNorm is not null || link.Consumer.SpectralNorm is not null)
        {
            throw new NotSupportedException($"{link.Name}: resizing spectrally normalised layers is not supported (their power-iteration vectors would have to be re-estimated).");
        }
        if (noiseStd > 0f && noise is null)
        {
            throw new ArgumentException("Symmetry-breaking noise needs a random stream.", nameof(noise));
        }

        var accelerator = link.Producer.Weight.Accelerator;
        var remaps = new List<ParameterRemap>();
        using var noGrad = Autograd.NoGrad();
        using var scope = new TensorScope(accelerator);
        var index = Tensor.FromHost(accelerator, [.. sources.Select(s => (float)s)], sources.Length);

        // Producer: output filters (+ noise on repeated copies) and bias.
        var producer = link.Producer;
        var w = Functional.IndexSelect(producer.Weight, producer.OutputAxis, index);
        if (noiseStd > 0f)
        {
            var repeated = new float[sources.Length];
            var seen = new HashSet<int>();
            for (int j = 0; j < sources.Length; j++)
            {
                repeated[j] = seen.Add(sources[j]) ? 0f : 1f;
            }
            var n = Tensor.Empty(accelerator, w.ShapeArray());
            Philox.Normal(n.Stream, noise!.Seed, noise.Reserve(n.Length), n.DenseView, n.Length, 0f, noiseStd);
            var mask = Tensor.FromHost(accelerator, repeated, AxisShape(w.Rank, producer.OutputAxis, sources.Length));
            w = w + (n * mask);
        }
        remaps.Add(Replace(producer.Weight, w, producer.OutputAxis, sources, p => producer.Weight = p));
        if (producer.Bias is { } bias)
        {
            remaps.Add(Replace(bias, Functional.IndexSelect(bias, 0, index), 0, sources, p => producer.Bias = p));
        }

        // BatchNorm over the channels: affine parameters and running statistics, per channel.
        if (link.Norm is { } bn)
        {
            remaps.Add(Replace(bn.Weight, Functional.IndexSelect(bn.Weight, 0, index), 0, sources, p => bn.Weight = p));
            remaps.Add(Replace(bn.Bias, Functional.IndexSelect(bn.Bias, 0, index), 0, sources, p => bn.Bias = p));
            var mean = TensorScope.Own(Functional.IndexSelect(bn.RunningMean, 0, index));
            var variance = TensorScope.Own(Functional.IndexSelect(bn.RunningVar, 0, index));
            bn.RunningMean.Dispose();
            bn.RunningVar.Dispose();
            bn.RunningMean = mean;
            bn.RunningVar = variance;
        }

        // Consumer: input slices, scaled.
        var consumer = link.Consumer;
        var c = Functional.IndexSelect(consumer.Weight, consumer.InputAxis, index);
        if (consumerScale is not null)
        {
            var factor = Tensor.FromHost(accelerator, consumerScale, AxisShape(c.Rank, consumer.InputAxis, sources.Length));
            c = c * factor;
        }
        remaps.Add(Replace(consumer.Weight, c, consumer.InputAxis, sources, p => consumer.Weight = p));
        return remaps;
    }

    /// <summary>
    /// Sources for widening to <paramref name="newWidth"/>: every old channel keeps its place, and the new
    /// channels copy old ones: all of them in turn (<see cref="FilterSelection.All"/>, SP-GAN's
    /// concatenation when the width doubles), or those of highest L1 norm first.
    /// </summary>
    public static int[] GrowthSources(int oldWidth, int newWidth, FilterSelection selection, IReadOnlyList<double>? scores = null)
    {
        if (newWidth < oldWidth)
        {
            throw new ArgumentException($"Growth to {newWidth} channels from {oldWidth} would shrink the layer.");
        }
        int[] order = selection == FilterSelection.All
            ? [.. Enumerable.Range(0, oldWidth)]
            : [.. Enumerable.Range(0, oldWidth).OrderByDescending(i => (scores ?? throw new ArgumentException("L1 selection needs the filter scores."))[i]).ThenBy(i => i)];
        var sources = new int[newWidth];
        for (int j = 0; j < newWidth; j++)
        {
            sources[j] = j < oldWidth ? j : order[(j - oldWidth) % oldWidth];
        }
        return sources;
    }

    /// <summary>Net2Wider's consumer scale: 1 / (number of copies of the source channel).</summary>
    public static float[] FunctionPreservingScale(int[] sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var copies = new Dictionary<int, int>();
        foreach (int s in sources)
        {
            copies[s] = copies.GetValueOrDefault(s) + 1;
        }
        return [.. sources.Select(s => 1f / copies[s])];
    }

    /// <summary>The channels kept when pruning to <paramref name="keep"/>: those of highest score, in their original order.</summary>
    public static int[] PruneSources(IReadOnlyList<double> scores, int keep)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (keep < 1 || keep > scores.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(keep), keep, $"Keep between 1 and {scores.Count} channels.");
        }
        return [.. Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(keep).Order()];
    }

    private static ParameterRemap Replace(Parameter old, Tensor value, int axis, int[] sources, Action<Parameter> set)
    {
        var p = Parameter.From(value);
        set(p);
        return new ParameterRemap(old, p, axis, sources);
    }

    private static int[] AxisShape(int rank, int axis, int length)
    {
        var shape = Enumerable.Repeat(1, rank).ToArray();
        shape[axis] = length;
        return shape;
    }
}

/// <summary>Which filters growth copies.</summary>
public enum FilterSelection
{
    /// <summary>Every filter in turn (doubling copies each once: SP-GAN's kernel concatenation).</summary>
    All,

    /// <summary>Filters of highest L1 norm first.</summary>
    HighestL1,
}
