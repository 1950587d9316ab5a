using GanEngine.Datasets;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

public class CifarTests : TempFolderTest
{
    /// <summary>Records of label bytes then 3072 pixels; pixel p of record r is (r * 7 + p) mod 256.</summary>
    private static byte[] Batch(int records, int labelBytes, int firstLabel, int seedOffset)
    {
        var recordSize = labelBytes + 3072;
        var data = new byte[records * recordSize];
        for (var r = 0; r < records; r++)
        {
            for (var l = 0; l < labelBytes; l++)
            {
                data[(r * recordSize) + l] = (byte)(firstLabel + r + (l * 50));
            }
            for (var p = 0; p < 3072; p++)
            {
                data[(r * recordSize) + labelBytes + p] = (byte)(((r + seedOffset) * 7) + p);
            }
        }
        return data;
    }

    [Test]
    public void Cifar10_directory_reads_the_five_train_batches_and_the_test_batch()
    {
        for (var b = 1; b <= 5; b++)
        {
            Write($"data_batch_{b}.bin", Batch(2, 1, b, b * 10));
        }
        Write("test_batch.bin", Batch(3, 1, 0, 100));
        var train = CifarDataset.Open(Dir, DatasetSplit.Train, hundred: false);
        var test = CifarDataset.Open(Dir, DatasetSplit.Test, hundred: false);
        var all = CifarDataset.Open(Dir, DatasetSplit.All, hundred: false);
        Assert.That((train.Count, test.Count, all.Count), Is.EqualTo((10, 3, 13)));
        Assert.That((train.Channels, train.Height, train.Width, train.ClassCount), Is.EqualTo((3, 32, 32, 10)));
        Assert.That(Enumerable.Range(0, 10).Select(train.Label), Is.EqualTo(new[] { 1, 2, 2, 3, 3, 4, 4, 5, 5, 6 }));
        // Train image 5 is record 1 of data_batch_3: pixel p = ((1 + 30) * 7 + p) mod 256, red plane first.
        var image = ReadAll(train, 5);
        foreach (var p in new[] { 0, 1023, 1024, 2048, 3071 })
        {
            Assert.That(image[p], Is.EqualTo((((31 * 7) + p) % 256 / 127.5f) - 1f), $"pixel {p}");
        }
        Assert.That(ReadAll(all, 10), Is.EqualTo(ReadAll(test, 0)));
    }

    [Test]
    public void Cifar100_uses_the_fine_label_and_the_archive_folder_is_found()
    {
        Write("cifar-100-binary/train.bin", Batch(2, 2, 3, 0));
        Write("cifar-100-binary/test.bin", Batch(1, 2, 0, 5));
        var train = CifarDataset.Open(Dir, DatasetSplit.Train, hundred: true);
        Assert.That((train.Count, train.ClassCount), Is.EqualTo((2, 100)));
        Assert.That(train.Label(1), Is.EqualTo(54)); // coarse 4, fine 4 + 50
        Assert.That(ReadAll(train, 1)[0], Is.EqualTo((7 / 127.5f) - 1f));
        Assert.That(CifarDataset.Open(Dir, DatasetSplit.All, hundred: true).Count, Is.EqualTo(3));
    }

    [Test]
    public void Truncated_batch_names_the_file_and_its_byte_count()
    {
        for (var b = 1; b <= 5; b++)
        {
            Write($"data_batch_{b}.bin", Batch(2, 1, 0, 0));
        }
        var cut = Write("data_batch_3.bin", Batch(2, 1, 0, 0)[..^5]);
        AssertDatasetError(() => CifarDataset.Open(Dir, DatasetSplit.Train, hundred: false), cut, "6141 bytes", "3073");
        // A CIFAR-10 batch read as CIFAR-100 has the wrong record size too.
        var ten = Write("ten/train.bin", Batch(3, 1, 0, 0));
        Write("ten/test.bin", Batch(3, 2, 0, 0));
        AssertDatasetError(() => CifarDataset.Open(Path.Combine(Dir, "ten"), DatasetSplit.Train, hundred: true), ten, "3074");
    }

    [Test]
    public void Missing_files_and_bad_labels_are_errors()
    {
        Write("data_batch_1.bin", Batch(1, 1, 0, 0));
        AssertDatasetError(() => CifarDataset.Open(Dir, DatasetSplit.Train, hundred: false), Dir, "data_batch_2.bin");
        var bad = Write("bad/test_batch.bin", Batch(2, 1, 9, 0)); // labels 9, 10
        AssertDatasetError(() => CifarDataset.Open(Path.Combine(Dir, "bad"), DatasetSplit.Test, hundred: false), bad, "record 1 is 10");
        AssertDatasetError(() => CifarDataset.Open(Path.Combine(Dir, "none"), DatasetSplit.Test, hundred: false), "none", "does not exist");
    }
}
