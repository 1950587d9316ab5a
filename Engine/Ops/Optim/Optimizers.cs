using GanEngine.Kernels;
using GanEngine.Kernels.Elementwise;
using GanEngine.Kernels.Optim;

namespace GanEngine.Ops.Optim;

/// <summary>Hyperparameters of Adam / AdamW, with PyTorch's defaults (torch.optim.Adam: lr 1e-3,
/// betas (0.9, 0.999), eps 1e-8, weight_decay 0; torch.optim.AdamW uses weight_decay 1e-2, see
/// <see cref="AdamW"/>).</summary>
public readonly record struct AdamHyperparameters(
    float Lr = 1e-3f, float Beta1 = 0.9f, float Beta2 = 0.999f, float Eps = 1e-8f, float WeightDecay = 0f)
{
    /// <summary>torch.optim.Adam's defaults.</summary>
    public static AdamHyperparameters Adam => new();

    /// <summary>torch.optim.AdamW's defaults (weight_decay 1e-2).</summary>
    public static AdamHyperparameters AdamW => new(WeightDecay: 1e-2f);

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad hyperparameter.</summary>
    public void Validate()
    {
        if (!(Lr >= 0f)) throw new ArgumentException($"Invalid learning rate {Lr}", nameof(Lr));
        if (!(Beta1 >= 0f && Beta1 < 1f)) throw new ArgumentException($"Invalid beta1 {Beta1}", nameof(Beta1));
        if (!(Beta2 >= 0f && Beta2 < 1f)) throw new ArgumentException($"Invalid beta2 {Beta2}", nameof(Beta2));
        if (!(Eps >= 0f)) throw new ArgumentException($"Invalid eps {Eps}", nameof(Eps));
        if (!(WeightDecay >= 0f)) throw new ArgumentException($"Invalid weight decay {WeightDecay}", nameof(WeightDecay));
    }
}

/// <summary>One parameter of a multi-tensor Adam step (<see cref="Optimizers.AdamMany"/>): the parameter, its
/// gradient and moments, as flat views of (at least) <paramref name="N"/> elements.</summary>
public readonly record struct AdamTensor(ArrayView<float> Param, ReadOnlyView<float> Grad, ArrayView<float> ExpAvg, ArrayView<float> ExpAvgSq, int N);

