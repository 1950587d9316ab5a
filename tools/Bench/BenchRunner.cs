using System.Diagnostics;
using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Kernels.Blas;
using GanEngine.Kernels.Elementwise;

namespace GanEngine.Bench;

/// <summary>One row of the result table.</summary>
/// <param name="Name">Benchmark name, e.g. <c>sgemm</c>.</param>
/// <param name="Shape">Problem shape as text.</param>
/// <param name="MedianMs">Median device time of one launch.</param>
/// <param name="Rate">GB/s (memory-bound rows) or TFLOP/s (GEMM rows).</param>
/// <param name="Unit"><c>GB/s</c> or <c>TFLOP/s</c>.</param>
/// <param name="Error">The check's error (relative, see each benchmark).</param>
/// <param name="Tolerance">The check passes when <see cref="Error"/> is at most this (and finite).</param>
/// <param name="Note">What the check found, when it failed.</param>
/// <param name="Skipped">Why the benchmark did not run on this device (e.g. not enough shared memory), or null.</param>
internal sealed record BenchResult(string Name, string Shape, double MedianMs, double Rate, string Unit, double Error, double Tolerance, string Note, string? Skipped = null)
{
    public bool Passed => Skipped is not null || (double.IsFinite(Error) && Error <= Tolerance && Note.Length == 0);

    /// <summary>"ok", "skipped: ..." or "FAILED ...".</summary>
    public string Outcome => Skipped is not null ? "skipped: " + Skipped : Passed ? "ok" : "FAILED " + Note;
}

/// <summary>Runs the benchmarks on one accelerator: allocate, fill, check, warm up, time.</summary>
internal sealed class BenchRunner(Accelerator accelerator, BenchOptions options)
{
    private const double Fp32Tolerance = 1e-4;
    private const double Tf32Tolerance = 2e-3;
    private const int GemmSamples = 256;

    private readonly Random _random = new(Environment.TickCount);

