namespace GanEngine.Kernels.Sparse;

/// <summary>
/// The masked sparse products on warpgroup tensor cores (TF32 <c>wgmma</c>, sm_90a): "load as sparse, compute as dense".
/// </summary>
/// <remarks>
/// <para><b>Why dense tiles</b>: at the sparsities a pruned GAN layer has (70-95%, unstructured), no tensor-core tile is
/// empty (a 16 x 8 tile of a 90% mask is all zero with probability 0.9^128, about 1e-6), and the scalar kernels of
/// <see cref="MaskedSparseKernels"/> are bound by one shared-memory load per multiply-add (docs/benchmarks-notes-sparse.md).
/// So the sparse operand is expanded into dense 32-wide K tiles in shared memory, and the tensor cores, at about 8x the
/// FP32 rate, multiply them. What stays sparse is the memory: W is read from its compressed form and never stored dense,
/// and the weight gradient is written only at the mask.</para>
/// <para><b>Tile bitmap</b> (built by <see cref="BuildTiles"/> from a CSR, or from the CSC twin for W^T): for row r of the
/// sparse matrix and 32-column word w, <c>bits[w * rows + r]</c> has bit j set where column 32 w + j is kept, and
/// <c>tilePtr[w * rows + r]</c> is the CSR position of the word's first entry. Entry j's position is then
/// <c>tilePtr + popc(bits &amp; (2^j - 1))</c>: a K tile of a row is expanded without a search, and the SDDMM's tile knows
/// where each kept product goes. Word-major order makes a warp's reads of one word of 32 rows coalesced.</para>
/// <para><b>Kernel</b> (<see cref="MaskedWg"/>): the 256 x 128 tile of the warpgroup convolution (two warpgroups, each two
/// m64n128k8 halves), K tiles of 32 in a four-stage ring, issued two tiles ahead, one barrier per tile. MODE 0 (SpMM and
/// its transpose): A = the sparse matrix, thread t expanding row t of the tile from the bitmap into registers ALEAD tiles
/// ahead (truncated to tf32 by the tensor cores, as the copied operands); B = the dense operand stored [reduction][columns],
/// so each K tile is transposed into the K-major layout by 4-byte copies. MODE 1 (SDDMM): A = dY rows and B = X rows, both
/// K-major in memory, by 16-byte copies (the reduction length a multiple of 4); the epilogue keeps only the products at the
/// mask.
/// Grid z splits the reduction (ranges a multiple of 32): each split writes its own plane (MODE 0: rows x columns; MODE 1:
/// nnz partials in CSR order), summed in order by <see cref="SumPlanes"/> or <see cref="MaskedSparseKernels.SumSlices"/>.
/// Deterministic, no atomics.</para>
/// </remarks>
public static partial class MaskedTensorCoreKernels
{
    /// <summary>Rows (M) of a block's tile.</summary>
    public const int TileRows = 256;

    /// <summary>Columns (N) of a block's tile.</summary>
    public const int TileColumns = 128;

    /// <summary>K tile: one 128-byte swizzled row of the operands.</summary>
    public const int TileK = 32;

    /// <summary>Threads per block (two warpgroups).</summary>
    public const int Threads = 256;

    private const int Stages = 4;
    private const int StageFloats = (TileRows + TileColumns) * TileK;
    private const int Atom = 8 * TileK;              // one swizzle atom: 8 rows x 32 floats (1 KiB)
    private const int EpilogueStride = TileColumns + 4;

    /// <summary>Dynamic shared bytes of <see cref="MaskedWg"/>: the ring, or the epilogue tile if larger, plus 1 KiB for the
    /// alignment of the swizzle atoms.</summary>
    public static int SharedBytes => (Math.Max(Stages * StageFloats, TileRows * EpilogueStride) * sizeof(float)) + 1024;

    /// <summary>One block per 256 x 128 output tile and split: grid (ceil(columns / 128), ceil(rows / 256), splits).</summary>
    public static LaunchConfig ConfigFor(int rowsOut, int colsOut, int splits) =>
        new(new Dim3((colsOut + TileColumns - 1) / TileColumns, (rowsOut + TileRows - 1) / TileRows, splits), new Dim3(Threads), SharedBytes);

