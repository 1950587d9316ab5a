namespace GanEngine.Kernels.Optim;

/// <summary>
/// Fused optimizer steps over flat float views: one launch reads the parameter, its gradient and
/// the optimizer state once and writes them once (PyTorch's <c>torch.optim</c> arithmetic, the
/// single-tensor path, without amsgrad / maximize).
/// </summary>
/// <remarks>
/// All kernels are grid-stride loops (any grid covers any <c>n</c>). Host-known quantities
/// (bias corrections, which depend only on the step number) are passed as scalars, so a step needs
/// no host synchronisation. Optional mask: <c>hasMask != 0</c> makes every position with
/// <c>mask[i] == 0</c> end the step with parameter and state exactly <c>0</c> (the pruned weights of
/// a sparse network stay pruned); with <c>hasMask == 0</c> the mask view is never read (pass any
/// read-only view, e.g. the gradient).
/// </remarks>
public static partial class OptimizerKernels
{
    /// <summary>
    /// Adam / AdamW step (torch.optim.Adam / AdamW, amsgrad off):
    /// <code>
    /// g = grad (+ weightDecay * p   if decoupled == 0: Adam's L2 term)
    /// p = p * (1 - lr * weightDecay) if decoupled != 0 (AdamW)
    /// m = m + (1 - beta1) * (g - m)          (torch: exp_avg.lerp_(g, 1 - beta1))
    /// v = beta2 * v + (1 - beta2) * g * g
    /// p = p - stepSize * m / (sqrt(v) / bias2Sqrt + eps)
    /// </code>
    /// with <c>stepSize = lr / (1 - beta1^t)</c> and <c>bias2Sqrt = sqrt(1 - beta2^t)</c> from the host.
    /// </summary>
    [Kernel]
    public static void Adam(
        ArrayView<float> param, ReadOnlyView<float> grad, ArrayView<float> expAvg, ArrayView<float> expAvgSq,
        ReadOnlyView<float> mask, int n,
        float lr, float beta1, float beta2, float eps, float weightDecay,
        float stepSize, float bias2Sqrt, int decoupled, int hasMask)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            if (hasMask != 0 && mask[i] == 0f)
            {
                param[i] = 0f;
                expAvg[i] = 0f;
                expAvgSq[i] = 0f;
            }
            else
            {
                float p = param[i];
                float g = grad[i];
                if (weightDecay != 0f)
                {
                    if (decoupled != 0)
                    {
                        p = p * (1f - (lr * weightDecay));
                    }
                    else
                    {
                        g = g + (weightDecay * p);
                    }
                }
                float m = expAvg[i];
                float v = expAvgSq[i];
                m = m + ((1f - beta1) * (g - m));
                v = (beta2 * v) + ((1f - beta2) * g * g);
                float denom = (KMath.Sqrt(v) / bias2Sqrt) + eps;
                p = p - (stepSize * (m / denom));
                param[i] = p;
                expAvg[i] = m;
                expAvgSq[i] = v;
            }
        }
    }

    /// <summary>
    /// SGD step (torch.optim.SGD, maximize off):
    /// <code>
    /// d = grad + weightDecay * p
    /// if momentum != 0:
    ///     buf = d                                      on the first step (firstStep != 0)
    ///     buf = momentum * buf + (1 - dampening) * d   afterwards
    ///     d = nesterov != 0 ? d + momentum * buf : buf
    /// p = p - lr * d
    /// </code>
    /// With <c>momentum == 0</c> the buffer is never read or written.
    /// </summary>
    [Kernel]
    public static void Sgd(
        ArrayView<float> param, ReadOnlyView<float> grad, ArrayView<float> momentumBuffer,
        ReadOnlyView<float> mask, int n,
        float lr, float momentum, float dampening, float weightDecay,
        int nesterov, int firstStep, int hasMask)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            if (hasMask != 0 && mask[i] == 0f)
            {
                param[i] = 0f;
                if (momentum != 0f)
                {
                    momentumBuffer[i] = 0f;
                }
            }
            else
            {
                float p = param[i];
                float d = grad[i];
                if (weightDecay != 0f)
                {
                    d = d + (weightDecay * p);
                }
                if (momentum != 0f)
                {
                    float buf = d;
                    if (firstStep == 0)
                    {
                        buf = (momentum * momentumBuffer[i]) + ((1f - dampening) * d);
                    }
                    momentumBuffer[i] = buf;
                    d = nesterov != 0 ? d + (momentum * buf) : buf;
                }
                param[i] = p - (lr * d);
            }
        }
    }

    /// <summary>
    /// Exponential moving average of weights: <c>ema = beta * ema + (1 - beta) * w</c>; with a mask,
    /// <c>ema = 0</c> where <c>mask == 0</c> (STU-GAN's sparse EMA, <c>(beta ema + (1 - beta) w) * M</c>).
    /// </summary>
    [Kernel]
    public static void Ema(ArrayView<float> ema, ReadOnlyView<float> weights, ReadOnlyView<float> mask, int n, float beta, int hasMask)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            float e = (beta * ema[i]) + ((1f - beta) * weights[i]);
            if (hasMask != 0 && mask[i] == 0f)
            {
                e = 0f;
            }
            ema[i] = e;
        }
    }
}
