using System.Runtime.CompilerServices;
using GanEngine.Kernels;
using GanEngine.Kernels.Cpu;

namespace GanEngine.Accelerators.Cpu;

/// <summary>
/// One worker's machinery for running thread blocks: a reused <see cref="CpuGroup"/>, one
/// <see cref="CpuThread"/> per possible thread of a block, the shared-memory arenas, and the
/// enumerator slots of group-synchronous execution. Not thread-safe: one OS thread uses a runner
/// at a time (the scheduler rents them out).
/// </summary>
internal sealed unsafe class CpuGroupRunner : IDisposable
{
    private const byte Poison = 0xFF;

    private readonly CpuGroup _group = new();
    private readonly CpuThread[] _threads = new CpuThread[CpuAccelerator.MaxThreadsPerBlock];
    private readonly IEnumerator<int>?[] _enumerators = new IEnumerator<int>?[CpuAccelerator.MaxThreadsPerBlock];

    private byte* _staticArena;
    private byte* _dynamicArena;
    private int _dynamicCapacity;

    // Bytes of each arena that kernel code may have written since they were last poisoned.
    private int _staticDirty;
    private int _dynamicDirty;

    // The block shape the threads' ThreadIdx fields currently describe.
    private Dim3 _threadShape;
    private int _threadCount;

