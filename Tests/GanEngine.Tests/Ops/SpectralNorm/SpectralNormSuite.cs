using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators;
using GanEngine.Ops.Reference;
using GanEngine.Ops.SpectralNorm;
using GanEngine.Tests.Ops.Optim;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.SpectralNorm;

/// <summary>The float64 backward reference of spectral norm against central finite differences of
/// the float64 forward (u, v constant, as PyTorch treats them), and the Jacobi SVD helper.</summary>
[TestFixture]
public sealed class SpectralNormReferenceTests
{
    [TestCase(3, 5)]
    [TestCase(6, 2)]
    public void Backward_MatchesFiniteDifferences(int rows, int cols)
    {
        var rng = new Random(rows * 31 + cols);
        double[] w = Enumerable.Range(0, rows * cols).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double[] g = Enumerable.Range(0, rows * cols).Select(_ => rng.NextDouble() - 0.5).ToArray();
        double[] u = SpectralNormReference.Normalize(Enumerable.Range(0, rows).Select(_ => rng.NextDouble() - 0.5).ToArray());
        double[] v = SpectralNormReference.Normalize(Enumerable.Range(0, cols).Select(_ => rng.NextDouble() - 0.5).ToArray());
        double Loss(double[] x)
        {
            var (wsn, _) = SpectralNormReference.Forward(x, rows, cols, (double[])u.Clone(), (double[])v.Clone(), 0);
            return wsn.Select((value, k) => value * g[k]).Sum();
        }
        var analytic = SpectralNormReference.Backward(g, w, rows, cols, u, v);
        const double h = 1e-6;
        for (int k = 0; k < w.Length; k++)
        {
            var plus = (double[])w.Clone();
            var minus = (double[])w.Clone();
            plus[k] += h;
            minus[k] -= h;
            double numeric = (Loss(plus) - Loss(minus)) / (2 * h);
            Assert.That(analytic[k], Is.EqualTo(numeric).Within(1e-6 * (1 + Math.Abs(numeric))), $"dW[{k}]");
        }
    }

    [Test]
    public void LargestSingularValue_OfKnownMatrix()
    {
        // diag(3, 2) rotated: singular values 3 and 2.
        double c = Math.Cos(0.3), s = Math.Sin(0.3);
        double[] w = [3 * c, -2 * s, 3 * s, 2 * c, 0, 0];
        Assert.That(SpectralNormReference.LargestSingularValue(w, 3, 2), Is.EqualTo(3.0).Within(1e-12));
        Assert.That(SpectralNormReference.LargestSingularValue([1, 2, 2, 4], 2, 2), Is.EqualTo(5.0).Within(1e-12));
    }
}

/// <summary>Spectral normalisation on the device against the float64 reference, and sigma against
/// the largest singular value after enough power iterations.</summary>
public abstract class SpectralNormSuite : OptimOpsTestBase
{
    private static (float[] W, float[] U, float[] V) Inputs(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var w = RandomFloats(rng, rows * cols);
        var u = SpectralNormReference.Normalize(ToDouble(RandomFloats(rng, rows))).Select(x => (float)x).ToArray();
        var v = SpectralNormReference.Normalize(ToDouble(RandomFloats(rng, cols))).Select(x => (float)x).ToArray();
        return (w, u, v);
    }

    [TestCase(1, 1, 1)]
    [TestCase(7, 13, 1)]
    [TestCase(64, 48, 1)]
    [TestCase(37, 300, 3)]
    [TestCase(300, 37, 2)]
    [TestCase(20, 45, 0)]
    public void Forward_MatchesReference(int rows, int cols, int iterations)
    {
        var (w, u0, v0) = Inputs(rows, cols, rows * 1000 + cols);
        var shape = new SpectralNormShape(rows, cols);
        double[] u = ToDouble(u0), v = ToDouble(v0);
        var (wsnRef, sigmaRef) = SpectralNormReference.Forward(ToDouble(w), rows, cols, u, v, iterations);

        using var weight = Upload(w);
        using var ub = Upload(u0);
        using var vb = Upload(v0);
        using var sigma = Poisoned<float>(1);
        using var wsn = Poisoned<float>(rows * cols);
        using var workspace = Poisoned<float>(SpectralNormalization.ForwardWorkspaceLength(shape));
        SpectralNormalization.Forward(Acc, shape, weight, ub, vb, sigma, wsn, workspace, iterations);

        AssertClose(Download(sigma), [sigmaRef], 2e-5, "sigma");
        AssertClose(Download(ub), u, 2e-5, "u");
        AssertClose(Download(vb), v, 2e-5, "v");
        AssertClose(Download(wsn), wsnRef, 2e-5, "W_sn");
    }

