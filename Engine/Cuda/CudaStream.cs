using GanEngine.Kernels;

namespace GanEngine.Accelerators.Cuda;

/// <summary>
/// A CUDA stream (created non-blocking, so it never serialises with the legacy NULL stream).
/// <see cref="Launch"/> and the async copies only enqueue: no host synchronisation, so a sequence
/// of launches can be captured into a CUDA graph. Copies to and from pageable memory wait.
/// </summary>
public sealed unsafe class CudaStream : AcceleratorStream
{
    /// <summary>Most arguments a launch takes (kernel parameter storage is on the stack).</summary>
    public const int MaxArguments = 128;

    private readonly CudaAccelerator _accelerator;
    private readonly bool _isDefault;
    private nint _handle;

    internal CudaStream(CudaAccelerator accelerator, nint handle, bool isDefault)
        : base(accelerator)
    {
        _accelerator = accelerator;
        _handle = handle;
        _isDefault = isDefault;
    }

    /// <summary>The <c>CUstream</c>.</summary>
    public nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(CudaStream));

    public override void Launch(KernelDefinition kernel, in LaunchConfig config, ReadOnlySpan<KernelArgument> arguments)
    {
        LaunchValidator.Validate(kernel, config, arguments, _accelerator.Info);
        if (arguments.Length > MaxArguments)
        {
            throw new ArgumentException($"Cannot launch {kernel.Name}: {arguments.Length} arguments, at most {MaxArguments}.");
        }
        nint stream = Handle;
        _accelerator.MakeCurrent();
        var function = _accelerator.GetFunction(kernel, arguments);
        function.EnsureDynamicShared(config.DynamicSharedBytes);

        // Parameter storage per the device ABI: 8-byte slots; a view takes two (pointer, int
        // length), a scalar ceil(size/8), a specialization none. At most 64 bytes per argument.
        ulong* storage = stackalloc ulong[Math.Max(1, arguments.Length * (KernelArgument.MaxScalarBytes / 8))];
        void** parameters = stackalloc void*[Math.Max(1, arguments.Length * 2)];
        int count = 0;
        int slot = 0;
        for (int i = 0; i < arguments.Length; i++)
        {
            ref readonly var argument = ref arguments[i];
            switch (argument.Kind)
            {
                case KernelArgumentKind.Buffer:
                case KernelArgumentKind.ReadOnlyBuffer:
                    storage[slot] = unchecked((ulong)argument.Handle + (ulong)(argument.Offset * argument.ElementSize));
                    parameters[count++] = &storage[slot++];
                    storage[slot] = 0;
                    *(int*)&storage[slot] = argument.Length;
                    parameters[count++] = &storage[slot++];
                    break;
                case KernelArgumentKind.Scalar:
                    var bytes = argument.ScalarSpan;
                    var destination = new Span<byte>(&storage[slot], bytes.Length);
                    bytes.CopyTo(destination);
                    parameters[count++] = &storage[slot];
                    slot += (bytes.Length + 7) / 8;
                    break;
                case KernelArgumentKind.Specialization:
                    break;
            }
        }
        CudaEvent? before = null;
        if (LaunchProfile.Enabled)
        {
            before = new CudaEvent(_accelerator);
            before.Record(stream);
        }
        CudaDriver.Check(
            CudaDriver.cuLaunchKernel(
                function.Handle,
                (uint)config.Grid.X, (uint)config.Grid.Y, (uint)config.Grid.Z,
                (uint)config.Block.X, (uint)config.Block.Y, (uint)config.Block.Z,
                (uint)config.DynamicSharedBytes, stream, parameters, null),
            "cuLaunchKernel");
        _accelerator.CountKernelLaunch();
        if (before is not null)
        {
            var after = new CudaEvent(_accelerator);
            after.Record(stream);
            if (!LaunchProfile.AddPending(LaunchProfile.Key(kernel.Name, config), config.Grid.Product * config.Block.Product, before, after))
            {
                before.Dispose();
                after.Dispose();
            }
        }
    }

    public override void Synchronize()
    {
        _accelerator.MakeCurrent();
        _accelerator.CountHostSynchronization();
        CudaDriver.Check(CudaDriver.cuStreamSynchronize(Handle), "cuStreamSynchronize");
    }

    public override AcceleratorEvent RecordEvent()
    {
        _accelerator.MakeCurrent();
        var evt = new CudaEvent(_accelerator);
        try
        {
            evt.Record(Handle);
        }
        catch
        {
            evt.Dispose();
            throw;
        }
        return evt;
    }

    public override void WaitFor(AcceleratorEvent evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        if (evt is not CudaEvent cudaEvent)
        {
            throw new ArgumentException($"A CUDA stream cannot wait for a {evt.GetType().Name}.", nameof(evt));
        }
        _accelerator.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuStreamWaitEvent(Handle, cudaEvent.Handle, 0), "cuStreamWaitEvent");
    }

    protected override void CopyHostToDevice(ReadOnlySpan<byte> source, nint destination, long destinationByteOffset)
    {
        if (source.IsEmpty)
        {
            return;
        }
        _accelerator.MakeCurrent();
        fixed (byte* p = source)
        {
            // Stream-ordered, then wait: the caller may reuse (or unpin) the span on return.
            CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync_v2(Address(destination, destinationByteOffset), p, (nuint)source.Length, Handle), "cuMemcpyHtoDAsync_v2");
            _accelerator.CountHostSynchronization();
            CudaDriver.Check(CudaDriver.cuStreamSynchronize(Handle), "cuStreamSynchronize");
        }
    }

    protected override void CopyDeviceToHost(nint source, long sourceByteOffset, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return;
        }
        _accelerator.MakeCurrent();
        fixed (byte* p = destination)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync_v2(p, Address(source, sourceByteOffset), (nuint)destination.Length, Handle), "cuMemcpyDtoHAsync_v2");
            _accelerator.CountHostSynchronization();
            CudaDriver.Check(CudaDriver.cuStreamSynchronize(Handle), "cuStreamSynchronize");
        }
    }

    protected override void CopyPinnedToDeviceAsync(nint source, nint destination, long destinationByteOffset, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        _accelerator.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync_v2(Address(destination, destinationByteOffset), (void*)source, (nuint)bytes, Handle), "cuMemcpyHtoDAsync_v2");
    }

    protected override void CopyDeviceToPinnedAsync(nint source, long sourceByteOffset, nint destination, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        _accelerator.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync_v2((void*)destination, Address(source, sourceByteOffset), (nuint)bytes, Handle), "cuMemcpyDtoHAsync_v2");
    }

    protected override void CopyDeviceToDevice(nint source, long sourceByteOffset, nint destination, long destinationByteOffset, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        _accelerator.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync_v2(Address(destination, destinationByteOffset), Address(source, sourceByteOffset), (nuint)bytes, Handle), "cuMemcpyDtoDAsync_v2");
    }

    protected override void FillDeviceBytes(nint destination, long byteOffset, long bytes, byte value)
    {
        if (bytes == 0)
        {
            return;
        }
        _accelerator.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemsetD8Async(Address(destination, byteOffset), value, (nuint)bytes, Handle), "cuMemsetD8Async");
    }

    protected override void Dispose(bool disposing)
    {
        // The default stream belongs to the accelerator, which destroys it.
        if (!_isDefault)
        {
            Destroy();
        }
    }

    internal void Destroy()
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            _accelerator.MakeCurrent();
            CudaDriver.Check(CudaDriver.cuStreamDestroy_v2(handle), "cuStreamDestroy_v2");
        }
    }

    private static ulong Address(nint handle, long byteOffset) => unchecked((ulong)handle + (ulong)byteOffset);
}

