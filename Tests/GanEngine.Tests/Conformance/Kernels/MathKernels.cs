using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>Edge cases of the semantics pinned across backends (docs/kernel-platform.md).</summary>
public static partial class MathKernels
{
    public const int MaxMinColumns = 2;
    public const int UnaryColumns = 9;
    public const int IntColumns = 4;
    public const int ShiftColumns = 4;
    public const int CastColumns = 2;

    /// <summary>[0] KMath.Max(a, b), [1] KMath.Min(a, b).</summary>
    [Kernel]
    public static void MaxMin(ReadOnlyView<float> a, ReadOnlyView<float> b, ArrayView<float> output, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            output[(i * MaxMinColumns) + 0] = KMath.Max(a[i], b[i]);
            output[(i * MaxMinColumns) + 1] = KMath.Min(a[i], b[i]);
        }
    }

    /// <summary>[0] Exp, [1] Log, [2] Sqrt, [3] Round, [4] Rint, [5] Trunc, [6] Floor, [7] Ceil, [8] Abs.</summary>
    [Kernel]
    public static void Unary(ReadOnlyView<float> x, ArrayView<float> output, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            float v = x[i];
            int o = i * UnaryColumns;
            output[o + 0] = KMath.Exp(v);
            output[o + 1] = KMath.Log(v);
            output[o + 2] = KMath.Sqrt(v);
            output[o + 3] = KMath.Round(v);
            output[o + 4] = KMath.Rint(v);
            output[o + 5] = KMath.Trunc(v);
            output[o + 6] = KMath.Floor(v);
            output[o + 7] = KMath.Ceil(v);
            output[o + 8] = KMath.Abs(v);
        }
    }

    /// <summary>[0] a / b, [1] a % b (int, truncating), [2] ua / ub, [3] ua % ub (uint).</summary>
    [Kernel]
    public static void IntegerDivision(ReadOnlyView<int> a, ReadOnlyView<int> b, ArrayView<int> output, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            int x = a[i];
            int y = b[i];
            uint ux = (uint)x;
            uint uy = (uint)y;
            int o = i * IntColumns;
            output[o + 0] = x / y;
            output[o + 1] = x % y;
            output[o + 2] = (int)(ux / uy);
            output[o + 3] = (int)(ux % uy);
        }
    }

    /// <summary>[0] x &lt;&lt; s, [1] x &gt;&gt; s (arithmetic), [2] ux &lt;&lt; s, [3] ux &gt;&gt; s (logical); s is any int (masked to 0..31).</summary>
    [Kernel]
    public static void Shifts(ReadOnlyView<int> values, ReadOnlyView<int> counts, ArrayView<int> output, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            int x = values[i];
            uint ux = (uint)x;
            int s = counts[i];
            int o = i * ShiftColumns;
            output[o + 0] = x << s;
            output[o + 1] = x >> s;
            output[o + 2] = (int)(ux << s);
            output[o + 3] = (int)(ux >> s);
        }
    }

    /// <summary>Saturating float-to-int casts: ints[i] = (int)x, uints[i] = (uint)x.</summary>
    [Kernel]
    public static void Casts(ReadOnlyView<float> x, ArrayView<int> ints, ArrayView<uint> uints, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            float v = x[i];
            ints[i] = (int)v;
            uints[i] = (uint)v;
        }
    }
}
