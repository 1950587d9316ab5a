namespace GanEngine.Kernels.Norm;

/// <summary>
/// BatchNorm2d over NCHW float tensors (PyTorch semantics; the host side is
/// <c>GanEngine.Ops.Norm.BatchNorm2d</c>).
/// </summary>
/// <remarks>
/// <para><b>Work split.</b> Channel c owns the M = N * H * W elements x[n, c, :, :]; a channel's
/// elements are numbered j = n * HW + p (p the pixel) and cut into <c>splits</c> contiguous chunks.
/// Block (s, c) of a grid (splits, C) walks chunk s of channel c: thread t visits j = begin + t,
/// begin + t + B, ... (B = block size), keeping (p, address) and advancing them by B with one compare
/// (no division per element), <see cref="Unroll"/> independent loads in flight per step.</para>
/// <para><b>Reductions.</b> Per thread in registers, then <c>Warp.ShuffleDown</c> within warps, the
/// warp totals through shared memory, and a second shuffle round in every warp (collectives stay in
/// block-uniform flow); lane 0 of each warp ends with the block total, <c>Warp.Shuffle(v, 0)</c>
/// broadcasts it.</para>
/// <para><b>Numerics.</b> Statistics are shifted sums in fp32: with K = x[0, c, 0, 0], each thread
/// sums d = x - K and d*d; mean = K + S1/M, var = S2/M - (S1/M)^2 (clamped at 0). The shift removes
/// the cancellation of plain sum / sum-of-squares when |mean| is large against the standard
/// deviation; one read pass, no division per element (Welford would need one).</para>
/// <para><b>Kernels.</b> Fused (grid (1, C), one launch per pass): <see cref="ForwardFused"/> reduces
/// then normalises the channel in the same block (second read mostly from L2);
/// <see cref="BackwardFused"/> likewise. Split (grid (S, C), two launches per pass, for tensors far
/// larger than L2 with few channels): <see cref="ForwardStats"/> writes per-chunk partial sums to a
/// workspace, <see cref="ForwardApply"/> has every thread fold the S partials of its channel (no
/// further launch), block (0, c) stores the saved statistics and running statistics, and every block
/// normalises its chunk; <see cref="BackwardReduce"/> / <see cref="BackwardApply"/> the same for the
/// gradient. Workspace: 2 * C * S floats, laid out [c][s][2].</para>
/// <para><b>Fused activation.</b> The kernels that write y apply the activation that follows the
/// BatchNorm in the network (the <c>Activation</c> specialization: none, ReLU, LeakyReLU with
/// <c>negativeSlope</c>) as they write it, and the backward kernels take dy with respect to that
/// activation's output: they recompute the pre-activation z = x * scale + offset from x (which they read
/// anyway) with the forward's own floats, so the gate is the forward's, and turn dy into dL/dz before
/// using it. One read and one write of the activation tensor are saved in each direction and nothing
/// extra is stored. The gradient at z = 0 is PyTorch's (z &gt; 0 passes): relu'(0) = 0,
/// leaky_relu'(0) = slope. With <see cref="ActivationNone"/> the branches compile away.</para>
/// <para>Optional tensors (weight, bias, running statistics, weight and bias gradients) are views of
/// length 0 when absent.</para>
/// </remarks>
public static partial class BatchNormKernels
{
    /// <summary>Independent loads in flight per thread per step.</summary>
    public const int Unroll = 4;

    /// <summary><c>Activation</c> specialization: y is the normalised value.</summary>
    public const int ActivationNone = 0;

    /// <summary><c>Activation</c> specialization: y = max(z, 0) (0 for NaN, as the engine's ReLU).</summary>
    public const int ActivationRelu = 1;

    /// <summary><c>Activation</c> specialization: y = z &gt; 0 ? z : z * negativeSlope.</summary>
    public const int ActivationLeakyRelu = 2;

