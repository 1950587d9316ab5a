using NUnit.Framework;
using GanEngine.Kernels;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    [TestCase(5000)]
    [TestCase(256)]
    [TestCase(3)]
    public void SharedMemory_BlockSumTree_MatchesFloat64(int n)
    {
        var rng = new Random(1100 + n);
        var input = RandomFloats(rng, n, -2f, 2f);
        int blocks = Blocks(n, SharedMemoryKernels.SumBlock);
        using var inputBuffer = Upload(input);
        using var partial = Poisoned<float>(blocks);
        SharedMemoryKernels.LaunchBlockSum(Acc, new LaunchConfig(new Dim3(blocks), new Dim3(SharedMemoryKernels.SumBlock)), inputBuffer.ReadOnly, partial.View, n);

        var expected = new double[blocks];
        var magnitude = new double[blocks];
        for (int i = 0; i < n; i++)
        {
            expected[i / SharedMemoryKernels.SumBlock] += input[i];
            magnitude[i / SharedMemoryKernels.SumBlock] += Math.Abs(input[i]);
        }
        AssertClose(Download(partial), expected, "block sums", 1e-6, 0, magnitude);
    }

    [TestCase(70, 45)]
    [TestCase(32, 64)]
    [TestCase(1, 33)]
    public void SharedMemory_TransposeThrough32x33Tile_IsExact(int rows, int cols)
    {
        var rng = new Random(1200 + (rows * 100) + cols);
        var input = RandomFloats(rng, rows * cols, -100f, 100f);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<float>(rows * cols);
        var config = new LaunchConfig(
            new Dim3(Blocks(cols, SharedMemoryKernels.TileDim), Blocks(rows, SharedMemoryKernels.TileDim)),
            new Dim3(SharedMemoryKernels.TileDim, SharedMemoryKernels.TransposeRows));
        SharedMemoryKernels.LaunchTranspose(Acc, config, inputBuffer.ReadOnly, output.View, rows, cols);

        var expected = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                expected[(c * rows) + r] = input[(r * cols) + c];
            }
        }
        AssertBits(Download(output), expected, "transpose", anyNaN: false);
    }

    [TestCase(1000, 96, 64)]
    [TestCase(500, 500, 128)]
    [TestCase(37, 64, 32)]
    public void SharedMemory_Dynamic_SizedAtLaunch(int n, int chunk, int block)
    {
        RunReverseChunks(n, chunk, block, 1300 + n + chunk);
    }

    [Test]
    public void SharedMemory_Dynamic100KiB_WhereTheDeviceAllows()
    {
        const int chunk = 100 * 1024 / 4;
        int bytes = chunk * sizeof(float);
        if (Acc.Info.MaxSharedMemoryPerBlock < bytes)
        {
            Assert.Ignore($"{Acc.Info.Name} allows {Acc.Info.MaxSharedMemoryPerBlock} bytes of shared memory per block; this test needs {bytes}.");
        }
        RunReverseChunks(chunk + 1000, chunk, 256, 1399);
    }

    [Test]
    public void SharedMemory_AtomicHistogramInSharedMemory_IsExact()
    {
        var rng = new Random(1400);
        const int n = 3000;
        var keys = RandomKeys(rng, n, SharedMemoryKernels.HistogramBins);
        using var keyBuffer = Upload(keys);
        using var bins = Upload(new int[SharedMemoryKernels.HistogramBins]);
        SharedMemoryKernels.LaunchSharedHistogram(Acc, LaunchConfig.ForElements(n, 128), keyBuffer.ReadOnly, bins.View, n);

        var expected = new int[SharedMemoryKernels.HistogramBins];
        foreach (int k in keys)
        {
            expected[k]++;
        }
        AssertExact(Download(bins), expected, "histogram");
    }

    private void RunReverseChunks(int n, int chunk, int block, int seed)
    {
        var rng = new Random(seed);
        var input = RandomFloats(rng, n, 1f, 2f);
        int blocks = Blocks(n, chunk);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<float>(n);
        var config = new LaunchConfig(new Dim3(blocks), new Dim3(block), chunk * sizeof(float));
        SharedMemoryKernels.LaunchReverseChunks(Acc, config, inputBuffer.ReadOnly, output.View, chunk, n);

        var expected = new float[n];
        for (int e = 0; e < n; e++)
        {
            int start = e / chunk * chunk;
            int source = start + (chunk - 1 - (e - start));
            expected[e] = source < n ? input[source] : -1f;
        }
        AssertBits(Download(output), expected, $"chunks of {chunk} reversed through dynamic shared memory", anyNaN: false);
    }
}
