namespace GanEngine.Kernels.Blas;

/// <summary>
/// Matrix product on the tensor cores in TF32 (<c>mma.sync m16n8k8</c>), FP32 accumulation.
/// </summary>
/// <remarks>
/// <para><b>Tf32Gemm</b>: C[M,N] = alpha * A[M,K] * B[K,N] + beta * C[M,N], row-major and packed
/// (leading dimensions K, N, N); inputs are rounded to TF32 (<see cref="Mma.ToTf32"/>, round to
/// nearest) as they are staged, products are summed in FP32. With beta == 0, C is not read.</para>
/// <para><b>Tiling</b>:</para>
/// <list type="bullet">
/// <item>Block tile 128 x 128 of C, K step 16; grid (ceil(N/128), ceil(M/128)); 256 threads = 8 warps
/// as a 2 x 4 grid of warp tiles of 64 x 32.</item>
/// <item>A warp tile is 4 x 4 mma tiles of 16 x 8: per K step of 8 a warp loads 4 A fragments and 4 B
/// fragments from shared memory and issues 16 <c>mma</c>; each thread keeps 4 * 4 * 4 = 64 FP32
/// accumulators in registers.</item>
/// <item>Shared memory: A row-major with rows padded to 16 + 4 words and B row-major with rows padded to
/// 128 + 8 words. With those pitches the fragment reads (lane = 4g + t reads A[g][t] and B[t][g]) fall
/// in 32 distinct banks.</item>
/// <item>Double buffering as in <see cref="SimtGemm"/>: two shared stages, one barrier per K step; the
/// next tile's global loads are issued into registers right after the barrier and stored (rounded to
/// TF32) at the top of the next step.</item>
/// <item>Ragged M, N, K: out-of-range loads read 0, out-of-range stores are skipped; every thread
/// reaches every barrier and every <c>mma</c> (they sit in loops with block-uniform bounds).</item>
/// </list>
/// <para>Shared memory: 2 * (128 * 20 + 16 * 136) floats = 37,888 bytes (under the 48 KiB of static
/// shared memory).</para>
/// </remarks>
public static partial class TensorCoreGemm
{
    private const int BM = 128;          // block tile rows
    private const int BN = 128;          // block tile columns
    private const int BK = 16;           // K per shared stage
    private const int PitchA = BK + 4;   // padded row pitch of the A stage
    private const int PitchB = BN + 8;   // padded row pitch of the B stage
    private const int Threads = 256;
    private const int WarpTileM = 64;    // 2 warps along M
    private const int WarpTileN = 32;    // 4 warps along N
    private const int TilesM = 4;        // 16-row mma tiles per warp tile
    private const int TilesN = 4;        // 8-column mma tiles per warp tile
    private const int LoadsA = BM * BK / Threads;   // 8 A elements per thread per stage
    private const int LoadsB = BK * BN / Threads;   // 8 B elements per thread per stage

