using GanEngine.Datasets;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

public class DatasetFactoryTests : TempFolderTest
{
    [Test]
    public void Opens_each_file_kind_at_the_requested_shape()
    {
        Write("idx/train-images-idx3-ubyte.gz", Gzip(IdxImages(4, 28, 28, (n, p) => (byte)(n + p))));
        Write("idx/train-labels-idx1-ubyte.gz", Gzip(IdxLabels(0, 1, 2, 3)));
        var mnist = DatasetFactory.Open(new DatasetSpec("mnist", Path.Combine(Dir, "idx"), DatasetSplit.Train, 14, 1));
        Assert.That((mnist.Count, mnist.Channels, mnist.Height, mnist.Width), Is.EqualTo((4, 1, 14, 14)));
        // Area halving: output (0, 0) is the mean of source pixels 0, 1, 28, 29 of image 2.
        Assert.That(ReadAll(mnist, 2)[0], Is.EqualTo((((2 + 0) + (2 + 1) + (2 + 28) + (2 + 29)) / 4f / 127.5f) - 1f).Within(1e-5f));
        Assert.That(DatasetFactory.Open(new DatasetSpec("fashion-mnist", Path.Combine(Dir, "idx"), DatasetSplit.Train, 28, 1)).Name,
            Is.EqualTo("fashion-mnist (train)"));

        Write("cifar/test_batch.bin", new byte[3 * 3073]);
        var cifar = DatasetFactory.Open(new DatasetSpec("cifar10", Path.Combine(Dir, "cifar"), DatasetSplit.Test, 32, 1));
        Assert.That((cifar.Count, cifar.Channels, cifar.Height), Is.EqualTo((3, 1, 32)));
        Assert.That(ReadAll(cifar, 0), Is.All.EqualTo(-1f).Within(1e-6f));
        Write("cifar100/test.bin", new byte[2 * 3074]);
        Assert.That(DatasetFactory.Open(new DatasetSpec("cifar100", Path.Combine(Dir, "cifar100"), DatasetSplit.Test, 8, 3)).ClassCount, Is.EqualTo(100));
    }

    [Test]
    public void Bad_specs_are_errors_naming_the_path_or_kind()
    {
        AssertDatasetError(() => DatasetFactory.Open(new DatasetSpec("imagenet", "/data/x", DatasetSplit.All, 8, 1)), "/data/x", "unknown data set kind", "imagenet");
        AssertDatasetError(() => DatasetFactory.Open(new DatasetSpec("mnist", null, DatasetSplit.All, 8, 1)), "mnist", "needs a path");
        AssertDatasetError(() => DatasetFactory.Open(new DatasetSpec("cifar10", Path.Combine(Dir, "nope"), DatasetSplit.All, 8, 1)), "nope", "does not exist");
        AssertDatasetError(() => DatasetFactory.Open(new DatasetSpec("digits", null, DatasetSplit.All, 8, 2)), "digits", "channels");
        AssertDatasetError(() => DatasetFactory.Open(new DatasetSpec("digits", null, DatasetSplit.All, 0, 1)), "digits", "resolution");
    }
}
