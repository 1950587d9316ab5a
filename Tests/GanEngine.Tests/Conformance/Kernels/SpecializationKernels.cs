using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>A specialization constant that sizes a register tile and a shared array.</summary>
public static partial class SpecializationKernels
{
    /// <summary>Threads per block of <see cref="TileShuffle"/>.</summary>
    public const int Block = 64;

    /// <summary>
    /// Thread t of a block owns elements [(block * 64 + t) * tile, +tile): it loads them into a register
    /// tile (0 past n), stages them in shared memory, and after a barrier writes
    /// out[e_j] = 2 * mine[tile - 1 - j] + neighbour[j], where the neighbour is thread (t + 1) % 64.
    /// </summary>
    [Kernel]
    public static void TileShuffle(ReadOnlyView<float> input, ArrayView<float> output, int n, [Specialization] int tile)
    {
        SharedView<float> staged = Shared.Allocate<float>(Block * tile);
        Span<float> mine = stackalloc float[tile];
        int tid = ThreadIdx.X;
        int owner = (BlockIdx.X * Block) + tid;
        for (int j = 0; j < tile; j++)
        {
            int e = (owner * tile) + j;
            float v = 0f;
            if (e < n)
            {
                v = input[e];
            }
            mine[j] = v;
            staged[(tid * tile) + j] = v;
        }
        Group.Barrier();
        int neighbour = (tid + 1) % Block;
        for (int j = 0; j < tile; j++)
        {
            int e = (owner * tile) + j;
            if (e < n)
            {
                output[e] = (2f * mine[tile - 1 - j]) + staged[(neighbour * tile) + j];
            }
        }
    }
}
