using System.Numerics;
using System.Runtime.InteropServices;

namespace GanEngine.Training.Metrics;

/// <summary>
/// Dot products of all pairs of rows of two row-major double matrices, SIMD and multi-threaded. The
/// metrics' only heavy work (covariances, KID kernels) is this; MathNet's managed GEMM is several times
/// slower. Results are deterministic: each dot product is computed by one fixed sequence of operations
/// whatever the thread count.
/// </summary>
internal static class Gram
{
    private const int RowTile = 32;

    /// <summary>
    /// <c>result[i*nb + j] = a_i · b_j</c> for rows a_i of <paramref name="a"/> (na x d) and b_j of
    /// <paramref name="b"/> (nb x d). With <paramref name="upperOnly"/> (a and b the same matrix) only
    /// j ≥ i is computed; the rest of <paramref name="result"/> is left as it was.
    /// </summary>
    public static void Dots(double[] a, int na, double[] b, int nb, int d, double[] result, bool upperOnly = false)
    {
        if (a.Length < (long)na * d || b.Length < (long)nb * d || result.Length < (long)na * nb)
        {
            throw new ArgumentException("Gram.Dots: an array is smaller than its shape");
        }
        int tiles = (na + RowTile - 1) / RowTile;
        Parallel.For(0, tiles, tile =>
        {
            int i0 = tile * RowTile;
            int i1 = Math.Min(na, i0 + RowTile);
            // rows of b in tiles too, so that a tile of b stays in cache across the rows of a
            for (int j0 = upperOnly ? i0 : 0; j0 < nb; j0 += RowTile)
            {
                int j1 = Math.Min(nb, j0 + RowTile);
                for (int i = i0; i < i1; i += 2)
                {
                    bool pairI = i + 1 < i1;
                    for (int j = upperOnly ? Math.Max(j0, i) : j0; j < j1; j += 2)
                    {
                        bool pairJ = j + 1 < j1;
                        if (pairI && pairJ)
                        {
                            Dot2x2(a, i, b, j, d, out double d00, out double d01, out double d10, out double d11);
                            result[(i * nb) + j] = d00;
                            result[(i * nb) + j + 1] = d01;
                            result[((i + 1) * nb) + j] = d10;
                            result[((i + 1) * nb) + j + 1] = d11;
                        }
                        else
                        {
                            for (int ii = i; ii < Math.Min(i + 2, i1); ii++)
                            {
                                for (int jj = j; jj < Math.Min(j + 2, j1); jj++)
                                {
                                    result[(ii * nb) + jj] = Dot(a, ii, b, jj, d);
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    private static double Dot(double[] a, int i, double[] b, int j, int d)
    {
        ReadOnlySpan<double> x = a.AsSpan(i * d, d);
        ReadOnlySpan<double> y = b.AsSpan(j * d, d);
        ReadOnlySpan<Vector<double>> xv = MemoryMarshal.Cast<double, Vector<double>>(x);
        ReadOnlySpan<Vector<double>> yv = MemoryMarshal.Cast<double, Vector<double>>(y);
        Vector<double> acc = Vector<double>.Zero;
        for (int k = 0; k < xv.Length; k++)
        {
            acc += xv[k] * yv[k];
        }
        double sum = Vector.Sum(acc);
        for (int k = xv.Length * Vector<double>.Count; k < d; k++)
        {
            sum += x[k] * y[k];
        }
        return sum;
    }

    // Four dot products at once: rows i, i+1 of a with rows j, j+1 of b (4 loads feed 4 multiply-adds).
    private static void Dot2x2(double[] a, int i, double[] b, int j, int d, out double d00, out double d01, out double d10, out double d11)
    {
        ReadOnlySpan<double> x0 = a.AsSpan(i * d, d);
        ReadOnlySpan<double> x1 = a.AsSpan((i + 1) * d, d);
        ReadOnlySpan<double> y0 = b.AsSpan(j * d, d);
        ReadOnlySpan<double> y1 = b.AsSpan((j + 1) * d, d);
        ReadOnlySpan<Vector<double>> x0v = MemoryMarshal.Cast<double, Vector<double>>(x0);
        ReadOnlySpan<Vector<double>> x1v = MemoryMarshal.Cast<double, Vector<double>>(x1);
        ReadOnlySpan<Vector<double>> y0v = MemoryMarshal.Cast<double, Vector<double>>(y0);
        ReadOnlySpan<Vector<double>> y1v = MemoryMarshal.Cast<double, Vector<double>>(y1);
        Vector<double> a00 = Vector<double>.Zero, a01 = Vector<double>.Zero, a10 = Vector<double>.Zero, a11 = Vector<double>.Zero;
        for (int k = 0; k < x0v.Length; k++)
        {
            Vector<double> p = x0v[k], q = x1v[k], r = y0v[k], s = y1v[k];
            a00 += p * r;
            a01 += p * s;
            a10 += q * r;
            a11 += q * s;
        }
        d00 = Vector.Sum(a00);
        d01 = Vector.Sum(a01);
        d10 = Vector.Sum(a10);
        d11 = Vector.Sum(a11);
        for (int k = x0v.Length * Vector<double>.Count; k < d; k++)
        {
            d00 += x0[k] * y0[k];
            d01 += x0[k] * y1[k];
            d10 += x1[k] * y0[k];
            d11 += x1[k] * y1[k];
        }
    }
}