/// <summary>A CUDA event (timing enabled).</summary>
public sealed unsafe class CudaEvent : AcceleratorEvent
{
    private readonly CudaAccelerator _accelerator;
    private nint _handle;

    internal CudaEvent(CudaAccelerator accelerator)
    {
        _accelerator = accelerator;
        nint handle;
        CudaDriver.Check(CudaDriver.cuEventCreate(&handle, CudaDriver.EventDefault), "cuEventCreate");
        _handle = handle;
    }

    /// <summary>The <c>CUevent</c>.</summary>
    public nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(CudaEvent));

    public override bool IsComplete
    {
        get
        {
            _accelerator.MakeCurrent();
            int result = CudaDriver.cuEventQuery(Handle);
            if (result == CudaDriver.ErrorNotReady)
            {
                return false;
            }
            CudaDriver.Check(result, "cuEventQuery");
            return true;
        }
    }

    public override void Synchronize()
    {
        _accelerator.MakeCurrent();
        _accelerator.CountHostSynchronization();
        CudaDriver.Check(CudaDriver.cuEventSynchronize(Handle), "cuEventSynchronize");
    }

    internal void Record(nint stream) => CudaDriver.Check(CudaDriver.cuEventRecord(Handle, stream), "cuEventRecord");

    protected override float MillisecondsSince(AcceleratorEvent start)
    {
        if (start is not CudaEvent cudaStart)
        {
            throw new ArgumentException($"Cannot time a CUDA event against a {start.GetType().Name}.", nameof(start));
        }
        _accelerator.MakeCurrent();
        float milliseconds;
        CudaDriver.Check(CudaDriver.cuEventElapsedTime(&milliseconds, cudaStart.Handle, Handle), "cuEventElapsedTime");
        return milliseconds;
    }

    protected override void Dispose(bool disposing)
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            _accelerator.MakeCurrent();
            _ = CudaDriver.cuEventDestroy_v2(handle);
        }
    }
}

/// <summary>Page-locked host memory from <c>cuMemHostAlloc</c>.</summary>
public sealed unsafe class CudaPinnedBuffer<T> : PinnedHostBuffer<T> where T : unmanaged
{
    private readonly CudaAccelerator _accelerator;

    internal CudaPinnedBuffer(CudaAccelerator accelerator, nint pointer, int length)
        : base(pointer, length) => _accelerator = accelerator;

    protected override void Free(nint pointer)
    {
        _accelerator.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemFreeHost((void*)pointer), "cuMemFreeHost");
    }
}
