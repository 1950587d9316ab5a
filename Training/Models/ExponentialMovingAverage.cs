using GanEngine.Ops.Optim;

namespace GanEngine.Training.Models;

/// <summary>
/// An exponential moving average of G's weights (Karras et al.; Yazici et al. 2019): a second generator
/// whose parameters follow <c>ema = decay * ema + (1 - decay) * w</c> after every G step, one fused kernel
/// per parameter on the device. Buffers (BatchNorm running statistics, spectral-norm vectors) are copied,
/// not averaged, as StyleGAN's implementation does. Samples and metrics can use either generator.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly Generator _source;

    /// <param name="source">The trained generator.</param>
    /// <param name="copy">A generator of the same architecture (its values are overwritten).</param>
    /// <param name="decay">The decay per step, in [0, 1).</param>
    public ExponentialMovingAverage(Generator source, Generator copy, float decay)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(copy);
        if (!(decay >= 0f && decay < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "The EMA decay must be in [0, 1).");
        }
        _source = source;
        Model = copy;
        Decay = decay;
        Model.SetRequiresGrad(false);
        Model.CopyStateFrom(source);
    }

    /// <summary>The averaged generator.</summary>
    public Generator Model { get; }

    public float Decay { get; }

    /// <summary>Restarts the average at the source's current weights.</summary>
    public void Reset() => Model.CopyStateFrom(_source);

    /// <summary>One averaging step (stream ordered, no synchronisation).</summary>
    public void Update()
    {
        var mine = Model.NamedParameters().ToList();
        var theirs = _source.NamedParameters().ToList();
        for (int i = 0; i < mine.Count; i++)
        {
            var e = mine[i].Parameter;
            var w = theirs[i].Parameter;
            Optimizers.Ema(e.Stream, e.DenseView, w.DenseView, e.Length, Decay);
        }
        foreach (var ((_, e), (_, w)) in Model.NamedBuffers().Zip(_source.NamedBuffers()))
        {
            e.CopyFrom(w);
        }
    }

    public void Dispose() => Model.Dispose();
}
