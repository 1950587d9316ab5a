using GanEngine.Ops;
using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Kernels;
using GanEngine.Ops.Norm;
using GanEngine.Ops.Reference;
using NUnit.Framework;
using static GanEngine.Tests.Ops.Norm.BatchNormSuite;

namespace GanEngine.Tests.Ops.Norm;

/// <summary>
/// BatchNorm2d fused with the activation after it (ReLU, LeakyReLU; none for the plain path) against
/// the float64 reference of BN followed by the activation, on every accelerator: both plans (fused
/// single kernel, split stats / apply), odd shapes, affine or not, eval mode, and PyTorch's gradient
/// at exactly z = 0. Inputs are fresh random numbers (BatchNormSuite's channel offsets, beta in
/// [-1, 1], so that z falls on both sides of 0); outputs are poisoned with NaN first.
/// </summary>
public abstract class BatchNormActivationSuite : AcceleratorSuite
{
    private const float Slope = 0.2f;

    private static readonly FusedActivation[] Activations = [FusedActivation.None, FusedActivation.Relu, FusedActivation.LeakyRelu];

    // (N, C, H, W, splits, threads): splits 1 = the fused kernels, 0 = the default plan.
    private static readonly int[][] Shapes =
    [
        [3, 5, 7, 9, 1, 64],
        [3, 5, 7, 9, 4, 64],
        [3, 3, 1, 1, 1, 32],     // M = 3, one pixel per plane
        [5, 2, 3, 33, 3, 96],    // block stride > H*W and not a multiple of it
        [2, 7, 5, 5, 2, 32],
        [4, 6, 8, 8, 0, 0],
    ];

    private static IEnumerable<TestCaseData> TrainingCases() =>
        from s in Shapes
        from a in Activations
        select new TestCaseData(s[0], s[1], s[2], s[3], s[4], s[5], a);

    [TestCaseSource(nameof(TrainingCases))]
    public void Training_ForwardBackward_MatchesReference(int n, int c, int h, int w, int splits, int threads, FusedActivation activation)
    {
        var shape = new BatchNorm2dShape(n, c, h, w);
        RunTraining(new Random(3000 + (n * 31) + c + (splits * 7) + (int)activation), shape, PlanFor(shape, splits, threads), activation, affine: true);
    }

    [TestCase(1, FusedActivation.Relu)]
    [TestCase(3, FusedActivation.Relu)]
    [TestCase(1, FusedActivation.LeakyRelu)]
    [TestCase(3, FusedActivation.LeakyRelu)]
    public void Training_NotAffine_MatchesReference(int splits, FusedActivation activation)
    {
        var shape = new BatchNorm2dShape(3, 5, 7, 9);
        RunTraining(new Random(91 + splits + (int)activation), shape, PlanFor(shape, splits, 64), activation, affine: false);
    }

    [TestCase(1, FusedActivation.Relu)]
    [TestCase(2, FusedActivation.Relu)]
    [TestCase(1, FusedActivation.LeakyRelu)]
    [TestCase(2, FusedActivation.LeakyRelu)]
    public void Eval_MatchesReference(int splits, FusedActivation activation)
    {
        var rng = new Random(420 + splits + (int)activation);
        const int n = 3, c = 5, h = 7, w = 9, hw = h * w;
        var shape = new BatchNorm2dShape(n, c, h, w);
        var x = ToDouble(ToFloat(Channelled(rng, n, c, hw)));
        var gamma = ToDouble(ToFloat(Uniform(rng, c, 0.5, 1.5)));
        var beta = ToDouble(ToFloat(Uniform(rng, c, -1, 1)));
        var rm = ToDouble(ToFloat(Uniform(rng, c, -2, 2)));
        var rv = ToDouble(ToFloat(Uniform(rng, c, 0.2, 3)));
        using var dx = Acc.Allocate<float>(ToFloat(x));
        using var dg = Acc.Allocate<float>(ToFloat(gamma));
        using var db = Acc.Allocate<float>(ToFloat(beta));
        using var drm = Acc.Allocate<float>(ToFloat(rm));
        using var drv = Acc.Allocate<float>(ToFloat(rv));
        using var dy = Poisoned(x.Length);
        BatchNorm2d.ForwardEval(Acc, shape, PlanFor(shape, splits, 64), dx, dg, db, drm, drv, dy, BatchNorm2d.DefaultEps, activation, Slope);
        Acc.Synchronize();
        var reference = BatchNormReference.ForwardEval(x, n, c, hw, gamma, beta, rm, rv, 1e-5, activation, Slope);
        AssertMixedSigns(BatchNormReference.ForwardEval(x, n, c, hw, gamma, beta, rm, rv), "eval pre-activation");
        AssertClose(dy.ToArray(), reference, $"y (eval, {activation})");
    }

