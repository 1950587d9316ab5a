using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;
using GanEngine.Kernels;
using GanEngine.Kernels.Conv;
using GanEngine.Ops;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Conv;

/// <summary>
/// Conv2d and ConvTranspose2d raw ops (forward, input, weight and bias gradients) against the float64 references,
/// on fresh random inputs, outputs poisoned with NaN first; norm-wise relative error under 1e-4 (FP32) or 2e-3 (TF32).
/// Both algorithms (<see cref="ConvAlgorithm.ImplicitGemm"/> in TF32 and strict FP32, <see cref="ConvAlgorithm.Direct"/>,
/// which computes in FP32 whatever the mode) on every accelerator below. Implicit-GEMM shapes are small on the CPU
/// accelerator, which runs kernels with barriers thread by thread; the direct kernels have no barriers and run them all.
/// </summary>
public abstract class ConvOpsSuite
{
    private Accelerator _acc = null!;

    protected abstract Accelerator CreateAccelerator();

    /// <summary>Largest problem (multiply-adds of one pass) this fixture runs; the CPU fixtures keep CI time small
    /// and leave the larger cases (split-K wgrad, several tiles) to the OpenCL and CUDA fixtures.</summary>
    protected virtual long MaxMacs => long.MaxValue;

    /// <summary>As <see cref="MaxMacs"/>, for <see cref="ConvAlgorithm.Direct"/>.</summary>
    protected virtual long MaxDirectMacs => long.MaxValue;

