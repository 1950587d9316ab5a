using GanEngine.Kernels;
using GanEngine.Kernels.TensorOps;
using GanEngine.Ops.Elementwise;
using GanEngine.Ops.Reduction;

namespace GanEngine.Ops.Loss;

/// <summary>
/// Raw fused BCE-with-logits means against constant targets (the non-saturating GAN losses): the loss
/// <c>mean(bce(a, ta))</c>, or <c>mean(bce(a, ta)) + mean(bce(b, tb))</c>, in one launch, and its gradient
/// in one more, where the composed ops take seven and eight. Bit-identical to the composition
/// (<c>Tensor.BceWithLogitsElementwise</c>, <c>Mean</c>, <c>+</c>, and their backwards): same element
/// formulas, same summation order and block sizes as <see cref="ReductionOps.Sum"/>. No allocation, no host
/// synchronisation; dense views.
/// </summary>
public static class BceWithLogitsOps
{
    /// <summary>
    /// y[0] = mean(bce(a, ta)) (+ mean(bce(b, tb)) when <paramref name="b"/> is given), with
    /// <c>bce(x, t) = max(x, 0) - x t + log(1 + exp(-|x|))</c>; a mean over no elements is NaN (as PyTorch's).
    /// </summary>
    public static void MeanForward(IKernelLauncher launcher, ReadOnlyView<float> a, int na, float ta,
        ReadOnlyView<float>? b, int nb, float tb, ArrayView<float> y)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        Check(a.Length, na, nameof(a));
        if (b is { } bv)
        {
            Check(bv.Length, nb, nameof(b));
        }
        if (y.Length < 1)
        {
            throw new ArgumentException("y needs one element.", nameof(y));
        }
        int blockA = ReductionBlock(na);
        int blockB = b.HasValue ? ReductionBlock(nb) : 0;
        var config = new LaunchConfig(new Dim3(1), new Dim3(Math.Max(blockA, blockB)));
        TensorKernels.LaunchBceWithLogitsMean(launcher, config, a, na, ta, Scale(na),
            b ?? a, b.HasValue ? nb : 0, tb, Scale(nb), y, blockA, blockB);
    }

    /// <summary>
    /// The gradients of <see cref="MeanForward"/> for the upstream gradient <paramref name="g"/> (one element;
    /// null for a gradient of 1, not read from the device):
    /// <c>ga[i] = g / na (sigmoid(a[i]) - ta)</c>, and the same for b into <paramref name="gb"/>. Pass
    /// <paramref name="na"/> or <paramref name="nb"/> as 0 to skip a part (its views are not touched).
    /// </summary>
    public static void MeanBackward(IKernelLauncher launcher, ReadOnlyView<float>? g,
        ReadOnlyView<float> a, ArrayView<float> ga, int na, float ta,
        ReadOnlyView<float> b, ArrayView<float> gb, int nb, float tb)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        if (g is { Length: < 1 })
        {
            throw new ArgumentException("g needs one element.", nameof(g));
        }
        Check(a.Length, na, nameof(a));
        Check(ga.Length, na, nameof(ga));
        Check(b.Length, nb, nameof(b));
        Check(gb.Length, nb, nameof(gb));
        long n = (long)na + nb;
        if (n == 0)
        {
            return;
        }
        if (n > int.MaxValue)
        {
            throw new ArgumentException($"{n} elements in all: at most 2^31-1.", nameof(nb));
        }
        TensorKernels.LaunchBceWithLogitsMeanBackward(launcher, ElementwiseOps.GridFor((int)n), g ?? a, g.HasValue ? 0 : 1, 0f,
            a, ga, na, ta, Scale(na), b, gb, nb, tb, Scale(nb));
    }

    // Reduce's block for a full reduction of n summands, and its mean scale.
    private static int ReductionBlock(int n) => ReductionOps.BlockFor(n);

    private static float Scale(int n) => (float)(1.0 / n);

    private static void Check(int length, int n, string name)
    {
        if (n < 0)
        {
            throw new ArgumentException($"Negative element count {n}.", name);
        }
        if (length < n)
        {
            throw new ArgumentException($"{name} has {length} elements, fewer than {n}.", name);
        }
    }
}