    /// <summary>Elements whose pre-activation is exactly 0 take PyTorch's gradient there (relu' = 0,
    /// leaky_relu' = slope): x = [-2, 0, 2, -1, 1, 0] has mean exactly 0 in fp32, so with beta = 0 the
    /// two zeros give z = 0 in the kernels and in the reference.</summary>
    [TestCase(1, FusedActivation.Relu)]
    [TestCase(2, FusedActivation.Relu)]
    [TestCase(1, FusedActivation.LeakyRelu)]
    [TestCase(2, FusedActivation.LeakyRelu)]
    public void Backward_AtExactlyZero_FollowsPyTorch(int splits, FusedActivation activation)
    {
        var shape = new BatchNorm2dShape(2, 1, 1, 3);
        double[] x = [-2, 0, 2, -1, 1, 0];
        double[] dyAct = [0.3, -0.7, 0.5, 0.9, -0.4, 0.6];
        double[] gamma = [1.25], beta = [0];
        var plan = new BatchNormPlan(splits, 32);
        using var dX = Acc.Allocate<float>(ToFloat(x));
        using var dG = Acc.Allocate<float>(ToFloat(dyAct));
        using var dGamma = Acc.Allocate<float>(ToFloat(gamma));
        using var dBeta = Acc.Allocate<float>(ToFloat(beta));
        using var dY = Poisoned(x.Length);
        using var dDx = Poisoned(x.Length);
        using var dMean = Poisoned(1);
        using var dInvstd = Poisoned(1);
        using var dWeightGrad = Poisoned(1);
        using var dBiasGrad = Poisoned(1);
        using var workspace = Poisoned(Math.Max(1, BatchNorm2d.WorkspaceFloats(shape, plan)));
        BatchNorm2d.ForwardTraining(Acc, shape, plan, dX, dGamma, dBeta, dY, dMean, dInvstd, default, default, workspace,
            activation: activation, negativeSlope: Slope);
        BatchNorm2d.Backward(Acc, shape, plan, dX, dG, dMean, dInvstd, dGamma, dBeta, dDx, dWeightGrad, dBiasGrad, workspace, activation, Slope);
        Acc.Synchronize();
        Assert.That(dMean.ToArray()[0], Is.EqualTo(0f), "the batch mean is exactly 0");
        var (y, mean, invstd) = BatchNormReference.ForwardTraining(x, 2, 1, 3, gamma, beta, null, null, 0.1, 1e-5, activation, Slope);
        var (dx, dw, db) = BatchNormReference.Backward(x, dyAct, 2, 1, 3, mean, invstd, gamma, beta, activation, Slope);
        // dbeta = sum of the gated dy: x = 2 and 1 pass, x < 0 and the two zeros take the negative side's gate.
        double gate = activation == FusedActivation.Relu ? 0 : Slope;
        Assert.That(db[0], Is.EqualTo(0.5 - 0.4 + ((0.3 + 0.9 - 0.7 + 0.6) * gate)).Within(1e-12), "reference dbeta");
        string where = $"{activation} plan {plan}";
        AssertClose(dY.ToArray(), y, $"y {where}");
        AssertClose(dDx.ToArray(), dx, $"dx {where}");
        AssertClose(dWeightGrad.ToArray(), dw, $"dgamma {where}");
        AssertClose(dBiasGrad.ToArray(), db, $"dbeta {where}");
    }

