namespace GanEngine.Datasets;

/// <summary>
/// The UCI handwritten digits (Alpaydin and Kaynak 1998; 1,797 images of 8x8 pixels, values 0..16, ten
/// classes), built into the assembly or read from a file of the same "DIGT" layout
/// (see <c>Datasets/Data/uci-digits-8x8.md</c>). Split: Test is every image whose index in the file is
/// 4 modulo 5 (a fixed fifth), Train the rest, All everything. Pixels scale as v / 8 - 1 to [-1, 1].
/// </summary>
public sealed class DigitsDataset : IImageDataset
{
    /// <summary>The manifest resource name of the built-in file.</summary>
    public const string ResourceName = "GanEngine.Datasets.uci-digits-8x8.bin";

    private const int HeaderSize = 16;
    private const int MaxValue = 16;

    private readonly byte[] _pixels;
    private readonly byte[] _labels;

    private DigitsDataset(string name, byte[] pixels, byte[] labels, int height, int width)
    {
        Name = name;
        _pixels = pixels;
        _labels = labels;
        Height = height;
        Width = width;
    }

    /// <summary>Opens the built-in copy.</summary>
    public static DigitsDataset BuiltIn(DatasetSplit split = DatasetSplit.All)
    {
        using var stream = typeof(DigitsDataset).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new DatasetException(ResourceName, "the built-in digits resource is missing from the assembly");
        var data = new byte[stream.Length];
        stream.ReadExactly(data);
        return Parse(data, "built-in " + ResourceName, $"digits ({DataFiles.SplitName(split)})", split);
    }

    /// <summary>Opens a file in the "DIGT" layout.</summary>
    public static DigitsDataset FromFile(string path, DatasetSplit split = DatasetSplit.All)
    {
        if (!File.Exists(path))
        {
            throw new DatasetException(path, "digits file does not exist");
        }
        var data = DataFiles.ReadAll(path);
        return Parse(data, path, $"{Path.GetFileName(path)} ({DataFiles.SplitName(split)})", split);
    }

    /// <summary>Parses and validates the "DIGT" layout; <paramref name="file"/> names it in errors.</summary>
    internal static DigitsDataset Parse(byte[] data, string file, string name, DatasetSplit split)
    {
        if (data.Length < HeaderSize)
        {
            throw new DatasetException(file, $"truncated: {data.Length} bytes, shorter than the {HeaderSize}-byte header");
        }
        if (data[0] != 'D' || data[1] != 'I' || data[2] != 'G' || data[3] != 'T')
        {
            throw new DatasetException(file, $"not a digits file: magic is {Magic(data)}, expected \"DIGT\"");
        }
        int n = DataFiles.LittleEndianInt32(data, 4), h = DataFiles.LittleEndianInt32(data, 8), w = DataFiles.LittleEndianInt32(data, 12);
        if (n <= 0 || h <= 0 || w <= 0 || h > 4096 || w > 4096)
        {
            throw new DatasetException(file, $"invalid sizes in the header: N={n}, height={h}, width={w}");
        }
        var pixelsPerImage = (long)h * w;
        var expected = HeaderSize + n + n * pixelsPerImage;
        if (data.Length < expected)
        {
            throw new DatasetException(file,
                $"truncated: {data.Length} bytes, but N={n} images of {h}x{w} need {expected}");
        }
        if (data.Length > expected)
        {
            throw new DatasetException(file,
                $"{data.Length - expected} bytes after the {expected} that N={n} images of {h}x{w} take");
        }
        var allLabels = data.AsSpan(HeaderSize, n);
        for (var i = 0; i < n; i++)
        {
            if (allLabels[i] > 9)
            {
                throw new DatasetException(file, $"label of image {i} is {allLabels[i]}, outside 0..9");
            }
        }
        var allPixels = data.AsSpan(HeaderSize + n);
        for (var i = 0; i < allPixels.Length; i++)
        {
            if (allPixels[i] > MaxValue)
            {
                throw new DatasetException(file,
                    $"pixel {i % pixelsPerImage} of image {i / pixelsPerImage} is {allPixels[i]}, outside 0..{MaxValue}");
            }
        }

        var selected = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            var isTest = i % 5 == 4;
            if (split == DatasetSplit.All || (split == DatasetSplit.Test) == isTest)
            {
                selected.Add(i);
            }
        }
        var size = (int)pixelsPerImage;
        var labels = new byte[selected.Count];
        var pixels = new byte[selected.Count * size];
        for (var k = 0; k < selected.Count; k++)
        {
            labels[k] = allLabels[selected[k]];
            allPixels.Slice(selected[k] * size, size).CopyTo(pixels.AsSpan(k * size, size));
        }
        return new DigitsDataset(name, pixels, labels, h, w);
    }

    private static string Magic(byte[] data)
    {
        var chars = new char[4];
        for (var i = 0; i < 4; i++)
        {
            chars[i] = data[i] is >= 32 and < 127 ? (char)data[i] : '?';
        }
        return $"\"{new string(chars)}\" ({data[0]:X2} {data[1]:X2} {data[2]:X2} {data[3]:X2})";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <inheritdoc/>
    public int Channels => 1;

    /// <inheritdoc/>
    public int Height { get; }

    /// <inheritdoc/>
    public int Width { get; }

    /// <inheritdoc/>
    public int ClassCount => 10;

    /// <inheritdoc/>
    public void ReadImage(int index, Span<float> destination)
    {
        DataFiles.CheckDestination(this, index, destination);
        var size = Height * Width;
        var source = _pixels.AsSpan(index * size, size);
        for (var i = 0; i < size; i++)
        {
            destination[i] = source[i] / 8f - 1f;
        }
    }

    /// <inheritdoc/>
    public int Label(int index) => _labels[index];
}
