using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Kernels;
using GanEngine.Ops;
using GanEngine.Ops.Gemm;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Gemm;

/// <summary>GEMM and linear raw ops against the float64 reference on every accelerator (bound
/// below): all four transpose combinations, ragged sizes, padded leading dimensions, bias, beta, both
/// math modes. Error ||got - ref|| / ||ref||: 1e-4 strict FP32, 2e-3 TF32.</summary>
public abstract class GemmSuite
{
    protected Accelerator Acc { get; private set; } = null!;

    protected abstract Accelerator CreateAccelerator();

    [OneTimeSetUp]
    public void Create() => Acc = CreateAccelerator();

    [OneTimeTearDown]
    public void Dispose() => Acc?.Dispose();

    private static double Tolerance(MathMode mode) => mode == MathMode.Tf32 ? 2e-3 : 1e-4;

    [Test]
    public void Gemm_AllTransposes_RaggedWithBiasAndBeta_MatchesReference(
        [Values(Transpose.None, Transpose.Transposed)] Transpose ta,
        [Values(Transpose.None, Transpose.Transposed)] Transpose tb,
        [Values(MathMode.StrictFp32, MathMode.Tf32)] MathMode mode)
    {
        var rng = new Random(((int)ta * 4) + ((int)tb * 2) + (int)mode);
        int m = 37, n = 133, k = 29;                  // n spans two 128-column tiles
        int rowsA = ta == Transpose.None ? m : k, colsA = ta == Transpose.None ? k : m;
        int rowsB = tb == Transpose.None ? k : n, colsB = tb == Transpose.None ? n : k;
        int lda = colsA + 3, ldb = colsB + 1, ldc = n + 2;
        var a = Uniform(rng, (rowsA * lda));
        var b = Uniform(rng, (rowsB * ldb));
        var c0 = Uniform(rng, m * ldc);
        var bias = Uniform(rng, n);
        const float alpha = 0.75f, beta = 0.5f;
        using var da = Acc.Allocate<float>(a);
        using var db = Acc.Allocate<float>(b);
        using var dc = Acc.Allocate<float>(c0);
        using var dbias = Acc.Allocate<float>(bias);
        GanEngine.Ops.Gemm.Gemm.Run(Acc, new GemmShape(m, n, k, ta, tb, lda, ldb, ldc), alpha, da, db, beta, dc, dbias, mode);
        Acc.Synchronize();
        var got = dc.ToArray();
        var packedC0 = new double[m * n];
        var packed = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                packedC0[(i * n) + j] = c0[(i * ldc) + j];
                packed[(i * n) + j] = got[(i * ldc) + j];
            }
            for (int j = n; j < ldc; j++)
            {
                Assert.That(got[(i * ldc) + j], Is.EqualTo(c0[(i * ldc) + j]), $"padding of row {i} was written");
            }
        }
        var reference = GemmReference.Gemm(m, n, k, ta == Transpose.Transposed, tb == Transpose.Transposed, alpha, D(a), lda, D(b), ldb, beta, packedC0, D(bias));
        AssertClose(packed, reference, Tolerance(mode), $"gemm {ta}/{tb} {mode}");
    }

    [TestCase(MathMode.StrictFp32, true)]
    [TestCase(MathMode.Tf32, true)]
    [TestCase(MathMode.StrictFp32, false)]
    public void Linear_ForwardAndBackward_MatchReference(MathMode mode, bool withBias)
    {
        var rng = new Random(withBias ? 3 : 4);
        const int batch = 19, inF = 23, outF = 31;
        var x = Uniform(rng, batch * inF);
        var w = Uniform(rng, outF * inF);
        var bias = Uniform(rng, outF);
        var g = Uniform(rng, batch * outF);
        using var dx = Acc.Allocate<float>(x);
        using var dw = Acc.Allocate<float>(w);
        using var dbias = Acc.Allocate<float>(bias);
        using var dg = Acc.Allocate<float>(g);
        using var y = Poisoned(batch * outF);
        using var gx = Poisoned(batch * inF);
        using var gw = Poisoned(outF * inF);
        using var gb = Poisoned(outF);
        Linear.Forward(Acc, batch, inF, outF, dx, dw, withBias ? dbias.ReadOnly : default, y, mode);
        Linear.BackwardInput(Acc, batch, inF, outF, dg, dw, gx, mode);
        Linear.BackwardWeight(Acc, batch, inF, outF, dg, dx, gw, withBias ? gb.View : default, mode);
        Acc.Synchronize();
        var yRef = GemmReference.LinearForward(D(x), D(w), withBias ? D(bias) : null, batch, inF, outF);
        var (dxRef, dwRef, dbRef) = GemmReference.LinearBackward(D(x), D(w), D(g), batch, inF, outF);
        double tol = Tolerance(mode);
        AssertClose(y.ToArray(), yRef, tol, "y");
        AssertClose(gx.ToArray(), dxRef, tol, "dx");
        AssertClose(gw.ToArray(), dwRef, tol, "dW");
        if (withBias)
        {
            AssertClose(gb.ToArray(), dbRef, 1e-5, "db");
        }
    }

    [Test]
    public void Gemm_RejectsShortLeadingDimension() =>
        Assert.Throws<ArgumentException>(() => new GemmShape(4, 5, 6, Lda: 5).Validate());

    private DeviceBuffer<float> Poisoned(int length)
    {
        var buffer = Acc.Allocate<float>(length);
        Acc.DefaultStream.FillBytes(buffer.View, 0xFF);
        return buffer;
    }

    internal static float[] Uniform(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)((2 * rng.NextDouble()) - 1);
        }
        return v;
    }

    internal static double[] D(float[] v) => Array.ConvertAll(v, f => (double)f);

    private static void AssertClose(float[] got, double[] reference, double tolerance, string what)
    {
        double e = 0, r = 0;
        for (int i = 0; i < got.Length; i++)
        {
            Assert.That(float.IsFinite(got[i]), $"{what}: element {i} is {got[i]}");
            double d = got[i] - reference[i];
            e += d * d;
            r += reference[i] * reference[i];
        }
        double error = Math.Sqrt(e / r);
        Assert.That(error, Is.LessThanOrEqualTo(tolerance), $"{what}: relative error {error:E3}");
    }
}

