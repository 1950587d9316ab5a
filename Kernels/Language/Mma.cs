using GanEngine.Kernels.Cpu;

namespace GanEngine.Kernels;

/// <summary>A thread's share of the 16x8 fp32 C/D tile: rows <c>g</c> and <c>g+8</c>, columns
/// <c>2t</c> and <c>2t+1</c>, where <c>g = lane / 4</c>, <c>t = lane % 4</c>.</summary>
public struct MmaAccumulator
{
    /// <summary>(g, 2t)</summary>
    public float C0;
    /// <summary>(g, 2t+1)</summary>
    public float C1;
    /// <summary>(g+8, 2t)</summary>
    public float C2;
    /// <summary>(g+8, 2t+1)</summary>
    public float C3;
}

/// <summary>A thread's share of the 16x8 tf32 A tile (row-major): (g, t), (g+8, t), (g, t+4), (g+8, t+4).</summary>
public struct MmaTf32A
{
    public float A0;
    public float A1;
    public float A2;
    public float A3;
}

/// <summary>A thread's share of the 8x8 tf32 B tile (k x n, "col"): (t, g), (t+4, g).</summary>
public struct MmaTf32B
{
    public float B0;
    public float B1;
}

/// <summary>A thread's share of the 16x16 bf16 A tile; each register holds two bf16 (low half first):
/// A0 = (g, 2t..2t+1), A1 = (g+8, 2t..2t+1), A2 = (g, 2t+8..2t+9), A3 = (g+8, 2t+8..2t+9).</summary>
public struct MmaBf16A
{
    public uint A0;
    public uint A1;
    public uint A2;
    public uint A3;
}

/// <summary>A thread's share of the 16x8 bf16 B tile (k x n): B0 = (2t..2t+1, g), B1 = (2t+8..2t+9, g).</summary>
public struct MmaBf16B
{
    public uint B0;
    public uint B1;
}

/// <summary>
/// Warp-level tensor-core matrix multiply-accumulate (<c>mma.sync.aligned</c>), D = A * B + C over one
/// warp's tiles. Every lane of the warp must call it (block-uniform control flow), with its fragment
/// as the PTX ISA lays them out (see the fragment types). On the CPU and on OpenCL the same layout is
/// emulated, including the reduction of inputs to tf32 / bf16.
/// </summary>
public static class Mma
{
    /// <summary><c>mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32</c>.</summary>
    public static MmaAccumulator Tf32M16N8K8(MmaTf32A a, MmaTf32B b, MmaAccumulator c) =>
        MmaEmulation.Tf32M16N8K8(CpuThread.Current, a, b, c);

    /// <summary><c>mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32</c>.</summary>
    public static MmaAccumulator Bf16M16N8K16(MmaBf16A a, MmaBf16B b, MmaAccumulator c) =>
        MmaEmulation.Bf16M16N8K16(CpuThread.Current, a, b, c);

    /// <summary><c>cvt.rna.tf32.f32</c>: rounds to tf32 (10-bit mantissa), halves away from zero,
    /// returned as a float whose low 13 mantissa bits are zero.</summary>
    public static float ToTf32(float x) => MmaEmulation.RoundToTf32(x);

    /// <summary>Packs two floats as bf16 (round to nearest even): <paramref name="low"/> in bits 0-15.</summary>
    public static uint PackBf16(float low, float high) =>
        MmaEmulation.RoundToBf16(low) | ((uint)MmaEmulation.RoundToBf16(high) << 16);
}
