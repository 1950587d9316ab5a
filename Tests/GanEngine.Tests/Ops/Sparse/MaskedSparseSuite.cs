using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Kernels;
using GanEngine.Kernels.Sparse;
using GanEngine.Ops;
using GanEngine.Ops.Reference;
using GanEngine.Ops.Sparse;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Sparse;

/// <summary>
/// Masked sparse GEMM (<see cref="MaskedSparse"/>) against the float64 reference on one accelerator:
/// random masks at 0/50/90/99% sparsity with forced empty rows and columns, odd sizes; the compressed
/// format exactly; SpMM, transposed SpMM and SDDMM norm-wise; masked weights exactly zero. Outputs are
/// poisoned (NaN) first; inputs are fresh random non-zero values, and W holds garbage at masked
/// positions (which every op must ignore).
/// </summary>
public abstract class MaskedSparseSuite
{
    private const double Tolerance = 1e-5;
    private Accelerator _acc = null!;

    protected abstract Accelerator CreateAccelerator();

    [OneTimeSetUp]
    public void Create() => _acc = CreateAccelerator();

    [OneTimeTearDown]
    public void Destroy() => _acc?.Dispose();

    private static float[] RandomFloats(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            float v;
            do { v = (float)((rng.NextDouble() * 2) - 1); } while (v == 0f);
            a[i] = v;
        }
        return a;
    }

    /// <summary>A 0/1 mask keeping each entry with probability 1 - sparsity; row 1 and column 2 forced empty
    /// (and at sparsity 0, row 0 too, so that no case is fully dense by accident of the reference).</summary>
    private static float[] RandomMask(Random rng, int rows, int cols, double sparsity)
    {
        var m = new float[rows * cols];
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = rng.NextDouble() >= sparsity ? 1f : 0f;
        }
        for (int j = 0; j < cols && rows > 1; j++) m[cols + j] = 0f;
        for (int i = 0; i < rows && cols > 2; i++) m[(i * cols) + 2] = 0f;
        return m;
    }

    private (float[] W, float[] Mask, MaskedCsrStorage Storage, DeviceBuffer<float> DW, DeviceBuffer<float> DMask) Setup(Random rng, int rows, int cols, double sparsity)
    {
        var w = RandomFloats(rng, rows * cols);
        var mask = RandomMask(rng, rows, cols, sparsity);
        var storage = new MaskedCsrStorage(_acc, new MaskedWeightShape(rows, cols));
        foreach (var view in new[] { storage.Csr.ColIdx, storage.Csr.RowIdx, storage.Csr.ToCsr, storage.Csr.RowOrder, storage.Csr.ColOrder })
        {
            _acc.DefaultStream.FillBytes(view, 0xFF);
        }
        var dw = _acc.Allocate<float>(w);
        var dm = _acc.Allocate<float>(mask);
        MaskedSparse.Build(_acc, storage.Csr, dw.ReadOnly, dm.ReadOnly);
        return (w, mask, storage, dw, dm);
    }

    /// <summary>The three products' norm-wise errors against the float64 reference: Y = W X, dX = W^T dY, and dW at the mask (its
    /// first nnz entries, CSR order); nnz comes from the reference.</summary>
    private static (double Y, double X, double W, int Nnz) ProductErrors(float[] w, float[] mask, int rows, int cols, int n,
        float[] x, float[] dy, float[] y, float[] gx, float[] gw)
    {
        var want = SparseReference.Sddmm(mask, rows, cols, n, dy, x);
        return (SparseReference.RelativeError(y, SparseReference.Spmm(w, mask, rows, cols, n, x)),
            SparseReference.RelativeError(gx, SparseReference.SpmmTransposed(w, mask, rows, cols, n, dy)),
            SparseReference.RelativeError(gw.AsSpan(0, want.Length), want), want.Length);
    }

    /// <summary>A repeated run's first <paramref name="count"/> outputs equal the first run's bit for bit.</summary>
    private static void AssertRepeatsBitwise(float[] first, float[] second, int count)
    {
        for (int q = 0; q < count; q++)
        {
            Assert.That(BitConverter.SingleToInt32Bits(second[q]), Is.EqualTo(BitConverter.SingleToInt32Bits(first[q])), $"repeat {q}");
        }
    }

    private int[] Prefix(ArrayView<int> view, int n) => Download(view)[..n];

    private T[] Download<T>(ArrayView<T> view) where T : unmanaged
    {
        var a = new T[view.Length];
        _acc.DefaultStream.CopyToHost(view.AsReadOnly(), a);
        return a;
    }

    [TestCase(37, 53, 0.0)]
    [TestCase(37, 53, 0.5)]
    [TestCase(37, 53, 0.9)]
    [TestCase(37, 53, 0.99)]
    [TestCase(300, 7, 0.7)]
    [TestCase(64, 96, 0.99)]
    public void Build_IsExact(int rows, int cols, double sparsity)
    {
        var rng = new Random(HashCode.Combine(rows, cols, sparsity, 1));
        var (w, mask, storage, dw, dm) = Setup(rng, rows, cols, sparsity);
        using (storage) using (dw) using (dm)
        {
            _acc.Synchronize();
            var want = SparseReference.Build(w, mask, rows, cols);
            var c = storage.Csr;
            int nnz = want.Nnz;
            Assert.That(Download(c.RowPtr), Is.EqualTo(want.RowPtr), "rowPtr");
            Assert.That(Prefix(c.ColIdx, nnz), Is.EqualTo(want.ColIdx), "colIdx");
            Assert.That(Download(c.Values)[..nnz], Is.EqualTo(want.Values), "values");
            Assert.That(Download(c.RowOrder), Is.EqualTo(want.RowOrder), "rowOrder");
            Assert.That(Download(c.ColPtr), Is.EqualTo(want.ColPtr), "colPtr");
            Assert.That(Prefix(c.RowIdx, nnz), Is.EqualTo(want.RowIdx), "rowIdx");
            Assert.That(Download(c.TValues)[..nnz], Is.EqualTo(want.TValues), "tValues");
            Assert.That(Prefix(c.ToCsr, nnz), Is.EqualTo(want.ToCsr), "toCsr");
            Assert.That(Download(c.ColOrder), Is.EqualTo(want.ColOrder), "colOrder");

            // The tile bitmaps of W and W^T: bit j of word w of row r is mask[r, 32 w + j], and the word's position is the
            // row's start plus its kept entries left of 32 w.
            Assert.That(c.HasTiles, Is.True);
            var transposed = new float[rows * cols];
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    transposed[(j * rows) + i] = mask[(i * cols) + j];
                }
            }
            var (bits, tilePtr) = WantTiles(mask, want.RowPtr, rows, cols);
            var (tBits, tTilePtr) = WantTiles(transposed, want.ColPtr, cols, rows);
            Assert.That(Prefix(c.TileBits, bits.Length), Is.EqualTo(bits), "W's bits");
            Assert.That(Prefix(c.TilePtr, bits.Length), Is.EqualTo(tilePtr), "W's word positions");
            Assert.That(Prefix(c.TTileBits, tBits.Length), Is.EqualTo(tBits), "W^T's bits");
            Assert.That(Prefix(c.TTilePtr, tBits.Length), Is.EqualTo(tTilePtr), "W^T's word positions");
        }
    }

    private static readonly SpmmTiling Small = new(2, 2, 1, 8);

    [TestCase(37, 53, 29, 0.0, false)]
    [TestCase(37, 53, 29, 0.5, false)]
    [TestCase(37, 53, 29, 0.9, true)]
    [TestCase(37, 53, 29, 0.99, false)]
    [TestCase(70, 45, 131, 0.9, false)]
    [TestCase(70, 45, 131, 0.5, true)]
    public void Products_MatchReference(int rows, int cols, int n, double sparsity, bool smallTiles)
    {
        var rng = new Random(HashCode.Combine(rows, cols, n, sparsity, smallTiles));
        var (w, mask, storage, dw, dm) = Setup(rng, rows, cols, sparsity);
        using (storage) using (dw) using (dm)
        {
            var csr = storage.Csr;
            var x = RandomFloats(rng, cols * n);
            var dyHost = RandomFloats(rng, rows * n);
            using var dx = _acc.Allocate<float>(x);
            using var dY = _acc.Allocate<float>(dyHost);
            using var y = _acc.Allocate<float>(rows * n);
            using var gx = _acc.Allocate<float>(cols * n);
            using var gw = _acc.Allocate<float>(rows * cols);
            foreach (var b in new[] { y, gx, gw })
            {
                _acc.DefaultStream.FillBytes(b.View, 0xFF);
            }
            SpmmTiling? tiling = smallTiles ? Small : null;
            SddmmTiling? sddmm = smallTiles ? new SddmmTiling(3, 16, 64, 2, 4) : SddmmTiling.For(rows, cols, n, 1 - sparsity);
            MaskedSparse.Spmm(_acc, csr, n, dx.ReadOnly, y.View, tiling);
            MaskedSparse.SpmmTransposed(_acc, csr, n, dY.ReadOnly, gx.View, tiling);
            MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, sddmm);
            _acc.Synchronize();

            var (eY, eX, eW, nnz) = ProductErrors(w, mask, rows, cols, n, x, dyHost, y.ToArray(), gx.ToArray(), gw.ToArray());
            TestContext.Out.WriteLine($"SpMM {eY:E2}, SpMM^T {eX:E2}, SDDMM {eW:E2} (nnz {nnz})");
            Assert.Multiple(() =>
            {
                Assert.That(eY, Is.LessThanOrEqualTo(Tolerance), "SpMM");
                Assert.That(eX, Is.LessThanOrEqualTo(Tolerance), "SpMM^T");
                Assert.That(eW, Is.LessThanOrEqualTo(Tolerance), "SDDMM");
            });
        }
    }

    /// <summary>The split-row SpMM and split-column SDDMM (the defaults) with explicit small tiles: several K chunks,
    /// several slices of n, batches of a column's nonzeros, and partial blocks.</summary>
    [TestCase(37, 53, 29, 0.5, 64, 2, 8, 3, 32)]
    [TestCase(70, 45, 131, 0.9, 64, 4, 16, 1, 64)]
    [TestCase(70, 45, 131, 0.0, 128, 8, 24, 2, 32)]
    [TestCase(33, 97, 70, 0.99, 32, 1, 8, 1, 96)]
    public void SplitKernels_MatchReference(int rows, int cols, int n, double sparsity, int threads, int sub, int chunkRows, int perThread, int slice)
    {
        var rng = new Random(HashCode.Combine(rows, cols, n, sparsity, threads, sub));
        var (w, mask, storage, dw, dm) = Setup(rng, rows, cols, sparsity);
        using (storage) using (dw) using (dm)
        {
            var csr = storage.Csr;
            var x = RandomFloats(rng, cols * n);
            var dyHost = RandomFloats(rng, rows * n);
            using var dx = _acc.Allocate<float>(x);
            using var dY = _acc.Allocate<float>(dyHost);
            using var y = _acc.Allocate<float>(rows * n);
            using var gx = _acc.Allocate<float>(cols * n);
            using var gw = _acc.Allocate<float>(rows * cols);
            foreach (var b in new[] { y, gx, gw })
            {
                _acc.DefaultStream.FillBytes(b.View, 0xFF);
            }
            var spmm = new SpmmSplitTiling(threads, sub, chunkRows);
            MaskedSparse.Spmm(_acc, csr, n, dx.ReadOnly, y.View, spmm);
            MaskedSparse.SpmmTransposed(_acc, csr, n, dY.ReadOnly, gx.View, spmm);
            MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, new SddmmSplitTiling(threads, sub, perThread, slice));
            _acc.Synchronize();
            var (eY, eX, eW, nnz) = ProductErrors(w, mask, rows, cols, n, x, dyHost, y.ToArray(), gx.ToArray(), gw.ToArray());
            TestContext.Out.WriteLine($"split: SpMM {eY:E2}, SpMM^T {eX:E2}, SDDMM {eW:E2} (nnz {nnz})");
            Assert.Multiple(() =>
            {
                Assert.That(eY, Is.LessThanOrEqualTo(Tolerance), "SpMM");
                Assert.That(eX, Is.LessThanOrEqualTo(Tolerance), "SpMM^T");
                Assert.That(eW, Is.LessThanOrEqualTo(Tolerance), "SDDMM");
            });
        }
    }

    /// <summary>The v5 SDDMM (by CSR rows, workspace, no atomics): several X chunks, several tiles per block, partial
    /// blocks, and the default tiling (threads 0). Poisoned workspace and output; a second run must be bit-identical.</summary>
    [TestCase(37, 53, 29, 0.5, 64, 2, 8, 2)]
    [TestCase(70, 45, 131, 0.9, 128, 4, 16, 1)]
    [TestCase(33, 97, 70, 0.0, 32, 1, 8, 3)]
    [TestCase(70, 45, 131, 0.5, 0, 0, 0, 0)]
    [TestCase(40, 1100, 64, 0.5, 256, 8, 256, 1)]
    [TestCase(40, 1100, 64, 0.5, 256, 4, 256, 1)]
    public void RowSddmm_MatchesReference_AndRepeatsBitwise(int rows, int cols, int n, double sparsity, int threads, int sub, int chunkRows, int tiles)
    {
        var rng = new Random(HashCode.Combine(rows, cols, n, sparsity, threads, tiles));
        var (_, mask, storage, dw, dm) = Setup(rng, rows, cols, sparsity);
        using (storage) using (dw) using (dm)
        {
            var csr = storage.Csr;
            var x = RandomFloats(rng, cols * n);
            var dyHost = RandomFloats(rng, rows * n);
            using var dx = _acc.Allocate<float>(x);
            using var dY = _acc.Allocate<float>(dyHost);
            using var gw = _acc.Allocate<float>(rows * cols);
            SddmmRowTiling? tiling = threads == 0 ? null : new SddmmRowTiling(threads, sub, chunkRows, tiles);
            using var work = _acc.Allocate<float>((int)MaskedSparse.SddmmWorkspaceElements(_acc, csr.Shape, n, tiling));
            _acc.DefaultStream.FillBytes(gw.View, 0xFF);
            _acc.DefaultStream.FillBytes(work.View, 0xFF);
            MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, work.View, tiling);
            _acc.Synchronize();
            var first = gw.ToArray();
            _acc.DefaultStream.FillBytes(gw.View, 0xFF);
            _acc.DefaultStream.FillBytes(work.View, 0xFF);
            MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, work.View, tiling);
            _acc.Synchronize();
            var second = gw.ToArray();
            var want = SparseReference.Sddmm(mask, rows, cols, n, dyHost, x);
            double eW = SparseReference.RelativeError(first.AsSpan(0, want.Length), want);
            TestContext.Out.WriteLine($"row SDDMM {eW:E2} (nnz {want.Length})");
            Assert.Multiple(() =>
            {
                Assert.That(eW, Is.LessThanOrEqualTo(Tolerance), "SDDMM");
                AssertRepeatsBitwise(first, second, want.Length);
            });
        }
    }

    /// <summary>The v6 kernels (<c>SpmmPipe</c>, layout 3, forward and transposed; <c>SddmmPipe</c>, layout 2): cursors kept
    /// across chunks, double-buffered chunks; several chunks (inner not a multiple of the chunk), several tiles per block,
    /// partial blocks, empty rows. Poisoned outputs and workspace; a repeated SDDMM must be bit-identical.</summary>
    [TestCase(37, 53, 29, 0.5, 64, 2, 8, 2)]
    [TestCase(70, 45, 131, 0.9, 128, 4, 16, 1)]
    [TestCase(33, 97, 70, 0.0, 32, 1, 8, 3)]
    [TestCase(33, 97, 70, 0.99, 64, 4, 8, 1)]
    [TestCase(40, 1100, 64, 0.5, 256, 8, 256, 1)]
    [TestCase(40, 1100, 64, 0.5, 256, 4, 256, 2)]
    public void PipeKernels_MatchReference_AndRepeatBitwise(int rows, int cols, int n, double sparsity, int threads, int sub, int chunkRows, int tiles)
    {
        // The pipelined SpMM stages chunkRows x 64 floats per buffer, double-buffered: 64 KiB at 256 rows,
        // more local memory than NVIDIA's OpenCL gives a work-group (48 KiB).
        int stagedBytes = chunkRows * 64 * sizeof(float);
        if (stagedBytes > _acc.Info.MaxSharedMemoryPerBlock)
        {
            Assert.Ignore($"the pipelined kernel needs {stagedBytes} bytes of shared memory per block; {_acc.Name} allows {_acc.Info.MaxSharedMemoryPerBlock}");
        }
        var rng = new Random(HashCode.Combine(rows, cols, n, sparsity, threads, tiles, 6));
        var (w, mask, storage, dw, dm) = Setup(rng, rows, cols, sparsity);
        using (storage) using (dw) using (dm)
        {
            var csr = storage.Csr;
            var x = RandomFloats(rng, cols * n);
            var dyHost = RandomFloats(rng, rows * n);
            using var dx = _acc.Allocate<float>(x);
            using var dY = _acc.Allocate<float>(dyHost);
            using var y = _acc.Allocate<float>(rows * n);
            using var gx = _acc.Allocate<float>(cols * n);
            using var gw = _acc.Allocate<float>(rows * cols);
            var spmm = new SpmmSplitTiling(threads, sub, chunkRows, Layout: 3);
            var sddmm = new SddmmRowTiling(threads, sub, chunkRows, tiles, Layout: 2);
            using var work = _acc.Allocate<float>((int)MaskedSparse.SddmmWorkspaceElements(_acc, csr.Shape, n, sddmm));
            foreach (var b in new[] { y, gx, gw, work })
            {
                _acc.DefaultStream.FillBytes(b.View, 0xFF);
            }
            MaskedSparse.Spmm(_acc, csr, n, dx.ReadOnly, y.View, spmm);
            MaskedSparse.SpmmTransposed(_acc, csr, n, dY.ReadOnly, gx.View, spmm);
            MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, work.View, sddmm);
            _acc.Synchronize();
            var first = gw.ToArray();
            _acc.DefaultStream.FillBytes(gw.View, 0xFF);
            _acc.DefaultStream.FillBytes(work.View, 0xFF);
            MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, work.View, sddmm);
            _acc.Synchronize();
            var second = gw.ToArray();
            var (eY, eX, eW, nnz) = ProductErrors(w, mask, rows, cols, n, x, dyHost, y.ToArray(), gx.ToArray(), first);
            TestContext.Out.WriteLine($"pipe: SpMM {eY:E2}, SpMM^T {eX:E2}, SDDMM {eW:E2} (nnz {nnz})");
            Assert.Multiple(() =>
            {
                Assert.That(eY, Is.LessThanOrEqualTo(Tolerance), "SpMM");
                Assert.That(eX, Is.LessThanOrEqualTo(Tolerance), "SpMM^T");
                Assert.That(eW, Is.LessThanOrEqualTo(Tolerance), "SDDMM");
                AssertRepeatsBitwise(first, second, nnz);
            });
        }
    }

    /// <summary>The v6b kernels: <c>SpmmCursor</c> (layout 4: 4-byte index and value loads; layout 5: packed 8-byte entries),
    /// forward and transposed, and <c>SddmmCursor</c> (layout 3), on several chunks, tiles, partial blocks and empty rows;
    /// then a repack with a new W, after which the packed entries must follow (layout 5 against the reference again).</summary>
    [TestCase(37, 53, 29, 0.5, 64, 2, 8, 2)]
    [TestCase(70, 45, 131, 0.9, 128, 4, 16, 1)]
    [TestCase(33, 97, 70, 0.0, 32, 1, 8, 3)]
    [TestCase(33, 97, 70, 0.99, 64, 4, 8, 1)]
    [TestCase(40, 1100, 64, 0.5, 256, 8, 256, 1)]
    [TestCase(40, 1100, 64, 0.5, 256, 4, 256, 2)]
    public void CursorKernels_MatchReference_AndFollowRepack(int rows, int cols, int n, double sparsity, int threads, int sub, int chunkRows, int tiles)
    {
        var rng = new Random(HashCode.Combine(rows, cols, n, sparsity, threads, tiles, 66));
        var (w, mask, storage, dw, dm) = Setup(rng, rows, cols, sparsity);
        using (storage) using (dw) using (dm)
        {
            var csr = storage.Csr;
            Assert.That(csr.HasPacked, Is.True);
            var x = RandomFloats(rng, cols * n);
            var dyHost = RandomFloats(rng, rows * n);
            using var dx = _acc.Allocate<float>(x);
            using var dY = _acc.Allocate<float>(dyHost);
            using var y = _acc.Allocate<float>(rows * n);
            using var gx = _acc.Allocate<float>(cols * n);
            using var gw = _acc.Allocate<float>(rows * cols);
            var sddmm = new SddmmRowTiling(threads, sub, chunkRows, tiles, Layout: 3);
            using var work = _acc.Allocate<float>((int)MaskedSparse.SddmmWorkspaceElements(_acc, csr.Shape, n, sddmm));
            var want = SparseReference.Sddmm(mask, rows, cols, n, dyHost, x);
            var wantY = SparseReference.Spmm(w, mask, rows, cols, n, x);
            var wantX = SparseReference.SpmmTransposed(w, mask, rows, cols, n, dyHost);
            foreach (int layout in new[] { 4, 5 })
            {
                var spmm = new SpmmSplitTiling(threads, sub, chunkRows, layout);
                foreach (var b in new[] { y, gx })
                {
                    _acc.DefaultStream.FillBytes(b.View, 0xFF);
                }
                MaskedSparse.Spmm(_acc, csr, n, dx.ReadOnly, y.View, spmm);
                MaskedSparse.SpmmTransposed(_acc, csr, n, dY.ReadOnly, gx.View, spmm);
                _acc.Synchronize();
                double eY = SparseReference.RelativeError(y.ToArray(), wantY);
                double eX = SparseReference.RelativeError(gx.ToArray(), wantX);
                TestContext.Out.WriteLine($"cursor layout {layout}: SpMM {eY:E2}, SpMM^T {eX:E2}");
                Assert.That(eY, Is.LessThanOrEqualTo(Tolerance), $"SpMM layout {layout}");
                Assert.That(eX, Is.LessThanOrEqualTo(Tolerance), $"SpMM^T layout {layout}");
            }
            var first = Array.Empty<float>();
            for (int run = 0; run < 2; run++)
            {
                _acc.DefaultStream.FillBytes(gw.View, 0xFF);
                _acc.DefaultStream.FillBytes(work.View, 0xFF);
                MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, work.View, sddmm);
                _acc.Synchronize();
                var got = gw.ToArray();
                if (run == 0)
                {
                    first = got;
                    double eW = SparseReference.RelativeError(got.AsSpan(0, want.Length), want);
                    TestContext.Out.WriteLine($"cursor SDDMM {eW:E2} (nnz {want.Length})");
                    Assert.That(eW, Is.LessThanOrEqualTo(Tolerance), "SDDMM");
                }
                else
                {
                    AssertRepeatsBitwise(first, got, want.Length);
                }
            }

            // A new W under the same mask: Repack must rewrite the packed entries too.
            var w2 = RandomFloats(rng, rows * cols);
            dw.CopyFromHost(w2);
            MaskedSparse.Repack(_acc, csr, dw.ReadOnly);
            var spmm5 = new SpmmSplitTiling(threads, sub, chunkRows, 5);
            _acc.DefaultStream.FillBytes(y.View, 0xFF);
            _acc.DefaultStream.FillBytes(gx.View, 0xFF);
            MaskedSparse.Spmm(_acc, csr, n, dx.ReadOnly, y.View, spmm5);
            MaskedSparse.SpmmTransposed(_acc, csr, n, dY.ReadOnly, gx.View, spmm5);
            _acc.Synchronize();
            double eY2 = SparseReference.RelativeError(y.ToArray(), SparseReference.Spmm(w2, mask, rows, cols, n, x));
            double eX2 = SparseReference.RelativeError(gx.ToArray(), SparseReference.SpmmTransposed(w2, mask, rows, cols, n, dyHost));
            TestContext.Out.WriteLine($"after repack, layout 5: SpMM {eY2:E2}, SpMM^T {eX2:E2}");
            Assert.That(eY2, Is.LessThanOrEqualTo(Tolerance), "SpMM after repack");
            Assert.That(eX2, Is.LessThanOrEqualTo(Tolerance), "SpMM^T after repack");
        }
    }

    [Test]
    public void MaskedWeights_StayExactlyZero_AndRepackGathers()
    {
        const int rows = 23, cols = 41, n = 19;
        var rng = new Random(7);
        var (w, mask, storage, dw, dm) = Setup(rng, rows, cols, 0.8);
        using (storage) using (dw) using (dm)
        {
            var csr = storage.Csr;
            // A training step changes W everywhere (masked positions too); re-pack must follow W at the nonzeros only.
            var w2 = RandomFloats(rng, rows * cols);
            dw.CopyFromHost(w2);
            MaskedSparse.Repack(_acc, csr, dw.ReadOnly);
            using var dense = _acc.Allocate<float>(rows * cols);
            _acc.DefaultStream.FillBytes(dense.View, 0xFF);
            MaskedSparse.ScatterToDense(_acc, csr, csr.Values, dense.View);
            var x = RandomFloats(rng, cols * n);
            var dyHost = RandomFloats(rng, rows * n);
            using var dx = _acc.Allocate<float>(x);
            using var dY = _acc.Allocate<float>(dyHost);
            using var gw = _acc.Allocate<float>(rows * cols);
            using var gwDense = _acc.Allocate<float>(rows * cols);
            _acc.DefaultStream.FillBytes(gwDense.View, 0xFF);
            MaskedSparse.Sddmm(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View);
            MaskedSparse.ScatterToDense(_acc, csr, gw.View, gwDense.View);
            using var y = _acc.Allocate<float>(rows * n);
            MaskedSparse.Spmm(_acc, csr, n, dx.ReadOnly, y.View);
            _acc.Synchronize();

            var packed = dense.ToArray();
            var grad = gwDense.ToArray();
            for (int i = 0; i < rows * cols; i++)
            {
                if (mask[i] == 0f)
                {
                    Assert.That(BitConverter.SingleToInt32Bits(packed[i]), Is.Zero, $"weight {i} off the mask");
                    Assert.That(BitConverter.SingleToInt32Bits(grad[i]), Is.Zero, $"gradient {i} off the mask");
                }
                else
                {
                    Assert.That(packed[i], Is.EqualTo(w2[i]), $"re-packed weight {i}");
                    Assert.That(float.IsFinite(grad[i]), $"gradient {i}");
                }
            }
            var tv = Download(csr.TValues);
            var want = SparseReference.Build(w2, mask, rows, cols);
            Assert.That(tv[..want.Nnz], Is.EqualTo(want.TValues), "re-packed CSC values");
            double e = SparseReference.RelativeError(y.ToArray(), SparseReference.Spmm(w2, mask, rows, cols, n, x));
            Assert.That(e, Is.LessThanOrEqualTo(Tolerance), "SpMM after re-pack");
        }
    }

    private static (int[] Bits, int[] Ptr) WantTiles(float[] mask, int[] rowPtr, int rows, int cols)
    {
        int words = (cols + 31) / 32;
        var bits = new int[words * rows];
        var ptr = new int[words * rows];
        for (int r = 0; r < rows; r++)
        {
            int seen = 0;
            for (int w = 0; w < words; w++)
            {
                ptr[(w * rows) + r] = rowPtr[r] + seen;
                for (int j = 0; j < 32 && (32 * w) + j < cols; j++)
                {
                    if (mask[(r * cols) + (32 * w) + j] != 0f)
                    {
                        bits[(w * rows) + r] |= 1 << j;
                        seen++;
                    }
                }
            }
        }
        return (bits, ptr);
    }

    private const double TensorCoreTolerance = 3e-3;

    /// <summary>The tensor-core products (<see cref="MaskedSparse.SpmmTensorCore"/>, the transpose and the SDDMM; TF32, forced
    /// onto this accelerator's wgmma emulation where the device has none) against float64, on shapes that cover several row and
    /// column tiles, ragged edges, reduction splits (SpMM: 17 K tiles in 2; SDDMM: n = 1028 in 4), empty rows and columns, and
    /// 0-99% sparsity. Outputs and workspace are poisoned; the TF32 tolerance is 3e-3 norm-wise (10-bit operand mantissas).
    /// Both expansion leads of the SpMM kernels (2 and 3 K tiles). A second SDDMM must be bit-identical (in-order sums, no atomics), and with a new W only <see cref="MaskedSparse.Repack"/>
    /// is needed (the bitmaps depend on the mask).</summary>
    [TestCase(37, 70, 52, 0.5, 3)]
    [TestCase(300, 530, 36, 0.9, 3)]
    [TestCase(300, 530, 36, 0.9, 2)]
    [TestCase(20, 40, 1028, 0.0, 3)]
    [TestCase(130, 290, 260, 0.99, 2)]
    [TestCase(130, 290, 260, 0.7, 3)]
    public void TensorCoreProducts_MatchReference(int rows, int cols, int n, double sparsity, int expansionLead)
    {
        var saved = (ConvSettings.Warpgroup, MaskedSparse.TensorCoreExpansionLead);
        ConvSettings.Warpgroup = WarpgroupUse.Force;
        MaskedSparse.TensorCoreExpansionLead = expansionLead;
        try
        {
            var rng = new Random(HashCode.Combine(rows, cols, n, sparsity, expansionLead, 90));
            var (w, mask, storage, dw, dm) = Setup(rng, rows, cols, sparsity);
            using (storage) using (dw) using (dm)
            {
                var csr = storage.Csr;
                if (MaskedTensorCoreKernels.SharedBytes > _acc.Info.MaxSharedMemoryPerBlock)
                {
                    Assert.That(MaskedSparse.TensorCoresApply(_acc, csr, n), Is.False, "the products must not be chosen where they do not fit");
                    Assert.Ignore($"the tensor-core products need {MaskedTensorCoreKernels.SharedBytes} bytes of shared memory per block; {_acc.Name} allows {_acc.Info.MaxSharedMemoryPerBlock}");
                }
                Assert.That(MaskedSparse.TensorCoresApply(_acc, csr, n), Is.True, "forced TF32 tensor cores apply");
                Assert.That(MaskedSparse.TensorCoresApply(_acc, csr, n, MathMode.StrictFp32), Is.False, "strict FP32 stays on the scalar kernels");
                var x = RandomFloats(rng, cols * n);
                var dyHost = RandomFloats(rng, rows * n);
                using var dx = _acc.Allocate<float>(x);
                using var dY = _acc.Allocate<float>(dyHost);
                using var y = _acc.Allocate<float>(rows * n);
                using var gx = _acc.Allocate<float>(cols * n);
                using var gw = _acc.Allocate<float>(rows * cols);
                using var work = _acc.Allocate<float>((int)MaskedSparse.TensorCoreWorkspaceElements(csr.Shape, n));
                foreach (var b in new[] { y, gx, gw, work })
                {
                    _acc.DefaultStream.FillBytes(b.View, 0xFF);
                }
                MaskedSparse.SpmmTensorCore(_acc, csr, n, dx.ReadOnly, y.View, work.View);
                MaskedSparse.SpmmTransposedTensorCore(_acc, csr, n, dY.ReadOnly, gx.View, work.View);
                MaskedSparse.SddmmTensorCore(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, work.View);
                _acc.Synchronize();
                var first = gw.ToArray();
                _acc.DefaultStream.FillBytes(gw.View, 0xFF);
                _acc.DefaultStream.FillBytes(work.View, 0xFF);
                MaskedSparse.SddmmTensorCore(_acc, csr, n, dY.ReadOnly, dx.ReadOnly, gw.View, work.View);
                _acc.Synchronize();
                var second = gw.ToArray();
                var (eY, eX, eW, nnz) = ProductErrors(w, mask, rows, cols, n, x, dyHost, y.ToArray(), gx.ToArray(), first);

                // A new W under the same mask: Repack, then the forward again.
                var w2 = RandomFloats(rng, rows * cols);
                using var dw2 = _acc.Allocate<float>(w2);
                MaskedSparse.Repack(_acc, csr, dw2.ReadOnly);
                _acc.DefaultStream.FillBytes(y.View, 0xFF);
                MaskedSparse.SpmmTensorCore(_acc, csr, n, dx.ReadOnly, y.View, work.View);
                _acc.Synchronize();
                double eY2 = SparseReference.RelativeError(y.ToArray(), SparseReference.Spmm(w2, mask, rows, cols, n, x));
                var plans = $"splits {MaskedTensorCorePlan.For(MaskedProduct.Spmm, csr.Shape, n).Splits}/{MaskedTensorCorePlan.For(MaskedProduct.SpmmTransposed, csr.Shape, n).Splits}/{MaskedTensorCorePlan.For(MaskedProduct.Sddmm, csr.Shape, n).Splits}";
                TestContext.Out.WriteLine($"tensor cores ({plans}): SpMM {eY:E2}, SpMM^T {eX:E2}, SDDMM {eW:E2}, SpMM after repack {eY2:E2} (nnz {nnz})");
                Assert.Multiple(() =>
                {
                    Assert.That(eY, Is.LessThanOrEqualTo(TensorCoreTolerance), "SpMM");
                    Assert.That(eX, Is.LessThanOrEqualTo(TensorCoreTolerance), "SpMM^T");
                    Assert.That(eW, Is.LessThanOrEqualTo(TensorCoreTolerance), "SDDMM");
                    Assert.That(eY2, Is.LessThanOrEqualTo(TensorCoreTolerance), "SpMM after repack");
                    AssertRepeatsBitwise(first, second, nnz);
                });
            }
        }
        finally
        {
            (ConvSettings.Warpgroup, MaskedSparse.TensorCoreExpansionLead) = saved;
        }
    }

    /// <summary>The plans split the reduction as the tests above assume, and bad inputs are refused with their reason.</summary>
    [Test]
    public void TensorCorePlans_AndBadInput()
    {
        var shape = new MaskedWeightShape(256, 2048);
        Assert.Multiple(() =>
        {
            Assert.That(MaskedTensorCorePlan.For(MaskedProduct.Spmm, shape, 4096), Is.EqualTo(new MaskedTensorCorePlan(256, 4096, 2048, 4, 512)));
            Assert.That(MaskedTensorCorePlan.For(MaskedProduct.SpmmTransposed, shape, 4096), Is.EqualTo(new MaskedTensorCorePlan(2048, 4096, 256, 1, 256)));
            Assert.That(MaskedTensorCorePlan.For(MaskedProduct.Sddmm, shape, 4096), Is.EqualTo(new MaskedTensorCorePlan(256, 2048, 4096, 8, 512)));
            Assert.That(MaskedTensorCorePlan.For(MaskedProduct.Spmm, new MaskedWeightShape(300, 530), 36).Splits, Is.EqualTo(2));
            Assert.That(MaskedTensorCorePlan.For(MaskedProduct.Sddmm, new MaskedWeightShape(20, 40), 1028).Splits, Is.EqualTo(4));
        });
        var rng = new Random(5);
        var (_, _, storage, dw, dm) = Setup(rng, 20, 40, 0.5);
        using (storage) using (dw) using (dm)
        {
            var csr = storage.Csr;
            using var a = _acc.Allocate<float>(40 * 30);
            using var b = _acc.Allocate<float>(20 * 30);
            using var g = _acc.Allocate<float>(800);
            using var work = _acc.Allocate<float>(1);
            var odd = Assert.Throws<ArgumentException>(() => MaskedSparse.SddmmTensorCore(_acc, csr, 30, b.ReadOnly, a.ReadOnly, g.View, work.View));
            Assert.That(odd!.Message, Does.Contain("multiple of 4"));
            Assert.That(MaskedSparse.TensorCoresApply(_acc, csr, 30), Is.False, "n = 30 is not a multiple of 4");
            var noTiles = csr with { TileBits = default };
            Assert.That(noTiles.HasTiles, Is.False);
            var missing = Assert.Throws<ArgumentException>(() => MaskedSparse.SpmmTensorCore(_acc, noTiles, 28, a.ReadOnly, b.View, work.View));
            Assert.That(missing!.Message, Does.Contain("tile bitmaps"));
        }
    }
}

[TestFixture]
public sealed class CpuMaskedSparse : MaskedSparseSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

/// <summary>The CPU accelerator in its deterministic mode (fixed scheduling of blocks).</summary>
[TestFixture]
public sealed class CpuDeterministicMaskedSparse : MaskedSparseSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClMaskedSparse(string platform) : MaskedSparseSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaMaskedSparse : MaskedSparseSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.Cuda();
}
