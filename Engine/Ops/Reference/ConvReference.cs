namespace GanEngine.Ops.Reference;

/// <summary>
/// float64 host references of <see cref="Conv2d"/> and <see cref="ConvTranspose2d"/> (direct loops, PyTorch semantics).
/// Each backward is written from its own definition (not through the forward), so the finite-difference tests check them.
/// </summary>
public static class ConvReference
{
    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);

    /// <summary>Conv forward: out[n, o, y, x] = b[o] + sum in[n, i, y s - p + ky, x s - p + kx] w[o, i, ky, kx].</summary>
    public static double[] Conv2dForward(in Conv2dShape s, double[] input, double[] weight, double[]? bias)
    {
        var output = new double[s.OutputElements];
        int oh = s.OutHeight, ow = s.OutWidth;
        for (int n = 0; n < s.Batch; n++)
        for (int o = 0; o < s.OutChannels; o++)
        for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
        {
            double sum = bias?[o] ?? 0;
            for (int i = 0; i < s.InChannels; i++)
            for (int ky = 0; ky < s.KernelH; ky++)
            {
                int iy = (y * s.StrideH) - s.PadH + ky;
                if (iy < 0 || iy >= s.Height) continue;
                for (int kx = 0; kx < s.KernelW; kx++)
                {
                    int ix = (x * s.StrideW) - s.PadW + kx;
                    if (ix < 0 || ix >= s.Width) continue;
                    sum += input[(((n * s.InChannels) + i) * s.Height + iy) * s.Width + ix] * weight[(((o * s.InChannels) + i) * s.KernelH + ky) * s.KernelW + kx];
                }
            }
            output[(((n * s.OutChannels) + o) * oh + y) * ow + x] = sum;
        }
        return output;
    }

    /// <summary>Conv input gradient: gIn[n, i, iy, ix] = sum over (o, ky, kx) with iy = y s - p + ky of gOut[n, o, y, x] w[o, i, ky, kx].</summary>
    public static double[] Conv2dBackwardInput(in Conv2dShape s, double[] gradOutput, double[] weight)
    {
        var gradInput = new double[s.InputElements];
        int oh = s.OutHeight, ow = s.OutWidth;
        for (int n = 0; n < s.Batch; n++)
        for (int i = 0; i < s.InChannels; i++)
        for (int iy = 0; iy < s.Height; iy++)
        for (int ix = 0; ix < s.Width; ix++)
        {
            double sum = 0;
            for (int o = 0; o < s.OutChannels; o++)
            for (int ky = 0; ky < s.KernelH; ky++)
            {
                int ty = iy + s.PadH - ky;
                if (ty < 0 || ty % s.StrideH != 0 || ty / s.StrideH >= oh) continue;
                for (int kx = 0; kx < s.KernelW; kx++)
                {
                    int tx = ix + s.PadW - kx;
                    if (tx < 0 || tx % s.StrideW != 0 || tx / s.StrideW >= ow) continue;
                    sum += gradOutput[(((n * s.OutChannels) + o) * oh + (ty / s.StrideH)) * ow + (tx / s.StrideW)]
                        * weight[(((o * s.InChannels) + i) * s.KernelH + ky) * s.KernelW + kx];
                }
            }
            gradInput[(((n * s.InChannels) + i) * s.Height + iy) * s.Width + ix] = sum;
        }
        return gradInput;
    }

    /// <summary>Conv weight gradient: gW[o, i, ky, kx] = sum over n, y, x of gOut[n, o, y, x] in[n, i, y s - p + ky, x s - p + kx].</summary>
    public static double[] Conv2dBackwardWeight(in Conv2dShape s, double[] input, double[] gradOutput)
    {
        var gradWeight = new double[s.WeightElements];
        int oh = s.OutHeight, ow = s.OutWidth;
        for (int o = 0; o < s.OutChannels; o++)
        for (int i = 0; i < s.InChannels; i++)
        for (int ky = 0; ky < s.KernelH; ky++)
        for (int kx = 0; kx < s.KernelW; kx++)
        {
            double sum = 0;
            for (int n = 0; n < s.Batch; n++)
            for (int y = 0; y < oh; y++)
            {
                int iy = (y * s.StrideH) - s.PadH + ky;
                if (iy < 0 || iy >= s.Height) continue;
                for (int x = 0; x < ow; x++)
                {
                    int ix = (x * s.StrideW) - s.PadW + kx;
                    if (ix < 0 || ix >= s.Width) continue;
                    sum += gradOutput[(((n * s.OutChannels) + o) * oh + y) * ow + x] * input[(((n * s.InChannels) + i) * s.Height + iy) * s.Width + ix];
                }
            }
            gradWeight[(((o * s.InChannels) + i) * s.KernelH + ky) * s.KernelW + kx] = sum;
        }
        return gradWeight;
    }

    /// <summary>Bias gradient of either op: gB[c] = sum over n and pixels of gOut[n, c, pixel].</summary>
    public static double[] BiasGrad(int batch, int channels, int pixels, double[] gradOutput)
    {
        var result = new double[channels];
        for (int n = 0; n < batch; n++)
        for (int c = 0; c < channels; c++)
        for (int p = 0; p < pixels; p++)
        {
            result[c] += gradOutput[(((long)n * channels) + c) * pixels + p];
        }
        return result;
    }

    /// <summary>Transposed conv forward: out[n, o, y s - p + ky, x s - p + kx] += in[n, i, y, x] w[i, o, ky, kx] (scatter form), plus b[o].</summary>
    public static double[] ConvTranspose2dForward(in ConvTranspose2dShape s, double[] input, double[] weight, double[]? bias)
    {
        int oh = s.OutHeight, ow = s.OutWidth;
        var output = new double[s.OutputElements];
        for (int n = 0; n < s.Batch; n++)
        for (int o = 0; o < s.OutChannels; o++)
        for (int p = 0; p < oh * ow; p++)
        {
            output[(((n * s.OutChannels) + o) * oh * ow) + p] = bias?[o] ?? 0;
        }
        for (int n = 0; n < s.Batch; n++)
        for (int i = 0; i < s.InChannels; i++)
        for (int y = 0; y < s.Height; y++)
        for (int x = 0; x < s.Width; x++)
        {
            double v = input[(((n * s.InChannels) + i) * s.Height + y) * s.Width + x];
            for (int o = 0; o < s.OutChannels; o++)
            for (int ky = 0; ky < s.KernelH; ky++)
            {
                int Y = (y * s.StrideH) - s.PadH + ky;
                if (Y < 0 || Y >= oh) continue;
                for (int kx = 0; kx < s.KernelW; kx++)
                {
                    int X = (x * s.StrideW) - s.PadW + kx;
                    if (X < 0 || X >= ow) continue;
                    output[(((n * s.OutChannels) + o) * oh + Y) * ow + X] += v * weight[(((i * s.OutChannels) + o) * s.KernelH + ky) * s.KernelW + kx];
                }
            }
        }
        return output;
    }

    /// <summary>Transposed conv input gradient: gIn[n, i, y, x] = sum over o, ky, kx of gOut[n, o, y s - p + ky, x s - p + kx] w[i, o, ky, kx].</summary>
    public static double[] ConvTranspose2dBackwardInput(in ConvTranspose2dShape s, double[] gradOutput, double[] weight)
    {
        int oh = s.OutHeight, ow = s.OutWidth;
        var gradInput = new double[s.InputElements];
        for (int n = 0; n < s.Batch; n++)
        for (int i = 0; i < s.InChannels; i++)
        for (int y = 0; y < s.Height; y++)
        for (int x = 0; x < s.Width; x++)
        {
            double sum = 0;
            for (int o = 0; o < s.OutChannels; o++)
            for (int ky = 0; ky < s.KernelH; ky++)
            {
                int Y = (y * s.StrideH) - s.PadH + ky;
                if (Y < 0 || Y >= oh) continue;
                for (int kx = 0; kx < s.KernelW; kx++)
                {
                    int X = (x * s.StrideW) - s.PadW + kx;
                    if (X < 0 || X >= ow) continue;
                    sum += gradOutput[(((n * s.OutChannels) + o) * oh + Y) * ow + X] * weight[(((i * s.OutChannels) + o) * s.KernelH + ky) * s.KernelW + kx];
                }
            }
            gradInput[(((n * s.InChannels) + i) * s.Height + y) * s.Width + x] = sum;
        }
        return gradInput;
    }

    /// <summary>Transposed conv weight gradient: gW[i, o, ky, kx] = sum over n, y, x of in[n, i, y, x] gOut[n, o, y s - p + ky, x s - p + kx].</summary>
    public static double[] ConvTranspose2dBackwardWeight(in ConvTranspose2dShape s, double[] input, double[] gradOutput)
    {
        int oh = s.OutHeight, ow = s.OutWidth;
        var gradWeight = new double[s.WeightElements];
        for (int i = 0; i < s.InChannels; i++)
        for (int o = 0; o < s.OutChannels; o++)
        for (int ky = 0; ky < s.KernelH; ky++)
        for (int kx = 0; kx < s.KernelW; kx++)
        {
            double sum = 0;
            for (int n = 0; n < s.Batch; n++)
            for (int y = 0; y < s.Height; y++)
            {
                int Y = (y * s.StrideH) - s.PadH + ky;
                if (Y < 0 || Y >= oh) continue;
                for (int x = 0; x < s.Width; x++)
                {
                    int X = (x * s.StrideW) - s.PadW + kx;
                    if (X < 0 || X >= ow) continue;
                    sum += input[(((n * s.InChannels) + i) * s.Height + y) * s.Width + x] * gradOutput[(((n * s.OutChannels) + o) * oh + Y) * ow + X];
                }
            }
            gradWeight[(((i * s.OutChannels) + o) * s.KernelH + ky) * s.KernelW + kx] = sum;
        }
        return gradWeight;
    }
}
