namespace GanEngine.Kernels;

/// <summary>
/// Math for kernels with C semantics, mapped to CUDA's and OpenCL's built-ins. Use these rather
/// than <see cref="Math"/>/<see cref="MathF"/>, whose semantics differ from C's in places:
/// <see cref="MathF.Max(float, float)"/> propagates NaN where <c>fmaxf</c> ignores it, and
/// <see cref="MathF.Round(float)"/> rounds halves to even where <c>roundf</c> rounds them away from zero.
/// </summary>
public static class KMath
{
    /// <summary><c>fmaxf</c>: the larger operand; if one is NaN, the other.</summary>
    public static float Max(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : (a > b ? a : (b > a ? b : (float.IsNegative(a) ? b : a)));

    /// <summary><c>fminf</c>: the smaller operand; if one is NaN, the other.</summary>
    public static float Min(float a, float b) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : (a < b ? a : (b < a ? b : (float.IsNegative(a) ? a : b)));

    /// <summary><c>fmax</c>, double precision.</summary>
    public static double Max(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Max(a, b);

    /// <summary><c>fmin</c>, double precision.</summary>
    public static double Min(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Min(a, b);

    public static int Max(int a, int b) => a > b ? a : b;

    public static int Min(int a, int b) => a < b ? a : b;

    public static uint Max(uint a, uint b) => a > b ? a : b;

    public static uint Min(uint a, uint b) => a < b ? a : b;

    /// <summary><c>Min(Max(x, lo), hi)</c> with <see cref="Max(float, float)"/> semantics.</summary>
    public static float Clamp(float x, float lo, float hi) => Min(Max(x, lo), hi);

    public static int Clamp(int x, int lo, int hi) => Min(Max(x, lo), hi);

    public static float Abs(float x) => MathF.Abs(x);

    public static double Abs(double x) => Math.Abs(x);

    /// <summary>Two's complement absolute value: <c>Abs(int.MinValue) == int.MinValue</c>, as in C.</summary>
    public static int Abs(int x) => x < 0 ? -x : x;

    public static float Sqrt(float x) => MathF.Sqrt(x);

    public static double Sqrt(double x) => Math.Sqrt(x);

    /// <summary><c>rsqrtf</c>: 1 / sqrt(x).</summary>
    public static float Rsqrt(float x) => 1f / MathF.Sqrt(x);

    public static float Exp(float x) => MathF.Exp(x);

    public static double Exp(double x) => Math.Exp(x);

    public static float Exp2(float x) => MathF.Pow(2f, x);

    public static float Log(float x) => MathF.Log(x);

    public static double Log(double x) => Math.Log(x);

    public static float Log2(float x) => MathF.Log2(x);

    public static float Pow(float x, float y) => MathF.Pow(x, y);

    public static float Tanh(float x) => MathF.Tanh(x);

    public static float Sin(float x) => MathF.Sin(x);

    public static float Cos(float x) => MathF.Cos(x);

    public static float Floor(float x) => MathF.Floor(x);

    public static float Ceil(float x) => MathF.Ceiling(x);

    /// <summary><c>roundf</c>: to nearest, halves away from zero.</summary>
    public static float Round(float x) => MathF.Round(x, MidpointRounding.AwayFromZero);

    /// <summary><c>rintf</c>: to nearest, halves to even.</summary>
    public static float Rint(float x) => MathF.Round(x, MidpointRounding.ToEven);

    /// <summary><c>truncf</c>: toward zero.</summary>
    public static float Trunc(float x) => MathF.Truncate(x);

    /// <summary><c>fmaf</c>: x * y + z with one rounding.</summary>
    public static float Fma(float x, float y, float z) => MathF.FusedMultiplyAdd(x, y, z);

    /// <summary><c>fma</c>, double precision.</summary>
    public static double Fma(double x, double y, double z) => Math.FusedMultiplyAdd(x, y, z);

    /// <summary>The bits of <paramref name="x"/> (<c>__float_as_int</c> / <c>as_int</c>).</summary>
    public static int FloatAsInt(float x) => BitConverter.SingleToInt32Bits(x);

    /// <summary>The float with bits <paramref name="x"/> (<c>__int_as_float</c> / <c>as_float</c>).</summary>
    public static float IntAsFloat(int x) => BitConverter.Int32BitsToSingle(x);

    /// <summary>The bits of <paramref name="x"/> as unsigned.</summary>
    public static uint FloatAsUInt(float x) => BitConverter.SingleToUInt32Bits(x);

    /// <summary>The float with bits <paramref name="x"/>.</summary>
    public static float UIntAsFloat(uint x) => BitConverter.UInt32BitsToSingle(x);

    /// <summary>Number of set bits (<c>__popc</c> / <c>popcount</c>).</summary>
    public static int PopCount(uint x) => System.Numerics.BitOperations.PopCount(x);

    /// <summary>Leading zero bits; 32 for 0 (<c>__clz</c> / <c>clz</c>).</summary>
    public static int LeadingZeroCount(uint x) => System.Numerics.BitOperations.LeadingZeroCount(x);

    /// <summary>Ceiling division of non-negative integers.</summary>
    public static int DivCeil(int a, int b) => (a + b - 1) / b;
}
