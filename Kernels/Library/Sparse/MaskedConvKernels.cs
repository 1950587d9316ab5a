namespace GanEngine.Kernels.Sparse;

/// <summary>
/// Masked (sparse-weight) 2-D convolution as implicit sparse GEMM: the conv weight W (O, C, KH, KW) is the masked
/// matrix O x K (K = C KH KW) in the CSR / CSC format of <see cref="MaskedSparseKernels"/>, and the dense operand is the
/// im2col of the input (or of the output gradient) gathered on the fly into shared memory, never materialised.
/// </summary>
/// <remarks>
/// <para>Columns are pixels of a whole batch: output pixels j = (n, oy, ox) for the forward pass and the weight gradient,
/// input pixels (n, iy, ix) for the input gradient. A block owns 32 consecutive columns and THREADS / SUB output rows
/// (rows shared round-robin by SUB consecutive threads), as in <c>SpmmSplit2</c> / <c>SddmmRows</c>: because THREADS is a
/// multiple of 32, every staging load of a thread is for the same column (its lane), so the column's pixel is decoded once
/// and each staged row k costs one decode k -&gt; (c, ky, kx) (divisions by the specialised KH, KW) and a bounds check for
/// the padding. Staged chunks are stored once with XOR-rotated reads (conflict-free whatever the lanes' k).</para>
/// <para><b>Forward</b> (<see cref="MaskedConvForward"/>): Y[n, o, oy, ox] = b[o] + sum over nonzeros (o, k) of
/// W[o, k] X[n, c(k), oy s - p + ky(k), ox s - p + kx(k)].</para>
/// <para><b>Input gradient</b> (<see cref="MaskedConvBackwardInput"/>): by gathering, no atomics: row c of the output
/// takes, tap by tap (ky, kx), the CSC column k = (c, ky, kx) (output channels o ascending) against the staged
/// dY[n, o, (iy + p - ky) / s, (ix + p - kx) / s] (0 where the division is not exact or out of range).</para>
/// <para><b>Weight gradient at the mask</b> (<see cref="MaskedConvBackwardWeight"/>): dW[o, k] = sum over output pixels
/// of dY[n, o, oy, ox] X[n, c(k), ...], by CSR rows (the mirror of <c>SddmmRows</c>): per 32-column tile a thread keeps
/// its row's dY in 32 registers and forms 32-term dot products with the staged im2col rows; one partial per slice of
/// columns and nonzero goes to a workspace, summed in order afterwards (<c>MaskedSparseKernels.SumSlices</c>):
/// deterministic, no atomics.</para>
/// </remarks>
public static partial class MaskedConvKernels
{
    /// <summary>Loads in flight per thread while staging a chunk in shared memory.</summary>
    public const int StageWidth = 8;

