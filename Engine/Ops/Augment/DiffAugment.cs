using GanEngine.Kernels;
using GanEngine.Kernels.Augment;
using GanEngine.Ops.Elementwise;
using GanEngine.Ops.Reduction;

namespace GanEngine.Ops.Augment;

/// <summary>
/// Which DiffAugment transforms run and how strong they are, as DiffAugment's policy string names them
/// (<c>"color,translation,cutout"</c>): <see cref="Color"/> is brightness, saturation and contrast together;
/// <see cref="Translation"/> shifts by up to that fraction of the height / width (DiffAugment: 1/8);
/// <see cref="Cutout"/> zeroes a square of that fraction of the height / width (DiffAugment: 1/2). 0 turns a part off.
/// </summary>
public readonly record struct DiffAugmentPolicy(bool Color, float Translation, float Cutout)
{
    /// <summary>DiffAugment's translation ratio.</summary>
    public const float DefaultTranslation = 0.125f;

    /// <summary>DiffAugment's cutout ratio.</summary>
    public const float DefaultCutout = 0.5f;

    /// <summary>No transform at all.</summary>
    public bool IsIdentity => !Color && Translation == 0f && Cutout == 0f;

    /// <summary>
    /// The policy of a comma-separated list of <c>color</c>, <c>translation</c>, <c>cutout</c> (empty or
    /// <c>none</c>: the identity), with the given ratios for the named parts. Throws <see cref="ArgumentException"/>
    /// naming the unknown part.
    /// </summary>
    public static DiffAugmentPolicy Parse(string policy, float translation = DefaultTranslation, float cutout = DefaultCutout)
    {
        ArgumentNullException.ThrowIfNull(policy);
        bool color = false, translate = false, cut = false;
        foreach (string raw in policy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (raw)
            {
                case "none":
                    break;
                case "color":
                    color = true;
                    break;
                case "translation":
                    translate = true;
                    break;
                case "cutout":
                    cut = true;
                    break;
                default:
                    throw new ArgumentException($"unknown DiffAugment transform '{raw}' (known: color, translation, cutout, or none)", nameof(policy));
            }
        }
        if (!(translation >= 0f && translation < 1f) || !(cutout >= 0f && cutout <= 1f))
        {
            throw new ArgumentException($"translation must be in [0, 1) and cutout in [0, 1], got {translation} and {cutout}");
        }
        return new DiffAugmentPolicy(color, translate ? translation : 0f, cut ? cutout : 0f);
    }

    /// <summary>Rows and columns of the largest shift for an image of <paramref name="height"/> x
    /// <paramref name="width"/> (DiffAugment's <c>int(size * ratio + 0.5)</c>).</summary>
    public (int Rows, int Columns) ShiftFor(int height, int width) => (Round(height * Translation), Round(width * Translation));

    /// <summary>Rows and columns of the cutout square for an image of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public (int Rows, int Columns) CutoutFor(int height, int width) => (Round(height * Cutout), Round(width * Cutout));

    public override string ToString() => IsIdentity ? "none" : string.Join(",", new[]
    {
        Color ? "color" : null,
        Translation > 0f ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"translation {Translation:0.###}") : null,
        Cutout > 0f ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cutout {Cutout:0.###}") : null,
    }.Where(p => p is not null));

    private static int Round(float v) => (int)(v + 0.5f);
}

/// <summary>
/// DiffAugment's transforms of an NCHW batch as raw ops (contiguous views, no allocation, no host
/// synchronisation): the colour transform, and translation with cutout. Each sample's transform comes from
/// <see cref="DiffAugmentKernels.DrawsPerSample"/> uniforms in <c>u</c> (formulas: <see cref="DiffAugmentKernels"/>;
/// float64 reference: <c>GanEngine.Ops.Reference.DiffAugmentReference</c>).
/// </summary>
public static class DiffAugment
{
    /// <summary>Colour forward: <paramref name="sampleSum"/> (N floats) receives the per-sample sums of
    /// <paramref name="x"/>, then <paramref name="y"/> the transformed batch.</summary>
    public static void ColorForward(IKernelLauncher launcher, int batch, int channels, int plane,
        ReadOnlyView<float> x, ReadOnlyView<float> u, ArrayView<float> sampleSum, ArrayView<float> y) =>
        Color(launcher, batch, channels, plane, x, u, sampleSum, y, backward: 0);

