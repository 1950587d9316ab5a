namespace GanEngine.Kernels.Blas;

/// <summary>
/// TF32 tensor-core GEMM with a fragment-ordered shared layout (the successor of
/// <see cref="TensorCoreGemm.Tf32Gemm"/>): C = alpha * A * B + beta * C, row-major and packed.
/// </summary>
/// <remarks>
/// <para><b>Versions</b> (llm.c style; the bench runs each one, see docs/benchmarks-notes-tf32.md):</para>
/// <list type="bullet">
/// <item>v0 <see cref="TensorCoreGemm.Tf32Gemm"/>: block 128 x 128, BK 16, 8 warps of 64 x 32, row-major
/// padded shared tiles; a fragment costs one 4-byte shared load per register (24 loads per 16 mma).</item>
/// <item>v1 (this kernel): shared tiles are stored in the order the <c>mma</c> fragments are read, so
/// each lane's four A values (one 16 x 8 A tile) and four B values (two 8 x 8 B tiles) are 16
/// contiguous, 16-byte aligned bytes: the four scalar reads become one <c>ld.shared.v4</c> (NVVM merges
/// them). Per warp tile of TM x TN mma tiles and K step 8 that is TM + TN/2 shared loads instead of
/// 4 TM + 2 TN. The tile shape is a specialization: WM x WN warps, each TM x TN mma tiles.</item>
/// </list>
/// <para><b>Chunk layout</b>: a chunk holds one K step (8) of a 16-row A tile, or of a 16-column pair of
/// B tiles: 32 lanes x 4 floats, lane L at <c>(L / 8) * 36 + (L % 8) * 4</c> (4 pad floats after every
/// 8 lanes, so a chunk is 144 floats). A reader's 8-lane phase covers 128 contiguous bytes: no
/// conflicts. Slot j of lane L = 4g + q: A (row, k) = (g + 8 (j &amp; 1), q + 4 (j / 2)); B (k, column) =
/// (q + 4 (j &amp; 1), g + 8 (j / 2)).</para>
/// <para><b>Staging</b>: each warp loads units of 32 elements. An A unit is rows {2p, 2p+1, 2p+8, 2p+9}
/// of one 16-row tile times the 8 k of one K step; a B unit is k rows {q0, q0 + 4} times 16 consecutive
/// columns. Both read whole 32-byte sectors from global memory, and both scatter into 32 distinct banks
/// (the pad makes the B stores conflict-free). Loads go to registers right after the barrier and are
/// stored (rounded to TF32) at the top of the next step: two shared stages, one barrier per BK.</para>
/// <para>Constraints: BK a multiple of 8; WM * WN a multiple of 4; TN even; WM * TM and WN * TN / 2
/// multiples of WM * WN / 4. Dynamic shared memory: <see cref="SharedBytes"/>. Ragged M, N, K: loads
/// outside read 0, stores outside are skipped.</para>
/// </remarks>
public static partial class TensorCoreGemmTiled
{
    private const int Chunk = 144;     // floats per fragment chunk (128 + 16 pad)

    /// <summary>Dynamic shared bytes for a specialization: two stages of A and B chunks, or the
    /// BM x (BN + 8) epilogue tile if larger.</summary>
    public static int SharedBytes(int wm, int wn, int tm, int tn, int bk) =>
        Math.Max(2 * (((wm * tm) + (wn * tn / 2)) * (bk / 8) * Chunk), (wm * tm * 16) * ((wn * tn * 8) + 8)) * sizeof(float);

    /// <summary>Launch shape: grid over (N / BN, M / BM), WM * WN warps.</summary>
    public static LaunchConfig ConfigFor(int m, int n, int wm, int wn, int tm, int tn, int bk)
    {
        int bm = wm * tm * 16, bn = wn * tn * 8;
        return new LaunchConfig(new Dim3((n + bn - 1) / bn, (m + bm - 1) / bm), new Dim3(wm * wn * 32), SharedBytes(wm, wn, tm, tn, bk));
    }

