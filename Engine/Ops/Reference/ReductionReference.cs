namespace GanEngine.Ops.Reference;

/// <summary>Float64 references of sum / mean over dimensions.</summary>
public static class ReductionReference
{
    /// <summary>scale * sum of x over <paramref name="dims"/>; the result is row-major over the kept
    /// dimensions (keepdim or not: same order).</summary>
    public static double[] Sum(double[] x, int[] shape, int[] dims, double scale)
    {
        ArgumentNullException.ThrowIfNull(x);
        var keep = KeptShape(shape, dims);
        var y = new double[ElementwiseReference.Count(keep)];
        for (int i = 0; i < x.Length; i++)
        {
            y[OutIndex(i, shape, keep)] += x[i];
        }
        for (int j = 0; j < y.Length; j++)
        {
            y[j] *= scale;
        }
        return y;
    }

    /// <summary>gx[i] = scale * gy[kept(i)].</summary>
    public static double[] SumBackward(double[] gy, int[] shape, int[] dims, double scale)
    {
        ArgumentNullException.ThrowIfNull(gy);
        var keep = KeptShape(shape, dims);
        var gx = new double[ElementwiseReference.Count(shape)];
        for (int i = 0; i < gx.Length; i++)
        {
            gx[i] = scale * gy[OutIndex(i, shape, keep)];
        }
        return gx;
    }

    /// <summary>The shape with reduced dimensions set to 1 (keepdim).</summary>
    public static int[] KeptShape(int[] shape, int[] dims)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(dims);
        var keep = (int[])shape.Clone();
        foreach (int d in dims)
        {
            keep[d < 0 ? d + shape.Length : d] = 1;
        }
        return keep;
    }

    private static int OutIndex(int i, int[] shape, int[] keep) =>
        ElementwiseReference.BroadcastIndex(keep, shape, ElementwiseReference.Coordinates(i, shape));
}
