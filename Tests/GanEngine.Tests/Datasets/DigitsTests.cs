using System.Buffers.Binary;
using GanEngine.Datasets;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

public class DigitsTests : TempFolderTest
{
    [Test]
    public void BuiltIn_has_1797_images_split_1438_359_with_all_ten_classes_in_range()
    {
        var all = DigitsDataset.BuiltIn(DatasetSplit.All);
        var train = DigitsDataset.BuiltIn(DatasetSplit.Train);
        var test = DigitsDataset.BuiltIn(DatasetSplit.Test);
        Assert.That((all.Count, train.Count, test.Count), Is.EqualTo((1797, 1438, 359)));
        Assert.That((all.Channels, all.Height, all.Width, all.ClassCount), Is.EqualTo((1, 8, 8, 10)));
        Assert.That(train.Name, Is.EqualTo("digits (train)"));
        foreach (var split in new[] { all, train, test })
        {
            var labels = Enumerable.Range(0, split.Count).Select(split.Label).ToHashSet();
            Assert.That(labels, Is.EquivalentTo(Enumerable.Range(0, 10)), split.Name);
        }
        float min = float.MaxValue, max = float.MinValue;
        var image = new float[64];
        for (var i = 0; i < all.Count; i++)
        {
            all.ReadImage(i, image);
            min = Math.Min(min, image.Min());
            max = Math.Max(max, image.Max());
        }
        Assert.That((min, max), Is.EqualTo((-1f, 1f)));
    }

    [Test]
    public void Test_split_is_every_fifth_image_from_index_4_and_train_the_rest()
    {
        var all = DigitsDataset.BuiltIn(DatasetSplit.All);
        var train = DigitsDataset.BuiltIn(DatasetSplit.Train);
        var test = DigitsDataset.BuiltIn(DatasetSplit.Test);
        foreach (var k in new[] { 0, 1, 200, 358 })
        {
            Assert.That(ReadAll(test, k), Is.EqualTo(ReadAll(all, (5 * k) + 4)));
            Assert.That(test.Label(k), Is.EqualTo(all.Label((5 * k) + 4)));
        }
        // Train image k is all image k + k / 4 (four train images per group of five).
        foreach (var k in new[] { 0, 3, 4, 1000, 1437 })
        {
            Assert.That(ReadAll(train, k), Is.EqualTo(ReadAll(all, k + (k / 4))));
        }
    }

    private static byte[] DigitsFile(int n, int h, int w, Func<int, byte> label, Func<int, byte> pixel, string magic = "DIGT")
    {
        var data = new byte[16 + n + (n * h * w)];
        System.Text.Encoding.ASCII.GetBytes(magic).CopyTo(data, 0);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), n);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(8), h);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(12), w);
        for (var i = 0; i < n; i++)
        {
            data[16 + i] = label(i);
        }
        for (var i = 0; i < n * h * w; i++)
        {
            data[16 + n + i] = pixel(i);
        }
        return data;
    }

    [Test]
    public void Reads_a_file_of_the_same_layout()
    {
        var path = Write("mini.bin", DigitsFile(7, 2, 3, i => (byte)(i % 10), i => (byte)(i % 17)));
        var all = DigitsDataset.FromFile(path);
        Assert.That((all.Count, all.Height, all.Width), Is.EqualTo((7, 2, 3)));
        Assert.That(ReadAll(all, 1), Is.EqualTo(new[] { 6, 7, 8, 9, 10, 11 }.Select(v => (v / 8f) - 1f)));
        Assert.That(DigitsDataset.FromFile(path, DatasetSplit.Test).Count, Is.EqualTo(1));
        Assert.That(DigitsDataset.FromFile(path, DatasetSplit.Train).Count, Is.EqualTo(6));
        Assert.That(DigitsDataset.FromFile(path, DatasetSplit.Test).Label(0), Is.EqualTo(4));
        Assert.That(all.Name, Does.Contain("mini.bin"));
    }

    [Test]
    public void Malformed_files_are_errors_naming_the_file()
    {
        var good = DigitsFile(3, 2, 2, i => 1, i => 5);
        var cases = new (string Name, byte[] Bytes, string Fragment)[]
        {
            ("magic.bin", DigitsFile(3, 2, 2, i => 1, i => 5, "DIGX"), "magic"),
            ("short.bin", good[..10], "truncated"),
            ("cut.bin", good[..^1], "truncated"),
            ("long.bin", [.. good, 0], "bytes after"),
            ("label.bin", DigitsFile(3, 2, 2, i => (byte)(i == 2 ? 10 : 1), i => 5), "label of image 2 is 10"),
            ("pixel.bin", DigitsFile(3, 2, 2, i => 1, i => (byte)(i == 9 ? 17 : 0)), "image 2 is 17"),
            ("sizes.bin", DigitsFile(0, 2, 2, i => 1, i => 5), "N=0"),
        };
        foreach (var (name, bytes, fragment) in cases)
        {
            var path = Write(name, bytes);
            AssertDatasetError(() => DigitsDataset.FromFile(path), path, fragment);
        }
        AssertDatasetError(() => DigitsDataset.FromFile(Path.Combine(Dir, "missing.bin")), "missing.bin", "does not exist");
    }
}
