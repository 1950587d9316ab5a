using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Kernels.Conv;
using GanEngine.Ops.Elementwise;

namespace GanEngine.Ops;

/// <summary>
/// Shape of a 2-D convolution (PyTorch's <c>conv2d</c>: NCHW, weight (out, in, kh, kw), dilation 1,
/// groups 1). Output size floor((H + 2 pad - kh) / stride) + 1.
/// </summary>
/// <remarks>Current limits (checked by <see cref="Validate"/>): kernel 1-7, strideH == strideW and padH == padW
/// (the kernels take one stride and one padding), every tensor under 2^31 elements.</remarks>
public readonly record struct Conv2dShape(int Batch, int InChannels, int Height, int Width, int OutChannels,
    int KernelH, int KernelW, int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0)
{
    public int OutHeight => ((Height + (2 * PadH) - KernelH) / StrideH) + 1;
    public int OutWidth => ((Width + (2 * PadW) - KernelW) / StrideW) + 1;
    public long InputElements => (long)Batch * InChannels * Height * Width;
    public long OutputElements => (long)Batch * OutChannels * OutHeight * OutWidth;
    public long WeightElements => (long)OutChannels * InChannels * KernelH * KernelW;
    /// <summary>Multiply-adds of the forward pass (each backward pass has as many).</summary>
    public long MacCount => OutputElements * InChannels * KernelH * KernelW;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        static void Positive(int v, string name)
        {
            if (v <= 0)
            {
                throw new ArgumentException($"{name} must be positive, got {v}", name);
            }
        }
        Positive(Batch, nameof(Batch));
        Positive(InChannels, nameof(InChannels));
        Positive(Height, nameof(Height));
        Positive(Width, nameof(Width));
        Positive(OutChannels, nameof(OutChannels));
        Positive(StrideH, nameof(StrideH));
        Positive(StrideW, nameof(StrideW));
        if (KernelH is < 1 or > 7)
        {
            throw new ArgumentException($"KernelH must be 1-7, got {KernelH}", nameof(KernelH));
        }
        if (KernelW is < 1 or > 7)
        {
            throw new ArgumentException($"KernelW must be 1-7, got {KernelW}", nameof(KernelW));
        }
        if (PadH < 0 || PadW < 0)
        {
            throw new ArgumentException($"padding must be >= 0, got ({PadH}, {PadW})", PadH < 0 ? nameof(PadH) : nameof(PadW));
        }
        if (StrideH != StrideW)
        {
            throw new ArgumentException($"StrideW must equal StrideH (not supported yet), got ({StrideH}, {StrideW})", nameof(StrideW));
        }
        if (PadH != PadW)
        {
            throw new ArgumentException($"PadW must equal PadH (not supported yet), got ({PadH}, {PadW})", nameof(PadW));
        }
        if (Height + (2 * PadH) < KernelH)
        {
            throw new ArgumentException($"Height {Height} + 2 * padding {PadH} is smaller than the kernel {KernelH}", nameof(Height));
        }
        if (Width + (2 * PadW) < KernelW)
        {
            throw new ArgumentException($"Width {Width} + 2 * padding {PadW} is smaller than the kernel {KernelW}", nameof(Width));
        }
        if (InputElements > int.MaxValue || OutputElements > int.MaxValue || WeightElements > int.MaxValue)
        {
            throw new ArgumentException("a tensor has 2^31 elements or more", nameof(Batch));
        }
    }
}

/// <summary>
/// 2-D convolution: forward, input gradient, weight and bias gradients, as implicit GEMM (<see cref="ConvImplicitGemm"/>)
/// or direct loops (<see cref="ConvDirect"/>), chosen by the optional <see cref="ConvAlgorithm"/> (default
/// <see cref="ConvAlgorithm.Auto"/>: direct on the CPU accelerator, implicit GEMM elsewhere; see <see cref="ConvSettings"/>).
/// Raw ops: views and shapes in, no allocation, no host synchronisation, launches only on the given
/// launcher. Outputs are overwritten (not accumulated). Implicit GEMM: <see cref="MathMode.Tf32"/> uses tensor cores (operands
/// rounded to TF32, FP32 accumulation) like cuDNN's default; <see cref="MathMode.StrictFp32"/> FP32 FMA. Direct always
/// computes in FP32: on the CPU accelerator in Auto mode TF32 is not emulated for convolutions (an explicit
/// <see cref="ConvAlgorithm.ImplicitGemm"/> still emulates it).
/// </summary>
public static class Conv2d
{
    /// <summary>output[n, o, y, x] = bias[o] + sum input[n, i, y s - p + ky, x s - p + kx] weight[o, i, ky, kx].</summary>
    public static void Forward(IKernelLauncher launcher, in Conv2dShape shape, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto) =>
        Forward(launcher, shape, input, weight, bias, output, null, mode, algorithm);

    /// <summary>Floats of workspace the <see cref="Forward(IKernelLauncher, in Conv2dShape, ReadOnlyView{float}, ReadOnlyView{float}, ReadOnlyView{float}?, ArrayView{float}, ArrayView{float}?, MathMode, ConvAlgorithm, FusedActivation, float)"/>
    /// overload can use (0: none): shapes with few output tiles and a long reduction (1x1 outputs) are split over the
    /// reduction into it and summed in order (deterministic). A function of the shape only.</summary>
    public static long ForwardWorkspaceElements(in Conv2dShape shape) => ConvLaunch.ForwardWorkspace(ConvLaunch.Geometry.Of(shape));

    /// <summary>Forward with a workspace of <see cref="ForwardWorkspaceElements"/> floats (null or too small: no split, same result;
    /// <see cref="ConvAlgorithm.Direct"/> does not use it), optionally followed by <paramref name="activation"/>
    /// (<c>F.leaky_relu(conv, negativeSlope)</c> / <c>F.relu</c>): fused into the kernel's epilogue where the kernel has one (the
    /// narrow-channel forward: DCGAN's first layer), else one in-place pass after it. Same values either way.</summary>
    public static void Forward(IKernelLauncher launcher, in Conv2dShape shape, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output, ArrayView<float>? workspace, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto,
        FusedActivation activation = FusedActivation.None, float negativeSlope = 0.01f)
    {
        shape.Validate();
        Check(input, shape.InputElements, nameof(input));
        Check(weight, shape.WeightElements, nameof(weight));
        Check(output, shape.OutputElements, nameof(output));
        if (bias is { } b)
        {
            Check(b, shape.OutChannels, nameof(bias));
        }
        if (ConvSettings.Resolve(launcher, algorithm) == ConvAlgorithm.Direct)
        {
            ConvLaunch.DirectForward(launcher, ConvLaunch.Geometry.Of(shape), input, weight, bias, output);
            ElementwiseOps.ActivateInPlace(launcher, activation, negativeSlope, output, (int)shape.OutputElements);
            return;
        }
        ConvLaunch.Forward(launcher, mode, ConvLaunch.Geometry.Of(shape), input, weight, bias, output, workspace, activation, negativeSlope);
    }

