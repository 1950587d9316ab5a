namespace GanEngine.Kernels.Blas;

/// <summary>
/// Strict-FP32 matrix product on the CUDA cores (FFMA), no tensor cores.
/// </summary>
/// <remarks>
/// <para><b>Sgemm</b>: C[M,N] = alpha * A[M,K] * B[K,N] + beta * C[M,N], all row-major and packed
/// (leading dimensions K, N, N). With beta == 0, C is not read (it may hold NaN).</para>
/// <para><b>Tiling</b> (the usual specialization: BM = BN = 128, BK = 8, TM = TN = 8, 256 threads):</para>
/// <list type="bullet">
/// <item>Block tile BM x BN of C; grid (ceil(N/BN), ceil(M/BM)); 1D blocks of
/// (BM/TM) * (BN/TN) threads, arranged as a (BM/TM) x (BN/TN) grid: ty = tid / (BN/TN), tx = tid % (BN/TN).</item>
/// <item>Thread tile TM x TN in registers (<c>acc</c>). The thread's rows are <c>ty + i*(BM/TM)</c> and
/// its columns <c>tx + j*(BN/TN)</c>: strided, not contiguous, so that at every step the lanes of a warp
/// read consecutive shared-memory words (conflict-free with 4-byte loads, which is all the language has).</item>
/// <item>Per K step of BK: the A tile is stored transposed in shared memory (As[k][m], rows padded by 4
/// words so the transposing stores do not collide in banks) and the B tile as is (Bs[k][n]); for each
/// of the BK columns a thread reads TM values of A and TN of B into registers and does TM*TN FMAs.</item>
/// <item>Double buffering: two shared stages, one barrier per K step. Step t stores the prefetched
/// registers to stage t % 2, waits at the barrier, issues the global loads of tile t + 1 into registers,
/// then does the arithmetic on stage t % 2: the global latency hides behind TM*TN*BK FMAs.</item>
/// <item>Ragged M, N, K: out-of-range loads read 0, out-of-range stores are skipped; no early return
/// (every thread reaches every barrier).</item>
/// </list>
/// <para>Each stage loads BM*BK (A) and BK*BN (B) elements; both must be multiples of the thread count.</para>
/// </remarks>
public static partial class SimtGemm
{
    /// <summary>C = alpha * A * B + beta * C, FP32 (see the class remarks for the tiling).</summary>
    [Kernel]
    [LaunchBounds(256, 2)]
    public static void Sgemm(
        int m, int n, int k, float alpha,
        ReadOnlyView<float> a, ReadOnlyView<float> b,
        float beta, ArrayView<float> c,
        [Specialization] int BM, [Specialization] int BN, [Specialization] int BK,
        [Specialization] int TM, [Specialization] int TN)
    {
        // Shared stages: A transposed (BK rows of BM + 4), B as is (BK rows of BN).
        var tileA = Shared.Allocate<float>(2 * BK * (BM + 4));
        var tileB = Shared.Allocate<float>(2 * BK * BN);

        // Per-thread registers: the C tile, one column of A and one row of B, and the prefetched
        // share of the next A and B tiles.
        Span<float> acc = stackalloc float[TM * TN];
        Span<float> fragA = stackalloc float[TM];
        Span<float> fragB = stackalloc float[TN];
        Span<float> nextA = stackalloc float[BM * BK / ((BM / TM) * (BN / TN))];
        Span<float> nextB = stackalloc float[BK * BN / ((BM / TM) * (BN / TN))];

        int tid = ThreadIdx.X;
        int tx = tid % (BN / TN);
        int ty = tid / (BN / TN);
        int rowStart = BlockIdx.Y * BM;
        int columnStart = BlockIdx.X * BN;
        int tiles = (k + BK - 1) / BK;

        for (int i = 0; i < TM * TN; i++)
        {
            acc[i] = 0f;
        }

        // Prefetch tile 0 into registers. Consecutive threads read consecutive columns: coalesced.
        for (int l = 0; l < BM * BK / ((BM / TM) * (BN / TN)); l++)
        {
            int index = tid + (l * (BM / TM) * (BN / TN));
            nextA[l] = LoadOrZero(a, rowStart + (index / BK), index % BK, m, k);
        }
        for (int l = 0; l < BK * BN / ((BM / TM) * (BN / TN)); l++)
        {
            int index = tid + (l * (BM / TM) * (BN / TN));
            nextB[l] = LoadOrZero(b, index / BN, columnStart + (index % BN), k, n);
        }

        for (int t = 0; t < tiles; t++)
        {
            // Registers -> shared stage t % 2 (A transposed). The barrier of the previous step
            // guarantees nobody still reads this stage (it was last read two steps ago).
            int baseA = (t & 1) * BK * (BM + 4);
            int baseB = (t & 1) * BK * BN;
            for (int l = 0; l < BM * BK / ((BM / TM) * (BN / TN)); l++)
            {
                int index = tid + (l * (BM / TM) * (BN / TN));
                tileA[baseA + ((index % BK) * (BM + 4)) + (index / BK)] = nextA[l];
            }
            for (int l = 0; l < BK * BN / ((BM / TM) * (BN / TN)); l++)
            {
                int index = tid + (l * (BM / TM) * (BN / TN));
                tileB[baseB + index] = nextB[l];
            }
            Group.Barrier();

            // Issue the global loads of tile t + 1 now; they complete behind the FMAs below.
            if (t + 1 < tiles)
            {
                int k0 = (t + 1) * BK;
                for (int l = 0; l < BM * BK / ((BM / TM) * (BN / TN)); l++)
                {
                    int index = tid + (l * (BM / TM) * (BN / TN));
                    nextA[l] = LoadOrZero(a, rowStart + (index / BK), k0 + (index % BK), m, k);
                }
                for (int l = 0; l < BK * BN / ((BM / TM) * (BN / TN)); l++)
                {
                    int index = tid + (l * (BM / TM) * (BN / TN));
                    nextB[l] = LoadOrZero(b, k0 + (index / BN), columnStart + (index % BN), k, n);
                }
            }

            // TM x TN outer products over the BK columns of this stage.
            for (int kk = 0; kk < BK; kk++)
            {
                for (int i = 0; i < TM; i++)
                {
                    fragA[i] = tileA[baseA + (kk * (BM + 4)) + ty + (i * (BM / TM))];
                }
                for (int j = 0; j < TN; j++)
                {
                    fragB[j] = tileB[baseB + (kk * BN) + tx + (j * (BN / TN))];
                }
                for (int i = 0; i < TM; i++)
                {
                    for (int j = 0; j < TN; j++)
                    {
                        acc[(i * TN) + j] = KMath.Fma(fragA[i], fragB[j], acc[(i * TN) + j]);
                    }
                }
            }
        }

        // Epilogue: C = alpha * acc + beta * C, skipping rows and columns past M and N.
        for (int i = 0; i < TM; i++)
        {
            int row = rowStart + ty + (i * (BM / TM));
            for (int j = 0; j < TN; j++)
            {
                int column = columnStart + tx + (j * (BN / TN));
                if (row < m && column < n)
                {
                    int index = (row * n) + column;
                    float value = alpha * acc[(i * TN) + j];
                    if (beta != 0f)
                    {
                        value = KMath.Fma(beta, c[index], value);
                    }
                    c[index] = value;
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
}
