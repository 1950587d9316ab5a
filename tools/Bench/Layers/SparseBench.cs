using System.Globalization;
using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Ops.Sparse;

namespace GanEngine.Bench;

/// <summary>
/// Masked sparse GEMM on the conv-as-GEMM shapes of DCGAN-32 at batch 64 (<c>--only sparse</c>):
/// SpMM (forward, Y = W X), transposed SpMM (dX = W^T dY) and SDDMM (dW at the mask) at 0/70/80/90/95%
/// sparsity, plus the device build of the format and the per-step re-pack at 90%. Rows are named
/// <c>sparse-{spmm|spmmt|sddmm}-s{percent}</c> with shape <c>MxKxN</c> (W is M x K, X is K x N), as in
/// tools/peer/peer_sparse.py. Each product is checked against float64 on 256 sampled entries
/// (sampled nonzeros for SDDMM) before it is timed. Rate: useful TFLOP/s = 2 nnz N / time.
/// </summary>
internal sealed class SparseBench(Accelerator accelerator, BenchOptions options, Func<Action, double> timeMedian, Func<int, float[]> randomArray)
{
    private const double Tolerance = 1e-4;
    private const int Samples = 256;
    private readonly Random _random = new(Environment.TickCount);

    private static readonly int[] Sparsities = [0, 70, 80, 90, 95];

    /// <summary>SpMM tilings tried on the first shape at 90% (name suffix, tiling); the first is the default.</summary>
    private static readonly (string Name, SpmmTiling Tiling)[] SpmmVariants =
    [
        ("w8r4t4k32", new SpmmTiling(8, 4, 4, 32)),
        ("w4r4t4k32", new SpmmTiling(4, 4, 4, 32)),
        ("w16r4t4k32", new SpmmTiling(16, 4, 4, 32)),
        ("w8r4t4k16", new SpmmTiling(8, 4, 4, 16)),
        ("w8r4t4k64", new SpmmTiling(8, 4, 4, 64)),
        ("w8r2t4k32", new SpmmTiling(8, 2, 4, 32)),
    ];

    public void Register(Action<string, Func<BenchResult>> run)
    {
        // The CPU accelerator's default --size (128) selects one small shape; GPUs run the DCGAN shapes.
        (int M, int K, int N)[] shapes = options.Size < 1024
            ? [(64, 96, 160)]
            : [(256, 2048, 4096), (128, 1024, 16384), (512, 4096, 1024)];
        foreach (var (m, k, n) in shapes)
        {
            foreach (int s in Sparsities)
            {
                RunShape(run, m, k, n, s, variants: s == 90 && (m, k, n) == shapes[0]);
            }
        }
    }

    private void RunShape(Action<string, Func<BenchResult>> run, int m, int k, int n, int sparsityPercent, bool variants)
    {
        string shape = $"{m}x{k}x{n}";
        string tag = $"s{sparsityPercent}";
        var w = randomArray(m * k);
        var mask = new float[m * k];
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = _random.Next(100) >= sparsityPercent ? 1f : 0f;
        }
        var x = randomArray(k * n);
        var dyHost = randomArray(m * n);
        using var storage = new MaskedCsrStorage(accelerator, new MaskedWeightShape(m, k));
        using var dw = accelerator.Allocate<float>(w);
        using var dmask = accelerator.Allocate<float>(mask);
        using var dx = accelerator.Allocate<float>(x);
        using var ddy = accelerator.Allocate<float>(dyHost);
        using var y = accelerator.Allocate<float>(m * n);
        using var gx = accelerator.Allocate<float>(k * n);
        using var gw = accelerator.Allocate<float>(m * k);
        var csr = storage.Csr;
        MaskedSparse.Build(accelerator, csr, dw.ReadOnly, dmask.ReadOnly);
        accelerator.Synchronize();
        var rowPtr = Download(csr.RowPtr);
        int nnz = rowPtr[m];
        var colIdx = Download(csr.ColIdx);
        double flops = 2.0 * nnz * n;
        var sddmmTiling = SddmmTiling.For(m, k, n, 1 - (sparsityPercent / 100.0));

        if (sparsityPercent == 90)
        {
            run($"sparse-build-{tag}", () =>
            {
                double ms = timeMedian(() => MaskedSparse.Build(accelerator, csr, dw.ReadOnly, dmask.ReadOnly));
                return new BenchResult($"sparse-build-{tag}", shape, ms, 2.0 * m * k * sizeof(float) / (ms * 1e-3) / 1e9, "GB/s", 0, 0, "");
            });
            run($"sparse-repack-{tag}", () =>
            {
                double ms = timeMedian(() => MaskedSparse.Repack(accelerator, csr, dw.ReadOnly));
                return new BenchResult($"sparse-repack-{tag}", shape, ms, 4.0 * nnz * 3 * sizeof(float) / (ms * 1e-3) / 1e9, "GB/s", 0, 0, "");
            });
        }

