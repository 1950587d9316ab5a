using System.Runtime.CompilerServices;

namespace GanEngine.Kernels;

/// <summary>
/// Atomic read-modify-write on global or shared memory, called as <c>Atomic.Add(ref view[i], v)</c>.
/// Each returns the value held before the operation (CUDA's <c>atomicAdd</c> etc.).
/// Float max/min follow <see cref="KMath.Max(float, float)"/> (a NaN operand is ignored).
/// </summary>
public static class Atomic
{
    public static int Add(ref int target, int value) => Interlocked.Add(ref target, value) - value;

    public static uint Add(ref uint target, uint value) => Interlocked.Add(ref target, value) - value;

    public static float Add(ref float target, float value) => Update(ref target, value, static (a, b) => a + b);

    public static int Max(ref int target, int value) => Update(ref target, value, Math.Max);

    public static uint Max(ref uint target, uint value) => Update(ref target, value, Math.Max);

    public static float Max(ref float target, float value) => Update(ref target, value, KMath.Max);

    public static int Min(ref int target, int value) => Update(ref target, value, Math.Min);

    public static uint Min(ref uint target, uint value) => Update(ref target, value, Math.Min);

    public static float Min(ref float target, float value) => Update(ref target, value, KMath.Min);

    public static int Exchange(ref int target, int value) => Interlocked.Exchange(ref target, value);

    public static uint Exchange(ref uint target, uint value) => Interlocked.Exchange(ref target, value);

    public static float Exchange(ref float target, float value) => Interlocked.Exchange(ref target, value);

    /// <summary>Stores <paramref name="value"/> if the target equals <paramref name="comparand"/>
    /// (bitwise for floats); returns the old value.</summary>
    public static int CompareExchange(ref int target, int comparand, int value) => Interlocked.CompareExchange(ref target, value, comparand);

    /// <inheritdoc cref="CompareExchange(ref int, int, int)"/>
    public static uint CompareExchange(ref uint target, uint comparand, uint value) => Interlocked.CompareExchange(ref target, value, comparand);

    /// <inheritdoc cref="CompareExchange(ref int, int, int)"/>
    public static float CompareExchange(ref float target, float comparand, float value)
    {
        int old = Interlocked.CompareExchange(
            ref Unsafe.As<float, int>(ref target), BitConverter.SingleToInt32Bits(value), BitConverter.SingleToInt32Bits(comparand));
        return BitConverter.Int32BitsToSingle(old);
    }

    private static float Update(ref float target, float value, Func<float, float, float> op)
    {
        ref int bits = ref Unsafe.As<float, int>(ref target);
        int seen = Volatile.Read(ref bits);
        while (true)
        {
            float old = BitConverter.Int32BitsToSingle(seen);
            int next = BitConverter.SingleToInt32Bits(op(old, value));
            int actual = Interlocked.CompareExchange(ref bits, next, seen);
            if (actual == seen)
            {
                return old;
            }
            seen = actual;
        }
    }

    private static T Update<T>(ref T target, T value, Func<T, T, T> op) where T : unmanaged
    {
        ref int bits = ref Unsafe.As<T, int>(ref target);
        int seen = Volatile.Read(ref bits);
        while (true)
        {
            T old = Unsafe.BitCast<int, T>(seen);
            int next = Unsafe.BitCast<T, int>(op(old, value));
            int actual = Interlocked.CompareExchange(ref bits, next, seen);
            if (actual == seen)
            {
                return old;
            }
            seen = actual;
        }
    }
}
