namespace GanEngine.Kernels.Conv;

/// <summary>
/// Implicit-GEMM convolution kernels (no im2col buffer): forward, input gradient (dgrad) and weight
/// gradient (wgrad) of a 2-D convolution, each as one GEMM C[M, N] = A[M, K] * B[K, N] whose A and B
/// elements are gathered from the NCHW tensors while staging. Transposed convolution reuses them
/// (its forward is the dgrad form, its input gradient the forward form).
/// </summary>
/// <remarks>
/// <para><b>Geometry</b> (names of the convolution): input / "big side" (batch, c, h, w); output /
/// "small side" (batch, oc, oh, ow); weight (oc, c, KH, KW); stride S, padding pad.</para>
/// <list type="bullet">
/// <item>MODE 0, forward: M = batch oh ow, N = oc, K = c KH KW. A = input gathered, B[k, o] = weight[o K + k];
/// C[m, o] -> output[n, o, p] (+ bias[o]). Optionally split over K like MODE 2 (small M N, large K: the 1x1-output
/// input gradient of DCGAN's first layer): split z writes plane z of a workspace, bias in plane 0.</item>
/// <item>MODE 1, dgrad, split by stride phase (BlockIdx.Z = (ph, pw); in <see cref="Tf32"/> also over K, z = split S S + phase,
/// plane `split` of a workspace, bias in plane 0): rows are the input pixels with
/// ih = S iq + ph, iw = S jq + pw; only the taps kh = khF + S jh (khF = (ph + pad) mod S) reach them, so
/// K = oc ceil(KH/S) ceil(KW/S) and no multiply is wasted on the zeros a strided dgrad would insert.
/// C[m, ic] -> gradInput[n, ic, ih, iw] (+ bias[ic]: transposed convolution's bias).</item>
/// <item>MODE 2, wgrad: M = oc, N = c KH KW, K = batch oh ow, split over BlockIdx.Z into chunks of
/// kSplit; split z writes C to output[z M N + ...] (a workspace reduced by <see cref="SumSplits"/>,
/// deterministic), or straight to gradWeight when there is one split.</item>
/// <item>MODE 3, plain GEMM for the dgrad form when the small side is 1x1 and the kernel covers the whole big side
/// (oh = ow = 1, pad 0, KH = h, KW = w: DCGAN's first transposed layer): M = batch, N = c KH KW, K = oc,
/// A = a[row oc + k], B = b[k N + col], output[row N + col] (+ bias[col / (KH KW)]). MODE 1 would spend
/// KH KW times the work on taps outside the 1x1 side.</item>
/// </list>
/// <para>G != 0 compiles the geometry (c, h, w, oc, oh, ow, pad) in as specializations: one variant per layer
/// shape (the host does this on CUDA and the CPU accelerator, not on OpenCL where each variant costs a build).</para>
/// <para><see cref="Tf32"/> follows <c>TensorCoreGemmTiled.Tf32Gemm</c> (fragment-ordered shared stages,
/// 16-byte LDS, epilogue through shared memory) and hoists the per-row (A) and per-column (B) index
/// decompositions out of the K loop into register arrays. <see cref="Fp32"/> follows <c>SimtGemm.Sgemm</c>
/// (strict FP32 FMA). Outputs are overwritten (no accumulation).</para>
/// </remarks>
public static partial class ConvImplicitGemm
{
    private const int Chunk = 144;

    /// <summary>Dynamic shared bytes of <see cref="Tf32"/> for its NS specialization (<paramref name="ring"/>): 0 register staging into
    /// two stages, 2-8 a cp.async ring of that many stages; or the epilogue tile if larger.</summary>
    public static int Tf32SharedBytes(int wm, int wn, int tm, int tn, int bk, int ring = 0) =>
        Math.Max(Math.Max(ring, 2) * (((wm * tm) + (wn * tn / 2)) * (bk / 8) * Chunk),
            Math.Max((wm * tm * 16) * ((wn * tn * 8) + 8), (wn * tn * 8) * ((wm * tm * 16) + 4))) * sizeof(float);

    // ---- fragment-ordered shared offsets of staged elements (register staging and the cp.async ring share them) ----

    /// <summary>Offset of k <paramref name="kl"/> of a fast-gather row (or column) within a stage: chunk kl / 8 of
    /// <paramref name="chunksPerK8"/>, then the fragment slot of k within the 8.</summary>
    private static int FastSlot(int kl, int chunksPerK8, int pairStride) =>
        ((kl >> 3) * chunksPerK8 * Chunk) + (4 * (kl & 3)) + (pairStride * ((kl >> 2) & 1));

    /// <summary>Chunk offset of staged element <paramref name="l"/> when <paramref name="kReps"/> 128-thread groups split a K tile's 8-k chunks.</summary>
    private static int RepeatedSlot(int l, int perChunk, int kReps) => (l + ((l / perChunk) * (kReps - 1) * perChunk)) * Chunk;

    // ---- geometry helpers (MODE, KH, KW, S are specializations at the call sites) -------------------

    // Rows of stride phase `phase` along an extent. An extent divisible by the stride gives every phase extent / s, which folds to
    // a constant when the geometry is compiled in (the MODE 1 epilogue divides by it per element: run 5 of session 10 found
    // emulated divisions there, a third of the dgrad kernel's instructions).
    private static int PhaseRows(int extent, int phase, int s) => extent % s == 0 ? extent / s : (extent - phase + s - 1) / s;

