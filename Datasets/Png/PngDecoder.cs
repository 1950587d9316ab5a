using System.Buffers.Binary;
using System.IO.Compression;

namespace GanEngine.Datasets.Png;

/// <summary>
/// Decodes PNG files (ISO/IEC 15948, W3C PNG second edition): colour types grey, RGB, palette, grey + alpha
/// and RGBA at every bit depth the format allows, the five filter types, Adam7 interlacing, image data
/// split over any number of IDAT chunks, and tRNS transparency (palette alpha, grey and RGB colour keys).
/// Every chunk's CRC is checked. Problems throw a <see cref="DatasetException"/> naming the file and what is
/// wrong. Ancillary chunks other than tRNS are skipped (after their CRC check); unknown critical chunks are errors.
/// </summary>
public static class PngDecoder
{
    /// <summary>The largest image accepted (2^28 pixels, 16384 x 16384): a corrupt or hostile IHDR cannot make the decoder allocate more.</summary>
    public const long MaxPixels = 1L << 28;

    private const int HeaderBytes = 8 + 12 + 13;

    /// <summary>Reads and decodes a PNG file.</summary>
    public static PngImage ReadFile(string path) => Decode(DataFiles.ReadAll(path), path);

    /// <summary>Reads only the signature and IHDR chunk of a PNG file.</summary>
    public static PngHeader ReadHeader(string path)
    {
        var buffer = new byte[HeaderBytes];
        int read;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            read = stream.ReadAtLeast(buffer, HeaderBytes, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, $"cannot be read ({e.Message})", e);
        }
        return ReadHeader(buffer.AsSpan(0, read), path);
    }

    /// <summary>Parses the signature and IHDR chunk at the start of <paramref name="data"/>.</summary>
    public static PngHeader ReadHeader(ReadOnlySpan<byte> data, string name = "PNG data")
    {
        CheckSignature(data, name);
        if (data.Length < HeaderBytes)
        {
            throw new DatasetException(name, $"truncated: {data.Length} bytes end inside the IHDR chunk");
        }
        var chunk = ReadChunk(data, 8, name);
        if (chunk.Type != "IHDR")
        {
            throw new DatasetException(name, $"the first chunk is {chunk.Type}, expected IHDR");
        }
        return ParseHeader(data.Slice(chunk.DataOffset, chunk.Length), name);
    }

    /// <summary>Decodes a whole PNG held in memory; <paramref name="name"/> names it in errors.</summary>
    public static PngImage Decode(ReadOnlySpan<byte> data, string name = "PNG data")
    {
        CheckSignature(data, name);
        PngHeader? header = null;
        byte[]? palette = null;
        byte[]? paletteAlpha = null;
        ushort[]? colorKey = null;
        using var compressed = new MemoryStream();
        var sawIdat = false;
        var position = 8;
        var index = 0;
        while (true)
        {
            var chunk = ReadChunk(data, position, name);
            var body = data.Slice(chunk.DataOffset, chunk.Length);
            if (index == 0 && chunk.Type != "IHDR")
            {
                throw new DatasetException(name, $"the first chunk is {chunk.Type}, expected IHDR");
            }
            switch (chunk.Type)
            {
                case "IHDR":
                    if (index != 0)
                    {
                        throw new DatasetException(name, $"a second IHDR chunk at offset {position}");
                    }
                    header = ParseHeader(body, name);
                    break;
                case "PLTE":
                    if (sawIdat)
                    {
                        throw new DatasetException(name, "the PLTE chunk comes after IDAT");
                    }
                    if (body.Length == 0 || body.Length % 3 != 0 || body.Length > 3 * 256)
                    {
                        throw new DatasetException(name, $"the PLTE chunk has {body.Length} bytes, not 3 per entry for 1..256 entries");
                    }
                    palette = body.ToArray();
                    break;
                case "tRNS":
                    if (sawIdat)
                    {
                        throw new DatasetException(name, "the tRNS chunk comes after IDAT");
                    }
                    ParseTransparency(header!, body, palette, name, ref paletteAlpha, ref colorKey);
                    break;
                case "IDAT":
                    compressed.Write(body);
                    sawIdat = true;
                    break;
                case "IEND":
                    break;
                default:
                    if ((chunk.TypeBytes[0] & 0x20) == 0)
                    {
                        throw new DatasetException(name, $"unknown critical chunk {chunk.Type} at offset {position}");
                    }
                    break;
            }
            index++;
            position = chunk.DataOffset + chunk.Length + 4;
            if (chunk.Type == "IEND")
            {
                break;
            }
        }

        var h = header!;
        if (h.ColorType == PngColorType.Palette && palette == null)
        {
            throw new DatasetException(name, "a palette image without a PLTE chunk");
        }
        if (!sawIdat)
        {
            throw new DatasetException(name, "no IDAT chunk (no image data)");
        }
        var raw = Inflate(compressed, h, name);
        return Reconstruct(raw, h, palette, paletteAlpha, colorKey, name);
    }

    private static void CheckSignature(ReadOnlySpan<byte> data, string name)
    {
        var signature = PngFormat.Signature;
        if (data.Length < signature.Length)
        {
            if (data.SequenceEqual(signature[..data.Length]))
            {
                throw new DatasetException(name, $"truncated: {data.Length} bytes, shorter than the PNG signature");
            }
            throw new DatasetException(name, "not a PNG file (wrong signature)");
        }
        if (!data[..signature.Length].SequenceEqual(signature))
        {
            throw new DatasetException(name, "not a PNG file (wrong signature: the first 8 bytes are not 89 50 4E 47 0D 0A 1A 0A)");
        }
    }

    private readonly ref struct Chunk(ReadOnlySpan<byte> typeBytes, string type, int dataOffset, int length)
    {
        public ReadOnlySpan<byte> TypeBytes { get; } = typeBytes;

        public string Type { get; } = type;

        public int DataOffset { get; } = dataOffset;

        public int Length { get; } = length;
    }

    /// <summary>Reads the chunk at <paramref name="position"/>, checking its bounds, type bytes and CRC.</summary>
    private static Chunk ReadChunk(ReadOnlySpan<byte> data, int position, string name)
    {
        var remaining = data.Length - position;
        if (remaining <= 0)
        {
            throw new DatasetException(name, $"truncated: the file ends after {data.Length} bytes without an IEND chunk");
        }
        if (remaining < 8)
        {
            throw new DatasetException(name, $"truncated: the file ends inside a chunk header at offset {position}");
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(data[position..]);
        var typeBytes = data.Slice(position + 4, 4);
        foreach (var b in typeBytes)
        {
            if (b is not ((>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z')))
            {
                throw new DatasetException(name,
                    $"invalid chunk type bytes {Convert.ToHexString(typeBytes)} at offset {position} (corrupt file)");
            }
        }
        var type = string.Create(4, typeBytes.ToArray(), (span, bytes) =>
        {
            for (var i = 0; i < 4; i++)
            {
                span[i] = (char)bytes[i];
            }
        });
        if (length > int.MaxValue)
        {
            throw new DatasetException(name, $"chunk {type} at offset {position} declares an invalid length {length}");
        }
        if (length > (long)remaining - 12)
        {
            throw new DatasetException(name,
                $"truncated: chunk {type} at offset {position} declares {length} data bytes, but the file has only " +
                $"{Math.Max(0, remaining - 12)} of them and its CRC left");
        }
        var crcRegion = data.Slice(position + 4, 4 + (int)length);
        var stored = BinaryPrimitives.ReadUInt32BigEndian(data[(position + 8 + (int)length)..]);
        var computed = PngCrc.Compute(crcRegion);
        if (stored != computed)
        {
            throw new DatasetException(name,
                $"CRC mismatch in chunk {type} at offset {position}: stored 0x{stored:X8}, computed 0x{computed:X8} (corrupt file)");
        }
        return new Chunk(typeBytes, type, position + 8, (int)length);
    }

    private static PngHeader ParseHeader(ReadOnlySpan<byte> body, string name)
    {
        if (body.Length != 13)
        {
            throw new DatasetException(name, $"the IHDR chunk has {body.Length} bytes, expected 13");
        }
        var width = BinaryPrimitives.ReadUInt32BigEndian(body);
        var height = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        int bitDepth = body[8], colorType = body[9], compression = body[10], filter = body[11], interlace = body[12];
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
        {
            throw new DatasetException(name, $"invalid image size {width}x{height} in IHDR");
        }
        if (colorType is not (0 or 2 or 3 or 4 or 6))
        {
            throw new DatasetException(name, $"invalid colour type {colorType} in IHDR");
        }
        if (!PngFormat.IsAllowed((PngColorType)colorType, bitDepth))
        {
            throw new DatasetException(name, $"bit depth {bitDepth} is not allowed for colour type {colorType} ({(PngColorType)colorType})");
        }
        if (compression != 0)
        {
            throw new DatasetException(name, $"unknown compression method {compression} in IHDR");
        }
        if (filter != 0)
        {
            throw new DatasetException(name, $"unknown filter method {filter} in IHDR");
        }
        if (interlace > 1)
        {
            throw new DatasetException(name, $"unknown interlace method {interlace} in IHDR");
        }
        return new PngHeader((int)width, (int)height, bitDepth, (PngColorType)colorType, interlace == 1);
    }

    private static void ParseTransparency(PngHeader header, ReadOnlySpan<byte> body, byte[]? palette, string name,
        ref byte[]? paletteAlpha, ref ushort[]? colorKey)
    {
        switch (header.ColorType)
        {
            case PngColorType.Palette:
                if (palette == null)
                {
                    throw new DatasetException(name, "the tRNS chunk comes before PLTE");
                }
                if (body.Length > palette.Length / 3)
                {
                    throw new DatasetException(name, $"the tRNS chunk has {body.Length} alpha values for a palette of {palette.Length / 3} entries");
                }
                paletteAlpha = body.ToArray();
                break;
            case PngColorType.Grey:
                if (body.Length != 2)
                {
                    throw new DatasetException(name, $"the tRNS chunk of a grey image has {body.Length} bytes, expected 2");
                }
                colorKey = [BinaryPrimitives.ReadUInt16BigEndian(body)];
                break;
            case PngColorType.Rgb:
                if (body.Length != 6)
                {
                    throw new DatasetException(name, $"the tRNS chunk of an RGB image has {body.Length} bytes, expected 6");
                }
                colorKey =
                [
                    BinaryPrimitives.ReadUInt16BigEndian(body), BinaryPrimitives.ReadUInt16BigEndian(body[2..]),
                    BinaryPrimitives.ReadUInt16BigEndian(body[4..]),
                ];
                break;
            default:
                // Images with an alpha channel must not have tRNS; like common decoders, ignore it.
                break;
        }
    }

    /// <summary>Size of the filtered image data: per pass, rows of one filter byte and the row's bytes.</summary>
    internal static long FilteredSize(PngHeader header)
    {
        long total = 0;
        foreach (var (x0, y0, dx, dy) in PngFormat.Passes(header.Interlaced))
        {
            long pw = PngFormat.PassSize(header.Width, x0, dx), ph = PngFormat.PassSize(header.Height, y0, dy);
            if (pw > 0 && ph > 0)
            {
                total += ph * (1 + PngFormat.RowBytes(pw, header.BitsPerPixel));
            }
        }
        return total;
    }

    private static byte[] Inflate(MemoryStream compressed, PngHeader header, string name)
    {
        if ((long)header.Width * header.Height > MaxPixels)
        {
            throw new DatasetException(name, $"a {header.Width}x{header.Height} image is larger than the {MaxPixels} pixels this decoder accepts");
        }
        var size = FilteredSize(header);
        if (size > Array.MaxLength)
        {
            throw new DatasetException(name, $"a {header.Width}x{header.Height} image is too large to decode");
        }
        var raw = new byte[size];
        compressed.Position = 0;
        int got;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress, leaveOpen: true);
            got = zlib.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DatasetException(name, $"the IDAT data is not a valid zlib stream ({e.Message})", e);
        }
        if (got < raw.Length)
        {
            throw new DatasetException(name,
                $"the IDAT data inflates to {got} bytes, but a {header.Width}x{header.Height} image needs {raw.Length} (truncated or corrupt)");
        }
        return raw;
    }

    private static PngImage Reconstruct(byte[] raw, PngHeader header, byte[]? palette, byte[]? paletteAlpha, ushort[]? colorKey, string name)
    {
        var isPalette = header.ColorType == PngColorType.Palette;
        var stored = header.StoredSamples;
        int channels = isPalette ? (paletteAlpha != null ? 4 : 3) : stored + (colorKey != null ? 1 : 0);
        var depth = isPalette ? 8 : header.BitDepth;
        if ((long)header.Width * header.Height * channels > Array.MaxLength)
        {
            throw new DatasetException(name, $"a {header.Width}x{header.Height} image is too large to decode");
        }
        var image = new PngImage(header.Width, header.Height, channels, depth);
        var samples = image.Samples;
        var bpp = Math.Max(1, header.BitsPerPixel / 8);
        var maxValue = (1 << depth) - 1;
        var paletteEntries = palette == null ? 0 : palette.Length / 3;
        var offset = 0;
        var pass = 0;
        foreach (var (x0, y0, dx, dy) in PngFormat.Passes(header.Interlaced))
        {
            pass++;
            int pw = PngFormat.PassSize(header.Width, x0, dx), ph = PngFormat.PassSize(header.Height, y0, dy);
            if (pw == 0 || ph == 0)
            {
                continue;
            }
            var rowBytes = (int)PngFormat.RowBytes(pw, header.BitsPerPixel);
            ReadOnlySpan<byte> prior = new byte[rowBytes];
            for (var r = 0; r < ph; r++)
            {
                int filter = raw[offset];
                var row = raw.AsSpan(offset + 1, rowBytes);
                if (filter > 4)
                {
                    var where = header.Interlaced ? $"row {r} of Adam7 pass {pass}" : $"row {r}";
                    throw new DatasetException(name, $"{where} has invalid filter type {filter}");
                }
                Unfilter(filter, row, prior, bpp);
                var y = y0 + (r * dy);
                for (var i = 0; i < pw; i++)
                {
                    var target = ((y * header.Width) + x0 + (i * dx)) * channels;
                    if (isPalette)
                    {
                        var entry = Sample(row, i, header.BitDepth);
                        if (entry >= paletteEntries)
                        {
                            throw new DatasetException(name, $"palette index {entry} at pixel ({x0 + (i * dx)}, {y}) is outside the {paletteEntries}-entry palette");
                        }
                        samples[target] = palette![entry * 3];
                        samples[target + 1] = palette[(entry * 3) + 1];
                        samples[target + 2] = palette[(entry * 3) + 2];
                        if (paletteAlpha != null)
                        {
                            samples[target + 3] = entry < paletteAlpha.Length ? paletteAlpha[entry] : (ushort)255;
                        }
                        continue;
                    }
                    var matches = colorKey != null;
                    for (var s = 0; s < stored; s++)
                    {
                        var v = (ushort)Sample(row, (i * stored) + s, header.BitDepth);
                        samples[target + s] = v;
                        matches &= colorKey != null && colorKey[s] == v;
                    }
                    if (colorKey != null)
                    {
                        samples[target + stored] = matches ? (ushort)0 : (ushort)maxValue;
                    }
                }
                prior = row;
                offset += 1 + rowBytes;
            }
        }
        return image;
    }

    /// <summary>Sample <paramref name="index"/> of a row (bit-packed most significant first below 8 bits).</summary>
    private static int Sample(ReadOnlySpan<byte> row, int index, int bitDepth)
    {
        switch (bitDepth)
        {
            case 8:
                return row[index];
            case 16:
                return (row[2 * index] << 8) | row[(2 * index) + 1];
            default:
                var bit = index * bitDepth;
                var shift = 8 - bitDepth - (bit & 7);
                return (row[bit >> 3] >> shift) & ((1 << bitDepth) - 1);
        }
    }

    /// <summary>Reverses filter <paramref name="type"/> in place, given the reconstructed previous row.</summary>
    private static void Unfilter(int type, Span<byte> row, ReadOnlySpan<byte> prior, int bpp)
    {
        var n = row.Length;
        switch (type)
        {
            case 0:
                break;
            case 1:
                for (var i = bpp; i < n; i++)
                {
                    row[i] += row[i - bpp];
                }
                break;
            case 2:
                for (var i = 0; i < n; i++)
                {
                    row[i] += prior[i];
                }
                break;
            case 3:
                for (var i = 0; i < bpp && i < n; i++)
                {
                    row[i] += (byte)(prior[i] >> 1);
                }
                for (var i = bpp; i < n; i++)
                {
                    row[i] += (byte)((row[i - bpp] + prior[i]) >> 1);
                }
                break;
            default:
                for (var i = 0; i < bpp && i < n; i++)
                {
                    row[i] += prior[i];
                }
                for (var i = bpp; i < n; i++)
                {
                    row[i] += (byte)PngFormat.Paeth(row[i - bpp], prior[i], prior[i - bpp]);
                }
                break;
        }
    }
}
