namespace GanEngine.Ops.Reference;

/// <summary>Float64 references of nearest upsampling and average pooling (integer factor, NCHW packed
/// as planes = N * C).</summary>
public static class ResampleReference
{
    /// <summary>y[p, i, j] = x[p, i / s, j / s]; x is (planes, h, w).</summary>
    public static double[] UpsampleNearest(double[] x, int planes, int h, int w, int s)
    {
        ArgumentNullException.ThrowIfNull(x);
        int oh = h * s, ow = w * s;
        var y = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    y[(((p * oh) + i) * ow) + j] = x[(((p * h) + (i / s)) * w) + (j / s)];
                }
            }
        }
        return y;
    }

    /// <summary>The backward of <see cref="UpsampleNearest"/>: gx[p, i, j] = sum of gy over its s x s block.</summary>
    public static double[] UpsampleNearestBackward(double[] gy, int planes, int h, int w, int s)
    {
        ArgumentNullException.ThrowIfNull(gy);
        int oh = h * s, ow = w * s;
        var gx = new double[planes * h * w];
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    gx[(((p * h) + (i / s)) * w) + (j / s)] += gy[(((p * oh) + i) * ow) + j];
                }
            }
        }
        return gx;
    }

    /// <summary>y[p, i, j] = mean of the k x k block at (i k, j k); x is (planes, h, w), h and w multiples of k.</summary>
    public static double[] AvgPool(double[] x, int planes, int h, int w, int k)
    {
        ArgumentNullException.ThrowIfNull(x);
        int oh = h / k, ow = w / k;
        var y = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < h; i++)
            {
                for (int j = 0; j < w; j++)
                {
                    y[(((p * oh) + (i / k)) * ow) + (j / k)] += x[(((p * h) + i) * w) + j] / (k * k);
                }
            }
        }
        return y;
    }

    /// <summary>The backward of <see cref="AvgPool"/>: gx[p, i, j] = gy[p, i / k, j / k] / k^2.</summary>
    public static double[] AvgPoolBackward(double[] gy, int planes, int h, int w, int k)
    {
        ArgumentNullException.ThrowIfNull(gy);
        int oh = h / k, ow = w / k;
        var gx = new double[planes * h * w];
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < h; i++)
            {
                for (int j = 0; j < w; j++)
                {
                    gx[(((p * h) + i) * w) + j] = gy[(((p * oh) + (i / k)) * ow) + (j / k)] / (k * k);
                }
            }
        }
        return gx;
    }
}