        float[] current = [];
        (float, double) SampleY(int index)
        {
            int i = index / n, j = index % n;
            double sum = 0;
            for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++)
            {
                sum += (double)w[(i * k) + colIdx[p]] * x[((long)colIdx[p] * n) + j];
            }
            return (current[index], sum);
        }
        (float, double) SampleDx(int index)
        {
            int c = index / n, j = index % n;
            double sum = 0;
            for (int i = 0; i < m; i++)
            {
                if (mask[(i * k) + c] != 0f)
                {
                    sum += (double)w[(i * k) + c] * dyHost[((long)i * n) + j];
                }
            }
            return (current[index], sum);
        }
        (float, double) SampleDw(int p)
        {
            int i = 0;
            while (rowPtr[i + 1] <= p) i++;
            int c = colIdx[p];
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                sum += (double)dyHost[((long)i * n) + j] * x[((long)c * n) + j];
            }
            return (current[p], sum);
        }

        BenchResult Checked(string name, Action launch, DeviceBuffer<float> output, Func<int, (float Got, double Want)> sample, int domain)
        {
            accelerator.DefaultStream.FillBytes(output.View, 0xFF); // NaN: an unwritten sampled entry fails
            launch();
            current = output.ToArray();
            double e2 = 0, r2 = 0;
            string note = "";
            for (int s = 0; s < Samples && domain > 0; s++)
            {
                var (g, want) = sample(_random.Next(domain));
                if (!float.IsFinite(g))
                {
                    note = "non-finite output (unwritten?)";
                }
                e2 += (g - want) * (g - want);
                r2 += want * want;
            }
            double error = e2 == 0 ? 0 : Math.Sqrt(e2 / Math.Max(r2, double.Epsilon));
            double ms = timeMedian(launch);
            return new BenchResult(name, shape, ms, flops / (ms * 1e-3) / 1e12, "TFLOP/s", error, Tolerance, note);
        }

        run($"sparse-spmm-{tag}", () => Checked($"sparse-spmm-{tag}",
            () => MaskedSparse.Spmm(accelerator, csr, n, dx.ReadOnly, y.View), y, SampleY, m * n));
        if (variants)
        {
            foreach (var (vname, tiling) in SpmmVariants)
            {
                run($"sparse-spmm-{tag}-{vname}", () => Checked($"sparse-spmm-{tag}-{vname}",
                    () => MaskedSparse.Spmm(accelerator, csr, n, dx.ReadOnly, y.View, tiling), y, SampleY, m * n));
            }
        }
        run($"sparse-spmmt-{tag}", () => Checked($"sparse-spmmt-{tag}",
            () => MaskedSparse.SpmmTransposed(accelerator, csr, n, ddy.ReadOnly, gx.View), gx, SampleDx, k * n));
        if (variants)
        {
            foreach (var (vname, tiling) in SpmmVariants.Skip(1))
            {
                run($"sparse-spmmt-{tag}-{vname}", () => Checked($"sparse-spmmt-{tag}-{vname}",
                    () => MaskedSparse.SpmmTransposed(accelerator, csr, n, ddy.ReadOnly, gx.View, tiling), gx, SampleDx, k * n));
            }
        }
        run($"sparse-sddmm-{tag}", () => Checked($"sparse-sddmm-{tag}",
            () => MaskedSparse.Sddmm(accelerator, csr, n, ddy.ReadOnly, dx.ReadOnly, gw.View, sddmmTiling), gw, SampleDw, nnz));
        if (variants)
        {
            foreach (int perThread in new[] { 4, 8 })
            {
                foreach (int chunk in new[] { 8, 16 })
                {
                    var t = sddmmTiling with { PerThread = perThread, ChunkColumns = chunk, ColumnsPerBlock = Math.Max(1, sddmmTiling.ColumnsPerBlock * perThread / 4) };
                    string vname = string.Create(CultureInfo.InvariantCulture, $"sparse-sddmm-{tag}-t{perThread}c{chunk}");
                    run(vname, () => Checked(vname,
                        () => MaskedSparse.Sddmm(accelerator, csr, n, ddy.ReadOnly, dx.ReadOnly, gw.View, t), gw, SampleDw, nnz));
                }
            }
        }
    }

    private T[] Download<T>(ArrayView<T> view) where T : unmanaged
    {
        var a = new T[view.Length];
        accelerator.DefaultStream.CopyToHost(view.AsReadOnly(), a);
        return a;
    }
}
