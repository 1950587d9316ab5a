namespace GanEngine.Datasets;

/// <summary>
/// CIFAR-10 and CIFAR-100 in their binary versions. CIFAR-10: <c>data_batch_1.bin</c> .. <c>data_batch_5.bin</c>
/// (train) and <c>test_batch.bin</c> (test), records of 1 label byte and 3,072 pixel bytes. CIFAR-100:
/// <c>train.bin</c> and <c>test.bin</c>, records of a coarse and a fine label byte and 3,072 pixel bytes; the
/// fine label (100 classes) is used. Pixels are 32x32, stored as the red plane, green plane, blue plane
/// (already CHW); they scale as v / 127.5 - 1.
/// </summary>
public sealed class CifarDataset : IImageDataset
{
    private const int Side = 32;
    private const int PixelBytes = 3 * Side * Side;

    private readonly byte[] _pixels;
    private readonly byte[] _labels;

    private CifarDataset(string name, byte[] pixels, byte[] labels, int classCount)
    {
        Name = name;
        _pixels = pixels;
        _labels = labels;
        ClassCount = classCount;
    }

    /// <summary>
    /// Opens <paramref name="path"/>: the directory of the batch files (or a directory containing the archive's
    /// <c>cifar-10-batches-bin</c> / <c>cifar-100-binary</c> folder), or a single batch file (the split is then
    /// not used). <paramref name="hundred"/> selects CIFAR-100.
    /// </summary>
    public static CifarDataset Open(string path, DatasetSplit split, bool hundred)
    {
        var kind = hundred ? "cifar100" : "cifar10";
        List<string> files;
        string name;
        if (Directory.Exists(path))
        {
            var directory = path;
            var nested = Path.Combine(path, hundred ? "cifar-100-binary" : "cifar-10-batches-bin");
            var marker = hundred ? "train.bin" : "data_batch_1.bin";
            if (!File.Exists(Path.Combine(directory, marker)) && Directory.Exists(nested))
            {
                directory = nested;
            }
            files = [];
            if (split is DatasetSplit.Train or DatasetSplit.All)
            {
                if (hundred)
                {
                    files.Add(Path.Combine(directory, "train.bin"));
                }
                else
                {
                    for (var i = 1; i <= 5; i++)
                    {
                        files.Add(Path.Combine(directory, $"data_batch_{i}.bin"));
                    }
                }
            }
            if (split is DatasetSplit.Test or DatasetSplit.All)
            {
                files.Add(Path.Combine(directory, hundred ? "test.bin" : "test_batch.bin"));
            }
            foreach (var file in files)
            {
                if (!File.Exists(file))
                {
                    throw new DatasetException(directory, $"has no {Path.GetFileName(file)} ({kind} binary version expected)");
                }
            }
            name = $"{kind} ({DataFiles.SplitName(split)})";
        }
        else if (File.Exists(path))
        {
            files = [path];
            name = $"{kind} ({Path.GetFileName(path)})";
        }
        else
        {
            throw new DatasetException(path, $"does not exist (expected a {kind} batch file or a directory of them)");
        }
        return FromFiles(files, hundred, name);
    }

    /// <summary>Reads batch files, concatenated in order, as one data set.</summary>
    public static CifarDataset FromFiles(IReadOnlyList<string> files, bool hundred, string name)
    {
        ArgumentOutOfRangeException.ThrowIfZero(files.Count);
        var labelBytes = hundred ? 2 : 1;
        var recordSize = labelBytes + PixelBytes;
        var classCount = hundred ? 100 : 10;
        var contents = new List<byte[]>(files.Count);
        long total = 0;
        foreach (var file in files)
        {
            var data = DataFiles.ReadAll(file);
            if (data.Length == 0 || data.Length % recordSize != 0)
            {
                throw new DatasetException(file,
                    $"is {data.Length} bytes, not a positive multiple of the {recordSize}-byte {(hundred ? "CIFAR-100" : "CIFAR-10")} " +
                    $"record ({data.Length / recordSize} whole records and {data.Length % recordSize} bytes left over: truncated or not a " +
                    $"{(hundred ? "CIFAR-100" : "CIFAR-10")} binary batch)");
            }
            var records = data.Length / recordSize;
            for (var r = 0; r < records; r++)
            {
                var label = data[(r * recordSize) + labelBytes - 1];
                if (label >= classCount)
                {
                    throw new DatasetException(file, $"label of record {r} is {label}, outside 0..{classCount - 1}");
                }
            }
            contents.Add(data);
            total += records;
        }
        if (total * PixelBytes > Array.MaxLength)
        {
            throw new DatasetException(files[0], $"{total} images are too many to hold in memory");
        }
        var pixels = new byte[total * PixelBytes];
        var labels = new byte[total];
        var n = 0;
        foreach (var data in contents)
        {
            for (var offset = 0; offset < data.Length; offset += recordSize, n++)
            {
                labels[n] = data[offset + labelBytes - 1];
                data.AsSpan(offset + labelBytes, PixelBytes).CopyTo(pixels.AsSpan(n * PixelBytes, PixelBytes));
            }
        }
        return new CifarDataset(name, pixels, labels, classCount);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <inheritdoc/>
    public int Channels => 3;

    /// <inheritdoc/>
    public int Height => Side;

    /// <inheritdoc/>
    public int Width => Side;

    /// <inheritdoc/>
    public int ClassCount { get; }

    /// <inheritdoc/>
    public void ReadImage(int index, Span<float> destination)
    {
        DataFiles.CheckDestination(this, index, destination);
        var source = _pixels.AsSpan(index * PixelBytes, PixelBytes);
        for (var i = 0; i < PixelBytes; i++)
        {
            destination[i] = source[i] / 127.5f - 1f;
        }
    }

    /// <inheritdoc/>
    public int Label(int index) => _labels[index];
}
