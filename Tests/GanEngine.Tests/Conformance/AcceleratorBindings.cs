using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using NUnit.Framework;

namespace GanEngine.Tests.Conformance;

// The conformance suite bound to every accelerator. A backend that is not on this machine is
// skipped with its reason (visible in the test report), never silently passed.

/// <summary>The CPU accelerator, blocks spread over all cores.</summary>
[TestFixture]
public sealed class CpuKernelConformance : KernelConformanceSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

/// <summary>The CPU accelerator in deterministic mode (blocks in order on one thread).</summary>
[TestFixture]
public sealed class CpuDeterministicKernelConformance : KernelConformanceSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

/// <summary>OpenCL, once per platform of interest: PoCL (CI's CPU) and NVIDIA (the GPU machine).</summary>
[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClKernelConformance(string platform) : KernelConformanceSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.OpenCl(platform);
}

/// <summary>CUDA, device 0.</summary>
[TestFixture]
public sealed class CudaKernelConformance : KernelConformanceSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.Cuda();
}
