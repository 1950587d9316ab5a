using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Kernels.Sparse;

namespace GanEngine.Ops.Sparse;

/// <summary>Tiling of the masked convolution kernels (<see cref="MaskedConvKernels"/>): Threads per block, ThreadsPerRow
/// threads sharing an output row (a channel), ChunkRows rows of the gathered operand staged per barrier, and (weight
/// gradient only) TilesPerBlock 32-pixel tiles per block, i.e. per slice of the workspace.</summary>
public readonly record struct MaskedConvTiling(int Threads, int ThreadsPerRow, int ChunkRows, int TilesPerBlock = 1)
{
    /// <summary>The default for one of the three passes: 512 threads and 4 per row on CUDA (256 elsewhere, see
    /// <see cref="FitTo"/>), chunks of up to 512 rows (the reduction length rounded up to 8), 256 threads when 512 would
    /// leave fewer than 264 blocks; for the weight gradient, as many tiles per block as keep about 256 blocks.</summary>
    public static MaskedConvTiling For(int rows, int inner, int columns, bool weightGradient)
    {
        int threads = 512;
        const int sub = 4;
        int tiles = (columns + 31) / 32;
        if (!weightGradient && (long)tiles * ((rows + (threads / sub) - 1) / (threads / sub)) < 264)
        {
            threads = 256;
        }
        int perBlock = 1;
        if (weightGradient)
        {
            int rowBlocks = (rows + (threads / sub) - 1) / (threads / sub);
            perBlock = Math.Max(1, (int)Math.Min(int.MaxValue, (long)tiles * rowBlocks / 256));
        }
        return new MaskedConvTiling(threads, sub, Math.Min(512, ((inner + 7) / 8) * 8), perBlock);
    }

    public int RowsPerBlock => Threads / ThreadsPerRow;

    /// <summary>Slices of the columns (the weight gradient's grid X extent and workspace row count).</summary>
    public int Slices(int columns) => (((columns + 31) / 32) + TilesPerBlock - 1) / TilesPerBlock;

    /// <summary>Dynamic shared memory of the forward / input-gradient kernels (staged chunk, then the row partials).</summary>
    public int ProductSharedBytes => Math.Max(ChunkRows, Threads) * 32 * sizeof(float);

    /// <summary>Dynamic shared memory of the weight-gradient kernel.</summary>
    public int WeightSharedBytes => ChunkRows * 32 * sizeof(float);

    /// <summary>Off CUDA: at most 256 threads (the NVIDIA OpenCL driver refuses 512 for kernels of this register count)
    /// and a chunk that fits the device's shared memory.</summary>
    public MaskedConvTiling FitTo(AcceleratorInfo? info)
    {
        if (info is null || info.Kind == AcceleratorKind.Cuda)
        {
            return this;
        }
        var t = this with { Threads = Math.Min(Threads, 256) };
        int limit = info.MaxSharedMemoryPerBlock / (32 * sizeof(float));
        int chunk = Math.Max(8, Math.Min(t.ChunkRows, limit / 8 * 8));
        return t with { ChunkRows = chunk };
    }

    public void Validate()
    {
        if (Threads <= 0 || Threads % 32 != 0 || Threads > 512 || ThreadsPerRow <= 0 || 32 % ThreadsPerRow != 0 || Threads % ThreadsPerRow != 0
            || ChunkRows <= 0 || TilesPerBlock <= 0)
        {
            throw new ArgumentException($"Bad masked conv tiling {this}: Threads a positive multiple of 32 (at most 512), ThreadsPerRow a divisor of 32, ChunkRows and TilesPerBlock positive.");
        }
    }
}

/// <summary>
/// Masked 2-D convolution (STU-GAN's sparse conv kernels): the weight W (O, C, KH, KW) enters as a <see cref="MaskedCsr"/>
/// built from it viewed as the matrix O x (C KH KW) (<see cref="MaskedSparse.Build"/> with the dense weight and mask, then
/// <see cref="MaskedSparse.Repack"/> after each step). Implicit sparse GEMM: the im2col of the input is gathered into shared
/// memory chunk by chunk, never materialised. PyTorch's conv2d semantics (NCHW, contiguous) with W replaced by W .* mask;
/// FP32 FMA (no TF32). Raw ops: no allocation, no host synchronisation, launches only on the given launcher; outputs
/// overwritten; every pass deterministic (no atomics).
/// </summary>
public static class MaskedConv2d
{
    private const int Threads = 256;
    private const int MaxGridStrideBlocks = 1024;

