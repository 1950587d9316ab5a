using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using GanEngine.Kernels;
using static GanEngine.Accelerators.OpenCL.OpenClApi;

namespace GanEngine.Accelerators.OpenCL;

/// <summary>
/// Runs kernels through an OpenCL 1.2 driver (PoCL in CI, NVIDIA's platform on the GPU machine):
/// builds each kernel's <see cref="KernelDefinition.OpenClSource"/> with <c>clBuildProgram</c>, once per
/// set of specialization values, and launches it on in-order, profiling-enabled command queues.
/// </summary>
public sealed unsafe class OpenClAccelerator : Accelerator
{
    /// <summary>Options every program is built with; specializations are appended as -D defines.</summary>
    public const string BaseBuildOptions = "-cl-std=CL1.2";

    private readonly nint _context;
    private readonly nint _device;
    private readonly nint _hostQueue;
    private readonly OpenClStream _defaultStream;
    private readonly List<OpenClStream> _streams = [];
    private readonly ConcurrentDictionary<KernelDefinition, KernelEntry> _kernels = new();
    private readonly nuint[] _maxWorkItemSizes;

    /// <summary>Opens <paramref name="device"/> (from <see cref="Enumerate"/>).</summary>
    public OpenClAccelerator(OpenClDeviceDescription device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
        _device = device.DeviceHandle;

        Extensions = GetDeviceString(_device, CL_DEVICE_EXTENSIONS);
        _maxWorkItemSizes = GetDeviceArray<nuint>(_device, CL_DEVICE_MAX_WORK_ITEM_SIZES);
        Info = new AcceleratorInfo(
            AcceleratorKind.OpenCL,
            device.DeviceName,
            $"{device.PlatformName} {device.PlatformVersion}",
            (int)Math.Min((ulong)GetDeviceValue<nuint>(_device, CL_DEVICE_MAX_WORK_GROUP_SIZE), int.MaxValue),
            (int)Math.Min(GetDeviceValue<ulong>(_device, CL_DEVICE_LOCAL_MEM_SIZE), int.MaxValue),
            32,
            (int)GetDeviceValue<uint>(_device, CL_DEVICE_MAX_COMPUTE_UNITS),
            (long)Math.Min(GetDeviceValue<ulong>(_device, CL_DEVICE_GLOBAL_MEM_SIZE), long.MaxValue),
            device.DeviceVersion);

        nint* properties = stackalloc nint[3] { CL_CONTEXT_PLATFORM, device.PlatformHandle, 0 };
        nint deviceHandle = _device;
        int status;
        _context = clCreateContext(properties, 1, &deviceHandle, 0, 0, &status);
        Check(status, nameof(clCreateContext));
        try
        {
            _hostQueue = CreateQueue();
            _defaultStream = new OpenClStream(this, CreateQueue());
        }
        catch
        {
            if (_hostQueue != 0)
            {
                _ = clReleaseCommandQueue(_hostQueue); // best effort: the original error matters
            }
            _ = clReleaseContext(_context);
            throw;
        }
    }

    /// <summary>The device this accelerator opened.</summary>
    public OpenClDeviceDescription Device { get; }

    /// <summary>CL_DEVICE_EXTENSIONS (space-separated).</summary>
    public string Extensions { get; }

    /// <summary>True when the device has <c>cl_khr_fp64</c> (kernels may use <c>double</c>).</summary>
    public bool SupportsDouble => Extensions.Split(' ').Contains("cl_khr_fp64");

    public override AcceleratorInfo Info { get; }

    public override AcceleratorStream DefaultStream => _defaultStream;

    internal nint ContextHandle => _context;

    internal nint DeviceHandle => _device;

