using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Memory;
using GanEngine.Nn;
using GanEngine.Ops;
using GanEngine.Ops.Optim;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using GanEngine.Tests.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Nn;

/// <summary>
/// The layers together: a conv-BN-LeakyReLU network trained with Adam. Checks the two
/// promises: gradients equal a hand-chained float64 reference, and a steady-state step neither
/// waits for the device nor allocates from the driver (asserted by the accelerator's counters).
/// </summary>
public abstract class LayerNetworkSuite : AcceleratorSuite
{
    private const int N = 2, C = 3, H = 6, W = 6, O = 4, K = 3;
    private const float Slope = 0.2f;

    [Test]
    public void ConvBatchNormLeakyRelu_GradientsMatchHandChainedFloat64Reference()
    {
        var rng = new Random(7100);
        float[] x = Uniform(rng, N * C * H * W), w = Uniform(rng, O * C * K * K, 0.5f), b = Uniform(rng, O, 0.5f);
        float[] gamma = Uniform(rng, O, 1f, 0.5f), beta = Uniform(rng, O, 0.5f);
        using var px = Parameter.FromHost(Acc, x, N, C, H, W);
        using var pw = Parameter.FromHost(Acc, w, O, C, K, K);
        using var pb = Parameter.FromHost(Acc, b, O);
        using var pg = Parameter.FromHost(Acc, gamma, O);
        using var pbeta = Parameter.FromHost(Acc, beta, O);
        using var runningMean = Tensor.Zeros(Acc, [O]);
        using var runningVar = Tensor.Ones(Acc, [O]);
        using (var scope = new TensorScope(Acc))
        {
            var conv = Functional.Conv2d(px, pw, pb, stride: 1, padding: 1, mode: MathMode.StrictFp32);
            var bn = Functional.BatchNorm2d(conv, runningMean, runningVar, pg, pbeta, training: true);
            bn.LeakyRelu(Slope).Mean().Backward();
        }

        // Forward in float64, then the chain rule by hand through the references.
        var shape = new Conv2dShape(N, C, H, W, O, K, K, 1, 1, 1, 1);
        int hw = shape.OutHeight * shape.OutWidth;
        var conv64 = ConvReference.Conv2dForward(shape, ConvReference.ToDouble(x), ConvReference.ToDouble(w), ConvReference.ToDouble(b));
        double[] rm = new double[O], rv = Enumerable.Repeat(1.0, O).ToArray();
        var (y, mean, invstd) = BatchNormReference.ForwardTraining(conv64, N, O, hw, ConvReference.ToDouble(gamma), ConvReference.ToDouble(beta), rm, rv);
        var dy = y.Select(v => (v > 0 ? 1.0 : Slope) / y.Length).ToArray();
        var (dconv, dgamma, dbeta) = BatchNormReference.Backward(conv64, dy, N, O, hw, mean, invstd, ConvReference.ToDouble(gamma));
        var dx = ConvReference.Conv2dBackwardInput(shape, dconv, ConvReference.ToDouble(w));
        var dw = ConvReference.Conv2dBackwardWeight(shape, ConvReference.ToDouble(x), dconv);
        var db = ConvReference.BiasGrad(N, O, hw, dconv);

        AssertClose(px.Grad!.ToHost(), dx, "dL/dx");
        AssertClose(pw.Grad!.ToHost(), dw, "dL/dW");
        // A conv bias followed by batchnorm has gradient 0 in exact arithmetic (batchnorm removes the
        // channel mean): compare it on the scale of the weight gradient, not relative to itself.
        AssertClose(pb.Grad!.ToHost(), db, "dL/db (zero up to rounding)", Norm(dw));
        AssertClose(pg.Grad!.ToHost(), dgamma, "dL/dgamma");
        AssertClose(pbeta.Grad!.ToHost(), dbeta, "dL/dbeta");
        AssertClose(runningMean.ToHost(), rm, "running mean");
        AssertClose(runningVar.ToHost(), rv, "running variance (unbiased)");
    }

    [Test]
    public void ConvBatchNormLeakyReluAdamStep_SteadyState_NoHostSync_NoDriverAllocation()
    {
        var rng = new Random(7200);
        using var x = Tensor.FromHost(Acc, Uniform(rng, N * C * 8 * 8), N, C, 8, 8);
        using var w1 = Parameter.FromHost(Acc, Uniform(rng, 8 * C * 3 * 3, 0.3f), 8, C, 3, 3);
        using var g1 = Parameter.FromHost(Acc, Uniform(rng, 8, 1f, 0.2f), 8);
        using var b1 = Parameter.FromHost(Acc, Uniform(rng, 8, 0.2f), 8);
        using var w2 = Parameter.FromHost(Acc, Uniform(rng, 4 * 8 * 4 * 4, 0.3f), 4, 8, 4, 4);
        using var g2 = Parameter.FromHost(Acc, Uniform(rng, 4, 1f, 0.2f), 4);
        using var b2 = Parameter.FromHost(Acc, Uniform(rng, 4, 0.2f), 4);
        using var rm1 = Tensor.Zeros(Acc, [8]);
        using var rv1 = Tensor.Ones(Acc, [8]);
        using var rm2 = Tensor.Zeros(Acc, [4]);
        using var rv2 = Tensor.Ones(Acc, [4]);
        using var adam = new Adam([w1, g1, b1, w2, g2, b2], AdamHyperparameters.Adam with { Lr = 2e-4f, Beta1 = 0.5f });
        var before = w2.ToHost();
        long allocations = 0, syncs = 0;
        for (int iteration = 0; iteration < 4; iteration++)
        {
            if (iteration == 1)
            {
                allocations = Acc.DriverAllocations;
                syncs = Acc.HostSynchronizations;
            }
            using var scope = new TensorScope(Acc);
            adam.ZeroGrad();
            var h1 = Functional.BatchNorm2d(Functional.Conv2d(x, w1, padding: 1), rm1, rv1, g1, b1, training: true).LeakyRelu(Slope);
            var h2 = Functional.BatchNorm2d(Functional.Conv2d(h1, w2, stride: 2, padding: 1), rm2, rv2, g2, b2, training: true).LeakyRelu(Slope);
            h2.Mean().Backward();
            adam.Step();
        }
        Assert.That(Acc.DriverAllocations, Is.EqualTo(allocations), "driver allocations after the first iteration");
        Assert.That(Acc.HostSynchronizations, Is.EqualTo(syncs), "host synchronisations inside training steps");
        var after = w2.ToHost();
        Assert.That(after.Zip(before).Any(p => p.First != p.Second), Is.True, "Adam moved the weights");
        Assert.That(after.All(float.IsFinite), Is.True);
    }

    private static float[] Uniform(Random rng, int n, float scale = 1f, float offset = 0f)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++)
        {
            float v;
            do
            {
                v = offset + (scale * (float)((2 * rng.NextDouble()) - 1));
            }
            while (v == 0f);
            data[i] = v;
        }
        return data;
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));

    private static void AssertClose(float[] actual, double[] expected, string what, double scale = 0)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(float.IsNaN(actual[i]), Is.False, $"{what}[{i}] is NaN");
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        double relative = Math.Sqrt(diff) / Math.Max(Math.Max(Math.Sqrt(norm), scale), 1e-300);
        Assert.That(relative, Is.LessThan(1e-4), $"{what}: relative error {relative:E2}");
    }
}

[TestFixture]
public sealed class CpuLayerNetwork : LayerNetworkSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClLayerNetwork(string platform) : LayerNetworkSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaLayerNetwork : LayerNetworkSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
