using NUnit.Framework;
using GanEngine.Accelerators;
using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance;

/// <summary>
/// The kernel-language conformance suite, written once and bound to every accelerator by a thin
/// fixture that implements <see cref="CreateAccelerator"/>:
/// <code>
/// [TestFixture] public sealed class CpuKernelConformance : KernelConformanceSuite
/// { protected override Accelerator CreateAccelerator() => new CpuAccelerator(); }
/// </code>
/// Every test draws fresh inputs from its own seeded <see cref="Random"/> (never zeros), poisons
/// outputs first (0xFF bytes: NaN for floats, -1 for ints) so that an element the kernel never
/// wrote fails, and checks against a host reference in float64 (exactly for integer and bitwise
/// results). Sizes are small: the CPU accelerator runs threads one by one.
/// </summary>
/// <remarks>The tests are split by topic over the partial files <c>KernelConformanceSuite.*.cs</c>;
/// the kernels are in <c>Kernels/</c>.</remarks>
public abstract partial class KernelConformanceSuite
{
    /// <summary>The accelerator under test, created once per fixture.</summary>
    protected Accelerator Acc { get; private set; } = null!;

    /// <summary>Creates the accelerator under test (called once per fixture).</summary>
    protected abstract Accelerator CreateAccelerator();

    [OneTimeSetUp]
    public void CreateAcceleratorOnce()
    {
        Acc = CreateAccelerator();
        TestContext.Progress.WriteLine($"Kernel conformance on {Acc.Info}");
    }

    /// <summary>Names the accelerator in every test's output, so a failure report says where it failed.</summary>
    [SetUp]
    public void NameAccelerator() => TestContext.Out.WriteLine($"accelerator: {Acc.Kind} {Acc.Name}");

    [OneTimeTearDown]
    public void DisposeAccelerator()
    {
        Acc?.Dispose();
    }

    // ---- buffers -------------------------------------------------------------------------------

    /// <summary>A device copy of <paramref name="data"/>.</summary>
    protected DeviceBuffer<T> Upload<T>(T[] data) where T : unmanaged => Acc.Allocate<T>(data);

    /// <summary>A buffer of <paramref name="length"/> elements with every byte 0xFF.</summary>
    protected DeviceBuffer<T> Poisoned<T>(int length) where T : unmanaged
    {
        var buffer = Acc.Allocate<T>(length);
        Acc.DefaultStream.FillBytes(buffer.View, 0xFF);
        return buffer;
    }

    /// <summary>The buffer's contents after all work on the accelerator has finished.</summary>
    protected T[] Download<T>(DeviceBuffer<T> buffer) where T : unmanaged
    {
        Acc.Synchronize();
        return buffer.ToArray();
    }

    // ---- random inputs (never zero) ------------------------------------------------------------

    /// <summary>Uniform in [lo, hi), never exactly zero.</summary>
    protected static float[] RandomFloats(Random rng, int n, float lo = -1f, float hi = 1f)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++)
        {
            float v;
            do
            {
                v = (float)(lo + ((hi - lo) * rng.NextDouble()));
            }
            while (v == 0f);
            data[i] = v;
        }
        return data;
    }

    /// <summary>Uniform in [lo, hi), never zero.</summary>
    protected static int[] RandomInts(Random rng, int n, int lo, int hi)
    {
        var data = new int[n];
        for (int i = 0; i < n; i++)
        {
            int v;
            do
            {
                v = rng.Next(lo, hi);
            }
            while (v == 0);
            data[i] = v;
        }
        return data;
    }

    /// <summary>Keys in [0, bins): many threads collide on each.</summary>
    protected static int[] RandomKeys(Random rng, int n, int bins)
    {
        var keys = new int[n];
        for (int i = 0; i < n; i++)
        {
            keys[i] = rng.Next(bins);
        }
        return keys;
    }

    protected static uint[] RandomUInts(Random rng, int n)
    {
        var data = new uint[n];
        for (int i = 0; i < n; i++)
        {
            uint v;
            do
            {
                v = (uint)rng.NextInt64(0, 1L << 32);
            }
            while (v == 0);
            data[i] = v;
        }
        return data;
    }

    protected static T[] Filled<T>(int n, T value)
    {
        var data = new T[n];
        Array.Fill(data, value);
        return data;
    }

    protected static int Blocks(int elements, int blockSize) => (elements + blockSize - 1) / blockSize;

    // ---- checks --------------------------------------------------------------------------------

    /// <summary>Exact equality of every element; reports the first mismatches.</summary>
    protected static void AssertExact<T>(T[] actual, T[] expected, string what) where T : IEquatable<T>
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        var errors = new List<string>();
        for (int i = 0; i < expected.Length && errors.Count < 10; i++)
        {
            if (!actual[i].Equals(expected[i]))
            {
                errors.Add($"[{i}] got {actual[i]}, expected {expected[i]}");
            }
        }
        Assert.That(errors, Is.Empty, $"{what}: mismatches (first 10)");
    }

    /// <summary>Bitwise equality of floats (so -0 differs from +0); any NaN matches any NaN only when
    /// <paramref name="anyNaN"/> is set.</summary>
    protected static void AssertBits(float[] actual, float[] expected, string what, bool anyNaN = true)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        var errors = new List<string>();
        for (int i = 0; i < expected.Length && errors.Count < 10; i++)
        {
            uint a = BitConverter.SingleToUInt32Bits(actual[i]);
            uint e = BitConverter.SingleToUInt32Bits(expected[i]);
            bool ok = a == e || (anyNaN && float.IsNaN(actual[i]) && float.IsNaN(expected[i]));
            if (!ok)
            {
                errors.Add($"[{i}] got {actual[i]:R} (0x{a:X8}), expected {expected[i]:R} (0x{e:X8})");
            }
        }
        Assert.That(errors, Is.Empty, $"{what}: mismatches (first 10)");
    }

    /// <summary>|actual - expected| &lt;= relative * scale + absolute, where scale is |expected| or the
    /// given per-element magnitude (e.g. the sum of |terms|); NaN or infinity never passes.</summary>
    protected static void AssertClose(float[] actual, double[] expected, string what, double relative, double absolute = 0, double[]? scale = null)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        var errors = new List<string>();
        for (int i = 0; i < expected.Length && errors.Count < 10; i++)
        {
            double a = actual[i];
            double tolerance = (relative * (scale is null ? Math.Abs(expected[i]) : scale[i])) + absolute;
            if (!double.IsFinite(a) || !(Math.Abs(a - expected[i]) <= tolerance))
            {
                errors.Add($"[{i}] got {actual[i]:R}, expected {expected[i]:R} (tolerance {tolerance:G3})");
            }
        }
        Assert.That(errors, Is.Empty, $"{what}: mismatches (first 10)");
    }
}
