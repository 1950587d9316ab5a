namespace GanEngine.Kernels.Blas;

/// <summary>
/// General matrix products for the GEMM / linear raw ops: C[M,N] = alpha op(A) op(B) + beta C + bias,
/// row-major with leading dimensions, op = identity or transpose (specializations TA / TB, 0 or 1),
/// bias (length N, or empty) added to every row. With beta == 0, C is not read.
/// </summary>
/// <remarks>
/// <para><see cref="Sgemm"/>: the tiling of <see cref="SimtGemm.Sgemm"/> (128 x 128 x 8, 8 x 8 per
/// thread, 256 threads, double-buffered) with strict FP32 FMAs. <see cref="Tf32"/>: the tiling of
/// <see cref="TensorCoreGemm.Tf32Gemm"/> (128 x 128 x 16, 8 warps of 64 x 32, <c>mma.sync m16n8k8</c>,
/// operands rounded to TF32, FP32 accumulation).</para>
/// <para>Staging order follows the storage so that global loads stay coalesced: op(A) = A stages
/// consecutive threads along k, op(A) = A^T along m; op(B) = B along n, op(B) = B^T along k.
/// Ragged sizes: loads outside read 0, stores outside are skipped, every thread reaches every barrier.</para>
/// </remarks>
public static partial class GemmKernels
{
    private const int BM = 128;
    private const int BN = 128;
    private const int SK = 8;            // SIMT K step
    private const int TK = 16;           // TF32 K step
    private const int Threads = 256;

    /// <summary>Strict FP32 (see the class remarks). Grid (ceil(N/128), ceil(M/128)), 256 threads.</summary>
    [Kernel]
    [LaunchBounds(256, 2)]
    public static void Sgemm(
        int m, int n, int k, float alpha,
        ReadOnlyView<float> a, int lda, ReadOnlyView<float> b, int ldb,
        float beta, ArrayView<float> c, int ldc, ReadOnlyView<float> bias,
        [Specialization] int TA, [Specialization] int TB)
    {
        var tileA = Shared.Allocate<float>(2 * SK * (BM + 4));
        var tileB = Shared.Allocate<float>(2 * SK * BN);
        Span<float> acc = stackalloc float[64];
        Span<float> fragA = stackalloc float[8];
        Span<float> fragB = stackalloc float[8];
        Span<float> nextA = stackalloc float[BM * SK / Threads];
        Span<float> nextB = stackalloc float[SK * BN / Threads];

        int tid = ThreadIdx.X;
        int tx = tid % 16;
        int ty = tid / 16;
        int rowStart = BlockIdx.Y * BM;
        int columnStart = BlockIdx.X * BN;
        int tiles = (k + SK - 1) / SK;
        for (int i = 0; i < 64; i++)
        {
            acc[i] = 0f;
        }
        for (int t = -1; t < tiles; t++)
        {
            int baseA = (t & 1) * SK * (BM + 4);
            int baseB = (t & 1) * SK * BN;
            if (t >= 0)
            {
                for (int l = 0; l < BM * SK / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int r = TA == 0 ? index / SK : index % BM;
                    int kk = TA == 0 ? index % SK : index / BM;
                    tileA[baseA + (kk * (BM + 4)) + r] = nextA[l];
                }
                for (int l = 0; l < SK * BN / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int col = TB == 0 ? index % BN : index / SK;
                    int kk = TB == 0 ? index / BN : index % SK;
                    tileB[baseB + (kk * BN) + col] = nextB[l];
                }
            }
            Group.Barrier();
            if (t + 1 < tiles)
            {
                int k0 = (t + 1) * SK;
                for (int l = 0; l < BM * SK / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int r = TA == 0 ? index / SK : index % BM;
                    int kk = TA == 0 ? index % SK : index / BM;
                    nextA[l] = LoadOp(a, lda, TA, rowStart + r, k0 + kk, m, k);
                }
                for (int l = 0; l < SK * BN / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int col = TB == 0 ? index % BN : index / SK;
                    int kk = TB == 0 ? index / BN : index % SK;
                    nextB[l] = LoadOp(b, ldb, TB, k0 + kk, columnStart + col, k, n);
                }
            }
            if (t >= 0)
            {
                for (int kk = 0; kk < SK; kk++)
                {
                    for (int i = 0; i < 8; i++)
                    {
                        fragA[i] = tileA[baseA + (kk * (BM + 4)) + ty + (i * 16)];
                        fragB[i] = tileB[baseB + (kk * BN) + tx + (i * 16)];
                    }
                    for (int i = 0; i < 8; i++)
                    {
                        for (int j = 0; j < 8; j++)
                        {
                            acc[(i * 8) + j] = KMath.Fma(fragA[i], fragB[j], acc[(i * 8) + j]);
                        }
                    }
                }
            }
        }
        for (int i = 0; i < 8; i++)
        {
            for (int j = 0; j < 8; j++)
            {
                Store(c, ldc, bias, rowStart + ty + (i * 16), columnStart + tx + (j * 16), m, n, alpha, beta, acc[(i * 8) + j]);
            }
        }
    }