    /// <summary>The tile bitmap of a compressed matrix (see the remarks): for e = w * rows + r, <c>bits[e]</c> and
    /// <c>tilePtr[e]</c> from row r's entries <c>idx[ptr[r] .. ptr[r + 1])</c> (columns ascending). One thread per (word, row),
    /// a binary search for the word's first entry; grid-stride.</summary>
    [Kernel]
    public static void BuildTiles(int rows, int cols, ReadOnlyView<int> ptr, ReadOnlyView<int> idx, ArrayView<int> bits, ArrayView<int> tilePtr)
    {
        int words = (cols + 31) / 32;
        int stride = GridDim.X * BlockDim.X;
        for (int e = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; e < words * rows; e += stride)
        {
            int word = e / rows;
            int r = e - (word * rows);
            int first = word * 32;
            int lo = ptr[r];
            int hi = ptr[r + 1];
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (idx[mid] < first)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            int end = ptr[r + 1];
            int word32 = 0;
            for (int p = lo; p < end && idx[p] < first + 32; p++)
            {
                word32 |= 1 << (idx[p] - first);
            }
            bits[e] = word32;
            tilePtr[e] = lo;
        }
    }

    /// <summary>output[i] = sum over s &lt; planes, in order, of planes[s * length + i] (the split reduction of
    /// <see cref="MaskedWg"/>'s MODE 0; grid-stride).</summary>
    [Kernel]
    public static void SumPlanes(ReadOnlyView<float> planes, int length, int count, ArrayView<float> output)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < length; i += stride)
        {
            float sum = 0f;
            for (int s = 0; s < count; s++)
            {
                sum += planes[(s * length) + i];
            }
            output[i] = sum;
        }
    }

    /// <summary>The masked products on <c>wgmma</c> (see the remarks). Output tile rows are <paramref name="rowsOut"/>, columns
    /// <paramref name="colsOut"/>, the reduction <paramref name="reduction"/> long, split into ranges of
    /// <paramref name="kSplit"/> (a multiple of 32) by grid z.
    /// MODE 0: output[z rowsOut colsOut + r colsOut + c] = sum_k S[r, k] dense[k colsOut + c], S given by
    /// (<paramref name="bits"/>, <paramref name="tilePtr"/>, <paramref name="values"/>) over rowsOut rows; <paramref name="ptr"/>
    /// and <paramref name="rowsDense"/> unused.
    /// MODE 1: for each kept (r, c) of the bitmap over rowsOut rows and colsOut columns, output[z nnz + position] =
    /// sum_k rowsDense[r reduction + k] dense[c reduction + k], nnz = ptr[rowsOut]; <paramref name="values"/> unused.
    /// ALEAD: MODE 0's expansion lead, 2 or 3 K tiles (see the loop); MODE 1 ignores it.</summary>
    [Kernel]
    [LaunchBounds(256, 1)]
    public static void MaskedWg(
        int rowsOut, int colsOut, int reduction, int kSplit,
        ReadOnlyView<int> bits, ReadOnlyView<int> tilePtr, ReadOnlyView<int> ptr, ReadOnlyView<float> values,
        ReadOnlyView<float> rowsDense, ReadOnlyView<float> dense, ArrayView<float> output,
        [Specialization] int MODE, [Specialization] int ALEAD)
    {
        var smem = Shared.Dynamic<float>();
        int origin = Wgmma.AlignedBase(smem);
        Span<float> acc = stackalloc float[128];
        Span<float> nextA = stackalloc float[32];

        int tid = ThreadIdx.X;
        int lane = tid & 31;
        int warp = tid >> 5;
        int wg = tid >> 7;
        int rowStart = BlockIdx.Y * TileRows;
        int columnStart = BlockIdx.X * TileColumns;
        int z = BlockIdx.Z;
        int kBegin = z * kSplit;
        int kEnd = KMath.Min(reduction, kBegin + kSplit);
        int tiles = (kEnd - kBegin + TileK - 1) / TileK;
        int wordBegin = kBegin / TileK;

        // MODE 0, A: thread t expands row t of the tile; its 32 values go to one swizzled 128-byte row.
        int rowA = rowStart + tid;
        bool rowOk = rowA < rowsOut;
        int storeA = origin + ((tid >> 3) * Atom) + ((tid & 7) * 32);
        int swA = tid & 7;
        // The next word's bits and position, read one tile before they are expanded.
        int bitsNext = 0;
        int baseNext = 0;

        // MODE 0, B: element i of a thread is column 16 warp + lane / 4 + 8 (i / 8), k = 4 (i % 8) + lane % 4 of the tile: a
        // warp's copies read 4 runs of 8 floats and fill 32 distinct banks of the swizzled tile.
        int kq = lane & 3;
        int col0 = columnStart + (16 * warp) + (lane >> 2);
        bool colOk0 = col0 < colsOut;
        bool colOk1 = col0 + 8 < colsOut;
        int storeB = origin + (TileRows * TileK) + (warp * 2 * Atom) + ((lane >> 2) * 32) + kq;
        int swB = lane >> 2;

        // MODE 1: 16-byte copies, thread t taking chunk t % 8 (4 consecutive k) of rows t / 8 + 32 j: a warp reads 4 whole
        // 128-byte row runs and writes 4 swizzled rows.
        int chunk = tid & 7;
        int rowV = tid >> 3;
        int storeV = origin + ((tid >> 6) * Atom) + (((tid >> 3) & 7) * 32) + ((chunk ^ ((tid >> 3) & 7)) * 4);

        for (int i = 0; i < 128; i++)
        {
            acc[i] = 0f;
        }
        if (MODE == 0 && tiles > 0 && rowOk)
        {
            bitsNext = bits[(wordBegin * rowsOut) + rowA];
            baseNext = tilePtr[(wordBegin * rowsOut) + rowA];
        }

        // Iteration v waits for tile v (its copies landed, its expanded A stored), copies tile v + 2 into the stage that tile
        // v - 2 used (retired by every warpgroup before this barrier) and runs tile v's wgmma. MODE 0 expands tile v + ALEAD
        // into registers: ALEAD 2 stores it in the same iteration, after the wgmma issue (the loads' latency overlaps the
        // tensor cores); ALEAD 3 stores it at the top of the next iteration (a whole iteration of latency hidden).
        int lead = MODE == 0 ? ALEAD : 2;
        for (int v = -lead; v < tiles; v++)
        {
            int stage = ((v + Stages) % Stages) * StageFloats;
            if (v >= 0)
            {
                AsyncCopy.Wait(1);
                Wgmma.SharedFence();
                Group.Barrier();
            }
            int ring = ((v + 2 + Stages) % Stages) * StageFloats;
            if (MODE == 0 && ALEAD == 3 && v >= -2 && v + 2 < tiles)
            {
                for (int j = 0; j < 32; j++)
                {
                    smem[ring + storeA + (((j >> 2) ^ swA) * 4) + (j & 3)] = nextA[j];
                }
            }
            int tA = v + lead;
            if (MODE == 0 && tA < tiles)
            {
                int word = bitsNext;
                int at = baseNext;
                // Column j's value is at `at` plus the set bits below j: one popcount per 4 columns, then a running sum
                // (8 independent chains of 4, few instructions per column: the kernel is issue-bound at 2 warps per scheduler).
                for (int c = 0; c < 8; c++)
                {
                    int rank = at + KMath.PopCount((uint)word & ((1u << (4 * c)) - 1u));
                    for (int e = 0; e < 4; e++)
                    {
                        int bit = (word >> ((4 * c) + e)) & 1;
                        nextA[(4 * c) + e] = bit != 0 ? values[rank] : 0f;
                        rank += bit;
                    }
                }
                bitsNext = 0;
                if (tA + 1 < tiles && rowOk)
                {
                    bitsNext = bits[((wordBegin + tA + 1) * rowsOut) + rowA];
                    baseNext = tilePtr[((wordBegin + tA + 1) * rowsOut) + rowA];
                }
            }
            bool issue = v + 2 >= 0 && v + 2 < tiles;
            int k0 = kBegin + ((v + 2) * TileK);
            if (issue)
            {
                if (MODE == 0)
                {
                    int src = ((k0 + kq) * colsOut) + col0;
                    for (int i = 0; i < 16; i++)
                    {
                        int kk = k0 + (4 * (i & 7)) + kq;
                        bool ok = kk < kEnd && ((i >> 3) == 0 ? colOk0 : colOk1);
                        AsyncCopy.Float(smem, ring + storeB + ((i >> 3) * Atom) + (((i & 7) ^ swB) * 4), dense, src, (4 * (i & 7) * colsOut) + (8 * (i >> 3)), ok);
                    }
                }
                else
                {
                    bool kOk = k0 + (4 * chunk) < kEnd;
                    int srcA = ((rowStart + rowV) * reduction) + k0 + (4 * chunk);
                    for (int j = 0; j < 8; j++)
                    {
                        AsyncCopy.Float4(smem, ring + storeV + (j * 4 * Atom), rowsDense, srcA, j * 32 * reduction, kOk && rowStart + rowV + (32 * j) < rowsOut);
                    }
                    int srcB = ((columnStart + rowV) * reduction) + k0 + (4 * chunk);
                    for (int j = 0; j < 4; j++)
                    {
                        AsyncCopy.Float4(smem, ring + storeV + (TileRows * TileK) + (j * 4 * Atom), dense, srcB, j * 32 * reduction, kOk && columnStart + rowV + (32 * j) < colsOut);
                    }
                }
            }
            AsyncCopy.Commit();
            if (v >= 0)
            {
                int aTile = origin + stage + (wg * 16 * Atom);
                int bTile = origin + stage + (TileRows * TileK);
                Wgmma.Fence();
                for (int s = 0; s < TileK / 8; s++)
                {
                    Wgmma.Tf32M64N128K8(acc, 0, smem, aTile + (s * 8), bTile + (s * 8), Atom, 1);
                    Wgmma.Tf32M64N128K8(acc, 64, smem, aTile + (8 * Atom) + (s * 8), bTile + (s * 8), Atom, 1);
                }
                Wgmma.Commit();
            }
            if (MODE == 0 && ALEAD == 2 && issue)
            {
                for (int j = 0; j < 32; j++)
                {
                    smem[ring + storeA + (((j >> 2) ^ swA) * 4) + (j & 3)] = nextA[j];
                }
            }
            if (v >= 0)
            {
                Wgmma.Wait(1);
            }
        }
        AsyncCopy.Wait(0);
        Wgmma.Wait(0);
        Group.Barrier();

        // Epilogue through shared memory, tile [row][column]: accumulator (half, j, e) of thread t is row
        // 128 wg + 64 half + 16 (warp % 4) + lane / 4 + 8 (e / 2), column 8 j + 2 (lane % 4) + e % 2.
        int outBase = (((wg * 128) + ((warp & 3) * 16) + (lane >> 2)) * EpilogueStride) + (2 * kq);
        for (int half = 0; half < 2; half++)
        {
            for (int j = 0; j < 16; j++)
            {
                for (int e = 0; e < 4; e++)
                {
                    smem[outBase + ((((half * 64) + ((e >> 1) * 8)) * EpilogueStride) + (8 * j) + (e & 1))] = acc[(half * 64) + (4 * j) + e];
                }
            }
        }
        Group.Barrier();
        if (MODE == 0)
        {
            int plane = z * rowsOut * colsOut;
            for (int e = tid; e < TileRows * TileColumns; e += Threads)
            {
                int r = e >> 7;
                int c = e & (TileColumns - 1);
                if (rowStart + r < rowsOut && columnStart + c < colsOut)
                {
                    output[plane + ((rowStart + r) * colsOut) + columnStart + c] = smem[(r * EpilogueStride) + c];
                }
            }
        }
        else
        {
            // One (row, 32-column word) per thread and pass: its kept products go to consecutive positions.
            int plane = z * ptr[rowsOut];
            for (int p = tid; p < TileRows * (TileColumns / 32); p += Threads)
            {
                int r = p >> 2;
                int w = p & 3;
                int word = (columnStart >> 5) + w;
                if (rowStart + r < rowsOut && word * 32 < colsOut)
                {
                    int set = bits[(word * rowsOut) + rowStart + r];
                    int at = plane + tilePtr[(word * rowsOut) + rowStart + r];
                    for (int j = 0; j < 32; j++)
                    {
                        if (((set >> j) & 1) != 0)
                        {
                            output[at] = smem[(r * EpilogueStride) + (w * 32) + j];
                            at++;
                        }
                    }
                }
            }
        }
    }
}
