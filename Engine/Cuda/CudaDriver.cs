using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GanEngine.Accelerators.Cuda;

/// <summary>
/// P/Invoke declarations for the CUDA driver API (<c>libcuda.so.1</c>). Signatures are blittable:
/// handles are <see cref="nint"/>, <c>CUdeviceptr</c> is <see cref="ulong"/>, <c>size_t</c> is
/// <see cref="nuint"/>, <c>CUresult</c> and enums are <see cref="int"/>. The versioned <c>_v2</c>
/// exports are bound where they exist. Every result goes through <see cref="Check"/>.
/// </summary>
internal static unsafe partial class CudaDriver
{
    public const string Library = "libcuda.so.1";

    public const int Success = 0;
    public const int ErrorNotReady = 600;

    // CUdevice_attribute values used here.
    public const int AttributeMaxThreadsPerBlock = 1;
    public const int AttributeMaxSharedMemoryPerBlock = 8;
    public const int AttributeWarpSize = 10;
    public const int AttributeMultiprocessorCount = 16;
    public const int AttributeComputeCapabilityMajor = 75;
    public const int AttributeComputeCapabilityMinor = 76;
    public const int AttributeMaxSharedMemoryPerBlockOptin = 97;

    // CUfunction_attribute
    public const int FunctionAttributeMaxDynamicSharedSizeBytes = 8;

    public const uint StreamNonBlocking = 1;
    public const uint EventDefault = 0;
    public const uint EventDisableTiming = 2;

    [LibraryImport(Library)] public static partial int cuInit(uint flags);
    [LibraryImport(Library)] public static partial int cuDriverGetVersion(int* version);
    [LibraryImport(Library)] public static partial int cuGetErrorName(int error, byte** name);
    [LibraryImport(Library)] public static partial int cuGetErrorString(int error, byte** description);