    /// <summary>A-row descriptor: base offset (or -1 past the end).</summary>
    private static int RowBase(int mode, int s, int row, int rows, int c, int h, int w, int oc, int oh, int ow, int ph, int pw)
    {
        int result = -1;
        if (row < rows)
        {
            if (mode == 0)
            {
                result = (row / (oh * ow)) * (c * h * w);
            }
            else if (mode == 1)
            {
                result = (row / (PhaseRows(h, ph, s) * PhaseRows(w, pw, s))) * (oc * oh * ow);
            }
            else if (mode == 2)
            {
                result = row * (oh * ow);
            }
            else
            {
                result = row * oc;
            }
        }
        return result;
    }

    /// <summary>A-row descriptor: first input row (MODE 0: oh S - pad; MODE 1: iq + dh).</summary>
    private static int RowY(int mode, int s, int row, int h, int w, int oh, int ow, int pad, int ph, int pw)
    {
        int result = 0;
        if (mode == 0)
        {
            result = (((row % (oh * ow)) / ow) * s) - pad;
        }
        else if (mode == 1)
        {
            int wq = PhaseRows(w, pw, s);
            result = ((row % (PhaseRows(h, ph, s) * wq)) / wq) + ((ph + pad) / s);
        }
        return result;
    }

    private static int RowX(int mode, int s, int row, int w, int ow, int pad, int pw)
    {
        int result = 0;
        if (mode == 0)
        {
            result = ((row % ow) * s) - pad;
        }
        else if (mode == 1)
        {
            result = (row % PhaseRows(w, pw, s)) + ((pw + pad) / s);
        }
        return result;
    }

    /// <summary>A[row, kk] from the row descriptor.</summary>
    private static float LoadA(int mode, int kh_, int kw_, int s, ReadOnlyView<float> a, int rowBase, int rowY, int rowX, int kk, int kEnd,
        int h, int w, int oc, int oh, int ow, int ph, int pw, int pad)
    {
        float value = 0f;
        if (rowBase >= 0 && kk < kEnd)
        {
            if (mode == 0)
            {
                int ic = kk / (kh_ * kw_);
                int rem = kk - (ic * kh_ * kw_);
                int ky = rem / kw_;
                int iy = rowY + ky;
                int ix = rowX + (rem - (ky * kw_));
                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                {
                    value = a[rowBase + (((ic * h) + iy) * w) + ix];
                }
            }
            else if (mode == 1)
            {
                int th = (kh_ + s - 1) / s;
                int tw = (kw_ + s - 1) / s;
                int o = kk / (th * tw);
                int rem = kk - (o * th * tw);
                int jh = rem / tw;
                int jw = rem - (jh * tw);
                int ky = ((ph + pad) % s) + (jh * s);
                int kx = ((pw + pad) % s) + (jw * s);
                int y = rowY - jh;
                int x = rowX - jw;
                if (ky < kh_ && kx < kw_ && y >= 0 && y < oh && x >= 0 && x < ow)
                {
                    value = a[rowBase + (((o * oh) + y) * ow) + x];
                }
            }
            else if (mode == 2)
            {
                int n = kk / (oh * ow);
                value = a[(n * oc * oh * ow) + rowBase + (kk - (n * oh * ow))];
            }
            else
            {
                value = a[rowBase + kk];
            }
        }
        return value;
    }

    /// <summary>B-column descriptor (MODE 2 only): channel base, or -1 past the end.</summary>
    private static int ColumnBase(int mode, int kh_, int kw_, int column, int columns, int h, int w)
    {
        int result = -1;
        if (column < columns)
        {
            result = mode == 2 ? (column / (kh_ * kw_)) * (h * w) : column;
        }
        return result;
    }

    private static int ColumnY(int kh_, int kw_, int column, int pad) => ((column % (kh_ * kw_)) / kw_) - pad;

    private static int ColumnX(int kw_, int column, int pad) => (column % kw_) - pad;

    /// <summary>B[kk, column] from the column descriptor.</summary>
    private static float LoadB(int mode, int kh_, int kw_, int s, ReadOnlyView<float> b, int colBase, int colY, int colX, int column, int kk, int kEnd,
        int c, int h, int w, int oh, int ow, int ph, int pw, int pad)
    {
        float value = 0f;
        if (colBase >= 0 && kk < kEnd)
        {
            if (mode == 0)
            {
                value = b[(column * (c * kh_ * kw_)) + kk];
            }
            else if (mode == 1)
            {
                int th = (kh_ + s - 1) / s;
                int tw = (kw_ + s - 1) / s;
                int o = kk / (th * tw);
                int rem = kk - (o * th * tw);
                int jh = rem / tw;
                int ky = ((ph + pad) % s) + (jh * s);
                int kx = ((pw + pad) % s) + ((rem - (jh * tw)) * s);
                if (ky < kh_ && kx < kw_)
                {
                    value = b[((((o * c) + column) * kh_) + ky) * kw_ + kx];
                }
            }
            else if (mode == 3)
            {
                value = b[(kk * (c * kh_ * kw_)) + column];
            }
            else
            {
                int n = kk / (oh * ow);
                int r = kk - (n * oh * ow);
                int y = r / ow;
                int iy = (y * s) + colY;
                int ix = ((r - (y * ow)) * s) + colX;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                {
                    value = b[(n * c * h * w) + colBase + (iy * w) + ix];
                }
            }
        }
        return value;
    }

