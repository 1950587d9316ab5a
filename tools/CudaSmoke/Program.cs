using System.Diagnostics;
using System.Globalization;
using GanEngine.Accelerators;
using GanEngine.Accelerators.Cuda;
using GanEngine.Kernels;

namespace GanEngine.Tools.CudaSmoke;

/// <summary>
/// Runs hand-written CUDA C kernels through <see cref="CudaAccelerator"/> and checks them against
/// host references. Usage: <c>CudaSmoke [--child]</c>. Without <c>--child</c> it uses a fresh
/// kernel cache directory, runs everything on one accelerator, again on a second instance (disk
/// cache hits), then starts itself twice as a child process: once with the cache intact, once after
/// truncating one entry (that one kernel is recompiled). Exit code 0 when every check passed.
/// </summary>
internal static class Program
{
    private static int s_failures;

    private static int Main(string[] args)
    {
        bool child = args.Contains("--child");
        if (!CudaAccelerator.IsAvailable(out string reason))
        {
            Console.WriteLine($"CUDA: {reason}");
            return 2;
        }
        if (!child)
        {
            string cache = Path.Combine(Path.GetTempPath(), "cudasmoke-cache-" + Guid.NewGuid().ToString("N")[..8]);
            Environment.SetEnvironmentVariable(CudaKernelCache.DirectoryVariable, cache);
            Console.WriteLine($"kernel cache: {cache}");
            foreach (var info in CudaAccelerator.Enumerate())
            {
                Console.WriteLine($"device: {info}");
            }
        }

        var rows = new List<string>();
        using (var accelerator = new CudaAccelerator(0))
        {
            Console.WriteLine($"[{(child ? "child" : "first")}] {accelerator.Info}; target {accelerator.TargetArchitecture}; options {string.Join(' ', accelerator.BaseCompileOptions)}");
            RunAll(accelerator, timing: !child, rows);
            rows.Add($"{(child ? "child process" : "instance 1"),-22} | {accelerator.CompileStatistics} | corrupt discarded {accelerator.KernelCache.CorruptEntriesDiscarded}");

            if (!child)
            {
                using var second = new CudaAccelerator(0);
                RunAll(second, timing: false, rows);
                rows.Add($"{"instance 2 (same proc)",-22} | {second.CompileStatistics} | corrupt discarded {second.KernelCache.CorruptEntriesDiscarded}");
                Expect(second.CompileStatistics.Compiled == 0 && second.CompileStatistics.LoadedFromDisk == 4, "second instance loads all 4 variants from disk");
            }
            else
            {
                Console.WriteLine($"CHILD-STATS compiled={accelerator.CompileStatistics.Compiled} disk={accelerator.CompileStatistics.LoadedFromDisk} corrupt={accelerator.KernelCache.CorruptEntriesDiscarded}");
            }
        }

        if (!child)
        {
            var (intact, intactOk) = RunChild();
            rows.Add($"{"child, cache intact",-22} | {intact}");
            Expect(intactOk && intact.Contains("compiled=0 disk=4", StringComparison.Ordinal), "child process: 0 compiled, 4 from disk");

            string directory = CudaKernelCache.DefaultDirectory();
            string victim = Directory.GetFiles(directory, "*.gekc").Order(StringComparer.Ordinal).First();
            byte[] bytes = File.ReadAllBytes(victim);
            File.WriteAllBytes(victim, bytes[..(bytes.Length / 2)]);
            var (corrupt, corruptOk) = RunChild();
            rows.Add($"{"child, 1 entry cut",-22} | {corrupt}");
            Expect(corruptOk && corrupt.Contains("compiled=1 disk=3 corrupt=1", StringComparison.Ordinal), "child process after truncating one entry: 1 compiled, 3 from disk, 1 discarded");
        }

        Console.WriteLine();
        foreach (string row in rows)
        {
            Console.WriteLine(row);
        }
        Console.WriteLine(s_failures == 0 ? $"{(child ? "CHILD" : "SMOKE")} PASSED" : $"{(child ? "CHILD" : "SMOKE")} FAILED: {s_failures} check(s)");
        return s_failures == 0 ? 0 : 1;
    }

