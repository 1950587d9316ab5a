using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using GanEngine.Kernels;

namespace GanEngine.Accelerators;

/// <summary>
/// An in-order queue of device work (CUDA stream, OpenCL command queue, or the CPU's in-order
/// executor). Launches and async copies return immediately; <see cref="Synchronize"/> waits.
/// </summary>
public abstract class AcceleratorStream : IKernelLauncher, IDisposable
{
    protected AcceleratorStream(Accelerator accelerator) => Accelerator = accelerator;

    public Accelerator Accelerator { get; }

    /// <inheritdoc/>
    public abstract void Launch(KernelDefinition kernel, in LaunchConfig config, ReadOnlySpan<KernelArgument> arguments);

    /// <summary>Waits until all work enqueued so far has finished.</summary>
    public abstract void Synchronize();

    /// <summary>Records an event after the work enqueued so far.</summary>
    public abstract AcceleratorEvent RecordEvent();

    /// <summary>Makes later work on this stream wait for <paramref name="evt"/> (no host wait).</summary>
    public abstract void WaitFor(AcceleratorEvent evt);

    /// <summary>Copies from pageable host memory; returns when <paramref name="source"/> may be reused.</summary>
    public void CopyToDevice<T>(ReadOnlySpan<T> source, ArrayView<T> destination) where T : unmanaged
    {
        RequireSameLength(source.Length, destination.Length);
        CopyHostToDevice(MemoryMarshal.AsBytes(source), destination.Handle, destination.Offset * Unsafe.SizeOf<T>());
    }

    /// <summary>Copies to pageable host memory; waits for the work before it on this stream.</summary>
    public void CopyToHost<T>(ReadOnlyView<T> source, Span<T> destination) where T : unmanaged
    {
        RequireSameLength(source.Length, destination.Length);
        CopyDeviceToHost(source.Handle, source.Offset * Unsafe.SizeOf<T>(), MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Enqueues a copy from pinned host memory; the host must not touch it until the stream passes it.</summary>
    public void CopyToDeviceAsync<T>(PinnedHostBuffer<T> source, ArrayView<T> destination) where T : unmanaged
    {
        RequireSameLength(source.Length, destination.Length);
        CopyPinnedToDeviceAsync(source.Pointer, destination.Handle, destination.Offset * Unsafe.SizeOf<T>(), (long)source.Length * Unsafe.SizeOf<T>());
    }

    /// <summary>Enqueues a copy into pinned host memory; read it after an event or synchronisation.</summary>
    public void CopyToHostAsync<T>(ReadOnlyView<T> source, PinnedHostBuffer<T> destination) where T : unmanaged
    {
        RequireSameLength(source.Length, destination.Length);
        CopyDeviceToPinnedAsync(source.Handle, source.Offset * Unsafe.SizeOf<T>(), destination.Pointer, (long)source.Length * Unsafe.SizeOf<T>());
    }

    /// <summary>Enqueues a device-to-device copy.</summary>
    public void Copy<T>(ReadOnlyView<T> source, ArrayView<T> destination) where T : unmanaged
    {
        RequireSameLength(source.Length, destination.Length);
        int size = Unsafe.SizeOf<T>();
        CopyDeviceToDevice(source.Handle, source.Offset * size, destination.Handle, destination.Offset * size, (long)source.Length * size);
    }

    /// <summary>Enqueues setting every byte of <paramref name="destination"/> to <paramref name="value"/>.</summary>
    public void FillBytes<T>(ArrayView<T> destination, byte value) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        FillDeviceBytes(destination.Handle, destination.Offset * size, (long)destination.Length * size, value);
    }

    protected abstract void CopyHostToDevice(ReadOnlySpan<byte> source, nint destination, long destinationByteOffset);

    protected abstract void CopyDeviceToHost(nint source, long sourceByteOffset, Span<byte> destination);

    protected abstract void CopyPinnedToDeviceAsync(nint source, nint destination, long destinationByteOffset, long bytes);

    protected abstract void CopyDeviceToPinnedAsync(nint source, long sourceByteOffset, nint destination, long bytes);

    protected abstract void CopyDeviceToDevice(nint source, long sourceByteOffset, nint destination, long destinationByteOffset, long bytes);

    protected abstract void FillDeviceBytes(nint destination, long byteOffset, long bytes, byte value);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);

    private static void RequireSameLength(int source, int destination)
    {
        if (source != destination)
        {
            throw new ArgumentException($"Copy between {source} and {destination} elements: lengths must match.");
        }
    }
}

/// <summary>A point in a stream: for timing (<see cref="ElapsedMilliseconds"/>) and cross-stream ordering.</summary>
public abstract class AcceleratorEvent : IDisposable
{
    /// <summary>Waits on the host until the stream has passed this event.</summary>
    public abstract void Synchronize();

    /// <summary>True once the stream has passed this event.</summary>
    public abstract bool IsComplete { get; }

    /// <summary>Device time between two events of the same accelerator, in milliseconds.</summary>
    public static float ElapsedMilliseconds(AcceleratorEvent start, AcceleratorEvent end)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(end);
        return end.MillisecondsSince(start);
    }

    /// <summary>Milliseconds from <paramref name="start"/> to this event; both must be complete.</summary>
    protected abstract float MillisecondsSince(AcceleratorEvent start);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
