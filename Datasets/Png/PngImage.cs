namespace GanEngine.Datasets.Png;

/// <summary>
/// A decoded (or to-be-encoded) PNG image: samples interleaved per pixel, rows top to bottom
/// (HWC order). Channels: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (palettes are expanded to RGB, or RGBA
/// when they have transparency; a tRNS colour key becomes an alpha channel). Each sample lies in
/// 0 .. 2^BitDepth - 1 (palette images decode at bit depth 8).
/// </summary>
public sealed class PngImage
{
    /// <summary>Creates an image of zero samples (or wraps <paramref name="samples"/>).</summary>
    public PngImage(int width, int height, int channels, int bitDepth, ushort[]? samples = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, 4);
        if (bitDepth is not (1 or 2 or 4 or 8 or 16))
        {
            throw new ArgumentOutOfRangeException(nameof(bitDepth), bitDepth, "bit depth must be 1, 2, 4, 8 or 16");
        }
        var length = (long)width * height * channels;
        if (length > Array.MaxLength)
        {
            throw new ArgumentException($"a {width}x{height} image of {channels} channels is too large");
        }
        if (samples != null && samples.Length != length)
        {
            throw new ArgumentException($"{samples.Length} samples given, a {width}x{height}x{channels} image has {length}", nameof(samples));
        }
        Width = width;
        Height = height;
        Channels = channels;
        BitDepth = bitDepth;
        Samples = samples ?? new ushort[length];
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Samples per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.</summary>
    public int Channels { get; }

    /// <summary>Bits per sample: samples lie in 0 .. <see cref="MaxValue"/>.</summary>
    public int BitDepth { get; }

    /// <summary>The largest sample value, 2^BitDepth - 1.</summary>
    public int MaxValue => (1 << BitDepth) - 1;

    /// <summary>True for 2 (grey + alpha) and 4 (RGBA) channels.</summary>
    public bool HasAlpha => Channels is 2 or 4;

    /// <summary>Number of colour channels (without alpha): 1 or 3.</summary>
    public int ColorChannels => Channels >= 3 ? 3 : 1;

    /// <summary>The samples, HWC: sample c of pixel (x, y) is at (y * Width + x) * Channels + c.</summary>
    public ushort[] Samples { get; }

    /// <summary>Sample <paramref name="c"/> of pixel (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public ushort this[int x, int y, int c]
    {
        get => Samples[(((y * Width) + x) * Channels) + c];
        set => Samples[(((y * Width) + x) * Channels) + c] = value;
    }

    /// <summary>
    /// Writes every channel (alpha included) as CHW floats in [-1, 1]: v / MaxValue * 2 - 1;
    /// <paramref name="destination"/> holds Channels * Height * Width floats.
    /// </summary>
    public void ToFloat(Span<float> destination) => ToFloat(destination, Channels);

    /// <summary>
    /// Writes the first <paramref name="channels"/> channels as CHW floats in [-1, 1] (e.g. 1 for the grey of a
    /// grey + alpha image, 3 for the colour of an RGBA image; alpha is dropped, not composited).
    /// </summary>
    public void ToFloat(Span<float> destination, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, Channels);
        var plane = Width * Height;
        if (destination.Length != channels * plane)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, {channels}x{Height}x{Width} needs {channels * plane}", nameof(destination));
        }
        var scale = 2f / MaxValue;
        for (var c = 0; c < channels; c++)
        {
            var target = destination.Slice(c * plane, plane);
            for (int p = 0, s = c; p < plane; p++, s += Channels)
            {
                target[p] = (Samples[s] * scale) - 1f;
            }
        }
    }

    /// <summary>
    /// An image from CHW floats in [-1, 1] (values outside are clamped), quantised to
    /// <paramref name="bitDepth"/> bits by rounding (v + 1) / 2 * MaxValue.
    /// </summary>
    public static PngImage FromFloat(ReadOnlySpan<float> chw, int channels, int height, int width, int bitDepth = 8)
    {
        var image = new PngImage(width, height, channels, bitDepth);
        var plane = width * height;
        if (chw.Length != channels * plane)
        {
            throw new ArgumentException($"{chw.Length} floats given, {channels}x{height}x{width} needs {channels * plane}", nameof(chw));
        }
        var max = image.MaxValue;
        for (var c = 0; c < channels; c++)
        {
            for (var p = 0; p < plane; p++)
            {
                image.Samples[(p * channels) + c] = Quantize(chw[(c * plane) + p], max);
            }
        }
        return image;
    }

    internal static ushort Quantize(float v, int max)
    {
        var unit = (v + 1f) * 0.5f;
        if (!(unit > 0f))
        {
            return 0; // also NaN
        }
        return unit >= 1f ? (ushort)max : (ushort)MathF.Round(unit * max, MidpointRounding.AwayFromZero);
    }
}
