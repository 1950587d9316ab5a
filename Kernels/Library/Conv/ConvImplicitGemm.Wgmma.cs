namespace GanEngine.Kernels.Conv;

/// <summary>
/// The warpgroup (<c>wgmma</c>, sm_90a) version of <see cref="ConvImplicitGemm.Tf32"/>'s 256 x 128 tile for the forward and
/// dgrad forms (MODES 0 and 1) with the fast gather (geometry compiled in).
/// </summary>
/// <remarks>
/// <para>Why: on the H200 the <c>mma.sync</c> kernel is latency-bound with its L1/shared unit near saturation: per K tile
/// each thread of the 256 x 128 tile issues 48 gathers, 48 shared stores and 32 16-byte fragment loads beside the
/// warp's 128 <c>mma.sync</c> (docs/benchmarks-notes-conv.md, "cp.async staging ring"). <c>wgmma</c> reads both operands
/// from shared memory itself and runs asynchronously: the fragment loads and the mma issue leave the threads, whose work
/// is now the gather of the next tile while the tensor cores work on this one.</para>
/// <para>Layout: a stage holds A (256 rows x 32 k) then B (128 columns x 32 k), both K-major with the 128-byte swizzle
/// (<see cref="Wgmma"/>): element (r, k) at <c>(r / 8) 256 + (r % 8) 32 + ((k / 4) ^ (r % 8)) 4 + k % 4</c> from the 1 KiB
/// aligned origin. RING 0: thread t owns A row t (8 16-byte stores per tile); RING 1: lanes cover 8 rows x 4 k, so a warp's
/// 4-byte cp.async copies fill 32 distinct banks. B: element i of a thread is column <c>16 warp + lane / 4 + 8 (i / 8)</c>,
/// k <c>4 (i % 8) + lane % 4</c>; with VB 1, 16-byte copies of 4 consecutive k instead (weights read directly in MODE 0,
/// packed per stride phase by <see cref="PackDgradWeights"/> in MODE 1): the kernel is bound by copy requests through L1. K order within a tile is the fast gather's (MODE 0: 8 channels x KW taps of one kernel
/// row; MODE 1: 32 / T channels x the T phase taps).</para>
/// <para>Pipelines, one barrier per K tile, one wgmma group left in flight (<c>wait_group 1</c>). RING 0 (three stages):
/// iteration u stores tile u - 1 (gathered into registers during iteration u - 1), fences it for the async proxy, waits at
/// the barrier, starts the gather of tile u and issues tile u - 1's eight <c>wgmma</c> (two 64-row halves per warpgroup x
/// four k8 steps). RING 1 (four stages, the default, measured faster): tile u lands by cp.async two iterations after its
/// issue. In both a stage is refilled only after every warpgroup retired the tile that last read it, before an earlier
/// barrier.</para>
/// </remarks>
public static partial class ConvImplicitGemm
{
    /// <summary>Rows (M) of the warpgroup tile: two warpgroups of 128.</summary>
    public const int WgRows = 256;

    /// <summary>Columns (N) of the warpgroup tile: one m64n128 per 64 rows.</summary>
    public const int WgColumns = 128;

    private const int WgK = 32;
    private const int WgStages = 3;
    private const int WgStageFloats = (WgRows + WgColumns) * WgK;
    private const int WgGroup = 8 * WgK;

    /// <summary>Stages of <see cref="Tf32Wg"/>'s cp.async ring (its RING specialization 1).</summary>
    public const int WgRingStages = 4;

    /// <summary>Dynamic shared bytes of <see cref="Tf32Wg"/> for its RING specialization (0: three stages staged through
    /// registers; 1: a cp.async ring of <see cref="WgRingStages"/>), or the epilogue tile if larger.</summary>
    public static int Tf32WgSharedBytes(int ring) =>
        (Math.Max((ring != 0 ? WgRingStages : WgStages) * WgStageFloats, WgColumns * (WgRows + 4)) * sizeof(float)) + 1024;

