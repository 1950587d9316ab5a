using System.Buffers.Binary;
using System.Globalization;
using GanEngine.Training.IO;
using MathNet.Numerics.LinearAlgebra;

namespace GanEngine.Training.Metrics;

/// <summary>
/// Mean and covariance of a set of feature vectors (the Gaussian that the Fréchet distance compares).
/// The covariance is the unbiased one (divided by n − 1), as numpy's <c>np.cov(x, rowvar=False)</c> in
/// the reference FID implementation.
/// </summary>
public sealed class FeatureStatistics
{
    /// <summary>Value of the <c>kind</c> metadata key of a saved statistics file.</summary>
    public const string Kind = "feature-statistics";

    private const string MeanBlob = "mean.f64";
    private const string CovarianceBlob = "covariance.f64";

    public FeatureStatistics(Vector<double> mean, Matrix<double> covariance, long count)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(covariance);
        if (covariance.RowCount != mean.Count || covariance.ColumnCount != mean.Count)
        {
            throw new ArgumentException(
                $"a covariance of {covariance.RowCount}x{covariance.ColumnCount} does not match a mean of {mean.Count}", nameof(covariance));
        }
        Mean = mean;
        Covariance = covariance;
        Count = count;
    }

    /// <summary>Mean feature vector (d).</summary>
    public Vector<double> Mean { get; }

    /// <summary>Covariance of the features (d x d, symmetric).</summary>
    public Matrix<double> Covariance { get; }

    /// <summary>Number of feature vectors the statistics were computed from.</summary>
    public long Count { get; }

    /// <summary>Feature dimension d.</summary>
    public int Dimension => Mean.Count;

    /// <summary>
    /// Statistics of <paramref name="n"/> feature vectors of <paramref name="d"/> values each, given
    /// row-major (vector i is <c>features[i*d .. i*d+d)</c>). Needs n ≥ 2.
    /// </summary>
    public static FeatureStatistics Compute(ReadOnlySpan<float> features, int n, int d)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(d, 1);
        if (features.Length != (long)n * d)
        {
            throw new ArgumentException($"{n} x {d} features need {(long)n * d} values, got {features.Length}", nameof(features));
        }

        double[] mean = new double[d];
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = features.Slice(i * d, d);
            for (int j = 0; j < d; j++)
            {
                mean[j] += row[j];
            }
        }
        for (int j = 0; j < d; j++)
        {
            mean[j] /= n;
        }

        // Scatter of the centred rows, a block of rows at a time: with the block transposed (feature p's
        // values in row p), entry (p, q) of the scatter gains the dot product of rows p and q.
        const int BlockRows = 1024;
        double[] scatter = new double[d * d];
        double[] product = new double[d * d];
        double[] transposed = new double[d * Math.Min(BlockRows, n)];
        for (int start = 0; start < n; start += BlockRows)
        {
            int rows = Math.Min(BlockRows, n - start);
            for (int i = 0; i < rows; i++)
            {
                ReadOnlySpan<float> row = features.Slice((start + i) * d, d);
                for (int j = 0; j < d; j++)
                {
                    transposed[(j * rows) + i] = row[j] - mean[j];
                }
            }
            Gram.Dots(transposed, d, transposed, d, rows, product, upperOnly: true);
            for (int p = 0; p < d; p++)
            {
                for (int q = p; q < d; q++)
                {
                    scatter[(p * d) + q] += product[(p * d) + q];
                }
            }
        }
        Matrix<double> covariance = Matrix<double>.Build.Dense(d, d, (p, q) => scatter[(Math.Min(p, q) * d) + Math.Max(p, q)] / (n - 1));
        return new FeatureStatistics(Vector<double>.Build.Dense(mean), covariance, n);
    }

    /// <summary>Saves the statistics as a checkpoint file (float64 blobs; see docs/checkpoint-format.md).</summary>
    public void Save(string path)
    {
        var checkpoint = new Checkpoint();
        checkpoint.Metadata["kind"] = Kind;
        checkpoint.Metadata["dimension"] = Dimension.ToString(CultureInfo.InvariantCulture);
        checkpoint.Metadata["count"] = Count.ToString(CultureInfo.InvariantCulture);
        checkpoint.Blobs[MeanBlob] = ToBytes(Mean.ToArray());
        checkpoint.Blobs[CovarianceBlob] = ToBytes(Covariance.ToRowMajorArray());
        CheckpointFile.Write(path, checkpoint);
    }

    /// <summary>Loads statistics saved by <see cref="Save"/>.</summary>
    /// <exception cref="CheckpointException">The file is not a valid statistics file.</exception>
    public static FeatureStatistics Load(string path)
    {
        Checkpoint checkpoint = CheckpointFile.Read(path);
        if (!checkpoint.Metadata.TryGetValue("kind", out string? kind) || kind != Kind)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt, $"not a feature statistics file (kind '{kind}', expected '{Kind}')");
        }
        if (!int.TryParse(checkpoint.Metadata.GetValueOrDefault("dimension"), NumberStyles.None, CultureInfo.InvariantCulture, out int d) || d < 1
            || !long.TryParse(checkpoint.Metadata.GetValueOrDefault("count"), NumberStyles.None, CultureInfo.InvariantCulture, out long count)
            || !checkpoint.Blobs.TryGetValue(MeanBlob, out byte[]? meanBytes) || meanBytes.Length != 8L * d
            || !checkpoint.Blobs.TryGetValue(CovarianceBlob, out byte[]? covarianceBytes) || covarianceBytes.Length != 8L * d * d)
        {
            throw new CheckpointException(path, CheckpointError.Corrupt, "feature statistics file with missing or inconsistent dimension, count, mean or covariance");
        }
        Vector<double> mean = Vector<double>.Build.Dense(FromBytes(meanBytes));
        Matrix<double> covariance = Matrix<double>.Build.DenseOfRowMajor(d, d, FromBytes(covarianceBytes));
        return new FeatureStatistics(mean, covariance, count);
    }

    internal static void Symmetrize(Matrix<double> m)
    {
        for (int i = 0; i < m.RowCount; i++)
        {
            for (int j = i + 1; j < m.ColumnCount; j++)
            {
                double average = 0.5 * (m[i, j] + m[j, i]);
                m[i, j] = average;
                m[j, i] = average;
            }
        }
    }

    private static byte[] ToBytes(double[] values)
    {
        byte[] bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        }
        return bytes;
    }

    private static double[] FromBytes(byte[] bytes)
    {
        double[] values = new double[bytes.Length / 8];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * 8));
        }
        return values;
    }
}
