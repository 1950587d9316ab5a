using System.Buffers.Binary;
using System.IO.Compression;
using GanEngine.Datasets;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

/// <summary>A fresh temporary folder per test, deleted afterwards.</summary>
public abstract class TempFolderTest
{
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void CreateFolder()
    {
        Dir = Path.Combine(Path.GetTempPath(), "ganengine-datasets-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    [TearDown]
    public void DeleteFolder()
    {
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    /// <summary>Writes bytes to a file under the folder (creating subfolders) and returns its path.</summary>
    protected string Write(string relative, byte[] bytes)
    {
        var path = Path.Combine(Dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Asserts that <paramref name="action"/> throws a DatasetException whose message names <paramref name="file"/> and contains every fragment.</summary>
    protected static DatasetException AssertDatasetError(TestDelegate action, string file, params string[] fragments)
    {
        var e = Assert.Throws<DatasetException>(action)!;
        Assert.That(e.Message, Does.Contain(file), "the message names the file");
        foreach (var fragment in fragments)
        {
            Assert.That(e.Message, Does.Contain(fragment).IgnoreCase);
        }
        return e;
    }

    protected static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    /// <summary>An IDX images file: magic 0x00000803, count, rows, columns, pixels.</summary>
    protected static byte[] IdxImages(int count, int rows, int columns, Func<int, int, byte> pixel, int magic = 0x00000803)
    {
        var data = new byte[16 + (count * rows * columns)];
        BinaryPrimitives.WriteInt32BigEndian(data, magic);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(12), columns);
        for (var n = 0; n < count; n++)
        {
            for (var p = 0; p < rows * columns; p++)
            {
                data[16 + (n * rows * columns) + p] = pixel(n, p);
            }
        }
        return data;
    }

    /// <summary>An IDX labels file: magic 0x00000801, count, labels.</summary>
    protected static byte[] IdxLabels(params byte[] labels)
    {
        var data = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), labels.Length);
        labels.CopyTo(data, 8);
        return data;
    }

    protected static float[] ReadAll(IImageDataset dataset, int index)
    {
        var image = new float[dataset.Channels * dataset.Height * dataset.Width];
        dataset.ReadImage(index, image);
        return image;
    }
}

/// <summary>An in-memory data set for the loader and resize tests: image i holds i and its pixel index; label i % classes.</summary>
internal sealed class SyntheticDataset(int count, int channels = 1, int height = 2, int width = 2, int classes = 0) : IImageDataset
{
    private int _reads;

    public string Name => "synthetic";

    public int Count => count;

    public int Channels => channels;

    public int Height => height;

    public int Width => width;

    public int ClassCount => classes;

    /// <summary>When set, reading this image throws.</summary>
    public int FailAt { get; set; } = -1;

    /// <summary>Explicit pixel values (CHW per image) instead of the index pattern.</summary>
    public float[][]? Images { get; set; }

    public int Reads => Volatile.Read(ref _reads);

    public void ReadImage(int index, Span<float> destination)
    {
        Interlocked.Increment(ref _reads);
        if (index == FailAt)
        {
            throw new DatasetException("synthetic/broken.png", $"image {index} cannot be read");
        }
        if (Images != null)
        {
            Images[index].CopyTo(destination);
            return;
        }
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = index + (i / 1000f);
        }
    }

    /// <summary>Unlabeled data sets still report the index here, so tests can follow the order.</summary>
    public int Label(int index) => index;
}
