using System.Runtime.CompilerServices;
using GanEngine.Kernels;

namespace GanEngine.Accelerators;

/// <summary>The kinds of accelerator GanEngine runs kernels on.</summary>
public enum AcceleratorKind
{
    Cpu,
    Cuda,
    OpenCL,
}

/// <summary>What an accelerator can do, read from the device.</summary>
public sealed record AcceleratorInfo(
    AcceleratorKind Kind,
    string Name,
    string Platform,
    int MaxThreadsPerBlock,
    int MaxSharedMemoryPerBlock,
    int WarpSize,
    int MultiprocessorCount,
    long GlobalMemoryBytes,
    string Architecture)
{
    public override string ToString() =>
        $"{Kind} | {Name} | {Platform} | {Architecture} | {MultiprocessorCount} units | {GlobalMemoryBytes / (1 << 20)} MiB | max {MaxThreadsPerBlock} threads/block, {MaxSharedMemoryPerBlock / 1024} KiB shared";
}

/// <summary>How often kernels were compiled or found in a cache.</summary>
public sealed class KernelCompileStatistics
{
    private long _compiled;
    private long _loadedFromDisk;
    private long _loadedFromMemory;

    /// <summary>Kernels compiled from source (NVRTC or the OpenCL driver).</summary>
    public long Compiled => Interlocked.Read(ref _compiled);

    /// <summary>Kernels loaded from the on-disk cache.</summary>
    public long LoadedFromDisk => Interlocked.Read(ref _loadedFromDisk);

    /// <summary>Launches that found the kernel already loaded in this process.</summary>
    public long LoadedFromMemory => Interlocked.Read(ref _loadedFromMemory);

    public void CountCompiled() => Interlocked.Increment(ref _compiled);

    public void CountLoadedFromDisk() => Interlocked.Increment(ref _loadedFromDisk);

    public void CountLoadedFromMemory() => Interlocked.Increment(ref _loadedFromMemory);

    public override string ToString() => $"compiled {Compiled}, from disk cache {LoadedFromDisk}, from memory {LoadedFromMemory}";
}

/// <summary>
/// A device that runs kernels: the CPU, a CUDA GPU or an OpenCL device. Owns device memory, streams
/// and compiled kernels. Launching on the accelerator itself enqueues on <see cref="DefaultStream"/>.
/// </summary>
public abstract class Accelerator : IKernelLauncher, IDisposable
{
    private bool _disposed;
    private long _driverAllocations;
    private long _driverFrees;
    private long _hostSynchronizations;
    private long _kernelLaunches;

    /// <summary>Calls to the driver that allocated device memory (<c>cuMemAlloc</c>, <c>clCreateBuffer</c>,
    /// the CPU's aligned allocation), since the accelerator was created. Thread-safe.</summary>
    public long DriverAllocations => Interlocked.Read(ref _driverAllocations);

    /// <summary>Calls to the driver that freed device memory. Thread-safe.</summary>
    public long DriverFrees => Interlocked.Read(ref _driverFrees);

    /// <summary>Times the host waited for the device: accelerator, stream and event synchronisation, and
    /// copies to or from pageable host memory (which block). Counted on the CPU accelerator at the same
    /// places, although there is nothing to wait for there, so that tests can assert on any accelerator.</summary>
    public long HostSynchronizations => Interlocked.Read(ref _hostSynchronizations);

    /// <summary>Kernels enqueued on any stream of this accelerator since it was created (counted by every
    /// backend at the same place, so that tests can assert how many launches a step makes). Thread-safe.</summary>
    public long KernelLaunches => Interlocked.Read(ref _kernelLaunches);

    /// <summary>Backends call this where they ask the driver for device memory.</summary>
    protected internal void CountDriverAllocation() => Interlocked.Increment(ref _driverAllocations);

    /// <summary>Backends call this where they return device memory to the driver.</summary>
    protected internal void CountDriverFree() => Interlocked.Increment(ref _driverFrees);

    /// <summary>Backends call this wherever the host waits for the device.</summary>
    protected internal void CountHostSynchronization() => Interlocked.Increment(ref _hostSynchronizations);

    /// <summary>Backends call this for every kernel they enqueue.</summary>
    protected internal void CountKernelLaunch() => Interlocked.Increment(ref _kernelLaunches);

    public abstract AcceleratorInfo Info { get; }

    public AcceleratorKind Kind => Info.Kind;

    public string Name => Info.Name;

    /// <summary>The stream that <see cref="Launch"/> and the buffer helpers use.</summary>
    public abstract AcceleratorStream DefaultStream { get; }

    /// <summary>Compilation and cache counters (zero on the CPU, which runs the C# itself).</summary>
    public KernelCompileStatistics CompileStatistics { get; } = new();

    /// <summary>A new, independent stream.</summary>
    public abstract AcceleratorStream CreateStream();

    /// <summary>Allocates <paramref name="length"/> elements of device memory (contents undefined).</summary>
    public DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long bytes = (long)length * Unsafe.SizeOf<T>();
        return new DeviceBuffer<T>(this, AllocateMemory(Math.Max(bytes, 1)), length);
    }

    /// <summary>Allocates device memory and fills it from <paramref name="source"/>.</summary>
    public DeviceBuffer<T> Allocate<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        var buffer = Allocate<T>(source.Length);
        buffer.CopyFromHost(source);
        return buffer;
    }

    /// <summary>Host memory that the device can copy from and to asynchronously (page-locked on CUDA).</summary>
    public abstract PinnedHostBuffer<T> AllocatePinned<T>(int length) where T : unmanaged;

    /// <inheritdoc/>
    public void Launch(KernelDefinition kernel, in LaunchConfig config, ReadOnlySpan<KernelArgument> arguments) =>
        DefaultStream.Launch(kernel, config, arguments);

    /// <summary>Waits until all work on all streams of this accelerator has finished.</summary>
    public abstract void Synchronize();

    /// <summary>Allocates raw device memory; returns its handle (device pointer, host pointer or cl_mem).</summary>
    protected internal abstract nint AllocateMemory(long bytes);

    /// <summary>Frees memory from <see cref="AllocateMemory"/>.</summary>
    protected internal abstract void FreeMemory(nint handle);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);

    public override string ToString() => Info.ToString();
}
