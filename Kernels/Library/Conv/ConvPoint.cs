namespace GanEngine.Kernels.Conv;

/// <summary>
/// "Point" convolutions: a 1x1 output whose kernel covers the whole input (oh = ow = 1, pad 0, KH = h, KW = w; the
/// geometry of MODE 3 of <see cref="ConvImplicitGemm"/>) with few output channels (OC &lt;= 4): DCGAN's discriminator's last
/// layer, (batch, 512, 4, 4) -> (batch, 1, 1, 1). With kd = c KH KW each image is one row x[n, 0..kd) and each output channel one
/// weight row w[o, 0..kd), so the three passes are a batched dot product, an outer product and a batch reduction; as an implicit
/// GEMM they were a 1-column tile (split 64 ways over K plus a SumSplits launch) or a K = 1 GEMM.
/// <list type="bullet">
/// <item><see cref="Forward"/>: out[n, o] = bias[o] + sum over k of x[n, k] w[o, k]. One block per image.</item>
/// <item><see cref="Dgrad"/>: big[n, k] = bias[k / pixels] + sum over o of small[n, o] w[o, k] (a convolution's input gradient,
/// a transposed convolution's forward). One thread per k and NB images.</item>
/// <item><see cref="Wgrad"/>: dw[o, k] = sum over n of small[n, o] big[n, k]. One block per 32 consecutive k.</item>
/// </list>
/// FP32 FMA in a fixed summation order (deterministic, bit-identical run to run; no atomics, no workspace), also when TF32 is
/// allowed (TF32 permits reduced precision, it does not require it). The block size and the grid are part of the summation
/// order of <see cref="Forward"/> and <see cref="Wgrad"/>; the host fixes them (256 threads), not the device.
/// </summary>
public static partial class ConvPoint
{
    /// <summary>Independent loads issued per thread before their FMAs (<see cref="Forward"/>, <see cref="Wgrad"/>): at 256 threads
    /// and two blocks per SM (DCGAN at batch 256) 16 x 16 x 128 bytes = 32 KiB in flight per SM, about what an SM's share of
    /// HBM bandwidth times its latency needs.</summary>
    public const int Unroll = 16;

    /// <summary>Warps of a <see cref="Wgrad"/> block (they split the batch; lanes are 32 consecutive k).</summary>
    public const int WgradWarps = 8;

    /// <summary>output (batch, OC) = input (batch, kd) weight (OC, kd)^T (+ bias[o]). Grid (batch), block a multiple of 32 up to
    /// 1024 (the host uses 256). Thread t sums k = t, t + B, t + 2B, ... in order (B = block size), for every o; the block's partial
    /// sums go through a shuffle-down tree in each warp, the warp totals through shared memory in warp order, and a second shuffle
    /// tree in every warp (collectives in block-uniform flow); thread 0 writes.</summary>
    [Kernel]
    public static void Forward(int kd, int hasBias, ReadOnlyView<float> input, ReadOnlyView<float> weight, ReadOnlyView<float> bias,
        ArrayView<float> output, [Specialization] int OC)
    {
        var red = Shared.Allocate<float>(OC * 32);
        int n = BlockIdx.X;
        int tid = ThreadIdx.X;
        int threads = BlockDim.X;
        Span<float> acc = stackalloc float[OC];
        Span<float> xv = stackalloc float[Unroll];
        for (int o = 0; o < OC; o++)
        {
            acc[o] = 0f;
        }
        int row = n * kd;
        int k = tid;
        // Whole groups of Unroll strided elements: the loads first, then the FMAs (in k order).
        while (k + ((Unroll - 1) * threads) < kd)
        {
            for (int u = 0; u < Unroll; u++)
            {
                xv[u] = input[row + k + (u * threads)];
            }
            for (int u = 0; u < Unroll; u++)
            {
                for (int o = 0; o < OC; o++)
                {
                    acc[o] = KMath.Fma(xv[u], weight[(o * kd) + k + (u * threads)], acc[o]);
                }
            }
            k += Unroll * threads;
        }
        while (k < kd)
        {
            float x = input[row + k];
            for (int o = 0; o < OC; o++)
            {
                acc[o] = KMath.Fma(x, weight[(o * kd) + k], acc[o]);
            }
            k += threads;
        }

        int lane = tid & 31;
        int warp = tid >> 5;
        for (int o = 0; o < OC; o++)
        {
            float v = acc[o];
            for (int d = 16; d > 0; d >>= 1)
            {
                v += Warp.ShuffleDown(v, d);
            }
            if (lane == 0)
            {
                red[(o * 32) + warp] = v;
            }
        }
        Group.Barrier();
        int warps = threads >> 5;
        for (int o = 0; o < OC; o++)
        {
            float v = lane < warps ? red[(o * 32) + lane] : 0f;
            for (int d = 16; d > 0; d >>= 1)
            {
                v += Warp.ShuffleDown(v, d);
            }
            if (tid == 0)
            {
                output[(n * OC) + o] = hasBias != 0 ? v + bias[o] : v;
            }
        }
    }