    /// <summary>
    /// Every OpenCL device on this machine. Never throws: when libOpenCL.so.1 is missing, no
    /// platform is installed or no platform has a device, the list is empty and
    /// <see cref="OpenClEnumeration.Reason"/> says why.
    /// </summary>
    public static OpenClEnumeration Enumerate()
    {
        try
        {
            var platforms = GetPlatforms();
            if (platforms.Length == 0)
            {
                return new OpenClEnumeration([], $"no OpenCL platform is installed ({Library} found no ICD)");
            }
            var devices = new List<OpenClDeviceDescription>();
            var empty = new List<string>();
            foreach (nint platform in platforms)
            {
                string name = GetPlatformString(platform, CL_PLATFORM_NAME);
                string version = GetPlatformString(platform, CL_PLATFORM_VERSION);
                var handles = GetDevices(platform, CL_DEVICE_TYPE_ALL);
                if (handles.Length == 0)
                {
                    empty.Add(name);
                }
                foreach (nint device in handles)
                {
                    ulong type = GetDeviceValue<ulong>(device, CL_DEVICE_TYPE);
                    devices.Add(new OpenClDeviceDescription(
                        platform,
                        device,
                        name,
                        version,
                        GetDeviceString(device, CL_DEVICE_NAME),
                        (type & CL_DEVICE_TYPE_GPU) != 0 ? OpenClDeviceType.Gpu
                            : (type & CL_DEVICE_TYPE_CPU) != 0 ? OpenClDeviceType.Cpu
                            : OpenClDeviceType.Accelerator,
                        GetDeviceString(device, CL_DEVICE_VERSION),
                        GetDeviceString(device, CL_DEVICE_OPENCL_C_VERSION)));
                }
            }
            return devices.Count > 0
                ? new OpenClEnumeration(devices, null)
                : new OpenClEnumeration([], $"OpenCL platforms without devices: {string.Join(", ", empty)}");
        }
        catch (DllNotFoundException e)
        {
            return new OpenClEnumeration([], $"{Library} could not be loaded ({e.Message})");
        }
        catch (EntryPointNotFoundException e)
        {
            return new OpenClEnumeration([], $"{Library} lacks an OpenCL 1.2 entry point ({e.Message})");
        }
        catch (BadImageFormatException e)
        {
            return new OpenClEnumeration([], $"{Library} is not loadable ({e.Message})");
        }
        catch (OpenClException e)
        {
            return new OpenClEnumeration([], $"enumerating OpenCL devices failed: {e.Message}");
        }
    }

    /// <summary>
    /// Picks a device: the first whose platform name contains <paramref name="platformFilter"/>
    /// (case-insensitive; null or empty: any) and whose type matches; with
    /// <see cref="OpenClDeviceType.Any"/>, GPUs come first. Returns false with a reason when none does.
    /// </summary>
    public static bool TrySelect(string? platformFilter, OpenClDeviceType type, out OpenClDeviceDescription? device, out string reason)
    {
        device = null;
        var enumeration = Enumerate();
        if (!enumeration.IsAvailable)
        {
            reason = enumeration.Reason ?? "no OpenCL device";
            return false;
        }
        var candidates = enumeration.Devices
            .Where(d => string.IsNullOrEmpty(platformFilter) || d.PlatformName.Contains(platformFilter, StringComparison.OrdinalIgnoreCase))
            .Where(d => type == OpenClDeviceType.Any || d.Type == type)
            .OrderBy(d => type == OpenClDeviceType.Any && d.Type != OpenClDeviceType.Gpu ? 1 : 0)
            .ToList();
        if (candidates.Count == 0)
        {
            reason = $"no {type} device on a platform matching '{platformFilter}'; found: {string.Join("; ", enumeration.Devices)}";
            return false;
        }
        device = candidates[0];
        reason = string.Empty;
        return true;
    }

    /// <summary>Opens the device <see cref="TrySelect"/> picks; throws <see cref="InvalidOperationException"/> when there is none.</summary>
    public static OpenClAccelerator Create(string? platformFilter = null, OpenClDeviceType type = OpenClDeviceType.Any) =>
        TrySelect(platformFilter, type, out var device, out string reason)
            ? new OpenClAccelerator(device!)
            : throw new InvalidOperationException($"OpenCL: {reason}");

    public override AcceleratorStream CreateStream()
    {
        var stream = new OpenClStream(this, CreateQueue());
        lock (_streams)
        {
            _streams.Add(stream);
        }
        return stream;
    }

    /// <summary>
    /// Host memory from a <c>CL_MEM_ALLOC_HOST_PTR</c> buffer that stays mapped for its lifetime: the
    /// driver's page-locked staging memory (NVIDIA), so asynchronous copies from and to it need no
    /// extra staging copy.
    /// </summary>
    public override PinnedHostBuffer<T> AllocatePinned<T>(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        nuint bytes = (nuint)Math.Max(1L, (long)length * Unsafe.SizeOf<T>());
        int status;
        nint memory = clCreateBuffer(_context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, null, &status);
        Check(status, nameof(clCreateBuffer));
        void* pointer = clEnqueueMapBuffer(_hostQueue, memory, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0, null, null, &status);
        if (status != CL_SUCCESS)
        {
            _ = clReleaseMemObject(memory); // best effort: the map error matters
            Check(status, nameof(clEnqueueMapBuffer));
        }
        return new OpenClPinnedBuffer<T>(this, memory, (nint)pointer, length);
    }

