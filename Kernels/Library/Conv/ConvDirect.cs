namespace GanEngine.Kernels.Conv;

/// <summary>
/// Direct convolution kernels: one thread per output element, plain loops over the reduction, no shared
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

    /// <summary>Forward: output[n, o, y, x] = bias[o] + sum over i, ky, kx of input[n, i, y s - pad + ky, x s - pad + kx] weight[o, i, ky, kx].
    /// One thread per output element.</summary>
    [Kernel]
    public static void Forward(int batch, int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int s, int pad, int hasBias,
        ReadOnlyView<float> input, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> output)
    {
        int total = batch * oc * oh * ow;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < total; i += stride)
        {
            int ox = i % ow;
            int t = i / ow;
            int oy = t % oh;
            t /= oh;
            int o = t % oc;
            int n = t / oc;
            int y0 = (oy * s) - pad;
            int x0 = (ox * s) - pad;
            int kyBegin = y0 < 0 ? -y0 : 0;
            int kyEnd = h - y0 < kh ? h - y0 : kh;
            int kxBegin = x0 < 0 ? -x0 : 0;
            int kxEnd = w - x0 < kw ? w - x0 : kw;
            float sum = 0f;
            for (int ci = 0; ci < c; ci++)
            {
                int inBase = (((n * c) + ci) * h * w) + (y0 * w) + x0;
                int wBase = ((o * c) + ci) * kh * kw;
                for (int ky = kyBegin; ky < kyEnd; ky++)
                {
                    int inRow = inBase + (ky * w);
                    int wRow = wBase + (ky * kw);
                    for (int kx = kxBegin; kx < kxEnd; kx++)
                    {
                        sum += input[inRow + kx] * weight[wRow + kx];
                    }
                }
            }
            output[i] = hasBias != 0 ? sum + bias[o] : sum;
        }
    }

    /// <summary>Input gradient (dgrad): gradInput[n, i, y, x] = bias[i] + sum over o and the taps (ky, kx) with
    /// (y + pad - ky) and (x + pad - kx) divisible by s and inside the output, of gradOut[n, o, (y + pad - ky) / s, (x + pad - kx) / s]
    /// weight[o, i, ky, kx]. One thread per input element. The bias is the transposed convolution's.</summary>
    [Kernel]
    public static void Dgrad(int batch, int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int s, int pad, int hasBias,
        ReadOnlyView<float> gradOut, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> gradInput)
    {
        int total = batch * c * h * w;
        int stride = GridDim.X * BlockDim.X;
        int outPlane = oh * ow;
        int taps = kh * kw;
        int wStride = c * taps;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < total; i += stride)
        {
            int ix = i % w;
            int t = i / w;
            int iy = t % h;
            t /= h;
            int ci = t % c;
            int n = t / c;
            int goBase = n * oc * outPlane;
            int wBase = ci * taps;
            float sum = 0f;
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
                                sum += gradOut[g + (o * outPlane)] * weight[wi + (o * wStride)];
                            }
                        }
                    }
                }
            }
            gradInput[i] = hasBias != 0 ? sum + bias[ci] : sum;
        }
    }

    /// <summary>Weight gradient (wgrad): gradWeight[o, i, ky, kx] = sum over n, y, x of gradOut[n, o, y, x] input[n, i, y s - pad + ky, x s - pad + kx].
    /// One thread per weight element, summed over the batch in order.</summary>
    [Kernel]
    public static void Wgrad(int batch, int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int s, int pad,
        ReadOnlyView<float> gradOut, ReadOnlyView<float> input, ArrayView<float> gradWeight)
    {
        int total = oc * c * kh * kw;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < total; i += stride)
        {
            int kx = i % kw;
            int t = i / kw;
            int ky = t % kh;
            t /= kh;
            int ci = t % c;
            int o = t / c;
            int oyBegin = FirstOut(ky, s, pad);
            int oyEnd = EndOut(ky, s, pad, h, oh);
            int oxBegin = FirstOut(kx, s, pad);
            int oxEnd = EndOut(kx, s, pad, w, ow);
            float sum = 0f;
            for (int n = 0; n < batch; n++)
            {
                int goBase = ((n * oc) + o) * oh * ow;
                int inBase = (((n * c) + ci) * h * w) + ((ky - pad) * w) + kx - pad;
                for (int oy = oyBegin; oy < oyEnd; oy++)
                {
                    int goRow = goBase + (oy * ow);
                    int inRow = inBase + (oy * s * w);
                    for (int ox = oxBegin; ox < oxEnd; ox++)
                    {
                        sum += gradOut[goRow + ox] * input[inRow + (ox * s)];
                    }
                }
            }
            gradWeight[i] = sum;
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
