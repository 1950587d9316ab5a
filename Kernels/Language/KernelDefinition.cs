namespace GanEngine.Kernels;

/// <summary>One kernel parameter as the generator saw it.</summary>
/// <param name="Name">The C# parameter name.</param>
/// <param name="Kind">How it is passed.</param>
/// <param name="ElementType">Element type of a view, or the scalar's type (C# keyword or struct name).</param>
/// <param name="ElementSize">Size of that type in bytes.</param>
public sealed record KernelParameter(string Name, KernelArgumentKind Kind, string ElementType, int ElementSize);

/// <summary>
/// Everything an accelerator needs to run one kernel, written by the source generator:
/// the CUDA C and OpenCL C translations, the parameter list, and the CPU entry point.
/// </summary>
public sealed class KernelDefinition
{
    public KernelDefinition(
        string name,
        string entryPoint,
        string cudaSource,
        string openClSource,
        IReadOnlyList<KernelParameter> parameters,
        KernelFeatures features,
        int maxThreadsPerBlock,
        int minBlocksPerMultiprocessor,
        string sourceFile,
        int sourceLine,
        CpuKernelFactory cpu)
    {
        Name = name;
        EntryPoint = entryPoint;
        CudaSource = cudaSource;
        OpenClSource = openClSource;
        Parameters = parameters;
        Features = features;
        MaxThreadsPerBlock = maxThreadsPerBlock;
        MinBlocksPerMultiprocessor = minBlocksPerMultiprocessor;
        SourceFile = sourceFile;
        SourceLine = sourceLine;
        Cpu = cpu;
    }

    /// <summary>Full C# name, e.g. <c>GanEngine.Kernels.Blas.SimtGemm.Sgemm</c>.</summary>
    public string Name { get; }

    /// <summary>The C identifier of the <c>__global__</c> / <c>__kernel</c> function.</summary>
    public string EntryPoint { get; }

    /// <summary>Self-contained CUDA C (no headers) with <c>#line</c> directives into the C# file.
    /// Specialization constants are not defined in it: the accelerator passes them as <c>-D</c>.</summary>
    public string CudaSource { get; }

    /// <summary>Self-contained OpenCL C 1.2 with <c>#line</c> directives into the C# file.</summary>
    public string OpenClSource { get; }

    /// <summary>Parameters in C# order (specializations included, at their position).</summary>
    public IReadOnlyList<KernelParameter> Parameters { get; }

    /// <summary>Which collective features the kernel uses.</summary>
    public KernelFeatures Features { get; }

    /// <summary>From <see cref="LaunchBoundsAttribute"/>; 0 when not given.</summary>
    public int MaxThreadsPerBlock { get; }

    /// <summary>From <see cref="LaunchBoundsAttribute"/>; 0 when not given.</summary>
    public int MinBlocksPerMultiprocessor { get; }

    /// <summary>Path of the C# file that declares the kernel, as the compiler saw it.</summary>
    public string SourceFile { get; }

    /// <summary>1-based line of the kernel's declaration.</summary>
    public int SourceLine { get; }

    /// <summary>Binds arguments to the C# method for the CPU accelerator.</summary>
    public CpuKernelFactory Cpu { get; }

    public override string ToString() => Name;
}

/// <summary>Collective features a kernel uses; the launchers check launch shapes against them.</summary>
[Flags]
public enum KernelFeatures
{
    None = 0,
    /// <summary>Calls <see cref="Group.Barrier"/>.</summary>
    Barrier = 1,
    /// <summary>Uses warp shuffles or votes: the block size must be a multiple of 32.</summary>
    WarpCollectives = 2,
    /// <summary>Uses tensor-core <see cref="Mma"/>: the block size must be a multiple of 32.</summary>
    Mma = 4,
    /// <summary>Allocates static shared memory.</summary>
    StaticShared = 8,
    /// <summary>Uses <see cref="Shared.Dynamic{T}"/>.</summary>
    DynamicShared = 16,
    /// <summary>Uses atomics.</summary>
    Atomics = 32,
}

/// <summary>Binds launch arguments to the kernel's C# body for the CPU accelerator.</summary>
public delegate CpuKernelBody CpuKernelFactory(ReadOnlySpan<KernelArgument> arguments);

/// <summary>
/// The C# body of a kernel with its arguments bound. Exactly one of the two members is set:
/// <see cref="Thread"/> for kernels without collectives (run once per thread, in any order),
/// <see cref="SynchronousThread"/> for kernels with barriers, warp collectives or <c>mma</c>:
/// an iterator that yields at each collective, so the CPU scheduler can run all threads of a
/// group up to the collective, complete it, and resume them.
/// </summary>
public sealed class CpuKernelBody
{
    private CpuKernelBody(Action? thread, Func<IEnumerable<int>>? synchronousThread)
    {
        Thread = thread;
        SynchronousThread = synchronousThread;
    }

    public Action? Thread { get; }

    public Func<IEnumerable<int>>? SynchronousThread { get; }

    public static CpuKernelBody Independent(Action thread) => new(thread, null);

    public static CpuKernelBody Synchronous(Func<IEnumerable<int>> thread) => new(null, thread);
}