    [LibraryImport(Library)] public static partial int cuDeviceGetCount(int* count);
    [LibraryImport(Library)] public static partial int cuDeviceGet(int* device, int ordinal);
    [LibraryImport(Library)] public static partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Library)] public static partial int cuDeviceGetAttribute(int* value, int attribute, int device);
    [LibraryImport(Library)] public static partial int cuDeviceTotalMem_v2(nuint* bytes, int device);

    [LibraryImport(Library)] public static partial int cuDevicePrimaryCtxRetain(nint* context, int device);
    [LibraryImport(Library)] public static partial int cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(Library)] public static partial int cuCtxSetCurrent(nint context);
    [LibraryImport(Library)] public static partial int cuCtxSynchronize();

    [LibraryImport(Library)] public static partial int cuModuleLoadData(nint* module, void* image);
    [LibraryImport(Library)] public static partial int cuModuleUnload(nint module);
    [LibraryImport(Library)] public static partial int cuModuleGetFunction(nint* function, nint module, byte* name);
    [LibraryImport(Library)] public static partial int cuFuncSetAttribute(nint function, int attribute, int value);

    [LibraryImport(Library)]
    public static partial int cuLaunchKernel(
        nint function,
        uint gridX, uint gridY, uint gridZ,
        uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, nint stream, void** kernelParams, void** extra);

    [LibraryImport(Library)] public static partial int cuMemAlloc_v2(ulong* pointer, nuint bytes);
    [LibraryImport(Library)] public static partial int cuMemFree_v2(ulong pointer);
    [LibraryImport(Library)] public static partial int cuMemHostAlloc(void** pointer, nuint bytes, uint flags);
    [LibraryImport(Library)] public static partial int cuMemFreeHost(void* pointer);

    [LibraryImport(Library)] public static partial int cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);
    [LibraryImport(Library)] public static partial int cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);
    [LibraryImport(Library)] public static partial int cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, nint stream);
    [LibraryImport(Library)] public static partial int cuMemcpyDtoHAsync_v2(void* destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(Library)] public static partial int cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(Library)] public static partial int cuMemsetD8Async(ulong destination, byte value, nuint count, nint stream);

    [LibraryImport(Library)] public static partial int cuStreamCreate(nint* stream, uint flags);
    [LibraryImport(Library)] public static partial int cuStreamDestroy_v2(nint stream);
    [LibraryImport(Library)] public static partial int cuStreamSynchronize(nint stream);
    [LibraryImport(Library)] public static partial int cuStreamWaitEvent(nint stream, nint evt, uint flags);

    [LibraryImport(Library)] public static partial int cuEventCreate(nint* evt, uint flags);
    [LibraryImport(Library)] public static partial int cuEventRecord(nint evt, nint stream);
    [LibraryImport(Library)] public static partial int cuEventSynchronize(nint evt);
    [LibraryImport(Library)] public static partial int cuEventQuery(nint evt);

    /// <summary><c>cuEventElapsedTime_v2</c> where the driver exports it (CUDA 12.8+), else <c>cuEventElapsedTime</c>.</summary>
    public static int cuEventElapsedTime(float* milliseconds, nint start, nint end) => EventTiming.ElapsedTime(milliseconds, start, end);
    [LibraryImport(Library)] public static partial int cuEventDestroy_v2(nint evt);

    private static class EventTiming
    {
        public static readonly delegate* unmanaged<float*, nint, nint, int> ElapsedTime = Resolve();

        private static delegate* unmanaged<float*, nint, nint, int> Resolve()
        {
            nint library = NativeLibrary.Load(Library);
            if (!NativeLibrary.TryGetExport(library, "cuEventElapsedTime_v2", out nint address))
            {
                address = NativeLibrary.GetExport(library, "cuEventElapsedTime");
            }
            return (delegate* unmanaged<float*, nint, nint, int>)address;
        }
    }

    /// <summary>Throws <see cref="CudaException"/> unless <paramref name="result"/> is CUDA_SUCCESS.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check(int result, string function)
    {
        if (result != Success)
        {
            Throw(result, function);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(int result, string function) => throw new CudaException(function, result, ErrorName(result), ErrorDescription(result));

    /// <summary>The symbolic name of a CUresult, e.g. CUDA_ERROR_OUT_OF_MEMORY.</summary>
    public static string ErrorName(int result)
    {
        byte* text = null;
        try
        {
            if (cuGetErrorName(result, &text) == Success && text != null)
            {
                return Marshal.PtrToStringUTF8((nint)text) ?? $"CUresult {result}";
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        return $"CUresult {result}";
    }

    /// <summary>The driver's description of a CUresult.</summary>
    public static string ErrorDescription(int result)
    {
        byte* text = null;
        try
        {
            if (cuGetErrorString(result, &text) == Success && text != null)
            {
                return Marshal.PtrToStringUTF8((nint)text) ?? "unknown error";
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        return "unknown error";
    }
}

/// <summary>A CUDA driver API call failed. The message reads <c>cuXxx failed: CUDA_ERROR_NAME (description)</c>.</summary>
public sealed class CudaException : Exception
{
    public CudaException()
    {
        Function = string.Empty;
        ErrorName = string.Empty;
    }

    public CudaException(string message) : base(message)
    {
        Function = string.Empty;
        ErrorName = string.Empty;
    }

    public CudaException(string message, Exception innerException) : base(message, innerException)
    {
        Function = string.Empty;
        ErrorName = string.Empty;
    }

    public CudaException(string function, int result, string errorName, string description)
        : base($"{function} failed: {errorName} ({description})")
    {
        Function = function;
        Result = result;
        ErrorName = errorName;
    }

    /// <summary>The driver function that failed, e.g. <c>cuLaunchKernel</c>.</summary>
    public string Function { get; }

    /// <summary>The raw CUresult.</summary>
    public int Result { get; }

    /// <summary>The CUresult's name, e.g. <c>CUDA_ERROR_INVALID_VALUE</c>.</summary>
    public string ErrorName { get; }
}
