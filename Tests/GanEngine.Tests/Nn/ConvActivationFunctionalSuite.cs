using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Nn;
using GanEngine.Ops;
using GanEngine.Tensors;
using GanEngine.Tests.Ops;
using NUnit.Framework;

namespace GanEngine.Tests.Nn;

/// <summary>
/// <c>Functional.Conv2d(..., activation)</c> against <c>Functional.Conv2d</c> followed by the separate activation op on the same
/// inputs: one autograd node instead of two and the same values and gradients bit for bit (the fused forward applies the same
/// comparison to the same float; the backward gates the upstream gradient by the output's sign, which is the pre-activation's
/// for a slope &gt;= 0, then runs the same convolution kernels). 3 input channels take the narrow kernel's fused epilogue on
/// the GPU accelerators, 6 the GEMM kernel and an in-place pass; the CPU accelerator runs the direct kernel and the pass.
/// </summary>
public abstract class ConvActivationFunctionalSuite : FunctionalOpsTestBase
{
    [TestCase(FusedActivation.LeakyRelu, 0.2f, 3, true)]
    [TestCase(FusedActivation.Relu, 0.01f, 3, false)]
    [TestCase(FusedActivation.LeakyRelu, 0.2f, 6, false)]
    [TestCase(FusedActivation.LeakyRelu, 0f, 2, true)]
    public void FusedEqualsConvThenActivation(FusedActivation activation, float slope, int inChannels, bool bias)
    {
        Compare(new Random(800 + (int)activation + inChannels), activation, slope, inChannels, bias, inputGrad: true, parameterGrad: true);
    }

    [TestCase(true, false)]
    [TestCase(false, true)]
    public void PartlyWithoutGrad_FusedEqualsConvThenActivation(bool inputGrad, bool parameterGrad)
    {
        Compare(new Random(900 + (inputGrad ? 1 : 0)), FusedActivation.LeakyRelu, 0.2f, 3, true, inputGrad, parameterGrad);
    }

    [Test]
    public void NegativeSlope_IsRefused()
    {
        using var x = Tensor.FromHost(Acc, RandomFloats(new Random(1), 2 * 3 * 4 * 4), [2, 3, 4, 4]);
        using var w = Tensor.FromHost(Acc, RandomFloats(new Random(2), 5 * 3 * 3 * 3), [5, 3, 3, 3]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Conv2d(x, w, activation: FusedActivation.LeakyRelu, negativeSlope: -0.1f).Dispose());
        Assert.That(e!.Message, Does.Contain("slope >= 0"));
    }

    private void Compare(Random rng, FusedActivation activation, float slope, int inChannels, bool hasBias, bool inputGrad, bool parameterGrad)
    {
        int[] xShape = [3, inChannels, 9, 7], wShape = [20, inChannels, 4, 4];
        float[] x = RandomFloats(rng, 3 * inChannels * 9 * 7), w = RandomFloats(rng, 20 * inChannels * 16), b = RandomFloats(rng, 20, -0.5, 0.5);
        float[] upstream = RandomFloats(rng, 3 * 20 * 4 * 3);
        var fused = Run(x, w, hasBias ? b : null, upstream, xShape, wShape, inputGrad, parameterGrad, (px, pw, pb) =>
            Functional.Conv2d(px, pw, pb, stride: 2, padding: 1, activation: activation, negativeSlope: slope));
        var separate = Run(x, w, hasBias ? b : null, upstream, xShape, wShape, inputGrad, parameterGrad, (px, pw, pb) =>
        {
            using var z = Functional.Conv2d(px, pw, pb, stride: 2, padding: 1);
            return activation == FusedActivation.Relu ? z.Relu() : z.LeakyRelu(slope);
        });
        Assert.That(fused.Node, Is.EqualTo(activation == FusedActivation.Relu ? "Conv2dRelu" : "Conv2dLeakyRelu"), "one node for convolution and activation");
        Assert.That(separate.Y.Count(v => v > 0), Is.InRange(separate.Y.Length / 5, separate.Y.Length * 4 / 5), "both sides of 0 exercised");
        Assert.That(fused.Y, Is.EqualTo(separate.Y), "values, bit for bit");
        Assert.That(fused.Dx is null, Is.EqualTo(!inputGrad), "input gradient present iff required");
        Assert.That(fused.Dw is null, Is.EqualTo(!parameterGrad), "weight gradient present iff required");
        Assert.That(fused.Dx, Is.EqualTo(separate.Dx), "dx, bit for bit");
        Assert.That(fused.Dw, Is.EqualTo(separate.Dw), "dw, bit for bit");
        Assert.That(fused.Db, Is.EqualTo(separate.Db), "db, bit for bit");
    }

    private sealed record Outcome(string Node, float[] Y, float[]? Dx, float[]? Dw, float[]? Db);

    private Outcome Run(float[] x, float[] w, float[]? b, float[] upstream, int[] xShape, int[] wShape, bool inputGrad, bool parameterGrad,
        Func<Tensor, Tensor, Tensor?, Tensor> forward)
    {
        using var px = inputGrad ? Parameter.FromHost(Acc, x, xShape) : Tensor.FromHost(Acc, x, xShape);
        using var pw = parameterGrad ? Parameter.FromHost(Acc, w, wShape) : Tensor.FromHost(Acc, w, wShape);
        using var pb = b is null ? null : parameterGrad ? Parameter.FromHost(Acc, b, b.Length) : Tensor.FromHost(Acc, b, b.Length);
        string node;
        float[] y;
        using (var scope = new TensorScope(Acc))
        {
            var output = forward(px, pw, pb);
            node = output.GradFn?.Name ?? "";
            y = output.ToHost();
            BackwardWith(output, upstream);
        }
        return new Outcome(node, y, inputGrad ? px.Grad!.ToHost() : null, parameterGrad ? pw.Grad!.ToHost() : null,
            parameterGrad && pb is not null ? pb.Grad!.ToHost() : null);
    }
}

[TestFixture]
public sealed class CpuConvActivationFunctional : ConvActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicConvActivationFunctional : ConvActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClConvActivationFunctional(string platform) : ConvActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaConvActivationFunctional : ConvActivationFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
