using GanEngine.Generated;

namespace GanEngine.Kernels;

/// <summary>The kernels of this library, for tools that list or precompile them.</summary>
public static class LibraryKernels
{
    /// <summary>Every kernel defined in GanEngine.Kernels.Library.</summary>
    public static IReadOnlyList<KernelDefinition> All => KernelManifest.All;
}
