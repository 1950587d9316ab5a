using GanEngine.Datasets;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

public class BatchLoaderTests
{
    /// <summary>The dataset indices of the next <paramref name="batches"/> batches (the synthetic labels are the indices).</summary>
    private static List<int[]> Take(BatchLoader loader, int batches, List<long>? epochs = null)
    {
        var result = new List<int[]>();
        for (var b = 0; b < batches; b++)
        {
            var batch = loader.Next();
            Assert.That(batch.Count, Is.EqualTo(batch.Labels.Length));
            result.Add(batch.Labels.ToArray());
            epochs?.Add(batch.Epoch);
            loader.Return(batch);
        }
        return result;
    }

    [Test]
    public void Same_seed_gives_the_same_order_and_another_seed_another()
    {
        var dataset = new SyntheticDataset(50);
        using var a = new BatchLoader(dataset, 8, seed: 42);
        using var b = new BatchLoader(dataset, 8, seed: 42);
        using var c = new BatchLoader(dataset, 8, seed: 43);
        var first = Take(a, 20);
        Assert.That(Take(b, 20), Is.EqualTo(first));
        Assert.That(Take(c, 20), Is.Not.EqualTo(first));
    }

    [Test]
    public void The_permutation_is_pinned_so_every_machine_sees_the_same_order()
    {
        // Regression pin of the documented algorithm (SplitMix64, Lemire, Fisher-Yates): changing it changes runs.
        var permutation = new int[10];
        BatchLoader.Permutation(1, 0, permutation);
        Assert.That(permutation, Is.EqualTo(PinnedSeed1Epoch0));
        var big = new int[1000];
        BatchLoader.Permutation(7, 3, big);
        Assert.That(big.Order(), Is.EqualTo(Enumerable.Range(0, 1000)));
        var next = new int[1000];
        BatchLoader.Permutation(7, 4, next);
        Assert.That(next, Is.Not.EqualTo(big));
    }

    // Computed by the implementation and, independently, by a Python transcription of the documented algorithm.
    private static readonly int[] PinnedSeed1Epoch0 = [8, 9, 2, 5, 1, 7, 6, 0, 4, 3];

    [Test]
    public void Every_image_once_per_epoch_with_drop_last_batches()
    {
        foreach (var count in new[] { 48, 50 })
        {
            var dataset = new SyntheticDataset(count);
            using var loader = new BatchLoader(dataset, 8, seed: 3);
            Assert.That(loader.BatchesPerEpoch, Is.EqualTo(6));
            var epochs = new List<long>();
            var batches = Take(loader, 18, epochs);
            Assert.That(epochs, Is.EqualTo(Enumerable.Range(0, 18).Select(b => (long)(b / 6))));
            for (var e = 0; e < 3; e++)
            {
                var seen = batches.Skip(e * 6).Take(6).SelectMany(x => x).ToList();
                Assert.That(seen, Is.Unique, $"count {count}, epoch {e}");
                Assert.That(seen, Has.Count.EqualTo(48));
            }
            Assert.That(batches.Take(6).SelectMany(x => x), Is.Not.EqualTo(batches.Skip(6).Take(6).SelectMany(x => x)), "epochs are reshuffled");
        }
    }

    [Test]
    public void Images_match_their_labels()
    {
        var dataset = new SyntheticDataset(20, channels: 3, height: 2, width: 3);
        using var loader = new BatchLoader(dataset, 4, seed: 9, prefetch: 1);
        var batch = loader.Next();
        for (var i = 0; i < 4; i++)
        {
            var image = batch.Images.AsSpan(i * 18, 18).ToArray();
            Assert.That(image, Is.EqualTo(Enumerable.Range(0, 18).Select(p => batch.Labels[i] + (p / 1000f))));
        }
    }

    [Test]
    public void Resuming_at_startBatch_reproduces_the_continuation()
    {
        var dataset = new SyntheticDataset(30);
        using var whole = new BatchLoader(dataset, 7, seed: 11);
        var expected = Take(whole, 25);
        Assert.That(whole.BatchesServed, Is.EqualTo(25));
        foreach (var start in new long[] { 1, 4, 9, 17 })
        {
            using var resumed = new BatchLoader(dataset, 7, seed: 11, prefetch: 2, startBatch: start);
            Assert.That(resumed.BatchesServed, Is.EqualTo(start));
            var epochs = new List<long>();
            Assert.That(Take(resumed, 25 - (int)start, epochs), Is.EqualTo(expected.Skip((int)start)), $"start {start}");
            Assert.That(epochs[0], Is.EqualTo(start / 4));
            Assert.That(resumed.BatchesServed, Is.EqualTo(25));
        }
    }

    [Test]
    public void A_worker_exception_surfaces_from_Next()
    {
        var dataset = new SyntheticDataset(40) { FailAt = 13 };
        using var loader = new BatchLoader(dataset, 5, seed: 1);
        var e = Assert.Throws<DatasetException>(() =>
        {
            for (var i = 0; i < 8; i++)
            {
                loader.Return(loader.Next());
            }
        })!;
        Assert.That(e.Message, Does.Contain("synthetic/broken.png").And.Contain("image 13"));
        Assert.Throws<DatasetException>(() => loader.Next(), "and again on the next call");
    }

    [Test]
    public void Returned_buffers_are_reused_and_steady_state_allocates_nothing()
    {
        var dataset = new SyntheticDataset(64, channels: 1, height: 16, width: 16);
        using var loader = new BatchLoader(dataset, 32, seed: 5, prefetch: 3);
        var buffers = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < 20; i++)
        {
            var batch = loader.Next();
            buffers.Add(batch.Images);
            loader.Return(batch);
        }
        Assert.That(buffers, Has.Count.LessThanOrEqualTo(5));
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < 200; i++)
        {
            loader.Return(loader.Next());
        }
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        // One batch is 32 KiB of images; 200 batches allocated afresh would be 6.4 MB.
        Assert.That(allocated, Is.LessThan(256 * 1024), $"{allocated} bytes allocated over 200 batches");
    }

    [Test]
    public void The_worker_stays_at_most_prefetch_batches_ahead_and_stops_on_Dispose()
    {
        var dataset = new SyntheticDataset(100);
        var loader = new BatchLoader(dataset, 4, seed: 2, prefetch: 2);
        Thread.Sleep(150);
        Assert.That(dataset.Reads, Is.LessThanOrEqualTo(2 * 4));
        loader.Return(loader.Next());
        loader.Dispose();
        var reads = dataset.Reads;
        Thread.Sleep(50);
        Assert.That(dataset.Reads, Is.EqualTo(reads));
        Assert.Throws<ObjectDisposedException>(() => loader.Next());
        loader.Dispose();
    }

    [Test]
    public void Misuse_is_rejected()
    {
        var dataset = new SyntheticDataset(10);
        Assert.Throws<ArgumentException>(() => _ = new BatchLoader(dataset, 11, 1));
        using var loader = new BatchLoader(dataset, 2, 1);
        using var other = new BatchLoader(dataset, 2, 1);
        var batch = loader.Next();
        Assert.Throws<ArgumentException>(() => other.Return(batch));
        loader.Return(batch);
        Assert.Throws<InvalidOperationException>(() => loader.Return(batch));
    }
}