    /// <summary>Forward. Grid (ceil(N OH OW / 32), ceil(O / (THREADS / SUB))), block THREADS, dynamic shared
    /// max(BK, THREADS) * 32 floats. rowPtr / colIdx / values / rowOrder: the CSR of W (O x C KH KW). hasBias != 0 adds bias[o].</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void MaskedConvForward(
        int batch, int channels, int height, int width, int outChannels, int outHeight, int outWidth, int stride, int pad,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<float> values, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> x, ReadOnlyView<float> bias, int hasBias, ArrayView<float> y,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK, [Specialization] int KH, [Specialization] int KW)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int rows = outChannels;
        int inner = channels * KH * KW;
        int pixels = outHeight * outWidth;
        int columns = batch * pixels;
        int slot0 = BlockIdx.Y * (THREADS / SUB);
        int slot = slot0 + (tid / SUB);
        int n0 = BlockIdx.X * 32;

        // The column this thread stages (index % 32 == lane for every staging index).
        int col = n0 + lane;
        int valid = 0;
        int iy0 = 0;
        int ix0 = 0;
        int xBase = 0;
        if (col < columns)
        {
            int img = col / pixels;
            int pix = col % pixels;
            iy0 = ((pix / outWidth) * stride) - pad;
            ix0 = ((pix % outWidth) * stride) - pad;
            xBase = img * channels * height * width;
            valid = 1;
        }

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
                    int k = k0 + (index / 32);
                    float v = 0f;
                    if (index < BK * 32 && k < inner && valid != 0)
                    {
                        int ch = k / (KH * KW);
                        int r = k % (KH * KW);
                        int iy = iy0 + (r / KW);
                        int ix = ix0 + (r % KW);
                        if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                        {
                            v = x[xBase + (((ch * height) + iy) * width) + ix];
                        }
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
            int outCol = n0 + c;
            if (outSlot < rows && outCol < columns)
            {
                int row = rowOrder[outSlot];
                if (hasBias != 0)
                {
                    sum += bias[row];
                }
                int img = outCol / pixels;
                y[(((img * outChannels) + row) * pixels) + (outCol % pixels)] = sum;
            }
        }
    }

    /// <summary>Input gradient. Grid (ceil(N H W / 32), ceil(C / (THREADS / SUB))), block THREADS, dynamic shared
    /// max(BK, THREADS) * 32 floats. colPtr / rowIdx / tValues: the CSC of W (columns k = (c, ky, kx)).</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void MaskedConvBackwardInput(
        int batch, int channels, int height, int width, int outChannels, int outHeight, int outWidth, int stride, int pad,
        ReadOnlyView<int> colPtr, ReadOnlyView<int> rowIdx, ReadOnlyView<float> tValues,
        ReadOnlyView<float> dy, ArrayView<float> dx,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK, [Specialization] int KH, [Specialization] int KW)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> acc = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int rows = channels;
        int inner = outChannels;
        int pixels = height * width;
        int outPixels = outHeight * outWidth;
        int columns = batch * pixels;
        int slot0 = BlockIdx.Y * (THREADS / SUB);
        int slot = slot0 + (tid / SUB);
        int n0 = BlockIdx.X * 32;

        int col = n0 + lane;
        int valid = 0;
        int iy = 0;
        int ix = 0;
        int dyBase = 0;
        if (col < columns)
        {
            int img = col / pixels;
            int pix = col % pixels;
            iy = pix / width;
            ix = pix % width;
            dyBase = img * outChannels * outPixels;
            valid = 1;
        }
        for (int c = 0; c < 32; c++)
        {
            acc[c] = 0f;
        }

        for (int tap = 0; tap < KH * KW; tap++)
        {
            int ty = iy + pad - (tap / KW);
            int tx = ix + pad - (tap % KW);
            int offset = -1;
            if (valid != 0 && ty >= 0 && tx >= 0 && ty % stride == 0 && tx % stride == 0 && ty / stride < outHeight && tx / stride < outWidth)
            {
                offset = dyBase + ((ty / stride) * outWidth) + (tx / stride);
            }
            int p = 0;
            int end = 0;
            if (slot < rows)
            {
                p = colPtr[(slot * KH * KW) + tap];
                end = colPtr[(slot * KH * KW) + tap + 1];
            }

            for (int k0 = 0; k0 < inner; k0 += BK)
            {
                for (int based = 0; based < BK * 32; based += THREADS * StageWidth)
                {
                    for (int l = 0; l < StageWidth; l++)
                    {
                        int index = based + tid + (l * THREADS);
                        int k = k0 + (index / 32);
                        float v = 0f;
                        if (index < BK * 32 && k < inner && offset >= 0)
                        {
                            v = dy[offset + (k * outPixels)];
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
                    stop = LowerBound(rowIdx, p, end, k0 + BK);
                }
                int q = p + u;
                float value = 0f;
                int column = k0;
                if (q < stop)
                {
                    value = tValues[q];
                    column = rowIdx[q];
                }
                while (q < stop)
                {
                    int qNext = q + SUB;
                    float valueNext = 0f;
                    int columnNext = k0;
                    if (qNext < stop)
                    {
                        valueNext = tValues[qNext];
                        columnNext = rowIdx[qNext];
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
            int outCol = n0 + c;
            if (outSlot < rows && outCol < columns)
            {
                int img = outCol / pixels;
                dx[(((img * channels) + outSlot) * pixels) + (outCol % pixels)] = sum;
            }
        }
    }

    /// <summary>Weight gradient at the mask, partials per slice: work[slice * nnz + q] for CSR position q (nnz = rowPtr[O],
    /// read on the device). A block owns THREADS / SUB swizzled rows (rowOrder) and TILES consecutive 32-column tiles of the
    /// N OH OW output pixels (one slice). Grid (slices, ceil(O / (THREADS / SUB))), block THREADS, dynamic shared BK * 32 floats.</summary>
    [Kernel, LaunchBounds(512, 2)]
    public static void MaskedConvBackwardWeight(
        int batch, int channels, int height, int width, int outChannels, int outHeight, int outWidth, int stride, int pad,
        ReadOnlyView<int> rowPtr, ReadOnlyView<int> colIdx, ReadOnlyView<int> rowOrder,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> work,
        [Specialization] int THREADS, [Specialization] int SUB, [Specialization] int BK, [Specialization] int TILES,
        [Specialization] int KH, [Specialization] int KW)
    {
        var shared = Shared.Dynamic<float>();
        Span<float> dyv = stackalloc float[32];
        Span<float> stage = stackalloc float[StageWidth];
        int tid = ThreadIdx.X;
        int lane = tid % 32;
        int u = tid % SUB;
        int rows = outChannels;
        int inner = channels * KH * KW;
        int pixels = outHeight * outWidth;
        int columns = batch * pixels;
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
            if (n0 < columns)
            {
                for (int c = 0; c < 32; c++)
                {
                    int column = n0 + (lane ^ c);
                    float v = 0f;
                    if (slot < rows && column < columns)
                    {
                        int img = column / pixels;
                        v = dy[(((img * outChannels) + row) * pixels) + (column % pixels)];
                    }
                    dyv[c] = v;
                }

                int col = n0 + lane;
                int valid = 0;
                int iy0 = 0;
                int ix0 = 0;
                int xBase = 0;
                if (col < columns)
                {
                    int img = col / pixels;
                    int pix = col % pixels;
                    iy0 = ((pix / outWidth) * stride) - pad;
                    ix0 = ((pix % outWidth) * stride) - pad;
                    xBase = img * channels * height * width;
                    valid = 1;
                }

                int p = start;
                for (int k0 = 0; k0 < inner; k0 += BK)
                {
                    for (int based = 0; based < BK * 32; based += THREADS * StageWidth)
                    {
                        for (int l = 0; l < StageWidth; l++)
                        {
                            int index = based + tid + (l * THREADS);
                            int k = k0 + (index / 32);
                            float v = 0f;
                            if (index < BK * 32 && k < inner && valid != 0)
                            {
                                int ch = k / (KH * KW);
                                int r = k % (KH * KW);
                                int iy = iy0 + (r / KW);
                                int ix = ix0 + (r % KW);
                                if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                {
                                    v = x[xBase + (((ch * height) + iy) * width) + ix];
                                }
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
}