    /// <summary>TF32 tensor cores (see the class remarks). Grid (ceil(N/128), ceil(M/128)), 256 threads.</summary>
    [Kernel]
    [LaunchBounds(256, 1)]
    public static void Tf32(
        int m, int n, int k, float alpha,
        ReadOnlyView<float> a, int lda, ReadOnlyView<float> b, int ldb,
        float beta, ArrayView<float> c, int ldc, ReadOnlyView<float> bias,
        [Specialization] int TA, [Specialization] int TB)
    {
        var stageA = Shared.Allocate<float>(2 * BM * (TK + 4));
        var stageB = Shared.Allocate<float>(2 * TK * (BN + 8));
        Span<float> acc = stackalloc float[64];
        Span<float> fragA = stackalloc float[16];
        Span<float> fragB = stackalloc float[8];
        Span<float> nextA = stackalloc float[BM * TK / Threads];
        Span<float> nextB = stackalloc float[TK * BN / Threads];

        int tid = ThreadIdx.X;
        int lane = tid & 31;
        int warp = tid >> 5;
        int g = lane >> 2;
        int q = lane & 3;
        int warpRow = (warp / 4) * 64;
        int warpColumn = (warp % 4) * 32;
        int rowStart = BlockIdx.Y * BM;
        int columnStart = BlockIdx.X * BN;
        int tiles = (k + TK - 1) / TK;
        for (int i = 0; i < 64; i++)
        {
            acc[i] = 0f;
        }
        for (int t = -1; t < tiles; t++)
        {
            int baseA = (t & 1) * BM * (TK + 4);
            int baseB = (t & 1) * TK * (BN + 8);
            if (t >= 0)
            {
                for (int l = 0; l < BM * TK / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int r = TA == 0 ? index / TK : index % BM;
                    int kk = TA == 0 ? index % TK : index / BM;
                    stageA[baseA + (r * (TK + 4)) + kk] = Mma.ToTf32(nextA[l]);
                }
                for (int l = 0; l < TK * BN / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int col = TB == 0 ? index % BN : index / TK;
                    int kk = TB == 0 ? index / BN : index % TK;
                    stageB[baseB + (kk * (BN + 8)) + col] = Mma.ToTf32(nextB[l]);
                }
            }
            Group.Barrier();
            if (t + 1 < tiles)
            {
                int k0 = (t + 1) * TK;
                for (int l = 0; l < BM * TK / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int r = TA == 0 ? index / TK : index % BM;
                    int kk = TA == 0 ? index % TK : index / BM;
                    nextA[l] = LoadOp(a, lda, TA, rowStart + r, k0 + kk, m, k);
                }
                for (int l = 0; l < TK * BN / Threads; l++)
                {
                    int index = tid + (l * Threads);
                    int col = TB == 0 ? index % BN : index / TK;
                    int kk = TB == 0 ? index / BN : index % TK;
                    nextB[l] = LoadOp(b, ldb, TB, k0 + kk, columnStart + col, k, n);
                }
            }
            if (t >= 0)
            {
                for (int ks = 0; ks < TK; ks += 8)
                {
                    for (int mi = 0; mi < 4; mi++)
                    {
                        int row = baseA + ((warpRow + (mi * 16) + g) * (TK + 4)) + ks + q;
                        fragA[(mi * 4) + 0] = stageA[row];
                        fragA[(mi * 4) + 1] = stageA[row + (8 * (TK + 4))];
                        fragA[(mi * 4) + 2] = stageA[row + 4];
                        fragA[(mi * 4) + 3] = stageA[row + (8 * (TK + 4)) + 4];
                    }
                    for (int ni = 0; ni < 4; ni++)
                    {
                        int column = baseB + ((ks + q) * (BN + 8)) + warpColumn + (ni * 8) + g;
                        fragB[(ni * 2) + 0] = stageB[column];
                        fragB[(ni * 2) + 1] = stageB[column + (4 * (BN + 8))];
                    }
                    for (int mi = 0; mi < 4; mi++)
                    {
                        for (int ni = 0; ni < 4; ni++)
                        {
                            int at = ((mi * 4) + ni) * 4;
                            MmaTf32A fa;
                            fa.A0 = fragA[(mi * 4) + 0];
                            fa.A1 = fragA[(mi * 4) + 1];
                            fa.A2 = fragA[(mi * 4) + 2];
                            fa.A3 = fragA[(mi * 4) + 3];
                            MmaTf32B fb;
                            fb.B0 = fragB[(ni * 2) + 0];
                            fb.B1 = fragB[(ni * 2) + 1];
                            MmaAccumulator d;
                            d.C0 = acc[at + 0];
                            d.C1 = acc[at + 1];
                            d.C2 = acc[at + 2];
                            d.C3 = acc[at + 3];
                            d = Mma.Tf32M16N8K8(fa, fb, d);
                            acc[at + 0] = d.C0;
                            acc[at + 1] = d.C1;
                            acc[at + 2] = d.C2;
                            acc[at + 3] = d.C3;
                        }
                    }
                }
            }
        }
        for (int mi = 0; mi < 4; mi++)
        {
            for (int ni = 0; ni < 4; ni++)
            {
                int at = ((mi * 4) + ni) * 4;
                int row = rowStart + warpRow + (mi * 16) + g;
                int column = columnStart + warpColumn + (ni * 8) + (2 * q);
                Store(c, ldc, bias, row, column, m, n, alpha, beta, acc[at + 0]);
                Store(c, ldc, bias, row, column + 1, m, n, alpha, beta, acc[at + 1]);
                Store(c, ldc, bias, row + 8, column, m, n, alpha, beta, acc[at + 2]);
                Store(c, ldc, bias, row + 8, column + 1, m, n, alpha, beta, acc[at + 3]);
            }
        }
    }

