using GanEngine.Tensors;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Architecture;

/// <summary>Importance of a layer's output filters, for pruning and for choosing which filters growth copies.</summary>
public static class FilterScores
{
    /// <summary>
    /// The L1 norm of each output filter, <c>sum |W[j, ...]|</c> (over every axis but the output one),
    /// optionally times <c>|gamma_j|</c> of the BatchNorm that follows (network slimming's channel scale).
    /// Computed on the device; the scores come back to the host (a synchronisation: architecture changes
    /// decide tensor sizes on the host, and happen a handful of times per run).
    /// </summary>
    public static double[] L1(WeightLayer layer, BatchNorm2dLayer? scaleByGamma = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        using var noGrad = Autograd.NoGrad();
        using var scope = new TensorScope(layer.Weight.Accelerator);
        var w = layer.Weight;
        var abs = w.Relu() + w.Neg().Relu();
        int[] dims = [.. Enumerable.Range(0, w.Rank).Where(d => d != layer.OutputAxis)];
        var score = abs.Sum(dims);
        if (scaleByGamma is not null)
        {
            var g = scaleByGamma.Weight;
            score = score * (g.Relu() + g.Neg().Relu());
        }
        return [.. score.ToHost().Select(v => (double)v)];
    }
}
