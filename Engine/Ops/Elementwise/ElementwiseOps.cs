using GanEngine.Kernels;
using GanEngine.Kernels.Elementwise;
using GanEngine.Kernels.TensorOps;

namespace GanEngine.Ops.Elementwise;

/// <summary>Element-wise maps (PyTorch's <c>torch.exp</c>, <c>torch.relu</c>, ...).</summary>
public enum UnaryOp
{
    /// <summary><c>alpha * x + beta</c> (neg, scalar add / mul).</summary>
    Affine = TensorKernels.OpAffine,
    Exp = TensorKernels.OpExp,
    Log = TensorKernels.OpLog,
    Sqrt = TensorKernels.OpSqrt,
    Relu = TensorKernels.OpRelu,
    /// <summary><c>x &gt; 0 ? x : alpha * x</c>.</summary>
    LeakyRelu = TensorKernels.OpLeakyRelu,
    Tanh = TensorKernels.OpTanh,
    /// <summary>The logistic function, evaluated without overflow for large |x|.</summary>
    Sigmoid = TensorKernels.OpSigmoid,
}

/// <summary>Element-wise binary operations with broadcasting.</summary>
public enum BinaryOp
{
    Add = TensorKernels.OpAdd,
    Sub = TensorKernels.OpSub,
    Mul = TensorKernels.OpMul,
    Div = TensorKernels.OpDiv,
    /// <summary>Per-element binary cross-entropy with logits a and targets b, in the stable form
    /// <c>max(a, 0) - a b + log(1 + exp(-|a|))</c> (PyTorch's <c>binary_cross_entropy_with_logits</c>, reduction none).</summary>
    BceWithLogits = TensorKernels.OpBceWithLogits,
}

/// <summary>
/// Raw element-wise ops (no allocation, no host synchronisation; everything on the given launcher).
/// Inputs are strided views (broadcasting as stride 0); outputs are contiguous.
/// </summary>
public static class ElementwiseOps
{
    /// <summary>Threads per block.</summary>
    public const int BlockSize = 256;

    /// <summary>At most this many blocks; the kernels are grid-stride loops.</summary>
    public const int MaxBlocks = 1024;

    /// <summary>A 1D grid-stride launch for <paramref name="n"/> elements.</summary>
    public static LaunchConfig GridFor(int n) =>
        new(new Dim3((int)Math.Clamp((n + (long)BlockSize - 1) / BlockSize, 1, MaxBlocks)), new Dim3(BlockSize));

    /// <summary>At most this many blocks for the dense element-wise kernels (<see cref="Unary"/> on a dense view,
    /// <see cref="UnaryBackward"/>): 16 blocks of 256 per SM of a 132-SM GPU, so a DCGAN activation (8M elements) takes a few
    /// elements per thread (convtune: 1024 blocks and the rank-6 index decomposition ran at ~1.2 TB/s).</summary>
    public const int MaxDenseBlocks = 2112;

    private static LaunchConfig DenseGridFor(int n) =>
        new(new Dim3((int)Math.Clamp((n + (long)BlockSize - 1) / BlockSize, 1, MaxDenseBlocks)), new Dim3(BlockSize));

    /// <summary>y[i] = value for the first <paramref name="n"/> elements.</summary>
    public static void Fill(IKernelLauncher launcher, ArrayView<float> y, int n, float value)
    {
        if (n > 0)
        {
            TensorKernels.LaunchFill(launcher, GridFor(n), y, n, value);
        }
    }

    /// <summary>Copies view <paramref name="x"/> into view <paramref name="y"/> (same shape).</summary>
    public static void Copy(IKernelLauncher launcher, ReadOnlyView<float> x, in StridedLayout xLayout, ArrayView<float> y, in StridedLayout yLayout)
    {
        int n = xLayout.Count;
        if (n > 0)
        {
            TensorKernels.LaunchStridedCopy(launcher, GridFor(n), x, y, n, xLayout.Shape6, xLayout.Strides6, xLayout.Offset, yLayout.Strides6, yLayout.Offset);
        }
    }

    /// <summary>y = op(x) into contiguous <paramref name="y"/> of x's shape.</summary>
    public static void Unary(IKernelLauncher launcher, UnaryOp op, float alpha, float beta, ReadOnlyView<float> x, in StridedLayout xLayout, ArrayView<float> y)
    {
        int n = xLayout.Count;
        if (n > 0)
        {
            if (xLayout.IsDense)
            {
                TensorKernels.LaunchUnaryDense(launcher, DenseGridFor(n), x, y, n, xLayout.Offset, alpha, beta, (int)op);
                return;
            }
            TensorKernels.LaunchUnary(launcher, GridFor(n), x, y, n, xLayout.Shape6, xLayout.Strides6, xLayout.Offset, alpha, beta, (int)op);
        }
    }

