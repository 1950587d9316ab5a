namespace GanEngine.Ops.Reference;

/// <summary>Float64 host references for <see cref="GanEngine.Ops.Sparse.MaskedSparse"/>: the compressed
/// format (exact), and the products of the masked weight (W where mask != 0, else 0).</summary>
public static class SparseReference
{
    /// <summary>The expected CSR (columns ascending), its row order (by length descending, ties by index),
    /// and the CSC twin (rows ascending) with its CSR positions and column order.</summary>
    public sealed record Csr(int[] RowPtr, int[] ColIdx, float[] Values, int[] RowOrder,
        int[] ColPtr, int[] RowIdx, float[] TValues, int[] ToCsr, int[] ColOrder)
    {
        public int Nnz => RowPtr[^1];
    }

    public static Csr Build(float[] weight, float[] mask, int rows, int cols)
    {
        var rowPtr = new int[rows + 1];
        var colIdx = new List<int>();
        var values = new List<float>();
        var position = new Dictionary<long, int>();
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                if (mask[(i * cols) + j] != 0f)
                {
                    position[((long)i * cols) + j] = colIdx.Count;
                    colIdx.Add(j);
                    values.Add(weight[(i * cols) + j]);
                }
            }
            rowPtr[i + 1] = colIdx.Count;
        }
        var colPtr = new int[cols + 1];
        var rowIdx = new List<int>();
        var tValues = new List<float>();
        var toCsr = new List<int>();
        for (int j = 0; j < cols; j++)
        {
            for (int i = 0; i < rows; i++)
            {
                if (mask[(i * cols) + j] != 0f)
                {
                    rowIdx.Add(i);
                    tValues.Add(weight[(i * cols) + j]);
                    toCsr.Add(position[((long)i * cols) + j]);
                }
            }
            colPtr[j + 1] = rowIdx.Count;
        }
        return new Csr(rowPtr, colIdx.ToArray(), values.ToArray(), OrderByLength(rowPtr),
            colPtr, rowIdx.ToArray(), tValues.ToArray(), toCsr.ToArray(), OrderByLength(colPtr));
    }

    /// <summary>Indices by segment length descending, ties by index ascending.</summary>
    public static int[] OrderByLength(int[] ptr)
    {
        var order = Enumerable.Range(0, ptr.Length - 1).ToArray();
        return order.OrderByDescending(i => ptr[i + 1] - ptr[i]).ThenBy(i => i).ToArray();
    }

    /// <summary>Y[rows, n] = (W .* [mask != 0]) X, X cols x n.</summary>
    public static double[] Spmm(float[] weight, float[] mask, int rows, int cols, int n, float[] x)
    {
        var y = new double[(long)rows * n];
        for (int i = 0; i < rows; i++)
        {
            for (int k = 0; k < cols; k++)
            {
                if (mask[(i * cols) + k] == 0f) continue;
                double w = weight[(i * cols) + k];
                for (int j = 0; j < n; j++)
                {
                    y[((long)i * n) + j] += w * x[((long)k * n) + j];
                }
            }
        }
        return y;
    }

    /// <summary>dX[cols, n] = (W .* [mask != 0])^T dY, dY rows x n.</summary>
    public static double[] SpmmTransposed(float[] weight, float[] mask, int rows, int cols, int n, float[] dy)
    {
        var dx = new double[(long)cols * n];
        for (int i = 0; i < rows; i++)
        {
            for (int k = 0; k < cols; k++)
            {
                if (mask[(i * cols) + k] == 0f) continue;
                double w = weight[(i * cols) + k];
                for (int j = 0; j < n; j++)
                {
                    dx[((long)k * n) + j] += w * dy[((long)i * n) + j];
                }
            }
        }
        return dx;
    }

    /// <summary>dW at the nonzeros in CSR order (row-major order of the kept entries):
    /// dW[i, k] = sum_j dY[i, j] X[k, j].</summary>
    public static double[] Sddmm(float[] mask, int rows, int cols, int n, float[] dy, float[] x)
    {
        var result = new List<double>();
        for (int i = 0; i < rows; i++)
        {
            for (int k = 0; k < cols; k++)
            {
                if (mask[(i * cols) + k] == 0f) continue;
                double sum = 0;
                for (int j = 0; j < n; j++)
                {
                    sum += (double)dy[((long)i * n) + j] * x[((long)k * n) + j];
                }
                result.Add(sum);
            }
        }
        return result.ToArray();
    }

    /// <summary>||got - want|| / ||want|| (norm-wise; infinity if any got is not finite; 0 for two empty or zero vectors).</summary>
    public static double RelativeError(ReadOnlySpan<float> got, ReadOnlySpan<double> want)
    {
        double e = 0, r = 0;
        for (int i = 0; i < want.Length; i++)
        {
            if (!float.IsFinite(got[i])) return double.PositiveInfinity;
            double d = got[i] - want[i];
            e += d * d;
            r += want[i] * want[i];
        }
        return e == 0 ? 0 : Math.Sqrt(e / Math.Max(r, double.Epsilon));
    }
}
