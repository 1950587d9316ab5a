namespace GanEngine.Kernels.Softmax;

/// <summary>
/// Row-wise softmax, log-softmax and cross-entropy on a packed row-major (rows, cols) matrix (the
/// host side is <c>GanEngine.Ops.Softmax</c>).
/// </summary>
/// <remarks>
/// <para><b>Row kernels</b> (<see cref="Forward"/>, <see cref="Backward"/>): one block of exactly
/// <see cref="Block"/> threads per row, grid-stride over rows. Threads stride the row (coalesced),
/// keep a private max / sum, and a shared-memory tree combines them in a fixed order: deterministic,
/// no atomics. Every thread reaches every barrier (the loop over rows is block-uniform).</para>
/// <para><b>Numerics</b>: max-subtracted, <c>log_softmax = (x - max) - log(sum exp(x - max))</c>.
/// A row that is entirely -inf gives NaN, as in PyTorch.</para>
/// <para><b>Targets</b> are floats holding class indices; <see cref="TargetIndex"/> rounds to the
/// nearest integer and treats anything outside 0..cols-1 (and NaN) as invalid: the kernels then skip
/// the target term and never read out of bounds.</para>
/// </remarks>
public static partial class SoftmaxKernels
{
    /// <summary>Threads per block of the row kernels and of <see cref="CrossEntropyLoss"/> (a power of two).</summary>
    public const int Block = 128;

    /// <summary><see cref="Forward"/> mode: y = softmax(x) per row.</summary>
    public const int ModeSoftmax = 0;

    /// <summary><see cref="Forward"/> mode: y = log_softmax(x) per row.</summary>
    public const int ModeLogSoftmax = 1;

    /// <summary><see cref="Forward"/> mode: y[row] = logsumexp(x[row, :]) (y has <c>rows</c> elements).</summary>
    public const int ModeLogSumExp = 2;

    /// <summary>Row-wise softmax / log-softmax / logsumexp of x, chosen by <paramref name="Mode"/>.</summary>
    [Kernel]
    public static void Forward(ReadOnlyView<float> x, ArrayView<float> y, int rows, int cols, [Specialization] int Mode)
    {
        SharedView<float> cache = Shared.Allocate<float>(Block);
        int tid = ThreadIdx.X;
        for (int row = BlockIdx.X; row < rows; row += GridDim.X)
        {
            int start = row * cols;
            float m = float.NegativeInfinity;
            for (int j = tid; j < cols; j += Block)
            {
                m = KMath.Max(m, x[start + j]);
            }
            cache[tid] = m;
            Group.Barrier();
            for (int s = Block / 2; s > 0; s >>= 1)
            {
                if (tid < s)
                {
                    cache[tid] = KMath.Max(cache[tid], cache[tid + s]);
                }
                Group.Barrier();
            }
            float rowMax = cache[0];
            Group.Barrier();

            float sum = 0f;
            for (int j = tid; j < cols; j += Block)
            {
                sum += KMath.Exp(x[start + j] - rowMax);
            }
            cache[tid] = sum;
            Group.Barrier();
            for (int s = Block / 2; s > 0; s >>= 1)
            {
                if (tid < s)
                {
                    cache[tid] = cache[tid] + cache[tid + s];
                }
                Group.Barrier();
            }
            float total = cache[0];
            Group.Barrier();

            if (Mode == ModeSoftmax)
            {
                float inverse = 1f / total;
                for (int j = tid; j < cols; j += Block)
                {
                    y[start + j] = KMath.Exp(x[start + j] - rowMax) * inverse;
                }
            }
            else if (Mode == ModeLogSoftmax)
            {
                float logTotal = KMath.Log(total);
                for (int j = tid; j < cols; j += Block)
                {
                    y[start + j] = (x[start + j] - rowMax) - logTotal;
                }
            }
            else if (tid == 0)
            {
                y[row] = rowMax + KMath.Log(total);
            }
        }
    }

