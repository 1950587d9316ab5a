using System.Reflection;
using System.Runtime.InteropServices;
using GanEngine.Kernels;
using GanEngine.Kernels.Cpu;
using NUnit.Framework;

namespace GanEngine.Tests.Compiler;

/// <summary>Compiles generated code, loads it, and runs the CPU factory with a minimal one-block
/// scheduler: checks the iterator rewrite (arrive, yield, complete) end to end.</summary>
[TestFixture]
public sealed unsafe class CpuExecutionTests
{
    private static int s_counter;

    private static KernelDefinition Load(string source, string kernel)
    {
        string name = "KernelExec" + Interlocked.Increment(ref s_counter);
        var result = GeneratorHarness.Run(source, name);
        Assert.That(result.OutputErrors, Is.Empty, result.GeneratedText);
        using var stream = new MemoryStream();
        var emit = result.Output.Emit(stream);
        Assert.That(emit.Success, Is.True, string.Join("\n", emit.Diagnostics));
        var assembly = Assembly.Load(stream.ToArray());
        var type = assembly.GetType("Tests.K.C")!;
        return (KernelDefinition)type.GetProperty(kernel + "Definition")!.GetValue(null)!;
    }

    /// <summary>Runs one block of <paramref name="threads"/> threads in lock step between collectives.</summary>
    private static void RunBlock(KernelDefinition definition, ReadOnlySpan<KernelArgument> args, int threads)
    {
        var group = new CpuGroup { BlockDim = new Dim3(threads), GridDim = new Dim3(1) };
        group.EnsureExchange(threads);
        const int arena = 1 << 16;
        void* shared = NativeMemory.AlignedAlloc(arena, 16);
        try
        {
            new Span<byte>(shared, arena).Fill(0xFF);
            group.SharedArena = (nint)shared;
            group.SharedArenaBytes = arena;
            var body = definition.Cpu(args);
            var cpuThreads = Enumerable.Range(0, threads).Select(i => new CpuThread(group, i) { ThreadIdx = new Dim3(i), BlockIdx = new Dim3(0) }).ToArray();
            if (body.Thread != null)
            {
                foreach (var t in cpuThreads)
                {
                    CpuThread.SetCurrent(t);
                    body.Thread();
                }
                return;
            }
            var iterators = cpuThreads.Select(t => { CpuThread.SetCurrent(t); return body.SynchronousThread!().GetEnumerator(); }).ToArray();
            while (true)
            {
                int yielded = 0;
                for (int i = 0; i < threads; i++)
                {
                    CpuThread.SetCurrent(cpuThreads[i]);
                    if (iterators[i].MoveNext())
                    {
                        yielded++;
                    }
                }
                if (yielded == 0)
                {
                    return;
                }
                Assert.That(yielded, Is.EqualTo(threads), "divergent collective");
                foreach (var t in cpuThreads)
                {
                    t.Phase = CollectivePhase.Complete;
                }
            }
        }
        finally
        {
            CpuThread.SetCurrent(null);
            NativeMemory.AlignedFree(shared);
        }
    }

    [Test]
    public void ReductionWithBarrierShufflesAndHelperIterator()
    {
        var definition = Load(GoldenTests.Cases.First(c => c.Name == "Reduce").Source, "Sum");
        const int n = 200;
        float* input = (float*)NativeMemory.Alloc(n * sizeof(float));
        float* output = (float*)NativeMemory.Alloc(sizeof(float));
        try
        {
            for (int i = 0; i < n; i++)
            {
                input[i] = i;
            }
            *output = 0f;
            Span<KernelArgument> args = stackalloc KernelArgument[3];
            args[0] = KernelArgument.FromView(new ReadOnlyView<float>((nint)input, 0, n));
            args[1] = KernelArgument.FromView(new ArrayView<float>((nint)output, 0, 1));
            args[2] = KernelArgument.FromScalar(n);
            RunBlock(definition, args, 64);
            Assert.That(*output, Is.EqualTo(n * (n - 1) / 2f));
        }
        finally
        {
            NativeMemory.Free(input);
            NativeMemory.Free(output);
        }
    }

    [Test]
    public void IndependentAxpy()
    {
        var definition = Load(GoldenTests.Cases.First(c => c.Name == "Axpy").Source, "Axpy");
        Assert.That(definition.Parameters.Select(p => p.Kind), Is.EqualTo(new[] { KernelArgumentKind.Buffer, KernelArgumentKind.ReadOnlyBuffer, KernelArgumentKind.Scalar, KernelArgumentKind.Scalar }));
        Assert.That(definition.Parameters[0].ElementSize, Is.EqualTo(4));
        const int n = 40;
        float* x = (float*)NativeMemory.Alloc(n * sizeof(float));
        float* y = (float*)NativeMemory.Alloc(n * sizeof(float));
        try
        {
            for (int i = 0; i < n; i++)
            {
                x[i] = i;
                y[i] = 1f;
            }
            Span<KernelArgument> args = stackalloc KernelArgument[4];
            args[0] = KernelArgument.FromView(new ArrayView<float>((nint)y, 0, n));
            args[1] = KernelArgument.FromView(new ReadOnlyView<float>((nint)x, 0, n));
            args[2] = KernelArgument.FromScalar(2f);
            args[3] = KernelArgument.FromScalar(n - 1);
            RunBlock(definition, args, 64);
            Assert.That(y[5], Is.EqualTo(11f));
            Assert.That(y[n - 1], Is.EqualTo(1f));
        }
        finally
        {
            NativeMemory.Free(x);
            NativeMemory.Free(y);
        }
    }
}