/// <summary>The linear backward reference against central finite differences of its forward.</summary>
[TestFixture]
public sealed class LinearGradientCheck
{
    [Test]
    public void Backward_MatchesFiniteDifferences()
    {
        var rng = new Random(9);
        const int batch = 3, inF = 4, outF = 5;
        var x = GemmSuite.D(GemmSuite.Uniform(rng, batch * inF));
        var w = GemmSuite.D(GemmSuite.Uniform(rng, outF * inF));
        var b = GemmSuite.D(GemmSuite.Uniform(rng, outF));
        var g = GemmSuite.D(GemmSuite.Uniform(rng, batch * outF));
        double Loss()
        {
            var y = GemmReference.LinearForward(x, w, b, batch, inF, outF);
            double l = 0;
            for (int i = 0; i < y.Length; i++)
            {
                l += y[i] * g[i];
            }
            return l;
        }
        var (dx, dw, db) = GemmReference.LinearBackward(x, w, g, batch, inF, outF);
        const double h = 1e-6;
        void Check(double[] v, double[] grad, string name)
        {
            for (int i = 0; i < v.Length; i++)
            {
                double keep = v[i];
                v[i] = keep + h;
                double up = Loss();
                v[i] = keep - h;
                double down = Loss();
                v[i] = keep;
                Assert.That(grad[i], Is.EqualTo((up - down) / (2 * h)).Within(1e-7), $"{name}[{i}]");
            }
        }
        Check(x, dx, "dx");
        Check(w, dw, "dW");
        Check(b, db, "db");
    }
}

[TestFixture]
public sealed class CpuGemm : GemmSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClGemm(string platform) : GemmSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaGemm : GemmSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.Cuda();
}