    public List<BenchResult> RunAll()
    {
        var results = new List<BenchResult>();
        void Run(string name, Func<BenchResult> benchmark)
        {
            // "--only copy" runs "copy" and its variants "copy-*".
            if (!options.Only.Any(o => string.Equals(name, o, StringComparison.OrdinalIgnoreCase)
                || name.StartsWith(o + "-", StringComparison.OrdinalIgnoreCase)))
            {
                return;
            }
            var clock = Stopwatch.StartNew();
            BenchResult result;
            try
            {
                result = benchmark();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                result = new BenchResult(name, "-", double.NaN, double.NaN, "-", double.NaN, 0, $"threw {e.GetType().Name}: {e.Message}");
                Console.Error.WriteLine(e);
            }
            Console.WriteLine($"# {result.Name} {result.Shape}: {result.Outcome} ({clock.Elapsed.TotalSeconds:F1} s)");
            results.Add(result);
        }

        int n = checked((int)((long)options.CopyMiB * 1024 * 1024 / sizeof(float)));
        int sms = Math.Max(1, accelerator.Info.MultiprocessorCount);
        // copy: the default (see Kernels/Library/Elementwise/Elementwise.cs for the versions), then variants.
        Run("copy", () => Copy("copy", n, DefaultCopyUnroll, int.MaxValue));
        Run("copy-v0", () => Copy("copy-v0", n, 0, sms * 8));
        Run("copy-u8", () => Copy("copy-u8", n, 8, sms * 8));
        Run("copy-u16", () => Copy("copy-u16", n, 16, sms * 8));
        Run("copy-u8-1pass", () => Copy("copy-u8-1pass", n, 8, int.MaxValue));
        Run("copy-u16-1pass", () => Copy("copy-u16-1pass", n, 16, int.MaxValue));
        Run("axpy", () => Axpy(n));
        int s = options.Size;
        Run("sgemm", () => Gemm("sgemm", s, s, s, Sgemm));
        Run("sgemm", () => Gemm("sgemm", Ragged(s), Ragged(s) + 1, Ragged(s) - 1, Sgemm));
        // tf32: the default (TensorCoreGemmTiled, see its remarks for the versions), then variants:
        // v0 = TensorCoreGemm.Tf32Gemm; wWMxWN-tTMxTN-kBK = TensorCoreGemmTiled specializations.
        foreach (var (name, shape) in Tf32Variants)
        {
            int shared = shape is null ? 0 : TensorCoreGemmTiled.ConfigFor(s, s, shape[0], shape[1], shape[2], shape[3], shape[4]).DynamicSharedBytes;
            if (shared > accelerator.Info.MaxSharedMemoryPerBlock)
            {
                // e.g. NVIDIA's OpenCL platform offers 48 KiB of local memory per group.
                string why = $"needs {shared / 1024} KiB of shared memory, the device offers {accelerator.Info.MaxSharedMemoryPerBlock / 1024} KiB";
                Run(name, () => new BenchResult(name, $"{s}x{s}x{s}", double.NaN, double.NaN, "-", double.NaN, 0, "", why));
                continue;
            }
            Run(name, () => Gemm(name, s, s, s, Tf32(shape)));
            Run(name, () => Gemm(name, Ragged(s), Ragged(s) + 1, Ragged(s) - 1, Tf32(shape)));
        }
        foreach (var (name, bench) in new Layers.ConvBench(accelerator, options).Benchmarks()) { Run(name, bench); }
        NormBench.Register(accelerator, options, Run);
        if (options.Only.Any(o => o.StartsWith("sparse", StringComparison.OrdinalIgnoreCase))) new SparseBench(accelerator, options, TimeMedian, RandomArray).Register(Run);
        if (options.Only.Any(o => o.StartsWith("mconv", StringComparison.OrdinalIgnoreCase))) new MaskedConvBench(accelerator, options, TimeMedian, RandomArray).Register(Run);
        if (options.Only.Any(o => o.StartsWith("convalgo", StringComparison.OrdinalIgnoreCase))) new Layers.ConvAlgoBench(accelerator, TimeMedian, RandomArray).Register(Run);
        if (options.Only.Any(o => o.StartsWith("convtune", StringComparison.OrdinalIgnoreCase))) new Layers.ConvTuneBench(accelerator, TimeMedian, RandomArray).Register(Run);
        return results;
    }

    /// <summary>Unroll of the default copy, launched as one pass (n / (256 U) blocks) (<see cref="ElementwiseKernels.CopyUnrolled"/>).</summary>
    private const int DefaultCopyUnroll = 8;

    /// <summary>TensorCoreGemmTiled specializations (WM, WN, TM, TN, BK); null = v0.</summary>
    private static readonly (string Name, int[]? Shape)[] Tf32Variants =
    [
        ("tf32", [2, 2, 4, 8, 32]),
        ("tf32-v0", null),
        ("tf32-w2x2-t4x8-k16", [2, 2, 4, 8, 16]),
        ("tf32-w2x4-t4x8-k16", [2, 4, 4, 8, 16]),
        ("tf32-w4x2-t4x8-k16", [4, 2, 4, 8, 16]),
        ("tf32-w2x4-t4x8-k32", [2, 4, 4, 8, 32]),
        ("tf32-w4x2-t4x8-k32", [4, 2, 4, 8, 32]),
    ];

    private delegate void GemmLaunch(int m, int n, int k, float alpha, ReadOnlyView<float> a, ReadOnlyView<float> b, float beta, ArrayView<float> c);

    private (GemmLaunch Launch, double Tolerance) Sgemm => ((m, n, k, alpha, a, b, beta, c) =>
        SimtGemm.LaunchSgemm(accelerator, new LaunchConfig(new Dim3((n + 127) / 128, (m + 127) / 128), new Dim3(256)), m, n, k, alpha, a, b, beta, c, 128, 128, 8, 8, 8),
        Fp32Tolerance);

