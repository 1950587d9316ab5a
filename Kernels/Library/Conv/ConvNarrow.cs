namespace GanEngine.Kernels.Conv;

/// <summary>
/// Convolutions with a big side of few channels (at most 4: DCGAN's RGB layer), where the implicit GEMM's tiles are mostly
/// waste: <see cref="Dgrad"/> and <see cref="Forward"/> (remarks there).
/// </summary>
/// <remarks>
/// <see cref="Dgrad"/>: dgrad form (MODE 1 of <see cref="ConvImplicitGemm"/>: transposed convolution's forward, a convolution's input gradient) for
/// a big side of few channels (CC &lt;= 4, DCGAN's RGB layer), where a GEMM tile of 16 columns wastes 13 of them and its
/// 128-row gather dominates. One thread per stride-phase pixel (iq, jq) of NB images, all CC channels; the block's phase is
/// BlockIdx.Y (ph, pw), so only the taps of that phase run (as MODE 1) and every thread of a block reads the same weights:
/// they are staged once per block into shared memory as [o][tap][cc], and the loop over the
/// small side's channels o reads them as warp-wide broadcasts. The small side is read with lanes along jq (contiguous).
/// FP32 FMA in a fixed order (deterministic), also when TF32 is allowed (TF32 permits reduced precision, it does not require it):
/// rounding every loaded operand with cvt.rna cost 64 -> 58 us per launch on the H200 (DCGAN's last layer, batch 256). The geometry is compiled in (G* specializations).
/// </remarks>
public static partial class ConvNarrow
{
    /// <summary>Floats per output channel o in the shared weight table: taps x channels, rounded up to 4 (16-byte rows).</summary>
    public static int WeightStride(int channels, int kh, int kw, int s) => ((((kh + s - 1) / s) * ((kw + s - 1) / s) * channels) + 3) / 4 * 4;

    private static int PhaseRows(int extent, int phase, int s) => (extent - phase + s - 1) / s;

