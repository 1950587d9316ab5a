using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Optim;

/// <summary>
/// Base of the optimizer / random / spectral-norm op suites: one accelerator per fixture, helpers
/// for upload, download and norm-wise comparison. Bound to every accelerator by thin fixtures
/// (<see cref="OpAccelerators"/>); an absent backend is skipped with its reason.
/// </summary>
public abstract class OptimOpsTestBase
{
    /// <summary>The accelerator under test.</summary>
    protected Accelerator Acc { get; private set; } = null!;

    /// <summary>Creates the accelerator under test (once per fixture).</summary>
    protected abstract Accelerator CreateAccelerator();

    [OneTimeSetUp]
    public void CreateAcceleratorOnce() => Acc = CreateAccelerator();

    [SetUp]
    public void NameAccelerator() => TestContext.Out.WriteLine($"accelerator: {Acc.Kind} {Acc.Name}");

    [OneTimeTearDown]
    public void DisposeAccelerator() => Acc?.Dispose();

    protected DeviceBuffer<T> Upload<T>(T[] data) where T : unmanaged => Acc.Allocate<T>(data);

    /// <summary>A buffer whose bytes are all 0xFF (NaN floats) so unwritten elements fail.</summary>
    protected DeviceBuffer<T> Poisoned<T>(int length) where T : unmanaged
    {
        var buffer = Acc.Allocate<T>(length);
        Acc.DefaultStream.FillBytes(buffer.View, 0xFF);
        return buffer;
    }

    protected T[] Download<T>(DeviceBuffer<T> buffer) where T : unmanaged
    {
        Acc.Synchronize();
        return buffer.ToArray();
    }

    protected static float[] RandomFloats(Random rng, int n, double lo = -1, double hi = 1)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float)(lo + ((hi - lo) * rng.NextDouble()));
        return data;
    }

    protected static double[] ToDouble(float[] x) => x.Select(v => (double)v).ToArray();

    /// <summary>Norm-wise relative error ||a - e|| / max(||e||, tiny); NaN never passes.</summary>
    protected static void AssertClose(float[] actual, double[] expected, double tolerance, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what + ": length");
        double diff = 0, norm = 0;
        int worst = -1;
        double worstError = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(actual[i]) || double.IsNaN(expected[i]))
            {
                Assert.Fail($"{what}: NaN at [{i}] (got {actual[i]}, expected {expected[i]})");
            }
            double d = actual[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
            if (Math.Abs(d) > worstError)
            {
                worstError = Math.Abs(d);
                worst = i;
            }
        }
        double relative = Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
        Assert.That(relative, Is.LessThanOrEqualTo(tolerance),
            $"{what}: relative error {relative:E3}; worst [{worst}] got {(worst >= 0 ? actual[worst] : 0)}, expected {(worst >= 0 ? expected[worst] : 0)}");
    }
}