    private void SkipIfLarge(long macs, ConvAlgorithm algorithm, long? maxMacs = null)
    {
        long budget = maxMacs ?? (algorithm == ConvAlgorithm.Direct ? MaxDirectMacs : MaxMacs);
        if (macs > budget)
        {
            Assert.Ignore($"{macs} multiply-adds: above this fixture's {algorithm} budget of {budget} (CPU CI time); runs on the GPU fixtures");
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
        new object[] { 2, 3, 5, 6, 4, 7, 1, 3, true },       // padding 3, 'same' 7x7
        new object[] { 1, 2, 4, 5, 3, 1, 2, 3, false },      // padding 3 with a 1x1 kernel: border outputs see only padding
        new object[] { 2, 5, 11, 9, 6, 3, 2, 1, true },      // odd sizes, stride 2
        new object[] { 2, 3, 10, 11, 4, 3, 3, 1, false },    // stride 3
        new object[] { 8, 1, 8, 8, 16, 4, 2, 1, false },     // DCGAN digits D, first layer (1 channel)
        new object[] { 8, 16, 16, 16, 32, 4, 2, 1, true },   // DCGAN digits D, 16x16
        new object[] { 4, 16, 8, 8, 16, 3, 1, 1, true },     // SNGAN ResNet 3x3
        new object[] { 4, 16, 8, 8, 32, 1, 1, 0, false },    // SNGAN ResNet 1x1 shortcut
        new object[] { 2, 3, 8, 8, 8, 4, 2, 1, false },      // fast gather with a 16-wide N tile: dgrad of 3 channels
        new object[] { 2, 64, 4, 4, 24, 4, 1, 0, true },     // fast gather with a 32-wide N tile: 1x1 output, 24 channels
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
        new object[] { 2, 4, 3, 5, 3, 3, 2, 1, 1, true },   // output padding, odd sizes
        new object[] { 1, 3, 4, 4, 2, 7, 2, 3, 1, false },  // 7x7, padding 3, output padding
        new object[] { 1, 3, 4, 4, 2, 3, 3, 0, 2, true },   // stride 3, output padding 2
        new object[] { 8, 32, 4, 4, 16, 4, 2, 1, 0, true }, // DCGAN digits G, 4x4 -> 8x8
        new object[] { 8, 16, 8, 8, 1, 4, 2, 1, 0, false }, // DCGAN digits G, last layer (1 channel)
        new object[] { 2, 16, 4, 4, 3, 4, 2, 1, 0, true },  // fast gather with a 16-wide N tile: 3 output channels (DCGAN-32's last layer)
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

    // Implicit GEMM, TF32 and strict FP32.
    [TestCaseSource(nameof(ConvCases))]
    public void Conv2d_ForwardAndBackward_Tf32(int b, int ic, int h, int w, int oc, int k, int s, int p, bool bias) =>
        RunConv(new Conv2dShape(b, ic, h, w, oc, k, k, s, s, p, p), bias, MathMode.Tf32, ConvAlgorithm.ImplicitGemm);

    [TestCaseSource(nameof(ConvCases))]
    public void Conv2d_ForwardAndBackward_StrictFp32(int b, int ic, int h, int w, int oc, int k, int s, int p, bool bias) =>
        RunConv(new Conv2dShape(b, ic, h, w, oc, k, k, s, s, p, p), bias, MathMode.StrictFp32, ConvAlgorithm.ImplicitGemm);

    [TestCaseSource(nameof(TransposeCases))]
    public void ConvTranspose2d_ForwardAndBackward_Tf32(int b, int ic, int h, int w, int oc, int k, int s, int p, int op, bool bias) =>
        RunTranspose(new ConvTranspose2dShape(b, ic, h, w, oc, k, k, s, s, p, p, op, op), bias, MathMode.Tf32, ConvAlgorithm.ImplicitGemm);

    [TestCaseSource(nameof(TransposeCases))]
    public void ConvTranspose2d_ForwardAndBackward_StrictFp32(int b, int ic, int h, int w, int oc, int k, int s, int p, int op, bool bias) =>
        RunTranspose(new ConvTranspose2dShape(b, ic, h, w, oc, k, k, s, s, p, p, op, op), bias, MathMode.StrictFp32, ConvAlgorithm.ImplicitGemm);

    // Direct: TF32 requested (the default mode), FP32 results expected (FP32 tolerance).
    [TestCaseSource(nameof(ConvCases))]
    public void Conv2d_ForwardAndBackward_Direct(int b, int ic, int h, int w, int oc, int k, int s, int p, bool bias) =>
        RunConv(new Conv2dShape(b, ic, h, w, oc, k, k, s, s, p, p), bias, MathMode.Tf32, ConvAlgorithm.Direct);

    [TestCaseSource(nameof(TransposeCases))]
    public void ConvTranspose2d_ForwardAndBackward_Direct(int b, int ic, int h, int w, int oc, int k, int s, int p, int op, bool bias) =>
        RunTranspose(new ConvTranspose2dShape(b, ic, h, w, oc, k, k, s, s, p, p, op, op), bias, MathMode.Tf32, ConvAlgorithm.Direct);

    [Test]
    public void Auto_IsDirectOnTheCpuAcceleratorAndImplicitGemmElsewhere()
    {
        if (ConvSettings.Algorithm != ConvAlgorithm.Auto)
        {
            Assert.Ignore($"ConvSettings.Algorithm is {ConvSettings.Algorithm} ({ConvSettings.EnvironmentVariable} set)");
        }
        var expected = _acc.Info.Kind == AcceleratorKind.Cpu ? ConvAlgorithm.Direct : ConvAlgorithm.ImplicitGemm;
        Assert.That(ConvSettings.Resolve(_acc, ConvAlgorithm.Auto), Is.EqualTo(expected));
        Assert.That(ConvSettings.Resolve(_acc.DefaultStream, ConvAlgorithm.Auto), Is.EqualTo(expected));
        Assert.That(ConvSettings.Resolve(_acc, ConvAlgorithm.ImplicitGemm), Is.EqualTo(ConvAlgorithm.ImplicitGemm));
        Assert.That(ConvSettings.Resolve(_acc, ConvAlgorithm.Direct), Is.EqualTo(ConvAlgorithm.Direct));
    }

    /// <summary>The direct kernels are grid-stride loops: a grid far smaller than the element count (and a block that is not a
    /// multiple of 32) gives the same results.</summary>
    [TestCase(1, 32)]
    [TestCase(3, 50)]
    public void Direct_SmallGrid_CoversEveryElement(int blocks, int threads)
    {
        var shape = new Conv2dShape(2, 3, 9, 7, 5, 4, 4, 2, 2, 1, 1);
        var rng = new Random(blocks * 100 + threads);
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
        var cfg = new LaunchConfig(new Dim3(blocks), new Dim3(threads));
        var l = _acc.DefaultStream;
        var (n, c, h, wd, oc, oh, ow, k, st, p) = (shape.Batch, shape.InChannels, shape.Height, shape.Width, shape.OutChannels,
            shape.OutHeight, shape.OutWidth, shape.KernelH, shape.StrideH, shape.PadH);
        ConvDirect.LaunchForward(l, cfg, n, c, h, wd, oc, oh, ow, k, k, st, p, 1, dx.ReadOnly, dw.ReadOnly, db.ReadOnly, dy.View);
        ConvDirect.LaunchDgrad(l, cfg, n, c, h, wd, oc, oh, ow, k, k, st, p, 0, dg.ReadOnly, dw.ReadOnly, dw.ReadOnly, dgx.View);
        ConvDirect.LaunchWgrad(l, cfg, n, c, h, wd, oc, oh, ow, k, k, st, p, dg.ReadOnly, dx.ReadOnly, dgw.View);
        ConvDirect.LaunchBiasGrad(l, new LaunchConfig(new Dim3(1), new Dim3(2)), n, oc, oh * ow, dg.ReadOnly, dgb.View);
        double[] xd = ConvReference.ToDouble(x), wdd = ConvReference.ToDouble(wt), gd = ConvReference.ToDouble(g);
        Compare("forward", Download(dy, shape.OutputElements), ConvReference.Conv2dForward(shape, xd, wdd, ConvReference.ToDouble(bias)), MathMode.StrictFp32);
        Compare("input gradient", Download(dgx, shape.InputElements), ConvReference.Conv2dBackwardInput(shape, gd, wdd), MathMode.StrictFp32);
        Compare("weight gradient", Download(dgw, shape.WeightElements), ConvReference.Conv2dBackwardWeight(shape, xd, gd), MathMode.StrictFp32);
        Compare("bias gradient", Download(dgb, shape.OutChannels), ConvReference.BiasGrad(n, oc, oh * ow, gd), MathMode.StrictFp32);
    }

    /// <summary>Plans the heuristic does not pick on these shapes, forced for the forward form and the input gradient (the wide tile
    /// also for the weight gradient): the 256x128 tile (8 warps, fast gather only) and the narrow dgrad kernel with 1, 2 and 4 images per thread (batch 5: a partial group).</summary>
    [TestCase(3, 16, 16, 16, 24, ConvLaunch.WideTile, MathMode.Tf32)]
    [TestCase(2, 32, 8, 8, 16, ConvLaunch.WideTile, MathMode.Tf32)]
    [TestCase(1, 8, 8, 8, 8, ConvLaunch.WideTile, MathMode.Tf32)]
    [TestCase(2, 8, 16, 16, 16, ConvLaunch.WideTile, MathMode.Tf32)]
    [TestCase(3, 16, 8, 8, 8, ConvLaunch.WideTile, MathMode.Tf32)]
    [TestCase(2, 8, 8, 8, 8, ConvLaunch.WideTile, MathMode.Tf32)]
    [TestCase(5, 3, 6, 6, 8, ConvLaunch.NarrowTile + 2, MathMode.Tf32)]
    [TestCase(5, 3, 10, 12, 16, ConvLaunch.NarrowTile, MathMode.Tf32)]
    [TestCase(5, 3, 10, 12, 16, ConvLaunch.NarrowTile + 1, MathMode.StrictFp32)]
    [TestCase(5, 3, 10, 12, 16, ConvLaunch.NarrowTile + 2, MathMode.Tf32)]
    public void ForcedPlan_MatchesReference(int b, int ic, int h, int w, int oc, int tile, MathMode mode)
    {
        var shape = new Conv2dShape(b, ic, h, w, oc, 4, 4, 2, 2, 1, 1);
        var geometry = ConvLaunch.Geometry.Of(shape);
        // The wide tile also for the weight gradient (split 2 where the batch allows).
        ConvLaunch.PlanOverride = (md, geo) => geo != geometry ? null : md <= 1 ? new ConvLaunch.Plan(tile, 1) :
            tile == ConvLaunch.WideTile ? new ConvLaunch.Plan(tile, 2) : null;
        try
        {
            RunConv(shape, true, mode, ConvAlgorithm.ImplicitGemm);
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
        }
    }

    /// <summary>The narrow-channel forward (<see cref="ConvNarrow.Forward"/>: big side of at most 4 channels) forced to 1, 2 and 4
    /// output rows per thread: kernels 1-7, strides 1-3, output rows not a multiple of the rows per thread, output channels not a
    /// multiple of the 16-channel chunk (a partial chunk), a single input channel; the backward passes run too (other kernels).</summary>
    [TestCase(2, 3, 9, 7, 5, 3, 1, 1, 0, MathMode.Tf32)]
    [TestCase(2, 3, 9, 7, 5, 3, 1, 1, 2, MathMode.StrictFp32)]
    [TestCase(1, 1, 11, 10, 17, 5, 2, 2, 1, MathMode.Tf32)]
    [TestCase(3, 4, 8, 8, 6, 4, 2, 1, 2, MathMode.Tf32)]
    [TestCase(1, 2, 13, 12, 3, 7, 3, 3, 2, MathMode.StrictFp32)]
    [TestCase(2, 3, 6, 5, 4, 1, 1, 0, 1, MathMode.Tf32)]
    [TestCase(1, 2, 7, 6, 18, 3, 2, 1, 2, MathMode.StrictFp32)]
    public void NarrowForward_MatchesReference(int b, int ic, int h, int w, int oc, int k, int s, int pad, int rowsLog2, MathMode mode)
    {
        var shape = new Conv2dShape(b, ic, h, w, oc, k, k, s, s, pad, pad);
        var geometry = ConvLaunch.Geometry.Of(shape);
        ConvLaunch.PlanOverride = (md, geo) => geo == geometry && md == 0 ? new ConvLaunch.Plan(ConvLaunch.NarrowTile + rowsLog2, 1) : null;
        try
        {
            Assert.That(ConvLaunch.NarrowForwardPlan(geometry, ConvLaunch.PlanFor(0, geometry)), Is.EqualTo(1 << rowsLog2), "the narrow forward runs");
            RunConv(shape, true, mode, ConvAlgorithm.ImplicitGemm);
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
        }
    }

    /// <summary>Forward with a fused activation against act(float64 reference): in the narrow kernel's epilogue (3 input
    /// channels, implicit GEMM), as an in-place pass after the GEMM kernel (6 channels) and after the direct kernel.</summary>
    [TestCase(FusedActivation.LeakyRelu, ConvAlgorithm.ImplicitGemm, 3)]
    [TestCase(FusedActivation.Relu, ConvAlgorithm.ImplicitGemm, 3)]
    [TestCase(FusedActivation.LeakyRelu, ConvAlgorithm.ImplicitGemm, 6)]
    [TestCase(FusedActivation.Relu, ConvAlgorithm.Direct, 3)]
    [TestCase(FusedActivation.LeakyRelu, ConvAlgorithm.Direct, 6)]
    public void Forward_WithActivation_MatchesReference(FusedActivation activation, ConvAlgorithm algorithm, int ic)
    {
        var shape = new Conv2dShape(2, ic, 7, 6, 20, 4, 4, 2, 2, 1, 1);
        SkipIfLarge(shape.MacCount, algorithm);
        CheckForwardActivation(shape, activation, algorithm, algorithm == ConvAlgorithm.Direct ? MathMode.StrictFp32 : MathMode.Tf32);
    }

    /// <summary>Conv2d.Forward with <paramref name="activation"/> (slope 0.2) on fresh random inputs, against act(float64 reference),
    /// within the tolerance of <paramref name="expected"/>.</summary>
    private void CheckForwardActivation(Conv2dShape shape, FusedActivation activation, ConvAlgorithm algorithm, MathMode expected)
    {
        const float slope = 0.2f;
        var rng = new Random(HashCode.Combine(shape, activation, algorithm));
        var x = RandomFloats(rng, shape.InputElements);
        var wt = RandomFloats(rng, shape.WeightElements);
        var bias = RandomFloats(rng, shape.OutChannels);
        using var dx = _acc.Allocate<float>(x);
        using var dw = _acc.Allocate<float>(wt);
        using var db = _acc.Allocate<float>(bias);
        using var dy = Poisoned(shape.OutputElements);
        using var fws = Poisoned(Conv2d.ForwardWorkspaceElements(shape));
        Conv2d.Forward(_acc.DefaultStream, shape, dx.ReadOnly, dw.ReadOnly, db.ReadOnly, dy.View, fws.View, MathMode.Tf32, algorithm, activation, slope);
        var z = ConvReference.Conv2dForward(shape, ConvReference.ToDouble(x), ConvReference.ToDouble(wt), ConvReference.ToDouble(bias));
        Assert.That(z.Count(v => v > 0), Is.InRange(z.Length / 5, z.Length * 4 / 5), "both sides of 0 exercised");
        var reference = z.Select(v => v > 0 ? v : activation == FusedActivation.Relu ? 0 : v * slope).ToArray();
        Compare("forward + activation", Download(dy, shape.OutputElements), reference, expected);
    }

    /// <summary>The TF32 kernel's K-tile staging forced for all three forms where the fast gather applies: 0 (registers), cp.async
    /// rings of 2 to 5 stages. The small case fits the CPU budget (ring offsets over 4 K tiles); the others, with up to 16 K tiles per
    /// form and split-K weight gradients, run where cp.async is real (CUDA) and on PoCL (register staging: no fast gather there).</summary>
    [TestCase(1, 8, 8, 8, 8, 0, 3)]
    [TestCase(1, 8, 8, 8, 8, 0, 4)]
    [TestCase(1, 8, 8, 8, 8, ConvLaunch.WideTile, 3)]
    [TestCase(1, 8, 8, 8, 8, 0, 2)]
    [TestCase(3, 16, 16, 16, 32, 0, 0)]
    [TestCase(3, 16, 16, 16, 32, 0, 2)]
    [TestCase(3, 16, 16, 16, 32, 0, 3)]
    [TestCase(3, 16, 16, 16, 32, 0, 4)]
    [TestCase(4, 32, 8, 8, 64, ConvLaunch.WideTile, 3)]
    [TestCase(4, 32, 8, 8, 64, 0, 5)]
    [TestCase(5, 64, 4, 4, 32, 0, 3)]
    public void StagingRing_MatchesReference(int b, int ic, int h, int w, int oc, int tile, int ring)
    {
        var shape = new Conv2dShape(b, ic, h, w, oc, 4, 4, 2, 2, 1, 1);
        var geometry = ConvLaunch.Geometry.Of(shape);
        ConvLaunch.PlanOverride = (md, geo) => geo != geometry ? null : new ConvLaunch.Plan(md == 2 && tile == ConvLaunch.WideTile ? 0 : tile, md == 2 ? 2 : 1, ring);
        try
        {
            RunConv(shape, true, MathMode.Tf32, ConvAlgorithm.ImplicitGemm);
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
        }
    }

    /// <summary>The 256x128 TF32 tile of the forward and dgrad forms on warpgroup MMA (<see cref="ConvImplicitGemm.Tf32Wg"/>), forced
    /// where the geometry is compiled in (emulated on the CPU, real <c>wgmma</c> on an H100/H200; OpenCL keeps its one mma.sync
    /// variant, asserted): 1 to 32 K tiles (an odd count in the dgrad of the last case), partial row and column tiles, two column
    /// tiles, split-K forward; staged through registers (staging 0), by the cp.async ring with 4-byte weight copies (1) and with
    /// 16-byte weight copies in the forward form (2). The weight gradient keeps its own plan.</summary>
    [TestCase(1, 8, 8, 8, 8, 1, 0)]
    [TestCase(1, 8, 8, 8, 8, 1, 2)]
    [TestCase(3, 16, 16, 16, 32, 1, 0)]
    [TestCase(3, 16, 16, 16, 32, 1, 1)]
    [TestCase(3, 16, 16, 16, 32, 1, 2)]
    [TestCase(9, 16, 16, 16, 24, 1, 0)]
    [TestCase(9, 16, 16, 16, 24, 1, 2)]
    [TestCase(5, 64, 8, 8, 136, 1, 0)]
    [TestCase(5, 64, 8, 8, 136, 1, 1)]
    [TestCase(5, 64, 8, 8, 136, 1, 2)]
    [TestCase(5, 64, 8, 8, 136, 2, 0)]
    [TestCase(5, 64, 8, 8, 136, 2, 2)]
    public void Warpgroup_MatchesReference(int b, int ic, int h, int w, int oc, int splits, int staging)
    {
        var shape = new Conv2dShape(b, ic, h, w, oc, 4, 4, 2, 2, 1, 1);
        var geometry = ConvLaunch.Geometry.Of(shape);
        var saved = (ConvSettings.Warpgroup, ConvSettings.WarpgroupRing, ConvSettings.WarpgroupVectorB);
        ConvLaunch.PlanOverride = (md, geo) => geo != geometry ? null : new ConvLaunch.Plan(md == 2 ? 0 : ConvLaunch.WideTile, md == 1 ? 1 : splits, 0);
        ConvSettings.Warpgroup = WarpgroupUse.Force;
        ConvSettings.WarpgroupRing = staging != 0;
        ConvSettings.WarpgroupVectorB = staging == 2;
        try
        {
            bool specialized = _acc.Info.Kind != AcceleratorKind.OpenCL;
            Assert.That(ConvLaunch.RunsWarpgroup(_acc, 0, geometry), Is.EqualTo(specialized), "forward form on the warpgroup kernel");
            Assert.That(ConvLaunch.RunsWarpgroup(_acc, 1, geometry), Is.EqualTo(specialized), "dgrad form on the warpgroup kernel");
            // The CPU emulates the warpgroup kernel fast (all twelve cases in a few seconds here): above the fixture's usual budget.
            RunConv(shape, true, MathMode.Tf32, ConvAlgorithm.ImplicitGemm, _acc.Info.Kind == AcceleratorKind.Cpu ? 12_000_000 : null);
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
            (ConvSettings.Warpgroup, ConvSettings.WarpgroupRing, ConvSettings.WarpgroupVectorB) = saved;
        }
    }

    /// <summary>The dgrad form split over K (the <c>mma.sync</c> TF32 kernel, z = split x phases + phase, planes summed in order), forced:
    /// the convolution's input gradient and the transposed convolution's forward with bias (added once, in plane 0); the fast gather
    /// (kernel 4, stride 2) and the generic one (kernel 3), tiles 128x128 / 128x64 / 128x32, uneven splits (5 K tiles in 3). The
    /// workspace comes from the ops' size functions and is poisoned with NaN, so a plane left unwritten shows.</summary>
    [TestCase(2, 16, 8, 8, 16, 4, 0, 2)]
    [TestCase(3, 24, 9, 7, 40, 4, 1, 3)]
    [TestCase(2, 8, 6, 6, 72, 4, 2, 4)]
    [TestCase(2, 12, 7, 9, 24, 3, 0, 2)]
    public void DgradSplit_MatchesReference(int b, int ic, int h, int w, int oc, int kernel, int tile, int splits)
    {
        var shape = new Conv2dShape(b, ic, h, w, oc, kernel, kernel, 2, 2, 1, 1);
        var transposed = new ConvTranspose2dShape(b, oc, shape.OutHeight, shape.OutWidth, ic, kernel, kernel, 2, 2, 1, 1, (h + 2 - kernel) % 2, (w + 2 - kernel) % 2);
        var geometry = ConvLaunch.Geometry.Of(shape);
        Assert.That(ConvLaunch.Geometry.Of(transposed.AsConv), Is.EqualTo(geometry), "the transposed shape is the same convolution");
        ConvLaunch.PlanOverride = (md, geo) => geo == geometry && md == 1 ? new ConvLaunch.Plan(tile, splits) : null;
        try
        {
            // Where the TF32 tile does not fit (NVIDIA OpenCL's 48 KiB), the FP32 kernel runs unsplit: the split is then not exercised.
            if (ConvLaunch.DgradSplit(_acc, MathMode.Tf32, geometry).Splits <= 1)
            {
                Assert.Ignore($"the TF32 tile does not fit {_acc.Info.MaxSharedMemoryPerBlock} bytes of shared memory here: FP32, no split");
            }
            // Small enough for the CPU and PoCL fixtures (above their usual budgets, as the warpgroup cases).
            long? budget = _acc.Info.Kind == AcceleratorKind.Cuda ? null : 4_000_000;
            RunConv(shape, false, MathMode.Tf32, ConvAlgorithm.ImplicitGemm, budget);
            RunTranspose(transposed, true, MathMode.Tf32, ConvAlgorithm.ImplicitGemm, budget);
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
        }
    }

    /// <summary>Point convolutions (1x1 output, kernel covering the whole input, at most 4 output channels: <see cref="ConvPoint"/>):
    /// forward, input, weight and bias gradients against the reference, through the implicit-GEMM entry points (the CPU
    /// accelerator runs the point kernels too). Odd sizes (reductions that are not multiples of a warp or block), a non-square
    /// kernel, a stride that changes nothing (one output position), Oc 1 to 4, and the unrolled loops of the forward (kd over 16 x 256)
    /// and of the weight gradient (batch over 16 x 8).</summary>
    [TestCase(5, 7, 3, 3, 1, 1, true, MathMode.Tf32)]
    [TestCase(5, 7, 3, 3, 1, 1, false, MathMode.StrictFp32)]
    [TestCase(3, 16, 4, 4, 3, 1, false, MathMode.Tf32)]
    [TestCase(3, 16, 4, 4, 3, 2, true, MathMode.StrictFp32)]
    [TestCase(33, 64, 4, 4, 1, 1, true, MathMode.Tf32)]
    [TestCase(33, 64, 4, 4, 1, 1, false, MathMode.StrictFp32)]
    [TestCase(4, 5, 7, 7, 4, 1, true, MathMode.StrictFp32)]
    [TestCase(4, 5, 7, 7, 4, 1, false, MathMode.Tf32)]
    [TestCase(2, 3, 3, 5, 2, 1, true, MathMode.Tf32)]
    [TestCase(6, 11, 5, 3, 2, 1, false, MathMode.StrictFp32)]
    [TestCase(2, 300, 4, 4, 1, 1, true, MathMode.Tf32)]       // forward: a full unrolled group per thread, then a partial tail
    [TestCase(130, 2, 3, 3, 3, 1, false, MathMode.StrictFp32)] // weight gradient: an unrolled group per warp, a tail; input gradient: a partial image group
    public void PointConv_MatchesReference(int b, int ic, int h, int w, int oc, int s, bool bias, MathMode mode)
    {
        var shape = new Conv2dShape(b, ic, h, w, oc, h, w, s, s);
        Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(shape)), Is.True);
        RunConv(shape, bias, mode, ConvAlgorithm.ImplicitGemm);
    }

