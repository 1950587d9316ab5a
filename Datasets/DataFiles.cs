using System.Buffers.Binary;
using System.IO.Compression;

namespace GanEngine.Datasets;

/// <summary>File helpers shared by the readers: whole-file reads with clear errors, gzip by content.</summary>
internal static class DataFiles
{
    /// <summary>Reads a whole file; I/O problems become a <see cref="DatasetException"/> naming it.</summary>
    public static byte[] ReadAll(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new DatasetException(path, $"cannot be read ({e.Message})", e);
        }
    }

    /// <summary>True when the bytes start with the gzip magic 1F 8B.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> data) => data.Length >= 2 && data[0] == 0x1F && data[1] == 0x8B;

    /// <summary>
    /// Reads a whole file and, if its content starts with the gzip magic (whatever its name), decompresses it.
    /// </summary>
    public static byte[] ReadMaybeGzip(string path)
    {
        var raw = ReadAll(path);
        if (!IsGzip(raw))
        {
            return raw;
        }
        try
        {
            using var input = new MemoryStream(raw, writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 4);
            gzip.CopyTo(output);
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DatasetException(path, $"is gzip-compressed but the compressed data is corrupt or truncated ({e.Message})", e);
        }
    }

    /// <summary>Big-endian int32 at <paramref name="offset"/>.</summary>
    public static int BigEndianInt32(ReadOnlySpan<byte> data, int offset) =>
        BinaryPrimitives.ReadInt32BigEndian(data[offset..]);

    /// <summary>Little-endian int32 at <paramref name="offset"/>.</summary>
    public static int LittleEndianInt32(ReadOnlySpan<byte> data, int offset) =>
        BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);

    /// <summary>Throws unless <paramref name="destination"/> holds exactly one image of the data set.</summary>
    public static void CheckDestination(IImageDataset dataset, int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, dataset.Count);
        var size = dataset.Channels * dataset.Height * dataset.Width;
        if (destination.Length != size)
        {
            throw new ArgumentException(
                $"destination holds {destination.Length} floats; one image of {dataset.Name} is {size} " +
                $"({dataset.Channels}x{dataset.Height}x{dataset.Width})", nameof(destination));
        }
    }

    /// <summary>Text for a split in names: "train", "test" or "all".</summary>
    public static string SplitName(DatasetSplit split) => split switch
    {
        DatasetSplit.Train => "train",
        DatasetSplit.Test => "test",
        _ => "all",
    };
}
