namespace GanEngine.Kernels.Augment;

/// <summary>
/// Differentiable augmentation of NCHW image batches (DiffAugment, Zhao et al. 2020: the same random
/// transform applied to every image D sees, real or generated, with gradients through it to G). The
/// host side is <c>GanEngine.Ops.Augment.DiffAugment</c>.
/// </summary>
/// <remarks>
/// <para>Each sample s draws its transform from <see cref="DrawsPerSample"/> uniforms u[s, 0..7] in [0, 1):
/// brightness b = u0 - 1/2, saturation factor 2 u1, contrast factor u2 + 1/2, translation rows/columns from
/// u3 / u4 (<see cref="Shift"/>), the cutout square's top / left from u5 / u6 (<see cref="CutStart"/>). The
/// kernels turn the uniforms into integers themselves, so the transform costs no extra launch and no host
/// round trip.</para>
/// <para>Both kernels are grid-stride loops with one thread per element they write: gathers, no atomics,
/// deterministic. Each serves its forward and its backward (a flag), which are the same gather with the
/// roles of the coordinates swapped.</para>
/// </remarks>
public static partial class DiffAugmentKernels
{
    /// <summary>Uniforms per sample (7 used; 8 keeps a sample's draws in two Philox blocks).</summary>
    public const int DrawsPerSample = 8;

    /// <summary>The integer shift in [-max, max] of uniform <paramref name="u"/> (torch's
    /// <c>randint(-max, max + 1)</c>).</summary>
    public static int Shift(float u, int max) => KMath.Min((int)(u * ((2 * max) + 1)), 2 * max) - max;

    /// <summary>The first row (or column) of a cutout of <paramref name="cut"/> rows in an extent of
    /// <paramref name="extent"/>: DiffAugment's centre <c>randint(0, extent + 1 - cut % 2)</c> minus
    /// <c>cut / 2</c>; the square may hang over the edge (the part outside is clipped).</summary>
    public static int CutStart(float u, int extent, int cut)
    {
        int range = extent + 1 - (cut % 2);
        return KMath.Min((int)(u * range), range - 1) - (cut / 2);
    }

    /// <summary>
    /// Translation with zero fill, then cutout. Forward (<paramref name="backward"/> 0): output[s, c, y, x] =
    /// source[s, c, y + ty, x + tx] where that lies in the image and (y, x) is outside the cutout, else 0.
    /// Backward (1), the adjoint: output[s, c, y, x] = source[s, c, y - ty, x - tx] where that lies in the
    /// image and outside the cutout, else 0. Every sample's (ty, tx) and cutout come from <paramref name="u"/>;
    /// <paramref name="shiftH"/> = 0 or <paramref name="cutH"/> = 0 turns a part off.
    /// </summary>
    [Kernel]
    public static void TranslateCutout(ReadOnlyView<float> source, ArrayView<float> output, ReadOnlyView<float> u,
        int batch, int channels, int height, int width, int shiftH, int shiftW, int cutH, int cutW, int backward)
    {
        int plane = height * width;
        int n = batch * channels * plane;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int x = i % width;
            int t = i / width;
            int y = t % height;
            t /= height;
            int d = (t / channels) * DrawsPerSample;
            int dir = backward != 0 ? -1 : 1;
            int by = y + (dir * Shift(u[d + 3], shiftH));
            int bx = x + (dir * Shift(u[d + 4], shiftW));
            // The cutout is tested where the augmented image is: at this thread's pixel forward, at the source's backward.
            int cy = backward != 0 ? by : y;
            int cx = backward != 0 ? bx : x;
            int top = CutStart(u[d + 5], height, cutH);
            int left = CutStart(u[d + 6], width, cutW);
            bool cut = cy >= top && cy < top + cutH && cx >= left && cx < left + cutW;
            bool inside = by >= 0 && by < height && bx >= 0 && bx < width;
            output[i] = inside && !cut ? source[(t * plane) + (by * width) + bx] : 0f;
        }
    }

    /// <summary>
    /// DiffAugment's colour transform: brightness, then saturation, then contrast. Forward
    /// (<paramref name="backward"/> 0; <paramref name="source"/> = x, <paramref name="sampleSum"/>[s] = sum of
    /// x over sample s): with m(p) the mean over channels of x at pixel p and M = sampleSum / (C H W) + b,
    /// output = ((x - m) 2 u1 + m + b - M)(u2 + 1/2) + M. Backward (1; <paramref name="source"/> = the output's
    /// gradient g, <paramref name="sampleSum"/>[s] = its sum over the sample): with k = u2 + 1/2 and
    /// G = sampleSum / (C H W), g2 = k g + (1 - k) G, and output = 2 u1 (g2 - mean_c g2) + mean_c g2.
    /// </summary>
    [Kernel]
    public static void Color(ReadOnlyView<float> source, ArrayView<float> output, ReadOnlyView<float> u, ReadOnlyView<float> sampleSum,
        int batch, int channels, int plane, int backward)
    {
        int perSample = channels * plane;
        int n = batch * perSample;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int p = i % plane;
            int s = i / perSample;
            int d = s * DrawsPerSample;
            float brightness = u[d] - 0.5f;
            float saturation = 2f * u[d + 1];
            float contrast = u[d + 2] + 0.5f;
            float mean = sampleSum[s] / perSample;
            int pixel = (s * perSample) + p;
            float channelSum = 0f;
            for (int c = 0; c < channels; c++)
            {
                channelSum += source[pixel + (c * plane)];
            }
            float channelMean = channelSum / channels;
            float v = source[i];
            if (backward == 0)
            {
                float whole = mean + brightness;
                float saturated = ((v - channelMean) * saturation) + channelMean + brightness;
                output[i] = ((saturated - whole) * contrast) + whole;
            }
            else
            {
                float spread = (1f - contrast) * mean;
                float g2 = (contrast * v) + spread;
                float g2Mean = (contrast * channelMean) + spread;
                output[i] = (saturation * (g2 - g2Mean)) + g2Mean;
            }
        }
    }
}
