using GanEngine.Ops.Elementwise;
using GanEngine.Ops.Reduction;

namespace GanEngine.Tensors;

// Differentiable element-wise ops (NumPy/PyTorch broadcasting), activations and reductions.
// Each op: launch a raw op into a new contiguous tensor, then Autograd.Record with a backward closure.
public partial class Tensor
{
    public Tensor Add(Tensor other) => Binary(this, other, BinaryOp.Add);

    public Tensor Sub(Tensor other) => Binary(this, other, BinaryOp.Sub);

    public Tensor Mul(Tensor other) => Binary(this, other, BinaryOp.Mul);

    /// <summary>True division (<c>torch.div</c>, rounding_mode None).</summary>
    public Tensor Div(Tensor other) => Binary(this, other, BinaryOp.Div);

    /// <summary>x + s.</summary>
    public Tensor Add(float s) => Affine(1f, s, "AddScalar");

    /// <summary>x - s.</summary>
    public Tensor Sub(float s) => Affine(1f, -s, "SubScalar");

    /// <summary>x * s.</summary>
    public Tensor Mul(float s) => Affine(s, 0f, "MulScalar");

    /// <summary>x / s, computed as x * (1 / s) (within one rounding of PyTorch's true division).</summary>
    public Tensor Div(float s) => Affine(1f / s, 0f, "DivScalar");

    /// <summary>-x.</summary>
    public Tensor Neg() => Affine(-1f, 0f, "Neg");

    public static Tensor operator +(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Add);

    public static Tensor operator -(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Sub);

    public static Tensor operator *(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Mul);

    public static Tensor operator /(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Div);

    public static Tensor operator +(Tensor a, float s) => a.Add(s);

    public static Tensor operator +(float s, Tensor a) => a.Add(s);

    public static Tensor operator -(Tensor a, float s) => a.Sub(s);

    public static Tensor operator -(float s, Tensor a) => a.Affine(-1f, s, "RSubScalar");

    public static Tensor operator *(Tensor a, float s) => a.Mul(s);

    public static Tensor operator *(float s, Tensor a) => a.Mul(s);

    public static Tensor operator /(Tensor a, float s) => a.Div(s);

    public static Tensor operator -(Tensor a) => a.Neg();

    public Tensor Exp() => UnaryFn(UnaryOp.Exp, 0f, saveOutput: true);

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => UnaryFn(UnaryOp.Log, 0f, saveOutput: false);

    public Tensor Sqrt() => UnaryFn(UnaryOp.Sqrt, 0f, saveOutput: true);

    /// <summary><c>max(x, 0)</c>; gradient 0 at x = 0 (as PyTorch).</summary>
    public Tensor Relu() => UnaryFn(UnaryOp.Relu, 0f, saveOutput: false);

    /// <summary><c>x &gt; 0 ? x : slope x</c>; PyTorch's default slope 0.01.</summary>
    public Tensor LeakyRelu(float negativeSlope = 0.01f) => UnaryFn(UnaryOp.LeakyRelu, negativeSlope, saveOutput: false);

    public Tensor Tanh() => UnaryFn(UnaryOp.Tanh, 0f, saveOutput: true);

    public Tensor Sigmoid() => UnaryFn(UnaryOp.Sigmoid, 0f, saveOutput: true);

    /// <summary>Sum of all elements: a 0-dimensional tensor (<c>torch.sum</c>).</summary>
    public Tensor Sum() => Reduce(AllDims(), keepDim: false, mean: false);

    /// <summary>Sum over <paramref name="dims"/> (negative counts from the end); reduced dimensions kept with extent 1 if <paramref name="keepDim"/>.</summary>
    public Tensor Sum(int[] dims, bool keepDim = false) => Reduce(dims, keepDim, mean: false);

    /// <summary>Mean of all elements (0-dimensional).</summary>
    public Tensor Mean() => Reduce(AllDims(), keepDim: false, mean: true);

    /// <summary>Mean over <paramref name="dims"/>.</summary>
    public Tensor Mean(int[] dims, bool keepDim = false) => Reduce(dims, keepDim, mean: true);

    /// <summary>The per-element binary cross-entropy with logits (reduction none), stable form
    /// <c>max(x, 0) - x t + log(1 + exp(-|x|))</c>; <paramref name="target"/> broadcasts.</summary>
    public Tensor BceWithLogitsElementwise(Tensor target) => Binary(this, target, BinaryOp.BceWithLogits);