    /// <summary>gx = gy * op'(saved), all contiguous with <paramref name="n"/> elements. <paramref name="saved"/>
    /// is the forward input for Log, Relu, LeakyRelu; the forward output for Exp, Sqrt, Tanh, Sigmoid;
    /// ignored for Affine (gx = alpha gy).</summary>
    public static void UnaryBackward(IKernelLauncher launcher, UnaryOp op, float alpha, ReadOnlyView<float> saved, ReadOnlyView<float> gy, ArrayView<float> gx, int n)
    {
        if (n > 0)
        {
            TensorKernels.LaunchUnaryBackward(launcher, DenseGridFor(n), saved, gy, gx, n, alpha, (int)op);
        }
    }

    /// <summary>y = a op b into contiguous <paramref name="y"/> of shape <paramref name="outShape"/>; the
    /// layouts must already be broadcast to it (<see cref="StridedLayout.BroadcastTo"/>).</summary>
    public static void Binary(IKernelLauncher launcher, BinaryOp op, ReadOnlyView<float> a, in StridedLayout aLayout, ReadOnlyView<float> b, in StridedLayout bLayout, ArrayView<float> y, int[] outShape)
    {
        int n = StridedLayout.CountOf(outShape);
        if (n > 0)
        {
            TensorKernels.LaunchBinary(launcher, GridFor(n), a, b, y, n, StridedLayout.Pad(outShape, 1), aLayout.Strides6, aLayout.Offset, bLayout.Strides6, bLayout.Offset, (int)op);
        }
    }

    /// <summary>y = act(y) in place for the first <paramref name="n"/> elements (<see cref="FusedActivation.None"/>: nothing runs).</summary>
    public static void ActivateInPlace(IKernelLauncher launcher, FusedActivation activation, float negativeSlope, ArrayView<float> y, int n)
    {
        if (activation != FusedActivation.None && n > 0)
        {
            ElementwiseKernels.LaunchActivateInPlace(launcher, DenseGridFor(n), n, negativeSlope, y, (int)activation);
        }
    }

    /// <summary>y += x for contiguous views of <paramref name="n"/> elements (gradient accumulation).</summary>
    public static void AddInPlace(IKernelLauncher launcher, ReadOnlyView<float> x, ArrayView<float> y, int n)
    {
        if (n > 0)
        {
            ElementwiseKernels.LaunchAxpy(launcher, GridFor(n), n, 1f, x, y);
        }
    }

    /// <summary>
    /// y<sub>k</sub> += x<sub>k</sub> for every pair (each <c>ys[k].Length</c> elements, x<sub>k</sub> at least as
    /// long), with one launch per <see cref="SlotStarts.Count"/> pairs (<c>ElementwiseKernels.AxpyMany</c>)
    /// instead of one per pair; each element is bit-identical to <see cref="AddInPlace"/>. Pairs are applied
    /// in chunks, in order; the destinations within a chunk must not overlap (a destination that repeats must
    /// come at least <see cref="SlotStarts.Count"/> pairs later, or in another call).
    /// </summary>
    public static void AddInPlaceMany(IKernelLauncher launcher, ReadOnlySpan<ReadOnlyView<float>> xs, ReadOnlySpan<ArrayView<float>> ys)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        if (xs.Length != ys.Length)
        {
            throw new ArgumentException($"{xs.Length} sources for {ys.Length} destinations.", nameof(xs));
        }
        for (int k = 0; k < xs.Length; k++)
        {
            if (xs[k].Length < ys[k].Length)
            {
                throw new ArgumentException($"Source {k} has {xs[k].Length} elements, its destination {ys[k].Length}.", nameof(xs));
            }
        }
        Span<int> blocks = stackalloc int[SlotStarts.Count];
        Span<ReadOnlyView<float>> sx = stackalloc ReadOnlyView<float>[SlotStarts.Count];
        Span<ArrayView<float>> sy = stackalloc ArrayView<float>[SlotStarts.Count];
        Span<int> sn = stackalloc int[SlotStarts.Count];
        for (int first = 0; first < xs.Length; first += SlotStarts.Count)
        {
            int count = Math.Min(SlotStarts.Count, xs.Length - first);
            var x = xs.Slice(first, count);
            var y = ys.Slice(first, count);
            if (count == 1)
            {
                AddInPlace(launcher, x[0], y[0], y[0].Length);
                continue;
            }
            for (int k = 0; k < count; k++)
            {
                blocks[k] = y[k].Length == 0 ? 0 : GridFor(y[k].Length).Grid.X;
            }
            for (int k = 0; k < SlotStarts.Count; k++)
            {
                // Unused slots own no block: any view will do (they are never read or written).
                int from = k < count ? k : 0;
                sx[k] = x[from];
                sy[k] = y[from];
                sn[k] = k < count ? y[k].Length : 0;
            }
            int total = 0;
            for (int k = 0; k < count; k++)
            {
                total += blocks[k];
            }
            if (total == 0)
            {
                continue;
            }
            var config = ElementwiseLaunch.Slots(blocks[..count], BlockSize, out var starts);
            ElementwiseKernels.LaunchAxpyMany(launcher, config,
                sx[0], sy[0], sn[0], sx[1], sy[1], sn[1], sx[2], sy[2], sn[2], sx[3], sy[3], sn[3],
                sx[4], sy[4], sn[4], sx[5], sy[5], sn[5], sx[6], sy[6], sn[6], sx[7], sy[7], sn[7], 1f, starts);
        }
    }
}
