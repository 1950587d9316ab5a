using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Kernels.Sparse;

namespace GanEngine.Ops.Sparse;

/// <summary>Which masked product a tensor-core plan is for.</summary>
public enum MaskedProduct
{
    /// <summary>Y = W X (forward).</summary>
    Spmm,
    /// <summary>dX = W^T dY (input gradient).</summary>
    SpmmTransposed,
    /// <summary>dW = dY X^T at the mask (weight gradient).</summary>
    Sddmm,
}

/// <summary>A tensor-core launch of one masked product: its output tile grid and the reduction split over grid z.</summary>
/// <param name="RowsOut">Rows of the product's output (Rows of W for SpMM and SDDMM, Cols for the transpose).</param>
/// <param name="ColsOut">Its columns (n, or Cols of W for SDDMM).</param>
/// <param name="Reduction">The summed dimension (Cols, Rows or n).</param>
/// <param name="Splits">Reduction ranges, one output plane each (1: written in place).</param>
/// <param name="KSplit">Length of a range, a multiple of 32.</param>
public readonly record struct MaskedTensorCorePlan(int RowsOut, int ColsOut, int Reduction, int Splits, int KSplit)
{
    /// <summary>Blocks the rule aims for: about one wave of the H200's 132 SMs. The plan depends on the shape only, not on the
    /// device, so every accelerator sums in the same order.</summary>
    public const int TargetBlocks = 128;

    /// <summary>Fewest K tiles a split keeps (below it the pipeline's two-tile lead and the epilogue dominate).</summary>
    public const int MinTilesPerSplit = 8;

    /// <summary>The plan for <paramref name="product"/> of a <paramref name="shape"/> weight with n columns of activations:
    /// splits = ceil(128 / output tiles), at most one per 8 K tiles.</summary>
    public static MaskedTensorCorePlan For(MaskedProduct product, MaskedWeightShape shape, int n)
    {
        var (rows, cols, reduction) = product switch
        {
            MaskedProduct.Spmm => (shape.Rows, n, shape.Cols),
            MaskedProduct.SpmmTransposed => (shape.Cols, n, shape.Rows),
            _ => (shape.Rows, shape.Cols, n),
        };
        int tiles = ((rows + MaskedTensorCoreKernels.TileRows - 1) / MaskedTensorCoreKernels.TileRows)
            * ((cols + MaskedTensorCoreKernels.TileColumns - 1) / MaskedTensorCoreKernels.TileColumns);
        int kTiles = (reduction + MaskedTensorCoreKernels.TileK - 1) / MaskedTensorCoreKernels.TileK;
        int splits = Math.Clamp((TargetBlocks + tiles - 1) / tiles, 1, Math.Max(1, kTiles / MinTilesPerSplit));
        int kSplit = ((kTiles + splits - 1) / splits) * MaskedTensorCoreKernels.TileK;
        splits = (reduction + kSplit - 1) / kSplit;
        return new MaskedTensorCorePlan(rows, cols, reduction, splits, kSplit);
    }

    /// <summary>Workspace floats the plan needs: its planes when split (SpMM: splits x rows x columns; SDDMM: splits x
    /// capacity), else 0.</summary>
    public long WorkspaceElements(MaskedProduct product, MaskedWeightShape shape) =>
        Splits <= 1 ? 0 : product == MaskedProduct.Sddmm ? (long)Splits * shape.Capacity : (long)Splits * RowsOut * ColsOut;
}

/// <summary>
/// The masked products on warpgroup tensor cores (TF32, <see cref="MaskedTensorCoreKernels"/>): W read from its compressed
/// form and expanded tile by tile in shared memory, dense tiles multiplied by <c>wgmma</c>, the weight gradient written only
/// at the mask. Where they apply (<see cref="TensorCoresApply"/>): TF32 math (the default) on a device with <c>wgmma</c>
/// (or forced, for tests, by <see cref="ConvSettings.Warpgroup"/>), the tile bitmaps built (<see cref="MaskedCsr.HasTiles"/>),
/// and n a multiple of 4 (the SDDMM copies rows 16 bytes at a time; the SpMM forms take any n when called directly). Results
/// carry TF32 rounding (operands truncated to 10-bit mantissas by the tensor cores, FP32 sums), as PyTorch's TF32 matmuls;
/// strict FP32 stays on the scalar kernels. The ops do not choose by density (nnz lives on the device): at 95% and above the
/// scalar SpMM is as fast (docs/benchmarks-notes-sparse.md, v7).
/// </summary>
public static partial class MaskedSparse
{
    /// <summary>Name of the environment variable that sets <see cref="TensorCoreExpansionLead"/>: 2 or 3.</summary>
    public const string TensorCoreExpansionLeadVariable = "GANENGINE_SPARSE_TC_ALEAD";

