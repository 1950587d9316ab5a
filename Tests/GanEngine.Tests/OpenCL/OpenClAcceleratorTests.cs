using GanEngine.Accelerators;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Kernels;
using NUnit.Framework;

namespace GanEngine.Tests.OpenCL;

/// <summary>
/// The OpenCL accelerator on whatever platform is installed (PoCL in CI). Set
/// GANENGINE_OPENCL_PLATFORM to a platform-name fragment (e.g. "NVIDIA") to pick one.
/// Skips with "OpenCL: reason" when there is no OpenCL device.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class OpenClAcceleratorTests : IDisposable
{
    private OpenClAccelerator _accelerator = null!;
    private Random _random = null!;

    [OneTimeSetUp]
    public void OpenDevice()
    {
        string? filter = Environment.GetEnvironmentVariable("GANENGINE_OPENCL_PLATFORM");
        if (!OpenClAccelerator.TrySelect(filter, OpenClDeviceType.Any, out var device, out string reason))
        {
            Assert.Ignore($"OpenCL: {reason}");
        }
        _accelerator = new OpenClAccelerator(device!);
        TestContext.Progress.WriteLine($"OpenCL device: {_accelerator.Info} | {device!.OpenClCVersion}");
    }

    /// <summary>NUnit disposes the fixture after its last test.</summary>
    public void Dispose() => _accelerator?.Dispose();

    [SetUp]
    public void FreshRandom()
    {
        int seed = Environment.TickCount ^ TestContext.CurrentContext.Test.Name.GetHashCode(StringComparison.Ordinal);
        TestContext.Out.WriteLine($"seed {seed}");
        _random = new Random(seed);
    }

    private float[] RandomFloats(int n)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = (float)((_random.NextDouble() + 0.125) * (_random.Next(2) == 0 ? -1 : 1));
        }
        return values;
    }

    private int[] RandomInts(int n, int bound = 1000)
    {
        var values = new int[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = _random.Next(1, bound) * (_random.Next(2) == 0 ? -1 : 1);
        }
        return values;
    }

    private static void Launch(IKernelLauncher launcher, KernelDefinition kernel, LaunchConfig config, params KernelArgument[] arguments) =>
        launcher.Launch(kernel, config, arguments);

    [Test]
    public void EnumerateListsTheDeviceAndInfoIsFilledIn()
    {
        var enumeration = OpenClAccelerator.Enumerate();
        Assert.That(enumeration.IsAvailable, Is.True, enumeration.Reason);
        Assert.That(enumeration.Reason, Is.Null);
        foreach (var device in enumeration.Devices)
        {
            TestContext.Out.WriteLine(device);
        }
        var info = _accelerator.Info;
        Assert.Multiple(() =>
        {
            Assert.That(info.Kind, Is.EqualTo(AcceleratorKind.OpenCL));
            Assert.That(info.MaxThreadsPerBlock, Is.GreaterThan(0));
            Assert.That(info.MaxSharedMemoryPerBlock, Is.GreaterThan(0));
            Assert.That(info.WarpSize, Is.EqualTo(32));
            Assert.That(info.MultiprocessorCount, Is.GreaterThan(0));
            Assert.That(info.GlobalMemoryBytes, Is.GreaterThan(0));
            Assert.That(info.Platform, Does.Contain(_accelerator.Device.PlatformName));
            Assert.That(info.Architecture, Does.StartWith("OpenCL"));
        });
    }

    [Test]
    public void AxpyOnSlicesTouchesOnlyTheSlice()
    {
        const int total = 1000, start = 101, length = 517;
        float a = RandomFloats(1)[0];
        var x = RandomFloats(total);
        var y = RandomFloats(total);
        using var xBuffer = _accelerator.Allocate<float>(x);
        using var yBuffer = _accelerator.Allocate<float>(y);
        var xSlice = xBuffer.ReadOnly.Slice(13, length);
        var ySlice = yBuffer.View.Slice(start, length);

        Launch(_accelerator, HandWrittenKernels.Axpy, LaunchConfig.ForElements(length, 64),
            KernelArgument.FromView(xSlice), KernelArgument.FromView(ySlice), KernelArgument.FromScalar(a));
        var result = yBuffer.ToArray();

        for (int i = 0; i < total; i++)
        {
            float expected = i >= start && i < start + length ? a * x[i - start + 13] + y[i] : y[i];
            Assert.That(result[i], Is.EqualTo(expected).Within(1e-5f), $"element {i}");
        }
    }

    [Test]
    public void AxpyInDoublePrecision()
    {
        if (!_accelerator.SupportsDouble)
        {
            Assert.Ignore("OpenCL: the device has no cl_khr_fp64");
        }
        const int n = 333;
        double a = _random.NextDouble() + 0.5;
        var x = RandomFloats(n).Select(v => (double)v * Math.PI).ToArray();
        var y = RandomFloats(n).Select(v => (double)v / 3).ToArray();
        using var xBuffer = _accelerator.Allocate<double>(x);
        using var yBuffer = _accelerator.Allocate<double>(y);
        Launch(_accelerator, HandWrittenKernels.AxpyDouble, LaunchConfig.ForElements(n, 32),
            KernelArgument.FromView(xBuffer.ReadOnly), KernelArgument.FromView(yBuffer.View), KernelArgument.FromScalar(a));
        var result = yBuffer.ToArray();
        for (int i = 0; i < n; i++)
        {
            Assert.That(result[i], Is.EqualTo(a * x[i] + y[i]).Within(1e-12), $"element {i}");
        }
    }

    [Test]
    public void Grid2DWithRaggedEdgesWritesEveryCellAndNothingElse()
    {
        const int width = 37, height = 23, pad = 16;
        var input = RandomFloats(width * height);
        var output = RandomFloats(width * height + 2 * pad);
        using var inputBuffer = _accelerator.Allocate<float>(input);
        using var outputBuffer = _accelerator.Allocate<float>(output);
        var block = new Dim3(8, 4);
        var config = new LaunchConfig(new Dim3((width + 7) / 8, (height + 3) / 4), block);

        Launch(_accelerator, HandWrittenKernels.Grid2D, config,
            KernelArgument.FromView(inputBuffer.ReadOnly),
            KernelArgument.FromView(outputBuffer.View.Slice(pad, width * height)),
            KernelArgument.FromScalar(width),
            KernelArgument.FromScalar(height));
        var result = outputBuffer.ToArray();

        for (int i = 0; i < pad; i++)
        {
            Assert.That(result[i], Is.EqualTo(output[i]), $"leading pad {i}");
            Assert.That(result[pad + width * height + i], Is.EqualTo(output[pad + width * height + i]), $"trailing pad {i}");
        }
        for (int r = 0; r < height; r++)
        {
            for (int c = 0; c < width; c++)
            {
                int i = r * width + c;
                Assert.That(result[pad + i], Is.EqualTo(2f * input[i] + c - r).Within(1e-5f), $"cell ({r}, {c})");
            }
        }
    }

    [Test]
    public void SpecializationsAreDefinesAndEachSetIsBuiltOnce()
    {
        const int n = 300;
        var x = RandomInts(n);
        using var xBuffer = _accelerator.Allocate<int>(x);
        using var yBuffer = _accelerator.Allocate<int>(n);
        int factor = _random.Next(2, 50), bias = _random.Next(-100, 100);
        long compiledBefore = _accelerator.CompileStatistics.Compiled;
        long fromMemoryBefore = _accelerator.CompileStatistics.LoadedFromMemory;

        int[] Run(int f, int b)
        {
            Launch(_accelerator, HandWrittenKernels.Specialized, LaunchConfig.ForElements(n, 128),
                KernelArgument.FromView(xBuffer.ReadOnly), KernelArgument.FromSpecialization(f),
                KernelArgument.FromView(yBuffer.View), KernelArgument.FromSpecialization(b));
            return yBuffer.ToArray();
        }

        Assert.That(Run(factor, bias), Is.EqualTo(x.Select(v => v * factor + bias).ToArray()));
        Assert.That(Run(factor + 1, bias), Is.EqualTo(x.Select(v => v * (factor + 1) + bias).ToArray()));
        Assert.That(Run(factor, bias), Is.EqualTo(x.Select(v => v * factor + bias).ToArray()));
        Assert.That(_accelerator.CompileStatistics.Compiled - compiledBefore, Is.EqualTo(2));
        Assert.That(_accelerator.CompileStatistics.LoadedFromMemory - fromMemoryBefore, Is.EqualTo(1));
    }

    [Test]
    public void DynamicLocalMemoryReductionWithBarriers([Values(32, 128, 256)] int block)
    {
        const int n = 5000;
        var x = RandomFloats(n);
        int groups = (n + block - 1) / block;
        using var xBuffer = _accelerator.Allocate<float>(x);
        using var sums = _accelerator.Allocate<float>(RandomFloats(groups));

        _accelerator.Launch(HandWrittenKernels.BlockSum, new LaunchConfig(groups, block, block * sizeof(float)),
            [KernelArgument.FromView(xBuffer.ReadOnly), KernelArgument.FromView(sums.View)]);
        var result = sums.ToArray();

        for (int g = 0; g < groups; g++)
        {
            double expected = 0;
            for (int i = g * block; i < Math.Min(n, (g + 1) * block); i++)
            {
                expected += x[i];
            }
            Assert.That(result[g], Is.EqualTo(expected).Within(1e-4), $"group {g}");
        }
    }

    [Test]
    public void CompileErrorCarriesTheBuildLogWithCSharpFileAndLine()
    {
        using var y = _accelerator.Allocate<float>(RandomFloats(4));
        var error = Assert.Throws<OpenClCompilationException>(() =>
            Launch(_accelerator, HandWrittenKernels.Broken, new LaunchConfig(1, 1), KernelArgument.FromView(y.View)));
        TestContext.Out.WriteLine(error!.Message);
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain(HandWrittenKernels.Broken.Name));
            Assert.That(error.Message, Does.Contain("CL_BUILD_PROGRAM_FAILURE"));
            Assert.That(error.Message, Does.Contain("undeclared_thing"));
            Assert.That(error.BuildLog, Does.Match(@"Fake/BrokenKernel\.cs[:(]43\b"));
            Assert.That(error.BuildOptions, Does.StartWith("-cl-std=CL1.2"));
        });
    }

    [Test]
    public void BadLaunchesThrowArgumentException()
    {
        using var y = _accelerator.Allocate<float>(RandomFloats(64));
        using var d = _accelerator.Allocate<double>(8);
        var good = new[] { KernelArgument.FromView(y.View), KernelArgument.FromScalar(3) };
        var spin = HandWrittenKernels.Spin;
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentException>(() => _accelerator.Launch(spin, new LaunchConfig(1, 0), good), "empty block");
            Assert.Throws<ArgumentException>(() => _accelerator.Launch(spin, new LaunchConfig(0, 32), good), "empty grid");
            Assert.Throws<ArgumentException>(() => _accelerator.Launch(spin, new LaunchConfig(1, _accelerator.Info.MaxThreadsPerBlock + 1), good), "too many threads");
            Assert.Throws<ArgumentException>(() => _accelerator.Launch(spin, new LaunchConfig(1, 32, 256), good), "dynamic shared on a kernel without it");
            Assert.Throws<ArgumentException>(() => _accelerator.Launch(spin, new LaunchConfig(1, 32), good.AsSpan(0, 1)), "missing argument");
            Assert.Throws<ArgumentException>(() => _accelerator.Launch(spin, new LaunchConfig(1, 32), [KernelArgument.FromView(d.View), KernelArgument.FromScalar(3)]), "double view for float");
            Assert.Throws<ArgumentException>(() => _accelerator.Launch(spin, new LaunchConfig(1, 32), [KernelArgument.FromView(y.View), KernelArgument.FromScalar(3L)]), "long for int");
        });
    }

    [Test]
    public void EventsTimeWorkOnTheStream()
    {
        const int n = 1 << 16;
        using var y = _accelerator.Allocate<float>(RandomFloats(n));
        using var stream = _accelerator.CreateStream();
        using var start = stream.RecordEvent();
        for (int i = 0; i < 4; i++)
        {
            Launch(stream, HandWrittenKernels.Spin, LaunchConfig.ForElements(n, 64), KernelArgument.FromView(y.View), KernelArgument.FromScalar(500));
        }
        using var end = stream.RecordEvent();
        end.Synchronize();
        Assert.That(end.IsComplete, Is.True);
        Assert.That(start.IsComplete, Is.True);
        float ms = AcceleratorEvent.ElapsedMilliseconds(start, end);
        TestContext.Out.WriteLine($"4 x Spin(500) over {n}: {ms} ms");
        Assert.That(ms, Is.GreaterThan(0f));
    }

    [Test]
    public void StreamsOrderThroughEvents()
    {
        const int n = 4096;
        var values = RandomFloats(n);
        using var a = _accelerator.Allocate<float>(n);
        using var b = _accelerator.Allocate<float>(RandomFloats(n));
        using var producer = _accelerator.CreateStream();
        using var consumer = _accelerator.CreateStream();
        using var pinned = _accelerator.AllocatePinned<float>(n);
        values.CopyTo(pinned.Span);

        producer.CopyToDeviceAsync(pinned, a.View);
        Launch(producer, HandWrittenKernels.Spin, LaunchConfig.ForElements(n, 64), KernelArgument.FromView(a.View), KernelArgument.FromScalar(500));
        using var ready = producer.RecordEvent();
        consumer.WaitFor(ready);
        consumer.Copy(a.ReadOnly, b.View);
        consumer.Synchronize();

        var expected = _accelerator.Allocate<float>(values);
        Launch(_accelerator, HandWrittenKernels.Spin, LaunchConfig.ForElements(n, 64), KernelArgument.FromView(expected.View), KernelArgument.FromScalar(500));
        Assert.That(b.ToArray(), Is.EqualTo(expected.ToArray()));
        expected.Dispose();
    }

    [Test]
    public void CopiesBetweenHostPinnedAndDeviceWithOffsets()
    {
        const int n = 777;
        var source = RandomFloats(n);
        var original = RandomFloats(n);
        using var a = _accelerator.Allocate<float>(source);
        using var b = _accelerator.Allocate<float>(original);
        var stream = _accelerator.DefaultStream;

        Assert.That(a.ToArray(), Is.EqualTo(source), "host -> device -> host");

        stream.Copy(a.ReadOnly.Slice(5, 300), b.View.Slice(400, 300));
        var copied = b.ToArray();
        for (int i = 0; i < n; i++)
        {
            Assert.That(copied[i], Is.EqualTo(i >= 400 && i < 700 ? source[i - 395] : original[i]), $"device -> device element {i}");
        }

        stream.FillBytes(b.View.Slice(10, 20), 0x3F);
        var filled = b.ToArray();
        float pattern = BitConverter.Int32BitsToSingle(0x3F3F3F3F);
        for (int i = 0; i < n; i++)
        {
            Assert.That(filled[i], Is.EqualTo(i >= 10 && i < 30 ? pattern : copied[i]), $"fill element {i}");
        }

        var part = new float[100];
        stream.CopyToHost(a.ReadOnly.Slice(600, 100), part);
        Assert.That(part, Is.EqualTo(source[600..700]), "device slice -> host");
        var fresh = RandomFloats(50);
        stream.CopyToDevice<float>(fresh, a.View.Slice(50, 50));
        Assert.That(a.ToArray()[50..100], Is.EqualTo(fresh), "host -> device slice");

        using var pinned = _accelerator.AllocatePinned<float>(200);
        RandomFloats(200).CopyTo(pinned.Span);
        var pinnedValues = pinned.Span.ToArray();
        stream.CopyToDeviceAsync(pinned, b.View.Slice(1, 200));
        using var back = _accelerator.AllocatePinned<float>(200);
        stream.CopyToHostAsync(b.ReadOnly.Slice(1, 200), back);
        stream.Synchronize();
        Assert.That(back.Span.ToArray(), Is.EqualTo(pinnedValues), "pinned -> device -> pinned");
    }

    [Test]
    public void ConcurrentLaunchesOfOneKernelKeepTheirOwnArguments()
    {
        const int threads = 4, launches = 25, n = 1000;
        var buffers = Enumerable.Range(0, threads).Select(_ => _accelerator.Allocate<float>(RandomFloats(n))).ToArray();
        var xs = Enumerable.Range(0, threads).Select(_ => RandomFloats(n)).ToArray();
        var xBuffers = xs.Select(x => _accelerator.Allocate<float>(x)).ToArray();
        var before = buffers.Select(b => b.ToArray()).ToArray();
        var scales = Enumerable.Range(0, threads).Select(t => 0.5f + t).ToArray();
        try
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                using var stream = _accelerator.CreateStream();
                for (int k = 0; k < launches; k++)
                {
                    Launch(stream, HandWrittenKernels.Axpy, LaunchConfig.ForElements(n, 128),
                        KernelArgument.FromView(xBuffers[t].ReadOnly), KernelArgument.FromView(buffers[t].View), KernelArgument.FromScalar(scales[t]));
                }
                stream.Synchronize();
            });
            for (int t = 0; t < threads; t++)
            {
                var result = buffers[t].ToArray();
                for (int i = 0; i < n; i++)
                {
                    float expected = before[t][i];
                    for (int k = 0; k < launches; k++)
                    {
                        expected = scales[t] * xs[t][i] + expected;
                    }
                    Assert.That(result[i], Is.EqualTo(expected).Within(1e-3f * Math.Max(1f, Math.Abs(expected))), $"thread {t} element {i}");
                }
            }
        }
        finally
        {
            foreach (var buffer in buffers.Concat(xBuffers))
            {
                buffer.Dispose();
            }
        }
    }
}
