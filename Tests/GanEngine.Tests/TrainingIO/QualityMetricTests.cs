using GanEngine.Training.IO;
using GanEngine.Training.Metrics;
using MathNet.Numerics.LinearAlgebra;
using NUnit.Framework;

namespace GanEngine.Tests.TrainingIO;

public sealed class QualityMetricTests
{
    private static float[] Gaussian(int n, int d, int seed, double shift = 0, double scale = 1)
    {
        var rng = new Random(seed);
        float[] x = new float[n * d];
        for (int i = 0; i < x.Length; i++)
        {
            // Box-Muller
            double u1 = 1.0 - rng.NextDouble();
            double u2 = rng.NextDouble();
            x[i] = (float)(shift + (scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
        }
        return x;
    }

    private static Matrix<double> RandomSpd(int d, int seed, double ridge = 0.1)
    {
        var rng = new Random(seed);
        Matrix<double> a = Matrix<double>.Build.Dense(d, d, (_, _) => rng.NextDouble() - 0.5);
        return (a * a.Transpose()) + (Matrix<double>.Build.DenseIdentity(d) * ridge);
    }

    private static Vector<double> RandomVector(int d, int seed)
    {
        var rng = new Random(seed);
        return Vector<double>.Build.Dense(d, _ => (rng.NextDouble() * 2) - 1);
    }

    [Test]
    public void FeatureStatisticsAreTheMeanAndUnbiasedCovariance()
    {
        // rows (1, 2), (3, 6), (5, 1): mean (3, 3); deviations (-2,-1), (0,3), (2,-2)
        float[] f = [1, 2, 3, 6, 5, 1];
        FeatureStatistics s = FeatureStatistics.Compute(f, 3, 2);
        Assert.That(s.Mean.ToArray(), Is.EqualTo(new[] { 3.0, 3.0 }).Within(1e-12));
        // sum of squares / (n-1): xx = (4+0+4)/2 = 4, yy = (1+9+4)/2 = 7, xy = (2+0-4)/2 = -1
        Assert.That(s.Covariance.ToRowMajorArray(), Is.EqualTo(new[] { 4.0, -1, -1, 7 }).Within(1e-12));
        Assert.That(s.Count, Is.EqualTo(3));
        Assert.That(s.Dimension, Is.EqualTo(2));
    }

    [Test]
    public void FeatureStatisticsOverManyBlocksMatchADirectComputation()
    {
        const int n = 1300, d = 5; // more rows than one accumulation block
        float[] f = Gaussian(n, d, 3, shift: 2, scale: 3);
        FeatureStatistics s = FeatureStatistics.Compute(f, n, d);
        Matrix<double> x = Matrix<double>.Build.Dense(n, d, (i, j) => f[(i * d) + j]);
        Vector<double> mean = x.ColumnSums() / n;
        Matrix<double> centred = Matrix<double>.Build.Dense(n, d, (i, j) => x[i, j] - mean[j]);
        Matrix<double> cov = centred.TransposeThisAndMultiply(centred) / (n - 1);
        Assert.That((s.Mean - mean).InfinityNorm(), Is.LessThan(1e-10));
        Assert.That((s.Covariance - cov).InfinityNorm(), Is.LessThan(1e-9));
    }

    [TestCase(37, 70, 13)]
    [TestCase(64, 64, 8)]
    [TestCase(1, 3, 1)]
    public void GramDotsMatchNaiveDotProducts(int na, int nb, int d)
    {
        double[] a = Gaussian(na, d, 1).Select(v => (double)v).ToArray();
        double[] b = Gaussian(nb, d, 2).Select(v => (double)v).ToArray();
        double[] result = new double[na * nb];
        Gram.Dots(a, na, b, nb, d, result);
        double[] self = new double[na * na];
        Gram.Dots(a, na, a, na, d, self, upperOnly: true);
        for (int i = 0; i < na; i++)
        {
            for (int j = 0; j < nb; j++)
            {
                double expected = Enumerable.Range(0, d).Sum(k => a[(i * d) + k] * b[(j * d) + k]);
                Assert.That(result[(i * nb) + j], Is.EqualTo(expected).Within(1e-12));
            }
            for (int j = i; j < na; j++)
            {
                double expected = Enumerable.Range(0, d).Sum(k => a[(i * d) + k] * a[(j * d) + k]);
                Assert.That(self[(i * na) + j], Is.EqualTo(expected).Within(1e-12));
            }
        }
    }

    [Test]
    public void FeatureStatisticsSaveAndLoadExactly()
    {
        string path = Path.Combine(Path.GetTempPath(), "ganengine-stats-" + Guid.NewGuid().ToString("N") + ".ckpt");
        try
        {
            FeatureStatistics s = FeatureStatistics.Compute(Gaussian(40, 6, 1), 40, 6);
            s.Save(path);
            FeatureStatistics back = FeatureStatistics.Load(path);
            Assert.That(back.Mean.ToArray(), Is.EqualTo(s.Mean.ToArray()));
            Assert.That(back.Covariance.ToRowMajorArray(), Is.EqualTo(s.Covariance.ToRowMajorArray()));
            Assert.That(back.Count, Is.EqualTo(40));

            var other = new Checkpoint();
            other.Metadata["kind"] = "model";
            CheckpointFile.Write(path, other);
            Assert.That(Assert.Throws<CheckpointException>(() => FeatureStatistics.Load(path))!.Message, Does.Contain("not a feature statistics file"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void IdenticalStatisticsAreAtDistanceZero()
    {
        FeatureStatistics s = FeatureStatistics.Compute(Gaussian(200, 16, 7), 200, 16);
        Assert.That(FrechetDistance.Compute(s, s), Is.EqualTo(0).Within(1e-6));

        // singular (rank 9 < d = 16): still 0, still finite
        FeatureStatistics singular = FeatureStatistics.Compute(Gaussian(10, 16, 8), 10, 16);
        Assert.That(FrechetDistance.Compute(singular, singular), Is.EqualTo(0).Within(1e-6));
        Assert.That(double.IsFinite(FrechetDistance.Compute(singular, s)));
    }

    [Test]
    public void DiagonalGaussiansHaveTheClosedForm()
    {
        double[] s1 = [0.5, 2.0, 3.0, 0.01, 1.0];
        double[] s2 = [1.5, 0.5, 3.0, 4.0, 0.0];
        Vector<double> mu1 = Vector<double>.Build.DenseOfArray([0, 1, 2, 3, 4]);
        Vector<double> mu2 = Vector<double>.Build.DenseOfArray([1, 1, 0, 3, -1]);
        double expected = (mu1 - mu2).DotProduct(mu1 - mu2);
        for (int i = 0; i < s1.Length; i++)
        {
            expected += s1[i] + s2[i] - (2 * Math.Sqrt(s1[i] * s2[i]));
        }
        double actual = FrechetDistance.Compute(mu1, Matrix<double>.Build.DenseOfDiagonalArray(s1), mu2, Matrix<double>.Build.DenseOfDiagonalArray(s2));
        Assert.That(actual, Is.EqualTo(expected).Within(1e-9));
    }

    [Test]
    public void CommutingCovariancesHaveTheClosedForm()
    {
        // S1 = Q D1 Qᵀ, S2 = Q D2 Qᵀ share eigenvectors: Tr sqrt(S1 S2) = Σ sqrt(d1 d2)
        const int d = 7;
        Matrix<double> q = RandomSpd(d, 11).QR().Q;
        double[] d1 = [0.1, 0.5, 1, 2, 3, 4, 9];
        double[] d2 = [2, 0.5, 0.25, 8, 1e-3, 4, 1];
        Matrix<double> s1 = q * Matrix<double>.Build.DenseOfDiagonalArray(d1) * q.Transpose();
        Matrix<double> s2 = q * Matrix<double>.Build.DenseOfDiagonalArray(d2) * q.Transpose();
        Vector<double> mu1 = RandomVector(d, 1), mu2 = RandomVector(d, 2);
        double expected = (mu1 - mu2).DotProduct(mu1 - mu2) + d1.Select((v, i) => v + d2[i] - (2 * Math.Sqrt(v * d2[i]))).Sum();
        Assert.That(FrechetDistance.Compute(mu1, s1, mu2, s2), Is.EqualTo(expected).Within(1e-9));
    }

    [Test]
    public void NonCommutingTwoByTwoHasTheClosedForm()
    {
        // for a 2x2 M with eigenvalues l1, l2 >= 0: Tr sqrt(M) = sqrt(l1) + sqrt(l2) = sqrt(tr M + 2 sqrt(det M))
        Matrix<double> s1 = Matrix<double>.Build.DenseOfArray(new[,] { { 2.0, 0.9 }, { 0.9, 1.0 } });
        Matrix<double> s2 = Matrix<double>.Build.DenseOfArray(new[,] { { 0.5, -0.3 }, { -0.3, 3.0 } });
        Matrix<double> m = s1 * s2;
        double traceSqrt = Math.Sqrt(m.Trace() + (2 * Math.Sqrt(m.Determinant())));
        Vector<double> mu1 = Vector<double>.Build.DenseOfArray([1, 2]);
        Vector<double> mu2 = Vector<double>.Build.DenseOfArray([0, 0]);
        double expected = 5 + s1.Trace() + s2.Trace() - (2 * traceSqrt);
        Assert.That(FrechetDistance.Compute(mu1, s1, mu2, s2), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void GeneralCaseMatchesTheEigenvaluesOfTheProduct()
    {
        // independent route: the (real, positive) eigenvalues of the non-symmetric S1 S2 from a general EVD
        const int d = 12;
        Matrix<double> s1 = RandomSpd(d, 21), s2 = RandomSpd(d, 22);
        double traceSqrt = (s1 * s2).Evd(Symmetricity.Asymmetric).EigenValues.Select(l => Math.Sqrt(l.Real)).Sum();
        Vector<double> mu = RandomVector(d, 3);
        double expected = s1.Trace() + s2.Trace() - (2 * traceSqrt);
        Assert.That(FrechetDistance.Compute(mu, s1, mu, s2), Is.EqualTo(expected).Within(1e-9));

        // and the distance of sample statistics grows with a shift of the mean
        FeatureStatistics a = FeatureStatistics.Compute(Gaussian(300, 4, 1), 300, 4);
        FeatureStatistics b = FeatureStatistics.Compute(Gaussian(300, 4, 2), 300, 4);
        FeatureStatistics c = FeatureStatistics.Compute(Gaussian(300, 4, 3, shift: 1), 300, 4);
        Assert.That(FrechetDistance.Compute(a, b), Is.LessThan(0.3));
        Assert.That(FrechetDistance.Compute(a, c), Is.GreaterThan(3));
    }

    [Test]
    public void FrechetRejectsMismatchedOrNonFiniteStatistics()
    {
        var s2 = FeatureStatistics.Compute(Gaussian(10, 2, 1), 10, 2);
        var s3 = FeatureStatistics.Compute(Gaussian(10, 3, 1), 10, 3);
        Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(s2, s3));
        Matrix<double> bad = Matrix<double>.Build.DenseIdentity(2);
        bad[0, 1] = double.NaN;
        Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(s2.Mean, bad, s2.Mean, s2.Covariance));
    }

    [Test]
    public void KidOfATinyCaseHasTheClosedForm()
    {
        // d = 1, X = {0, 1}, Y = {1, 2}, k(x, y) = (xy + 1)^3:
        // off-diagonal XX: 2 k(0,1) = 2; YY: 2 k(1,2) = 54; XY: k(0,1)+k(0,2)+k(1,1)+k(1,2) = 1+1+8+27 = 37
        // MMD² = (2 + 54) / (2·1) − 2·37 / 4 = 9.5 for every subset (each is the whole set)
        MetricEstimate kid = KernelInceptionDistance.Compute([0f, 1f], 2, [1f, 2f], 2, 1, subsets: 5, subsetSize: 1000, seed: 3);
        Assert.That(kid.Mean, Is.EqualTo(9.5).Within(1e-12));
        Assert.That(kid.Std, Is.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void KidIsAboutZeroForOneDistributionAndPositiveForAShift()
    {
        const int n = 400, d = 8;
        float[] a = Gaussian(n, d, 1), b = Gaussian(n, d, 2), shifted = Gaussian(n, d, 3, shift: 0.5);
        MetricEstimate same = KernelInceptionDistance.Compute(a, n, b, n, d, subsets: 10, subsetSize: 200, seed: 1);
        MetricEstimate self = KernelInceptionDistance.Compute(a, n, a, n, d, subsets: 10, subsetSize: 200, seed: 1);
        MetricEstimate apart = KernelInceptionDistance.Compute(a, n, shifted, n, d, subsets: 10, subsetSize: 200, seed: 1);
        Assert.That(Math.Abs(same.Mean), Is.LessThan(0.02));
        // one set against itself: subsets share points, and a shared point pairs with itself in the XY sum,
        // which the estimator does not remove; that is an O(1/m) offset, small against a real difference
        Assert.That(Math.Abs(self.Mean), Is.LessThan(0.05));
        Assert.That(apart.Mean, Is.GreaterThan(0.3));
        Assert.That(apart.Mean, Is.GreaterThan(10 * Math.Abs(same.Mean)));
        Assert.That(apart.Mean, Is.GreaterThan(10 * Math.Abs(self.Mean)));
        Assert.That(apart.Std, Is.GreaterThan(0));

        MetricEstimate again = KernelInceptionDistance.Compute(a, n, shifted, n, d, subsets: 10, subsetSize: 200, seed: 1);
        Assert.That(again, Is.EqualTo(apart), "the same seed gives the same subsets");
    }

    [Test]
    public void KidSubsetSizeIsCappedBySetSizes()
    {
        // with subsets as large as the smaller set, the smaller set is used whole each time
        float[] small = [0f, 1f];
        float[] large = [1f, 2f, 1f, 2f, 1f, 2f];
        MetricEstimate kid = KernelInceptionDistance.Compute(small, 2, large, 6, 1, subsets: 3, subsetSize: 50, seed: 9);
        Assert.That(double.IsFinite(kid.Mean));
        Assert.Throws<ArgumentException>(() => KernelInceptionDistance.Compute([0f], 1, large, 6, 1));
    }

    [Test]
    public void InceptionScoreOfUniformPredictionsIsOne()
    {
        const int n = 50, classes = 10;
        float[] p = Enumerable.Repeat(0.1f, n * classes).ToArray();
        MetricEstimate score = InceptionScore.Compute(p, n, classes, splits: 5);
        Assert.That(score.Mean, Is.EqualTo(1).Within(1e-9));
        Assert.That(score.Std, Is.EqualTo(0).Within(1e-9));
    }

    [Test]
    public void InceptionScoreOfConfidentEvenlySpreadPredictionsIsTheClassCount()
    {
        const int classes = 10, splits = 10, n = classes * splits * 3;
        float[] p = new float[n * classes];
        for (int i = 0; i < n; i++)
        {
            p[(i * classes) + (i % classes)] = 1;
        }
        MetricEstimate score = InceptionScore.Compute(p, n, classes, splits);
        Assert.That(score.Mean, Is.EqualTo(classes).Within(1e-9));
        Assert.That(score.Std, Is.EqualTo(0).Within(1e-9));

        // confident but all one class: p(y) is that class, no information: 1
        float[] same = new float[n * classes];
        for (int i = 0; i < n; i++)
        {
            same[i * classes] = 1;
        }
        Assert.That(InceptionScore.Compute(same, n, classes, splits).Mean, Is.EqualTo(1).Within(1e-9));
    }

    [Test]
    public void InceptionScoreOfTwoHalfConfidentClasses()
    {
        // rows (0.75, 0.25) and (0.25, 0.75) alternately: p(y) = (0.5, 0.5), KL = 0.75 ln 1.5 + 0.25 ln 0.5
        float[] p = [0.75f, 0.25f, 0.25f, 0.75f, 0.75f, 0.25f, 0.25f, 0.75f];
        double expected = Math.Exp((0.75 * Math.Log(1.5)) + (0.25 * Math.Log(0.5)));
        MetricEstimate score = InceptionScore.Compute(p, 4, 2, splits: 2);
        Assert.That(score.Mean, Is.EqualTo(expected).Within(1e-9));
    }

    [Test]
    public void InceptionScoreRejectsLogits()
    {
        Assert.Throws<ArgumentException>(() => InceptionScore.Compute([2f, -1f, 0.5f, 0.5f], 2, 2, splits: 1));
        Assert.Throws<ArgumentException>(() => InceptionScore.Compute([0.5f, 0.5f], 1, 2, splits: 2));
    }
}
