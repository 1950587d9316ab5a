using System.Diagnostics;
using GanEngine.Accelerators.Cpu;
using GanEngine.Kernels;
using NUnit.Framework;

namespace GanEngine.Tests.Cpu;

/// <summary>Scheduler overhead of the CPU accelerator: prints ns per kernel thread and checks generous
/// bounds (the suite must stay fast on a 2-core CI machine).</summary>
[TestFixture]
[Category("Performance")]
public sealed class CpuPerformanceTests
{
    private const int Elements = 4 << 20;

    [Test]
    public void ElementwiseOver4MElements()
    {
        var random = new Random(TestContext.CurrentContext.Random.Next());
        var x = new float[Elements];
        var y = new float[Elements];
        for (int i = 0; i < Elements; i++)
        {
            x[i] = random.NextSingle() + 0.1f;
            y[i] = random.NextSingle() + 0.1f;
        }
        foreach (var options in new[] { new CpuAcceleratorOptions(), new CpuAcceleratorOptions(Deterministic: true) })
        {
            using var accelerator = new CpuAccelerator(options);
            using var dx = accelerator.Allocate<float>(x);
            using var dy = accelerator.Allocate<float>(y);
            KernelArgument[] args = [KernelArgument.FromScalar(0.5f), KernelArgument.FromView(dx.ReadOnly), KernelArgument.FromView(dy.View)];
            double best = Measure(() => accelerator.Launch(CpuTestKernels.AxpyDefinition, LaunchConfig.ForElements(Elements, 256), args));
            TestContext.Out.WriteLine($"{accelerator.Name}: axpy over {Elements} elements: {best:F1} ms, {best * 1e6 / Elements:F2} ns/thread");
            Assert.That(best, Is.LessThan(2000), "element-wise launch far slower than expected");
        }
    }

    [Test]
    public void SynchronousBlocksWithBarriers()
    {
        var random = new Random(TestContext.CurrentContext.Random.Next());
        const int n = 1 << 20;
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = random.NextSingle() + 0.1f;
        }
        foreach (var options in new[] { new CpuAcceleratorOptions(), new CpuAcceleratorOptions(Deterministic: true) })
        {
            using var accelerator = new CpuAccelerator(options);
            using var dx = accelerator.Allocate<float>(x);
            using var dy = accelerator.Allocate<float>(n);
            KernelArgument[] args = [KernelArgument.FromView(dx.ReadOnly), KernelArgument.FromView(dy.View)];
            double best = Measure(() => accelerator.Launch(CpuTestKernels.ReverseTwiceDefinition, new LaunchConfig(n / 256, 256), args));
            TestContext.Out.WriteLine($"{accelerator.Name}: 256-thread blocks, 3 barriers, {n} threads: {best:F1} ms, {best * 1e6 / n:F2} ns/thread");
            var result = dy.ToArray();
            for (int i = 0; i < n; i += 997)
            {
                Assert.That(result[i], Is.EqualTo(2f * x[i]));
            }
            Assert.That(best, Is.LessThan(5000), "group-synchronous launch far slower than expected");
        }
    }

    [Test]
    public void SmallLaunchLatency()
    {
        using var accelerator = new CpuAccelerator();
        using var dx = accelerator.Allocate<float>(Enumerable.Range(1, 256).Select(i => (float)i).ToArray());
        using var dy = accelerator.Allocate<float>(256);
        KernelArgument[] args = [KernelArgument.FromScalar(0.5f), KernelArgument.FromView(dx.ReadOnly), KernelArgument.FromView(dy.View)];
        var config = LaunchConfig.ForElements(256, 64); // 4 blocks: uses the workers
        const int launches = 2000;
        for (int i = 0; i < 100; i++)
        {
            accelerator.Launch(CpuTestKernels.AxpyDefinition, config, args);
        }
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < launches; i++)
        {
            accelerator.Launch(CpuTestKernels.AxpyDefinition, config, args);
        }
        double us = watch.Elapsed.TotalMicroseconds / launches;
        TestContext.Out.WriteLine($"{accelerator.Name}: small launch (4 blocks of 64): {us:F1} us/launch");
        Assert.That(us, Is.LessThan(5000));
    }

    private static double Measure(Action launch)
    {
        launch(); // warm up (JIT, runner pool)
        double best = double.MaxValue;
        for (int run = 0; run < 5; run++)
        {
            var watch = Stopwatch.StartNew();
            launch();
            best = Math.Min(best, watch.Elapsed.TotalMilliseconds);
        }
        return best;
    }
}