    /// <summary>Forward with <see cref="MathSettings.Default"/>.</summary>
    public static void Forward(IKernelLauncher launcher, in Conv2dShape shape, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output) => Forward(launcher, shape, input, weight, bias, output, MathSettings.Default);

    /// <summary>Input gradient (dgrad): gradInput = conv_transpose(gradOutput, weight), split by stride phase.</summary>
    public static void BackwardInput(IKernelLauncher launcher, in Conv2dShape shape, ReadOnlyView<float> gradOutput, ReadOnlyView<float> weight,
        ArrayView<float> gradInput, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto) =>
        BackwardInput(launcher, shape, gradOutput, weight, gradInput, null, mode, algorithm);

    /// <summary>Floats of workspace the workspace overload of <see cref="BackwardInput(IKernelLauncher, in Conv2dShape, ReadOnlyView{float}, ReadOnlyView{float}, ArrayView{float}, ArrayView{float}?, MathMode, ConvAlgorithm)"/>
    /// uses on <paramref name="launcher"/> (0: none): the weights packed for 16-byte copies where the warpgroup kernel runs, or the
    /// planes of a split over K where the plan splits the <c>mma.sync</c> kernel (never both).</summary>
    public static long BackwardInputWorkspaceElements(IKernelLauncher launcher, in Conv2dShape shape, MathMode mode) =>
        ConvLaunch.DgradWorkspace(launcher, mode, ConvLaunch.Geometry.Of(shape));

    /// <summary>Input gradient with a workspace of <see cref="BackwardInputWorkspaceElements"/> floats (null or too small: the
    /// weights are read in place and K is not split; the same result up to the summation order of a split).</summary>
    public static void BackwardInput(IKernelLauncher launcher, in Conv2dShape shape, ReadOnlyView<float> gradOutput, ReadOnlyView<float> weight,
        ArrayView<float> gradInput, ArrayView<float>? workspace, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        shape.Validate();
        Check(gradOutput, shape.OutputElements, nameof(gradOutput));
        Check(weight, shape.WeightElements, nameof(weight));
        Check(gradInput, shape.InputElements, nameof(gradInput));
        if (ConvSettings.Resolve(launcher, algorithm) == ConvAlgorithm.Direct)
        {
            ConvLaunch.DirectDgrad(launcher, ConvLaunch.Geometry.Of(shape), gradOutput, weight, null, gradInput);
            return;
        }
        ConvLaunch.Dgrad(launcher, mode, ConvLaunch.Geometry.Of(shape), gradOutput, weight, null, gradInput, workspace);
    }

    /// <summary>Floats of workspace <see cref="BackwardWeight"/> needs for this shape (0: none). A function of the shape only,
    /// so the split (and the summation order) does not depend on the device.</summary>
    public static long BackwardWeightWorkspaceElements(in Conv2dShape shape) => ConvLaunch.WgradWorkspace(ConvLaunch.Geometry.Of(shape));

    /// <summary>Weight gradient (wgrad) gradWeight[o, i, ky, kx] = sum over n, y, x of gradOutput[n, o, y, x] input[n, i, ...],
    /// and optionally gradBias[o] = sum over n, y, x of gradOutput. Deterministic: the reduction over the batch is split into
    /// a fixed number of chunks written to <paramref name="workspace"/> (at least <see cref="BackwardWeightWorkspaceElements"/>
    /// floats; may be null when that is 0) and summed in order. <see cref="ConvAlgorithm.Direct"/> sums each element in one thread
    /// and needs no workspace.</summary>
    public static void BackwardWeight(IKernelLauncher launcher, in Conv2dShape shape, ReadOnlyView<float> input, ReadOnlyView<float> gradOutput,
        ArrayView<float> gradWeight, ArrayView<float>? gradBias, ArrayView<float>? workspace, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        shape.Validate();
        Check(input, shape.InputElements, nameof(input));
        Check(gradOutput, shape.OutputElements, nameof(gradOutput));
        Check(gradWeight, shape.WeightElements, nameof(gradWeight));
        var g = ConvLaunch.Geometry.Of(shape);
        var algo = ConvSettings.Resolve(launcher, algorithm);
        if (algo == ConvAlgorithm.Direct)
        {
            ConvLaunch.DirectWgrad(launcher, g, gradOutput, input, gradWeight);
        }
        else
        {
            ConvLaunch.Wgrad(launcher, mode, g, gradOutput, input, gradWeight, workspace);
        }
        if (gradBias is { } gb)
        {
            Check(gb, shape.OutChannels, nameof(gradBias));
            ConvLaunch.BiasGrad(launcher, shape.Batch, shape.OutChannels, shape.OutHeight * shape.OutWidth, gradOutput, gb, algo);
        }
    }

    internal static void Check(ReadOnlyView<float> view, long needed, string name)
    {
        if (view.Length < needed)
        {
            throw new ArgumentException($"{name} has {view.Length} elements, the shape needs {needed}", name);
        }
    }

    internal static void Check(ArrayView<float> view, long needed, string name) => Check(view.AsReadOnly(), needed, name);
}

/// <summary>Tile choice and launches shared by <see cref="Conv2d"/> and <see cref="ConvTranspose2d"/>.</summary>
internal static class ConvLaunch
{
    // TF32: 128 x BN block, 4 warps, BK 32 (TensorCoreGemmTiled's default is 128 x 128). FP32: SimtGemm's 128 x 128 x 8, 8 x 8.
    private const int Bk = 32;
    private const int Tile = 128;
    private const int TargetBlocks = 264;      // wgrad split target: 2 blocks per SM of an H100/H200 (one wave)
    private const int MinSplitK = 512;
    private const int NarrowMinSplitK = 64;

    /// <summary>Conv geometry: (c, h, w) the convolution's input side, (oc, oh, ow) its output side.</summary>
    internal readonly record struct Geometry(int Batch, int C, int H, int W, int Oc, int Oh, int Ow, int K, int KW, int S, int Pad)
    {
        public static Geometry Of(in Conv2dShape s) => new(s.Batch, s.InChannels, s.Height, s.Width, s.OutChannels, s.OutHeight, s.OutWidth,
            s.KernelH, s.KernelW, s.StrideH, s.PadH);

        /// <summary>The dgrad form is a plain GEMM (MODE 3): 1x1 small side, kernel covering the whole big side.</summary>
        public bool DgradIsGemm => Oh == 1 && Ow == 1 && Pad == 0 && K == H && KW == W;
    }