/// <summary>Hyperparameters of SGD with PyTorch's defaults (torch.optim.SGD: momentum 0, dampening 0,
/// weight_decay 0, nesterov off). The learning rate has no default in PyTorch; 1e-3 here.</summary>
public readonly record struct SgdHyperparameters(
    float Lr = 1e-3f, float Momentum = 0f, float Dampening = 0f, float WeightDecay = 0f, bool Nesterov = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the bad hyperparameter (PyTorch's rules:
    /// nesterov needs momentum &gt; 0 and zero dampening).</summary>
    public void Validate()
    {
        if (!(Lr >= 0f)) throw new ArgumentException($"Invalid learning rate {Lr}", nameof(Lr));
        if (!(Momentum >= 0f)) throw new ArgumentException($"Invalid momentum {Momentum}", nameof(Momentum));
        if (!(WeightDecay >= 0f)) throw new ArgumentException($"Invalid weight decay {WeightDecay}", nameof(WeightDecay));
        if (Nesterov && (Momentum <= 0f || Dampening != 0f))
        {
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening", nameof(Nesterov));
        }
    }
}

/// <summary>
/// Raw fused optimizer steps (one kernel launch each) over flat float views of <c>n</c> elements:
/// the parameter, its gradient and the optimizer state, as torch.optim computes them (single-tensor
/// path, amsgrad / maximize off). They never allocate, never synchronise, and launch only on the
/// given launcher; the step number is host-known, so the bias corrections are computed here in
/// float64 and passed as scalars.
/// </summary>
/// <remarks>
/// Optional <c>mask</c> (same length, 0 = pruned): after the step, every masked position has
/// parameter and state exactly 0, whatever the gradient (the other positions follow the plain
/// update). That is the "optimizer step on the dense tensor, then multiply by the mask" of sparse
/// GAN training, fused, with the moments of pruned weights kept at zero so that a regrown weight
/// starts from fresh state.
/// </remarks>
public static class Optimizers
{
    /// <summary>Threads per block of the optimizer launches.</summary>
    public const int BlockSize = 256;

    /// <summary>Most blocks in a launch (the kernels are grid-stride loops).</summary>
    public const int MaxBlocks = 4096;

    /// <summary>The launch shape used for <paramref name="n"/> elements.</summary>
    public static LaunchConfig LaunchFor(int n) =>
        new(new Dim3((int)Math.Clamp((n + (long)BlockSize - 1) / BlockSize, 1, MaxBlocks)), new Dim3(BlockSize));

    /// <summary>
    /// One torch.optim.Adam step (<paramref name="step"/> counts from 1, after incrementing, as
    /// PyTorch's <c>state['step']</c>): L2 weight decay added to the gradient.
    /// </summary>
    public static void Adam(
        IKernelLauncher launcher, ArrayView<float> param, ReadOnlyView<float> grad,
        ArrayView<float> expAvg, ArrayView<float> expAvgSq, int n, long step,
        in AdamHyperparameters h, ReadOnlyView<float>? mask = null) =>
        AdamCore(launcher, param, grad, expAvg, expAvgSq, n, step, h, mask, decoupled: false);

    /// <summary>One torch.optim.AdamW step: decoupled weight decay <c>p *= 1 - lr * weight_decay</c>
    /// before the Adam update (use <see cref="AdamHyperparameters.AdamW"/> for PyTorch's defaults).</summary>
    public static void AdamW(
        IKernelLauncher launcher, ArrayView<float> param, ReadOnlyView<float> grad,
        ArrayView<float> expAvg, ArrayView<float> expAvgSq, int n, long step,
        in AdamHyperparameters h, ReadOnlyView<float>? mask = null) =>
        AdamCore(launcher, param, grad, expAvg, expAvgSq, n, step, h, mask, decoupled: true);

    private static void AdamCore(
        IKernelLauncher launcher, ArrayView<float> param, ReadOnlyView<float> grad,
        ArrayView<float> expAvg, ArrayView<float> expAvgSq, int n, long step,
        in AdamHyperparameters h, ReadOnlyView<float>? mask, bool decoupled)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        h.Validate();
        if (step < 1) throw new ArgumentException($"step must be >= 1 (got {step})", nameof(step));
        CheckLength(n, param.Length, nameof(param));
        CheckLength(n, grad.Length, nameof(grad));
        CheckLength(n, expAvg.Length, nameof(expAvg));
        CheckLength(n, expAvgSq.Length, nameof(expAvgSq));
        if (mask is { } m) CheckLength(n, m.Length, nameof(mask));
        if (n == 0) return;
        double bias1 = 1.0 - Math.Pow(h.Beta1, step);
        double bias2 = 1.0 - Math.Pow(h.Beta2, step);
        float stepSize = (float)(h.Lr / bias1);
        float bias2Sqrt = (float)Math.Sqrt(bias2);
        OptimizerKernels.LaunchAdam(
            launcher, LaunchFor(n), param, grad, expAvg, expAvgSq, mask ?? grad, n,
            h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, stepSize, bias2Sqrt,
            decoupled ? 1 : 0, mask.HasValue ? 1 : 0);
    }

    /// <summary>
    /// One Adam (or, with <paramref name="decoupled"/>, AdamW) step of several parameters, with one launch per
    /// <see cref="SlotStarts.Count"/> of them (<c>OptimizerKernels.AdamMany</c>) instead of one each: the
    /// results are bit-identical to <see cref="Adam"/> / <see cref="AdamW"/> per parameter (same element code,
    /// same scalars). No masks here (masked parameters take <see cref="Adam"/>). The parameters must not overlap.
    /// </summary>
    public static void AdamMany(IKernelLauncher launcher, ReadOnlySpan<AdamTensor> tensors, long step, in AdamHyperparameters h, bool decoupled)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        h.Validate();
        if (step < 1) throw new ArgumentException($"step must be >= 1 (got {step})", nameof(step));
        foreach (var t in tensors)
        {
            CheckLength(t.N, t.Param.Length, nameof(AdamTensor.Param));
            CheckLength(t.N, t.Grad.Length, nameof(AdamTensor.Grad));
            CheckLength(t.N, t.ExpAvg.Length, nameof(AdamTensor.ExpAvg));
            CheckLength(t.N, t.ExpAvgSq.Length, nameof(AdamTensor.ExpAvgSq));
        }
        double bias1 = 1.0 - Math.Pow(h.Beta1, step);
        double bias2 = 1.0 - Math.Pow(h.Beta2, step);
        float stepSize = (float)(h.Lr / bias1);
        float bias2Sqrt = (float)Math.Sqrt(bias2);
        Span<int> blocks = stackalloc int[SlotStarts.Count];
        Span<AdamTensor> slot = stackalloc AdamTensor[SlotStarts.Count];
        for (int first = 0; first < tensors.Length; first += SlotStarts.Count)
        {
            var chunk = tensors.Slice(first, Math.Min(SlotStarts.Count, tensors.Length - first));
            int total = 0;
            for (int k = 0; k < chunk.Length; k++)
            {
                blocks[k] = chunk[k].N == 0 ? 0 : LaunchFor(chunk[k].N).Grid.X;
                total += blocks[k];
            }
            if (total == 0)
            {
                continue;
            }
            var config = ElementwiseLaunch.Slots(blocks[..chunk.Length], BlockSize, out var starts);
            // Unused slots own no block: they repeat slot 0's views, never touched.
            for (int k = 0; k < SlotStarts.Count; k++)
            {
                slot[k] = k < chunk.Length ? chunk[k] : chunk[0] with { N = 0 };
            }
            AdamTensor t0 = slot[0], t1 = slot[1], t2 = slot[2], t3 = slot[3], t4 = slot[4], t5 = slot[5], t6 = slot[6], t7 = slot[7];
            OptimizerKernels.LaunchAdamMany(
                launcher, config,
                t0.Param, t0.Grad, t0.ExpAvg, t0.ExpAvgSq, t0.N,
                t1.Param, t1.Grad, t1.ExpAvg, t1.ExpAvgSq, t1.N,
                t2.Param, t2.Grad, t2.ExpAvg, t2.ExpAvgSq, t2.N,
                t3.Param, t3.Grad, t3.ExpAvg, t3.ExpAvgSq, t3.N,
                t4.Param, t4.Grad, t4.ExpAvg, t4.ExpAvgSq, t4.N,
                t5.Param, t5.Grad, t5.ExpAvg, t5.ExpAvgSq, t5.N,
                t6.Param, t6.Grad, t6.ExpAvg, t6.ExpAvgSq, t6.N,
                t7.Param, t7.Grad, t7.ExpAvg, t7.ExpAvgSq, t7.N,
                h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, stepSize, bias2Sqrt, decoupled ? 1 : 0, starts);
        }
    }

    /// <summary>
    /// One torch.optim.SGD step. <paramref name="firstStep"/>: the momentum buffer does not exist yet
    /// and is initialised to the (weight-decayed) gradient, as PyTorch's <c>torch.clone(d_p)</c>.
    /// With <c>Momentum == 0</c> the buffer is not touched (any view, e.g. the parameter, will do).
    /// </summary>
    public static void Sgd(
        IKernelLauncher launcher, ArrayView<float> param, ReadOnlyView<float> grad,
        ArrayView<float> momentumBuffer, int n, bool firstStep,
        in SgdHyperparameters h, ReadOnlyView<float>? mask = null)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        h.Validate();
        CheckLength(n, param.Length, nameof(param));
        CheckLength(n, grad.Length, nameof(grad));
        if (h.Momentum != 0f) CheckLength(n, momentumBuffer.Length, nameof(momentumBuffer));
        if (mask is { } m) CheckLength(n, m.Length, nameof(mask));
        if (n == 0) return;
        OptimizerKernels.LaunchSgd(
            launcher, LaunchFor(n), param, grad, momentumBuffer, mask ?? grad, n,
            h.Lr, h.Momentum, h.Dampening, h.WeightDecay, h.Nesterov ? 1 : 0, firstStep ? 1 : 0, mask.HasValue ? 1 : 0);
    }

    /// <summary>Weight EMA: <c>ema = beta * ema + (1 - beta) * w</c>, and with a mask
    /// <c>ema = 0</c> where <c>mask == 0</c> (STU-GAN's sparse EMA of G).</summary>
    public static void Ema(
        IKernelLauncher launcher, ArrayView<float> ema, ReadOnlyView<float> weights, int n, float beta,
        ReadOnlyView<float>? mask = null)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        if (!(beta >= 0f && beta <= 1f)) throw new ArgumentException($"Invalid EMA beta {beta}", nameof(beta));
        CheckLength(n, ema.Length, nameof(ema));
        CheckLength(n, weights.Length, nameof(weights));
        if (mask is { } m) CheckLength(n, m.Length, nameof(mask));
        if (n == 0) return;
        OptimizerKernels.LaunchEma(launcher, LaunchFor(n), ema, weights, mask ?? weights, n, beta, mask.HasValue ? 1 : 0);
    }

    /// <summary>
    /// The weight EMA of several tensors (<c>ema_k = beta ema_k + (1 - beta) w_k</c>, no masks) with one launch
    /// per <see cref="SlotStarts.Count"/> of them (<c>OptimizerKernels.EmaMany</c>): bit-identical to one
    /// <see cref="Ema"/> each. The averages must not overlap.
    /// </summary>
    public static void EmaMany(IKernelLauncher launcher, ReadOnlySpan<ArrayView<float>> emas, ReadOnlySpan<ReadOnlyView<float>> weights, float beta)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        if (!(beta >= 0f && beta <= 1f)) throw new ArgumentException($"Invalid EMA beta {beta}", nameof(beta));
        if (emas.Length != weights.Length) throw new ArgumentException($"{emas.Length} averages for {weights.Length} weights.", nameof(weights));
        for (int k = 0; k < emas.Length; k++)
        {
            CheckLength(emas[k].Length, weights[k].Length, nameof(weights));
        }
        Span<int> blocks = stackalloc int[SlotStarts.Count];
        Span<ArrayView<float>> e = stackalloc ArrayView<float>[SlotStarts.Count];
        Span<ReadOnlyView<float>> w = stackalloc ReadOnlyView<float>[SlotStarts.Count];
        Span<int> n = stackalloc int[SlotStarts.Count];
        for (int first = 0; first < emas.Length; first += SlotStarts.Count)
        {
            int count = Math.Min(SlotStarts.Count, emas.Length - first);
            int total = 0;
            for (int k = 0; k < SlotStarts.Count; k++)
            {
                // Unused slots own no block: they repeat the chunk's first views, never touched.
                int from = first + (k < count ? k : 0);
                e[k] = emas[from];
                w[k] = weights[from];
                n[k] = k < count ? emas[from].Length : 0;
                if (k < count)
                {
                    blocks[k] = n[k] == 0 ? 0 : LaunchFor(n[k]).Grid.X;
                    total += blocks[k];
                }
            }
            if (total == 0)
            {
                continue;
            }
            var config = ElementwiseLaunch.Slots(blocks[..count], BlockSize, out var starts);
            OptimizerKernels.LaunchEmaMany(launcher, config,
                e[0], w[0], n[0], e[1], w[1], n[1], e[2], w[2], n[2], e[3], w[3], n[3],
                e[4], w[4], n[4], e[5], w[5], n[5], e[6], w[6], n[6], e[7], w[7], n[7], beta, starts);
        }
    }

    internal static void CheckLength(int n, int length, string name)
    {
        if (n < 0) throw new ArgumentException($"n must be >= 0 (got {n})", nameof(n));
        if (length < n) throw new ArgumentException($"{name} has {length} elements, fewer than n = {n}", name);
    }
}
