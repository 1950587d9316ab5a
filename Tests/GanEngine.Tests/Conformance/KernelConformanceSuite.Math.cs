using NUnit.Framework;
using GanEngine.Kernels;
using GanEngine.Tests.Conformance.Kernels;

namespace GanEngine.Tests.Conformance;

public abstract partial class KernelConformanceSuite
{
    [Test]
    public void Math_MaxMin_IgnoreNaNAndOrderSignedZeros()
    {
        var rng = new Random(5000);
        float nan = float.NaN, inf = float.PositiveInfinity;
        var pairs = new List<(float A, float B)>
        {
            (nan, 1f), (1f, nan), (nan, -2f), (-2f, nan), (nan, nan), (nan, inf), (-inf, nan),
            (-0f, 0f), (0f, -0f), (-0f, -0f), (0f, 0f), (inf, -inf), (-inf, inf), (-inf, -3f), (5f, inf),
            (-1f, 1f), (3f, 3f),
        };
        var ra = RandomFloats(rng, 100, -100f, 100f);
        var rb = RandomFloats(rng, 100, -100f, 100f);
        for (int i = 0; i < 100; i++)
        {
            pairs.Add((ra[i], rb[i]));
        }
        int n = pairs.Count;
        var a = pairs.Select(p => p.A).ToArray();
        var b = pairs.Select(p => p.B).ToArray();
        using var ab = Upload(a);
        using var bb = Upload(b);
        using var output = Poisoned<float>(n * MathKernels.MaxMinColumns);
        MathKernels.LaunchMaxMin(Acc, LaunchConfig.ForElements(n, 64), ab.ReadOnly, bb.ReadOnly, output.View, n);

        var expected = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            expected[2 * i] = ReferenceFMax(a[i], b[i]);
            expected[(2 * i) + 1] = ReferenceFMin(a[i], b[i]);
        }
        AssertBits(Download(output), expected, "[fmaxf, fminf] (NaN only when both are NaN; -0 < +0)");
    }

    [Test]
    public void Math_UnaryFunctions_SpecialValuesAndHalves()
    {
        var rng = new Random(5100);
        var inputs = new List<float>
        {
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -0f, 1f, -1f,
            0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 3.5f, -3.5f, 0.49999997f, -0.49999997f, -0.4f,
            8388609f, -8388609f, 1e30f, -1e30f, 100f, -100f, 88.8f, -104f, 1e-30f,
        };
        inputs.AddRange(RandomFloats(rng, 100, -20f, 20f));
        var x = inputs.ToArray();
        int n = x.Length;
        using var xb = Upload(x);
        using var output = Poisoned<float>(n * MathKernels.UnaryColumns);
        MathKernels.LaunchUnary(Acc, LaunchConfig.ForElements(n, 64), xb.ReadOnly, output.View, n);
        var actual = Download(output);

        string[] names = ["Exp", "Log", "Sqrt", "Round", "Rint", "Trunc", "Floor", "Ceil", "Abs"];
        var errors = new List<string>();
        for (int i = 0; i < n && errors.Count < 20; i++)
        {
            double v = x[i];
            // Column: reference in float64, and whether it must match bit for bit.
            (double Value, bool Exact)[] reference =
            [
                (Math.Exp(v), false),
                (Math.Log(v), false),
                (Math.Sqrt(v), false),
                (Math.Round(v, MidpointRounding.AwayFromZero), true),
                (Math.Round(v, MidpointRounding.ToEven), true),
                (Math.Truncate(v), true),
                (Math.Floor(v), true),
                (Math.Ceiling(v), true),
                (Math.Abs(v), true),
            ];
            for (int c = 0; c < MathKernels.UnaryColumns; c++)
            {
                float got = actual[(i * MathKernels.UnaryColumns) + c];
                var (e, exact) = reference[c];
                float ef = (float)e;
                bool ok;
                if (double.IsNaN(e))
                {
                    ok = float.IsNaN(got);
                }
                else if (exact || !float.IsFinite(ef) || e == 0 || e == 1)
                {
                    // Exact columns, overflow to infinity, and exact results such as exp(0), log(1),
                    // sqrt(-0) = -0 must match bit for bit.
                    ok = BitConverter.SingleToUInt32Bits(got) == BitConverter.SingleToUInt32Bits(ef);
                }
                else
                {
                    ok = Math.Abs(got - e) <= (2e-6 * Math.Abs(e)) + 1e-37;
                }
                if (!ok)
                {
                    errors.Add($"{names[c]}({x[i]:R}) = {got:R}, expected {e:R}");
                }
            }
        }
        Assert.That(errors, Is.Empty, "unary math");
    }

    [Test]
    public void Math_IntegerDivisionAndModulo_TruncateTowardZero()
    {
        var rng = new Random(5200);
        var pairs = new List<(int A, int B)>
        {
            (7, 2), (-7, 2), (7, -2), (-7, -2), (1, 3), (-1, 3), (1, -3), (-1, -3),
            (int.MinValue, 2), (int.MinValue, int.MaxValue), (int.MaxValue, int.MinValue), (5, int.MinValue),
            (int.MinValue, 7), (int.MaxValue, -7), (-6, 3), (6, -3),
        };
        for (int i = 0; i < 150; i++)
        {
            int a = rng.Next(int.MinValue, int.MaxValue);
            int b = i % 2 == 0 ? RandomInts(rng, 1, -1000, 1000)[0] : RandomInts(rng, 1, int.MinValue, int.MaxValue)[0];
            if (a == int.MinValue && b == -1)
            {
                b = 3;
            }
            pairs.Add((a, b));
        }
        int n = pairs.Count;
        var a0 = pairs.Select(p => p.A).ToArray();
        var b0 = pairs.Select(p => p.B).ToArray();
        using var ab = Upload(a0);
        using var bb = Upload(b0);
        using var output = Poisoned<int>(n * MathKernels.IntColumns);
        MathKernels.LaunchIntegerDivision(Acc, LaunchConfig.ForElements(n, 64), ab.ReadOnly, bb.ReadOnly, output.View, n);

        var expected = new int[n * MathKernels.IntColumns];
        for (int i = 0; i < n; i++)
        {
            long a = a0[i], b = b0[i];
            long q = a / b; // 64-bit: no overflow; truncates toward zero
            expected[(i * 4) + 0] = (int)q;
            expected[(i * 4) + 1] = (int)(a - (q * b));
            uint ua = (uint)a0[i], ub = (uint)b0[i];
            expected[(i * 4) + 2] = (int)(ua / ub);
            expected[(i * 4) + 3] = (int)(ua % ub);
        }
        AssertExact(Download(output), expected, "[a / b, a % b, ua / ub, ua % ub]");
    }

    [Test]
    public void Math_ShiftCounts_AreMaskedTo5Bits()
    {
        var rng = new Random(5300);
        var counts = new List<int> { 0, 1, 31, 32, 33, 63, 64, 65, -1, -31, -32, 100, int.MinValue, int.MaxValue };
        while (counts.Count < 200)
        {
            counts.Add(rng.Next(-40, 100));
        }
        var s = counts.ToArray();
        int n = s.Length;
        var values = RandomInts(rng, n, int.MinValue, int.MaxValue);
        values[0] = int.MinValue;
        values[1] = -1;
        using var vb = Upload(values);
        using var sb = Upload(s);
        using var output = Poisoned<int>(n * MathKernels.ShiftColumns);
        MathKernels.LaunchShifts(Acc, LaunchConfig.ForElements(n, 64), vb.ReadOnly, sb.ReadOnly, output.View, n);

        var expected = new int[n * MathKernels.ShiftColumns];
        for (int i = 0; i < n; i++)
        {
            int x = values[i];
            uint ux = (uint)x;
            int c = s[i] & 31; // the pinned semantics, written out
            expected[(i * 4) + 0] = x << c;
            expected[(i * 4) + 1] = x >> c;
            expected[(i * 4) + 2] = (int)(ux << c);
            expected[(i * 4) + 3] = (int)(ux >> c);
        }
        AssertExact(Download(output), expected, "[x << s, x >> s, ux << s, ux >> s]");
    }

    [Test]
    public void Math_FloatToIntCasts_SaturateAndMapNaNToZero()
    {
        var rng = new Random(5400);
        var inputs = new List<float>
        {
            float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f,
            1.99f, -1.99f, 0.5f, -0.5f, -0.9f, -1f, -1.5f, 3e9f, -3e9f, 1e20f, -1e20f, float.MaxValue, float.MinValue,
            2147483520f, 2147483648f, -2147483648f, -2147483904f, 4294967040f, 4294967296f, 16777217f,
        };
        inputs.AddRange(RandomFloats(rng, 150, -6e9f, 6e9f));
        inputs.AddRange(RandomFloats(rng, 50, -100f, 100f));
        var x = inputs.ToArray();
        int n = x.Length;
        using var xb = Upload(x);
        using var ints = Poisoned<int>(n);
        using var uints = Poisoned<uint>(n);
        MathKernels.LaunchCasts(Acc, LaunchConfig.ForElements(n, 64), xb.ReadOnly, ints.View, uints.View, n);

        var expectedInts = new int[n];
        var expectedUInts = new uint[n];
        for (int i = 0; i < n; i++)
        {
            double t = double.IsNaN(x[i]) ? 0 : Math.Truncate((double)x[i]);
            expectedInts[i] = (int)Math.Clamp(t, int.MinValue, int.MaxValue);
            expectedUInts[i] = (uint)Math.Clamp(t, 0, uint.MaxValue);
        }
        AssertExact(Download(ints), expectedInts, "(int)x");
        AssertExact(Download(uints), expectedUInts, "(uint)x");
    }

    private static float ReferenceFMax(float a, float b)
    {
        if (float.IsNaN(a))
        {
            return b;
        }
        if (float.IsNaN(b))
        {
            return a;
        }
        if (a == b)
        {
            return float.IsNegative(a) ? b : a; // +0 beats -0
        }
        return a > b ? a : b;
    }

    private static float ReferenceFMin(float a, float b)
    {
        if (float.IsNaN(a))
        {
            return b;
        }
        if (float.IsNaN(b))
        {
            return a;
        }
        if (a == b)
        {
            return float.IsNegative(a) ? a : b; // -0 beats +0
        }
        return a < b ? a : b;
    }
}
