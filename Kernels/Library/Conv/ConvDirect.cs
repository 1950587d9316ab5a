namespace GanEngine.Kernels.Conv;

/// <summary>
/// Direct convolution kernels: one thread per output element (or small group of them), plain loops over the reduction, no shared
/// memory, no barriers or other collectives, no atomics (deterministic: every element is summed by one
/// thread in a fixed order). Meant for the CPU accelerator, which runs kernels without collectives as a
/// plain call per thread (tens of nanoseconds) instead of the group-synchronous iterators that the
/// implicit-GEMM kernels (<see cref="ConvImplicitGemm"/>) need there. Correct on every backend, not tuned
/// for GPUs. Strict FP32 (no TF32 rounding).
/// </summary>
/// <remarks>
/// <para><b>Geometry</b> (names of the convolution, as in <see cref="ConvImplicitGemm"/>): input / "big side"
/// (batch, c, h, w); output / "small side" (batch, oc, oh, ow); weight (oc, c, kh, kw); stride s, padding pad.
/// Transposed convolution uses the same kernels with its roles swapped: its forward is <see cref="Dgrad"/> (with
/// bias), its input gradient <see cref="Forward"/>, its weight gradient <see cref="Wgrad"/> with input and output
/// gradient swapped.</para>
/// <para>All kernels are grid-stride loops over their elements: any grid size works.</para>
/// </remarks>
public static partial class ConvDirect
{
    /// <summary>First output position o (o s - pad + k &gt;= 0) of tap <paramref name="k"/>.</summary>
    private static int FirstOut(int k, int s, int pad) => pad - k > 0 ? (pad - k + s - 1) / s : 0;

    /// <summary>One past the last output position o (o s - pad + k &lt; extent, o &lt; outExtent) of tap <paramref name="k"/>.</summary>
    private static int EndOut(int k, int s, int pad, int extent, int outExtent)
    {
        int last = extent - 1 + pad - k;
        int end = last < 0 ? 0 : (last / s) + 1;
        return end < outExtent ? end : outExtent;
    }

    /// <summary>Channels per thread (output channels in <see cref="Forward"/> and <see cref="Wgrad"/>, input channels in
    /// <see cref="Dgrad"/>): four independent sums sharing each loaded value (a single running sum is bound by the latency of the
    /// floating-point add on the CPU; with one channel, the three extra sums cost about nothing for that reason).</summary>
    public const int ChannelsPerThread = 4;