    internal void FreePinned(nint memory, nint pointer)
    {
        Check(clEnqueueUnmapMemObject(_hostQueue, memory, (void*)pointer, 0, null, null), nameof(clEnqueueUnmapMemObject));
        CountHostSynchronization();
        Check(clFinish(_hostQueue), nameof(clFinish));
        Check(clReleaseMemObject(memory), nameof(clReleaseMemObject));
    }

    public override void Synchronize()
    {
        _defaultStream.Synchronize();
        OpenClStream[] streams;
        lock (_streams)
        {
            streams = [.. _streams];
        }
        foreach (var stream in streams)
        {
            stream.Synchronize();
        }
    }

    protected internal override nint AllocateMemory(long bytes)
    {
        int status;
        nint memory = clCreateBuffer(_context, CL_MEM_READ_WRITE, (nuint)bytes, null, &status);
        Check(status, nameof(clCreateBuffer));
        CountDriverAllocation();
        return memory;
    }

    protected internal override void FreeMemory(nint handle)
    {
        Check(clReleaseMemObject(handle), nameof(clReleaseMemObject));
        CountDriverFree();
    }

    internal void Forget(OpenClStream stream)
    {
        lock (_streams)
        {
            _streams.Remove(stream);
        }
    }

    /// <summary>Number of programs built so far (one per kernel and set of specialization values).</summary>
    public int LoadedProgramCount => _kernels.Values.Sum(e => e.Variants.Length);

    /// <summary>
    /// The built kernel for <paramref name="kernel"/> with the specialization values in
    /// <paramref name="arguments"/>: from the in-memory cache, or built now (synchronously).
    /// </summary>
    internal CompiledKernel GetKernel(KernelDefinition kernel, ReadOnlySpan<KernelArgument> arguments)
    {
        var entry = _kernels.GetOrAdd(kernel, static _ => new KernelEntry());
        int count = 0;
        foreach (ref readonly var argument in arguments)
        {
            if (argument.Kind == KernelArgumentKind.Specialization)
            {
                count++;
            }
        }
        Span<int> values = count <= 32 ? stackalloc int[count] : new int[count];
        int next = 0;
        foreach (ref readonly var argument in arguments)
        {
            if (argument.Kind == KernelArgumentKind.Specialization)
            {
                values[next++] = argument.GetScalar<int>();
            }
        }

        var found = Find(entry.Variants, values);
        if (found != null)
        {
            CompileStatistics.CountLoadedFromMemory();
            return found;
        }
        lock (entry)
        {
            found = Find(entry.Variants, values);
            if (found != null)
            {
                CompileStatistics.CountLoadedFromMemory();
                return found;
            }
            var compiled = Build(kernel, values.ToArray());
            CompileStatistics.CountCompiled();
            entry.Variants = [.. entry.Variants, compiled];
            return compiled;
        }
    }

    /// <summary>Work items per dimension the device allows in one group.</summary>
    internal ReadOnlySpan<nuint> MaxWorkItemSizes => _maxWorkItemSizes;

    private static CompiledKernel? Find(CompiledKernel[] variants, ReadOnlySpan<int> values)
    {
        foreach (var variant in variants)
        {
            if (values.SequenceEqual(variant.Specializations))
            {
                return variant;
            }
        }
        return null;
    }

