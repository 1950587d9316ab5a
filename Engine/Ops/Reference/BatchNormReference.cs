using GanEngine.Ops.Norm;

namespace GanEngine.Ops.Reference;

/// <summary>float64 host reference of BatchNorm2d (NCHW, PyTorch semantics; see
/// <see cref="GanEngine.Ops.Norm.BatchNorm2d"/>), optionally followed by an activation
/// (<see cref="FusedActivation"/>). Null weight / bias mean "not affine"; null running statistics are
/// not updated.</summary>
public static class BatchNormReference
{
    /// <summary>Training forward: y = act(BN(x)), and the saved mean and invstd; updates the running
    /// statistics (unbiased variance) in place when given.</summary>
    public static (double[] Y, double[] Mean, double[] Invstd) ForwardTraining(
        ReadOnlySpan<double> x, int n, int c, int hw, double[]? weight, double[]? bias,
        double[]? runningMean, double[]? runningVar, double momentum = 0.1, double eps = 1e-5,
        FusedActivation activation = FusedActivation.None, double negativeSlope = 0.01)
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
                    y[at] = Activate((g * (x[at] - mu) * invstd[ch]) + b, activation, negativeSlope);
                }
            }
        }
        return (y, mean, invstd);
    }

    /// <summary>Evaluation forward with the running statistics, then the activation.</summary>
    public static double[] ForwardEval(ReadOnlySpan<double> x, int n, int c, int hw, double[]? weight, double[]? bias,
        double[] runningMean, double[] runningVar, double eps = 1e-5,
        FusedActivation activation = FusedActivation.None, double negativeSlope = 0.01)
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
                    y[at] = Activate(((x[at] - runningMean[ch]) * s) + (bias?[ch] ?? 0.0), activation, negativeSlope);
                }
            }
        }
        return y;
    }

    /// <summary>Training backward from the saved mean and invstd: dx, dgamma, dbeta. With an activation,
    /// <paramref name="dyActivation"/> is the gradient with respect to its output; it is first multiplied
    /// by act'(z) at the pre-activation z = gamma xhat + beta (PyTorch at 0: relu' = 0, leaky' = slope).</summary>
    public static (double[] Dx, double[] Dweight, double[] Dbias) Backward(
        ReadOnlySpan<double> x, ReadOnlySpan<double> dyActivation, int n, int c, int hw, double[] mean, double[] invstd, double[]? weight,
        double[]? bias = null, FusedActivation activation = FusedActivation.None, double negativeSlope = 0.01)
    {
        int m = n * hw;
        var dy = new double[x.Length];
        for (int at = 0; at < x.Length; at++)
        {
            int ch = (at / hw) % c;
            double z = ((weight?[ch] ?? 1.0) * (x[at] - mean[ch]) * invstd[ch]) + (bias?[ch] ?? 0.0);
            dy[at] = dyActivation[at] * Derivative(z, activation, negativeSlope);
        }
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

    /// <summary>act(z).</summary>
    public static double Activate(double z, FusedActivation activation, double negativeSlope) => activation switch
    {
        FusedActivation.None => z,
        FusedActivation.Relu => z > 0 ? z : 0,
        FusedActivation.LeakyRelu => z > 0 ? z : z * negativeSlope,
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    /// <summary>act'(z), with PyTorch's value at 0 (its backward tests z &gt; 0).</summary>
    public static double Derivative(double z, FusedActivation activation, double negativeSlope) => activation switch
    {
        FusedActivation.None => 1,
        FusedActivation.Relu => z > 0 ? 1 : 0,
        FusedActivation.LeakyRelu => z > 0 ? 1 : negativeSlope,
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };
}
