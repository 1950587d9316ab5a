using System.Runtime.CompilerServices;

namespace GanEngine.Kernels.Cpu;

/// <summary>Where a thread stands in a collective on the CPU accelerator.</summary>
public enum CollectivePhase : byte
{
    /// <summary>Not inside a collective; calling one now is an error.</summary>
    None,
    /// <summary>The thread deposits its operands; the intrinsic returns a dummy value.</summary>
    Arrive,
    /// <summary>All threads of the group have arrived; the intrinsic reads the result.</summary>
    Complete,
}

/// <summary>
/// The state of one kernel thread on the CPU accelerator: its indices, its group, and its part in
/// the collective under way. The CPU accelerator sets <see cref="Current"/> before running a thread.
/// </summary>
/// <remarks>
/// Generated CPU code runs a collective statement <c>v = Warp.ShuffleDown(x, 1);</c> as:
/// <c>CpuThread.Current.Phase = Arrive; Warp.ShuffleDown(x, 1); yield return 0; v = Warp.ShuffleDown(x, 1);</c>.
/// In the arrive phase the intrinsic deposits its operands in this thread's exchange slot; the
/// scheduler resumes threads only when every thread of the group has arrived, with the phase set
/// to <see cref="CollectivePhase.Complete"/>; the intrinsic then reads the other threads' slots
/// and resets the phase. Slots alternate between two banks per collective, so a fast thread that
/// deposits for the next collective never overwrites operands a slow thread still reads.
/// </remarks>
public sealed class CpuThread
{
    /// <summary>32-bit words of exchange space per thread and bank (an <c>mma</c> needs 10).</summary>
    public const int ExchangeWords = 16;

    [ThreadStatic]
    private static CpuThread? t_current;

    public CpuThread(CpuGroup group, int linearId)
    {
        Group = group;
        LinearId = linearId;
    }

    /// <summary>The thread running on this OS thread.</summary>
    public static CpuThread Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_current ?? ThrowNoThread();
    }

    /// <summary>Makes <paramref name="thread"/> the current kernel thread of this OS thread.</summary>
    public static void SetCurrent(CpuThread? thread) => t_current = thread;

    public CpuGroup Group { get; }

    /// <summary>Index of the thread in its block: x + y * BlockDim.X + z * BlockDim.X * BlockDim.Y.</summary>
    public int LinearId { get; }

    public Dim3 ThreadIdx;
    public Dim3 BlockIdx;

    public CollectivePhase Phase;

    /// <summary>How many collectives this thread has completed (selects the exchange bank).</summary>
    public int CollectiveCount;

    /// <summary>Next free byte of static shared memory for this thread's <c>Shared.Allocate</c> calls.</summary>
    public int SharedCursor;

    public int LaneId => LinearId & 31;

    public int WarpId => LinearId >> 5;

    /// <summary>This thread's exchange slot in the bank of the collective under way.</summary>
    public Span<uint> ExchangeSlot => Group.ExchangeSlot(LinearId, CollectiveCount & 1);

    /// <summary>Thread <paramref name="linearId"/>'s slot in the bank of this thread's collective.</summary>
    public Span<uint> PeerSlot(int linearId) => Group.ExchangeSlot(linearId, CollectiveCount & 1);

    /// <summary>Ends the collective for this thread (called by intrinsics in the complete phase).</summary>
    public void FinishCollective()
    {
        Phase = CollectivePhase.None;
        CollectiveCount++;
    }

    /// <summary>Throws unless the thread is inside a collective (a collective reached outside the
    /// group-synchronous scheduler is a generator or runtime bug, never silently wrong results).</summary>
    public void RequireCollective(string name)
    {
        if (Phase == CollectivePhase.None)
        {
            throw new InvalidOperationException(
                $"{name} was called outside a group-synchronous launch: collectives must be statements in the kernel itself.");
        }
    }

    private static CpuThread ThrowNoThread() =>
        throw new InvalidOperationException("Kernel intrinsics can only be called from a kernel running on the CPU accelerator.");
}

/// <summary>
/// One thread block on the CPU accelerator: its extents, shared memory and exchange space.
/// Owned and reused by the CPU accelerator's worker; shared memory is poisoned at group start.
/// </summary>
public sealed class CpuGroup
{
    private uint[] _exchange = [];

    public Dim3 BlockDim;
    public Dim3 GridDim;

    /// <summary>Start of this group's static shared memory arena (host memory, 16-byte aligned).</summary>
    public nint SharedArena;

    /// <summary>Size of the static arena in bytes.</summary>
    public int SharedArenaBytes;

    /// <summary>Start of the dynamic shared memory (host memory, 16-byte aligned).</summary>
    public nint DynamicShared;

    /// <summary>Size of the dynamic shared memory in bytes (from the launch).</summary>
    public int DynamicSharedBytes;

    /// <summary>Number of threads in the block.</summary>
    public int ThreadCount => (int)BlockDim.Product;

    /// <summary>Sizes the exchange space for <paramref name="threads"/> threads.</summary>
    public void EnsureExchange(int threads)
    {
        int words = threads * CpuThread.ExchangeWords * 2;
        if (_exchange.Length < words)
        {
            _exchange = new uint[words];
        }
    }

    public Span<uint> ExchangeSlot(int linearId, int bank) =>
        _exchange.AsSpan(((linearId * 2) + bank) * CpuThread.ExchangeWords, CpuThread.ExchangeWords);
}