    /// <summary>TF32 implicit GEMM of MODES 0 and 1 on <c>wgmma</c> (see the remarks); same arguments and outputs as
    /// <see cref="Tf32"/> with the geometry compiled in (the host checks the fast gather applies). Grid (ceil(N/128),
    /// ceil(M/256), phases or splits), 256 threads.</summary>
    [Kernel]
    [LaunchBounds(256, 1)]
    public static void Tf32Wg(
        int mArg, int kSplit, int hasBias,
        ReadOnlyView<float> a, ReadOnlyView<float> b, ReadOnlyView<float> bias, ArrayView<float> output,
        [Specialization] int MODE, [Specialization] int KH, [Specialization] int KW, [Specialization] int S,
        [Specialization] int GC, [Specialization] int GH, [Specialization] int GW,
        [Specialization] int GOC, [Specialization] int GOH, [Specialization] int GOW, [Specialization] int GPAD,
        [Specialization] int RING, [Specialization] int VB)
    {
        int c = GC;
        int h = GH;
        int w = GW;
        int oc = GOC;
        int oh = GOH;
        int ow = GOW;
        int pad = GPAD;
        int taps = ((KH + S - 1) / S) * ((KW + S - 1) / S);
        int twP = (KW + S - 1) / S;
        int n = MODE == 0 ? GOC : GC;
        int k = MODE == 0 ? GC * KH * KW : GOC * taps;
        var smem = Shared.Dynamic<float>();
        int origin = Wgmma.AlignedBase(smem);

        Span<float> acc = stackalloc float[128];
        Span<float> nextA = stackalloc float[32];
        Span<float> nextB = stackalloc float[16];

        int tid = ThreadIdx.X;
        int lane = tid & 31;
        int warp = tid >> 5;
        int rowStart = BlockIdx.Y * WgRows;
        int columnStart = BlockIdx.X * WgColumns;
        int z = BlockIdx.Z;
        int ph = MODE == 1 ? z / S : 0;
        int pw = MODE == 1 ? z % S : 0;
        int rows = MODE == 1 ? PhaseRows(h, ph, S) * PhaseRows(w, pw, S) * (mArg / (((h + S - 1) / S) * ((w + S - 1) / S))) : mArg;
        int kBegin = MODE == 0 ? z * kSplit : 0;
        int kEnd = MODE == 0 ? KMath.Min(k, kBegin + kSplit) : k;
        int tiles = (kEnd - kBegin + WgK - 1) / WgK;
        int khF = MODE == 1 ? (ph + pad) % S : 0;
        int kwF = MODE == 1 ? (pw + pad) % S : 0;

        // A: this thread's row, its bounds hoisted into a mask over kx (MODE 0) or over the phase taps (MODE 1).
        int row = rowStart + tid;
        int rowBase = RowBase(MODE, S, row, rows, c, h, w, oc, oh, ow, ph, pw);
        int rowY = RowY(MODE, S, row, h, w, oh, ow, pad, ph, pw);
        int rowX = RowX(MODE, S, row, w, ow, pad, pw);
        int maskA = WgRowMask(MODE, KH, KW, S, rowBase, rowY, rowX, w, oh, ow, khF, kwF);
        int ptrA = MODE == 0 ? 0 : rowBase + (rowY * ow) + rowX;

        // B: element i is column col0 + 8 (i / 8), k = 4 (i % 8) + lane % 4 of the tile.
        int kq = lane & 3;
        int col0 = columnStart + (16 * warp) + (lane >> 2);
        int okB0 = col0 < n ? 1 : 0;
        int okB1 = col0 + 8 < n ? 1 : 0;
        int ptrB = MODE == 0 ? col0 * (c * KH * KW) : (col0 * KH * KW) + (khF * KW) + kwF;
        int colStrideB = 8 * (MODE == 0 ? c * KH * KW : KH * KW);

        // k = 4 kc + kq splits every fast-gather offset into this lane's part (kq) plus a compile-time part (kc): T and the
        // kernel widths are powers of two, so no division carries between them. Copies then share one address per row.
        int laneA = WgAOffset(MODE, KW, kq, h, w, oh, ow, taps, twP);
        int laneB = WgBOffset(MODE, KH, KW, S, kq, c);

        // VB 1 (RING 1): B as 16-byte copies, a quarter of the copy requests. Thread t copies columns t / 8 + 32 j (j = 0..3),
        // chunk t % 8 (4 consecutive k) of the tile, contiguous in global and shared memory: a warp reads 4 whole 128-byte
        // column runs and writes 4 swizzled 128-byte rows. MODE 0 reads the weights (a chunk is one channel's kernel row);
        // MODE 1 reads them packed by PackDgradWeights ([phase][column][k], zeros at taps outside the kernel).
        bool vecB = RING != 0 && VB != 0;
        int colV = columnStart + (tid >> 3);
        int ptrBV = MODE == 0 ? (colV * c * KH * KW) + ((tid & 7) * KH * KW) : (z * n * k) + (colV * k) + ((tid & 7) * 4);
        int colStrideBV = MODE == 0 ? c * KH * KW : k;
        int storeBV = origin + (WgRows * WgK) + ((tid >> 6) * WgGroup) + (((tid >> 3) & 7) * 32) + (((tid & 7) ^ ((tid >> 3) & 7)) * 4);

        // Shared offsets (128-byte swizzle: chunk c of row r at c ^ (r % 8)): A row tid, B elements of this lane (see the remarks).
        int storeA = origin + ((tid >> 3) * WgGroup) + ((tid & 7) * 32);
        int swA = tid & 7;
        int storeB = origin + (WgRows * WgK) + (warp * 2 * WgGroup) + ((lane >> 2) * 32) + kq;
        int swB = lane >> 2;
        int wg = tid >> 7;

        // RING 1: A through cp.async with lanes over (8 rows) x (4 k), so that a warp's 4-byte copies land in 32 consecutive
        // floats of one core matrix (conflict-free; lanes along rows would hit 8 banks 4 times). Thread owns rows
        // 8 (warp + 8 p) + lane / 4, p = 0..3, and k = 4 kc + lane % 4 of each.
        Span<int> rBase = stackalloc int[4];
        Span<int> rY = stackalloc int[4];
        Span<int> rX = stackalloc int[4];
        Span<int> rMask = stackalloc int[4];
        if (RING != 0)
        {
            for (int p = 0; p < 4; p++)
            {
                int r = rowStart + (8 * (warp + (8 * p))) + (lane >> 2);
                int rb = RowBase(MODE, S, r, rows, c, h, w, oc, oh, ow, ph, pw);
                int ry = RowY(MODE, S, r, h, w, oh, ow, pad, ph, pw);
                int rx = RowX(MODE, S, r, w, ow, pad, pw);
                rMask[p] = WgRowMask(MODE, KH, KW, S, rb, ry, rx, w, oh, ow, khF, kwF);
                rBase[p] = MODE == 0 ? rb : rb + (ry * ow) + rx;
                rY[p] = ry;
                rX[p] = rx;
            }
        }

        for (int i = 0; i < 128; i++)
        {
            acc[i] = 0f;
        }

        // Iteration v computes tile v. From v = -lead it makes tile v visible to the async proxy (RING 1: its cp.async group has
        // landed, one younger in flight; RING 0: it is stored from the registers it was gathered into), then issues tile v + lead
        // (cp.async into the stage of tile v + lead - stages, which every warpgroup retired before this barrier; or loads into
        // registers), then runs tile v's wgmma, leaving that group in flight.
        int lead = RING != 0 ? 2 : 1;
        int stages = RING != 0 ? WgRingStages : WgStages;
        for (int v = -lead; v < tiles; v++)
        {
            int stage = ((v + stages) % stages) * WgStageFloats;
            if (v >= 0)
            {
                if (RING != 0)
                {
                    AsyncCopy.Wait(1);
                }
                else
                {
                    for (int kl = 0; kl < WgK; kl++)
                    {
                        smem[stage + storeA + (((kl >> 2) ^ swA) * 4) + (kl & 3)] = Mma.ToTf32(nextA[kl]);
                    }
                    for (int i = 0; i < 16; i++)
                    {
                        smem[stage + storeB + ((i >> 3) * WgGroup) + (((i & 7) ^ swB) * 4)] = Mma.ToTf32(nextB[i]);
                    }
                }
                Wgmma.SharedFence();
                Group.Barrier();
            }
            if (v + lead < tiles)
            {
                int tile = (kBegin / WgK) + v + lead;
                int ring = ((v + lead) % stages) * WgStageFloats;
                int icb = tile / KH;
                int ky = tile - (icb * KH);
                if (RING != 0)
                {
                    for (int p = 0; p < 4; p++)
                    {
                        int at = origin + ring + ((warp + (8 * p)) * WgGroup) + ((lane >> 2) * 32) + kq;
                        int iy = rY[p] + ky;
                        int yOk = MODE != 0 || (rBase[p] >= 0 && iy >= 0 && iy < h) ? 1 : 0;
                        int ta = MODE == 0 ? rBase[p] + (icb * (WgK / KW) * h * w) + (iy * w) + rX[p] : rBase[p] + (tile * (WgK / taps) * oh * ow);
                        for (int kc = 0; kc < WgK / 4; kc++)
                        {
                            int kl = (4 * kc) + kq;
                            bool ok = yOk != 0 && ((rMask[p] >> (kl % (MODE == 0 ? KW : taps))) & 1) != 0;
                            AsyncCopy.Float(smem, at + ((kc ^ swB) * 4), a, ta + laneA, WgAOffset(MODE, KW, 4 * kc, h, w, oh, ow, taps, twP), ok);
                        }
                    }
                }
                else
                {
                    int iy = rowY + ky;
                    int yOk = MODE != 0 || (rowBase >= 0 && iy >= 0 && iy < h) ? 1 : 0;
                    int ta = MODE == 0 ? rowBase + (icb * (WgK / KW) * h * w) + (iy * w) + rowX : ptrA + (tile * (WgK / taps) * oh * ow);
                    for (int kl = 0; kl < WgK; kl++)
                    {
                        bool ok = yOk != 0 && ((maskA >> (kl % (MODE == 0 ? KW : taps))) & 1) != 0;
                        nextA[kl] = ok ? a[ta + WgAOffset(MODE, KW, kl, h, w, oh, ow, taps, twP)] : 0f;
                    }
                }
                int tb = MODE == 0 ? ptrB + (icb * (WgK / KW) * KH * KW) + (ky * KW) : ptrB + (tile * (WgK / taps) * c * KH * KW);
                if (vecB)
                {
                    int tbV = ptrBV + (MODE == 0 ? (icb * (WgK / KW) * KH * KW) + (ky * KW) : tile * WgK);
                    for (int j = 0; j < 4; j++)
                    {
                        AsyncCopy.Float4(smem, ring + storeBV + (j * 4 * WgGroup), b, tbV, j * 32 * colStrideBV, colV + (32 * j) < n);
                    }
                }
                else
                {
                    for (int i = 0; i < 16; i++)
                    {
                        int srcB = tb + laneB + ((i >> 3) * colStrideB);
                        int offB = WgBOffset(MODE, KH, KW, S, 4 * (i & 7), c);
                        bool ok = WgBValid(MODE, KH, KW, S, i, kq, (i >> 3) == 0 ? okB0 : okB1, khF, kwF);
                        if (RING != 0)
                        {
                            AsyncCopy.Float(smem, ring + storeB + ((i >> 3) * WgGroup) + (((i & 7) ^ swB) * 4), b, srcB, offB, ok);
                        }
                        else
                        {
                            nextB[i] = ok ? b[srcB + offB] : 0f;
                        }
                    }
                }
            }
            if (RING != 0)
            {
                AsyncCopy.Commit();
            }
            if (v >= 0)
            {
                // This warpgroup's 128 rows as two m64n128 halves, four k8 steps each.
                int aTile = origin + stage + (wg * 16 * WgGroup);
                int bTile = origin + stage + (WgRows * WgK);
                Wgmma.Fence();
                for (int s = 0; s < WgK / 8; s++)
                {
                    Wgmma.Tf32M64N128K8(acc, 0, smem, aTile + (s * 8), bTile + (s * 8), WgGroup, 1);
                    Wgmma.Tf32M64N128K8(acc, 64, smem, aTile + (8 * WgGroup) + (s * 8), bTile + (s * 8), WgGroup, 1);
                }
                Wgmma.Commit();
                Wgmma.Wait(1);
            }
        }
        if (RING != 0)
        {
            AsyncCopy.Wait(0);
        }
        Wgmma.Wait(0);
        Group.Barrier();

        // Epilogue through shared memory, tile [column][row] (column stride 260: conflict-free), stored by columns so that
        // consecutive threads write consecutive pixels.
        int g = lane >> 2;
        int q = lane & 3;
        int outBase = ((wg * 128) + (((warp & 3) * 16) + g)) + (2 * q * (WgRows + 4));
        for (int half = 0; half < 2; half++)
        {
            for (int j = 0; j < 16; j++)
            {
                for (int e = 0; e < 4; e++)
                {
                    smem[outBase + (half * 64) + ((e >> 1) * 8) + (((8 * j) + (e & 1)) * (WgRows + 4))] = acc[(half * 64) + (4 * j) + e];
                }
            }
        }
        Group.Barrier();
        for (int e = tid; e < WgRows * WgColumns; e += 256)
        {
            int r = e % WgRows;
            int col = e / WgRows;
            Store(MODE, KH, KW, S, output, bias, hasBias, rowStart + r, columnStart + col, rows, n, MODE == 1 ? 0 : z, 0, c, h, w, oc, oh, ow, ph, pw, smem[r + (col * (WgRows + 4))]);
        }
    }

