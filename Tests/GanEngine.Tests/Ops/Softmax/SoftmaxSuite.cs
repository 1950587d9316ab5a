using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Nn;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Softmax;

/// <summary>The float64 backward references of softmax, log-softmax and cross-entropy against
/// central differences of their forward references.</summary>
[TestFixture]
public sealed class SoftmaxReferenceTests
{
    [Test]
    public void SoftmaxBackward_MatchesFiniteDifferences([Values] bool log)
    {
        const int rows = 3, cols = 5;
        var rng = new Random(log ? 1 : 2);
        var x = Enumerable.Range(0, rows * cols).Select(_ => (4 * rng.NextDouble()) - 2).ToArray();
        var g = Enumerable.Range(0, rows * cols).Select(_ => rng.NextDouble() - 0.5).ToArray();
        FiniteDifferences.Check(v => FiniteDifferences.Dot(SoftmaxReference.Forward(v, rows, cols, log), g), x,
            SoftmaxReference.Backward(x, g, rows, cols, log), log ? "log_softmax" : "softmax");
    }

    [Test]
    public void CrossEntropy_GradientMatchesFiniteDifferences_AndLossMatchesLogSoftmax()
    {
        const int rows = 4, cols = 6;
        var rng = new Random(3);
        var x = Enumerable.Range(0, rows * cols).Select(_ => (4 * rng.NextDouble()) - 2).ToArray();
        double[] targets = [5, 0, 2, 2];
        var (loss, grad) = SoftmaxReference.CrossEntropy(x, targets, rows, cols);
        FiniteDifferences.Check(v => SoftmaxReference.CrossEntropy(v, targets, rows, cols).Loss, x, grad, "cross-entropy");
        var logp = SoftmaxReference.Forward(x, rows, cols, log: true);
        double nll = -Enumerable.Range(0, rows).Sum(r => logp[(r * cols) + (int)targets[r]]) / rows;
        Assert.That(loss, Is.EqualTo(nll).Within(1e-12), "cross_entropy = nll_loss(log_softmax)");
    }
}

/// <summary><see cref="Functional.Softmax"/>, <see cref="Functional.LogSoftmax"/> and
/// <see cref="Functional.CrossEntropy"/> (forward and backward through autograd) against the float64
/// references, on shapes smaller and larger than a block, including logits that overflow exp unless
/// the maximum is subtracted.</summary>
public abstract class SoftmaxSuite : FunctionalOpsTestBase
{
    private static readonly (int Rows, int Cols)[] Shapes = [(1, 1), (4, 10), (3, 257), (37, 5), (2, 1000)];

    [Test]
    public void SoftmaxAndLogSoftmax_ForwardAndBackward_MatchReference([Values] bool log, [Range(0, 4)] int shapeIndex)
    {
        var (rows, cols) = Shapes[shapeIndex];
        var rng = new Random((shapeIndex * 2) + (log ? 1 : 0));
        var x = RandomFloats(rng, rows * cols, -3, 3);
        var g = RandomFloats(rng, rows * cols);
        using var px = Parameter.FromHost(Acc, x, rows, cols);
        using (var scope = new TensorScope(Acc))
        {
            var y = log ? Functional.LogSoftmax(px) : Functional.Softmax(px);
            AssertClose(y.ToHost(), SoftmaxReference.Forward(D(x), rows, cols, log), "forward");
            BackwardWith(y, g);
        }
        var expected = SoftmaxReference.Backward(D(x), D(g), rows, cols, log);
        if (cols == 1)
        {
            // One class: the gradient is exactly zero in exact arithmetic; compare on the scale of g.
            Assert.That(px.Grad!.ToHost().Select(Math.Abs).Max(), Is.LessThan(1e-6), "gradient of a one-class softmax");
            return;
        }
        AssertClose(px.Grad!.ToHost(), expected, "input gradient");
    }

