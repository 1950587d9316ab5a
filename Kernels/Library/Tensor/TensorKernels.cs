namespace GanEngine.Kernels.TensorOps;

/// <summary>
/// Kernels behind <c>GanEngine.Tensors.Tensor</c>: fill, strided copy, unary and binary element-wise
/// maps over strided (and broadcast) views, and a deterministic reduction.
/// </summary>
/// <remarks>
/// Every element-wise kernel is a grid-stride loop over the <c>n</c> elements of a contiguous output;
/// the element's coordinates in a rank-6 shape give each input's offset through that input's strides
/// (<see cref="Dims6"/>), so views (slices, transposes) and broadcasting (stride 0) need no copies.
/// The operation is a <c>[Specialization]</c> constant: each op compiles to its own straight-line
/// kernel. Indices are <c>int</c>: tensors hold fewer than 2^31 elements.
/// </remarks>
public static partial class TensorKernels
{
    // Unary op codes (forward and, with the same code, backward).
    public const int OpAffine = 0;
    public const int OpExp = 1;
    public const int OpLog = 2;
    public const int OpSqrt = 3;
    public const int OpRelu = 4;
    public const int OpLeakyRelu = 5;
    public const int OpTanh = 6;
    public const int OpSigmoid = 7;

    // Binary op codes.
    public const int OpAdd = 0;
    public const int OpSub = 1;
    public const int OpMul = 2;
    public const int OpDiv = 3;
    public const int OpBceWithLogits = 4;

