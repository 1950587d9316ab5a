using GanEngine.Kernels;
using GanEngine.Ops;
using GanEngine.Ops.Elementwise;
using GanEngine.Ops.Norm;
using GanEngine.Tensors;

namespace GanEngine.Nn;

/// <summary>
/// Differentiable layers on tensors (PyTorch's <c>torch.nn.functional</c>): each launches the raw op
/// into a new tensor and records its backward on the tape. Inputs must be contiguous NCHW (layer
/// outputs are); gradients are computed only for inputs that require them. Temporary workspaces come
/// from the caching allocator, so a training step allocates nothing from the driver after its first run.
/// </summary>
public static partial class Functional
{
    /// <summary><c>F.conv2d</c>: input (N, C, H, W), weight (O, C, KH, KW), bias (O) or null; square stride and padding.
    /// <paramref name="activation"/> fuses the ReLU / LeakyReLU (<paramref name="negativeSlope"/> &gt;= 0) that follows into the same
    /// op and autograd node: <c>F.leaky_relu(F.conv2d(...))</c> with the activation in the convolution's epilogue where its kernel
    /// has one (few input channels: DCGAN's first layer), no pre-activation tensor kept, and the activation's gradient taken from
    /// the output (y &gt; 0 exactly where the pre-activation is, for a slope &gt;= 0).</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, MathMode? mode = null,
        FusedActivation activation = FusedActivation.None, float negativeSlope = 0.01f)
    {
        RequireLayout(input, 4, "Conv2d input");
        RequireLayout(weight, 4, "Conv2d weight");
        var shape = new Conv2dShape(input.Size(0), input.Size(1), input.Size(2), input.Size(3), weight.Size(0),
            weight.Size(2), weight.Size(3), stride, stride, padding, padding);
        if (weight.Size(1) != shape.InChannels)
        {
            throw new ArgumentException($"Conv2d: weight {Tensor.Format(weight.Shape)} expects {weight.Size(1)} input channels, the input has {shape.InChannels}.");
        }
        RequireBias(bias, shape.OutChannels, "Conv2d");
        if (activation == FusedActivation.LeakyRelu && !(negativeSlope >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope,
                "Conv2d: a fused LeakyReLU needs a slope >= 0 (its gradient is read from the output's sign); apply LeakyRelu separately.");
        }
        var math = mode ?? MathSettings.Default;
        var stream = input.Stream;
        var y = Tensor.Empty(input.Accelerator, [shape.Batch, shape.OutChannels, shape.OutHeight, shape.OutWidth], stream);
        using (var split = Workspace(input, Ops.Conv2d.ForwardWorkspaceElements(shape)))
        {
            Ops.Conv2d.Forward(stream, shape, input.DenseView, weight.DenseView, bias is null ? null : bias.DenseView, y.DenseView, split?.DenseView, math,
                activation: activation, negativeSlope: negativeSlope);
        }
        string name = activation switch
        {
            FusedActivation.Relu => "Conv2dRelu",
            FusedActivation.LeakyRelu => "Conv2dLeakyRelu",
            _ => "Conv2d",
        };
        return Autograd.Record(y, name, Inputs(input, weight, bias), activation == FusedActivation.None ? [input, weight] : [input, weight, y], (node, g) =>
        {
            var x = node.Saved[0];
            var w = node.Saved[1];
            using var dense = Dense(g);
            using var gated = activation == FusedActivation.None ? null : Tensor.Empty(g.Accelerator, g.ShapeArray(), stream);
            if (gated is not null)
            {
                // The activation's gradient from the saved output (the pre-activation is not kept).
                ElementwiseOps.UnaryBackward(stream, activation == FusedActivation.Relu ? UnaryOp.Relu : UnaryOp.LeakyRelu, negativeSlope,
                    node.Saved[2].DenseView, dense.DenseView, gated.DenseView, gated.Length);
            }
            var dy = (gated ?? dense).DenseView;
            Tensor? gx = null;
            if (node.Inputs[0].RequiresGrad)
            {
                gx = Tensor.Empty(x.Accelerator, x.ShapeArray(), stream);
                using var pack = Workspace(x, Ops.Conv2d.BackwardInputWorkspaceElements(stream, shape, math));
                Ops.Conv2d.BackwardInput(stream, shape, dy, w.DenseView, gx.DenseView, pack?.DenseView, math);
            }
            if (!ParametersNeedGrad(node))
            {
                return bias is null ? [gx, null] : [gx, null, null];
            }
            var gw = Tensor.Empty(w.Accelerator, w.ShapeArray(), stream);
            var gb = bias is null ? null : Tensor.Empty(w.Accelerator, [shape.OutChannels], stream);
            using var workspace = Workspace(x, Ops.Conv2d.BackwardWeightWorkspaceElements(shape));
            Ops.Conv2d.BackwardWeight(stream, shape, x.DenseView, dy, gw.DenseView, gb?.DenseView, workspace?.DenseView, math);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    /// <summary><c>F.conv_transpose2d</c>: input (N, C, H, W), weight (C, O, KH, KW), bias (O) or null.</summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, MathMode? mode = null)
    {
        RequireLayout(input, 4, "ConvTranspose2d input");
        RequireLayout(weight, 4, "ConvTranspose2d weight");
        var shape = new ConvTranspose2dShape(input.Size(0), input.Size(1), input.Size(2), input.Size(3), weight.Size(1),
            weight.Size(2), weight.Size(3), stride, stride, padding, padding, outputPadding, outputPadding);
        if (weight.Size(0) != shape.InChannels)
        {
            throw new ArgumentException($"ConvTranspose2d: weight {Tensor.Format(weight.Shape)} expects {weight.Size(0)} input channels, the input has {shape.InChannels}.");
        }
        RequireBias(bias, shape.OutChannels, "ConvTranspose2d");
        var math = mode ?? MathSettings.Default;
        var stream = input.Stream;
        var y = Tensor.Empty(input.Accelerator, [shape.Batch, shape.OutChannels, shape.OutHeight, shape.OutWidth], stream);
        using (var pack = Workspace(input, Ops.ConvTranspose2d.ForwardWorkspaceElements(stream, shape, math)))
        {
            Ops.ConvTranspose2d.Forward(stream, shape, input.DenseView, weight.DenseView, bias is null ? null : bias.DenseView, y.DenseView,
                pack?.DenseView, math);
        }
        return Autograd.Record(y, "ConvTranspose2d", Inputs(input, weight, bias), [input, weight], (node, g) =>
        {
            var x = node.Saved[0];
            var w = node.Saved[1];
            using var dense = Dense(g);
            var dy = dense.DenseView;
            Tensor? gx = null;
            if (node.Inputs[0].RequiresGrad)
            {
                gx = Tensor.Empty(x.Accelerator, x.ShapeArray(), stream);
                using var split = Workspace(x, Ops.ConvTranspose2d.BackwardInputWorkspaceElements(shape));
                Ops.ConvTranspose2d.BackwardInput(stream, shape, dy, w.DenseView, gx.DenseView, split?.DenseView, math);
            }
            if (!ParametersNeedGrad(node))
            {
                return bias is null ? [gx, null] : [gx, null, null];
            }
            var gw = Tensor.Empty(w.Accelerator, w.ShapeArray(), stream);
            var gb = bias is null ? null : Tensor.Empty(w.Accelerator, [shape.OutChannels], stream);
            using var workspace = Workspace(x, Ops.ConvTranspose2d.BackwardWeightWorkspaceElements(shape));
            Ops.ConvTranspose2d.BackwardWeight(stream, shape, x.DenseView, dy, gw.DenseView, gb?.DenseView, workspace?.DenseView, math);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    /// <summary>
    /// <c>F.batch_norm</c> on (N, C, H, W): in training, normalises with the batch statistics (biased
    /// variance) and updates <paramref name="runningMean"/> / <paramref name="runningVar"/> in place
    /// (unbiased variance, <c>running = (1 - momentum) running + momentum batch</c>); in evaluation, uses them.
    /// <paramref name="weight"/> and <paramref name="bias"/> (C) may be null (no affine).
    /// <paramref name="activation"/> fuses the ReLU / LeakyReLU (<paramref name="negativeSlope"/>) that
    /// follows into the same kernels and the same autograd node: <c>F.relu(F.batch_norm(...))</c> with one
    /// pass over the tensor fewer in the forward and in the backward, and no activation tensor kept.
    /// </summary>
    public static Tensor BatchNorm2d(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, float momentum = 0.1f, float eps = 1e-5f,
        FusedActivation activation = FusedActivation.None, float negativeSlope = Ops.Norm.BatchNorm2d.DefaultNegativeSlope)
    {
        RequireLayout(input, 4, "BatchNorm2d input");
        var shape = new BatchNorm2dShape(input.Size(0), input.Size(1), input.Size(2), input.Size(3));
        RequireBias(weight, shape.C, "BatchNorm2d weight");
        RequireBias(bias, shape.C, "BatchNorm2d bias");
        RequireBias(runningMean, shape.C, "BatchNorm2d running mean");
        RequireBias(runningVar, shape.C, "BatchNorm2d running variance");
        var stream = input.Stream;
        var accelerator = input.Accelerator;
        // NVIDIA's OpenCL compiles the fused kernels for at most 256 work-items per group (CL_KERNEL_WORK_GROUP_SIZE).
        var plan = Ops.Norm.BatchNorm2d.Plan(shape, accelerator.Info.MultiprocessorCount,
            accelerator.Kind == Accelerators.AcceleratorKind.OpenCL ? 256 : 1024);
        var y = Tensor.Empty(accelerator, input.ShapeArray(), stream);
        if (!training)
        {
            if (runningMean is null || runningVar is null)
            {
                throw new ArgumentException("BatchNorm2d in evaluation mode needs the running mean and variance.");
            }
            Ops.Norm.BatchNorm2d.ForwardEval(stream, shape, plan, input.DenseView, ViewOrEmpty(weight, input), ViewOrEmpty(bias, input),
                runningMean.DenseView, runningVar.DenseView, y.DenseView, eps, activation, negativeSlope);
            return Autograd.Record(y, "BatchNorm2dEval", Inputs(input, weight, bias), [], (_, _) =>
                throw new NotSupportedException("Backward through BatchNorm2d in evaluation mode is not implemented; train in training mode."));
        }
        var saveMean = Tensor.Empty(accelerator, [shape.C], stream);
        var saveInvstd = Tensor.Empty(accelerator, [shape.C], stream);
        using (var workspace = Workspace(input, Ops.Norm.BatchNorm2d.WorkspaceFloats(shape, plan)))
        {
            Ops.Norm.BatchNorm2d.ForwardTraining(stream, shape, plan, input.DenseView, ViewOrEmpty(weight, input), ViewOrEmpty(bias, input),
                y.DenseView, saveMean.DenseView, saveInvstd.DenseView, MutableOrEmpty(runningMean, saveMean), MutableOrEmpty(runningVar, saveMean),
                workspace is null ? saveMean.DenseView.Slice(0, 0) : workspace.DenseView, momentum, eps, activation, negativeSlope);
        }
        // The fused backward recomputes the pre-activation, so it needs beta as well as gamma.
        Tensor? savedBias = activation == FusedActivation.None ? null : bias;
        Tensor[] save = [input, saveMean, saveInvstd, .. weight is null ? [] : new[] { weight }, .. savedBias is null ? [] : new[] { savedBias }];
        string name = activation switch
        {
            FusedActivation.Relu => "BatchNorm2dRelu",
            FusedActivation.LeakyRelu => "BatchNorm2dLeakyRelu",
            _ => "BatchNorm2d",
        };
        var result = Autograd.Record(y, name, Inputs(input, weight, bias), save, (node, g) =>
        {
            var x = node.Saved[0];
            using var dense = Dense(g);
            var gx = Tensor.Empty(accelerator, x.ShapeArray(), stream);
            var gw = weight is null ? null : Tensor.Empty(accelerator, [shape.C], stream);
            var gb = bias is null ? null : Tensor.Empty(accelerator, [shape.C], stream);
            using var workspace = Workspace(x, Ops.Norm.BatchNorm2d.WorkspaceFloats(shape, plan));
            var empty = gx.DenseView.Slice(0, 0);
            Ops.Norm.BatchNorm2d.Backward(stream, shape, plan, x.DenseView, dense.DenseView, node.Saved[1].DenseView, node.Saved[2].DenseView,
                weight is null ? empty : node.Saved[3].DenseView, savedBias is null ? empty : node.Saved[^1].DenseView,
                gx.DenseView, gw?.DenseView ?? empty, gb?.DenseView ?? empty, workspace?.DenseView ?? empty, activation, negativeSlope);
            // One gradient per recorded input: the input, then weight and bias where present.
            return [gx, .. weight is null ? [] : new[] { gw }, .. bias is null ? [] : new[] { gb }];
        });
        // The saved statistics live on in the node (aliases); these handles are ours to release.
        saveMean.Dispose();
        saveInvstd.Dispose();
        return result;
    }

    /// <summary><c>F.linear</c>: y = x W^T + b with x (B, in), W (out, in), b (out) or null.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null, MathMode? mode = null)
    {
        RequireLayout(input, 2, "Linear input");
        RequireLayout(weight, 2, "Linear weight");
        int batch = input.Size(0), inFeatures = input.Size(1), outFeatures = weight.Size(0);
        if (weight.Size(1) != inFeatures)
        {
            throw new ArgumentException($"Linear: weight {Tensor.Format(weight.Shape)} expects {weight.Size(1)} input features, the input has {inFeatures}.");
        }
        RequireBias(bias, outFeatures, "Linear");
        var math = mode ?? MathSettings.Default;
        var stream = input.Stream;
        var y = Tensor.Empty(input.Accelerator, [batch, outFeatures], stream);
        Ops.Gemm.Linear.Forward(stream, batch, inFeatures, outFeatures, input.DenseView, weight.DenseView, ViewOrEmpty(bias, input), y.DenseView, math);
        return Autograd.Record(y, "Linear", Inputs(input, weight, bias), [input, weight], (node, g) =>
        {
            var x = node.Saved[0];
            var w = node.Saved[1];
            using var dense = Dense(g);
            Tensor? gx = null;
            if (node.Inputs[0].RequiresGrad)
            {
                gx = Tensor.Empty(x.Accelerator, x.ShapeArray(), stream);
                Ops.Gemm.Linear.BackwardInput(stream, batch, inFeatures, outFeatures, dense.DenseView, w.DenseView, gx.DenseView, math);
            }
            if (!ParametersNeedGrad(node))
            {
                return bias is null ? [gx, null] : [gx, null, null];
            }
            var gw = Tensor.Empty(w.Accelerator, w.ShapeArray(), stream);
            var gb = bias is null ? null : Tensor.Empty(w.Accelerator, [outFeatures], stream);
            Ops.Gemm.Linear.BackwardWeight(stream, batch, inFeatures, outFeatures, dense.DenseView, x.DenseView, gw.DenseView,
                gb?.DenseView ?? gw.DenseView.Slice(0, 0), math);
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    // Weight and bias gradients are skipped when neither needs one (e.g. D's weights while G trains):
    // the weight-gradient kernel is as costly as the forward.
    private static bool ParametersNeedGrad(Node node)
    {
        for (int i = 1; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i].RequiresGrad)
            {
                return true;
            }
        }
        return false;
    }

    // The recorded inputs: the input, then weight and bias where present (the backward returns grads in this order).
    private static Tensor[] Inputs(Tensor input, Tensor? weight, Tensor? bias) =>
        [input, .. weight is null ? [] : new[] { weight }, .. bias is null ? [] : new[] { bias }];

    // The gradient as a contiguous tensor (an alias when it already is); disposed by the caller.
    private static Tensor Dense(Tensor g) => g.IsContiguous ? g.Alias() : g.ContiguousCopy();

    private static Tensor? Workspace(Tensor like, long floats) =>
        floats <= 0 ? null : Tensor.Empty(like.Accelerator, [checked((int)floats)], like.Stream);

    private static ReadOnlyView<float> ViewOrEmpty(Tensor? t, Tensor fallback) => t is null ? fallback.Data.Slice(0, 0) : t.DenseView;

    private static ArrayView<float> MutableOrEmpty(Tensor? t, Tensor fallback) => t is null ? fallback.DenseView.Slice(0, 0) : t.DenseView;

    private static void RequireLayout(Tensor t, int rank, string what)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.Rank != rank)
        {
            throw new ArgumentException($"{what} must have {rank} dimensions, not {Tensor.Format(t.Shape)}.");
        }
        if (!t.IsContiguous)
        {
            throw new ArgumentException($"{what} {Tensor.Format(t.Shape)} is not contiguous: call Contiguous() first.");
        }
    }

    private static void RequireBias(Tensor? t, int length, string what)
    {
        if (t is not null && (t.Rank != 1 || t.Size(0) != length || !t.IsContiguous))
        {
            throw new ArgumentException($"{what}: expected a contiguous vector of {length}, got {Tensor.Format(t.Shape)}.");
        }
    }
}
