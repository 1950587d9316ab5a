namespace GanEngine.Kernels.Conv;

/// <summary>
/// Dgrad form (MODE 1 of <see cref="ConvImplicitGemm"/>: transposed convolution's forward, a convolution's input gradient) for
/// a big side of few channels (CC &lt;= 4, DCGAN's RGB layer), where a GEMM tile of 16 columns wastes 13 of them and its
/// 128-row gather dominates. One thread per stride-phase pixel (iq, jq) of NB images, all CC channels; the block's phase is
/// BlockIdx.Y (ph, pw), so only the taps of that phase run (as MODE 1) and every thread of a block reads the same weights:
/// they are staged once per block into shared memory as [o][tap][cc], and the loop over the
/// small side's channels o reads them as warp-wide broadcasts. The small side is read with lanes along jq (contiguous).
/// FP32 FMA in a fixed order (deterministic), also when TF32 is allowed (TF32 permits reduced precision, it does not require it):
/// rounding every loaded operand with cvt.rna cost 64 -> 58 us per launch on the H200 (DCGAN's last layer, batch 256). The geometry is compiled in (G* specializations).
/// </summary>
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
}
