namespace GanEngine.Datasets.Png;

/// <summary>PNG colour types (IHDR byte 9).</summary>
public enum PngColorType : byte
{
    /// <summary>Greyscale, bit depths 1, 2, 4, 8, 16.</summary>
    Grey = 0,

    /// <summary>RGB, bit depths 8, 16.</summary>
    Rgb = 2,

    /// <summary>Palette indices, bit depths 1, 2, 4, 8.</summary>
    Palette = 3,

    /// <summary>Greyscale with alpha, bit depths 8, 16.</summary>
    GreyAlpha = 4,

    /// <summary>RGB with alpha, bit depths 8, 16.</summary>
    Rgba = 6,
}

/// <summary>Row filters of the PNG encoder (filter method 0); <see cref="Adaptive"/> picks one per row.</summary>
public enum PngFilter
{
    /// <summary>Filter type 0: bytes as they are.</summary>
    None = 0,

    /// <summary>Filter type 1: difference to the byte one pixel to the left.</summary>
    Sub = 1,

    /// <summary>Filter type 2: difference to the byte above.</summary>
    Up = 2,

    /// <summary>Filter type 3: difference to the floored mean of left and above.</summary>
    Average = 3,

    /// <summary>Filter type 4: difference to the Paeth predictor of left, above and upper left.</summary>
    Paeth = 4,

    /// <summary>Per row, the filter whose output has the least sum of absolute (signed) byte values.</summary>
    Adaptive = 5,
}

/// <summary>The IHDR fields that matter for decoding.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="BitDepth">Bits per sample (per palette index for palette images).</param>
/// <param name="ColorType">Colour type.</param>
/// <param name="Interlaced">Adam7 interlacing.</param>
public sealed record PngHeader(int Width, int Height, int BitDepth, PngColorType ColorType, bool Interlaced)
{
    /// <summary>Samples stored per pixel: 1 grey or palette index, 2 grey + alpha, 3 RGB, 4 RGBA.</summary>
    public int StoredSamples => ColorType switch
    {
        PngColorType.Grey or PngColorType.Palette => 1,
        PngColorType.GreyAlpha => 2,
        PngColorType.Rgb => 3,
        _ => 4,
    };

    /// <summary>Bits of one pixel in the image data.</summary>
    public int BitsPerPixel => StoredSamples * BitDepth;
}

/// <summary>Shared constants and the filter arithmetic of encoder and decoder.</summary>
internal static class PngFormat
{
    public static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>Adam7 passes: first column, first row, column step, row step.</summary>
    public static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 =
    [
        (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2),
    ];

    /// <summary>The passes of an image: Adam7's seven, or one pass covering everything.</summary>
    public static (int X0, int Y0, int Dx, int Dy)[] Passes(bool interlaced) => interlaced ? Adam7 : [(0, 0, 1, 1)];

    /// <summary>Pixels of a pass along one axis (0 when the image is too small for the pass).</summary>
    public static int PassSize(int size, int start, int step) => size <= start ? 0 : (size - start + step - 1) / step;

    /// <summary>Bytes of one row of <paramref name="pixels"/> pixels, without the filter byte.</summary>
    public static long RowBytes(long pixels, int bitsPerPixel) => ((pixels * bitsPerPixel) + 7) / 8;

    /// <summary>Whether the colour type allows the bit depth.</summary>
    public static bool IsAllowed(PngColorType colorType, int bitDepth) => colorType switch
    {
        PngColorType.Grey => bitDepth is 1 or 2 or 4 or 8 or 16,
        PngColorType.Palette => bitDepth is 1 or 2 or 4 or 8,
        PngColorType.Rgb or PngColorType.GreyAlpha or PngColorType.Rgba => bitDepth is 8 or 16,
        _ => false,
    };

    /// <summary>The Paeth predictor of left <paramref name="a"/>, above <paramref name="b"/>, upper left <paramref name="c"/>.</summary>
    public static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc)
        {
            return a;
        }
        return pb <= pc ? b : c;
    }

    /// <summary>
    /// The predictor of filter <paramref name="type"/> (1..4) for byte <paramref name="i"/> given the
    /// reconstructed current row <paramref name="row"/> (bytes before i) and the previous row.
    /// </summary>
    public static int Predict(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int i, int bpp)
    {
        int a = i >= bpp ? row[i - bpp] : 0;
        int b = prior[i];
        return type switch
        {
            1 => a,
            2 => b,
            3 => (a + b) >> 1,
            _ => Paeth(a, b, i >= bpp ? prior[i - bpp] : 0),
        };
    }
}