    /// <summary>Stores C[row, column] where the mode puts it.</summary>
    private static void Store(int mode, int kh_, int kw_, int s, ArrayView<float> output, ReadOnlyView<float> bias, int hasBias, int row, int column, int rows, int columns,
        int split, int plane, int c, int h, int w, int oc, int oh, int ow, int ph, int pw, float value)
    {
        if (row < rows && column < columns)
        {
            if (mode == 0)
            {
                // Split z (grid z > 1: a workspace of z planes, summed by SumSplits) adds the bias once, in plane 0.
                int n = row / (oh * ow);
                output[(split * rows * columns) + (((n * oc) + column) * (oh * ow)) + (row - (n * oh * ow))] =
                    hasBias != 0 && split == 0 ? value + bias[column] : value;
            }
            else if (mode == 1)
            {
                int hq = PhaseRows(h, ph, s);
                int wq = PhaseRows(w, pw, s);
                int n = row / (hq * wq);
                int r = row - (n * hq * wq);
                int iq = r / wq;
                int iy = (iq * s) + ph;
                int ix = ((r - (iq * wq)) * s) + pw;
                // Split over K (split > 0 only with a workspace of planes of `plane` floats, summed by SumSplits): bias in plane 0.
                output[(split * plane) + (((((n * c) + column) * h) + iy) * w) + ix] = hasBias != 0 && split == 0 ? value + bias[column] : value;
            }
            else if (mode == 2)
            {
                output[(((split * rows) + row) * columns) + column] = value;
            }
            else
            {
                output[(row * columns) + column] = hasBias != 0 ? value + bias[column / (kh_ * kw_)] : value;
            }
        }
    }

