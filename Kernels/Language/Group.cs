using GanEngine.Kernels.Cpu;

namespace GanEngine.Kernels;

/// <summary>Block-wide synchronisation.</summary>
public static class Group
{
    /// <summary>
    /// <c>__syncthreads()</c> / <c>barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)</c>: waits until every
    /// thread of the block has reached it; shared and global writes before it are visible after it.
    /// Must be reached by all threads of the block (uniform control flow; the generator checks).
    /// </summary>
    public static void Barrier()
    {
        var thread = CpuThread.Current;
        thread.RequireCollective(nameof(Barrier));
        if (thread.Phase == CollectivePhase.Complete)
        {
            thread.FinishCollective();
        }
    }
}

/// <summary>Shared (block-local) memory.</summary>
public static class Shared
{
    /// <summary>
    /// A statically sized shared array (<c>__shared__ T name[count]</c>). <paramref name="count"/>
    /// must be a constant expression of literals, constants and specialization parameters, and the
    /// call must be a local's initializer at the kernel's top level.
    /// </summary>
    public static SharedView<T> Allocate<T>(int count) where T : unmanaged
    {
        var thread = CpuThread.Current;
        var group = thread.Group;
        int bytes = checked(count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        int start = thread.SharedCursor;
        int end = (start + bytes + 15) & ~15;
        if (count < 0 || end > group.SharedArenaBytes)
        {
            throw new InvalidOperationException(
                $"Static shared memory request of {count} x {typeof(T).Name} exceeds the CPU accelerator's {group.SharedArenaBytes}-byte arena.");
        }
        thread.SharedCursor = end;
        return new SharedView<T>(group.SharedArena + start, count);
    }

    /// <summary>The dynamic shared memory of the launch (<see cref="LaunchConfig.DynamicSharedBytes"/>),
    /// seen as elements of <typeparamref name="T"/>.</summary>
    public static SharedView<T> Dynamic<T>() where T : unmanaged
    {
        var group = CpuThread.Current.Group;
        return new SharedView<T>(group.DynamicShared, group.DynamicSharedBytes / System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
    }
}
