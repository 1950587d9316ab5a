using System.Globalization;
using System.Runtime.InteropServices;
using GanEngine.Kernels;

namespace GanEngine.Accelerators.Cuda;

/// <summary>
/// An NVIDIA GPU through the CUDA driver API: the device's primary context, kernels compiled by
/// NVRTC (cached in memory and on disk, see <see cref="CudaKernelCache"/>), device memory from
/// <c>cuMemAlloc</c>, and streams whose launches never synchronise on the host.
/// </summary>
public sealed unsafe class CudaAccelerator : Accelerator
{
    private static readonly Lazy<string?> DriverProblem = new(ProbeDriver);

    [ThreadStatic]
    private static nint t_currentContext;

    private readonly nint _context;
    private readonly int _device;
    private readonly CudaStream _defaultStream;
    private readonly Nvrtc _nvrtc;
    private readonly Dictionary<KernelDefinition, KernelVariants> _functions = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _functionsLock = new();
    private readonly List<string> _baseOptions;
    private readonly bool _cubin;

    /// <summary>Opens the device with CUDA ordinal <paramref name="ordinal"/>.</summary>
    /// <param name="ordinal">0-based device ordinal.</param>
    /// <param name="kernelCacheDirectory">On-disk kernel cache; null for <see cref="CudaKernelCache.DefaultDirectory"/>.</param>
    public CudaAccelerator(int ordinal = 0, string? kernelCacheDirectory = null)
    {
        if (!IsAvailable(out string reason))
        {
            throw new InvalidOperationException($"CUDA is not available: {reason}");
        }
        int count;
        CudaDriver.Check(CudaDriver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(ordinal), $"CUDA device {ordinal} requested; {count} present.");
        }
        int device;
        CudaDriver.Check(CudaDriver.cuDeviceGet(&device, ordinal), "cuDeviceGet");
        _device = device;
        _nvrtc = Nvrtc.Get();
        nint context;
        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
        _context = context;
        Ordinal = ordinal;
        // Set unconditionally: a primary context released and retained again keeps its handle.
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        t_currentContext = _context;

        int major = Attribute(device, CudaDriver.AttributeComputeCapabilityMajor);
        int minor = Attribute(device, CudaDriver.AttributeComputeCapabilityMinor);
        ComputeCapability = major * 10 + minor;
        Info = ReadInfo(device, Platform(_nvrtc));

        // CUBIN for the device's real architecture when this NVRTC can emit it; else PTX for the
        // newest virtual architecture it knows that the device can run (the driver JIT-compiles it).
        var supported = _nvrtc.SupportedArchitectures;
        int target = ComputeCapability;
        _cubin = supported.Count == 0 || supported.Contains(ComputeCapability);
        if (!_cubin)
        {
            target = supported.Where(a => a <= ComputeCapability).DefaultIfEmpty(supported.Min()).Max();
        }
        // 9.0 compiles for sm_90a, the architecture-specific target whose wgmma the convolution uses (the code runs on
        // 9.0 devices only, which is the device at hand).
        TargetArchitecture = (_cubin ? "sm_" : "compute_") + target.ToString(CultureInfo.InvariantCulture) + (target == 90 && ComputeCapability == 90 ? "a" : "");
        _baseOptions =
        [
            "--gpu-architecture=" + TargetArchitecture,
            "-lineinfo",
            "--std=c++17",
            "-default-device",
        ];

