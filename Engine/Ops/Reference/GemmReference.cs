namespace GanEngine.Ops.Reference;

/// <summary>float64 host references of GEMM and the linear layer (row-major, PyTorch semantics).</summary>
public static class GemmReference
{
    /// <summary>C = alpha op(A) op(B) + beta C + bias over a packed M x N result; A and B given as stored
    /// with leading dimensions lda / ldb; c0 may be null when beta is 0.</summary>
    public static double[] Gemm(int m, int n, int k, bool transA, bool transB, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, double[]? c0, double[]? bias)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    s += (transA ? a[(p * lda) + i] : a[(i * lda) + p]) * (transB ? b[(j * ldb) + p] : b[(p * ldb) + j]);
                }
                c[(i * n) + j] = (alpha * s) + (beta == 0 ? 0 : beta * c0![(i * n) + j]) + (bias?[j] ?? 0);
            }
        }
        return c;
    }

    /// <summary>y = x W^T + b, W (out, in).</summary>
    public static double[] LinearForward(ReadOnlySpan<double> x, ReadOnlySpan<double> w, double[]? bias, int batch, int inF, int outF) =>
        Gemm(batch, outF, inF, false, true, 1, x, inF, w, inF, 0, null, bias);

    /// <summary>dx = dy W, dW = dy^T x, db = sum over the batch of dy.</summary>
    public static (double[] Dx, double[] Dw, double[] Db) LinearBackward(ReadOnlySpan<double> x, ReadOnlySpan<double> w, ReadOnlySpan<double> dy, int batch, int inF, int outF)
    {
        var dx = Gemm(batch, inF, outF, false, false, 1, dy, outF, w, inF, 0, null, null);
        var dw = Gemm(outF, inF, batch, true, false, 1, dy, outF, x, inF, 0, null, null);
        var db = new double[outF];
        for (int i = 0; i < batch; i++)
        {
            for (int j = 0; j < outF; j++)
            {
                db[j] += dy[(i * outF) + j];
            }
        }
        return (dx, dw, db);
    }
}
