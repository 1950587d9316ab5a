using GanEngine.Accelerators;
using GanEngine.Memory;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops;

/// <summary>
/// Base of the suites of the differentiable ops added for the GAN models (resampling, softmax and
/// cross-entropy, index select, spectral norm on tensors): one accelerator per fixture, fresh random
/// inputs (never zero), comparison with float64 references, norm-wise relative error, NaN never passes.
/// </summary>
public abstract class FunctionalOpsTestBase : AcceleratorSuite
{
    /// <summary>Uniform in [lo, hi) with |x| &gt;= 1e-3 (never zero).</summary>
    protected static float[] RandomFloats(Random rng, int n, double lo = -1, double hi = 1)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double x;
            do
            {
                x = lo + ((hi - lo) * rng.NextDouble());
            }
            while (Math.Abs(x) < 1e-3);
            v[i] = (float)x;
        }
        return v;
    }

    protected static double[] D(float[] x) => x.Select(v => (double)v).ToArray();

    /// <summary>The gradient of <c>sum(g * y)</c> reaching the leaves: runs the backward from there.</summary>
    protected void BackwardWith(Tensor y, float[] g)
    {
        using var scope = new TensorScope(Acc);
        var gt = Tensor.FromHost(Acc, g, y.ShapeArray());
        (y * gt).Sum().Backward();
    }

    /// <summary>Norm-wise relative error ||got - expected|| / ||expected|| &lt;= tolerance; NaN never passes.</summary>
    protected static void AssertClose(float[] got, double[] expected, string what, double tolerance = 1e-5)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length), what + ": length");
        double diff = 0, norm = 0, worstError = -1;
        int worst = -1;
        for (int i = 0; i < got.Length; i++)
        {
            if (float.IsNaN(got[i]) || double.IsNaN(expected[i]))
            {
                Assert.Fail($"{what}: NaN at [{i}] (got {got[i]}, expected {expected[i]})");
            }
            double d = got[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
            if (Math.Abs(d) > worstError)
            {
                worstError = Math.Abs(d);
                worst = i;
            }
        }
        double relative = Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
        Assert.That(relative, Is.LessThanOrEqualTo(tolerance),
            $"{what}: relative error {relative:E3}; worst [{worst}] got {(worst >= 0 ? got[worst] : 0)}, expected {(worst >= 0 ? expected[worst] : 0)}");
    }
}

/// <summary>Float64 central-difference checks of the backward references (CPU only).</summary>
internal static class FiniteDifferences
{
    /// <summary>Central differences of scalar <paramref name="f"/> at <paramref name="x"/> (float64).</summary>
    public static double[] NumericGradient(Func<double[], double> f, double[] x, double h = 1e-6)
    {
        var grad = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            var plus = (double[])x.Clone();
            var minus = (double[])x.Clone();
            plus[i] += h;
            minus[i] -= h;
            grad[i] = (f(plus) - f(minus)) / (2 * h);
        }
        return grad;
    }

    /// <summary>Asserts that analytic <paramref name="grad"/> of f matches central differences element-wise.</summary>
    public static void Check(Func<double[], double> f, double[] x, double[] grad, string what)
    {
        var numeric = NumericGradient(f, x);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.That(grad[i], Is.EqualTo(numeric[i]).Within(1e-6 + (1e-5 * Math.Abs(numeric[i]))), $"{what}[{i}]");
        }
    }

    public static double Dot(double[] a, double[] b) => a.Select((v, i) => v * b[i]).Sum();
}
