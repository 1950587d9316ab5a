using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Kernels;
using GanEngine.Ops.Norm;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Norm;

/// <summary>
/// BatchNorm2d raw ops against the float64 reference on every accelerator (bound below). Inputs are
/// fresh random numbers with a channel offset (|mean| several times the deviation, which a plain
/// sum / sum-of-squares in fp32 would get wrong), outputs poisoned with NaN first.
/// Error: ||got - ref|| / ||ref|| per tensor, at most 1e-4 (fp32).
/// </summary>
public abstract class BatchNormSuite
{
    private const double Tolerance = 1e-4;

    protected Accelerator Acc { get; private set; } = null!;

    protected abstract Accelerator CreateAccelerator();

    [OneTimeSetUp]
    public void Create() => Acc = CreateAccelerator();

    [OneTimeTearDown]
    public void Dispose() => Acc?.Dispose();

    // (N, C, H, W, splits, threads): splits 1 = the fused kernels.
    private static readonly object[] Cases =
    [
        new object[] { 3, 5, 7, 9, 1, 64 },
        new object[] { 3, 5, 7, 9, 4, 64 },
        new object[] { 3, 3, 1, 1, 1, 32 },     // M = 3, one pixel per plane
        new object[] { 5, 2, 3, 33, 3, 96 },    // block stride > H*W and not a multiple of it
        new object[] { 4, 6, 8, 8, 0, 0 },     // the default plan
    ];

    [TestCaseSource(nameof(Cases))]
    public void Training_ForwardBackward_MatchesReference(int n, int c, int h, int w, int splits, int threads)
    {
        RunTraining(new Random(1000 + (n * 31) + c + splits), new BatchNorm2dShape(n, c, h, w), PlanFor(new BatchNorm2dShape(n, c, h, w), splits, threads), affine: true, steps: 1);
    }

    [TestCase(1)]
    [TestCase(3)]
    public void Training_NotAffine_MatchesReference(int splits)
    {
        var shape = new BatchNorm2dShape(3, 5, 7, 9);
        RunTraining(new Random(77 + splits), shape, PlanFor(shape, splits, 64), affine: false, steps: 1);
    }

    [TestCase(1)]
    [TestCase(2)]
    public void RunningStatistics_OverSeveralSteps_MatchReference(int splits)
    {
        var shape = new BatchNorm2dShape(2, 3, 5, 6);
        RunTraining(new Random(5 + splits), shape, PlanFor(shape, splits, 64), affine: true, steps: 4);
    }

    [TestCase(3, 5, 7, 9, 1)]
    [TestCase(3, 5, 7, 9, 2)]
    public void Eval_UsesRunningStatistics(int n, int c, int h, int w, int splits)
    {
        var rng = new Random(42 + splits);
        var shape = new BatchNorm2dShape(n, c, h, w);
        int hw = h * w;
        var x = Channelled(rng, n, c, hw);
        var gamma = Uniform(rng, c, 0.5, 1.5);
        var beta = Uniform(rng, c, -1, 1);
        var rm = Uniform(rng, c, -2, 2);
        var rv = Uniform(rng, c, 0.2, 3);
        using var dx = Acc.Allocate<float>(ToFloat(x));
        using var dg = Acc.Allocate<float>(ToFloat(gamma));
        using var db = Acc.Allocate<float>(ToFloat(beta));
        using var drm = Acc.Allocate<float>(ToFloat(rm));
        using var drv = Acc.Allocate<float>(ToFloat(rv));
        using var dy = Poisoned(x.Length);
        BatchNorm2d.ForwardEval(Acc, shape, PlanFor(shape, splits, 64), dx, dg, db, drm, drv, dy);
        Acc.Synchronize();
        var reference = BatchNormReference.ForwardEval(ToDouble(ToFloat(x)), n, c, hw, ToDouble(ToFloat(gamma)), ToDouble(ToFloat(beta)), ToDouble(ToFloat(rm)), ToDouble(ToFloat(rv)));
        AssertClose(dy.ToArray(), reference, "y (eval)");
    }

    [Test]
    public void Training_RejectsOneValuePerChannel()
    {
        var shape = new BatchNorm2dShape(1, 2, 1, 1);
        using var buffer = Acc.Allocate<float>(8);
        var v = buffer.View;
        Assert.Throws<ArgumentException>(() => BatchNorm2d.ForwardTraining(Acc, shape, new BatchNormPlan(1, 32), v.Slice(0, 2), default, default,
            v.Slice(2, 2), v.Slice(4, 2), v.Slice(6, 2), default, default, default));
    }

    private BatchNormPlan PlanFor(BatchNorm2dShape shape, int splits, int threads) =>
        splits == 0 ? BatchNorm2d.Plan(shape, Acc.Info.MultiprocessorCount) : new BatchNormPlan(splits, threads);

