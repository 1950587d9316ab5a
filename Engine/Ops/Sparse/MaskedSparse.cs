using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Kernels.Sparse;

namespace GanEngine.Ops.Sparse;

/// <summary>A masked weight W[Rows, Cols] (row-major) and the capacity (most nonzeros) of its compressed form.</summary>
public readonly record struct MaskedWeightShape(int Rows, int Cols, int Capacity)
{
    /// <summary>Capacity = Rows * Cols: any mask fits.</summary>
    public MaskedWeightShape(int rows, int cols) : this(rows, cols, checked(rows * cols)) { }

    public int DenseLength => checked(Rows * Cols);

    /// <summary>Entries of W's tile bitmap: one 32-column word per row and word.</summary>
    public int TileWords => checked(Rows * ((Cols + 31) / 32));

    /// <summary>Entries of W^T's tile bitmap: one 32-row word per column and word.</summary>
    public int TransposedTileWords => checked(Cols * ((Rows + 31) / 32));

    public void Validate()
    {
        if (Rows <= 0) throw new ArgumentException($"Rows must be positive, was {Rows}.", nameof(Rows));
        if (Cols <= 0) throw new ArgumentException($"Cols must be positive, was {Cols}.", nameof(Cols));
        if ((long)Rows * Cols > int.MaxValue) throw new ArgumentException($"Rows * Cols = {(long)Rows * Cols} exceeds 2^31 - 1.", nameof(Cols));
        if (Capacity <= 0 || Capacity > Rows * Cols) throw new ArgumentException($"Capacity must be in [1, Rows * Cols], was {Capacity}.", nameof(Capacity));
    }
}

/// <summary>
/// Views of a masked sparse weight (see <see cref="MaskedSparseKernels"/> for the layout): CSR with a
/// row order balanced by length, and a CSC twin for the transposed product and the SDDMM.
/// Lengths: RowPtr Rows+1, RowOrder/RowCount Rows, ColPtr Cols+1, ColOrder/ColCount Cols, the
/// per-nonzero arrays Capacity. nnz lives on the device (RowPtr[Rows]); no op reads it on the host.
/// </summary>
public readonly record struct MaskedCsr(
    MaskedWeightShape Shape,
    ArrayView<int> RowPtr, ArrayView<int> ColIdx, ArrayView<float> Values, ArrayView<int> DenseIndex,
    ArrayView<int> RowOrder, ArrayView<int> RowCount,
    ArrayView<int> ColPtr, ArrayView<int> RowIdx, ArrayView<float> TValues, ArrayView<int> TDenseIndex,
    ArrayView<int> ToCsr, ArrayView<int> ColOrder, ArrayView<int> ColCount,
    ArrayView<ulong> Packed = default, ArrayView<ulong> TPacked = default,
    ArrayView<int> TileBits = default, ArrayView<int> TilePtr = default, ArrayView<int> TTileBits = default, ArrayView<int> TTilePtr = default)
{
    /// <summary>Whether the tile bitmaps are there (W's: words of 32 columns x Rows; W^T's: words of 32 rows x Cols; see
    /// <see cref="MaskedTensorCoreKernels"/>): <see cref="MaskedSparse.Build"/> writes them, and the tensor-core products read
    /// them. They depend on the mask only, so <see cref="MaskedSparse.Repack"/> leaves them.</summary>
    public bool HasTiles => TileBits.Length >= Shape.TileWords && TilePtr.Length >= Shape.TileWords
        && TTileBits.Length >= Shape.TransposedTileWords && TTilePtr.Length >= Shape.TransposedTileWords;

    /// <summary>Whether the packed entries (CSR: value bits &lt;&lt; 32 | column; CSC: value bits &lt;&lt; 32 | row) are there:
    /// <see cref="MaskedSparse.Build"/> and <see cref="MaskedSparse.Repack"/> keep them current, and the v6b SpMM
    /// (<see cref="SpmmSplitTiling"/> layout 5) reads them.</summary>
    public bool HasPacked => Packed.Length >= Shape.Capacity && TPacked.Length >= Shape.Capacity;

    internal void Validate()
    {
        Shape.Validate();
        Check(RowPtr.Length >= Shape.Rows + 1, nameof(RowPtr));
        Check(RowOrder.Length >= Shape.Rows && RowCount.Length >= Shape.Rows, nameof(RowOrder));
        Check(ColPtr.Length >= Shape.Cols + 1, nameof(ColPtr));
        Check(ColOrder.Length >= Shape.Cols && ColCount.Length >= Shape.Cols, nameof(ColOrder));
        int c = Shape.Capacity;
        Check(ColIdx.Length >= c && Values.Length >= c && DenseIndex.Length >= c, nameof(ColIdx));
        Check(RowIdx.Length >= c && TValues.Length >= c && TDenseIndex.Length >= c && ToCsr.Length >= c, nameof(RowIdx));
    }

    private static void Check(bool ok, string name)
    {
        if (!ok) throw new ArgumentException($"{name} (or a view beside it) is shorter than the shape needs.", name);
    }
}

/// <summary>Device memory for one <see cref="MaskedCsr"/> (a convenience for tests, benchmarks and layers; the
/// raw ops take the views).</summary>
public sealed class MaskedCsrStorage : IDisposable
{
    private readonly IDisposable[] _buffers;