    /// <summary>TF32 warp layout (WM, WN, TM, TN): block tile (16 WM TM) x (8 WN TN). Narrow N tiles for 3-channel sides
    /// (a 128-wide tile would run at 2% use) and 128 x 64 when 128 x 128 tiles would not give every SM one block (run 2: 128 x 64 at 256 blocks was 1.4x slower).</summary>
    private static (int Wm, int Wn, int Tm, int Tn) TileFor(int n, long blocks128)
    {
        if (n <= 16)
        {
            return (4, 1, 2, 2);
        }
        if (n <= 64 || blocks128 < TargetBlocks / 2)
        {
            return (2, 2, 4, 4);
        }
        return (2, 2, 4, 8);
    }

    private static int TileN((int Wm, int Wn, int Tm, int Tn) t) => t.Wn * t.Tn * 8;

    private static int MaxShared(IKernelLauncher launcher) => launcher switch
    {
        Accelerator a => a.Info.MaxSharedMemoryPerBlock,
        AcceleratorStream s => s.Accelerator.Info.MaxSharedMemoryPerBlock,
        _ => int.MaxValue,
    };

    /// <summary>Compile the geometry in (one kernel variant per layer shape): CUDA (NVRTC, cached) and the CPU accelerator
    /// (no build). Not on OpenCL, where every variant is a program build.</summary>
    private static int SpecializeGeometry(IKernelLauncher launcher) => launcher switch
    {
        Accelerator a => a.Info.Kind == AcceleratorKind.OpenCL ? 0 : 1,
        AcceleratorStream s => s.Accelerator.Info.Kind == AcceleratorKind.OpenCL ? 0 : 1,
        _ => 0,
    };

    /// <summary>Launch plan of one implicit GEMM: tile (<see cref="Tiles"/> index, or <see cref="DirectTile"/>: the direct kernel,
    /// MODE 1 only) and split-K count (MODES 0 and 2; 1 elsewhere); <paramref name="Ring"/> the K-tile staging where the fast gather
    /// applies (0 registers, 2-8 a cp.async ring of that many stages; -1: <see cref="ConvSettings.AsyncRing"/>).</summary>
    internal readonly record struct Plan(int Tile, int Splits, int Ring = -1);

    /// <summary>TF32 warp layouts (WM, WN, TM, TN): block tile (16 WM TM) x (8 WN TN): 128x128, 128x64, 128x32, 128x16 (4 warps),
    /// and 256x128 (8 warps; only where <see cref="WideFits"/>).</summary>
    internal static readonly (int Wm, int Wn, int Tm, int Tn)[] Tiles = [(2, 2, 4, 8), (2, 2, 4, 4), (4, 1, 2, 4), (4, 1, 2, 2), (4, 2, 4, 8)];

    /// <summary><see cref="Plan.Tile"/> of the 256x128 tile.</summary>
    internal const int WideTile = 4;

    /// <summary>Whether the 256x128 tile (8 warps) can run kernel mode 0, 1 or 2 of <paramref name="g"/>: it exists only in the fast
    /// gather of <see cref="ConvImplicitGemm.Tf32"/> (geometry compiled in, K tiles of whole kernel rows, phase taps resp. output rows).</summary>
    internal static bool WideFits(int kernelMode, in Geometry g) =>
        FastGatherFits(kernelMode, g, 128) && (kernelMode != 2 || g.C * g.K * g.KW >= 128);

    /// <summary>Whether <see cref="ConvImplicitGemm.Tf32"/> takes its fast gather (the condition <c>fast</c> in the kernel, given that
    /// the geometry is compiled in): MODE 0 K tiles of whole kernel rows, MODE 1 whole phase-tap groups, MODE 2 (N 128 wide) K tiles
    /// of whole output rows or images. Only there can the cp.async ring (<see cref="ConvSettings.AsyncRing"/>) fill the stages.</summary>
    internal static bool FastGatherFits(int kernelMode, in Geometry g, int tileN)
    {
        if (kernelMode == 0)
        {
            return 8 % g.KW == 0 && g.C % (Bk / g.KW) == 0;
        }
        if (kernelMode == 2)
        {
            int ohw = g.Oh * g.Ow;
            return tileN == 128 && g.Oh <= 32 && g.Ow <= 32 &&
                ((ohw % Bk == 0 && Bk % g.Ow == 0) || Bk % ohw == 0) && (ohw % Bk == 0 ? Bk : ohw) % 8 == 0;
        }
        int taps = ((g.K + g.S - 1) / g.S) * ((g.KW + g.S - 1) / g.S);
        return kernelMode == 1 && !g.DgradIsGemm && 8 % taps == 0 && g.Oc * taps % Bk == 0;
    }

    /// <summary><see cref="Plan.Tile"/> of the direct kernel (<see cref="ConvDirect"/>, FP32) for the dgrad form.</summary>
    internal const int DirectTile = 9;

    /// <summary><see cref="Plan.Tile"/> of <see cref="ConvNarrow.Dgrad"/> (dgrad form, big side of at most 4 channels):
    /// NarrowTile + b runs 2^b images per thread (b = 0, 1, 2).</summary>
    internal const int NarrowTile = 10;

    /// <summary>Whether <see cref="ConvNarrow.Dgrad"/> takes this dgrad form: at most 4 channels on the big side, at most 16 taps
    /// per stride phase (a 32-bit tap mask, registers), its weight table within 48 KiB of shared memory.</summary>
    internal static bool NarrowFits(in Geometry g) =>
        !g.DgradIsGemm && g.C <= 4 && ((g.K + g.S - 1) / g.S) * ((g.KW + g.S - 1) / g.S) <= 16 && (long)g.Oc * ConvNarrow.WeightStride(g.C, g.K, g.KW, g.S) * sizeof(float) <= 48 * 1024;

    /// <summary>Whether the point kernels (<see cref="ConvPoint"/>, <see cref="ConvPointLaunch"/>) take all passes of this shape: 1x1
    /// output, kernel covering the whole input, at most 4 output channels. They ignore plans and need no workspace.</summary>
    internal static bool PointFits(in Geometry g) => g.DgradIsGemm && g.Oc <= ConvPointLaunch.MaxChannels;

    /// <summary>Set by the tuning sweep (tools/Bench convtune) to try plans; null in normal use.</summary>
    internal static Func<int, Geometry, Plan?>? PlanOverride { get; set; }

