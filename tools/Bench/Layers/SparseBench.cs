using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Ops.Sparse;

namespace GanEngine.Bench;

/// <summary>
/// Masked sparse GEMM on the conv-as-GEMM shapes of DCGAN-32 at batch 64 (<c>--only sparse</c>):
/// SpMM (forward, Y = W X), transposed SpMM (dX = W^T dY) and SDDMM (dW at the mask) at 0/70/80/90/95%
/// sparsity, plus the device build of the format and the per-step re-pack at 90%. Rows are named
/// <c>sparse-{spmm|spmmt|sddmm}-s{percent}</c> with shape <c>MxKxN</c> (W is M x K, X is K x N), as in
/// tools/peer/peer_sparse.py; where the device has warpgroup MMA, rows <c>...-tc</c> time the TF32 tensor-core products
/// (<c>...-tc-a2</c>: the other expansion lead, at 90%). Each product is checked against float64 on 256 sampled entries
/// (sampled nonzeros for SDDMM) before it is timed. Rate: useful TFLOP/s = 2 nnz N / time.
/// </summary>
internal sealed class SparseBench(Accelerator accelerator, BenchOptions options, Func<Action, double> timeMedian, Func<int, float[]> randomArray)
{
    private const double Tolerance = 1e-4;
    private const double TensorCoreTolerance = 3e-3;   // TF32 operands: 10-bit mantissas, FP32 sums
    private const int Samples = 256;
    private readonly Random _random = new(Environment.TickCount);

    private static readonly int[] Sparsities = [0, 70, 80, 90, 95];

    /// <summary>Split-row SpMM tilings tried at 90% (name suffix, threads, threads per row, chunk rows; chunk rows
    /// capped at the inner size); the default is SpmmSplitTiling.For.</summary>
    private static readonly (string Name, int Threads, int Sub, int Chunk, int Layout)[] SplitVariants =
    [
        ("v3-s512u4k256", 512, 4, 256, 1),
        ("v3-s256u2k256", 256, 2, 256, 1),
        ("s512u4k512", 512, 4, 512, 2),
        ("s512u4k256", 512, 4, 256, 2),
        ("s512u8k512", 512, 8, 512, 2),
        ("s512u2k512", 512, 2, 512, 2),
        ("s256u2k512", 256, 2, 512, 2),
        ("s256u4k256", 256, 4, 256, 2),
        ("p512u4k256", 512, 4, 256, 3),
        ("p512u4k128", 512, 4, 128, 3),
        ("c512u4k512", 512, 4, 512, 4),
        ("cp512u4k512", 512, 4, 512, 5),
        ("cp512u4k256", 512, 4, 256, 5),
        ("cp512u2k512", 512, 2, 512, 5),
        ("cp512u8k512", 512, 8, 512, 5),
        ("c256u2k512", 256, 2, 512, 4),
        ("cp256u2k512", 256, 2, 512, 5),
        ("cp256u4k512", 256, 4, 512, 5),
    ];

    /// <summary>The previous (tiled, X streamed in small chunks) SpMM, kept as a row for comparison.</summary>
    private static readonly SpmmTiling OldTiling = new(16, 4, 4, 32);