    public CpuGroupRunner()
    {
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new CpuThread(_group, i);
        }
        _staticArena = (byte*)CpuMemory.Allocate(CpuAccelerator.MaxSharedMemoryPerBlock);
        CpuMemory.Fill((nint)_staticArena, CpuAccelerator.MaxSharedMemoryPerBlock, Poison);
        _group.SharedArena = (nint)_staticArena;
        _group.SharedArenaBytes = CpuAccelerator.MaxSharedMemoryPerBlock;
    }

    /// <summary>Prepares the group and threads for blocks of <paramref name="config"/>.</summary>
    public void Configure(in LaunchConfig config)
    {
        _group.GridDim = config.Grid;
        _group.BlockDim = config.Block;
        int dynamicBytes = config.DynamicSharedBytes;
        if (dynamicBytes > _dynamicCapacity)
        {
            CpuMemory.Free((nint)_dynamicArena);
            _dynamicArena = null;
            _dynamicCapacity = 0;
            _dynamicDirty = 0;
            int capacity = Math.Max(dynamicBytes, 4096);
            _dynamicArena = (byte*)CpuMemory.Allocate(capacity);
            CpuMemory.Fill((nint)_dynamicArena, capacity, Poison);
            _dynamicCapacity = capacity;
        }
        _group.DynamicShared = (nint)_dynamicArena;
        _group.DynamicSharedBytes = dynamicBytes;

        if (config.Block != _threadShape)
        {
            var block = config.Block;
            int linear = 0;
            for (int z = 0; z < block.Z; z++)
            {
                for (int y = 0; y < block.Y; y++)
                {
                    for (int x = 0; x < block.X; x++)
                    {
                        _threads[linear++].ThreadIdx = new Dim3(x, y, z);
                    }
                }
            }
            _threadShape = block;
            _threadCount = linear;
        }
    }

    /// <summary>Poisons (0xFF: NaN for floats) every byte of shared memory the previous block may have
    /// written, plus this launch's dynamic shared memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PoisonShared()
    {
        if (_staticDirty > 0)
        {
            CpuMemory.Fill((nint)_staticArena, _staticDirty, Poison);
            _staticDirty = 0;
        }
        int dynamicBytes = Math.Max(_dynamicDirty, _group.DynamicSharedBytes);
        if (dynamicBytes > 0)
        {
            CpuMemory.Fill((nint)_dynamicArena, dynamicBytes, Poison);
        }
        _dynamicDirty = _group.DynamicSharedBytes;
    }

    /// <summary>Runs block <paramref name="blockIdx"/> of a kernel without collectives: the body once
    /// per thread, x fastest, then y, then z.</summary>
    public void RunIndependent(KernelDefinition kernel, Action body, Dim3 blockIdx)
    {
        PoisonShared();
        var threads = _threads;
        int count = _threadCount;
        int used = 0;
        int i = 0;
        try
        {
            for (; i < count; i++)
            {
                var thread = threads[i];
                thread.BlockIdx = blockIdx;
                thread.SharedCursor = 0;
                thread.Phase = CollectivePhase.None;
                CpuThread.SetCurrent(thread);
                body();
                if (thread.SharedCursor > used)
                {
                    used = thread.SharedCursor;
                }
            }
        }
        catch (Exception e)
        {
            _staticDirty = CpuAccelerator.MaxSharedMemoryPerBlock;
            throw new KernelExecutionException(kernel, blockIdx, threads[i].ThreadIdx, e);
        }
        _staticDirty = used;
    }

    /// <summary>
    /// Runs block <paramref name="blockIdx"/> of a kernel with collectives: every thread's iterator
    /// is advanced to its next collective (a <c>yield</c>); when all have arrived, the collective is
    /// completed (<see cref="CollectivePhase.Complete"/>) and the next round starts. Threads that
    /// finish while others wait at a collective are a divergent collective: an error.
    /// </summary>
    public void RunSynchronous(KernelDefinition kernel, Func<IEnumerable<int>> body, Dim3 blockIdx)
    {
        PoisonShared();
        var threads = _threads;
        var enumerators = _enumerators;
        int count = _threadCount;
        _group.EnsureExchange(count);
        int i = 0;
        bool completed = false;
        try
        {
            for (; i < count; i++)
            {
                var thread = threads[i];
                thread.BlockIdx = blockIdx;
                thread.SharedCursor = 0;
                thread.Phase = CollectivePhase.None;
                thread.CollectiveCount = 0;
                CpuThread.SetCurrent(thread);
                enumerators[i] = body().GetEnumerator();
            }

            while (true)
            {
                int waiting = 0;
                int finished = 0;
                for (i = 0; i < count; i++)
                {
                    var thread = threads[i];
                    CpuThread.SetCurrent(thread);
                    if (enumerators[i]!.MoveNext())
                    {
                        waiting++;
                    }
                    else
                    {
                        finished++;
                    }
                }
                if (waiting == 0)
                {
                    completed = true;
                    break;
                }
                if (finished > 0)
                {
                    i = -1;
                    throw new InvalidOperationException(
                        $"Kernel {kernel.Name}: threads of block {blockIdx} diverged at a collective: {finished} finished while {waiting} wait at a barrier/collective. " +
                        "Collectives (Group.Barrier, Warp.*, Mma.*) must be reached by every thread of the block (block-uniform control flow).");
                }
                for (int t = 0; t < count; t++)
                {
                    threads[t].Phase = CollectivePhase.Complete;
                }
            }
        }
        catch (Exception e) when (i >= 0)
        {
            _staticDirty = CpuAccelerator.MaxSharedMemoryPerBlock;
            throw new KernelExecutionException(kernel, blockIdx, threads[Math.Min(i, count - 1)].ThreadIdx, e);
        }
        finally
        {
            // Finished iterators need no Dispose; after an error the others get one (their finally blocks).
            int used = 0;
            for (int t = 0; t < count; t++)
            {
                var enumerator = enumerators[t];
                enumerators[t] = null;
                if (!completed)
                {
                    enumerator?.Dispose();
                }
                if (threads[t].SharedCursor > used)
                {
                    used = threads[t].SharedCursor;
                }
            }
            _staticDirty = Math.Max(_staticDirty, used);
        }
    }

    public void Dispose()
    {
        CpuMemory.Free((nint)_staticArena);
        _staticArena = null;
        CpuMemory.Free((nint)_dynamicArena);
        _dynamicArena = null;
        _dynamicCapacity = 0;
        _group.SharedArena = 0;
        _group.DynamicShared = 0;
    }
}