    /// <summary>The plan of kernel mode <paramref name="kernelMode"/> (0 forward form, 1 dgrad form, 2 wgrad; MODE 3 is asked as 1)
    /// for <paramref name="g"/>: the override, else the tuned table (<see cref="ConvTuning"/>), else the heuristic. A function of the
    /// shape only (workspace sizes and summation order do not depend on the device).</summary>
    internal static Plan PlanFor(int kernelMode, in Geometry g)
    {
        if (PlanOverride?.Invoke(kernelMode, g) is { } forced)
        {
            return forced;
        }
        if (ConvTuning.Lookup(kernelMode, g) is { } tuned)
        {
            return tuned;
        }
        return HeuristicPlan(kernelMode, g);
    }

    internal static Plan HeuristicPlan(int kernelMode, in Geometry g)
    {
        var (m, n, _, z) = GemmShape(kernelMode, g, 1);
        // The narrow kernel needs many threads (one per big-side pixel): measured at batch 256 only (65536 phase pixels x 4 phases).
        if (kernelMode == 1 && NarrowFits(g) && (long)g.Batch * g.H * g.W >= 1 << 18)
        {
            return new Plan(NarrowTile, 1);
        }
        if (kernelMode == 0 && NarrowForwardFits(g))
        {
            return NarrowForwardHeuristic(g);
        }
        if (ConvSettings.WavePlans && kernelMode != 2 && WavePlan(kernelMode, g) is { } wave)
        {
            return wave;
        }
        if (kernelMode == 2)
        {
            var tw = TileFor(n, long.MaxValue);
            return new Plan(Array.IndexOf(Tiles, tw), HeuristicWgradSplits(g, TileN(tw)));
        }
        var t = TileFor(n, (long)((n + Tile - 1) / Tile) * ((m + Tile - 1) / Tile) * z);
        return new Plan(Array.IndexOf(Tiles, t), kernelMode == 0 ? HeuristicForwardSplits(g, t) : 1);
    }

    /// <summary>Blocks of the 256x128 tile (one per SM) in one wave of an H100/H200 (132 SMs), and the fewest worth its launch.</summary>
    private const int WaveBlocks = 132, WideMinBlocks = 64;

    /// <summary>The plan rule of <see cref="ConvSettings.WavePlans"/> for the forward and dgrad forms, or null to fall back to the
    /// earlier heuristic. It generalizes the H200 sweeps (docs/benchmarks-notes-conv.md, "Plans for any width") to every width:
    /// the 256x128 tile wherever it gets at least half a wave of blocks, the forward form splitting K by the largest power of two
    /// that keeps them within one wave (a block more than a wave costs a second one: 144 blocks ran 1.37x slower than 96);
    /// otherwise, in the forward form with a long K, 128x128 tiles split toward two waves.</summary>
    private static Plan? WavePlan(int kernelMode, in Geometry g)
    {
        if (kernelMode == 1 && g.DgradIsGemm)
        {
            return null;
        }
        var (m, n, k, z) = GemmShape(kernelMode, g, 1);
        if (n <= 64)
        {
            return null;
        }
        bool splittable = kernelMode == 0 && k >= 2 * MinSplitKForward;
        if (WideFits(kernelMode, g))
        {
            long wide = (long)((n + ConvImplicitGemm.WgColumns - 1) / ConvImplicitGemm.WgColumns) * ((m + ConvImplicitGemm.WgRows - 1) / ConvImplicitGemm.WgRows) * z;
            int splits = splittable ? PowerOfTwoSplits(wide, k, WaveBlocks) : 1;
            if (wide * splits >= WideMinBlocks)
            {
                return new Plan(WideTile, splits);
            }
        }
        long blocks = (long)((n + Tile - 1) / Tile) * ((m + Tile - 1) / Tile);
        if (kernelMode == 1)
        {
            // 128x128 tiles, K split by powers of two within two waves of 4-warp blocks (batch-64 conv3 at four widths: 128x128/s4
            // 17-31% faster than the unsplit 128x64 tile, 128x64/s2 2-8%; 128x32 tiles slower, session 12 runs 6-7).
            int dgradSplits = PowerOfTwoSplits(blocks * z, k, TargetBlocks);
            return dgradSplits > 1 ? new Plan(0, dgradSplits) : null;
        }
        return splittable && blocks < TargetBlocks ? new Plan(0, (int)Math.Max(1, Math.Min(TargetBlocks / blocks, k / MinSplitKForward))) : null;
    }

    /// <summary>The largest power-of-two K split that keeps <paramref name="blocks"/> x splits within <paramref name="maxBlocks"/>
    /// and chunks of at least <see cref="MinSplitKForward"/>.</summary>
    private static int PowerOfTwoSplits(long blocks, int k, int maxBlocks)
    {
        int splits = 1;
        while (blocks * splits * 2 <= maxBlocks && k / (splits * 2) >= MinSplitKForward)
        {
            splits *= 2;
        }
        return splits;
    }

    /// <summary>(M, N, K, grid z) of a kernel mode (1 becomes 3 when <see cref="Geometry.DgradIsGemm"/>).</summary>
    internal static (int M, int N, int K, int Z) GemmShape(int kernelMode, in Geometry g, int splits)
    {
        int s = g.S;
        if (kernelMode == 1 && g.DgradIsGemm)
        {
            kernelMode = 3;
        }
        return kernelMode switch
        {
            0 => (g.Batch * g.Oh * g.Ow, g.Oc, g.C * g.K * g.KW, splits),
            1 => (g.Batch * ((g.H + s - 1) / s) * ((g.W + s - 1) / s), g.C, g.Oc * ((g.K + s - 1) / s) * ((g.KW + s - 1) / s), s * s),
            3 => (g.Batch, g.C * g.K * g.KW, g.Oc, 1),
            _ => (g.Oc, g.C * g.K * g.KW, g.Batch * g.Oh * g.Ow, splits),
        };
    }

    internal static (int Splits, int KSplit) WgradSplit(in Geometry g)
    {
        int k = g.Batch * g.Oh * g.Ow;
        int splits = PlanFor(2, g).Splits;
        return SplitOf(k, splits);
    }

    /// <summary>Chunks of K for a requested split count: a multiple of <see cref="Bk"/>, the count recomputed from it.</summary>
    private static (int Splits, int KSplit) SplitOf(int k, int splits)
    {
        splits = Math.Clamp(splits, 1, Math.Max(1, (k + Bk - 1) / Bk));
        int kSplit = (((k + splits - 1) / splits) + Bk - 1) / Bk * Bk;
        splits = (k + kSplit - 1) / kSplit;
        return (splits, kSplit);
    }