    public MaskedCsrStorage(Accelerator accelerator, MaskedWeightShape shape)
    {
        shape.Validate();
        int r = shape.Rows, k = shape.Cols, c = shape.Capacity;
        var rowPtr = accelerator.Allocate<int>(r + 1);
        var colIdx = accelerator.Allocate<int>(c);
        var values = accelerator.Allocate<float>(c);
        var dense = accelerator.Allocate<int>(c);
        var rowOrder = accelerator.Allocate<int>(r);
        var rowCount = accelerator.Allocate<int>(r);
        var colPtr = accelerator.Allocate<int>(k + 1);
        var rowIdx = accelerator.Allocate<int>(c);
        var tValues = accelerator.Allocate<float>(c);
        var tDense = accelerator.Allocate<int>(c);
        var toCsr = accelerator.Allocate<int>(c);
        var colOrder = accelerator.Allocate<int>(k);
        var colCount = accelerator.Allocate<int>(k);
        var packed = accelerator.Allocate<ulong>(c);
        var tPacked = accelerator.Allocate<ulong>(c);
        var tileBits = accelerator.Allocate<int>(shape.TileWords);
        var tilePtr = accelerator.Allocate<int>(shape.TileWords);
        var tTileBits = accelerator.Allocate<int>(shape.TransposedTileWords);
        var tTilePtr = accelerator.Allocate<int>(shape.TransposedTileWords);
        _buffers = [rowPtr, colIdx, values, dense, rowOrder, rowCount, colPtr, rowIdx, tValues, tDense, toCsr, colOrder, colCount, packed, tPacked,
            tileBits, tilePtr, tTileBits, tTilePtr];
        Csr = new MaskedCsr(shape, rowPtr.View, colIdx.View, values.View, dense.View, rowOrder.View, rowCount.View,
            colPtr.View, rowIdx.View, tValues.View, tDense.View, toCsr.View, colOrder.View, colCount.View, packed.View, tPacked.View,
            tileBits.View, tilePtr.View, tTileBits.View, tTilePtr.View);
    }

    public MaskedCsr Csr { get; }

    public void Dispose()
    {
        foreach (var b in _buffers)
        {
            b.Dispose();
        }
    }
}

/// <summary>Tiles of MaskedSparse.Spmm with a SpmmTiling: WARPS warps per block, RW rows per warp, TN columns
/// per lane (32 TN columns per block), BK rows of the dense operand per shared chunk.</summary>
public readonly record struct SpmmTiling(int Warps, int RowsPerWarp, int ColumnsPerLane, int ChunkRows)
{
    /// <summary>8 warps x 4 rows, 128 columns, chunks of 32 rows (16 KiB of shared memory).</summary>
    public static SpmmTiling Default => new(8, 4, 4, 32);

    public int RowsPerBlock => Warps * RowsPerWarp;
    public int ColumnsPerBlock => 32 * ColumnsPerLane;

    public void Validate()
    {
        if (Warps <= 0 || RowsPerWarp <= 0 || ColumnsPerLane <= 0 || ChunkRows <= 0 || (ChunkRows * ColumnsPerLane) % Warps != 0)
        {
            throw new ArgumentException($"Bad SpMM tiling {this}: all positive and ChunkRows * ColumnsPerLane a multiple of Warps.");
        }
    }
}

/// <summary>Tiles of MaskedSparse.Sddmm with an SddmmTiling: a block owns <see cref="ColumnsPerBlock"/> columns of W and
/// <see cref="SliceLength"/> of the n dimension; <see cref="Threads"/> threads own <see cref="PerThread"/>
/// nonzeros each per batch; <see cref="ChunkColumns"/> columns of n per shared chunk.</summary>
public readonly record struct SddmmTiling(int ColumnsPerBlock, int SliceLength, int Threads, int PerThread, int ChunkColumns)
{
    /// <summary>A tiling for W rows x cols times n, given the expected fraction of kept weights
    /// (a hint: nnz stays on the device). About Threads * PerThread nonzeros per block, and enough
    /// slices of n for a few hundred blocks.</summary>
    public static SddmmTiling For(int rows, int cols, int n, double densityHint = 1.0)
    {
        const int threads = 256, perThread = 4;
        int chunk = rows * 17 * 4 <= 40 * 1024 ? 16 : rows * 9 * 4 <= 40 * 1024 ? 8 : rows * 5 * 4 <= 40 * 1024 ? 4 : 1;
        double perColumn = Math.Max(1.0, rows * Math.Clamp(densityHint, 0.0, 1.0));
        int columnsPerBlock = (int)Math.Clamp(threads * perThread / perColumn, 1, 128);
        columnsPerBlock = Math.Min(columnsPerBlock, cols);
        int columnBlocks = (cols + columnsPerBlock - 1) / columnsPerBlock;
        int slices = Math.Clamp(512 / columnBlocks, 1, Math.Max(1, n / (4 * chunk)));
        int sliceLength = ((((n + slices - 1) / slices) + chunk - 1) / chunk) * chunk;
        return new SddmmTiling(columnsPerBlock, sliceLength, threads, perThread, chunk);
    }

    public int SharedBytes(int rows) => ((rows * (ChunkColumns + 1)) + (ColumnsPerBlock * ChunkColumns)) * sizeof(float);
}