    /// <summary>output (batch, CC, GH, GW) = dgrad of small (batch, GOC, GOH, GOW) with weight (GOC, CC, KH, KW), plus bias[cc].
    /// Grid (ceil(ceil(batch / NB) ceil(GH / S) ceil(GW / S) / block), S S); dynamic shared GOC WeightStride floats.</summary>
    [Kernel]
    public static void Dgrad(int batch, int hasBias,
        ReadOnlyView<float> small, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> output,
        [Specialization] int CC, [Specialization] int KH, [Specialization] int KW, [Specialization] int S, [Specialization] int NB,
        [Specialization] int OU, [Specialization] int TT, [Specialization] int GH, [Specialization] int GW, [Specialization] int GOC,
        [Specialization] int GOH, [Specialization] int GOW, [Specialization] int GPAD)
    {
        var wsh = Shared.Dynamic<float>();
        int th = (KH + S - 1) / S;
        int tw = (KW + S - 1) / S;
        int ws = (((th * tw * CC) + 3) / 4) * 4;
        int z = BlockIdx.Y;
        int ph = z / S;
        int pw = z - (ph * S);
        int khF = (ph + GPAD) % S;
        int kwF = (pw + GPAD) % S;
        for (int e = ThreadIdx.X; e < GOC * ws; e += BlockDim.X)
        {
            int o = e / ws;
            int r = e - (o * ws);
            int j = r / CC;
            int cc = r - (j * CC);
            float v = 0f;
            if (j < th * tw)
            {
                int jh = j / tw;
                int ky = khF + (jh * S);
                int kx = kwF + ((j - (jh * tw)) * S);
                if (ky < KH && kx < KW)
                {
                    v = weight[((((o * CC) + cc) * KH) + ky) * KW + kx];
                }
            }
            wsh[e] = v;
        }
        Group.Barrier();

        int hq = PhaseRows(GH, ph, S);
        int wq = PhaseRows(GW, pw, S);
        int pix = hq * wq;
        int groups = (batch + NB - 1) / NB;
        int t = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (t < groups * pix)
        {
            int r = t % pix;
            int n0 = (t / pix) * NB;
            int iq = r / wq;
            int jq = r - (iq * wq);
            int y0 = iq + ((ph + GPAD) / S);
            int x0 = jq + ((pw + GPAD) / S);
            int mask = 0;
            for (int j = 0; j < th * tw; j++)
            {
                int jh = j / tw;
                int jw = j - (jh * tw);
                int y = y0 - jh;
                int x = x0 - jw;
                mask |= khF + (jh * S) < KH && kwF + (jw * S) < KW && y >= 0 && y < GOH && x >= 0 && x < GOW ? 1 << j : 0;
            }
            Span<float> acc = stackalloc float[NB * CC];
            Span<float> wv = stackalloc float[CC];
            Span<int> at = stackalloc int[NB];
            for (int i = 0; i < NB * CC; i++)
            {
                acc[i] = 0f;
            }
            for (int b = 0; b < NB; b++)
            {
                // Images past the batch read the last image (results dropped).
                int n = KMath.Min(n0 + b, batch - 1);
                at[b] = (n * GOC * GOH * GOW) + (y0 * GOW) + x0;
            }
            // Run 1 (one o per iteration): 78-108 us for DCGAN's last layer, bound by the latency of one load batch per o. The loads
            // of OU channels o are issued first (OU T NB in flight), then the FMAs.
            Span<float> vals = stackalloc float[OU * TT * NB];
            int oTail = GOC - (GOC % OU);
            for (int o0 = 0; o0 < oTail; o0 += OU)
            {
                for (int u = 0; u < OU; u++)
                {
                    for (int j = 0; j < TT; j++)
                    {
                        int off = ((o0 + u) * GOH * GOW) - ((j / tw) * GOW) - (j % tw);
                        for (int b = 0; b < NB; b++)
                        {
                            float v = 0f;
                            if (j < th * tw && ((mask >> j) & 1) != 0)
                            {
                                v = small[at[b] + off];
                            }
                            vals[(((u * TT) + j) * NB) + b] = v;
                        }
                    }
                }
                for (int u = 0; u < OU; u++)
                {
                    for (int j = 0; j < TT; j++)
                    {
                        for (int cc = 0; cc < CC; cc++)
                        {
                            wv[cc] = wsh[((o0 + u) * ws) + (j * CC) + cc];
                        }
                        for (int b = 0; b < NB; b++)
                        {
                            for (int cc = 0; cc < CC; cc++)
                            {
                                acc[(b * CC) + cc] = KMath.Fma(vals[(((u * TT) + j) * NB) + b], wv[cc], acc[(b * CC) + cc]);
                            }
                        }
                    }
                }
            }
            for (int o = oTail; o < GOC; o++)
            {
                for (int j = 0; j < th * tw; j++)
                {
                    int off = (o * GOH * GOW) - ((j / tw) * GOW) - (j % tw);
                    for (int cc = 0; cc < CC; cc++)
                    {
                        wv[cc] = wsh[(o * ws) + (j * CC) + cc];
                    }
                    for (int b = 0; b < NB; b++)
                    {
                        float v = 0f;
                        if (((mask >> j) & 1) != 0)
                        {
                            v = small[at[b] + off];
                        }
                        for (int cc = 0; cc < CC; cc++)
                        {
                            acc[(b * CC) + cc] = KMath.Fma(v, wv[cc], acc[(b * CC) + cc]);
                        }
                    }
                }
            }
            int iy = (iq * S) + ph;
            int ix = (jq * S) + pw;
            for (int b = 0; b < NB; b++)
            {
                if (n0 + b < batch)
                {
                    for (int cc = 0; cc < CC; cc++)
                    {
                        output[(((((n0 + b) * CC) + cc) * GH) + iy) * GW + ix] = hasBias != 0 ? acc[(b * CC) + cc] + bias[cc] : acc[(b * CC) + cc];
                    }
                }
            }
        }
    }

    /// <summary>ACT specialization: the plain convolution.</summary>
    public const int ActivationNone = 0;

    /// <summary>ACT specialization: y = z &gt; 0 ? z : 0 (0 for NaN, as the engine's ReLU).</summary>
    public const int ActivationRelu = 1;

    /// <summary>ACT specialization: y = z &gt; 0 ? z : z negativeSlope.</summary>
    public const int ActivationLeakyRelu = 2;