    private void RunTraining(Random rng, BatchNorm2dShape shape, BatchNormPlan plan, bool affine, int steps)
    {
        int n = shape.N, c = shape.C, hw = shape.H * shape.W;
        const double momentum = 0.1;
        var gamma = affine ? ToDouble(ToFloat(Uniform(rng, c, 0.5, 1.5))) : null;
        var beta = affine ? ToDouble(ToFloat(Uniform(rng, c, -1, 1))) : null;
        var rm = ToDouble(ToFloat(Uniform(rng, c, -0.5, 0.5)));
        var rv = ToDouble(ToFloat(Uniform(rng, c, 0.5, 2)));
        using var dGamma = Acc.Allocate<float>(affine ? ToFloat(gamma!) : [0f]);
        using var dBeta = Acc.Allocate<float>(affine ? ToFloat(beta!) : [0f]);
        using var dRm = Acc.Allocate<float>(ToFloat(rm));
        using var dRv = Acc.Allocate<float>(ToFloat(rv));
        using var dMean = Poisoned(c);
        using var dInvstd = Poisoned(c);
        using var dWeightGrad = Poisoned(c);
        using var dBiasGrad = Poisoned(c);
        using var workspace = Poisoned(Math.Max(1, BatchNorm2d.WorkspaceFloats(shape, plan)));
        ReadOnlyView<float> weightView = affine ? dGamma.ReadOnly : default;
        ReadOnlyView<float> biasView = affine ? dBeta.ReadOnly : default;
        for (int step = 0; step < steps; step++)
        {
            var x = ToDouble(ToFloat(Channelled(rng, n, c, hw)));
            var g = ToDouble(ToFloat(Uniform(rng, x.Length, -1, 1)));
            using var dX = Acc.Allocate<float>(ToFloat(x));
            using var dG = Acc.Allocate<float>(ToFloat(g));
            using var dY = Poisoned(x.Length);
            using var dDx = Poisoned(x.Length);
            BatchNorm2d.ForwardTraining(Acc, shape, plan, dX, weightView, biasView, dY, dMean, dInvstd, dRm, dRv, workspace, (float)momentum);
            BatchNorm2d.Backward(Acc, shape, plan, dX, dG, dMean, dInvstd, weightView, dDx,
                affine ? dWeightGrad.View : default, affine ? dBiasGrad.View : default, workspace);
            Acc.Synchronize();
            var (y, mean, invstd) = BatchNormReference.ForwardTraining(x, n, c, hw, gamma, beta, rm, rv, momentum);
            var (dx, dw, db) = BatchNormReference.Backward(x, g, n, c, hw, mean, invstd, gamma);
            string where = $"{shape} plan {plan} step {step}";
            AssertClose(dY.ToArray(), y, $"y {where}");
            AssertClose(dMean.ToArray(), mean, $"saved mean {where}");
            AssertClose(dInvstd.ToArray(), invstd, $"saved invstd {where}");
            AssertClose(dRm.ToArray(), rm, $"running mean {where}");
            AssertClose(dRv.ToArray(), rv, $"running var {where}");
            AssertClose(dDx.ToArray(), dx, $"dx {where}");
            if (affine)
            {
                AssertClose(dWeightGrad.ToArray(), dw, $"dgamma {where}");
                AssertClose(dBiasGrad.ToArray(), db, $"dbeta {where}");
            }
            else
            {
                Assert.That(dWeightGrad.ToArray().All(float.IsNaN), "not affine: dgamma must not be written");
            }
        }
    }

    private DeviceBuffer<float> Poisoned(int length)
    {
        var buffer = Acc.Allocate<float>(length);
        Acc.DefaultStream.FillBytes(buffer.View, 0xFF);
        return buffer;
    }

    internal static void AssertClose(float[] got, double[] reference, string what, double tolerance = Tolerance)
    {
        Assert.That(got.Length, Is.EqualTo(reference.Length), what);
        double e = 0, r = 0;
        for (int i = 0; i < got.Length; i++)
        {
            Assert.That(float.IsFinite(got[i]), $"{what}: element {i} is {got[i]} (reference {reference[i]})");
            double d = got[i] - reference[i];
            e += d * d;
            r += reference[i] * reference[i];
        }
        double error = Math.Sqrt(e / Math.Max(r, 1e-300));
        Assert.That(error, Is.LessThanOrEqualTo(tolerance), $"{what}: relative error {error:E3}");
    }

    /// <summary>x[n, c, p] = offset_c + scale_c u, |offset| up to 4, scale in [0.2, 1.5].</summary>
    internal static double[] Channelled(Random rng, int n, int c, int hw)
    {
        var offsets = Uniform(rng, c, -4, 4);
        var scales = Uniform(rng, c, 0.2, 1.5);
        var x = new double[n * c * hw];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = (i / hw) % c;
            x[i] = offsets[ch] + (scales[ch] * ((2 * rng.NextDouble()) - 1));
        }
        return x;
    }

    internal static double[] Uniform(Random rng, int length, double lo, double hi)
    {
        var v = new double[length];
        for (int i = 0; i < length; i++)
        {
            v[i] = lo + ((hi - lo) * rng.NextDouble());
        }
        return v;
    }

    internal static float[] ToFloat(double[] v) => Array.ConvertAll(v, d => (float)d);

    internal static double[] ToDouble(float[] v) => Array.ConvertAll(v, f => (double)f);
}

[TestFixture]
public sealed class CpuBatchNorm : BatchNormSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClBatchNorm(string platform) : BatchNormSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaBatchNorm : BatchNormSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.Cuda();
}