    /// <summary>Floats of <see cref="PackDgradWeights"/>' output for a convolution of <paramref name="c"/> input and
    /// <paramref name="oc"/> output channels: the stride phases x the input channels x (output channels x phase taps).</summary>
    public static long PackedDgradWeightFloats(int c, int oc, int kh, int kw, int s) =>
        (long)s * s * c * oc * (((kh + s - 1) / s) * ((kw + s - 1) / s));

    /// <summary>The weights of a stride-<c>S</c> convolution laid out as <see cref="Tf32Wg"/>'s dgrad form reads B:
    /// <c>packed[phase][ci][o T + j] = weight[o][ci][khF + S jh][kwF + S jw]</c> (tap j = (jh, jw) of the phase's T, zero where it
    /// falls outside the kernel), so that each K tile of a column is 32 consecutive floats and copies 16 bytes at a time.
    /// Grid over <see cref="PackedDgradWeightFloats"/>, any block size.</summary>
    [Kernel]
    public static void PackDgradWeights(int c, int oc, int pad, ReadOnlyView<float> weight, ArrayView<float> packed,
        [Specialization] int KH, [Specialization] int KW, [Specialization] int S)
    {
        int twP = (KW + S - 1) / S;
        int taps = ((KH + S - 1) / S) * twP;
        int k = oc * taps;
        int e = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (e >= S * S * c * k)
        {
            return;
        }
        int z = e / (c * k);
        int ci = (e / k) % c;
        int o = (e % k) / taps;
        int j = e % taps;
        int ky = (((z / S) + pad) % S) + ((j / twP) * S);
        int kx = (((z % S) + pad) % S) + ((j % twP) * S);
        packed[e] = ky < KH && kx < KW ? weight[(((o * c) + ci) * KH * KW) + (ky * KW) + kx] : 0f;
    }