    [Test]
    public void LargeLogits_AreStable([Values] bool log)
    {
        // exp(x) overflows fp32 for x > 88.7: only the max-subtracted form stays finite.
        const int rows = 3, cols = 40;
        var rng = new Random(11);
        var x = RandomFloats(rng, rows * cols, 100, 400);
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, rows, cols);
        var y = log ? Functional.LogSoftmax(t) : Functional.Softmax(t);
        AssertClose(y.ToHost(), SoftmaxReference.Forward(D(x), rows, cols, log), "forward of large logits");
        var loss = Functional.CrossEntropy(t, Tensor.FromHost(Acc, [3f, 0f, 39f], rows));
        var (expected, _) = SoftmaxReference.CrossEntropy(D(x), [3, 0, 39], rows, cols);
        AssertClose([loss.Item()], [expected], "cross-entropy of large logits");
    }

    [TestCase(1, 2)]
    [TestCase(5, 10)]
    [TestCase(64, 10)]
    [TestCase(3, 300)]
    [TestCase(130, 7)]
    public void CrossEntropy_LossAndFusedBackward_MatchReference(int rows, int cols)
    {
        var rng = new Random((rows * 1000) + cols);
        var x = RandomFloats(rng, rows * cols, -3, 3);
        var targets = Enumerable.Range(0, rows).Select(_ => (float)rng.Next(cols)).ToArray();
        using var px = Parameter.FromHost(Acc, x, rows, cols);
        var (loss, grad) = SoftmaxReference.CrossEntropy(D(x), D(targets), rows, cols);
        using (var scope = new TensorScope(Acc))
        {
            var t = Tensor.FromHost(Acc, targets, rows);
            var l = Functional.CrossEntropy(px, t);
            Assert.That(l.Rank, Is.EqualTo(0), "a scalar");
            AssertClose([l.Item()], [loss], "loss");
            // An upstream gradient other than 1 scales the fused backward.
            (l * 2.5f).Backward();
        }
        AssertClose(px.Grad!.ToHost(), grad.Select(v => 2.5 * v).ToArray(), "logits gradient");
    }

    [Test]
    public void CrossEntropy_InvalidTargets_AreSkippedWithoutOutOfBoundsReads()
    {
        // Targets -1, C, NaN and 1e9 are invalid: the row keeps its logsumexp term only (documented).
        const int rows = 6, cols = 4;
        var rng = new Random(21);
        var x = RandomFloats(rng, rows * cols, -2, 2);
        float[] targets = [1f, -1f, cols, float.NaN, 1e9f, 2f];
        using var px = Parameter.FromHost(Acc, x, rows, cols);
        var (loss, grad) = SoftmaxReference.CrossEntropy(D(x), D(targets), rows, cols);
        using (var scope = new TensorScope(Acc))
        {
            var l = Functional.CrossEntropy(px, Tensor.FromHost(Acc, targets, rows));
            AssertClose([l.Item()], [loss], "loss");
            l.Backward();
        }
        AssertClose(px.Grad!.ToHost(), grad, "logits gradient");
    }

    [Test]
    public void InvalidShapes_ThrowArgumentException()
    {
        using var scope = new TensorScope(Acc);
        var x = Tensor.FromHost(Acc, RandomFloats(new Random(1), 12), 3, 4);
        Assert.Throws<ArgumentException>(() => Functional.Softmax(x.View(12)), "rank 1");
        Assert.Throws<ArgumentException>(() => Functional.LogSoftmax(x.Transpose(0, 1)), "not contiguous");
        Assert.Throws<ArgumentException>(() => Functional.CrossEntropy(x, Tensor.FromHost(Acc, [0f, 1f], 2)), "2 targets for 3 rows");
    }
}

[TestFixture]
public sealed class CpuSoftmaxOps : SoftmaxSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicSoftmaxOps : SoftmaxSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClSoftmaxOps(string platform) : SoftmaxSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaSoftmaxOps : SoftmaxSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
