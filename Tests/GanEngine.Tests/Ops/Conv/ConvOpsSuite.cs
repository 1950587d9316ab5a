using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Ops;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Conv;

/// <summary>
/// Conv2d and ConvTranspose2d raw ops (forward, input, weight and bias gradients) against the float64 references,
/// on fresh random inputs, outputs poisoned with NaN first; norm-wise relative error under 1e-4 (FP32) or 2e-3 (TF32).
/// Bound to every accelerator below. Shapes are small: the CPU accelerator runs the kernels thread by thread.
/// </summary>
public abstract class ConvOpsSuite
{
    private Accelerator _acc = null!;

    protected abstract Accelerator CreateAccelerator();

    /// <summary>Largest problem (multiply-adds of one pass) this fixture runs; the CPU fixtures keep CI time small
    /// and leave the larger cases (split-K wgrad, several tiles) to the OpenCL and CUDA fixtures.</summary>
    protected virtual long MaxMacs => long.MaxValue;

    private void SkipIfLarge(long macs)
    {
        if (macs > MaxMacs)
        {
            Assert.Ignore($"{macs} multiply-adds: above this fixture's budget of {MaxMacs} (CPU CI time); runs on the GPU fixtures");
        }
    }

    [OneTimeSetUp]
    public void Create() => _acc = CreateAccelerator();

    [OneTimeTearDown]
    public void Dispose() => _acc?.Dispose();

    // (batch, in, h, w, out, kernel, stride, pad, bias)
    private static readonly object[] ConvCases =
    [
        new object[] { 2, 3, 9, 7, 5, 3, 1, 1, true },
        new object[] { 2, 4, 8, 8, 6, 4, 2, 1, true },
        new object[] { 1, 5, 11, 10, 7, 5, 2, 2, false },
        new object[] { 2, 3, 6, 5, 4, 1, 1, 0, false },
        new object[] { 1, 2, 13, 12, 3, 7, 1, 2, true },
        new object[] { 3, 6, 7, 9, 10, 3, 2, 0, true },
        new object[] { 4, 3, 16, 16, 8, 3, 1, 1, true },     // wgrad split over the batch (workspace)
        new object[] { 2, 37, 9, 9, 130, 3, 1, 1, false },   // N and K past one tile
        new object[] { 2, 64, 4, 4, 8, 4, 1, 0, true },      // 1x1 output: forward split over K (workspace), bias once
        new object[] { 1, 17, 6, 6, 8, 4, 2, 1, true },      // fast gather: dgrad (4 phase taps, 64-wide tile, partial)
        new object[] { 1, 5, 16, 8, 8, 4, 2, 1, false },     // fast gather: wgrad, 32 output pixels per image (rows per tile)
        new object[] { 3, 5, 8, 8, 8, 4, 2, 1, true },       // fast gather: wgrad, 16 pixels per image (2 images per tile, partial)
    ];

    // (batch, in, h, w, out, kernel, stride, pad, outputPad, bias)
    private static readonly object[] TransposeCases =
    [
        new object[] { 2, 5, 4, 4, 3, 4, 2, 1, 0, true },
        new object[] { 2, 4, 1, 1, 6, 4, 1, 0, 0, true },   // 1x1 -> 4x4 (DCGAN's first layer)
        new object[] { 2, 8, 1, 1, 64, 4, 1, 0, 0, false }, // 1x1 -> 4x4, input gradient split over K (workspace)
        new object[] { 1, 3, 5, 6, 4, 3, 2, 1, 1, false },
        new object[] { 2, 3, 3, 4, 2, 5, 2, 2, 1, true },
        new object[] { 1, 4, 5, 5, 3, 1, 1, 0, 0, false },
        new object[] { 2, 6, 7, 5, 3, 7, 1, 3, 0, true },
    ];

    private static float[] RandomFloats(Random rng, long n)
    {
        var r = new float[n];
        for (long i = 0; i < n; i++)
        {
            r[i] = (float)((rng.NextDouble() * 2) - 1);
        }
        return r;
    }

