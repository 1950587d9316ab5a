using GanEngine.Kernels;
using GanEngine.Kernels.Softmax;
using GanEngine.Ops.Elementwise;

namespace GanEngine.Ops.Softmax;

/// <summary>A packed row-major (Rows, Cols) matrix: softmax runs over each row (PyTorch's dim 1 of (N, C)).</summary>
public readonly record struct SoftmaxShape(int Rows, int Cols)
{
    public int Count => Rows * Cols;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        if (Rows < 1)
        {
            throw new ArgumentException($"Rows must be >= 1 (got {Rows})", nameof(Rows));
        }
        if (Cols < 1)
        {
            throw new ArgumentException($"Cols must be >= 1 (got {Cols})", nameof(Cols));
        }
        if ((long)Rows * Cols > int.MaxValue)
        {
            throw new ArgumentException($"Rows * Cols = {(long)Rows * Cols} exceeds 2^31 - 1", nameof(Cols));
        }
        if (Cols >= 1 << 24)
        {
            throw new ArgumentException($"Cols = {Cols}: class indices are floats, at most 2^24 classes", nameof(Cols));
        }
    }
}

/// <summary>
/// <c>F.softmax(x, dim=1)</c> and <c>F.log_softmax(x, dim=1)</c> of a (rows, cols) matrix as raw
/// ops (numerically stable: max-subtracted). Contiguous views, no allocation, no host
/// synchronisation, launches on the given launcher; deterministic (fixed reduction order).
/// </summary>
public static class SoftmaxOps
{
    private const int MaxBlocks = 1024;

    /// <summary>y = softmax(x) (<paramref name="log"/> false) or log_softmax(x) (true), row-wise.</summary>
    public static void Forward(IKernelLauncher launcher, in SoftmaxShape shape, ReadOnlyView<float> x, ArrayView<float> y, bool log)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Check(x.Length, shape.Count, nameof(x));
        Check(y.Length, shape.Count, nameof(y));
        SoftmaxKernels.LaunchForward(launcher, RowGrid(shape.Rows), x, y, shape.Rows, shape.Cols,
            log ? SoftmaxKernels.ModeLogSoftmax : SoftmaxKernels.ModeSoftmax);
    }

    /// <summary>lse[r] = log(sum_j exp(x[r, j])), max-subtracted; <paramref name="lse"/> has Rows elements.</summary>
    public static void LogSumExp(IKernelLauncher launcher, in SoftmaxShape shape, ReadOnlyView<float> x, ArrayView<float> lse)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Check(x.Length, shape.Count, nameof(x));
        Check(lse.Length, shape.Rows, nameof(lse));
        SoftmaxKernels.LaunchForward(launcher, RowGrid(shape.Rows), x, lse, shape.Rows, shape.Cols, SoftmaxKernels.ModeLogSumExp);
    }

    /// <summary>
    /// The backward from the forward output <paramref name="y"/>: softmax
    /// <c>gx = y (gy - sum_j gy y)</c>, log-softmax <c>gx = gy - exp(y) sum_j gy</c> (row-wise;
    /// <paramref name="gx"/> is overwritten).
    /// </summary>
    public static void Backward(IKernelLauncher launcher, in SoftmaxShape shape, ReadOnlyView<float> y, ReadOnlyView<float> gy, ArrayView<float> gx, bool log)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Check(y.Length, shape.Count, nameof(y));
        Check(gy.Length, shape.Count, nameof(gy));
        Check(gx.Length, shape.Count, nameof(gx));
        SoftmaxKernels.LaunchBackward(launcher, RowGrid(shape.Rows), y, gy, gx, shape.Rows, shape.Cols,
            log ? SoftmaxKernels.ModeLogSoftmax : SoftmaxKernels.ModeSoftmax);
    }

    internal static LaunchConfig RowGrid(int rows) => new(new Dim3(Math.Min(rows, MaxBlocks)), new Dim3(SoftmaxKernels.Block));

    internal static void Check(int length, int needed, string name)
    {
        if (length < needed)
        {
            throw new ArgumentException($"{name} has {length} elements, needs {needed}", name);
        }
    }
}

/// <summary>
/// <c>F.cross_entropy(logits, targets)</c> with reduction "mean" as raw ops: logits (rows, cols),
/// targets (rows) floats holding class indices 0..cols-1. The forward saves each row's logsumexp;
/// the backward is one fused element-wise pass, <c>(softmax - onehot) gLoss / rows</c>.
/// </summary>
/// <remarks>Targets must be valid. The kernels round a target to the nearest integer and never read
/// out of bounds: for a target outside 0..cols-1 (or NaN) the row's target term is skipped, so the
/// row contributes its logsumexp to the loss and softmax (no one-hot) to the gradient, and still
/// counts in the mean. Deterministic: fixed reduction order, no atomics.</remarks>
public static class CrossEntropy
{
    /// <summary>
    /// <c>lse[r] = logsumexp(logits[r, :])</c> (kept for <see cref="Backward"/>) and
    /// <c>loss[0] = mean_r (lse[r] - logits[r, targets[r]])</c>.
    /// </summary>
    public static void Forward(IKernelLauncher launcher, in SoftmaxShape shape, ReadOnlyView<float> logits, ReadOnlyView<float> targets,
        ArrayView<float> lse, ArrayView<float> loss)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        SoftmaxOps.Check(targets.Length, shape.Rows, nameof(targets));
        SoftmaxOps.Check(loss.Length, 1, nameof(loss));
        SoftmaxOps.LogSumExp(launcher, shape, logits, lse);
        SoftmaxKernels.LaunchCrossEntropyLoss(launcher, new LaunchConfig(new Dim3(1), new Dim3(SoftmaxKernels.Block)),
            logits, targets, lse, loss, shape.Rows, shape.Cols);
    }

    /// <summary><c>gradLogits = gradLoss[0] (softmax(logits) - onehot(targets)) / rows</c>, with
    /// <paramref name="lse"/> from <see cref="Forward"/> (<paramref name="gradLogits"/> is overwritten).</summary>
    public static void Backward(IKernelLauncher launcher, in SoftmaxShape shape, ReadOnlyView<float> logits, ReadOnlyView<float> targets,
        ReadOnlyView<float> lse, ReadOnlyView<float> gradLoss, ArrayView<float> gradLogits)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        SoftmaxOps.Check(logits.Length, shape.Count, nameof(logits));
        SoftmaxOps.Check(targets.Length, shape.Rows, nameof(targets));
        SoftmaxOps.Check(lse.Length, shape.Rows, nameof(lse));
        SoftmaxOps.Check(gradLoss.Length, 1, nameof(gradLoss));
        SoftmaxOps.Check(gradLogits.Length, shape.Count, nameof(gradLogits));
        SoftmaxKernels.LaunchCrossEntropyBackward(launcher, ElementwiseOps.GridFor(shape.Count), logits, targets, lse, gradLoss, gradLogits,
            shape.Rows, shape.Cols);
    }
}
