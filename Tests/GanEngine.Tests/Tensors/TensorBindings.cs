using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Tests.Autograd;
using NUnit.Framework;

namespace GanEngine.Tests.Tensors;

// The tensor and autograd suites bound to every accelerator; absent ones are skipped with the reason.

[TestFixture]
public sealed class CpuTensors : TensorSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClTensors(string platform) : TensorSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaTensors : TensorSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
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
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaAutograd : AutogradSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
