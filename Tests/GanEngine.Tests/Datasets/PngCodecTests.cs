using System.Buffers.Binary;
using System.IO.Compression;
using GanEngine.Datasets;
using GanEngine.Datasets.Png;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

/// <summary>The PNG codec: encoder/decoder round trips, the decoder on PNGs the test writes itself, errors.</summary>
public class PngCodecTests : TempFolderTest
{
    private static PngImage RandomImage(int width, int height, int channels, int bitDepth, int seed)
    {
        var random = new Random(seed);
        var image = new PngImage(width, height, channels, bitDepth);
        for (var i = 0; i < image.Samples.Length; i++)
        {
            // Half smooth (so prediction filters see structure), half noise.
            image.Samples[i] = (i / channels) % 2 == 0
                ? (ushort)random.Next(image.MaxValue + 1)
                : (ushort)((i * 37 / channels) % (image.MaxValue + 1));
        }
        return image;
    }

    private static int[] Ints(ushort[] samples) => samples.Select(s => (int)s).ToArray();

    [Test, Combinatorial]
    public void RoundTrip_every_colour_type_depth_filter_and_interlace(
        [Values(1, 2, 3, 4)] int channels,
        [Values(8, 16)] int bitDepth,
        [Values] PngFilter filter,
        [Values] bool interlace)
    {
        var image = RandomImage(13, 11, channels, bitDepth, seed: (channels * 100) + bitDepth + (int)filter);
        var bytes = PngEncoder.Encode(image, filter, interlace);
        var header = PngDecoder.ReadHeader(bytes);
        Assert.That(header, Is.EqualTo(new PngHeader(13, 11, bitDepth,
            channels switch { 1 => PngColorType.Grey, 2 => PngColorType.GreyAlpha, 3 => PngColorType.Rgb, _ => PngColorType.Rgba },
            interlace)));
        var decoded = PngDecoder.Decode(bytes);
        Assert.That((decoded.Width, decoded.Height, decoded.Channels, decoded.BitDepth), Is.EqualTo((13, 11, channels, bitDepth)));
        Assert.That(decoded.Samples, Is.EqualTo(image.Samples));
    }

    [TestCase(1, 1), TestCase(1, 9), TestCase(9, 1), TestCase(3, 2), TestCase(8, 8), TestCase(17, 5)]
    public void RoundTrip_small_and_odd_sizes_where_Adam7_passes_are_empty(int width, int height)
    {
        foreach (var interlace in new[] { false, true })
        {
            foreach (var filter in new[] { PngFilter.Paeth, PngFilter.Adaptive })
            {
                var image = RandomImage(width, height, 3, 16, seed: width + height);
                var decoded = PngDecoder.Decode(PngEncoder.Encode(image, filter, interlace));
                Assert.That(decoded.Samples, Is.EqualTo(image.Samples), $"interlace {interlace}, {filter}");
            }
        }
    }

    [Test]
    public void Encoder_splits_image_data_over_many_IDAT_chunks()
    {
        var image = RandomImage(20, 20, 4, 8, seed: 5);
        var bytes = PngEncoder.Encode(image, PngFilter.Sub, maxIdatLength: 100);
        Assert.That(Chunks(bytes).Count(c => c.Type == "IDAT"), Is.GreaterThan(5));
        Assert.That(PngDecoder.Decode(bytes).Samples, Is.EqualTo(image.Samples));
    }