    /// <summary>Offset of k <paramref name="kl"/> of a K tile from an A row's tile base (the fast gather's k order: MODE 0,
    /// 8 channels x KW kernel columns; MODE 1, 32 / T channels x the T phase taps, which step back through the output map).</summary>
    private static int WgAOffset(int mode, int kw_, int kl, int h, int w, int oh, int ow, int taps, int twP) =>
        mode == 0 ? ((kl / kw_) * h * w) + (kl % kw_) : ((kl / taps) * oh * ow) - (((kl % taps) / twP) * ow) - ((kl % taps) % twP);

    /// <summary>Offset of k <paramref name="kl"/> of a K tile from a B column's tile base (MODE 0: 8 channels x KW kernel
    /// columns of one kernel row; MODE 1: 32 / T channels x the T phase taps, tap j at kernel (khF + s jh, kwF + s jw)).
    /// Meaningful only where <see cref="WgBValid"/> holds.</summary>
    private static int WgBOffset(int mode, int kh_, int kw_, int s, int kl, int c)
    {
        int taps = ((kh_ + s - 1) / s) * ((kw_ + s - 1) / s);
        int twP = (kw_ + s - 1) / s;
        int jh = (kl % taps) / twP;
        int jw = (kl % taps) - (jh * twP);
        return mode == 0 ? ((kl / kw_) * kh_ * kw_) + (kl % kw_) : ((kl / taps) * c * kh_ * kw_) + (jh * s * kw_) + (jw * s);
    }

