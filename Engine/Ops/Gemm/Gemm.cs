using GanEngine.Kernels;
using GanEngine.Kernels.Blas;

namespace GanEngine.Ops.Gemm;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Transpose
{
    None = 0,
    Transposed = 1,
}

/// <summary>A GEMM problem: C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C (+ bias), row-major.
/// Leading dimensions (elements between rows as stored): A is M x K (or K x M when transposed),
/// B is K x N (or N x K), C is M x N; 0 means packed.</summary>
public readonly record struct GemmShape(int M, int N, int K, Transpose TransA = Transpose.None, Transpose TransB = Transpose.None, int Lda = 0, int Ldb = 0, int Ldc = 0)
{
    public int LeadingA => Lda != 0 ? Lda : (TransA == Transpose.None ? K : M);

    public int LeadingB => Ldb != 0 ? Ldb : (TransB == Transpose.None ? N : K);

    public int LeadingC => Ldc != 0 ? Ldc : N;

    /// <summary>Elements the stored A must span.</summary>
    public long ExtentA => TransA == Transpose.None ? Extent(M, K, LeadingA) : Extent(K, M, LeadingA);

    public long ExtentB => TransB == Transpose.None ? Extent(K, N, LeadingB) : Extent(N, K, LeadingB);

    public long ExtentC => Extent(M, N, LeadingC);

    private static long Extent(int rows, int columns, int ld) => rows == 0 || columns == 0 ? 0 : ((long)(rows - 1) * ld) + columns;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad dimension.</summary>
    public void Validate()
    {
        if (M <= 0) throw new ArgumentException($"Gemm: M must be positive (got {M})", nameof(M));
        if (N <= 0) throw new ArgumentException($"Gemm: N must be positive (got {N})", nameof(N));
        if (K <= 0) throw new ArgumentException($"Gemm: K must be positive (got {K})", nameof(K));
        if (LeadingA < (TransA == Transpose.None ? K : M)) throw new ArgumentException($"Gemm: lda {LeadingA} is less than a row of A", nameof(Lda));
        if (LeadingB < (TransB == Transpose.None ? N : K)) throw new ArgumentException($"Gemm: ldb {LeadingB} is less than a row of B", nameof(Ldb));
        if (LeadingC < N) throw new ArgumentException($"Gemm: ldc {LeadingC} is less than N = {N}", nameof(Ldc));
        if (Math.Max(ExtentA, Math.Max(ExtentB, ExtentC)) > int.MaxValue) throw new ArgumentException("Gemm: an operand spans more than 2^31 elements", nameof(M));
    }
}

/// <summary>
/// GEMM raw op: C = alpha op(A) op(B) + beta C + bias (bias of length N added to every row, or an
/// empty view), row-major, as <c>torch.addmm(bias or C, op(A), op(B), beta, alpha)</c>.
/// <see cref="MathMode.Tf32"/> runs on the tensor cores (operands rounded to TF32, FP32 accumulation;
/// PyTorch with <c>allow_tf32 = True</c>), <see cref="MathMode.StrictFp32"/> on the CUDA cores.
/// With beta = 0, C is not read (it may hold NaN). No allocation, no synchronisation; one launch on
/// the given launcher. Kernels: <see cref="GemmKernels"/>.
/// </summary>
public static class Gemm
{
    public static void Run(IKernelLauncher launcher, in GemmShape shape, float alpha, ReadOnlyView<float> a, ReadOnlyView<float> b,
        float beta, ArrayView<float> c, ReadOnlyView<float> bias, MathMode mode)
    {
        shape.Validate();
        if (a.Length < shape.ExtentA) throw new ArgumentException($"Gemm: A has {a.Length} elements, needs {shape.ExtentA}", nameof(a));
        if (b.Length < shape.ExtentB) throw new ArgumentException($"Gemm: B has {b.Length} elements, needs {shape.ExtentB}", nameof(b));
        if (c.Length < shape.ExtentC) throw new ArgumentException($"Gemm: C has {c.Length} elements, needs {shape.ExtentC}", nameof(c));
        if (bias.Length != 0 && bias.Length != shape.N) throw new ArgumentException($"Gemm: bias has {bias.Length} elements, expected N = {shape.N} (or 0)", nameof(bias));
        var biasView = bias.Length > 0 ? bias : a.Slice(0, 0);
        var config = new LaunchConfig(new Dim3((shape.N + 127) / 128, (shape.M + 127) / 128), new Dim3(256));
        int ta = (int)shape.TransA, tb = (int)shape.TransB;
        if (mode == MathMode.Tf32)
        {
            GemmKernels.LaunchTf32(launcher, config, shape.M, shape.N, shape.K, alpha, a, shape.LeadingA, b, shape.LeadingB, beta, c, shape.LeadingC, biasView, ta, tb);
        }
        else
        {
            GemmKernels.LaunchSgemm(launcher, config, shape.M, shape.N, shape.K, alpha, a, shape.LeadingA, b, shape.LeadingB, beta, c, shape.LeadingC, biasView, ta, tb);
        }
    }
}

/// <summary>
/// Linear layer raw ops, PyTorch's <c>nn.Linear</c>: y[B, out] = x[B, in] W^T + b with the weight
/// stored (out, in) and the bias (out) optional (an empty view).
/// </summary>
public static class Linear
{
    /// <summary>y = x W^T + b.</summary>
    public static void Forward(IKernelLauncher launcher, int batch, int inFeatures, int outFeatures,
        ReadOnlyView<float> x, ReadOnlyView<float> weight, ReadOnlyView<float> bias, ArrayView<float> y, MathMode mode) =>
        Gemm.Run(launcher, new GemmShape(batch, outFeatures, inFeatures, Transpose.None, Transpose.Transposed), 1f, x, weight, 0f, y, bias, mode);

    /// <summary>dx = dy W (dx overwritten, or dx += dy W when <paramref name="accumulate"/>).</summary>
    public static void BackwardInput(IKernelLauncher launcher, int batch, int inFeatures, int outFeatures,
        ReadOnlyView<float> dy, ReadOnlyView<float> weight, ArrayView<float> dx, MathMode mode, bool accumulate = false) =>
        Gemm.Run(launcher, new GemmShape(batch, inFeatures, outFeatures), 1f, dy, weight, accumulate ? 1f : 0f, dx, dy.Slice(0, 0), mode);

    /// <summary>dW = dy^T x and, when <paramref name="dbias"/> is not empty, db = column sums of dy
    /// (overwritten, or accumulated when <paramref name="accumulate"/>). Two launches with a bias.</summary>
    public static void BackwardWeight(IKernelLauncher launcher, int batch, int inFeatures, int outFeatures,
        ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> dweight, ArrayView<float> dbias, MathMode mode, bool accumulate = false)
    {
        Gemm.Run(launcher, new GemmShape(outFeatures, inFeatures, batch, Transpose.Transposed, Transpose.None), 1f, dy, x, accumulate ? 1f : 0f, dweight, dy.Slice(0, 0), mode);
        if (dbias.Length > 0)
        {
            if (dbias.Length != outFeatures) throw new ArgumentException($"Linear: dbias has {dbias.Length} elements, expected {outFeatures}", nameof(dbias));
            GemmKernels.LaunchColumnSum(launcher, new LaunchConfig(new Dim3((outFeatures + 127) / 128), new Dim3(128)), dy, batch, outFeatures, outFeatures, accumulate ? 1f : 0f, dbias);
        }
    }
}
