namespace GanEngine.Kernels.Sparse;

/// <summary>
/// Masked sparse weights (unstructured sparsity, e.g. STU-GAN's pruned conv weights) as CSR with a
/// CSC twin, built on the device from a dense weight and a mask, and the three products of a
/// sparse layer: SpMM (forward), transposed SpMM (input gradient) and SDDMM (weight gradient at the
/// mask's nonzeros only).
/// </summary>
/// <remarks>
/// <para><b>Format</b> (W is rows x cols, row-major; an entry is kept where mask != 0):
/// CSR <c>rowPtr[rows+1], colIdx[nnz], values[nnz], denseIndex[nnz]</c> (columns ascending within a row;
/// <c>denseIndex[p] = row * cols + col</c>, so re-packing an updated dense W is a gather);
/// <c>rowOrder[rows]</c>: rows by length, longest first, ties by index (Sputnik's row swizzle);
/// CSC (= CSR of W^T) <c>colPtr[cols+1], rowIdx[nnz], tValues[nnz], tDenseIndex[nnz], toCsr[nnz]</c>
/// (<c>toCsr[q]</c> = the CSR position of CSC entry q) and <c>colOrder[cols]</c>.</para>
/// <para><b>Build</b> (no host round trip, 6 launches): <see cref="CountRows"/>, <see cref="CountColumns"/>,
/// <see cref="ExclusiveScan"/> twice, <see cref="FillRows"/>, <see cref="FillColumns"/>,
/// <see cref="OrderByCountDescending"/> twice (a rank sort: each element counts the longer ones and
/// the equal ones before it; O(n^2) compares through shared tiles, deterministic, cheap for the
/// channel counts of conv layers). The fill kernels run one thread per row / column: the build is
/// done once per mask change (every few hundred steps in STU-GAN), not per step.</para>
/// <para><b>SpMM</b> (<see cref="Spmm"/>): Y[rows, n] = W * X[cols, n]. A block owns WARPS * RW
/// swizzled rows and BN = 32 * TN columns of Y; X is streamed through shared memory in chunks of
/// BK x BN (the dense operand is read once per block, not once per nonzero), prefetched into
/// registers one chunk ahead. Each warp walks its RW rows' nonzeros that fall into the chunk (a
/// cursor per row, columns ascending); per nonzero every lane does TN FMAs with conflict-free shared
/// reads (lane + 32 t). The transposed product runs the same kernel on the CSC twin.</para>
/// <para><b>SDDMM</b> (<see cref="Sddmm"/>): dW[i, j] = sum_n dY[i, n] * X[j, n] at the nonzeros,
/// written in CSR order. Works on the CSC twin: a block owns a run of columns j (RK of them) and a
/// slice of n; per chunk of BC columns of n it stages dY[all rows, chunk] (row stride BC + 1: no bank
/// conflicts between lanes on different rows) and X[its RK rows, chunk] in shared memory; each
/// thread owns T nonzeros of the block's contiguous CSC range and accumulates its dot products.
/// Slices of n are summed with atomic adds (the output is zeroed first), so the summation order is
/// not fixed when the grid has more than one slice.</para>
/// </remarks>
public static partial class MaskedSparseKernels
{
    // ---- build -------------------------------------------------------------------------------

