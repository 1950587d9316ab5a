using GanEngine.Kernels;
using static GanEngine.Accelerators.OpenCL.OpenClApi;

namespace GanEngine.Accelerators.OpenCL;

/// <summary>
/// An in-order OpenCL command queue with profiling enabled. Launches, device copies, fills and
/// copies from or to pinned memory are enqueued without blocking the host; copies from or to
/// pageable memory are blocking (they return when the host memory may be reused or read).
/// </summary>
public sealed unsafe class OpenClStream : AcceleratorStream
{
    private readonly OpenClAccelerator _accelerator;
    private nint _queue;

    internal OpenClStream(OpenClAccelerator accelerator, nint queue)
        : base(accelerator)
    {
        _accelerator = accelerator;
        _queue = queue;
    }

    /// <summary>The cl_command_queue.</summary>
    internal nint Queue => _queue != 0 ? _queue : throw new ObjectDisposedException(nameof(OpenClStream));

    /// <inheritdoc/>
    public override void Launch(KernelDefinition kernel, in LaunchConfig config, ReadOnlySpan<KernelArgument> arguments)
    {
        LaunchValidator.Validate(kernel, config, arguments, _accelerator.Info);
        var maxSizes = _accelerator.MaxWorkItemSizes;
        var block = config.Block;
        if ((maxSizes.Length > 0 && (nuint)block.X > maxSizes[0])
            || (maxSizes.Length > 1 && (nuint)block.Y > maxSizes[1])
            || (maxSizes.Length > 2 && (nuint)block.Z > maxSizes[2]))
        {
            throw new ArgumentException($"Cannot launch {kernel.Name} with {config}: the device allows at most ({string.Join(", ", maxSizes.ToArray())}) work items per group dimension.");
        }
        nint queue = Queue;
        var compiled = _accelerator.GetKernel(kernel, arguments);
        if (block.Product > compiled.WorkGroupSize)
        {
            throw new ArgumentException($"Cannot launch {kernel.Name} with {config}: {block.Product} threads per block exceed the {compiled.WorkGroupSize} this kernel can run with on the device (CL_KERNEL_WORK_GROUP_SIZE).");
        }

        var grid = config.Grid;
        uint dimensions = grid.Z > 1 || block.Z > 1 ? 3u : grid.Y > 1 || block.Y > 1 ? 2u : 1u;
        nuint* global = stackalloc nuint[3]
        {
            (nuint)((long)grid.X * block.X),
            (nuint)((long)grid.Y * block.Y),
            (nuint)((long)grid.Z * block.Z),
        };
        nuint* local = stackalloc nuint[3] { (nuint)block.X, (nuint)block.Y, (nuint)block.Z };

        nint handle = compiled.Kernel;
        lock (compiled.ArgumentLock)
        {
            uint index = 0;
            fixed (KernelArgument* args = arguments)
            {
                for (int i = 0; i < arguments.Length; i++)
                {
                    KernelArgument* argument = args + i;
                    switch (argument->Kind)
                    {
                        case KernelArgumentKind.Buffer:
                        case KernelArgumentKind.ReadOnlyBuffer:
                            nint memory = argument->Handle;
                            ulong offset = (ulong)argument->Offset;
                            int length = argument->Length;
                            SetArgument(handle, index++, (nuint)sizeof(nint), &memory);
                            SetArgument(handle, index++, sizeof(ulong), &offset);
                            SetArgument(handle, index++, sizeof(int), &length);
                            break;
                        case KernelArgumentKind.Scalar:
                            SetArgument(handle, index++, (nuint)argument->ElementSize, &argument->Scalar);
                            break;
                        case KernelArgumentKind.Specialization:
                            break;
                        default:
                            throw new ArgumentException($"Cannot launch {kernel.Name}: argument {i} has unknown kind {argument->Kind}.");
                    }
                }
            }
            if ((kernel.Features & KernelFeatures.DynamicShared) != 0)
            {
                // A __local pointer argument: size only, no value. Zero is not a valid size.
                SetArgument(handle, index++, (nuint)Math.Max(1, config.DynamicSharedBytes), null);
            }
            if ((kernel.Features & (KernelFeatures.WarpCollectives | KernelFeatures.Mma)) != 0)
            {
                // The warp-collective scratch (docs/kernel-platform.md): one word per thread, six with mma.
                SetArgument(handle, index, (nuint)(block.Product * WarpScratchWords(kernel.Features) * sizeof(uint)), null);
            }
            Check(clEnqueueNDRangeKernel(queue, handle, dimensions, null, global, local, 0, null, null), nameof(clEnqueueNDRangeKernel));
        }
        _accelerator.CountKernelLaunch();
    }