    /// <summary>Column sums: out[j] = beta out[j] + sum_i x[i, j] over a rows x columns matrix with
    /// leading dimension ld (the bias gradient of a linear layer). One thread per column, 1D grid;
    /// with beta == 0, out is not read.</summary>
    [Kernel]
    public static void ColumnSum(ReadOnlyView<float> x, int rows, int columns, int ld, float beta, ArrayView<float> output)
    {
        int j = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (j < columns)
        {
            float s = 0f;
            for (int i = 0; i < rows; i++)
            {
                s += x[(i * ld) + j];
            }
            output[j] = beta == 0f ? s : KMath.Fma(beta, output[j], s);
        }
    }

    /// <summary>Element (row, column) of a logical rows x columns matrix stored row-major with leading
    /// dimension ld (rowMajor = 1) or transposed (rowMajor = 0: at column * ld + row); 0 outside.</summary>
    private static float LoadOp(ReadOnlyView<float> matrix, int ld, int transposed, int row, int column, int rows, int columns)
    {
        float value = 0f;
        if (row < rows && column < columns)
        {
            value = transposed != 0 ? matrix[(column * ld) + row] : matrix[(row * ld) + column];
        }
        return value;
    }

    private static void Store(ArrayView<float> c, int ldc, ReadOnlyView<float> bias, int row, int column, int rows, int columns, float alpha, float beta, float value)
    {
        if (row < rows && column < columns)
        {
            int index = (row * ldc) + column;
            float result = alpha * value;
            if (beta != 0f)
            {
                result = KMath.Fma(beta, c[index], result);
            }
            if (bias.Length > 0)
            {
                result += bias[column];
            }
            c[index] = result;
        }
    }
}
