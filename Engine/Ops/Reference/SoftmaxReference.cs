namespace GanEngine.Ops.Reference;

/// <summary>Float64 references of row-wise softmax, log-softmax and the mean cross-entropy on a
/// row-major (rows, cols) matrix, with the kernels' target rule (rounded to nearest; a target outside
/// 0..cols-1 or NaN skips the target term).</summary>
public static class SoftmaxReference
{
    /// <summary>logsumexp of each row, max-subtracted.</summary>
    public static double[] LogSumExp(double[] x, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(x);
        var lse = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double m = double.NegativeInfinity;
            for (int j = 0; j < cols; j++)
            {
                m = Math.Max(m, x[(r * cols) + j]);
            }
            double s = 0;
            for (int j = 0; j < cols; j++)
            {
                s += Math.Exp(x[(r * cols) + j] - m);
            }
            lse[r] = m + Math.Log(s);
        }
        return lse;
    }

    /// <summary>softmax (<paramref name="log"/> false) or log_softmax (true) of each row.</summary>
    public static double[] Forward(double[] x, int rows, int cols, bool log)
    {
        var lse = LogSumExp(x, rows, cols);
        var y = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < cols; j++)
            {
                double v = x[(r * cols) + j] - lse[r];
                y[(r * cols) + j] = log ? v : Math.Exp(v);
            }
        }
        return y;
    }

    /// <summary>The gradient with respect to x of sum(gy * Forward(x)).</summary>
    public static double[] Backward(double[] x, double[] gy, int rows, int cols, bool log)
    {
        ArgumentNullException.ThrowIfNull(gy);
        var p = Forward(x, rows, cols, log: false);
        var gx = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double dot = 0;
            for (int j = 0; j < cols; j++)
            {
                int k = (r * cols) + j;
                dot += log ? gy[k] : gy[k] * p[k];
            }
            for (int j = 0; j < cols; j++)
            {
                int k = (r * cols) + j;
                gx[k] = log ? gy[k] - (p[k] * dot) : p[k] * (gy[k] - dot);
            }
        }
        return gx;
    }

    /// <summary>The class index held by target <paramref name="t"/> (rounded to nearest), or -1 when invalid.</summary>
    public static int TargetIndex(double t, int cols)
    {
        double r = Math.Floor(t + 0.5);
        return r >= 0 && r < cols ? (int)r : -1;
    }

    /// <summary>Mean cross-entropy <c>mean_r (lse[r] - x[r, t[r]])</c> (PyTorch's <c>F.cross_entropy</c>,
    /// reduction mean) and its gradient <c>(softmax - onehot) / rows</c>.</summary>
    public static (double Loss, double[] Grad) CrossEntropy(double[] x, double[] targets, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var lse = LogSumExp(x, rows, cols);
        double loss = 0;
        var grad = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            int t = TargetIndex(targets[r], cols);
            loss += lse[r] - (t >= 0 ? x[(r * cols) + t] : 0);
            for (int j = 0; j < cols; j++)
            {
                int k = (r * cols) + j;
                grad[k] = (Math.Exp(x[k] - lse[r]) - (j == t ? 1 : 0)) / rows;
            }
        }
        return (loss / rows, grad);
    }
}
