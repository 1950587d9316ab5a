using GanEngine.Kernels;
using GanEngine.Ops.Rng;

namespace GanEngine.Ops.Init;

/// <summary>Which fan Kaiming initialisation preserves (torch's <c>mode</c>).</summary>
public enum FanMode
{
    /// <summary>Preserve the variance of the forward pass (PyTorch's default).</summary>
    FanIn,
    /// <summary>Preserve the variance of the backward pass.</summary>
    FanOut,
}

/// <summary>Nonlinearities known to <see cref="Initializers.CalculateGain"/> (torch.nn.init.calculate_gain).</summary>
public enum Nonlinearity
{
    /// <summary>Gain 1 (also conv1d/2d/3d and their transposes).</summary>
    Linear,
    /// <summary>Gain 1.</summary>
    Sigmoid,
    /// <summary>Gain 5/3.</summary>
    Tanh,
    /// <summary>Gain sqrt(2).</summary>
    Relu,
    /// <summary>Gain sqrt(2 / (1 + slope^2)), slope 0.01 unless given.</summary>
    LeakyRelu,
    /// <summary>Gain 3/4.</summary>
    Selu,
}

/// <summary>
/// Weight initialisers as raw ops (torch.nn.init semantics) on a float view holding a tensor of the
/// given shape: linear weights (out, in), conv weights (out, in, kh, kw). Random draws use the
/// device Philox stream (<see cref="Philox"/>) from (seed, offset), so a given seed gives the same
/// weights on every accelerator. The fans and gains are computed on the host in float64.
/// </summary>
public static class Initializers
{
    /// <summary>torch.nn.init._calculate_fan_in_and_fan_out: for a shape (out, in, k...),
    /// fan_in = in * prod(k), fan_out = out * prod(k). Needs at least 2 dimensions.</summary>
    public static (long FanIn, long FanOut) Fans(ReadOnlySpan<int> shape)
    {
        if (shape.Length < 2)
        {
            throw new ArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions", nameof(shape));
        }
        long receptive = 1;
        for (int d = 2; d < shape.Length; d++)
        {
            receptive *= shape[d];
        }
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>torch.nn.init.calculate_gain. <paramref name="param"/> is the negative slope of
    /// <see cref="Nonlinearity.LeakyRelu"/> (0.01 when null); ignored otherwise.</summary>
    public static double CalculateGain(Nonlinearity nonlinearity, double? param = null) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3.0,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1.0 + ((param ?? 0.01) * (param ?? 0.01)))),
        Nonlinearity.Selu => 3.0 / 4.0,
        _ => throw new ArgumentException($"Unsupported nonlinearity {nonlinearity}", nameof(nonlinearity)),
    };

    /// <summary>The standard deviation of Xavier (Glorot) initialisation: gain * sqrt(2 / (fan_in + fan_out)).</summary>
    public static double XavierStd(ReadOnlySpan<int> shape, double gain = 1.0)
    {
        var (fanIn, fanOut) = Fans(shape);
        return gain * Math.Sqrt(2.0 / (fanIn + fanOut));
    }

    /// <summary>The standard deviation of Kaiming (He) initialisation: calculate_gain(nonlinearity, a) / sqrt(fan).</summary>
    public static double KaimingStd(ReadOnlySpan<int> shape, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        var (fanIn, fanOut) = Fans(shape);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new ArgumentException("Initializing zero-element tensors is a no-op", nameof(shape));
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>torch.nn.init.normal_(mean=0, std=1) on n elements.</summary>
    public static void Normal(IKernelLauncher launcher, ArrayView<float> weight, int n, ulong seed, ulong offset, float mean = 0f, float std = 1f) =>
        Philox.Normal(launcher, seed, offset, weight, n, mean, std);

    /// <summary>torch.nn.init.uniform_(a=0, b=1) on n elements.</summary>
    public static void Uniform(IKernelLauncher launcher, ArrayView<float> weight, int n, ulong seed, ulong offset, float a = 0f, float b = 1f) =>
        Philox.Uniform(launcher, seed, offset, weight, n, a, b);

    /// <summary>DCGAN's initialisation of conv / linear weights: normal(0, 0.02).</summary>
    public static void DcganNormal(IKernelLauncher launcher, ArrayView<float> weight, int n, ulong seed, ulong offset) =>
        Philox.Normal(launcher, seed, offset, weight, n, 0f, 0.02f);

    /// <summary>torch.nn.init.xavier_uniform_(gain=1): U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).</summary>
    public static void XavierUniform(IKernelLauncher launcher, ArrayView<float> weight, ReadOnlySpan<int> shape, ulong seed, ulong offset, double gain = 1.0)
    {
        float bound = (float)(Math.Sqrt(3.0) * XavierStd(shape, gain));
        Philox.Uniform(launcher, seed, offset, weight, Count(shape, weight.Length), -bound, bound);
    }

    /// <summary>torch.nn.init.xavier_normal_(gain=1): N(0, gain^2 * 2 / (fan_in + fan_out)).</summary>
    public static void XavierNormal(IKernelLauncher launcher, ArrayView<float> weight, ReadOnlySpan<int> shape, ulong seed, ulong offset, double gain = 1.0) =>
        Philox.Normal(launcher, seed, offset, weight, Count(shape, weight.Length), 0f, (float)XavierStd(shape, gain));

    /// <summary>torch.nn.init.kaiming_uniform_(a=0, mode='fan_in', nonlinearity='leaky_relu'):
    /// U(-b, b), b = gain * sqrt(3 / fan).</summary>
    public static void KaimingUniform(IKernelLauncher launcher, ArrayView<float> weight, ReadOnlySpan<int> shape, ulong seed, ulong offset,
        double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        float bound = (float)(Math.Sqrt(3.0) * KaimingStd(shape, a, mode, nonlinearity));
        Philox.Uniform(launcher, seed, offset, weight, Count(shape, weight.Length), -bound, bound);
    }

    /// <summary>torch.nn.init.kaiming_normal_(a=0, mode='fan_in', nonlinearity='leaky_relu'): N(0, gain^2 / fan).</summary>
    public static void KaimingNormal(IKernelLauncher launcher, ArrayView<float> weight, ReadOnlySpan<int> shape, ulong seed, ulong offset,
        double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        Philox.Normal(launcher, seed, offset, weight, Count(shape, weight.Length), 0f, (float)KaimingStd(shape, a, mode, nonlinearity));

    /// <summary>The element count of <paramref name="shape"/>, checked against the view's length.</summary>
    public static int Count(ReadOnlySpan<int> shape, int viewLength)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension {d}", nameof(shape));
            count *= d;
        }
        if (count > viewLength) throw new ArgumentException($"shape has {count} elements, the view {viewLength}", nameof(viewLength));
        return (int)count;
    }
}
