namespace GanEngine.Kernels;

/// <summary>
/// Marks a static method of a <c>static partial class</c> as a GPU kernel. The source generator
/// translates it to CUDA C and OpenCL C and writes a typed launcher (<c>Launch{Name}</c>) and a
/// <see cref="KernelDefinition"/> (<c>{Name}Definition</c>) beside it. On the CPU accelerator
/// the same C# method runs, one call per thread.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class KernelAttribute : Attribute;

/// <summary>
/// Marks an <c>int</c> kernel parameter as a specialization constant: on the GPU it becomes a
/// compile-time <c>#define</c> (so it can size <c>stackalloc</c> tiles and shared arrays, and
/// unroll loops), and each distinct value is a separate compiled and cached variant; on the CPU
/// it is an ordinary argument.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class SpecializationAttribute : Attribute;

/// <summary>
/// CUDA's <c>__launch_bounds__</c>: the kernel is never launched with more than
/// <paramref name="maxThreadsPerBlock"/> threads per block, and the compiler should allow
/// <paramref name="minBlocksPerMultiprocessor"/> resident blocks per multiprocessor.
/// Launches that exceed the bound are rejected on every accelerator.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class LaunchBoundsAttribute(int maxThreadsPerBlock, int minBlocksPerMultiprocessor = 0) : Attribute
{
    public int MaxThreadsPerBlock { get; } = maxThreadsPerBlock;
    public int MinBlocksPerMultiprocessor { get; } = minBlocksPerMultiprocessor;
}