    /// <summary>y[i] = value for i &lt; n.</summary>
    [Kernel]
    public static void Fill(ArrayView<float> y, int n, float value)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            y[i] = value;
        }
    }

    /// <summary>Copies the n elements of a strided view of x into a strided view of y (same shape).</summary>
    [Kernel]
    public static void StridedCopy(ReadOnlyView<float> x, ArrayView<float> y, int n, Dims6 shape, Dims6 xStrides, int xOffset, Dims6 yStrides, int yOffset)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            y[yOffset + Offset(i, shape, yStrides)] = x[xOffset + Offset(i, shape, xStrides)];
        }
    }

    /// <summary>y[i] = f(x[view(i)]) into a contiguous y; f chosen by <paramref name="Op"/>
    /// (affine alpha * x + beta, exp, log, sqrt, relu, leaky relu with slope alpha, tanh, sigmoid).</summary>
    [Kernel]
    public static void Unary(ReadOnlyView<float> x, ArrayView<float> y, int n, Dims6 shape, Dims6 xStrides, int xOffset, float alpha, float beta, [Specialization] int Op)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            float v = x[xOffset + Offset(i, shape, xStrides)];
            y[i] = UnaryValue(v, alpha, beta, Op);
        }
    }

    /// <summary>y[i] = f(x[offset + i]): <see cref="Unary"/> for a dense x (no per-element index decomposition).</summary>
    [Kernel]
    public static void UnaryDense(ReadOnlyView<float> x, ArrayView<float> y, int n, int xOffset, float alpha, float beta, [Specialization] int Op)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            y[i] = UnaryValue(x[xOffset + i], alpha, beta, Op);
        }
    }

    /// <summary>gx[i] = gy[i] * f'(.) for contiguous views; <paramref name="saved"/> is the forward input
    /// (log, relu, leaky relu) or output (exp, sqrt, tanh, sigmoid).</summary>
    [Kernel]
    public static void UnaryBackward(ReadOnlyView<float> saved, ReadOnlyView<float> gy, ArrayView<float> gx, int n, float alpha, [Specialization] int Op)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            float s = saved[i];
            float g = gy[i];
            float r = g;
            if (Op == OpAffine)
            {
                r = g * alpha;
            }
            else if (Op == OpExp)
            {
                r = g * s;
            }
            else if (Op == OpLog)
            {
                r = g / s;
            }
            else if (Op == OpSqrt)
            {
                r = g * 0.5f / s;
            }
            else if (Op == OpRelu)
            {
                r = s > 0f ? g : 0f;
            }
            else if (Op == OpLeakyRelu)
            {
                r = s > 0f ? g : g * alpha;
            }
            else if (Op == OpTanh)
            {
                r = g * (1f - (s * s));
            }
            else if (Op == OpSigmoid)
            {
                r = g * s * (1f - s);
            }
            gx[i] = r;
        }
    }

    /// <summary>y[i] = a[view(i)] op b[view(i)] into a contiguous y (add, sub, mul, div, and the
    /// element-wise BCE with logits <c>max(a, 0) - a b + log(1 + exp(-|a|))</c>). Broadcasting is a
    /// stride of 0 in an input's strides.</summary>
    [Kernel]
    public static void Binary(ReadOnlyView<float> a, ReadOnlyView<float> b, ArrayView<float> y, int n, Dims6 shape, Dims6 aStrides, int aOffset, Dims6 bStrides, int bOffset, [Specialization] int Op)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            float u = a[aOffset + Offset(i, shape, aStrides)];
            float v = b[bOffset + Offset(i, shape, bStrides)];
            float r = 0f;
            if (Op == OpAdd)
            {
                r = u + v;
            }
            else if (Op == OpSub)
            {
                r = u - v;
            }
            else if (Op == OpMul)
            {
                r = u * v;
            }
            else if (Op == OpDiv)
            {
                r = u / v;
            }
            else if (Op == OpBceWithLogits)
            {
                r = BceValue(u, v);
            }
            y[i] = r;
        }
    }

    /// <summary>
    /// y[j] = scale * sum over k of x[xOffset + view_out(j) + view_red(k)] for j &lt; outCount, k &lt; inner:
    /// the kept dimensions (<paramref name="outShape"/>/<paramref name="outStrides"/>) index outputs, the
    /// reduced ones (<paramref name="redShape"/>/<paramref name="redStrides"/>) the summands. One block of
    /// <paramref name="B"/> threads per output (grid-stride over outputs); each thread sums a strided
    /// subset, then a tree in shared memory: a fixed order, so results are deterministic (no atomics).
    /// </summary>
    [Kernel]
    public static void Reduce(ReadOnlyView<float> x, ArrayView<float> y, int outCount, int inner, Dims6 outShape, Dims6 outStrides, Dims6 redShape, Dims6 redStrides, int xOffset, float scale, [Specialization] int B)
    {
        SharedView<float> cache = Shared.Allocate<float>(B);
        int tid = ThreadIdx.X;
        for (int j = BlockIdx.X; j < outCount; j += GridDim.X)
        {
            int start = xOffset + Offset(j, outShape, outStrides);
            float acc = 0f;
            for (int k = tid; k < inner; k += B)
            {
                acc += x[start + Offset(k, redShape, redStrides)];
            }
            cache[tid] = acc;
            Group.Barrier();
            for (int s = B / 2; s > 0; s >>= 1)
            {
                if (tid < s)
                {
                    cache[tid] = cache[tid] + cache[tid + s];
                }
                Group.Barrier();
            }
            if (tid == 0)
            {
                y[j] = cache[0] * scale;
            }
            Group.Barrier();
        }
    }

    /// <summary>Threads of <see cref="BceWithLogitsMean"/>'s larger reduction (and its shared array).</summary>
    public const int BceMeanMaxBlock = 256;

    /// <summary>
    /// The mean binary cross-entropy with logits of one vector against a constant target, or the sum of two
    /// such means, in one block (the fused forward of the non-saturating GAN losses):
    /// <c>y[0] = mean_k bce(a[k], ta)</c> (+ <c>mean_k bce(b[k], tb)</c> when <paramref name="BB"/> &gt; 0), with
    /// <c>bce(x, t) = max(x, 0) - x t + log(1 + exp(-|x|))</c>. Bit-identical to the composed ops it replaces
    /// (the <see cref="Binary"/> BCE into a tensor, then <see cref="Reduce"/>, then an add): each part is summed by
    /// its first <paramref name="BA"/> (<paramref name="BB"/>) threads exactly as <see cref="Reduce"/> sums with
    /// blocks of that size (the same per-thread strided order, the same tree), then scaled by
    /// <paramref name="scaleA"/> (<paramref name="scaleB"/>) = 1 / count. Launch one block of max(BA, BB) threads.
    /// </summary>
    [Kernel]
    public static void BceWithLogitsMean(
        ReadOnlyView<float> a, int na, float ta, float scaleA,
        ReadOnlyView<float> b, int nb, float tb, float scaleB,
        ArrayView<float> y, [Specialization] int BA, [Specialization] int BB)
    {
        SharedView<float> cache = Shared.Allocate<float>(BceMeanMaxBlock);
        SharedView<float> part = Shared.Allocate<float>(2);
        int tid = ThreadIdx.X;
        float acc = 0f;
        if (tid < BA)
        {
            for (int k = tid; k < na; k += BA)
            {
                acc += BceValue(a[k], ta);
            }
        }
        cache[tid] = acc;
        Group.Barrier();
        for (int s = BA / 2; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                cache[tid] = cache[tid] + cache[tid + s];
            }
            Group.Barrier();
        }
        if (BB == 0)
        {
            if (tid == 0)
            {
                y[0] = cache[0] * scaleA;
            }
        }
        else
        {
            // The two means are rounded on their own (as two reductions would) and added by another thread,
            // after a barrier: no compiler may fuse a product into the final add.
            if (tid == 1)
            {
                part[0] = cache[0] * scaleA;
            }
            Group.Barrier();
            float accB = 0f;
            if (tid < BB)
            {
                for (int k = tid; k < nb; k += BB)
                {
                    accB += BceValue(b[k], tb);
                }
            }
            cache[tid] = accB;
            Group.Barrier();
            for (int s = BB / 2; s > 0; s >>= 1)
            {
                if (tid < s)
                {
                    cache[tid] = cache[tid] + cache[tid + s];
                }
                Group.Barrier();
            }
            if (tid == 1)
            {
                part[1] = cache[0] * scaleB;
            }
            Group.Barrier();
            if (tid == 0)
            {
                y[0] = part[0] + part[1];
            }
        }
    }

    /// <summary>
    /// The backward of <see cref="BceWithLogitsMean"/> in one pass: <c>ga[i] = (scaleA g[0] + beta) (sigmoid(a[i]) - ta)</c>
    /// for i &lt; na, then the same for b into gb (nb elements; 0 for none). <paramref name="beta"/> is 0: it
    /// is a parameter so that the scaled gradient is computed exactly as the <see cref="Unary"/> affine map of the
    /// composed mean's backward computes it; the sigmoid is <see cref="UnaryDense"/>'s, the difference and the
    /// product are <see cref="Binary"/>'s: bit-identical to the four launches per part it replaces. With
    /// <paramref name="unitG"/> != 0 the upstream gradient is 1 and <paramref name="g"/> is not read (the loss is
    /// the root of the backward: no tensor of ones needs filling).
    /// </summary>
    [Kernel]
    public static void BceWithLogitsMeanBackward(
        ReadOnlyView<float> g, int unitG, float beta,
        ReadOnlyView<float> a, ArrayView<float> ga, int na, float ta, float scaleA,
        ReadOnlyView<float> b, ArrayView<float> gb, int nb, float tb, float scaleB)
    {
        float gv = 1f;
        if (unitG == 0)
        {
            gv = g[0];
        }
        float geA = UnaryValue(gv, scaleA, beta, OpAffine);
        float geB = UnaryValue(gv, scaleB, beta, OpAffine);
        int n = na + nb;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            if (i < na)
            {
                float d = UnaryValue(a[i], 0f, 0f, OpSigmoid) - ta;
                ga[i] = geA * d;
            }
            else
            {
                int j = i - na;
                float d = UnaryValue(b[j], 0f, 0f, OpSigmoid) - tb;
                gb[j] = geB * d;
            }
        }
    }

    /// <summary>Element-wise BCE with logits, the stable form <c>max(u, 0) - u v + log(1 + exp(-|u|))</c>.</summary>
    private static float BceValue(float u, float v) => KMath.Max(u, 0f) - (u * v) + Log1pExp(-KMath.Abs(u));

    private static float UnaryValue(float v, float alpha, float beta, int op)
    {
        float r = v;
        if (op == OpAffine)
        {
            r = (alpha * v) + beta;
        }
        else if (op == OpExp)
        {
            r = KMath.Exp(v);
        }
        else if (op == OpLog)
        {
            r = KMath.Log(v);
        }
        else if (op == OpSqrt)
        {
            r = KMath.Sqrt(v);
        }
        else if (op == OpRelu)
        {
            r = v > 0f ? v : 0f;
        }
        else if (op == OpLeakyRelu)
        {
            r = v > 0f ? v : v * alpha;
        }
        else if (op == OpTanh)
        {
            r = KMath.Tanh(v);
        }
        else if (op == OpSigmoid)
        {
            if (v >= 0f)
            {
                r = 1f / (1f + KMath.Exp(-v));
            }
            else
            {
                float e = KMath.Exp(v);
                r = e / (1f + e);
            }
        }
        return r;
    }

    /// <summary>log(1 + exp(z)) for z &lt;= 0 (no overflow; accurate enough near 0 for fp32 losses).</summary>
    private static float Log1pExp(float z)
    {
        float e = KMath.Exp(z);
        // log1p(e) by the compensated formula: exact log1p when 1 + e rounds.
        float u = 1f + e;
        float r = e;
        if (u != 1f)
        {
            r = KMath.Log(u) * e / (u - 1f);
        }
        return r;
    }

    /// <summary>Offset of linear element <paramref name="i"/> of <paramref name="shape"/> through <paramref name="strides"/>.</summary>
    private static int Offset(int i, Dims6 shape, Dims6 strides)
    {
        int r = i;
        int c = r % shape.D5;
        r = r / shape.D5;
        int off = c * strides.D5;
        c = r % shape.D4;
        r = r / shape.D4;
        off += c * strides.D4;
        c = r % shape.D3;
        r = r / shape.D3;
        off += c * strides.D3;
        c = r % shape.D2;
        r = r / shape.D2;
        off += c * strides.D2;
        c = r % shape.D1;
        r = r / shape.D1;
        off += c * strides.D1;
        off += r * strides.D0;
        return off;
    }
}