    public void Register(Action<string, Func<BenchResult>> run)
    {
        // The CPU accelerator's default --size (128) selects one small shape; GPUs run the DCGAN shapes.
        (int M, int K, int N)[] shapes = options.Size < 1024
            ? [(64, 96, 160)]
            : [(256, 2048, 4096), (128, 1024, 16384), (512, 4096, 1024)];
        // GANENGINE_SPARSE_SHAPES=1 keeps the first shape only, GANENGINE_SPARSE_SPARSITY=90 one sparsity (for profiling).
        if (int.TryParse(Environment.GetEnvironmentVariable("GANENGINE_SPARSE_SHAPES"), out int keepShapes) && keepShapes > 0)
        {
            shapes = shapes[..Math.Min(keepShapes, shapes.Length)];
        }
        int[] sparsities = int.TryParse(Environment.GetEnvironmentVariable("GANENGINE_SPARSE_SPARSITY"), out int only) ? [only] : Sparsities;
        foreach (var (m, k, n) in shapes)
        {
            foreach (int s in sparsities)
            {
                RunShape(run, m, k, n, s, variants: s == 90);
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
        double density = 1 - (sparsityPercent / 100.0);
        var sddmmTiling = SddmmTiling.For(m, k, n, density);
        var splitSddmm = SddmmSplitTiling.For(m, k, n, density);
        bool splitFits = splitSddmm.SharedBytes(m) <= SddmmSplitTiling.MaxSharedBytes;

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

        BenchResult Checked(string name, Action launch, DeviceBuffer<float> output, Func<int, (float Got, double Want)> sample, int domain, double tolerance = Tolerance)
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
            return new BenchResult(name, shape, ms, flops / (ms * 1e-3) / 1e12, "TFLOP/s", error, tolerance, note);
        }

        // The tensor-core products (TF32, warpgroup MMA) where the device has them: rows ...-tc, checked at TF32's tolerance.
        if (MaskedSparse.TensorCoresApply(accelerator, csr, n, Ops.MathMode.Tf32))
        {
            using var tcWork = accelerator.Allocate<float>((int)MaskedSparse.TensorCoreWorkspaceElements(csr.Shape, n));
            run($"sparse-spmm-{tag}-tc", () => Checked($"sparse-spmm-{tag}-tc",
                () => MaskedSparse.SpmmTensorCore(accelerator, csr, n, dx.ReadOnly, y.View, tcWork.View), y, SampleY, m * n, TensorCoreTolerance));
            run($"sparse-spmmt-{tag}-tc", () => Checked($"sparse-spmmt-{tag}-tc",
                () => MaskedSparse.SpmmTransposedTensorCore(accelerator, csr, n, ddy.ReadOnly, gx.View, tcWork.View), gx, SampleDx, k * n, TensorCoreTolerance));
            run($"sparse-sddmm-{tag}-tc", () => Checked($"sparse-sddmm-{tag}-tc",
                () => MaskedSparse.SddmmTensorCore(accelerator, csr, n, ddy.ReadOnly, dx.ReadOnly, gw.View, tcWork.View), gw, SampleDw, nnz, TensorCoreTolerance));
            if (variants)
            {
                // The other expansion lead (ALEAD 2 or 3) for the two SpMM forms.
                int other = MaskedSparse.TensorCoreExpansionLead == 3 ? 2 : 3;
                int saved = MaskedSparse.TensorCoreExpansionLead;
                MaskedSparse.TensorCoreExpansionLead = other;
                try
                {
                    run($"sparse-spmm-{tag}-tc-a{other}", () => Checked($"sparse-spmm-{tag}-tc-a{other}",
                        () => MaskedSparse.SpmmTensorCore(accelerator, csr, n, dx.ReadOnly, y.View, tcWork.View), y, SampleY, m * n, TensorCoreTolerance));
                    run($"sparse-spmmt-{tag}-tc-a{other}", () => Checked($"sparse-spmmt-{tag}-tc-a{other}",
                        () => MaskedSparse.SpmmTransposedTensorCore(accelerator, csr, n, ddy.ReadOnly, gx.View, tcWork.View), gx, SampleDx, k * n, TensorCoreTolerance));
                }
                finally
                {
                    MaskedSparse.TensorCoreExpansionLead = saved;
                }
            }
        }

        run($"sparse-spmm-{tag}", () => Checked($"sparse-spmm-{tag}",
            () => MaskedSparse.Spmm(accelerator, csr, n, dx.ReadOnly, y.View), y, SampleY, m * n));
        if (variants)
        {
            run($"sparse-spmm-{tag}-old", () => Checked($"sparse-spmm-{tag}-old",
                () => MaskedSparse.Spmm(accelerator, csr, n, dx.ReadOnly, y.View, OldTiling), y, SampleY, m * n));
            foreach (var (vname, threads, sub, chunk, layout) in SplitVariants)
            {
                var t = new SpmmSplitTiling(threads, sub, Math.Min(chunk, ((k + 7) / 8) * 8), layout);
                run($"sparse-spmm-{tag}-{vname}", () => Checked($"sparse-spmm-{tag}-{vname}",
                    () => MaskedSparse.Spmm(accelerator, csr, n, dx.ReadOnly, y.View, t), y, SampleY, m * n));
            }
        }
        run($"sparse-spmmt-{tag}", () => Checked($"sparse-spmmt-{tag}",
            () => MaskedSparse.SpmmTransposed(accelerator, csr, n, ddy.ReadOnly, gx.View), gx, SampleDx, k * n));
        if (variants)
        {
            run($"sparse-spmmt-{tag}-old", () => Checked($"sparse-spmmt-{tag}-old",
                () => MaskedSparse.SpmmTransposed(accelerator, csr, n, ddy.ReadOnly, gx.View, OldTiling), gx, SampleDx, k * n));
            foreach (var (vname, threads, sub, chunk, layout) in SplitVariants)
            {
                var t = new SpmmSplitTiling(threads, sub, Math.Min(chunk, ((m + 7) / 8) * 8), layout);
                run($"sparse-spmmt-{tag}-{vname}", () => Checked($"sparse-spmmt-{tag}-{vname}",
                    () => MaskedSparse.SpmmTransposed(accelerator, csr, n, ddy.ReadOnly, gx.View, t), gx, SampleDx, k * n));
            }
        }
        // SDDMM v5 (by CSR rows, workspace, deterministic): the default row; v4 (split columns, atomics) and variants at 90%.
        var rowSddmm = SddmmRowTiling.For(m, k, n, m * k).FitTo(accelerator.Info);
        var rowVariants = new (string Name, SddmmRowTiling Tiling)[]
        {
            ("c", rowSddmm with { Layout = 3 }),
            ("r-u2", rowSddmm with { Layout = 1, ThreadsPerRow = 2 }),
            ("r-u8", rowSddmm with { Layout = 1, ThreadsPerRow = 8 }),
            ("r-k256", rowSddmm with { Layout = 1, ChunkRows = Math.Min(256, rowSddmm.ChunkRows) }),
            ("r-t256", rowSddmm with { Layout = 1, Threads = 256 }),
            ("r-tiles2", rowSddmm with { Layout = 1, TilesPerBlock = rowSddmm.TilesPerBlock * 2 }),
            ("r-t256-tiles2", rowSddmm with { Layout = 1, Threads = 256, TilesPerBlock = rowSddmm.TilesPerBlock * 2 }),
            ("r-tiles4", rowSddmm with { Layout = 1, TilesPerBlock = rowSddmm.TilesPerBlock * 4 }),
            ("p-k256", rowSddmm with { Layout = 2, ChunkRows = Math.Min(256, rowSddmm.ChunkRows) }),
            ("p-k128", rowSddmm with { Layout = 2, ChunkRows = Math.Min(128, rowSddmm.ChunkRows) }),
            ("c-u8", rowSddmm with { Layout = 3, ThreadsPerRow = 8 }),
            ("c-u2", rowSddmm with { Layout = 3, ThreadsPerRow = 2 }),
            ("c-k256", rowSddmm with { Layout = 3, ChunkRows = Math.Min(256, rowSddmm.ChunkRows) }),
            ("c-tiles2", rowSddmm with { Layout = 3, TilesPerBlock = rowSddmm.TilesPerBlock * 2 }),
            ("c-t256", rowSddmm with { Layout = 3, Threads = 256 }),
        };
        long workElements = rowSddmm.WorkspaceElements(n, m * k);
        foreach (var (_, t) in rowVariants)
        {
            workElements = Math.Max(workElements, t.WorkspaceElements(n, m * k));
        }
        using var work = accelerator.Allocate<float>((int)workElements);
        run($"sparse-sddmm-{tag}", () => Checked($"sparse-sddmm-{tag}",
            () => MaskedSparse.Sddmm(accelerator, csr, n, ddy.ReadOnly, dx.ReadOnly, gw.View, work.View, rowSddmm), gw, SampleDw, nnz));
        if (splitFits)
        {
            run($"sparse-sddmm-{tag}-v4", () => Checked($"sparse-sddmm-{tag}-v4",
                () => MaskedSparse.Sddmm(accelerator, csr, n, ddy.ReadOnly, dx.ReadOnly, gw.View, splitSddmm), gw, SampleDw, nnz));
        }
        if (variants)
        {
            run($"sparse-sddmm-{tag}-old", () => Checked($"sparse-sddmm-{tag}-old",
                () => MaskedSparse.Sddmm(accelerator, csr, n, ddy.ReadOnly, dx.ReadOnly, gw.View, sddmmTiling), gw, SampleDw, nnz));
            foreach (var (vname, t) in rowVariants)
            {
                string name = $"sparse-sddmm-{tag}-{vname}";
                run(name, () => Checked(name,
                    () => MaskedSparse.Sddmm(accelerator, csr, n, ddy.ReadOnly, dx.ReadOnly, gw.View, work.View, t), gw, SampleDw, nnz));
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
