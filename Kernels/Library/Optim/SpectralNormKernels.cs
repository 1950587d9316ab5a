namespace GanEngine.Kernels.Optim;

/// <summary>
/// Kernels of spectral normalisation (torch.nn.utils.spectral_norm) on a weight viewed as a packed
/// row-major matrix W of <c>rows</c> (output channels) x <c>cols</c> (everything else).
/// </summary>
/// <remarks>
/// Reductions are block-wide trees in shared memory over <see cref="Block"/> threads (launch
/// exactly <see cref="Block"/> threads per block); every thread reaches every barrier. Scalars
/// that later kernels need (sigma, the dot product of the backward) stay in device memory and are
/// read there: nothing goes back to the host.
/// </remarks>
public static partial class SpectralNormKernels
{
    /// <summary>Threads per block of every kernel in this class (a power of two).</summary>
    public const int Block = 256;

    /// <summary>v[j] = sum_i W[i, j] u[i] (W^T u), one thread per column (grid-stride), coalesced
    /// across the threads of a row.</summary>
    [Kernel]
    public static void MatTVec(ReadOnlyView<float> w, ReadOnlyView<float> u, ArrayView<float> v, int rows, int cols)
    {
        int stride = GridDim.X * BlockDim.X;
        for (int j = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; j < cols; j += stride)
        {
            float sum = 0f;
            for (int i = 0; i < rows; i++)
            {
                sum = KMath.Fma(w[(i * cols) + j], u[i], sum);
            }
            v[j] = sum;
        }
    }

    /// <summary>u[i] = sum_j W[i, j] v[j] (W v), one block per row (grid-stride over rows), the
    /// row's dot product reduced in shared memory.</summary>
    [Kernel]
    public static void MatVec(ReadOnlyView<float> w, ReadOnlyView<float> v, ArrayView<float> u, int rows, int cols)
    {
        SharedView<float> cache = Shared.Allocate<float>(Block);
        int tid = ThreadIdx.X;
        for (int row = BlockIdx.X; row < rows; row += GridDim.X)
        {
            float sum = 0f;
            for (int j = tid; j < cols; j += Block)
            {
                sum = KMath.Fma(w[(row * cols) + j], v[j], sum);
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
                u[row] = cache[0];
            }
            Group.Barrier();
        }
    }

    /// <summary>
    /// One block. With <c>normalize != 0</c>: <c>y = x / max(||x||, eps)</c> (torch's
    /// <c>F.normalize</c>; <paramref name="x"/> and <paramref name="y"/> may be the same memory).
    /// With <c>computeSigma != 0</c> also <c>sigma[0] = dot(y, x)</c>: the <c>u^T W v</c> of
    /// spectral_norm when x = W v and y = u. With <c>normalize == 0</c>, y is only read.
    /// </summary>
    [Kernel]
    public static void NormalizeDot(ArrayView<float> x, ArrayView<float> y, ArrayView<float> sigma, int n, float eps, int normalize, int computeSigma)
    {
        SharedView<float> cache = Shared.Allocate<float>(Block);
        int tid = ThreadIdx.X;
        float inverse = 1f;
        if (normalize != 0)
        {
            float sum = 0f;
            for (int i = tid; i < n; i += Block)
            {
                float value = x[i];
                sum = KMath.Fma(value, value, sum);
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
            inverse = 1f / KMath.Max(KMath.Sqrt(cache[0]), eps);
            Group.Barrier();
        }
        float dot = 0f;
        for (int i = tid; i < n; i += Block)
        {
            float value = x[i];
            float normalized = y[i];
            if (normalize != 0)
            {
                normalized = value * inverse;
                y[i] = normalized;
            }
            dot = KMath.Fma(normalized, value, dot);
        }
        if (computeSigma != 0)
        {
            cache[tid] = dot;
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
                sigma[0] = cache[0];
            }
        }
    }

    /// <summary>output[i] = input[i] / sigma[0] (W_sn = W / sigma; sigma read from device memory).</summary>
    [Kernel]
    public static void DivideBySigma(ReadOnlyView<float> input, ReadOnlyView<float> sigma, ArrayView<float> output, int n)
    {
        float inverse = 1f / sigma[0];
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            output[i] = input[i] * inverse;
        }
    }

    /// <summary>partials[blockIdx] = sum over the block's grid-stride share of a[i] * b[i]
    /// (first pass of a deterministic two-pass dot product).</summary>
    [Kernel]
    public static void DotPartials(ReadOnlyView<float> a, ReadOnlyView<float> b, ArrayView<float> partials, int n)
    {
        SharedView<float> cache = Shared.Allocate<float>(Block);
        int tid = ThreadIdx.X;
        float sum = 0f;
        int stride = GridDim.X * Block;
        for (int i = (BlockIdx.X * Block) + tid; i < n; i += stride)
        {
            sum = KMath.Fma(a[i], b[i], sum);
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
            partials[BlockIdx.X] = cache[0];
        }
    }

    /// <summary>One block: total[0] = sum of partials[0 .. count).</summary>
    [Kernel]
    public static void SumPartials(ReadOnlyView<float> partials, ArrayView<float> total, int count)
    {
        SharedView<float> cache = Shared.Allocate<float>(Block);
        int tid = ThreadIdx.X;
        float sum = 0f;
        for (int i = tid; i < count; i += Block)
        {
            sum += partials[i];
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
            total[0] = cache[0];
        }
    }

    /// <summary>
    /// Backward of W_sn = W / sigma with u, v constant:
    /// <c>dW[i, j] = (dWsn[i, j] - dot[0] * u[i] * v[j]) / sigma[0]</c>, where
    /// <c>dot[0] = sum(dWsn * W_sn)</c> (from <see cref="DotPartials"/> + <see cref="SumPartials"/>).
    /// </summary>
    [Kernel]
    public static void Backward(
        ReadOnlyView<float> gradWsn, ReadOnlyView<float> u, ReadOnlyView<float> v,
        ReadOnlyView<float> sigma, ReadOnlyView<float> dot, ArrayView<float> gradW, int rows, int cols)
    {
        float inverse = 1f / sigma[0];
        float d = dot[0];
        int n = rows * cols;
        int stride = GridDim.X * BlockDim.X;
        for (int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X; i < n; i += stride)
        {
            int row = i / cols;
            int col = i - (row * cols);
            gradW[i] = (gradWsn[i] - (d * u[row] * v[col])) * inverse;
        }
    }
}
