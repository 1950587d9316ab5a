namespace GanEngine.Ops.Reference;

/// <summary>float64 references of <see cref="GanEngine.Ops.Sparse.MaskedConv2d"/>: the dense conv references of
/// <see cref="ConvReference"/> with W replaced by W .* [mask != 0]; the weight gradient is the dense one times the mask
/// (exactly 0 off the mask), also given in CSR order (the kept entries in row-major order).</summary>
public static class MaskedConvReference
{
    public static double[] MaskedWeight(float[] weight, float[] mask)
    {
        var w = new double[weight.Length];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = mask[i] != 0f ? weight[i] : 0.0;
        }
        return w;
    }

    public static double[] Forward(in Conv2dShape s, float[] input, float[] weight, float[] mask, float[]? bias) =>
        ConvReference.Conv2dForward(s, ConvReference.ToDouble(input), MaskedWeight(weight, mask), bias is null ? null : ConvReference.ToDouble(bias));

    public static double[] BackwardInput(in Conv2dShape s, float[] gradOutput, float[] weight, float[] mask) =>
        ConvReference.Conv2dBackwardInput(s, ConvReference.ToDouble(gradOutput), MaskedWeight(weight, mask));

    /// <summary>Dense weight gradient times the mask.</summary>
    public static double[] BackwardWeight(in Conv2dShape s, float[] input, float[] gradOutput, float[] mask)
    {
        var g = ConvReference.Conv2dBackwardWeight(s, ConvReference.ToDouble(input), ConvReference.ToDouble(gradOutput));
        for (int i = 0; i < g.Length; i++)
        {
            if (mask[i] == 0f) g[i] = 0.0;
        }
        return g;
    }

    /// <summary>The masked weight gradient at the kept entries, in CSR order.</summary>
    public static double[] BackwardWeightValues(in Conv2dShape s, float[] input, float[] gradOutput, float[] mask)
    {
        var g = BackwardWeight(s, input, gradOutput, mask);
        var values = new List<double>();
        for (int i = 0; i < g.Length; i++)
        {
            if (mask[i] != 0f) values.Add(g[i]);
        }
        return values.ToArray();
    }
}