/// <summary>Tiles of the split-row SpMM (<see cref="MaskedSparseKernels.SpmmSplit"/>, the default): <see cref="Threads"/>
/// threads per block, <see cref="ThreadsPerRow"/> threads sharing one row's nonzeros (Threads / ThreadsPerRow rows
/// and 32 columns of Y per block), <see cref="ChunkRows"/> rows of the dense operand per shared chunk, and the
/// kernel: <see cref="Layout"/> 2 is <see cref="MaskedSparseKernels.SpmmSplit2"/> (X stored once per chunk, at most 512
/// threads, two blocks per multiprocessor), 1 the v3 <see cref="MaskedSparseKernels.SpmmSplit"/> (X stored twice), 3 the v6
/// <see cref="MaskedSparseKernels.SpmmPipe"/> (cursors kept across chunks, double-buffered chunks loaded one ahead;
/// ChunkRows * 32 a multiple of Threads), 4 the v6b <see cref="MaskedSparseKernels.SpmmCursor"/> (v4 with cursors kept across
/// chunks instead of a binary search per chunk), 5 the same reading packed 8-byte (value, index) entries.</summary>
public readonly record struct SpmmSplitTiling(int Threads, int ThreadsPerRow, int ChunkRows, int Layout = 2)
{
    /// <summary>The forward default: 512 threads, 4 per row (128 rows per block), chunks of up to 512 rows of X (64 KiB;
    /// runs 3 and 5), and since v6b the cursor kernel with packed entries (layout 5; layout 2 before). Run 8 (H200, 90%):
    /// 0.067 / 0.069 / 0.078 ms against layout 2's 0.072 / 0.072 / 0.087 on the three bench shapes.</summary>
    public static SpmmSplitTiling For(int inner) => new(512, 4, Math.Min(512, ((inner + 7) / 8) * 8), Layout: 5);

    /// <summary>The transposed default (short CSC rows when W has few rows): 256 threads, 2 per row, layout 5.</summary>
    public static SpmmSplitTiling ForTransposed(int inner) => new(256, 2, Math.Min(256, ((inner + 7) / 8) * 8), Layout: 5);

    /// <summary>Layout 5 reads the packed entries; without them (a <see cref="MaskedCsr"/> built on views of its own)
    /// the default falls back to layout 2.</summary>
    internal SpmmSplitTiling ForEntries(bool hasPacked) => Layout >= 4 && !hasPacked ? this with { Layout = 2 } : this;

    /// <summary>Caps a default at what the device runs: 256 threads (OpenCL drivers may refuse more for this
    /// kernel's registers) and the shared memory per block.</summary>
    internal SpmmSplitTiling FitTo(AcceleratorInfo? info)
    {
        if (info is null || info.Kind == AcceleratorKind.Cuda)
        {
            return this;
        }
        var t = this with { Threads = Math.Min(Threads, 256) };
        int buffers = Layout == 3 ? 2 : 1;
        int chunk = Math.Max(8, Math.Min(t.ChunkRows, (info.MaxSharedMemoryPerBlock / (buffers * RowFloats * sizeof(float))) / 8 * 8));
        return t with { ChunkRows = chunk };
    }

    public int RowsPerBlock => Threads / ThreadsPerRow;

    /// <summary>Floats per staged row of X: 64 (stored twice, layout 1) or 32.</summary>
    public int RowFloats => Layout == 1 ? 64 : 32;

    public int SharedBytes => Math.Max(ChunkRows * RowFloats * (Layout == 3 ? 2 : 1), Threads * 32) * sizeof(float);

    public void Validate()
    {
        if (Threads <= 0 || Threads % 32 != 0 || ThreadsPerRow <= 0 || 32 % ThreadsPerRow != 0 || ChunkRows <= 0
            || Layout is < 1 or > 5 || (Layout >= 2 && Threads > 512) || (Layout == 3 && (ChunkRows * 32) % Threads != 0))
        {
            throw new ArgumentException($"Bad split SpMM tiling {this}: Threads a positive multiple of 32 (at most 512 for layouts 2 and 3), ThreadsPerRow a divisor of 32, ChunkRows positive (ChunkRows * 32 a multiple of Threads for layout 3), Layout 1 to 5.");
        }
    }
}

