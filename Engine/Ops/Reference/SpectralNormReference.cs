namespace GanEngine.Ops.Reference;

/// <summary>float64 references of spectral normalisation (torch.nn.utils.spectral_norm) on a
/// row-major (rows, cols) weight matrix.</summary>
public static class SpectralNormReference
{
    /// <summary>x / max(||x||, eps) (torch.nn.functional.normalize).</summary>
    public static double[] Normalize(double[] x, double eps = 1e-12)
    {
        double sum = 0;
        foreach (double value in x) sum += value * value;
        double norm = Math.Max(Math.Sqrt(sum), eps);
        return x.Select(value => value / norm).ToArray();
    }

    /// <summary>W v.</summary>
    public static double[] MatVec(double[] w, double[] v, int rows, int cols)
    {
        var r = new double[rows];
        for (int i = 0; i < rows; i++)
        {
            double s = 0;
            for (int j = 0; j < cols; j++) s += w[(i * cols) + j] * v[j];
            r[i] = s;
        }
        return r;
    }

    /// <summary>W^T u.</summary>
    public static double[] MatTVec(double[] w, double[] u, int rows, int cols)
    {
        var r = new double[cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++) r[j] += w[(i * cols) + j] * u[i];
        }
        return r;
    }

    /// <summary>The forward: <paramref name="iterations"/> power iterations updating u and v in place,
    /// sigma = u^T W v, and W / sigma.</summary>
    public static (double[] WeightSn, double Sigma) Forward(double[] w, int rows, int cols, double[] u, double[] v, int iterations, double eps = 1e-12)
    {
        for (int it = 0; it < iterations; it++)
        {
            Array.Copy(Normalize(MatTVec(w, u, rows, cols), eps), v, cols);
            Array.Copy(Normalize(MatVec(w, v, rows, cols), eps), u, rows);
        }
        double sigma = Sigma(w, rows, cols, u, v);
        return (w.Select(x => x / sigma).ToArray(), sigma);
    }

    /// <summary>u^T W v.</summary>
    public static double Sigma(double[] w, int rows, int cols, double[] u, double[] v)
    {
        var wv = MatVec(w, v, rows, cols);
        double sigma = 0;
        for (int i = 0; i < rows; i++) sigma += u[i] * wv[i];
        return sigma;
    }

    /// <summary>The backward with u, v constant: dW = (dW_sn - sum(dW_sn * W_sn) u v^T) / sigma,
    /// sigma = u^T W v.</summary>
    public static double[] Backward(double[] gradWeightSn, double[] w, int rows, int cols, double[] u, double[] v)
    {
        double sigma = Sigma(w, rows, cols, u, v);
        double dot = 0;
        for (int k = 0; k < w.Length; k++) dot += gradWeightSn[k] * w[k] / sigma;
        var grad = new double[w.Length];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                int k = (i * cols) + j;
                grad[k] = (gradWeightSn[k] - (dot * u[i] * v[j])) / sigma;
            }
        }
        return grad;
    }

    /// <summary>The largest singular value of W, by cyclic Jacobi on the smaller Gram matrix
    /// (W W^T or W^T W): an independent check of the power iteration.</summary>
    public static double LargestSingularValue(double[] w, int rows, int cols)
    {
        bool byRows = rows <= cols;
        int n = byRows ? rows : cols;
        var a = new double[n, n];
        for (int p = 0; p < n; p++)
        {
            for (int q = 0; q < n; q++)
            {
                double s = 0;
                if (byRows) for (int j = 0; j < cols; j++) s += w[(p * cols) + j] * w[(q * cols) + j];
                else for (int i = 0; i < rows; i++) s += w[(i * cols) + p] * w[(i * cols) + q];
                a[p, q] = s;
            }
        }
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p, q] * a[p, q];
            if (off < 1e-30) break;
            for (int p = 0; p < n; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt((t * t) + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = (c * akp) - (s * akq);
                        a[k, q] = (s * akp) + (c * akq);
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = (c * apk) - (s * aqk);
                        a[q, k] = (s * apk) + (c * aqk);
                    }
                }
            }
        }
        double max = 0;
        for (int p = 0; p < n; p++) max = Math.Max(max, a[p, p]);
        return Math.Sqrt(max);
    }
}