    /// <summary>Forward: output[n, o, y, x] = bias[o] + sum over i, ky, kx of input[n, i, y s - pad + ky, x s - pad + kx] weight[o, i, ky, kx].
    /// One thread per output pixel and group of <see cref="ChannelsPerThread"/> output channels (element (n, o / 4, y, x)).</summary>
    [Kernel]
    public static void Forward(int batch, int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int s, int pad, int hasBias,
        ReadOnlyView<float> input, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> output)
    {
        int groups = (oc + ChannelsPerThread - 1) / ChannelsPerThread;
        int total = batch * groups * oh * ow;
        int stride = GridDim.X * BlockDim.X;
        int taps = kh * kw;
        int plane = h * w;
        int outPlane = oh * ow;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < total; i += stride)
        {
            int ox = i % ow;
            int t = i / ow;
            int oy = t % oh;
            t /= oh;
            int o0 = (t % groups) * ChannelsPerThread;
            int n = t / groups;
            // Channels past the end read the last channel's weights (results dropped).
            int o1 = o0 + 1 < oc ? o0 + 1 : oc - 1;
            int o2 = o0 + 2 < oc ? o0 + 2 : oc - 1;
            int o3 = o0 + 3 < oc ? o0 + 3 : oc - 1;
            int y0 = (oy * s) - pad;
            int x0 = (ox * s) - pad;
            int kyBegin = y0 < 0 ? -y0 : 0;
            int kyEnd = h - y0 < kh ? h - y0 : kh;
            int kxBegin = x0 < 0 ? -x0 : 0;
            int kxEnd = w - x0 < kw ? w - x0 : kw;
            float s0 = 0f;
            float s1 = 0f;
            float s2 = 0f;
            float s3 = 0f;
            for (int ci = 0; ci < c; ci++)
            {
                int inBase = (((n * c) + ci) * plane) + (y0 * w) + x0;
                int w0 = ((o0 * c) + ci) * taps;
                int w1 = ((o1 * c) + ci) * taps;
                int w2 = ((o2 * c) + ci) * taps;
                int w3 = ((o3 * c) + ci) * taps;
                for (int ky = kyBegin; ky < kyEnd; ky++)
                {
                    int inRow = inBase + (ky * w);
                    int wRow = ky * kw;
                    for (int kx = kxBegin; kx < kxEnd; kx++)
                    {
                        float v = input[inRow + kx];
                        int k = wRow + kx;
                        s0 += v * weight[w0 + k];
                        s1 += v * weight[w1 + k];
                        s2 += v * weight[w2 + k];
                        s3 += v * weight[w3 + k];
                    }
                }
            }
            int at = (((n * oc) + o0) * outPlane) + (oy * ow) + ox;
            output[at] = hasBias != 0 ? s0 + bias[o0] : s0;
            if (o0 + 1 < oc)
            {
                output[at + outPlane] = hasBias != 0 ? s1 + bias[o1] : s1;
            }
            if (o0 + 2 < oc)
            {
                output[at + (2 * outPlane)] = hasBias != 0 ? s2 + bias[o2] : s2;
            }
            if (o0 + 3 < oc)
            {
                output[at + (3 * outPlane)] = hasBias != 0 ? s3 + bias[o3] : s3;
            }
        }
    }

    /// <summary>Input gradient (dgrad): gradInput[n, i, y, x] = bias[i] + sum over o and the taps (ky, kx) with
    /// (y + pad - ky) and (x + pad - kx) divisible by s and inside the output, of gradOut[n, o, (y + pad - ky) / s, (x + pad - kx) / s]
    /// weight[o, i, ky, kx]. One thread per input pixel and group of <see cref="ChannelsPerThread"/> input channels (element
    /// (n, i / 4, y, x)). The bias is the transposed convolution's.</summary>
    [Kernel]
    public static void Dgrad(int batch, int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int s, int pad, int hasBias,
        ReadOnlyView<float> gradOut, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> gradInput)
    {
        int groups = (c + ChannelsPerThread - 1) / ChannelsPerThread;
        int total = batch * groups * h * w;
        int stride = GridDim.X * BlockDim.X;
        int outPlane = oh * ow;
        int plane = h * w;
        int taps = kh * kw;
        int wStride = c * taps;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < total; i += stride)
        {
            int ix = i % w;
            int t = i / w;
            int iy = t % h;
            t /= h;
            int c0 = (t % groups) * ChannelsPerThread;
            int n = t / groups;
            // Channels past the end read the last channel's weights (results dropped).
            int d1 = (c0 + 1 < c ? 1 : c - 1 - c0) * taps;
            int d2 = (c0 + 2 < c ? 2 : c - 1 - c0) * taps;
            int d3 = (c0 + 3 < c ? 3 : c - 1 - c0) * taps;
            int goBase = n * oc * outPlane;
            int wBase = c0 * taps;
            float s0 = 0f;
            float s1 = 0f;
            float s2 = 0f;
            float s3 = 0f;
            // Taps with ky = (iy + pad) mod s + j s reach output row (iy + pad - ky) / s, which decreases with ky.
            for (int ky = (iy + pad) % s; ky < kh; ky += s)
            {
                int oy = (iy + pad - ky) / s;
                if (oy < 0)
                {
                    break;
                }
                if (oy < oh)
                {
                    for (int kx = (ix + pad) % s; kx < kw; kx += s)
                    {
                        int ox = (ix + pad - kx) / s;
                        if (ox < 0)
                        {
                            break;
                        }
                        if (ox < ow)
                        {
                            int g = goBase + (oy * ow) + ox;
                            int wi = wBase + (ky * kw) + kx;
                            for (int o = 0; o < oc; o++)
                            {
                                float v = gradOut[g + (o * outPlane)];
                                int wo = wi + (o * wStride);
                                s0 += v * weight[wo];
                                s1 += v * weight[wo + d1];
                                s2 += v * weight[wo + d2];
                                s3 += v * weight[wo + d3];
                            }
                        }
                    }
                }
            }
            int at = (((n * c) + c0) * plane) + (iy * w) + ix;
            gradInput[at] = hasBias != 0 ? s0 + bias[c0] : s0;
            if (c0 + 1 < c)
            {
                gradInput[at + plane] = hasBias != 0 ? s1 + bias[c0 + 1] : s1;
            }
            if (c0 + 2 < c)
            {
                gradInput[at + (2 * plane)] = hasBias != 0 ? s2 + bias[c0 + 2] : s2;
            }
            if (c0 + 3 < c)
            {
                gradInput[at + (3 * plane)] = hasBias != 0 ? s3 + bias[c0 + 3] : s3;
            }
        }
    }

    /// <summary>Weight gradient (wgrad): gradWeight[o, i, ky, kx] = sum over n, y, x of gradOut[n, o, y, x] input[n, i, y s - pad + ky, x s - pad + kx].
    /// One thread per tap (i, ky, kx) and group of <see cref="ChannelsPerThread"/> output channels, summed over the batch in order.</summary>
    [Kernel]
    public static void Wgrad(int batch, int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int s, int pad,
        ReadOnlyView<float> gradOut, ReadOnlyView<float> input, ArrayView<float> gradWeight)
    {
        int groups = (oc + ChannelsPerThread - 1) / ChannelsPerThread;
        int taps = kh * kw;
        int total = groups * c * taps;
        int stride = GridDim.X * BlockDim.X;
        int outPlane = oh * ow;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < total; i += stride)
        {
            int kx = i % kw;
            int t = i / kw;
            int ky = t % kh;
            t /= kh;
            int ci = t % c;
            int o0 = (t / c) * ChannelsPerThread;
            // Channels past the end read the last channel's gradient (results dropped).
            int d1 = (o0 + 1 < oc ? 1 : oc - 1 - o0) * outPlane;
            int d2 = (o0 + 2 < oc ? 2 : oc - 1 - o0) * outPlane;
            int d3 = (o0 + 3 < oc ? 3 : oc - 1 - o0) * outPlane;
            int oyBegin = FirstOut(ky, s, pad);
            int oyEnd = EndOut(ky, s, pad, h, oh);
            int oxBegin = FirstOut(kx, s, pad);
            int oxEnd = EndOut(kx, s, pad, w, ow);
            float s0 = 0f;
            float s1 = 0f;
            float s2 = 0f;
            float s3 = 0f;
            for (int n = 0; n < batch; n++)
            {
                int goBase = ((n * oc) + o0) * outPlane;
                int inBase = (((n * c) + ci) * h * w) + ((ky - pad) * w) + kx - pad;
                for (int oy = oyBegin; oy < oyEnd; oy++)
                {
                    int goRow = goBase + (oy * ow);
                    int inRow = inBase + (oy * s * w);
                    for (int ox = oxBegin; ox < oxEnd; ox++)
                    {
                        float v = input[inRow + (ox * s)];
                        int go = goRow + ox;
                        s0 += gradOut[go] * v;
                        s1 += gradOut[go + d1] * v;
                        s2 += gradOut[go + d2] * v;
                        s3 += gradOut[go + d3] * v;
                    }
                }
            }
            int at = (((o0 * c) + ci) * taps) + (ky * kw) + kx;
            int wStride = c * taps;
            gradWeight[at] = s0;
            if (o0 + 1 < oc)
            {
                gradWeight[at + wStride] = s1;
            }
            if (o0 + 2 < oc)
            {
                gradWeight[at + (2 * wStride)] = s2;
            }
            if (o0 + 3 < oc)
            {
                gradWeight[at + (3 * wStride)] = s3;
            }
        }
    }

    /// <summary>Bias gradient: gradBias[ch] = sum over n and pixels of gradOut[n, ch, p]. One thread per channel, in order.</summary>
    [Kernel]
    public static void BiasGrad(int batch, int channels, int pixels, ReadOnlyView<float> gradOut, ArrayView<float> gradBias)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int ch = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; ch < channels; ch += stride)
        {
            float sum = 0f;
            for (int n = 0; n < batch; n++)
            {
                int at = ((n * channels) + ch) * pixels;
                for (int p = 0; p < pixels; p++)
                {
                    sum += gradOut[at + p];
                }
            }
            gradBias[ch] = sum;
        }
    }
}
