using GanEngine.Kernels;
using GanEngine.Kernels.Resample;
using GanEngine.Ops.Elementwise;

namespace GanEngine.Ops.Resample;

/// <summary>Shape of <see cref="UpsampleNearest2d"/>: input (N, C, H, W), output (N, C, H * Scale, W * Scale).</summary>
public readonly record struct UpsampleNearest2dShape(int Batch, int Channels, int Height, int Width, int Scale)
{
    public int OutHeight => Height * Scale;
    public int OutWidth => Width * Scale;
    public int InputElements => Batch * Channels * Height * Width;
    public int OutputElements => Batch * Channels * OutHeight * OutWidth;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        Resample2dChecks.Positive(Batch, nameof(Batch));
        Resample2dChecks.Positive(Channels, nameof(Channels));
        Resample2dChecks.Positive(Height, nameof(Height));
        Resample2dChecks.Positive(Width, nameof(Width));
        Resample2dChecks.Positive(Scale, nameof(Scale));
        Resample2dChecks.Fits((long)Batch * Channels * Height * Scale * Width * Scale, "output");
    }
}

/// <summary>Shape of <see cref="AvgPool2d"/>: input (N, C, H, W) with H and W multiples of
/// <see cref="Kernel"/>, output (N, C, H / Kernel, W / Kernel).</summary>
public readonly record struct AvgPool2dShape(int Batch, int Channels, int Height, int Width, int Kernel)
{
    public int OutHeight => Height / Kernel;
    public int OutWidth => Width / Kernel;
    public int InputElements => Batch * Channels * Height * Width;
    public int OutputElements => Batch * Channels * OutHeight * OutWidth;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        Resample2dChecks.Positive(Batch, nameof(Batch));
        Resample2dChecks.Positive(Channels, nameof(Channels));
        Resample2dChecks.Positive(Height, nameof(Height));
        Resample2dChecks.Positive(Width, nameof(Width));
        Resample2dChecks.Positive(Kernel, nameof(Kernel));
        if (Height % Kernel != 0)
        {
            throw new ArgumentException($"AvgPool2d: Height {Height} is not a multiple of the kernel {Kernel} (stride = kernel, no padding).", nameof(Height));
        }
        if (Width % Kernel != 0)
        {
            throw new ArgumentException($"AvgPool2d: Width {Width} is not a multiple of the kernel {Kernel} (stride = kernel, no padding).", nameof(Width));
        }
        Resample2dChecks.Fits((long)Batch * Channels * Height * Width, "input");
    }
}

/// <summary>
/// <c>F.interpolate(x, scale_factor=s, mode="nearest")</c> on NCHW with an integer factor, as raw
/// ops: contiguous views, no allocation, no host synchronisation, launches on the given launcher.
/// </summary>
public static class UpsampleNearest2d
{
    /// <summary>y[n, c, i, j] = x[n, c, i / s, j / s].</summary>
    public static void Forward(IKernelLauncher launcher, in UpsampleNearest2dShape shape, ReadOnlyView<float> x, ArrayView<float> y)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Resample2dChecks.Length(x.Length, shape.InputElements, nameof(x));
        Resample2dChecks.Length(y.Length, shape.OutputElements, nameof(y));
        ResampleKernels.LaunchReplicate(launcher, ElementwiseOps.GridFor(shape.OutputElements), x, y,
            shape.Batch * shape.Channels, shape.Height, shape.Width, shape.Scale, 1f);
    }

    /// <summary>gx[n, c, i, j] = sum of gy over the s x s block that x[n, c, i, j] was copied to
    /// (<paramref name="gx"/> is overwritten).</summary>
    public static void Backward(IKernelLauncher launcher, in UpsampleNearest2dShape shape, ReadOnlyView<float> gy, ArrayView<float> gx)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Resample2dChecks.Length(gy.Length, shape.OutputElements, nameof(gy));
        Resample2dChecks.Length(gx.Length, shape.InputElements, nameof(gx));
        ResampleKernels.LaunchBlockSum(launcher, ElementwiseOps.GridFor(shape.InputElements), gy, gx,
            shape.Batch * shape.Channels, shape.Height, shape.Width, shape.Scale, 1f);
    }
}

/// <summary>
/// <c>F.avg_pool2d(x, k)</c> (stride = k, no padding, H and W multiples of k) on NCHW, as raw ops:
/// contiguous views, no allocation, no host synchronisation, launches on the given launcher.
/// </summary>
public static class AvgPool2d
{
    /// <summary>y[n, c, i, j] = mean of the k x k block x[n, c, i k .. i k + k - 1, j k .. j k + k - 1].</summary>
    public static void Forward(IKernelLauncher launcher, in AvgPool2dShape shape, ReadOnlyView<float> x, ArrayView<float> y)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Resample2dChecks.Length(x.Length, shape.InputElements, nameof(x));
        Resample2dChecks.Length(y.Length, shape.OutputElements, nameof(y));
        ResampleKernels.LaunchBlockSum(launcher, ElementwiseOps.GridFor(shape.OutputElements), x, y,
            shape.Batch * shape.Channels, shape.OutHeight, shape.OutWidth, shape.Kernel, 1f / (shape.Kernel * shape.Kernel));
    }

    /// <summary>gx[n, c, i, j] = gy[n, c, i / k, j / k] / k^2 (<paramref name="gx"/> is overwritten).</summary>
    public static void Backward(IKernelLauncher launcher, in AvgPool2dShape shape, ReadOnlyView<float> gy, ArrayView<float> gx)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Resample2dChecks.Length(gy.Length, shape.OutputElements, nameof(gy));
        Resample2dChecks.Length(gx.Length, shape.InputElements, nameof(gx));
        ResampleKernels.LaunchReplicate(launcher, ElementwiseOps.GridFor(shape.InputElements), gy, gx,
            shape.Batch * shape.Channels, shape.OutHeight, shape.OutWidth, shape.Kernel, 1f / (shape.Kernel * shape.Kernel));
    }
}

internal static class Resample2dChecks
{
    public static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentException($"{name} must be >= 1 (got {value})", name);
        }
    }

    public static void Fits(long elements, string what)
    {
        if (elements > int.MaxValue)
        {
            throw new ArgumentException($"The {what} has {elements} elements; at most 2^31 - 1 are supported.");
        }
    }

    public static void Length(int length, int needed, string name)
    {
        if (length < needed)
        {
            throw new ArgumentException($"{name} has {length} elements, needs {needed}", name);
        }
    }
}