    /// <summary>The heuristic wgrad split (before the tuned table): at most one wave of blocks, chunks of at least MinSplitK.</summary>
    private static int HeuristicWgradSplits(in Geometry g, int bn)
    {
        int k = g.Batch * g.Oh * g.Ow;
        int tiles = ((g.Oc + Tile - 1) / Tile) * ((g.C * g.K * g.KW + bn - 1) / bn);
        // At most one wave of blocks (a partial second wave would double the time), chunks of at least MinSplitK; under the wave
        // rule, a gradient of one or two tiles (a 3-channel side) takes chunks down to NarrowMinSplitK, as the sweeps chose for
        // conv1 at both batches (s256: 0.0394 vs 0.0511 ms at batch 256, 0.0209 vs 0.0488 at 64).
        int minChunk = ConvSettings.WavePlans && tiles <= 2 ? NarrowMinSplitK : MinSplitK;
        return Math.Max(1, Math.Min(TargetBlocks / tiles, k / minChunk));
    }

    private const int MinSplitKForward = 256;

    /// <summary>Split over K of the forward form: only when its blocks would fill less than half the GPU and K is long
    /// (DCGAN's 1x1-output input gradient: M = batch, N = 128, K = 8192). A function of the shape only.</summary>
    internal static (int Splits, int KSplit) ForwardSplit(in Geometry g) => ForwardSplit(g, PlanFor(0, g));

    private static (int Splits, int KSplit) ForwardSplit(in Geometry g, Plan plan) => SplitOf(g.C * g.K * g.KW, plan.Splits);

    /// <summary>The heuristic forward split (before the tuned table).</summary>
    private static int HeuristicForwardSplits(in Geometry g, (int Wm, int Wn, int Tm, int Tn) t)
    {
        int m = g.Batch * g.Oh * g.Ow, n = g.Oc, k = g.C * g.K * g.KW;
        long blocks = (long)((n + TileN(t) - 1) / TileN(t)) * ((m + (t.Wm * t.Tm * 16) - 1) / (t.Wm * t.Tm * 16));
        if (blocks * 2 >= TargetBlocks || k < 2 * MinSplitKForward)
        {
            return 1;
        }
        return (int)Math.Max(1, Math.Min(TargetBlocks / blocks, k / MinSplitKForward));
    }

    internal static long ForwardWorkspace(in Geometry g)
    {
        if (PointFits(g))
        {
            return 0;
        }
        var (splits, _) = ForwardSplit(g);
        return splits > 1 ? (long)splits * g.Batch * g.Oc * g.Oh * g.Ow : 0;
    }

    /// <summary>The forward form (MODE 0), split over K into <paramref name="workspace"/> when <see cref="ForwardSplit(in Geometry)"/> says so
    /// and the workspace is large enough; otherwise unsplit.</summary>
    internal static void Forward(IKernelLauncher launcher, MathMode mode, in Geometry g, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output, ArrayView<float>? workspace,
        FusedActivation activation = FusedActivation.None, float negativeSlope = 0f)
    {
        long length = (long)g.Batch * g.Oc * g.Oh * g.Ow;
        if (PointFits(g))
        {
            ConvPointLaunch.Forward(launcher, g, input, weight, bias, output);
            ElementwiseOps.ActivateInPlace(launcher, activation, negativeSlope, output, (int)length);
            return;
        }
        var plan = PlanFor(0, g);
        if (NarrowForwardPlan(g, plan) is int rows)
        {
            NarrowForward(launcher, g, rows, input, weight, bias, output, activation, negativeSlope);
            return;
        }
        var (splits, kSplit) = ForwardSplit(g, plan);
        if (splits == 1 || workspace is not { } ws || ws.Length < splits * length)
        {
            Run(launcher, mode, 0, g, input, weight, bias, output, 1, 0);
        }
        else
        {
            Run(launcher, mode, 0, g, input, weight, bias, ws, splits, kSplit);
            ConvImplicitGemm.LaunchSumSplits(launcher, new LaunchConfig(new Dim3((int)((length + 255) / 256)), new Dim3(256)), (int)length, splits, ws, output);
        }
        ElementwiseOps.ActivateInPlace(launcher, activation, negativeSlope, output, (int)length);
    }

    internal static long WgradWorkspace(in Geometry g)
    {
        if (PointFits(g))
        {
            return 0;
        }
        var (splits, _) = WgradSplit(g);
        return splits > 1 ? (long)splits * g.Oc * g.C * g.K * g.KW : 0;
    }

    internal static void Wgrad(IKernelLauncher launcher, MathMode mode, in Geometry g, ReadOnlyView<float> gradOut, ReadOnlyView<float> input,
        ArrayView<float> gradWeight, ArrayView<float>? workspace)
    {
        if (PointFits(g))
        {
            ConvPointLaunch.Wgrad(launcher, g, gradOut, input, gradWeight);
            return;
        }
        var (splits, kSplit) = WgradSplit(g);
        if (splits == 1)
        {
            Run(launcher, mode, 2, g, gradOut, input, null, gradWeight, 1, kSplit);
            return;
        }
        long need = (long)splits * g.Oc * g.C * g.K * g.KW;
        if (workspace is not { } ws || ws.Length < need)
        {
            throw new ArgumentException($"the weight gradient needs a workspace of {need} floats", nameof(workspace));
        }
        Run(launcher, mode, 2, g, gradOut, input, null, ws, splits, kSplit);
        int length = g.Oc * g.C * g.K * g.KW;
        ConvImplicitGemm.LaunchSumSplits(launcher, new LaunchConfig(new Dim3((length + 255) / 256), new Dim3(256)), length, splits, ws, gradWeight);
    }

    /// <summary>Bias gradient: one block-reduction per channel (<see cref="ConvAlgorithm.ImplicitGemm"/>) or one thread per channel
    /// (<see cref="ConvAlgorithm.Direct"/>; <see cref="ConvAlgorithm.Auto"/> is resolved on <paramref name="launcher"/>).</summary>
    internal static void BiasGrad(IKernelLauncher launcher, int batch, int channels, int pixels, ReadOnlyView<float> gradOut, ArrayView<float> gradBias,
        ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        if (ConvSettings.Resolve(launcher, algorithm) == ConvAlgorithm.Direct)
        {
            ConvDirect.LaunchBiasGrad(launcher, DirectConfig(channels), batch, channels, pixels, gradOut, gradBias);
            return;
        }
        ConvImplicitGemm.LaunchBiasGrad(launcher, new LaunchConfig(new Dim3(channels), new Dim3(256)), batch, channels, pixels, gradOut, gradBias);
    }

    // ---- direct algorithm (ConvDirect): one thread per output pixel and 4 channels, grid-stride loops -------------------

    // 64 threads: the smallest launches (wgrad of a 1-channel layer: 128 threads) still make two blocks for two cores.
    private const int DirectBlock = 64;

