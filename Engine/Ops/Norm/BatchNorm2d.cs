using GanEngine.Kernels;
using GanEngine.Kernels.Norm;

namespace GanEngine.Ops.Norm;

/// <summary>Shape of a BatchNorm2d input: NCHW, contiguous.</summary>
public readonly record struct BatchNorm2dShape(int N, int C, int H, int W)
{
    /// <summary>Elements per channel (N * H * W): the count the statistics are taken over.</summary>
    public int PerChannel => N * H * W;

    /// <summary>All elements (N * C * H * W).</summary>
    public int Elements => N * C * H * W;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad dimension.</summary>
    public void Validate()
    {
        if (N <= 0) throw new ArgumentException($"BatchNorm2d: N must be positive (got {N})", nameof(N));
        if (C <= 0) throw new ArgumentException($"BatchNorm2d: C must be positive (got {C})", nameof(C));
        if (H <= 0) throw new ArgumentException($"BatchNorm2d: H must be positive (got {H})", nameof(H));
        if (W <= 0) throw new ArgumentException($"BatchNorm2d: W must be positive (got {W})", nameof(W));
        if ((long)N * C * H * W > int.MaxValue / 2) throw new ArgumentException($"BatchNorm2d: {N}x{C}x{H}x{W} has too many elements", nameof(N));
    }

    public override string ToString() => $"({N},{C},{H},{W})";
}

/// <summary>How a BatchNorm2d pass is cut: <see cref="Splits"/> blocks per channel of
/// <see cref="Threads"/> threads. Splits = 1 runs each pass as one fused launch; more use two
/// launches per pass and a workspace of <see cref="BatchNorm2d.WorkspaceFloats"/>.</summary>
public readonly record struct BatchNormPlan(int Splits, int Threads)
{
    public void Validate(in BatchNorm2dShape shape)
    {
        if (Splits < 1 || Splits > shape.PerChannel) throw new ArgumentException($"BatchNorm2d: splits {Splits} outside [1, {shape.PerChannel}]", nameof(shape));
        if (Threads < 32 || Threads > 1024 || Threads % 32 != 0) throw new ArgumentException($"BatchNorm2d: threads {Threads} must be a multiple of 32 in [32, 1024]", nameof(shape));
    }

    public override string ToString() => Splits == 1 ? $"fused/{Threads}" : $"split{Splits}/{Threads}";
}

/// <summary>
/// BatchNorm2d raw ops (PyTorch's <c>torch.nn.functional.batch_norm</c> on NCHW float32).
/// </summary>
/// <remarks>
/// <para>Training: per channel, the batch mean and biased variance over N, H, W;
/// y = gamma (x - mean) / sqrt(var + eps) + beta (gamma = 1, beta = 0 when not affine, i.e. when
/// <c>weight</c> / <c>bias</c> are empty views). Saves mean and invstd = 1 / sqrt(var + eps) for the
/// backward, and updates the running statistics when given (non-empty):
/// running_mean = (1 - momentum) running_mean + momentum mean, running_var likewise with the
/// <b>unbiased</b> variance var * M / (M - 1), M = N H W (PyTorch's convention; momentum 0.1 and
/// eps 1e-5 by default). M must exceed 1 in training, as in PyTorch.</para>
/// <para>Evaluation: normalises with the running statistics. Backward (training): dx, dgamma, dbeta
/// from the saved mean and invstd: dbeta = sum dy, dgamma = sum dy xhat,
/// dx = gamma invstd (dy - dbeta / M - xhat dgamma / M).</para>
/// <para>Fused activation (<see cref="FusedActivation"/>, default none): the forwards write
/// act(BN(x)); the backward then takes the gradient with respect to act's output and gates it by the
/// pre-activation, recomputed from x, the saved statistics, weight and bias (so it needs the bias the
/// forward had). This is <c>F.relu(F.batch_norm(...))</c> or <c>F.leaky_relu(..., negative_slope)</c>
/// with one pass over the tensor fewer each way.</para>
/// <para>Raw-op rules (docs/engine-design.md): views and explicit shapes, no allocation (the split
/// plan's workspace is a parameter), no host synchronisation, launches only on the given launcher.
/// Kernels: <see cref="BatchNormKernels"/>.</para>
/// </remarks>
public static class BatchNorm2d
{
    /// <summary>PyTorch's default momentum.</summary>
    public const float DefaultMomentum = 0.1f;

    /// <summary>PyTorch's default eps.</summary>
    public const float DefaultEps = 1e-5f;

    /// <summary>PyTorch's default LeakyReLU slope (<c>negative_slope</c> 0.01); DCGAN's D uses 0.2.</summary>
    public const float DefaultNegativeSlope = 0.01f;