    /// <summary>TF32 tensor-core implicit GEMM (see the class remarks). Grid (ceil(N/BN), ceil(M/BM), phases or splits);
    /// WM * WN must be 4 (block tiles used: 128x128, 128x64, 128x32, 128x16), or 8 with WM TM 16 = 256 (the 256x128 tile) for MODES 0/1
    /// when the fast gather applies (G != 0; the host checks).</summary>
    [Kernel]
    [LaunchBounds(256, 1)]
    public static void Tf32(
        int cArg, int hArg, int wArg, int ocArg, int ohArg, int owArg, int padArg,
        int mArg, int nArg, int kArg, int kSplit, int hasBias,
        ReadOnlyView<float> a, ReadOnlyView<float> b, ReadOnlyView<float> bias, ArrayView<float> output,
        [Specialization] int MODE, [Specialization] int KH, [Specialization] int KW, [Specialization] int S,
        [Specialization] int WM, [Specialization] int WN,
        [Specialization] int TM, [Specialization] int TN, [Specialization] int BK,
        [Specialization] int G, [Specialization] int GC, [Specialization] int GH, [Specialization] int GW,
        [Specialization] int GOC, [Specialization] int GOH, [Specialization] int GOW, [Specialization] int GPAD,
        [Specialization] int NS)
    {
        // G != 0: the geometry is compiled in (divisions by it become multiplies / shifts, loops over taps unroll).
        int c = G != 0 ? GC : cArg;
        int h = G != 0 ? GH : hArg;
        int w = G != 0 ? GW : wArg;
        int oc = G != 0 ? GOC : ocArg;
        int oh = G != 0 ? GOH : ohArg;
        int ow = G != 0 ? GOW : owArg;
        int pad = G != 0 ? GPAD : padArg;
        int m = G != 0 && MODE == 2 ? GOC : mArg;
        int n = G != 0 ? (MODE == 0 ? GOC : (MODE == 1 ? GC : GC * KH * KW)) : nArg;
        int k = G != 0 && MODE != 2 ? (MODE == 0 ? GC * KH * KW : (MODE == 1 ? GOC * ((KH + S - 1) / S) * ((KW + S - 1) / S) : GOC)) : kArg;
        var smem = Shared.Dynamic<float>();

        Span<float> acc = stackalloc float[TM * TN * 4];
        Span<float> fragA = stackalloc float[TM * 4];
        Span<float> fragB = stackalloc float[TN * 2];
        Span<float> nextA = stackalloc float[TM * (BK / 8) * 4 / WN];
        Span<float> nextB = stackalloc float[TN * (BK / 8) * 2 / WM];
        Span<int> aBase = stackalloc int[WM * TM];
        Span<int> aY = stackalloc int[WM * TM];
        Span<int> aX = stackalloc int[WM * TM];
        Span<int> bBase = stackalloc int[WN * TN / 2];
        Span<int> bY = stackalloc int[WN * TN / 2];
        Span<int> bX = stackalloc int[WN * TN / 2];

        int tid = ThreadIdx.X;
        int lane = tid & 31;
        int warp = tid >> 5;
        int warpM = warp / WN;
        int warpN = warp % WN;
        int rowStart = BlockIdx.Y * (WM * TM * 16);
        int columnStart = BlockIdx.X * (WN * TN * 8);
        int z = BlockIdx.Z;
        // MODE 1: z = split (S S) + stride phase; the host splits K only by passing kSplit < k with a workspace of planes.
        int split = MODE == 1 ? z / (S * S) : z;
        int phase = MODE == 1 ? z - (split * S * S) : 0;
        int ph = MODE == 1 ? phase / S : 0;
        int pw = MODE == 1 ? phase % S : 0;
        int images = MODE == 1 ? m / (((h + S - 1) / S) * ((w + S - 1) / S)) : 0;
        int plane = images * c * h * w;
        int rows = MODE == 1 ? PhaseRows(h, ph, S) * PhaseRows(w, pw, S) * images : m;
        int kBegin = MODE == 3 ? 0 : split * kSplit;
        int kEnd = MODE == 3 ? k : KMath.Min(k, kBegin + kSplit);
        int tiles = (kEnd - kBegin + BK - 1) / BK;
        int aFloats = (WM * TM) * (BK / 8) * Chunk;
        int stageFloats = aFloats + ((WN * TN / 2) * (BK / 8) * Chunk);

        int p = warp & 3;
        int b3 = (lane >> 3) & 1;
        int b4 = lane >> 4;
        int kkA = lane & 7;
        int rowA = rowStart + (2 * p) + b3 + (8 * b4);
        int storeA = (p * 36) + (b3 * 16) + (4 * (kkA & 3)) + b4 + (2 * (kkA >> 2));
        // B staging: each 16-column x 8-k chunk is loaded by the 128 threads, one element each. MODES 0/1 read weights
        // along k (weight[o K + k] resp. 2x2 taps of a 4x4 kernel): 8 consecutive threads take 8 consecutive k of one column
        // (one 32-byte sector per 8 lanes instead of one per lane); MODES 2/3 read along columns: lanes take 16 columns.
        int nn = MODE <= 1 ? (tid >> 3) & 15 : lane & 15;
        int kB = MODE <= 1 ? tid & 7 : p + (4 * (lane >> 4));
        int gB = nn & 7;
        int columnB = columnStart + nn;
        int storeB = aFloats + ((gB >> 1) * 36) + ((gB & 1) * 16) + (4 * (kB & 3)) + (kB >> 2) + (2 * (nn >> 3));
        int readLane = ((lane >> 3) * 36) + ((lane & 7) * 4);
        int kReps = WM * WN / 4;
        // Compile-time 0 with 4 warps (run 2: a run-time 0 here put divisions into MODE 2's A addresses: wgrad 0.18 -> 0.75 ms).
        int kHalf = WM * WN == 4 ? 0 : tid >> 7;
        storeB += kHalf * (WN * TN / 2) * Chunk;

        // Hoisted index decompositions: this thread's WM TM A rows and WN TN / 2 B columns.
        for (int t = 0; t < WM * TM; t++)
        {
            int row = rowA + (t * 16);
            aBase[t] = RowBase(MODE, S, row, rows, c, h, w, oc, oh, ow, ph, pw);
            aY[t] = RowY(MODE, S, row, h, w, oh, ow, pad, ph, pw);
            aX[t] = RowX(MODE, S, row, w, ow, pad, pw);
        }
        for (int t = 0; t < WN * TN / 2; t++)
        {
            int column = columnB + (t * 16);
            bBase[t] = ColumnBase(MODE, KH, KW, column, n, h, w);
            bY[t] = ColumnY(KH, KW, column, pad);
            bX[t] = ColumnX(KW, column, pad);
        }

        // ---- Fast gather (G != 0, 128-row tiles; MODE 2 BN 128; run 4; MODES 0/1 with 16- and 32-wide N tiles too: convtune). Thread tid owns A row rowStart + tid (all BK k of a tile)
        // and B column columnStart + tid % BN (BK BN / 128 consecutive k). Within a K tile the k are ordered so that every
        // bounds test is hoisted: MODE 0 tile = (8 channels of block icb) x (KW taps of one kernel row ky), one test per row
        // per tile plus a per-thread mask over kx; MODE 1 tile = BK / T channels x the T phase taps (k order unchanged),
        // tap masks per thread, computed once; MODE 2 (BN 128) tile = BK output pixels of whole rows / images, masks over
        // output y and x per column, computed once. Element addresses are a per-tile base plus compile-time offsets.
        int taps = ((KH + S - 1) / S) * ((KW + S - 1) / S);
        int twP = (KW + S - 1) / S;
        int ohwF = G != 0 && GOH * GOW > 0 ? GOH * GOW : 1;
        // 8 warps (WM WN = 8, the 256 x 128 tile): only through the fast gather of MODES 0/1 (the host checks), where thread tid
        // owns A row tid (BM = threads) and the B mapping of 128 threads repeats over two halves of each K tile's 8-k chunks (kHalf).
        int fast = G != 0 && WM * TM * 16 == WM * WN * 32 && (WN * TN * 8 >= 64 || MODE <= 1) &&
            ((MODE == 0 && 8 % KW == 0 && GC % (BK / KW) == 0) ||
             (MODE == 1 && 8 % taps == 0 && (GOC * taps) % BK == 0) ||
             (MODE == 2 && WN * TN * 8 == 128 && GOH <= 32 && GOW <= 32 &&
              ((ohwF % BK == 0 && BK % GOW == 0) || BK % ohwF == 0) && (ohwF % BK == 0 ? BK : ohwF) % 8 == 0)) ? 1 : 0;
        int fPeriod = ohwF % BK == 0 ? BK : ohwF;
        int fBn = WN * TN * 8;
        int fL = BK * fBn / (WM * WN * 32);
        int fCc = tid % fBn;
        int fKl0 = (tid / fBn) * fL;
        int fRow = rowStart + tid;
        int fCol = columnStart + fCc;
        int fColOk = fCol < n ? 1 : 0;
        int fRowBase = RowBase(MODE, S, fRow, rows, c, h, w, oc, oh, ow, ph, pw);
        int fRowY = RowY(MODE, S, fRow, h, w, oh, ow, pad, ph, pw);
        int fRowX = RowX(MODE, S, fRow, w, ow, pad, pw);
        int fMaskA = 0;
        int fMaskB = 0;
        int fMaskY = 0;
        int fPtrA = 0;
        int fPtrB = 0;
        int khF = MODE == 1 ? (ph + pad) % S : 0;
        int kwF = MODE == 1 ? (pw + pad) % S : 0;
        if (fast != 0)
        {
            if (MODE == 0)
            {
                for (int kx = 0; kx < KW; kx++)
                {
                    fMaskA |= fRowX + kx >= 0 && fRowX + kx < w ? 1 << kx : 0;
                }
                fPtrB = (fCol * (c * KH * KW)) + ((fKl0 / KW) * KH * KW);
            }
            else if (MODE == 1)
            {
                for (int j = 0; j < taps; j++)
                {
                    int jh = j / twP;
                    int jw = j - (jh * twP);
                    int y = fRowY - jh;
                    int x = fRowX - jw;
                    int tapOk = khF + (jh * S) < KH && kwF + (jw * S) < KW ? 1 : 0;
                    fMaskA |= tapOk != 0 && fRowBase >= 0 && y >= 0 && y < oh && x >= 0 && x < ow ? 1 << j : 0;
                    fMaskB |= tapOk != 0 && fColOk != 0 ? 1 << j : 0;
                }
                fPtrA = fRowBase + (fRowY * ow) + fRowX;
                fPtrB = (fCol * KH * KW) + (khF * KW) + kwF + ((fKl0 / taps) * c * KH * KW);
            }
            else
            {
                int colY = ((fCol % (KH * KW)) / KW) - pad;
                int colX = (fCol % KW) - pad;
                for (int y = 0; y < oh; y++)
                {
                    fMaskY |= fColOk != 0 && (y * S) + colY >= 0 && (y * S) + colY < h ? 1 << y : 0;
                }
                for (int x = 0; x < ow; x++)
                {
                    fMaskB |= fColOk != 0 && (x * S) + colX >= 0 && (x * S) + colX < w ? 1 << x : 0;
                }
                fPtrB = ((fCol / (KH * KW)) * h * w) + (colY * w) + colX;
            }
        }
        // v5: B of MODES 0/1 and A of MODE 2 keep the original lane mapping (8 lanes read 8 consecutive k: contiguous memory),
        // with the per-thread part of the address and the validity hoisted (run 4: lanes along output channels, 32 sectors per
        // warp load, made MODE 0 slower).
        int vColMask = 0;
        int vRowMask = 0;
        int vPtrB = 0;
        int vPtrA = 0;
        if (fast != 0)
        {
            for (int t = 0; t < WN * TN / 2; t++)
            {
                vColMask |= columnB + (t * 16) < n ? 1 << t : 0;
            }
            for (int t = 0; t < WM * TM; t++)
            {
                vRowMask |= rowA + (t * 16) < rows ? 1 << t : 0;
            }
            if (MODE == 0)
            {
                vPtrB = (columnB * (c * KH * KW)) + ((kB / KW) * KH * KW) + (kB % KW) + (kHalf * (8 / KW) * KH * KW);
            }
            else if (MODE == 1)
            {
                int jv = kB % taps;
                int jhv = jv / twP;
                int jwv = jv - (jhv * twP);
                if (khF + (jhv * S) >= KH || kwF + (jwv * S) >= KW)
                {
                    vColMask = 0;
                }
                vPtrB = (columnB * KH * KW) + ((khF + (jhv * S)) * KW) + kwF + (jwv * S) + ((kB / taps) * c * KH * KW) + (kHalf * (8 / taps) * c * KH * KW);
            }
            else
            {
                vPtrA = (rowA * oh * ow) + kkA;
            }
        }
        // Shared offsets of the fast mapping (same fragment-ordered layout as storeA / storeB).
        int fStoreA = ((tid >> 4) * Chunk) + ((((tid & 15) >> 1) & 3) * 36) + ((tid & 1) * 16) + ((tid & 15) >> 3);
        int fStoreB = aFloats + ((((fCc >> 4) + ((fKl0 >> 3) * (WN * TN / 2))) * Chunk)) + (((fCc >> 1) & 3) * 36) + ((fCc & 1) * 16) + (2 * ((fCc & 15) >> 3));
        // NS >= 2 with the fast gather: a ring of NS stages filled by cp.async (no staging registers, no shared stores; operands reach
        // the tensor cores unrounded, which read them truncated to tf32). Otherwise (NS 0) two stages staged through registers.
        int pipe = NS >= 2 && fast != 0 ? 1 : 0;
        int ringStages = NS >= 2 ? NS : 2;
        int lead = pipe != 0 ? ringStages - 1 : 1;

        for (int i = 0; i < TM * TN * 4; i++)
        {
            acc[i] = 0f;
        }

        // Iteration u issues tile u (loads into registers, or cp.async into ring stage u % ringStages) and computes tile u - lead.
        for (int u = 0; u < tiles + lead; u++)
        {
            int stage = 0;
            if (pipe != 0)
            {
                // Tile u - lead has landed once at most ringStages - 2 younger groups are in flight; the barrier shows it to the block
                // and retires the stage of tile u - ringStages (computed last iteration), which tile u now fills.
                if (u >= lead)
                {
                    AsyncCopy.Wait(ringStages - 2);
                    Group.Barrier();
                    stage = ((u - lead) % ringStages) * stageFloats;
                }
            }
            else
            {
                // Store tile u - 1 (loaded last iteration), then load tile u into registers while computing tile u - 1.
                stage = ((u + 1) & 1) * stageFloats;
                if (u > 0)
                {
                    if (fast != 0)
                    {
                        if (MODE == 2)
                        {
                            for (int l = 0; l < TM * (BK / 8) * 4 / WN; l++)
                            {
                                smem[stage + storeA + (kHalf * (WM * TM) * Chunk) + RepeatedSlot(l, WM * TM, kReps)] = Mma.ToTf32(nextA[l]);
                            }
                            for (int j = 0; j < BK * (WN * TN * 8) / (WM * WN * 32); j++)
                            {
                                smem[stage + fStoreB + FastSlot(j, WN * TN / 2, 1)] = Mma.ToTf32(nextB[j]);
                            }
                        }
                        else
                        {
                            for (int kl = 0; kl < BK; kl++)
                            {
                                smem[stage + fStoreA + FastSlot(kl, WM * TM, 2)] = Mma.ToTf32(nextA[kl]);
                            }
                            for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
                            {
                                smem[stage + storeB + RepeatedSlot(l, WN * TN / 2, kReps)] = Mma.ToTf32(nextB[l]);
                            }
                        }
                    }
                    else
                    {
                        for (int l = 0; l < TM * (BK / 8) * 4 / WN; l++)
                        {
                            smem[stage + storeA + (l * Chunk)] = Mma.ToTf32(nextA[l]);
                        }
                        for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
                        {
                            smem[stage + storeB + (l * Chunk)] = Mma.ToTf32(nextB[l]);
                        }
                    }
                    Group.Barrier();
                }
            }

            if (u < tiles)
            {
                int k0 = kBegin + (u * BK);
                int ring = (u % ringStages) * stageFloats;
                if (fast != 0)
                {
                    int tile = k0 / BK;
                    if (MODE == 0)
                    {
                        int icb = tile / KH;
                        int ky = tile - (icb * KH);
                        int iy = fRowY + ky;
                        int yOk = fRowBase >= 0 && iy >= 0 && iy < h ? 1 : 0;
                        int ta = fRowBase + (icb * (BK / KW) * h * w) + (iy * w) + fRowX;
                        int tb = vPtrB + (icb * (BK / KW) * KH * KW) + (ky * KW);
                        for (int kl = 0; kl < BK; kl++)
                        {
                            int src = ta + ((kl / KW) * h * w) + (kl % KW);
                            bool ok = yOk != 0 && ((fMaskA >> (kl % KW)) & 1) != 0;
                            if (pipe != 0)
                            {
                                AsyncCopy.Float(smem, ring + fStoreA + FastSlot(kl, WM * TM, 2), a, src, ok);
                            }
                            else
                            {
                                nextA[kl] = ok ? a[src] : 0f;
                            }
                        }
                        for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
                        {
                            int src = tb + ((l % (WN * TN / 2)) * 16 * c * KH * KW) + ((l / (WN * TN / 2)) * kReps * (8 / KW) * KH * KW);
                            bool ok = ((vColMask >> (l % (WN * TN / 2))) & 1) != 0;
                            if (pipe != 0)
                            {
                                AsyncCopy.Float(smem, ring + storeB + RepeatedSlot(l, WN * TN / 2, kReps), b, src, ok);
                            }
                            else
                            {
                                nextB[l] = ok ? b[src] : 0f;
                            }
                        }
                    }
                    else if (MODE == 1)
                    {
                        int ta = fPtrA + (tile * (BK / taps) * oh * ow);
                        int tb = vPtrB + (tile * (BK / taps) * c * KH * KW);
                        for (int kl = 0; kl < BK; kl++)
                        {
                            int src = ta + ((kl / taps) * oh * ow) - (((kl % taps) / twP) * ow) - ((kl % taps) % twP);
                            bool ok = ((fMaskA >> (kl % taps)) & 1) != 0;
                            if (pipe != 0)
                            {
                                AsyncCopy.Float(smem, ring + fStoreA + FastSlot(kl, WM * TM, 2), a, src, ok);
                            }
                            else
                            {
                                nextA[kl] = ok ? a[src] : 0f;
                            }
                        }
                        for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
                        {
                            int src = tb + ((l % (WN * TN / 2)) * 16 * KH * KW) + ((l / (WN * TN / 2)) * kReps * (8 / taps) * c * KH * KW);
                            bool ok = ((vColMask >> (l % (WN * TN / 2))) & 1) != 0;
                            if (pipe != 0)
                            {
                                AsyncCopy.Float(smem, ring + storeB + RepeatedSlot(l, WN * TN / 2, kReps), b, src, ok);
                            }
                            else
                            {
                                nextB[l] = ok ? b[src] : 0f;
                            }
                        }
                    }
                    else
                    {
                        int nT = k0 / (oh * ow);
                        int yT = (k0 - (nT * oh * ow)) / ow;
                        int kRem = kEnd - k0;
                        int yBits = fMaskY >> yT;
                        int ta = (nT * oc * oh * ow) + vPtrA + (yT * ow);
                        int tb = (nT * c * h * w) + fPtrB + (yT * S * w);
                        for (int l = 0; l < TM * (BK / 8) * 4 / WN; l++)
                        {
                            int kc8 = (((l / (WM * TM)) * kReps) + kHalf) * 8;
                            int src = ta + ((l % (WM * TM)) * 16 * oh * ow) + ((kc8 / fPeriod) * oc * oh * ow) + (kc8 % fPeriod);
                            bool ok = ((vRowMask >> (l % (WM * TM))) & 1) != 0 && kc8 + kkA < kRem;
                            if (pipe != 0)
                            {
                                AsyncCopy.Float(smem, ring + storeA + (kHalf * (WM * TM) * Chunk) + RepeatedSlot(l, WM * TM, kReps), a, src, ok);
                            }
                            else
                            {
                                nextA[l] = ok ? a[src] : 0f;
                            }
                        }
                        for (int j = 0; j < BK * (WN * TN * 8) / (WM * WN * 32); j++)
                        {
                            // 8 warps: this thread's half of the tile's k starts at fKl0 (0 with 4 warps).
                            int jj = (WM * WN == 4 ? 0 : fKl0) + j;
                            int src = tb + ((jj / fPeriod) * c * h * w) + (((jj % fPeriod) / ow) * S * w) + (((jj % fPeriod) % ow) * S);
                            bool ok = jj < kRem && ((yBits >> ((jj % fPeriod) / ow)) & (fMaskB >> ((jj % fPeriod) % ow)) & 1) != 0;
                            if (pipe != 0)
                            {
                                AsyncCopy.Float(smem, ring + fStoreB + FastSlot(j, WN * TN / 2, 1), b, src, ok);
                            }
                            else
                            {
                                nextB[j] = ok ? b[src] : 0f;
                            }
                        }
                    }
                }
                else
                {
                    for (int l = 0; l < TM * (BK / 8) * 4 / WN; l++)
                    {
                        nextA[l] = LoadA(MODE, KH, KW, S, a, aBase[l % (WM * TM)], aY[l % (WM * TM)], aX[l % (WM * TM)],
                            k0 + ((l / (WM * TM)) * 8) + kkA, kEnd, h, w, oc, oh, ow, ph, pw, pad);
                    }
                    for (int l = 0; l < TN * (BK / 8) * 2 / WM; l++)
                    {
                        nextB[l] = LoadB(MODE, KH, KW, S, b, bBase[l % (WN * TN / 2)], bY[l % (WN * TN / 2)], bX[l % (WN * TN / 2)],
                            columnB + ((l % (WN * TN / 2)) * 16), k0 + ((l / (WN * TN / 2)) * 8) + kB, kEnd, c, h, w, oh, ow, ph, pw, pad);
                    }
                }
            }
            if (pipe != 0)
            {
                // One group per iteration, empty ones included, so that the wait counts iterations.
                AsyncCopy.Commit();
            }

            if (u < lead)
            {
                continue;
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

        // Epilogue through shared memory. MODE 2 (row-major gradWeight): tile [r][col], rows stored
        // coalesced. MODES 0/1 (NCHW: consecutive rows are consecutive pixels): tile [col][r], the block
        // stores columns, so consecutive threads write consecutive pixels. Both layouts are free of bank
        // conflicts for the accumulator writes (row stride BN + 8, resp. column stride BM + 4).
        int g = lane >> 2;
        int q = lane & 3;
        int rs = MODE >= 2 ? (WN * TN * 8) + 8 : 1;
        int cs = MODE >= 2 ? 1 : (WM * TM * 16) + 4;
        if (pipe != 0)
        {
            AsyncCopy.Wait(0);
        }
        Group.Barrier();
        int outBase = ((((warpM * TM * 16) + g) * rs) + (((warpN * TN * 8) + (2 * q)) * cs));
        for (int slot = 0; slot < 4; slot++)
        {
            for (int i = 0; i < TM; i++)
            {
                for (int j = 0; j < TN; j++)
                {
                    smem[outBase + ((((i * 16) + ((slot >> 1) * 8)) * rs) + (((j * 8) + (slot & 1)) * cs))] = acc[(((i * TN) + j) * 4) + slot];
                }
            }
        }
        Group.Barrier();
        for (int e = tid; e < (WM * TM * 16) * (WN * TN * 8); e += WM * WN * 32)
        {
            int r = MODE >= 2 ? e / (WN * TN * 8) : e % (WM * TM * 16);
            int col = MODE >= 2 ? e % (WN * TN * 8) : e / (WM * TM * 16);
            Store(MODE, KH, KW, S, output, bias, hasBias, rowStart + r, columnStart + col, rows, n, split, plane, c, h, w, oc, oh, ow, ph, pw, smem[(r * rs) + (col * cs)]);
        }
    }

    /// <summary>Strict FP32 implicit GEMM on the CUDA cores (SimtGemm's tiling); same arguments as <see cref="Tf32"/>.
    /// Block (BM/TM)(BN/TN) threads; BM BK and BK BN multiples of the thread count.</summary>
    [Kernel]
    [LaunchBounds(256, 2)]
    public static void Fp32(
        int cArg, int hArg, int wArg, int ocArg, int ohArg, int owArg, int padArg,
        int mArg, int nArg, int kArg, int kSplit, int hasBias,
        ReadOnlyView<float> a, ReadOnlyView<float> b, ReadOnlyView<float> bias, ArrayView<float> output,
        [Specialization] int MODE, [Specialization] int KH, [Specialization] int KW, [Specialization] int S,
        [Specialization] int BM, [Specialization] int BN, [Specialization] int BK,
        [Specialization] int TM, [Specialization] int TN,
        [Specialization] int G, [Specialization] int GC, [Specialization] int GH, [Specialization] int GW,
        [Specialization] int GOC, [Specialization] int GOH, [Specialization] int GOW, [Specialization] int GPAD)
    {
        int c = G != 0 ? GC : cArg;
        int h = G != 0 ? GH : hArg;
        int w = G != 0 ? GW : wArg;
        int oc = G != 0 ? GOC : ocArg;
        int oh = G != 0 ? GOH : ohArg;
        int ow = G != 0 ? GOW : owArg;
        int pad = G != 0 ? GPAD : padArg;
        int m = G != 0 && MODE == 2 ? GOC : mArg;
        int n = G != 0 ? (MODE == 0 ? GOC : (MODE == 1 ? GC : GC * KH * KW)) : nArg;
        int k = G != 0 && MODE != 2 ? (MODE == 0 ? GC * KH * KW : (MODE == 1 ? GOC * ((KH + S - 1) / S) * ((KW + S - 1) / S) : GOC)) : kArg;
        var tileA = Shared.Allocate<float>(2 * BK * (BM + 4));
        var tileB = Shared.Allocate<float>(2 * BK * BN);
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
        int z = BlockIdx.Z;
        int ph = MODE == 1 ? z / S : 0;
        int pw = MODE == 1 ? z % S : 0;
        int rows = MODE == 1 ? PhaseRows(h, ph, S) * PhaseRows(w, pw, S) * (m / (((h + S - 1) / S) * ((w + S - 1) / S))) : m;
        int kBegin = MODE == 2 || MODE == 0 ? z * kSplit : 0;
        int kEnd = MODE == 2 || MODE == 0 ? KMath.Min(k, kBegin + kSplit) : k;
        int tiles = (kEnd - kBegin + BK - 1) / BK;
        int threads = (BM / TM) * (BN / TN);

        for (int i = 0; i < TM * TN; i++)
        {
            acc[i] = 0f;
        }
        for (int l = 0; l < BM * BK / ((BM / TM) * (BN / TN)); l++)
        {
            int index = tid + (l * threads);
            nextA[l] = LoadAFull(MODE, KH, KW, S, a, rowStart + (index / BK), kBegin + (index % BK), rows, kEnd, c, h, w, oc, oh, ow, ph, pw, pad);
        }
        for (int l = 0; l < BK * BN / ((BM / TM) * (BN / TN)); l++)
        {
            int index = tid + (l * threads);
            nextB[l] = LoadBFull(MODE, KH, KW, S, b, columnStart + (index % BN), n, kBegin + (index / BN), kEnd, c, h, w, oh, ow, ph, pw, pad);
        }

        for (int t = 0; t < tiles; t++)
        {
            int baseA = (t & 1) * BK * (BM + 4);
            int baseB = (t & 1) * BK * BN;
            for (int l = 0; l < BM * BK / ((BM / TM) * (BN / TN)); l++)
            {
                int index = tid + (l * threads);
                tileA[baseA + ((index % BK) * (BM + 4)) + (index / BK)] = nextA[l];
            }
            for (int l = 0; l < BK * BN / ((BM / TM) * (BN / TN)); l++)
            {
                tileB[baseB + tid + (l * threads)] = nextB[l];
            }
            Group.Barrier();

            if (t + 1 < tiles)
            {
                int k0 = kBegin + ((t + 1) * BK);
                for (int l = 0; l < BM * BK / ((BM / TM) * (BN / TN)); l++)
                {
                    int index = tid + (l * threads);
                    nextA[l] = LoadAFull(MODE, KH, KW, S, a, rowStart + (index / BK), k0 + (index % BK), rows, kEnd, c, h, w, oc, oh, ow, ph, pw, pad);
                }
                for (int l = 0; l < BK * BN / ((BM / TM) * (BN / TN)); l++)
                {
                    int index = tid + (l * threads);
                    nextB[l] = LoadBFull(MODE, KH, KW, S, b, columnStart + (index % BN), n, k0 + (index / BN), kEnd, c, h, w, oh, ow, ph, pw, pad);
                }
            }

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

        for (int i = 0; i < TM; i++)
        {
            for (int j = 0; j < TN; j++)
            {
                Store(MODE, KH, KW, S, output, bias, hasBias, rowStart + ty + (i * (BM / TM)), columnStart + tx + (j * (BN / TN)), rows, n, MODE == 1 ? 0 : z, 0,
                    c, h, w, oc, oh, ow, ph, pw, acc[(i * TN) + j]);
            }
        }
    }

    private static float LoadAFull(int mode, int kh_, int kw_, int s, ReadOnlyView<float> a, int row, int kk, int rows, int kEnd,
        int c, int h, int w, int oc, int oh, int ow, int ph, int pw, int pad) =>
        LoadA(mode, kh_, kw_, s, a, RowBase(mode, s, row, rows, c, h, w, oc, oh, ow, ph, pw), RowY(mode, s, row, h, w, oh, ow, pad, ph, pw),
            RowX(mode, s, row, w, ow, pad, pw), kk, kEnd, h, w, oc, oh, ow, ph, pw, pad);

    private static float LoadBFull(int mode, int kh_, int kw_, int s, ReadOnlyView<float> b, int column, int columns, int kk, int kEnd,
        int c, int h, int w, int oh, int ow, int ph, int pw, int pad) =>
        LoadB(mode, kh_, kw_, s, b, ColumnBase(mode, kh_, kw_, column, columns, h, w), ColumnY(kh_, kw_, column, pad), ColumnX(kw_, column, pad),
            column, kk, kEnd, c, h, w, oh, ow, ph, pw, pad);

    /// <summary>output[i] = sum over z &lt; splits of workspace[z length + i], in order (deterministic). One thread per element.</summary>
    [Kernel]
    public static void SumSplits(int length, int splits, ReadOnlyView<float> workspace, ArrayView<float> output)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < length)
        {
            float sum = 0f;
            for (int z = 0; z < splits; z++)
            {
                sum += workspace[(z * length) + i];
            }
            output[i] = sum;
        }
    }

    /// <summary>Bias gradient: output[ch] = sum over n and pixels of gradOut[n, ch, p]. One block of 256 threads per
    /// channel, fixed summation order (deterministic).</summary>
    [Kernel]
    public static void BiasGrad(int batch, int channels, int pixels, ReadOnlyView<float> gradOut, ArrayView<float> output)
    {
        var partial = Shared.Allocate<float>(256);
        int ch = BlockIdx.X;
        int tid = ThreadIdx.X;
        float sum = 0f;
        for (int n = 0; n < batch; n++)
        {
            int at = ((n * channels) + ch) * pixels;
            for (int i = tid; i < pixels; i += 256)
            {
                sum += gradOut[at + i];
            }
        }
        partial[tid] = sum;
        Group.Barrier();
        for (int width = 128; width > 0; width >>= 1)
        {
            if (tid < width)
            {
                partial[tid] += partial[tid + width];
            }
            Group.Barrier();
        }
        if (tid == 0)
        {
            output[ch] = partial[0];
        }
    }
}
