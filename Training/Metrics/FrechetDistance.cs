using MathNet.Numerics.LinearAlgebra;

namespace GanEngine.Training.Metrics;

/// <summary>
/// The Fréchet distance between two Gaussians (FID when the features are Inception pool features):
/// ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½).
/// </summary>
/// <remarks>
/// Tr (Σ₁Σ₂)^½ is computed from the symmetric form: Σ₁Σ₂ is similar to Σ₁^½ Σ₂ Σ₁^½ (same eigenvalues),
/// which is symmetric positive semi-definite, so its trace of the square root is the sum of the square
/// roots of its eigenvalues, from a symmetric eigendecomposition (real, stable; no complex sqrtm). Tiny
/// negative eigenvalues from rounding are clamped to 0. If the result is not finite, the computation is
/// retried with ε·I added to both covariances, as the reference implementation (pytorch-fid) does when
/// its sqrtm fails.
/// </remarks>
public static class FrechetDistance
{
    /// <summary>The ε of the retry (pytorch-fid's default).</summary>
    public const double Epsilon = 1e-6;

    /// <summary>The Fréchet distance between the Gaussians of two feature sets.</summary>
    public static double Compute(FeatureStatistics a, FeatureStatistics b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Compute(a.Mean, a.Covariance, b.Mean, b.Covariance);
    }

    /// <summary>The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂).</summary>
    public static double Compute(Vector<double> mu1, Matrix<double> sigma1, Vector<double> mu2, Matrix<double> sigma2)
    {
        ArgumentNullException.ThrowIfNull(mu1);
        ArgumentNullException.ThrowIfNull(sigma1);
        ArgumentNullException.ThrowIfNull(mu2);
        ArgumentNullException.ThrowIfNull(sigma2);
        int d = mu1.Count;
        if (mu2.Count != d || sigma1.RowCount != d || sigma1.ColumnCount != d || sigma2.RowCount != d || sigma2.ColumnCount != d)
        {
            throw new ArgumentException(
                $"statistics of different dimensions: mean {mu1.Count} / {mu2.Count}, covariance {sigma1.RowCount}x{sigma1.ColumnCount} / {sigma2.RowCount}x{sigma2.ColumnCount}");
        }
        if (!AllFinite(mu1) || !AllFinite(mu2) || !AllFinite(sigma1) || !AllFinite(sigma2))
        {
            throw new ArgumentException("the statistics hold NaN or infinite values");
        }

        Vector<double> diff = mu1 - mu2;
        double meanTerm = diff.DotProduct(diff);
        double traceSqrt = TraceSqrtProduct(sigma1, sigma2);
        if (!double.IsFinite(traceSqrt))
        {
            Matrix<double> offset = Matrix<double>.Build.DenseIdentity(d) * Epsilon;
            traceSqrt = TraceSqrtProduct(sigma1 + offset, sigma2 + offset);
        }
        if (!double.IsFinite(traceSqrt))
        {
            throw new ArithmeticException("the trace of sqrt(S1 S2) is not finite even with the epsilon offset");
        }
        return meanTerm + sigma1.Trace() + sigma2.Trace() - (2 * traceSqrt);
    }

    /// <summary>Tr (S1 S2)^½ for symmetric positive semi-definite S1, S2, via Tr (S1^½ S2 S1^½)^½.</summary>
    internal static double TraceSqrtProduct(Matrix<double> s1, Matrix<double> s2)
    {
        int d = s1.RowCount;
        double[] root1 = SymmetricSqrt(s1);
        double[] s2Rows = s2.ToRowMajorArray();
        // (R S2)_ij = R_i · S2_j and (R S2 R)_ij = (R S2)_i · R_j, as R and S2 are symmetric
        double[] rs2 = new double[d * d];
        Gram.Dots(root1, d, s2Rows, d, d, rs2);
        double[] product = new double[d * d];
        Gram.Dots(rs2, d, root1, d, d, product);
        Matrix<double> m = Matrix<double>.Build.Dense(d, d, product);
        FeatureStatistics.Symmetrize(m);
        double sum = 0;
        foreach (double lambda in SymmetricEigenvalues(m))
        {
            sum += Math.Sqrt(Math.Max(lambda, 0));
        }
        return sum;
    }

    /// <summary>The PSD square root V diag(√max(λ, 0)) Vᵀ of a symmetric matrix, row-major.</summary>
    internal static double[] SymmetricSqrt(Matrix<double> s)
    {
        int d = s.RowCount;
        Matrix<double> symmetric = s.Clone();
        FeatureStatistics.Symmetrize(symmetric);
        var evd = symmetric.Evd(Symmetricity.Symmetric);
        double[] v = evd.EigenVectors.ToRowMajorArray();
        double[] scaled = new double[d * d];
        for (int k = 0; k < d; k++)
        {
            double root = Math.Sqrt(Math.Max(evd.EigenValues[k].Real, 0));
            for (int i = 0; i < d; i++)
            {
                scaled[(i * d) + k] = v[(i * d) + k] * root;
            }
        }
        // R_ij = Σ_k V_ik r_k V_jk: rows of V diag(r) dotted with rows of V
        double[] root1 = new double[d * d];
        Gram.Dots(scaled, d, v, d, d, root1);
        return root1;
    }

    private static double[] SymmetricEigenvalues(Matrix<double> m)
    {
        var evd = m.Evd(Symmetricity.Symmetric);
        return evd.EigenValues.Select(c => c.Real).ToArray();
    }

    private static bool AllFinite(Vector<double> v) => v.ForAll(double.IsFinite);

    private static bool AllFinite(Matrix<double> m) => m.ForAll(double.IsFinite);
}