    /// <summary>output[n, o, y, x] = bias[o] + sum over the nonzeros (o, i, ky, kx) of W of
    /// input[n, i, y s - p + ky, x s - p + kx] W[o, i, ky, kx] (one launch).</summary>
    public static void Forward(IKernelLauncher launcher, in Conv2dShape shape, MaskedCsr weight, ReadOnlyView<float> input,
        ReadOnlyView<float>? bias, ArrayView<float> output, MaskedConvTiling? tiling = null)
    {
        var s = shape;
        Check(launcher, s, weight);
        Conv2d.Check(input, s.InputElements, nameof(input));
        Conv2d.Check(output, s.OutputElements, nameof(output));
        if (bias is { } b)
        {
            Conv2d.Check(b, s.OutChannels, nameof(bias));
        }
        int inner = s.InChannels * s.KernelH * s.KernelW;
        int columns = s.Batch * s.OutHeight * s.OutWidth;
        var t = tiling ?? MaskedConvTiling.For(s.OutChannels, inner, columns, false).FitTo(InfoOf(launcher));
        t.Validate();
        var config = new LaunchConfig(new Dim3((columns + 31) / 32, (s.OutChannels + t.RowsPerBlock - 1) / t.RowsPerBlock),
            new Dim3(t.Threads), t.ProductSharedBytes);
        MaskedConvKernels.LaunchMaskedConvForward(launcher, config, s.Batch, s.InChannels, s.Height, s.Width, s.OutChannels,
            s.OutHeight, s.OutWidth, s.StrideH, s.PadH, weight.RowPtr, weight.ColIdx, weight.Values, weight.RowOrder,
            input, bias ?? weight.Values, bias is null ? 0 : 1, output, t.Threads, t.ThreadsPerRow, t.ChunkRows, s.KernelH, s.KernelW);
    }

    /// <summary>gradInput[n, i, iy, ix] = sum over the nonzeros (o, i, ky, kx) with iy = y s - p + ky, ix = x s - p + kx of
    /// gradOutput[n, o, y, x] W[o, i, ky, kx]; gathered per input pixel through the CSC twin (one launch, no atomics).</summary>
    public static void BackwardInput(IKernelLauncher launcher, in Conv2dShape shape, MaskedCsr weight, ReadOnlyView<float> gradOutput,
        ArrayView<float> gradInput, MaskedConvTiling? tiling = null)
    {
        var s = shape;
        Check(launcher, s, weight);
        Conv2d.Check(gradOutput, s.OutputElements, nameof(gradOutput));
        Conv2d.Check(gradInput, s.InputElements, nameof(gradInput));
        int columns = s.Batch * s.Height * s.Width;
        var t = tiling ?? MaskedConvTiling.For(s.InChannels, s.OutChannels, columns, false).FitTo(InfoOf(launcher));
        t.Validate();
        var config = new LaunchConfig(new Dim3((columns + 31) / 32, (s.InChannels + t.RowsPerBlock - 1) / t.RowsPerBlock),
            new Dim3(t.Threads), t.ProductSharedBytes);
        MaskedConvKernels.LaunchMaskedConvBackwardInput(launcher, config, s.Batch, s.InChannels, s.Height, s.Width, s.OutChannels,
            s.OutHeight, s.OutWidth, s.StrideH, s.PadH, weight.ColPtr, weight.RowIdx, weight.TValues, gradOutput, gradInput,
            t.Threads, t.ThreadsPerRow, t.ChunkRows, s.KernelH, s.KernelW);
    }

    /// <summary>The weight-gradient tiling used when none is given (fitted to the launcher's device).</summary>
    public static MaskedConvTiling DefaultWeightTiling(AcceleratorInfo? info, in Conv2dShape shape) =>
        MaskedConvTiling.For(shape.OutChannels, shape.InChannels * shape.KernelH * shape.KernelW,
            shape.Batch * shape.OutHeight * shape.OutWidth, true).FitTo(info);