    /// <summary>Whether B element <paramref name="i"/> of this lane is a weight (column inside N; MODE 1: tap inside the
    /// kernel) rather than a zero.</summary>
    private static bool WgBValid(int mode, int kh_, int kw_, int s, int i, int kq, int columnOk, int khF, int kwF)
    {
        int kl = (4 * (i & 7)) + kq;
        int taps = ((kh_ + s - 1) / s) * ((kw_ + s - 1) / s);
        int twP = (kw_ + s - 1) / s;
        int jh = (kl % taps) / twP;
        int jw = (kl % taps) - (jh * twP);
        return columnOk != 0 && (mode == 0 || (khF + (jh * s) < kh_ && kwF + (jw * s) < kw_));
    }

    /// <summary>The bounds of one A row of <see cref="Tf32Wg"/>, hoisted out of the K loop: MODE 0, a bit per kernel column kx
    /// (input column inside the image); MODE 1, a bit per phase tap j (tap inside the kernel, output pixel inside the map, row in
    /// range).</summary>
    private static int WgRowMask(int mode, int kh_, int kw_, int s, int rowBase, int rowY, int rowX, int w, int oh, int ow, int khF, int kwF)
    {
        int mask = 0;
        if (mode == 0)
        {
            for (int kx = 0; kx < kw_; kx++)
            {
                mask |= rowX + kx >= 0 && rowX + kx < w ? 1 << kx : 0;
            }
        }
        else
        {
            int twP = (kw_ + s - 1) / s;
            for (int j = 0; j < ((kh_ + s - 1) / s) * twP; j++)
            {
                int jh = j / twP;
                int jw = j - (jh * twP);
                int tapOk = khF + (jh * s) < kh_ && kwF + (jw * s) < kw_ ? 1 : 0;
                mask |= tapOk != 0 && rowBase >= 0 && rowY - jh >= 0 && rowY - jh < oh && rowX - jw >= 0 && rowX - jw < ow ? 1 << j : 0;
            }
        }
        return mask;
    }
}
