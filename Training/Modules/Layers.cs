using GanEngine.Nn;
using GanEngine.Ops;
using GanEngine.Ops.Norm;
using GanEngine.Ops.SpectralNorm;
using GanEngine.Tensors;

namespace GanEngine.Training.Modules;

// The layers GAN models are built from. Each holds its tensors in replaceable properties: growth and
// pruning (issue 5) swap them for wider or narrower ones, so shapes are always read from the tensors.

/// <summary>Initial values of a weight (PyTorch names).</summary>
public enum WeightInit
{
    /// <summary>N(0, 0.02): DCGAN.</summary>
    DcganNormal,

    /// <summary>xavier_uniform with gain sqrt(2): SNGAN's residual-block convolutions.</summary>
    XavierUniformRelu,

    /// <summary>xavier_uniform with gain 1: SNGAN's shortcuts and output layers.</summary>
    XavierUniform,

    /// <summary>PyTorch's default for conv/linear: kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
    TorchDefault,
}

/// <summary>Shared parts of the weight layers: weight, optional bias, optional spectral normalisation.</summary>
public abstract class WeightLayer : Module
{
    private protected WeightLayer(InitContext init, int[] weightShape, bool bias, WeightInit weightInit, bool spectralNorm)
    {
        Weight = CreateWeight(init, weightShape, weightInit);
        Bias = bias ? init.Constant([BiasLength(weightShape)], 0f) : null;
        if (spectralNorm)
        {
            SpectralNorm = new SpectralNormState(init, weightShape);
        }
    }

    /// <summary>The trained weight (before spectral normalisation).</summary>
    public Parameter Weight { get; internal set; }

    /// <summary>The bias, or null.</summary>
    public Parameter? Bias { get; internal set; }

    /// <summary>The power-iteration vectors when the weight is spectrally normalised, else null.</summary>
    public SpectralNormState? SpectralNorm { get; internal set; }

    protected override IEnumerable<(string Name, Parameter Parameter)> LocalParameters =>
        Bias is null ? [("weight", Weight)] : [("weight", Weight), ("bias", Bias)];

    protected override IEnumerable<(string Name, Tensor Buffer)> LocalBuffers =>
        SpectralNorm is null ? [] : [("weight_u", SpectralNorm.U), ("weight_v", SpectralNorm.V)];

    /// <summary>Length of the bias for this weight shape.</summary>
    private protected abstract int BiasLength(int[] weightShape);

    /// <summary>The weight dimension of the output channels (features): 0, or 1 for transposed convolutions.</summary>
    public abstract int OutputAxis { get; }

    /// <summary>The weight dimension of the input channels (features).</summary>
    public int InputAxis => 1 - OutputAxis;

    /// <summary>Output channels (features).</summary>
    public int OutputWidth => Weight.Size(OutputAxis);

    /// <summary>Input channels (features).</summary>
    public int InputWidth => Weight.Size(InputAxis);

    /// <summary>W / sigma(W) with spectral normalisation (a new tensor, the caller disposes it), else null: apply <see cref="Weight"/>.</summary>
    protected Tensor? SpectralNormalizedWeight() =>
        SpectralNorm is null ? null : Functional.SpectralNorm(Weight, SpectralNorm.U, SpectralNorm.V, IsTraining);

    private static Parameter CreateWeight(InitContext init, int[] shape, WeightInit weightInit)
    {
        long fanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        long fanOut = shape[0] * (shape.Length > 2 ? shape.Skip(2).Aggregate(1L, (a, b) => a * b) : 1L);
        return weightInit switch
        {
            WeightInit.DcganNormal => init.Normal(shape, 0f, 0.02f),
            WeightInit.XavierUniformRelu => XavierUniform(init, shape, fanIn, fanOut, Math.Sqrt(2.0)),
            WeightInit.XavierUniform => XavierUniform(init, shape, fanIn, fanOut, 1.0),
            WeightInit.TorchDefault => init.Uniform(shape, (float)(-1.0 / Math.Sqrt(fanIn)), (float)(1.0 / Math.Sqrt(fanIn))),
            _ => throw new ArgumentOutOfRangeException(nameof(weightInit)),
        };
    }

    private static Parameter XavierUniform(InitContext init, int[] shape, long fanIn, long fanOut, double gain)
    {
        float bound = (float)(gain * Math.Sqrt(6.0 / (fanIn + fanOut)));
        return init.Uniform(shape, -bound, bound);
    }
}

/// <summary>The persistent vectors of spectral normalisation (torch's <c>weight_u</c>, <c>weight_v</c>),
/// initialised as torch does: normalised N(0, 1) draws.</summary>
public sealed class SpectralNormState
{
    internal SpectralNormState(InitContext init, int[] weightShape)
    {
        var shape = SpectralNormShape.FromWeightShape(weightShape);
        U = init.Buffer([shape.Rows], 0f);
        V = init.Buffer([shape.Cols], 0f);
        ulong offset = init.Random.Reserve(((shape.Rows + 3) / 4 * 4) + shape.Cols);
        SpectralNormalization.InitializeVectors(init.Stream, shape, U.DenseView, V.DenseView, init.Random.Seed, offset);
    }

    /// <summary>Left singular vector estimate (rows = output channels).</summary>
    public Tensor U { get; internal set; }