/// <summary>Tiles of the split-column SDDMM (<see cref="MaskedSparseKernels.SddmmSplit"/>, the default):
/// <see cref="Threads"/> threads per block, <see cref="ThreadsPerColumn"/> threads sharing one column of W
/// (Threads / ThreadsPerColumn columns per block), <see cref="PerThread"/> nonzeros per thread and batch,
/// and the n dimension cut into slices of <see cref="SliceLength"/> (summed with atomic adds).</summary>
public readonly record struct SddmmSplitTiling(int Threads, int ThreadsPerColumn, int PerThread, int SliceLength, int Layout = 2)
{
    /// <summary>Largest dynamic shared memory the split SDDMM asks for; above it the tiled SDDMM is used.</summary>
    public const int MaxSharedBytes = 200 * 1024;

    /// <summary>512 threads, 4 per column, 8 nonzeros per thread (a column of up to 32 nonzeros in one batch; longer
    /// ones take more batches), and enough slices of n for about four blocks per multiprocessor of an H200.
    /// Measured on the H200 (run 4): T = 8 and twice the slices of the first version beat every other variant on
    /// 256x2048x4096 and 512x4096x1024. <paramref name="densityHint"/> only caps T for very short columns.</summary>
    public static SddmmSplitTiling For(int rows, int cols, int n, double densityHint = 1.0, int threads = 512)
    {
        const int sub = 4;
        double perColumn = Math.Max(1.0, rows * Math.Clamp(densityHint, 0.0, 1.0));
        int perThread = (int)Math.Clamp(Math.Ceiling((perColumn + (3 * Math.Sqrt(perColumn))) / sub), 1, 8);
        perThread = perColumn >= 8 ? 8 : perThread;
        int columnBlocks = (cols + (threads / sub) - 1) / (threads / sub);
        int chunks = (n + 31) / 32;
        int slices = Math.Clamp((528 + columnBlocks - 1) / columnBlocks, 1, chunks);
        int sliceLength = ((chunks + slices - 1) / slices) * 32;
        return new SddmmSplitTiling(threads, sub, perThread, sliceLength);
    }

    public int ColumnsPerBlock => Threads / ThreadsPerColumn;

    /// <summary>Layout 2 (<see cref="MaskedSparseKernels.SddmmSplit2"/>): staged rows stored once, at most 512 threads;
    /// layout 1: the v3 kernel (rows stored twice).</summary>
    public int SharedBytes(int rows) => (rows + ColumnsPerBlock) * (Layout == 1 ? 64 : 32) * sizeof(float);

    public void Validate()
    {
        if (Threads <= 0 || Threads % 32 != 0 || ThreadsPerColumn <= 0 || 32 % ThreadsPerColumn != 0 || PerThread <= 0 || SliceLength <= 0 || SliceLength % 32 != 0
            || Layout is < 1 or > 2 || (Layout == 2 && Threads > 512))
        {
            throw new ArgumentException($"Bad split SDDMM tiling {this}: Threads a positive multiple of 32, ThreadsPerColumn a divisor of 32, SliceLength a positive multiple of 32.");
        }
    }
}

/// <summary>
/// Raw ops on masked sparse weights (level 2: views and explicit shapes, no allocation, no host
/// synchronisation, launches only on the given launcher). Semantics: W[Rows, Cols] row-major, an entry
/// is kept where mask != 0 (masked entries of W are ignored, whatever they hold); products in FP32
/// with fused multiply-adds.
/// </summary>
/// <summary>Tiling of the v5 SDDMM (<c>SddmmRows</c>: by CSR rows, dY tile in registers, no atomics): Threads per block,
/// ThreadsPerRow threads sharing a row, ChunkRows rows of X staged per barrier, TilesPerBlock 32-column tiles of n per
/// block (one slice). The workspace holds one partial per slice and nonzero: <see cref="WorkspaceElements"/>.
/// <see cref="Layout"/> 1 is the v5 <c>SddmmRows</c>, 2 the v6 <c>SddmmPipe</c> (cursors kept across chunks, double-buffered
/// chunks loaded one ahead; ChunkRows * 32 a multiple of Threads), 3 the v6b <c>SddmmCursor</c> (v5 with cursors kept across
/// chunks instead of a binary search per chunk); all write the same partials.</summary>
public readonly record struct SddmmRowTiling(int Threads, int ThreadsPerRow, int ChunkRows, int TilesPerBlock, int Layout = 1)
{
    /// <summary>The default: the v5 kernel (layout 1), 512 threads (256 off CUDA, see <see cref="FitTo"/>), 4 per row,
    /// X chunks of 512 rows, and as many tiles per block as keep at least about 256 blocks (and the workspace index under 2^31).</summary>
    public static SddmmRowTiling For(int rows, int inner, int n, int capacity)
    {
        // Run 6 (H200): 4 threads per row and one tile per block when that gives about 256 blocks (shape 256x2048x4096);
        // 8 per row when 4 leave fewer than 256 blocks (512x4096x1024: 0.096 against 0.103 ms); 2 tiles per block when
        // one gives 512 blocks or more (128x1024x16384: 0.084 against 0.095 ms).
        const int threads = 512;
        int tiles = (n + 31) / 32;
        // 8 threads per row measured 7% faster on 512x4096x1024 but gave wrong sums on the H200 (bench check
        // 6e-4..2e-3 after the default changed; correct on the CPU accelerator, cause not found): 4 until it is.
        const int sub = 4;
        int rowBlocks = (rows + (threads / sub) - 1) / (threads / sub);
        int perBlock = Math.Max(1, (tiles * rowBlocks) / 256);
        while ((long)((tiles + perBlock - 1) / perBlock) * capacity > int.MaxValue)
        {
            perBlock++;
        }
        // Layout 1 (v5): the v6b cursor kernel (layout 3) measured 0.084 against v5's 0.081 ms on 256x2048x4096 in run 8
        // (0.087 / 0.086 and 0.101 / 0.105 on the other two shapes), so v5 stays the default.
        return new SddmmRowTiling(threads, sub, Math.Min(512, ((inner + 7) / 8) * 8), perBlock);
    }

    /// <summary>Slices of n (the grid's X extent and the workspace's row count).</summary>
    public int Slices(int n) => (((n + 31) / 32) + TilesPerBlock - 1) / TilesPerBlock;

    /// <summary>Workspace floats: Slices(n) * capacity (the kernel uses the first Slices(n) * nnz).</summary>
    public long WorkspaceElements(int n, int capacity) => (long)Slices(n) * capacity;

    public int RowsPerBlock => Threads / ThreadsPerRow;

    public int SharedBytes => ChunkRows * 32 * sizeof(float) * (Layout == 2 ? 2 : 1);

    public SddmmRowTiling FitTo(AcceleratorInfo? info)
    {
        if (info is null || info.Kind == AcceleratorKind.Cuda)
        {
            return this;
        }
        var t = this with { Threads = Math.Min(Threads, 256) };
        int chunk = Math.Max(8, Math.Min(t.ChunkRows, (info.MaxSharedMemoryPerBlock / (32 * sizeof(float) * (Layout == 2 ? 2 : 1))) / 8 * 8));
        return t with { ChunkRows = chunk };
    }

    public void Validate()
    {
        if (Threads <= 0 || Threads % 32 != 0 || Threads > 512 || ThreadsPerRow <= 0 || 32 % ThreadsPerRow != 0 || ChunkRows <= 0 || TilesPerBlock <= 0
            || Layout is < 1 or > 3 || (Layout == 2 && (ChunkRows * 32) % Threads != 0))
        {
            throw new ArgumentException($"Bad row SDDMM tiling {this}: Threads a positive multiple of 32 (at most 512), ThreadsPerRow a divisor of 32, ChunkRows and TilesPerBlock positive, Layout 1 to 3 (ChunkRows * 32 a multiple of Threads for layout 2).");
        }
    }
}