    [Test]
    public void Sigma_ConvergesToLargestSingularValue()
    {
        const int rows = 24, cols = 40;
        var rng = new Random(77);
        var w = RandomFloats(rng, rows * cols, -0.5, 0.5);
        // A planted rank-one spike keeps the spectral gap wide enough for quick convergence.
        var a = RandomFloats(rng, rows);
        var b = RandomFloats(rng, cols);
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) w[(i * cols) + j] += 0.5f * a[i] * b[j];
        double expected = SpectralNormReference.LargestSingularValue(ToDouble(w), rows, cols);

        var shape = new SpectralNormShape(rows, cols);
        using var weight = Upload(w);
        using var ub = Poisoned<float>(rows);
        using var vb = Poisoned<float>(cols);
        using var sigma = Poisoned<float>(1);
        using var wsn = Poisoned<float>(rows * cols);
        using var workspace = Poisoned<float>(SpectralNormalization.ForwardWorkspaceLength(shape));
        SpectralNormalization.InitializeVectors(Acc, shape, ub, vb, seed: 5, offset: 0);
        AssertClose([(float)Norm(Download(ub)), (float)Norm(Download(vb))], [1.0, 1.0], 1e-6, "|u|, |v| after init");
        for (int call = 0; call < 30; call++)
        {
            SpectralNormalization.Forward(Acc, shape, weight, ub, vb, sigma, wsn, workspace, powerIterations: 1);
        }
        AssertClose(Download(sigma), [expected], 1e-5, "sigma vs largest singular value");
        var normalized = ToDouble(Download(wsn));
        Assert.That(SpectralNormReference.LargestSingularValue(normalized, rows, cols), Is.EqualTo(1.0).Within(1e-5), "||W_sn||_2");
    }

    private static double Norm(float[] x) => Math.Sqrt(x.Sum(v => (double)v * v));

    [TestCase(1, 1)]
    [TestCase(9, 17)]
    [TestCase(128, 75)]
    [TestCase(513, 129)]
    public void Backward_MatchesReference(int rows, int cols)
    {
        var (w, u0, v0) = Inputs(rows, cols, (rows * 7) + cols);
        var rng = new Random(rows + cols);
        var g = RandomFloats(rng, rows * cols);
        var shape = new SpectralNormShape(rows, cols);
        double[] u = ToDouble(u0), v = ToDouble(v0);
        var expected = SpectralNormReference.Backward(ToDouble(g), ToDouble(w), rows, cols, u, v);

        using var weight = Upload(w);
        using var ub = Upload(u0);
        using var vb = Upload(v0);
        using var sigma = Poisoned<float>(1);
        using var wsn = Poisoned<float>(rows * cols);
        using var forwardWs = Poisoned<float>(SpectralNormalization.ForwardWorkspaceLength(shape));
        SpectralNormalization.Forward(Acc, shape, weight, ub, vb, sigma, wsn, forwardWs, powerIterations: 0);
        using var grad = Upload(g);
        using var gradW = Poisoned<float>(rows * cols);
        using var backwardWs = Poisoned<float>(SpectralNormalization.BackwardWorkspaceLength(shape));
        SpectralNormalization.Backward(Acc, shape, grad, wsn, ub, vb, sigma, gradW, backwardWs);
        AssertClose(Download(gradW), expected, 2e-5, "dW");
    }

    [Test]
    public void Shape_FromConvWeight()
    {
        Assert.That(SpectralNormShape.FromWeightShape([128, 64, 4, 4]), Is.EqualTo(new SpectralNormShape(128, 1024)));
        Assert.That(SpectralNormShape.FromWeightShape([10, 20]), Is.EqualTo(new SpectralNormShape(10, 20)));
        Assert.Throws<ArgumentException>(() => new SpectralNormShape(0, 3).Validate());
    }
}

[TestFixture] public sealed class CpuSpectralNormOps : SpectralNormSuite { protected override Accelerator CreateAccelerator() => new CpuAccelerator(); }
[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClSpectralNormOps(string platform) : SpectralNormSuite { protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform); }
[TestFixture] public sealed class CudaSpectralNormOps : SpectralNormSuite { protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda(); }
