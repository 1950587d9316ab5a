using System.Runtime.InteropServices;

namespace GanEngine.Accelerators.Cpu;

/// <summary>
/// Runs kernels' C# bodies on the host: the accelerator that CI tests run on. Device memory is
/// 64-byte aligned native memory (a buffer's handle is its host pointer); streams execute each
/// operation when it is enqueued (see <see cref="CpuStream"/>); a launch spreads its blocks over
/// <see cref="CpuAcceleratorOptions.WorkerCount"/> threads, or runs them in order on the calling
/// thread when <see cref="CpuAcceleratorOptions.Deterministic"/>.
/// </summary>
public sealed class CpuAccelerator : Accelerator
{
    /// <summary>Threads per block, as on NVIDIA GPUs.</summary>
    public const int MaxThreadsPerBlock = 1024;

    /// <summary>Shared memory per block: 227 KiB, the H200's opt-in maximum, so kernels tested on the
    /// CPU also fit there.</summary>
    public const int MaxSharedMemoryPerBlock = 227 * 1024;

    /// <summary>Lanes per warp.</summary>
    public const int WarpSize = 32;

    private readonly CpuKernelScheduler _scheduler;
    private readonly CpuStream _defaultStream;

    public CpuAccelerator()
        : this(CpuAcceleratorOptions.Default)
    {
    }

    public CpuAccelerator(CpuAcceleratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.WorkerCount < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"WorkerCount must be positive (or 0 for one per core), not {options.WorkerCount}.");
        }
        Options = options;
        int workers = options.EffectiveWorkerCount;
        Info = new AcceleratorInfo(
            AcceleratorKind.Cpu,
            options.Deterministic ? "CPU (deterministic)" : $"CPU ({workers} workers)",
            $".NET {Environment.Version} on {RuntimeInformation.OSDescription}",
            MaxThreadsPerBlock,
            MaxSharedMemoryPerBlock,
            WarpSize,
            workers,
            GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            RuntimeInformation.ProcessArchitecture.ToString());
        _scheduler = new CpuKernelScheduler(options.Deterministic ? 1 : workers);
        _defaultStream = new CpuStream(this, _scheduler, isDefault: true);
    }

    /// <summary>The options this accelerator was created with.</summary>
    public CpuAcceleratorOptions Options { get; }

    /// <inheritdoc/>
    public override AcceleratorInfo Info { get; }

    /// <inheritdoc/>
    public override AcceleratorStream DefaultStream => _defaultStream;

    /// <inheritdoc/>
    public override AcceleratorStream CreateStream() => new CpuStream(this, _scheduler, isDefault: false);

    /// <inheritdoc/>
    public override PinnedHostBuffer<T> AllocatePinned<T>(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new CpuPinnedHostBuffer<T>(length);
    }

    /// <summary>Nothing to wait for: every CPU stream operation is complete when its call returns.</summary>
    public override void Synchronize() => CountHostSynchronization();

    /// <inheritdoc/>
    protected internal override nint AllocateMemory(long bytes)
    {
        nint memory = CpuMemory.Allocate(bytes);
        CountDriverAllocation();
        return memory;
    }

    /// <inheritdoc/>
    protected internal override void FreeMemory(nint handle)
    {
        CpuMemory.Free(handle);
        CountDriverFree();
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _defaultStream.DisposeDefault();
        _scheduler.Dispose();
    }
}
