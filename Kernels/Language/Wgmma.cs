using GanEngine.Kernels.Cpu;

namespace GanEngine.Kernels;

/// <summary>
/// Warpgroup tensor-core multiply-accumulate (<c>wgmma.mma_async</c>, sm_90a): the four warps of a warpgroup (128
/// consecutive threads) compute a 64 x N tile, D += A * B^T, with both operands read from shared memory. The call only
/// issues the work: <see cref="Fence"/> before a batch, <see cref="Commit"/> after it, <see cref="Wait"/> before the
/// accumulators are read or the operand stages are overwritten. Every thread of the warpgroup calls it with the same
/// offsets (warpgroup-uniform control flow).
/// </summary>
/// <remarks>
/// <para><b>Operand layout</b> (both operands "K-major" with the 128-byte swizzle, the layout whose shared reads are free
/// of bank conflicts): a tile of R rows x 32 k is stored as rows of 32 floats (128 bytes); rows come in atoms of 8 rows
/// (1 KiB), atom i at <c>offset + i * groupStride</c>; within an atom the 16-byte chunk c (k / 4) of row r sits at chunk
/// position <c>c ^ r</c>. Element (r, k) of a tile whose atom 0 starts at index t is at
/// <c>t + (r / 8) groupStride + (r % 8) 32 + ((k / 4) ^ (r % 8)) 4 + k % 4</c>. An operand of one call (8 k) starts at
/// <c>t + 8 s</c> for k step s. Atoms must be 1 KiB aligned: index the tiles from <see cref="AlignedBase"/>.
/// A has 64 rows, B has N rows (B's rows are D's columns).</para>
/// <para><b>Accumulators</b>: thread t of the warpgroup (warp w = t / 32, g = (t % 32) / 4, q = t % 4) holds
/// <c>acc[accOffset + 4 j + e]</c>, j = 0 .. N / 8 - 1, for row <c>16 w + g + 8 (e / 2)</c> and column
/// <c>8 j + 2 q + e % 2</c>: the <see cref="MmaAccumulator"/> layout, one per 8 columns. The offset must be a
/// compile-time constant (the registers are named in the instruction).</para>
/// <para>On OpenCL and the CPU accelerator each thread computes its own accumulators from shared memory at the call
/// (tf32 by truncation, as <see cref="Mma"/>); fence, commit and wait do nothing, one legal schedule of the
/// asynchronous semantics. Generic-proxy shared stores must be made visible with <see cref="SharedFence"/> and a
/// barrier before the call reads them; only the GPU tests can catch a missing one.</para>
/// </remarks>
public static class Wgmma
{
    /// <summary>Threads in a warpgroup.</summary>
    public const int GroupSize = 128;

    /// <summary><c>wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32</c> with A and B in <paramref name="shared"/>
    /// (see the class remarks); <paramref name="accumulate"/> 0 overwrites the accumulators, 1 adds to them.</summary>
    public static void Tf32M64N128K8(Span<float> acc, int accOffset, SharedView<float> shared, int aOffset, int bOffset,
        int groupStride, int accumulate) =>
        WgmmaEmulation.Tf32(CpuThread.Current, acc, accOffset, shared, aOffset, bOffset, groupStride, accumulate, 128);

    /// <summary>The first index of <paramref name="shared"/> at a 1 KiB aligned address (0 to 255; allocate 1 KiB more), the
    /// origin of swizzled tiles. 0 on the CPU accelerator and OpenCL, whose emulation swizzles relative to index 0.</summary>
    public static int AlignedBase(SharedView<float> shared) => 0;

    /// <summary><c>wgmma.fence.sync.aligned</c>: orders this thread's register accesses to the accumulators before the
    /// next <c>wgmma.mma_async</c>. Call before every batch.</summary>
    public static void Fence()
    {
    }

    /// <summary><c>wgmma.commit_group.sync.aligned</c>: closes the batch issued since the last commit into one group.</summary>
    public static void Commit()
    {
    }

    /// <summary><c>wgmma.wait_group.sync.aligned N</c>: waits until at most <paramref name="pendingGroups"/> groups of
    /// this warpgroup are in flight (0 to 7, a constant).</summary>
    public static void Wait(int pendingGroups)
    {
    }

    /// <summary><c>fence.proxy.async.shared::cta</c>: makes this thread's earlier shared-memory stores visible to the
    /// asynchronous proxy that <c>wgmma</c> reads through. Then a barrier, then the call.</summary>
    public static void SharedFence()
    {
    }
}