    /// <summary>Colour backward: <paramref name="sampleSum"/> receives the per-sample sums of the output's gradient
    /// <paramref name="gy"/>, then <paramref name="gx"/> the input's gradient (overwritten).</summary>
    public static void ColorBackward(IKernelLauncher launcher, int batch, int channels, int plane,
        ReadOnlyView<float> gy, ReadOnlyView<float> u, ArrayView<float> sampleSum, ArrayView<float> gx) =>
        Color(launcher, batch, channels, plane, gy, u, sampleSum, gx, backward: 1);

    /// <summary>Translation by up to <paramref name="shift"/> rows / columns with zero fill, then a cutout square of
    /// <paramref name="cut"/> rows x columns; <paramref name="backward"/> runs the adjoint (the input's gradient from
    /// the output's).</summary>
    public static void TranslateCutout(IKernelLauncher launcher, int batch, int channels, int height, int width,
        (int Rows, int Columns) shift, (int Rows, int Columns) cut, ReadOnlyView<float> source, ReadOnlyView<float> u,
        ArrayView<float> output, bool backward)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        int n = Check(batch, channels, height * width, source.Length, output.Length, u.Length);
        if (shift.Rows < 0 || shift.Columns < 0 || cut.Rows < 0 || cut.Columns < 0)
        {
            throw new ArgumentException($"shift {shift} and cutout {cut} must be >= 0");
        }
        DiffAugmentKernels.LaunchTranslateCutout(launcher, ElementwiseOps.GridFor(n), source, output, u,
            batch, channels, height, width, shift.Rows, shift.Columns, cut.Rows, cut.Columns, backward ? 1 : 0);
    }

    private static void Color(IKernelLauncher launcher, int batch, int channels, int plane,
        ReadOnlyView<float> source, ReadOnlyView<float> u, ArrayView<float> sampleSum, ArrayView<float> output, int backward)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        int n = Check(batch, channels, plane, source.Length, output.Length, u.Length);
        if (sampleSum.Length < batch)
        {
            throw new ArgumentException($"sampleSum has {sampleSum.Length} elements, needs {batch}", nameof(sampleSum));
        }
        // Per-sample sums with the engine's deterministic reduction: fixed order, no atomics.
        ReductionOps.Sum(launcher, source, StridedLayout.Contiguous([batch, channels * plane]), [false, true], sampleSum, 1f);
        DiffAugmentKernels.LaunchColor(launcher, ElementwiseOps.GridFor(n), source, output, u, sampleSum, batch, channels, plane, backward);
    }

    private static int Check(int batch, int channels, int plane, int sourceLength, int outputLength, int uLength)
    {
        if (batch < 1 || channels < 1 || plane < 1)
        {
            throw new ArgumentException($"batch, channels and plane must be >= 1, got {batch}, {channels}, {plane}");
        }
        long n = (long)batch * channels * plane;
        if (n > int.MaxValue)
        {
            throw new ArgumentException($"the batch has {n} elements; at most 2^31 - 1 are supported");
        }
        if (sourceLength < n || outputLength < n)
        {
            throw new ArgumentException($"source ({sourceLength}) and output ({outputLength}) need {n} elements each");
        }
        if (uLength < batch * DiffAugmentKernels.DrawsPerSample)
        {
            throw new ArgumentException($"u has {uLength} uniforms, needs {batch * DiffAugmentKernels.DrawsPerSample} ({DiffAugmentKernels.DrawsPerSample} per sample)");
        }
        return (int)n;
    }
}
