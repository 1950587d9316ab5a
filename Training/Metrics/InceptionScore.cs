namespace GanEngine.Training.Metrics;

/// <summary>
/// Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))), computed per split of the
/// predictions (p(y) is the split's mean prediction), reported as mean and standard deviation (ddof 0)
/// over the splits, as the reference implementation does. Split k holds rows
/// [k·n/splits, (k+1)·n/splits), so every row is used.
/// </summary>
public static class InceptionScore
{
    /// <summary>Rows whose probabilities sum further than this from 1 are rejected (logits passed by mistake).</summary>
    public const double SumTolerance = 1e-3;

    /// <summary>
    /// IS of <paramref name="n"/> class-probability rows of <paramref name="classes"/> values each
    /// (row-major, e.g. softmax outputs of a classifier): 1 for uninformative predictions, up to
    /// <paramref name="classes"/> for confident predictions spread evenly over the classes.
    /// </summary>
    public static MetricEstimate Compute(ReadOnlySpan<float> probabilities, int n, int classes, int splits = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(splits, 1);
        if (n < splits)
        {
            throw new ArgumentException($"{n} predictions cannot be divided into {splits} splits", nameof(n));
        }
        if (probabilities.Length != (long)n * classes)
        {
            throw new ArgumentException($"{n} x {classes} probabilities need {(long)n * classes} values, got {probabilities.Length}", nameof(probabilities));
        }
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = probabilities.Slice(i * classes, classes);
            double sum = 0;
            foreach (float p in row)
            {
                if (!(p >= 0) || !float.IsFinite(p))
                {
                    throw new ArgumentException($"row {i} has the value {p}, not a probability", nameof(probabilities));
                }
                sum += p;
            }
            if (Math.Abs(sum - 1) > SumTolerance)
            {
                throw new ArgumentException($"row {i} sums to {sum}, not 1 (pass softmax probabilities, not logits)", nameof(probabilities));
            }
        }

        double[] scores = new double[splits];
        double[] marginal = new double[classes];
        for (int k = 0; k < splits; k++)
        {
            int start = (int)((long)k * n / splits);
            int end = (int)((long)(k + 1) * n / splits);
            Array.Clear(marginal);
            for (int i = start; i < end; i++)
            {
                ReadOnlySpan<float> row = probabilities.Slice(i * classes, classes);
                for (int c = 0; c < classes; c++)
                {
                    marginal[c] += row[c];
                }
            }
            for (int c = 0; c < classes; c++)
            {
                marginal[c] /= end - start;
            }
            double klSum = 0;
            for (int i = start; i < end; i++)
            {
                ReadOnlySpan<float> row = probabilities.Slice(i * classes, classes);
                for (int c = 0; c < classes; c++)
                {
                    double p = row[c];
                    if (p > 0)
                    {
                        klSum += p * (Math.Log(p) - Math.Log(marginal[c])); // marginal[c] >= p/(end-start) > 0
                    }
                }
            }
            scores[k] = Math.Exp(klSum / (end - start));
        }
        double mean = scores.Average();
        double variance = scores.Select(s => (s - mean) * (s - mean)).Average();
        return new MetricEstimate(mean, Math.Sqrt(variance));
    }
}
