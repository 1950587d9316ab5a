namespace GanEngine.Kernels.Cpu;

/// <summary>
/// The CPU body of <see cref="Wgmma"/>: each thread computes its own accumulators from the shared operands at the call
/// (the operands are in shared memory, so no lane exchange is needed), in the 128-byte swizzled layout. Inputs truncated to tf32 as the tensor cores
/// read them; each output's 8 products summed in double and rounded once, then added to the accumulator.
/// </summary>
public static class WgmmaEmulation
{
    public static void Tf32(CpuThread thread, Span<float> acc, int accOffset, SharedView<float> shared, int aOffset, int bOffset,
        int groupStride, int accumulate, int n)
    {
        int t = thread.LinearId % Wgmma.GroupSize;
        int warp = t >> 5;
        int g = (t & 31) >> 2;
        int q = t & 3;
        for (int j = 0; j < n / 8; j++)
        {
            for (int e = 0; e < 4; e++)
            {
                int row = (16 * warp) + g + (8 * (e >> 1));
                int column = (8 * j) + (2 * q) + (e & 1);
                double sum = 0;
                for (int k = 0; k < 8; k++)
                {
                    sum += (double)Truncate(shared[Element(aOffset, row, k, groupStride)]) *
                        Truncate(shared[Element(bOffset, column, k, groupStride)]);
                }
                int at = accOffset + (4 * j) + e;
                acc[at] = accumulate != 0 ? acc[at] + (float)sum : (float)sum;
            }
        }
    }

    /// <summary>Index of element (row, k) of the operand at <paramref name="offset"/>: its unswizzled place in 128-byte rows, then
    /// the 128-byte swizzle as the hardware applies it to address bits (16-byte chunk bits ^= 128-byte row bits).</summary>
    private static int Element(int offset, int row, int k, int groupStride)
    {
        int u = (offset & ~31) + ((row >> 3) * groupStride) + ((row & 7) * 32) + ((((offset & 31) >> 2) + (k >> 2)) * 4) + (k & 3);
        return u ^ (((u >> 5) & 7) << 2);
    }

    private static float Truncate(float x) => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(x) & 0xffffe000u);
}
