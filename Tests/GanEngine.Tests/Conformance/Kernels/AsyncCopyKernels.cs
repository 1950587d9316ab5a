using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>A multi-stage <see cref="AsyncCopy"/> pipeline as the convolution uses it.</summary>
public static partial class AsyncCopyKernels
{
    /// <summary>Stages in flight (two ahead of the one being read).</summary>
    public const int Stages = 3;

    /// <summary>Each block streams <paramref name="tiles"/> tiles of BlockDim elements through a ring of
    /// <see cref="Stages"/> shared stages. Element i is masked (zero filled) where i % 7 == 3 or i >= n. Thread t sums,
    /// weighted by tile number + 1, the element its neighbour (t + 1) copied: a missing wait, barrier or a stage
    /// overwritten too early shows up as a wrong sum on CUDA.</summary>
    [Kernel]
    public static void PipelinedNeighbourSum(ReadOnlyView<float> input, ArrayView<float> output, int tiles, int n)
    {
        SharedView<float> ring = Shared.Dynamic<float>();
        int tid = ThreadIdx.X;
        int threads = BlockDim.X;
        int first = BlockIdx.X * tiles * threads;
        for (int s = 0; s < Stages - 1; s++)
        {
            if (s < tiles)
            {
                int i = first + (s * threads) + tid;
                AsyncCopy.Float(ring, (s * threads) + tid, input, i, i < n && i % 7 != 3);
            }
            AsyncCopy.Commit();
        }
        float sum = 0f;
        for (int t = 0; t < tiles; t++)
        {
            AsyncCopy.Wait(Stages - 2);
            Group.Barrier();
            int next = t + Stages - 1;
            if (next < tiles)
            {
                int i = first + (next * threads) + tid;
                AsyncCopy.Float(ring, ((next % Stages) * threads) + tid, input, i, i < n && i % 7 != 3);
            }
            AsyncCopy.Commit();
            sum += ring[((t % Stages) * threads) + ((tid + 1) % threads)] * (t + 1);
        }
        output[(BlockIdx.X * threads) + tid] = sum;
    }
}
