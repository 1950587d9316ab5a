using GanEngine.Kernels;
using GanEngine.Ops.Optim;

namespace GanEngine.Training.Models;

/// <summary>
/// An exponential moving average of G's weights (Karras et al.; Yazici et al. 2019): a second generator
/// whose parameters follow <c>ema = decay * ema + (1 - decay) * w</c> after every G step, one fused kernel
/// per parameter on the device. Buffers are not copied every step: the only buffers of our generators are
/// BatchNorm running statistics, which would not match the averaged weights anyway; they are re-estimated
/// from the EMA generator's own activations before it samples (<see cref="StandingStatistics"/>).
/// Samples and metrics can use either generator.
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
        // Several parameters per launch (bit-identical to one Optimizers.Ema each), per run of one stream.
        int first = 0;
        while (first < mine.Count)
        {
            var stream = mine[first].Parameter.Stream;
            int end = first;
            while (end < mine.Count && ReferenceEquals(mine[end].Parameter.Stream, stream))
            {
                end++;
            }
            var emas = new ArrayView<float>[end - first];
            var weights = new ReadOnlyView<float>[end - first];
            for (int i = first; i < end; i++)
            {
                emas[i - first] = mine[i].Parameter.DenseView;
                weights[i - first] = theirs[i].Parameter.DenseView;
            }
            Optimizers.EmaMany(stream, emas, weights, Decay);
            first = end;
        }
    }

    /// <summary>
    /// BigGAN's "standing statistics": the averaged weights do not match the trained G's BatchNorm running
    /// statistics, so before sampling, the EMA generator's statistics are re-estimated from its own
    /// activations: running statistics reset, then <paramref name="passes"/> training-mode forwards of
    /// <paramref name="batch"/> latents each, with momentum 1 / (k + 1) so the result is their exact average.
    /// Latents come from a stream of their own (seed <paramref name="seed"/>): training draws nothing.
    /// </summary>
    public void StandingStatistics(int passes, int batch, ulong seed)
    {
        var norms = Model.NamedModules().Select(m => m.Module).OfType<Modules.BatchNorm2dLayer>().ToList();
        if (norms.Count == 0)
        {
            return;
        }
        var momentum = norms.Select(n => n.Momentum).ToList();
        using var noGrad = Tensors.Autograd.NoGrad();
        var first = Model.Parameters()[0];
        try
        {
            foreach (var n in norms)
            {
                using var scope = new Tensors.TensorScope(first.Accelerator);
                n.RunningMean.CopyFrom(Tensors.Tensor.Zeros(first.Accelerator, [n.Channels], n.RunningMean.Stream));
                n.RunningVar.CopyFrom(Tensors.Tensor.Ones(first.Accelerator, [n.Channels], n.RunningVar.Stream));
            }
            Model.SetTraining(true);
            for (int k = 0; k < passes; k++)
            {
                foreach (var n in norms)
                {
                    n.Momentum = 1f / (k + 1);
                }
                using var scope = new Tensors.TensorScope(first.Accelerator);
                var z = Tensors.Tensor.Empty(first.Accelerator, [batch, Model.Latent], first.Stream);
                Ops.Rng.Philox.Normal(first.Stream, seed, (ulong)k * (ulong)z.Length, z.DenseView, z.Length);
                Model.Forward(z);
            }
        }
        finally
        {
            for (int i = 0; i < norms.Count; i++)
            {
                norms[i].Momentum = momentum[i];
            }
        }
    }

    public void Dispose() => Model.Dispose();
}
