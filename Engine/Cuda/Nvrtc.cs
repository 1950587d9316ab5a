using System.Runtime.InteropServices;
using System.Text;

namespace GanEngine.Accelerators.Cuda;

/// <summary>
/// NVRTC, the CUDA run-time compiler, bound by hand: <c>libnvrtc.so.13</c>, else
/// <c>libnvrtc.so.12</c> (loaded with <see cref="NativeLibrary.TryLoad(string, out nint)"/>, entry
/// points called through unmanaged function pointers). Loaded once per process.
/// </summary>
internal sealed unsafe class Nvrtc
{
    private static readonly string[] LibraryNames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];
    private static readonly Lazy<(Nvrtc? Instance, string Reason)> Shared = new(Load);

    private readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> _createProgram;
    private readonly delegate* unmanaged<nint, int, byte**, int> _compileProgram;
    private readonly delegate* unmanaged<nint*, int> _destroyProgram;
    private readonly delegate* unmanaged<nint, nuint*, int> _getProgramLogSize;
    private readonly delegate* unmanaged<nint, byte*, int> _getProgramLog;
    private readonly delegate* unmanaged<nint, nuint*, int> _getCubinSize;
    private readonly delegate* unmanaged<nint, byte*, int> _getCubin;
    private readonly delegate* unmanaged<nint, nuint*, int> _getPtxSize;
    private readonly delegate* unmanaged<nint, byte*, int> _getPtx;
    private readonly delegate* unmanaged<int, byte*> _getErrorString;
    private readonly int[] _supportedArchitectures;

    private Nvrtc(nint library, string libraryName)
    {
        LibraryName = libraryName;
        _createProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)Export(library, "nvrtcCreateProgram");
        _compileProgram = (delegate* unmanaged<nint, int, byte**, int>)Export(library, "nvrtcCompileProgram");
        _destroyProgram = (delegate* unmanaged<nint*, int>)Export(library, "nvrtcDestroyProgram");
        _getProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)Export(library, "nvrtcGetProgramLogSize");
        _getProgramLog = (delegate* unmanaged<nint, byte*, int>)Export(library, "nvrtcGetProgramLog");
        _getCubinSize = (delegate* unmanaged<nint, nuint*, int>)Export(library, "nvrtcGetCUBINSize");
        _getCubin = (delegate* unmanaged<nint, byte*, int>)Export(library, "nvrtcGetCUBIN");
        _getPtxSize = (delegate* unmanaged<nint, nuint*, int>)Export(library, "nvrtcGetPTXSize");
        _getPtx = (delegate* unmanaged<nint, byte*, int>)Export(library, "nvrtcGetPTX");
        _getErrorString = (delegate* unmanaged<int, byte*>)Export(library, "nvrtcGetErrorString");
        var version = (delegate* unmanaged<int*, int*, int>)Export(library, "nvrtcVersion");
        int major, minor;
        Check(version(&major, &minor), "nvrtcVersion");
        Major = major;
        Minor = minor;

        // Optional (NVRTC 11.2+): which real architectures this NVRTC can emit CUBIN for.
        _supportedArchitectures = [];
        if (NativeLibrary.TryGetExport(library, "nvrtcGetNumSupportedArchs", out nint countExport) &&
            NativeLibrary.TryGetExport(library, "nvrtcGetSupportedArchs", out nint listExport))
        {
            int count;
            if (((delegate* unmanaged<int*, int>)countExport)(&count) == 0 && count > 0)
            {
                var archs = new int[count];
                fixed (int* p = archs)
                {
                    if (((delegate* unmanaged<int*, int>)listExport)(p) == 0)
                    {
                        _supportedArchitectures = archs;
                    }
                }
            }
        }
    }

    public string LibraryName { get; }

    public int Major { get; }

    public int Minor { get; }

    public string Version => $"{Major}.{Minor}";

    /// <summary>Real architectures (e.g. 90 for sm_90) NVRTC reports; empty when it cannot say.</summary>
    public IReadOnlyList<int> SupportedArchitectures => _supportedArchitectures;

    /// <summary>The process-wide NVRTC, or null with the reason it could not be loaded.</summary>
    public static Nvrtc? TryGet(out string reason)
    {
        var (instance, why) = Shared.Value;
        reason = why;
        return instance;
    }

    public static Nvrtc Get() => TryGet(out string reason) ?? throw new DllNotFoundException($"NVRTC unavailable: {reason}");

    private static (Nvrtc?, string) Load()
    {
        foreach (string name in LibraryNames)
        {
            if (NativeLibrary.TryLoad(name, out nint handle))
            {
                try
                {
                    return (new Nvrtc(handle, name), string.Empty);
                }
                catch (Exception e) when (e is EntryPointNotFoundException or NvrtcException)
                {
                    return (null, $"{name}: {e.Message}");
                }
            }
        }
        return (null, $"none of {string.Join(", ", LibraryNames)} could be loaded");
    }

    private static nint Export(nint library, string name) =>
        NativeLibrary.TryGetExport(library, name, out nint address)
            ? address
            : throw new EntryPointNotFoundException($"NVRTC has no export {name}.");

    /// <summary>
    /// Compiles <paramref name="source"/> with <paramref name="options"/>. Returns true and the
    /// CUBIN (or PTX, NUL-terminated, when <paramref name="wantPtx"/>) on success; false and the
    /// log on a compile error. Other NVRTC failures throw <see cref="NvrtcException"/>.
    /// </summary>
    public bool Compile(string source, string programName, IReadOnlyList<string> options, bool wantPtx, out byte[] image, out string log)
    {
        byte[] sourceBytes = NulTerminated(source);
        byte[] nameBytes = NulTerminated(programName);
        var optionBytes = new byte[options.Count][];
        var handles = new GCHandle[options.Count];
        var optionPointers = new nint[options.Count];
        nint program = 0;
        try
        {
            for (int i = 0; i < options.Count; i++)
            {
                optionBytes[i] = NulTerminated(options[i]);
                handles[i] = GCHandle.Alloc(optionBytes[i], GCHandleType.Pinned);
                optionPointers[i] = handles[i].AddrOfPinnedObject();
            }
            fixed (byte* src = sourceBytes)
            fixed (byte* name = nameBytes)
            fixed (nint* opts = optionPointers)
            {
                Check(_createProgram(&program, src, name, 0, null, null), "nvrtcCreateProgram");
                int compileResult = _compileProgram(program, options.Count, (byte**)opts);
                log = ReadLog(program);
                if (compileResult == 6 /* NVRTC_ERROR_COMPILATION */)
                {
                    image = [];
                    return false;
                }
                Check(compileResult, "nvrtcCompileProgram");
                nuint size;
                if (wantPtx)
                {
                    Check(_getPtxSize(program, &size), "nvrtcGetPTXSize");
                    image = new byte[(int)size];
                    fixed (byte* p = image)
                    {
                        Check(_getPtx(program, p), "nvrtcGetPTX");
                    }
                    // NVRTC's size includes the terminating NUL, which cuModuleLoadData needs for PTX.
                }
                else
                {
                    Check(_getCubinSize(program, &size), "nvrtcGetCUBINSize");
                    if (size == 0)
                    {
                        throw new NvrtcException("nvrtcGetCUBINSize returned 0 bytes (compiled for a virtual architecture?)");
                    }
                    image = new byte[(int)size];
                    fixed (byte* p = image)
                    {
                        Check(_getCubin(program, p), "nvrtcGetCUBIN");
                    }
                }
                return true;
            }
        }
        finally
        {
            if (program != 0)
            {
                _destroyProgram(&program);
            }
            foreach (var handle in handles)
            {
                if (handle.IsAllocated)
                {
                    handle.Free();
                }
            }
        }
    }

    private string ReadLog(nint program)
    {
        nuint size;
        if (_getProgramLogSize(program, &size) != 0 || size <= 1)
        {
            return string.Empty;
        }
        var buffer = new byte[(int)size];
        fixed (byte* p = buffer)
        {
            if (_getProgramLog(program, p) != 0)
            {
                return string.Empty;
            }
        }
        return Encoding.UTF8.GetString(buffer, 0, buffer.Length - 1).TrimEnd();
    }

    private void Check(int result, string function)
    {
        if (result != 0)
        {
            string text = _getErrorString != null ? Marshal.PtrToStringUTF8((nint)_getErrorString(result)) ?? "?" : "?";
            throw new NvrtcException($"{function} failed: {text} ({result})");
        }
    }

    private static byte[] NulTerminated(string text)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        var bytes = new byte[length + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}

/// <summary>NVRTC failed for a reason other than an error in the kernel source.</summary>
public sealed class NvrtcException : Exception
{
    public NvrtcException()
    {
    }

    public NvrtcException(string message) : base(message)
    {
    }

    public NvrtcException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