    /// <summary>How many K tiles ahead the SpMM kernels expand W (<see cref="MaskedTensorCoreKernels.MaskedWg"/>'s ALEAD): 2, stored
    /// in the iteration that loads it; 3, stored one iteration later. Starts from <see cref="TensorCoreExpansionLeadVariable"/>.</summary>
    public static int TensorCoreExpansionLead { get; set; } = Environment.GetEnvironmentVariable(TensorCoreExpansionLeadVariable)?.Trim() switch
    {
        null or "" => 3,
        "2" => 2,
        "3" => 3,
        var text => throw new ArgumentException($"{TensorCoreExpansionLeadVariable}: '{text}' is not 2 or 3"),
    };

    /// <summary>Whether the tensor-core products run for this weight and n on <paramref name="launcher"/> under
    /// <paramref name="mode"/> (default <see cref="MathSettings.Default"/>); see the class remarks.</summary>
    public static bool TensorCoresApply(IKernelLauncher launcher, MaskedCsr csr, int n, MathMode? mode = null) =>
        (mode ?? MathSettings.Default) == MathMode.Tf32 && csr.HasTiles && n % 4 == 0
        && ConvSettings.UseWarpgroup(launcher)
        && MaskedTensorCoreKernels.SharedBytes <= (InfoOf(launcher)?.MaxSharedMemoryPerBlock ?? int.MaxValue);

    /// <summary>Workspace floats that the three tensor-core products of this shape and n need (the largest of their plans;
    /// at least 1, so that a caller can always allocate it).</summary>
    public static long TensorCoreWorkspaceElements(MaskedWeightShape shape, int n)
    {
        CheckN(n);
        long most = 1;
        foreach (var product in new[] { MaskedProduct.Spmm, MaskedProduct.SpmmTransposed, MaskedProduct.Sddmm })
        {
            most = Math.Max(most, MaskedTensorCorePlan.For(product, shape, n).WorkspaceElements(product, shape));
        }
        return most;
    }

    /// <summary>Y[Rows, n] = W X[Cols, n] on tensor cores (TF32). <paramref name="workspace"/>: at least
    /// <see cref="TensorCoreWorkspaceElements"/> floats when the plan splits (stream-ordered scratch; its contents do not
    /// matter).</summary>
    public static void SpmmTensorCore(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> x, ArrayView<float> y, ArrayView<float> workspace)
    {
        var s = CheckTensorCore(csr, n);
        CheckLength(x, (long)s.Cols * n, nameof(x));
        CheckLength(y, (long)s.Rows * n, nameof(y));
        DenseOutput(launcher, MaskedTensorCorePlan.For(MaskedProduct.Spmm, s, n), csr.TileBits, csr.TilePtr, csr.RowPtr, csr.Values, x, y, workspace);
    }

    /// <summary>dX[Cols, n] = W^T dY[Rows, n] on tensor cores (TF32), expanding W^T from the CSC twin; workspace as for
    /// <see cref="SpmmTensorCore"/>.</summary>
    public static void SpmmTransposedTensorCore(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ArrayView<float> dx, ArrayView<float> workspace)
    {
        var s = CheckTensorCore(csr, n);
        CheckLength(dy, (long)s.Rows * n, nameof(dy));
        CheckLength(dx, (long)s.Cols * n, nameof(dx));
        DenseOutput(launcher, MaskedTensorCorePlan.For(MaskedProduct.SpmmTransposed, s, n), csr.TTileBits, csr.TTilePtr, csr.ColPtr, csr.TValues, dy, dx, workspace);
    }

