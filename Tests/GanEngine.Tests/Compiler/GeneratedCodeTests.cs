using NUnit.Framework;

namespace GanEngine.Tests.Compiler;

/// <summary>The C# side: launcher, CPU factory, iterator rewrite and manifest compile, and carry the ABI.</summary>
[TestFixture]
public sealed class GeneratedCodeTests
{
    [Test]
    public void EveryGoldenKernelCompilesWithManifest()
    {
        foreach (var c in GoldenTests.Cases)
        {
            var result = GeneratorHarness.Run(c.Source);
            Assert.That(result.Errors, Is.Empty);
            Assert.That(result.OutputErrors, Is.Empty, result.GeneratedText);
            Assert.That(result.GeneratedText, Does.Contain("internal static class KernelManifest"));
            Assert.That(result.GeneratedText, Does.Contain("Launch" + c.Kernel + "(global::GanEngine.Kernels.IKernelLauncher launcher, in global::GanEngine.Kernels.LaunchConfig config"));
            Assert.That(result.GeneratedText, Does.Contain("stackalloc global::GanEngine.Kernels.KernelArgument["));
        }
    }

    [Test]
    public void CollectiveKernelGetsIterator()
    {
        var reduce = GoldenTests.Cases.First(c => c.Name == "Reduce");
        var result = GeneratorHarness.Run(reduce.Source);
        string text = result.GeneratedText;
        Assert.That(text, Does.Contain("CpuKernelBody.Synchronous(() => Sum__CpuSync("));
        Assert.That(text, Does.Contain("CollectivePhase.Arrive;"));
        Assert.That(text, Does.Contain("yield return 0;"));
        Assert.That(text, Does.Contain("foreach (var __ge_y"));
        Assert.That(text, Does.Contain("Sum__Box<float>"));
        Assert.That(text, Does.Contain("KernelFeatures.Barrier | global::GanEngine.Kernels.KernelFeatures.WarpCollectives"));
    }

    [Test]
    public void IndependentKernelAndParameters()
    {
        var tiled = GoldenTests.Cases.First(c => c.Name == "Tiled");
        var result = GeneratorHarness.Run(tiled.Source);
        string text = result.GeneratedText;
        Assert.That(text, Does.Contain("CpuKernelBody.Independent(() => RowSums("));
        Assert.That(text, Does.Contain("KernelArgumentKind.Specialization"));
        Assert.That(text, Does.Contain("KernelArgument.FromSpecialization(tile)"));
        Assert.That(text, Does.Contain("KernelArgumentKind.ReadOnlyBuffer"));
        Assert.That(result.DefinitionString("RowSums", "entryPoint"), Is.EqualTo("Tests_K_C_RowSums"));
    }

    [Test]
    public void StackAllocInIteratorBecomesArray()
    {
        var source = GeneratorHarness.Kernel("""
            [Kernel]
            public static void K(ArrayView<float> x)
            {
                Span<float> t = stackalloc float[4];
                t[0] = x[ThreadIdx.X];
                Group.Barrier();
                float v = Warp.Shuffle(t[0] * 2f, 0);
                if (ThreadIdx.X == 0)
                {
                    return;
                }
                x[ThreadIdx.X] = v;
            }
        """);
        var result = GeneratorHarness.Run(source);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.OutputErrors, Is.Empty, result.GeneratedText);
        Assert.That(result.GeneratedText, Does.Contain("float[] t = new float[4];"));
        Assert.That(result.GeneratedText, Does.Contain("float __ge_t0 = t[0] * 2f;"));
        Assert.That(result.GeneratedText, Does.Contain("yield break;"));
    }
}
