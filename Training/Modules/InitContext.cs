using GanEngine.Accelerators;
using GanEngine.Ops.Rng;
using GanEngine.Tensors;

namespace GanEngine.Training.Modules;

/// <summary>
/// Where new parameters come from: the accelerator and stream they live on, and the Philox stream
/// their initial values are drawn from. Each initialisation reserves its own word range, so a model
/// built twice from the same seed is bit-identical, on any accelerator (uniform) or to a few ulp (normal).
/// </summary>
public sealed class InitContext(Accelerator accelerator, ulong seed, AcceleratorStream? stream = null)
{
    public Accelerator Accelerator { get; } = accelerator;

    public AcceleratorStream Stream { get; } = stream ?? accelerator.DefaultStream;

    public PhiloxGenerator Random { get; } = new(seed);

    /// <summary>A parameter of <paramref name="shape"/> filled with N(mean, std).</summary>
    public Parameter Normal(int[] shape, float mean, float std)
    {
        using var t = Tensor.Empty(Accelerator, shape, Stream);
        Philox.Normal(Stream, Random.Seed, Random.Reserve(t.Length), t.DenseView, t.Length, mean, std);
        return Parameter.From(t);
    }

    /// <summary>A parameter of <paramref name="shape"/> filled with U(low, high).</summary>
    public Parameter Uniform(int[] shape, float low, float high)
    {
        using var t = Tensor.Empty(Accelerator, shape, Stream);
        Philox.Uniform(Stream, Random.Seed, Random.Reserve(t.Length), t.DenseView, t.Length, low, high);
        return Parameter.From(t);
    }

    /// <summary>A parameter filled with <paramref name="value"/>.</summary>
    public Parameter Constant(int[] shape, float value)
    {
        using var t = Tensor.Full(Accelerator, shape, value, Stream);
        return Parameter.From(t);
    }

    /// <summary>A buffer (not trained) filled with <paramref name="value"/>, owned by the caller.</summary>
    public Tensor Buffer(int[] shape, float value) => TensorScope.Own(Tensor.Full(Accelerator, shape, value, Stream));

    /// <summary>A buffer filled with N(0, 1), owned by the caller.</summary>
    public Tensor NormalBuffer(int[] shape)
    {
        var t = TensorScope.Own(Tensor.Empty(Accelerator, shape, Stream));
        Philox.Normal(Stream, Random.Seed, Random.Reserve(t.Length), t.DenseView, t.Length);
        return t;
    }
}
