namespace GanEngine.Datasets;

/// <summary>
/// MNIST and Fashion-MNIST in the IDX format: an images file (magic 0x00000803, count, rows, columns, then
/// unsigned bytes) and a labels file (magic 0x00000801, count, then one byte per image), each raw or
/// gzip-compressed (told apart by the gzip magic, not the file name). Pixels scale as v / 127.5 - 1.
/// </summary>
public sealed class IdxDataset : IImageDataset
{
    private const int ImagesMagic = 0x00000803;
    private const int LabelsMagic = 0x00000801;

    private readonly byte[] _pixels;
    private readonly byte[] _labels;

    private IdxDataset(string name, byte[] pixels, byte[] labels, int height, int width, int classCount)
    {
        Name = name;
        _pixels = pixels;
        _labels = labels;
        Height = height;
        Width = width;
        ClassCount = classCount;
    }

    /// <summary>
    /// Opens <paramref name="path"/>: a directory holding the standard file names
    /// (<c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>,
    /// <c>t10k-labels-idx1-ubyte</c>, each optionally with <c>.gz</c>, or with a '.' before <c>idx</c>;
    /// Train reads the train files, Test the t10k files, All both), or an images file, whose labels file
    /// is found beside it (the name with "images" → "labels" and "idx3" → "idx1"; the split is then
    /// not used). <paramref name="kind"/> ("mnist", "fashion-mnist") only names the data set.
    /// </summary>
    public static IdxDataset Open(string path, DatasetSplit split = DatasetSplit.Train, string kind = "mnist")
    {
        var parts = new List<(string Images, string Labels)>();
        string name;
        if (Directory.Exists(path))
        {
            if (split is DatasetSplit.Train or DatasetSplit.All)
            {
                parts.Add((FindStandard(path, "train", "images", "idx3"), FindStandard(path, "train", "labels", "idx1")));
            }
            if (split is DatasetSplit.Test or DatasetSplit.All)
            {
                parts.Add((FindStandard(path, "t10k", "images", "idx3"), FindStandard(path, "t10k", "labels", "idx1")));
            }
            name = $"{kind} ({DataFiles.SplitName(split)})";
        }
        else if (File.Exists(path))
        {
            parts.Add((path, LabelsBeside(path)));
            name = $"{kind} ({Path.GetFileName(path)})";
        }
        else
        {
            throw new DatasetException(path, "does not exist (expected an IDX images file or a directory of them)");
        }
        return FromFiles(parts, name);
    }

    /// <summary>Reads pairs of images and labels files, concatenated in order, as one data set.</summary>
    public static IdxDataset FromFiles(IReadOnlyList<(string Images, string Labels)> files, string name)
    {
        ArgumentOutOfRangeException.ThrowIfZero(files.Count);
        var pixelParts = new List<byte[]>();
        var labelParts = new List<byte[]>();
        int height = 0, width = 0;
        string firstImages = "";
        foreach (var (imagesPath, labelsPath) in files)
        {
            var (pixels, count, h, w) = ReadImages(imagesPath);
            var labels = ReadLabels(labelsPath);
            if (labels.Length != count)
            {
                throw new DatasetException(labelsPath, $"holds {labels.Length} labels but {imagesPath} holds {count} images");
            }
            if (pixelParts.Count == 0)
            {
                (height, width, firstImages) = (h, w, imagesPath);
            }
            else if (h != height || w != width)
            {
                throw new DatasetException(imagesPath, $"images are {h}x{w} but those of {firstImages} are {height}x{width}");
            }
            pixelParts.Add(pixels);
            labelParts.Add(labels);
        }
        var allPixels = Concat(pixelParts);
        var allLabels = Concat(labelParts);
        return new IdxDataset(name, allPixels, allLabels, height, width, 10);
    }