    /// <summary>The point shapes need no workspace (callers allocate nothing), whatever a forced plan says (the point kernels
    /// ignore plans), and 5 output channels leave the point path.</summary>
    [Test]
    public void PointConv_NeedsNoWorkspace()
    {
        var point = new[]
        {
            new Conv2dShape(256, 512, 4, 4, 1, 4, 4),   // DCGAN's discriminator's last layer
            new Conv2dShape(64, 512, 4, 4, 1, 4, 4),
            new Conv2dShape(33, 64, 4, 4, 4, 4, 4),
            new Conv2dShape(5, 7, 3, 3, 1, 3, 3, 2, 2),
        };
        ConvLaunch.PlanOverride = (_, _) => new ConvLaunch.Plan(2, 64);
        try
        {
            foreach (var shape in point)
            {
                Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(shape)), Is.True, shape.ToString());
                Assert.That(Conv2d.ForwardWorkspaceElements(shape), Is.Zero, shape.ToString());
                Assert.That(Conv2d.BackwardWeightWorkspaceElements(shape), Is.Zero, shape.ToString());
            }
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
        }
        Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(new Conv2dShape(256, 512, 4, 4, 5, 4, 4))), Is.False);
        Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(new Conv2dShape(256, 512, 4, 4, 1, 4, 4, 1, 1, 1, 1))), Is.False);
        Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(new Conv2dShape(256, 512, 4, 4, 1, 3, 3))), Is.False);
        // A transposed convolution 1x1 -> 4x4 from at most 4 channels is a point shape in its conv view.
        var transposed = new ConvTranspose2dShape(8, 3, 1, 1, 16, 4, 4);
        Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(transposed.AsConv)), Is.True);
        Assert.That(ConvTranspose2d.BackwardInputWorkspaceElements(transposed), Is.Zero);
        Assert.That(ConvTranspose2d.BackwardWeightWorkspaceElements(transposed), Is.Zero);
    }

    /// <summary>Forced plans (tiles, the direct and narrow dgrad kernels, split counts that would need workspaces) do not reach the
    /// point shapes: the results still match and the workspaces stay 0 (RunConv allocates what the shape asks for, and a split
    /// weight gradient would throw on it).</summary>
    [TestCase(2, 64)]
    [TestCase(ConvLaunch.WideTile, 8)]
    [TestCase(ConvLaunch.DirectTile, 16)]
    [TestCase(ConvLaunch.NarrowTile + 2, 4)]
    public void PointConv_IgnoresForcedPlans(int tile, int splits)
    {
        var shape = new Conv2dShape(9, 12, 4, 4, 2, 4, 4);
        ConvLaunch.PlanOverride = (_, _) => new ConvLaunch.Plan(tile, splits);
        try
        {
            Assert.That(Conv2d.ForwardWorkspaceElements(shape), Is.Zero);
            Assert.That(Conv2d.BackwardWeightWorkspaceElements(shape), Is.Zero);
            RunConv(shape, true, MathMode.Tf32, ConvAlgorithm.ImplicitGemm);
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
        }
    }

    /// <summary>A point convolution's forward with a fused activation (an in-place pass after <see cref="ConvPoint.Forward"/>)
    /// against act(float64 reference); 3 input channels, so the narrow forward would also fit: the point kernel takes it.</summary>
    [TestCase(FusedActivation.LeakyRelu, 3)]
    [TestCase(FusedActivation.Relu, 3)]
    [TestCase(FusedActivation.LeakyRelu, 10)]
    public void PointConv_WithActivation_MatchesReference(FusedActivation activation, int ic)
    {
        var shape = new Conv2dShape(20, ic, 4, 4, 3, 4, 4);
        Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(shape)), Is.True);
        CheckForwardActivation(shape, activation, ConvAlgorithm.ImplicitGemm, MathMode.StrictFp32);
    }

    /// <summary>Two runs of every pass of a point convolution give bit-identical results (fixed summation order, no atomics),
    /// in both math modes, on shapes that run the unrolled loops (forward; weight gradient) and partial groups.</summary>
    [TestCase(2, 300, 4, 1, MathMode.Tf32)]
    [TestCase(2, 300, 4, 1, MathMode.StrictFp32)]
    [TestCase(130, 2, 3, 3, MathMode.Tf32)]
    [TestCase(130, 2, 3, 3, MathMode.StrictFp32)]
    public void PointConv_IsDeterministic(int b, int ic, int k, int oc, MathMode mode)
    {
        var shape = new Conv2dShape(b, ic, k, k, oc, k, k);
        SkipIfLarge(shape.MacCount, ConvAlgorithm.ImplicitGemm);
        var rng = new Random(4242);
        using var dx = _acc.Allocate<float>(RandomFloats(rng, shape.InputElements));
        using var dw = _acc.Allocate<float>(RandomFloats(rng, shape.WeightElements));
        using var db = _acc.Allocate<float>(RandomFloats(rng, shape.OutChannels));
        using var dg = _acc.Allocate<float>(RandomFloats(rng, shape.OutputElements));
        var launcher = _acc.DefaultStream;
        float[][] Pass()
        {
            using var dy = Poisoned(shape.OutputElements);
            using var dgx = Poisoned(shape.InputElements);
            using var dgw = Poisoned(shape.WeightElements);
            using var dgb = Poisoned(shape.OutChannels);
            Conv2d.Forward(launcher, shape, dx.ReadOnly, dw.ReadOnly, db.ReadOnly, dy.View, null, mode, ConvAlgorithm.ImplicitGemm);
            Conv2d.BackwardInput(launcher, shape, dg.ReadOnly, dw.ReadOnly, dgx.View, mode, ConvAlgorithm.ImplicitGemm);
            Conv2d.BackwardWeight(launcher, shape, dx.ReadOnly, dg.ReadOnly, dgw.View, dgb.View, null, mode, ConvAlgorithm.ImplicitGemm);
            return [Download(dy, shape.OutputElements), Download(dgx, shape.InputElements), Download(dgw, shape.WeightElements),
                Download(dgb, shape.OutChannels)];
        }
        var first = Pass();
        var second = Pass();
        string[] names = ["forward", "input gradient", "weight gradient", "bias gradient"];
        for (int i = 0; i < first.Length; i++)
        {
            Assert.That(first[i].All(float.IsFinite), Is.True, names[i]);
            Assert.That(second[i].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(first[i].Select(BitConverter.SingleToInt32Bits)), names[i]);
        }
    }

    /// <summary>A transposed convolution from 1x1 with at most 4 input channels is a point convolution in its conv view: its forward
    /// runs <see cref="ConvPoint.Dgrad"/> with the bias over its output channels, its input gradient <see cref="ConvPoint.Forward"/>,
    /// its weight gradient <see cref="ConvPoint.Wgrad"/>.</summary>
    [TestCase(5, 1, 7, 3, true, MathMode.Tf32)]
    [TestCase(3, 3, 16, 4, false, MathMode.StrictFp32)]
    [TestCase(4, 4, 5, 5, true, MathMode.StrictFp32)]
    [TestCase(9, 2, 6, 4, true, MathMode.Tf32)]
    public void PointConvTranspose_MatchesReference(int b, int ic, int oc, int k, bool bias, MathMode mode)
    {
        var shape = new ConvTranspose2dShape(b, ic, 1, 1, oc, k, k);
        Assert.That(ConvLaunch.PointFits(ConvLaunch.Geometry.Of(shape.AsConv)), Is.True);
        RunTranspose(shape, bias, mode, ConvAlgorithm.ImplicitGemm);
    }

    private void RunConv(Conv2dShape shape, bool hasBias, MathMode mode, ConvAlgorithm algorithm, long? maxMacs = null)
    {
        SkipIfLarge(shape.MacCount, algorithm, maxMacs);
        var expected = algorithm == ConvAlgorithm.Direct ? MathMode.StrictFp32 : mode;
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
        Conv2d.Forward(launcher, shape, dx.ReadOnly, dw.ReadOnly, hasBias ? db.ReadOnly : null, dy.View, fws.View, mode, algorithm);
        using var pws = Poisoned(Conv2d.BackwardInputWorkspaceElements(launcher, shape, mode));
        Conv2d.BackwardInput(launcher, shape, dg.ReadOnly, dw.ReadOnly, dgx.View, pws.View, mode, algorithm);
        Conv2d.BackwardWeight(launcher, shape, dx.ReadOnly, dg.ReadOnly, dgw.View, dgb.View, ws.View, mode, algorithm);
        double[] xd = ConvReference.ToDouble(x), wd = ConvReference.ToDouble(wt), gd = ConvReference.ToDouble(g);
        Compare("forward", Download(dy, shape.OutputElements), ConvReference.Conv2dForward(shape, xd, wd, hasBias ? ConvReference.ToDouble(bias) : null), expected);
        Compare("input gradient", Download(dgx, shape.InputElements), ConvReference.Conv2dBackwardInput(shape, gd, wd), expected);
        Compare("weight gradient", Download(dgw, shape.WeightElements), ConvReference.Conv2dBackwardWeight(shape, xd, gd), expected);
        Compare("bias gradient", Download(dgb, shape.OutChannels), ConvReference.BiasGrad(shape.Batch, shape.OutChannels, shape.OutHeight * shape.OutWidth, gd), MathMode.StrictFp32);
    }

    private void RunTranspose(ConvTranspose2dShape shape, bool hasBias, MathMode mode, ConvAlgorithm algorithm, long? maxMacs = null)
    {
        SkipIfLarge(shape.MacCount, algorithm, maxMacs);
        var expected = algorithm == ConvAlgorithm.Direct ? MathMode.StrictFp32 : mode;
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
        using var pws = Poisoned(ConvTranspose2d.ForwardWorkspaceElements(launcher, shape, mode));
        ConvTranspose2d.Forward(launcher, shape, dx.ReadOnly, dw.ReadOnly, hasBias ? db.ReadOnly : null, dy.View, pws.View, mode, algorithm);
        using var bws = Poisoned(ConvTranspose2d.BackwardInputWorkspaceElements(shape));
        ConvTranspose2d.BackwardInput(launcher, shape, dg.ReadOnly, dw.ReadOnly, dgx.View, bws.View, mode, algorithm);
        ConvTranspose2d.BackwardWeight(launcher, shape, dx.ReadOnly, dg.ReadOnly, dgw.View, dgb.View, ws.View, mode, algorithm);
        double[] xd = ConvReference.ToDouble(x), wd = ConvReference.ToDouble(wt), gd = ConvReference.ToDouble(g);
        Compare("forward", Download(dy, shape.OutputElements), ConvReference.ConvTranspose2dForward(shape, xd, wd, hasBias ? ConvReference.ToDouble(bias) : null), expected);
        Compare("input gradient", Download(dgx, shape.InputElements), ConvReference.ConvTranspose2dBackwardInput(shape, gd, wd), expected);
        Compare("weight gradient", Download(dgw, shape.WeightElements), ConvReference.ConvTranspose2dBackwardWeight(shape, xd, gd), expected);
        Compare("bias gradient", Download(dgb, shape.OutChannels), ConvReference.BiasGrad(shape.Batch, shape.OutChannels, shape.OutHeight * shape.OutWidth, gd), MathMode.StrictFp32);
    }
}

[TestFixture]
public sealed class CpuConvOps : ConvOpsSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();

    protected override long MaxMacs => 40_000;

    protected override long MaxDirectMacs => 50_000_000;
}

[TestFixture]
public sealed class CpuDeterministicConvOps : ConvOpsSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);

    protected override long MaxMacs => 10_000;

    protected override long MaxDirectMacs => 50_000_000;
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
