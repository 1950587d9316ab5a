using GanEngine.Kernels;

namespace GanEngine.Ops;

/// <summary>
/// Shape of a 2-D transposed convolution (PyTorch's <c>conv_transpose2d</c>: NCHW, weight (in, out, kh, kw), dilation 1,
/// groups 1). Output size (H - 1) stride - 2 pad + kh + outputPad, with outputPad &lt; stride.
/// </summary>
public readonly record struct ConvTranspose2dShape(int Batch, int InChannels, int Height, int Width, int OutChannels,
    int KernelH, int KernelW, int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0, int OutputPadH = 0, int OutputPadW = 0)
{
    public int OutHeight => ((Height - 1) * StrideH) - (2 * PadH) + KernelH + OutputPadH;
    public int OutWidth => ((Width - 1) * StrideW) - (2 * PadW) + KernelW + OutputPadW;
    public long InputElements => (long)Batch * InChannels * Height * Width;
    public long OutputElements => (long)Batch * OutChannels * OutHeight * OutWidth;
    public long WeightElements => (long)InChannels * OutChannels * KernelH * KernelW;
    public long MacCount => InputElements * OutChannels * KernelH * KernelW;

    /// <summary>The convolution whose input gradient this is: input (batch, out, OH, OW) -> output (batch, in, H, W).</summary>
    public Conv2dShape AsConv => new(Batch, OutChannels, OutHeight, OutWidth, InChannels, KernelH, KernelW, StrideH, StrideW, PadH, PadW);

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        if (OutputPadH < 0 || OutputPadH >= Math.Max(StrideH, 1))
        {
            throw new ArgumentException($"OutputPadH must be in [0, stride), got {OutputPadH}", nameof(OutputPadH));
        }
        if (OutputPadW < 0 || OutputPadW >= Math.Max(StrideW, 1))
        {
            throw new ArgumentException($"OutputPadW must be in [0, stride), got {OutputPadW}", nameof(OutputPadW));
        }
        if (OutHeight <= 0 || OutWidth <= 0)
        {
            throw new ArgumentException($"output size ({OutHeight}, {OutWidth}) is not positive", nameof(Height));
        }
        var conv = AsConv;
        conv.Validate();
        if (conv.OutHeight != Height || conv.OutWidth != Width)
        {
            throw new ArgumentException("padding larger than the kernel allows", nameof(PadH));
        }
    }
}

/// <summary>
/// 2-D transposed convolution on the convolution's kernels: forward = the convolution's input gradient (dgrad form,
/// split by stride phase, bias in the epilogue), input gradient = the convolution's forward, weight gradient = the
/// convolution's weight gradient with input and output swapped; the same for both <see cref="ConvAlgorithm"/>s (the optional
/// algorithm parameter, default <see cref="ConvAlgorithm.Auto"/>). Raw ops, as <see cref="Conv2d"/>.
/// </summary>
public static class ConvTranspose2d
{
    /// <summary>output[n, o, Y, X] = bias[o] + sum over i, y, ky, kx with Y = y s - p + ky of input[n, i, y, x] weight[i, o, ky, kx].</summary>
    public static void Forward(IKernelLauncher launcher, in ConvTranspose2dShape shape, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto) =>
        Forward(launcher, shape, input, weight, bias, output, null, mode, algorithm);

    /// <summary>Floats of workspace the workspace overload of <see cref="Forward(IKernelLauncher, in ConvTranspose2dShape, ReadOnlyView{float}, ReadOnlyView{float}, ReadOnlyView{float}?, ArrayView{float}, ArrayView{float}?, MathMode, ConvAlgorithm)"/>
    /// uses (0: none); see <see cref="Conv2d.BackwardInputWorkspaceElements"/> (the forward is the convolution's input gradient).</summary>
    public static long ForwardWorkspaceElements(IKernelLauncher launcher, in ConvTranspose2dShape shape, MathMode mode) =>
        ConvLaunch.DgradWorkspace(launcher, mode, ConvLaunch.Geometry.Of(shape.AsConv));

    /// <summary>Forward with a workspace of <see cref="ForwardWorkspaceElements"/> floats (null or too small: the weights are
    /// read in place and K is not split; the same result up to the summation order of a split).</summary>
    public static void Forward(IKernelLauncher launcher, in ConvTranspose2dShape shape, ReadOnlyView<float> input, ReadOnlyView<float> weight,
        ReadOnlyView<float>? bias, ArrayView<float> output, ArrayView<float>? workspace, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        shape.Validate();
        Conv2d.Check(input, shape.InputElements, nameof(input));
        Conv2d.Check(weight, shape.WeightElements, nameof(weight));
        Conv2d.Check(output, shape.OutputElements, nameof(output));
        if (bias is { } b)
        {
            Conv2d.Check(b, shape.OutChannels, nameof(bias));
        }
        if (ConvSettings.Resolve(launcher, algorithm) == ConvAlgorithm.Direct)
        {
            ConvLaunch.DirectDgrad(launcher, ConvLaunch.Geometry.Of(shape.AsConv), input, weight, bias, output);
            return;
        }
        ConvLaunch.Dgrad(launcher, mode, ConvLaunch.Geometry.Of(shape.AsConv), input, weight, bias, output, workspace);
    }