    private static byte[] Concat(List<byte[]> parts)
    {
        if (parts.Count == 1)
        {
            return parts[0];
        }
        var result = new byte[parts.Sum(p => (long)p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        return result;
    }

    private static string FindStandard(string directory, string prefix, string what, string idx)
    {
        var candidates = new[]
        {
            $"{prefix}-{what}-{idx}-ubyte", $"{prefix}-{what}-{idx}-ubyte.gz",
            $"{prefix}-{what}.{idx}-ubyte", $"{prefix}-{what}.{idx}-ubyte.gz",
        };
        foreach (var candidate in candidates)
        {
            var full = Path.Combine(directory, candidate);
            if (File.Exists(full))
            {
                return full;
            }
        }
        throw new DatasetException(directory, $"has no {prefix}-{what}-{idx}-ubyte[.gz] (looked for {string.Join(", ", candidates)})");
    }

    private static string LabelsBeside(string imagesPath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(imagesPath)) ?? ".";
        var fileName = Path.GetFileName(imagesPath);
        if (!fileName.Contains("images", StringComparison.Ordinal))
        {
            throw new DatasetException(imagesPath,
                "cannot find the labels file beside it: the name has no \"images\" to replace with \"labels\"");
        }
        var labelsName = fileName.Replace("images", "labels", StringComparison.Ordinal)
            .Replace("idx3", "idx1", StringComparison.Ordinal);
        var labelsPath = Path.Combine(directory, labelsName);
        if (!File.Exists(labelsPath))
        {
            // The beside file may differ only by compression.
            var alternative = labelsPath.EndsWith(".gz", StringComparison.Ordinal) ? labelsPath[..^3] : labelsPath + ".gz";
            if (File.Exists(alternative))
            {
                return alternative;
            }
            throw new DatasetException(imagesPath, $"its labels file {labelsPath} does not exist");
        }
        return labelsPath;
    }

    /// <summary>Reads and validates an IDX images file (magic 0x00000803).</summary>
    internal static (byte[] Pixels, int Count, int Height, int Width) ReadImages(string path)
    {
        var data = DataFiles.ReadMaybeGzip(path);
        if (data.Length >= 4 && DataFiles.BigEndianInt32(data, 0) is var magic && magic != ImagesMagic)
        {
            throw new DatasetException(path, MagicProblem(magic, ImagesMagic, "images"));
        }
        if (data.Length < 16)
        {
            throw new DatasetException(path, $"truncated: {data.Length} bytes, shorter than the 16-byte IDX images header");
        }
        int count = DataFiles.BigEndianInt32(data, 4), h = DataFiles.BigEndianInt32(data, 8), w = DataFiles.BigEndianInt32(data, 12);
        if (count <= 0 || h <= 0 || w <= 0 || h > 65536 || w > 65536)
        {
            throw new DatasetException(path, $"invalid sizes in the header: count={count}, rows={h}, columns={w}");
        }
        var expected = 16 + (long)count * h * w;
        if (data.Length != expected)
        {
            throw new DatasetException(path, data.Length < expected
                ? $"truncated: {data.Length} bytes, but {count} images of {h}x{w} need {expected}"
                : $"{data.Length - expected} bytes after the {expected} that {count} images of {h}x{w} take");
        }
        return (data.AsSpan(16).ToArray(), count, h, w);
    }

    /// <summary>Reads and validates an IDX labels file (magic 0x00000801).</summary>
    internal static byte[] ReadLabels(string path)
    {
        var data = DataFiles.ReadMaybeGzip(path);
        if (data.Length >= 4 && DataFiles.BigEndianInt32(data, 0) is var magic && magic != LabelsMagic)
        {
            throw new DatasetException(path, MagicProblem(magic, LabelsMagic, "labels"));
        }
        if (data.Length < 8)
        {
            throw new DatasetException(path, $"truncated: {data.Length} bytes, shorter than the 8-byte IDX labels header");
        }
        var count = DataFiles.BigEndianInt32(data, 4);
        if (count <= 0)
        {
            throw new DatasetException(path, $"invalid label count {count} in the header");
        }
        var expected = 8 + (long)count;
        if (data.Length != expected)
        {
            throw new DatasetException(path, data.Length < expected
                ? $"truncated: {data.Length} bytes, but {count} labels need {expected}"
                : $"{data.Length - expected} bytes after the {expected} that {count} labels take");
        }
        for (var i = 8; i < data.Length; i++)
        {
            if (data[i] > 9)
            {
                throw new DatasetException(path, $"label {i - 8} is {data[i]}, outside 0..9");
            }
        }
        return data.AsSpan(8).ToArray();
    }

    private static string MagicProblem(int magic, int expected, string what)
    {
        var hint = magic == (expected == ImagesMagic ? LabelsMagic : ImagesMagic)
            ? $" (this is an IDX {(what == "images" ? "labels" : "images")} file)"
            : "";
        return $"not an IDX {what} file: magic is 0x{magic:X8}, expected 0x{expected:X8}{hint}";
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
    public int ClassCount { get; }

    /// <inheritdoc/>
    public void ReadImage(int index, Span<float> destination)
    {
        DataFiles.CheckDestination(this, index, destination);
        var size = Height * Width;
        var source = _pixels.AsSpan(index * size, size);
        for (var i = 0; i < size; i++)
        {
            destination[i] = source[i] / 127.5f - 1f;
        }
    }

    /// <inheritdoc/>
    public int Label(int index) => _labels[index];
}