    /// <summary>rowCount[i] = number of j with mask[i, j] != 0 (one thread per row).</summary>
    [Kernel]
    public static void CountRows(ReadOnlyView<float> mask, int rows, int cols, ArrayView<int> rowCount)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < rows)
        {
            int count = 0;
            for (int j = 0; j < cols; j++)
            {
                if (mask[(i * cols) + j] != 0f)
                {
                    count++;
                }
            }
            rowCount[i] = count;
        }
    }

    /// <summary>colCount[j] = number of i with mask[i, j] != 0 (one thread per column: coalesced).</summary>
    [Kernel]
    public static void CountColumns(ReadOnlyView<float> mask, int rows, int cols, ArrayView<int> colCount)
    {
        int j = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (j < cols)
        {
            int count = 0;
            for (int i = 0; i < rows; i++)
            {
                if (mask[(i * cols) + j] != 0f)
                {
                    count++;
                }
            }
            colCount[j] = count;
        }
    }

    /// <summary>offsets[k] = sum of counts[0..k), offsets[n] = total. One block of
    /// <see cref="ScanThreads"/> threads: each sums a contiguous segment, a Hillis-Steele scan over
    /// the segment sums in shared memory, then each writes its segment's offsets.</summary>
    [Kernel]
    public static void ExclusiveScan(ReadOnlyView<int> counts, int n, ArrayView<int> offsets)
    {
        var partial = Shared.Allocate<int>(ScanThreads);
        int t = ThreadIdx.X;
        int per = (n + ScanThreads - 1) / ScanThreads;
        int begin = KMath.Min(t * per, n);
        int end = KMath.Min(begin + per, n);
        int sum = 0;
        for (int k = begin; k < end; k++)
        {
            sum += counts[k];
        }
        partial[t] = sum;
        Group.Barrier();
        for (int d = 1; d < ScanThreads; d *= 2)
        {
            int v = partial[t];
            if (t >= d)
            {
                v += partial[t - d];
            }
            Group.Barrier();
            partial[t] = v;
            Group.Barrier();
        }
        int run = partial[t] - sum;
        for (int k = begin; k < end; k++)
        {
            offsets[k] = run;
            run += counts[k];
        }
        if (t == ScanThreads - 1)
        {
            offsets[n] = partial[t];
        }
    }

    /// <summary>Threads of <see cref="ExclusiveScan"/> (one block).</summary>
    public const int ScanThreads = 256;

    /// <summary>Threads per block of <see cref="OrderByCountDescending"/>.</summary>
    public const int OrderThreads = 256;

    /// <summary>order[rank] = i where rank = #{k : counts[k] &gt; counts[i] or (counts[k] == counts[i] and k &lt; i)}:
    /// indices by count, largest first, stable.</summary>
    [Kernel]
    public static void OrderByCountDescending(ReadOnlyView<int> counts, int n, ArrayView<int> order)
    {
        var tile = Shared.Allocate<int>(OrderThreads);
        int i = (BlockIdx.X * OrderThreads) + ThreadIdx.X;
        int mine = i < n ? counts[i] : 0;
        int rank = 0;
        for (int start = 0; start < n; start += OrderThreads)
        {
            int k = start + ThreadIdx.X;
            tile[ThreadIdx.X] = k < n ? counts[k] : -1;
            Group.Barrier();
            int limit = KMath.Min(OrderThreads, n - start);
            for (int t = 0; t < limit; t++)
            {
                int c = tile[t];
                if (c > mine || (c == mine && start + t < i))
                {
                    rank++;
                }
            }
            Group.Barrier();
        }
        if (i < n)
        {
            order[rank] = i;
        }
    }

    /// <summary>CSR fill, one thread per row: columns ascending, values from the dense weight.
    /// Writes at positions &gt;= capacity are dropped.</summary>
    [Kernel]
    public static void FillRows(
        ReadOnlyView<float> weight, ReadOnlyView<float> mask, int rows, int cols, ReadOnlyView<int> rowPtr,
        ArrayView<int> colIdx, ArrayView<int> denseIndex, ArrayView<float> values, int capacity)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < rows)
        {
            int p = rowPtr[i];
            for (int j = 0; j < cols; j++)
            {
                int d = (i * cols) + j;
                if (mask[d] != 0f)
                {
                    if (p < capacity)
                    {
                        colIdx[p] = j;
                        denseIndex[p] = d;
                        values[p] = weight[d];
                    }
                    p++;
                }
            }
        }
    }

    /// <summary>CSC fill, one thread per column (coalesced over columns): rows ascending, values,
    /// dense indices and the CSR position of each entry (binary search in the row's CSR columns,
    /// so <see cref="FillRows"/> must have run).</summary>
    [Kernel]
    public static void FillColumns(
        ReadOnlyView<float> weight, ReadOnlyView<float> mask, int rows, int cols,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<int> colPtr,
        ArrayView<int> rowIdx, ArrayView<int> tDenseIndex, ArrayView<float> tValues, ArrayView<int> toCsr, int capacity)
    {
        int j = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (j < cols)
        {
            int q = colPtr[j];
            for (int i = 0; i < rows; i++)
            {
                int d = (i * cols) + j;
                if (mask[d] != 0f)
                {
                    if (q < capacity)
                    {
                        rowIdx[q] = i;
                        tDenseIndex[q] = d;
                        tValues[q] = weight[d];
                        toCsr[q] = LowerBound(colIdx, rowPtr[i], rowPtr[i + 1], j);
                    }
                    q++;
                }
            }
        }
    }

    /// <summary>The first position p in [lo, hi) with a[p] &gt;= key (hi if none).</summary>
    private static int LowerBound(ReadOnlyView<int> a, int lo, int hi, int key)
    {
        int l = lo;
        int h = hi;
        while (l < h)
        {
            int mid = l + ((h - l) / 2);
            if (a[mid] < key)
            {
                l = mid + 1;
            }
            else
            {
                h = mid;
            }
        }
        return l;
    }

    /// <summary>The last position p in [lo, hi) with a[p] &lt;= key (a ascending, a[lo] &lt;= key).</summary>
    private static int LastAtMost(ReadOnlyView<int> a, int lo, int hi, int key)
    {
        int l = lo;
        int h = hi;
        while (h - l > 1)
        {
            int mid = l + ((h - l) / 2);
            if (a[mid] <= key)
            {
                l = mid;
            }
            else
            {
                h = mid;
            }
        }
        return l;
    }

    // ---- per-step maintenance ----------------------------------------------------------------

    /// <summary>Re-pack an updated dense weight under the same mask: values[p] = weight[denseIndex[p]]
    /// and tValues[q] = weight[tDenseIndex[q]] for p, q &lt; nnz = rowPtr[rows] (read on the device;
    /// grid-stride loop, any grid).</summary>
    [Kernel]
    public static void Repack(
        ReadOnlyView<float> weight, ReadOnlyView<int> rowPtr, int rows,
        ReadOnlyView<int> denseIndex, ArrayView<float> values, ReadOnlyView<int> tDenseIndex, ArrayView<float> tValues)
    {
        int nnz = rowPtr[rows];
        int stride = GridDim.X * BlockDim.X;
        for (int p = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; p < nnz; p += stride)
        {
            int d0 = denseIndex[p];
            int d1 = tDenseIndex[p];
            values[p] = weight[d0];
            tValues[p] = weight[d1];
        }
    }

    /// <summary>values[p] = 0 for p &lt; nnz = rowPtr[rows] (grid-stride).</summary>
    [Kernel]
    public static void ZeroValues(ReadOnlyView<int> rowPtr, int rows, ArrayView<float> values)
    {
        int nnz = rowPtr[rows];
        int stride = GridDim.X * BlockDim.X;
        for (int p = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; p < nnz; p += stride)
        {
            values[p] = 0f;
        }
    }

    /// <summary>dense[i] = 0 for i &lt; n (grid-stride).</summary>
    [Kernel]
    public static void ZeroDense(ArrayView<float> dense, int n)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            dense[i] = 0f;
        }
    }

    /// <summary>dense[denseIndex[p]] = values[p] for p &lt; nnz (after <see cref="ZeroDense"/>: a dense
    /// gradient that is exactly zero off the mask).</summary>
    [Kernel]
    public static void ScatterToDense(ReadOnlyView<float> values, ReadOnlyView<int> rowPtr, int rows, ReadOnlyView<int> denseIndex, ArrayView<float> dense)
    {
        int nnz = rowPtr[rows];
        int stride = GridDim.X * BlockDim.X;
        for (int p = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; p < nnz; p += stride)
        {
            dense[denseIndex[p]] = values[p];
        }
    }

    // ---- products ----------------------------------------------------------------------------

    /// <summary>Y[rows, n] = W[rows, inner] * X[inner, n], W in CSR with a row order (see the class
    /// remarks). Grid (ceil(n / (32 TN)), ceil(rows / (WARPS RW))), block 32 WARPS.
    /// BK * TN must be a multiple of WARPS.</summary>
    [Kernel]
    public static void Spmm(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> x, ArrayView<float> y,
        [Specialization] int WARPS, [Specialization] int RW, [Specialization] int TN, [Specialization] int BK)
    {
        var tile = Shared.Allocate<float>(BK * 32 * TN);
        Span<float> acc = stackalloc float[RW * TN];
        Span<int> cursor = stackalloc int[RW];
        Span<int> stop = stackalloc int[RW];
        Span<float> next = stackalloc float[BK * TN / WARPS];

        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int warp = tid / 32;
        int n0 = BlockIdx.X * (32 * TN);
        int slot0 = (BlockIdx.Y * (WARPS * RW)) + (warp * RW);

        for (int r = 0; r < RW; r++)
        {
            int slot = slot0 + r;
            cursor[r] = 0;
            stop[r] = 0;
            if (slot < rows)
            {
                int row = rowOrder[slot];
                cursor[r] = rowPtr[row];
                stop[r] = rowPtr[row + 1];
            }
        }
        for (int i = 0; i < RW * TN; i++)
        {
            acc[i] = 0f;
        }

        int chunks = (inner + BK - 1) / BK;
        for (int l = 0; l < BK * TN / WARPS; l++)
        {
            int index = tid + (l * 32 * WARPS);
            next[l] = LoadOrZero(x, index / (32 * TN), n0 + (index % (32 * TN)), inner, n);
        }

        for (int chunk = 0; chunk < chunks; chunk++)
        {
            for (int l = 0; l < BK * TN / WARPS; l++)
            {
                tile[tid + (l * 32 * WARPS)] = next[l];
            }
            Group.Barrier();

            int k0 = chunk * BK;
            if (chunk + 1 < chunks)
            {
                for (int l = 0; l < BK * TN / WARPS; l++)
                {
                    int index = tid + (l * 32 * WARPS);
                    next[l] = LoadOrZero(x, k0 + BK + (index / (32 * TN)), n0 + (index % (32 * TN)), inner, n);
                }
            }

            int kEnd = k0 + BK;
            for (int r = 0; r < RW; r++)
            {
                int p = cursor[r];
                int e = stop[r];
                while (p < e && colIdx[p] < kEnd)
                {
                    float v = values[p];
                    int b = ((colIdx[p] - k0) * (32 * TN)) + lane;
                    for (int t = 0; t < TN; t++)
                    {
                        acc[(r * TN) + t] = KMath.Fma(v, tile[b + (32 * t)], acc[(r * TN) + t]);
                    }
                    p++;
                }
                cursor[r] = p;
            }
            Group.Barrier();
        }

        for (int r = 0; r < RW; r++)
        {
            int slot = slot0 + r;
            if (slot < rows)
            {
                int row = rowOrder[slot];
                for (int t = 0; t < TN; t++)
                {
                    int column = n0 + lane + (32 * t);
                    if (column < n)
                    {
                        y[(row * n) + column] = acc[(r * TN) + t];
                    }
                }
            }
        }
    }

    /// <summary>matrix[row, column] of a packed row-major rows x columns matrix, or 0 outside it.</summary>
    private static float LoadOrZero(ReadOnlyView<float> matrix, int row, int column, int rows, int columns)
    {
        float value = 0f;
        if (row < rows && column < columns)
        {
            value = matrix[(row * columns) + column];
        }
        return value;
    }

    /// <summary>dw[toCsr[q]] += sum over n in the block's slice of dy[rowIdx[q], n] * x[col(q), n], for
    /// the CSC entries q of columns [BlockIdx.X * colsPerBlock, +colsPerBlock) of W (rows x cols);
    /// dy is rows x n, x is cols x n, dw in CSR order and zeroed before (see the class remarks).
    /// Grid (ceil(cols / colsPerBlock), ceil(n / sliceLength)), block THREADS; dynamic shared memory
    /// (rows * (BC + 1) + colsPerBlock * BC) floats.</summary>
    [Kernel]
    public static void Sddmm(
        int rows, int cols, int n,
        ReadOnlyView<int> colPtr, ReadOnlyView<int> rowIdx, ReadOnlyView<int> toCsr,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, int colsPerBlock, int sliceLength, ArrayView<float> dw,
        [Specialization] int THREADS, [Specialization] int T, [Specialization] int BC)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[T];
        Span<int> rowOffset = stackalloc int[T];
        Span<int> colOffset = stackalloc int[T];

        int tid = ThreadIdx.X;
        int j0 = BlockIdx.X * colsPerBlock;
        int j1 = KMath.Min(j0 + colsPerBlock, cols);
        int nStart = BlockIdx.Y * sliceLength;
        int nEnd = KMath.Min(nStart + sliceLength, n);
        int pStart = colPtr[j0];
        int pEnd = colPtr[j1];
        int xBase = rows * (BC + 1);

        for (int batch = pStart; batch < pEnd; batch += THREADS * T)
        {
            for (int t = 0; t < T; t++)
            {
                int p = batch + tid + (t * THREADS);
                acc[t] = 0f;
                rowOffset[t] = 0;
                colOffset[t] = xBase;
                if (p < pEnd)
                {
                    rowOffset[t] = rowIdx[p] * (BC + 1);
                    colOffset[t] = xBase + ((LastAtMost(colPtr, j0, j1, p) - j0) * BC);
                }
            }

            for (int c0 = nStart; c0 < nEnd; c0 += BC)
            {
                for (int index = tid; index < rows * BC; index += THREADS)
                {
                    int i = index / BC;
                    int c = index % BC;
                    shared[(i * (BC + 1)) + c] = c0 + c < nEnd ? dy[(i * n) + c0 + c] : 0f;
                }
                for (int index = tid; index < colsPerBlock * BC; index += THREADS)
                {
                    int jj = index / BC;
                    int c = index % BC;
                    shared[xBase + index] = (j0 + jj < j1 && c0 + c < nEnd) ? x[((j0 + jj) * n) + c0 + c] : 0f;
                }
                Group.Barrier();
                for (int t = 0; t < T; t++)
                {
                    int ro = rowOffset[t];
                    int co = colOffset[t];
                    float a = acc[t];
                    for (int c = 0; c < BC; c++)
                    {
                        a = KMath.Fma(shared[ro + c], shared[co + c], a);
                    }
                    acc[t] = a;
                }
                Group.Barrier();
            }

            for (int t = 0; t < T; t++)
            {
                int p = batch + tid + (t * THREADS);
                if (p < pEnd)
                {
                    Atomic.Add(ref dw[toCsr[p]], acc[t]);
                }
            }
        }
    }

    /// <summary><see cref="Spmm"/> with RW = 4 rows per warp and TN = 4 columns per lane written out as
    /// scalars (the generic kernel's register arrays are indexed inside loops that also hold a
    /// data-dependent while loop, so NVRTC keeps them in local memory). Same grid, block and layout.</summary>
    [Kernel]
    public static void Spmm4x4(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> x, ArrayView<float> y,
        [Specialization] int WARPS, [Specialization] int BK)
    {
        var tile = Shared.Allocate<float>(BK * 128);
        Span<float> next = stackalloc float[BK * 4 / WARPS];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int warp = tid / 32;
        int n0 = BlockIdx.X * 128;
        int slot0 = (BlockIdx.Y * (WARPS * 4)) + (warp * 4);
        int p0 = 0;
        int e0 = 0;
        if (slot0 + 0 < rows)
        {
            int row0 = rowOrder[slot0 + 0];
            p0 = rowPtr[row0];
            e0 = rowPtr[row0 + 1];
        }
        int p1 = 0;
        int e1 = 0;
        if (slot0 + 1 < rows)
        {
            int row1 = rowOrder[slot0 + 1];
            p1 = rowPtr[row1];
            e1 = rowPtr[row1 + 1];
        }
        int p2 = 0;
        int e2 = 0;
        if (slot0 + 2 < rows)
        {
            int row2 = rowOrder[slot0 + 2];
            p2 = rowPtr[row2];
            e2 = rowPtr[row2 + 1];
        }
        int p3 = 0;
        int e3 = 0;
        if (slot0 + 3 < rows)
        {
            int row3 = rowOrder[slot0 + 3];
            p3 = rowPtr[row3];
            e3 = rowPtr[row3 + 1];
        }
        float a00 = 0f;
        float a01 = 0f;
        float a02 = 0f;
        float a03 = 0f;
        float a10 = 0f;
        float a11 = 0f;
        float a12 = 0f;
        float a13 = 0f;
        float a20 = 0f;
        float a21 = 0f;
        float a22 = 0f;
        float a23 = 0f;
        float a30 = 0f;
        float a31 = 0f;
        float a32 = 0f;
        float a33 = 0f;
        int chunks = (inner + BK - 1) / BK;
        for (int l = 0; l < BK * 4 / WARPS; l++)
        {
            int index = tid + (l * 32 * WARPS);
            next[l] = LoadOrZero(x, index / 128, n0 + (index % 128), inner, n);
        }
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            for (int l = 0; l < BK * 4 / WARPS; l++)
            {
                tile[tid + (l * 32 * WARPS)] = next[l];
            }
            Group.Barrier();
            int k0 = chunk * BK;
            if (chunk + 1 < chunks)
            {
                for (int l = 0; l < BK * 4 / WARPS; l++)
                {
                    int index = tid + (l * 32 * WARPS);
                    next[l] = LoadOrZero(x, k0 + BK + (index / 128), n0 + (index % 128), inner, n);
                }
            }
            int kEnd = k0 + BK;
            while (p0 < e0 && colIdx[p0] < kEnd)
            {
                float v = values[p0];
                int b = ((colIdx[p0] - k0) * 128) + lane;
                a00 = KMath.Fma(v, tile[b + 0], a00);
                a01 = KMath.Fma(v, tile[b + 32], a01);
                a02 = KMath.Fma(v, tile[b + 64], a02);
                a03 = KMath.Fma(v, tile[b + 96], a03);
                p0++;
            }
            while (p1 < e1 && colIdx[p1] < kEnd)
            {
                float v = values[p1];
                int b = ((colIdx[p1] - k0) * 128) + lane;
                a10 = KMath.Fma(v, tile[b + 0], a10);
                a11 = KMath.Fma(v, tile[b + 32], a11);
                a12 = KMath.Fma(v, tile[b + 64], a12);
                a13 = KMath.Fma(v, tile[b + 96], a13);
                p1++;
            }
            while (p2 < e2 && colIdx[p2] < kEnd)
            {
                float v = values[p2];
                int b = ((colIdx[p2] - k0) * 128) + lane;
                a20 = KMath.Fma(v, tile[b + 0], a20);
                a21 = KMath.Fma(v, tile[b + 32], a21);
                a22 = KMath.Fma(v, tile[b + 64], a22);
                a23 = KMath.Fma(v, tile[b + 96], a23);
                p2++;
            }
            while (p3 < e3 && colIdx[p3] < kEnd)
            {
                float v = values[p3];
                int b = ((colIdx[p3] - k0) * 128) + lane;
                a30 = KMath.Fma(v, tile[b + 0], a30);
                a31 = KMath.Fma(v, tile[b + 32], a31);
                a32 = KMath.Fma(v, tile[b + 64], a32);
                a33 = KMath.Fma(v, tile[b + 96], a33);
                p3++;
            }
            Group.Barrier();
        }
        if (slot0 + 0 < rows)
        {
            int row = rowOrder[slot0 + 0];
            {
                if (n0 + lane + 0 < n)
                {
                    y[(row * n) + n0 + lane + 0] = a00;
                }
                if (n0 + lane + 32 < n)
                {
                    y[(row * n) + n0 + lane + 32] = a01;
                }
                if (n0 + lane + 64 < n)
                {
                    y[(row * n) + n0 + lane + 64] = a02;
                }
                if (n0 + lane + 96 < n)
                {
                    y[(row * n) + n0 + lane + 96] = a03;
                }
            }
        }
        if (slot0 + 1 < rows)
        {
            int row = rowOrder[slot0 + 1];
            {
                if (n0 + lane + 0 < n)
                {
                    y[(row * n) + n0 + lane + 0] = a10;
                }
                if (n0 + lane + 32 < n)
                {
                    y[(row * n) + n0 + lane + 32] = a11;
                }
                if (n0 + lane + 64 < n)
                {
                    y[(row * n) + n0 + lane + 64] = a12;
                }
                if (n0 + lane + 96 < n)
                {
                    y[(row * n) + n0 + lane + 96] = a13;
                }
            }
        }
        if (slot0 + 2 < rows)
        {
            int row = rowOrder[slot0 + 2];
            {
                if (n0 + lane + 0 < n)
                {
                    y[(row * n) + n0 + lane + 0] = a20;
                }
                if (n0 + lane + 32 < n)
                {
                    y[(row * n) + n0 + lane + 32] = a21;
                }
                if (n0 + lane + 64 < n)
                {
                    y[(row * n) + n0 + lane + 64] = a22;
                }
                if (n0 + lane + 96 < n)
                {
                    y[(row * n) + n0 + lane + 96] = a23;
                }
            }
        }
        if (slot0 + 3 < rows)
        {
            int row = rowOrder[slot0 + 3];
            {
                if (n0 + lane + 0 < n)
                {
                    y[(row * n) + n0 + lane + 0] = a30;
                }
                if (n0 + lane + 32 < n)
                {
                    y[(row * n) + n0 + lane + 32] = a31;
                }
                if (n0 + lane + 64 < n)
                {
                    y[(row * n) + n0 + lane + 64] = a32;
                }
                if (n0 + lane + 96 < n)
                {
                    y[(row * n) + n0 + lane + 96] = a33;
                }
            }
        }
    }

    /// <summary><see cref="Sddmm"/> with T = 4 nonzeros per thread held in scalars (registers).</summary>
    [Kernel]
    public static void Sddmm4(
        int rows, int cols, int n,
        ReadOnlyView<int> colPtr, ReadOnlyView<int> rowIdx, ReadOnlyView<int> toCsr,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, int colsPerBlock, int sliceLength, ArrayView<float> dw,
        [Specialization] int THREADS, [Specialization] int BC)
    {
        var shared = Shared.Dynamic<float>();
        int tid = ThreadIdx.X;
        int j0 = BlockIdx.X * colsPerBlock;
        int j1 = KMath.Min(j0 + colsPerBlock, cols);
        int nStart = BlockIdx.Y * sliceLength;
        int nEnd = KMath.Min(nStart + sliceLength, n);
        int pStart = colPtr[j0];
        int pEnd = colPtr[j1];
        int xBase = rows * (BC + 1);
        for (int batch = pStart; batch < pEnd; batch += THREADS * 4)
        {
            int q0 = batch + tid + (0 * THREADS);
            float s0 = 0f;
            int ro0 = 0;
            int co0 = xBase;
            if (q0 < pEnd)
            {
                ro0 = rowIdx[q0] * (BC + 1);
                co0 = xBase + ((LastAtMost(colPtr, j0, j1, q0) - j0) * BC);
            }
            int q1 = batch + tid + (1 * THREADS);
            float s1 = 0f;
            int ro1 = 0;
            int co1 = xBase;
            if (q1 < pEnd)
            {
                ro1 = rowIdx[q1] * (BC + 1);
                co1 = xBase + ((LastAtMost(colPtr, j0, j1, q1) - j0) * BC);
            }
            int q2 = batch + tid + (2 * THREADS);
            float s2 = 0f;
            int ro2 = 0;
            int co2 = xBase;
            if (q2 < pEnd)
            {
                ro2 = rowIdx[q2] * (BC + 1);
                co2 = xBase + ((LastAtMost(colPtr, j0, j1, q2) - j0) * BC);
            }
            int q3 = batch + tid + (3 * THREADS);
            float s3 = 0f;
            int ro3 = 0;
            int co3 = xBase;
            if (q3 < pEnd)
            {
                ro3 = rowIdx[q3] * (BC + 1);
                co3 = xBase + ((LastAtMost(colPtr, j0, j1, q3) - j0) * BC);
            }
            for (int c0 = nStart; c0 < nEnd; c0 += BC)
            {
                for (int index = tid; index < rows * BC; index += THREADS)
                {
                    int i = index / BC;
                    int c = index % BC;
                    shared[(i * (BC + 1)) + c] = c0 + c < nEnd ? dy[(i * n) + c0 + c] : 0f;
                }
                for (int index = tid; index < colsPerBlock * BC; index += THREADS)
                {
                    int jj = index / BC;
                    int c = index % BC;
                    shared[xBase + index] = (j0 + jj < j1 && c0 + c < nEnd) ? x[((j0 + jj) * n) + c0 + c] : 0f;
                }
                Group.Barrier();
                for (int c = 0; c < BC; c++)
                {
                    s0 = KMath.Fma(shared[ro0 + c], shared[co0 + c], s0);
                    s1 = KMath.Fma(shared[ro1 + c], shared[co1 + c], s1);
                    s2 = KMath.Fma(shared[ro2 + c], shared[co2 + c], s2);
                    s3 = KMath.Fma(shared[ro3 + c], shared[co3 + c], s3);
                }
                Group.Barrier();
            }
            if (q0 < pEnd)
            {
                Atomic.Add(ref dw[toCsr[q0]], s0);
            }
            if (q1 < pEnd)
            {
                Atomic.Add(ref dw[toCsr[q1]], s1);
            }
            if (q2 < pEnd)
            {
                Atomic.Add(ref dw[toCsr[q2]], s2);
            }
            if (q3 < pEnd)
            {
                Atomic.Add(ref dw[toCsr[q3]], s3);
            }
        }
    }

    // ---- split-row kernels (v3): nonzeros held in registers, the dense operand staged once per block ----

    /// <summary>Loads in flight per thread while staging a chunk in shared memory (all issued before the stores).</summary>
    public const int StageWidth = 8;

    /// <summary>Y[rows, n] = W X, W in CSR with a row order. A block owns THREADS / SUB swizzled rows and 32
    /// columns of Y (n0 = 32 BlockIdx.X); each row is shared by SUB consecutive threads, which take its
    /// nonzeros round-robin (q = start + u, + SUB, ...). X is staged BK rows at a time in shared memory, each
    /// row written twice (64 floats) so that lane l reads X[k, n0 + (l + c) mod 32] at offset 64 k' + l + c:
    /// conflict-free whatever the columns of the 32 lanes, and an immediate offset per c. Every thread keeps
    /// 32 accumulators (column (c + lane) mod 32 in acc[c]); at the end they are written to shared memory
    /// and each output sums its row's SUB partials in a fixed order (deterministic, no atomics).
    /// Grid (ceil(n / 32), ceil(rows / (THREADS / SUB))), block THREADS; dynamic shared
    /// max(BK * 64, THREADS * 32) floats. SUB must divide 32 and THREADS.</summary>
    [Kernel]
    public static void SpmmSplit(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> x, ArrayView<float> y,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int slot0 = BlockIdx.Y * (THREADS / SUB);
        int slot = slot0 + (tid / SUB);
        int n0 = BlockIdx.X * 32;
        int p = 0;
        int end = 0;
        if (slot < rows)
        {
            int row = rowOrder[slot];
            p = rowPtr[row];
            end = rowPtr[row + 1];
        }
        for (int c = 0; c < 32; c++)
        {
            acc[c] = 0f;
        }

        for (int k0 = 0; k0 < inner; k0 += BK)
        {
            for (int based = 0; based < BK * 32; based += THREADS * StageWidth)
            {
                for (int l = 0; l < StageWidth; l++)
                {
                    int index = based + tid + (l * THREADS);
                    int kk = index / 32;
                    float v = 0f;
                    if (index < BK * 32 && k0 + kk < inner && n0 + (index % 32) < n)
                    {
                        v = x[((k0 + kk) * n) + n0 + (index % 32)];
                    }
                    stage[l] = v;
                }
                for (int l = 0; l < StageWidth; l++)
                {
                    int index = based + tid + (l * THREADS);
                    if (index < BK * 32)
                    {
                        int at = ((index / 32) * 64) + (index % 32);
                        shared[at] = stage[l];
                        shared[at + 32] = stage[l];
                    }
                }
            }
            Group.Barrier();

            int stop = end;
            if (k0 + BK < inner)
            {
                stop = LowerBound(colIdx, p, end, k0 + BK);
            }
            int q = p + u;
            float value = 0f;
            int column = k0;
            if (q < stop)
            {
                value = values[q];
                column = colIdx[q];
            }
            while (q < stop)
            {
                int qNext = q + SUB;
                float valueNext = 0f;
                int columnNext = k0;
                if (qNext < stop)
                {
                    valueNext = values[qNext];
                    columnNext = colIdx[qNext];
                }
                int b = ((column - k0) * 64) + lane;
                for (int c = 0; c < 32; c++)
                {
                    acc[c] = KMath.Fma(value, shared[b + c], acc[c]);
                }
                q = qNext;
                value = valueNext;
                column = columnNext;
            }
            p = stop;
            Group.Barrier();
        }

        for (int c = 0; c < 32; c++)
        {
            shared[(tid * 32) + ((c + lane) % 32)] = acc[c];
        }
        Group.Barrier();
        for (int o = tid; o < (THREADS / SUB) * 32; o += THREADS)
        {
            int local = o / 32;
            int c = o % 32;
            float sum = 0f;
            for (int s = 0; s < SUB; s++)
            {
                sum += shared[(((local * SUB) + s) * 32) + c];
            }
            int outSlot = slot0 + local;
            if (outSlot < rows && n0 + c < n)
            {
                y[(rowOrder[outSlot] * n) + n0 + c] = sum;
            }
        }
    }

    /// <summary>dw[toCsr[q]] += sum over the block's slice of n of dy[rowIdx[q], n] * x[j, n] for the CSC
    /// entries q of column j. A block owns THREADS / SUB swizzled columns (colOrder; the first is the longest,
    /// which bounds the block-uniform batch loop) and one slice of n; a column is shared by SUB consecutive
    /// threads, each holding T of its entries (q = start + batch + u + SUB t) and T accumulators. Per chunk of
    /// 32 columns of n, dy[all rows, chunk] and x[the block's columns, chunk] are staged in shared memory, each
    /// row written twice (conflict-free rotated reads with immediate offsets, as in <see cref="SpmmSplit"/>);
    /// x[j, .] is read once per c and used for the T entries. Slices are summed with atomic adds into the
    /// zeroed dw. Grid (ceil(cols / (THREADS / SUB)), slices), block THREADS; dynamic shared
    /// (rows + THREADS / SUB) * 64 floats.</summary>
    [Kernel]
    public static void SddmmSplit(
        int rows, int cols, int n,
        ReadOnlyView<int> colPtr, ReadOnlyView<int> rowIdx, ReadOnlyView<int> toCsr, ReadOnlyView<int> colOrder,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, int sliceLength, ArrayView<float> dw,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int T)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[T];
        Span<int> rowOffset = stackalloc int[T];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int local = tid / SUB;
        int slot0 = BlockIdx.X * (THREADS / SUB);
        int slot = slot0 + local;
        int nStart = BlockIdx.Y * sliceLength;
        int nEnd = KMath.Min(nStart + sliceLength, n);
        int firstColumn = colOrder[slot0];
        int longest = colPtr[firstColumn + 1] - colPtr[firstColumn];
        int start = 0;
        int stop = 0;
        if (slot < cols)
        {
            int j = colOrder[slot];
            start = colPtr[j];
            stop = colPtr[j + 1];
        }
        int xBase = rows * 64;
        int xOffset = xBase + (local * 64) + lane;

        for (int batch = 0; batch < longest; batch += SUB * T)
        {
            for (int t = 0; t < T; t++)
            {
                int q = start + batch + u + (SUB * t);
                acc[t] = 0f;
                rowOffset[t] = lane;
                if (q < stop)
                {
                    rowOffset[t] = (rowIdx[q] * 64) + lane;
                }
            }

            for (int c0 = nStart; c0 < nEnd; c0 += 32)
            {
                // dy[all rows, chunk] then x[the block's columns, chunk], StageWidth loads in flight per thread.
                int total = (rows + (THREADS / SUB)) * 32;
                for (int based = 0; based < total; based += THREADS * StageWidth)
                {
                    for (int l = 0; l < StageWidth; l++)
                    {
                        int index = based + tid + (l * THREADS);
                        int r = index / 32;
                        int c = index % 32;
                        float v = 0f;
                        if (index < total && c0 + c < nEnd)
                        {
                            if (r < rows)
                            {
                                v = dy[(r * n) + c0 + c];
                            }
                            else if (slot0 + r - rows < cols)
                            {
                                v = x[(colOrder[slot0 + r - rows] * n) + c0 + c];
                            }
                        }
                        stage[l] = v;
                    }
                    for (int l = 0; l < StageWidth; l++)
                    {
                        int index = based + tid + (l * THREADS);
                        if (index < total)
                        {
                            int at = ((index / 32) * 64) + (index % 32);
                            shared[at] = stage[l];
                            shared[at + 32] = stage[l];
                        }
                    }
                }
                Group.Barrier();
                for (int c = 0; c < 32; c++)
                {
                    float xv = shared[xOffset + c];
                    for (int t = 0; t < T; t++)
                    {
                        acc[t] = KMath.Fma(shared[rowOffset[t] + c], xv, acc[t]);
                    }
                }
                Group.Barrier();
            }

            for (int t = 0; t < T; t++)
            {
                int q = start + batch + u + (SUB * t);
                if (q < stop)
                {
                    Atomic.Add(ref dw[toCsr[q]], acc[t]);
                }
            }
        }
    }

    /// <summary><see cref="SpmmSplit"/> (v4) with the chunk of X stored once, not twice: lane l reads X[k, n0 + (l ^ c)] at
    /// (32 k' + l) ^ c, conflict-free whatever the lanes' k (the XOR only touches the low five bits), so a chunk of BK
    /// rows takes BK * 32 floats and BK = 512 fits in 64 KiB; acc[c] holds column l ^ c. Capped at 64 registers
    /// (launch bounds 512 x 2) so that two 512-thread blocks are resident per multiprocessor. Dynamic shared
    /// max(BK, THREADS) * 32 floats.</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void SpmmSplit2(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> x, ArrayView<float> y,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int slot0 = BlockIdx.Y * (THREADS / SUB);
        int slot = slot0 + (tid / SUB);
        int n0 = BlockIdx.X * 32;
        int p = 0;
        int end = 0;
        if (slot < rows)
        {
            int row = rowOrder[slot];
            p = rowPtr[row];
            end = rowPtr[row + 1];
        }
        for (int c = 0; c < 32; c++)
        {
            acc[c] = 0f;
        }

        for (int k0 = 0; k0 < inner; k0 += BK)
        {
            for (int based = 0; based < BK * 32; based += THREADS * StageWidth)
            {
                for (int l = 0; l < StageWidth; l++)
                {
                    int index = based + tid + (l * THREADS);
                    int kk = index / 32;
                    float v = 0f;
                    if (index < BK * 32 && k0 + kk < inner && n0 + (index % 32) < n)
                    {
                        v = x[((k0 + kk) * n) + n0 + (index % 32)];
                    }
                    stage[l] = v;
                }
                for (int l = 0; l < StageWidth; l++)
                {
                    int index = based + tid + (l * THREADS);
                    if (index < BK * 32)
                    {
                        shared[index] = stage[l];
                    }
                }
            }
            Group.Barrier();

            int stop = end;
            if (k0 + BK < inner)
            {
                stop = LowerBound(colIdx, p, end, k0 + BK);
            }
            int q = p + u;
            float value = 0f;
            int column = k0;
            if (q < stop)
            {
                value = values[q];
                column = colIdx[q];
            }
            while (q < stop)
            {
                int qNext = q + SUB;
                float valueNext = 0f;
                int columnNext = k0;
                if (qNext < stop)
                {
                    valueNext = values[qNext];
                    columnNext = colIdx[qNext];
                }
                int b = ((column - k0) * 32) + lane;
                for (int c = 0; c < 32; c++)
                {
                    acc[c] = KMath.Fma(value, shared[b ^ c], acc[c]);
                }
                q = qNext;
                value = valueNext;
                column = columnNext;
            }
            p = stop;
            Group.Barrier();
        }

        for (int c = 0; c < 32; c++)
        {
            shared[(tid * 32) + (lane ^ c)] = acc[c];
        }
        Group.Barrier();
        for (int o = tid; o < (THREADS / SUB) * 32; o += THREADS)
        {
            int local = o / 32;
            int c = o % 32;
            float sum = 0f;
            for (int s = 0; s < SUB; s++)
            {
                sum += shared[(((local * SUB) + s) * 32) + c];
            }
            int outSlot = slot0 + local;
            if (outSlot < rows && n0 + c < n)
            {
                y[(rowOrder[outSlot] * n) + n0 + c] = sum;
            }
        }
    }

    /// <summary><see cref="SddmmSplit"/> (v4) with the staged rows stored once (XOR-rotated reads as in
    /// <see cref="SpmmSplit2"/>): half the shared memory, (rows + THREADS / SUB) * 32 floats, and at most 64
    /// registers (launch bounds 512 x 2).</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void SddmmSplit2(
        int rows, int cols, int n,
        ReadOnlyView<int> colPtr, ReadOnlyView<int> rowIdx, ReadOnlyView<int> toCsr, ReadOnlyView<int> colOrder,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, int sliceLength, ArrayView<float> dw,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int T)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[T];
        Span<int> rowOffset = stackalloc int[T];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int local = tid / SUB;
        int slot0 = BlockIdx.X * (THREADS / SUB);
        int slot = slot0 + local;
        int nStart = BlockIdx.Y * sliceLength;
        int nEnd = KMath.Min(nStart + sliceLength, n);
        int firstColumn = colOrder[slot0];
        int longest = colPtr[firstColumn + 1] - colPtr[firstColumn];
        int start = 0;
        int stop = 0;
        if (slot < cols)
        {
            int j = colOrder[slot];
            start = colPtr[j];
            stop = colPtr[j + 1];
        }
        int xBase = rows * 32;
        int xOffset = xBase + (local * 32) + lane;

        for (int batch = 0; batch < longest; batch += SUB * T)
        {
            for (int t = 0; t < T; t++)
            {
                int q = start + batch + u + (SUB * t);
                acc[t] = 0f;
                rowOffset[t] = lane;
                if (q < stop)
                {
                    rowOffset[t] = (rowIdx[q] * 32) + lane;
                }
            }

            for (int c0 = nStart; c0 < nEnd; c0 += 32)
            {
                // dy[all rows, chunk] then x[the block's columns, chunk], StageWidth loads in flight per thread.
                int total = (rows + (THREADS / SUB)) * 32;
                for (int based = 0; based < total; based += THREADS * StageWidth)
                {
                    for (int l = 0; l < StageWidth; l++)
                    {
                        int index = based + tid + (l * THREADS);
                        int r = index / 32;
                        int c = index % 32;
                        float v = 0f;
                        if (index < total && c0 + c < nEnd)
                        {
                            if (r < rows)
                            {
                                v = dy[(r * n) + c0 + c];
                            }
                            else if (slot0 + r - rows < cols)
                            {
                                v = x[(colOrder[slot0 + r - rows] * n) + c0 + c];
                            }
                        }
                        stage[l] = v;
                    }
                    for (int l = 0; l < StageWidth; l++)
                    {
                        int index = based + tid + (l * THREADS);
                        if (index < total)
                        {
                            shared[index] = stage[l];
                        }
                    }
                }
                Group.Barrier();
                for (int c = 0; c < 32; c++)
                {
                    float xv = shared[xOffset ^ c];
                    for (int t = 0; t < T; t++)
                    {
                        acc[t] = KMath.Fma(shared[rowOffset[t] ^ c], xv, acc[t]);
                    }
                }
                Group.Barrier();
            }

            for (int t = 0; t < T; t++)
            {
                int q = start + batch + u + (SUB * t);
                if (q < stop)
                {
                    Atomic.Add(ref dw[toCsr[q]], acc[t]);
                }
            }
        }
    }

    // ---- SDDMM v5: by CSR rows, dY tile in registers, deterministic slice reduction -------------

    /// <summary>SDDMM by CSR rows (v5), the mirror of <see cref="SpmmSplit2"/>: a block owns THREADS / SUB swizzled rows
    /// (rowOrder) and TILES consecutive 32-column tiles of n (one slice); a row is shared round-robin by SUB consecutive
    /// threads. Per tile, each thread loads dy[row, n0 + (lane ^ c)] (c = 0..31) into 32 registers once; X[k, n0:n0+32]
    /// is staged BK rows at a time, stored once (XOR-rotated, conflict-free reads); for each of its nonzeros (i, j) in the
    /// chunk a thread forms the 32-term dot product of its registers with X[j, tile] (1 shared load per FMA, 4 independent
    /// partial sums). The slice's partial for CSR position q goes to work[slice * nnz + q] (nnz = rowPtr[rows], read on
    /// the device); with TILES &gt; 1 the same thread adds the later tiles to it in tile order. No atomics: the slices are
    /// summed in order by <see cref="SumSlices"/>. Grid (slices, ceil(rows / (THREADS / SUB))), block THREADS, dynamic
    /// shared BK * 32 floats.</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void SddmmRows(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> work,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK, [Specialization] int TILES)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> dyv = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int slot = (BlockIdx.Y * (THREADS / SUB)) + (tid / SUB);
        int nnz = rowPtr[rows];
        int outBase = BlockIdx.X * nnz;
        int row = 0;
        int start = 0;
        int end = 0;
        if (slot < rows)
        {
            row = rowOrder[slot];
            start = rowPtr[row];
            end = rowPtr[row + 1];
        }

        for (int tile = 0; tile < TILES; tile++)
        {
            int n0 = ((BlockIdx.X * TILES) + tile) * 32;
            if (n0 < n)
            {
                for (int c = 0; c < 32; c++)
                {
                    int column = n0 + (lane ^ c);
                    float v = 0f;
                    if (slot < rows && column < n)
                    {
                        v = dy[(row * n) + column];
                    }
                    dyv[c] = v;
                }
                int p = start;
                for (int k0 = 0; k0 < inner; k0 += BK)
                {
                    for (int based = 0; based < BK * 32; based += THREADS * StageWidth)
                    {
                        for (int l = 0; l < StageWidth; l++)
                        {
                            int index = based + tid + (l * THREADS);
                            int kk = index / 32;
                            float v = 0f;
                            if (index < BK * 32 && k0 + kk < inner && n0 + (index % 32) < n)
                            {
                                v = x[((k0 + kk) * n) + n0 + (index % 32)];
                            }
                            stage[l] = v;
                        }
                        for (int l = 0; l < StageWidth; l++)
                        {
                            int index = based + tid + (l * THREADS);
                            if (index < BK * 32)
                            {
                                shared[index] = stage[l];
                            }
                        }
                    }
                    Group.Barrier();

                    int stop = end;
                    if (k0 + BK < inner)
                    {
                        stop = LowerBound(colIdx, p, end, k0 + BK);
                    }
                    int q = p + u;
                    int column = k0;
                    if (q < stop)
                    {
                        column = colIdx[q];
                    }
                    while (q < stop)
                    {
                        int qNext = q + SUB;
                        int columnNext = k0;
                        if (qNext < stop)
                        {
                            columnNext = colIdx[qNext];
                        }
                        float before = 0f;
                        if (tile > 0)
                        {
                            before = work[outBase + q];
                        }
                        int b = ((column - k0) * 32) + lane;
                        float s0 = 0f;
                        float s1 = 0f;
                        float s2 = 0f;
                        float s3 = 0f;
                        for (int c = 0; c < 32; c += 4)
                        {
                            s0 = KMath.Fma(dyv[c], shared[b ^ c], s0);
                            s1 = KMath.Fma(dyv[c + 1], shared[b ^ (c + 1)], s1);
                            s2 = KMath.Fma(dyv[c + 2], shared[b ^ (c + 2)], s2);
                            s3 = KMath.Fma(dyv[c + 3], shared[b ^ (c + 3)], s3);
                        }
                        work[outBase + q] = before + ((s0 + s1) + (s2 + s3));
                        q = qNext;
                        column = columnNext;
                    }
                    p = stop;
                    Group.Barrier();
                }
            }
        }
    }

    // ---- v6: cursors carried across chunks, double-buffered X chunks with the next chunk's loads in flight -------------

    /// <summary>SpMM v6 (<see cref="SpmmSplit2"/>'s mapping: THREADS / SUB swizzled rows and 32 columns of Y per block, a row
    /// round-robin over SUB threads, acc[c] holding column lane ^ c). Two changes against v4: (1) no per-chunk binary search:
    /// each thread keeps its cursor (its next nonzero, prefetched) across chunks and walks while that nonzero's column is in
    /// the chunk; (2) X chunks are double-buffered in shared memory, and the loads of chunk c + 1 are issued into registers
    /// (BK * 32 / THREADS per thread) right after the barrier of chunk c, so they are in flight while chunk c is computed
    /// and stored after it: one barrier per chunk, no exposed L2 latency. Dynamic shared max(2 BK, THREADS) * 32 floats;
    /// BK * 32 must be a multiple of THREADS.</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void SpmmPipe(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> x, ArrayView<float> y,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[32];
        Span<float> stage = stackalloc float[BK * 32 / THREADS];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int slot0 = BlockIdx.Y * (THREADS / SUB);
        int slot = slot0 + (tid / SUB);
        int n0 = BlockIdx.X * 32;
        int q = 0;
        int end = 0;
        if (slot < rows)
        {
            int row = rowOrder[slot];
            q = rowPtr[row] + (tid % SUB);
            end = rowPtr[row + 1];
        }
        float value = 0f;
        int column = inner;
        if (q < end)
        {
            value = values[q];
            column = colIdx[q];
        }
        for (int c = 0; c < 32; c++)
        {
            acc[c] = 0f;
        }
        for (int l = 0; l < BK * 32 / THREADS; l++)
        {
            int index = tid + (l * THREADS);
            int kk = index / 32;
            float v = 0f;
            if (kk < inner && n0 + (index % 32) < n)
            {
                v = x[(kk * n) + n0 + (index % 32)];
            }
            stage[l] = v;
        }

        int buffer = 0;
        for (int k0 = 0; k0 < inner; k0 += BK)
        {
            for (int l = 0; l < BK * 32 / THREADS; l++)
            {
                shared[(buffer * BK * 32) + tid + (l * THREADS)] = stage[l];
            }
            Group.Barrier();
            int k1 = k0 + BK;
            if (k1 < inner)
            {
                for (int l = 0; l < BK * 32 / THREADS; l++)
                {
                    int index = tid + (l * THREADS);
                    int kk = k1 + (index / 32);
                    float v = 0f;
                    if (kk < inner && n0 + (index % 32) < n)
                    {
                        v = x[(kk * n) + n0 + (index % 32)];
                    }
                    stage[l] = v;
                }
            }
            int kEnd = KMath.Min(k1, inner);
            int offset = (buffer * BK * 32) - (k0 * 32) + lane;
            while (column < kEnd)
            {
                int qNext = q + SUB;
                float valueNext = 0f;
                int columnNext = inner;
                if (qNext < end)
                {
                    valueNext = values[qNext];
                    columnNext = colIdx[qNext];
                }
                int b = (column * 32) + offset;
                for (int c = 0; c < 32; c++)
                {
                    acc[c] = KMath.Fma(value, shared[b ^ c], acc[c]);
                }
                q = qNext;
                value = valueNext;
                column = columnNext;
            }
            buffer = 1 - buffer;
        }
        Group.Barrier();

        for (int c = 0; c < 32; c++)
        {
            shared[(tid * 32) + (lane ^ c)] = acc[c];
        }
        Group.Barrier();
        for (int o = tid; o < (THREADS / SUB) * 32; o += THREADS)
        {
            int local = o / 32;
            int c = o % 32;
            float sum = 0f;
            for (int s = 0; s < SUB; s++)
            {
                sum += shared[(((local * SUB) + s) * 32) + c];
            }
            int outSlot = slot0 + local;
            if (outSlot < rows && n0 + c < n)
            {
                y[(rowOrder[outSlot] * n) + n0 + c] = sum;
            }
        }
    }

    /// <summary>SDDMM v6: <see cref="SddmmRows"/> (same mapping, same workspace layout and partial order, so the same
    /// <see cref="SumSlices"/> pass) with <see cref="SpmmPipe"/>'s two changes: cursors carried across chunks (no binary
    /// search) and double-buffered X chunks whose loads are in flight during the previous chunk's dot products (one barrier
    /// per chunk). The tiles of a block run as one flat sequence of chunks, so the next tile's first chunk is also loaded
    /// during the last chunk of the current one. Dynamic shared 2 BK * 32 floats; BK * 32 a multiple of THREADS.</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void SddmmPipe(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> work,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK, [Specialization] int TILES)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> dyv = stackalloc float[32];
        Span<float> stage = stackalloc float[BK * 32 / THREADS];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int slot = (BlockIdx.Y * (THREADS / SUB)) + (tid / SUB);
        int nnz = rowPtr[rows];
        int outBase = BlockIdx.X * nnz;
        int chunks = (inner + BK - 1) / BK;
        int row = 0;
        int start = 0;
        int end = 0;
        if (slot < rows)
        {
            row = rowOrder[slot];
            start = rowPtr[row] + (tid % SUB);
            end = rowPtr[row + 1];
        }
        int firstN = BlockIdx.X * TILES * 32;
        for (int l = 0; l < BK * 32 / THREADS; l++)
        {
            int index = tid + (l * THREADS);
            int kk = index / 32;
            float v = 0f;
            if (kk < inner && firstN + (index % 32) < n)
            {
                v = x[(kk * n) + firstN + (index % 32)];
            }
            stage[l] = v;
        }

        int q = start;
        int column = inner;
        int buffer = 0;
        for (int step = 0; step < TILES * chunks; step++)
        {
            int tile = step / chunks;
            int k0 = (step % chunks) * BK;
            int n0 = firstN + (tile * 32);
            for (int l = 0; l < BK * 32 / THREADS; l++)
            {
                shared[(buffer * BK * 32) + tid + (l * THREADS)] = stage[l];
            }
            Group.Barrier();
            if (step + 1 < TILES * chunks)
            {
                int nextN = firstN + (((step + 1) / chunks) * 32);
                int nextK = ((step + 1) % chunks) * BK;
                for (int l = 0; l < BK * 32 / THREADS; l++)
                {
                    int index = tid + (l * THREADS);
                    int kk = nextK + (index / 32);
                    float v = 0f;
                    if (kk < inner && nextN + (index % 32) < n)
                    {
                        v = x[(kk * n) + nextN + (index % 32)];
                    }
                    stage[l] = v;
                }
            }
            if (k0 == 0)
            {
                // A new tile: this row's dY tile into registers, the cursor back to the row's start.
                for (int c = 0; c < 32; c++)
                {
                    int nc = n0 + (lane ^ c);
                    float v = 0f;
                    if (slot < rows && nc < n)
                    {
                        v = dy[(row * n) + nc];
                    }
                    dyv[c] = v;
                }
                q = start;
                column = inner;
                if (q < end && n0 < n)
                {
                    column = colIdx[q];
                }
            }
            int kEnd = KMath.Min(k0 + BK, inner);
            int offset = (buffer * BK * 32) - (k0 * 32) + lane;
            while (column < kEnd)
            {
                int qNext = q + SUB;
                int columnNext = inner;
                if (qNext < end)
                {
                    columnNext = colIdx[qNext];
                }
                float before = 0f;
                if (tile > 0)
                {
                    before = work[outBase + q];
                }
                int b = (column * 32) + offset;
                float s0 = 0f;
                float s1 = 0f;
                float s2 = 0f;
                float s3 = 0f;
                for (int c = 0; c < 32; c += 4)
                {
                    s0 = KMath.Fma(dyv[c], shared[b ^ c], s0);
                    s1 = KMath.Fma(dyv[c + 1], shared[b ^ (c + 1)], s1);
                    s2 = KMath.Fma(dyv[c + 2], shared[b ^ (c + 2)], s2);
                    s3 = KMath.Fma(dyv[c + 3], shared[b ^ (c + 3)], s3);
                }
                work[outBase + q] = before + ((s0 + s1) + (s2 + s3));
                q = qNext;
                column = columnNext;
            }
            buffer = 1 - buffer;
        }
    }

    // ---- v6b: cursors carried across chunks (no per-chunk binary search), optional packed (value, index) entries ------

    /// <summary>packed[p] = (bits of values[p]) &lt;&lt; 32 | colIdx[p] and tPacked[p] = (bits of tValues[p]) &lt;&lt; 32 |
    /// rowIdx[p] for p &lt; nnz = rowPtr[rows] (grid-stride): one 8-byte load per nonzero in <see cref="SpmmCursor"/>.</summary>
    [Kernel]
    public static void PackEntries(
        ReadOnlyView<int> rowPtr, int rows,
        ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ArrayView<ulong> packed,
        ReadOnlyView<int> rowIdx, ReadOnlyView<float> tValues, ArrayView<ulong> tPacked)
    {
        int nnz = rowPtr[rows];
        int stride = GridDim.X * BlockDim.X;
        for (int p = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; p < nnz; p += stride)
        {
            packed[p] = ((ulong)KMath.FloatAsUInt(values[p]) << 32) | (ulong)(uint)colIdx[p];
            tPacked[p] = ((ulong)KMath.FloatAsUInt(tValues[p]) << 32) | (ulong)(uint)rowIdx[p];
        }
    }

    /// <summary><see cref="Repack"/> that also rewrites the packed entries (see <see cref="PackEntries"/>).</summary>
    [Kernel]
    public static void RepackPacked(
        ReadOnlyView<float> weight, ReadOnlyView<int> rowPtr, int rows,
        ReadOnlyView<int> denseIndex, ReadOnlyView<int> colIdx, ArrayView<float> values, ArrayView<ulong> packed,
        ReadOnlyView<int> tDenseIndex, ReadOnlyView<int> rowIdx, ArrayView<float> tValues, ArrayView<ulong> tPacked)
    {
        int nnz = rowPtr[rows];
        int stride = GridDim.X * BlockDim.X;
        for (int p = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; p < nnz; p += stride)
        {
            float v0 = weight[denseIndex[p]];
            float v1 = weight[tDenseIndex[p]];
            values[p] = v0;
            tValues[p] = v1;
            packed[p] = ((ulong)KMath.FloatAsUInt(v0) << 32) | (ulong)(uint)colIdx[p];
            tPacked[p] = ((ulong)KMath.FloatAsUInt(v1) << 32) | (ulong)(uint)rowIdx[p];
        }
    }

    /// <summary>SpMM v6b: <see cref="SpmmSplit2"/> (same mapping, staging, XOR reads and reduction) with the per-chunk
    /// binary search replaced by a cursor: each thread keeps its next nonzero (prefetched) across chunks and walks while its
    /// column is inside the chunk. With PACKED = 1 a nonzero is one 8-byte load of <paramref name="packed"/> (value bits high,
    /// index low) instead of two 4-byte loads: the (index, value) fetches were about a third of the L1 wavefronts of v4
    /// (8 rows per warp, so 8 cache lines per load instruction; ncu, run 7). Dynamic shared max(BK, THREADS) * 32 floats.</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void SpmmCursor(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ReadOnlyView<ulong> packed, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> x, ArrayView<float> y,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK, [Specialization] int PACKED)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int slot0 = BlockIdx.Y * (THREADS / SUB);
        int slot = slot0 + (tid / SUB);
        int n0 = BlockIdx.X * 32;
        int q = 0;
        int end = 0;
        if (slot < rows)
        {
            int row = rowOrder[slot];
            q = rowPtr[row] + (tid % SUB);
            end = rowPtr[row + 1];
        }
        float value = 0f;
        int column = inner;
        if (q < end)
        {
            if (PACKED == 1)
            {
                ulong e = packed[q];
                column = (int)(uint)e;
                value = KMath.UIntAsFloat((uint)(e >> 32));
            }
            else
            {
                value = values[q];
                column = colIdx[q];
            }
        }
        for (int c = 0; c < 32; c++)
        {
            acc[c] = 0f;
        }

        for (int k0 = 0; k0 < inner; k0 += BK)
        {
            for (int based = 0; based < BK * 32; based += THREADS * StageWidth)
            {
                for (int l = 0; l < StageWidth; l++)
                {
                    int index = based + tid + (l * THREADS);
                    int kk = index / 32;
                    float v = 0f;
                    if (index < BK * 32 && k0 + kk < inner && n0 + (index % 32) < n)
                    {
                        v = x[((k0 + kk) * n) + n0 + (index % 32)];
                    }
                    stage[l] = v;
                }
                for (int l = 0; l < StageWidth; l++)
                {
                    int index = based + tid + (l * THREADS);
                    if (index < BK * 32)
                    {
                        shared[index] = stage[l];
                    }
                }
            }
            Group.Barrier();

            int kEnd = KMath.Min(k0 + BK, inner);
            int offset = lane - (k0 * 32);
            while (column < kEnd)
            {
                int qNext = q + SUB;
                float valueNext = 0f;
                int columnNext = inner;
                if (qNext < end)
                {
                    if (PACKED == 1)
                    {
                        ulong e = packed[qNext];
                        columnNext = (int)(uint)e;
                        valueNext = KMath.UIntAsFloat((uint)(e >> 32));
                    }
                    else
                    {
                        valueNext = values[qNext];
                        columnNext = colIdx[qNext];
                    }
                }
                int b = (column * 32) + offset;
                for (int c = 0; c < 32; c++)
                {
                    acc[c] = KMath.Fma(value, shared[b ^ c], acc[c]);
                }
                q = qNext;
                value = valueNext;
                column = columnNext;
            }
            Group.Barrier();
        }

        for (int c = 0; c < 32; c++)
        {
            shared[(tid * 32) + (lane ^ c)] = acc[c];
        }
        Group.Barrier();
        for (int o = tid; o < (THREADS / SUB) * 32; o += THREADS)
        {
            int local = o / 32;
            int c = o % 32;
            float sum = 0f;
            for (int s = 0; s < SUB; s++)
            {
                sum += shared[(((local * SUB) + s) * 32) + c];
            }
            int outSlot = slot0 + local;
            if (outSlot < rows && n0 + c < n)
            {
                y[(rowOrder[outSlot] * n) + n0 + c] = sum;
            }
        }
    }

    /// <summary>SDDMM v6b: <see cref="SddmmRows"/> (same mapping, staging, workspace layout and partial order, so the same
    /// <see cref="SumSlices"/> pass) with the per-chunk binary search replaced by a cursor carried across chunks (reset at
    /// each tile). Dynamic shared BK * 32 floats.</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void SddmmCursor(
        int rows, int inner, int n,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> work,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK, [Specialization] int TILES)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> dyv = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int slot = (BlockIdx.Y * (THREADS / SUB)) + (tid / SUB);
        int nnz = rowPtr[rows];
        int outBase = BlockIdx.X * nnz;
        int row = 0;
        int start = 0;
        int end = 0;
        if (slot < rows)
        {
            row = rowOrder[slot];
            start = rowPtr[row] + (tid % SUB);
            end = rowPtr[row + 1];
        }

        for (int tile = 0; tile < TILES; tile++)
        {
            int n0 = ((BlockIdx.X * TILES) + tile) * 32;
            if (n0 < n)
            {
                for (int c = 0; c < 32; c++)
                {
                    int nc = n0 + (lane ^ c);
                    float v = 0f;
                    if (slot < rows && nc < n)
                    {
                        v = dy[(row * n) + nc];
                    }
                    dyv[c] = v;
                }
                int q = start;
                int column = inner;
                if (q < end)
                {
                    column = colIdx[q];
                }
                for (int k0 = 0; k0 < inner; k0 += BK)
                {
                    for (int based = 0; based < BK * 32; based += THREADS * StageWidth)
                    {
                        for (int l = 0; l < StageWidth; l++)
                        {
                            int index = based + tid + (l * THREADS);
                            int kk = index / 32;
                            float v = 0f;
                            if (index < BK * 32 && k0 + kk < inner && n0 + (index % 32) < n)
                            {
                                v = x[((k0 + kk) * n) + n0 + (index % 32)];
                            }
                            stage[l] = v;
                        }
                        for (int l = 0; l < StageWidth; l++)
                        {
                            int index = based + tid + (l * THREADS);
                            if (index < BK * 32)
                            {
                                shared[index] = stage[l];
                            }
                        }
                    }
                    Group.Barrier();

                    int kEnd = KMath.Min(k0 + BK, inner);
                    int offset = lane - (k0 * 32);
                    while (column < kEnd)
                    {
                        int qNext = q + SUB;
                        int columnNext = inner;
                        if (qNext < end)
                        {
                            columnNext = colIdx[qNext];
                        }
                        float before = 0f;
                        if (tile > 0)
                        {
                            before = work[outBase + q];
                        }
                        int b = (column * 32) + offset;
                        float s0 = 0f;
                        float s1 = 0f;
                        float s2 = 0f;
                        float s3 = 0f;
                        for (int c = 0; c < 32; c += 4)
                        {
                            s0 = KMath.Fma(dyv[c], shared[b ^ c], s0);
                            s1 = KMath.Fma(dyv[c + 1], shared[b ^ (c + 1)], s1);
                            s2 = KMath.Fma(dyv[c + 2], shared[b ^ (c + 2)], s2);
                            s3 = KMath.Fma(dyv[c + 3], shared[b ^ (c + 3)], s3);
                        }
                        work[outBase + q] = before + ((s0 + s1) + (s2 + s3));
                        q = qNext;
                        column = columnNext;
                    }
                    Group.Barrier();
                }
            }
        }
    }

    /// <summary>dw[q] = sum over s &lt; slices, in order, of work[s * nnz + q], for q &lt; nnz = rowPtr[rows]
    /// (the deterministic second pass of <see cref="SddmmRows"/>; grid-stride, any grid).</summary>
    [Kernel]
    public static void SumSlices(ReadOnlyView<int> rowPtr, int rows, ReadOnlyView<float> work, int slices, ArrayView<float> dw)
    {
        int nnz = rowPtr[rows];
        int stride = GridDim.X * BlockDim.X;
        for (int q = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; q < nnz; q += stride)
        {
            float sum = 0f;
            for (int s = 0; s < slices; s++)
            {
                sum += work[(s * nnz) + q];
            }
            dw[q] = sum;
        }
    }
}
