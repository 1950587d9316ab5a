using GanEngine.Accelerators;
using GanEngine.Accelerators.Cuda;
using GanEngine.Kernels;
using NUnit.Framework;

namespace GanEngine.Tests.Cuda;

/// <summary>CUDA accelerator on a real GPU; every test is ignored, with the reason, where there is none.</summary>
[TestFixture]
[NonParallelizable]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Disposed in OneTimeTearDown.")]
public sealed class CudaAcceleratorTests
{
    private CudaAccelerator? _accelerator;
    private string _cache = string.Empty;

    private CudaAccelerator Accelerator => _accelerator ?? throw new InvalidOperationException("no accelerator");

    [OneTimeSetUp]
    public void OpenDevice()
    {
        if (!CudaAccelerator.IsAvailable(out string reason))
        {
            Assert.Ignore($"CUDA: {reason}");
        }
        _cache = Path.Combine(Path.GetTempPath(), "ganengine-cuda-test-" + Guid.NewGuid().ToString("N"));
        _accelerator = new CudaAccelerator(0, _cache);
    }

    [OneTimeTearDown]
    public void CloseDevice()
    {
        _accelerator?.Dispose();
        if (Directory.Exists(_cache))
        {
            Directory.Delete(_cache, recursive: true);
        }
    }

    [Test]
    public void IsAvailableNeverThrows()
    {
        Assert.DoesNotThrow(() => CudaAccelerator.IsAvailable(out _));
        Assert.That(CudaAccelerator.Enumerate(), Is.Not.Empty);
    }

    [Test]
    public void InfoIsRead()
    {
        var info = Accelerator.Info;
        Assert.That(info.Kind, Is.EqualTo(AcceleratorKind.Cuda));
        Assert.That(info.Architecture, Does.StartWith("sm_"));
        Assert.That(info.MaxThreadsPerBlock, Is.GreaterThanOrEqualTo(1024));
        Assert.That(info.WarpSize, Is.EqualTo(32));
    }

    private static readonly KernelDefinition Scale = new(
        "Tests.Cuda.Scale",
        "Tests_Cuda_Scale",
        "extern \"C\" __global__ void Tests_Cuda_Scale(float* y, int y_length, const float* __restrict__ x, int x_length, float a)\n" +
        "{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < y_length) y[i] = a * x[i] + GE_SPEC_bias; }\n",
        string.Empty,
        [
            new("y", KernelArgumentKind.Buffer, "float", 4),
            new("x", KernelArgumentKind.ReadOnlyBuffer, "float", 4),
            new("a", KernelArgumentKind.Scalar, "float", 4),
            new("bias", KernelArgumentKind.Specialization, "int", 4),
        ],
        KernelFeatures.None, 0, 0, "Scale.cs", 1, _ => throw new NotSupportedException());

    [Test]
    public void LaunchWithOffsetViewsAndSpecialization()
    {
        var x = Enumerable.Range(0, 1000).Select(i => (float)i).ToArray();
        using var dx = Accelerator.Allocate<float>(x);
        using var dy = Accelerator.Allocate<float>(1000);
        Accelerator.DefaultStream.FillBytes(dy.View, 0);
        var y = dy.View.Slice(100, 800);
        var xs = dx.ReadOnly.Slice(50, 800);
        Span<KernelArgument> arguments = [KernelArgument.FromView(y), KernelArgument.FromView(xs), KernelArgument.FromScalar(2f), KernelArgument.FromSpecialization(3)];
        Accelerator.Launch(Scale, LaunchConfig.ForElements(800, 128), arguments);
        var result = dy.ToArray();
        for (int i = 0; i < 1000; i++)
        {
            float expected = i is >= 100 and < 900 ? 2f * (i - 50) + 3 : 0f;
            Assert.That(result[i], Is.EqualTo(expected), $"element {i}");
        }
        long compiled = Accelerator.CompileStatistics.Compiled;
        Accelerator.Launch(Scale, LaunchConfig.ForElements(800, 128), arguments);
        Assert.That(Accelerator.CompileStatistics.Compiled, Is.EqualTo(compiled));
    }

    [Test]
    public void CompileErrorCarriesTheLog()
    {
        var broken = new KernelDefinition("Tests.Cuda.Broken", "Tests_Cuda_Broken",
            "extern \"C\" __global__ void Tests_Cuda_Broken(float* y, int y_length)\n{\n#line 7 \"Broken.cs\"\n y[0] = nope;\n}\n",
            string.Empty, [new("y", KernelArgumentKind.Buffer, "float", 4)], KernelFeatures.None, 0, 0, "Broken.cs", 1, _ => throw new NotSupportedException());
        using var y = Accelerator.Allocate<float>(1);
        Span<KernelArgument> arguments = [KernelArgument.FromView(y.View)];
        try
        {
            Accelerator.Launch(broken, new LaunchConfig(1, 1), arguments);
            Assert.Fail("no exception");
        }
        catch (KernelCompilationException e)
        {
            Assert.That(e.Log, Does.Contain("Broken.cs(7)"));
            Assert.That(e.Message, Does.Contain("Tests.Cuda.Broken"));
        }
    }
}