    /// <summary>
    /// Row-wise backward from the forward output y and the output gradient gy:
    /// softmax <c>gx = y (gy - sum(gy y))</c>, log-softmax <c>gx = gy - exp(y) sum(gy)</c>
    /// (<paramref name="Mode"/> <see cref="ModeSoftmax"/> or <see cref="ModeLogSoftmax"/>).
    /// </summary>
    [Kernel]
    public static void Backward(ReadOnlyView<float> y, ReadOnlyView<float> gy, ArrayView<float> gx, int rows, int cols, [Specialization] int Mode)
    {
        SharedView<float> cache = Shared.Allocate<float>(Block);
        int tid = ThreadIdx.X;
        for (int row = BlockIdx.X; row < rows; row += GridDim.X)
        {
            int start = row * cols;
            float sum = 0f;
            for (int j = tid; j < cols; j += Block)
            {
                float g = gy[start + j];
                sum += Mode == ModeSoftmax ? g * y[start + j] : g;
            }
            cache[tid] = sum;
            Group.Barrier();
            for (int s = Block / 2; s > 0; s >>= 1)
            {
                if (tid < s)
                {
                    cache[tid] = cache[tid] + cache[tid + s];
                }
                Group.Barrier();
            }
            float total = cache[0];
            Group.Barrier();
            for (int j = tid; j < cols; j += Block)
            {
                float g = gy[start + j];
                float v = y[start + j];
                gx[start + j] = Mode == ModeSoftmax ? v * (g - total) : g - (KMath.Exp(v) * total);
            }
        }
    }

    /// <summary>
    /// One block: <c>loss[0] = (1 / rows) sum over rows of (lse[row] - x[row, target[row]])</c>, the
    /// mean cross-entropy given the rows' logsumexp (<see cref="Forward"/> in
    /// <see cref="ModeLogSumExp"/>). A row with an invalid target contributes lse[row] only.
    /// </summary>
    [Kernel]
    public static void CrossEntropyLoss(ReadOnlyView<float> x, ReadOnlyView<float> targets, ReadOnlyView<float> lse, ArrayView<float> loss, int rows, int cols)
    {
        SharedView<float> cache = Shared.Allocate<float>(Block);
        int tid = ThreadIdx.X;
        float sum = 0f;
        for (int row = tid; row < rows; row += Block)
        {
            int t = TargetIndex(targets[row], cols);
            float picked = t >= 0 ? x[(row * cols) + t] : 0f;
            sum += lse[row] - picked;
        }
        cache[tid] = sum;
        Group.Barrier();
        for (int s = Block / 2; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                cache[tid] = cache[tid] + cache[tid + s];
            }
            Group.Barrier();
        }
        if (tid == 0)
        {
            loss[0] = cache[0] / rows;
        }
    }

    /// <summary>
    /// The fused backward of the mean cross-entropy, one thread per element:
    /// <c>gx[r, j] = gLoss[0] (exp(x[r, j] - lse[r]) - [j == target[r]]) / rows</c>
    /// (softmax minus one-hot; no one-hot term for an invalid target).
    /// </summary>
    [Kernel]
    public static void CrossEntropyBackward(ReadOnlyView<float> x, ReadOnlyView<float> targets, ReadOnlyView<float> lse,
        ReadOnlyView<float> gradLoss, ArrayView<float> gx, int rows, int cols)
    {
        float scale = gradLoss[0] / rows;
        int n = rows * cols;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int row = i / cols;
            int j = i - (row * cols);
            float p = KMath.Exp(x[i] - lse[row]);
            float hot = TargetIndex(targets[row], cols) == j ? 1f : 0f;
            gx[i] = scale * (p - hot);
        }
    }

    /// <summary>The class index held by <paramref name="t"/> (rounded to nearest), or -1 when it is
    /// outside 0..cols-1 or NaN.</summary>
    private static int TargetIndex(float t, int cols)
    {
        float r = KMath.Floor(t + 0.5f);
        if (r >= 0f && r < cols)
        {
            return (int)r;
        }
        return -1;
    }
}