    /// <summary>output (batch, kd) = small (batch, OC) weight (OC, kd) (+ bias[k / pixels]: a transposed convolution's bias over its
    /// output channels, pixels = KH KW). Thread t: k = t mod kd (lanes along k: coalesced), images NB (t / kd) .. + NB - 1, the OC
    /// weights of its k loaded once; sum over o in order, then the bias. Grid ceil(ceil(batch / NB) kd / block). No collectives.</summary>
    [Kernel]
    public static void Dgrad(int batch, int kd, int pixels, int hasBias, ReadOnlyView<float> small, ReadOnlyView<float> weight,
        ReadOnlyView<float> bias, ArrayView<float> output, [Specialization] int OC, [Specialization] int NB)
    {
        int groups = (batch + NB - 1) / NB;
        int t = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (t < groups * kd)
        {
            int g = t / kd;
            int k = t - (g * kd);
            Span<float> wv = stackalloc float[OC];
            for (int o = 0; o < OC; o++)
            {
                wv[o] = weight[(o * kd) + k];
            }
            float b = hasBias != 0 ? bias[k / pixels] : 0f;
            for (int i = 0; i < NB; i++)
            {
                int n = (g * NB) + i;
                if (n < batch)
                {
                    float acc = 0f;
                    for (int o = 0; o < OC; o++)
                    {
                        acc = KMath.Fma(small[(n * OC) + o], wv[o], acc);
                    }
                    output[(n * kd) + k] = hasBias != 0 ? acc + b : acc;
                }
            }
        }
    }

    /// <summary>gradWeight (OC, kd) = small (batch, OC)^T big (batch, kd). Grid ceil(kd / 32), block 32 x <see cref="WgradWarps"/>
    /// (256 threads): lane l takes k = 32 BlockIdx.X + l (a warp reads 128 contiguous bytes per image), warp w the images
    /// n = w, w + 8, w + 16, ... in order; the 8 partial sums of each (o, k) go through shared memory ([warp][o][lane], 4 KiB at
    /// OC 4) and thread (o, l) adds them in warp order.</summary>
    [Kernel]
    public static void Wgrad(int batch, int kd, ReadOnlyView<float> small, ReadOnlyView<float> big, ArrayView<float> gradWeight,
        [Specialization] int OC)
    {
        var red = Shared.Allocate<float>(WgradWarps * OC * 32);
        int tid = ThreadIdx.X;
        int lane = tid & 31;
        int warp = tid >> 5;
        int k = (BlockIdx.X * 32) + lane;
        Span<float> acc = stackalloc float[OC];
        Span<float> xv = stackalloc float[Unroll];
        for (int o = 0; o < OC; o++)
        {
            acc[o] = 0f;
        }
        if (k < kd)
        {
            int n = warp;
            while (n + ((Unroll - 1) * WgradWarps) < batch)
            {
                for (int u = 0; u < Unroll; u++)
                {
                    xv[u] = big[((n + (u * WgradWarps)) * kd) + k];
                }
                for (int u = 0; u < Unroll; u++)
                {
                    int at = (n + (u * WgradWarps)) * OC;
                    for (int o = 0; o < OC; o++)
                    {
                        acc[o] = KMath.Fma(small[at + o], xv[u], acc[o]);
                    }
                }
                n += Unroll * WgradWarps;
            }
            while (n < batch)
            {
                float x = big[(n * kd) + k];
                for (int o = 0; o < OC; o++)
                {
                    acc[o] = KMath.Fma(small[(n * OC) + o], x, acc[o]);
                }
                n += WgradWarps;
            }
        }
        for (int o = 0; o < OC; o++)
        {
            red[(((warp * OC) + o) * 32) + lane] = acc[o];
        }
        Group.Barrier();
        if (tid < OC * 32 && k < kd)
        {
            int o = tid >> 5;
            float sum = red[(o * 32) + lane];
            for (int w = 1; w < WgradWarps; w++)
            {
                sum += red[(((w * OC) + o) * 32) + lane];
            }
            gradWeight[(o * kd) + k] = sum;
        }
    }
}