    /// <summary>C = alpha * A * B + beta * C with TF32 tensor cores (see the class remarks).</summary>
    [Kernel]
    [LaunchBounds(256, 1)]
    public static void Tf32Gemm(
        int m, int n, int k, float alpha,
        ReadOnlyView<float> a, ReadOnlyView<float> b,
        float beta, ArrayView<float> c)
    {
        var stageA = Shared.Allocate<float>(2 * BM * PitchA);
        var stageB = Shared.Allocate<float>(2 * BK * PitchB);

        Span<float> acc = stackalloc float[TilesM * TilesN * 4];
        Span<float> fragA = stackalloc float[TilesM * 4];
        Span<float> fragB = stackalloc float[TilesN * 2];
        Span<float> nextA = stackalloc float[LoadsA];
        Span<float> nextB = stackalloc float[LoadsB];

        int tid = ThreadIdx.X;
        int lane = tid & 31;
        int warp = tid >> 5;
        int g = lane >> 2;                          // fragment row group
        int q = lane & 3;                           // thread in group
        int warpRow = (warp / 4) * WarpTileM;       // within the block tile
        int warpColumn = (warp % 4) * WarpTileN;
        int rowStart = BlockIdx.Y * BM;
        int columnStart = BlockIdx.X * BN;
        int tiles = (k + BK - 1) / BK;

        for (int i = 0; i < TilesM * TilesN * 4; i++)
        {
            acc[i] = 0f;
        }

        // Prefetch tile 0 (coalesced: consecutive threads, consecutive columns).
        for (int l = 0; l < LoadsA; l++)
        {
            int index = tid + (l * Threads);
            nextA[l] = LoadOrZero(a, rowStart + (index / BK), index % BK, m, k);
        }
        for (int l = 0; l < LoadsB; l++)
        {
            int index = tid + (l * Threads);
            nextB[l] = LoadOrZero(b, index / BN, columnStart + (index % BN), k, n);
        }

        for (int t = 0; t < tiles; t++)
        {
            // Registers -> stage t % 2, rounded to TF32. The previous step's barrier guarantees that
            // this stage (last read two steps ago) is free.
            int baseA = (t & 1) * BM * PitchA;
            int baseB = (t & 1) * BK * PitchB;
            for (int l = 0; l < LoadsA; l++)
            {
                int index = tid + (l * Threads);
                stageA[baseA + ((index / BK) * PitchA) + (index % BK)] = Mma.ToTf32(nextA[l]);
            }
            for (int l = 0; l < LoadsB; l++)
            {
                int index = tid + (l * Threads);
                stageB[baseB + ((index / BN) * PitchB) + (index % BN)] = Mma.ToTf32(nextB[l]);
            }
            Group.Barrier();

            // Issue the next tile's global loads; they land while the tensor cores work.
            if (t + 1 < tiles)
            {
                int k0 = (t + 1) * BK;
                for (int l = 0; l < LoadsA; l++)
                {
                    int index = tid + (l * Threads);
                    nextA[l] = LoadOrZero(a, rowStart + (index / BK), k0 + (index % BK), m, k);
                }
                for (int l = 0; l < LoadsB; l++)
                {
                    int index = tid + (l * Threads);
                    nextB[l] = LoadOrZero(b, k0 + (index / BN), columnStart + (index % BN), k, n);
                }
            }

            for (int ks = 0; ks < BK; ks += 8)
            {
                // A fragments: (g, q), (g + 8, q), (g, q + 4), (g + 8, q + 4) of each 16 x 8 tile.
                for (int mi = 0; mi < TilesM; mi++)
                {
                    int row = baseA + ((warpRow + (mi * 16) + g) * PitchA) + ks + q;
                    fragA[(mi * 4) + 0] = stageA[row];
                    fragA[(mi * 4) + 1] = stageA[row + (8 * PitchA)];
                    fragA[(mi * 4) + 2] = stageA[row + 4];
                    fragA[(mi * 4) + 3] = stageA[row + (8 * PitchA) + 4];
                }
                // B fragments: (q, g), (q + 4, g) of each 8 x 8 tile (k x n).
                for (int ni = 0; ni < TilesN; ni++)
                {
                    int column = baseB + ((ks + q) * PitchB) + warpColumn + (ni * 8) + g;
                    fragB[(ni * 2) + 0] = stageB[column];
                    fragB[(ni * 2) + 1] = stageB[column + (4 * PitchB)];
                }
                for (int mi = 0; mi < TilesM; mi++)
                {
                    for (int ni = 0; ni < TilesN; ni++)
                    {
                        int at = ((mi * TilesN) + ni) * 4;
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

        // Epilogue: accumulator (mi, ni) holds C rows r and r + 8, columns c and c + 1, where
        // r = warpRow + 16 mi + g and c = warpColumn + 8 ni + 2 q.
        for (int mi = 0; mi < TilesM; mi++)
        {
            for (int ni = 0; ni < TilesN; ni++)
            {
                int at = ((mi * TilesN) + ni) * 4;
                int row = rowStart + warpRow + (mi * 16) + g;
                int column = columnStart + warpColumn + (ni * 8) + (2 * q);
                StoreScaled(c, row, column, m, n, alpha, beta, acc[at + 0]);
                StoreScaled(c, row, column + 1, m, n, alpha, beta, acc[at + 1]);
                StoreScaled(c, row + 8, column, m, n, alpha, beta, acc[at + 2]);
                StoreScaled(c, row + 8, column + 1, m, n, alpha, beta, acc[at + 3]);
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

    /// <summary>c[row, column] = alpha * value + beta * c[row, column] inside the matrix; C is not read
    /// when beta is 0.</summary>
    private static void StoreScaled(ArrayView<float> c, int row, int column, int rows, int columns, float alpha, float beta, float value)
    {
        if (row < rows && column < columns)
        {
            int index = (row * columns) + column;
            float result = alpha * value;
            if (beta != 0f)
            {
                result = KMath.Fma(beta, c[index], result);
            }
            c[index] = result;
        }
    }
}
