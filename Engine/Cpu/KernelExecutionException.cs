using GanEngine.Kernels;

namespace GanEngine.Accelerators.Cpu;

/// <summary>
/// Kernel code running on the CPU accelerator threw (an out-of-range view index, a misused
/// intrinsic, ...). Names the kernel, the block and the thread; the original exception is
/// <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class KernelExecutionException : Exception
{
    public KernelExecutionException()
        : base("A kernel failed on the CPU accelerator.")
    {
        KernelName = string.Empty;
    }

    public KernelExecutionException(string message)
        : base(message)
    {
        KernelName = string.Empty;
    }

    public KernelExecutionException(string message, Exception innerException)
        : base(message, innerException)
    {
        KernelName = string.Empty;
    }

    public KernelExecutionException(KernelDefinition kernel, Dim3 block, Dim3 thread, Exception innerException)
        : base(Describe(kernel, block, thread, innerException), innerException)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        KernelName = kernel.Name;
        Block = block;
        Thread = thread;
    }

    /// <summary>Full C# name of the kernel.</summary>
    public string KernelName { get; }

    /// <summary>Index of the failing block (<c>blockIdx</c>).</summary>
    public Dim3 Block { get; }

    /// <summary>Index of the failing thread within its block (<c>threadIdx</c>).</summary>
    public Dim3 Thread { get; }

    private static string Describe(KernelDefinition kernel, Dim3 block, Dim3 thread, Exception inner)
    {
        string where = string.IsNullOrEmpty(kernel.SourceFile) ? string.Empty : $" (declared at {kernel.SourceFile}:{kernel.SourceLine})";
        return $"Kernel {kernel.Name}{where} failed in block {block}, thread {thread}: {inner.GetType().Name}: {inner.Message}";
    }
}