    [Test]
    public void Encoder_output_follows_the_format_checked_independently()
    {
        // 3x2 grey, filter None: the test inflates the IDAT itself and checks every byte.
        var image = new PngImage(3, 2, 1, 8, [10, 20, 30, 40, 50, 60]);
        var bytes = PngEncoder.Encode(image, PngFilter.None);
        Assert.That(bytes[..8], Is.EqualTo(RawPng.Signature));
        var chunks = Chunks(bytes);
        Assert.That(chunks.Select(c => c.Type), Is.EqualTo(new[] { "IHDR", "IDAT", "IEND" }));
        foreach (var (type, data, crc) in chunks)
        {
            Assert.That(crc, Is.EqualTo(RawPng.Crc([.. System.Text.Encoding.ASCII.GetBytes(type), .. data])), type);
        }
        Assert.That(chunks[0].Data, Is.EqualTo(new byte[] { 0, 0, 0, 3, 0, 0, 0, 2, 8, 0, 0, 0, 0 }));
        using var zlib = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        zlib.CopyTo(raw);
        Assert.That(raw.ToArray(), Is.EqualTo(new byte[] { 0, 10, 20, 30, 0, 40, 50, 60 }));
    }

    private static List<(string Type, byte[] Data, uint Crc)> Chunks(byte[] png)
    {
        var list = new List<(string, byte[], uint)>();
        for (var p = 8; p < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(p));
            var type = System.Text.Encoding.ASCII.GetString(png, p + 4, 4);
            list.Add((type, png[(p + 8)..(p + 8 + length)], BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(p + 8 + length))));
            p += 12 + length;
        }
        return list;
    }

    [Test]
    public void Encoder_rejects_unsupported_depths_and_out_of_range_samples()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(new PngImage(2, 2, 1, 4)));
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(new PngImage(1, 1, 1, 8, [256])));
    }

    // ---- Decoder on PNGs written by the test's own writer ----

    private static int[] Pattern(int count, int max, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(max + 1)).ToArray();
    }

    [Test, Combinatorial]
    public void Decodes_grey_at_every_bit_depth_with_all_filters([Values(1, 2, 4, 8, 16)] int bitDepth, [Values] bool interlace)
    {
        const int w = 11, h = 10;
        var samples = Pattern(w * h, (1 << bitDepth) - 1, bitDepth);
        var image = PngDecoder.Decode(RawPng.Image(samples, w, h, colorType: 0, bitDepth, interlace));
        Assert.That((image.Channels, image.BitDepth), Is.EqualTo((1, bitDepth)));
        Assert.That(Ints(image.Samples), Is.EqualTo(samples));
    }

    [Test, Combinatorial]
    public void Decodes_colour_types_with_all_filters([Values(2, 4, 6)] int colorType, [Values(8, 16)] int bitDepth, [Values] bool interlace)
    {
        const int w = 9, h = 12;
        var channels = colorType switch { 2 => 3, 4 => 2, _ => 4 };
        var samples = Pattern(w * h * channels, (1 << bitDepth) - 1, colorType + bitDepth);
        var image = PngDecoder.Decode(RawPng.Image(samples, w, h, colorType, bitDepth, interlace));
        Assert.That((image.Channels, image.BitDepth), Is.EqualTo((channels, bitDepth)));
        Assert.That(Ints(image.Samples), Is.EqualTo(samples));
    }

    [Test, Combinatorial]
    public void Decodes_palettes_with_and_without_tRNS([Values(1, 2, 4, 8)] int bitDepth, [Values] bool transparency, [Values] bool interlace)
    {
        const int w = 10, h = 7;
        var entries = Math.Min(1 << bitDepth, 20);
        var palette = Enumerable.Range(0, entries * 3).Select(i => (byte)((i * 53) + 7)).ToArray();
        // Alpha for fewer entries than the palette has: the rest are opaque.
        var alpha = Enumerable.Range(0, Math.Max(1, entries - 1)).Select(i => (byte)(i * 40)).ToArray();
        var indices = Pattern(w * h, entries - 1, bitDepth);
        var extra = new List<byte[]> { RawPng.Chunk("PLTE", palette) };
        if (transparency)
        {
            extra.Add(RawPng.Chunk("tRNS", alpha));
        }
        var image = PngDecoder.Decode(RawPng.Image(indices, w, h, colorType: 3, bitDepth, interlace, beforeIdat: [.. extra]));
        var channels = transparency ? 4 : 3;
        Assert.That((image.Channels, image.BitDepth), Is.EqualTo((channels, 8)));
        for (var p = 0; p < w * h; p++)
        {
            var e = indices[p];
            var expected = new List<int> { palette[e * 3], palette[(e * 3) + 1], palette[(e * 3) + 2] };
            if (transparency)
            {
                expected.Add(e < alpha.Length ? alpha[e] : 255);
            }
            Assert.That(image.Samples.Skip(p * channels).Take(channels).Select(s => (int)s), Is.EqualTo(expected), $"pixel {p}, index {e}");
        }
    }

    [Test]
    public void Colour_key_tRNS_of_grey_and_RGB_becomes_alpha()
    {
        int[] grey = [0, 3, 2, 3];
        var image = PngDecoder.Decode(RawPng.Image(grey, 2, 2, 0, 2, false, beforeIdat: [RawPng.Chunk("tRNS", [0, 3])]));
        Assert.That(image.Channels, Is.EqualTo(2));
        Assert.That(Ints(image.Samples), Is.EqualTo(new[] { 0, 3, 3, 0, 2, 3, 3, 0 }));

        int[] rgb = [1000, 2000, 3000, 1000, 2000, 3001];
        var colour = PngDecoder.Decode(RawPng.Image(rgb, 2, 1, 2, 16, false,
            beforeIdat: [RawPng.Chunk("tRNS", [0x03, 0xE8, 0x07, 0xD0, 0x0B, 0xB8])]));
        Assert.That(Ints(colour.Samples), Is.EqualTo(new[] { 1000, 2000, 3000, 0, 1000, 2000, 3001, 65535 }));
    }

    [Test]
    public void Decodes_image_data_split_over_IDAT_chunks_and_skips_ancillary_chunks()
    {
        const int w = 16, h = 16;
        var samples = Pattern(w * h * 3, 255, 9);
        var text = RawPng.Chunk("tEXt", "Comment\0made by the test"u8.ToArray());
        var image = PngDecoder.Decode(RawPng.Image(samples, w, h, 2, 8, true, idatParts: 7, beforeIdat: [text]));
        Assert.That(Ints(image.Samples), Is.EqualTo(samples));
    }

    [Test]
    public void ToFloat_scales_to_minus_one_one_in_CHW()
    {
        var image = new PngImage(2, 1, 2, 8, [0, 255, 255, 51]);
        var all = new float[4];
        image.ToFloat(all);
        Assert.That(all, Is.EqualTo(new[] { -1f, 1f, 1f, -0.6f }).Within(1e-6f));
        var grey = new float[2];
        image.ToFloat(grey, 1);
        Assert.That(grey, Is.EqualTo(new[] { -1f, 1f }));
        var sixteen = new PngImage(1, 1, 1, 16, [65535]);
        var one = new float[1];
        sixteen.ToFloat(one);
        Assert.That(one[0], Is.EqualTo(1f));
    }

    // ---- Errors ----

    private byte[] SmallPng() => RawPng.Image(Pattern(8 * 8, 255, 1), 8, 8, 0, 8, false);

    [Test]
    public void CRC_mismatch_names_the_chunk_and_the_file()
    {
        var bytes = SmallPng();
        var idat = Chunks(bytes).FindIndex(c => c.Type == "IDAT");
        var offset = 8 + Chunks(bytes).Take(idat).Sum(c => 12 + c.Data.Length);
        bytes[offset + 10] ^= 0x40; // a byte of the IDAT data
        var path = Write("crc.png", bytes);
        AssertDatasetError(() => PngDecoder.ReadFile(path), path, "CRC", "IDAT");

        var header = SmallPng();
        header[20] ^= 1; // IHDR width
        var headerPath = Write("crc-ihdr.png", header);
        AssertDatasetError(() => PngDecoder.ReadFile(headerPath), headerPath, "CRC", "IHDR");
        AssertDatasetError(() => PngDecoder.ReadHeader(headerPath), headerPath, "CRC", "IHDR");
    }

    [Test]
    public void Truncation_anywhere_is_a_clear_error()
    {
        var bytes = SmallPng();
        foreach (var length in new[] { 0, 5, 8, 12, 20, 33, 40, bytes.Length / 2, bytes.Length - 13, bytes.Length - 1 })
        {
            var path = Write($"cut-{length}.png", bytes[..length]);
            var e = AssertDatasetError(() => PngDecoder.ReadFile(path), path);
            Assert.That(e.Message, Does.Contain("truncated").Or.Contain("signature"), $"{length} bytes: {e.Message}");
        }
    }

    [Test]
    public void Short_image_data_is_an_error()
    {
        // Valid chunks, but the zlib stream holds one row fewer than the image needs.
        var scanlines = RawPng.Scanlines(Pattern(4 * 4, 255, 2), 4, 4, 1, 8, false, _ => 0);
        var bytes = RawPng.File(RawPng.Ihdr(4, 4, 8, 0, false), RawPng.Chunk("IDAT", RawPng.Zlib(scanlines[..^5])), RawPng.Iend());
        var path = Write("short.png", bytes);
        AssertDatasetError(() => PngDecoder.ReadFile(path), path, "IDAT");
    }

    [Test]
    public void Malformed_files_are_errors_naming_the_problem()
    {
        var ok = Pattern(4, 255, 3);
        var cases = new (string Name, byte[] Bytes, string Fragment)[]
        {
            ("signature.png", [.. "GIF89a.."u8.ToArray(), .. SmallPng()[8..]], "signature"),
            ("depth.png", RawPng.File(RawPng.Ihdr(2, 2, 4, 2, false), RawPng.Chunk("IDAT", RawPng.Zlib(new byte[6])), RawPng.Iend()), "bit depth 4"),
            ("colortype.png", RawPng.File(RawPng.Ihdr(2, 2, 8, 5, false), RawPng.Iend()), "colour type 5"),
            ("noplte.png", RawPng.Image(ok, 2, 2, 3, 8, false), "PLTE"),
            ("index.png", RawPng.Image([0, 1, 2, 3], 2, 2, 3, 8, false, beforeIdat: [RawPng.Chunk("PLTE", new byte[6])]), "palette index 2"),
            ("filter.png", RawPng.File(RawPng.Ihdr(2, 2, 8, 0, false), RawPng.Chunk("IDAT", RawPng.Zlib([0, 1, 2, 7, 3, 4])), RawPng.Iend()), "filter type 7"),
            ("critical.png", RawPng.Image(ok, 2, 2, 0, 8, false, beforeIdat: [RawPng.Chunk("ABCD", [1])]), "critical chunk ABCD"),
            ("noidat.png", RawPng.File(RawPng.Ihdr(2, 2, 8, 0, false), RawPng.Iend()), "IDAT"),
            ("first.png", RawPng.File(RawPng.Chunk("tEXt", [65, 0, 66]), RawPng.Ihdr(2, 2, 8, 0, false), RawPng.Iend()), "IHDR"),
            ("zlib.png", RawPng.File(RawPng.Ihdr(2, 2, 8, 0, false), RawPng.Chunk("IDAT", [0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0x00]), RawPng.Iend()), "zlib"),
            ("size.png", RawPng.File(RawPng.Ihdr(0, 2, 8, 0, false), RawPng.Iend()), "size"),
            ("huge.png", RawPng.File(RawPng.Ihdr(100_000, 100_000, 8, 0, false), RawPng.Chunk("IDAT", RawPng.Zlib([0, 0])), RawPng.Iend()), "larger than"),
        };
        foreach (var (name, bytes, fragment) in cases)
        {
            var path = Write(name, bytes);
            var e = Assert.Throws<DatasetException>(() => PngDecoder.ReadFile(path), name)!;
            Assert.That(e.Message, Does.Contain(path).And.Contain(fragment).IgnoreCase, name);
        }
    }
}
