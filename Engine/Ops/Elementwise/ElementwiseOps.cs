using GanEngine.Kernels;
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

    /// <summary>y += x for contiguous views of <paramref name="n"/> elements (gradient accumulation).</summary>
    public static void AddInPlace(IKernelLauncher launcher, ReadOnlyView<float> x, ArrayView<float> y, int n)
    {
        if (n > 0)
        {
            Kernels.Elementwise.ElementwiseKernels.LaunchAxpy(launcher, GridFor(n), n, 1f, x, y);
        }
    }
}