    /// <summary>Training statistics, chunk s of channel c: workspace[(c S + s) 2 + {0, 1}] = the chunk's
    /// sums of (x - K) and (x - K)^2, K = x[0, c, 0, 0].</summary>
    [Kernel]
    public static void ForwardStats(ReadOnlyView<float> x, ArrayView<float> workspace, int n, int channels, int hw, int chunk)
    {
        var red = Shared.Allocate<float>(64);
        int tid = ThreadIdx.X;
        int threads = BlockDim.X;
        int c = BlockIdx.Y;
        int split = BlockIdx.X;
        int splits = GridDim.X;
        int m = n * hw;
        int chw = channels * hw;
        int begin = split * chunk;
        int end = begin + chunk < m ? begin + chunk : m;
        Span<int> at = stackalloc int[Unroll];
        float shift = x[c * hw];
        float s1 = 0f;
        float s2 = 0f;

        int stepP = threads % hw;
        int stepAddress = ((threads / hw) * chw) + stepP;
        int j = begin + tid;
        int p = j % hw;
        int address = ((j / hw) * chw) + (c * hw) + p;
        while (j + ((Unroll - 1) * threads) < end)
        {
            for (int u = 0; u < Unroll; u++)
            {
                at[u] = address;
                p += stepP;
                address += stepAddress;
                if (p >= hw)
                {
                    p -= hw;
                    address += chw - hw;
                }
            }
            for (int u = 0; u < Unroll; u++)
            {
                float d = x[at[u]] - shift;
                s1 += d;
                s2 = KMath.Fma(d, d, s2);
            }
            j += Unroll * threads;
        }
        while (j < end)
        {
            float d = x[address] - shift;
            s1 += d;
            s2 = KMath.Fma(d, d, s2);
            p += stepP;
            address += stepAddress;
            if (p >= hw)
            {
                p -= hw;
                address += chw - hw;
            }
            j += threads;
        }

        // Block sums (lane 0 of every warp ends with them).
        int lane = tid & 31;
        int warp = tid >> 5;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        if (lane == 0)
        {
            red[warp] = s1;
            red[32 + warp] = s2;
        }
        Group.Barrier();
        s1 = lane < (threads >> 5) ? red[lane] : 0f;
        s2 = lane < (threads >> 5) ? red[32 + lane] : 0f;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        if (tid == 0)
        {
            workspace[((c * splits) + split) * 2] = s1;
            workspace[(((c * splits) + split) * 2) + 1] = s2;
        }
    }

    /// <summary>Folds the partial sums of channel c, stores the saved and running statistics (block
    /// (0, c) only), and normalises chunk s: y = act(x * scale + shift) with scale = gamma * invstd.</summary>
    [Kernel]
    public static void ForwardApply(
        ReadOnlyView<float> x, ReadOnlyView<float> workspace, ReadOnlyView<float> weight, ReadOnlyView<float> bias,
        ArrayView<float> y, ArrayView<float> saveMean, ArrayView<float> saveInvstd,
        ArrayView<float> runningMean, ArrayView<float> runningVar,
        int n, int channels, int hw, int chunk, float eps, float momentum, float negativeSlope, [Specialization] int Activation)
    {
        int tid = ThreadIdx.X;
        int threads = BlockDim.X;
        int c = BlockIdx.Y;
        int split = BlockIdx.X;
        int splits = GridDim.X;
        int m = n * hw;
        int chw = channels * hw;
        float s1 = 0f;
        float s2 = 0f;
        for (int s = 0; s < splits; s++)
        {
            s1 += workspace[((c * splits) + s) * 2];
            s2 += workspace[(((c * splits) + s) * 2) + 1];
        }
        float count = (float)m;
        float shifted = s1 / count;
        float variance = KMath.Max((s2 / count) - (shifted * shifted), 0f);
        float mean = x[c * hw] + shifted;
        float invstd = KMath.Rsqrt(variance + eps);
        if (split == 0 && tid == 0)
        {
            StoreStatistics(saveMean, saveInvstd, runningMean, runningVar, c, mean, invstd, variance, m, momentum);
        }
        float scale = weight.Length > 0 ? weight[c] * invstd : invstd;
        float offset = (bias.Length > 0 ? bias[c] : 0f) - (mean * scale);
        int begin = split * chunk;
        int end = begin + chunk < m ? begin + chunk : m;
        Normalise(x, y, begin, end, tid, threads, c, hw, chw, scale, offset, negativeSlope, Activation);
    }