    private static int DirectGroups(int channels) => (channels + ConvDirect.ChannelsPerThread - 1) / ConvDirect.ChannelsPerThread;

    /// <summary>Enough blocks for one thread per element, at most <see cref="DirectMaxBlocks"/> (the kernels loop over the rest).</summary>
    private static LaunchConfig DirectConfig(long elements)
    {
        long blocks = Math.Clamp((elements + DirectBlock - 1) / DirectBlock, 1, DirectMaxBlocks);
        return new LaunchConfig(new Dim3((int)blocks), new Dim3(DirectBlock));
    }

    private const long DirectMaxBlocks = 65535;

    /// <summary>Forward form: output (batch, oc, oh, ow) from input (batch, c, h, w), plus bias[oc].</summary>
    internal static void DirectForward(IKernelLauncher launcher, in Geometry g, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output) =>
        ConvDirect.LaunchForward(launcher, DirectConfig((long)g.Batch * DirectGroups(g.Oc) * g.Oh * g.Ow),
            g.Batch, g.C, g.H, g.W, g.Oc, g.Oh, g.Ow, g.K, g.KW, g.S, g.Pad, bias.HasValue ? 1 : 0, input, weight, bias ?? weight, output);

    /// <summary>Dgrad form: output (batch, c, h, w) from the small side (batch, oc, oh, ow), plus bias[c] (transposed convolution).</summary>
    internal static void DirectDgrad(IKernelLauncher launcher, in Geometry g, ReadOnlyView<float> small, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output)
    {
        ConvDirect.LaunchDgrad(launcher, DirectConfig((long)g.Batch * DirectGroups(g.C) * g.H * g.W),
            g.Batch, g.C, g.H, g.W, g.Oc, g.Oh, g.Ow, g.K, g.KW, g.S, g.Pad, bias.HasValue ? 1 : 0, small, weight, bias ?? weight, output);
    }

    /// <summary>Wgrad form: gradWeight (oc, c, kh, kw) from the small side (batch, oc, oh, ow) and the big side (batch, c, h, w).</summary>
    internal static void DirectWgrad(IKernelLauncher launcher, in Geometry g, ReadOnlyView<float> small, ReadOnlyView<float> big, ArrayView<float> gradWeight) =>
        ConvDirect.LaunchWgrad(launcher, DirectConfig((long)DirectGroups(g.Oc) * g.C * g.K * g.KW),
            g.Batch, g.C, g.H, g.W, g.Oc, g.Oh, g.Ow, g.K, g.KW, g.S, g.Pad, small, big, gradWeight);

    /// <summary>Dgrad form through <see cref="ConvNarrow.Dgrad"/>: <paramref name="images"/> images per thread, 256 threads per block,
    /// grid y = stride phases; FP32 in either math mode (TF32 allows, not requires, reduced precision).</summary>
    internal static void NarrowDgrad(IKernelLauncher launcher, in Geometry g, int images, ReadOnlyView<float> small,
        ReadOnlyView<float> weight, ReadOnlyView<float>? bias, ArrayView<float> output)
    {
        int s = g.S;
        long threads = (long)((g.Batch + images - 1) / images) * ((g.H + s - 1) / s) * ((g.W + s - 1) / s);
        int shared = g.Oc * ConvNarrow.WeightStride(g.C, g.K, g.KW, s) * sizeof(float);
        var config = new LaunchConfig(new Dim3((int)((threads + 255) / 256), s * s), new Dim3(256), shared);
        ConvNarrow.LaunchDgrad(launcher, config, g.Batch, bias.HasValue ? 1 : 0, small, weight, bias ?? weight, output,
            g.C, g.K, g.KW, s, images, 8 / images, ((g.K + s - 1) / s) * ((g.KW + s - 1) / s),
            g.H, g.W, g.Oc, g.Oh, g.Ow, g.Pad);
    }

    /// <summary>Whether <see cref="ConvNarrow.Forward"/> takes this forward form: at most 4 channels on the big side, the chunk's
    /// weight table within 48 KiB of shared memory (OCB = <see cref="NarrowForwardChannels"/> output channels).</summary>
    internal static bool NarrowForwardFits(in Geometry g) =>
        g.C <= 4 && (long)NarrowForwardChannels * g.C * g.K * g.KW * sizeof(float) <= 48 * 1024;

    /// <summary>Output channels per thread of <see cref="ConvNarrow.Forward"/> (registers: this many times the rows per thread).</summary>
    internal const int NarrowForwardChannels = 16;

    /// <summary>Output rows per thread of <see cref="ConvNarrow.Forward"/> when <paramref name="plan"/> selects it for the forward
    /// form (<see cref="NarrowTile"/> + b: 2^b rows), else null.</summary>
    internal static int? NarrowForwardPlan(in Geometry g, Plan plan) =>
        plan.Tile is >= NarrowTile and <= NarrowTile + 2 && NarrowForwardFits(g) ? 1 << (plan.Tile - NarrowTile) : null;

    /// <summary>The heuristic plan of the narrow forward: 4 rows per thread (each weight read feeds 4 FMAs) while that leaves at
    /// least two blocks of 256 threads per SM of a 132-SM GPU, else fewer rows for more threads.</summary>
    private static Plan NarrowForwardHeuristic(in Geometry g)
    {
        long chunks = (g.Oc + NarrowForwardChannels - 1) / NarrowForwardChannels;
        for (int b = 2; b > 0; b--)
        {
            if ((long)g.Batch * ((g.Oh + (1 << b) - 1) >> b) * g.Ow * chunks >= (long)TargetBlocks * 256)
            {
                return new Plan(NarrowTile + b, 1);
            }
        }
        return new Plan(NarrowTile, 1);
    }

    /// <summary>Forward form through <see cref="ConvNarrow.Forward"/>: <paramref name="rows"/> output rows and
    /// <see cref="NarrowForwardChannels"/> output channels per thread, 256 threads per block, grid y = channel chunks; FP32 in either
    /// math mode; bias and <paramref name="activation"/> in the epilogue.</summary>
    internal static void NarrowForward(IKernelLauncher launcher, in Geometry g, int rows, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output, FusedActivation activation, float negativeSlope)
    {
        const int block = 256;
        long threads = (long)g.Batch * ((g.Oh + rows - 1) / rows) * g.Ow;
        int chunks = (g.Oc + NarrowForwardChannels - 1) / NarrowForwardChannels;
        int shared = NarrowForwardChannels * g.C * g.K * g.KW * sizeof(float);
        var config = new LaunchConfig(new Dim3((int)((threads + block - 1) / block), chunks), new Dim3(block), shared);
        ConvNarrow.LaunchForward(launcher, config, g.Batch, bias.HasValue ? 1 : 0, negativeSlope, input, weight, bias ?? weight, output,
            g.C, g.K, g.KW, g.S, rows, NarrowForwardChannels, (int)activation, g.H, g.W, g.Oc, g.Oh, g.Ow, g.Pad);
    }

