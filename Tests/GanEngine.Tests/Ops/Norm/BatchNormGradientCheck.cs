using GanEngine.Ops;
using GanEngine.Ops.Norm;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Norm;

/// <summary>The float64 backward reference of BatchNorm2d (train mode), alone and followed by ReLU /
/// LeakyReLU, against central finite differences of the float64 forward reference, for the loss
/// L = sum(y * w) with random w.</summary>
[TestFixture]
public sealed class BatchNormGradientCheck
{
    private const double Slope = 0.2;

    [TestCase(true, FusedActivation.None)]
    [TestCase(false, FusedActivation.None)]
    [TestCase(true, FusedActivation.Relu)]
    [TestCase(false, FusedActivation.Relu)]
    [TestCase(true, FusedActivation.LeakyRelu)]
    [TestCase(false, FusedActivation.LeakyRelu)]
    public void Backward_MatchesFiniteDifferences(bool affine, FusedActivation activation)
    {
        var rng = new Random((affine ? 11 : 12) + (10 * (int)activation));
        const int n = 3, c = 2, hw = 5;
        var x = BatchNormSuite.Channelled(rng, n, c, hw);
        var w = BatchNormSuite.Uniform(rng, x.Length, -1, 1);
        var gamma = affine ? BatchNormSuite.Uniform(rng, c, 0.5, 1.5) : null;
        var beta = affine ? BatchNormSuite.Uniform(rng, c, -1, 1) : null;
        double Loss(double[] xs, double[]? g, double[]? b)
        {
            var (y, _, _) = BatchNormReference.ForwardTraining(xs, n, c, hw, g, b, null, null, 0.1, 1e-5, activation, Slope);
            double l = 0;
            for (int i = 0; i < y.Length; i++)
            {
                l += y[i] * w[i];
            }
            return l;
        }
        var (z, mean, invstd) = BatchNormReference.ForwardTraining(x, n, c, hw, gamma, beta, null, null);
        const double h = 1e-6;
        // Differences are only meaningful away from the kink: no z within reach of a step, both sides present.
        Assert.That(z.Min(Math.Abs), Is.GreaterThan(1e-3), "a pre-activation too close to 0");
        Assert.That(z.Any(v => v > 0) && z.Any(v => v < 0), Is.True, "pre-activations on both sides of 0");
        var (dx, dgamma, dbeta) = BatchNormReference.Backward(x, w, n, c, hw, mean, invstd, gamma, beta, activation, Slope);
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