    /// <summary>output (batch, GOC, GOH, GOW) = act(conv(input (batch, CC, GH, GW), weight (GOC, CC, KH, KW)) + bias).
    /// Grid (ceil(batch ceil(GOH / P) GOW / block), ceil(GOC / OCB)); dynamic shared OCB CC KH KW floats.</summary>
    /// <remarks>
    /// Forward form (MODE 0 of <see cref="ConvImplicitGemm"/>: a convolution's forward, a transposed convolution's input gradient)
    /// for a big side of few channels (CC &lt;= 4: DCGAN's RGB layer, K = CC KH KW = 48), where the GEMM kernel's long-K machinery
    /// (index tables, two shared stages, an epilogue through shared memory) runs for only 6 K steps and took 35 us on the H200 at
    /// batch 256 for 0.4 GFLOP and 34 MB written. Here one thread computes P consecutive output rows of one output column for a
    /// chunk of OCB output channels (BlockIdx.Y): per (channel, kernel row) it loads the P KW inputs it needs into registers,
    /// then every weight, read once from shared memory as a warp-wide broadcast, feeds P FMAs (one LDS per P FMAs, not one per FMA).
    /// Lanes run along the output column, so every store of a warp is a run of consecutive pixels. FP32 FMA in a fixed order
    /// (channel, kernel row, kernel column) in either math mode: deterministic. The epilogue adds the bias and applies the
    /// <see cref="ActivationRelu"/> / <see cref="ActivationLeakyRelu"/> activation (ACT), so a conv-LeakyReLU pair writes its
    /// tensor once.
    /// </remarks>
    [Kernel]
    public static void Forward(int batch, int hasBias, float negativeSlope,
        ReadOnlyView<float> input, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> output,
        [Specialization] int CC, [Specialization] int KH, [Specialization] int KW, [Specialization] int S,
        [Specialization] int P, [Specialization] int OCB, [Specialization] int ACT,
        [Specialization] int GH, [Specialization] int GW, [Specialization] int GOC,
        [Specialization] int GOH, [Specialization] int GOW, [Specialization] int GPAD)
    {
        var wsh = Shared.Dynamic<float>();
        int taps = CC * KH * KW;
        int o0 = BlockIdx.Y * OCB;
        // The chunk's weights; channels past GOC read as 0 (their results are not stored).
        for (int e = ThreadIdx.X; e < OCB * taps; e += BlockDim.X)
        {
            int o = o0 + (e / taps);
            wsh[e] = o < GOC ? weight[(o * taps) + (e - ((e / taps) * taps))] : 0f;
        }
        Group.Barrier();

        int rowGroups = (GOH + P - 1) / P;
        int t = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (t < batch * rowGroups * GOW)
        {
            int ox = t % GOW;
            int r = t / GOW;
            int n = r / rowGroups;
            int oy0 = (r - (n * rowGroups)) * P;
            int x0 = (ox * S) - GPAD;
            Span<float> acc = stackalloc float[OCB * P];
            Span<float> inp = stackalloc float[P * KW];
            for (int i = 0; i < OCB * P; i++)
            {
                acc[i] = 0f;
            }
            for (int cc = 0; cc < CC; cc++)
            {
                int plane = ((n * CC) + cc) * GH;
                for (int ky = 0; ky < KH; ky++)
                {
                    for (int p = 0; p < P; p++)
                    {
                        int y = ((oy0 + p) * S) - GPAD + ky;
                        bool rowOk = y >= 0 && y < GH;
                        for (int kx = 0; kx < KW; kx++)
                        {
                            int x = x0 + kx;
                            inp[(p * KW) + kx] = rowOk && x >= 0 && x < GW ? input[((plane + y) * GW) + x] : 0f;
                        }
                    }
                    for (int o = 0; o < OCB; o++)
                    {
                        for (int kx = 0; kx < KW; kx++)
                        {
                            float wv = wsh[(o * taps) + (((cc * KH) + ky) * KW) + kx];
                            for (int p = 0; p < P; p++)
                            {
                                acc[(o * P) + p] = KMath.Fma(inp[(p * KW) + kx], wv, acc[(o * P) + p]);
                            }
                        }
                    }
                }
            }
            for (int o = 0; o < OCB; o++)
            {
                if (o0 + o < GOC)
                {
                    float b = hasBias != 0 ? bias[o0 + o] : 0f;
                    for (int p = 0; p < P; p++)
                    {
                        if (oy0 + p < GOH)
                        {
                            float z = hasBias != 0 ? acc[(o * P) + p] + b : acc[(o * P) + p];
                            output[((((n * GOC) + o0 + o) * GOH) + oy0 + p) * GOW + ox] = Activate(z, negativeSlope, ACT);
                        }
                    }
                }
            }
        }
    }