    private (GemmLaunch Launch, double Tolerance) Tf32(int[]? shape) => (shape is null
        ? (m, n, k, alpha, a, b, beta, c) =>
            TensorCoreGemm.LaunchTf32Gemm(accelerator, new LaunchConfig(new Dim3((n + 127) / 128, (m + 127) / 128), new Dim3(256)), m, n, k, alpha, a, b, beta, c)
        : (m, n, k, alpha, a, b, beta, c) =>
            TensorCoreGemmTiled.LaunchTf32Gemm(accelerator, TensorCoreGemmTiled.ConfigFor(m, n, shape[0], shape[1], shape[2], shape[3], shape[4]),
                m, n, k, alpha, a, b, beta, c, shape[0], shape[1], shape[2], shape[3], shape[4]),
        Tf32Tolerance);

    // A ragged size near s/4 that is a multiple of no tile size (checks the edge handling).
    private static int Ragged(int s) => Math.Max(37, (s / 4) - 23);

    // At most 8 blocks of 256 per multiprocessor (CUDA SM, OpenCL compute unit, CPU core).
    private LaunchConfig ElementwiseGrid(int n) => ElementwiseLaunch.GridFor(n, Math.Max(1, accelerator.Info.MultiprocessorCount) * 8);

    // unroll 0: ElementwiseKernels.Copy (v0); else CopyUnrolled with that U.
    private BenchResult Copy(string name, int n, int unroll, int maxBlocks)
    {
        var host = RandomArray(n);
        using var source = accelerator.Allocate<float>(host);
        using var destination = accelerator.Allocate<float>(n);
        accelerator.DefaultStream.FillBytes(destination.View, 0xFF);
        var config = ElementwiseLaunch.GridFor(n, maxBlocks, 256, unroll == 0 ? ElementwiseKernels.Unroll : unroll);
        void Launch()
        {
            if (unroll == 0)
            {
                ElementwiseKernels.LaunchCopy(accelerator, config, source.ReadOnly, destination.View, n);
            }
            else
            {
                ElementwiseKernels.LaunchCopyUnrolled(accelerator, config, source.ReadOnly, destination.View, n, unroll);
            }
        }

        Launch();
        var result = destination.ToArray();
        long mismatches = 0;
        for (int i = 0; i < n; i++)
        {
            if (BitConverter.SingleToInt32Bits(result[i]) != BitConverter.SingleToInt32Bits(host[i]))
            {
                mismatches++;
            }
        }
        double ms = TimeMedian(Launch);
        double bytes = 2.0 * n * sizeof(float);
        return new BenchResult(name, $"{n} f32 ({Mib(n)} MiB)", ms, bytes / (ms * 1e-3) / 1e9, "GB/s", mismatches, 0,
            mismatches == 0 ? "" : $"{mismatches} elements differ");
    }

    private BenchResult Axpy(int n)
    {
        var x = RandomArray(n);
        var y0 = RandomArray(n);
        const float alpha = 0.75f;
        using var dx = accelerator.Allocate<float>(x);
        using var dy = accelerator.Allocate<float>(y0);
        var config = ElementwiseGrid(n);
        void Launch() => ElementwiseKernels.LaunchAxpy(accelerator, config, n, alpha, dx.ReadOnly, dy.View);

        Launch();
        var y = dy.ToArray();
        // Full check: max |y - ref| / max |ref| with ref in float64.
        double maxError = 0, maxRef = 0;
        for (int i = 0; i < n; i++)
        {
            double reference = ((double)alpha * x[i]) + y0[i];
            maxError = Math.Max(maxError, double.IsFinite(y[i]) ? Math.Abs(y[i] - reference) : double.PositiveInfinity);
            maxRef = Math.Max(maxRef, Math.Abs(reference));
        }
        double error = maxError / Math.Max(maxRef, double.Epsilon);
        double ms = TimeMedian(Launch);
        double bytes = 3.0 * n * sizeof(float);
        return new BenchResult("axpy", $"{n} f32 ({Mib(n)} MiB)", ms, bytes / (ms * 1e-3) / 1e9, "GB/s", error, Fp32Tolerance, "");
    }