public static partial class MaskedSparse
{
    private const int Threads = 256;
    private const int MaxGridStrideBlocks = 1024;

    /// <summary>Builds the CSR, its row order and the CSC twin of (weight, mask) on the device (8 launches; 9 with the packed
    /// entries, 11 with the tile bitmaps).
    /// The mask must have at most Shape.Capacity nonzeros.</summary>
    public static void Build(IKernelLauncher launcher, MaskedCsr csr, ReadOnlyView<float> weight, ReadOnlyView<float> mask)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckLength(weight, s.DenseLength, nameof(weight));
        CheckLength(mask, s.DenseLength, nameof(mask));
        var perRow = LaunchConfig.ForElements(s.Rows, 128);
        var perCol = LaunchConfig.ForElements(s.Cols, 128);
        MaskedSparseKernels.LaunchCountRows(launcher, perRow, mask, s.Rows, s.Cols, csr.RowCount);
        MaskedSparseKernels.LaunchCountColumns(launcher, perCol, mask, s.Rows, s.Cols, csr.ColCount);
        var scan = new LaunchConfig(new Dim3(1), new Dim3(MaskedSparseKernels.ScanThreads));
        MaskedSparseKernels.LaunchExclusiveScan(launcher, scan, csr.RowCount, s.Rows, csr.RowPtr);
        MaskedSparseKernels.LaunchExclusiveScan(launcher, scan, csr.ColCount, s.Cols, csr.ColPtr);
        MaskedSparseKernels.LaunchFillRows(launcher, perRow, weight, mask, s.Rows, s.Cols, csr.RowPtr, csr.ColIdx, csr.DenseIndex, csr.Values, s.Capacity);
        MaskedSparseKernels.LaunchFillColumns(launcher, perCol, weight, mask, s.Rows, s.Cols, csr.RowPtr, csr.ColIdx, csr.ColPtr,
            csr.RowIdx, csr.TDenseIndex, csr.TValues, csr.ToCsr, s.Capacity);
        int t = MaskedSparseKernels.OrderThreads;
        MaskedSparseKernels.LaunchOrderByCountDescending(launcher, new LaunchConfig(new Dim3((s.Rows + t - 1) / t), new Dim3(t)), csr.RowCount, s.Rows, csr.RowOrder);
        MaskedSparseKernels.LaunchOrderByCountDescending(launcher, new LaunchConfig(new Dim3((s.Cols + t - 1) / t), new Dim3(t)), csr.ColCount, s.Cols, csr.ColOrder);
        if (csr.HasPacked)
        {
            MaskedSparseKernels.LaunchPackEntries(launcher, GridStride(s.Capacity), csr.RowPtr, s.Rows, csr.ColIdx, csr.Values, csr.Packed,
                csr.RowIdx, csr.TValues, csr.TPacked);
        }
        if (csr.HasTiles)
        {
            MaskedTensorCoreKernels.LaunchBuildTiles(launcher, GridStride(s.TileWords), s.Rows, s.Cols, csr.RowPtr, csr.ColIdx, csr.TileBits, csr.TilePtr);
            MaskedTensorCoreKernels.LaunchBuildTiles(launcher, GridStride(s.TransposedTileWords), s.Cols, s.Rows, csr.ColPtr, csr.RowIdx,
                csr.TTileBits, csr.TTilePtr);
        }
    }

    /// <summary>Re-packs the values (CSR and CSC) from an updated dense weight under the same mask: one gather launch.</summary>
    public static void Repack(IKernelLauncher launcher, MaskedCsr csr, ReadOnlyView<float> weight)
    {
        csr.Validate();
        CheckLength(weight, csr.Shape.DenseLength, nameof(weight));
        if (csr.HasPacked)
        {
            MaskedSparseKernels.LaunchRepackPacked(launcher, GridStride(csr.Shape.Capacity), weight, csr.RowPtr, csr.Shape.Rows,
                csr.DenseIndex, csr.ColIdx, csr.Values, csr.Packed, csr.TDenseIndex, csr.RowIdx, csr.TValues, csr.TPacked);
            return;
        }
        MaskedSparseKernels.LaunchRepack(launcher, GridStride(csr.Shape.Capacity), weight, csr.RowPtr, csr.Shape.Rows,
            csr.DenseIndex, csr.Values, csr.TDenseIndex, csr.TValues);
    }

    /// <summary>dense = W's values (or any per-nonzero array in CSR order, e.g. an SDDMM gradient) at the
    /// nonzeros and exactly 0 elsewhere (two launches).</summary>
    public static void ScatterToDense(IKernelLauncher launcher, MaskedCsr csr, ReadOnlyView<float> values, ArrayView<float> dense)
    {
        csr.Validate();
        CheckLength(values, csr.Shape.Capacity, nameof(values));
        CheckLength(dense, csr.Shape.DenseLength, nameof(dense));
        MaskedSparseKernels.LaunchZeroDense(launcher, GridStride(csr.Shape.DenseLength), dense, csr.Shape.DenseLength);
        MaskedSparseKernels.LaunchScatterToDense(launcher, GridStride(csr.Shape.Capacity), values, csr.RowPtr, csr.Shape.Rows, csr.DenseIndex, dense);
    }

    /// <summary>Y[Rows, n] = W[Rows, Cols] * X[Cols, n] (forward of a sparse layer; row-major, packed).</summary>
    public static void Spmm(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> x, ArrayView<float> y, SpmmTiling? tiling = null)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckN(n);
        CheckLength(x, (long)s.Cols * n, nameof(x));
        CheckLength(y, (long)s.Rows * n, nameof(y));
        if (tiling is { } t)
        {
            Product(launcher, s.Rows, s.Cols, n, csr.RowPtr, csr.ColIdx, csr.Values, csr.RowOrder, x, y, t);
        }
        else
        {
            SplitProduct(launcher, s.Rows, s.Cols, n, csr.RowPtr, csr.ColIdx, csr.Values, csr.Packed, csr.RowOrder, x, y, SpmmSplitTiling.For(s.Cols).FitTo(InfoOf(launcher)).ForEntries(csr.HasPacked));
        }
    }

    /// <summary><see cref="Spmm(IKernelLauncher, MaskedCsr, int, ReadOnlyView{float}, ArrayView{float}, SpmmTiling?)"/> with explicit split-row tiles.</summary>
    public static void Spmm(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> x, ArrayView<float> y, SpmmSplitTiling tiling)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckN(n);
        CheckLength(x, (long)s.Cols * n, nameof(x));
        CheckLength(y, (long)s.Rows * n, nameof(y));
        SplitProduct(launcher, s.Rows, s.Cols, n, csr.RowPtr, csr.ColIdx, csr.Values, csr.Packed, csr.RowOrder, x, y, tiling);
    }

    /// <summary>dX[Cols, n] = W^T * dY[Rows, n] (input gradient), through the CSC twin: no atomics.</summary>
    public static void SpmmTransposed(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ArrayView<float> dx, SpmmTiling? tiling = null)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckN(n);
        CheckLength(dy, (long)s.Rows * n, nameof(dy));
        CheckLength(dx, (long)s.Cols * n, nameof(dx));
        if (tiling is { } t)
        {
            Product(launcher, s.Cols, s.Rows, n, csr.ColPtr, csr.RowIdx, csr.TValues, csr.ColOrder, dy, dx, t);
        }
        else
        {
            SplitProduct(launcher, s.Cols, s.Rows, n, csr.ColPtr, csr.RowIdx, csr.TValues, csr.TPacked, csr.ColOrder, dy, dx, SpmmSplitTiling.ForTransposed(s.Rows).FitTo(InfoOf(launcher)).ForEntries(csr.HasPacked));
        }
    }

    /// <summary><see cref="SpmmTransposed(IKernelLauncher, MaskedCsr, int, ReadOnlyView{float}, ArrayView{float}, SpmmTiling?)"/> with explicit split-row tiles.</summary>
    public static void SpmmTransposed(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ArrayView<float> dx, SpmmSplitTiling tiling)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckN(n);
        CheckLength(dy, (long)s.Rows * n, nameof(dy));
        CheckLength(dx, (long)s.Cols * n, nameof(dx));
        SplitProduct(launcher, s.Cols, s.Rows, n, csr.ColPtr, csr.RowIdx, csr.TValues, csr.TPacked, csr.ColOrder, dy, dx, tiling);
    }

    /// <summary>dW[p] = sum_j dY[i, j] * X[k, j] for each nonzero p = (i, k) of W, in CSR order (weight gradient
    /// restricted to the mask): dY is Rows x n, X is Cols x n. Two launches (zero, then accumulate);
    /// slices of n are summed with atomic adds.</summary>
    public static void Sddmm(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> dw, SddmmTiling? tiling = null)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckN(n);
        CheckLength(dy, (long)s.Rows * n, nameof(dy));
        CheckLength(x, (long)s.Cols * n, nameof(x));
        CheckLength(dw, s.Capacity, nameof(dw));
        if (tiling is null)
        {
            var info = InfoOf(launcher);
            bool cuda = info is null || info.Kind == AcceleratorKind.Cuda;
            var split = SddmmSplitTiling.For(s.Rows, s.Cols, n, 1.0, cuda ? 512 : 256);
            int limit = cuda ? SddmmSplitTiling.MaxSharedBytes : Math.Min(SddmmSplitTiling.MaxSharedBytes, info!.MaxSharedMemoryPerBlock);
            if (split.SharedBytes(s.Rows) <= limit)
            {
                SplitSddmm(launcher, csr, n, dy, x, dw, split);
                return;
            }
        }
        var t = tiling ?? SddmmTiling.For(s.Rows, s.Cols, n);
        if (t.ColumnsPerBlock <= 0 || t.SliceLength <= 0 || t.Threads <= 0 || t.PerThread <= 0 || t.ChunkColumns <= 0)
        {
            throw new ArgumentException($"Bad SDDMM tiling {t}.", nameof(tiling));
        }
        MaskedSparseKernels.LaunchZeroValues(launcher, GridStride(s.Capacity), csr.RowPtr, s.Rows, dw);
        var config = new LaunchConfig(new Dim3((s.Cols + t.ColumnsPerBlock - 1) / t.ColumnsPerBlock, (n + t.SliceLength - 1) / t.SliceLength),
            new Dim3(t.Threads), t.SharedBytes(s.Rows));
        if (t.PerThread == 4)
        {
            MaskedSparseKernels.LaunchSddmm4(launcher, config, s.Rows, s.Cols, n, csr.ColPtr, csr.RowIdx, csr.ToCsr, dy, x,
                t.ColumnsPerBlock, t.SliceLength, dw, t.Threads, t.ChunkColumns);
        }
        else
        {
            MaskedSparseKernels.LaunchSddmm(launcher, config, s.Rows, s.Cols, n, csr.ColPtr, csr.RowIdx, csr.ToCsr, dy, x,
                t.ColumnsPerBlock, t.SliceLength, dw, t.Threads, t.PerThread, t.ChunkColumns);
        }
    }

    /// <summary><see cref="Sddmm(IKernelLauncher, MaskedCsr, int, ReadOnlyView{float}, ReadOnlyView{float}, ArrayView{float}, SddmmTiling?)"/>
    /// with explicit split-column tiles (dynamic shared memory (Rows + Threads / ThreadsPerColumn) * 256 bytes).</summary>
    public static void Sddmm(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> dw, SddmmSplitTiling tiling)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckN(n);
        CheckLength(dy, (long)s.Rows * n, nameof(dy));
        CheckLength(x, (long)s.Cols * n, nameof(x));
        CheckLength(dw, s.Capacity, nameof(dw));
        SplitSddmm(launcher, csr, n, dy, x, dw, tiling);
    }

    /// <summary>Floats of workspace that <see cref="Sddmm(IKernelLauncher, MaskedCsr, int, ReadOnlyView{float}, ReadOnlyView{float}, ArrayView{float}, ArrayView{float}, SddmmRowTiling?)"/>
    /// needs for this shape and n (with the default tiling when none is given; the tiling is fitted to the accelerator).</summary>
    public static long SddmmWorkspaceElements(Accelerator accelerator, MaskedWeightShape shape, int n, SddmmRowTiling? tiling = null)
    {
        CheckN(n);
        var t = tiling ?? SddmmRowTiling.For(shape.Rows, shape.Cols, n, shape.Capacity).FitTo(accelerator.Info);
        return t.WorkspaceElements(n, shape.Capacity);
    }

    /// <summary>dW at the mask in CSR order, deterministic (v5): per slice of n, partials per nonzero into
    /// <paramref name="workspace"/> (at least <see cref="SddmmWorkspaceElements"/> floats), then an in-order sum. dw needs no zeroing.</summary>
    public static void Sddmm(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> dw,
        ArrayView<float> workspace, SddmmRowTiling? tiling = null)
    {
        csr.Validate();
        var s = csr.Shape;
        CheckN(n);
        CheckLength(dy, (long)s.Rows * n, nameof(dy));
        CheckLength(x, (long)s.Cols * n, nameof(x));
        CheckLength(dw, s.Capacity, nameof(dw));
        var t = tiling ?? SddmmRowTiling.For(s.Rows, s.Cols, n, s.Capacity).FitTo(InfoOf(launcher));
        t.Validate();
        int slices = t.Slices(n);
        long needed = t.WorkspaceElements(n, s.Capacity);
        if (needed > int.MaxValue)
        {
            throw new ArgumentException($"The SDDMM workspace would need {needed} floats (over 2^31 - 1); use more tiles per block.", nameof(tiling));
        }
        CheckLength(workspace, needed, nameof(workspace));
        var config = new LaunchConfig(new Dim3(slices, (s.Rows + t.RowsPerBlock - 1) / t.RowsPerBlock), new Dim3(t.Threads), t.SharedBytes);
        if (t.Layout == 3)
        {
            MaskedSparseKernels.LaunchSddmmCursor(launcher, config, s.Rows, s.Cols, n, csr.RowPtr, csr.ColIdx, csr.RowOrder, dy, x, workspace,
                t.Threads, t.ThreadsPerRow, t.ChunkRows, t.TilesPerBlock);
        }
        else if (t.Layout == 2)
        {
            MaskedSparseKernels.LaunchSddmmPipe(launcher, config, s.Rows, s.Cols, n, csr.RowPtr, csr.ColIdx, csr.RowOrder, dy, x, workspace,
                t.Threads, t.ThreadsPerRow, t.ChunkRows, t.TilesPerBlock);
        }
        else
        {
            MaskedSparseKernels.LaunchSddmmRows(launcher, config, s.Rows, s.Cols, n, csr.RowPtr, csr.ColIdx, csr.RowOrder, dy, x, workspace,
                t.Threads, t.ThreadsPerRow, t.ChunkRows, t.TilesPerBlock);
        }
        MaskedSparseKernels.LaunchSumSlices(launcher, GridStride(s.Capacity), csr.RowPtr, s.Rows, workspace, slices, dw);
    }

    private static void SplitSddmm(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> dw, SddmmSplitTiling t)
    {
        t.Validate();
        var s = csr.Shape;
        MaskedSparseKernels.LaunchZeroValues(launcher, GridStride(s.Capacity), csr.RowPtr, s.Rows, dw);
        var config = new LaunchConfig(new Dim3((s.Cols + t.ColumnsPerBlock - 1) / t.ColumnsPerBlock, (n + t.SliceLength - 1) / t.SliceLength),
            new Dim3(t.Threads), t.SharedBytes(s.Rows));
        if (t.Layout == 2)
        {
            MaskedSparseKernels.LaunchSddmmSplit2(launcher, config, s.Rows, s.Cols, n, csr.ColPtr, csr.RowIdx, csr.ToCsr, csr.ColOrder, dy, x,
                t.SliceLength, dw, t.Threads, t.ThreadsPerColumn, t.PerThread);
            return;
        }
        MaskedSparseKernels.LaunchSddmmSplit(launcher, config, s.Rows, s.Cols, n, csr.ColPtr, csr.RowIdx, csr.ToCsr, csr.ColOrder, dy, x,
            t.SliceLength, dw, t.Threads, t.ThreadsPerColumn, t.PerThread);
    }

    private static void SplitProduct(IKernelLauncher launcher, int rows, int inner, int n, ReadOnlyView<int> ptr, ReadOnlyView<int> idx,
        ReadOnlyView<float> values, ReadOnlyView<ulong> packed, ReadOnlyView<int> order, ReadOnlyView<float> x, ArrayView<float> y, SpmmSplitTiling t)
    {
        t.Validate();
        var config = new LaunchConfig(new Dim3((n + 31) / 32, (rows + t.RowsPerBlock - 1) / t.RowsPerBlock), new Dim3(t.Threads), t.SharedBytes);
        if (t.Layout == 2)
        {
            MaskedSparseKernels.LaunchSpmmSplit2(launcher, config, rows, inner, n, ptr, idx, values, order, x, y, t.Threads, t.ThreadsPerRow, t.ChunkRows);
            return;
        }
        if (t.Layout == 3)
        {
            MaskedSparseKernels.LaunchSpmmPipe(launcher, config, rows, inner, n, ptr, idx, values, order, x, y, t.Threads, t.ThreadsPerRow, t.ChunkRows);
            return;
        }
        if (t.Layout >= 4)
        {
            if (packed.Length < idx.Length)
            {
                throw new ArgumentException("SpMM layouts 4 and 5 need the packed entries (MaskedCsr.Packed / TPacked, as MaskedCsrStorage allocates them).");
            }
            MaskedSparseKernels.LaunchSpmmCursor(launcher, config, rows, inner, n, ptr, idx, values, packed, order, x, y,
                t.Threads, t.ThreadsPerRow, t.ChunkRows, t.Layout == 5 ? 1 : 0);
            return;
        }
        MaskedSparseKernels.LaunchSpmmSplit(launcher, config, rows, inner, n, ptr, idx, values, order, x, y, t.Threads, t.ThreadsPerRow, t.ChunkRows);
    }

    private static void Product(IKernelLauncher launcher, int rows, int inner, int n, ReadOnlyView<int> ptr, ReadOnlyView<int> idx,
        ReadOnlyView<float> values, ReadOnlyView<int> order, ReadOnlyView<float> x, ArrayView<float> y, SpmmTiling t)
    {
        t.Validate();
        var config = new LaunchConfig(new Dim3((n + t.ColumnsPerBlock - 1) / t.ColumnsPerBlock, (rows + t.RowsPerBlock - 1) / t.RowsPerBlock),
            new Dim3(32 * t.Warps));
        if (t.RowsPerWarp == 4 && t.ColumnsPerLane == 4)
        {
            MaskedSparseKernels.LaunchSpmm4x4(launcher, config, rows, inner, n, ptr, idx, values, order, x, y, t.Warps, t.ChunkRows);
        }
        else
        {
            MaskedSparseKernels.LaunchSpmm(launcher, config, rows, inner, n, ptr, idx, values, order, x, y,
                t.Warps, t.RowsPerWarp, t.ColumnsPerLane, t.ChunkRows);
        }
    }

    /// <summary>The device behind a launcher (an accelerator or one of its streams), or null for other launchers.</summary>
    private static AcceleratorInfo? InfoOf(IKernelLauncher launcher) => launcher switch
    {
        Accelerator a => a.Info,
        AcceleratorStream stream => stream.Accelerator.Info,
        _ => null,
    };

    private static LaunchConfig GridStride(long elements)
    {
        long blocks = Math.Clamp((elements + Threads - 1) / Threads, 1, MaxGridStrideBlocks);
        return new LaunchConfig(new Dim3((int)blocks), new Dim3(Threads));
    }

    private static void CheckN(int n)
    {
        if (n <= 0) throw new ArgumentException($"n must be positive, was {n}.", nameof(n));
    }

    private static void CheckLength<T>(ReadOnlyView<T> view, long needed, string name) where T : unmanaged
    {
        if (view.Length < needed) throw new ArgumentException($"{name} has {view.Length} elements, the shape needs {needed}.", name);
    }

    private static void CheckLength<T>(ArrayView<T> view, long needed, string name) where T : unmanaged
    {
        if (view.Length < needed) throw new ArgumentException($"{name} has {view.Length} elements, the shape needs {needed}.", name);
    }
}
