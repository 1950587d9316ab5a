using GanEngine.Accelerators;
using GanEngine.Memory;
using NUnit.Framework;

namespace GanEngine.Tests;

/// <summary>
/// Base of the suites written once and bound to every accelerator (CPU, PoCL, NVIDIA OpenCL, CUDA): one
/// accelerator per fixture, created once (a missing one makes the fixture skip with its reason, see
/// <see cref="TestAccelerators"/>), its caching allocator and itself disposed after the fixture, and its
/// name printed with every test so a failure says where it happened.
/// </summary>
public abstract class AcceleratorSuite
{
    /// <summary>The accelerator under test.</summary>
    protected Accelerator Acc { get; private set; } = null!;

    /// <summary>Creates the accelerator under test (once per fixture).</summary>
    protected abstract Accelerator CreateAccelerator();

    [OneTimeSetUp]
    public void CreateAcceleratorOnce() => Acc = CreateAccelerator();

    [OneTimeTearDown]
    public void DisposeAccelerator()
    {
        if (Acc != null)
        {
            CachingAllocator.For(Acc).Dispose();
            Acc.Dispose();
        }
    }

    [SetUp]
    public void NameAccelerator() => TestContext.Out.WriteLine($"accelerator: {Acc.Kind} {Acc.Name}");
}
