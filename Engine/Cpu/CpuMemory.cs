using System.Runtime.InteropServices;

namespace GanEngine.Accelerators.Cpu;

/// <summary>Host memory for the CPU accelerator: device buffers, pinned buffers and shared-memory arenas
/// are 64-byte aligned native allocations (the handle of a device buffer is its host pointer).</summary>
internal static unsafe class CpuMemory
{
    public const int Alignment = 64;

    public static nint Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        void* pointer;
        try
        {
            pointer = NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
        }
        catch (OutOfMemoryException e)
        {
            throw new OutOfMemoryException($"The CPU accelerator could not allocate {bytes} bytes.", e);
        }
        return (nint)pointer;
    }

    public static void Free(nint pointer)
    {
        if (pointer != 0)
        {
            NativeMemory.AlignedFree((void*)pointer);
        }
    }

    public static void Copy(nint source, nint destination, long bytes)
    {
        if (bytes > 0)
        {
            Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes);
        }
    }

    public static void Fill(nint destination, long bytes, byte value)
    {
        if (bytes > 0)
        {
            NativeMemory.Fill((void*)destination, (nuint)bytes, value);
        }
    }
}

/// <summary>A pinned host buffer of the CPU accelerator: plain native memory (already "page-locked"
/// for all the CPU cares).</summary>
internal sealed class CpuPinnedHostBuffer<T> : PinnedHostBuffer<T> where T : unmanaged
{
    public CpuPinnedHostBuffer(int length)
        : base(CpuMemory.Allocate(Math.Max((long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), 1)), length)
    {
    }

    protected override void Free(nint pointer) => CpuMemory.Free(pointer);
}
