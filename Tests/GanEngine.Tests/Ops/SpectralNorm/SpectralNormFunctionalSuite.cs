using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Nn;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.SpectralNorm;

/// <summary>
/// <see cref="Functional.SpectralNorm"/> on tensors: the forward (training: one power iteration
/// updating u and v in place; evaluation: none) against <see cref="SpectralNormReference"/>, and
/// the weight gradient against the reference backward and against float64 central differences of
/// the whole map W -> W / sigma(W) with u and v fixed at the values the forward used.
/// </summary>
public abstract class SpectralNormFunctionalSuite : FunctionalOpsTestBase
{
    private static readonly int[][] Shapes = [[1, 5], [7, 13], [6, 3, 3, 3], [40, 9]];

    private static (float[] W, float[] U, float[] V) Inputs(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var w = RandomFloats(rng, rows * cols);
        var u = SpectralNormReference.Normalize(D(RandomFloats(rng, rows))).Select(x => (float)x).ToArray();
        var v = SpectralNormReference.Normalize(D(RandomFloats(rng, cols))).Select(x => (float)x).ToArray();
        return (w, u, v);
    }

    [Test]
    public void Forward_MatchesReference_AndUpdatesVectorsOnlyInTraining([Range(0, 3)] int shapeIndex, [Values] bool training)
    {
        int[] shape = Shapes[shapeIndex];
        int rows = shape[0], cols = shape.Skip(1).Aggregate(1, (a, b) => a * b);
        var (w, u0, v0) = Inputs(rows, cols, (shapeIndex * 2) + (training ? 1 : 0));
        double[] u = D(u0), v = D(v0);
        var (expected, _) = SpectralNormReference.Forward(D(w), rows, cols, u, v, training ? 1 : 0);
        using var scope = new TensorScope(Acc);
        var weight = Tensor.FromHost(Acc, w, shape);
        var tu = Tensor.FromHost(Acc, u0, rows);
        var tv = Tensor.FromHost(Acc, v0, cols);
        var y = Functional.SpectralNorm(weight, tu, tv, training);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Assert.That(y.RequiresGrad, Is.False, "no graph for a weight that does not require grad");
        AssertClose(y.ToHost(), expected, "W / sigma", 2e-5);
        AssertClose(tu.ToHost(), u, "u", 2e-5);
        AssertClose(tv.ToHost(), v, "v", 2e-5);
        if (!training)
        {
            Assert.That(tu.ToHost(), Is.EqualTo(u0), "evaluation leaves u as it was");
            Assert.That(tv.ToHost(), Is.EqualTo(v0), "evaluation leaves v as it was");
        }
    }

    [Test]
    public void Backward_MatchesReferenceAndFiniteDifferences([Range(0, 3)] int shapeIndex, [Values] bool training)
    {
        int[] shape = Shapes[shapeIndex];
        int rows = shape[0], cols = shape.Skip(1).Aggregate(1, (a, b) => a * b);
        var (w, u0, v0) = Inputs(rows, cols, 100 + (shapeIndex * 2) + (training ? 1 : 0));
        var g = RandomFloats(new Random(shapeIndex), rows * cols);
        using var weight = Parameter.FromHost(Acc, w, shape);
        double[] u, v;
        using (var scope = new TensorScope(Acc))
        {
            var tu = Tensor.FromHost(Acc, u0, rows);
            var tv = Tensor.FromHost(Acc, v0, cols);
            var y = Functional.SpectralNorm(weight, tu, tv, training);
            BackwardWith(y, g);
            // The constants of the backward: u and v as this forward left them.
            u = D(tu.ToHost());
            v = D(tv.ToHost());
        }
        var got = weight.Grad!.ToHost();
        AssertClose(got, SpectralNormReference.Backward(D(g), D(w), rows, cols, u, v), "dW vs reference", 2e-5);
        double[] gd = D(g);
        double Loss(double[] x)
        {
            double sigma = SpectralNormReference.Sigma(x, rows, cols, u, v);
            return x.Select((value, k) => value / sigma * gd[k]).Sum();
        }
        AssertClose(got, FiniteDifferences.NumericGradient(Loss, D(w)), "dW vs central differences of W -> W / sigma(W)", 1e-4);
    }

    [Test]
    public void TwoForwardsBeforeBackward_EachUsesItsOwnVectors()
    {
        // A discriminator applied to real, then fake data: the second forward updates u and v again
        // before the backward; each call's gradient must use the vectors of that call.
        const int rows = 8, cols = 12;
        var (w, u0, v0) = Inputs(rows, cols, 500);
        var rng = new Random(501);
        var g1 = RandomFloats(rng, rows * cols);
        var g2 = RandomFloats(rng, rows * cols);
        using var weight = Parameter.FromHost(Acc, w, rows, cols);
        double[] u1, v1, u2, v2;
        using (var scope = new TensorScope(Acc))
        {
            var tu = Tensor.FromHost(Acc, u0, rows);
            var tv = Tensor.FromHost(Acc, v0, cols);
            var y1 = Functional.SpectralNorm(weight, tu, tv, training: true);
            u1 = D(tu.ToHost());
            v1 = D(tv.ToHost());
            var y2 = Functional.SpectralNorm(weight, tu, tv, training: true);
            u2 = D(tu.ToHost());
            v2 = D(tv.ToHost());
            var loss = (y1 * Tensor.FromHost(Acc, g1, rows, cols)).Sum() + (y2 * Tensor.FromHost(Acc, g2, rows, cols)).Sum();
            loss.Backward();
        }
        var expected1 = SpectralNormReference.Backward(D(g1), D(w), rows, cols, u1, v1);
        var expected2 = SpectralNormReference.Backward(D(g2), D(w), rows, cols, u2, v2);
        AssertClose(weight.Grad!.ToHost(), expected1.Select((x, i) => x + expected2[i]).ToArray(), "dW of two calls", 2e-5);
    }

    [Test]
    public void InvalidVectors_ThrowArgumentException()
    {
        using var scope = new TensorScope(Acc);
        var weight = Tensor.FromHost(Acc, RandomFloats(new Random(2), 12), 3, 4);
        var u = Tensor.FromHost(Acc, RandomFloats(new Random(3), 3), 3);
        var v = Tensor.FromHost(Acc, RandomFloats(new Random(4), 4), 4);
        Assert.Throws<ArgumentException>(() => Functional.SpectralNorm(weight, v, v, training: true), "u of the wrong length");
        Assert.Throws<ArgumentException>(() => Functional.SpectralNorm(weight, u, u, training: true), "v of the wrong length");
        Assert.Throws<ArgumentException>(() => Functional.SpectralNorm(weight.Transpose(0, 1), v, u, training: true), "not contiguous");
    }
}

[TestFixture]
public sealed class CpuSpectralNormFunctional : SpectralNormFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicSpectralNormFunctional : SpectralNormFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClSpectralNormFunctional(string platform) : SpectralNormFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaSpectralNormFunctional : SpectralNormFunctionalSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