        KernelCache = new CudaKernelCache(kernelCacheDirectory, CompileStatistics);
        nint stream;
        CudaDriver.Check(CudaDriver.cuStreamCreate(&stream, CudaDriver.StreamNonBlocking), "cuStreamCreate");
        _defaultStream = new CudaStream(this, stream, isDefault: true);
    }

    public override AcceleratorInfo Info { get; }

    public override AcceleratorStream DefaultStream => _defaultStream;

    /// <summary>The CUDA device ordinal.</summary>
    public int Ordinal { get; }

    /// <summary>Compute capability as major*10+minor (90 on H100/H200).</summary>
    public int ComputeCapability { get; }

    /// <summary>What NVRTC compiles for: <c>sm_XX</c> (CUBIN) or <c>compute_XX</c> (PTX fallback).</summary>
    public string TargetArchitecture { get; }

    /// <summary>The NVRTC version, e.g. <c>13.0</c>.</summary>
    public string NvrtcVersion => _nvrtc.Version;

    /// <summary>The compiled-kernel cache (memory and disk).</summary>
    public CudaKernelCache KernelCache { get; }

    /// <summary>The options every kernel is compiled with (specialization defines are added per variant).</summary>
    public IReadOnlyList<string> BaseCompileOptions => _baseOptions;

    /// <summary>
    /// True when the CUDA driver and NVRTC load and at least one device is present; otherwise false
    /// with the reason (e.g. "libcuda.so.1 not found"). Never throws.
    /// </summary>
    public static bool IsAvailable(out string reason)
    {
        try
        {
            string? problem = DriverProblem.Value;
            if (problem != null)
            {
                reason = problem;
                return false;
            }
            if (Nvrtc.TryGet(out string nvrtcReason) == null)
            {
                reason = $"NVRTC not found: {nvrtcReason}";
                return false;
            }
            reason = string.Empty;
            return true;
        }
        catch (Exception e)
        {
            reason = $"{e.GetType().Name}: {e.Message}";
            return false;
        }
    }

    /// <summary>The CUDA devices present (empty when CUDA is unavailable). Never throws; opens no context.</summary>
    public static IReadOnlyList<AcceleratorInfo> Enumerate()
    {
        try
        {
            if (!IsAvailable(out _))
            {
                return [];
            }
            int count;
            CudaDriver.Check(CudaDriver.cuDeviceGetCount(&count), "cuDeviceGetCount");
            string platform = Platform(Nvrtc.Get());
            var devices = new List<AcceleratorInfo>(count);
            for (int i = 0; i < count; i++)
            {
                int device;
                CudaDriver.Check(CudaDriver.cuDeviceGet(&device, i), "cuDeviceGet");
                devices.Add(ReadInfo(device, platform));
            }
            return devices;
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException or NvrtcException)
        {
            return [];
        }
    }

    public override AcceleratorStream CreateStream()
    {
        MakeCurrent();
        nint stream;
        CudaDriver.Check(CudaDriver.cuStreamCreate(&stream, CudaDriver.StreamNonBlocking), "cuStreamCreate");
        return new CudaStream(this, stream, isDefault: false);
    }

    public override PinnedHostBuffer<T> AllocatePinned<T>(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        MakeCurrent();
        long bytes = Math.Max(1L, (long)length * sizeof(T));
        void* pointer;
        CudaDriver.Check(CudaDriver.cuMemHostAlloc(&pointer, (nuint)bytes, 0), "cuMemHostAlloc");
        return new CudaPinnedBuffer<T>(this, (nint)pointer, length);
    }

    public override void Synchronize()
    {
        MakeCurrent();
        CountHostSynchronization();
        CudaDriver.Check(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    protected internal override nint AllocateMemory(long bytes)
    {
        MakeCurrent();
        ulong pointer;
        CudaDriver.Check(CudaDriver.cuMemAlloc_v2(&pointer, (nuint)bytes), "cuMemAlloc_v2");
        CountDriverAllocation();
        return unchecked((nint)pointer);
    }

    protected internal override void FreeMemory(nint handle)
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemFree_v2(unchecked((ulong)handle)), "cuMemFree_v2");
        CountDriverFree();
    }

    /// <summary>Makes this device's primary context current on the calling thread (cheap when it already is).</summary>
    internal void MakeCurrent()
    {
        if (t_currentContext != _context)
        {
            CudaDriver.Check(CudaDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
            t_currentContext = _context;
        }
    }

    /// <summary>
    /// The loaded function for <paramref name="kernel"/> with the specialization values in
    /// <paramref name="arguments"/>; compiles (or loads from the cache) on first use. Allocation-free
    /// when the variant is already loaded.
    /// </summary>
    internal CudaFunction GetFunction(KernelDefinition kernel, ReadOnlySpan<KernelArgument> arguments)
    {
        lock (_functionsLock)
        {
            if (_functions.TryGetValue(kernel, out var variants))
            {
                foreach (var candidate in variants.Functions)
                {
                    if (candidate.Matches(arguments))
                    {
                        CompileStatistics.CountLoadedFromMemory();
                        return candidate;
                    }
                }
            }
            else
            {
                variants = new KernelVariants();
                _functions.Add(kernel, variants);
            }
            var function = Load(kernel, arguments);
            variants.Functions.Add(function);
            return function;
        }
    }

    /// <summary>The NVRTC options for <paramref name="kernel"/> with these specialization values.</summary>
    public IReadOnlyList<string> CompileOptions(KernelDefinition kernel, ReadOnlySpan<KernelArgument> arguments)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var options = new List<string>(_baseOptions);
        for (int i = 0; i < arguments.Length && i < kernel.Parameters.Count; i++)
        {
            if (arguments[i].Kind == KernelArgumentKind.Specialization)
            {
                options.Add(string.Create(CultureInfo.InvariantCulture, $"-DGE_SPEC_{kernel.Parameters[i].Name}={arguments[i].GetScalar<int>()}"));
            }
        }
        return options;
    }

    private CudaFunction Load(KernelDefinition kernel, ReadOnlySpan<KernelArgument> arguments)
    {
        var options = CompileOptions(kernel, arguments);
        var specializations = new List<int>();
        foreach (var argument in arguments)
        {
            if (argument.Kind == KernelArgumentKind.Specialization)
            {
                specializations.Add(argument.GetScalar<int>());
            }
        }
        string key = CudaKernelCache.ComputeKey(kernel.CudaSource, options, "nvrtc " + _nvrtc.Version + " " + _nvrtc.LibraryName, TargetArchitecture);
        byte[] image = KernelCache.GetOrCompile(key, () => Compile(kernel, options), out var outcome);
        nint module;
        int result = LoadModule(image, &module);
        if (result != CudaDriver.Success && outcome != KernelCacheOutcome.Compiled)
        {
            // A cached image the driver rejects (e.g. written by another driver): compile afresh.
            image = Compile(kernel, options);
            CompileStatistics.CountCompiled();
            KernelCache.Write(key, image);
            result = LoadModule(image, &module);
        }
        CudaDriver.Check(result, "cuModuleLoadData");
        nint function;
        byte[] entry = System.Text.Encoding.UTF8.GetBytes(kernel.EntryPoint + "\0");
        fixed (byte* name = entry)
        {
            int lookup = CudaDriver.cuModuleGetFunction(&function, module, name);
            if (lookup != CudaDriver.Success)
            {
                _ = CudaDriver.cuModuleUnload(module);
                CudaDriver.Check(lookup, $"cuModuleGetFunction({kernel.EntryPoint})");
            }
        }
        return new CudaFunction(module, function, [.. specializations]);

        static int LoadModule(byte[] image, nint* module)
        {
            fixed (byte* p = image)
            {
                return CudaDriver.cuModuleLoadData(module, p);
            }
        }
    }

    private byte[] Compile(KernelDefinition kernel, IReadOnlyList<string> options)
    {
        if (string.IsNullOrEmpty(kernel.CudaSource))
        {
            throw new KernelCompilationException(kernel.Name, options, "the kernel definition has no CUDA source");
        }
        if (!_nvrtc.Compile(kernel.CudaSource, kernel.EntryPoint + ".cu", options, wantPtx: !_cubin, out byte[] image, out string log))
        {
            throw new KernelCompilationException(kernel.Name, options, log);
        }
        return image;
    }

    protected override void Dispose(bool disposing)
    {
        MakeCurrent();
        lock (_functionsLock)
        {
            foreach (var variants in _functions.Values)
            {
                foreach (var function in variants.Functions)
                {
                    _ = CudaDriver.cuModuleUnload(function.Module);
                }
            }
            _functions.Clear();
        }
        _defaultStream.Destroy();
        _ = CudaDriver.cuDevicePrimaryCtxRelease_v2(_device);
        t_currentContext = 0;
    }

    private static string? ProbeDriver()
    {
        if (!NativeLibrary.TryLoad(CudaDriver.Library, out _))
        {
            return $"{CudaDriver.Library} not found";
        }
        try
        {
            int result = CudaDriver.cuInit(0);
            if (result != CudaDriver.Success)
            {
                return $"cuInit failed: {CudaDriver.ErrorName(result)} ({CudaDriver.ErrorDescription(result)})";
            }
            int count;
            result = CudaDriver.cuDeviceGetCount(&count);
            if (result != CudaDriver.Success)
            {
                return $"cuDeviceGetCount failed: {CudaDriver.ErrorName(result)} ({CudaDriver.ErrorDescription(result)})";
            }
            return count == 0 ? "no CUDA device present" : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"{CudaDriver.Library}: {e.Message}";
        }
    }

    private static string Platform(Nvrtc nvrtc)
    {
        int version;
        CudaDriver.Check(CudaDriver.cuDriverGetVersion(&version), "cuDriverGetVersion");
        return string.Create(CultureInfo.InvariantCulture, $"CUDA driver {version / 1000}.{version % 1000 / 10}, NVRTC {nvrtc.Version}");
    }

    private static AcceleratorInfo ReadInfo(int device, string platform)
    {
        byte* name = stackalloc byte[256];
        CudaDriver.Check(CudaDriver.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
        nuint memory;
        CudaDriver.Check(CudaDriver.cuDeviceTotalMem_v2(&memory, device), "cuDeviceTotalMem_v2");
        int major = Attribute(device, CudaDriver.AttributeComputeCapabilityMajor);
        int minor = Attribute(device, CudaDriver.AttributeComputeCapabilityMinor);
        int shared = Math.Max(Attribute(device, CudaDriver.AttributeMaxSharedMemoryPerBlockOptin), Attribute(device, CudaDriver.AttributeMaxSharedMemoryPerBlock));
        return new AcceleratorInfo(
            AcceleratorKind.Cuda,
            Marshal.PtrToStringUTF8((nint)name) ?? "CUDA device",
            platform,
            Attribute(device, CudaDriver.AttributeMaxThreadsPerBlock),
            shared,
            Attribute(device, CudaDriver.AttributeWarpSize),
            Attribute(device, CudaDriver.AttributeMultiprocessorCount),
            (long)memory,
            string.Create(CultureInfo.InvariantCulture, $"sm_{major}{minor}"));
    }

    private static int Attribute(int device, int attribute)
    {
        int value;
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(&value, attribute, device), "cuDeviceGetAttribute");
        return value;
    }

    private sealed class KernelVariants
    {
        public List<CudaFunction> Functions { get; } = [];
    }
}

