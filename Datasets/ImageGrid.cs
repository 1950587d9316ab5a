using GanEngine.Datasets.Png;

namespace GanEngine.Datasets;

/// <summary>
/// Sample grids: NCHW float images in [-1, 1] laid out in rows of <c>columns</c> cells with a 2-pixel
/// mid-grey border around and between them, each image enlarged by an integer nearest-neighbour
/// <c>scale</c>, written as an 8-bit grey (1 channel) or RGB (3 channels) PNG.
/// </summary>
public static class ImageGrid
{
    /// <summary>Pixels of border around and between the cells.</summary>
    public const int Padding = 2;

    /// <summary>The border's 8-bit grey level.</summary>
    public const byte PaddingValue = 128;

    /// <summary>
    /// Composes the grid and writes it to <paramref name="path"/> (through a temporary file in the same folder,
    /// renamed over the target, so a reader never sees half a file). Creates the folder if needed.
    /// </summary>
    public static void WritePng(string path, ReadOnlySpan<float> images, int count, int channels, int height, int width,
        int columns, int scale = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = PngEncoder.Encode(Compose(images, count, channels, height, width, columns, scale));
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        var temporary = $"{full}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Composes the grid image (8-bit, 1 or 3 channels).</summary>
    public static PngImage Compose(ReadOnlySpan<float> images, int count, int channels, int height, int width,
        int columns, int scale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "a grid has 1 or 3 channels");
        }
        var imageSize = channels * height * width;
        if (images.Length < (long)count * imageSize)
        {
            throw new ArgumentException($"{images.Length} floats given, {count} images of {channels}x{height}x{width} need {(long)count * imageSize}", nameof(images));
        }
        var cols = Math.Min(columns, count);
        var rows = (count + cols - 1) / cols;
        int cellHeight = height * scale, cellWidth = width * scale;
        var gridWidth = (cols * (cellWidth + Padding)) + Padding;
        var gridHeight = (rows * (cellHeight + Padding)) + Padding;
        var grid = new PngImage(gridWidth, gridHeight, channels, 8);
        Array.Fill(grid.Samples, PaddingValue);
        var plane = height * width;
        for (var n = 0; n < count; n++)
        {
            var image = images.Slice(n * imageSize, imageSize);
            var left = Padding + ((n % cols) * (cellWidth + Padding));
            var top = Padding + ((n / cols) * (cellHeight + Padding));
            for (var y = 0; y < cellHeight; y++)
            {
                var sourceRow = (y / scale) * width;
                var targetRow = ((top + y) * gridWidth) + left;
                for (var x = 0; x < cellWidth; x++)
                {
                    var source = sourceRow + (x / scale);
                    var target = (targetRow + x) * channels;
                    for (var c = 0; c < channels; c++)
                    {
                        grid.Samples[target + c] = PngImage.Quantize(image[(c * plane) + source], 255);
                    }
                }
            }
        }
        return grid;
    }
}