    /// <summary>The broadcast shape of two shapes (NumPy rules).</summary>
    public static int[] BroadcastShape(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int rank = Math.Max(a.Count, b.Count);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int x = i - (rank - a.Count) >= 0 ? a[i - (rank - a.Count)] : 1;
            int y = i - (rank - b.Count) >= 0 ? b[i - (rank - b.Count)] : 1;
            shape[i] = x == y || y == 1 ? x : x == 1 ? y : throw new ArgumentException($"Shapes {Format(a)} and {Format(b)} do not broadcast.");
        }
        return shape;
    }

    /// <summary>Sums this (gradient) tensor down to <paramref name="shape"/>, which broadcasts to it
    /// (the reverse of broadcasting). Not recorded. Returns a new tensor (an alias when shapes match).</summary>
    internal Tensor SumTo(int[] shape)
    {
        if (_shape.AsSpan().SequenceEqual(shape))
        {
            return Alias();
        }
        var flags = new bool[Rank];
        int shift = Rank - shape.Length;
        for (int d = 0; d < Rank; d++)
        {
            flags[d] = d < shift || (shape[d - shift] == 1 && _shape[d] != 1);
        }
        var result = Empty(Accelerator, shape, Stream);
        ReductionOps.Sum(Stream, Data, Layout, flags, result.Storage.View, 1f);
        result.Scope = null;
        return result;
    }

    private static Tensor Binary(Tensor a, Tensor b, BinaryOp op)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        a.RecordUse(b);
        int[] shape = BroadcastShape(a._shape, b._shape);
        var y = Empty(a.Accelerator, shape, a.Stream);
        ElementwiseOps.Binary(a.Stream, op, a.Data, a.Layout.BroadcastTo(shape), b.Data, b.Layout.BroadcastTo(shape), y.Storage.View, shape);
        int[] aShape = a.ShapeArray(), bShape = b.ShapeArray();
        bool needA = a.RequiresGrad, needB = b.RequiresGrad;
        return Autograd.Record(y, op.ToString(), [a, b], [a, b], (node, g) =>
        {
            var (x, t) = (node.Saved[0], node.Saved[1]);
            switch (op)
            {
                case BinaryOp.Add:
                    return [needA ? g.SumTo(aShape) : null, needB ? g.SumTo(bShape) : null];
                case BinaryOp.Sub:
                    {
                        Tensor? gb = null;
                        if (needB)
                        {
                            using var neg = g.Neg();
                            gb = neg.SumTo(bShape);
                        }
                        return [needA ? g.SumTo(aShape) : null, gb];
                    }
                case BinaryOp.Mul:
                    return [needA ? ProductSum(g, t, aShape) : null, needB ? ProductSum(g, x, bShape) : null];
                case BinaryOp.Div:
                    {
                        using var q = g / t; // g / b
                        Tensor? ga = needA ? q.SumTo(aShape) : null;
                        Tensor? gb = null;
                        if (needB)
                        {
                            using var qa = q * x;
                            using var qab = qa / t;
                            using var neg = qab.Neg();
                            gb = neg.SumTo(bShape);
                        }
                        return [ga, gb];
                    }
                default: // BceWithLogits: d/dx = sigmoid(x) - t, d/dt = -x
                    {
                        Tensor? ga = null, gb = null;
                        if (needA)
                        {
                            using var s = x.Sigmoid();
                            using var d = s - t;
                            ga = ProductSum(g, d, aShape);
                        }
                        if (needB)
                        {
                            using var nx = x.Neg();
                            gb = ProductSum(g, nx, bShape);
                        }
                        return [ga, gb];
                    }
            }
        });
    }

    private static Tensor ProductSum(Tensor g, Tensor factor, int[] shape)
    {
        using var p = g * factor;
        return p.SumTo(shape);
    }

    /// <summary>alpha x + beta (recorded: gradient alpha g).</summary>
    private Tensor Affine(float alpha, float beta, string name)
    {
        var y = Empty(Accelerator, _shape, Stream);
        ElementwiseOps.Unary(Stream, UnaryOp.Affine, alpha, beta, Data, Layout, y.Storage.View);
        return Autograd.Record(y, name, [this], [], (_, g) =>
        {
            var gx = Empty(g.Accelerator, g.ShapeArray(), g.Stream);
            ElementwiseOps.Unary(g.Stream, UnaryOp.Affine, alpha, 0f, g.Data, g.Layout, gx.Storage.View);
            return [gx];
        });
    }

    private Tensor UnaryFn(UnaryOp op, float alpha, bool saveOutput)
    {
        var y = Empty(Accelerator, _shape, Stream);
        ElementwiseOps.Unary(Stream, op, alpha, 0f, Data, Layout, y.Storage.View);
        if (!Autograd.IsEnabled || !RequiresGrad)
        {
            return y;
        }
        using var savedInput = saveOutput ? null : (IsContiguous ? Alias() : ContiguousCopy());
        return Autograd.Record(y, op.ToString(), [this], [saveOutput ? y : savedInput!], (node, g) =>
        {
            var s = node.Saved[0];
            using var dense = g.IsContiguous ? g.Alias() : g.ContiguousCopy();
            var gx = Empty(g.Accelerator, g.ShapeArray(), g.Stream);
            ElementwiseOps.UnaryBackward(g.Stream, op, alpha, s.DenseView, dense.DenseView, gx.DenseView, gx.Length);
            return [gx];
        });
    }

    private int[] AllDims() => Enumerable.Range(0, Rank).ToArray();

    private Tensor Reduce(int[] dims, bool keepDim, bool mean)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var flags = new bool[Rank];
        foreach (int dim in dims)
        {
            flags[NormalizeDim(dim, Rank)] = true;
        }
        var kept = new List<int>();
        var keptDimShape = new int[Rank];
        long count = 1;
        for (int d = 0; d < Rank; d++)
        {
            keptDimShape[d] = flags[d] ? 1 : _shape[d];
            if (flags[d])
            {
                count *= _shape[d];
            }
            if (!flags[d] || keepDim)
            {
                kept.Add(flags[d] ? 1 : _shape[d]);
            }
        }
        float scale = mean ? (float)(1.0 / count) : 1f;
        var y = Empty(Accelerator, [.. kept], Stream);
        ReductionOps.Sum(Stream, Data, Layout, flags, y.Storage.View, scale);
        int[] inputShape = ShapeArray();
        return Autograd.Record(y, mean ? "Mean" : "Sum", [this], [], (_, g) =>
        {
            // g (kept shape) -> keepdim shape -> broadcast to the input, times scale.
            using var dense = g.IsContiguous ? g.Alias() : g.ContiguousCopy();
            var layout = new StridedLayout(keptDimShape, StridedLayout.ContiguousStrides(keptDimShape), dense.Offset).BroadcastTo(inputShape);
            var gx = Empty(g.Accelerator, inputShape, g.Stream);
            ElementwiseOps.Unary(g.Stream, UnaryOp.Affine, scale, 0f, dense.Data, layout, gx.Storage.View);
            return [gx];
        });
    }
}
