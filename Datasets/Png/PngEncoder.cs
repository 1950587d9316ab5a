using System.Buffers.Binary;
using System.IO.Compression;

namespace GanEngine.Datasets.Png;

/// <summary>
/// Encodes <see cref="PngImage"/>s as PNG: grey, grey + alpha, RGB or RGBA (1..4 channels) at bit depth
/// 8 or 16, with a chosen row filter (or adaptive per row) and optionally Adam7 interlacing, the zlib
/// stream split into IDAT chunks of at most a given size.
/// </summary>
public static class PngEncoder
{
    /// <summary>Encodes <paramref name="image"/> to PNG bytes.</summary>
    /// <param name="image">Channels 1..4, bit depth 8 or 16.</param>
    /// <param name="filter">The row filter, or <see cref="PngFilter.Adaptive"/> for the minimum-sum-of-absolute-differences choice per row.</param>
    /// <param name="interlace">Adam7 interlacing.</param>
    /// <param name="maxIdatLength">Largest IDAT chunk data; smaller values split the image data over more chunks.</param>
    /// <param name="compression">zlib compression level.</param>
    public static byte[] Encode(PngImage image, PngFilter filter = PngFilter.Adaptive, bool interlace = false,
        int maxIdatLength = 1 << 16, CompressionLevel compression = CompressionLevel.Optimal)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIdatLength, 1);
        if (image.BitDepth is not (8 or 16))
        {
            throw new ArgumentException($"the encoder writes bit depth 8 or 16, not {image.BitDepth}", nameof(image));
        }
        if (!Enum.IsDefined(filter))
        {
            throw new ArgumentOutOfRangeException(nameof(filter), filter, "unknown filter");
        }
        var max = image.MaxValue;
        foreach (var s in image.Samples)
        {
            if (s > max)
            {
                throw new ArgumentException($"sample value {s} exceeds {max}, the largest at bit depth {image.BitDepth}", nameof(image));
            }
        }
        var colorType = image.Channels switch
        {
            1 => PngColorType.Grey,
            2 => PngColorType.GreyAlpha,
            3 => PngColorType.Rgb,
            _ => PngColorType.Rgba,
        };

        using var zlibData = new MemoryStream();
        using (var zlib = new ZLibStream(zlibData, compression, leaveOpen: true))
        {
            WriteImageData(zlib, image, filter, interlace);
        }

        using var output = new MemoryStream((int)zlibData.Length + 128);
        output.Write(PngFormat.Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = (byte)image.BitDepth;
        ihdr[9] = (byte)colorType;
        ihdr[10] = 0;
        ihdr[11] = 0;
        ihdr[12] = interlace ? (byte)1 : (byte)0;
        WriteChunk(output, "IHDR"u8, ihdr);
        var compressed = zlibData.GetBuffer().AsSpan(0, (int)zlibData.Length);
        for (var start = 0; start < compressed.Length; start += maxIdatLength)
        {
            WriteChunk(output, "IDAT"u8, compressed.Slice(start, Math.Min(maxIdatLength, compressed.Length - start)));
        }
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    /// <summary>Encodes <paramref name="image"/> and writes it to <paramref name="path"/>.</summary>
    public static void WriteFile(string path, PngImage image, PngFilter filter = PngFilter.Adaptive, bool interlace = false) =>
        File.WriteAllBytes(path, Encode(image, filter, interlace));

    /// <summary>Writes one chunk: length, type, data, CRC of type and data.</summary>
    internal static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        var crc = PngCrc.Update(PngCrc.Update(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }

    private static void WriteImageData(Stream zlib, PngImage image, PngFilter filter, bool interlace)
    {
        var bytesPerSample = image.BitDepth / 8;
        var bpp = image.Channels * bytesPerSample;
        var maxRow = image.Width * bpp;
        var prior = new byte[maxRow];
        var row = new byte[maxRow];
        var candidates = new byte[5][];
        for (var f = 0; f < 5; f++)
        {
            candidates[f] = new byte[1 + maxRow];
        }
        foreach (var (x0, y0, dx, dy) in PngFormat.Passes(interlace))
        {
            int pw = PngFormat.PassSize(image.Width, x0, dx), ph = PngFormat.PassSize(image.Height, y0, dy);
            if (pw == 0 || ph == 0)
            {
                continue;
            }
            var n = pw * bpp;
            Array.Clear(prior, 0, n);
            for (var r = 0; r < ph; r++)
            {
                var y = y0 + (r * dy);
                // Serialise the pass's row: samples big-endian.
                for (var i = 0; i < pw; i++)
                {
                    var source = ((y * image.Width) + x0 + (i * dx)) * image.Channels;
                    var target = i * bpp;
                    for (var c = 0; c < image.Channels; c++)
                    {
                        var v = image.Samples[source + c];
                        if (bytesPerSample == 1)
                        {
                            row[target + c] = (byte)v;
                        }
                        else
                        {
                            row[target + (2 * c)] = (byte)(v >> 8);
                            row[target + (2 * c) + 1] = (byte)v;
                        }
                    }
                }
                var current = row.AsSpan(0, n);
                var above = prior.AsSpan(0, n);
                byte[] chosen;
                if (filter == PngFilter.Adaptive)
                {
                    chosen = candidates[0];
                    var best = long.MaxValue;
                    for (var f = 0; f < 5; f++)
                    {
                        var cost = Filter(f, current, above, bpp, candidates[f].AsSpan(0, 1 + n));
                        if (cost < best)
                        {
                            best = cost;
                            chosen = candidates[f];
                        }
                    }
                }
                else
                {
                    chosen = candidates[(int)filter];
                    Filter((int)filter, current, above, bpp, chosen.AsSpan(0, 1 + n));
                }
                zlib.Write(chosen, 0, 1 + n);
                current.CopyTo(above);
            }
        }
    }

    /// <summary>
    /// Writes the filter byte and the filtered row into <paramref name="output"/>; returns the sum of the
    /// filtered bytes' absolute values taken as signed bytes (the adaptive heuristic of the PNG specification).
    /// </summary>
    private static long Filter(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int bpp, Span<byte> output)
    {
        output[0] = (byte)type;
        long cost = 0;
        for (var i = 0; i < row.Length; i++)
        {
            var predicted = type == 0 ? 0 : PngFormat.Predict(type, row, prior, i, bpp);
            var value = (byte)(row[i] - predicted);
            output[1 + i] = value;
            cost += Math.Abs((int)(sbyte)value);
        }
        return cost;
    }
}