    /// <summary>The default plan for a shape on a device with <paramref name="multiprocessors"/> SMs
    /// (compute units): one fused launch per pass when the tensor is small (L2-resident, launch-bound)
    /// or there are enough channels to fill the device; otherwise about 8 blocks of 256 per SM. Blocks never
    /// exceed <paramref name="maxThreads"/> (the kernels' own limit on the device).</summary>
    public static BatchNormPlan Plan(in BatchNorm2dShape shape, int multiprocessors, int maxThreads = 1024)
    {
        int sms = Math.Max(1, multiprocessors);
        int m = shape.PerChannel;
        if ((long)shape.Elements * sizeof(float) <= 24L << 20 || shape.C >= 4 * sms || m <= 8192)
        {
            int threads = m >= 16384 ? 1024 : m >= 4096 ? 256 : 128;   // H200: fused/1024 19.5 us vs /512 21.5 on (64,128,16,16)
            return new BatchNormPlan(1, Math.Min(threads, Math.Max(128, maxThreads)));
        }
        int splits = Math.Max(1, Math.Min((8 * sms) / shape.C, m / 4096));
        return new BatchNormPlan(Math.Max(1, splits), 256);
    }

    /// <summary>Workspace floats the plan needs (0 for a fused plan).</summary>
    public static int WorkspaceFloats(in BatchNorm2dShape shape, in BatchNormPlan plan) => plan.Splits == 1 ? 0 : 2 * shape.C * plan.Splits;

    private static int Chunk(in BatchNorm2dShape shape, in BatchNormPlan plan) => (shape.PerChannel + plan.Splits - 1) / plan.Splits;

    private static LaunchConfig Config(in BatchNorm2dShape shape, in BatchNormPlan plan) => new(new Dim3(plan.Splits, shape.C), new Dim3(plan.Threads));

    /// <summary>Training forward (see the class remarks). <paramref name="weight"/>, <paramref name="bias"/>,
    /// <paramref name="runningMean"/>, <paramref name="runningVar"/> may be empty views (absent).</summary>
    public static void ForwardTraining(
        IKernelLauncher launcher, in BatchNorm2dShape shape, in BatchNormPlan plan,
        ReadOnlyView<float> input, ReadOnlyView<float> weight, ReadOnlyView<float> bias,
        ArrayView<float> output, ArrayView<float> saveMean, ArrayView<float> saveInvstd,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> workspace,
        float momentum = DefaultMomentum, float eps = DefaultEps,
        FusedActivation activation = FusedActivation.None, float negativeSlope = DefaultNegativeSlope)
    {
        shape.Validate();
        plan.Validate(shape);
        int act = Specialization(activation);
        if (shape.PerChannel < 2) throw new ArgumentException($"BatchNorm2d: expected more than 1 value per channel when training, got input {shape}", nameof(shape));
        Check(input.Length, shape.Elements, nameof(input));
        Check(output.Length, shape.Elements, nameof(output));
        Optional(weight.Length, shape.C, nameof(weight));
        Optional(bias.Length, shape.C, nameof(bias));
        Check(saveMean.Length, shape.C, nameof(saveMean));
        Check(saveInvstd.Length, shape.C, nameof(saveInvstd));
        Optional(runningMean.Length, shape.C, nameof(runningMean));
        Optional(runningVar.Length, shape.C, nameof(runningVar));
        var config = Config(shape, plan);
        if (plan.Splits == 1)
        {
            BatchNormKernels.LaunchForwardFused(launcher, config, input, Present(weight, input), Present(bias, input), output, saveMean, saveInvstd,
                Present(runningMean, saveMean), Present(runningVar, saveMean), shape.N, shape.C, shape.H * shape.W, eps, momentum, negativeSlope, act);
            return;
        }
        Check(workspace.Length, WorkspaceFloats(shape, plan), nameof(workspace), atLeast: true);
        int chunk = Chunk(shape, plan);
        BatchNormKernels.LaunchForwardStats(launcher, config, input, workspace, shape.N, shape.C, shape.H * shape.W, chunk);
        BatchNormKernels.LaunchForwardApply(launcher, config, input, workspace, Present(weight, input), Present(bias, input), output, saveMean, saveInvstd,
            Present(runningMean, saveMean), Present(runningVar, saveMean), shape.N, shape.C, shape.H * shape.W, chunk, eps, momentum, negativeSlope, act);
    }

    /// <summary>Evaluation forward with the running statistics (one launch), then the activation.</summary>
    public static void ForwardEval(
        IKernelLauncher launcher, in BatchNorm2dShape shape, in BatchNormPlan plan,
        ReadOnlyView<float> input, ReadOnlyView<float> weight, ReadOnlyView<float> bias,
        ReadOnlyView<float> runningMean, ReadOnlyView<float> runningVar, ArrayView<float> output, float eps = DefaultEps,
        FusedActivation activation = FusedActivation.None, float negativeSlope = DefaultNegativeSlope)
    {
        shape.Validate();
        plan.Validate(shape);
        int act = Specialization(activation);
        Check(input.Length, shape.Elements, nameof(input));
        Check(output.Length, shape.Elements, nameof(output));
        Optional(weight.Length, shape.C, nameof(weight));
        Optional(bias.Length, shape.C, nameof(bias));
        Check(runningMean.Length, shape.C, nameof(runningMean));
        Check(runningVar.Length, shape.C, nameof(runningVar));
        BatchNormKernels.LaunchForwardEval(launcher, Config(shape, plan), input, Present(weight, input), Present(bias, input), runningMean, runningVar, output,
            shape.N, shape.C, shape.H * shape.W, Chunk(shape, plan), eps, negativeSlope, act);
    }

