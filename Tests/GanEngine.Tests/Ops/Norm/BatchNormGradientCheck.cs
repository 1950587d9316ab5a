using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Norm;

/// <summary>The float64 backward reference of BatchNorm2d (train mode) against central finite
/// differences of the float64 forward reference, for the loss L = sum(y * w) with random w.</summary>
[TestFixture]
public sealed class BatchNormGradientCheck
{
    [TestCase(true)]
    [TestCase(false)]
    public void Backward_MatchesFiniteDifferences(bool affine)
    {
        var rng = new Random(affine ? 11 : 12);
        const int n = 3, c = 2, hw = 5;
        var x = BatchNormSuite.Channelled(rng, n, c, hw);
        var w = BatchNormSuite.Uniform(rng, x.Length, -1, 1);
        var gamma = affine ? BatchNormSuite.Uniform(rng, c, 0.5, 1.5) : null;
        var beta = affine ? BatchNormSuite.Uniform(rng, c, -1, 1) : null;
        double Loss(double[] xs, double[]? g, double[]? b)
        {
            var (y, _, _) = BatchNormReference.ForwardTraining(xs, n, c, hw, g, b, null, null);
            double l = 0;
            for (int i = 0; i < y.Length; i++)
            {
                l += y[i] * w[i];
            }
            return l;
        }
        var (_, mean, invstd) = BatchNormReference.ForwardTraining(x, n, c, hw, gamma, beta, null, null);
        var (dx, dgamma, dbeta) = BatchNormReference.Backward(x, w, n, c, hw, mean, invstd, gamma);
        const double h = 1e-6;
        double Central(double[] v, int i, Func<double> loss)
        {
            double keep = v[i];
            v[i] = keep + h;
            double up = loss();
            v[i] = keep - h;
            double down = loss();
            v[i] = keep;
            return (up - down) / (2 * h);
        }
        for (int i = 0; i < x.Length; i++)
        {
            Assert.That(dx[i], Is.EqualTo(Central(x, i, () => Loss(x, gamma, beta))).Within(1e-6), $"dx[{i}]");
        }
        if (affine)
        {
            for (int ch = 0; ch < c; ch++)
            {
                Assert.That(dgamma[ch], Is.EqualTo(Central(gamma!, ch, () => Loss(x, gamma, beta))).Within(1e-6), $"dgamma[{ch}]");
                Assert.That(dbeta[ch], Is.EqualTo(Central(beta!, ch, () => Loss(x, gamma, beta))).Within(1e-6), $"dbeta[{ch}]");
            }
        }
    }
}