    private DeviceBuffer<float> Poisoned(long n)
    {
        var b = _acc.Allocate<float>((int)Math.Max(1, n));
        _acc.DefaultStream.FillBytes(b.View, 0xFF);
        return b;
    }

    private static void Compare(string what, float[] got, double[] reference, MathMode mode)
    {
        double err = 0, norm = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = got[i] - reference[i];
            err += double.IsFinite(got[i]) ? d * d : double.PositiveInfinity;
            norm += reference[i] * reference[i];
        }
        double rel = Math.Sqrt(err / Math.Max(norm, 1e-300));
        double tol = mode == MathMode.Tf32 ? 2e-3 : 1e-4;
        TestContext.Out.WriteLine($"{what}: relative error {rel:E2} (tolerance {tol:E0})");
        Assert.That(double.IsFinite(rel) && rel <= tol, $"{what}: relative error {rel:E3} > {tol:E0} (or not finite)");
    }

    private float[] Download(DeviceBuffer<float> b, long n)
    {
        _acc.Synchronize();
        return b.ToArray()[..(int)n];
    }

    [TestCaseSource(nameof(ConvCases))]
    public void Conv2d_ForwardAndBackward_Tf32(int b, int ic, int h, int w, int oc, int k, int s, int p, bool bias) =>
        RunConv(new Conv2dShape(b, ic, h, w, oc, k, k, s, s, p, p), bias, MathMode.Tf32);

    [TestCaseSource(nameof(ConvCases))]
    public void Conv2d_ForwardAndBackward_StrictFp32(int b, int ic, int h, int w, int oc, int k, int s, int p, bool bias) =>
        RunConv(new Conv2dShape(b, ic, h, w, oc, k, k, s, s, p, p), bias, MathMode.StrictFp32);

    [TestCaseSource(nameof(TransposeCases))]
    public void ConvTranspose2d_ForwardAndBackward_Tf32(int b, int ic, int h, int w, int oc, int k, int s, int p, int op, bool bias) =>
        RunTranspose(new ConvTranspose2dShape(b, ic, h, w, oc, k, k, s, s, p, p, op, op), bias, MathMode.Tf32);

    [TestCaseSource(nameof(TransposeCases))]
    public void ConvTranspose2d_ForwardAndBackward_StrictFp32(int b, int ic, int h, int w, int oc, int k, int s, int p, int op, bool bias) =>
        RunTranspose(new ConvTranspose2dShape(b, ic, h, w, oc, k, k, s, s, p, p, op, op), bias, MathMode.StrictFp32);

    private void RunConv(Conv2dShape shape, bool hasBias, MathMode mode)
    {
        SkipIfLarge(shape.MacCount);
        var rng = new Random(HashCode.Combine(shape, mode));
        var x = RandomFloats(rng, shape.InputElements);
        var wt = RandomFloats(rng, shape.WeightElements);
        var bias = RandomFloats(rng, shape.OutChannels);
        var g = RandomFloats(rng, shape.OutputElements);
        using var dx = _acc.Allocate<float>(x);
        using var dw = _acc.Allocate<float>(wt);
        using var db = _acc.Allocate<float>(bias);
        using var dg = _acc.Allocate<float>(g);
        using var dy = Poisoned(shape.OutputElements);
        using var dgx = Poisoned(shape.InputElements);
        using var dgw = Poisoned(shape.WeightElements);
        using var dgb = Poisoned(shape.OutChannels);
        using var ws = Poisoned(Conv2d.BackwardWeightWorkspaceElements(shape));
        var launcher = _acc.DefaultStream;
        using var fws = Poisoned(Conv2d.ForwardWorkspaceElements(shape));
        Conv2d.Forward(launcher, shape, dx.ReadOnly, dw.ReadOnly, hasBias ? db.ReadOnly : null, dy.View, fws.View, mode);
        Conv2d.BackwardInput(launcher, shape, dg.ReadOnly, dw.ReadOnly, dgx.View, mode);
        Conv2d.BackwardWeight(launcher, shape, dx.ReadOnly, dg.ReadOnly, dgw.View, dgb.View, ws.View, mode);
        double[] xd = ConvReference.ToDouble(x), wd = ConvReference.ToDouble(wt), gd = ConvReference.ToDouble(g);
        Compare("forward", Download(dy, shape.OutputElements), ConvReference.Conv2dForward(shape, xd, wd, hasBias ? ConvReference.ToDouble(bias) : null), mode);
        Compare("input gradient", Download(dgx, shape.InputElements), ConvReference.Conv2dBackwardInput(shape, gd, wd), mode);
        Compare("weight gradient", Download(dgw, shape.WeightElements), ConvReference.Conv2dBackwardWeight(shape, xd, gd), mode);
        Compare("bias gradient", Download(dgb, shape.OutChannels), ConvReference.BiasGrad(shape.Batch, shape.OutChannels, shape.OutHeight * shape.OutWidth, gd), MathMode.StrictFp32);
    }

    private void RunTranspose(ConvTranspose2dShape shape, bool hasBias, MathMode mode)
    {
        SkipIfLarge(shape.MacCount);
        var rng = new Random(HashCode.Combine(shape, mode));
        var x = RandomFloats(rng, shape.InputElements);
        var wt = RandomFloats(rng, shape.WeightElements);
        var bias = RandomFloats(rng, shape.OutChannels);
        var g = RandomFloats(rng, shape.OutputElements);
        using var dx = _acc.Allocate<float>(x);
        using var dw = _acc.Allocate<float>(wt);
        using var db = _acc.Allocate<float>(bias);
        using var dg = _acc.Allocate<float>(g);
        using var dy = Poisoned(shape.OutputElements);
        using var dgx = Poisoned(shape.InputElements);
        using var dgw = Poisoned(shape.WeightElements);
        using var dgb = Poisoned(shape.OutChannels);
        using var ws = Poisoned(ConvTranspose2d.BackwardWeightWorkspaceElements(shape));
        var launcher = _acc.DefaultStream;
        ConvTranspose2d.Forward(launcher, shape, dx.ReadOnly, dw.ReadOnly, hasBias ? db.ReadOnly : null, dy.View, mode);
        using var bws = Poisoned(ConvTranspose2d.BackwardInputWorkspaceElements(shape));
        ConvTranspose2d.BackwardInput(launcher, shape, dg.ReadOnly, dw.ReadOnly, dgx.View, bws.View, mode);
        ConvTranspose2d.BackwardWeight(launcher, shape, dx.ReadOnly, dg.ReadOnly, dgw.View, dgb.View, ws.View, mode);
        double[] xd = ConvReference.ToDouble(x), wd = ConvReference.ToDouble(wt), gd = ConvReference.ToDouble(g);
        Compare("forward", Download(dy, shape.OutputElements), ConvReference.ConvTranspose2dForward(shape, xd, wd, hasBias ? ConvReference.ToDouble(bias) : null), mode);
        Compare("input gradient", Download(dgx, shape.InputElements), ConvReference.ConvTranspose2dBackwardInput(shape, gd, wd), mode);
        Compare("weight gradient", Download(dgw, shape.WeightElements), ConvReference.ConvTranspose2dBackwardWeight(shape, xd, gd), mode);
        Compare("bias gradient", Download(dgb, shape.OutChannels), ConvReference.BiasGrad(shape.Batch, shape.OutChannels, shape.OutHeight * shape.OutWidth, gd), MathMode.StrictFp32);
    }
}

[TestFixture]
public sealed class CpuConvOps : ConvOpsSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();

    protected override long MaxMacs => 40_000;
}

[TestFixture]
public sealed class CpuDeterministicConvOps : ConvOpsSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);

    protected override long MaxMacs => 10_000;
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClConvOps(string platform) : ConvOpsSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaConvOps : ConvOpsSuite
{
    protected override Accelerator CreateAccelerator() =>
        TestAccelerators.Cuda();
}
