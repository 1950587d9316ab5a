using NUnit.Framework;
using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    // ---- specialization ------------------------------------------------------------------------

    [TestCase(3)]
    [TestCase(8)]
    public void Specialization_SizesRegisterTileAndSharedArray(int tile)
    {
        var rng = new Random(6000 + tile);
        int blocks = 2;
        int n = (blocks * SpecializationKernels.Block * tile) - 17;
        var input = RandomFloats(rng, n, -4f, 4f);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<float>(n);
        var config = new LaunchConfig(new Dim3(blocks), new Dim3(SpecializationKernels.Block));
        SpecializationKernels.LaunchTileShuffle(Acc, config, inputBuffer.ReadOnly, output.View, n, tile);

        float Value(int e) => e < n ? input[e] : 0f;
        var expected = new double[n];
        for (int e = 0; e < n; e++)
        {
            int owner = e / tile, j = e % tile;
            int block = owner / SpecializationKernels.Block, tid = owner % SpecializationKernels.Block;
            int neighbour = (block * SpecializationKernels.Block) + ((tid + 1) % SpecializationKernels.Block);
            expected[e] = (2.0 * Value((owner * tile) + tile - 1 - j)) + Value((neighbour * tile) + j);
        }
        // 2a + b: one rounding (or none with fma); half an ulp of the result.
        AssertClose(Download(output), expected, $"tile = {tile}", 1e-7, 1e-30);
    }

    [Test]
    public void Specialization_TwoValuesInterleaved_KeepSeparateVariants()
    {
        // Launch 3, 8, 3 again on the same accelerator: a cache keyed without the value would reuse the wrong variant.
        Specialization_SizesRegisterTileAndSharedArray(3);
        Specialization_SizesRegisterTileAndSharedArray(8);
        Specialization_SizesRegisterTileAndSharedArray(3);
    }

    // ---- launch errors -------------------------------------------------------------------------

    [Test]
    public void LaunchError_BlockTooBig_NamesTheKernel()
    {
        using var linear = Acc.Allocate<int>(16);
        using var blocks = Acc.Allocate<int>(16);
        using var threads = Acc.Allocate<int>(16);
        var config = new LaunchConfig(new Dim3(1), new Dim3(checked(Acc.Info.MaxThreadsPerBlock + 1)));
        var error = Assert.Throws<ArgumentException>(() =>
            IndexingKernels.LaunchIndex1D(Acc, config, linear.View, blocks.View, threads.View, 16));
        Assert.That(error!.Message, Does.Contain(nameof(IndexingKernels.Index1D)));
        Assert.That(error.Message, Does.Contain("threads per block"));
        AcceleratorStillWorks();
    }

    [Test]
    public void LaunchError_BlockTooBigInTwoDimensions_IsRejected()
    {
        using var linear = Acc.Allocate<int>(16);
        using var blocks = Acc.Allocate<int>(16);
        using var threads = Acc.Allocate<int>(16);
        int side = (int)Math.Ceiling(Math.Sqrt(Acc.Info.MaxThreadsPerBlock + 1.0));
        var config = new LaunchConfig(new Dim3(1), new Dim3(side, side));
        Assume.That((long)side * side, Is.GreaterThan(Acc.Info.MaxThreadsPerBlock));
        var error = Assert.Throws<ArgumentException>(() =>
            IndexingKernels.LaunchIndex1D(Acc, config, linear.View, blocks.View, threads.View, 16));
        Assert.That(error!.Message, Does.Contain(nameof(IndexingKernels.Index1D)));
        AcceleratorStillWorks();
    }

    [Test]
    public void LaunchError_ExceedsLaunchBounds_IsRejected()
    {
        using var linear = Acc.Allocate<int>(128);
        var error = Assert.Throws<ArgumentException>(() =>
            IndexingKernels.LaunchBoundedIndex(Acc, new LaunchConfig(new Dim3(1), new Dim3(128)), linear.View, 128));
        Assert.That(error!.Message, Does.Contain(nameof(IndexingKernels.BoundedIndex)).And.Contain("launch bound"));

        // Within the bound it runs.
        using var ok = Poisoned<int>(100);
        IndexingKernels.LaunchBoundedIndex(Acc, new LaunchConfig(new Dim3(2), new Dim3(64)), ok.View, 100);
        AssertExact(Download(ok), Enumerable.Range(0, 100).ToArray(), "bounded kernel within its bound");
    }

    [TestCase(0, 1, 1)]
    [TestCase(1, 0, 1)]
    [TestCase(2, 2, 0)]
    [TestCase(-1, 1, 1)]
    public void LaunchError_EmptyOrNegativeGrid_IsRejected(int x, int y, int z)
    {
        using var linear = Acc.Allocate<int>(16);
        using var blocks = Acc.Allocate<int>(16);
        using var threads = Acc.Allocate<int>(16);
        var config = new LaunchConfig(new Dim3(x, y, z), new Dim3(32));
        var error = Assert.Throws<ArgumentException>(() =>
            IndexingKernels.LaunchIndex1D(Acc, config, linear.View, blocks.View, threads.View, 16));
        Assert.That(error!.Message, Does.Contain(nameof(IndexingKernels.Index1D)).And.Contain("positive"));
        AcceleratorStillWorks();
    }

    [Test]
    public void LaunchError_ZeroBlock_IsRejected()
    {
        using var linear = Acc.Allocate<int>(16);
        using var blocks = Acc.Allocate<int>(16);
        using var threads = Acc.Allocate<int>(16);
        var config = new LaunchConfig(new Dim3(1), new Dim3(0));
        Assert.That(() => IndexingKernels.LaunchIndex1D(Acc, config, linear.View, blocks.View, threads.View, 16),
            Throws.ArgumentException.With.Message.Contains(nameof(IndexingKernels.Index1D)));
    }

    [Test]
    public void LaunchError_WrongDynamicShared_IsRejected()
    {
        using var linear = Acc.Allocate<int>(16);
        using var blocks = Acc.Allocate<int>(16);
        using var threads = Acc.Allocate<int>(16);
        using var input = Acc.Allocate<float>(64);
        using var output = Acc.Allocate<float>(64);

        // A kernel that never calls Shared.Dynamic given dynamic shared memory.
        var unused = new LaunchConfig(new Dim3(1), new Dim3(32), 1024);
        Assert.That(() => IndexingKernels.LaunchIndex1D(Acc, unused, linear.View, blocks.View, threads.View, 16),
            Throws.ArgumentException.With.Message.Contains(nameof(IndexingKernels.Index1D)).And.Message.Contains("Shared.Dynamic"));

        // Negative size.
        var negative = new LaunchConfig(new Dim3(1), new Dim3(32), -4);
        Assert.That(() => SharedMemoryKernels.LaunchReverseChunks(Acc, negative, input.ReadOnly, output.View, 16, 64),
            Throws.ArgumentException.With.Message.Contains(nameof(SharedMemoryKernels.ReverseChunks)));

        // More than the device has.
        var tooMuch = new LaunchConfig(new Dim3(1), new Dim3(32), checked(Acc.Info.MaxSharedMemoryPerBlock + 16));
        Assert.That(() => SharedMemoryKernels.LaunchReverseChunks(Acc, tooMuch, input.ReadOnly, output.View, 16, 64),
            Throws.ArgumentException.With.Message.Contains(nameof(SharedMemoryKernels.ReverseChunks)));
        AcceleratorStillWorks();
    }

    [Test]
    public void LaunchError_MmaKernelWithPartialWarp_IsRejected()
    {
        using var a = Acc.Allocate<float>(128);
        using var b = Acc.Allocate<float>(64);
        using var c = Acc.Allocate<float>(128);
        using var d = Acc.Allocate<float>(128);
        Assert.That(() => MmaKernels.LaunchTf32Tile(Acc, new LaunchConfig(new Dim3(1), new Dim3(16, 3)), a.ReadOnly, b.ReadOnly, c.ReadOnly, d.View),
            Throws.ArgumentException.With.Message.Contains(nameof(MmaKernels.Tf32Tile)));
    }

    /// <summary>A failed launch leaves the accelerator usable.</summary>
    private void AcceleratorStillWorks()
    {
        const int n = 50;
        using var linear = Poisoned<int>(n);
        using var blocks = Poisoned<int>(n);
        using var threads = Poisoned<int>(n);
        IndexingKernels.LaunchIndex1D(Acc, LaunchConfig.ForElements(n, 32), linear.View, blocks.View, threads.View, n);
        AssertExact(Download(linear), Enumerable.Range(0, n).ToArray(), "launch after a rejected one");
    }

    // ---- streams, events, copies ---------------------------------------------------------------

    [Test]
    public void Streams_TwoStreamsOrderedByEvent_TimedNonNegative()
    {
        var rng = new Random(7000);
        const int n = 3000;
        var input = RandomFloats(rng, n, -3f, 3f);
        using var inputBuffer = Acc.Allocate<float>(n);
        using var middle = Poisoned<float>(n);
        using var output = Poisoned<float>(n);
        Acc.Synchronize();

        using AcceleratorStream first = Acc.CreateStream();
        using AcceleratorStream second = Acc.CreateStream();
        first.CopyToDevice<float>(input, inputBuffer.View);
        using AcceleratorEvent start = first.RecordEvent();
        IndexingKernels.LaunchAffine(first, LaunchConfig.ForElements(n, 128), inputBuffer.ReadOnly, middle.View, 2f, 1f);
        using AcceleratorEvent produced = first.RecordEvent();
        second.WaitFor(produced);
        IndexingKernels.LaunchAffine(second, LaunchConfig.ForElements(n, 96), middle.ReadOnly, output.View, -0.5f, 0.25f);
        using AcceleratorEvent consumed = second.RecordEvent();
        consumed.Synchronize();

        Assert.That(consumed.IsComplete, Is.True, "event after synchronize");
        Assert.That(produced.IsComplete, Is.True, "the event the second stream waited for");
        float elapsed = AcceleratorEvent.ElapsedMilliseconds(start, produced);
        Assert.That(elapsed, Is.GreaterThanOrEqualTo(0f).And.Not.NaN, "elapsed milliseconds");

        var result = new float[n];
        second.CopyToHost(output.ReadOnly, result);
        second.Synchronize();
        first.Synchronize();
        var expected = input.Select(x => (-0.5 * ((2.0 * x) + 1.0)) + 0.25).ToArray();
        var magnitude = input.Select(x => (Math.Abs(x) * 2.0) + 1.0).ToArray();
        AssertClose(result, expected, "second stream saw the first stream's result", 2e-7, 1e-30, magnitude);
    }

    [Test]
    public void Copies_WithSlices_TouchOnlyTheSlice()
    {
        var rng = new Random(7100);
        const int n = 1000;
        var baseline = RandomFloats(rng, n, 1f, 2f);
        var patch = RandomFloats(rng, 50, -2f, -1f);
        using var big = Upload(baseline);
        using var other = Upload(RandomFloats(rng, n, 3f, 4f));
        var expectedBig = (float[])baseline.Clone();
        var expectedOther = Download(other);

        // Host -> device into a slice.
        Acc.DefaultStream.CopyToDevice<float>(patch, big.View.Slice(100, 50));
        patch.CopyTo(expectedBig, 100);

        // Device -> device between slices (offsets in both), and a fill of a slice.
        Acc.DefaultStream.Copy(big.ReadOnly.Slice(90, 30), other.View.Slice(501, 30));
        Array.Copy(expectedBig, 90, expectedOther, 501, 30);
        Acc.DefaultStream.FillBytes(other.View.Slice(7, 3), 0x40); // 0x40404040 = 3.0039215f
        for (int i = 7; i < 10; i++)
        {
            expectedOther[i] = BitConverter.Int32BitsToSingle(0x40404040);
        }

        // Device -> host out of a slice.
        var window = new float[40];
        Acc.Synchronize();
        Acc.DefaultStream.CopyToHost(big.ReadOnly.Slice(80, 40), window);
        AssertBits(window, expectedBig[80..120], "slice copied to host", anyNaN: false);
        AssertBits(Download(big), expectedBig, "destination of the host copy", anyNaN: false);
        AssertBits(Download(other), expectedOther, "destination of the device copy and fill", anyNaN: false);
    }

    [Test]
    public void Copies_KernelOnSlicedViews_SeesOffsetsAndLengths()
    {
        var rng = new Random(7200);
        const int n = 800;
        var input = RandomFloats(rng, n, -1f, 1f);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<float>(n);
        // input[7..307) -> output[301..601); Affine covers output.Length (300) threads of a 128-thread grid.
        IndexingKernels.LaunchAffine(Acc, LaunchConfig.ForElements(300, 128), inputBuffer.ReadOnly.Slice(7, 300), output.View.Slice(301, 300), 3f, 0.5f);

        var actual = Download(output);
        var inside = actual[301..601];
        var expected = new double[300];
        var magnitude = new double[300];
        for (int i = 0; i < 300; i++)
        {
            expected[i] = (3.0 * input[7 + i]) + 0.5;
            magnitude[i] = (3.0 * Math.Abs(input[7 + i])) + 0.5;
        }
        AssertClose(inside, expected, "kernel on sliced views", 2e-7, 1e-30, magnitude);
        Assert.That(actual[..301].Concat(actual[601..]).All(v => BitConverter.SingleToUInt32Bits(v) == uint.MaxValue), Is.True,
            "elements outside the output slice keep their 0xFF poison");
    }
}
