using NUnit.Framework;
using GanEngine.Kernels;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    [TestCase(3, 128, 40, 5000)]
    [TestCase(2, 64, 1, 100)]
    [TestCase(5, 256, 7, 8000)]
    public void AsyncCopy_PipelinedStages_MatchFloat64(int blocks, int threads, int tiles, int n)
    {
        var rng = new Random(1500 + tiles);
        var input = RandomFloats(rng, Math.Max(n, 1), 0.5f, 2f);
        using var inputBuffer = Upload(input);
        using var output = Poisoned<float>(blocks * threads);
        var config = new LaunchConfig(new Dim3(blocks), new Dim3(threads), AsyncCopyKernels.Stages * threads * sizeof(float));
        AsyncCopyKernels.LaunchPipelinedNeighbourSum(Acc, config, inputBuffer.ReadOnly, output.View, tiles, n);

        var expected = new double[blocks * threads];
        var magnitude = new double[blocks * threads];
        for (int b = 0; b < blocks; b++)
        {
            for (int tid = 0; tid < threads; tid++)
            {
                for (int t = 0; t < tiles; t++)
                {
                    int i = (b * tiles * threads) + (t * threads) + ((tid + 1) % threads);
                    double v = i < n && i % 7 != 3 ? input[i] : 0.0;
                    expected[(b * threads) + tid] += v * (t + 1);
                    magnitude[(b * threads) + tid] += Math.Abs(v) * (t + 1);
                }
            }
        }
        AssertClose(Download(output), expected, $"{tiles} tiles through {AsyncCopyKernels.Stages} async stages", 1e-6, 0, magnitude);
    }
}