    /// <summary>Whether a launch of kernel mode <paramref name="kernelMode"/> whose plan resolved to the 256x128 tile runs
    /// <see cref="ConvImplicitGemm.Tf32Wg"/> (warpgroup MMA): forward and dgrad forms (0, 1), geometry compiled in,
    /// <see cref="ConvSettings.UseWarpgroup"/>, and its shared memory available.</summary>
    private static bool WarpgroupFits(IKernelLauncher launcher, int kernelMode, int spec) =>
        kernelMode <= 1 && spec != 0 && ConvSettings.UseWarpgroup(launcher) && ConvImplicitGemm.Tf32WgSharedBytes(WarpgroupRing) <= MaxShared(launcher);

    private static int WarpgroupRing => ConvSettings.WarpgroupRing ? 1 : 0;

    /// <summary>Floats of the packed weights with which a dgrad-form launch (conv input gradient, transposed-conv forward) copies
    /// its weights 16 bytes at a time (<see cref="ConvImplicitGemm.PackDgradWeights"/>), or 0 where it would not use them (not the
    /// warpgroup kernel, no cp.async ring, <see cref="ConvSettings.WarpgroupVectorB"/> off).</summary>
    internal static long DgradPackFloats(IKernelLauncher launcher, MathMode mode, in Geometry g) =>
        mode == MathMode.Tf32 && WarpgroupVectorCopies && RunsWarpgroup(launcher, 1, g)
            ? ConvImplicitGemm.PackedDgradWeightFloats(g.C, g.Oc, g.K, g.KW, g.S) : 0;

    /// <summary>Workspace floats of the dgrad form (<see cref="Dgrad"/>): the warpgroup kernel's packed weights, or the planes
    /// of a K split of the <c>mma.sync</c> kernel (<see cref="DgradSplit"/>), or 0. The two never apply together.</summary>
    internal static long DgradWorkspace(IKernelLauncher launcher, MathMode mode, in Geometry g)
    {
        var (splits, _) = DgradSplit(launcher, mode, g);
        return splits > 1 ? splits * BigLength(g) : DgradPackFloats(launcher, mode, g);
    }

    private static long BigLength(in Geometry g) => (long)g.Batch * g.C * g.H * g.W;

    /// <summary>The K split of the dgrad form: the plan's count where the launch takes the <c>mma.sync</c> TF32 kernel (the
    /// only one that splits this form; the warpgroup, FP32 and narrow kernels do not), else (1, 0).</summary>
    internal static (int Splits, int KSplit) DgradSplit(IKernelLauncher launcher, MathMode mode, in Geometry g)
    {
        var plan = PlanFor(1, g);
        if (mode != MathMode.Tf32 || plan.Splits <= 1 || g.DgradIsGemm || PointFits(g) || plan.Tile is < 0 or >= WideTile)
        {
            return (1, 0);
        }
        var t = SpecializeGeometry(launcher) == 0 ? Tiles[0] : Tiles[plan.Tile];
        if (ConvImplicitGemm.Tf32SharedBytes(t.Wm, t.Wn, t.Tm, t.Tn, Bk) > MaxShared(launcher))
        {
            return (1, 0);
        }
        var (_, _, k, _) = GemmShape(1, g, 1);
        return SplitOf(k, plan.Splits);
    }

    /// <summary>The dgrad form (the convolution's input gradient, a transposed convolution's forward): split over K into
    /// <paramref name="workspace"/> and summed in order when <see cref="DgradSplit"/> says so and the workspace holds the planes,
    /// else one launch (the workspace then holds the warpgroup kernel's packed weights, if it takes them).</summary>
    internal static void Dgrad(IKernelLauncher launcher, MathMode mode, in Geometry g, ReadOnlyView<float> a, ReadOnlyView<float> b,
        ReadOnlyView<float>? bias, ArrayView<float> output, ArrayView<float>? workspace)
    {
        var (splits, kSplit) = DgradSplit(launcher, mode, g);
        long length = BigLength(g);
        if (splits > 1 && workspace is { } ws && ws.Length >= splits * length)
        {
            Run(launcher, mode, 1, g, a, b, bias, ws, splits, kSplit);
            ConvImplicitGemm.LaunchSumSplits(launcher, new LaunchConfig(new Dim3((int)((length + 255) / 256)), new Dim3(256)), (int)length, splits, ws, output);
            return;
        }
        Run(launcher, mode, 1, g, a, b, bias, output, 1, 0, workspace);
    }

    /// <summary>Only the <c>mma.sync</c> TF32 kernel reads a K split of the dgrad form from grid z (<see cref="DgradSplit"/> decides
    /// with the same conditions as <see cref="Run"/>); another kernel would take the split index for a stride phase.</summary>
    private static void ThrowIfDgradSplit(bool dgradSplit)
    {
        if (dgradSplit)
        {
            throw new InvalidOperationException("a K split of the dgrad form reached a kernel that does not split it (DgradSplit and Run disagree)");
        }
    }

    /// <summary>The warpgroup kernel's VB specialization: 1 where the forward form's weights can be copied 16 bytes at a time
    /// (cp.async ring, <see cref="ConvSettings.WarpgroupVectorB"/>, weight view on a 16-byte boundary; its per-tile runs are
    /// then aligned), else 0 (4-byte copies).</summary>
    private static int WarpgroupVectorB(int kernelMode, ReadOnlyView<float> b) =>
        kernelMode == 0 && WarpgroupVectorCopies && b.Offset % 4 == 0 ? 1 : 0;

    /// <summary>Whether the warpgroup kernel copies weights 16 bytes at a time: the cp.async ring and <see cref="ConvSettings.WarpgroupVectorB"/>.</summary>
    private static bool WarpgroupVectorCopies => WarpgroupRing == 1 && ConvSettings.WarpgroupVectorB;

    /// <summary>Whether a TF32 launch of kernel mode <paramref name="kernelMode"/> (0 or 1) for <paramref name="g"/> on
    /// <paramref name="launcher"/> runs the warpgroup kernel (the same decision as <see cref="Run"/>; for tests and benchmarks).</summary>
    internal static bool RunsWarpgroup(IKernelLauncher launcher, int kernelMode, in Geometry g) =>
        !(kernelMode == 1 && g.DgradIsGemm) && !PointFits(g) && PlanFor(kernelMode, g).Tile == WideTile && WideFits(kernelMode, g) &&
        WarpgroupFits(launcher, kernelMode, SpecializeGeometry(launcher));

