using GanEngine.Accelerators;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using NUnit.Framework;

namespace GanEngine.Tests;

/// <summary>
/// Opens the accelerators the suites are bound to. One that is not on this machine makes the whole
/// fixture skip with the reason (visible in the report), never pass silently.
/// </summary>
internal static class TestAccelerators
{
    /// <summary>The first OpenCL device of the platform whose name contains <paramref name="platform"/>
    /// ("Portable Computing Language" for PoCL, "NVIDIA").</summary>
    public static Accelerator OpenCl(string platform) =>
        OpenClAccelerator.TrySelect(platform, OpenClDeviceType.Any, out var device, out string reason)
            ? new OpenClAccelerator(device!)
            : throw new IgnoreException($"OpenCL platform '{platform}': {reason}");

    /// <summary>CUDA device 0.</summary>
    public static Accelerator Cuda() =>
        CudaAccelerator.IsAvailable(out string reason) ? new CudaAccelerator() : throw new IgnoreException($"CUDA: {reason}");
}