    /// <summary>One block per channel: statistics, saved and running statistics, and normalisation
    /// (with the activation) in one launch (grid (1, C)).</summary>
    [Kernel]
    public static void ForwardFused(
        ReadOnlyView<float> x, ReadOnlyView<float> weight, ReadOnlyView<float> bias,
        ArrayView<float> y, ArrayView<float> saveMean, ArrayView<float> saveInvstd,
        ArrayView<float> runningMean, ArrayView<float> runningVar,
        int n, int channels, int hw, float eps, float momentum, float negativeSlope, [Specialization] int Activation)
    {
        var red = Shared.Allocate<float>(64);
        int tid = ThreadIdx.X;
        int threads = BlockDim.X;
        int c = BlockIdx.Y;
        int m = n * hw;
        int chw = channels * hw;
        Span<int> at = stackalloc int[Unroll];
        float shift = x[c * hw];
        float s1 = 0f;
        float s2 = 0f;

        int stepP = threads % hw;
        int stepAddress = ((threads / hw) * chw) + stepP;
        int j = tid;
        int p = j % hw;
        int address = ((j / hw) * chw) + (c * hw) + p;
        while (j + ((Unroll - 1) * threads) < m)
        {
            for (int u = 0; u < Unroll; u++)
            {
                at[u] = address;
                p += stepP;
                address += stepAddress;
                if (p >= hw)
                {
                    p -= hw;
                    address += chw - hw;
                }
            }
            for (int u = 0; u < Unroll; u++)
            {
                float d = x[at[u]] - shift;
                s1 += d;
                s2 = KMath.Fma(d, d, s2);
            }
            j += Unroll * threads;
        }
        while (j < m)
        {
            float d = x[address] - shift;
            s1 += d;
            s2 = KMath.Fma(d, d, s2);
            p += stepP;
            address += stepAddress;
            if (p >= hw)
            {
                p -= hw;
                address += chw - hw;
            }
            j += threads;
        }

        int lane = tid & 31;
        int warp = tid >> 5;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        if (lane == 0)
        {
            red[warp] = s1;
            red[32 + warp] = s2;
        }
        Group.Barrier();
        s1 = lane < (threads >> 5) ? red[lane] : 0f;
        s2 = lane < (threads >> 5) ? red[32 + lane] : 0f;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        s1 = Warp.Shuffle(s1, 0);
        s2 = Warp.Shuffle(s2, 0);

        float count = (float)m;
        float shifted = s1 / count;
        float variance = KMath.Max((s2 / count) - (shifted * shifted), 0f);
        float mean = shift + shifted;
        float invstd = KMath.Rsqrt(variance + eps);
        if (tid == 0)
        {
            StoreStatistics(saveMean, saveInvstd, runningMean, runningVar, c, mean, invstd, variance, m, momentum);
        }
        float scale = weight.Length > 0 ? weight[c] * invstd : invstd;
        float offset = (bias.Length > 0 ? bias[c] : 0f) - (mean * scale);
        Normalise(x, y, 0, m, tid, threads, c, hw, chw, scale, offset, negativeSlope, Activation);
    }

    /// <summary>Evaluation mode: y = act((x - running mean) * rsqrt(running var + eps) * gamma + beta)
    /// over chunk s of channel c (grid (S, C)).</summary>
    [Kernel]
    public static void ForwardEval(
        ReadOnlyView<float> x, ReadOnlyView<float> weight, ReadOnlyView<float> bias,
        ReadOnlyView<float> runningMean, ReadOnlyView<float> runningVar, ArrayView<float> y,
        int n, int channels, int hw, int chunk, float eps, float negativeSlope, [Specialization] int Activation)
    {
        int c = BlockIdx.Y;
        int m = n * hw;
        float invstd = KMath.Rsqrt(runningVar[c] + eps);
        float scale = weight.Length > 0 ? weight[c] * invstd : invstd;
        float offset = (bias.Length > 0 ? bias[c] : 0f) - (runningMean[c] * scale);
        int begin = BlockIdx.X * chunk;
        int end = begin + chunk < m ? begin + chunk : m;
        Normalise(x, y, begin, end, ThreadIdx.X, BlockDim.X, c, hw, channels * hw, scale, offset, negativeSlope, Activation);
    }