    /// <summary>dW at the mask, in CSR order, on tensor cores (TF32): dY is Rows x n, X is Cols x n, n a multiple of 4 (the
    /// rows are copied 16 bytes at a time). Each reduction split writes its partials at the mask only; an in-order sum
    /// follows. Deterministic; workspace as for <see cref="SpmmTensorCore"/>.</summary>
    public static void SddmmTensorCore(IKernelLauncher launcher, MaskedCsr csr, int n, ReadOnlyView<float> dy, ReadOnlyView<float> x, ArrayView<float> dw, ArrayView<float> workspace)
    {
        var s = CheckTensorCore(csr, n);
        if (n % 4 != 0)
        {
            throw new ArgumentException($"The tensor-core SDDMM copies rows of n floats 16 bytes at a time: n must be a multiple of 4, was {n}.", nameof(n));
        }
        CheckLength(dy, (long)s.Rows * n, nameof(dy));
        CheckLength(x, (long)s.Cols * n, nameof(x));
        CheckLength(dw, s.Capacity, nameof(dw));
        var plan = MaskedTensorCorePlan.For(MaskedProduct.Sddmm, s, n);
        var target = Planes(plan, MaskedProduct.Sddmm, s, dw, workspace);
        MaskedTensorCoreKernels.LaunchMaskedWg(launcher, MaskedTensorCoreKernels.ConfigFor(plan.RowsOut, plan.ColsOut, plan.Splits),
            plan.RowsOut, plan.ColsOut, plan.Reduction, plan.KSplit, csr.TileBits, csr.TilePtr, csr.RowPtr, csr.Values, dy, x, target, 1, 2);
        if (plan.Splits > 1)
        {
            MaskedSparseKernels.LaunchSumSlices(launcher, GridStride(s.Capacity), csr.RowPtr, s.Rows, workspace, plan.Splits, dw);
        }
    }

    private static void DenseOutput(IKernelLauncher launcher, MaskedTensorCorePlan plan, ReadOnlyView<int> bits, ReadOnlyView<int> tilePtr,
        ReadOnlyView<int> ptr, ReadOnlyView<float> values, ReadOnlyView<float> dense, ArrayView<float> output, ArrayView<float> workspace)
    {
        var target = Planes(plan, MaskedProduct.Spmm, default, output, workspace);
        MaskedTensorCoreKernels.LaunchMaskedWg(launcher, MaskedTensorCoreKernels.ConfigFor(plan.RowsOut, plan.ColsOut, plan.Splits),
            plan.RowsOut, plan.ColsOut, plan.Reduction, plan.KSplit, bits, tilePtr, ptr, values, dense, dense, target, 0, TensorCoreExpansionLead);
        if (plan.Splits > 1)
        {
            int length = plan.RowsOut * plan.ColsOut;
            MaskedTensorCoreKernels.LaunchSumPlanes(launcher, GridStride(length), workspace, length, plan.Splits, output);
        }
    }

    /// <summary>Where the kernel writes: the output itself, or the workspace's planes when the plan splits.</summary>
    private static ArrayView<float> Planes(MaskedTensorCorePlan plan, MaskedProduct product, MaskedWeightShape shape, ArrayView<float> output, ArrayView<float> workspace)
    {
        if (plan.Splits <= 1)
        {
            return output;
        }
        long needed = plan.WorkspaceElements(product, shape);
        if (needed > int.MaxValue)
        {
            throw new ArgumentException($"The tensor-core product's {plan.Splits} planes would need {needed} floats (over 2^31 - 1).", nameof(workspace));
        }
        CheckLength(workspace, needed, nameof(workspace));
        return workspace;
    }

    private static MaskedWeightShape CheckTensorCore(MaskedCsr csr, int n)
    {
        csr.Validate();
        CheckN(n);
        if (!csr.HasTiles)
        {
            throw new ArgumentException("The tensor-core products need the tile bitmaps (MaskedCsr.TileBits / TilePtr / TTileBits / TTilePtr, as MaskedCsrStorage allocates them).", nameof(csr));
        }
        var s = csr.Shape;
        if ((long)Math.Max(s.Rows, s.Cols) * n > int.MaxValue)
        {
            throw new ArgumentException($"The activations ({Math.Max(s.Rows, s.Cols)} x {n}) exceed 2^31 - 1 elements.", nameof(n));
        }
        return s;
    }
}
