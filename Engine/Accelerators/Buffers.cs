using System.Runtime.CompilerServices;
using GanEngine.Kernels;

namespace GanEngine.Accelerators;

/// <summary>
/// Device memory owned by the code that allocated it: freed by <see cref="Dispose"/>, never by a
/// finalizer (so that memory is returned deterministically, not whenever the GC runs).
/// </summary>
public sealed class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    private nint _handle;

    internal DeviceBuffer(Accelerator accelerator, nint handle, int length)
    {
        Accelerator = accelerator;
        _handle = handle;
        Length = length;
    }

    public Accelerator Accelerator { get; }

    public int Length { get; }

    public long SizeInBytes => (long)Length * Unsafe.SizeOf<T>();

    /// <summary>The whole buffer as a read-write kernel argument.</summary>
    public ArrayView<T> View => new(LiveHandle, 0, Length);

    /// <summary>The whole buffer as a read-only kernel argument.</summary>
    public ReadOnlyView<T> ReadOnly => new(LiveHandle, 0, Length);

    public static implicit operator ArrayView<T>(DeviceBuffer<T> buffer) => buffer.View;

    public static implicit operator ReadOnlyView<T>(DeviceBuffer<T> buffer) => buffer.ReadOnly;

    /// <summary>Copies <paramref name="source"/> in (default stream; returns when the source may be reused).</summary>
    public void CopyFromHost(ReadOnlySpan<T> source) => Accelerator.DefaultStream.CopyToDevice(source, View);

    /// <summary>Copies the contents out (default stream; waits for earlier work on it).</summary>
    public void CopyToHost(Span<T> destination) => Accelerator.DefaultStream.CopyToHost(ReadOnly, destination);

    /// <summary>The contents as a new array (waits for earlier work on the default stream).</summary>
    public T[] ToArray()
    {
        var result = new T[Length];
        CopyToHost(result);
        return result;
    }

    public void Dispose()
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            Accelerator.FreeMemory(handle);
        }
    }

    private nint LiveHandle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(DeviceBuffer<T>));
}

/// <summary>Host memory for asynchronous copies (page-locked on CUDA). Freed by <see cref="Dispose"/>.</summary>
public abstract class PinnedHostBuffer<T> : IDisposable where T : unmanaged
{
    protected PinnedHostBuffer(nint pointer, int length)
    {
        Pointer = pointer;
        Length = length;
    }

    /// <summary>Start of the memory.</summary>
    public nint Pointer { get; private set; }

    public int Length { get; }

    /// <summary>The memory as a span; do not touch it while an async copy is in flight.</summary>
    public unsafe Span<T> Span => Pointer != 0 ? new Span<T>((void*)Pointer, Length) : throw new ObjectDisposedException(GetType().Name);

    public void Dispose()
    {
        if (Pointer != 0)
        {
            Free(Pointer);
            Pointer = 0;
        }
        GC.SuppressFinalize(this);
    }

    protected abstract void Free(nint pointer);
}