    /// <summary>Backward, chunk s of channel c: workspace[(c S + s) 2 + {0, 1}] = the chunk's sums of g
    /// and g * (x - mean), g = dL/dz (dy through the activation's gate; dy itself without one).</summary>
    [Kernel]
    public static void BackwardReduce(
        ReadOnlyView<float> x, ReadOnlyView<float> dy, ReadOnlyView<float> saveMean, ReadOnlyView<float> saveInvstd,
        ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> workspace,
        int n, int channels, int hw, int chunk, float negativeSlope, [Specialization] int Activation)
    {
        var red = Shared.Allocate<float>(64);
        int tid = ThreadIdx.X;
        int threads = BlockDim.X;
        int c = BlockIdx.Y;
        int split = BlockIdx.X;
        int splits = GridDim.X;
        int m = n * hw;
        int chw = channels * hw;
        int begin = split * chunk;
        int end = begin + chunk < m ? begin + chunk : m;
        Span<int> at = stackalloc int[Unroll];
        float mean = saveMean[c];
        float zScale = 0f;
        float zOffset = 0f;
        if (Activation != ActivationNone)
        {
            zScale = weight.Length > 0 ? weight[c] * saveInvstd[c] : saveInvstd[c];
            zOffset = (bias.Length > 0 ? bias[c] : 0f) - (mean * zScale);
        }
        float s1 = 0f;
        float s2 = 0f;

        int stepP = threads % hw;
        int stepAddress = ((threads / hw) * chw) + stepP;
        int j = begin + tid;
        int p = j % hw;
        int address = ((j / hw) * chw) + (c * hw) + p;
        while (j + ((Unroll - 1) * threads) < end)
        {
            for (int u = 0; u < Unroll; u++)
            {
                at[u] = address;
                p += stepP;
                address += stepAddress;
                if (p >= hw)
                {
                    p -= hw;
                    address += chw - hw;
                }
            }
            for (int u = 0; u < Unroll; u++)
            {
                float v = x[at[u]];
                float g = Gate(dy[at[u]], v, zScale, zOffset, negativeSlope, Activation);
                s1 += g;
                s2 = KMath.Fma(g, v - mean, s2);
            }
            j += Unroll * threads;
        }
        while (j < end)
        {
            float v = x[address];
            float g = Gate(dy[address], v, zScale, zOffset, negativeSlope, Activation);
            s1 += g;
            s2 = KMath.Fma(g, v - mean, s2);
            p += stepP;
            address += stepAddress;
            if (p >= hw)
            {
                p -= hw;
                address += chw - hw;
            }
            j += threads;
        }

        int lane = tid & 31;
        int warp = tid >> 5;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        if (lane == 0)
        {
            red[warp] = s1;
            red[32 + warp] = s2;
        }
        Group.Barrier();
        s1 = lane < (threads >> 5) ? red[lane] : 0f;
        s2 = lane < (threads >> 5) ? red[32 + lane] : 0f;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        if (tid == 0)
        {
            workspace[((c * splits) + split) * 2] = s1;
            workspace[(((c * splits) + split) * 2) + 1] = s2;
        }
    }

    /// <summary>Backward: folds the partials of channel c, stores dgamma and dbeta (block (0, c)), and
    /// writes dx over chunk s.</summary>
    [Kernel]
    public static void BackwardApply(
        ReadOnlyView<float> x, ReadOnlyView<float> dy, ReadOnlyView<float> saveMean, ReadOnlyView<float> saveInvstd,
        ReadOnlyView<float> weight, ReadOnlyView<float> bias, ReadOnlyView<float> workspace,
        ArrayView<float> dx, ArrayView<float> dweight, ArrayView<float> dbias,
        int n, int channels, int hw, int chunk, float negativeSlope, [Specialization] int Activation)
    {
        int tid = ThreadIdx.X;
        int c = BlockIdx.Y;
        int split = BlockIdx.X;
        int splits = GridDim.X;
        int m = n * hw;
        float s1 = 0f;
        float s2 = 0f;
        for (int s = 0; s < splits; s++)
        {
            s1 += workspace[((c * splits) + s) * 2];
            s2 += workspace[(((c * splits) + s) * 2) + 1];
        }
        float invstd = saveInvstd[c];
        if (split == 0 && tid == 0)
        {
            StoreParameterGradients(dweight, dbias, c, s1, s2 * invstd);
        }
        int begin = split * chunk;
        int end = begin + chunk < m ? begin + chunk : m;
        float mean = saveMean[c];
        float k = weight.Length > 0 ? weight[c] * invstd : invstd;
        float zOffset = Activation != ActivationNone ? (bias.Length > 0 ? bias[c] : 0f) - (mean * k) : 0f;
        InputGradient(x, dy, dx, begin, end, tid, BlockDim.X, c, hw, channels * hw,
            k, mean, s1, s2 * invstd * invstd, (float)m, zOffset, negativeSlope, Activation);
    }

