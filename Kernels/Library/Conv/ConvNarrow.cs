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
                            if (ACT == ActivationRelu)
                            {
                                z = z > 0f ? z : 0f;
                            }
                            else if (ACT == ActivationLeakyRelu)
                            {
                                z = z > 0f ? z : z * negativeSlope;
                            }
                            output[((((n * GOC) + o0 + o) * GOH) + oy0 + p) * GOW + ox] = z;
                        }
                    }
                }
            }
        }
    }
}