    private BenchResult Gemm(string name, int m, int n, int k, (GemmLaunch Launch, double Tolerance) kernel)
    {
        var a = RandomArray(checked(m * k));
        var b = RandomArray(checked(k * n));
        using var da = accelerator.Allocate<float>(a);
        using var db = accelerator.Allocate<float>(b);
        using var dc = accelerator.Allocate<float>(checked(m * n));
        accelerator.DefaultStream.FillBytes(dc.View, 0xFF); // NaN: an unwritten element fails the check
        const float alpha = 1f, beta = 0f;
        Action launch = () => kernel.Launch(m, n, k, alpha, da.ReadOnly, db.ReadOnly, beta, dc.View);

        launch();
        var c = dc.ToArray();
        long unwritten = c.LongCount(v => !float.IsFinite(v));
        // Sampled check: ||c - ref|| / ||ref|| over GemmSamples random entries, ref a float64 dot product.
        double errorSquares = 0, referenceSquares = 0;
        for (int s = 0; s < GemmSamples; s++)
        {
            int i = _random.Next(m), j = _random.Next(n);
            double reference = 0;
            for (int p = 0; p < k; p++)
            {
                reference += (double)a[((long)i * k) + p] * b[((long)p * n) + j];
            }
            double difference = c[((long)i * n) + j] - reference;
            errorSquares += difference * difference;
            referenceSquares += reference * reference;
        }
        double error = Math.Sqrt(errorSquares / Math.Max(referenceSquares, double.Epsilon));
        double ms = TimeMedian(launch);
        double flops = 2.0 * m * n * k;
        return new BenchResult(name, $"{m}x{n}x{k}", ms, flops / (ms * 1e-3) / 1e12, "TFLOP/s", error,
            kernel.Tolerance, unwritten == 0 ? "" : $"{unwritten} entries of C not finite (unwritten?)");
    }

    /// <summary>Warm-up launches, then <see cref="BenchOptions.Reps"/> launches each bracketed by device
    /// events; the median of the per-launch times in milliseconds.</summary>
    private double TimeMedian(Action launch)
    {
        var stream = accelerator.DefaultStream;
        for (int i = 0; i < options.Warmup; i++)
        {
            launch();
        }
        stream.Synchronize();
        var times = new double[Math.Max(1, options.Reps)];
        for (int i = 0; i < times.Length; i++)
        {
            using var start = stream.RecordEvent();
            launch();
            using var end = stream.RecordEvent();
            end.Synchronize();
            times[i] = AcceleratorEvent.ElapsedMilliseconds(start, end);
        }
        Array.Sort(times);
        return times.Length % 2 == 1 ? times[times.Length / 2] : 0.5 * (times[(times.Length / 2) - 1] + times[times.Length / 2]);
    }

    /// <summary>Uniform in [-1, 1), filled in parallel from per-chunk xorshift generators (fresh seed each call).</summary>
    private float[] RandomArray(int length)
    {
        var result = new float[length];
        const int chunk = 1 << 20;
        int chunks = (length + chunk - 1) / chunk;
        ulong seed = (ulong)_random.NextInt64() | 1;
        Parallel.For(0, chunks, c =>
        {
            ulong state = (seed + ((ulong)c * 0x9E3779B97F4A7C15UL)) | 1;
            int end = Math.Min(length, (c + 1) * chunk);
            for (int i = c * chunk; i < end; i++)
            {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                result[i] = ((float)(state >> 40) * (1f / (1 << 23))) - 1f;
            }
        });
        return result;
    }

    private static long Mib(int n) => (long)n * sizeof(float) / (1024 * 1024);
}