    private static (string Stats, bool Ok) RunChild()
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string self = typeof(Program).Assembly.Location;
        if (!Path.GetFileNameWithoutExtension(Environment.ProcessPath!).Equals("CudaSmoke", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(self);
        }
        start.ArgumentList.Add("--child");
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Console.WriteLine("  child> " + line);
        }
        if (error.Length > 0)
        {
            Console.WriteLine("  child stderr> " + error);
        }
        string stats = output.Split('\n').FirstOrDefault(l => l.StartsWith("CHILD-STATS", StringComparison.Ordinal))?.Trim() ?? "(no stats)";
        return (stats, process.ExitCode == 0);
    }

    private static void RunAll(CudaAccelerator accelerator, bool timing, List<string> rows)
    {
        Axpy(accelerator, scale: 1, timing, rows);
        Axpy(accelerator, scale: 2, timing: false, rows);
        SharedReverse(accelerator, timing, rows);
        MmaTf32(accelerator, rows);
        if (timing)
        {
            CompileError(accelerator);
            BadLaunch(accelerator);
        }
    }

    // y = a*x + scale*y, scale a specialization constant.
    private static readonly KernelDefinition AxpyKernel = Define(
        "Smoke.Axpy",
        "Smoke_axpy",
        """
        extern "C" __global__ void Smoke_axpy(float* y, int y_length, const float* __restrict__ x, int x_length, float a)
        {
        #line 10 "Smoke/Axpy.cs"
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < y_length && i < x_length)
            {
                y[i] = a * x[i] + (float)GE_SPEC_scale * y[i];
            }
        }
        """,
        [
            new("y", KernelArgumentKind.Buffer, "float", 4),
            new("x", KernelArgumentKind.ReadOnlyBuffer, "float", 4),
            new("a", KernelArgumentKind.Scalar, "float", 4),
            new("scale", KernelArgumentKind.Specialization, "int", 4),
        ],
        KernelFeatures.None);

    private static void Axpy(CudaAccelerator accelerator, int scale, bool timing, List<string> rows)
    {
        const int n = 1 << 24;
        var x = new float[n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (i % 1000) * 0.5f;
            y[i] = (i % 77) - 38;
        }
        const float a = 1.5f;
        using var dx = accelerator.Allocate<float>(x);
        using var dy = accelerator.Allocate<float>(y);
        var config = LaunchConfig.ForElements(n);
        Launch(accelerator.DefaultStream, dy.View, dx.ReadOnly, a, scale, config);

        // Read back through a second stream that waits on an event, into pinned memory.
        using var done = accelerator.DefaultStream.RecordEvent();
        using var copyStream = accelerator.CreateStream();
        copyStream.WaitFor(done);
        using var pinned = accelerator.AllocatePinned<float>(n);
        copyStream.CopyToHostAsync(dy.ReadOnly, pinned);
        copyStream.Synchronize();
        var result = pinned.Span;
        int bad = 0;
        for (int i = 0; i < n; i++)
        {
            float expected = a * x[i] + scale * y[i];
            if (result[i] != expected && bad++ < 3)
            {
                Console.WriteLine($"  axpy[{i}] = {result[i]}, expected {expected}");
            }
        }
        Expect(bad == 0, $"axpy (scale={scale}) matches the host on {n} elements");

        if (timing)
        {
            var stream = accelerator.DefaultStream;
            for (int i = 0; i < 10; i++)
            {
                Launch(stream, dy.View, dx.ReadOnly, a, scale, config);
            }
            var times = new List<float>();
            for (int r = 0; r < 50; r++)
            {
                using var start = stream.RecordEvent();
                Launch(stream, dy.View, dx.ReadOnly, a, scale, config);
                using var end = stream.RecordEvent();
                end.Synchronize();
                times.Add(AcceleratorEvent.ElapsedMilliseconds(start, end));
            }
            times.Sort();
            float median = times[times.Count / 2];
            double gbps = 12.0 * n / (median * 1e-3) / 1e9;
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{"axpy 16M floats",-22} | median {median * 1000:F1} us over 50 | {gbps:F0} GB/s (12 B/element)"));

            // Launch overhead: 1000 back-to-back launches of a tiny grid, host time.
            var small = new LaunchConfig(1, 32);
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < 1000; i++)
            {
                Launch(stream, dy.View, dx.ReadOnly, a, scale, small);
            }
            double hostMicroseconds = watch.Elapsed.TotalMicroseconds / 1000;
            stream.Synchronize();
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                Launch(stream, dy.View, dx.ReadOnly, a, scale, small);
            }
            long perLaunch = (GC.GetAllocatedBytesForCurrentThread() - allocated) / 1000;
            stream.Synchronize();
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{"launch (host side)",-22} | {hostMicroseconds:F2} us per launch enqueue | {perLaunch} managed bytes per launch"));
        }
    }

    private static void Launch(AcceleratorStream launcher, ArrayView<float> y, ReadOnlyView<float> x, float a, int scale, in LaunchConfig config)
    {
        Span<KernelArgument> arguments = stackalloc KernelArgument[4];
        arguments[0] = KernelArgument.FromView(y);
        arguments[1] = KernelArgument.FromView(x);
        arguments[2] = KernelArgument.FromScalar(a);
        arguments[3] = KernelArgument.FromSpecialization(scale);
        launcher.Launch(AxpyKernel, config, arguments);
    }

    // Each block stages `count` floats (100 KiB) in dynamic shared memory and writes them reversed.
    private static readonly KernelDefinition SharedReverseKernel = Define(
        "Smoke.SharedReverse",
        "Smoke_shared_reverse",
        """
        extern "C" __global__ void Smoke_shared_reverse(float* output, int output_length, const float* __restrict__ input, int input_length, int count)
        {
            extern __shared__ float tile[];
            const float* in = input + (long long)blockIdx.x * count;
            float* out = output + (long long)blockIdx.x * count;
            for (int i = threadIdx.x; i < count; i += blockDim.x) tile[i] = in[i];
            __syncthreads();
            for (int i = threadIdx.x; i < count; i += blockDim.x) out[i] = tile[count - 1 - i];
        }
        """,
        [
            new("output", KernelArgumentKind.Buffer, "float", 4),
            new("input", KernelArgumentKind.ReadOnlyBuffer, "float", 4),
            new("count", KernelArgumentKind.Scalar, "int", 4),
        ],
        KernelFeatures.Barrier | KernelFeatures.DynamicShared);

    private static void SharedReverse(CudaAccelerator accelerator, bool timing, List<string> rows)
    {
        const int bytes = 100 * 1024;
        const int count = bytes / 4;
        const int blocks = 264;
        var input = new float[count * blocks];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = i;
        }
        using var din = accelerator.Allocate<float>(input);
        using var dout = accelerator.Allocate<float>(input.Length);
        accelerator.DefaultStream.FillBytes(dout.View, 0xFF);
        var config = new LaunchConfig(blocks, 256, bytes);
        Span<KernelArgument> arguments = stackalloc KernelArgument[3];
        arguments[0] = KernelArgument.FromView(dout.View);
        arguments[1] = KernelArgument.FromView(din.ReadOnly);
        arguments[2] = KernelArgument.FromScalar(count);
        accelerator.Launch(SharedReverseKernel, config, arguments);
        var result = dout.ToArray();
        int bad = 0;
        for (int b = 0; b < blocks; b++)
        {
            for (int i = 0; i < count; i++)
            {
                float expected = b * count + (count - 1 - i);
                if (result[b * count + i] != expected && bad++ < 3)
                {
                    Console.WriteLine($"  reverse[{b},{i}] = {result[b * count + i]}, expected {expected}");
                }
            }
        }
        Expect(bad == 0, $"100 KiB dynamic shared memory reverse, {blocks} blocks");
        if (timing)
        {
            var stream = accelerator.DefaultStream;
            using var start = stream.RecordEvent();
            for (int i = 0; i < 20; i++)
            {
                stream.Launch(SharedReverseKernel, config, arguments);
            }
            using var end = stream.RecordEvent();
            end.Synchronize();
            float ms = AcceleratorEvent.ElapsedMilliseconds(start, end) / 20;
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{"shared reverse 100 KiB",-22} | {ms * 1000:F1} us per launch (mean of 20) | {2.0 * input.Length * 4 / (ms * 1e-3) / 1e9:F0} GB/s"));
        }
    }

    // One warp per tile: D(16x8) = A(16x8) * B(8x8) with mma.sync.m16n8k8 tf32; A and B row-major.
    private static readonly KernelDefinition MmaKernel = Define(
        "Smoke.MmaTf32",
        "Smoke_mma_tf32",
        """
        extern "C" __global__ void Smoke_mma_tf32(float* d, int d_length, const float* __restrict__ a, int a_length, const float* __restrict__ b, int b_length)
        {
            int lane = threadIdx.x & 31;
            int tile = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
            int g = lane >> 2, t = lane & 3;
            const float* A = a + tile * 128;
            const float* B = b + tile * 64;
            float* D = d + tile * 128;
            unsigned a0 = __float_as_uint(A[g * 8 + t]);
            unsigned a1 = __float_as_uint(A[(g + 8) * 8 + t]);
            unsigned a2 = __float_as_uint(A[g * 8 + t + 4]);
            unsigned a3 = __float_as_uint(A[(g + 8) * 8 + t + 4]);
            unsigned b0 = __float_as_uint(B[t * 8 + g]);
            unsigned b1 = __float_as_uint(B[(t + 4) * 8 + g]);
            float c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f;
            asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
                : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
            D[g * 8 + t * 2] = c0;
            D[g * 8 + t * 2 + 1] = c1;
            D[(g + 8) * 8 + t * 2] = c2;
            D[(g + 8) * 8 + t * 2 + 1] = c3;
        }
        """,
        [
            new("d", KernelArgumentKind.Buffer, "float", 4),
            new("a", KernelArgumentKind.ReadOnlyBuffer, "float", 4),
            new("b", KernelArgumentKind.ReadOnlyBuffer, "float", 4),
        ],
        KernelFeatures.Mma);

    private static void MmaTf32(CudaAccelerator accelerator, List<string> rows)
    {
        const int tiles = 64;
        var a = new float[tiles * 128];
        var b = new float[tiles * 64];
        // Index-encoded small integers: exact in tf32 and in the f32 sums, and any fragment-layout
        // mistake moves values to the wrong place.
        for (int t = 0; t < tiles; t++)
        {
            for (int i = 0; i < 16; i++)
            {
                for (int k = 0; k < 8; k++)
                {
                    a[t * 128 + i * 8 + k] = ((t * 3 + i * 8 + k) % 9) - 4;
                }
            }
            for (int k = 0; k < 8; k++)
            {
                for (int n = 0; n < 8; n++)
                {
                    b[t * 64 + k * 8 + n] = ((t * 5 + k * 11 + n * 3) % 7) - 3;
                }
            }
        }
        using var da = accelerator.Allocate<float>(a);
        using var db = accelerator.Allocate<float>(b);
        using var dd = accelerator.Allocate<float>(tiles * 128);
        Span<KernelArgument> arguments = stackalloc KernelArgument[3];
        arguments[0] = KernelArgument.FromView(dd.View);
        arguments[1] = KernelArgument.FromView(da.ReadOnly);
        arguments[2] = KernelArgument.FromView(db.ReadOnly);
        accelerator.Launch(MmaKernel, new LaunchConfig(tiles / 4, 128), arguments);
        var d = dd.ToArray();
        int bad = 0;
        for (int t = 0; t < tiles; t++)
        {
            for (int i = 0; i < 16; i++)
            {
                for (int n = 0; n < 8; n++)
                {
                    float expected = 0;
                    for (int k = 0; k < 8; k++)
                    {
                        expected += a[t * 128 + i * 8 + k] * b[t * 64 + k * 8 + n];
                    }
                    if (d[t * 128 + i * 8 + n] != expected && bad++ < 3)
                    {
                        Console.WriteLine($"  mma[{t}][{i},{n}] = {d[t * 128 + i * 8 + n]}, expected {expected}");
                    }
                }
            }
        }
        Expect(bad == 0, $"inline-PTX mma.sync m16n8k8 tf32, {tiles} tiles, exact");
    }

    private static void CompileError(CudaAccelerator accelerator)
    {
        var broken = Define(
            "Smoke.Broken",
            "Smoke_broken",
            "extern \"C\" __global__ void Smoke_broken(float* y, int y_length)\n{\n#line 42 \"Smoke/Broken.cs\"\n    y[0] = undefined_symbol;\n}\n",
            [new("y", KernelArgumentKind.Buffer, "float", 4)],
            KernelFeatures.None);
        using var y = accelerator.Allocate<float>(1);
        Span<KernelArgument> arguments = [KernelArgument.FromView(y.View)];
        try
        {
            accelerator.Launch(broken, new LaunchConfig(1, 1), arguments);
            Expect(false, "a compile error throws");
        }
        catch (KernelCompilationException e)
        {
            Console.WriteLine($"  expected compile error: {e.Message.Replace("\n", "\n    ", StringComparison.Ordinal)}");
            Expect(e.Log.Contains("Smoke/Broken.cs(42)", StringComparison.Ordinal) && e.Message.Contains("Smoke.Broken", StringComparison.Ordinal), "compile error names the C# file:line and the kernel");
        }
    }

    private static void BadLaunch(CudaAccelerator accelerator)
    {
        using var d = accelerator.Allocate<float>(128);
        Span<KernelArgument> arguments = [KernelArgument.FromView(d.View), KernelArgument.FromView(d.ReadOnly), KernelArgument.FromView(d.ReadOnly)];
        try
        {
            accelerator.Launch(MmaKernel, new LaunchConfig(1, 33), arguments);
            Expect(false, "an mma launch with 33 threads is rejected");
        }
        catch (ArgumentException e)
        {
            Console.WriteLine($"  expected launch error: {e.Message}");
        }
    }

    private static KernelDefinition Define(string name, string entry, string source, KernelParameter[] parameters, KernelFeatures features) =>
        new(name, entry, source, string.Empty, parameters, features, 0, 0, "Smoke/" + name + ".cs", 1, cpu: _ => throw new NotSupportedException());

    private static void Expect(bool condition, string what)
    {
        Console.WriteLine($"  {(condition ? "ok  " : "FAIL")} {what}");
        if (!condition)
        {
            s_failures++;
        }
    }
}