    /// <summary>32-bit words of warp-collective scratch per thread: an mma exchanges its A and B fragments (6 words).</summary>
    internal static int WarpScratchWords(KernelFeatures features) => (features & KernelFeatures.Mma) != 0 ? 6 : 1;

    private static void SetArgument(nint kernel, uint index, nuint size, void* value)
    {
        int status = clSetKernelArg(kernel, index, size, value);
        if (status != CL_SUCCESS)
        {
            throw new OpenClException($"{nameof(clSetKernelArg)}(#{index})", status);
        }
    }

    /// <inheritdoc/>
    public override void Synchronize()
    {
        _accelerator.CountHostSynchronization();
        Check(clFinish(Queue), nameof(clFinish));
    }

    /// <inheritdoc/>
    public override AcceleratorEvent RecordEvent()
    {
        nint evt;
        Check(clEnqueueMarkerWithWaitList(Queue, 0, null, &evt), nameof(clEnqueueMarkerWithWaitList));
        // Submit what is queued so far, so that the event completes without a host wait forcing it.
        Check(clFlush(Queue), nameof(clFlush));
        return new OpenClEvent(_accelerator, evt);
    }

    /// <inheritdoc/>
    public override void WaitFor(AcceleratorEvent evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        if (evt is not OpenClEvent openClEvent)
        {
            throw new ArgumentException($"An OpenCL stream cannot wait for a {evt.GetType().Name}.", nameof(evt));
        }
        nint handle = openClEvent.Handle;
        Check(clEnqueueBarrierWithWaitList(Queue, 1, &handle, null), nameof(clEnqueueBarrierWithWaitList));
    }

    protected override void CopyHostToDevice(ReadOnlySpan<byte> source, nint destination, long destinationByteOffset)
    {
        if (source.IsEmpty)
        {
            return;
        }
        _accelerator.CountHostSynchronization(); // blocking write
        fixed (byte* p = source)
        {
            Check(clEnqueueWriteBuffer(Queue, destination, CL_TRUE, (nuint)destinationByteOffset, (nuint)source.Length, p, 0, null, null), nameof(clEnqueueWriteBuffer));
        }
    }

    protected override void CopyDeviceToHost(nint source, long sourceByteOffset, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return;
        }
        _accelerator.CountHostSynchronization(); // blocking read
        fixed (byte* p = destination)
        {
            Check(clEnqueueReadBuffer(Queue, source, CL_TRUE, (nuint)sourceByteOffset, (nuint)destination.Length, p, 0, null, null), nameof(clEnqueueReadBuffer));
        }
    }

    protected override void CopyPinnedToDeviceAsync(nint source, nint destination, long destinationByteOffset, long bytes)
    {
        if (bytes > 0)
        {
            Check(clEnqueueWriteBuffer(Queue, destination, CL_FALSE, (nuint)destinationByteOffset, (nuint)bytes, (void*)source, 0, null, null), nameof(clEnqueueWriteBuffer));
        }
    }

    protected override void CopyDeviceToPinnedAsync(nint source, long sourceByteOffset, nint destination, long bytes)
    {
        if (bytes > 0)
        {
            Check(clEnqueueReadBuffer(Queue, source, CL_FALSE, (nuint)sourceByteOffset, (nuint)bytes, (void*)destination, 0, null, null), nameof(clEnqueueReadBuffer));
        }
    }

    protected override void CopyDeviceToDevice(nint source, long sourceByteOffset, nint destination, long destinationByteOffset, long bytes)
    {
        if (bytes > 0)
        {
            Check(clEnqueueCopyBuffer(Queue, source, destination, (nuint)sourceByteOffset, (nuint)destinationByteOffset, (nuint)bytes, 0, null, null), nameof(clEnqueueCopyBuffer));
        }
    }

    protected override void FillDeviceBytes(nint destination, long byteOffset, long bytes, byte value)
    {
        if (bytes > 0)
        {
            Check(clEnqueueFillBuffer(Queue, destination, &value, 1, (nuint)byteOffset, (nuint)bytes, 0, null, null), nameof(clEnqueueFillBuffer));
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (_queue != 0 && !ReferenceEquals(this, _accelerator.DefaultStream))
        {
            _accelerator.Forget(this);
            Release();
        }
    }

    /// <summary>Waits for the queue and releases it (idempotent).</summary>
    internal void Release()
    {
        nint queue = Interlocked.Exchange(ref _queue, 0);
        if (queue != 0)
        {
            _accelerator.CountHostSynchronization();
            Check(clFinish(queue), nameof(clFinish));
            Check(clReleaseCommandQueue(queue), nameof(clReleaseCommandQueue));
        }
    }
}

