using GanEngine.Kernels;
using GanEngine.Kernels.Optim;
using GanEngine.Ops.Rng;

namespace GanEngine.Ops.SpectralNorm;

/// <summary>The weight of spectral normalisation as a matrix: <see cref="Rows"/> = size of dim 0
/// (output channels), <see cref="Cols"/> = product of the other dims (torch reshapes with dim=0).</summary>
public readonly record struct SpectralNormShape(int Rows, int Cols)
{
    /// <summary>Elements of the weight.</summary>
    public int Count => Rows * Cols;

    /// <summary>The matrix shape of a weight of shape (out, in, ...): (out, in * ...).</summary>
    public static SpectralNormShape FromWeightShape(ReadOnlySpan<int> shape)
    {
        if (shape.Length < 1) throw new ArgumentException("weight needs at least one dimension", nameof(shape));
        long cols = 1;
        for (int d = 1; d < shape.Length; d++) cols *= shape[d];
        var s = new SpectralNormShape(shape[0], (int)cols);
        s.Validate();
        return s;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        if (Rows < 1) throw new ArgumentException($"Rows must be >= 1 (got {Rows})", nameof(Rows));
        if (Cols < 1) throw new ArgumentException($"Cols must be >= 1 (got {Cols})", nameof(Cols));
        if ((long)Rows * Cols > int.MaxValue) throw new ArgumentException($"Rows * Cols = {(long)Rows * Cols} exceeds int", nameof(Cols));
    }
}

/// <summary>
/// Spectral normalisation as raw ops, as torch.nn.utils.spectral_norm computes it (dim 0,
/// eps 1e-12, n_power_iterations 1): with W the weight as a (rows, cols) matrix and persistent
/// vectors u (rows) and v (cols), a training forward does, per power iteration,
/// <c>v = normalize(W^T u)</c>, <c>u = normalize(W v)</c> (normalize: x / max(||x||, eps)),
/// then <c>sigma = u^T W v</c> and <c>W_sn = W / sigma</c>; an eval forward (0 iterations) uses
/// the stored u, v. sigma stays in device memory (a 1-element view) and the division reads it
/// there: no host synchronisation. Launches only on the given launcher, never allocates.
/// </summary>
public static class SpectralNormalization
{
    /// <summary>torch's default eps of spectral_norm.</summary>
    public const float DefaultEps = 1e-12f;

    /// <summary>Blocks of the first pass of the backward's dot product.</summary>
    public const int ReductionBlocks = 256;

    private const int MaxBlocks = 1024;

    /// <summary>Floats of the forward workspace (W v): <c>Rows</c>.</summary>
    public static int ForwardWorkspaceLength(in SpectralNormShape shape) => shape.Rows;

    /// <summary>Floats of the backward workspace (partial sums and their total): <c>ReductionBlocks + 1</c>.</summary>
    public static int BackwardWorkspaceLength(in SpectralNormShape shape) => ReductionBlocks + 1;

    /// <summary>
    /// torch's initialisation of the vectors: u = normalize(N(0, 1) of length rows),
    /// v = normalize(N(0, 1) of length cols), drawn from the Philox stream at
    /// <paramref name="offset"/> (u) and <c>offset + 4 ceil(rows / 4)</c> (v): reserve
    /// <c>4 ceil(rows/4) + cols</c> words.
    /// </summary>
    public static void InitializeVectors(IKernelLauncher launcher, in SpectralNormShape shape, ArrayView<float> u, ArrayView<float> v,
        ulong seed, ulong offset, float eps = DefaultEps)
    {
        shape.Validate();
        Check(u.Length, shape.Rows, nameof(u));
        Check(v.Length, shape.Cols, nameof(v));
        Philox.Normal(launcher, seed, offset, u, shape.Rows);
        Philox.Normal(launcher, seed, offset + (((ulong)shape.Rows + 3) / 4 * 4), v, shape.Cols);
        var single = new LaunchConfig(new Dim3(1), new Dim3(SpectralNormKernels.Block));
        SpectralNormKernels.LaunchNormalizeDot(launcher, single, u, u, u, shape.Rows, eps, 1, 0);
        SpectralNormKernels.LaunchNormalizeDot(launcher, single, v, v, v, shape.Cols, eps, 1, 0);
    }

    /// <summary>
    /// The forward: <paramref name="powerIterations"/> power iterations updating u and v in place
    /// (1 in training, PyTorch's default; 0 in eval), <c>sigma[0] = u^T W v</c>, and
    /// <c>weightSn = weight / sigma</c>. <paramref name="workspace"/>: <see cref="ForwardWorkspaceLength"/> floats.
    /// </summary>
    public static void Forward(IKernelLauncher launcher, in SpectralNormShape shape,
        ReadOnlyView<float> weight, ArrayView<float> u, ArrayView<float> v, ArrayView<float> sigma,
        ArrayView<float> weightSn, ArrayView<float> workspace, int powerIterations = 1, float eps = DefaultEps)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        if (powerIterations < 0) throw new ArgumentException($"powerIterations must be >= 0 (got {powerIterations})", nameof(powerIterations));
        Check(weight.Length, shape.Count, nameof(weight));
        Check(u.Length, shape.Rows, nameof(u));
        Check(v.Length, shape.Cols, nameof(v));
        Check(sigma.Length, 1, nameof(sigma));
        Check(weightSn.Length, shape.Count, nameof(weightSn));
        Check(workspace.Length, ForwardWorkspaceLength(shape), nameof(workspace));

