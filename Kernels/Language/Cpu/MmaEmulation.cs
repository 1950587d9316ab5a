namespace GanEngine.Kernels.Cpu;

/// <summary>
/// The CPU body of <see cref="Mma"/>: reproduces the PTX fragment layout exactly (so CPU tests check
/// the index arithmetic the GPU runs) and the reduction of inputs to tf32 / bf16.
/// </summary>
/// <remarks>
/// Operand precision: the tensor cores read a <c>.tf32</c> operand from an fp32 register and use only
/// its top 19 bits (sign, exponent, 10 mantissa bits); we emulate that as truncation. Products of
/// tf32 or bf16 values are exact in fp32; we sum them in double and round once to float, which may
/// differ from the hardware's internal accumulation in the last bit. Kernels that want rounding
/// instead of truncation call <see cref="Mma.ToTf32"/> first, as CUTLASS does.
/// </remarks>
public static class MmaEmulation
{
    // Exchange slot words: A in 0..3, B in 4..5, C in 6..9.
    private const int SlotA = 0;
    private const int SlotB = 4;
    private const int SlotC = 6;

    public static MmaAccumulator Tf32M16N8K8(CpuThread thread, MmaTf32A a, MmaTf32B b, MmaAccumulator c)
    {
        thread.RequireCollective("Mma.Tf32M16N8K8");
        if (thread.Phase == CollectivePhase.Arrive)
        {
            var slot = thread.ExchangeSlot;
            slot[SlotA + 0] = Bits(a.A0);
            slot[SlotA + 1] = Bits(a.A1);
            slot[SlotA + 2] = Bits(a.A2);
            slot[SlotA + 3] = Bits(a.A3);
            slot[SlotB + 0] = Bits(b.B0);
            slot[SlotB + 1] = Bits(b.B1);
            return default;
        }

        // Gather the warp's 16x8 A and 8x8 B tiles from every lane's fragment.
        Span<float> tileA = stackalloc float[16 * 8];
        Span<float> tileB = stackalloc float[8 * 8];
        int warpStart = thread.WarpId * Warp.Size;
        for (int lane = 0; lane < Warp.Size; lane++)
        {
            var peer = thread.PeerSlot(warpStart + lane);
            int g = lane >> 2, t = lane & 3;
            tileA[(g * 8) + t] = TruncateToTf32(Float(peer[SlotA + 0]));
            tileA[((g + 8) * 8) + t] = TruncateToTf32(Float(peer[SlotA + 1]));
            tileA[(g * 8) + t + 4] = TruncateToTf32(Float(peer[SlotA + 2]));
            tileA[((g + 8) * 8) + t + 4] = TruncateToTf32(Float(peer[SlotA + 3]));
            tileB[(t * 8) + g] = TruncateToTf32(Float(peer[SlotB + 0]));
            tileB[((t + 4) * 8) + g] = TruncateToTf32(Float(peer[SlotB + 1]));
        }
        thread.FinishCollective();
        return Accumulate(thread.LaneId, tileA, tileB, 8, c);
    }

    public static MmaAccumulator Bf16M16N8K16(CpuThread thread, MmaBf16A a, MmaBf16B b, MmaAccumulator c)
    {
        thread.RequireCollective("Mma.Bf16M16N8K16");
        if (thread.Phase == CollectivePhase.Arrive)
        {
            var slot = thread.ExchangeSlot;
            slot[SlotA + 0] = a.A0;
            slot[SlotA + 1] = a.A1;
            slot[SlotA + 2] = a.A2;
            slot[SlotA + 3] = a.A3;
            slot[SlotB + 0] = b.B0;
            slot[SlotB + 1] = b.B1;
            return default;
        }

        Span<float> tileA = stackalloc float[16 * 16];
        Span<float> tileB = stackalloc float[16 * 8];
        int warpStart = thread.WarpId * Warp.Size;
        for (int lane = 0; lane < Warp.Size; lane++)
        {
            var peer = thread.PeerSlot(warpStart + lane);
            int g = lane >> 2, t = lane & 3;
            for (int half = 0; half < 2; half++)
            {
                int k = (2 * t) + half;
                tileA[(g * 16) + k] = Bf16(peer[SlotA + 0], half);
                tileA[((g + 8) * 16) + k] = Bf16(peer[SlotA + 1], half);
                tileA[(g * 16) + k + 8] = Bf16(peer[SlotA + 2], half);
                tileA[((g + 8) * 16) + k + 8] = Bf16(peer[SlotA + 3], half);
                tileB[(k * 8) + g] = Bf16(peer[SlotB + 0], half);
                tileB[((k + 8) * 8) + g] = Bf16(peer[SlotB + 1], half);
            }
        }
        thread.FinishCollective();
        return Accumulate(thread.LaneId, tileA, tileB, 16, c);
    }

    /// <summary><c>cvt.rna.tf32.f32</c>: round to 10 mantissa bits, halves away from zero.</summary>
    public static float RoundToTf32(float x)
    {
        uint bits = Bits(x);
        if ((bits & 0x7f800000u) == 0x7f800000u)
        {
            return x; // infinities and NaN unchanged
        }
        bits = (bits + 0x1000u) & 0xffffe000u;
        return Float(bits);
    }

    /// <summary>Keeps the top 19 bits, as the tensor cores read a tf32 operand.</summary>
    public static float TruncateToTf32(float x) => Float(Bits(x) & 0xffffe000u);

    /// <summary>fp32 to bf16 bits, round to nearest even (NaN stays NaN).</summary>
    public static ushort RoundToBf16(float x)
    {
        uint bits = Bits(x);
        if (float.IsNaN(x))
        {
            return (ushort)((bits >> 16) | 0x40);
        }
        uint rounding = 0x7fffu + ((bits >> 16) & 1u);
        return (ushort)((bits + rounding) >> 16);
    }

    private static MmaAccumulator Accumulate(int lane, ReadOnlySpan<float> tileA, ReadOnlySpan<float> tileB, int k, MmaAccumulator c)
    {
        int g = lane >> 2, t = lane & 3;
        return new MmaAccumulator
        {
            C0 = Dot(tileA, tileB, k, g, 2 * t, c.C0),
            C1 = Dot(tileA, tileB, k, g, (2 * t) + 1, c.C1),
            C2 = Dot(tileA, tileB, k, g + 8, 2 * t, c.C2),
            C3 = Dot(tileA, tileB, k, g + 8, (2 * t) + 1, c.C3),
        };
    }

    private static float Dot(ReadOnlySpan<float> tileA, ReadOnlySpan<float> tileB, int k, int row, int column, float accumulator)
    {
        double sum = accumulator;
        for (int i = 0; i < k; i++)
        {
            sum += (double)tileA[(row * k) + i] * tileB[(i * 8) + column];
        }
        return (float)sum;
    }

    private static float Bf16(uint packed, int half) => Float((half == 0 ? packed & 0xffffu : packed >> 16) << 16);

    private static uint Bits(float x) => BitConverter.SingleToUInt32Bits(x);

    private static float Float(uint bits) => BitConverter.UInt32BitsToSingle(bits);
}
