using GanEngine.Kernels;

namespace GanEngine.Accelerators.Cpu;

/// <summary>
/// A stream of the CPU accelerator: an in-order queue in which enqueueing an operation runs it.
/// </summary>
/// <remarks>
/// Every operation (launch, copy, fill) executes synchronously on the calling thread when it is
/// enqueued (a launch spreads its blocks over the accelerator's workers and returns when all are
/// done), so when a method returns, the stream has passed it. In-order execution holds trivially,
/// events are complete when recorded (their time is the host's <see cref="System.Diagnostics.Stopwatch"/>),
/// <see cref="WaitFor"/> and <see cref="Synchronize"/> have nothing to wait for, and "asynchronous"
/// copies are finished when they return. Several host threads may use different streams at once.
/// </remarks>
public sealed class CpuStream : AcceleratorStream
{
    private readonly CpuAccelerator _accelerator;
    private readonly CpuKernelScheduler _scheduler;
    private readonly bool _isDefault;
    private bool _disposed;

    internal CpuStream(CpuAccelerator accelerator, CpuKernelScheduler scheduler, bool isDefault)
        : base(accelerator)
    {
        _accelerator = accelerator;
        _scheduler = scheduler;
        _isDefault = isDefault;
    }

    /// <inheritdoc/>
    public override void Launch(KernelDefinition kernel, in LaunchConfig config, ReadOnlySpan<KernelArgument> arguments)
    {
        ThrowIfDisposed();
        LaunchValidator.Validate(kernel, config, arguments, _accelerator.Info);
        var body = kernel.Cpu(arguments)
            ?? throw new InvalidOperationException($"The CPU entry point of {kernel.Name} returned no body.");
        _accelerator.CountKernelLaunch();
        if (!LaunchProfile.Enabled)
        {
            _scheduler.Run(kernel, config, body);
            return;
        }
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        _scheduler.Run(kernel, config, body);
        LaunchProfile.Add(LaunchProfile.Key(kernel.Name, config), System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds,
            config.Grid.Product * config.Block.Product);
    }

    /// <inheritdoc/>
    public override void Synchronize()
    {
        ThrowIfDisposed();
        _accelerator.CountHostSynchronization();
    }

    /// <inheritdoc/>
    public override AcceleratorEvent RecordEvent()
    {
        ThrowIfDisposed();
        return new CpuEvent(_accelerator, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    /// <inheritdoc/>
    public override void WaitFor(AcceleratorEvent evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ThrowIfDisposed();
        if (evt is not CpuEvent)
        {
            throw new ArgumentException($"A CPU stream cannot wait for a {evt.GetType().Name}.", nameof(evt));
        }
    }

    /// <inheritdoc/>
    protected override unsafe void CopyHostToDevice(ReadOnlySpan<byte> source, nint destination, long destinationByteOffset)
    {
        ThrowIfDisposed();
        _accelerator.CountHostSynchronization(); // pageable copies block on GPUs; counted alike here
        source.CopyTo(new Span<byte>((byte*)destination + destinationByteOffset, source.Length));
    }

    /// <inheritdoc/>
    protected override unsafe void CopyDeviceToHost(nint source, long sourceByteOffset, Span<byte> destination)
    {
        ThrowIfDisposed();
        _accelerator.CountHostSynchronization();
        new ReadOnlySpan<byte>((byte*)source + sourceByteOffset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc/>
    protected override void CopyPinnedToDeviceAsync(nint source, nint destination, long destinationByteOffset, long bytes)
    {
        ThrowIfDisposed();
        CpuMemory.Copy(source, destination + (nint)destinationByteOffset, bytes);
    }

    /// <inheritdoc/>
    protected override void CopyDeviceToPinnedAsync(nint source, long sourceByteOffset, nint destination, long bytes)
    {
        ThrowIfDisposed();
        CpuMemory.Copy(source + (nint)sourceByteOffset, destination, bytes);
    }

    /// <inheritdoc/>
    protected override void CopyDeviceToDevice(nint source, long sourceByteOffset, nint destination, long destinationByteOffset, long bytes)
    {
        ThrowIfDisposed();
        // Buffer.MemoryCopy handles overlapping ranges (memmove), so copies within one buffer are safe.
        CpuMemory.Copy(source + (nint)sourceByteOffset, destination + (nint)destinationByteOffset, bytes);
    }

    /// <inheritdoc/>
    protected override void FillDeviceBytes(nint destination, long byteOffset, long bytes, byte value)
    {
        ThrowIfDisposed();
        CpuMemory.Fill(destination + (nint)byteOffset, bytes, value);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        // The default stream belongs to the accelerator and lives as long as it does.
        if (!_isDefault)
        {
            _disposed = true;
        }
    }

    internal void DisposeDefault() => _disposed = true;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
