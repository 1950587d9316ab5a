using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace GanEngine.Tests.Datasets;

/// <summary>
/// The tests' own PNG writer, independent of the library's encoder: chunks with a bit-by-bit CRC, sample
/// packing at any bit depth, the five filters and Adam7, written from the specification.
/// </summary>
internal static class RawPng
{
    public static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    public static uint Crc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
            }
        }
        return ~crc;
    }

    public static byte[] Chunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    public static byte[] File(params byte[][] chunks) => [.. Signature, .. chunks.SelectMany(c => c)];

    public static byte[] Ihdr(int width, int height, int bitDepth, int colorType, bool interlace)
    {
        var data = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(data, width);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), height);
        data[8] = (byte)bitDepth;
        data[9] = (byte)colorType;
        data[12] = interlace ? (byte)1 : (byte)0;
        return Chunk("IHDR", data);
    }

    public static byte[] Iend() => Chunk("IEND", []);

    public static byte[] Zlib(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(data);
        }
        return output.ToArray();
    }

    /// <summary>
    /// The filtered scanlines of an image given as samples (HWC, <paramref name="samplesPerPixel"/> per pixel), packed at
    /// <paramref name="bitDepth"/>; row r of each pass uses filter <paramref name="filterOfRow"/>(r).
    /// </summary>
    public static byte[] Scanlines(int[] samples, int width, int height, int samplesPerPixel, int bitDepth, bool interlace,
        Func<int, int> filterOfRow)
    {
        (int X0, int Y0, int Dx, int Dy)[] passes = interlace
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)];
        var bitsPerPixel = samplesPerPixel * bitDepth;
        var bpp = Math.Max(1, bitsPerPixel / 8);
        var output = new List<byte>();
        foreach (var (x0, y0, dx, dy) in passes)
        {
            var xs = Enumerable.Range(0, width).Where(x => x >= x0 && (x - x0) % dx == 0).ToArray();
            var ys = Enumerable.Range(0, height).Where(y => y >= y0 && (y - y0) % dy == 0).ToArray();
            if (xs.Length == 0 || ys.Length == 0)
            {
                continue;
            }
            var rowBytes = ((xs.Length * bitsPerPixel) + 7) / 8;
            var prior = new byte[rowBytes];
            for (var r = 0; r < ys.Length; r++)
            {
                // Pack the row: sample s of the row at bit s * bitDepth, most significant bits first.
                var row = new byte[rowBytes];
                var bit = 0;
                foreach (var x in xs)
                {
                    for (var s = 0; s < samplesPerPixel; s++)
                    {
                        var v = samples[(((ys[r] * width) + x) * samplesPerPixel) + s];
                        if (bitDepth == 16)
                        {
                            row[bit / 8] = (byte)(v >> 8);
                            row[(bit / 8) + 1] = (byte)v;
                        }
                        else
                        {
                            row[bit / 8] |= (byte)(v << (8 - bitDepth - (bit % 8)));
                        }
                        bit += bitDepth;
                    }
                }
                var filter = filterOfRow(r);
                output.Add((byte)filter);
                for (var i = 0; i < rowBytes; i++)
                {
                    int left = i >= bpp ? row[i - bpp] : 0, up = prior[i], upLeft = i >= bpp ? prior[i - bpp] : 0;
                    var predictor = filter switch
                    {
                        0 => 0,
                        1 => left,
                        2 => up,
                        3 => (left + up) / 2,
                        _ => PaethOf(left, up, upLeft),
                    };
                    output.Add((byte)(row[i] - predictor));
                }
                prior = row;
            }
        }
        return output.ToArray();
    }

    private static int PaethOf(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>A whole PNG of one IDAT chunk (or <paramref name="idatParts"/> chunks) plus any extra chunks before IDAT.</summary>
    public static byte[] Image(int[] samples, int width, int height, int colorType, int bitDepth, bool interlace,
        Func<int, int>? filterOfRow = null, int idatParts = 1, params byte[][] beforeIdat)
    {
        var samplesPerPixel = colorType switch { 0 or 3 => 1, 4 => 2, 2 => 3, _ => 4 };
        var compressed = Zlib(Scanlines(samples, width, height, samplesPerPixel, bitDepth, interlace, filterOfRow ?? (r => r % 5)));
        var chunks = new List<byte[]> { Ihdr(width, height, bitDepth, colorType, interlace) };
        chunks.AddRange(beforeIdat);
        var partLength = (compressed.Length + idatParts - 1) / idatParts;
        for (var p = 0; p < idatParts; p++)
        {
            var start = Math.Min(compressed.Length, p * partLength);
            var end = Math.Min(compressed.Length, start + partLength);
            chunks.Add(Chunk("IDAT", compressed[start..end]));
        }
        chunks.Add(Iend());
        return File([.. chunks]);
    }
}
