using GanEngine.Kernels.Augment;
using GanEngine.Ops.Augment;

namespace GanEngine.Ops.Reference;

/// <summary>Float64 reference of DiffAugment (colour, then translation, then cutout) on a packed NCHW batch, and
/// of its input gradient, written from the formulas (no shared code with the kernels but the integer draws of
/// <see cref="DiffAugmentKernels.Shift"/> and <see cref="DiffAugmentKernels.CutStart"/>).</summary>
public static class DiffAugmentReference
{
    public static double[] Forward(double[] x, float[] u, int n, int c, int h, int w, DiffAugmentPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(u);
        var y = (double[])x.Clone();
        int plane = h * w, per = c * plane;
        if (policy.Color)
        {
            for (int s = 0; s < n; s++)
            {
                double b = u[(s * 8) + 0] - 0.5, sat = 2.0 * u[(s * 8) + 1], con = u[(s * 8) + 2] + 0.5;
                var bright = new double[per];
                for (int i = 0; i < per; i++)
                {
                    bright[i] = x[(s * per) + i] + b;
                }
                var saturated = new double[per];
                for (int p = 0; p < plane; p++)
                {
                    double m = 0;
                    for (int ch = 0; ch < c; ch++)
                    {
                        m += bright[(ch * plane) + p] / c;
                    }
                    for (int ch = 0; ch < c; ch++)
                    {
                        saturated[(ch * plane) + p] = ((bright[(ch * plane) + p] - m) * sat) + m;
                    }
                }
                double mean = saturated.Sum() / per;
                for (int i = 0; i < per; i++)
                {
                    y[(s * per) + i] = ((saturated[i] - mean) * con) + mean;
                }
            }
        }
        return Geometric(y, u, n, c, h, w, policy);
    }

    /// <summary>The input gradient for an output gradient <paramref name="g"/>: the adjoint of each stage, last first.</summary>
    public static double[] Backward(double[] g, float[] u, int n, int c, int h, int w, DiffAugmentPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(u);
        var cut = policy.CutoutFor(h, w);
        var gGeo = new double[g.Length];
        for (int s = 0; s < n; s++)
        {
            var (ty, tx, top, left) = Draws(u, s, h, w, policy);
            for (int ch = 0; ch < c; ch++)
            {
                for (int y = 0; y < h; y++)
                {
                    for (int x = 0; x < w; x++)
                    {
                        // Output pixel (y, x) read the input at (y + ty, x + tx): scatter its gradient there.
                        bool cutHere = y >= top && y < top + cut.Rows && x >= left && x < left + cut.Columns;
                        int sy = y + ty, sx = x + tx;
                        if (!cutHere && sy >= 0 && sy < h && sx >= 0 && sx < w)
                        {
                            gGeo[(((((s * c) + ch) * h) + sy) * w) + sx] += g[(((((s * c) + ch) * h) + y) * w) + x];
                        }
                    }
                }
            }
        }
        if (!policy.Color)
        {
            return gGeo;
        }
        // Colour: y = (x2 - M) k + M with M the sample mean of x2; x2 = (x1 - m) sat + m with m the channel mean of x1; x1 = x + b.
        int plane = h * w, per = c * plane;
        var gx = new double[g.Length];
        for (int s = 0; s < n; s++)
        {
            double sat = 2.0 * u[(s * 8) + 1], con = u[(s * 8) + 2] + 0.5;
            double total = 0;
            for (int i = 0; i < per; i++)
            {
                total += gGeo[(s * per) + i];
            }
            var g2 = new double[per];
            for (int i = 0; i < per; i++)
            {
                g2[i] = (con * gGeo[(s * per) + i]) + ((1 - con) * total / per);
            }
            for (int p = 0; p < plane; p++)
            {
                double m = 0;
                for (int ch = 0; ch < c; ch++)
                {
                    m += g2[(ch * plane) + p] / c;
                }
                for (int ch = 0; ch < c; ch++)
                {
                    gx[(s * per) + (ch * plane) + p] = (sat * (g2[(ch * plane) + p] - m)) + m;
                }
            }
        }
        return gx;
    }

    private static double[] Geometric(double[] x, float[] u, int n, int c, int h, int w, DiffAugmentPolicy policy)
    {
        var cut = policy.CutoutFor(h, w);
        var y = new double[x.Length];
        for (int s = 0; s < n; s++)
        {
            var (ty, tx, top, left) = Draws(u, s, h, w, policy);
            for (int ch = 0; ch < c; ch++)
            {
                for (int yy = 0; yy < h; yy++)
                {
                    for (int xx = 0; xx < w; xx++)
                    {
                        bool cutHere = yy >= top && yy < top + cut.Rows && xx >= left && xx < left + cut.Columns;
                        int sy = yy + ty, sx = xx + tx;
                        y[(((((s * c) + ch) * h) + yy) * w) + xx] = !cutHere && sy >= 0 && sy < h && sx >= 0 && sx < w
                            ? x[(((((s * c) + ch) * h) + sy) * w) + sx] : 0.0;
                    }
                }
            }
        }
        return y;
    }

    // Sample s's shift (rows, columns) and the cutout's first row and column, from its uniforms 3-6.
    private static (int Ty, int Tx, int Top, int Left) Draws(float[] u, int s, int h, int w, DiffAugmentPolicy policy)
    {
        var (shift, cut) = (policy.ShiftFor(h, w), policy.CutoutFor(h, w));
        return (DiffAugmentKernels.Shift(u[(s * 8) + 3], shift.Rows), DiffAugmentKernels.Shift(u[(s * 8) + 4], shift.Columns),
            DiffAugmentKernels.CutStart(u[(s * 8) + 5], h, cut.Rows), DiffAugmentKernels.CutStart(u[(s * 8) + 6], w, cut.Columns));
    }
}