    /// <summary>Input gradient: gradInput = conv2d(gradOutput, weight) (no bias).</summary>
    public static void BackwardInput(IKernelLauncher launcher, in ConvTranspose2dShape shape, ReadOnlyView<float> gradOutput, ReadOnlyView<float> weight,
        ArrayView<float> gradInput, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        shape.Validate();
        Conv2d.Check(gradOutput, shape.OutputElements, nameof(gradOutput));
        Conv2d.Check(weight, shape.WeightElements, nameof(weight));
        Conv2d.Check(gradInput, shape.InputElements, nameof(gradInput));
        if (ConvSettings.Resolve(launcher, algorithm) == ConvAlgorithm.Direct)
        {
            ConvLaunch.DirectForward(launcher, ConvLaunch.Geometry.Of(shape.AsConv), gradOutput, weight, null, gradInput);
            return;
        }
        ConvLaunch.Run(launcher, mode, 0, ConvLaunch.Geometry.Of(shape.AsConv), gradOutput, weight, null, gradInput, 1, 0);
    }

    /// <summary>Workspace floats the workspace overload of <see cref="BackwardInput(IKernelLauncher, in ConvTranspose2dShape, ReadOnlyView{float}, ReadOnlyView{float}, ArrayView{float}, ArrayView{float}?, MathMode, ConvAlgorithm)"/>
    /// can use (0: none); see <see cref="Conv2d.ForwardWorkspaceElements"/>. DCGAN's 1x1 -> 4x4 layer needs it to fill the GPU.</summary>
    public static long BackwardInputWorkspaceElements(in ConvTranspose2dShape shape) => ConvLaunch.ForwardWorkspace(ConvLaunch.Geometry.Of(shape.AsConv));

    /// <summary>Input gradient, split over the reduction into <paramref name="workspace"/> where that helps (null or too small: no split).</summary>
    public static void BackwardInput(IKernelLauncher launcher, in ConvTranspose2dShape shape, ReadOnlyView<float> gradOutput, ReadOnlyView<float> weight,
        ArrayView<float> gradInput, ArrayView<float>? workspace, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        shape.Validate();
        Conv2d.Check(gradOutput, shape.OutputElements, nameof(gradOutput));
        Conv2d.Check(weight, shape.WeightElements, nameof(weight));
        Conv2d.Check(gradInput, shape.InputElements, nameof(gradInput));
        if (ConvSettings.Resolve(launcher, algorithm) == ConvAlgorithm.Direct)
        {
            ConvLaunch.DirectForward(launcher, ConvLaunch.Geometry.Of(shape.AsConv), gradOutput, weight, null, gradInput);
            return;
        }
        ConvLaunch.Forward(launcher, mode, ConvLaunch.Geometry.Of(shape.AsConv), gradOutput, weight, null, gradInput, workspace);
    }

    /// <summary>Workspace floats of <see cref="BackwardWeight"/> (0: none).</summary>
    public static long BackwardWeightWorkspaceElements(in ConvTranspose2dShape shape) => ConvLaunch.WgradWorkspace(ConvLaunch.Geometry.Of(shape.AsConv));

    /// <summary>Weight gradient gradWeight[i, o, ky, kx] and optionally gradBias[o] = sum over n, Y, X of gradOutput[n, o, Y, X];
    /// deterministic, workspace as in <see cref="Conv2d.BackwardWeight"/>.</summary>
    public static void BackwardWeight(IKernelLauncher launcher, in ConvTranspose2dShape shape, ReadOnlyView<float> input, ReadOnlyView<float> gradOutput,
        ArrayView<float> gradWeight, ArrayView<float>? gradBias, ArrayView<float>? workspace, MathMode mode, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        shape.Validate();
        Conv2d.Check(input, shape.InputElements, nameof(input));
        Conv2d.Check(gradOutput, shape.OutputElements, nameof(gradOutput));
        Conv2d.Check(gradWeight, shape.WeightElements, nameof(gradWeight));
        // Conv view: the transposed conv's input is the conv's "output gradient", its output gradient the conv's "input".
        var algo = ConvSettings.Resolve(launcher, algorithm);
        if (algo == ConvAlgorithm.Direct)
        {
            ConvLaunch.DirectWgrad(launcher, ConvLaunch.Geometry.Of(shape.AsConv), input, gradOutput, gradWeight);
        }
        else
        {
            ConvLaunch.Wgrad(launcher, mode, ConvLaunch.Geometry.Of(shape.AsConv), input, gradOutput, gradWeight, workspace);
        }
        if (gradBias is { } gb)
        {
            Conv2d.Check(gb, shape.OutChannels, nameof(gradBias));
            ConvLaunch.BiasGrad(launcher, shape.Batch, shape.OutChannels, shape.OutHeight * shape.OutWidth, gradOutput, gb, algo);
        }
    }
}
