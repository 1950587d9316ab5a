using GanEngine.Kernels.Elementwise;

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
            AdamElement(param, grad, expAvg, expAvgSq, mask, i, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled, hasMask);
        }
    }

    /// <summary>
    /// <see cref="Adam"/> over up to <see cref="SlotStarts.Count"/> parameters in one launch (the multi-tensor
    /// form of <c>torch.optim.Adam(foreach=True)</c>, without masks): slot k updates parameter k (its
    /// gradient and moments, n<sub>k</sub> elements) on the blocks <paramref name="starts"/> gives it, with a
    /// grid-stride loop over them. Every element goes through the same code as in <see cref="Adam"/>, so the
    /// results are bit-identical to one <see cref="Adam"/> launch per parameter. Unused slots own no block
    /// and may repeat any views.
    /// </summary>
    [Kernel]
    public static void AdamMany(
        ArrayView<float> p0, ReadOnlyView<float> g0, ArrayView<float> m0, ArrayView<float> v0, int n0,
        ArrayView<float> p1, ReadOnlyView<float> g1, ArrayView<float> m1, ArrayView<float> v1, int n1,
        ArrayView<float> p2, ReadOnlyView<float> g2, ArrayView<float> m2, ArrayView<float> v2, int n2,
        ArrayView<float> p3, ReadOnlyView<float> g3, ArrayView<float> m3, ArrayView<float> v3, int n3,
        ArrayView<float> p4, ReadOnlyView<float> g4, ArrayView<float> m4, ArrayView<float> v4, int n4,
        ArrayView<float> p5, ReadOnlyView<float> g5, ArrayView<float> m5, ArrayView<float> v5, int n5,
        ArrayView<float> p6, ReadOnlyView<float> g6, ArrayView<float> m6, ArrayView<float> v6, int n6,
        ArrayView<float> p7, ReadOnlyView<float> g7, ArrayView<float> m7, ArrayView<float> v7, int n7,
        float lr, float beta1, float beta2, float eps, float weightDecay,
        float stepSize, float bias2Sqrt, int decoupled, SlotStarts starts)
    {
        int b = BlockIdx.X;
        if (b < starts.S1)
        {
            AdamSlot(p0, g0, m0, v0, n0, b, starts.S1, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
        else if (b < starts.S2)
        {
            AdamSlot(p1, g1, m1, v1, n1, b - starts.S1, starts.S2 - starts.S1, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
        else if (b < starts.S3)
        {
            AdamSlot(p2, g2, m2, v2, n2, b - starts.S2, starts.S3 - starts.S2, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
        else if (b < starts.S4)
        {
            AdamSlot(p3, g3, m3, v3, n3, b - starts.S3, starts.S4 - starts.S3, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
        else if (b < starts.S5)
        {
            AdamSlot(p4, g4, m4, v4, n4, b - starts.S4, starts.S5 - starts.S4, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
        else if (b < starts.S6)
        {
            AdamSlot(p5, g5, m5, v5, n5, b - starts.S5, starts.S6 - starts.S5, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
        else if (b < starts.S7)
        {
            AdamSlot(p6, g6, m6, v6, n6, b - starts.S6, starts.S7 - starts.S6, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
        else
        {
            AdamSlot(p7, g7, m7, v7, n7, b - starts.S7, GridDim.X - starts.S7, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled);
        }
    }

    // One slot of AdamMany: block `block` of the slot's `blocks`, grid-stride over its n elements (no mask).
    private static void AdamSlot(
        ArrayView<float> param, ReadOnlyView<float> grad, ArrayView<float> expAvg, ArrayView<float> expAvgSq, int n, int block, int blocks,
        float lr, float beta1, float beta2, float eps, float weightDecay, float stepSize, float bias2Sqrt, int decoupled)
    {
        int stride = blocks * BlockDim.X;
        for (int i = (block * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            AdamElement(param, grad, expAvg, expAvgSq, grad, i, lr, beta1, beta2, eps, weightDecay, stepSize, bias2Sqrt, decoupled, 0);
        }
    }

    // Element i of an Adam / AdamW step (the one code path of Adam and AdamMany).
    private static void AdamElement(
        ArrayView<float> param, ReadOnlyView<float> grad, ArrayView<float> expAvg, ArrayView<float> expAvgSq,
        ReadOnlyView<float> mask, int i,
        float lr, float beta1, float beta2, float eps, float weightDecay,
        float stepSize, float bias2Sqrt, int decoupled, int hasMask)
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
            EmaElement(ema, weights, mask, i, beta, hasMask);
        }
    }

    /// <summary>
    /// <see cref="Ema"/> over up to <see cref="SlotStarts.Count"/> tensors in one launch (no masks): slot k
    /// averages weights w<sub>k</sub> into e<sub>k</sub> (n<sub>k</sub> elements) on the blocks
    /// <paramref name="starts"/> gives it. Same element code as <see cref="Ema"/>: bit-identical to one launch
    /// per tensor. Unused slots own no block and may repeat any views.
    /// </summary>
    [Kernel]
    public static void EmaMany(
        ArrayView<float> e0, ReadOnlyView<float> w0, int n0,
        ArrayView<float> e1, ReadOnlyView<float> w1, int n1,
        ArrayView<float> e2, ReadOnlyView<float> w2, int n2,
        ArrayView<float> e3, ReadOnlyView<float> w3, int n3,
        ArrayView<float> e4, ReadOnlyView<float> w4, int n4,
        ArrayView<float> e5, ReadOnlyView<float> w5, int n5,
        ArrayView<float> e6, ReadOnlyView<float> w6, int n6,
        ArrayView<float> e7, ReadOnlyView<float> w7, int n7,
        float beta, SlotStarts starts)
    {
        int b = BlockIdx.X;
        if (b < starts.S1)
        {
            EmaSlot(e0, w0, n0, b, starts.S1, beta);
        }
        else if (b < starts.S2)
        {
            EmaSlot(e1, w1, n1, b - starts.S1, starts.S2 - starts.S1, beta);
        }
        else if (b < starts.S3)
        {
            EmaSlot(e2, w2, n2, b - starts.S2, starts.S3 - starts.S2, beta);
        }
        else if (b < starts.S4)
        {
            EmaSlot(e3, w3, n3, b - starts.S3, starts.S4 - starts.S3, beta);
        }
        else if (b < starts.S5)
        {
            EmaSlot(e4, w4, n4, b - starts.S4, starts.S5 - starts.S4, beta);
        }
        else if (b < starts.S6)
        {
            EmaSlot(e5, w5, n5, b - starts.S5, starts.S6 - starts.S5, beta);
        }
        else if (b < starts.S7)
        {
            EmaSlot(e6, w6, n6, b - starts.S6, starts.S7 - starts.S6, beta);
        }
        else
        {
            EmaSlot(e7, w7, n7, b - starts.S7, GridDim.X - starts.S7, beta);
        }
    }

    // One slot of EmaMany: block `block` of the slot's `blocks`, grid-stride over its n elements (no mask).
    private static void EmaSlot(ArrayView<float> ema, ReadOnlyView<float> weights, int n, int block, int blocks, float beta)
    {
        int stride = blocks * BlockDim.X;
        for (int i = (block * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            EmaElement(ema, weights, weights, i, beta, 0);
        }
    }

    // Element i of a weight EMA (the one code path of Ema and EmaMany).
    private static void EmaElement(ArrayView<float> ema, ReadOnlyView<float> weights, ReadOnlyView<float> mask, int i, float beta, int hasMask)
    {
        float e = (beta * ema[i]) + ((1f - beta) * weights[i]);
        if (hasMask != 0 && mask[i] == 0f)
        {
            e = 0f;
        }
        ema[i] = e;
    }
}
