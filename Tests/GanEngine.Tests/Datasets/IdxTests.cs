using GanEngine.Datasets;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

public class IdxTests : TempFolderTest
{
    private static byte[] HalfOf(byte[] data) => data[..(data.Length / 2)];

    private static byte Pixel(int n, int p) => (byte)((n * 40) + (p * 10));

    private void WriteStandard(bool gzipTest = true)
    {
        Write("train-images-idx3-ubyte", IdxImages(3, 4, 5, Pixel));
        Write("train-labels-idx1-ubyte", IdxLabels(7, 1, 9));
        var images = IdxImages(2, 4, 5, (n, p) => (byte)(255 - Pixel(n, p)));
        var labels = IdxLabels(0, 3);
        Write("t10k-images-idx3-ubyte" + (gzipTest ? ".gz" : ""), gzipTest ? Gzip(images) : images);
        Write("t10k-labels-idx1-ubyte" + (gzipTest ? ".gz" : ""), gzipTest ? Gzip(labels) : labels);
    }

    [Test]
    public void Directory_splits_select_the_train_and_t10k_files_raw_or_gzip()
    {
        WriteStandard();
        var train = IdxDataset.Open(Dir, DatasetSplit.Train);
        var test = IdxDataset.Open(Dir, DatasetSplit.Test, "fashion-mnist");
        var all = IdxDataset.Open(Dir, DatasetSplit.All);
        Assert.That((train.Count, test.Count, all.Count), Is.EqualTo((3, 2, 5)));
        Assert.That((train.Channels, train.Height, train.Width, train.ClassCount), Is.EqualTo((1, 4, 5, 10)));
        Assert.That(test.Name, Is.EqualTo("fashion-mnist (test)"));
        Assert.That(Enumerable.Range(0, 5).Select(all.Label), Is.EqualTo(new[] { 7, 1, 9, 0, 3 }));
        var image = ReadAll(train, 2);
        Assert.That(image[3], Is.EqualTo((Pixel(2, 3) / 127.5f) - 1f));
        Assert.That(ReadAll(all, 3), Is.EqualTo(ReadAll(test, 0)));
        Assert.That(ReadAll(test, 0)[0], Is.EqualTo(1f));
        Assert.That(ReadAll(train, 0)[0], Is.EqualTo(-1f));
    }

    [Test]
    public void Gzip_is_told_by_content_not_name_and_dot_idx_names_are_found()
    {
        Write("train-images.idx3-ubyte", Gzip(IdxImages(2, 2, 2, Pixel)));  // gzip without .gz
        Write("train-labels.idx1-ubyte.gz", IdxLabels(1, 2));             // raw with .gz
        var train = IdxDataset.Open(Dir, DatasetSplit.Train);
        Assert.That(train.Count, Is.EqualTo(2));
        Assert.That(train.Label(1), Is.EqualTo(2));
    }

    [Test]
    public void An_images_file_finds_its_labels_beside_it()
    {
        WriteStandard();
        var images = Path.Combine(Dir, "t10k-images-idx3-ubyte.gz");
        var dataset = IdxDataset.Open(images);
        Assert.That(dataset.Count, Is.EqualTo(2));
        Assert.That(dataset.Label(1), Is.EqualTo(3));
        var mine = Write("sub/my-images.bin", IdxImages(1, 2, 2, Pixel));
        Write("sub/my-labels.bin", IdxLabels(5));
        Assert.That(IdxDataset.Open(mine).Label(0), Is.EqualTo(5));
    }

    [Test]
    public void Wrong_magic_mismatched_counts_truncation_and_missing_files_name_the_file()
    {
        var images = Write("a/train-images-idx3-ubyte", IdxImages(3, 2, 2, Pixel));
        var labels = Write("a/train-labels-idx1-ubyte", IdxLabels(1, 2));
        AssertDatasetError(() => IdxDataset.Open(Path.Combine(Dir, "a")), labels, "2 labels", "3 images");

        var swapped = Write("b/x-images", IdxLabels(1, 2, 3));
        Write("b/x-labels", IdxLabels(1, 2, 3));
        AssertDatasetError(() => IdxDataset.Open(swapped), swapped, "magic", "0x00000801", "labels file");

        var cut = Write("c/x-images", IdxImages(3, 2, 2, Pixel)[..^1]);
        Write("c/x-labels", IdxLabels(1, 2, 3));
        AssertDatasetError(() => IdxDataset.Open(cut), cut, "truncated", "28");

        var cutGz = Write("d/x-images", HalfOf(Gzip(IdxImages(3, 2, 2, Pixel))));
        Write("d/x-labels", IdxLabels(1, 2, 3));
        AssertDatasetError(() => IdxDataset.Open(cutGz), cutGz);

        var badLabel = Write("e/x-images", IdxImages(1, 2, 2, Pixel));
        var badLabels = Write("e/x-labels", IdxLabels(10));
        AssertDatasetError(() => IdxDataset.Open(badLabel), badLabels, "outside 0..9");

        var lonely = Write("f/x-images", IdxImages(1, 2, 2, Pixel));
        AssertDatasetError(() => IdxDataset.Open(lonely), lonely, "labels");

        Directory.CreateDirectory(Path.Combine(Dir, "g"));
        AssertDatasetError(() => IdxDataset.Open(Path.Combine(Dir, "g"), DatasetSplit.Test), Path.Combine(Dir, "g"), "t10k-images-idx3-ubyte");
        AssertDatasetError(() => IdxDataset.Open(Path.Combine(Dir, "nothing")), "nothing", "does not exist");
        _ = images;
    }
}
