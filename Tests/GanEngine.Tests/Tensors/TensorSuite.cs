using GanEngine.Accelerators;
using GanEngine.Memory;
using GanEngine.Ops.Elementwise;
using GanEngine.Ops.Loss;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Tensors;

/// <summary>
/// Tensor ops, autograd and the caching allocator on one accelerator, written once and bound to each
/// accelerator (TensorBindings.cs). Fresh random inputs (never zero), float64 references,
/// fp32 tolerance: |got - ref| &lt;= 1e-5 + 1e-4 |ref| element-wise; NaN never passes.
/// </summary>
public abstract class TensorSuite : AcceleratorSuite
{
    private static readonly int[][] Shapes = [[7], [3, 5], [2, 3, 4, 5], [1, 3, 17, 2]];

    private static float[] Random(Random rng, int n, double lo = -2, double hi = 2, bool positive = false)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double x;
            do
            {
                x = lo + ((hi - lo) * rng.NextDouble());
            }
            while (Math.Abs(x) < 1e-3);
            v[i] = (float)(positive ? Math.Abs(x) : x);
        }
        return v;
    }

    private static double[] D(float[] x) => x.Select(v => (double)v).ToArray();

    protected static void AssertClose(float[] got, double[] expected, string what, double rtol = 1e-4, double atol = 1e-5)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < got.Length; i++)
        {
            double err = Math.Abs(got[i] - expected[i]);
            if (!(err <= atol + (rtol * Math.Abs(expected[i]))))
            {
                Assert.Fail($"{what}: element {i}: got {got[i]}, expected {expected[i]}");
            }
        }
    }

    // ---- element-wise ------------------------------------------------------------------------

    [Test]
    public void Unary_MatchesReference([Values] UnaryOp op, [Range(0, 3)] int shapeIndex)
    {
        var rng = new Random(100 + (int)op * 10 + shapeIndex);
        int[] shape = Shapes[shapeIndex];
        bool positive = op is UnaryOp.Log or UnaryOp.Sqrt;
        var x = Random(rng, ElementwiseReference.Count(shape), positive: positive);
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, shape);
        var y = op switch
        {
            UnaryOp.Affine => t * 1.5f + 0.25f,
            UnaryOp.Exp => t.Exp(),
            UnaryOp.Log => t.Log(),
            UnaryOp.Sqrt => t.Sqrt(),
            UnaryOp.Relu => t.Relu(),
            UnaryOp.LeakyRelu => t.LeakyRelu(0.2f),
            UnaryOp.Tanh => t.Tanh(),
            _ => t.Sigmoid(),
        };
        double alpha = op == UnaryOp.LeakyRelu ? 0.2 : 1.5, beta = op == UnaryOp.Affine ? 0.25 : 0;
        AssertClose(y.ToHost(), ElementwiseReference.Unary(op, alpha, beta, D(x)), $"{op} {Tensor.Format(shape)}");
    }

    [Test]
    public void Unary_OnTransposedView_MatchesReference()
    {
        var rng = new Random(7);
        var x = Random(rng, 5 * 7);
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, 5, 7).Transpose(0, 1);
        Assert.That(t.IsContiguous, Is.False);
        var y = t.Tanh().ToHost();
        var expected = new double[35];
        for (int i = 0; i < 7; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                expected[(i * 5) + j] = Math.Tanh(x[(j * 7) + i]);
            }
        }
        AssertClose(y, expected, "tanh of transpose");
    }

    private static readonly (int[] A, int[] B)[] BroadcastPairs =
    [
        ([3, 5], [3, 5]),
        ([2, 3, 4, 5], [3, 1, 5]),
        ([4, 1], [1, 7]),
        ([2, 3, 5, 5], [1, 3, 1, 1]),
        ([5], [2, 3, 5]),
    ];

    [Test]
    public void Binary_Broadcasting_MatchesReference([Values(BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.BceWithLogits)] BinaryOp op, [Range(0, 4)] int pair)
    {
        var rng = new Random(200 + (int)op * 10 + pair);
        var (aShape, bShape) = BroadcastPairs[pair];
        var a = Random(rng, ElementwiseReference.Count(aShape));
        var b = op == BinaryOp.Div ? Random(rng, ElementwiseReference.Count(bShape), 0.5, 1.5) : Random(rng, ElementwiseReference.Count(bShape));
        using var scope = new TensorScope(Acc);
        var ta = Tensor.FromHost(Acc, a, aShape);
        var tb = Tensor.FromHost(Acc, b, bShape);
        var y = op switch
        {
            BinaryOp.Add => ta + tb,
            BinaryOp.Sub => ta - tb,
            BinaryOp.Mul => ta * tb,
            BinaryOp.Div => ta / tb,
            _ => ta.BceWithLogitsElementwise(tb),
        };
        var expected = ElementwiseReference.Binary(op, D(a), aShape, D(b), bShape, out var outShape);
        Assert.That(y.Shape, Is.EqualTo(outShape));
        AssertClose(y.ToHost(), expected, $"{op} {Tensor.Format(aShape)} {Tensor.Format(bShape)}");
    }

    [Test]
    public void Binary_Backward_ReducesOverBroadcastDims([Values(BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.BceWithLogits)] BinaryOp op, [Values(1, 3)] int pair)
    {
        var rng = new Random(300 + (int)op * 10 + pair);
        var (aShape, bShape) = BroadcastPairs[pair];
        var a = Random(rng, ElementwiseReference.Count(aShape));
        var b = op == BinaryOp.Div ? Random(rng, ElementwiseReference.Count(bShape), 0.5, 1.5) : Random(rng, ElementwiseReference.Count(bShape));
        using var pa = Parameter.FromHost(Acc, a, aShape);
        using var pb = Parameter.FromHost(Acc, b, bShape);
        var outShape = ElementwiseReference.BroadcastShape(aShape, bShape);
        var w = Random(rng, ElementwiseReference.Count(outShape));
        using (var scope = new TensorScope(Acc))
        {
            var y = op switch
            {
                BinaryOp.Add => pa + pb,
                BinaryOp.Sub => pa - pb,
                BinaryOp.Mul => pa * pb,
                BinaryOp.Div => pa / pb,
                _ => pa.BceWithLogitsElementwise(pb),
            };
            var loss = (y * Tensor.FromHost(Acc, w, outShape)).Sum();
            loss.Backward();
        }
        var (ga, gb) = ElementwiseReference.BinaryBackward(op, D(a), aShape, D(b), bShape, D(w));
        AssertClose(pa.Grad!.ToHost(), ga, $"{op} grad a", 1e-4, 1e-4);
        AssertClose(pb.Grad!.ToHost(), gb, $"{op} grad b", 1e-4, 1e-4);
    }

    [Test]
    public void Unary_Backward_MatchesReference([Values] UnaryOp op)
    {
        var rng = new Random(400 + (int)op);
        int[] shape = [3, 17];
        var x = Random(rng, 51, positive: op is UnaryOp.Log or UnaryOp.Sqrt);
        var gy = Random(rng, 51);
        using var p = Parameter.FromHost(Acc, x, shape);
        using (var scope = new TensorScope(Acc))
        {
            var y = op switch
            {
                UnaryOp.Affine => p * -2.5f,
                UnaryOp.Exp => p.Exp(),
                UnaryOp.Log => p.Log(),
                UnaryOp.Sqrt => p.Sqrt(),
                UnaryOp.Relu => p.Relu(),
                UnaryOp.LeakyRelu => p.LeakyRelu(0.2f),
                UnaryOp.Tanh => p.Tanh(),
                _ => p.Sigmoid(),
            };
            (y * Tensor.FromHost(Acc, gy, shape)).Sum().Backward();
        }
        double alpha = op == UnaryOp.LeakyRelu ? 0.2 : -2.5;
        AssertClose(p.Grad!.ToHost(), ElementwiseReference.UnaryBackward(op, alpha, D(x), D(gy)), $"{op} backward");
    }

    // ---- reductions -----------------------------------------------------------------------------

    private static readonly (int[] Shape, int[] Dims)[] Reductions =
    [
        ([7], [0]),
        ([3, 5], [1]),
        ([2, 3, 4, 5], [0, 2, 3]),
        ([1, 3, 17, 2], [1]),
        ([33, 301], [1]),
        ([300, 3], [0]),
    ];

    [Test]
    public void SumAndMean_OverDims_MatchReference([Range(0, 5)] int index, [Values] bool mean, [Values] bool keepDim)
    {
        var (shape, dims) = Reductions[index];
        var rng = new Random(500 + index);
        var x = Random(rng, ElementwiseReference.Count(shape));
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, shape);
        var y = mean ? t.Mean(dims, keepDim) : t.Sum(dims, keepDim);
        double count = dims.Aggregate(1, (p, d) => p * shape[d]);
        var expected = ReductionReference.Sum(D(x), shape, dims, mean ? 1 / count : 1);
        Assert.That(y.Length, Is.EqualTo(expected.Length));
        Assert.That(y.Rank, Is.EqualTo(keepDim ? shape.Length : shape.Length - dims.Length));
        AssertClose(y.ToHost(), expected, "reduction", 1e-4, 1e-4);
    }

    [Test]
    public void SumAll_OfStridedView_MatchesReference()
    {
        var rng = new Random(9);
        var x = Random(rng, 6 * 9 * 11);
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, 6, 9, 11).Permute(2, 0, 1).Slice(1, 1, 4);
        double expected = 0;
        for (int i = 1; i < 5; i++)
        {
            for (int j = 0; j < 9 * 11; j++)
            {
                expected += x[(i * 99) + j];
            }
        }
        Assert.That(t.Sum().Item(), Is.EqualTo(expected).Within(1e-4 * (1 + Math.Abs(expected))));
        Assert.That(t.Mean().Item(), Is.EqualTo(expected / (4 * 99)).Within(1e-5));
    }

    // ---- views, concat ------------------------------------------------------------------------

    [Test]
    public void Views_SliceTransposeConcat_Values()
    {
        var x = Enumerable.Range(1, 2 * 3 * 4).Select(i => (float)i).ToArray();
        using var scope = new TensorScope(Acc);
        var t = Tensor.FromHost(Acc, x, 2, 3, 4);
        Assert.That(t.Slice(1, 1, 2).ToHost(), Is.EqualTo(new float[] { 5, 6, 7, 8, 9, 10, 11, 12, 17, 18, 19, 20, 21, 22, 23, 24 }));
        var tt = t.Transpose(1, 2);
        Assert.That(tt.Shape, Is.EqualTo(new[] { 2, 4, 3 }));
        Assert.That(tt.Contiguous().ToHost().Take(6), Is.EqualTo(new float[] { 1, 5, 9, 2, 6, 10 }));
        Assert.That(() => tt.View(24), Throws.InvalidOperationException);
        Assert.That(tt.Reshape(24).ToHost()[1], Is.EqualTo(5f));
        Assert.That(t.View(6, -1).Shape, Is.EqualTo(new[] { 6, 4 }));
        var c = Tensor.Concat([t, t.Slice(1, 0, 1)], 1);
        Assert.That(c.Shape, Is.EqualTo(new[] { 2, 4, 4 }));
        Assert.That(c.ToHost().Skip(12).Take(4), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        var z = Tensor.Zeros(Acc, [2, 4]);
        z.Slice(1, 1, 2).CopyFrom(Tensor.Full(Acc, [2, 2], 3f));
        Assert.That(z.ToHost(), Is.EqualTo(new float[] { 0, 3, 3, 0, 0, 3, 3, 0 }));
    }

    [Test]
    public void Concat_And_Slice_Backward()
    {
        var rng = new Random(11);
        var a = Random(rng, 2 * 3 * 2);
        var b = Random(rng, 2 * 1 * 2);
        using var pa = Parameter.FromHost(Acc, a, 2, 3, 2);
        using var pb = Parameter.FromHost(Acc, b, 2, 1, 2);
        var w = Random(rng, 2 * 2 * 2);
        using (var scope = new TensorScope(Acc))
        {
            var c = Tensor.Concat([pa, pb], 1);            // (2, 4, 2)
            var s = c.Slice(1, 2, 2);                          // channels 2, 3: a's last, b
            (s * Tensor.FromHost(Acc, w, 2, 2, 2)).Sum().Backward();
        }
        var ga = new double[12];
        var gb = new double[4];
        for (int n = 0; n < 2; n++)
        {
            for (int k = 0; k < 2; k++)
            {
                ga[(n * 6) + 4 + k] = w[(n * 4) + k];
                gb[(n * 2) + k] = w[(n * 4) + 2 + k];
            }
        }
        AssertClose(pa.Grad!.ToHost(), ga, "concat grad a");
        AssertClose(pb.Grad!.ToHost(), gb, "concat grad b");
    }

    // ---- losses -------------------------------------------------------------------------------

    [Test]
    public void Losses_MatchReference_ValueAndGradient([Values("bce", "nsD", "nsG", "hingeD", "hingeG", "mse")] string loss)
    {
        var rng = new Random(loss.Length * 31 + loss[0]);
        int n = 13;
        var real = Random(rng, n, -3, 3);
        var fake = Random(rng, n, -3, 3);
        var target = Random(rng, n, 0, 1, positive: true);
        using var pr = Parameter.FromHost(Acc, real, n, 1);
        using var pf = Parameter.FromHost(Acc, fake, n, 1);
        float value;
        using (var scope = new TensorScope(Acc))
        {
            var t = Tensor.FromHost(Acc, target, n, 1);
            var l = loss switch
            {
                "bce" => Losses.BceWithLogits(pr, t),
                "nsD" => Losses.NonSaturatingDiscriminator(pr, pf),
                "nsG" => Losses.NonSaturatingGenerator(pf),
                "hingeD" => Losses.HingeDiscriminator(pr, pf),
                "hingeG" => Losses.HingeGenerator(pf),
                _ => Losses.Mse(pr, t),
            };
            Assert.That(l.Rank, Is.EqualTo(0));
            l.Backward();
            value = l.Item();
        }
        double expected;
        double[]? gr = null, gf = null;
        switch (loss)
        {
            case "bce": (expected, gr) = LossReference.BceWithLogits(D(real), D(target)); break;
            case "nsD": (expected, gr, gf) = LossReference.NonSaturatingDiscriminator(D(real), D(fake)); break;
            case "nsG": (expected, gf) = LossReference.NonSaturatingGenerator(D(fake)); break;
            case "hingeD": (expected, gr, gf) = LossReference.HingeDiscriminator(D(real), D(fake)); break;
            case "hingeG": (expected, gf) = LossReference.HingeGenerator(D(fake)); break;
            default: (expected, gr) = LossReference.Mse(D(real), D(target)); break;
        }
        Assert.That(value, Is.EqualTo(expected).Within(1e-5 + 1e-4 * Math.Abs(expected)));
        if (gr != null)
        {
            AssertClose(pr.Grad!.ToHost(), gr, "grad real");
        }
        else
        {
            Assert.That(pr.Grad, Is.Null);
        }
        if (gf != null)
        {
            AssertClose(pf.Grad!.ToHost(), gf, "grad fake");
        }
    }

    [Test]
    public void BceWithLogits_IsStableForLargeLogits()
    {
        using var scope = new TensorScope(Acc);
        var x = Tensor.FromHost(Acc, [100f, -100f, 30f], 3);
        var t = Tensor.FromHost(Acc, [0f, 1f, 1f], 3);
        float value = Losses.BceWithLogits(x, t).Item();
        Assert.That(value, Is.EqualTo((100.0 + 100.0 + Math.Log(1 + Math.Exp(-30))) / 3).Within(1e-3));
    }
}