/// <summary>One loaded kernel variant: module, function, specialization values, dynamic-shared limit.</summary>
internal sealed class CudaFunction
{
    /// <summary>The default per-block dynamic shared memory limit without opting in.</summary>
    public const int DefaultDynamicSharedLimit = 48 * 1024;

    private readonly int[] _specializations;

    public CudaFunction(nint module, nint handle, int[] specializations)
    {
        Module = module;
        Handle = handle;
        _specializations = specializations;
    }

    public nint Module { get; }

    public nint Handle { get; }

    /// <summary>The MAX_DYNAMIC_SHARED_SIZE_BYTES attribute as last set.</summary>
    public int DynamicSharedLimit { get; private set; } = DefaultDynamicSharedLimit;

    public bool Matches(ReadOnlySpan<KernelArgument> arguments)
    {
        int next = 0;
        foreach (ref readonly var argument in arguments)
        {
            if (argument.Kind == KernelArgumentKind.Specialization)
            {
                if (next >= _specializations.Length || _specializations[next] != argument.GetScalar<int>())
                {
                    return false;
                }
                next++;
            }
        }
        return next == _specializations.Length;
    }

    /// <summary>Opts the function into <paramref name="bytes"/> of dynamic shared memory (above 48 KiB).</summary>
    public void EnsureDynamicShared(int bytes)
    {
        if (bytes <= DynamicSharedLimit)
        {
            return;
        }
        lock (this)
        {
            if (bytes > DynamicSharedLimit)
            {
                CudaDriver.Check(CudaDriver.cuFuncSetAttribute(Handle, CudaDriver.FunctionAttributeMaxDynamicSharedSizeBytes, bytes), "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
                DynamicSharedLimit = bytes;
            }
        }
    }
}

/// <summary>NVRTC rejected a kernel's CUDA source. <see cref="Log"/> names C# files and lines (the source carries #line directives).</summary>
public sealed class KernelCompilationException : Exception
{
    public KernelCompilationException()
    {
        KernelName = string.Empty;
        Log = string.Empty;
        Options = [];
    }

    public KernelCompilationException(string message) : base(message)
    {
        KernelName = string.Empty;
        Log = string.Empty;
        Options = [];
    }

    public KernelCompilationException(string message, Exception innerException) : base(message, innerException)
    {
        KernelName = string.Empty;
        Log = string.Empty;
        Options = [];
    }

    public KernelCompilationException(string kernelName, IReadOnlyList<string> options, string log)
        : base($"NVRTC could not compile kernel {kernelName} (options: {string.Join(' ', options)}):{Environment.NewLine}{log}")
    {
        KernelName = kernelName;
        Options = options;
        Log = log;
    }

    /// <summary>The kernel's full C# name.</summary>
    public string KernelName { get; }

    /// <summary>The NVRTC options used.</summary>
    public IReadOnlyList<string> Options { get; }

    /// <summary>The NVRTC log.</summary>
    public string Log { get; }
}