    /// <summary>Backward in one launch, one block per channel (grid (1, C)).</summary>
    [Kernel]
    public static void BackwardFused(
        ReadOnlyView<float> x, ReadOnlyView<float> dy, ReadOnlyView<float> saveMean, ReadOnlyView<float> saveInvstd,
        ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> dx, ArrayView<float> dweight, ArrayView<float> dbias,
        int n, int channels, int hw, float negativeSlope, [Specialization] int Activation)
    {
        var red = Shared.Allocate<float>(64);
        int tid = ThreadIdx.X;
        int threads = BlockDim.X;
        int c = BlockIdx.Y;
        int m = n * hw;
        int chw = channels * hw;
        Span<int> at = stackalloc int[Unroll];
        float mean = saveMean[c];
        float zScale = 0f;
        float zOffset = 0f;
        if (Activation != ActivationNone)
        {
            zScale = weight.Length > 0 ? weight[c] * saveInvstd[c] : saveInvstd[c];
            zOffset = (bias.Length > 0 ? bias[c] : 0f) - (mean * zScale);
        }
        float s1 = 0f;
        float s2 = 0f;

        int stepP = threads % hw;
        int stepAddress = ((threads / hw) * chw) + stepP;
        int j = tid;
        int p = j % hw;
        int address = ((j / hw) * chw) + (c * hw) + p;
        while (j + ((Unroll - 1) * threads) < m)
        {
            for (int u = 0; u < Unroll; u++)
            {
                at[u] = address;
                p += stepP;
                address += stepAddress;
                if (p >= hw)
                {
                    p -= hw;
                    address += chw - hw;
                }
            }
            for (int u = 0; u < Unroll; u++)
            {
                float v = x[at[u]];
                float g = Gate(dy[at[u]], v, zScale, zOffset, negativeSlope, Activation);
                s1 += g;
                s2 = KMath.Fma(g, v - mean, s2);
            }
            j += Unroll * threads;
        }
        while (j < m)
        {
            float v = x[address];
            float g = Gate(dy[address], v, zScale, zOffset, negativeSlope, Activation);
            s1 += g;
            s2 = KMath.Fma(g, v - mean, s2);
            p += stepP;
            address += stepAddress;
            if (p >= hw)
            {
                p -= hw;
                address += chw - hw;
            }
            j += threads;
        }

        int lane = tid & 31;
        int warp = tid >> 5;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        if (lane == 0)
        {
            red[warp] = s1;
            red[32 + warp] = s2;
        }
        Group.Barrier();
        s1 = lane < (threads >> 5) ? red[lane] : 0f;
        s2 = lane < (threads >> 5) ? red[32 + lane] : 0f;
        for (int d = 16; d > 0; d >>= 1)
        {
            s1 += Warp.ShuffleDown(s1, d);
            s2 += Warp.ShuffleDown(s2, d);
        }
        s1 = Warp.Shuffle(s1, 0);
        s2 = Warp.Shuffle(s2, 0);

        float invstd = saveInvstd[c];
        if (tid == 0)
        {
            StoreParameterGradients(dweight, dbias, c, s1, s2 * invstd);
        }
        InputGradient(x, dy, dx, 0, m, tid, threads, c, hw, chw,
            weight.Length > 0 ? weight[c] * invstd : invstd, mean, s1, s2 * invstd * invstd, (float)m, zOffset, negativeSlope, Activation);
    }

    /// <summary>saveMean[c], saveInvstd[c]; running mean and unbiased running variance with momentum
    /// (running = (1 - momentum) running + momentum batch) when those views are not empty.</summary>
    private static void StoreStatistics(
        ArrayView<float> saveMean, ArrayView<float> saveInvstd, ArrayView<float> runningMean, ArrayView<float> runningVar,
        int c, float mean, float invstd, float variance, int m, float momentum)
    {
        saveMean[c] = mean;
        saveInvstd[c] = invstd;
        if (runningMean.Length > 0)
        {
            runningMean[c] = ((1f - momentum) * runningMean[c]) + (momentum * mean);
        }
        if (runningVar.Length > 0)
        {
            float unbiased = variance * ((float)m / (float)(m - 1));
            runningVar[c] = ((1f - momentum) * runningVar[c]) + (momentum * unbiased);
        }
    }

    /// <summary>dbias[c] = sum dy, dweight[c] = sum dy * xhat, when those views are not empty.</summary>
    private static void StoreParameterGradients(ArrayView<float> dweight, ArrayView<float> dbias, int c, float sumDy, float sumDyXhat)
    {
        if (dweight.Length > 0)
        {
            dweight[c] = sumDyXhat;
        }
        if (dbias.Length > 0)
        {
            dbias[c] = sumDy;
        }
    }