    /// <summary>Floats of workspace <see cref="BackwardWeight"/> needs: slices * capacity (with the default tiling for this
    /// accelerator when none is given).</summary>
    public static long BackwardWeightWorkspaceElements(Accelerator accelerator, in Conv2dShape shape, MaskedWeightShape weightShape,
        MaskedConvTiling? tiling = null)
    {
        shape.Validate();
        var t = tiling ?? DefaultWeightTiling(accelerator.Info, shape);
        return (long)t.Slices(shape.Batch * shape.OutHeight * shape.OutWidth) * weightShape.Capacity;
    }

    /// <summary>The weight gradient at the mask, in CSR order: gradValues[q] = sum over n, y, x of gradOutput[n, o, y, x]
    /// input[n, i, y s - p + ky, x s - p + kx] for the nonzero q = (o, i, ky, kx) (scatter it with
    /// <see cref="MaskedSparse.ScatterToDense"/> for a dense gradient exactly 0 off the mask), and optionally
    /// gradBias[o] = sum of gradOutput over n, y, x. Deterministic: partials per slice of output pixels into
    /// <paramref name="workspace"/> (at least <see cref="BackwardWeightWorkspaceElements"/> floats), then an in-order sum.</summary>
    public static void BackwardWeight(IKernelLauncher launcher, in Conv2dShape shape, MaskedCsr weight, ReadOnlyView<float> input,
        ReadOnlyView<float> gradOutput, ArrayView<float> gradValues, ArrayView<float>? gradBias, ArrayView<float> workspace,
        MaskedConvTiling? tiling = null)
    {
        var s = shape;
        Check(launcher, s, weight);
        Conv2d.Check(input, s.InputElements, nameof(input));
        Conv2d.Check(gradOutput, s.OutputElements, nameof(gradOutput));
        Conv2d.Check(gradValues, weight.Shape.Capacity, nameof(gradValues));
        int columns = s.Batch * s.OutHeight * s.OutWidth;
        var t = tiling ?? DefaultWeightTiling(InfoOf(launcher), s);
        t.Validate();
        int slices = t.Slices(columns);
        long needed = (long)slices * weight.Shape.Capacity;
        if (needed > int.MaxValue)
        {
            throw new ArgumentException($"The workspace would need {needed} floats (over 2^31 - 1); use more tiles per block.", nameof(tiling));
        }
        Conv2d.Check(workspace, needed, nameof(workspace));
        var config = new LaunchConfig(new Dim3(slices, (s.OutChannels + t.RowsPerBlock - 1) / t.RowsPerBlock), new Dim3(t.Threads), t.WeightSharedBytes);
        MaskedConvKernels.LaunchMaskedConvBackwardWeight(launcher, config, s.Batch, s.InChannels, s.Height, s.Width, s.OutChannels,
            s.OutHeight, s.OutWidth, s.StrideH, s.PadH, weight.RowPtr, weight.ColIdx, weight.RowOrder, gradOutput, input, workspace,
            t.Threads, t.ThreadsPerRow, t.ChunkRows, t.TilesPerBlock, s.KernelH, s.KernelW);
        long blocks = Math.Clamp((weight.Shape.Capacity + Threads - 1) / Threads, 1, MaxGridStrideBlocks);
        MaskedSparseKernels.LaunchSumSlices(launcher, new LaunchConfig(new Dim3((int)blocks), new Dim3(Threads)), weight.RowPtr,
            s.OutChannels, workspace, slices, gradValues);
        if (gradBias is { } gb)
        {
            Conv2d.Check(gb, s.OutChannels, nameof(gradBias));
            ConvLaunch.BiasGrad(launcher, s.Batch, s.OutChannels, s.OutHeight * s.OutWidth, gradOutput, gb);
        }
    }

    private static void Check(IKernelLauncher launcher, in Conv2dShape shape, MaskedCsr weight)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        shape.Validate();
        weight.Validate();
        if (weight.Shape.Rows != shape.OutChannels || weight.Shape.Cols != shape.InChannels * shape.KernelH * shape.KernelW)
        {
            throw new ArgumentException($"The masked weight is {weight.Shape.Rows} x {weight.Shape.Cols}; the conv needs "
                + $"{shape.OutChannels} x {shape.InChannels * shape.KernelH * shape.KernelW} (O x C KH KW).", nameof(weight));
        }
    }

    private static AcceleratorInfo? InfoOf(IKernelLauncher launcher) => launcher switch
    {
        Accelerator a => a.Info,
        AcceleratorStream stream => stream.Accelerator.Info,
        _ => null,
    };
}
