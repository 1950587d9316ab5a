using NUnit.Framework;
using GanEngine.Kernels;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    [TestCase(1000, 128)]
    [TestCase(77, 32)]
    [TestCase(1, 64)]
    [TestCase(300, 100)]
    public void Indexing1D_RaggedGrid_WritesEveryIndex(int n, int block)
    {
        using var linear = Poisoned<int>(n);
        using var blocks = Poisoned<int>(n);
        using var threads = Poisoned<int>(n);
        var config = new LaunchConfig(new Dim3(Blocks(n, block)), new Dim3(block));
        IndexingKernels.LaunchIndex1D(Acc, config, linear.View, blocks.View, threads.View, n);

        var expectedLinear = new int[n];
        var expectedBlocks = new int[n];
        var expectedThreads = new int[n];
        for (int i = 0; i < n; i++)
        {
            expectedLinear[i] = i;
            expectedBlocks[i] = i / block;
            expectedThreads[i] = i % block;
        }
        AssertExact(Download(linear), expectedLinear, "linear index");
        AssertExact(Download(blocks), expectedBlocks, "blockIdx.x");
        AssertExact(Download(threads), expectedThreads, "threadIdx.x");
    }

    [TestCase(45, 21, 16, 8)]
    [TestCase(32, 16, 32, 8)]
    [TestCase(5, 70, 4, 16)]
    public void Indexing2D_RaggedGrid_WritesEveryIndex(int width, int height, int blockX, int blockY)
    {
        int n = width * height;
        using var linear = Poisoned<int>(n);
        using var xs = Poisoned<int>(n);
        using var ys = Poisoned<int>(n);
        var config = new LaunchConfig(new Dim3(Blocks(width, blockX), Blocks(height, blockY)), new Dim3(blockX, blockY));
        IndexingKernels.LaunchIndex2D(Acc, config, linear.View, xs.View, ys.View, width, height);

        var expectedLinear = new int[n];
        var expectedX = new int[n];
        var expectedY = new int[n];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int e = (y * width) + x;
                expectedLinear[e] = e;
                expectedX[e] = ((x / blockX) * 1024) + (x % blockX);
                expectedY[e] = ((y / blockY) * 1024) + (y % blockY);
            }
        }
        AssertExact(Download(linear), expectedLinear, "linear index");
        AssertExact(Download(xs), expectedX, "blockIdx.x * 1024 + threadIdx.x");
        AssertExact(Download(ys), expectedY, "blockIdx.y * 1024 + threadIdx.y");
    }

    [TestCase(13, 7, 5, 4, 4, 2)]
    [TestCase(9, 10, 11, 8, 2, 4)]
    public void Indexing3D_RaggedGrid_WritesEveryIndexAndExtent(int width, int height, int depth, int blockX, int blockY, int blockZ)
    {
        int n = width * height * depth;
        using var linear = Poisoned<int>(n);
        using var xs = Poisoned<int>(n);
        using var ys = Poisoned<int>(n);
        using var zs = Poisoned<int>(n);
        using var dims = Poisoned<int>(n);
        var grid = new Dim3(Blocks(width, blockX), Blocks(height, blockY), Blocks(depth, blockZ));
        var config = new LaunchConfig(grid, new Dim3(blockX, blockY, blockZ));
        IndexingKernels.LaunchIndex3D(Acc, config, linear.View, xs.View, ys.View, zs.View, dims.View, width, height, depth);

        int packed = blockX | (blockY << 5) | (blockZ << 10) | (grid.X << 15) | (grid.Y << 20) | (grid.Z << 25);
        var expectedLinear = new int[n];
        var expectedX = new int[n];
        var expectedY = new int[n];
        var expectedZ = new int[n];
        for (int z = 0; z < depth; z++)
        {
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    int e = (((z * height) + y) * width) + x;
                    expectedLinear[e] = e;
                    expectedX[e] = ((x / blockX) * 1024) + (x % blockX);
                    expectedY[e] = ((y / blockY) * 1024) + (y % blockY);
                    expectedZ[e] = ((z / blockZ) * 1024) + (z % blockZ);
                }
            }
        }
        AssertExact(Download(linear), expectedLinear, "linear index");
        AssertExact(Download(xs), expectedX, "x components");
        AssertExact(Download(ys), expectedY, "y components");
        AssertExact(Download(zs), expectedZ, "z components");
        AssertExact(Download(dims), Filled(n, packed), "blockDim and gridDim");
    }
}
