namespace GanEngine.Training.Metrics;

/// <summary>A metric estimated over several splits or subsets: its mean and (population) standard deviation.</summary>
public readonly record struct MetricEstimate(double Mean, double Std);

/// <summary>
/// Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared maximum mean
/// discrepancy between two feature sets with the cubic polynomial kernel k(x, y) = (x·y / d + 1)³,
/// averaged over random subsets, as in the reference implementation (and torch-fidelity):
/// MMD² = (Σ_{i≠j} k(xᵢ,xⱼ) + Σ_{i≠j} k(yᵢ,yⱼ)) / (m(m−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ) / m².
/// </summary>
public static class KernelInceptionDistance
{
    /// <summary>
    /// KID of two row-major feature sets (<paramref name="nA"/> x <paramref name="d"/> and
    /// <paramref name="nB"/> x <paramref name="d"/>): mean and standard deviation (ddof 0) of MMD² over
    /// <paramref name="subsets"/> subsets of size min(<paramref name="subsetSize"/>, nA, nB), each drawn
    /// without replacement from each set with a generator seeded by <paramref name="seed"/>.
    /// </summary>
    public static MetricEstimate Compute(
        ReadOnlySpan<float> featsA, int nA, ReadOnlySpan<float> featsB, int nB, int d,
        int subsets = 100, int subsetSize = 1000, ulong seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(d, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(subsets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(subsetSize, 2);
        if (featsA.Length != (long)nA * d)
        {
            throw new ArgumentException($"{nA} x {d} features need {(long)nA * d} values, got {featsA.Length}", nameof(featsA));
        }
        if (featsB.Length != (long)nB * d)
        {
            throw new ArgumentException($"{nB} x {d} features need {(long)nB * d} values, got {featsB.Length}", nameof(featsB));
        }
        int m = Math.Min(subsetSize, Math.Min(nA, nB));
        if (m < 2)
        {
            throw new ArgumentException($"KID needs at least 2 feature vectors in each set (got {nA} and {nB})");
        }

        var rng = new SplitMix64(seed);
        int[] indicesA = Enumerable.Range(0, nA).ToArray();
        int[] indicesB = Enumerable.Range(0, nB).ToArray();
        double[] values = new double[subsets];
        for (int s = 0; s < subsets; s++)
        {
            double[] x = Gather(featsA, d, indicesA, m, rng);
            double[] y = Gather(featsB, d, indicesB, m, rng);
            values[s] = UnbiasedMmd2(x, y, m, d);
        }
        double mean = values.Average();
        double variance = values.Select(v => (v - mean) * (v - mean)).Average();
        return new MetricEstimate(mean, Math.Sqrt(variance));
    }

    /// <summary>The unbiased MMD² estimate of two equally sized sets (m rows of d values each, row-major).</summary>
    internal static double UnbiasedMmd2(double[] x, double[] y, int m, int d)
    {
        double[] dots = new double[m * m];
        Gram.Dots(x, m, x, m, d, dots, upperOnly: true);
        double sumXX = 2 * KernelSumAboveDiagonal(dots, m, d);
        Gram.Dots(y, m, y, m, d, dots, upperOnly: true);
        double sumYY = 2 * KernelSumAboveDiagonal(dots, m, d);
        Gram.Dots(x, m, y, m, d, dots);
        double sumXY = 0;
        foreach (double dot in dots)
        {
            sumXY += Kernel(dot, d);
        }
        return ((sumXX + sumYY) / ((double)m * (m - 1))) - (2 * sumXY / ((double)m * m));
    }

    private static double KernelSumAboveDiagonal(double[] dots, int m, int d)
    {
        double sum = 0;
        for (int i = 0; i < m; i++)
        {
            for (int j = i + 1; j < m; j++)
            {
                sum += Kernel(dots[(i * m) + j], d);
            }
        }
        return sum;
    }

    private static double Kernel(double dot, int d)
    {
        double k = (dot / d) + 1;
        return k * k * k;
    }

    // m rows chosen without replacement (a partial Fisher-Yates shuffle of the index array).
    private static double[] Gather(ReadOnlySpan<float> features, int d, int[] indices, int m, SplitMix64 rng)
    {
        int n = indices.Length;
        for (int i = 0; i < m; i++)
        {
            int j = i + rng.Below(n - i);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
        double[] rows = new double[m * d];
        for (int i = 0; i < m; i++)
        {
            ReadOnlySpan<float> row = features.Slice(indices[i] * d, d);
            for (int c = 0; c < d; c++)
            {
                rows[(i * d) + c] = row[c];
            }
        }
        return rows;
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood): a small seeded generator, the same on every platform.</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong state = seed;

        public ulong Next()
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, bound) (Lemire's multiply-high; the bias is below 2⁻³² for any int bound).</summary>
        public int Below(int bound) => (int)Math.BigMul(Next(), (ulong)bound, out _);
    }
}