    /// <summary>Right singular vector estimate (cols = the other dims).</summary>
    public Tensor V { get; internal set; }
}

/// <summary><c>nn.Conv2d</c> with square kernel, stride and padding; weight (out, in, k, k).</summary>
public sealed class Conv2dLayer : WeightLayer
{
    public Conv2dLayer(InitContext init, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0,
        bool bias = true, WeightInit weightInit = WeightInit.TorchDefault, bool spectralNorm = false)
        : base(init, [outChannels, inChannels, kernel, kernel], bias, weightInit, spectralNorm)
    {
        Stride = stride;
        Padding = padding;
    }

    public int Stride { get; }

    public int Padding { get; }

    public int InChannels => Weight.Size(1);

    public int OutChannels => Weight.Size(0);

    public int Kernel => Weight.Size(2);

    public Tensor Forward(Tensor x) => Forward(x, FusedActivation.None);

    /// <summary>The convolution followed by <paramref name="activation"/> as one op (see <see cref="Functional.Conv2d"/>).</summary>
    public Tensor Forward(Tensor x, FusedActivation activation, float negativeSlope = 0.01f)
    {
        using var w = SpectralNormalizedWeight();
        return Functional.Conv2d(x, w ?? Weight, Bias, Stride, Padding, activation: activation, negativeSlope: negativeSlope);
    }

    private protected override int BiasLength(int[] weightShape) => weightShape[0];

    public override int OutputAxis => 0;
}

/// <summary><c>nn.ConvTranspose2d</c>; weight (in, out, k, k) as PyTorch stores it.</summary>
public sealed class ConvTranspose2dLayer : WeightLayer
{
    public ConvTranspose2dLayer(InitContext init, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0,
        bool bias = true, WeightInit weightInit = WeightInit.TorchDefault)
        : base(init, [inChannels, outChannels, kernel, kernel], bias, weightInit, spectralNorm: false)
    {
        Stride = stride;
        Padding = padding;
    }

    public int Stride { get; }

    public int Padding { get; }

    public int InChannels => Weight.Size(0);

    public int OutChannels => Weight.Size(1);

    public int Kernel => Weight.Size(2);

    public Tensor Forward(Tensor x) => Functional.ConvTranspose2d(x, Weight, Bias, Stride, Padding);

    private protected override int BiasLength(int[] weightShape) => weightShape[1];

    public override int OutputAxis => 1;
}

/// <summary><c>nn.Linear</c>; weight (out, in).</summary>
public sealed class LinearLayer : WeightLayer
{
    public LinearLayer(InitContext init, int inFeatures, int outFeatures, bool bias = true,
        WeightInit weightInit = WeightInit.TorchDefault, bool spectralNorm = false)
        : base(init, [outFeatures, inFeatures], bias, weightInit, spectralNorm)
    {
    }

    public int InFeatures => Weight.Size(1);

    public int OutFeatures => Weight.Size(0);

    public Tensor Forward(Tensor x)
    {
        using var w = SpectralNormalizedWeight();
        return Functional.Linear(x, w ?? Weight, Bias);
    }

    private protected override int BiasLength(int[] weightShape) => weightShape[0];

    public override int OutputAxis => 0;
}

/// <summary><c>nn.BatchNorm2d</c> (affine, running statistics, momentum 0.1, eps 1e-5 by default).</summary>
public sealed class BatchNorm2dLayer : Module
{
    public BatchNorm2dLayer(InitContext init, int channels, float momentum = 0.1f, float eps = 1e-5f, bool dcganInit = false)
    {
        ArgumentNullException.ThrowIfNull(init);
        Weight = dcganInit ? init.Normal([channels], 1f, 0.02f) : init.Constant([channels], 1f);
        Bias = init.Constant([channels], 0f);
        RunningMean = init.Buffer([channels], 0f);
        RunningVar = init.Buffer([channels], 1f);
        Momentum = momentum;
        Eps = eps;
    }

    public Parameter Weight { get; internal set; }

    public Parameter Bias { get; internal set; }

    public Tensor RunningMean { get; internal set; }

    public Tensor RunningVar { get; internal set; }

    /// <summary>Running-statistics momentum (settable: standing statistics average with 1 / (k + 1)).</summary>
    public float Momentum { get; internal set; }

    public float Eps { get; }

    public int Channels => Weight.Length;

    protected override IEnumerable<(string Name, Parameter Parameter)> LocalParameters => [("weight", Weight), ("bias", Bias)];

    protected override IEnumerable<(string Name, Tensor Buffer)> LocalBuffers => [("running_mean", RunningMean), ("running_var", RunningVar)];

    public Tensor Forward(Tensor x) => Functional.BatchNorm2d(x, RunningMean, RunningVar, Weight, Bias, IsTraining, Momentum, Eps);

    /// <summary>This BatchNorm and the activation after it as one fused op (one pass over the tensor fewer
    /// each way than <c>Forward(x).Relu()</c>, same values). The activation is the caller's, not state:
    /// checkpoints, growth and pruning see the same parameters and buffers.</summary>
    public Tensor Forward(Tensor x, FusedActivation activation, float negativeSlope = BatchNorm2d.DefaultNegativeSlope) =>
        Functional.BatchNorm2d(x, RunningMean, RunningVar, Weight, Bias, IsTraining, Momentum, Eps, activation, negativeSlope);
}