    /// <summary>C = alpha * A * B + beta * C with TF32 tensor cores (see the class remarks).</summary>
    [Kernel]
    [LaunchBounds(256, 1)]
    public static void Tf32Gemm(
        int m, int n, int k, float alpha,
        ReadOnlyView<float> a, ReadOnlyView<float> b,
        float beta, ArrayView<float> c,
        [Specialization] int WM, [Specialization] int WN,
        [Specialization] int TM, [Specialization] int TN, [Specialization] int BK)
    {
        var smem = Shared.Dynamic<float>();

        Span<float> acc = stackalloc float[TM * TN * 4];
        Span<float> fragA = stackalloc float[TM * 4];
        Span<float> fragB = stackalloc float[TN * 2];
        Span<float> nextA = stackalloc float[TM * (BK / 8) * 4 / WN];
        Span<float> nextB = stackalloc float[TN * (BK / 8) * 2 / WM];

        int tid = ThreadIdx.X;
        int lane = tid & 31;
        int warp = tid >> 5;
        int warpM = warp / WN;
        int warpN = warp % WN;
        int rowStart = BlockIdx.Y * (WM * TM * 16);
        int columnStart = BlockIdx.X * (WN * TN * 8);
        int tiles = (k + BK - 1) / BK;
        int aFloats = (WM * TM) * (BK / 8) * Chunk;            // A chunks of one stage
        int stageFloats = aFloats + ((WN * TN / 2) * (BK / 8) * Chunk);

        // Staging map (unit u = l * NW + warp; p / q0 = warp & 3; tile index = l * NW/4 + warp / 4).
        int p = warp & 3;
        int wq = warp >> 2;
        int b3 = (lane >> 3) & 1;
        int b4 = lane >> 4;
        int kkA = lane & 7;
        int rowA = rowStart + (wq * 16) + (2 * p) + b3 + (8 * b4);         // plus 16 * (tile part of l)
        int storeA = (wq * Chunk) + (p * 36) + (b3 * 16) + (4 * (kkA & 3)) + b4 + (2 * (kkA >> 2));
        int nn = lane & 15;
        int h = lane >> 4;
        int gB = nn & 7;
        int columnB = columnStart + (wq * 16) + nn;                        // plus 16 * (tile part of l)
        int kB = p + (4 * h);                                              // plus 8 * (step part of l)
        int storeB = aFloats + (wq * Chunk) + ((gB >> 1) * 36) + ((gB & 1) * 16) + (4 * p) + h + (2 * (nn >> 3));
        // Fragment reads: lane's 16 bytes inside a chunk.
        int readLane = ((lane >> 3) * 36) + ((lane & 7) * 4);

        for (int i = 0; i < TM * TN * 4; i++)
        {
            acc[i] = 0f;
        }

        // Prefetch tile 0.
        for (int l = 0; l < TM * (BK / 8) * 4 / WN; l++)
        {
            int v = l * (WM * WN / 4);
            nextA[l] = LoadOrZero(a, rowA + ((v % (WM * TM)) * 16), ((v / (WM * TM)) * 8) + kkA, m, k);
        }
        for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
        {
            int v = l * (WM * WN / 4);
            nextB[l] = LoadOrZero(b, ((v / (WN * TN / 2)) * 8) + kB, columnB + ((v % (WN * TN / 2)) * 16), k, n);
        }

        for (int t = 0; t < tiles; t++)
        {
            int stage = (t & 1) * stageFloats;
            for (int l = 0; l < TM * (BK / 8) * 4 / WN; l++)
            {
                int v = l * (WM * WN / 4);
                int chunk = ((v / (WM * TM)) * (WM * TM)) + (v % (WM * TM));
                smem[stage + storeA + (chunk * Chunk)] = Mma.ToTf32(nextA[l]);
            }
            for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
            {
                int v = l * (WM * WN / 4);
                int chunk = ((v / (WN * TN / 2)) * (WN * TN / 2)) + (v % (WN * TN / 2));
                smem[stage + storeB + (chunk * Chunk)] = Mma.ToTf32(nextB[l]);
            }
            Group.Barrier();

            if (t + 1 < tiles)
            {
                int k0 = (t + 1) * BK;
                for (int l = 0; l < TM * (BK / 8) * 4 / WN; l++)
                {
                    int v = l * (WM * WN / 4);
                    nextA[l] = LoadOrZero(a, rowA + ((v % (WM * TM)) * 16), k0 + ((v / (WM * TM)) * 8) + kkA, m, k);
                }
                for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
                {
                    int v = l * (WM * WN / 4);
                    nextB[l] = LoadOrZero(b, k0 + ((v / (WN * TN / 2)) * 8) + kB, columnB + ((v % (WN * TN / 2)) * 16), k, n);
                }
            }

            for (int s = 0; s < BK / 8; s++)
            {
                for (int i = 0; i < TM; i++)
                {
                    int at = stage + ((((s * (WM * TM)) + (warpM * TM) + i) * Chunk) + readLane);
                    fragA[(i * 4) + 0] = smem[at + 0];
                    fragA[(i * 4) + 1] = smem[at + 1];
                    fragA[(i * 4) + 2] = smem[at + 2];
                    fragA[(i * 4) + 3] = smem[at + 3];
                }
                for (int i = 0; i < TN / 2; i++)
                {
                    int at = stage + aFloats + ((((s * (WN * TN / 2)) + (warpN * (TN / 2)) + i) * Chunk) + readLane);
                    fragB[(i * 4) + 0] = smem[at + 0];
                    fragB[(i * 4) + 1] = smem[at + 1];
                    fragB[(i * 4) + 2] = smem[at + 2];
                    fragB[(i * 4) + 3] = smem[at + 3];
                }
                for (int i = 0; i < TM; i++)
                {
                    for (int j = 0; j < TN; j++)
                    {
                        int at = ((i * TN) + j) * 4;
                        MmaTf32A fa;
                        fa.A0 = fragA[(i * 4) + 0];
                        fa.A1 = fragA[(i * 4) + 1];
                        fa.A2 = fragA[(i * 4) + 2];
                        fa.A3 = fragA[(i * 4) + 3];
                        MmaTf32B fb;
                        fb.B0 = fragB[(j * 2) + 0];
                        fb.B1 = fragB[(j * 2) + 1];
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

        // Epilogue through shared memory (v3): accumulator (i, j) holds rows r, r + 8 and columns c, c + 1
        // with r = 16 (warpM TM + i) + g and c = 8 (warpN TN + j) + 2 q. Each lane writes its
        // accumulators to a BM x (BN + 8) shared tile at a constant offset from one base (a tiny body,
        // so NVCC unrolls it and acc stays in registers; v1/v2 kept a 512-byte local copy of acc for a
        // partly unrolled epilogue loop), then the block stores the tile row by row: coalesced, and
        // the bounds checks sit in a loop that touches no register array.
        int g = lane >> 2;
        int q = lane & 3;
        Group.Barrier();                      // every warp is done reading the last stage
        int outBase = ((((warpM * TM * 16) + g) * ((WN * TN * 8) + 8)) + (warpN * TN * 8)) + (2 * q);
        for (int slot = 0; slot < 4; slot++)
        {
            for (int i = 0; i < TM; i++)
            {
                for (int j = 0; j < TN; j++)
                {
                    smem[outBase + ((((i * 16) + ((slot >> 1) * 8)) * ((WN * TN * 8) + 8)) + (j * 8) + (slot & 1))] = acc[(((i * TN) + j) * 4) + slot];
                }
            }
        }
        Group.Barrier();
        for (int e = tid; e < (WM * TM * 16) * (WN * TN * 8); e += WM * WN * 32)
        {
            int r = e / (WN * TN * 8);
            int col = e % (WN * TN * 8);
            StoreScaled(c, rowStart + r, columnStart + col, m, n, alpha, beta, smem[(r * ((WN * TN * 8) + 8)) + col]);
        }
    }

    private static float LoadOrZero(ReadOnlyView<float> matrix, int row, int column, int rows, int columns)
    {
        float value = 0f;
        if (row < rows && column < columns)
        {
            value = matrix[(row * columns) + column];
        }
        return value;
    }

    private static void StoreScaled(ArrayView<float> c, int row, int column, int rows, int columns, float alpha, float beta, float value)
    {
        if (row < rows && column < columns)
        {
            int index = (row * columns) + column;
            c[index] = beta == 0f ? alpha * value : KMath.Fma(beta, c[index], alpha * value);
        }
    }
}