    /// <summary>Training backward from the saved statistics: dx, and dgamma / dbeta when those views are
    /// not empty (they are overwritten, not accumulated).</summary>
    public static void Backward(
        IKernelLauncher launcher, in BatchNorm2dShape shape, in BatchNormPlan plan,
        ReadOnlyView<float> input, ReadOnlyView<float> gradOutput, ReadOnlyView<float> saveMean, ReadOnlyView<float> saveInvstd,
        ReadOnlyView<float> weight, ArrayView<float> gradInput, ArrayView<float> gradWeight, ArrayView<float> gradBias, ArrayView<float> workspace) =>
        Backward(launcher, shape, plan, input, gradOutput, saveMean, saveInvstd, weight, default, gradInput, gradWeight, gradBias, workspace,
            FusedActivation.None);

    /// <summary>Training backward of BatchNorm followed by <paramref name="activation"/>:
    /// <paramref name="gradOutput"/> is the gradient with respect to the activation's output;
    /// <paramref name="bias"/> is the forward's (empty: not affine), needed to recompute the
    /// pre-activation. dgamma / dbeta are overwritten when not empty.</summary>
    public static void Backward(
        IKernelLauncher launcher, in BatchNorm2dShape shape, in BatchNormPlan plan,
        ReadOnlyView<float> input, ReadOnlyView<float> gradOutput, ReadOnlyView<float> saveMean, ReadOnlyView<float> saveInvstd,
        ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> gradInput, ArrayView<float> gradWeight, ArrayView<float> gradBias,
        ArrayView<float> workspace, FusedActivation activation, float negativeSlope = DefaultNegativeSlope)
    {
        shape.Validate();
        plan.Validate(shape);
        int act = Specialization(activation);
        Check(input.Length, shape.Elements, nameof(input));
        Check(gradOutput.Length, shape.Elements, nameof(gradOutput));
        Check(gradInput.Length, shape.Elements, nameof(gradInput));
        Check(saveMean.Length, shape.C, nameof(saveMean));
        Check(saveInvstd.Length, shape.C, nameof(saveInvstd));
        Optional(weight.Length, shape.C, nameof(weight));
        Optional(bias.Length, shape.C, nameof(bias));
        Optional(gradWeight.Length, shape.C, nameof(gradWeight));
        Optional(gradBias.Length, shape.C, nameof(gradBias));
        var config = Config(shape, plan);
        if (plan.Splits == 1)
        {
            BatchNormKernels.LaunchBackwardFused(launcher, config, input, gradOutput, saveMean, saveInvstd, Present(weight, input), Present(bias, input),
                gradInput, Present(gradWeight, gradInput), Present(gradBias, gradInput), shape.N, shape.C, shape.H * shape.W, negativeSlope, act);
            return;
        }
        Check(workspace.Length, WorkspaceFloats(shape, plan), nameof(workspace), atLeast: true);
        int chunk = Chunk(shape, plan);
        BatchNormKernels.LaunchBackwardReduce(launcher, config, input, gradOutput, saveMean, saveInvstd, Present(weight, input), Present(bias, input),
            workspace, shape.N, shape.C, shape.H * shape.W, chunk, negativeSlope, act);
        BatchNormKernels.LaunchBackwardApply(launcher, config, input, gradOutput, saveMean, saveInvstd, Present(weight, input), Present(bias, input),
            workspace, gradInput, Present(gradWeight, gradInput), Present(gradBias, gradInput), shape.N, shape.C, shape.H * shape.W, chunk,
            negativeSlope, act);
    }

    private static int Specialization(FusedActivation activation) => activation switch
    {
        FusedActivation.None or FusedActivation.Relu or FusedActivation.LeakyRelu => (int)activation,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "BatchNorm2d: unknown activation"),
    };

    // An absent optional view becomes a length-0 slice of a real buffer (a valid handle on every backend).
    private static ReadOnlyView<float> Present(ReadOnlyView<float> view, ReadOnlyView<float> fallback) => view.Length > 0 ? view : fallback.Slice(0, 0);

    private static ArrayView<float> Present(ArrayView<float> view, ArrayView<float> fallback) => view.Length > 0 ? view : fallback.Slice(0, 0);

    private static void Check(int length, int expected, string name, bool atLeast = false)
    {
        if (atLeast ? length < expected : length != expected)
        {
            throw new ArgumentException($"BatchNorm2d: {name} has {length} elements, expected {(atLeast ? "at least " : "")}{expected}", name);
        }
    }

    private static void Optional(int length, int expected, string name)
    {
        if (length != 0 && length != expected)
        {
            throw new ArgumentException($"BatchNorm2d: {name} has {length} elements, expected {expected} (or 0: absent)", name);
        }
    }
}