    private CompiledKernel Build(KernelDefinition kernel, int[] values)
    {
        var options = new StringBuilder(BaseBuildOptions);
        int next = 0;
        foreach (var parameter in kernel.Parameters)
        {
            if (parameter.Kind == KernelArgumentKind.Specialization)
            {
                options.Append(" -DGE_SPEC_").Append(parameter.Name).Append('=').Append(values[next++]);
            }
        }
        string optionText = options.ToString();

        byte[] source = Encoding.UTF8.GetBytes(kernel.OpenClSource);
        int status;
        nint program;
        fixed (byte* text = source)
        {
            byte* strings = text;
            nuint length = (nuint)source.Length;
            program = clCreateProgramWithSource(_context, 1, &strings, &length, &status);
        }
        Check(status, nameof(clCreateProgramWithSource));
        try
        {
            nint device = _device;
            fixed (byte* optionBytes = ToCString(optionText))
            {
                status = clBuildProgram(program, 1, &device, optionBytes, 0, 0);
            }
            if (status != CL_SUCCESS)
            {
                var error = new OpenClException(nameof(clBuildProgram), status);
                if (status == CL_BUILD_PROGRAM_FAILURE || status == -43 /* CL_INVALID_BUILD_OPTIONS */)
                {
                    throw new OpenClCompilationException(kernel.Name, optionText, KernelSourceMap.MapBuildLog(kernel.OpenClSource, BuildLog(program)), error);
                }
                throw error;
            }
            nint handle;
            fixed (byte* name = ToCString(kernel.EntryPoint))
            {
                handle = clCreateKernel(program, name, &status);
            }
            if (status != CL_SUCCESS)
            {
                throw new OpenClException($"clCreateKernel('{kernel.EntryPoint}') for {kernel.Name}", status);
            }
            nuint workGroupSize;
            status = clGetKernelWorkGroupInfo(handle, _device, CL_KERNEL_WORK_GROUP_SIZE, (nuint)sizeof(nuint), &workGroupSize, null);
            if (status != CL_SUCCESS)
            {
                _ = clReleaseKernel(handle); // best effort: the query error matters
                Check(status, nameof(clGetKernelWorkGroupInfo));
            }
            return new CompiledKernel(values, program, handle, (long)workGroupSize, optionText);
        }
        catch
        {
            _ = clReleaseProgram(program); // best effort: the build error matters
            throw;
        }
    }

    private string BuildLog(nint program)
    {
        nuint size;
        if (clGetProgramBuildInfo(program, _device, CL_PROGRAM_BUILD_LOG, 0, null, &size) != CL_SUCCESS)
        {
            return "(no build log)";
        }
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes)
        {
            Check(clGetProgramBuildInfo(program, _device, CL_PROGRAM_BUILD_LOG, size, p, null), nameof(clGetProgramBuildInfo));
        }
        int end = Array.IndexOf(bytes, (byte)0);
        return Encoding.UTF8.GetString(bytes, 0, end >= 0 ? end : bytes.Length).TrimEnd();
    }

    private nint CreateQueue()
    {
        int status;
        nint queue = clCreateCommandQueue(_context, _device, CL_QUEUE_PROFILING_ENABLE, &status);
        Check(status, nameof(clCreateCommandQueue));
        return queue;
    }

    protected override void Dispose(bool disposing)
    {
        OpenClStream[] streams;
        lock (_streams)
        {
            streams = [.. _streams];
            _streams.Clear();
        }
        foreach (var stream in streams)
        {
            stream.Release();
        }
        _defaultStream.Release();
        Check(clFinish(_hostQueue), nameof(clFinish));
        Check(clReleaseCommandQueue(_hostQueue), nameof(clReleaseCommandQueue));
        foreach (var entry in _kernels.Values)
        {
            foreach (var variant in entry.Variants)
            {
                Check(clReleaseKernel(variant.Kernel), nameof(clReleaseKernel));
                Check(clReleaseProgram(variant.Program), nameof(clReleaseProgram));
            }
        }
        _kernels.Clear();
        Check(clReleaseContext(_context), nameof(clReleaseContext));
    }

    /// <summary>The programs of one kernel, one per set of specialization values (copy-on-write).</summary>
    private sealed class KernelEntry
    {
        public volatile CompiledKernel[] Variants = [];
    }
}

/// <summary>One built program and its kernel object. <see cref="ArgumentLock"/> guards clSetKernelArg + enqueue.</summary>
internal sealed class CompiledKernel(int[] specializations, nint program, nint kernel, long workGroupSize, string buildOptions)
{
    public int[] Specializations { get; } = specializations;

    public nint Program { get; } = program;

    public nint Kernel { get; } = kernel;

    /// <summary>CL_KERNEL_WORK_GROUP_SIZE: the largest group this kernel can run with on the device.</summary>
    public long WorkGroupSize { get; } = workGroupSize;

    public string BuildOptions { get; } = buildOptions;

    public Lock ArgumentLock { get; } = new();
}