    /// <summary>One implicit GEMM. kernelMode 0 forward, 1 dgrad (grid z = stride phases; MODE 3 when <see cref="Geometry.DgradIsGemm"/>),
    /// 2 wgrad (grid z = splits).</summary>
    internal static void Run(IKernelLauncher launcher, MathMode mode, int kernelMode, in Geometry g, ReadOnlyView<float> a, ReadOnlyView<float> b,
        ReadOnlyView<float>? bias, ArrayView<float> output, int splits, int kSplit, ArrayView<float>? dgradPack = null)
    {
        if (kernelMode != 2 && PointFits(g))
        {
            ConvPointLaunch.Run(launcher, kernelMode, g, a, b, bias, output);
            return;
        }
        int s = g.S;
        var plan = PlanFor(kernelMode, g);
        if (kernelMode == 1 && plan.Tile == DirectTile)
        {
            DirectDgrad(launcher, g, a, b, bias, output);
            return;
        }
        if (kernelMode == 1 && plan.Tile is >= NarrowTile and <= NarrowTile + 2 && NarrowFits(g))
        {
            NarrowDgrad(launcher, g, 1 << (plan.Tile - NarrowTile), a, b, bias, output);
            return;
        }
        if (kernelMode == 0 && splits == 1 && NarrowForwardPlan(g, plan) is int rows)
        {
            NarrowForward(launcher, g, rows, a, b, bias, output, FusedActivation.None, 0f);
            return;
        }
        var (m, n, k, z) = GemmShape(kernelMode, g, splits);
        if (kernelMode == 1 && g.DgradIsGemm)
        {
            kernelMode = 3;
        }
        if (kernelMode == 0)
        {
            kSplit = splits > 1 ? kSplit : k;
        }
        else if (kernelMode == 1 && splits > 1)
        {
            z *= splits;   // Tf32 only (Dgrad checks it runs): z = split (S S) + phase, kSplit from the caller
        }
        else if (kernelMode != 2)
        {
            kSplit = k;
        }
        int hasBias = bias.HasValue ? 1 : 0;
        var biasView = bias ?? b;
        int spec = SpecializeGeometry(launcher);
        int gc = spec * g.C, gh = spec * g.H, gw = spec * g.W, goc = spec * g.Oc, goh = spec * g.Oh, gow = spec * g.Ow, gpad = spec * g.Pad;
        // OpenCL (spec 0) keeps the one 128 x 128 variant: every other variant would be one more program build.
        int tileIndex = plan.Tile is >= 0 and < 4 || (plan.Tile == WideTile && WideFits(kernelMode, g)) ? plan.Tile : 0;
        var t = spec == 0 ? (Wm: 2, Wn: 2, Tm: 4, Tn: 8) : Tiles[tileIndex];
        int bm = t.Wm * t.Tm * 16, bn = TileN(t);
        int ring = spec != 0 && FastGatherFits(kernelMode, g, bn) ? (plan.Ring >= 0 ? plan.Ring : ConvSettings.AsyncRing) : 0;
        int shared = ConvImplicitGemm.Tf32SharedBytes(t.Wm, t.Wn, t.Tm, t.Tn, Bk, ring);
        if (ring > 0 && shared > MaxShared(launcher))
        {
            ring = 0;
            shared = ConvImplicitGemm.Tf32SharedBytes(t.Wm, t.Wn, t.Tm, t.Tn, Bk);
        }
        bool dgradSplit = kernelMode == 1 && splits > 1;
        if (mode == MathMode.Tf32 && tileIndex == WideTile && WarpgroupFits(launcher, kernelMode, spec))
        {
            ThrowIfDgradSplit(dgradSplit);
            int vb = WarpgroupVectorB(kernelMode, b);
            // Here the warpgroup kernel runs in TF32: what remains of DgradPackFloats' decision is the copy setting (no second plan lookup).
            long need = ConvImplicitGemm.PackedDgradWeightFloats(g.C, g.Oc, g.K, g.KW, g.S);
            if (kernelMode == 1 && WarpgroupVectorCopies && dgradPack is { } pack && pack.Length >= need)
            {
                ConvImplicitGemm.LaunchPackDgradWeights(launcher, new LaunchConfig(new Dim3((int)((need + 255) / 256)), new Dim3(256)),
                    g.C, g.Oc, g.Pad, b, pack, g.K, g.KW, s);
                b = pack;
                vb = 1;
            }
            var grid = new Dim3((n + ConvImplicitGemm.WgColumns - 1) / ConvImplicitGemm.WgColumns, (m + ConvImplicitGemm.WgRows - 1) / ConvImplicitGemm.WgRows, z);
            ConvImplicitGemm.LaunchTf32Wg(launcher, new LaunchConfig(grid, new Dim3(256), ConvImplicitGemm.Tf32WgSharedBytes(WarpgroupRing)),
                m, kSplit, hasBias, a, b, biasView, output, kernelMode, g.K, g.KW, s, g.C, g.H, g.W, g.Oc, g.Oh, g.Ow, g.Pad, WarpgroupRing,
                vb);
            return;
        }
        if (mode == MathMode.Tf32 && shared <= MaxShared(launcher))
        {
            var grid = new Dim3((n + bn - 1) / bn, (m + bm - 1) / bm, z);
            ConvImplicitGemm.LaunchTf32(launcher, new LaunchConfig(grid, new Dim3(t.Wm * t.Wn * 32), shared),
                g.C, g.H, g.W, g.Oc, g.Oh, g.Ow, g.Pad, m, n, k, kSplit, hasBias, a, b, biasView, output,
                kernelMode, g.K, g.KW, s, t.Wm, t.Wn, t.Tm, t.Tn, Bk, spec, gc, gh, gw, goc, goh, gow, gpad, ring);
        }
        else
        {
            ThrowIfDgradSplit(dgradSplit);
            // Strict FP32 (also TF32 requests on devices with too little shared memory for the tensor-core tile,
            // e.g. NVIDIA's OpenCL platform with 48 KiB: the result is then more accurate than TF32).
            var grid = new Dim3((n + Tile - 1) / Tile, (m + Tile - 1) / Tile, z);
            ConvImplicitGemm.LaunchFp32(launcher, new LaunchConfig(grid, new Dim3(256)),
                g.C, g.H, g.W, g.Oc, g.Oh, g.Ow, g.Pad, m, n, k, kSplit, hasBias, a, b, biasView, output,
                kernelMode, g.K, g.KW, s, 128, 128, 8, 8, 8, spec, gc, gh, gw, goc, goh, gow, gpad);
        }
    }
}
