using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Kernels;
using NUnit.Framework;

namespace GanEngine.Tests.Cpu;

/// <summary>Kernel execution on the CPU accelerator, in deterministic and parallel mode.</summary>
[TestFixture]
public sealed class CpuAcceleratorTests
{
    public static IEnumerable<TestCaseData> Modes()
    {
        yield return new TestCaseData(new CpuAcceleratorOptions(Deterministic: true)).SetArgDisplayNames("deterministic");
        yield return new TestCaseData(new CpuAcceleratorOptions(WorkerCount: 2)).SetArgDisplayNames("2 workers");
        yield return new TestCaseData(new CpuAcceleratorOptions(WorkerCount: 5)).SetArgDisplayNames("5 workers");
    }

    private static Random NewRandom()
    {
        int seed = TestContext.CurrentContext.Random.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        return new Random(seed);
    }

    private static float[] RandomFloats(Random random, int count, float min = -1f, float max = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = min + ((max - min) * random.NextSingle());
        }
        return values;
    }

    [Test]
    public void InfoDescribesTheCpu()
    {
        using var accelerator = new CpuAccelerator(new CpuAcceleratorOptions(WorkerCount: 3));
        var info = accelerator.Info;
        Assert.Multiple(() =>
        {
            Assert.That(info.Kind, Is.EqualTo(AcceleratorKind.Cpu));
            Assert.That(info.MaxThreadsPerBlock, Is.EqualTo(1024));
            Assert.That(info.MaxSharedMemoryPerBlock, Is.EqualTo(227 * 1024));
            Assert.That(info.WarpSize, Is.EqualTo(32));
            Assert.That(info.MultiprocessorCount, Is.EqualTo(3));
            Assert.That(info.GlobalMemoryBytes, Is.GreaterThan(0));
        });
        using var byDefault = new CpuAccelerator();
        Assert.That(byDefault.Info.MultiprocessorCount, Is.EqualTo(Environment.ProcessorCount));
    }

    [TestCaseSource(nameof(Modes))]
    public void AxpyMatchesTheHost(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        const int n = 100_003; // ragged last block
        float a = 0.5f + random.NextSingle();
        var x = RandomFloats(random, n);
        var y = RandomFloats(random, n);
        using var accelerator = new CpuAccelerator(options);
        using var dx = accelerator.Allocate<float>(x);
        using var dy = accelerator.Allocate<float>(y);
        KernelArgument[] args = [KernelArgument.FromScalar(a), KernelArgument.FromView(dx.ReadOnly), KernelArgument.FromView(dy.View)];
        accelerator.Launch(CpuTestKernels.AxpyDefinition, LaunchConfig.ForElements(n, 256), args);
        var result = dy.ToArray();
        for (int i = 0; i < n; i++)
        {
            float expected = (a * x[i]) + y[i];
            if (result[i] != expected)
            {
                Assert.Fail($"y[{i}] = {result[i]}, expected {expected}");
            }
        }
    }

    [TestCaseSource(nameof(Modes))]
    public void BlockReductionWithBarriersAndShuffles(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        const int blocks = 37;
        const int n = (blocks * 256) - 100; // last block partly empty
        var input = new float[n];
        for (int i = 0; i < n; i++)
        {
            input[i] = random.Next(-1000, 1001); // integers: every partial sum is exact in float
        }
        using var accelerator = new CpuAccelerator(options);
        using var din = accelerator.Allocate<float>(input);
        using var dout = accelerator.Allocate<float>(blocks);
        KernelArgument[] args = [KernelArgument.FromView(din.ReadOnly), KernelArgument.FromView(dout.View)];
        accelerator.Launch(CpuTestKernels.BlockSumDefinition, new LaunchConfig(blocks, 256), args);
        var sums = dout.ToArray();
        for (int b = 0; b < blocks; b++)
        {
            double expected = 0;
            for (int i = b * 256; i < Math.Min(n, (b + 1) * 256); i++)
            {
                expected += input[i];
            }
            Assert.That(sums[b], Is.EqualTo((float)expected), $"block {b}");
        }
    }

    [TestCaseSource(nameof(Modes))]
    public void WarpShufflesAndBallot(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        const int blocks = 3, threads = 96;
        int mask = random.Next(1, 32), source = random.Next(0, 64);
        var input = RandomFloats(random, blocks * threads, 0f, 1f);
        using var accelerator = new CpuAccelerator(options);
        using var din = accelerator.Allocate<float>(input);
        using var dout = accelerator.Allocate<float>(input.Length * 4);
        Span<KernelArgument> args =
        [
            KernelArgument.FromView(din.ReadOnly), KernelArgument.FromView(dout.View), KernelArgument.FromScalar(mask), KernelArgument.FromScalar(source),
        ];
        accelerator.Launch(CpuTestKernels.WarpOpsDefinition, new LaunchConfig(blocks, threads), args);
        var output = dout.ToArray();
        for (int i = 0; i < input.Length; i++)
        {
            int warpStart = i & ~31, lane = i & 31;
            uint ballot = 0;
            for (int l = 0; l < 32; l++)
            {
                ballot |= (input[warpStart + l] > 0.5f ? 1u : 0u) << l;
            }
            Assert.That(output[(i * 4) + 0], Is.EqualTo(input[warpStart + ((lane ^ mask) & 31)]), $"xor, thread {i}");
            Assert.That(output[(i * 4) + 1], Is.EqualTo(input[warpStart + (lane >= 3 ? lane - 3 : lane)]), $"up, thread {i}");
            Assert.That(output[(i * 4) + 2], Is.EqualTo(input[warpStart + (source & 31)]), $"index, thread {i}");
            Assert.That(BitConverter.SingleToUInt32Bits(output[(i * 4) + 3]), Is.EqualTo(ballot), $"ballot, thread {i}");
        }
    }

    [TestCaseSource(nameof(Modes))]
    public void MmaTf32MatchesADoubleReferenceExactly(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        const int warps = 4;
        var a = new float[warps * 128];
        var b = new float[warps * 64];
        var c = new float[warps * 128];
        for (int w = 0; w < warps; w++)
        {
            for (int i = 0; i < 16; i++)
            {
                for (int k = 0; k < 8; k++)
                {
                    a[(w * 128) + (i * 8) + k] = (i * 8) + k + w; // index-encoded, exact in tf32
                }
            }
            for (int k = 0; k < 8; k++)
            {
                for (int j = 0; j < 8; j++)
                {
                    b[(w * 64) + (k * 8) + j] = (k * 8) + j - (3 * w);
                }
            }
        }
        for (int i = 0; i < c.Length; i++)
        {
            c[i] = random.Next(-5000, 5001);
        }
        using var accelerator = new CpuAccelerator(options);
        using var da = accelerator.Allocate<float>(a);
        using var db = accelerator.Allocate<float>(b);
        using var dc = accelerator.Allocate<float>(c);
        using var dd = accelerator.Allocate<float>(c.Length);
        Span<KernelArgument> args =
        [
            KernelArgument.FromView(da.ReadOnly), KernelArgument.FromView(db.ReadOnly), KernelArgument.FromView(dc.ReadOnly), KernelArgument.FromView(dd.View),
        ];
        // One block of four warps; each warp multiplies its own tiles.
        accelerator.Launch(CpuTestKernels.MmaTf32Definition, new LaunchConfig(1, warps * 32), args);
        var d = dd.ToArray();
        for (int w = 0; w < warps; w++)
        {
            for (int i = 0; i < 16; i++)
            {
                for (int j = 0; j < 8; j++)
                {
                    double expected = c[(w * 128) + (i * 8) + j];
                    for (int k = 0; k < 8; k++)
                    {
                        expected += (double)a[(w * 128) + (i * 8) + k] * b[(w * 64) + (k * 8) + j];
                    }
                    Assert.That(d[(w * 128) + (i * 8) + j], Is.EqualTo((float)expected), $"warp {w}, D[{i}][{j}]");
                }
            }
        }
    }

    [TestCaseSource(nameof(Modes))]
    public void DivergentBarrierIsAClearError(CpuAcceleratorOptions options)
    {
        using var accelerator = new CpuAccelerator(options);
        using var output = accelerator.Allocate<int>(64);
        KernelArgument[] args = [KernelArgument.FromView(output.View), KernelArgument.FromScalar(16)];
        var config = new LaunchConfig(3, 64);
        var kernel = CpuTestKernels.DivergentBarrierDefinition;
        var error = Assert.Throws<InvalidOperationException>(() => accelerator.Launch(kernel, config, args))!;
        Assert.That(error.Message, Does.Contain(kernel.Name));
        Assert.That(error.Message, Does.Contain("diverged"));
        Assert.That(error.Message, Does.Contain("16 finished while 48 wait"));
        AssertNoCurrentThread();

        // Everyone skipping the barrier is not divergence.
        args[1] = KernelArgument.FromScalar(64);
        Assert.DoesNotThrow(() => accelerator.Launch(kernel, config, args));
    }

    [TestCaseSource(nameof(Modes))]
    public void SharedMemoryIsPoisonedForEveryBlock(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        using var accelerator = new CpuAccelerator(options);
        foreach (int blockSize in new[] { 200, 64, 256 })
        {
            const int blocks = 50;
            int n = blocks * blockSize;
            using var seenStatic = accelerator.Allocate<uint>(n);
            using var seenDynamic = accelerator.Allocate<uint>(n);
            for (int launch = 0; launch < 2; launch++)
            {
                Span<KernelArgument> args =
                [
                    KernelArgument.FromView(seenStatic.View), KernelArgument.FromView(seenDynamic.View), KernelArgument.FromScalar((uint)random.Next()),
                ];
                accelerator.Launch(CpuTestKernels.SharedPoisonDefinition, new LaunchConfig(blocks, blockSize, blockSize * 4), args);
                Assert.That(seenStatic.ToArray(), Is.All.EqualTo(uint.MaxValue), $"static, block size {blockSize}, launch {launch}");
                Assert.That(seenDynamic.ToArray(), Is.All.EqualTo(uint.MaxValue), $"dynamic, block size {blockSize}, launch {launch}");
            }
        }
    }

    [TestCaseSource(nameof(Modes))]
    public void UninitializedSharedFloatsReadAsNaN(CpuAcceleratorOptions options)
    {
        using var accelerator = new CpuAccelerator(options);
        using var output = accelerator.Allocate<float>(20 * 256);
        KernelArgument[] args = [KernelArgument.FromView(output.View)];
        for (int launch = 0; launch < 2; launch++)
        {
            accelerator.Launch(CpuTestKernels.UninitializedSharedDefinition, new LaunchConfig(20, 256), args);
            var values = output.ToArray();
            Assert.That(values, Is.All.NaN);
            Assert.That(values.Select(BitConverter.SingleToUInt32Bits), Is.All.EqualTo(0xFFFFFFFFu));
        }
    }

    [Test]
    public void BadLaunchesAreArgumentExceptions()
    {
        using var accelerator = new CpuAccelerator();
        using var x = accelerator.Allocate<float>(64);
        using var y = accelerator.Allocate<float>(64);
        KernelArgument[] good = [KernelArgument.FromScalar(1f), KernelArgument.FromView(x.ReadOnly), KernelArgument.FromView(y.View)];
        var axpy = CpuTestKernels.AxpyDefinition;

        var tooBig = Assert.Throws<ArgumentException>(() => accelerator.Launch(axpy, new LaunchConfig(1, new Dim3(64, 32)), good))!;
        Assert.That(tooBig.Message, Does.Contain(axpy.Name).And.Contain("2048 threads per block"));

        var empty = Assert.Throws<ArgumentException>(() => accelerator.Launch(axpy, new LaunchConfig(0, 32), good))!;
        Assert.That(empty.Message, Does.Contain("must be positive"));

        KernelArgument[] missing = [KernelArgument.FromScalar(1f), KernelArgument.FromView(x.ReadOnly)];
        var arity = Assert.Throws<ArgumentException>(() => accelerator.Launch(axpy, new LaunchConfig(1, 64), missing))!;
        Assert.That(arity.Message, Does.Contain("2 arguments given, 3 expected"));

        KernelArgument[] wrongKind = [KernelArgument.FromScalar(1f), KernelArgument.FromView(x.View), KernelArgument.FromView(y.View)];
        Assert.Throws<ArgumentException>(() => accelerator.Launch(axpy, new LaunchConfig(1, 64), wrongKind));

        Assert.Throws<ArgumentException>(() => accelerator.Launch(axpy, new LaunchConfig(1, 64, 1024), good), "dynamic shared without Shared.Dynamic");

        using var output = accelerator.Allocate<float>(48 * 4);
        KernelArgument[] warpArgs =
        [
            KernelArgument.FromView(x.ReadOnly), KernelArgument.FromView(output.View), KernelArgument.FromScalar(1), KernelArgument.FromScalar(0),
        ];
        var warp = Assert.Throws<ArgumentException>(() => accelerator.Launch(CpuTestKernels.WarpOpsDefinition, new LaunchConfig(1, 48), warpArgs))!;
        Assert.That(warp.Message, Does.Contain("multiple of 32"));
    }

    [TestCaseSource(nameof(Modes))]
    public void OutOfRangeIndexNamesKernelBlockAndThread(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        using var accelerator = new CpuAccelerator(options);
        using var x = accelerator.Allocate<float>(RandomFloats(random, 1000));
        using var y = accelerator.Allocate<float>(1024);
        KernelArgument[] args = [KernelArgument.FromView(x.ReadOnly), KernelArgument.FromView(y.View)];
        foreach (var kernel in new[] { CpuTestKernels.UncheckedCopyDefinition, CpuTestKernels.UncheckedCopyAfterBarrierDefinition })
        {
            var error = Assert.Throws<KernelExecutionException>(() => accelerator.Launch(kernel, new LaunchConfig(8, 128), args))!;
            Assert.That(error.Message, Does.Contain(kernel.Name));
            Assert.That(error.InnerException, Is.TypeOf<IndexOutOfRangeException>());
            Assert.That(error.KernelName, Is.EqualTo(kernel.Name));
            // Element 1000 is thread 104 of block 7; only block 7 fails.
            Assert.That(error.Block, Is.EqualTo(new Dim3(7, 0, 0)));
            Assert.That(error.Message, Does.Contain("block (7, 0, 0)"));
            // Threads of a block run in order (also round by round in group-synchronous blocks).
            Assert.That(error.Thread, Is.EqualTo(new Dim3(104, 0, 0)));
            Assert.That(error.Message, Does.Contain("thread (104, 0, 0)"));
            AssertNoCurrentThread();
        }

        // The accelerator stays usable after a failed launch.
        using var ok = accelerator.Allocate<float>(1000);
        KernelArgument[] fine = [KernelArgument.FromView(x.ReadOnly), KernelArgument.FromView(ok.View)];
        accelerator.Launch(CpuTestKernels.UncheckedCopyDefinition, new LaunchConfig(10, 100), fine);
        Assert.That(ok.ToArray(), Is.EqualTo(x.ToArray()));
    }

    [Test]
    public void DeterministicFloatAtomicsAreBitIdentical()
    {
        var random = NewRandom();
        const int n = 300_001;
        var x = RandomFloats(random, n, -100f, 100f);
        float sequential = 0f;
        foreach (float v in x)
        {
            sequential += v;
        }
        var results = new List<uint>();
        for (int run = 0; run < 3; run++)
        {
            using var accelerator = new CpuAccelerator(new CpuAcceleratorOptions(Deterministic: true, WorkerCount: 4));
            using var dx = accelerator.Allocate<float>(x);
            using var sum = accelerator.Allocate<float>(1);
            accelerator.DefaultStream.FillBytes(sum.View, 0);
            KernelArgument[] args = [KernelArgument.FromView(dx.ReadOnly), KernelArgument.FromView(sum.View)];
            accelerator.Launch(CpuTestKernels.AtomicSumDefinition, LaunchConfig.ForElements(n, 128), args);
            results.Add(BitConverter.SingleToUInt32Bits(sum.ToArray()[0]));
        }
        Assert.That(results, Is.All.EqualTo(BitConverter.SingleToUInt32Bits(sequential)), "deterministic mode adds in block, then thread order");
    }

    [TestCaseSource(nameof(Modes))]
    public void ParallelFloatAtomicsAreCloseToTheSum(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        const int n = 200_000;
        var x = RandomFloats(random, n);
        double expected = x.Sum(v => (double)v);
        using var accelerator = new CpuAccelerator(options);
        using var dx = accelerator.Allocate<float>(x);
        using var sum = accelerator.Allocate<float>(1);
        accelerator.DefaultStream.FillBytes(sum.View, 0);
        KernelArgument[] args = [KernelArgument.FromView(dx.ReadOnly), KernelArgument.FromView(sum.View)];
        accelerator.Launch(CpuTestKernels.AtomicSumDefinition, LaunchConfig.ForElements(n, 256), args);
        Assert.That(sum.ToArray()[0], Is.EqualTo(expected).Within(0.05));
    }

    [TestCaseSource(nameof(Modes))]
    public void RaggedTwoAndThreeDimensionalLaunches(CpuAcceleratorOptions options)
    {
        var random = NewRandom();
        using var accelerator = new CpuAccelerator(options);
        var cases = new (CpuTestKernels.Extent3 N, Dim3 Block)[]
        {
            (new() { X = 100, Y = 37, Z = 1 }, new Dim3(16, 16)),
            (new() { X = 45, Y = 29, Z = 13 }, new Dim3(8, 4, 4)),
            (new() { X = 3, Y = 70, Z = 9 }, new Dim3(1, 32, 2)),
            (new() { X = 1, Y = 1, Z = 1000 }, new Dim3(1, 1, 64)),
        };
        foreach (var (n, block) in cases)
        {
            int seed = random.Next();
            var grid = new Dim3((n.X + block.X - 1) / block.X, (n.Y + block.Y - 1) / block.Y, (n.Z + block.Z - 1) / block.Z);
            int count = n.X * n.Y * n.Z;
            using var hits = accelerator.Allocate<int>(count);
            using var value = accelerator.Allocate<int>(count);
            accelerator.DefaultStream.FillBytes(hits.View, 0);
            Span<KernelArgument> args =
            [
                KernelArgument.FromView(hits.View), KernelArgument.FromView(value.View), KernelArgument.FromScalar(n), KernelArgument.FromScalar(seed),
            ];
            accelerator.Launch(CpuTestKernels.Index3DDefinition, new LaunchConfig(grid, block), args);
            Assert.That(hits.ToArray(), Is.All.EqualTo(1), $"every element once: n = ({n.X}, {n.Y}, {n.Z}), block {block}");
            var values = value.ToArray();
            int offset = (grid.X * 7) + (grid.Y * 11) + (grid.Z * 13);
            for (int i = 0; i < count; i++)
            {
                if (values[i] != (i ^ seed) + offset)
                {
                    Assert.Fail($"value[{i}] = {values[i]}, expected {(i ^ seed) + offset} (block {block})");
                }
            }
        }
    }

    [Test]
    public void LaunchesFromSeveralHostThreadsAtOnce()
    {
        var random = NewRandom();
        using var accelerator = new CpuAccelerator(new CpuAcceleratorOptions(WorkerCount: 2));
        const int n = 50_000;
        var inputs = Enumerable.Range(0, 4).Select(_ => RandomFloats(random, n)).ToArray();
        var outputs = new float[4][];
        Parallel.For(0, 4, k =>
        {
            using var stream = accelerator.CreateStream();
            using var dx = accelerator.Allocate<float>(n);
            using var dy = accelerator.Allocate<float>(n);
            stream.CopyToDevice<float>(inputs[k], dx.View);
            stream.FillBytes(dy.View, 0);
            for (int r = 0; r < 20; r++)
            {
                KernelArgument[] args = [KernelArgument.FromScalar(1f), KernelArgument.FromView(dx.ReadOnly), KernelArgument.FromView(dy.View)];
                stream.Launch(CpuTestKernels.AxpyDefinition, LaunchConfig.ForElements(n), args);
            }
            outputs[k] = new float[n];
            stream.CopyToHost(dy.ReadOnly, outputs[k]);
        });
        for (int k = 0; k < 4; k++)
        {
            for (int i = 0; i < n; i++)
            {
                float expected = 0f;
                for (int r = 0; r < 20; r++)
                {
                    expected = inputs[k][i] + expected;
                }
                if (outputs[k][i] != expected)
                {
                    Assert.Fail($"stream {k}, element {i}: {outputs[k][i]} != {expected}");
                }
            }
        }
    }

    private static void AssertNoCurrentThread() =>
        Assert.Throws<InvalidOperationException>(() => _ = ThreadIdx.X, "CpuThread.Current must be reset after a launch");
}
