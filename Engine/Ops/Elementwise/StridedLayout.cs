using GanEngine.Kernels.TensorOps;

namespace GanEngine.Ops.Elementwise;

/// <summary>
/// Where the elements of a view lie in its storage: extents, strides (in elements; 0 for a
/// broadcast dimension) and the offset of element 0. Rank at most <see cref="MaxRank"/>.
/// </summary>
public readonly record struct StridedLayout(int[] Shape, int[] Strides, int Offset)
{
    /// <summary>The kernels' rank limit.</summary>
    public const int MaxRank = 6;

    /// <summary>Row-major contiguous layout of <paramref name="shape"/>.</summary>
    public static StridedLayout Contiguous(int[] shape) => new(shape, ContiguousStrides(shape), 0);

    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] ContiguousStrides(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var strides = new int[shape.Length];
        int s = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = s;
            s *= shape[d];
        }
        return strides;
    }

    /// <summary>Number of elements.</summary>
    public int Count => CountOf(Shape);

    /// <summary>True when element i lies at <see cref="Offset"/> + i (row-major strides on every dimension of extent above 1).</summary>
    public bool IsDense
    {
        get
        {
            int s = 1;
            for (int d = Shape.Length - 1; d >= 0; d--)
            {
                if (Shape[d] != 1 && Strides[d] != s)
                {
                    return false;
                }
                s *= Shape[d];
            }
            return true;
        }
    }

    /// <summary>Product of the extents.</summary>
    public static int CountOf(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long n = 1;
        foreach (int e in shape)
        {
            n *= e;
        }
        return n <= int.MaxValue ? (int)n : throw new ArgumentException($"A tensor of {n} elements exceeds 2^31-1.");
    }

    /// <summary>The extents padded on the left with 1 to rank 6.</summary>
    public Dims6 Shape6 => Pad(Shape, 1);

    /// <summary>The strides padded on the left with 0 to rank 6.</summary>
    public Dims6 Strides6 => Pad(Strides, 0);

    /// <summary>The layout seen through <paramref name="outShape"/> (NumPy broadcasting: dimensions
    /// aligned on the right; an extent 1, or a missing dimension, gets stride 0).</summary>
    public StridedLayout BroadcastTo(int[] outShape)
    {
        ArgumentNullException.ThrowIfNull(outShape);
        var strides = new int[outShape.Length];
        int shift = outShape.Length - Shape.Length;
        if (shift < 0)
        {
            throw new ArgumentException($"Cannot broadcast rank {Shape.Length} to rank {outShape.Length}.");
        }
        for (int d = 0; d < outShape.Length; d++)
        {
            int s = d - shift;
            if (s < 0)
            {
                strides[d] = 0;
            }
            else if (Shape[s] == outShape[d])
            {
                strides[d] = Shape[s] == 1 ? 0 : Strides[s];
            }
            else if (Shape[s] == 1)
            {
                strides[d] = 0;
            }
            else
            {
                throw new ArgumentException($"Extent {Shape[s]} of dimension {s} cannot broadcast to {outShape[d]}.");
            }
        }
        return new StridedLayout(outShape, strides, Offset);
    }

    internal static Dims6 Pad(int[] values, int fill)
    {
        if (values.Length > MaxRank)
        {
            throw new ArgumentException($"Rank {values.Length} exceeds the kernels' limit of {MaxRank}.");
        }
        Span<int> v = stackalloc int[MaxRank];
        v.Fill(fill);
        values.CopyTo(v[(MaxRank - values.Length)..]);
        return new Dims6 { D0 = v[0], D1 = v[1], D2 = v[2], D3 = v[3], D4 = v[4], D5 = v[5] };
    }
}
