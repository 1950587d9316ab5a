namespace GanEngine.Ops.Reference;

/// <summary>float64 host references of the fused optimizer steps (torch.optim arithmetic, in the
/// same order as the kernels of <c>GanEngine.Ops.Optim.Optimizers</c>).</summary>
public static class OptimReference
{
    /// <summary>One Adam (decoupled == false) or AdamW (decoupled == true) step in place;
    /// <paramref name="step"/> counts from 1. Positions with mask == 0 end with p = m = v = 0.</summary>
    public static void AdamStep(double[] param, double[] grad, double[] expAvg, double[] expAvgSq, long step,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, float[]? mask = null)
    {
        double bias1 = 1.0 - Math.Pow(beta1, step);
        double bias2Sqrt = Math.Sqrt(1.0 - Math.Pow(beta2, step));
        double stepSize = lr / bias1;
        for (int i = 0; i < param.Length; i++)
        {
            if (mask != null && mask[i] == 0f)
            {
                param[i] = 0;
                expAvg[i] = 0;
                expAvgSq[i] = 0;
                continue;
            }
            double p = param[i];
            double g = grad[i];
            if (weightDecay != 0)
            {
                if (decoupled) p *= 1.0 - (lr * weightDecay);
                else g += weightDecay * p;
            }
            double m = expAvg[i] + ((1.0 - beta1) * (g - expAvg[i]));
            double v = (beta2 * expAvgSq[i]) + ((1.0 - beta2) * g * g);
            param[i] = p - (stepSize * m / ((Math.Sqrt(v) / bias2Sqrt) + eps));
            expAvg[i] = m;
            expAvgSq[i] = v;
        }
    }

    /// <summary>One SGD step in place (torch.optim.SGD).</summary>
    public static void SgdStep(double[] param, double[] grad, double[] momentumBuffer, bool firstStep,
        double lr, double momentum, double dampening, double weightDecay, bool nesterov, float[]? mask = null)
    {
        for (int i = 0; i < param.Length; i++)
        {
            if (mask != null && mask[i] == 0f)
            {
                param[i] = 0;
                if (momentum != 0) momentumBuffer[i] = 0;
                continue;
            }
            double d = grad[i] + (weightDecay * param[i]);
            if (momentum != 0)
            {
                double buf = firstStep ? d : (momentum * momentumBuffer[i]) + ((1.0 - dampening) * d);
                momentumBuffer[i] = buf;
                d = nesterov ? d + (momentum * buf) : buf;
            }
            param[i] -= lr * d;
        }
    }

    /// <summary>ema = beta * ema + (1 - beta) * w, 0 where mask == 0.</summary>
    public static void EmaStep(double[] ema, double[] weights, double beta, float[]? mask = null)
    {
        for (int i = 0; i < ema.Length; i++)
        {
            ema[i] = mask != null && mask[i] == 0f ? 0 : (beta * ema[i]) + ((1.0 - beta) * weights[i]);
        }
    }
}