    [Test]
    public void UnknownActivation_IsRejected()
    {
        var shape = new BatchNorm2dShape(2, 1, 1, 2);
        using var buffer = Acc.Allocate<float>(16);
        var v = buffer.View;
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchNorm2d.ForwardEval(Acc, shape, new BatchNormPlan(1, 32), v.Slice(0, 4), default, default,
            v.Slice(4, 1), v.Slice(5, 1), v.Slice(8, 4), BatchNorm2d.DefaultEps, (FusedActivation)7));
    }

    private BatchNormPlan PlanFor(BatchNorm2dShape shape, int splits, int threads) =>
        splits == 0 ? BatchNorm2d.Plan(shape, Acc.Info.MultiprocessorCount) : new BatchNormPlan(splits, threads);

    private void RunTraining(Random rng, BatchNorm2dShape shape, BatchNormPlan plan, FusedActivation activation, bool affine)
    {
        int n = shape.N, c = shape.C, hw = shape.H * shape.W;
        const double momentum = 0.1;
        var gamma = affine ? ToDouble(ToFloat(Uniform(rng, c, 0.5, 1.5))) : null;
        var beta = affine ? ToDouble(ToFloat(Uniform(rng, c, -1, 1))) : null;
        var rm = ToDouble(ToFloat(Uniform(rng, c, -0.5, 0.5)));
        var rv = ToDouble(ToFloat(Uniform(rng, c, 0.5, 2)));
        var x = ToDouble(ToFloat(Channelled(rng, n, c, hw)));
        var g = ToDouble(ToFloat(Uniform(rng, x.Length, -1, 1)));
        using var dGamma = Acc.Allocate<float>(affine ? ToFloat(gamma!) : [0f]);
        using var dBeta = Acc.Allocate<float>(affine ? ToFloat(beta!) : [0f]);
        using var dRm = Acc.Allocate<float>(ToFloat(rm));
        using var dRv = Acc.Allocate<float>(ToFloat(rv));
        using var dX = Acc.Allocate<float>(ToFloat(x));
        using var dG = Acc.Allocate<float>(ToFloat(g));
        using var dMean = Poisoned(c);
        using var dInvstd = Poisoned(c);
        using var dWeightGrad = Poisoned(c);
        using var dBiasGrad = Poisoned(c);
        using var dY = Poisoned(x.Length);
        using var dDx = Poisoned(x.Length);
        using var workspace = Poisoned(Math.Max(1, BatchNorm2d.WorkspaceFloats(shape, plan)));
        ReadOnlyView<float> weightView = affine ? dGamma.ReadOnly : default;
        ReadOnlyView<float> biasView = affine ? dBeta.ReadOnly : default;
        BatchNorm2d.ForwardTraining(Acc, shape, plan, dX, weightView, biasView, dY, dMean, dInvstd, dRm, dRv, workspace, (float)momentum,
            BatchNorm2d.DefaultEps, activation, Slope);
        BatchNorm2d.Backward(Acc, shape, plan, dX, dG, dMean, dInvstd, weightView, biasView, dDx,
            affine ? dWeightGrad.View : default, affine ? dBiasGrad.View : default, workspace, activation, Slope);
        Acc.Synchronize();
        var (y, mean, invstd) = BatchNormReference.ForwardTraining(x, n, c, hw, gamma, beta, rm, rv, momentum, 1e-5, activation, Slope);
        var (dx, dw, db) = BatchNormReference.Backward(x, g, n, c, hw, mean, invstd, gamma, beta, activation, Slope);
        var (z, _, _) = BatchNormReference.ForwardTraining(x, n, c, hw, gamma, beta, null, null);
        AssertMixedSigns(z, "pre-activation");
        string where = $"{shape} plan {plan} {activation}{(affine ? "" : " not affine")}";
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

    // The gate must be exercised: a fair share of pre-activations on each side of 0.
    private static void AssertMixedSigns(double[] z, string what)
    {
        double positive = z.Count(v => v > 0) / (double)z.Length;
        Assert.That(positive, Is.InRange(0.1, 0.9), $"{what}: share of z > 0");
    }

    private DeviceBuffer<float> Poisoned(int length)
    {
        var buffer = Acc.Allocate<float>(length);
        Acc.DefaultStream.FillBytes(buffer.View, 0xFF);
        return buffer;
    }
}

[TestFixture]
public sealed class CpuBatchNormActivation : BatchNormActivationSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicBatchNormActivation : BatchNormActivationSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClBatchNormActivation(string platform) : BatchNormActivationSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaBatchNormActivation : BatchNormActivationSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