    /// <summary>y = act(x * scale + offset) over elements [begin, end) of channel c, strided by the block.</summary>
    private static void Normalise(
        ReadOnlyView<float> x, ArrayView<float> y, int begin, int end, int tid, int threads,
        int c, int hw, int chw, float scale, float offset, float negativeSlope, int activation)
    {
        Span<int> at = stackalloc int[Unroll];
        int stepP = threads % hw;
        int stepAddress = ((threads / hw) * chw) + stepP;
        int j = begin + tid;
        int p = j % hw;
        int address = ((j / hw) * chw) + (c * hw) + p;
        while (j + ((Unroll - 1) * threads) < end)
        {
            for (int u = 0; u < Unroll; u++)
            {
                at[u] = address;
                p += stepP;
                address += stepAddress;
                if (p >= hw)
                {
                    p -= hw;
                    address += chw - hw;
                }
            }
            for (int u = 0; u < Unroll; u++)
            {
                y[at[u]] = Activate(KMath.Fma(x[at[u]], scale, offset), negativeSlope, activation);
            }
            j += Unroll * threads;
        }
        while (j < end)
        {
            y[address] = Activate(KMath.Fma(x[address], scale, offset), negativeSlope, activation);
            p += stepP;
            address += stepAddress;
            if (p >= hw)
            {
                p -= hw;
                address += chw - hw;
            }
            j += threads;
        }
    }

    /// <summary>dx = k (g - sumDy / M - (x - mean) b) over [begin, end) of channel c, with g = dy gated
    /// by the activation (z = x k + <paramref name="zOffset"/>), k = gamma invstd and
    /// b = sum(g (x - mean)) invstd^2 / M (<paramref name="b"/> is passed without the 1 / M).</summary>
    private static void InputGradient(
        ReadOnlyView<float> x, ReadOnlyView<float> dy, ArrayView<float> dx, int begin, int end, int tid, int threads,
        int c, int hw, int chw, float k, float mean, float sumDy, float b, float count,
        float zOffset, float negativeSlope, int activation)
    {
        // dx = k g - (k b / M) (x - mean) - k sumDy / M
        float slope = k * b / count;
        float offset = -(k * sumDy / count);
        Span<int> at = stackalloc int[Unroll];
        int stepP = threads % hw;
        int stepAddress = ((threads / hw) * chw) + stepP;
        int j = begin + tid;
        int p = j % hw;
        int address = ((j / hw) * chw) + (c * hw) + p;
        while (j + ((Unroll - 1) * threads) < end)
        {
            for (int u = 0; u < Unroll; u++)
            {
                at[u] = address;
                p += stepP;
                address += stepAddress;
                if (p >= hw)
                {
                    p -= hw;
                    address += chw - hw;
                }
            }
            for (int u = 0; u < Unroll; u++)
            {
                float v = x[at[u]];
                float g = Gate(dy[at[u]], v, k, zOffset, negativeSlope, activation);
                dx[at[u]] = KMath.Fma(k, g, KMath.Fma(-slope, v - mean, offset));
            }
            j += Unroll * threads;
        }
        while (j < end)
        {
            float v = x[address];
            float g = Gate(dy[address], v, k, zOffset, negativeSlope, activation);
            dx[address] = KMath.Fma(k, g, KMath.Fma(-slope, v - mean, offset));
            p += stepP;
            address += stepAddress;
            if (p >= hw)
            {
                p -= hw;
                address += chw - hw;
            }
            j += threads;
        }
    }

    /// <summary>The activation of the pre-activation value z (the same expressions as the engine's
    /// element-wise ReLU / LeakyReLU, so that fused and separate agree bit for bit).</summary>
    private static float Activate(float z, float negativeSlope, int activation)
    {
        float r = z;
        if (activation == ActivationRelu)
        {
            r = z > 0f ? z : 0f;
        }
        else if (activation == ActivationLeakyRelu)
        {
            r = z > 0f ? z : z * negativeSlope;
        }
        return r;
    }

    /// <summary>dL/dz from dy = dL/dact at z = v * scale + offset, computed as the forward computed it so
    /// that the gate is the forward's; z &gt; 0 passes (PyTorch's convention at 0).</summary>
    private static float Gate(float dy, float v, float scale, float offset, float negativeSlope, int activation)
    {
        float r = dy;
        if (activation == ActivationRelu)
        {
            r = KMath.Fma(v, scale, offset) > 0f ? dy : 0f;
        }
        else if (activation == ActivationLeakyRelu)
        {
            r = KMath.Fma(v, scale, offset) > 0f ? dy : dy * negativeSlope;
        }
        return r;
    }
}
