using GanEngine.Ops;
using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Nn;
using GanEngine.Ops.Norm;
using GanEngine.Tensors;
using GanEngine.Tests.Ops;
using NUnit.Framework;

namespace GanEngine.Tests.Nn;

/// <summary>
/// <c>Functional.BatchNorm2d(..., activation)</c> against <c>Functional.BatchNorm2d</c> followed by the
/// separate activation op on the same inputs: one autograd node instead of two, the same values (bit
/// for bit: the same floats go through the same comparisons), the same running statistics, and the
/// same gradients to 1e-5, also when some inputs need no gradient, and in evaluation mode.
/// </summary>
public abstract class BatchNormActivationFunctionalSuite : FunctionalOpsTestBase
{
    private static readonly object[] Cases =
    [
        new object[] { FusedActivation.Relu, 0.01f, 4, 6, 5, 7 },
        new object[] { FusedActivation.LeakyRelu, 0.2f, 4, 6, 5, 7 },
        new object[] { FusedActivation.LeakyRelu, 0.01f, 3, 2, 9, 11 },
        new object[] { FusedActivation.Relu, 0.01f, 8, 3, 1, 1 },
    ];

    [TestCaseSource(nameof(Cases))]
    public void Training_FusedEqualsBatchNormThenActivation(FusedActivation activation, float slope, int n, int c, int h, int w)
    {
        Compare(new Random(500 + (int)activation + n + c), activation, slope, [n, c, h, w], inputGrad: true, parameterGrad: true);
    }

    [TestCase(FusedActivation.Relu, true, false)]
    [TestCase(FusedActivation.LeakyRelu, true, false)]
    [TestCase(FusedActivation.Relu, false, true)]
    [TestCase(FusedActivation.LeakyRelu, false, true)]
    public void Training_PartlyWithoutGrad_FusedEqualsBatchNormThenActivation(FusedActivation activation, bool inputGrad, bool parameterGrad)
    {
        Compare(new Random(600 + (int)activation + (inputGrad ? 1 : 0)), activation, 0.2f, [3, 4, 5, 6], inputGrad, parameterGrad);
    }

    [TestCase(FusedActivation.Relu)]
    [TestCase(FusedActivation.LeakyRelu)]
    public void Eval_FusedEqualsBatchNormThenActivation(FusedActivation activation)
    {
        var rng = new Random(700 + (int)activation);
        int[] shape = [3, 4, 5, 6];
        using var x = Tensor.FromHost(Acc, Channelled(rng, shape), shape);
        using var gamma = Tensor.FromHost(Acc, RandomFloats(rng, 4, 0.5, 1.5), 4);
        using var beta = Tensor.FromHost(Acc, RandomFloats(rng, 4, -1, 1), 4);
        using var rm = Tensor.FromHost(Acc, RandomFloats(rng, 4, -2, 2), 4);
        using var rv = Tensor.FromHost(Acc, RandomFloats(rng, 4, 0.2, 3), 4);
        using var fused = Functional.BatchNorm2d(x, rm, rv, gamma, beta, training: false, activation: activation, negativeSlope: 0.2f);
        using var plain = Functional.BatchNorm2d(x, rm, rv, gamma, beta, training: false);
        using var separate = Apply(plain, activation, 0.2f);
        var expected = separate.ToHost();
        Assert.That(expected.Count(v => v > 0), Is.InRange(expected.Length / 10, expected.Length * 9 / 10), "both sides of 0 exercised");
        Assert.That(fused.ToHost(), Is.EqualTo(expected), "eval values, bit for bit");
    }

