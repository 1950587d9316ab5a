using GanEngine.Ops;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Conv;

/// <summary>The float64 backward references against central finite differences of the float64 forward reference:
/// for L = sum(forward(x) * g), dL/dx_j ~ (L(x + h e_j) - L(x - h e_j)) / 2h (exact up to rounding: L is linear in each x_j).</summary>
[TestFixture]
public sealed class ConvReferenceTests
{
    private static double[] Random(Random rng, long n)
    {
        var r = new double[n];
        for (long i = 0; i < n; i++)
        {
            r[i] = (rng.NextDouble() * 2) - 1;
        }
        return r;
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }
        return s;
    }

    private static void CheckGradient(string what, double[] x, double[] analytic, Func<double> loss)
    {
        const double h = 1e-3;
        for (int j = 0; j < x.Length; j++)
        {
            double keep = x[j];
            x[j] = keep + h;
            double plus = loss();
            x[j] = keep - h;
            double minus = loss();
            x[j] = keep;
            double numeric = (plus - minus) / (2 * h);
            Assert.That(analytic[j], Is.EqualTo(numeric).Within(1e-7 * (1 + Math.Abs(numeric))), $"{what}[{j}]");
        }
    }

    [TestCase(2, 2, 5, 6, 3, 3, 2, 1)]
    [TestCase(1, 3, 7, 5, 2, 4, 2, 1)]
    [TestCase(2, 2, 4, 4, 2, 1, 1, 0)]
    [TestCase(1, 2, 6, 6, 2, 5, 1, 2)]
    public void Conv2d_BackwardMatchesFiniteDifferences(int b, int ic, int h, int w, int oc, int k, int s, int p)
    {
        var shape = new Conv2dShape(b, ic, h, w, oc, k, k, s, s, p, p);
        var rng = new Random(1234 + (k * 10) + s);
        var x = Random(rng, shape.InputElements);
        var wt = Random(rng, shape.WeightElements);
        var bias = Random(rng, oc);
        var g = Random(rng, shape.OutputElements);
        double Loss() => Dot(ConvReference.Conv2dForward(shape, x, wt, bias), g);
        CheckGradient("input", x, ConvReference.Conv2dBackwardInput(shape, g, wt), Loss);
        CheckGradient("weight", wt, ConvReference.Conv2dBackwardWeight(shape, x, g), Loss);
        CheckGradient("bias", bias, ConvReference.BiasGrad(b, oc, shape.OutHeight * shape.OutWidth, g), Loss);
    }

    [TestCase(2, 3, 3, 4, 2, 4, 2, 1, 0)]
    [TestCase(1, 2, 3, 3, 3, 3, 2, 1, 1)]
    [TestCase(2, 2, 1, 1, 3, 4, 1, 0, 0)]
    [TestCase(1, 2, 2, 3, 2, 5, 2, 2, 1)]
    public void ConvTranspose2d_BackwardMatchesFiniteDifferences(int b, int ic, int h, int w, int oc, int k, int s, int p, int op)
    {
        var shape = new ConvTranspose2dShape(b, ic, h, w, oc, k, k, s, s, p, p, op, op);
        shape.Validate();
        var rng = new Random(4321 + (k * 10) + s);
        var x = Random(rng, shape.InputElements);
        var wt = Random(rng, shape.WeightElements);
        var bias = Random(rng, oc);
        var g = Random(rng, shape.OutputElements);
        double Loss() => Dot(ConvReference.ConvTranspose2dForward(shape, x, wt, bias), g);
        CheckGradient("input", x, ConvReference.ConvTranspose2dBackwardInput(shape, g, wt), Loss);
        CheckGradient("weight", wt, ConvReference.ConvTranspose2dBackwardWeight(shape, x, g), Loss);
        CheckGradient("bias", bias, ConvReference.BiasGrad(b, oc, shape.OutHeight * shape.OutWidth, g), Loss);
    }

    [Test]
    public void Shapes_ValidateNamesTheBadDimension()
    {
        Assert.That(() => new Conv2dShape(1, 1, 4, 4, 1, 8, 3).Validate(), Throws.ArgumentException.With.Property("ParamName").EqualTo("KernelH"));
        Assert.That(() => new Conv2dShape(0, 1, 4, 4, 1, 3, 3).Validate(), Throws.ArgumentException.With.Property("ParamName").EqualTo("Batch"));
        Assert.That(() => new ConvTranspose2dShape(1, 1, 4, 4, 1, 4, 4, 2, 2, 1, 1, 2, 2).Validate(),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("OutputPadH"));
        Assert.That(new ConvTranspose2dShape(1, 128, 1, 1, 512, 4, 4, 1, 1).OutHeight, Is.EqualTo(4));
        Assert.That(new ConvTranspose2dShape(1, 512, 4, 4, 256, 4, 4, 2, 2, 1, 1).OutHeight, Is.EqualTo(8));
        Assert.That(new Conv2dShape(1, 3, 32, 32, 128, 4, 4, 2, 2, 1, 1).OutHeight, Is.EqualTo(16));
    }
}
