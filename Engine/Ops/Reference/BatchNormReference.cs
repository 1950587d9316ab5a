namespace GanEngine.Ops.Reference;

/// <summary>float64 host reference of BatchNorm2d (NCHW, PyTorch semantics; see
/// <see cref="GanEngine.Ops.Norm.BatchNorm2d"/>). Null weight / bias mean "not affine"; null running
/// statistics are not updated.</summary>
public static class BatchNormReference
{
    /// <summary>Training forward: y, and the saved mean and invstd; updates the running statistics
    /// (unbiased variance) in place when given.</summary>
    public static (double[] Y, double[] Mean, double[] Invstd) ForwardTraining(
        ReadOnlySpan<double> x, int n, int c, int hw, double[]? weight, double[]? bias,
        double[]? runningMean, double[]? runningVar, double momentum = 0.1, double eps = 1e-5)
    {
        int m = n * hw;
        var y = new double[x.Length];
        var mean = new double[c];
        var invstd = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < hw; p++)
                {
                    sum += x[(((i * c) + ch) * hw) + p];
                }
            }
            double mu = sum / m;
            double squares = 0;
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < hw; p++)
                {
                    double d = x[(((i * c) + ch) * hw) + p] - mu;
                    squares += d * d;
                }
            }
            double variance = squares / m;
            mean[ch] = mu;
            invstd[ch] = 1.0 / Math.Sqrt(variance + eps);
            if (runningMean is not null)
            {
                runningMean[ch] = ((1 - momentum) * runningMean[ch]) + (momentum * mu);
            }
            if (runningVar is not null)
            {
                runningVar[ch] = ((1 - momentum) * runningVar[ch]) + (momentum * squares / (m - 1));
            }
            double g = weight?[ch] ?? 1.0, b = bias?[ch] ?? 0.0;
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < hw; p++)
                {
                    int at = (((i * c) + ch) * hw) + p;
                    y[at] = (g * (x[at] - mu) * invstd[ch]) + b;
                }
            }
        }
        return (y, mean, invstd);
    }

    /// <summary>Evaluation forward with the running statistics.</summary>
    public static double[] ForwardEval(ReadOnlySpan<double> x, int n, int c, int hw, double[]? weight, double[]? bias,
        double[] runningMean, double[] runningVar, double eps = 1e-5)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                double s = (weight?[ch] ?? 1.0) / Math.Sqrt(runningVar[ch] + eps);
                for (int p = 0; p < hw; p++)
                {
                    int at = (((i * c) + ch) * hw) + p;
                    y[at] = ((x[at] - runningMean[ch]) * s) + (bias?[ch] ?? 0.0);
                }
            }
        }
        return y;
    }

    /// <summary>Training backward from the saved mean and invstd: dx, dgamma, dbeta.</summary>
    public static (double[] Dx, double[] Dweight, double[] Dbias) Backward(
        ReadOnlySpan<double> x, ReadOnlySpan<double> dy, int n, int c, int hw, double[] mean, double[] invstd, double[]? weight)
    {
        int m = n * hw;
        var dx = new double[x.Length];
        var dweight = new double[c];
        var dbias = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < hw; p++)
                {
                    int at = (((i * c) + ch) * hw) + p;
                    sumDy += dy[at];
                    sumDyXhat += dy[at] * (x[at] - mean[ch]) * invstd[ch];
                }
            }
            dbias[ch] = sumDy;
            dweight[ch] = sumDyXhat;
            double k = (weight?[ch] ?? 1.0) * invstd[ch];
            for (int i = 0; i < n; i++)
            {
                for (int p = 0; p < hw; p++)
                {
                    int at = (((i * c) + ch) * hw) + p;
                    double xhat = (x[at] - mean[ch]) * invstd[ch];
                    dx[at] = k * (dy[at] - (sumDy / m) - (xhat * sumDyXhat / m));
                }
            }
        }
        return (dx, dweight, dbias);
    }
}
