using GanEngine.Kernels;

namespace GanEngine.Accelerators;

/// <summary>
/// Checks a launch before any backend sees it, so that a bad launch fails the same way, with the
/// same message, on every accelerator (instead of a driver error code or a silent wrong result).
/// </summary>
public static class LaunchValidator
{
    public static void Validate(KernelDefinition kernel, in LaunchConfig config, ReadOnlySpan<KernelArgument> arguments, AcceleratorInfo device)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(device);
        var grid = config.Grid;
        var block = config.Block;
        if (grid.X <= 0 || grid.Y <= 0 || grid.Z <= 0 || block.X <= 0 || block.Y <= 0 || block.Z <= 0)
        {
            throw Error(kernel, config, "grid and block extents must be positive");
        }
        long threads = block.Product;
        if (threads > device.MaxThreadsPerBlock)
        {
            throw Error(kernel, config, $"{threads} threads per block exceed the device's {device.MaxThreadsPerBlock}");
        }
        if (kernel.MaxThreadsPerBlock > 0 && threads > kernel.MaxThreadsPerBlock)
        {
            throw Error(kernel, config, $"{threads} threads per block exceed the kernel's launch bound of {kernel.MaxThreadsPerBlock}");
        }
        if ((kernel.Features & (KernelFeatures.WarpCollectives | KernelFeatures.Mma)) != 0 && threads % 32 != 0)
        {
            throw Error(kernel, config, $"the kernel uses warp collectives, so the block size must be a multiple of 32, not {threads}");
        }
        if (config.DynamicSharedBytes < 0)
        {
            throw Error(kernel, config, "dynamic shared memory cannot be negative");
        }
        if (config.DynamicSharedBytes > 0 && (kernel.Features & KernelFeatures.DynamicShared) == 0)
        {
            throw Error(kernel, config, "dynamic shared memory was given, but the kernel never calls Shared.Dynamic");
        }
        if (config.DynamicSharedBytes > device.MaxSharedMemoryPerBlock)
        {
            throw Error(kernel, config, $"{config.DynamicSharedBytes} bytes of dynamic shared memory exceed the device's {device.MaxSharedMemoryPerBlock}");
        }
        if (arguments.Length != kernel.Parameters.Count)
        {
            throw Error(kernel, config, $"{arguments.Length} arguments given, {kernel.Parameters.Count} expected");
        }
        for (int i = 0; i < arguments.Length; i++)
        {
            var parameter = kernel.Parameters[i];
            var argument = arguments[i];
            if (argument.Kind != parameter.Kind || argument.ElementSize != parameter.ElementSize)
            {
                throw Error(kernel, config, $"argument {i} ('{parameter.Name}') is a {argument.Kind} of {argument.ElementSize}-byte elements, expected {parameter.Kind} of {parameter.ElementType}");
            }
            if (argument.Kind is KernelArgumentKind.Buffer or KernelArgumentKind.ReadOnlyBuffer && argument.Handle == 0 && argument.Length > 0)
            {
                throw Error(kernel, config, $"argument {i} ('{parameter.Name}') is a view of no memory");
            }
        }
    }

    private static ArgumentException Error(KernelDefinition kernel, in LaunchConfig config, string what) =>
        new($"Cannot launch {kernel.Name} with {config}: {what}.");
}