    private void Compare(Random rng, FusedActivation activation, float slope, int[] shape, bool inputGrad, bool parameterGrad)
    {
        int c = shape[1];
        float[] x = Channelled(rng, shape), gamma = RandomFloats(rng, c, 0.5, 1.5), beta = RandomFloats(rng, c, -1, 1);
        float[] upstream = RandomFloats(rng, x.Length);
        var fused = Run(x, gamma, beta, upstream, shape, inputGrad, parameterGrad, p =>
            Functional.BatchNorm2d(p.X, p.Rm, p.Rv, p.Gamma, p.Beta, training: true, activation: activation, negativeSlope: slope));
        var separate = Run(x, gamma, beta, upstream, shape, inputGrad, parameterGrad, p =>
            Apply(Functional.BatchNorm2d(p.X, p.Rm, p.Rv, p.Gamma, p.Beta, training: true), activation, slope));

        string expectedNode = activation == FusedActivation.Relu ? "BatchNorm2dRelu" : "BatchNorm2dLeakyRelu";
        Assert.That(fused.Node, Is.EqualTo(expectedNode), "one node for BatchNorm and activation");
        Assert.That(fused.NodeReadsInput, Is.True, "the node's first input is the BatchNorm input");
        Assert.That(separate.Y.Count(v => v > 0), Is.InRange(x.Length / 10, x.Length * 9 / 10), "both sides of 0 exercised");
        Assert.That(fused.Y, Is.EqualTo(separate.Y), "values, bit for bit");
        Assert.That(fused.RunningMean, Is.EqualTo(separate.RunningMean), "running mean");
        Assert.That(fused.RunningVar, Is.EqualTo(separate.RunningVar), "running variance");
        Assert.That(fused.Dx is null, Is.EqualTo(!inputGrad), "input gradient present iff required");
        Assert.That(fused.Dgamma is null, Is.EqualTo(!parameterGrad), "parameter gradients present iff required");
        if (inputGrad)
        {
            AssertClose(fused.Dx!, D(separate.Dx!), "dx");
        }
        if (parameterGrad)
        {
            AssertClose(fused.Dgamma!, D(separate.Dgamma!), "dgamma");
            AssertClose(fused.Dbeta!, D(separate.Dbeta!), "dbeta");
        }
    }

    private sealed record Inputs(Tensor X, Tensor Gamma, Tensor Beta, Tensor Rm, Tensor Rv);

    private sealed record Outcome(string Node, bool NodeReadsInput, float[] Y, float[] RunningMean, float[] RunningVar, float[]? Dx, float[]? Dgamma, float[]? Dbeta);

    private Outcome Run(float[] x, float[] gamma, float[] beta, float[] upstream, int[] shape, bool inputGrad, bool parameterGrad, Func<Inputs, Tensor> forward)
    {
        int c = shape[1];
        using var px = inputGrad ? Parameter.FromHost(Acc, x, shape) : Tensor.FromHost(Acc, x, shape);
        using var pg = parameterGrad ? Parameter.FromHost(Acc, gamma, c) : Tensor.FromHost(Acc, gamma, c);
        using var pb = parameterGrad ? Parameter.FromHost(Acc, beta, c) : Tensor.FromHost(Acc, beta, c);
        using var rm = Tensor.Zeros(Acc, [c]);
        using var rv = Tensor.Ones(Acc, [c]);
        string node;
        bool readsInput;
        float[] y;
        using (var scope = new TensorScope(Acc))
        {
            var output = forward(new Inputs(px, pg, pb, rm, rv));
            node = output.GradFn?.Name ?? "";
            readsInput = output.GradFn is { } fn && ReferenceEquals(fn.Inputs[0], px);
            y = output.ToHost();
            BackwardWith(output, upstream);
        }
        return new Outcome(node, readsInput, y, rm.ToHost(), rv.ToHost(),
            inputGrad ? px.Grad!.ToHost() : null, parameterGrad ? pg.Grad!.ToHost() : null, parameterGrad ? pb.Grad!.ToHost() : null);
    }

    private static Tensor Apply(Tensor t, FusedActivation activation, float slope) =>
        activation == FusedActivation.Relu ? t.Relu() : t.LeakyRelu(slope);

    // Channel offsets up to 4 deviations, as the raw-op suite: the statistics matter.
    private static float[] Channelled(Random rng, int[] shape)
    {
        int c = shape[1], hw = shape[2] * shape[3];
        var offsets = RandomFloats(rng, c, -4, 4);
        var v = RandomFloats(rng, shape[0] * c * hw);
        for (int i = 0; i < v.Length; i++)
        {
            v[i] += offsets[(i / hw) % c];
        }
        return v;
    }
}

[TestFixture]
public sealed class CpuBatchNormActivationFunctional : BatchNormActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicBatchNormActivationFunctional : BatchNormActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClBatchNormActivationFunctional(string platform) : BatchNormActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaBatchNormActivationFunctional : BatchNormActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
