using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Tests.Autograd;
using NUnit.Framework;

namespace GanEngine.Tests.Tensors;

// The tensor and autograd suites bound to every accelerator; absent ones are skipped with the reason.

internal static class TensorAccelerators
{
    public static Accelerator OpenCl(string platform) =>
        OpenClAccelerator.TrySelect(platform, OpenClDeviceType.Any, out var device, out string reason)
            ? new OpenClAccelerator(device!)
            : throw new IgnoreException($"OpenCL platform '{platform}': {reason}");

    public static Accelerator Cuda() =>
        CudaAccelerator.IsAvailable(out string reason) ? new CudaAccelerator() : throw new IgnoreException($"CUDA: {reason}");
}

[TestFixture]
public sealed class CpuTensors : TensorSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClTensors(string platform) : TensorSuite
{
    protected override Accelerator CreateAccelerator() => TensorAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaTensors : TensorSuite
{
    protected override Accelerator CreateAccelerator() => TensorAccelerators.Cuda();
}

[TestFixture]
public sealed class CpuAutograd : AutogradSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClAutograd(string platform) : AutogradSuite
{
    protected override Accelerator CreateAccelerator() => TensorAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaAutograd : AutogradSuite
{
    protected override Accelerator CreateAccelerator() => TensorAccelerators.Cuda();
}
