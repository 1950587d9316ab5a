using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Nn;
using GanEngine.Ops;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops;

/// <summary>
/// The GAN ops together in one graph (upsample, avg pool, index select, spectral norm, softmax,
/// log-softmax, cross-entropy): after the first iteration a forward + backward makes no host
/// synchronisation and no driver allocation (the accelerator's counters), and the gradients are finite.
/// </summary>
public abstract class GanOpsStepSuite : FunctionalOpsTestBase
{
    [Test]
    public void ForwardBackward_SteadyState_NoHostSync_NoDriverAllocation()
    {
        var rng = new Random(900);
        using var x = Parameter.FromHost(Acc, RandomFloats(rng, 2 * 3 * 4 * 4), 2, 3, 4, 4);
        using var w = Parameter.FromHost(Acc, RandomFloats(rng, 5 * 12), 5, 12);
        using var u = Tensor.FromHost(Acc, RandomFloats(rng, 5), 5);
        using var v = Tensor.FromHost(Acc, RandomFloats(rng, 12), 12);
        using var idx = Tensor.FromHost(Acc, [2f, 0f, 0f], 3);
        using var targets = Tensor.FromHost(Acc, [4f, 1f], 2);
        long allocations = 0, syncs = 0;
        for (int iteration = 0; iteration < 4; iteration++)
        {
            if (iteration == 1)
            {
                allocations = Acc.DriverAllocations;
                syncs = Acc.HostSynchronizations;
            }
            x.ZeroGrad();
            w.ZeroGrad();
            using var scope = new TensorScope(Acc);
            var up = Functional.UpsampleNearest2d(x, 2);                     // (2, 3, 8, 8)
            var pooled = Functional.AvgPool2d(up, 4);                        // (2, 3, 2, 2)
            var picked = Functional.IndexSelect(pooled, 1, idx).View(2, 12); // (2, 12)
            var wsn = Functional.SpectralNorm(w, u, v, training: true);
            var logits = Functional.Linear(picked, wsn, mode: MathMode.StrictFp32);
            var loss = Functional.CrossEntropy(logits, targets) + Functional.LogSoftmax(logits).Mean() + Functional.Softmax(logits).Mean();
            loss.Backward();
        }
        Assert.That(Acc.DriverAllocations, Is.EqualTo(allocations), "driver allocations after the first iteration");
        Assert.That(Acc.HostSynchronizations, Is.EqualTo(syncs), "host synchronisations inside the steps");
        Assert.That(x.Grad!.ToHost().Concat(w.Grad!.ToHost()).All(float.IsFinite), Is.True, "finite gradients");
        Assert.That(x.Grad!.ToHost().Any(g => g != 0f), Is.True, "the gradient reaches the input");
    }
}

[TestFixture]
public sealed class CpuGanOpsStep : GanOpsStepSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicGanOpsStep : GanOpsStepSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClGanOpsStep(string platform) : GanOpsStepSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaGanOpsStep : GanOpsStepSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