    /// <summary>The TF32 tensor-core form of <see cref="Forward"/> (same arguments, same output): an implicit GEMM with the pixels
    /// as M, the output channels as N and the CC KH KW taps as K, so that a warp's whole K fits in registers. Each warp keeps
    /// the B fragments of its NT 8-channel column tiles for all of K (rounded to TF32 once), then walks TPB tiles of 16 pixels,
    /// TT at a time: it gathers all their A fragments straight from the input into registers first (no shared memory, no
    /// barriers; the bounds are one bit test per element against the pixel's row and column masks), then issues
    /// K / 8 x NT x TT <c>mma.m16n8k8</c>. C fragments hold 8 consecutive pixels of one channel per lane group, so every store of a warp is
    /// 4 channel rows x 32 bytes. Grid (ceil(pixels / (16 TPB)), ceil(GOC / (8 NT warps))); blocks of 4 warps. On the H200 the
    /// FP32 <see cref="Forward"/> is bound by its 0.4 G FMA instructions (ncu: 128 registers, 59 % issue slots, 40 us under
    /// the profiler); here the multiplies are 16 x 8 x 8 per instruction and the kernel is bound by its 34 MB of stores.</summary>
    [Kernel]
    [LaunchBounds(128, 3)]
    public static void ForwardTf32(int batch, int hasBias, float negativeSlope,
        ReadOnlyView<float> input, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> output,
        [Specialization] int CC, [Specialization] int KH, [Specialization] int KW, [Specialization] int S,
        [Specialization] int NT, [Specialization] int TPB, [Specialization] int TT, [Specialization] int ACT,
        [Specialization] int GH, [Specialization] int GW, [Specialization] int GOC,
        [Specialization] int GOH, [Specialization] int GOW, [Specialization] int GPAD)
    {
        int taps = CC * KH * KW;
        int lane = ThreadIdx.X & 31;
        int g = lane >> 2;
        int t = lane & 3;
        int ocWarp = ((BlockIdx.Y * (BlockDim.X >> 5)) + (ThreadIdx.X >> 5)) * NT * 8;
        // The thread's K entries: k = 8 s + t + 4 h (h = 0, 1): input offsets and ky 256 + kx, the bits tested in a pixel's
        // row / column masks (past K: ky = 31, a bit no mask has).
        Span<int> kOff = stackalloc int[((CC * KH * KW) + 7) / 8 * 2];
        Span<int> kYX = stackalloc int[((CC * KH * KW) + 7) / 8 * 2];
        Span<float> wb = stackalloc float[((CC * KH * KW) + 7) / 8 * NT * 2];
        for (int s = 0; s < (taps + 7) / 8; s++)
        {
            for (int h = 0; h < 2; h++)
            {
                int k = (8 * s) + t + (4 * h);
                int c = k / (KH * KW);
                int ky = (k - (c * KH * KW)) / KW;
                int kx = k - (c * KH * KW) - (ky * KW);
                kOff[(2 * s) + h] = k < taps ? (((c * GH) + ky) * GW) + kx : 0;
                kYX[(2 * s) + h] = k < taps ? (ky << 8) | kx : 31 << 8;
                for (int j = 0; j < NT; j++)
                {
                    int o = ocWarp + (8 * j) + g;
                    wb[(((s * NT) + j) * 2) + h] = k < taps && o < GOC ? Mma.ToTf32(weight[(o * taps) + k]) : 0f;
                }
            }
        }

        // TT tiles per pass (pixels g and g + 8 of each): all their gathers are issued before the first mma.
        int pixels = batch * GOH * GOW;
        Span<float> acc = stackalloc float[TT * NT * 4];
        Span<float> av = stackalloc float[TT * (((CC * KH * KW) + 7) / 8) * 4];
        Span<int> pBase = stackalloc int[TT * 2];
        Span<int> pRows = stackalloc int[TT * 2];
        Span<int> pCols = stackalloc int[TT * 2];
        Span<int> pOut = stackalloc int[TT * 2];
        for (int pass = 0; pass < TPB / TT; pass++)
        {
            for (int r = 0; r < TT * 2; r++)
            {
                int p = (((((BlockIdx.X * TPB) + (pass * TT) + (r >> 1)) * 16) + g) + (8 * (r & 1)));
                int n = p / (GOH * GOW);
                int rest = p - (n * GOH * GOW);
                int oy = rest / GOW;
                int ox = rest - (oy * GOW);
                int y0 = (oy * S) - GPAD;
                int x0 = (ox * S) - GPAD;
                int rows = 0;
                int cols = 0;
                for (int q = 0; q < KH; q++)
                {
                    rows |= p < pixels && y0 + q >= 0 && y0 + q < GH ? 1 << q : 0;
                }
                for (int q = 0; q < KW; q++)
                {
                    cols |= x0 + q >= 0 && x0 + q < GW ? 1 << q : 0;
                }
                pRows[r] = rows;
                pCols[r] = cols;
                pBase[r] = (n * CC * GH * GW) + (y0 * GW) + x0;
                pOut[r] = p < pixels ? (n * GOC * GOH * GOW) + rest : -1;
            }
            // A fragments: (pixel g, k t), (pixel g + 8, k t), (g, t + 4), (g + 8, t + 4) of every K step.
            for (int u = 0; u < TT; u++)
            {
                for (int s = 0; s < (taps + 7) / 8; s++)
                {
                    for (int e = 0; e < 4; e++)
                    {
                        int r = (2 * u) + (e & 1);
                        int kyx = kYX[(2 * s) + (e >> 1)];
                        av[(((u * ((taps + 7) / 8)) + s) * 4) + e] = ((pRows[r] >> (kyx >> 8)) & (pCols[r] >> (kyx & 255)) & 1) != 0
                            ? Mma.ToTf32(input[pBase[r] + kOff[(2 * s) + (e >> 1)]]) : 0f;
                    }
                }
            }
            for (int i = 0; i < TT * NT * 4; i++)
            {
                acc[i] = 0f;
            }
            for (int s = 0; s < (taps + 7) / 8; s++)
            {
                for (int u = 0; u < TT; u++)
                {
                    MmaTf32A a;
                    a.A0 = av[(((u * ((taps + 7) / 8)) + s) * 4) + 0];
                    a.A1 = av[(((u * ((taps + 7) / 8)) + s) * 4) + 1];
                    a.A2 = av[(((u * ((taps + 7) / 8)) + s) * 4) + 2];
                    a.A3 = av[(((u * ((taps + 7) / 8)) + s) * 4) + 3];
                    for (int j = 0; j < NT; j++)
                    {
                        int at = ((u * NT) + j) * 4;
                        MmaTf32B b;
                        b.B0 = wb[(((s * NT) + j) * 2) + 0];
                        b.B1 = wb[(((s * NT) + j) * 2) + 1];
                        MmaAccumulator d;
                        d.C0 = acc[at + 0];
                        d.C1 = acc[at + 1];
                        d.C2 = acc[at + 2];
                        d.C3 = acc[at + 3];
                        d = Mma.Tf32M16N8K8(a, b, d);
                        acc[at + 0] = d.C0;
                        acc[at + 1] = d.C1;
                        acc[at + 2] = d.C2;
                        acc[at + 3] = d.C3;
                    }
                }
            }
            // C0 / C1: pixel g, channels 2t / 2t + 1; C2 / C3: pixel g + 8.
            for (int u = 0; u < TT; u++)
            {
                for (int j = 0; j < NT; j++)
                {
                    for (int e = 0; e < 4; e++)
                    {
                        int o = ocWarp + (8 * j) + (2 * t) + (e & 1);
                        int at = pOut[(2 * u) + (e >> 1)];
                        if (at >= 0 && o < GOC)
                        {
                            float z = hasBias != 0 ? acc[(((u * NT) + j) * 4) + e] + bias[o] : acc[(((u * NT) + j) * 4) + e];
                            output[at + (o * GOH * GOW)] = Activate(z, negativeSlope, ACT);
                        }
                    }
                }
            }
        }
    }

    private static float Activate(float z, float negativeSlope, int act)
    {
        float r = z;
        if (act == ActivationRelu)
        {
            r = z > 0f ? z : 0f;
        }
        else if (act == ActivationLeakyRelu)
        {
            r = z > 0f ? z : z * negativeSlope;
        }
        return r;
    }
}
