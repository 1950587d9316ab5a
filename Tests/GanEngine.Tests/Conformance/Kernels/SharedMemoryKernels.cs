using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>Static and dynamic shared memory with barriers.</summary>
public static partial class SharedMemoryKernels
{
    /// <summary>Threads per block of <see cref="BlockSum"/> (a power of two).</summary>
    public const int SumBlock = 256;

    /// <summary>Tile edge of <see cref="Transpose"/>; blocks are TileDim x TransposeRows threads.</summary>
    public const int TileDim = 32;

    public const int TransposeRows = 8;

    /// <summary>partial[blockIdx.x] = sum of the block's elements, by a tree in shared memory.</summary>
    [Kernel]
    public static void BlockSum(ReadOnlyView<float> input, ArrayView<float> partial, int n)
    {
        SharedView<float> cache = Shared.Allocate<float>(SumBlock);
        int tid = ThreadIdx.X;
        int i = (BlockIdx.X * BlockDim.X) + tid;
        float v = 0f;
        if (i < n)
        {
            v = input[i];
        }
        cache[tid] = v;
        Group.Barrier();
        for (int stride = SumBlock / 2; stride > 0; stride >>= 1)
        {
            if (tid < stride)
            {
                cache[tid] = cache[tid] + cache[tid + stride];
            }
            Group.Barrier();
        }
        if (tid == 0)
        {
            partial[BlockIdx.X] = cache[0];
        }
    }

    /// <summary>output (cols x rows) = transpose of input (rows x cols), through a 32x33 tile
    /// (the extra column avoids bank conflicts). Blocks are 32 x 8 threads; each does 4 rows.</summary>
    [Kernel]
    public static void Transpose(ReadOnlyView<float> input, ArrayView<float> output, int rows, int cols)
    {
        SharedView<float> tile = Shared.Allocate<float>(TileDim * (TileDim + 1));
        int x = (BlockIdx.X * TileDim) + ThreadIdx.X;
        int y0 = BlockIdx.Y * TileDim;
        for (int j = ThreadIdx.Y; j < TileDim; j += TransposeRows)
        {
            int y = y0 + j;
            if (x < cols && y < rows)
            {
                tile[(j * (TileDim + 1)) + ThreadIdx.X] = input[(y * cols) + x];
            }
        }
        Group.Barrier();
        int ox = y0 + ThreadIdx.X;
        int oy0 = BlockIdx.X * TileDim;
        for (int j = ThreadIdx.Y; j < TileDim; j += TransposeRows)
        {
            int oy = oy0 + j;
            if (ox < rows && oy < cols)
            {
                output[(oy * rows) + ox] = tile[(ThreadIdx.X * (TileDim + 1)) + j];
            }
        }
    }

    /// <summary>
    /// Each block stages a chunk of <paramref name="chunk"/> floats in dynamic shared memory and writes it
    /// back reversed within the chunk (so every element crosses threads). The launch gives chunk * 4 bytes of dynamic shared memory.
    /// </summary>
    [Kernel]
    public static void ReverseChunks(ReadOnlyView<float> input, ArrayView<float> output, int chunk, int n)
    {
        SharedView<float> staged = Shared.Dynamic<float>();
        int start = BlockIdx.X * chunk;
        for (int j = ThreadIdx.X; j < chunk; j += BlockDim.X)
        {
            float v = -1f;
            if (start + j < n)
            {
                v = input[start + j];
            }
            staged[j] = v;
        }
        Group.Barrier();
        for (int j = ThreadIdx.X; j < chunk; j += BlockDim.X)
        {
            int source = chunk - 1 - j;
            if (start + j < n)
            {
                output[start + j] = staged[source];
            }
        }
    }

    /// <summary>A per-block histogram in shared memory with shared-memory atomics, merged into global
    /// bins with global atomics. bins.Length must be <see cref="HistogramBins"/>.</summary>
    [Kernel]
    public static void SharedHistogram(ReadOnlyView<int> keys, ArrayView<int> bins, int n)
    {
        SharedView<int> local = Shared.Allocate<int>(HistogramBins);
        for (int b = ThreadIdx.X; b < HistogramBins; b += BlockDim.X)
        {
            local[b] = 0;
        }
        Group.Barrier();
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            Atomic.Add(ref local[keys[i]], 1);
        }
        Group.Barrier();
        for (int b = ThreadIdx.X; b < HistogramBins; b += BlockDim.X)
        {
            Atomic.Add(ref bins[b], local[b]);
        }
    }

    public const int HistogramBins = 40;
}