/// <summary>A marker on an OpenCL queue; profiling timestamps give <see cref="AcceleratorEvent.ElapsedMilliseconds"/>.</summary>
public sealed unsafe class OpenClEvent : AcceleratorEvent
{
    private readonly OpenClAccelerator _accelerator;
    private nint _event;

    internal OpenClEvent(OpenClAccelerator accelerator, nint evt)
    {
        _accelerator = accelerator;
        _event = evt;
    }

    internal nint Handle => _event != 0 ? _event : throw new ObjectDisposedException(nameof(OpenClEvent));

    /// <inheritdoc/>
    public override void Synchronize()
    {
        nint handle = Handle;
        _accelerator.CountHostSynchronization();
        Check(clWaitForEvents(1, &handle), nameof(clWaitForEvents));
    }

    /// <inheritdoc/>
    public override bool IsComplete
    {
        get
        {
            int state;
            Check(clGetEventInfo(Handle, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(int), &state, null), nameof(clGetEventInfo));
            if (state < 0)
            {
                throw new OpenClException("command before the event", state);
            }
            return state == CL_COMPLETE;
        }
    }

    /// <summary>CL_PROFILING_COMMAND_END of the marker, in device nanoseconds.</summary>
    internal ulong EndNanoseconds
    {
        get
        {
            ulong time;
            Check(clGetEventProfilingInfo(Handle, CL_PROFILING_COMMAND_END, sizeof(ulong), &time, null), nameof(clGetEventProfilingInfo));
            return time;
        }
    }

    /// <inheritdoc/>
    protected override float MillisecondsSince(AcceleratorEvent start)
    {
        if (start is not OpenClEvent begin)
        {
            throw new ArgumentException($"Cannot time an OpenCL event against a {start.GetType().Name}.", nameof(start));
        }
        begin.Synchronize();
        Synchronize();
        ulong from = begin.EndNanoseconds, to = EndNanoseconds;
        if (from == 0 || to == 0)
        {
            // Some drivers complete markers without writing timestamps; say so instead of returning nonsense.
            throw new InvalidOperationException("The OpenCL driver gave no profiling timestamp for a marker event (CL_PROFILING_COMMAND_END is 0).");
        }
        return (float)(((double)to - from) / 1e6);
    }

    protected override void Dispose(bool disposing)
    {
        nint handle = Interlocked.Exchange(ref _event, 0);
        if (handle != 0)
        {
            Check(clReleaseEvent(handle), nameof(clReleaseEvent));
        }
    }
}

/// <summary>Host memory of a mapped <c>CL_MEM_ALLOC_HOST_PTR</c> buffer (see <see cref="OpenClAccelerator.AllocatePinned{T}"/>).</summary>
internal sealed class OpenClPinnedBuffer<T> : PinnedHostBuffer<T> where T : unmanaged
{
    private readonly OpenClAccelerator _accelerator;
    private readonly nint _memory;

    public OpenClPinnedBuffer(OpenClAccelerator accelerator, nint memory, nint pointer, int length)
        : base(pointer, length)
    {
        _accelerator = accelerator;
        _memory = memory;
    }

    protected override void Free(nint pointer) => _accelerator.FreePinned(_memory, pointer);
}
