using GanEngine.Ops.Elementwise;

namespace GanEngine.Ops.Reference;

/// <summary>Float64 host references of the element-wise ops (row-major arrays, NumPy broadcasting).</summary>
public static class ElementwiseReference
{
    /// <summary>y = op(x).</summary>
    public static double[] Unary(UnaryOp op, double alpha, double beta, double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Select(v => UnaryValue(op, alpha, beta, v)).ToArray();
    }

    /// <summary>gx = gy * op'(x).</summary>
    public static double[] UnaryBackward(UnaryOp op, double alpha, double[] x, double[] gy)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(gy);
        var gx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double y = UnaryValue(op, alpha, 0, v);
            double d = op switch
            {
                UnaryOp.Affine => alpha,
                UnaryOp.Exp => y,
                UnaryOp.Log => 1 / v,
                UnaryOp.Sqrt => 0.5 / y,
                UnaryOp.Relu => v > 0 ? 1 : 0,
                UnaryOp.LeakyRelu => v > 0 ? 1 : alpha,
                UnaryOp.Tanh => 1 - (y * y),
                _ => y * (1 - y),
            };
            gx[i] = gy[i] * d;
        }
        return gx;
    }

    public static double UnaryValue(UnaryOp op, double alpha, double beta, double v) => op switch
    {
        UnaryOp.Affine => (alpha * v) + beta,
        UnaryOp.Exp => Math.Exp(v),
        UnaryOp.Log => Math.Log(v),
        UnaryOp.Sqrt => Math.Sqrt(v),
        UnaryOp.Relu => v > 0 ? v : 0,
        UnaryOp.LeakyRelu => v > 0 ? v : alpha * v,
        UnaryOp.Tanh => Math.Tanh(v),
        _ => 1 / (1 + Math.Exp(-v)),
    };

    public static double BinaryValue(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        _ => Math.Max(a, 0) - (a * b) + Math.Log(1 + Math.Exp(-Math.Abs(a))),
    };

    /// <summary>The broadcast shape (NumPy rules).</summary>
    public static int[] BroadcastShape(int[] a, int[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int rank = Math.Max(a.Length, b.Length);
        var s = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int x = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int y = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            s[i] = x == 1 ? y : y == 1 || y == x ? x : throw new ArgumentException("shapes do not broadcast");
        }
        return s;
    }

    /// <summary>Index into a row-major array of <paramref name="shape"/> for the output element with
    /// coordinates <paramref name="coords"/> of <paramref name="outShape"/> (broadcast).</summary>
    public static int BroadcastIndex(int[] shape, int[] outShape, int[] coords)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(outShape);
        ArgumentNullException.ThrowIfNull(coords);
        int shift = outShape.Length - shape.Length;
        int index = 0;
        for (int d = 0; d < shape.Length; d++)
        {
            int c = shape[d] == 1 ? 0 : coords[d + shift];
            index = (index * shape[d]) + c;
        }
        return index;
    }

    /// <summary>Coordinates of row-major element <paramref name="i"/> of <paramref name="shape"/>.</summary>
    public static int[] Coordinates(int i, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var c = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            c[d] = i % shape[d];
            i /= shape[d];
        }
        return c;
    }

    public static int Count(int[] shape) => shape.Aggregate(1, (p, e) => p * e);

    /// <summary>y = a op b with broadcasting; <paramref name="outShape"/> receives y's shape.</summary>
    public static double[] Binary(BinaryOp op, double[] a, int[] aShape, double[] b, int[] bShape, out int[] outShape)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        outShape = BroadcastShape(aShape, bShape);
        var y = new double[Count(outShape)];
        for (int i = 0; i < y.Length; i++)
        {
            var c = Coordinates(i, outShape);
            y[i] = BinaryValue(op, a[BroadcastIndex(aShape, outShape, c)], b[BroadcastIndex(bShape, outShape, c)]);
        }
        return y;
    }

    /// <summary>Gradients of sum(gy * (a op b)) with respect to a and b (summed over broadcast dimensions).</summary>
    public static (double[] Ga, double[] Gb) BinaryBackward(BinaryOp op, double[] a, int[] aShape, double[] b, int[] bShape, double[] gy)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(gy);
        var outShape = BroadcastShape(aShape, bShape);
        var ga = new double[a.Length];
        var gb = new double[b.Length];
        for (int i = 0; i < gy.Length; i++)
        {
            var c = Coordinates(i, outShape);
            int ia = BroadcastIndex(aShape, outShape, c), ib = BroadcastIndex(bShape, outShape, c);
            double u = a[ia], v = b[ib], g = gy[i];
            (double da, double db) = op switch
            {
                BinaryOp.Add => (1.0, 1.0),
                BinaryOp.Sub => (1.0, -1.0),
                BinaryOp.Mul => (v, u),
                BinaryOp.Div => (1 / v, -u / (v * v)),
                _ => ((1 / (1 + Math.Exp(-u))) - v, -u),
            };
            ga[ia] += g * da;
            gb[ib] += g * db;
        }
        return (ga, gb);
    }
}
