namespace GanEngine.Ops.Reference;

/// <summary>Float64 references of <c>index_select</c> and its adjoint (scatter-add) on a row-major
/// tensor seen as (outer, size, inner), with the kernels' index rule (rounded to nearest; an index
/// outside 0..size-1 or NaN selects zeros and receives nothing).</summary>
public static class IndexReference
{
    /// <summary>y[o, j, r] = x[o, indices[j], r].</summary>
    public static double[] Select(double[] x, int outer, int size, int inner, double[] indices)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(indices);
        int count = indices.Length;
        var y = new double[outer * count * inner];
        for (int o = 0; o < outer; o++)
        {
            for (int j = 0; j < count; j++)
            {
                int s = SoftmaxReference.TargetIndex(indices[j], size);
                for (int r = 0; r < inner; r++)
                {
                    y[(((o * count) + j) * inner) + r] = s >= 0 ? x[(((o * size) + s) * inner) + r] : 0;
                }
            }
        }
        return y;
    }

    /// <summary>The gradient with respect to x of sum(gy * Select(x)): gx[o, s, r] = sum over j with
    /// indices[j] == s of gy[o, j, r].</summary>
    public static double[] SelectBackward(double[] gy, int outer, int size, int inner, double[] indices)
    {
        ArgumentNullException.ThrowIfNull(gy);
        ArgumentNullException.ThrowIfNull(indices);
        int count = indices.Length;
        var gx = new double[outer * size * inner];
        for (int o = 0; o < outer; o++)
        {
            for (int j = 0; j < count; j++)
            {
                int s = SoftmaxReference.TargetIndex(indices[j], size);
                if (s < 0)
                {
                    continue;
                }
                for (int r = 0; r < inner; r++)
                {
                    gx[(((o * size) + s) * inner) + r] += gy[(((o * count) + j) * inner) + r];
                }
            }
        }
        return gx;
    }
}
