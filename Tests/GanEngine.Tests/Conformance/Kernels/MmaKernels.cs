using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>
/// Tensor-core tiles. Every warp of the launch multiplies its own tile: tile index
/// = blockIdx.x * (blockDim.x / 32) + warp. Matrices are row-major per tile: A is 16 x K, B is K x 8,
/// C and D are 16 x 8. Fragments are loaded exactly as the PTX ISA lays them out (see Mma.cs),
/// with g = lane / 4 and t = lane % 4.
/// </summary>
public static partial class MmaKernels
{
    [Kernel]
    public static void Tf32Tile(ReadOnlyView<float> a, ReadOnlyView<float> b, ReadOnlyView<float> c, ArrayView<float> d)
    {
        int tile = (BlockIdx.X * (BlockDim.X / 32)) + Warp.WarpId;
        int lane = Warp.LaneId;
        int g = lane / 4;
        int t = lane % 4;
        int aBase = tile * 16 * 8;
        int bBase = tile * 8 * 8;
        int cBase = tile * 16 * 8;

        MmaTf32A fa;
        fa.A0 = a[aBase + (g * 8) + t];
        fa.A1 = a[aBase + ((g + 8) * 8) + t];
        fa.A2 = a[aBase + (g * 8) + t + 4];
        fa.A3 = a[aBase + ((g + 8) * 8) + t + 4];
        MmaTf32B fb;
        fb.B0 = b[bBase + (t * 8) + g];
        fb.B1 = b[bBase + ((t + 4) * 8) + g];
        MmaAccumulator fc;
        fc.C0 = c[cBase + (g * 8) + (2 * t)];
        fc.C1 = c[cBase + (g * 8) + (2 * t) + 1];
        fc.C2 = c[cBase + ((g + 8) * 8) + (2 * t)];
        fc.C3 = c[cBase + ((g + 8) * 8) + (2 * t) + 1];

        MmaAccumulator fd = Mma.Tf32M16N8K8(fa, fb, fc);

        d[cBase + (g * 8) + (2 * t)] = fd.C0;
        d[cBase + (g * 8) + (2 * t) + 1] = fd.C1;
        d[cBase + ((g + 8) * 8) + (2 * t)] = fd.C2;
        d[cBase + ((g + 8) * 8) + (2 * t) + 1] = fd.C3;
    }

    /// <summary>A (16 x 16) and B (16 x 8) as floats; the kernel rounds them to bf16 with Mma.PackBf16.</summary>
    [Kernel]
    public static void Bf16Tile(ReadOnlyView<float> a, ReadOnlyView<float> b, ReadOnlyView<float> c, ArrayView<float> d)
    {
        int tile = (BlockIdx.X * (BlockDim.X / 32)) + Warp.WarpId;
        int lane = Warp.LaneId;
        int g = lane / 4;
        int t = lane % 4;
        int aBase = tile * 16 * 16;
        int bBase = tile * 16 * 8;
        int cBase = tile * 16 * 8;
        int k0 = 2 * t;

        MmaBf16A fa;
        fa.A0 = Mma.PackBf16(a[aBase + (g * 16) + k0], a[aBase + (g * 16) + k0 + 1]);
        fa.A1 = Mma.PackBf16(a[aBase + ((g + 8) * 16) + k0], a[aBase + ((g + 8) * 16) + k0 + 1]);
        fa.A2 = Mma.PackBf16(a[aBase + (g * 16) + k0 + 8], a[aBase + (g * 16) + k0 + 9]);
        fa.A3 = Mma.PackBf16(a[aBase + ((g + 8) * 16) + k0 + 8], a[aBase + ((g + 8) * 16) + k0 + 9]);
        MmaBf16B fb;
        fb.B0 = Mma.PackBf16(b[bBase + (k0 * 8) + g], b[bBase + ((k0 + 1) * 8) + g]);
        fb.B1 = Mma.PackBf16(b[bBase + ((k0 + 8) * 8) + g], b[bBase + ((k0 + 9) * 8) + g]);
        MmaAccumulator fc;
        fc.C0 = c[cBase + (g * 8) + (2 * t)];
        fc.C1 = c[cBase + (g * 8) + (2 * t) + 1];
        fc.C2 = c[cBase + ((g + 8) * 8) + (2 * t)];
        fc.C3 = c[cBase + ((g + 8) * 8) + (2 * t) + 1];

        MmaAccumulator fd = Mma.Bf16M16N8K16(fa, fb, fc);

        d[cBase + (g * 8) + (2 * t)] = fd.C0;
        d[cBase + (g * 8) + (2 * t) + 1] = fd.C1;
        d[cBase + ((g + 8) * 8) + (2 * t)] = fd.C2;
        d[cBase + ((g + 8) * 8) + (2 * t) + 1] = fd.C3;
    }

    /// <summary>tf32[i] = Mma.ToTf32(x[i]); bf16[i] = Mma.PackBf16(x[i], y[i]).</summary>
    [Kernel]
    public static void Conversions(ReadOnlyView<float> x, ReadOnlyView<float> y, ArrayView<float> tf32, ArrayView<uint> bf16, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            tf32[i] = Mma.ToTf32(x[i]);
            bf16[i] = Mma.PackBf16(x[i], y[i]);
        }
    }
}
