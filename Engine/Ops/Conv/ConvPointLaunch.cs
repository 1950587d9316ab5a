using GanEngine.Kernels;
using GanEngine.Kernels.Conv;

namespace GanEngine.Ops;

/// <summary>
/// Launches of <see cref="ConvPoint"/> for the shapes of <see cref="ConvLaunch.PointFits"/> (1x1 output, kernel covering the
/// whole input, at most <see cref="MaxChannels"/> output channels), in the convolution's geometry: "small" is the (batch, oc)
/// side, "big" the (batch, c, h, w) side, kd = c h w. Grids and blocks are a function of the shape only (the summation order of
/// the forward and the weight gradient depends on them), no workspace, FP32 in either math mode, launches on the given launcher.
/// </summary>
internal static class ConvPointLaunch
{
    /// <summary>Most output channels (the small side) the point kernels take.</summary>
    internal const int MaxChannels = 4;

    private const int Block = 256;

    /// <summary>Images per thread of the dgrad form.</summary>
    private const int DgradImages = 4;

    private static int Kd(in ConvLaunch.Geometry g) => g.C * g.H * g.W;

    /// <summary><see cref="ConvLaunch.Run"/> without workspace: kernel mode 0 (forward form: <paramref name="a"/> the big side,
    /// <paramref name="output"/> the small one) or 1 (dgrad form, MODE 3: <paramref name="a"/> the small side); <paramref name="b"/>
    /// the weight.</summary>
    internal static void Run(IKernelLauncher launcher, int kernelMode, in ConvLaunch.Geometry g, ReadOnlyView<float> a, ReadOnlyView<float> b,
        ReadOnlyView<float>? bias, ArrayView<float> output)
    {
        if (kernelMode == 0)
        {
            Forward(launcher, g, a, b, bias, output);
        }
        else
        {
            Dgrad(launcher, g, a, b, bias, output);
        }
    }

    /// <summary>Forward form: small (batch, oc) = big (batch, kd) weight (oc, kd)^T (+ bias[oc]). One block per image.</summary>
    internal static void Forward(IKernelLauncher launcher, in ConvLaunch.Geometry g, ReadOnlyView<float> big, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> small) =>
        ConvPoint.LaunchForward(launcher, new LaunchConfig(new Dim3(g.Batch), new Dim3(Block)), Kd(g), bias.HasValue ? 1 : 0,
            big, weight, bias ?? weight, small, g.Oc);

    /// <summary>Dgrad form: big (batch, c, h, w) = small (batch, oc) weight (oc, kd) (+ bias[c]: a transposed convolution's).</summary>
    internal static void Dgrad(IKernelLauncher launcher, in ConvLaunch.Geometry g, ReadOnlyView<float> small, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> big)
    {
        int kd = Kd(g);
        long threads = (long)((g.Batch + DgradImages - 1) / DgradImages) * kd;
        var config = new LaunchConfig(new Dim3((int)((threads + Block - 1) / Block)), new Dim3(Block));
        ConvPoint.LaunchDgrad(launcher, config, g.Batch, kd, g.H * g.W, bias.HasValue ? 1 : 0, small, weight, bias ?? weight, big,
            g.Oc, DgradImages);
    }

    /// <summary>Weight gradient: gradWeight (oc, kd) = small (batch, oc)^T big (batch, kd). One block per 32 consecutive k.</summary>
    internal static void Wgrad(IKernelLauncher launcher, in ConvLaunch.Geometry g, ReadOnlyView<float> small, ReadOnlyView<float> big,
        ArrayView<float> gradWeight)
    {
        int kd = Kd(g);
        var config = new LaunchConfig(new Dim3((kd + 31) / 32), new Dim3(32 * ConvPoint.WgradWarps));
        ConvPoint.LaunchWgrad(launcher, config, g.Batch, kd, small, big, gradWeight, g.Oc);
    }
}
