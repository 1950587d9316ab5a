namespace GanEngine.Kernels.Resample;

/// <summary>
/// Integer-factor 2-D resampling of NCHW planes (the host side is <c>GanEngine.Ops.Resample</c>):
/// nearest upsampling and average pooling with stride = kernel, and their backwards, which are the
/// same two maps with another scale.
/// </summary>
/// <remarks>
/// Both kernels are grid-stride loops with one thread per <em>output</em> element, so every store
/// is coalesced and no two threads write the same element (no atomics, deterministic).
/// <list type="bullet">
/// <item><see cref="Replicate"/> (small to large): upsample forward (alpha 1) and avg-pool backward
/// (alpha 1/k^2). Neighbouring threads read the same or neighbouring source elements.</item>
/// <item><see cref="BlockSum"/> (large to small): avg-pool forward (alpha 1/k^2) and upsample
/// backward (alpha 1), each thread summing its factor x factor block in a fixed order.</item>
/// </list>
/// The planes (N * C of them) are packed; indices are <c>int</c> (the host keeps every tensor under
/// 2^31 elements).
/// </remarks>
public static partial class ResampleKernels
{
    /// <summary>y[p, i, j] = alpha * x[p, i / factor, j / factor] for x of (planes, height, width)
    /// and y of (planes, height * factor, width * factor).</summary>
    [Kernel]
    public static void Replicate(ReadOnlyView<float> x, ArrayView<float> y, int planes, int height, int width, int factor, float alpha)
    {
        int outW = width * factor;
        int outH = height * factor;
        int n = planes * outH * outW;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int ow = i % outW;
            int t = i / outW;
            int oh = t % outH;
            int p = t / outH;
            y[i] = alpha * x[(((p * height) + (oh / factor)) * width) + (ow / factor)];
        }
    }

    /// <summary>y[p, i, j] = alpha * sum over a, b &lt; factor of x[p, i * factor + a, j * factor + b]
    /// for x of (planes, height * factor, width * factor) and y of (planes, height, width); rows of
    /// the block are summed in order, then scaled.</summary>
    [Kernel]
    public static void BlockSum(ReadOnlyView<float> x, ArrayView<float> y, int planes, int height, int width, int factor, float alpha)
    {
        int inW = width * factor;
        int n = planes * height * width;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int ow = i % width;
            int t = i / width;
            int oh = t % height;
            int p = t / height;
            int start = (((p * height) + oh) * factor * inW) + (ow * factor);
            float sum = 0f;
            for (int a = 0; a < factor; a++)
            {
                int row = start + (a * inW);
                for (int b = 0; b < factor; b++)
                {
                    sum += x[row + b];
                }
            }
            y[i] = alpha * sum;
        }
    }
}