        int rows = shape.Rows, cols = shape.Cols;
        var single = new LaunchConfig(new Dim3(1), new Dim3(SpectralNormKernels.Block));
        var columns = new LaunchConfig(new Dim3(Blocks(cols)), new Dim3(SpectralNormKernels.Block));
        var rowBlocks = new LaunchConfig(new Dim3(Math.Min(rows, MaxBlocks)), new Dim3(SpectralNormKernels.Block));
        var wv = workspace.Slice(0, rows);
        for (int it = 0; it < powerIterations; it++)
        {
            SpectralNormKernels.LaunchMatTVec(launcher, columns, weight, u, v, rows, cols);
            SpectralNormKernels.LaunchNormalizeDot(launcher, single, v, v, sigma, cols, eps, 1, 0);
            SpectralNormKernels.LaunchMatVec(launcher, rowBlocks, weight, v, wv, rows, cols);
            SpectralNormKernels.LaunchNormalizeDot(launcher, single, wv, u, sigma, rows, eps, 1, it == powerIterations - 1 ? 1 : 0);
        }
        if (powerIterations == 0)
        {
            SpectralNormKernels.LaunchMatVec(launcher, rowBlocks, weight, v, wv, rows, cols);
            SpectralNormKernels.LaunchNormalizeDot(launcher, single, wv, u, sigma, rows, eps, 0, 1);
        }
        var elements = new LaunchConfig(new Dim3(Blocks(shape.Count)), new Dim3(SpectralNormKernels.Block));
        SpectralNormKernels.LaunchDivideBySigma(launcher, elements, weight, sigma, weightSn, shape.Count);
    }

    /// <summary>
    /// The backward with u and v held constant (they are computed under no_grad in PyTorch):
    /// <c>gradWeight = (gradWeightSn - sum(gradWeightSn * weightSn) u v^T) / sigma</c>.
    /// <paramref name="workspace"/>: <see cref="BackwardWorkspaceLength"/> floats.
    /// <paramref name="gradWeight"/> is overwritten (accumulate elsewhere if needed).
    /// </summary>
    public static void Backward(IKernelLauncher launcher, in SpectralNormShape shape,
        ReadOnlyView<float> gradWeightSn, ReadOnlyView<float> weightSn, ReadOnlyView<float> u, ReadOnlyView<float> v,
        ReadOnlyView<float> sigma, ArrayView<float> gradWeight, ArrayView<float> workspace)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        Check(gradWeightSn.Length, shape.Count, nameof(gradWeightSn));
        Check(weightSn.Length, shape.Count, nameof(weightSn));
        Check(u.Length, shape.Rows, nameof(u));
        Check(v.Length, shape.Cols, nameof(v));
        Check(sigma.Length, 1, nameof(sigma));
        Check(gradWeight.Length, shape.Count, nameof(gradWeight));
        Check(workspace.Length, BackwardWorkspaceLength(shape), nameof(workspace));

        int n = shape.Count;
        int partialBlocks = (int)Math.Clamp((n + (long)SpectralNormKernels.Block - 1) / SpectralNormKernels.Block, 1, ReductionBlocks);
        var partials = workspace.Slice(0, ReductionBlocks);
        var dot = workspace.Slice(ReductionBlocks, 1);
        SpectralNormKernels.LaunchDotPartials(launcher, new LaunchConfig(new Dim3(partialBlocks), new Dim3(SpectralNormKernels.Block)),
            gradWeightSn, weightSn, partials, n);
        SpectralNormKernels.LaunchSumPartials(launcher, new LaunchConfig(new Dim3(1), new Dim3(SpectralNormKernels.Block)),
            partials, dot, partialBlocks);
        SpectralNormKernels.LaunchBackward(launcher, new LaunchConfig(new Dim3(Blocks(n)), new Dim3(SpectralNormKernels.Block)),
            gradWeightSn, u, v, sigma, dot, gradWeight, shape.Rows, shape.Cols);
    }

    private static int Blocks(int n) => (int)Math.Clamp((n + (long)SpectralNormKernels.Block - 1) / SpectralNormKernels.Block, 1, MaxBlocks);

    private static void Check(int length, int needed, string name)
    {
        if (length < needed) throw new ArgumentException($"{name} has {length} elements, needs {needed}", name);
    }
}
